//! Helpers shared by integration tests: `mod support;` in a test file.
// Each test binary compiles its own copy and uses only part of it.
#![allow(dead_code)]

pub mod cli;
pub mod corpus;
pub mod differential;
pub mod postgres;
pub mod py_engine;

use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::engine::{Engine, EngineError, EventTable};
use serde_json::Value;

/// A complete table schema from (column, type) pairs.
pub fn schema(cols: &[(&str, ColumnType)]) -> TableSchema {
    TableSchema {
        columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
        complete: true,
    }
}

/// The rows of `events` (a table named `events`) that each condition selects on `engine`.
pub fn matching(
    engine: &mut dyn Engine,
    schema: &TableSchema,
    events: &[Value],
    conditions: &[&str],
) -> Result<Vec<Vec<usize>>, EngineError> {
    let table = EventTable {
        name: "events",
        schema,
        events,
    };
    let conds: Vec<String> = conditions.iter().map(|c| c.to_string()).collect();
    engine.matching_rows(&table, &conds)
}
