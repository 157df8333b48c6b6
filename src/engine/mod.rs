//! Engines that run compiled SQL on a rule's test events: the embedded SQLite (always there),
//! the DuckDB command-line binary, and (in the test suite) a throwaway PostgreSQL server.
//! `native` is not one of them: it evaluates the IR itself, for `ruleqc run`.
//!
//! Every engine gets the same thing: one table of events (a column per top-level key, typed by
//! the `TableSchema`, plus the row number in `__ruleqc_row`), and a list of boolean conditions
//! rendered for its dialect. It answers, per condition, which rows match.

use crate::backend::schema::TableSchema;

pub mod duckdb;
pub mod native;
mod scan;
pub mod sqlite;

/// The column that numbers the rows (0-based, in the order the events were given).
pub const ROW_COLUMN: &str = "__ruleqc_row";

/// Events to load as one table.
#[derive(Clone, Debug)]
pub struct EventTable<'a> {
    /// Table name as the dialect writes it (already quoted if needed).
    pub name: &'a str,
    pub schema: &'a TableSchema,
    /// Each event is a JSON object; keys outside the schema are ignored.
    pub events: &'a [serde_json::Value],
}

#[derive(Debug)]
pub enum EngineError {
    /// The engine is not installed; the message says how to install it.
    Missing(String),
    /// The engine ran and failed (a bad query is a compiler bug).
    Failed(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Missing(m) | EngineError::Failed(m) => f.write_str(m),
        }
    }
}

/// An engine that can answer "which rows match" for several conditions over one table.
pub trait Engine {
    fn name(&self) -> &'static str;
    /// For each condition (a SQL boolean expression over the table's columns), the sorted row
    /// numbers that satisfy it.
    fn matching_rows(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError>;

    /// The events for which `query` (a whole query reading the table, run as written) returns
    /// a row when that event is alone in the table: the rows a deployed query would alert on.
    fn rows_returning(
        &mut self,
        table: &EventTable<'_>,
        query: &str,
    ) -> Result<Vec<usize>, EngineError> {
        let condition = [format!("EXISTS (\n{query}\n)")];
        let mut out = Vec::new();
        for (i, ev) in table.events.iter().enumerate() {
            let one = EventTable {
                events: std::slice::from_ref(ev),
                ..table.clone()
            };
            if !self.matching_rows(&one, &condition)?[0].is_empty() {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// `rows_returning` for a query over several tables (a rule with several log types: one
    /// `SELECT` per table joined with `UNION ALL`): for each table, the events of that table
    /// for which `query` returns a row when the event is alone in its table and every other
    /// table is empty. With one table it is `rows_returning`; an engine that cannot hold
    /// several tables at once says so.
    fn rows_returning_each(
        &mut self,
        tables: &[EventTable<'_>],
        query: &str,
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        match tables {
            [one] => Ok(vec![self.rows_returning(one, query)?]),
            _ => Err(EngineError::Failed(format!(
                "{} runs a query over one table; the rule reads {} log types",
                self.name(),
                tables.len()
            ))),
        }
    }
}
