//! A YAML document as a tree of nodes with byte spans, built from saphyr-parser's events.
//!
//! We build our own tree (rather than deserialising straight into structs) so that every
//! value keeps its position, duplicate keys are caught, and the Condition scalar's span and
//! style are known for mapping condition positions back to file lines.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::Value;

use crate::diag::Diagnostic;

/// Deepest nesting of sequences and mappings a rule file may have.
pub const MAX_DEPTH: usize = 128;
/// Most nodes a document may expand to (aliases included), against alias bombs.
const MAX_NODES: usize = 1_000_000;

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    /// Byte range in the file.
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
        /// The tag's suffix for core tags (`str`, `int`, ...), or the whole tag otherwise.
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// What a scalar means under the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => match self.resolve() {
                Ok(Resolved::Null) => "null",
                Ok(Resolved::Bool(_)) => "a boolean",
                Ok(Resolved::Int(_)) | Ok(Resolved::Float(_)) => "a number",
                _ => "a string",
            },
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// Resolves a scalar by the core schema; `Err` for an unknown tag.
    pub fn resolve(&self) -> Result<Resolved, String> {
        let Kind::Scalar { value, style, tag } = &self.kind else {
            return Err("not a scalar".into());
        };
        match tag.as_deref() {
            Some("str") => return Ok(Resolved::Str(value.clone())),
            Some("null") | Some("bool") | Some("int") | Some("float") | None => {}
            Some(other) => return Err(format!("unsupported tag `{other}`")),
        }
        if tag.is_none() && *style != ScalarStyle::Plain {
            return Ok(Resolved::Str(value.clone()));
        }
        let v = value.as_str();
        let r = match v {
            "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
            "true" | "True" | "TRUE" => Resolved::Bool(true),
            "false" | "False" | "FALSE" => Resolved::Bool(false),
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
                Resolved::Float(f64::INFINITY)
            }
            "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
            _ => {
                if let Some(i) = parse_int(v) {
                    Resolved::Int(i)
                } else if is_float(v) {
                    match v.parse::<f64>() {
                        Ok(f) => Resolved::Float(f),
                        Err(_) => Resolved::Str(value.clone()),
                    }
                } else {
                    Resolved::Str(value.clone())
                }
            }
        };
        match (tag.as_deref(), &r) {
            (None, _)
            | (Some("null"), Resolved::Null)
            | (Some("bool"), Resolved::Bool(_))
            | (Some("int"), Resolved::Int(_))
            | (Some("float"), Resolved::Float(_) | Resolved::Int(_)) => Ok(r),
            (Some(t), _) => Err(format!("`{v}` is not a valid !!{t}")),
        }
    }

    /// The scalar as text, whatever it resolves to (for lists of names, where `3.12` or
    /// `true` should be kept as written).
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The node as a test event's key: a scalar, or E0105 at the node.
    pub fn event_key(&self) -> Result<&str, Diagnostic> {
        self.scalar_text().ok_or_else(|| {
            Diagnostic::error(
                "E0105",
                "an event's keys must be strings",
                self.span.clone(),
            )
        })
    }

    /// Converts to JSON (test events). Errors carry the offending node's span.
    pub fn to_json(&self) -> Result<Value, Diagnostic> {
        Ok(match &self.kind {
            Kind::Scalar { .. } => match self.resolve() {
                Ok(Resolved::Null) => Value::Null,
                Ok(Resolved::Bool(b)) => Value::Bool(b),
                Ok(Resolved::Int(i)) => {
                    if let Ok(x) = i64::try_from(i) {
                        Value::from(x)
                    } else if let Ok(x) = u64::try_from(i) {
                        Value::from(x)
                    } else {
                        return Err(Diagnostic::error(
                            "E0105",
                            "integer out of range for JSON",
                            self.span.clone(),
                        ));
                    }
                }
                Ok(Resolved::Float(f)) => match serde_json::Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None => {
                        return Err(Diagnostic::error(
                            "E0105",
                            "infinity and NaN cannot be represented in a JSON event",
                            self.span.clone(),
                        ));
                    }
                },
                Ok(Resolved::Str(s)) => Value::String(s),
                Err(msg) => return Err(Diagnostic::error("E0105", msg, self.span.clone())),
            },
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(Node::to_json)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Kind::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = k.event_key()?;
                    map.insert(key.to_string(), v.to_json()?);
                }
                Value::Object(map)
            }
        })
    }
}

fn parse_int(v: &str) -> Option<i128> {
    let (neg, digits) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    let n = if let Some(h) = digits.strip_prefix("0x") {
        if neg || v.starts_with('+') {
            return None;
        }
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = digits.strip_prefix("0o") {
        if neg || v.starts_with('+') {
            return None;
        }
        i128::from_str_radix(o, 8).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if neg { -n } else { n })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// Character index -> byte offset, for the parser's character-based markers.
struct CharIndex<'a> {
    text: &'a str,
    /// Byte offset of every character, plus the end.
    offsets: Option<Vec<usize>>,
}

impl<'a> CharIndex<'a> {
    fn new(text: &'a str) -> Self {
        let offsets = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        CharIndex { text, offsets }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.offsets {
            None => char_index.min(self.text.len()),
            Some(o) => o.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn range(&self, span: &Span) -> Range<usize> {
        self.byte(span.start.index())
            ..self
                .byte(span.end.index())
                .max(self.byte(span.start.index()))
    }
}

enum Frame {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

/// Parses one YAML document. `Ok(None)` for an empty file.
pub fn parse(text: &str) -> Result<Option<Node>, Diagnostic> {
    let index = CharIndex::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut nodes = 0usize;
    let mut documents = 0usize;

    while let Some(ev) = parser.next_event() {
        let (event, span) = ev.map_err(|e| {
            let at = index.byte(e.marker().index());
            let end = (at + text[at..].chars().next().map_or(0, char::len_utf8)).min(text.len());
            Diagnostic::error("E0101", format!("invalid YAML: {}", e.info()), at..end)
        })?;
        let range = index.range(&span);
        let (node, anchor) = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(Diagnostic::error(
                        "E0101",
                        "a rule file holds one YAML document",
                        range,
                    )
                    .with_label("second document")
                    .with_help("put each rule in its own file"));
                }
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(range));
                }
                stack.push(Frame::Seq(Vec::new(), range.start, anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(range));
                }
                stack.push(Frame::Map(Vec::new(), None, range.start, anchor));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, start, anchor)) => (
                    Node {
                        kind: Kind::Seq(items),
                        span: start..range.end.max(start),
                    },
                    anchor,
                ),
                _ => unreachable!("parser balances sequences"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(entries, _, start, anchor)) => (
                    Node {
                        kind: Kind::Map(entries),
                        span: start..range.end.max(start),
                    },
                    anchor,
                ),
                _ => unreachable!("parser balances mappings"),
            },
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| {
                    if t.is_yaml_core_schema() {
                        t.suffix.clone()
                    } else {
                        format!("{}{}", t.handle, t.suffix)
                    }
                });
                (
                    Node {
                        kind: Kind::Scalar {
                            value: value.into_owned(),
                            style,
                            tag,
                        },
                        span: range,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => {
                    nodes += count_nodes(n);
                    let mut n = n.clone();
                    n.span = range;
                    (n, 0)
                }
                None => {
                    return Err(Diagnostic::error(
                        "E0101",
                        "alias to an unknown anchor",
                        range,
                    ));
                }
            },
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(Diagnostic::error(
                "E0101",
                "the document expands to too many values (aliases?)",
                node.span,
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, pending, ..)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    if let Some(text) = key.scalar_text()
                        && entries.iter().any(|(k, _)| k.scalar_text() == Some(text))
                    {
                        return Err(duplicate_key(text, key.span.clone()));
                    }
                    entries.push((key, node));
                }
            },
        }
    }
    Ok(root)
}

fn duplicate_key(key: &str, span: Range<usize>) -> Diagnostic {
    Diagnostic::error("E0103", format!("duplicate key `{key}`"), span)
        .with_label("already set above")
        .with_help("a key may appear once in a mapping; remove one of them")
}

fn too_deep(span: Range<usize>) -> Diagnostic {
    Diagnostic::error(
        "E0101",
        format!("YAML nested deeper than {MAX_DEPTH} levels"),
        span,
    )
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar { .. } => 1,
        Kind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Kind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

/// Maps each byte offset of a scalar's decoded `value` to a byte offset in the file, by
/// walking the scalar's source text (`src`, starting at file offset `base`) alongside it.
/// Exact for block scalars and for quoted/plain scalars without escapes; for escapes and
/// folding it stays on the right line, give or take a few columns.
pub fn map_scalar(value: &str, src: &str, base: usize) -> Vec<usize> {
    const LOOKAHEAD: usize = 12;
    let mut map = vec![base; value.len() + 1];
    // The byte offset in `src` of the next source character to match (`src.len()` at the end);
    // the source is walked in place rather than copied into a vector of characters.
    let mut next = 0;
    let mut i = 0;
    while i < value.len() {
        // Where the value and the source agree byte for byte (most of a condition), each
        // character matches the next source character: map the whole run at once.
        let mut same = value.as_bytes()[i..]
            .iter()
            .zip(&src.as_bytes()[next..])
            .take_while(|(a, b)| a == b)
            .count();
        while !value.is_char_boundary(i + same) {
            same -= 1;
        }
        for (k, slot) in map[i..i + same].iter_mut().enumerate() {
            *slot = base + next + k;
        }
        i += same;
        next += same;
        let Some(c) = value[i..].chars().next() else {
            break;
        };
        let found = src[next..]
            .char_indices()
            .take(LOOKAHEAD)
            .find(|&(_, s)| s == c || (c.is_whitespace() && s.is_whitespace()));
        let pos = match found {
            Some((off, s)) => {
                next += off + s.len_utf8();
                next - s.len_utf8()
            }
            None => next,
        };
        for b in 0..c.len_utf8() {
            map[i + b] = base + pos + b;
        }
        i += c.len_utf8();
    }
    map[value.len()] = base + next;
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `map_scalar` as first written (the source copied into a vector of characters), to hold
    /// the in-place walk to the same offsets.
    fn map_scalar_reference(value: &str, src: &str, base: usize) -> Vec<usize> {
        let mut map = vec![base; value.len() + 1];
        let src_chars: Vec<(usize, char)> = src.char_indices().collect();
        let mut j = 0;
        for (i, c) in value.char_indices() {
            let found = (j..src_chars.len().min(j + 12)).find(|&k| {
                let s = src_chars[k].1;
                s == c || (c.is_whitespace() && s.is_whitespace())
            });
            let pos = match found {
                Some(k) => {
                    j = k + 1;
                    src_chars[k].0
                }
                None => src_chars.get(j).map_or(src.len(), |&(b, _)| b),
            };
            for b in 0..c.len_utf8() {
                map[i + b] = base + pos + b;
            }
        }
        map[value.len()] = base + src_chars.get(j).map_or(src.len(), |&(b, _)| b);
        map
    }

    proptest::proptest! {
        /// Values and sources that share characters (escapes, folding, indentation, quotes and
        /// multi-byte characters in either): the same offsets as the first implementation.
        #[test]
        fn map_scalar_matches_the_reference(
            value in "[ab \\n\u{e9}\u{1F600}\"]{0,40}",
            src in "[ab \\n\t\u{e9}\u{1F600}\"|>-]{0,60}",
            base in 0usize..1000,
        ) {
            proptest::prop_assert_eq!(map_scalar(&value, &src, base), map_scalar_reference(&value, &src, base));
            // A source that is the value with some noise around: the common case.
            let wrapped = format!("\"{value}\"");
            proptest::prop_assert_eq!(map_scalar(&value, &wrapped, base), map_scalar_reference(&value, &wrapped, base));
        }
    }

    fn root(text: &str) -> Node {
        parse(text).unwrap().unwrap()
    }

    #[test]
    fn core_schema() {
        let n =
            root("a: [1, -2, 0x1F, 1.5, 1e3, true, False, ~, null, '5', \"x\", 0o17, 1_000, .inf]");
        let Kind::Map(e) = &n.kind else { panic!() };
        let Kind::Seq(items) = &e[0].1.kind else {
            panic!()
        };
        let r: Vec<Resolved> = items.iter().map(|i| i.resolve().unwrap()).collect();
        assert_eq!(r[0], Resolved::Int(1));
        assert_eq!(r[1], Resolved::Int(-2));
        assert_eq!(r[2], Resolved::Int(31));
        assert_eq!(r[3], Resolved::Float(1.5));
        assert_eq!(r[4], Resolved::Float(1000.0));
        assert_eq!(r[5], Resolved::Bool(true));
        assert_eq!(r[6], Resolved::Bool(false));
        assert_eq!(r[7], Resolved::Null);
        assert_eq!(r[8], Resolved::Null);
        assert_eq!(r[9], Resolved::Str("5".into()));
        assert_eq!(r[10], Resolved::Str("x".into()));
        assert_eq!(r[11], Resolved::Int(15));
        assert_eq!(r[12], Resolved::Str("1_000".into()));
        assert_eq!(r[13], Resolved::Float(f64::INFINITY));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.code, "E0103");
        assert_eq!(e.span, Some(10..11));
    }

    #[test]
    fn json_flow_with_trailing_comma() {
        let n = root("Log:\n  {\n    \"a\": [],\n    \"b\": 5,\n  }\n");
        let Kind::Map(e) = &n.kind else { panic!() };
        assert_eq!(
            e[0].1.to_json().unwrap(),
            serde_json::json!({"a": [], "b": 5})
        );
    }

    #[test]
    fn spans_are_bytes() {
        let text = "é: x\nk: héllo\n";
        let n = root(text);
        let Kind::Map(e) = &n.kind else { panic!() };
        assert_eq!(&text[e[1].1.span.clone()], "héllo");
    }

    #[test]
    fn scalar_map_block() {
        let text = "C: |\n  a eq 1\n  b eq 2\n";
        let n = root(text);
        let Kind::Map(e) = &n.kind else { panic!() };
        let v = &e[0].1;
        let value = v.scalar_text().unwrap();
        let map = map_scalar(value, &text[v.span.clone()], v.span.start);
        let b = value.find('b').unwrap();
        assert_eq!(&text[map[b]..map[b] + 6], "b eq 2");
    }
}
