//! AST -> IR: every predicate checked against SPEC §3.3–3.5 (operator vs literal type, lists,
//! `null`, `~`, regexes, paths), `[*]` turned into `Any` nodes. All problems in a condition are
//! reported, not just the first. Spans are byte offsets in the condition text.

use regex_syntax::ast::{self, Ast, ClassSetBinaryOpKind, Visitor};

use super::{Cidr, CmpOp, FieldOp, FieldPath, FieldRef, Leaf, Node, Pattern, Scalar, Step, Test};
use crate::diag::Diagnostic;
use crate::syntax::ast::{
    Expr, ExprKind, Literal, LiteralKind, Operator, Path, Predicate, Quantifier, Segment, Span,
};

/// Lowers a parsed condition. The result still contains `Not` nodes; see `normalize`.
pub fn lower_condition(expr: &Expr) -> Result<Node, Vec<Diagnostic>> {
    let mut cx = Lowerer::default();
    let node = cx.expr(expr, 0);
    if cx.errors.is_empty() {
        Ok(node)
    } else {
        Err(cx.errors)
    }
}

/// Checks an output-field path (`SummaryAttributes`, `OutputFields`): plain keys and indexes.
pub fn check_output_path(path: &Path) -> Result<FieldPath, Diagnostic> {
    // Sized exactly: every loaded rule keeps its paths (a pushed `Vec` starts at four steps).
    let mut steps = Vec::with_capacity(path.segments.len());
    for seg in &path.segments {
        match seg {
            Segment::Key(k) => steps.push(Step::Key(k.clone())),
            Segment::Index(i) => steps.push(Step::Index(*i)),
            Segment::Element | Segment::AnyElement => {
                return Err(Diagnostic::error(
                    "E0308",
                    "an output field must be a plain path",
                    path.span.start..path.span.end,
                )
                .with_label("`@` and `[*]` select nothing here")
                .with_help("name the field, e.g. `user.name` or `argv[0]`"));
            }
        }
    }
    Ok(FieldPath(steps))
}

#[derive(Default)]
struct Lowerer {
    errors: Vec<Diagnostic>,
}

fn err(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(code, message, span.start..span.end)
}

/// A placeholder for a predicate that had an error, so lowering can go on and report more.
fn poisoned() -> Node {
    Node::And(Vec::new())
}

impl Lowerer {
    /// `depth` counts enclosing quantifiers: `@` is only meaningful when it is positive.
    fn expr(&mut self, expr: &Expr, depth: usize) -> Node {
        match &expr.kind {
            ExprKind::And(items) => Node::And(items.iter().map(|e| self.expr(e, depth)).collect()),
            ExprKind::Or(items) => Node::Or(items.iter().map(|e| self.expr(e, depth)).collect()),
            ExprKind::Not(inner) => Node::Not(Box::new(self.expr(inner, depth))),
            ExprKind::Group(inner) => self.expr(inner, depth),
            ExprKind::Quantifier { kind, path, body } => {
                let body = Box::new(self.expr(body, depth + 1));
                let Some(path) = self.quantifier_path(path, depth) else {
                    return poisoned();
                };
                match kind {
                    Quantifier::Any => Node::Any { path, body },
                    Quantifier::All => Node::All { path, body },
                }
            }
            ExprKind::Predicate(p) => self.predicate(p, expr.span, depth).unwrap_or_else(|d| {
                self.errors.push(d);
                poisoned()
            }),
        }
    }

    fn quantifier_path(&mut self, path: &Path, depth: usize) -> Option<FieldPath> {
        if path.segments.contains(&Segment::AnyElement) {
            self.errors.push(
                err(
                    "E0308",
                    "a quantifier's path cannot contain `[*]`",
                    path.span,
                )
                .with_label("`[*]` here")
                .with_help("nest the quantifiers instead: `any a (any b (...))`"),
            );
            return None;
        }
        match self.plain_path(&path.segments, path.span, depth) {
            Ok(p) => Some(p),
            Err(d) => {
                self.errors.push(d);
                None
            }
        }
    }

    /// A path without `[*]`, relative to the event or (with `@`) to the current element.
    fn plain_path(
        &self,
        segments: &[Segment],
        span: Span,
        depth: usize,
    ) -> Result<FieldPath, Diagnostic> {
        // Sized exactly, as in `check_output_path` (a leading `@` takes no step).
        let element = usize::from(segments.first() == Some(&Segment::Element));
        let mut steps = Vec::with_capacity(segments.len() - element);
        for (i, seg) in segments.iter().enumerate() {
            match seg {
                Segment::Element if i == 0 => {
                    if depth == 0 {
                        return Err(err(
                            "E0308",
                            "`@` is only allowed inside `any` or `all`",
                            span,
                        )
                        .with_label("`@` is the current array element")
                        .with_help(
                            "write the field's path, or wrap the test: `any PATH (@ eq ...)`",
                        ));
                    }
                }
                Segment::Element => unreachable!("grammar puts `@` first"),
                Segment::Key(k) => steps.push(Step::Key(k.clone())),
                Segment::Index(n) => steps.push(Step::Index(*n)),
                Segment::AnyElement => unreachable!("callers split at `[*]`"),
            }
        }
        Ok(FieldPath(steps))
    }

    fn predicate(&mut self, p: &Predicate, span: Span, depth: usize) -> Result<Node, Diagnostic> {
        let stars: Vec<usize> = p
            .path
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Segment::AnyElement)
            .map(|(i, _)| i)
            .collect();
        if stars.len() > 1 {
            return Err(
                err("E0308", "a path may contain at most one `[*]`", p.path.span)
                    .with_label("more than one `[*]`")
                    .with_help(
                        "nest quantifiers to look inside inner arrays: `any a (b[*] eq ...)`",
                    ),
            );
        }
        // With the `[*]` shorthand the leaf is evaluated on the element, but a `field()` on
        // the right is read where the predicate is written: one scope further out.
        let up = usize::from(!stars.is_empty());
        let (test, negated) = self.test(p, depth, up)?;
        let leaf = |path: FieldPath| Leaf {
            path,
            test,
            case_insensitive: p.case_insensitive,
            negated,
            span,
        };
        match stars.first() {
            None => Ok(Node::Leaf(leaf(self.plain_path(
                &p.path.segments,
                p.path.span,
                depth,
            )?))),
            Some(&star) => {
                let array = self.plain_path(&p.path.segments[..star], p.path.span, depth)?;
                let rest = self.plain_path(&p.path.segments[star + 1..], p.path.span, depth + 1)?;
                Ok(Node::Any {
                    path: array,
                    body: Box::new(Node::Leaf(leaf(rest))),
                })
            }
        }
    }

    /// The positive test and whether the operator negates it. `depth` and `up` place a
    /// `field()` value: its path is checked at `depth` and read `up` scopes above the leaf.
    fn test(&mut self, p: &Predicate, depth: usize, up: usize) -> Result<(Test, bool), Diagnostic> {
        use Operator::*;
        let op = p.op;
        let ci_ok = matches!(
            op,
            Eq | Ne
                | In
                | NotIn
                | Contains
                | NotContains
                | StartsWith
                | NotStartsWith
                | EndsWith
                | NotEndsWith
        );
        if p.case_insensitive && !ci_ok {
            let mut d = err(
                "E0306",
                format!("`{op}` has no case-insensitive form"),
                p.op_span,
            )
            .with_label("`~` is not allowed here");
            if matches!(op, Matches | NotMatches) {
                d = d.with_help("put `(?i)` at the start of the regex instead");
            } else {
                d = d.with_help("`~` applies to string operators: eq, ne, in, not_in, contains, starts_with, ends_with and their not_ forms");
            }
            return Err(d);
        }
        let negated = matches!(
            op,
            Ne | NotIn
                | NotContains
                | NotStartsWith
                | NotEndsWith
                | NotMatches
                | IsNotNull
                | IsNotEmpty
                | NotInCidr
        );
        if !op.takes_value() {
            if let Some(v) = &p.value {
                return Err(err("E0302", format!("`{op}` takes no value"), v.span)
                    .with_label("remove this value"));
            }
            let test = if matches!(op, IsNull | IsNotNull) {
                Test::IsNull
            } else {
                Test::IsEmpty
            };
            return Ok((test, negated));
        }
        let Some(value) = &p.value else {
            return Err(err("E0301", format!("`{op}` needs a value"), p.op_span)
                .with_label(format!("expected a value after `{op}`")));
        };
        if let LiteralKind::Null = value.kind {
            let (hint, repl) = match op {
                Ne => ("is_not_null", "`is_not_null`"),
                _ => ("is_null", "`is_null`"),
            };
            return Err(
                err("E0303", "`null` is not a value to compare with", value.span)
                    .with_label("reserved word")
                    .with_help(format!(
                        "write `{} {hint}` ({repl} is true when the field is missing or null)",
                        p.path.display()
                    )),
            );
        }
        if let LiteralKind::Field(path2) = &value.kind {
            return Ok((self.field_test(op, path2, value.span, depth, up)?, negated));
        }
        let test = match op {
            Eq | Ne => Test::Eq(self.scalar(op, value, p.case_insensitive)?),
            In | NotIn => {
                let LiteralKind::List(items) = &value.kind else {
                    return Err(err("E0304", format!("`{op}` needs a list"), value.span)
                        .with_label(format!("found {}", value.kind.type_name()))
                        .with_help(format!(
                            "write `[...]`, e.g. `in [\"a\", \"b\"]`, or use `{}`",
                            if op == In { "eq" } else { "ne" }
                        )));
                };
                if items.is_empty() {
                    return Err(err("E0305", "a list needs at least one value", value.span)
                        .with_label("empty list"));
                }
                if let Some(f) = items
                    .iter()
                    .find(|i| matches!(i.kind, LiteralKind::Field(_)))
                {
                    return Err(err(
                        "E0304",
                        "a list holds literal values, not `field()`",
                        f.span,
                    )
                    .with_label("field reference in a list")
                    .with_help(
                        "compare with each field on its own: `x eq field(a) or x eq field(b)`",
                    ));
                }
                let first = items[0].kind.type_name();
                let mut scalars = Vec::with_capacity(items.len());
                for item in items {
                    if item.kind.type_name() != first {
                        return Err(err(
                            "E0305",
                            "a list's values must all have one type",
                            item.span,
                        )
                        .with_label(format!(
                            "{}, but the list starts with {first}",
                            item.kind.type_name()
                        )));
                    }
                    scalars.push(self.scalar(op, item, p.case_insensitive)?);
                }
                Test::In(scalars)
            }
            Contains | NotContains => Test::Contains(self.string(op, value)?),
            StartsWith | NotStartsWith => Test::StartsWith(self.string(op, value)?),
            EndsWith | NotEndsWith => Test::EndsWith(self.string(op, value)?),
            Matches | NotMatches => {
                let source = self.string(op, value)?;
                Test::Matches(check_regex(&source, value.span)?)
            }
            Gt | Ge | Lt | Le => {
                let LiteralKind::Number(n) = &value.kind else {
                    return Err(err("E0304", format!("`{op}` compares numbers"), value.span)
                        .with_label(format!("found {}", value.kind.type_name()))
                        .with_help("write a number such as `5` or `-1.5`; strings are compared with eq, starts_with, matches, ..."));
                };
                let cmp = match op {
                    Gt => CmpOp::Gt,
                    Ge => CmpOp::Ge,
                    Lt => CmpOp::Lt,
                    _ => CmpOp::Le,
                };
                Test::Compare(cmp, n.clone())
            }
            InCidr | NotInCidr => Test::InCidr(self.ranges(op, value)?),
            IsNull | IsNotNull | IsEmpty | IsNotEmpty => unreachable!("handled above"),
        };
        Ok((test, negated))
    }

    /// `PATH OP field(PATH2)` (SPEC §3.7): only the comparison and string operators take one.
    fn field_test(
        &self,
        op: Operator,
        path2: &Path,
        span: Span,
        depth: usize,
        up: usize,
    ) -> Result<Test, Diagnostic> {
        use Operator::*;
        let fop = match op {
            Eq | Ne => FieldOp::Eq,
            Contains | NotContains => FieldOp::Contains,
            StartsWith | NotStartsWith => FieldOp::StartsWith,
            EndsWith | NotEndsWith => FieldOp::EndsWith,
            Gt => FieldOp::Compare(CmpOp::Gt),
            Ge => FieldOp::Compare(CmpOp::Ge),
            Lt => FieldOp::Compare(CmpOp::Lt),
            Le => FieldOp::Compare(CmpOp::Le),
            In | NotIn | Matches | NotMatches | InCidr | NotInCidr | IsNull | IsNotNull
            | IsEmpty | IsNotEmpty => {
                let help = match op {
                    In | NotIn => {
                        "`field()` is one value: write `eq field(...)` (or `ne`), and join several with `or`"
                    }
                    Matches | NotMatches => "a regex is a literal string: `matches r\"...\"`",
                    _ => "a range is a literal string such as \"10.0.0.0/8\", or a list of them",
                };
                return Err(
                    err("E0304", format!("`{op}` cannot compare with `field()`"), span)
                        .with_label("field reference not allowed here")
                        .with_help(format!(
                            "{help}; `field()` goes with eq, ne, gt, ge, lt, le, contains, starts_with, ends_with and their not_ and ~ forms"
                        )),
                );
            }
        };
        if path2.segments.contains(&Segment::AnyElement) {
            return Err(
                err("E0308", "a field reference cannot contain `[*]`", path2.span)
                    .with_label("`[*]` here")
                    .with_help(
                        "`field()` names one value; to test each element, put `[*]` on the left: `a[*] eq field(b)`",
                    ),
            );
        }
        let path = self.plain_path(&path2.segments, path2.span, depth)?;
        Ok(Test::Field(fop, FieldRef { path, up }))
    }

    /// The ranges of `in_cidr "..."` or `in_cidr ["...", ...]`; every bad item is reported.
    fn ranges(&mut self, op: Operator, value: &Literal) -> Result<Vec<Cidr>, Diagnostic> {
        let items: Vec<&Literal> = match &value.kind {
            LiteralKind::List(items) if items.is_empty() => {
                return Err(err("E0305", "a list needs at least one value", value.span)
                    .with_label("empty list"));
            }
            LiteralKind::List(items) => items.iter().collect(),
            _ => vec![value],
        };
        let mut ranges = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for item in items {
            let LiteralKind::String { value: text, .. } = &item.kind else {
                errors.push(err(
                    "E0304",
                    format!("`{op}` needs a string holding an IP range"),
                    item.span,
                )
                .with_label(format!("found {}", item.kind.type_name()))
                .with_help("write the range in double quotes, e.g. `in_cidr \"10.0.0.0/8\"`, or a list of them"));
                continue;
            };
            match Cidr::parse(text) {
                Ok(c) => ranges.push(c),
                Err(e) => errors.push(
                    err(
                        "E0309",
                        format!("invalid IP range {}", super::quote(text)),
                        item.span,
                    )
                    .with_label(e.label)
                    .with_help(e.help),
                ),
            }
        }
        match errors.pop() {
            None => Ok(ranges),
            Some(last) => {
                self.errors.extend(errors);
                Err(last)
            }
        }
    }

    fn scalar(&self, op: Operator, lit: &Literal, ci: bool) -> Result<Scalar, Diagnostic> {
        let s = match &lit.kind {
            LiteralKind::String { value, .. } => Scalar::Str(value.clone()),
            LiteralKind::Number(n) => Scalar::Num(n.clone()),
            LiteralKind::Bool(b) => Scalar::Bool(*b),
            LiteralKind::Null => {
                return Err(
                    err("E0303", "`null` is not a value to compare with", lit.span)
                        .with_label("reserved word")
                        .with_help("test for null with `is_null` / `is_not_null`"),
                );
            }
            LiteralKind::Field(_) => {
                return Err(err(
                    "E0304",
                    format!("`{op}` cannot compare with `field()` here"),
                    lit.span,
                )
                .with_label("field reference not allowed here"));
            }
            LiteralKind::List(_) => {
                return Err(
                    err("E0304", format!("`{op}` compares with one value"), lit.span)
                        .with_label("found a list")
                        .with_help(format!(
                            "use `{}` to compare with each value of a list",
                            if op == Operator::Ne { "not_in" } else { "in" }
                        )),
                );
            }
        };
        if ci && !matches!(s, Scalar::Str(_)) {
            return Err(
                err("E0306", "`~` compares strings case-insensitively", lit.span)
                    .with_label(format!("found {}", lit.kind.type_name()))
                    .with_help(format!(
                        "drop the `~`: `{op}` on numbers and booleans has no case"
                    )),
            );
        }
        Ok(s)
    }

    fn string(&self, op: Operator, lit: &Literal) -> Result<String, Diagnostic> {
        match &lit.kind {
            LiteralKind::String { value, .. } => Ok(value.clone()),
            other => Err(err("E0304", format!("`{op}` needs a string"), lit.span)
                .with_label(format!("found {}", other.type_name()))
                .with_help(if matches!(other, LiteralKind::List(_)) {
                    "write one string; combine several tests with `or`".to_string()
                } else {
                    "write the value in double quotes".to_string()
                })),
        }
    }
}

/// Checks that a regex is in the portable subset (SPEC §3.4): what the `regex` crate accepts,
/// minus look-around and back-references, and minus the `regex`-only extensions that RE2,
/// PCRE and Java reject (nested classes, class set operations, `\<`/`\>`/`\b{..}` word
/// assertions, the `R` flag).
pub fn check_regex(source: &str, span: Span) -> Result<Pattern, Diagnostic> {
    let not_portable = |what: &str, help: &str| {
        err(
            "E0307",
            format!("regex uses {what}, which not every target supports"),
            span,
        )
        .with_label("not portable")
        .with_help(help.to_string())
    };
    let parsed = ast::parse::ParserBuilder::new()
        .nest_limit(100)
        .build()
        .parse(source);
    let parsed = match parsed {
        Ok(a) => a,
        Err(e) => {
            return Err(match e.kind() {
                ast::ErrorKind::UnsupportedLookAround => not_portable(
                    "look-around",
                    "SPEC regexes have no look-ahead or look-behind; split the test into several predicates",
                ),
                ast::ErrorKind::UnsupportedBackreference => {
                    not_portable("a back-reference", "SPEC regexes have no back-references")
                }
                kind => err("E0307", "invalid regex", span).with_label(kind.to_string()),
            });
        }
    };
    if let Err(what) = ast::visit(&parsed, PortableCheck) {
        let help = if what.starts_with("a class nested") {
            "write the members in one class: `[ab]` for `[a[b]]`"
        } else {
            "use the common subset: classes, groups, alternation, repetition, ^ $ \\b, (?i) (?s) (?m) flags"
        };
        return Err(not_portable(what, help));
    }
    let invalid = |e: &dyn std::fmt::Display| {
        err("E0307", "invalid regex", span).with_label(
            e.to_string()
                .lines()
                .last()
                .unwrap_or("rejected")
                .trim_start_matches("error: ")
                .to_string(),
        )
    };
    // Translating to the HIR finds every error the `regex` crate reports except an automaton
    // over its size limit, at a fraction of the cost of building one. Only counted repetitions,
    // Unicode classes and long patterns can make the automaton large, so those are built now,
    // to report the error here; the others are built the first time the evaluator needs them.
    regex_syntax::hir::translate::TranslatorBuilder::new()
        .build()
        .translate(source, &parsed)
        .map_err(|e| invalid(&e))?;
    let pattern = Pattern {
        source: source.to_string(),
        regex: std::sync::OnceLock::new(),
    };
    // The automaton is not kept: most loaded rules are never evaluated (`compile`, `check`),
    // and one is a large part of a rule's memory; an evaluator builds it again once.
    if source.len() > 256
        || source.contains('{')
        || source.contains("\\p")
        || source.contains("\\P")
    {
        Pattern::build(source).map_err(|e| invalid(&e))?;
    }
    Ok(pattern)
}

struct PortableCheck;

impl Visitor for PortableCheck {
    type Output = ();
    type Err = &'static str;

    fn finish(self) -> Result<(), &'static str> {
        Ok(())
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), &'static str> {
        match ast {
            Ast::Assertion(a) => match a.kind {
                ast::AssertionKind::StartLine
                | ast::AssertionKind::EndLine
                | ast::AssertionKind::StartText
                | ast::AssertionKind::EndText
                | ast::AssertionKind::WordBoundary
                | ast::AssertionKind::NotWordBoundary => Ok(()),
                _ => Err("a word-start/word-end assertion (`\\<`, `\\>`, `\\b{...}`)"),
            },
            Ast::Flags(f) => portable_flags(&f.flags),
            Ast::Group(g) => match &g.kind {
                ast::GroupKind::NonCapturing(flags) => portable_flags(flags),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn visit_class_set_item_pre(&mut self, item: &ast::ClassSetItem) -> Result<(), &'static str> {
        match item {
            ast::ClassSetItem::Bracketed(_) => Err("a class nested in a class (`[a[b]]`)"),
            _ => Ok(()),
        }
    }

    fn visit_class_set_binary_op_pre(
        &mut self,
        op: &ast::ClassSetBinaryOp,
    ) -> Result<(), &'static str> {
        Err(match op.kind {
            ClassSetBinaryOpKind::Intersection => "class intersection (`&&`)",
            ClassSetBinaryOpKind::Difference => "class difference (`--`)",
            ClassSetBinaryOpKind::SymmetricDifference => "class symmetric difference (`~~`)",
        })
    }
}

/// SPEC §3.4 allows the flags `i`, `m`, `s` and `x` (and their negation); the `regex` crate's
/// own `U` (swap greed), `u` (Unicode off) and `R` (CRLF) have no equivalent on every target.
fn portable_flags(flags: &ast::Flags) -> Result<(), &'static str> {
    for item in &flags.items {
        match item.kind {
            ast::FlagsItemKind::Flag(ast::Flag::CRLF) => return Err("the `R` (CRLF) flag"),
            ast::FlagsItemKind::Flag(ast::Flag::SwapGreed) => {
                return Err("the `U` (swap greed) flag");
            }
            ast::FlagsItemKind::Flag(ast::Flag::Unicode) => return Err("the `u` (Unicode) flag"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern whose automaton is over the `regex` crate's size limit is an error when the
    /// rule is checked (it is built there), never a panic when it is first evaluated; the
    /// others are built on first use and match.
    #[test]
    fn regex_errors_are_found_by_check_and_others_build_on_use() {
        for source in [
            "(a{1000}){1000}",
            "\\w{500}{500}",
            &"(?:\\pL|x)".repeat(5000),
        ] {
            let e = check_regex(source, Span::new(0, 1)).expect_err(source);
            assert_eq!(e.code, "E0307", "{source}");
        }
        let p = check_regex("^ab+c$", Span::new(0, 1)).expect("valid");
        for flag in ["(?U)a+", "(?-u)a", "x(?R:a)", "(?iU)a"] {
            let e = check_regex(flag, Span::new(0, 1)).expect_err(flag);
            assert!(e.message.contains("not every target supports"), "{flag}");
        }
        for ok in ["(?i)a", "(?ims-x)a", "(?x: a )", "(?s)."] {
            check_regex(ok, Span::new(0, 1)).expect(ok);
        }
        assert!(p.regex.get().is_none(), "built only when evaluated");
        assert!(p.regex().is_match("abbc") && !p.regex().is_match("ac"));
    }
}
