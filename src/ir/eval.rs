//! The reference evaluator: SPEC §3.4–3.7 over `serde_json::Value`, on the normalised IR.
//! Every backend is measured against it.
//!
//! Evaluation keeps the chain of enclosing roots (the event, then each element a quantifier
//! visits), because a `field()` written with the `[*]` shorthand is read one scope out.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{CmpOp, FieldOp, FieldPath, FieldRef, Leaf, Node, Scalar, Step, Test, parse_address};

/// Does the condition hold for `event`?
pub fn eval(node: &Node, event: &Value) -> bool {
    eval_in(
        node,
        &Scope {
            root: event,
            outer: None,
        },
    )
}

/// Where paths are read: the event, or an array element with the scopes around it.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub root: &'a Value,
    pub outer: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    /// The root `up` quantifier scopes out, if there are that many.
    fn up(&self, up: usize) -> Option<&'a Value> {
        let mut scope = self;
        for _ in 0..up {
            scope = scope.outer?;
        }
        Some(scope.root)
    }
}

fn eval_in(node: &Node, scope: &Scope<'_>) -> bool {
    let inner = |body: &Node, element: &Value| {
        eval_in(
            body,
            &Scope {
                root: element,
                outer: Some(scope),
            },
        )
    };
    match node {
        Node::And(items) => items.iter().all(|n| eval_in(n, scope)),
        Node::Or(items) => items.iter().any(|n| eval_in(n, scope)),
        Node::Not(inner) => !eval_in(inner, scope),
        Node::Leaf(leaf) => eval_leaf(leaf, scope),
        Node::Any { path, body } => match resolve(path, scope.root) {
            Some(Value::Array(items)) => items.iter().any(|e| inner(body, e)),
            _ => false,
        },
        Node::All { path, body } => match resolve(path, scope.root) {
            Some(Value::Array(items)) => items.iter().all(|e| inner(body, e)),
            _ => true,
        },
    }
}

/// The value at `path`, or `None` when any step is missing. Keys only look into objects and
/// indexes only into arrays: a plain path never looks inside an array (SPEC §3.5).
pub fn resolve<'v>(path: &FieldPath, root: &'v Value) -> Option<&'v Value> {
    let mut cur = root;
    for step in &path.0 {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(map)) => map.get(k)?,
            (Step::Index(i), Value::Array(items)) => items.get(usize::try_from(*i).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// One leaf in `scope` (a `field()` on the right may be read in an enclosing scope).
pub fn eval_leaf(leaf: &Leaf, scope: &Scope<'_>) -> bool {
    let holds = match resolve(&leaf.path, scope.root) {
        None => matches!(leaf.test, Test::IsNull | Test::IsEmpty),
        Some(v) => match &leaf.test {
            Test::Field(op, r) => field_holds(*op, leaf.case_insensitive, v, field_value(r, scope)),
            test => test_holds(test, leaf.case_insensitive, v),
        },
    };
    holds != leaf.negated
}

/// PATH2's value, `None` when it is missing (or the scope it names does not exist).
fn field_value<'a>(r: &FieldRef, scope: &Scope<'a>) -> Option<&'a Value> {
    resolve(&r.path, scope.up(r.up)?)
}

/// SPEC §3.7 with the rules of §3.4: `eq` on the same JSON type (numbers numerically), the
/// string operators on two strings, `gt`..`le` on two numbers. Null, a missing side, arrays
/// and objects make every positive comparison false. `~` compares two strings after simple
/// lower-casing (so `eq~` is true only for strings, as it is with a literal).
fn field_holds(op: FieldOp, ci: bool, left: &Value, right: Option<&Value>) -> bool {
    let Some(right) = right else { return false };
    let strings = match (left, right) {
        (Value::String(a), Value::String(b)) if ci => Some((
            Cow::Owned(simple_lowercase(a)),
            Cow::Owned(simple_lowercase(b)),
        )),
        (Value::String(a), Value::String(b)) => Some((Cow::Borrowed(&**a), Cow::Borrowed(&**b))),
        _ => None,
    };
    match op {
        FieldOp::Eq if ci => strings.is_some_and(|(a, b)| a == b),
        FieldOp::Eq => match (left, right) {
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => cmp_numbers(a, b) == Some(Ordering::Equal),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        },
        FieldOp::Contains => strings.is_some_and(|(a, b)| a.contains(&*b)),
        FieldOp::StartsWith => strings.is_some_and(|(a, b)| a.starts_with(&*b)),
        FieldOp::EndsWith => strings.is_some_and(|(a, b)| a.ends_with(&*b)),
        FieldOp::Compare(op) => match (left, right) {
            (Value::Number(a), Value::Number(b)) => compare_holds(op, cmp_numbers(a, b)),
            _ => false,
        },
    }
}

fn compare_holds(op: CmpOp, o: Option<Ordering>) -> bool {
    o.is_some_and(|o| match op {
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
    })
}

fn test_holds(test: &Test, ci: bool, v: &Value) -> bool {
    match test {
        Test::Eq(lit) => scalar_eq(lit, v, ci),
        Test::In(lits) => lits.iter().any(|l| scalar_eq(l, v, ci)),
        Test::Contains(s) => string_test(v, s, ci, |h, n| h.contains(n)),
        Test::StartsWith(s) => string_test(v, s, ci, |h, n| h.starts_with(n)),
        Test::EndsWith(s) => string_test(v, s, ci, |h, n| h.ends_with(n)),
        Test::Matches(p) => v.as_str().is_some_and(|s| p.regex().is_match(s)),
        Test::Compare(op, n) => match v {
            Value::Number(x) => compare_holds(*op, cmp_numbers(x, n)),
            _ => false,
        },
        Test::IsNull => v.is_null(),
        Test::IsEmpty => match v {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Bool(_) | Value::Number(_) => false,
        },
        Test::InCidr(ranges) => v
            .as_str()
            .and_then(parse_address)
            .is_some_and(|ip| ranges.iter().any(|r| r.contains(&ip))),
        // Needs the scope; `eval_leaf` handles it.
        Test::Field(..) => false,
    }
}

fn string_test(v: &Value, needle: &str, ci: bool, f: impl Fn(&str, &str) -> bool) -> bool {
    match v {
        Value::String(s) if ci => f(&simple_lowercase(s), &simple_lowercase(needle)),
        Value::String(s) => f(s, needle),
        _ => false,
    }
}

/// Same JSON type and equal; numbers numerically (SPEC §3.4).
fn scalar_eq(lit: &Scalar, v: &Value, ci: bool) -> bool {
    match (lit, v) {
        (Scalar::Str(a), Value::String(b)) if ci => eq_simple_lowercase(a, b),
        (Scalar::Str(a), Value::String(b)) => a == b,
        (Scalar::Num(a), Value::Number(b)) => cmp_numbers(b, a) == Some(Ordering::Equal),
        (Scalar::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

/// Exact for integers (any mix of i64/u64), IEEE double otherwise, so `1 == 1.0`.
pub fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// `simple_lowercase(a) == simple_lowercase(b)`, without building either (ASCII strings
/// compared byte by byte; `İ` or the Kelvin sign lower-case to ASCII, so only two ASCII strings
/// take that way).
pub fn eq_simple_lowercase(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    let lower = |c: char| c.to_lowercase().next().unwrap_or(c);
    a.chars().map(lower).eq(b.chars().map(lower))
}

/// Unicode simple lower-casing: each character maps to exactly one character (so `İ` becomes
/// `i`, not `i̇`, and there is no context-dependent final sigma), as SPEC §3.4 requires.
pub fn simple_lowercase(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_lowercase_is_one_to_one() {
        assert_eq!(simple_lowercase("İSTANBUL"), "istanbul");
        assert_eq!(simple_lowercase("ΟΔΟΣ"), "οδοσ");
        assert_eq!(simple_lowercase("Straße"), "straße");
        assert_eq!(simple_lowercase("ÉCOLE"), "école");
    }

    /// The comparison without building the lowered strings says what comparing them says.
    #[test]
    fn case_insensitive_equality_is_that_of_the_lowered_strings() {
        let words = [
            "", "a", "A", "ab", "aB", "abc", "i", "I", "İ", "ı", "k", "K", "\u{212a}", "straße",
            "STRASSE", "Straße", "ΟΔΟΣ", "οδοσ", "οδος", "École", "éCOLE", "ecole", "a\u{0}",
            "A\u{0}", "ǅ", "ǆ", "Ǆ",
        ];
        for a in words {
            for b in words {
                assert_eq!(
                    eq_simple_lowercase(a, b),
                    simple_lowercase(a) == simple_lowercase(b),
                    "{a:?} {b:?}"
                );
            }
        }
        assert!(eq_simple_lowercase("İ", "i") && eq_simple_lowercase("\u{212a}", "k"));
        assert!(!eq_simple_lowercase("ab", "abc") && !eq_simple_lowercase("a", "b"));
    }

    #[test]
    fn numbers_compare_exactly() {
        let n = |s: &str| serde_json::from_str::<Number>(s).unwrap();
        assert_eq!(cmp_numbers(&n("1"), &n("1.0")), Some(Ordering::Equal));
        assert_eq!(
            cmp_numbers(&n("9007199254740993"), &n("9007199254740992")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp_numbers(&n("18446744073709551615"), &n("-1")),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp_numbers(&n("-0.5"), &n("0")), Some(Ordering::Less));
    }
}
