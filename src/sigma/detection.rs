//! A Sigma `detection` -> ruleqc condition text (SPEC §3), which the ordinary parser, lowering
//! and normaliser then turn into IR. Every byte of the generated text remembers where in the
//! Sigma file it came from (the value, key or condition word that produced it), so a problem
//! found later (a regex outside the portable subset, a bad CIDR range, a target that cannot
//! express a predicate) is reported at the Sigma source.

use std::collections::BTreeMap;
use std::ops::Range;

use super::condition::{self, Cond};
use super::profile::{Resolved as Place, SigmaProfile};
use crate::diag::{Diagnostic, closest};
use crate::rule::yaml::{self, Kind, Node, Resolved};

/// Generated condition text with the file offset of each of its bytes.
#[derive(Clone, Debug, Default)]
pub struct Out {
    pub text: String,
    pub map: Vec<usize>,
}

impl Out {
    fn push(&mut self, s: &str, at: usize) {
        self.text.push_str(s);
        self.map.extend(std::iter::repeat_n(at, s.len()));
    }

    fn append(&mut self, o: Out) {
        self.text.push_str(&o.text);
        self.map.extend(o.map);
    }

    /// `( a OP b OP c )`; one part needs no parentheses.
    fn join(parts: Vec<Out>, op: &str, at: usize) -> Out {
        let mut out = Out::default();
        let n = parts.len();
        if n > 1 {
            out.push("(", at);
        }
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push(&format!(" {op} "), at);
            }
            out.append(p);
        }
        if n > 1 {
            out.push(")", at);
        }
        out
    }
}

/// Every modifier of SPEC §7, and the time modifiers Sigma 2.1 added (reported unsupported).
const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "re",
    "i",
    "m",
    "s",
    "windash",
    "base64",
    "base64offset",
    "wide",
    "utf16le",
    "utf16be",
    "utf16",
    "cidr",
    "fieldref",
    "exists",
    "gt",
    "gte",
    "lt",
    "lte",
    "cased",
    "expand",
    "neq",
];
const TIME_MODIFIERS: &[&str] = &["minute", "hour", "day", "week", "month", "year"];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Anchor {
    #[default]
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Encoding {
    #[default]
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf16Bom,
}

#[derive(Clone, Debug, Default)]
struct Mods {
    anchor: Anchor,
    all: bool,
    re: bool,
    re_flags: String,
    windash: bool,
    base64: bool,
    base64offset: bool,
    encoding: Encoding,
    cidr: bool,
    fieldref: bool,
    exists: bool,
    cmp: Option<&'static str>,
    cased: bool,
    expand: bool,
    neq: bool,
}

/// One wildcard-aware character of a Sigma string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    C(char),
    Star,
    Qmark,
}

/// Sigma's string escapes: `\*` `\?` `\\` are the characters themselves; any other backslash
/// is a plain backslash; unescaped `*` and `?` are wildcards.
fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    it.next();
                    out.push(Tok::C(n));
                }
                _ => out.push(Tok::C('\\')),
            },
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::Qmark),
            c => out.push(Tok::C(c)),
        }
    }
    out
}

fn plain(toks: &[Tok]) -> Option<String> {
    toks.iter()
        .map(|t| match t {
            Tok::C(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// One matching predicate of a value, before it is written out.
#[derive(Clone, Debug)]
enum Pred {
    /// A string compared whole (case per the item).
    Eq(String),
    /// A number: matches the number or its decimal string.
    Num(String),
    Bool(bool),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    /// Any value at all (`*`).
    Present,
    /// A regex (search); `(?i)` is added when the item is case-insensitive.
    Regex(String),
    Cmp(&'static str, String),
    Cidr(String),
    Field(Anchor, String),
    Null,
    Exists(bool),
}

pub struct Lowerer<'a> {
    pub file: &'a str,
    pub place: &'a Place<'a>,
    pub profile: &'a SigmaProfile,
    pub errors: Vec<Diagnostic>,
    /// While lowering the profile's implied conditions: every position is this one (the
    /// rule's `logsource`), since their text is not in the rule file.
    pin: Option<usize>,
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// A regex literal for one character outside a class, in the portable subset.
fn re_escape(c: char, out: &mut String) {
    if "\\.+*?()|[]{}^$".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

fn is_word(t: Option<&Tok>) -> bool {
    matches!(t, Some(Tok::C(c)) if c.is_alphanumeric() || *c == '_')
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
/// Most spellings `windash` may expand one value to.
const MAX_WINDASH: usize = 625;

impl<'a> Lowerer<'a> {
    pub fn new(file: &'a str, place: &'a Place<'a>, profile: &'a SigmaProfile) -> Self {
        Lowerer {
            file,
            place,
            profile,
            errors: Vec::new(),
            pin: None,
        }
    }

    fn at(&self, span: &Range<usize>) -> usize {
        self.pin.unwrap_or(span.start)
    }

    fn span(&self, span: &Range<usize>) -> Range<usize> {
        match self.pin {
            Some(p) => p..p,
            None => span.clone(),
        }
    }

    fn error(
        &mut self,
        code: &'static str,
        message: String,
        span: &Range<usize>,
    ) -> &mut Diagnostic {
        let d = Diagnostic::error(code, message, self.span(span));
        self.errors.push(d);
        self.errors.last_mut().expect("just pushed")
    }

    /// A Sigma field name -> a path in ruleqc's syntax, by the profile.
    pub fn path(&self, field: &str) -> String {
        if let Some(p) = self.place.fields.get(field) {
            return p.to_string();
        }
        let segs: Vec<String> = field.split('.').map(segment).collect();
        self.place
            .field_template
            .replace("{field}", &segs.join("."))
    }

    /// The profile's implied conditions, each lowered like a selection, positioned at `at`.
    pub fn implied(&mut self, at: usize) -> Vec<Out> {
        self.pin = Some(at);
        let conds: Vec<&Node> = self.place.conditions.clone();
        let out = conds
            .into_iter()
            .filter_map(|n| self.selection(n))
            .collect();
        self.pin = None;
        out
    }

    /// The whole detection: `condition` over the named selections.
    pub fn detection(&mut self, detection: &Node) -> Option<Out> {
        let Kind::Map(entries) = &detection.kind else {
            self.error(
                "E0601",
                "`detection` must be a mapping of selections and a `condition`".into(),
                &detection.span,
            );
            return None;
        };
        let mut selections: BTreeMap<String, &Node> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut cond_node = None;
        for (k, v) in entries {
            match k.scalar_text() {
                Some("condition") => cond_node = Some(v),
                Some("timeframe") => {}
                Some(name) => {
                    selections.insert(name.to_string(), v);
                    order.push(name.to_string());
                }
                None => {
                    self.error(
                        "E0601",
                        "selection names must be plain names".into(),
                        &k.span,
                    );
                }
            }
        }
        let Some(cond_node) = cond_node else {
            self.error(
                "E0601",
                "`detection` has no `condition`".into(),
                &detection.span,
            )
            .help = Some(
                "add `condition: selection` (the names of the selections, joined with and/or/not)"
                    .into(),
            );
            return None;
        };
        let conds: Vec<&Node> = match &cond_node.kind {
            Kind::Seq(items) if !items.is_empty() => items.iter().collect(),
            Kind::Scalar { .. } => vec![cond_node],
            _ => {
                self.error(
                    "E0601",
                    "`condition` must be a string".into(),
                    &cond_node.span,
                );
                return None;
            }
        };
        let mut parts = Vec::new();
        for c in conds {
            let Some(text) = c.scalar_text() else {
                self.error("E0601", "`condition` must be a string".into(), &c.span);
                continue;
            };
            let map = yaml::map_scalar(text, &self.file[c.span.clone()], c.span.start);
            let to_file = |r: Range<usize>| {
                let s = map[r.start.min(text.len())];
                s..map[r.end.min(text.len())].max(s)
            };
            match condition::parse(text) {
                Ok(tree) => {
                    if let Some(o) = self.cond(&tree, &selections, &order, &to_file) {
                        parts.push(o);
                    }
                }
                Err(d) => self.errors.push(d.map_span(to_file)),
            }
        }
        if parts.is_empty() {
            return None;
        }
        Some(Out::join(parts, "or", cond_node.span.start))
    }

    fn cond(
        &mut self,
        c: &Cond,
        sel: &BTreeMap<String, &Node>,
        order: &[String],
        to_file: &dyn Fn(Range<usize>) -> Range<usize>,
    ) -> Option<Out> {
        match c {
            Cond::And(a, b) | Cond::Or(a, b) => {
                let op = if matches!(c, Cond::And(..)) {
                    "and"
                } else {
                    "or"
                };
                let l = self.cond(a, sel, order, to_file);
                let r = self.cond(b, sel, order, to_file);
                let (l, r) = (l?, r?);
                let at = l.map.first().copied().unwrap_or(0);
                Some(Out::join(vec![l, r], op, at))
            }
            Cond::Not(a) => {
                let inner = self.cond(a, sel, order, to_file)?;
                let at = inner.map.first().copied().unwrap_or(0);
                let mut o = Out::default();
                o.push("not (", at);
                o.append(inner);
                o.push(")", at);
                Some(o)
            }
            Cond::Name(name, span) => {
                let file = to_file(span.clone());
                match sel.get(name) {
                    Some(node) => self.selection(node),
                    None => {
                        let help = match closest(name, order.iter().map(String::as_str)) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => format!("the selections are: {}", order.join(", ")),
                        };
                        self.error("E0602", format!("no selection named `{name}`"), &file)
                            .with_label_mut("unknown selection")
                            .help = Some(help);
                        None
                    }
                }
            }
            Cond::Of { all, pattern, span } => {
                let file = to_file(span.clone());
                let names: Vec<&String> = order
                    .iter()
                    .filter(|n| match pattern {
                        None => !n.starts_with('_'),
                        Some(p) => glob(p, n),
                    })
                    .collect();
                if names.is_empty() {
                    let what = pattern.as_deref().unwrap_or("them");
                    self.error("E0602", format!("`{what}` names no selection"), &file)
                        .help = Some(format!("the selections are: {}", order.join(", ")));
                    return None;
                }
                let mut parts = Vec::new();
                for n in names {
                    parts.push(self.selection(sel[n])?);
                }
                Some(Out::join(
                    parts,
                    if *all { "and" } else { "or" },
                    file.start,
                ))
            }
        }
    }

    /// One selection: a mapping (`and` of its keys), a list of mappings (`or`), or keywords.
    fn selection(&mut self, node: &Node) -> Option<Out> {
        match &node.kind {
            Kind::Map(entries) => {
                if entries.is_empty() {
                    self.error(
                        "E0601",
                        "a selection needs at least one field".into(),
                        &node.span,
                    );
                    return None;
                }
                let mut parts = Vec::new();
                let mut ok = true;
                for (k, v) in entries {
                    match self.item(k, v) {
                        Some(o) => parts.push(o),
                        None => ok = false,
                    }
                }
                ok.then(|| Out::join(parts, "and", self.at(&node.span)))
            }
            Kind::Seq(items) => {
                if items.is_empty() {
                    self.error(
                        "E0601",
                        "a selection needs at least one value".into(),
                        &node.span,
                    );
                    return None;
                }
                if items.iter().all(|i| matches!(i.kind, Kind::Map(_))) {
                    let mut parts = Vec::new();
                    for i in items {
                        parts.push(self.selection(i)?);
                    }
                    return Some(Out::join(parts, "or", self.at(&node.span)));
                }
                if items.iter().any(|i| !matches!(i.kind, Kind::Scalar { .. })) {
                    self.error(
                        "E0601",
                        "a selection list holds either mappings or keyword values, not both".into(),
                        &node.span,
                    );
                    return None;
                }
                self.values(
                    None,
                    &Mods {
                        anchor: Anchor::Contains,
                        ..Default::default()
                    },
                    items,
                    node,
                )
            }
            Kind::Scalar { .. } => self.values(
                None,
                &Mods {
                    anchor: Anchor::Contains,
                    ..Default::default()
                },
                std::slice::from_ref(node),
                node,
            ),
        }
    }

    fn mods(&mut self, key: &Node, names: &[&str]) -> Option<Mods> {
        let mut m = Mods::default();
        let mut ok = true;
        for &name in names {
            match name {
                "contains" => m.anchor = Anchor::Contains,
                "startswith" => m.anchor = Anchor::StartsWith,
                "endswith" => m.anchor = Anchor::EndsWith,
                "all" => m.all = true,
                "re" => m.re = true,
                "i" | "m" | "s" => m.re_flags.push_str(name),
                "windash" => m.windash = true,
                "base64" => m.base64 = true,
                "base64offset" => m.base64offset = true,
                "wide" | "utf16le" => m.encoding = Encoding::Utf16Le,
                "utf16be" => m.encoding = Encoding::Utf16Be,
                "utf16" => m.encoding = Encoding::Utf16Bom,
                "cidr" => m.cidr = true,
                "fieldref" => m.fieldref = true,
                "exists" => m.exists = true,
                "gt" => m.cmp = Some("gt"),
                "gte" => m.cmp = Some("ge"),
                "lt" => m.cmp = Some("lt"),
                "lte" => m.cmp = Some("le"),
                "cased" => m.cased = true,
                "expand" => m.expand = true,
                "neq" => m.neq = true,
                t if TIME_MODIFIERS.contains(&t) => {
                    self.error("E0603", format!("the time modifier `{t}` is not supported"), &key.span)
                        .help = Some("ruleqc compares values, not parts of dates; match the field with `re` or a wildcard".into());
                    ok = false;
                }
                other => {
                    let help = match closest(other, MODIFIERS.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("the modifiers are: {}", MODIFIERS.join(" ")),
                    };
                    self.error("E0603", format!("unknown modifier `{other}`"), &key.span)
                        .help = Some(help);
                    ok = false;
                }
            }
        }
        let string_mods = m.anchor != Anchor::Exact
            || m.windash
            || m.base64
            || m.base64offset
            || m.encoding != Encoding::Utf8;
        let conflict = if !m.re_flags.is_empty() && !m.re {
            Some("`i`, `m` and `s` go with `re`")
        } else if m.re && (string_mods || m.cidr || m.fieldref || m.cmp.is_some()) {
            Some(
                "`re` takes a regex as it is: it does not combine with string, encoding, `cidr`, `fieldref` or comparison modifiers",
            )
        } else if m.exists && names.len() > 1 {
            Some("`exists` stands alone")
        } else if m.cmp.is_some() && (string_mods || m.cidr || m.fieldref) {
            Some("`gt`, `gte`, `lt` and `lte` compare numbers: no string modifiers")
        } else if m.cidr && (string_mods || m.fieldref) {
            Some("`cidr` takes ranges: no string modifiers")
        } else if m.base64 && m.base64offset {
            Some("`base64` and `base64offset` exclude each other")
        } else if m.base64offset && m.anchor != Anchor::Contains {
            Some("`base64offset` finds a value inside encoded text: it needs `contains`")
        } else {
            None
        };
        if let Some(why) = conflict {
            self.error(
                "E0603",
                format!("modifiers `{}` do not go together", names.join("|")),
                &key.span,
            )
            .help = Some(why.into());
            ok = false;
        }
        ok.then_some(m)
    }

    /// `field|mods: value(s)`.
    fn item(&mut self, key: &Node, value: &Node) -> Option<Out> {
        let Some(k) = key.scalar_text() else {
            self.error("E0601", "field names must be plain names".into(), &key.span);
            return None;
        };
        let mut parts = k.split('|');
        let field = parts.next().unwrap_or("");
        let names: Vec<&str> = parts.collect();
        let mut m = self.mods(key, &names)?;
        let field = (!field.is_empty()).then_some(field);
        if field.is_none() && m.anchor == Anchor::Exact {
            // A keyword search with modifiers (`'|all': [...]`) still finds text anywhere.
            m.anchor = Anchor::Contains;
        }
        let items: Vec<Node> = match &value.kind {
            Kind::Seq(items) => items.clone(),
            _ => vec![value.clone()],
        };
        if items.is_empty() {
            self.error(
                "E0601",
                format!("`{k}` has an empty list of values"),
                &value.span,
            );
            return None;
        }
        if let Some(bad) = items
            .iter()
            .find(|i| !matches!(i.kind, Kind::Scalar { .. }))
        {
            self.error(
                "E0601",
                format!("values of `{k}` must be strings, numbers, booleans or null"),
                &bad.span,
            )
            .with_label_mut(format!("found {}", bad.kind_name()));
            return None;
        }
        self.values(field, &m, &items, key)
    }

    /// The values of one field (or keywords when `field` is `None`), joined with `or` (or
    /// `and` with `all`), negated with `neq`.
    fn values(&mut self, field: Option<&str>, m: &Mods, items: &[Node], key: &Node) -> Option<Out> {
        let path = match field {
            Some(f) => self.path(f),
            None => match self.place.raw_field.clone() {
                Some(r) => r,
                None => {
                    self.error("E0606", "a keyword search needs the raw-message field, and the profile names none".into(), &items[0].span)
                        .help = Some("set `raw_field` in the Sigma profile for this log source (`--sigma-profile`), or match a named field".into());
                    return None;
                }
            },
        };
        let ci = !m.cased && !m.re && !m.base64 && !m.base64offset && m.encoding == Encoding::Utf8;
        // Per value: its predicates, `or`-ed (windash, base64offset and expand give several).
        let mut per_value: Vec<(usize, Vec<Pred>)> = Vec::new();
        let mut ok = true;
        for v in items {
            match self.value(m, v) {
                Some(p) => per_value.push((self.at(&v.span), p)),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let at = self.at(&key.span);
        let out = if m.all {
            let parts = per_value
                .into_iter()
                .map(|(at, preds)| write_preds(&path, preds, ci, at))
                .collect();
            Out::join(parts, "and", at)
        } else {
            let first = per_value.first().map_or(at, |p| p.0);
            let preds = per_value.into_iter().flat_map(|(_, p)| p).collect();
            write_preds(&path, preds, ci, first)
        };
        if m.neq {
            let mut o = Out::default();
            o.push("not (", at);
            o.append(out);
            o.push(")", at);
            return Some(o);
        }
        Some(out)
    }

    /// One YAML value under its modifiers -> the predicates it stands for.
    fn value(&mut self, m: &Mods, v: &Node) -> Option<Vec<Pred>> {
        let resolved = match v.resolve() {
            Ok(r) => r,
            Err(e) => {
                self.error("E0601", e, &v.span);
                return None;
            }
        };
        let text = v.scalar_text().unwrap_or("").to_string();
        if m.exists {
            return match resolved {
                Resolved::Bool(b) => Some(vec![Pred::Exists(b)]),
                _ => {
                    self.error("E0603", "`exists` takes `true` or `false`".into(), &v.span);
                    None
                }
            };
        }
        if let Some(op) = m.cmp {
            return match resolved {
                Resolved::Int(i) => Some(vec![Pred::Cmp(op, i.to_string())]),
                Resolved::Float(f) if f.is_finite() => Some(vec![Pred::Cmp(op, text)]),
                _ => {
                    self.error("E0603", format!("`{}` compares with a number", op), &v.span)
                        .with_label_mut(format!("found {}", v.kind_name()));
                    None
                }
            };
        }
        let s = match resolved {
            Resolved::Null => return Some(vec![Pred::Null]),
            Resolved::Bool(b) if !m.re && !m.fieldref && !m.cidr => {
                return Some(vec![Pred::Bool(b)]);
            }
            Resolved::Int(i)
                if m.anchor == Anchor::Exact
                    && !m.re
                    && !m.fieldref
                    && !m.cidr
                    && !m.windash
                    && !m.base64
                    && !m.base64offset
                    && m.encoding == Encoding::Utf8 =>
            {
                return Some(vec![Pred::Num(i.to_string())]);
            }
            Resolved::Int(i) => i.to_string(),
            Resolved::Float(_) | Resolved::Bool(_) => text,
            Resolved::Str(s) => s,
        };
        if m.re {
            let flags = if m.re_flags.is_empty() {
                String::new()
            } else {
                let mut f: Vec<char> = m.re_flags.chars().collect();
                f.sort();
                f.dedup();
                format!("(?{})", f.into_iter().collect::<String>())
            };
            return Some(vec![Pred::Regex(format!("{flags}{s}"))]);
        }
        if m.cidr {
            return Some(vec![Pred::Cidr(s)]);
        }
        if m.fieldref {
            return Some(vec![Pred::Field(m.anchor, self.path(&s))]);
        }
        // Placeholders first, then wildcards, windash, encodings and the anchors.
        let raw_values = if m.expand {
            self.expand(&s, v)?
        } else {
            vec![s]
        };
        let mut preds = Vec::new();
        for raw in raw_values {
            let mut spellings = vec![tokens(&raw)];
            if m.windash {
                spellings = match windash(&spellings[0]) {
                    Some(s) => s,
                    None => {
                        self.error(
                            "E0603",
                            format!(
                                "`windash` would spell this value more than {MAX_WINDASH} ways"
                            ),
                            &v.span,
                        );
                        return None;
                    }
                };
            }
            for toks in spellings {
                let encoded = m.base64 || m.base64offset || m.encoding != Encoding::Utf8;
                let strings: Vec<Vec<Tok>> = if encoded {
                    let Some(text) = plain(&toks) else {
                        self.error("E0603", "wildcards cannot be encoded: `base64`, `base64offset` and the UTF-16 modifiers take a plain value".into(), &v.span)
                            .help = Some("escape a literal `*` or `?` as `\\*` or `\\?`".into());
                        return None;
                    };
                    let bytes = encode(&text, m.encoding);
                    let out: Vec<String> = if m.base64 {
                        vec![base64(&bytes)]
                    } else if m.base64offset {
                        base64_offsets(&bytes)
                    } else {
                        vec![bytes.iter().map(|&b| b as char).collect()]
                    };
                    out.iter()
                        .map(|s| s.chars().map(Tok::C).collect())
                        .collect()
                } else {
                    vec![toks]
                };
                for mut t in strings {
                    if matches!(m.anchor, Anchor::Contains | Anchor::EndsWith)
                        && t.first() != Some(&Tok::Star)
                    {
                        t.insert(0, Tok::Star);
                    }
                    if matches!(m.anchor, Anchor::Contains | Anchor::StartsWith)
                        && t.last() != Some(&Tok::Star)
                    {
                        t.push(Tok::Star);
                    }
                    preds.push(shape(&t));
                }
            }
        }
        Some(preds)
    }

    /// `%name%` placeholders -> every combination of the profile's values.
    fn expand(&mut self, s: &str, v: &Node) -> Option<Vec<String>> {
        let mut out = vec![String::new()];
        let mut rest = s;
        while let Some(start) = rest.find('%') {
            let Some(len) = rest[start + 1..].find('%') else {
                break;
            };
            let name = &rest[start + 1..start + 1 + len];
            let Some(values) = self.profile.placeholders.get(name) else {
                let known: Vec<&str> = self
                    .profile
                    .placeholders
                    .keys()
                    .map(String::as_str)
                    .collect();
                self.error(
                    "E0607",
                    format!(
                        "the placeholder `%{name}%` has no values in Sigma profile {}",
                        self.profile.name
                    ),
                    &v.span,
                )
                .help = Some(if known.is_empty() {
                    "list its values under `placeholders:` in a Sigma profile (`--sigma-profile`)"
                        .to_string()
                } else {
                    format!("the profile has: {}", known.join(", "))
                });
                return None;
            };
            let prefix = &rest[..start];
            out = out
                .iter()
                .flat_map(|o| values.iter().map(move |val| format!("{o}{prefix}{val}")))
                .collect();
            rest = &rest[start + 2 + len..];
        }
        Some(out.into_iter().map(|o| format!("{o}{rest}")).collect())
    }
}

trait LabelMut {
    fn with_label_mut(&mut self, l: impl Into<String>) -> &mut Self;
}

impl LabelMut for Diagnostic {
    fn with_label_mut(&mut self, l: impl Into<String>) -> &mut Self {
        self.label = Some(l.into());
        self
    }
}

/// A path segment in ruleqc's syntax: backticked unless it is a plain name.
fn segment(name: &str) -> String {
    const KEYWORDS: &[&str] = &["and", "or", "not", "any", "all", "true", "false", "null"];
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || "_@$".contains(c))
        && chars.all(|c| c.is_ascii_alphanumeric() || "_@$-".contains(c))
        && !KEYWORDS.contains(&name);
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// `*` matches any run of characters, other characters themselves.
fn glob(pattern: &str, name: &str) -> bool {
    // Without a line break (a regex `.` would not match one) this is a plain glob match:
    // building a regex per name tried cost a quarter of loading SigmaHQ's rules.
    if !name.contains('\n') {
        return crate::testing::glob_match(pattern, name);
    }
    let re = format!(
        "^{}$",
        pattern
            .split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*")
    );
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

/// Every spelling of a value with each dash that starts a word (`-x`, `/x`) written as `-`,
/// `/`, en dash, em dash or horizontal bar; `None` past `MAX_WINDASH` spellings.
fn windash(toks: &[Tok]) -> Option<Vec<Vec<Tok>>> {
    let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
    for (i, t) in toks.iter().enumerate() {
        let dash = matches!(t, Tok::C('-' | '/'))
            && !is_word(i.checked_sub(1).and_then(|p| toks.get(p)))
            && is_word(toks.get(i + 1));
        if dash {
            if out.len() * DASHES.len() > MAX_WINDASH {
                return None;
            }
            out = out
                .into_iter()
                .flat_map(|o| {
                    DASHES.iter().map(move |d| {
                        let mut o = o.clone();
                        o.push(Tok::C(*d));
                        o
                    })
                })
                .collect();
        } else {
            for o in &mut out {
                o.push(*t);
            }
        }
    }
    Some(out)
}

fn encode(s: &str, e: Encoding) -> Vec<u8> {
    match e {
        Encoding::Utf8 => s.as_bytes().to_vec(),
        Encoding::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Encoding::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Encoding::Utf16Bom => [0xFF, 0xFE]
            .into_iter()
            .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The three forms `bytes` takes inside base64 text, by its offset modulo 3 in the encoded
/// data: the value is encoded after 0, 1 and 2 filler bytes, and the characters that depend on
/// the filler or on what follows are cut off.
pub fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut data = vec![b' '; i];
            data.extend_from_slice(bytes);
            let enc = base64(&data);
            let cut = END[(bytes.len() + i) % 3];
            let end = enc.len().saturating_sub(cut);
            enc.get(START[i]..end.max(START[i]))
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// The cheapest predicate for a wildcard string: equality, a prefix, a suffix or a substring
/// when the wildcards allow, else an anchored regex.
fn shape(t: &[Tok]) -> Pred {
    if t.iter().all(|x| *x == Tok::Star) && !t.is_empty() {
        return Pred::Present;
    }
    let lead = t.first() == Some(&Tok::Star);
    let trail = t.len() > 1 && t.last() == Some(&Tok::Star);
    let inner = &t[usize::from(lead)..t.len() - usize::from(trail)];
    if let Some(s) = plain(inner) {
        return match (lead, trail) {
            (false, false) => Pred::Eq(s),
            (true, false) => Pred::EndsWith(s),
            (false, true) => Pred::StartsWith(s),
            (true, true) => Pred::Contains(s),
        };
    }
    let mut re = String::new();
    if !lead {
        re.push('^');
    }
    for x in inner {
        match x {
            Tok::C(c) => re_escape(*c, &mut re),
            Tok::Star => re.push_str(".*"),
            Tok::Qmark => re.push('.'),
        }
    }
    if !trail {
        re.push('$');
    }
    Pred::Regex(format!("(?s){re}"))
}

/// A canonical decimal integer (what a number prints as), so that the string value `"4688"`
/// also matches the number 4688.
fn integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0"
}

/// Writes the `or` of `preds` on `path`; equality tests are gathered into one `in` list.
fn write_preds(path: &str, preds: Vec<Pred>, ci: bool, at: usize) -> Out {
    let t = if ci { "~" } else { "" };
    let mut strs: Vec<String> = Vec::new();
    let mut nums: Vec<String> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    for p in preds {
        match p {
            Pred::Eq(s) => {
                if integer_text(&s) && !nums.contains(&s) {
                    nums.push(s.clone());
                }
                if !strs.contains(&s) {
                    strs.push(s);
                }
            }
            Pred::Num(n) => {
                if !nums.contains(&n) {
                    nums.push(n.clone());
                }
                if !strs.contains(&n) {
                    strs.push(n);
                }
            }
            Pred::Bool(b) => parts.push(format!("{path} eq {b}")),
            Pred::StartsWith(s) => parts.push(format!("{path} starts_with{t} {}", quote(&s))),
            Pred::EndsWith(s) => parts.push(format!("{path} ends_with{t} {}", quote(&s))),
            Pred::Contains(s) => parts.push(format!("{path} contains{t} {}", quote(&s))),
            Pred::Present => parts.push(format!("{path} is_not_null")),
            Pred::Regex(r) => {
                let r = if ci && !r.starts_with("(?") {
                    format!("(?i){r}")
                } else if ci {
                    format!("(?i{}", &r[2..])
                } else {
                    r
                };
                parts.push(format!("{path} matches {}", quote(&r)))
            }
            Pred::Cmp(op, n) => parts.push(format!("{path} {op} {n}")),
            Pred::Cidr(c) => parts.push(format!("{path} in_cidr {}", quote(&c))),
            Pred::Field(anchor, other) => {
                let op = match anchor {
                    Anchor::Exact => "eq",
                    Anchor::Contains => "contains",
                    Anchor::StartsWith => "starts_with",
                    Anchor::EndsWith => "ends_with",
                };
                if ci && anchor == Anchor::Exact {
                    // Numbers compare as numbers; strings without case.
                    parts.push(format!(
                        "({path} eq field({other}) or {path} eq~ field({other}))"
                    ));
                } else {
                    parts.push(format!("{path} {op}{t} field({other})"));
                }
            }
            Pred::Null => parts.push(format!("{path} is_null")),
            Pred::Exists(true) => parts.push(format!("{path} is_not_null")),
            Pred::Exists(false) => parts.push(format!("{path} is_null")),
        }
    }
    let list = |xs: &[String], quoted: bool| -> String {
        xs.iter()
            .map(|x| if quoted { quote(x) } else { x.clone() })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut front = Vec::new();
    match nums.len() {
        0 => {}
        1 => front.push(format!("{path} eq {}", nums[0])),
        _ => front.push(format!("{path} in [{}]", list(&nums, false))),
    }
    match strs.len() {
        0 => {}
        1 => front.push(format!("{path} eq{t} {}", quote(&strs[0]))),
        _ => front.push(format!("{path} in{t} [{}]", list(&strs, true))),
    }
    front.extend(parts);
    let n = front.len();
    let mut out = Out::default();
    if n > 1 {
        out.push("(", at);
    }
    out.push(&front.join(" or "), at);
    if n > 1 {
        out.push(")", at);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    /// Each offset form really is inside the encoding of the value behind 0, 1, 2 bytes of
    /// any prefix, with any suffix.
    #[test]
    fn base64_offsets_are_found_at_every_offset() {
        for value in ["http://", "IEX", "a", "ab", "powershell -enc"] {
            let forms = base64_offsets(value.as_bytes());
            for prefix in ["", "x", "xy", "xyz", "wxyz"] {
                for suffix in ["", "1", "12", "123"] {
                    let whole = base64(format!("{prefix}{value}{suffix}").as_bytes());
                    let i = prefix.len() % 3;
                    assert!(
                        whole.contains(&forms[i]),
                        "{value:?} after {prefix:?}: {} not in {whole}",
                        forms[i]
                    );
                }
            }
        }
        assert_eq!(
            base64_offsets(b"http://"),
            ["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]
        );
    }

    #[test]
    fn wildcards_pick_the_cheapest_shape() {
        let s = |v: &str| format!("{:?}", shape(&tokens(v)));
        assert_eq!(s("abc"), r#"Eq("abc")"#);
        assert_eq!(s("*abc"), r#"EndsWith("abc")"#);
        assert_eq!(s("abc*"), r#"StartsWith("abc")"#);
        assert_eq!(s("*abc*"), r#"Contains("abc")"#);
        assert_eq!(s("*"), "Present");
        assert_eq!(s("**"), "Present");
        assert_eq!(s(r"a\*b"), r#"Eq("a*b")"#);
        // `\*` is a literal star; `\\*` a backslash and then a wildcard.
        assert_eq!(s(r"C:\Windows\*"), r#"Eq("C:\\Windows*")"#);
        assert_eq!(s(r"C:\Windows\\*"), r#"StartsWith("C:\\Windows\\")"#);
        assert_eq!(s(r"\\\\srv"), r#"Eq("\\\\srv")"#);
        assert_eq!(s("a*b"), r#"Regex("(?s)^a.*b$")"#);
        assert_eq!(s("*a?b*"), r#"Regex("(?s)a.b")"#);
        assert_eq!(s("a.(b)"), r#"Eq("a.(b)")"#);
        assert_eq!(s("*a.c?"), r#"Regex("(?s)a\\.c.$")"#);
    }

    #[test]
    fn windash_spells_word_initial_dashes() {
        let spell = |v: &str| -> Vec<String> {
            windash(&tokens(v))
                .unwrap()
                .iter()
                .map(|t| plain(t).unwrap())
                .collect()
        };
        assert_eq!(
            spell(" -f "),
            [" -f ", " /f ", " \u{2013}f ", " \u{2014}f ", " \u{2015}f "]
        );
        assert_eq!(spell("a-b"), ["a-b"]);
        assert_eq!(spell(" -a -b").len(), 25);
        assert!(windash(&tokens("-a -b -c -d -e")).is_none());
    }

    #[test]
    fn integer_texts() {
        for (s, ok) in [
            ("4688", true),
            ("0", true),
            ("-1", true),
            ("007", false),
            ("1.0", false),
            ("", false),
            ("-", false),
            ("-0", false),
        ] {
            assert_eq!(integer_text(s), ok, "{s}");
        }
    }
}
