//! The condition's abstract syntax tree: what the author wrote, with byte spans into the
//! condition text. Nothing here is checked beyond syntax; `ir::lower` does the type checks.

use std::fmt;

/// A byte range in the condition text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Two or more operands; `a and b and c` is one node, as are the top-level lines.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `( expr )`, kept so that `explain --stage ast` shows what was written.
    Group(Box<Expr>),
    Predicate(Predicate),
    Quantifier {
        kind: Quantifier,
        path: Path,
        body: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    pub path: Path,
    pub op: Operator,
    /// `~` after the operator: case-insensitive.
    pub case_insensitive: bool,
    /// The operator as written, e.g. `==` or `not_in~`.
    pub op_span: Span,
    pub value: Option<Literal>,
}

/// Every operator of SPEC §3.4, aliases resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Ne,
    In,
    NotIn,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Matches,
    NotMatches,
    Gt,
    Ge,
    Lt,
    Le,
    IsNull,
    IsNotNull,
    IsEmpty,
    IsNotEmpty,
    InCidr,
    NotInCidr,
}

impl Operator {
    pub fn from_word(word: &str) -> Option<Operator> {
        use Operator::*;
        Some(match word {
            "eq" | "==" => Eq,
            "ne" | "!=" => Ne,
            "in" => In,
            "not_in" => NotIn,
            "contains" => Contains,
            "not_contains" => NotContains,
            "starts_with" => StartsWith,
            "not_starts_with" => NotStartsWith,
            "ends_with" => EndsWith,
            "not_ends_with" => NotEndsWith,
            "matches" => Matches,
            "not_matches" => NotMatches,
            "gt" | ">" => Gt,
            "ge" | ">=" => Ge,
            "lt" | "<" => Lt,
            "le" | "<=" => Le,
            "is_null" => IsNull,
            "is_not_null" => IsNotNull,
            "is_empty" => IsEmpty,
            "is_not_empty" => IsNotEmpty,
            "in_cidr" => InCidr,
            "not_in_cidr" => NotInCidr,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use Operator::*;
        match self {
            Eq => "eq",
            Ne => "ne",
            In => "in",
            NotIn => "not_in",
            Contains => "contains",
            NotContains => "not_contains",
            StartsWith => "starts_with",
            NotStartsWith => "not_starts_with",
            EndsWith => "ends_with",
            NotEndsWith => "not_ends_with",
            Matches => "matches",
            NotMatches => "not_matches",
            Gt => "gt",
            Ge => "ge",
            Lt => "lt",
            Le => "le",
            IsNull => "is_null",
            IsNotNull => "is_not_null",
            IsEmpty => "is_empty",
            IsNotEmpty => "is_not_empty",
            InCidr => "in_cidr",
            NotInCidr => "not_in_cidr",
        }
    }

    /// `is_null` and friends take no value.
    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            Operator::IsNull | Operator::IsNotNull | Operator::IsEmpty | Operator::IsNotEmpty
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field path: `user.name`, `` detail.`user agent` ``, `argv[0]`, `resources[*].type`, `@`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    pub segments: Vec<Segment>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// `@`: the current array element (only as the first segment, inside `any`/`all`).
    Element,
    Key(String),
    Index(u64),
    /// `[*]`: some element of the array.
    AnyElement,
}

impl Path {
    /// The path in the DSL's own syntax, with backticks where a segment needs them.
    pub fn display(&self) -> String {
        display_segments(&self.segments)
    }
}

pub fn display_segments(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Element => out.push('@'),
            Segment::Key(k) => {
                if i > 0 {
                    out.push('.');
                }
                push_key(&mut out, k);
            }
            Segment::Index(n) => {
                out.push('[');
                out.push_str(&n.to_string());
                out.push(']');
            }
            Segment::AnyElement => out.push_str("[*]"),
        }
    }
    out
}

const KEYWORDS: &[&str] = &["and", "or", "not", "any", "all", "true", "false", "null"];

fn push_key(out: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '@' | '$'))
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '$' | '-'))
        && key != "@"
        && !KEYWORDS.contains(&key);
    if plain {
        out.push_str(key);
    } else {
        out.push('`');
        out.push_str(&key.replace('`', "``"));
        out.push('`');
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LiteralKind {
    /// A `"..."` string (escapes decoded) or `r"..."` raw string.
    String {
        value: String,
        raw: bool,
    },
    Number(serde_json::Number),
    Bool(bool),
    /// The reserved word `null`: always an error once checked, kept so the error can point at it.
    Null,
    List(Vec<Literal>),
    /// `field(PATH)`: another field's value in the same event or element (SPEC §3.7).
    Field(Path),
}

impl LiteralKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            LiteralKind::String { .. } => "a string",
            LiteralKind::Number(_) => "a number",
            LiteralKind::Bool(_) => "a boolean",
            LiteralKind::Null => "null",
            LiteralKind::List(_) => "a list",
            LiteralKind::Field(_) => "a field reference",
        }
    }
}
