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
    // A rule set repeats its patterns (a family of rules, one generator's output): each
    // accepted source is remembered for the process, so a repeat costs a look-up, not a
    // parse, a translation and a bound. Rejections are not remembered (their diagnostics carry
    // the span, and they are rare).
    if !accepted().set.contains(source) {
        check_regex_uncached(source, span)?;
        let mut a = accepted();
        if a.bytes + source.len() <= ACCEPTED_MAX_BYTES && a.set.insert(source.into()) {
            a.bytes += source.len();
        }
    }
    Ok(Pattern {
        source: source.to_string(),
        regex: std::sync::OnceLock::new(),
    })
}

/// The sources `check_regex` accepted, up to [`ACCEPTED_MAX_BYTES`] of them.
#[derive(Default)]
struct Accepted {
    set: std::collections::HashSet<Box<str>>,
    bytes: usize,
}

const ACCEPTED_MAX_BYTES: usize = 4 << 20;

fn accepted() -> std::sync::MutexGuard<'static, Accepted> {
    static ACCEPTED: std::sync::OnceLock<std::sync::Mutex<Accepted>> = std::sync::OnceLock::new();
    ACCEPTED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `check_regex` without the memo: the portable-subset check (skipped for a pattern of the
/// Sigma front-end's wildcard form, which passes it), then, where the automaton may be over
/// the `regex` crate's size limit, building it.
fn check_regex_uncached(source: &str, span: Span) -> Result<(), Diagnostic> {
    let plain = plainly_valid(source);
    if !plain {
        full_check(source, span)?;
    }
    // The automaton is not kept: most loaded rules are never evaluated (`compile`, `check`),
    // and one is a large part of a rule's memory; an evaluator builds it again once. Only
    // counted repetitions, Unicode classes and long patterns can make it large (over the
    // `regex` crate's size limit, the one error `full_check` does not find), so those are
    // built now, to report the error here, unless a generous bound of their size is far under
    // the limit; the others are built the first time the evaluator needs them. A plain
    // pattern of up to `PLAIN_UNDER_LIMIT` bytes cannot reach the limit.
    let may_be_large = if plain {
        source.len() > PLAIN_UNDER_LIMIT
    } else {
        (source.len() > 256
            || source.contains('{')
            || source.contains("\\p")
            || source.contains("\\P"))
            && !surely_within_size_limit(source)
    };
    if may_be_large {
        Pattern::build(source).map_err(|e| invalid_regex(&e, span))?;
    }
    Ok(())
}

/// The longest `plainly_valid` pattern not built at load to look for the `regex` crate's size
/// limit: each of its characters, `.` or `.*` adds a bounded number of automaton states. A test
/// builds the most expensive ones at this length; at twice it they still build, at four times
/// `(?is)` and 16,384 bytes of `.` do not (regex 1.13).
const PLAIN_UNDER_LIMIT: usize = 4096;

/// Whether `source` is, character for character, of the form the Sigma front-end writes for
/// a wildcard value: an optional `(?s)`, `(?is)` or `(?i)`, an optional `^`, then literal
/// characters (the metacharacters `\.+*?()|[]{}^$` escaped), `.` and `.*`, and an optional
/// `$`. Every such pattern parses, is portable and translates, so `full_check` has nothing to
/// find in it (most of the patterns of a Sigma corpus are of this form).
fn plainly_valid(source: &str) -> bool {
    const META: &str = "\\.+*?()|[]{}^$";
    let rest = ["(?s)", "(?is)", "(?i)"]
        .iter()
        .find_map(|f| source.strip_prefix(f))
        .unwrap_or(source);
    let rest = rest.strip_prefix('^').unwrap_or(rest);
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if META.contains(e) => {}
                _ => return false,
            },
            '.' => {
                chars.next_if_eq(&'*');
            }
            '$' if chars.peek().is_none() => {}
            c if META.contains(c) => return false,
            _ => {}
        }
    }
    true
}

fn invalid_regex(e: &dyn std::fmt::Display, span: Span) -> Diagnostic {
    err("E0307", "invalid regex", span).with_label(
        e.to_string()
            .lines()
            .last()
            .unwrap_or("rejected")
            .trim_start_matches("error: ")
            .to_string(),
    )
}

/// What `check_regex` finds without building the automaton: a syntax error, a construct
/// outside the portable subset, or an error of the translation to the HIR.
fn full_check(source: &str, span: Span) -> Result<(), Diagnostic> {
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
    // Translating to the HIR finds every error the `regex` crate reports except an automaton
    // over its size limit, at a fraction of the cost of building one.
    regex_syntax::hir::translate::TranslatorBuilder::new()
        .build()
        .translate(source, &parsed)
        .map_err(|e| invalid_regex(&e, span))?;
    Ok(())
}

/// The `regex` crate's default limit on each Thompson NFA it builds (`RegexBuilder::size_limit`).
const REGEX_SIZE_LIMIT: u64 = 10 << 20;

/// Whether [`Pattern::build`] is sure to succeed without building it: the pattern translates,
/// its translation parses with the `regex` crate's settings, and a generous upper bound of its
/// automaton's size ([`nfa_bytes_bound`]) is under an eighth of the size limit. Building an
/// automaton (a forward and a reverse NFA, a one-pass DFA, prefilters) costs tens of times a
/// parse, and nearly every counted repetition in a rule is far from the limit. `false` means
/// "build it and see", never "it fails".
fn surely_within_size_limit(source: &str) -> bool {
    use crate::backend::regexp::{Flavour, translate};
    let Ok(spec) = translate(source, Flavour::Rust) else {
        return false;
    };
    let Ok(hir) = regex_syntax::Parser::new().parse(&spec.pattern) else {
        return false;
    };
    nfa_bytes_bound(&hir) <= REGEX_SIZE_LIMIT / 8
}

/// An upper bound of the bytes the `regex` crate's NFA builder counts against its size limit
/// for `hir` (`Builder::memory_usage`: 32 bytes a state, 8 a transition, 4 a union alternate),
/// with room to spare: every HIR node is charged two states more than it compiles to, and a
/// class 2,048 bytes a range (UTF-8 splits a range of code points into at most about ten byte
/// sequences of at most four transitions each: about 1,600 bytes with their states). A
/// repetition is compiled once per count (`a{2,5}` is `aaa?a?a?`), an unbounded one once more
/// than its minimum. `tests::nfa_bound_is_above_what_regex_needs` holds it above the limit the
/// crate actually needs for a range of patterns.
fn nfa_bytes_bound(hir: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    const STATE: u64 = 64;
    const RANGE: u64 = 2048;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => STATE,
        HirKind::Literal(l) => STATE.saturating_mul(l.0.len() as u64 + 1),
        HirKind::Class(Class::Unicode(c)) => {
            STATE.saturating_add(RANGE.saturating_mul(c.ranges().len() as u64))
        }
        HirKind::Class(Class::Bytes(c)) => {
            STATE.saturating_add(RANGE.saturating_mul(c.ranges().len() as u64))
        }
        HirKind::Capture(c) => nfa_bytes_bound(&c.sub).saturating_add(2 * STATE),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs
            .iter()
            .fold(STATE.saturating_mul(subs.len() as u64 + 1), |n, h| {
                n.saturating_add(nfa_bytes_bound(h))
            }),
        HirKind::Repetition(r) => {
            let copies = u64::from(r.max.unwrap_or(r.min.saturating_add(1)).max(1));
            copies
                .saturating_mul(nfa_bytes_bound(&r.sub).saturating_add(2 * STATE))
                .saturating_add(STATE)
        }
    }
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

    /// An accepted pattern is remembered, a rejected one is not: checked again, each gives
    /// the same answer, the rejection with the new span.
    #[test]
    fn repeated_patterns_give_the_same_answers() {
        for _ in 0..2 {
            let p = check_regex("^rep(ea)?t{2,3}$", Span::new(0, 1)).expect("valid");
            assert_eq!(p.source, "^rep(ea)?t{2,3}$");
            assert!(p.regex().is_match("repeatt") && !p.regex().is_match("rept"));
        }
        assert!(accepted().set.contains("^rep(ea)?t{2,3}$"));
        for at in [3, 7] {
            let e = check_regex("(?<=a)b{2}", Span::new(at, at + 1)).expect_err("look-behind");
            assert_eq!((e.code, e.span.map(|s| s.start)), ("E0307", Some(at)));
        }
        assert!(!accepted().set.contains("(?<=a)b{2}"));
    }

    /// The bound that lets `check_regex` skip building an automaton must be above what the
    /// `regex` crate really needs, or a pattern over the limit would pass the check and panic
    /// when first evaluated. For each pattern, the smallest size limit the crate builds it
    /// with is found by bisection; the bound must be at least twice that. Patterns the bound
    /// lets through must build with the default limit; those over it must be rejected.
    #[test]
    fn nfa_bound_is_above_what_regex_needs() {
        use crate::backend::regexp::{Flavour, translate};
        let builds = |pattern: &str, limit: usize| {
            regex::RegexBuilder::new(pattern)
                .size_limit(limit)
                .build()
                .is_ok()
        };
        let mut skipped = 0;
        for source in [
            "x{2,5}y?",
            "^arn:aws:iam::\\d{12}:role/.+$",
            "a{1000}",
            "(?i)[a-z]{3,300}",
            "(?i)k{50}s{50}",
            "\\pL{20}",
            "\\PL{3}",
            "\\p{Greek}+\\P{Han}{2,9}",
            "[\\x{80}-\\x{10FFFF}]{40}",
            "[\\x{81}-\\x{FFFE}\\x{10001}-\\x{10FFFE}]{40}",
            "(?i)[\\x{7FF}-\\x{801}\\x{FFFF}-\\x{10000}]{30}",
            "(?s).{100}",
            "\\w{1,64}@\\w+\\.com",
            "((ab|cd){3}|e*){4,8}",
            "(?:\\pL|x)",
            "(?:[^a]{7}){7}",
            "(a|b|c|d|e|f|g|h){0,100}",
            "(?m)^\\s*$",
        ] {
            let translated = translate(source, Flavour::Rust).expect(source).pattern;
            let hir = regex_syntax::Parser::new()
                .parse(&translated)
                .expect(source);
            let bound = nfa_bytes_bound(&hir);
            let (mut lo, mut hi) = (0usize, 1usize << 40);
            while lo + 1 < hi {
                let mid = lo + (hi - lo) / 2;
                if builds(&translated, mid) {
                    hi = mid
                } else {
                    lo = mid
                }
            }
            assert!(
                bound >= 2 * hi as u64,
                "{source}: bound {bound}, needs {hi}"
            );
            if surely_within_size_limit(source) {
                skipped += 1;
                assert!(hi as u64 <= REGEX_SIZE_LIMIT, "{source}");
            }
        }
        assert!(
            skipped >= 10,
            "the common patterns skip the build ({skipped})"
        );
        for over in ["(a{1000}){1000}", "\\w{500}{500}"] {
            assert!(!surely_within_size_limit(over), "{over}");
        }
    }

    /// The shortcut takes only patterns the full check accepts: the Sigma front-end's forms,
    /// and 50,000 random strings over the characters that matter (metacharacters, escapes,
    /// flags, `#` and spaces, non-ASCII), every one it takes also passing `full_check`.
    #[test]
    fn plainly_valid_patterns_pass_the_full_check() {
        for ok in [
            "(?s)^abc$",
            "(?is)^C:\\\\Windows\\\\.*\\.exe$",
            "(?i).*a\\*b.c",
            "^\\(\\)\\[\\]\\{\\}\\|\\+\\?\\^\\$$",
            "",
            "é # x",
        ] {
            assert!(plainly_valid(ok), "{ok}");
            full_check(ok, Span::new(0, 1)).expect(ok);
        }
        for other in [
            "a$b", "a^", "\\d", "\\", "a+", "(?x)a", "(?m)^a", "[a]", "a{2}", "(?si)a",
        ] {
            assert!(!plainly_valid(other), "{other}");
        }
        let alphabet: Vec<char> = "ab.*?+\\()|[]{}^$#  é-:?isx\n".chars().collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut taken, mut tried) = (0, 0);
        for _ in 0..50_000 {
            let len = (next() % 12) as usize;
            let mut s: String =
                ["", "(?s)", "(?is)", "(?i)", "^", "(?s)^"][(next() % 6) as usize].into();
            for _ in 0..len {
                s.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            tried += 1;
            if plainly_valid(&s) {
                taken += 1;
                assert!(full_check(&s, Span::new(0, 1)).is_ok(), "{s:?}");
            }
        }
        assert!(taken > 1000 && taken < tried, "{taken} of {tried}");
    }

    /// No `plainly_valid` pattern of up to `PLAIN_UNDER_LIMIT` bytes is over the `regex`
    /// crate's size limit (so `check_regex` need not build one): the costliest elements,
    /// repeated to that length under every flag the form allows, all build.
    #[test]
    fn plain_patterns_under_the_length_bound_build() {
        for flags in ["(?is)", "(?s)", "(?i)", ""] {
            for element in [
                ".*",
                ".",
                "k",
                "\u{17f}",
                "\u{1c5}",
                "\u{3a9}",
                "\u{10348}",
                "\\{",
                "é",
            ] {
                let mut source = format!("{flags}^");
                while source.len() + element.len() < PLAIN_UNDER_LIMIT {
                    source.push_str(element);
                }
                source.push('$');
                assert!(plainly_valid(&source) && source.len() <= PLAIN_UNDER_LIMIT);
                if let Err(e) = Pattern::build(&source) {
                    panic!("{flags} {element}: {e}");
                }
            }
        }
    }
}
