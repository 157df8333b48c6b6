//! The throwaway PostgreSQL engine (tests/support/postgres.rs) with hand-written conditions:
//! every column type, exact big integers, hostile strings, several conditions per call, errors.

mod support;

use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::engine::{Engine, EngineError, EventTable};
use serde_json::{Value, json};
use support::postgres::Postgres;
use support::schema;

/// The shared server; when PostgreSQL is missing the test fails with the install message.
fn pg() -> Postgres {
    Postgres::new().unwrap_or_else(|e| panic!("{e}"))
}

fn run(
    schema: &TableSchema,
    events: &[Value],
    conditions: &[&str],
) -> Result<Vec<Vec<usize>>, EngineError> {
    support::matching(&mut pg(), schema, events, conditions)
}

#[test]
fn name_is_postgres() {
    assert_eq!(pg().name(), "postgres");
}

#[test]
fn every_column_type_loads() {
    let s = schema(&[
        ("s", ColumnType::Text),
        ("i", ColumnType::Integer),
        ("f", ColumnType::Real),
        ("b", ColumnType::Boolean),
        ("j", ColumnType::Json),
    ]);
    let evs = [
        json!({"s": "a", "i": 1, "f": 1.5, "b": true, "j": [1, 2]}),
        json!({"s": "b", "i": -7, "f": 2, "b": false, "j": {"k": "v"}}),
        json!({"s": null, "i": null, "f": null, "b": null, "j": null}),
        json!({"other": 1}),
        json!({"j": "text", "s": "", "f": 1e300}),
    ];
    let got = run(
        &s,
        &evs,
        &[
            "s = 'a'",
            "s IS NULL",
            "s = ''",
            "i = -7",
            "i IS NULL",
            "f = 1.5",
            "f = 2.0",
            "f = 1e300",
            "b",
            "NOT b",
            "b IS NULL",
            "jsonb_typeof(j) = 'array'",
            "jsonb_typeof(j) = 'object' AND j ->> 'k' = 'v'",
            "jsonb_typeof(j) = 'string' AND j #>> '{}' = 'text'",
            // JSON null stays a jsonb null; a missing key is SQL NULL.
            "jsonb_typeof(j) = 'null'",
            "j IS NULL",
            "pg_typeof(s) = 'text'::regtype AND pg_typeof(i) = 'bigint'::regtype \
             AND pg_typeof(f) = 'double precision'::regtype \
             AND pg_typeof(b) = 'boolean'::regtype AND pg_typeof(j) = 'jsonb'::regtype",
        ],
    )
    .unwrap();
    let want: Vec<Vec<usize>> = vec![
        vec![0],
        vec![2, 3],
        vec![4],
        vec![1],
        vec![2, 3, 4],
        vec![0],
        vec![1],
        vec![4],
        vec![0],
        vec![1],
        vec![2, 3, 4],
        vec![0],
        vec![1],
        vec![4],
        vec![2],
        vec![3],
        vec![0, 1, 2, 3, 4],
    ];
    assert_eq!(got, want);
}

#[test]
fn big_integers_stay_exact() {
    let s = schema(&[("i", ColumnType::Integer), ("j", ColumnType::Json)]);
    let evs = [
        json!({"i": i64::MAX, "j": 9007199254740993u64}),
        json!({"i": i64::MIN, "j": {"k": 9007199254740993u64, "a": [u64::MAX]}}),
        json!({"i": 9007199254740992u64, "j": 9007199254740992u64}),
    ];
    let got = run(
        &s,
        &evs,
        &[
            "i = 9223372036854775807",
            "i = -9223372036854775808",
            "j = '9007199254740993'::jsonb",
            "jsonb_typeof(j) = 'number' AND (j #>> '{}')::numeric = 9007199254740993",
            "j ->> 'k' = '9007199254740993'",
            "j -> 'a' -> 0 = '18446744073709551615'::jsonb",
            "i = 9007199254740992 AND j::text = '9007199254740992'",
        ],
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            vec![0],
            vec![1],
            vec![0],
            vec![0],
            vec![1],
            vec![1],
            vec![2]
        ]
    );
}

#[test]
fn hostile_strings_survive() {
    let s = schema(&[("s", ColumnType::Text), ("j", ColumnType::Json)]);
    let evs = [
        json!({"s": "it's", "j": {"q": "say \"hi\""}}),
        json!({"s": "a\\b\\\\", "j": ["back\\slash"]}),
        json!({"s": "line1\nline2\r\ttab", "j": "x\ny"}),
        json!({"s": "é 😀 中文 \u{202e}", "j": {"ü": "ß"}}),
        json!({"s": "$ruleqc0$ $$ :foo \\echo", "j": "$ruleqc1$"}),
        json!({"s": "'); DROP TABLE events; --", "j": "\u{1}"}),
    ];
    let got = run(
        &s,
        &evs,
        &[
            "s = 'it''s'",
            "j ->> 'q' = 'say \"hi\"'",
            "s = 'a\\b\\\\' AND length(s) = 5",
            "j ->> 0 = 'back\\slash'",
            "s = E'line1\\nline2\\r\\ttab'",
            "j #>> '{}' = E'x\\ny'",
            "s = 'é 😀 中文 \u{202e}' AND length(s) = 8",
            "j ->> 'ü' = 'ß'",
            "s = '$ruleqc0$ $$ :foo \\echo' AND j #>> '{}' = '$ruleqc1$'",
            "s = '''); DROP TABLE events; --' AND j #>> '{}' = chr(1)",
            "true",
        ],
    )
    .unwrap();
    assert_eq!(
        got,
        vec![
            vec![0],
            vec![0],
            vec![1],
            vec![1],
            vec![2],
            vec![2],
            vec![3],
            vec![3],
            vec![4],
            vec![5],
            vec![0, 1, 2, 3, 4, 5],
        ]
    );
}

#[test]
fn odd_column_and_table_names() {
    let s = schema(&[
        ("we\"ird col", ColumnType::Text),
        ("Upper", ColumnType::Integer),
    ]);
    let evs = [json!({"we\"ird col": "x", "Upper": 5}), json!({"Upper": 6})];
    let table = EventTable {
        name: "\"my \"\"events\"\"\"",
        schema: &s,
        events: &evs,
    };
    let got = pg()
        .matching_rows(
            &table,
            &[
                "\"we\"\"ird col\" = 'x'".to_string(),
                "\"Upper\" = 6".to_string(),
            ],
        )
        .unwrap();
    assert_eq!(got, vec![vec![0], vec![1]]);
}

#[test]
fn many_conditions_and_rows_in_one_call() {
    let s = schema(&[("i", ColumnType::Integer)]);
    let evs: Vec<Value> = (0..300).map(|n| json!({"i": n})).collect();
    let conds: Vec<String> = (0..50).map(|k| format!("i % 50 = {k}")).collect();
    let table = EventTable {
        name: "events",
        schema: &s,
        events: &evs,
    };
    let got = pg().matching_rows(&table, &conds).unwrap();
    assert_eq!(got.len(), 50);
    for (k, rows) in got.iter().enumerate() {
        let want: Vec<usize> = (0..300).filter(|n| n % 50 == k).collect();
        assert_eq!(rows, &want);
    }
    assert!(pg().matching_rows(&table, &[]).unwrap().is_empty());
}

#[test]
fn no_events() {
    let s = schema(&[("s", ColumnType::Text), ("j", ColumnType::Json)]);
    let got = run(&s, &[], &["true", "s = 'a'"]).unwrap();
    assert_eq!(got, vec![Vec::<usize>::new(), vec![]]);
}

#[test]
fn a_bad_query_is_failed_with_the_message_and_the_sql() {
    let s = schema(&[("s", ColumnType::Text)]);
    let evs = [json!({"s": "a"})];
    let err = run(&s, &evs, &["s = 'a'", "nosuch = 1", "s = 'b'"]).unwrap_err();
    let EngineError::Failed(msg) = err else {
        panic!("expected Failed, got {err:?}")
    };
    assert!(msg.contains("condition 1"), "{msg}");
    assert!(msg.contains("column \"nosuch\" does not exist"), "{msg}");
    assert!(msg.contains("WHERE (\nnosuch = 1\n)"), "{msg}");

    let err = run(&s, &evs, &["s = "]).unwrap_err();
    assert!(
        matches!(&err, EngineError::Failed(m) if m.contains("syntax error")),
        "{err:?}"
    );
    // A runtime error, not a planning one.
    let err = run(&s, &evs, &["s::int = 1"]).unwrap_err();
    assert!(
        matches!(&err, EngineError::Failed(m) if m.contains("invalid input syntax")),
        "{err:?}"
    );
}

#[test]
fn events_postgres_cannot_hold_or_that_do_not_fit_are_errors() {
    let s = schema(&[("s", ColumnType::Text), ("i", ColumnType::Integer)]);
    let err = run(&s, &[json!({"s": "a\u{0}b"})], &["true"]).unwrap_err();
    assert!(
        matches!(&err, EngineError::Failed(m) if m.contains("loading the events failed")),
        "{err:?}"
    );
    for bad in [json!({"i": 1.5}), json!({"i": "1"}), json!({"s": 1})] {
        let err = run(&s, &[bad], &["true"]).unwrap_err();
        assert!(
            matches!(&err, EngineError::Failed(m) if m.contains("does not fit")),
            "{err:?}"
        );
    }
}

#[test]
fn parallel_calls_share_the_server_without_colliding() {
    let s = schema(&[("i", ColumnType::Integer)]);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let s = &s;
            scope.spawn(move || {
                let evs: Vec<Value> = (0..10).map(|n| json!({"i": n * t})).collect();
                let got = run(s, &evs, &[&format!("i = {}", 3 * t)]).unwrap();
                let want = if t == 0 { (0..10).collect() } else { vec![3] };
                assert_eq!(got, vec![want]);
            });
        }
    });
    // One server for the whole process.
    assert_eq!(pg().port(), pg().port());
    assert!(pg().dir().join("data").is_dir());
}
