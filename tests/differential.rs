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
