//! ClickHouse on chDB (the ClickHouse engine in process, driven by tests/engines/sql_engine.py):
//! the harness itself on hand-written conditions, then rules/, the conformance corpus and the
//! differential test, every verdict equal to the reference evaluator's.

mod support;

use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::backend::sql::SqlDialect;
use ruleqc::engine::{Engine, EngineError};
use serde_json::{Value, json};
use support::py_engine::{Kind, PyEngine};
use support::schema;

fn ch() -> PyEngine {
    PyEngine::new(Kind::ClickHouse).unwrap_or_else(|e| panic!("{e}"))
}

fn run(
    schema: &TableSchema,
    events: &[Value],
    conditions: &[&str],
) -> Result<Vec<Vec<usize>>, EngineError> {
    support::matching(&mut ch(), schema, events, conditions)
}

#[test]
fn reports_its_version() {
    let e = ch();
    assert_eq!(e.name(), "clickhouse");
    assert!(e.version().starts_with("clickhouse 2"), "{}", e.version());
}

#[test]
fn every_column_type_loads() {
    let s = schema(&[
        ("s", ColumnType::Text),
        ("i", ColumnType::Integer),
        ("f", ColumnType::Real),
        ("b", ColumnType::Boolean),
        ("j", ColumnType::Json),
        ("odd key`", ColumnType::Text),
    ]);
    let evs = [
        json!({"s": "a", "i": 1, "f": 1.5, "b": true, "j": [1, 2], "odd key`": "x"}),
        json!({"s": "b", "i": i64::MIN, "f": 2, "b": false, "j": {"k": "v"}}),
        json!({"s": null, "i": null, "f": null, "b": null, "j": null}),
        json!({"other": 1}),
        json!({"j": 9007199254740993u64, "s": "\u{0}\r\n'\\\"", "f": 1e300, "i": i64::MAX}),
    ];
    let got = run(
        &s,
        &evs,
        &[
            "s = 'a'",
            "s IS NULL",
            "s = '\\0\\r\\n\\'\\\\\"'",
            "i = -9223372036854775808",
            "i = 9223372036854775807",
            "i IS NULL",
            "f = 1.5",
            "f = 1e300",
            "b",
            "NOT b",
            "JSONType(j) = 'Array'",
            "JSONExtractString(j, 'k') = 'v'",
            // A JSON null is the text `null`; a missing key is SQL NULL.
            "j = 'null'",
            "j IS NULL",
            "j = '9007199254740993' AND JSONExtractUInt(j) = 9007199254740993",
            "`odd key\\`` = 'x'",
            "toTypeName(s) = 'Nullable(String)' AND toTypeName(i) = 'Nullable(Int64)' \
             AND toTypeName(f) = 'Nullable(Float64)' AND toTypeName(b) = 'Nullable(Bool)'",
        ],
    )
    .unwrap();
    let want: Vec<Vec<usize>> = vec![
        vec![0],
        vec![2, 3],
        vec![4],
        vec![1],
        vec![4],
        vec![2, 3],
        vec![0],
        vec![4],
        vec![0],
        vec![1],
        vec![0],
        vec![1],
        vec![2],
        vec![3],
        vec![4],
        vec![0],
        vec![0, 1, 2, 3, 4],
    ];
    assert_eq!(got, want);
}

#[test]
fn errors_name_the_condition() {
    let s = schema(&[("s", ColumnType::Text)]);
    let err = run(
        &s,
        &[json!({"s": "a"})],
        &["s = 'a'", "no_such_function(s)"],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("condition 1"), "{err}");
    // The process survives an error and answers the next request.
    assert_eq!(run(&s, &[json!({"s": "a"})], &["s = 'a'"]).unwrap(), [[0]]);
    let err = run(&s, &[json!({"s": 5})], &["1"]).unwrap_err().to_string();
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn rules_and_conformance_corpus() {
    let mut e = ch();
    assert!(support::corpus::run_corpus(&mut e, "rules") >= 180);
    assert!(support::corpus::run_corpus(&mut e, "tests/conformance") >= 1000);
}

/// The generated differential test, `field()` comparisons included.
#[test]
fn differential_agrees_with_the_reference_evaluator() {
    let pairs = support::differential::differential(&mut ch(), SqlDialect::Clickhouse, 8);
    assert!(pairs >= 10_000, "{pairs}");
}

/// W0404's bound for ClickHouse is the engine's own `max_query_size`: a rule whose query is just
/// over it is warned about and refused by chDB with its default settings ("Max query size
/// exceeded"); one just under it is neither, and runs; the general bound (1 MiB) of the other
/// dialects warns about neither.
#[test]
fn queries_over_max_query_size_are_warned_about_and_refused() {
    use ruleqc::compile::size_warning;
    let rule = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("\"v{i:05}\"")).collect();
        format!(
            "RuleID: Big.List\nLogTypes: [Big.Events]\nCondition: |\n  name in [{}]\nTests:\n  \
             - Name: listed\n    ExpectedResult: true\n    Log: {{name: \"v00007\"}}\n  \
             - Name: not listed\n    ExpectedResult: false\n    Log: {{name: \"w\"}}\n",
            values.join(", ")
        )
    };
    for (n, over) in [(20_000, false), (30_000, true)] {
        let loaded = ruleqc::rule::load_str("big.yml", rule(n));
        let r = loaded.rule().expect("loads");
        let mut profile = ruleqc::profile::Profile::built_in("default").unwrap();
        profile.resolve_schemas(&[r]);
        let q = ruleqc::compile::compile(
            r,
            ruleqc::compile::Target::sql(SqlDialect::Clickhouse),
            &profile,
        )
        .expect("compiles");
        assert_eq!(q.len() > 262_144, over, "{n} values: {} bytes", q.len());
        let warned = size_warning(&q, Some(SqlDialect::Clickhouse));
        assert_eq!(
            warned.as_ref().map(|w| w.code),
            over.then_some("W0404"),
            "{n}"
        );
        assert!(size_warning(&q, Some(SqlDialect::Duckdb)).is_none(), "{n}");
        let run = ruleqc::testing::run_rule_tests_with(r, Some(&mut ch()), &profile);
        match (&run.engine_error, over) {
            (None, false) => {
                let got: Vec<bool> = run.results.iter().map(|t| t.verdicts[1].result).collect();
                assert_eq!(got, [true, false]);
            }
            (Some(e), true) => assert!(e.contains("Max query size exceeded"), "{e}"),
            (e, _) => panic!("{n} values: {e:?}"),
        }
    }
}
