//! Databricks SQL on a local Spark (PySpark, one SparkSession for the whole binary, driven by
//! tests/engines/sql_engine.py): the harness on hand-written conditions, the `is_variant_null`
//! regression, then rules/, the conformance corpus and a smaller differential run, every verdict
//! equal to the reference evaluator's.

mod support;

use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::backend::sql::{SqlDialect, render_condition};
use ruleqc::engine::{Engine, EngineError};
use serde_json::{Value, json};
use support::py_engine::{Kind, PyEngine};
use support::schema;

fn spark() -> PyEngine {
    PyEngine::new(Kind::Spark).unwrap_or_else(|e| panic!("{e}"))
}

fn run(
    schema: &TableSchema,
    events: &[Value],
    conditions: &[&str],
) -> Result<Vec<Vec<usize>>, EngineError> {
    support::matching(&mut spark(), schema, events, conditions)
}

#[test]
fn harness() {
    let e = spark();
    assert_eq!(e.name(), "spark");
    assert!(e.version().starts_with("spark 4."), "{}", e.version());

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
            "s = concat(char(0), '\\r\\n\\'\\\\\"')",
            "i = -9223372036854775808",
            "i = 9223372036854775807",
            "i IS NULL",
            "f = 1.5D",
            "f = 1e300",
            "b",
            "NOT b",
            "schema_of_variant(parse_json(j)) LIKE 'ARRAY%'",
            "try_variant_get(parse_json(j), '$.k', 'string') = 'v'",
            // A JSON null is the text `null`; a missing key is SQL NULL.
            "j = 'null' AND is_variant_null(parse_json(j))",
            "j IS NULL",
            "try_variant_get(parse_json(j), '$', 'decimal(20,0)') = 9007199254740993",
            "`odd key``` = 'x'",
            "typeof(s) = 'string' AND typeof(i) = 'bigint' AND typeof(f) = 'double' \
             AND typeof(b) = 'boolean' AND typeof(j) = 'string'",
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

    let s1 = schema(&[("s", ColumnType::Text)]);
    let err = run(
        &s1,
        &[json!({"s": "a"})],
        &["s = 'a'", "no_such_function(s)"],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("condition 1"), "{err}");
    // The session survives an error and answers the next request.
    assert_eq!(run(&s1, &[json!({"s": "a"})], &["s = 'a'"]).unwrap(), [[0]]);
}

/// The bug issue 12 found by running Databricks SQL: `is_variant_null(NULL)` is false, so a
/// `COALESCE(is_variant_null(v), TRUE)` spelling counted a missing field as present. The
/// lowering writes `v IS NULL OR is_variant_null(v)`; this runs both on Spark.
#[test]
fn is_not_null_on_a_missing_path() {
    let ast = ruleqc::syntax::parse("requestParameters.userName is_not_null").unwrap();
    let ir = ruleqc::ir::normalize::normalize(ruleqc::ir::lower::lower_condition(&ast).unwrap());
    let evs = [
        json!({"requestParameters": null}),
        json!({"requestParameters": {}}),
        json!({"requestParameters": {"userName": null}}),
        json!({"requestParameters": {"userName": "bob"}}),
        json!({}),
    ];
    let schema = TableSchema::from_events(&evs);
    let d = SqlDialect::Databricks.dialect();
    let cond = render_condition(&ir, d, &schema, "events").unwrap();
    assert!(cond.contains("IS NULL OR is_variant_null("), "{cond}");
    let old = "NOT COALESCE(is_variant_null(try_variant_get(parse_json(requestParameters), \
               '$.userName', 'variant')), TRUE)";
    assert_eq!(
        run(&schema, &evs, &[&cond, old]).unwrap(),
        [vec![3], vec![0, 1, 3, 4]]
    );
    assert!(
        !ruleqc::ir::eval::eval(&ir, &evs[0]),
        "the reference evaluator agrees"
    );
}

#[test]
fn rules_and_conformance_corpus() {
    let mut e = spark();
    assert!(support::corpus::run_corpus(&mut e, "rules") >= 180);
    assert!(support::corpus::run_corpus(&mut e, "tests/conformance") >= 1000);
}

/// The generated differential test, smaller than on the other engines (each batch is one Spark
/// query, but a slow one), `field()` comparisons included.
#[test]
fn differential_agrees_with_the_reference_evaluator() {
    let pairs = support::differential::differential(&mut spark(), SqlDialect::Databricks, 2);
    assert!(pairs >= 2500, "{pairs}");
}
