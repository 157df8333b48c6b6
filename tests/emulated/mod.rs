//! What tests/engine_snowflake.rs and tests/engine_bigquery.rs share: the corpora's rules with
//! their test events and reference verdicts, and the bookkeeping that compares an emulated or
//! reference engine's verdicts with them, where a case that hits a documented gap of that engine
//! is counted and named, never silently passed.

pub mod diff;

use std::collections::BTreeMap;
use std::io::Write;

use ruleqc::backend::schema::TableSchema;
use ruleqc::backend::sql::default_table_name;
use ruleqc::ir::eval::eval;
use ruleqc::rule::{Rule, load_paths};
use serde_json::Value;

/// One rule with tests, ready to run: its events as one table.
pub struct Case {
    pub rule: Rule,
    pub events: Vec<Value>,
    pub schema: TableSchema,
    /// The table's name, unquoted.
    pub table: String,
}

impl Case {
    /// `"<rule id> :: <test name>"`, the name a test case goes by in the gap lists.
    pub fn test_id(&self, i: usize) -> String {
        format!("{} :: {}", self.rule.rule_id, self.rule.tests[i].name)
    }
}

/// Every rule with tests under `dir` (a rule that does not load fails the test).
pub fn corpus(dir: &str) -> Vec<Case> {
    load_paths(&[dir.into()])
        .expect(dir)
        .into_iter()
        .map(|l| match l.result {
            Ok(rule) => *rule,
            Err(_) => panic!("{} does not load", l.file.path),
        })
        .filter(|r| !r.tests.is_empty())
        .map(|rule| {
            let events: Vec<Value> = rule.tests.iter().map(|t| t.log.clone()).collect();
            let schema = TableSchema::from_events(&events);
            let table = default_table_name(&rule.log_types[0]);
            Case {
                rule,
                events,
                schema,
                table,
            }
        })
        .collect()
}

/// What the engine made of one rule.
pub enum Outcome {
    /// The rule cannot be compiled for the dialect (a documented E0401), with the reason.
    NotCompiled(String),
    /// The query ran: the matching rows.
    Rows(Vec<usize>),
    /// The engine rejected or failed the query.
    Error(String),
}

/// The tally of one engine over one corpus.
#[derive(Default)]
pub struct Report {
    pub engine: String,
    /// Test cases whose engine verdict was compared with the reference and agreed.
    pub agreed: usize,
    /// Documented gap → the cases (test ids, or rule ids for a whole rule) it accounts for.
    pub gaps: BTreeMap<&'static str, Vec<String>>,
    /// Test cases the gaps account for (every test of a rule whose query fails).
    pub gap_tests: usize,
    /// Rules the dialect does not compile, with the reason.
    pub not_compiled: Vec<String>,
    /// Anything else that differs: each one fails the test.
    pub problems: Vec<String>,
}

/// Compares `outcome` with the reference verdicts of `case`. `known` lists the cases that hit a
/// documented gap of the engine: `(id, gap)` where `id` is a test id, or a rule id when the
/// engine fails the whole rule. A listed case must still be wrong (when the gap is gone, the
/// list is out of date); an unlisted one must agree with the reference.
pub fn check(
    report: &mut Report,
    case: &Case,
    sql: &str,
    outcome: Outcome,
    known: &[(&str, &'static str)],
) {
    let gap_of = |id: &str| known.iter().find(|(k, _)| *k == id).map(|(_, g)| *g);
    let rule_id = &case.rule.rule_id;
    match outcome {
        Outcome::NotCompiled(reason) => report.not_compiled.push(format!("{rule_id}: {reason}")),
        Outcome::Error(e) => match gap_of(rule_id) {
            Some(gap) => {
                let n = case.rule.tests.len();
                report.gap_tests += n;
                report
                    .gaps
                    .entry(gap)
                    .or_default()
                    .push(format!("{rule_id} (the query fails: all {n} tests)"));
            }
            None => report
                .problems
                .push(format!("{rule_id}: {} failed: {e}\n  {sql}", report.engine)),
        },
        Outcome::Rows(rows) => {
            if let Some(gap) = gap_of(rule_id) {
                report.problems.push(format!(
                    "{rule_id} is listed under \"{gap}\" as failing on {} but ran: remove it from the list",
                    report.engine
                ));
            }
            for (i, t) in case.rule.tests.iter().enumerate() {
                let id = case.test_id(i);
                let reference = eval(&case.rule.condition.ir, &t.log);
                assert_eq!(reference, t.expected, "{id}: the reference evaluator");
                let got = rows.binary_search(&i).is_ok();
                match (got == reference, gap_of(&id)) {
                    (true, None) => report.agreed += 1,
                    (false, Some(gap)) => {
                        report.gap_tests += 1;
                        report.gaps.entry(gap).or_default().push(id)
                    }
                    (true, Some(gap)) => report.problems.push(format!(
                        "{id} is listed under \"{gap}\" but now agrees on {}: remove it from the list",
                        report.engine
                    )),
                    (false, None) => report.problems.push(format!(
                        "{id}: {} says {got}, the reference {reference}\n  event: {}\n  {sql}",
                        report.engine, t.log
                    )),
                }
            }
        }
    }
}

impl Report {
    pub fn new(engine: &str) -> Report {
        Report {
            engine: engine.to_string(),
            ..Report::default()
        }
    }

    /// The summary: counts, then every gap and uncompiled rule by name.
    pub fn summary(&self, corpus: &str) -> String {
        let mut s = format!(
            "{} on {corpus}: {} test cases agree with the reference; {} hit known gaps; {} rules not compiled for the dialect; {} problems\n",
            self.engine,
            self.agreed,
            self.gap_tests,
            self.not_compiled.len(),
            self.problems.len()
        );
        for (gap, ids) in &self.gaps {
            s.push_str(&format!("  known gap \"{gap}\" ({}):\n", ids.len()));
            for id in ids {
                s.push_str(&format!("    {id}\n"));
            }
        }
        for r in &self.not_compiled {
            s.push_str(&format!("  not compiled: {r}\n"));
        }
        s
    }

    /// Prints the summary where `cargo test` shows it even for a passing test (straight to
    /// the process's stderr, which the harness does not capture), then fails on any problem.
    pub fn finish(&self, corpus: &str) {
        let summary = self.summary(corpus);
        let _ = std::io::stderr().lock().write_all(summary.as_bytes());
        assert!(
            self.problems.is_empty(),
            "{}:\n{}",
            summary,
            self.problems.join("\n")
        );
    }
}
