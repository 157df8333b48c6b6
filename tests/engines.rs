//! rules/ and the conformance corpus on the three real engines: every test's verdict from the
//! compiled SQL equals the reference evaluator's (and the expected result).

mod support;

use ruleqc::engine::Engine;
use support::corpus::run_corpus;

fn all_corpora(engine: &mut dyn Engine) {
    assert!(run_corpus(engine, "rules") >= 180);
    assert!(run_corpus(engine, "tests/conformance") >= 1000);
}

#[test]
fn embedded_sqlite() {
    all_corpora(&mut ruleqc::engine::sqlite::Sqlite::new().expect("sqlite"));
}

#[test]
fn duckdb_binary() {
    all_corpora(&mut ruleqc::engine::duckdb::DuckDb::new(None).unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn postgres_server() {
    all_corpora(&mut support::postgres::Postgres::new().unwrap_or_else(|e| panic!("{e}")));
}

/// The documented divergence of a *stock* SQLite (no host functions): its `lower()` is
/// ASCII-only, so `eq~` on non-ASCII text differs; ruleqc's embedded engine registers a Unicode
/// `lower()` and is exact. Also, stock SQLite has no `REGEXP` at all.
#[test]
fn stock_sqlite_lower_is_ascii_only() {
    let ast = ruleqc::syntax::parse(r#"x eq~ "école""#).unwrap();
    let ir = ruleqc::ir::normalize::normalize(ruleqc::ir::lower::lower_condition(&ast).unwrap());
    let schema =
        ruleqc::backend::schema::TableSchema::from_events(&[serde_json::json!({"x": "ÉCOLE"})]);
    let d = ruleqc::backend::sql::SqlDialect::Sqlite.dialect();
    let cond = ruleqc::backend::sql::render_condition(&ir, d, &schema, "t").unwrap();
    let query = format!("SELECT count(*) FROM t WHERE {cond}");
    let count = |conn: &rusqlite::Connection| -> i64 {
        conn.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('ÉCOLE');")
            .unwrap();
        conn.query_row(&query, [], |r| r.get(0)).unwrap()
    };
    let stock = rusqlite::Connection::open_in_memory().unwrap();
    assert_eq!(count(&stock), 0, "stock lower('É') stays 'É'");
    let ours = rusqlite::Connection::open_in_memory().unwrap();
    ruleqc::engine::sqlite::register_functions(&ours).unwrap();
    assert_eq!(count(&ours), 1, "the registered lower() is Unicode");
    let err = stock
        .prepare("SELECT 'a' REGEXP 'a'")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such function: REGEXP"), "{err}");
}
