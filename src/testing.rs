//! Running a rule's `Tests` (SPEC §5). Today through the reference evaluator; each evaluator
//! gives its own verdict so that later engines can be compared with it.

use serde::Serialize;

use crate::ir::eval::eval;
use crate::rule::Rule;

/// One test's result.
#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub expected: bool,
    /// Verdict per evaluator, in a fixed order (`reference` first).
    pub verdicts: Vec<Verdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub evaluator: &'static str,
    pub result: bool,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.result == self.expected)
    }

    pub fn reference(&self) -> bool {
        self.verdicts[0].result
    }
}

/// Runs every test of `rule` through the reference evaluator.
pub fn run_rule_tests(rule: &Rule) -> Vec<TestResult> {
    rule.tests
        .iter()
        .map(|t| TestResult {
            name: t.name.clone(),
            expected: t.expected,
            verdicts: vec![Verdict {
                evaluator: "reference",
                result: eval(&rule.condition.ir, &t.log),
            }],
        })
        .collect()
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("AWS.*", "AWS.CloudTrail.Root"));
        assert!(glob_match("*Root*", "AWS.CloudTrail.RootLogin"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
