//! The generated differential test (tests/support/differential.rs) on the embedded SQLite, the
//! DuckDB binary and PostgreSQL; ClickHouse and Spark run it in their own test binaries.
//!
//! Seeded and reproducible: `RULEQC_DIFF_SEED` picks the seed (default fixed),
//! `RULEQC_DIFF_SCALE` multiplies the number of batches for a larger run.

mod support;

use ruleqc::backend::sql::SqlDialect;
use support::differential::differential;

/// Batches per engine in the default run: 16,200 pairs (the three engines take seconds).
const BATCHES: usize = 12;

#[test]
fn sqlite_agrees_with_the_reference_evaluator() {
    let mut e = ruleqc::engine::sqlite::Sqlite::new().expect("embedded sqlite");
    differential(&mut e, SqlDialect::Sqlite, BATCHES);
}

#[test]
fn duckdb_agrees_with_the_reference_evaluator() {
    let mut e = ruleqc::engine::duckdb::DuckDb::new(None).unwrap_or_else(|e| panic!("{e}"));
    differential(&mut e, SqlDialect::Duckdb, BATCHES);
}

#[test]
fn postgres_agrees_with_the_reference_evaluator() {
    let mut e = support::postgres::Postgres::new().unwrap_or_else(|e| panic!("{e}"));
    differential(&mut e, SqlDialect::Postgres, BATCHES);
}

/// The native `run` engine evaluates the reference evaluator on events parsed through a
/// projection (only the parts a condition reads): each generated condition, on each generated
/// event parsed through that condition's projection alone, must give the reference's verdict
/// on the whole event.
#[test]
fn native_projection_agrees_with_the_reference_evaluator() {
    let mut pairs = 0;
    let mut failures = Vec::new();
    for (batch, (events, conds)) in support::differential::batches(4).iter().enumerate() {
        for (text, node) in conds {
            let mut need = ruleqc::engine::native::Need::default();
            need.add_condition(node);
            for ev in events {
                pairs += 1;
                let projected = need.parse(&ev.to_string()).expect("generated events parse");
                let (want, got) = (
                    ruleqc::ir::eval::eval(node, ev),
                    ruleqc::ir::eval::eval(node, &projected),
                );
                if want != got && failures.len() < 10 {
                    failures.push(format!(
                        "batch {batch}: native says {got}, reference says {want}\n  condition: {text}\n  event: {ev}\n  projected: {projected}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(pairs >= 5000, "{pairs} pairs");
}
