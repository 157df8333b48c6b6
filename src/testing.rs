//! Running a rule's `Tests` (SPEC §5). Today through the reference evaluator; each evaluator
//! gives its own verdict so that later engines can be compared with it.

use serde::Serialize;

use crate::backend::schema::TableSchema;
use crate::backend::sql::{SqlDialect, default_table_name, render_condition};
use crate::engine::{Engine, EventTable};
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

    /// An engine that disagrees with the reference evaluator: a compiler bug.
    pub fn disagreement(&self) -> Option<&Verdict> {
        self.verdicts[1..]
            .iter()
            .find(|v| v.result != self.reference())
    }
}

/// What running a rule's tests produced.
#[derive(Debug)]
pub struct RuleRun {
    pub results: Vec<TestResult>,
    /// The condition as the engine ran it, when an engine was used.
    pub engine_sql: Option<String>,
    /// The rule could not be compiled or run on the engine (a compiler bug or limitation).
    pub engine_error: Option<String>,
}

/// Runs every test of `rule` through the reference evaluator and, when given, through the
/// rule's compiled condition on `engine`, with the test events loaded as a table whose schema
/// is derived from those events.
pub fn run_rule_tests(rule: &Rule, engine: Option<&mut dyn Engine>) -> RuleRun {
    let mut results: Vec<TestResult> = rule
        .tests
        .iter()
        .map(|t| TestResult {
            name: t.name.clone(),
            expected: t.expected,
            verdicts: vec![Verdict {
                evaluator: "reference",
                result: eval(&rule.condition.ir, &t.log),
            }],
        })
        .collect();
    let mut run = RuleRun {
        results: Vec::new(),
        engine_sql: None,
        engine_error: None,
    };
    if let Some(engine) = engine.filter(|_| !rule.tests.is_empty()) {
        let events: Vec<serde_json::Value> = rule.tests.iter().map(|t| t.log.clone()).collect();
        let schema = TableSchema::from_events(&events);
        let dialect = engine_dialect(engine.name());
        let name = dialect.quote_ident(&default_table_name(&rule.log_types[0]));
        match render_condition(&rule.condition.ir, dialect, &schema, &name) {
            Err(u) => {
                run.engine_error = Some(format!(
                    "cannot compile for {}: {}",
                    dialect.name(),
                    u.reason
                ))
            }
            Ok(sql) => {
                let table = EventTable {
                    name: &name,
                    schema: &schema,
                    events: &events,
                };
                match engine.matching_rows(&table, std::slice::from_ref(&sql)) {
                    Ok(rows) => {
                        let rows = &rows[0];
                        for (i, r) in results.iter_mut().enumerate() {
                            r.verdicts.push(Verdict {
                                evaluator: engine.name(),
                                result: rows.binary_search(&i).is_ok(),
                            });
                        }
                    }
                    Err(e) => run.engine_error = Some(e.to_string()),
                }
                run.engine_sql = Some(sql);
            }
        }
    }
    run.results = results;
    run
}

/// The SQL dialect an engine speaks.
pub fn engine_dialect(engine: &str) -> &'static dyn crate::backend::sql::dialect::Dialect {
    match engine {
        "duckdb" => SqlDialect::Duckdb.dialect(),
        "postgres" => SqlDialect::Postgres.dialect(),
        _ => SqlDialect::Sqlite.dialect(),
    }
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
