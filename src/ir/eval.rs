//! The reference evaluator: SPEC §3.4–3.6 over `serde_json::Value`, on the normalised IR.
//! Every backend is measured against it.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{CmpOp, FieldPath, Leaf, Node, Scalar, Step, Test};

/// Does the condition hold for `event`?
pub fn eval(node: &Node, event: &Value) -> bool {
    match node {
        Node::And(items) => items.iter().all(|n| eval(n, event)),
        Node::Or(items) => items.iter().any(|n| eval(n, event)),
        Node::Not(inner) => !eval(inner, event),
        Node::Leaf(leaf) => eval_leaf(leaf, event),
        Node::Any { path, body } => match resolve(path, event) {
            Some(Value::Array(items)) => items.iter().any(|e| eval(body, e)),
            _ => false,
        },
        Node::All { path, body } => match resolve(path, event) {
            Some(Value::Array(items)) => items.iter().all(|e| eval(body, e)),
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

pub fn eval_leaf(leaf: &Leaf, root: &Value) -> bool {
    let holds = match resolve(&leaf.path, root) {
        None => matches!(leaf.test, Test::IsNull | Test::IsEmpty),
        Some(v) => test_holds(&leaf.test, leaf.case_insensitive, v),
    };
    holds != leaf.negated
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
            Value::Number(x) => cmp_numbers(x, n).is_some_and(|o| match op {
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
            }),
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
        (Scalar::Str(a), Value::String(b)) if ci => simple_lowercase(a) == simple_lowercase(b),
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
