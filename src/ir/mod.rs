//! The predicate IR: where the semantics of SPEC §3 live.
//!
//! `lower` turns the AST into IR after checking every operator against its literal;
//! `normalize` pushes `not` down to the leaves and flattens `and`/`or`, so that a normalised
//! tree has no `Not` node: each leaf carries its own `negated` flag and says whether it is true
//! when the field is missing (SPEC §3.6). The reference evaluator (`eval`) and every backend
//! read the same normalised tree.

pub mod eval;
pub mod lower;
pub mod normalize;

use std::fmt::{self, Write as _};

use crate::syntax::ast::Span;

/// A boolean expression over one event (or, inside a quantifier, one array element).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    /// Only before `normalize`.
    Not(Box<Node>),
    Leaf(Leaf),
    /// True when the value at `path` is an array and some element satisfies `body`
    /// (evaluated with the element as its root).
    Any {
        path: FieldPath,
        body: Box<Node>,
    },
    /// True when the value at `path` is not an array, or every element satisfies `body`.
    All {
        path: FieldPath,
        body: Box<Node>,
    },
}

/// A path relative to the event (or to the current element inside a quantifier). Never
/// contains `[*]`: that is lowered to an `Any` node. An empty path is the root itself (`@`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(pub Vec<Step>);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Key(String),
    Index(u64),
}

impl FieldPath {
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path in the DSL's syntax (`@` for the root).
    pub fn display(&self) -> String {
        if self.0.is_empty() {
            return "@".into();
        }
        let segs: Vec<crate::syntax::ast::Segment> = self
            .0
            .iter()
            .map(|s| match s {
                Step::Key(k) => crate::syntax::ast::Segment::Key(k.clone()),
                Step::Index(i) => crate::syntax::ast::Segment::Index(*i),
            })
            .collect();
        let out = crate::syntax::ast::display_segments(&segs);
        // A path that starts with an index (`@[0]`) needs the element marker in front.
        if matches!(self.0.first(), Some(Step::Index(_))) {
            format!("@{out}")
        } else {
            out
        }
    }
}

/// One typed comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    pub path: FieldPath,
    pub test: Test,
    /// String tests only: compare after Unicode simple lower-casing.
    pub case_insensitive: bool,
    /// The leaf is the negation of `test` (`ne`, `not_in`, `is_not_null`, `not (...)`).
    pub negated: bool,
    /// The predicate in the condition text.
    pub span: Span,
}

impl Leaf {
    /// The leaf's truth value when the field is missing (SPEC §3.6): every positive test is
    /// false on a missing field except `is_null`/`is_empty`; a negated leaf flips that.
    pub fn true_when_missing(&self) -> bool {
        let positive = matches!(self.test, Test::IsNull | Test::IsEmpty);
        positive != self.negated
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// Same JSON type and equal (numbers numerically).
    Eq(Scalar),
    /// `Eq` some element; the list is non-empty and of one type.
    In(Vec<Scalar>),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    /// Unanchored search.
    Matches(Pattern),
    Compare(CmpOp, serde_json::Number),
    IsNull,
    IsEmpty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
}

/// A checked regex: the source as written and the compiled form the evaluator uses, built
/// when first needed (compiling a rule never needs it).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub source: String,
    pub regex: std::sync::OnceLock<regex::Regex>,
}

impl Pattern {
    /// The compiled regex, with the SPEC's ASCII `\d \w \s \b`.
    pub fn regex(&self) -> &regex::Regex {
        self.regex.get_or_init(|| {
            Self::build(&self.source)
                .expect("check_regex accepted the pattern, and only a size limit is left to fail; patterns that could reach it are built there")
        })
    }

    /// Compiles a pattern with the SPEC's ASCII classes (the `Rust` regex flavour).
    pub fn build(source: &str) -> Result<regex::Regex, regex::Error> {
        use crate::backend::regexp::{Flavour, translate};
        let spec = translate(source, Flavour::Rust).map_err(|e| regex::Error::Syntax(e.reason))?;
        regex::Regex::new(&spec.pattern)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(&quote(s)),
            Scalar::Num(n) => write!(f, "{n}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ci = if self.case_insensitive { "~" } else { "" };
        let neg = if self.negated { "not " } else { "" };
        let path = self.path.display();
        match &self.test {
            Test::Eq(v) => write!(f, "{neg}{path} eq{ci} {v}")?,
            Test::In(vs) => {
                let items: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
                write!(f, "{neg}{path} in{ci} [{}]", items.join(", "))?
            }
            Test::Contains(s) => write!(f, "{neg}{path} contains{ci} {}", quote(s))?,
            Test::StartsWith(s) => write!(f, "{neg}{path} starts_with{ci} {}", quote(s))?,
            Test::EndsWith(s) => write!(f, "{neg}{path} ends_with{ci} {}", quote(s))?,
            Test::Matches(p) => write!(f, "{neg}{path} matches {}", quote(&p.source))?,
            Test::Compare(op, n) => write!(f, "{neg}{path} {} {n}", op.symbol())?,
            Test::IsNull => write!(f, "{neg}{path} is_null")?,
            Test::IsEmpty => write!(f, "{neg}{path} is_empty")?,
        }
        if self.true_when_missing() {
            f.write_str("  [true when missing]")?;
        }
        Ok(())
    }
}

impl Node {
    /// An indented tree, one node per line (`ruleqc explain --stage ir`).
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write_tree(&mut out, 0);
        out
    }

    fn write_tree(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        match self {
            Node::And(items) | Node::Or(items) => {
                let name = if matches!(self, Node::And(_)) {
                    "and"
                } else {
                    "or"
                };
                let _ = writeln!(out, "{pad}{name}");
                for item in items {
                    item.write_tree(out, depth + 1);
                }
            }
            Node::Not(inner) => {
                let _ = writeln!(out, "{pad}not");
                inner.write_tree(out, depth + 1);
            }
            Node::Leaf(leaf) => {
                let _ = writeln!(out, "{pad}{leaf}");
            }
            Node::Any { path, body } | Node::All { path, body } => {
                let name = if matches!(self, Node::Any { .. }) {
                    "any"
                } else {
                    "all"
                };
                let _ = writeln!(out, "{pad}{name} {}", path.display());
                body.write_tree(out, depth + 1);
            }
        }
    }
}
