//! A rule with several log types compiles to one `SELECT` per table joined with `UNION ALL`;
//! `ruleqc test` runs that query as printed, with each test's event in each table in turn and
//! the other tables empty, and every `SELECT` must agree (SPEC §4: compile = test).

use std::collections::BTreeMap;

use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::engine::{Engine, EngineError, EventTable};
use ruleqc::rule::load_str;
use ruleqc::testing::run_rule_tests;
use serde_json::{Value, json};

const RULE: &str = r#"RuleID: Multi.LogTypes
LogTypes: [AWS.CloudTrail, Okta.SystemLog]
Condition: |
  eventName eq "ConsoleLogin"
  user.name in~ ["root", "admin"]
Tests:
  - Name: root login
    ExpectedResult: true
    Log: {eventName: ConsoleLogin, user: {name: ROOT}}
  - Name: another event
    ExpectedResult: false
    Log: {eventName: GetObject, user: {name: root}}
  - Name: another user
    ExpectedResult: false
    Log: {eventName: ConsoleLogin, user: {name: alice}}
  - Name: no user
    ExpectedResult: false
    Log: {eventName: ConsoleLogin}
"#;

/// The rule with its second test's expectation turned round: the engine must say what the
/// reference says, not what the file expects.
fn wrong_rule() -> String {
    RULE.replacen(
        "  - Name: another event\n    ExpectedResult: false",
        "  - Name: another event\n    ExpectedResult: true",
        1,
    )
}

fn engines() -> Vec<Box<dyn Engine>> {
    vec![
        Box::new(ruleqc::engine::sqlite::Sqlite::new().unwrap()),
        Box::new(ruleqc::engine::duckdb::DuckDb::new(None).unwrap_or_else(|e| panic!("{e}"))),
    ]
}

/// Every test gets the engine's verdict, which agrees with the reference evaluator, on both
/// engines `ruleqc test` offers.
#[test]
fn each_test_runs_the_union_query_on_the_engine() {
    for mut engine in engines() {
        for (text, wrong) in [(RULE.to_string(), false), (wrong_rule(), true)] {
            let loaded = load_str("multi.yml", text);
            let rule = loaded.rule().expect("the rule loads");
            let run = run_rule_tests(rule, Some(&mut *engine));
            assert_eq!(run.engine_error, None, "{}", engine.name());
            let q = run.engine_sql.as_deref().expect("the query ran");
            assert!(q.contains("UNION ALL"), "{q}");
            let got: Vec<(bool, bool)> = run
                .results
                .iter()
                .map(|r| {
                    let v = &r.verdicts;
                    assert_eq!(v.len(), 2, "{}: {:?}", engine.name(), v);
                    assert_eq!(v[1].evaluator, engine.name());
                    (v[0].result, v[1].result)
                })
                .collect();
            assert_eq!(
                got,
                [(true, true), (false, false), (false, false), (false, false)],
                "{}",
                engine.name()
            );
            // The turned expectation fails, on both sides.
            let failed: Vec<bool> = run
                .results
                .iter()
                .map(|r| r.verdicts.iter().any(|v| v.result != r.expected))
                .collect();
            assert_eq!(failed, [false, wrong, false, false], "{}", engine.name());
        }
    }
}

fn schema(cols: &[(&str, ColumnType)]) -> TableSchema {
    TableSchema {
        columns: cols
            .iter()
            .map(|(k, t)| (k.to_string(), *t))
            .collect::<BTreeMap<_, _>>(),
        complete: true,
    }
}

/// Each event is alone in its table and the other table is empty: the `SELECT` over `b` never
/// sees `a`'s rows, nor an event of `b` left from before.
#[test]
fn each_event_is_alone_in_its_table() {
    let s = schema(&[("x", ColumnType::Integer)]);
    let events: Vec<Value> = vec![json!({"x": 1}), json!({"x": 2}), json!({"x": 1})];
    let query = "SELECT x FROM a WHERE x = 1 UNION ALL SELECT x FROM b WHERE x = 2";
    for mut engine in engines() {
        let tables = [
            EventTable {
                name: "a",
                schema: &s,
                events: &events,
            },
            EventTable {
                name: "b",
                schema: &s,
                events: &events,
            },
        ];
        let each = engine
            .rows_returning_each(&tables, query)
            .unwrap_or_else(|e| panic!("{}: {e}", engine.name()));
        assert_eq!(each, [vec![0, 2], vec![1]], "{}", engine.name());
        // A query reading only `b` returns nothing while `a` holds the event.
        let each = engine
            .rows_returning_each(&tables, "SELECT x FROM b")
            .unwrap_or_else(|e| panic!("{}: {e}", engine.name()));
        assert_eq!(each, [vec![], vec![0, 1, 2]], "{}", engine.name());
    }
}

/// An engine whose tables give different rows: the rule is reported, naming the test and
/// both log types, and no engine verdict is recorded.
#[test]
fn selects_that_disagree_are_a_compiler_bug() {
    struct Split;
    impl Engine for Split {
        fn name(&self) -> &'static str {
            "split"
        }
        fn matching_rows(
            &mut self,
            _: &EventTable<'_>,
            _: &[String],
        ) -> Result<Vec<Vec<usize>>, EngineError> {
            unreachable!("rows_returning_each is asked")
        }
        fn rows_returning_each(
            &mut self,
            tables: &[EventTable<'_>],
            _: &str,
        ) -> Result<Vec<Vec<usize>>, EngineError> {
            assert_eq!(tables.len(), 2);
            Ok(vec![vec![0], vec![0, 2]])
        }
    }
    let loaded = load_str("multi.yml", RULE.to_string());
    let run = run_rule_tests(loaded.rule().unwrap(), Some(&mut Split));
    let e = run.engine_error.expect("reported");
    assert!(
        e.contains("test `another user` does not match")
            && e.contains("(AWS.CloudTrail)")
            && e.contains("matches with it in")
            && e.contains("(Okta.SystemLog)"),
        "{e}"
    );
    assert!(run.results.iter().all(|r| r.verdicts.len() == 1));
}

/// The default for an engine that holds one table at a time: a clear refusal, not a verdict.
#[test]
fn an_engine_of_one_table_says_so() {
    struct One;
    impl Engine for One {
        fn name(&self) -> &'static str {
            "one"
        }
        fn matching_rows(
            &mut self,
            _: &EventTable<'_>,
            _: &[String],
        ) -> Result<Vec<Vec<usize>>, EngineError> {
            unreachable!("never asked for two tables")
        }
    }
    let loaded = load_str("multi.yml", RULE.to_string());
    let run = run_rule_tests(loaded.rule().unwrap(), Some(&mut One));
    assert_eq!(
        run.engine_error.as_deref(),
        Some("one runs a query over one table; the rule reads 2 log types")
    );
}
