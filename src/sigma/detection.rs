//! A Sigma `detection` -> ruleqc condition text (SPEC §3) and, built alongside, its syntax tree,
//! which the ordinary lowering and normaliser then turn into IR (the text is not parsed again).
//! Every byte of the generated text remembers where in the Sigma file it came from (the value,
//! key or condition word that produced it), so a problem found later (a regex outside the
//! portable subset, a bad CIDR range, a target that cannot express a predicate) is reported at
//! the Sigma source.

use std::collections::BTreeMap;
use std::ops::Range;

use super::condition::{self, Cond};
use super::profile::{Resolved as Place, SigmaProfile};
use crate::diag::{Diagnostic, closest};
use crate::rule::yaml::{self, Kind, Node, Resolved};
use crate::syntax::ast::{
    Expr, ExprKind, Literal, LiteralKind, Operator, Path, Predicate, Segment, Span,
};

/// Generated condition text with the file offset of each of its bytes (as runs of bytes from
/// one position: a piece is copied once per level it is nested in, and a run per byte would be
/// eight times its text), and the syntax tree the
/// condition parser would build from that text (spans relative to the start of `text`), so the
/// rule is lowered without parsing its generated text again. `expr` is `None` where the tree
/// cannot be built directly (a profile path the fast reader does not take, a number outside the
/// grammar): the text is then parsed as before, with the same result and the same errors.
#[derive(Clone, Debug, Default)]
pub struct Out {
    pub text: String,
    /// (offset in `text`, offset in the file) where each run of bytes from one file offset
    /// starts.
    pub runs: Vec<(usize, usize)>,
    pub expr: Option<Expr>,
}

impl Out {
    fn push(&mut self, s: &str, at: usize) {
        if s.is_empty() {
            return;
        }
        if self.runs.last().is_none_or(|r| r.1 != at) {
            self.runs.push((self.text.len(), at));
        }
        self.text.push_str(s);
    }

    /// The file offset of the first byte.
    fn first_at(&self) -> Option<usize> {
        self.runs.first().map(|r| r.1)
    }

    /// The file offset of each byte of `text` (debug builds check the runs against it).
    #[cfg(debug_assertions)]
    pub fn byte_map(&self) -> Vec<usize> {
        let mut map = Vec::with_capacity(self.text.len() + 1);
        for (i, &(start, at)) in self.runs.iter().enumerate() {
            let end = self.runs.get(i + 1).map_or(self.text.len(), |r| r.0);
            map.extend(std::iter::repeat_n(at, end - start));
        }
        map
    }

    /// Appends `o`'s text; returns its expression shifted to where it now starts.
    fn append(&mut self, o: Out) -> Option<Expr> {
        let start = self.text.len();
        self.text.push_str(&o.text);
        for (s, at) in o.runs {
            if self.runs.last().is_none_or(|r| r.1 != at) {
                self.runs.push((start + s, at));
            }
        }
        o.expr.map(|mut e| {
            shift(&mut e, start);
            e
        })
    }

    /// `( a OP b OP c )`; one part needs no parentheses.
    fn join(mut parts: Vec<Out>, op: &str, at: usize) -> Out {
        let n = parts.len();
        if n <= 1 {
            return parts.pop().unwrap_or_default();
        }
        let mut out = Out::default();
        let sep = match op {
            "and" => " and ",
            "or" => " or ",
            _ => unreachable!("join takes and/or"),
        };
        out.text.reserve(
            2 + parts
                .iter()
                .map(|p| p.text.len() + sep.len())
                .sum::<usize>(),
        );
        out.push("(", at);
        let mut exprs = Some(Vec::with_capacity(n));
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push(sep, at);
            }
            let e = out.append(p);
            exprs = exprs.zip(e).map(|(mut v, e)| {
                v.push(e);
                v
            });
        }
        out.push(")", at);
        out.expr = exprs.and_then(|v| operands(v, op == "and", out.text.len()));
        out
    }

    /// `(a) and (b) and ...`: a rule's implied conditions and its detection, at `at`.
    pub fn and_groups(parts: Vec<Out>, at: usize) -> Out {
        let mut o = Out::default();
        let mut exprs = Some(Vec::with_capacity(parts.len()));
        for (i, p) in parts.into_iter().enumerate() {
            if i > 0 {
                o.push(" and ", at);
            }
            let start = o.text.len();
            o.push("(", at);
            let e = o.append(p);
            o.push(")", at);
            let span = Span::new(start, o.text.len());
            exprs = exprs.zip(e).map(|(mut v, e)| {
                v.push(Expr {
                    kind: ExprKind::Group(Box::new(e)),
                    span,
                });
                v
            });
        }
        o.expr = exprs.map(|v| Expr {
            kind: ExprKind::And(v),
            span: Span::new(0, o.text.len()),
        });
        o
    }

    /// `not ( inner )`.
    fn not(inner: Out, at: usize) -> Out {
        let mut o = Out::default();
        o.push("not (", at);
        let e = o.append(inner);
        o.push(")", at);
        let len = o.text.len();
        o.expr = e.map(|e| Expr {
            kind: ExprKind::Not(Box::new(Expr {
                kind: ExprKind::Group(Box::new(e)),
                span: Span::new(4, len),
            })),
            span: Span::new(0, len),
        });
        o
    }
}

/// The group `(e1 OP e2 ...)` of `len` bytes as the parser reads it: the operands (already at
/// their offsets) folded left, and a value-less predicate's span running over the space after
/// it, as the grammar's implicit white space does. `None` where an operand is itself a bare
/// `and`/`or`, whose precedence the fold would not reproduce (generated text has none).
fn operands(items: Vec<Expr>, and: bool, len: usize) -> Option<Expr> {
    let last = items.len() - 1;
    let mut out = Vec::with_capacity(items.len());
    for (i, mut e) in items.into_iter().enumerate() {
        match &e.kind {
            ExprKind::And(_) | ExprKind::Or(_) => return None,
            ExprKind::Predicate(p) if p.value.is_none() && i < last => e.span.end += 1,
            _ => {}
        }
        out.push(e);
    }
    let span = Span::new(out[0].span.start, out[out.len() - 1].span.end);
    let kind = if and {
        ExprKind::And(out)
    } else {
        ExprKind::Or(out)
    };
    Some(Expr {
        kind: ExprKind::Group(Box::new(Expr { kind, span })),
        span: Span::new(0, len),
    })
}

/// Moves every span in `e` by `by` bytes.
pub(super) fn shift(e: &mut Expr, by: usize) {
    fn sp(s: &mut Span, by: usize) {
        s.start += by;
        s.end += by;
    }
    sp(&mut e.span, by);
    match &mut e.kind {
        ExprKind::And(items) | ExprKind::Or(items) => items.iter_mut().for_each(|i| shift(i, by)),
        ExprKind::Not(inner) | ExprKind::Group(inner) => shift(inner, by),
        ExprKind::Quantifier { path, body, .. } => {
            sp(&mut path.span, by);
            shift(body, by);
        }
        ExprKind::Predicate(p) => {
            sp(&mut p.path.span, by);
            sp(&mut p.op_span, by);
            if let Some(v) = &mut p.value {
                shift_lit(v, by);
            }
        }
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
        if let Some(p) = self.place.field(field) {
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
                let at = l.first_at().unwrap_or(0);
                Some(Out::join(vec![l, r], op, at))
            }
            Cond::Not(a) => {
                let inner = self.cond(a, sel, order, to_file)?;
                let at = inner.first_at().unwrap_or(0);
                Some(Out::not(inner, at))
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
        let items: &[Node] = match &value.kind {
            Kind::Seq(items) => items,
            _ => std::slice::from_ref(value),
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
        self.values(field, &m, items, key)
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
        let path = PathText::new(&path);
        let ci = !m.cased && !m.re && !m.base64 && !m.base64offset && m.encoding == Encoding::Utf8;
        // Per value: its predicates, `or`-ed (windash, base64offset and expand give several).
        let mut per_value: Vec<(usize, Vec<Pred>)> = Vec::with_capacity(items.len());
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
            let mut preds = Vec::with_capacity(per_value.iter().map(|p| p.1.len()).sum());
            for (_, p) in per_value {
                preds.extend(p);
            }
            write_preds(&path, preds, ci, first)
        };
        if m.neq {
            return Some(Out::not(out, at));
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
        let text = v.scalar_text().unwrap_or("");
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
                Resolved::Float(f) if f.is_finite() => Some(vec![Pred::Cmp(op, text.to_string())]),
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
            Resolved::Float(_) | Resolved::Bool(_) => text.to_string(),
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
        let encoded = m.base64 || m.base64offset || m.encoding != Encoding::Utf8;
        for raw in raw_values {
            if !m.windash
                && !encoded
                && let Some(p) = literal_pred(&raw, m.anchor)
            {
                preds.push(p);
                continue;
            }
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

/// The predicate of a value without wildcards or backslashes under `anchor`: what [`shape`]
/// gives for its tokens, without building them (most Sigma values are plain text). `None`
/// when `raw` has a `*`, `?` or `\\`.
fn literal_pred(raw: &str, anchor: Anchor) -> Option<Pred> {
    if raw.contains(['*', '?', '\\']) {
        return None;
    }
    let s = raw.to_string();
    Some(match anchor {
        Anchor::Exact => Pred::Eq(s),
        _ if raw.is_empty() => Pred::Present,
        Anchor::Contains => Pred::Contains(s),
        Anchor::StartsWith => Pred::StartsWith(s),
        Anchor::EndsWith => Pred::EndsWith(s),
    })
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

/// Moves every span in `l` by `by` bytes.
fn shift_lit(l: &mut Literal, by: usize) {
    l.span.start += by;
    l.span.end += by;
    match &mut l.kind {
        LiteralKind::List(items) => items.iter_mut().for_each(|i| shift_lit(i, by)),
        LiteralKind::Field(p) => {
            p.span.start += by;
            p.span.end += by;
        }
        _ => {}
    }
}

/// A path as written into the condition, and its syntax tree (spans from 0) when it reads
/// as one.
struct PathText<'p> {
    text: &'p str,
    ast: Option<Path>,
}

impl<'p> PathText<'p> {
    fn new(text: &'p str) -> Self {
        PathText {
            text,
            ast: read_path(text),
        }
    }
}

/// `text` as the condition grammar reads a path: plain names joined with `.` directly, anything
/// else (backticks, indexes, `@`) by the grammar's own path rule.
fn read_path(text: &str) -> Option<Path> {
    const KEYWORDS: &[&str] = &["and", "or", "not", "any", "all", "true", "false", "null"];
    let ident = |seg: &str| {
        seg.bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'@' | b'$'))
            && seg
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'$' | b'-'))
            && seg != "@"
            && !KEYWORDS.contains(&seg)
    };
    let span = Span::new(0, text.len());
    if text.split('.').all(ident) {
        let segments = text
            .split('.')
            .map(|s| Segment::Key(s.to_string()))
            .collect();
        return Some(Path { segments, span });
    }
    if text.is_empty() || text.trim() != text || text.contains(['\n', '\r', '#']) {
        return None;
    }
    crate::syntax::parse_path(text)
        .ok()
        .filter(|p| p.span == span)
}

/// A literal as written, and its syntax tree (spans from 0) when the grammar reads it so.
fn string_lit(s: &str) -> (String, Option<Literal>) {
    let text = quote(s);
    let lit = Literal {
        kind: LiteralKind::String {
            value: s.to_string(),
            raw: false,
        },
        span: Span::new(0, text.len()),
    };
    (text, Some(lit))
}

fn number_lit(n: &str) -> (String, Option<Literal>) {
    let lit = grammar_number(n)
        .then(|| serde_json::from_str::<serde_json::Number>(n).ok())
        .flatten()
        .map(|num| Literal {
            kind: LiteralKind::Number(num),
            span: Span::new(0, n.len()),
        });
    (n.to_string(), lit)
}

/// The condition grammar's number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn grammar_number(n: &str) -> bool {
    let b = n.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn list_lit(items: Vec<(String, Option<Literal>)>) -> (String, Option<Literal>) {
    let mut text = String::from("[");
    let mut lits = Some(Vec::with_capacity(items.len()));
    for (i, (t, l)) in items.into_iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let at = text.len();
        text.push_str(&t);
        lits = lits.zip(l).map(|(mut v, mut l)| {
            shift_lit(&mut l, at);
            v.push(l);
            v
        });
    }
    text.push(']');
    let span = Span::new(0, text.len());
    let lit = lits.map(|v| Literal {
        kind: LiteralKind::List(v),
        span,
    });
    (text, lit)
}

fn field_lit(other: &PathText) -> (String, Option<Literal>) {
    let text = format!("field({})", other.text);
    let lit = other.ast.clone().map(|mut p| {
        p.span = Span::new(6, 6 + other.text.len());
        Literal {
            kind: LiteralKind::Field(p),
            span: Span::new(0, text.len()),
        }
    });
    (text, lit)
}

/// `PATH OP[~] [VALUE]`, every byte at `at`.
fn predicate(
    path: &PathText,
    op: Operator,
    ci: bool,
    value: Option<(String, Option<Literal>)>,
    at: usize,
) -> Out {
    let mut text =
        String::with_capacity(path.text.len() + 16 + value.as_ref().map_or(0, |(t, _)| t.len()));
    text.push_str(path.text);
    text.push(' ');
    let op_start = text.len();
    text.push_str(op.name());
    if ci {
        text.push('~');
    }
    let op_span = Span::new(op_start, text.len());
    let (value, lit_ok) = match value {
        None => (None, true),
        Some((t, l)) => {
            text.push(' ');
            let at = text.len();
            text.push_str(&t);
            let ok = l.is_some();
            (
                l.map(|mut l| {
                    shift_lit(&mut l, at);
                    l
                }),
                ok,
            )
        }
    };
    let expr = match (&path.ast, lit_ok) {
        (Some(p), true) => Some(Expr {
            span: Span::new(0, text.len()),
            kind: ExprKind::Predicate(Predicate {
                path: p.clone(),
                op,
                case_insensitive: ci,
                op_span,
                value,
            }),
        }),
        _ => None,
    };
    Out {
        runs: if text.is_empty() {
            Vec::new()
        } else {
            vec![(0, at)]
        },
        text,
        expr,
    }
}

/// Writes the `or` of `preds` on `path`; equality tests are gathered into one `in` list.
fn write_preds(path: &PathText, preds: Vec<Pred>, ci: bool, at: usize) -> Out {
    let mut strs: Vec<String> = Vec::new();
    let mut nums: Vec<String> = Vec::new();
    let mut parts: Vec<Out> = Vec::new();
    let p = |op, value| predicate(path, op, false, value, at);
    let pt = |op, value| predicate(path, op, ci, value, at);
    for pr in preds {
        match pr {
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
            Pred::Bool(b) => {
                let lit = Literal {
                    kind: LiteralKind::Bool(b),
                    span: Span::new(0, if b { 4 } else { 5 }),
                };
                parts.push(p(Operator::Eq, Some((b.to_string(), Some(lit)))));
            }
            Pred::StartsWith(s) => parts.push(pt(Operator::StartsWith, Some(string_lit(&s)))),
            Pred::EndsWith(s) => parts.push(pt(Operator::EndsWith, Some(string_lit(&s)))),
            Pred::Contains(s) => parts.push(pt(Operator::Contains, Some(string_lit(&s)))),
            Pred::Present => parts.push(p(Operator::IsNotNull, None)),
            Pred::Regex(r) => {
                let r = if ci && !r.starts_with("(?") {
                    format!("(?i){r}")
                } else if ci {
                    format!("(?i{}", &r[2..])
                } else {
                    r
                };
                parts.push(p(Operator::Matches, Some(string_lit(&r))))
            }
            Pred::Cmp(op, n) => {
                let op = Operator::from_word(op).expect("a comparison operator");
                parts.push(p(op, Some(number_lit(&n))))
            }
            Pred::Cidr(c) => parts.push(p(Operator::InCidr, Some(string_lit(&c)))),
            Pred::Field(anchor, other) => {
                let op = match anchor {
                    Anchor::Exact => Operator::Eq,
                    Anchor::Contains => Operator::Contains,
                    Anchor::StartsWith => Operator::StartsWith,
                    Anchor::EndsWith => Operator::EndsWith,
                };
                let other = PathText::new(&other);
                if ci && anchor == Anchor::Exact {
                    // Numbers compare as numbers; strings without case.
                    parts.push(Out::join(
                        vec![
                            predicate(path, Operator::Eq, false, Some(field_lit(&other)), at),
                            predicate(path, Operator::Eq, true, Some(field_lit(&other)), at),
                        ],
                        "or",
                        at,
                    ));
                } else {
                    parts.push(pt(op, Some(field_lit(&other))));
                }
            }
            Pred::Null => parts.push(p(Operator::IsNull, None)),
            Pred::Exists(true) => parts.push(p(Operator::IsNotNull, None)),
            Pred::Exists(false) => parts.push(p(Operator::IsNull, None)),
        }
    }
    let mut front = Vec::with_capacity(parts.len() + 2);
    match nums.len() {
        0 => {}
        1 => front.push(p(Operator::Eq, Some(number_lit(&nums[0])))),
        _ => front.push(p(
            Operator::In,
            Some(list_lit(nums.iter().map(|n| number_lit(n)).collect())),
        )),
    }
    match strs.len() {
        0 => {}
        1 => front.push(pt(Operator::Eq, Some(string_lit(&strs[0])))),
        _ => front.push(pt(
            Operator::In,
            Some(list_lit(strs.iter().map(|s| string_lit(s)).collect())),
        )),
    }
    front.extend(parts);
    Out::join(front, "or", at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree built alongside the text is the one the condition parser reads from it, for
    /// every predicate form the writer has (value-less predicates inside groups, lists, `~`,
    /// `field()`, `not`, a backticked path read by the grammar's path rule); a number outside
    /// the grammar leaves no tree, so the text is parsed (and its error reported) as before.
    #[test]
    fn built_tree_is_the_parsed_tree() {
        let profile = SigmaProfile::built_in();
        let place = profile.resolve(&super::super::profile::LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            service: None,
        });
        let lower = |det: &str| {
            let text = format!("detection:\n{det}");
            let root = yaml::parse(&text).unwrap().unwrap();
            let Kind::Map(entries) = &root.kind else {
                panic!("a mapping")
            };
            let mut lw = Lowerer::new(&text, &place, &profile);
            let out = lw.detection(&entries[0].1);
            assert!(lw.errors.is_empty(), "{:?}", lw.errors);
            out.expect("a condition")
        };
        let out = lower(
            r#"  a:
    Image|endswith: ['\x.exe', '\y.exe']
    CommandLine|contains|all: [' -a', ' -b']
    'odd name': '*'
    EventID: [1, 2]
    Flag: true
    Other: null
    Size|gt: 1.5
    Count|lte: 3
    Ip|cidr: 10.0.0.0/8
    User|fieldref: TargetUser
    Pfx|fieldref|startswith: Owner
    Rx|re|i: 'a.*b'
    Wild: 'a*b?c'
    Cased|cased: 'X'
    Gone|exists: false
  b:
    Name|neq: 'x'
    There|exists: true
  c:
    - Z: 1
    - Y|startswith: q
  condition: (a or not b) and 1 of c* and not (b and a)"#,
        );
        let parsed = crate::syntax::parse(&out.text).expect("the text parses");
        assert_eq!(out.expr.as_ref(), Some(&parsed), "{}", out.text);
        assert!(
            out.text.contains(".`odd name` is_not_null and "),
            "{}",
            out.text
        );
        #[cfg(debug_assertions)]
        assert_eq!(out.byte_map().len(), out.text.len());

        let out = lower("  a:\n    Size|gt: 1.5e3\n  condition: a");
        assert_eq!(out.text, "Event.EventData.Size gt 1.5e3");
        assert!(out.expr.is_some());
        let out = lower("  a:\n    Size|gt: .5\n  condition: a");
        assert_eq!(out.text, "Event.EventData.Size gt .5");
        assert!(out.expr.is_none() && crate::syntax::parse(&out.text).is_err());
        assert!(!grammar_number(".5") && !grammar_number("01") && !grammar_number("1."));
        assert!(grammar_number("-0.5E+3") && grammar_number("0") && !grammar_number("-"));
    }

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

    /// The shortcut for plain values gives what the tokens give, under every anchor; values
    /// with a wildcard or a backslash take the tokens.
    #[test]
    fn plain_values_skip_the_tokens() {
        let anchored = |raw: &str, anchor: Anchor| {
            let mut t = tokens(raw);
            if matches!(anchor, Anchor::Contains | Anchor::EndsWith)
                && t.first() != Some(&Tok::Star)
            {
                t.insert(0, Tok::Star);
            }
            if matches!(anchor, Anchor::Contains | Anchor::StartsWith)
                && t.last() != Some(&Tok::Star)
            {
                t.push(Tok::Star);
            }
            format!("{:?}", shape(&t))
        };
        for raw in ["", "a", "cmd.exe", " -enc ", "ünï", "a.b(c)|d[e]^$"] {
            for anchor in [
                Anchor::Exact,
                Anchor::Contains,
                Anchor::StartsWith,
                Anchor::EndsWith,
            ] {
                let fast = literal_pred(raw, anchor).expect("a plain value");
                assert_eq!(
                    format!("{fast:?}"),
                    anchored(raw, anchor),
                    "{raw:?} {anchor:?}"
                );
            }
        }
        for raw in ["*", "a*b", "a?", "C:\\x", "\\*"] {
            assert!(literal_pred(raw, Anchor::Exact).is_none(), "{raw}");
        }
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
