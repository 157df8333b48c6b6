//! The embedded engine: SQLite (bundled with rusqlite), with the two functions stock SQLite
//! lacks registered so that the `sqlite` dialect is exact: `regexp(pattern, text)` (what
//! `text REGEXP pattern` calls) using the `regex` crate, and a `lower()` that lower-cases all
//! of Unicode (simple lower-casing, as SPEC §3.4 says), replacing SQLite's ASCII-only one.

use std::sync::Arc;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};
use serde_json::Value;

use super::{Engine, EngineError, EventTable, ROW_COLUMN};
use crate::backend::schema::ColumnType;
use crate::backend::sql::dialect::Dialect;
use crate::backend::sql::sqlite::Sqlite as SqliteDialect;
use crate::ir::eval::simple_lowercase;

pub struct Sqlite {
    conn: Connection,
}

fn failed(e: impl std::fmt::Display) -> EngineError {
    EngineError::Failed(format!("SQLite: {e}"))
}

/// Turns off SQLite's memory statistics, once, before the process opens its first connection.
/// They are kept under one mutex for the whole process, taken at every allocation, so
/// connections on several threads (`ruleqc test` runs rules on all cores) would wait on each
/// other for them; ruleqc never reads them.
pub fn configure() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` with `SQLITE_CONFIG_MEMSTATUS` takes one `int`. It is
        // called before any connection is opened (every connection of the process is opened
        // after `configure`), when SQLite allows it; were SQLite initialised already, the
        // call would return `SQLITE_MISUSE` and change nothing, which is harmless.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                std::ffi::c_int::from(0u8),
            );
        }
    });
}

impl Sqlite {
    pub fn new() -> Result<Self, EngineError> {
        configure();
        let conn = Connection::open_in_memory().map_err(failed)?;
        register_functions(&conn).map_err(failed)?;
        Ok(Sqlite { conn })
    }
}

/// Registers `regexp` and a Unicode `lower` on a connection.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("regexp", 2, flags, |ctx| {
        let re: Arc<regex::Regex> = ctx.get_or_create_aux(
            0,
            |v| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                Ok(crate::ir::Pattern::build(v.as_str()?)?)
            },
        )?;
        match ctx.get_raw(1) {
            rusqlite::types::ValueRef::Text(t) => {
                let s = std::str::from_utf8(t)
                    .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
                Ok(Some(re.is_match(s)))
            }
            _ => Ok(None),
        }
    })?;
    conn.create_scalar_function("lower", 1, flags, |ctx| match ctx.get_raw(0) {
        rusqlite::types::ValueRef::Text(t) => {
            let s =
                std::str::from_utf8(t).map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
            Ok(Some(SqlValue::Text(simple_lowercase(s))))
        }
        rusqlite::types::ValueRef::Null => Ok(None),
        rusqlite::types::ValueRef::Integer(i) => Ok(Some(SqlValue::Integer(i))),
        rusqlite::types::ValueRef::Real(f) => Ok(Some(SqlValue::Real(f))),
        rusqlite::types::ValueRef::Blob(b) => Ok(Some(SqlValue::Blob(b.to_vec()))),
    })?;
    Ok(())
}

/// The SQLite value for an event's field in a column of type `ty`.
pub fn sql_value(ty: ColumnType, v: Option<&Value>) -> SqlValue {
    match (ty, v) {
        (_, None) => SqlValue::Null,
        (ColumnType::Json, Some(v)) => SqlValue::Text(v.to_string()),
        (_, Some(Value::Null)) => SqlValue::Null,
        (ColumnType::Text, Some(Value::String(s))) => SqlValue::Text(s.clone()),
        (ColumnType::Integer, Some(Value::Number(n))) => {
            n.as_i64().map_or(SqlValue::Null, SqlValue::Integer)
        }
        (ColumnType::Real, Some(Value::Number(n))) => {
            n.as_f64().map_or(SqlValue::Null, SqlValue::Real)
        }
        (ColumnType::Boolean, Some(Value::Bool(b))) => SqlValue::Integer(i64::from(*b)),
        // The UTC text SQLite's `datetime()` writes, so that the lookback filter compares
        // instants.
        (ColumnType::Timestamp, Some(Value::String(s))) => {
            crate::backend::schema::timestamp::parse(s)
                .map_or(SqlValue::Null, |t| SqlValue::Text(t.sqlite_text()))
        }
        // The schema was derived from these events, so types agree; anything else is missing.
        _ => SqlValue::Null,
    }
}

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn matching_rows(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        let tx = self.conn.transaction().map_err(failed)?;
        let cols = create_table(&tx, table)?;
        for (i, ev) in table.events.iter().enumerate() {
            insert_event(&tx, table, &cols, i, ev)?;
        }
        let mut out = Vec::with_capacity(conditions.len());
        for cond in conditions {
            let sql = format!(
                "SELECT {ROW_COLUMN} FROM {} WHERE {cond} ORDER BY 1",
                table.name
            );
            let mut stmt = tx
                .prepare(&sql)
                .map_err(|e| EngineError::Failed(format!("SQLite: {e}\nquery: {sql}")))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, i64>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(|e| EngineError::Failed(format!("SQLite: {e}\nquery: {sql}")))?;
            out.push(rows.into_iter().map(|r| r as usize).collect());
        }
        tx.rollback().map_err(failed)?;
        Ok(out)
    }

    fn rows_returning_each(
        &mut self,
        tables: &[EventTable<'_>],
        query: &str,
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        if let [one] = tables {
            return Ok(vec![self.rows_returning(one, query)?]);
        }
        // Every table is created empty; each event then goes alone into its own table, the
        // query runs as written, and its table is emptied again.
        let tx = self.conn.transaction().map_err(failed)?;
        let cols = tables
            .iter()
            .map(|t| create_table(&tx, t))
            .collect::<Result<Vec<_>, _>>()?;
        let exists = format!("SELECT EXISTS (\n{query}\n)");
        let mut out = Vec::with_capacity(tables.len());
        for (t, cols) in tables.iter().zip(&cols) {
            let mut rows = Vec::new();
            for (i, ev) in t.events.iter().enumerate() {
                insert_event(&tx, t, cols, i, ev)?;
                let hit: bool = tx
                    .query_row(&exists, [], |r| r.get(0))
                    .map_err(|e| EngineError::Failed(format!("SQLite: {e}\nquery: {query}")))?;
                if hit {
                    rows.push(i);
                }
                tx.execute(&format!("DELETE FROM {}", t.name), [])
                    .map_err(failed)?;
            }
            out.push(rows);
        }
        tx.rollback().map_err(failed)?;
        Ok(out)
    }
}

/// Creates `table` (dropping one of that name), with its schema's columns and the row number,
/// and returns the columns in order.
fn create_table<'t>(
    tx: &Connection,
    table: &EventTable<'t>,
) -> Result<Vec<(&'t String, ColumnType)>, EngineError> {
    let d = SqliteDialect;
    let cols: Vec<(&String, ColumnType)> =
        table.schema.columns.iter().map(|(k, t)| (k, *t)).collect();
    let mut defs: Vec<String> = cols
        .iter()
        .map(|(k, t)| format!("{} {}", d.quote_ident(k), d.column_type(*t)))
        .collect();
    defs.push(format!("{ROW_COLUMN} INTEGER"));
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS {0}; CREATE TABLE {0} ({1});",
        table.name,
        defs.join(", ")
    ))
    .map_err(failed)?;
    Ok(cols)
}

/// Inserts event `i` of `table` as a row.
fn insert_event(
    tx: &Connection,
    table: &EventTable<'_>,
    cols: &[(&String, ColumnType)],
    i: usize,
    ev: &Value,
) -> Result<(), EngineError> {
    let placeholders = vec!["?"; cols.len() + 1].join(", ");
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT INTO {} VALUES ({placeholders})",
            table.name
        ))
        .map_err(failed)?;
    let mut vals: Vec<SqlValue> = cols
        .iter()
        .map(|(k, t)| sql_value(*t, ev.get(k.as_str())))
        .collect();
    vals.push(SqlValue::Integer(i as i64));
    insert.execute(params_from_iter(vals)).map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::schema::TableSchema;
    use serde_json::json;

    /// Every connection of the process is opened after `configure` (this test binary included),
    /// so SQLite keeps no memory statistics: the mutex that guards them is never taken, and
    /// connections on several threads do not wait on each other at every allocation.
    #[test]
    fn memory_statistics_are_off() {
        let mut e = Sqlite::new().expect("embedded sqlite");
        let schema = TableSchema::default();
        let events = vec![json!({"a": "x".repeat(100_000)})];
        let table = EventTable {
            name: "t",
            schema: &schema,
            events: &events,
        };
        e.matching_rows(&table, &["1 = 1".to_string()])
            .expect("a query runs");
        // SAFETY: a read of SQLite's counter, which takes no argument.
        let used = unsafe { rusqlite::ffi::sqlite3_memory_used() };
        assert_eq!(
            used, 0,
            "SQLite counts its memory: it takes a global mutex per allocation"
        );
    }
}
