//! The DuckDB engine: drives the `duckdb` command-line binary as a subprocess. One process
//! serves an engine's calls one after another (`Session`): each call's SQL is written to a
//! file that the process reads with `.read`, into an in-memory database of its own that is
//! attached for the call and detached after it, and a marker query then says that the call is
//! over. A process that fails a statement exits (`-bail`) and the next call starts another, so
//! no call sees another's tables or a failed one's state.
//!
//! Loading. The events are written as JSON lines to a temporary file, one line per event, under
//! positional keys (`r` for the row number, `c0`, `c1`, ... for the schema's columns, so odd
//! column names never meet `read_json`'s key matching), and read back with
//! `read_json(..., format='newline_delimited', columns={...})` with explicit types:
//!
//! | schema    | file holds                    | table column                   |
//! |-----------|-------------------------------|--------------------------------|
//! | `Text`    | the JSON string               | `VARCHAR`                      |
//! | `Integer` | the number (must fit an i64)  | `BIGINT`                       |
//! | `Real`    | the number                    | `DOUBLE`                       |
//! | `Boolean` | the boolean                   | `BOOLEAN`                      |
//! | `Json`    | the value's JSON *text*, as a string | `JSON` (`CAST(... AS JSON)`) |
//! | `Timestamp` | the instant as RFC 3339 in UTC | `TIMESTAMPTZ` (`CAST(... AS TIMESTAMPTZ)`) |
//!
//! `Json` columns travel as raw JSON text read as `VARCHAR` and then cast to `JSON`, which keeps
//! the text verbatim: numbers stay exactly as written (9007199254740993 stays that integer,
//! never a double), and a JSON `null` stays a JSON `null` (`json_type(col) = 'NULL'`,
//! `col IS NULL` false). Reading the column directly as `JSON` in `read_json` would turn a
//! top-level `null` into SQL NULL. So, in a `Json` column: missing key → SQL NULL, JSON `null`
//! → JSON `null`. In the typed columns a JSON `null` and a missing key are both SQL NULL.
//!
//! A value whose JSON type does not fit its column (a number in a `Text` column, a fraction or an
//! integer outside the i64 range in an `Integer` column, ...) is an error, not a silent cast:
//! the schema is wrong for the events. Keys outside the schema are ignored.
//!
//! Querying. After the `CREATE TABLE`, each condition runs as
//! `SELECT __ruleqc_row FROM <table> WHERE (<condition>) ORDER BY 1`, each query followed by a
//! marker query printing a negative number (row numbers are never negative). The output is CSV
//! without headers, so every line is one integer. With `-bail`, DuckDB stops at the first error;
//! the markers seen before it tell which statement failed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};

use super::{Engine, EngineError, EventTable, ROW_COLUMN};
use crate::backend::schema::ColumnType;

/// The database each call of a kept process runs in (attached for the call, then detached).
const DB: &str = "__ruleqc_call";

/// How to get DuckDB, for `EngineError::Missing`.
const INSTALL: &str = "install the DuckDB command-line binary with `pip install duckdb-cli==1.5.6`, \
                       or pass `--duckdb PATH`";

/// The DuckDB command-line binary, and the process kept for the next call.
pub struct DuckDb {
    binary: PathBuf,
    session: Option<Session>,
}

impl Clone for DuckDb {
    /// The same binary; the copy starts its own process.
    fn clone(&self) -> Self {
        DuckDb {
            binary: self.binary.clone(),
            session: None,
        }
    }
}

impl std::fmt::Debug for DuckDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDb")
            .field("binary", &self.binary)
            .finish_non_exhaustive()
    }
}

/// A running `duckdb` that takes one script after another on its standard input.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Reads standard error to its end (so that DuckDB never waits on a full pipe) and gives
    /// it back when the process has exited.
    stderr: Option<std::thread::JoinHandle<String>>,
    /// Scripts run so far (each one's end marker is numbered).
    scripts: u64,
}

/// `duckdb` on an in-memory database, its three streams piped, stopping at the first error.
fn spawn(binary: &Path) -> Result<Child, EngineError> {
    Command::new(binary)
        .args(["-no-init", "-batch", "-bail", "-csv", "-noheader"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            EngineError::Missing(format!(
                "DuckDB not runnable: cannot run `{}`: {e}; {INSTALL}",
                binary.display()
            ))
        })
}

impl Session {
    fn start(binary: &Path) -> Result<Session, EngineError> {
        let mut child = spawn(binary)?;
        let (Some(stdin), Some(stdout), Some(mut err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(EngineError::Failed("duckdb: no pipe to the process".into()));
        };
        let stderr = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = err.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        Ok(Session {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr: Some(stderr),
            scripts: 0,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DuckDb {
    /// The binary at `binary`, or `duckdb` found on `PATH`. Checks that it runs.
    pub fn new(binary: Option<PathBuf>) -> Result<Self, EngineError> {
        let binary = match binary {
            Some(b) => b,
            None => find_on_path("duckdb").ok_or_else(|| {
                EngineError::Missing(format!("DuckDB not found: no `duckdb` on PATH; {INSTALL}"))
            })?,
        };
        let out = Command::new(&binary)
            .args(["-no-init", "-version"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                EngineError::Missing(format!(
                    "DuckDB not runnable: cannot run `{}`: {e}; {INSTALL}",
                    binary.display()
                ))
            })?;
        if !out.status.success() {
            return Err(EngineError::Missing(format!(
                "DuckDB not runnable: `{} -version` failed ({}): {}; {INSTALL}",
                binary.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(DuckDb {
            binary,
            session: None,
        })
    }

    /// The binary this engine runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }
}

impl Engine for DuckDb {
    fn name(&self) -> &'static str {
        "duckdb"
    }

    fn rows_returning(
        &mut self,
        table: &EventTable<'_>,
        query: &str,
    ) -> Result<Vec<usize>, EngineError> {
        let mut each = self.rows_returning_batched(std::slice::from_ref(table), query)?;
        Ok(each.pop().expect("one table, one list"))
    }

    fn rows_returning_each(
        &mut self,
        tables: &[EventTable<'_>],
        query: &str,
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        self.rows_returning_batched(tables, query)
    }

    fn matching_rows(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        if conditions.is_empty() {
            return Ok(Vec::new());
        }
        let columns = columns(table);
        for (name, _) in &columns {
            // DuckDB identifiers are case-insensitive.
            if name.eq_ignore_ascii_case(ROW_COLUMN) {
                return Err(EngineError::Failed(format!(
                    "duckdb: the schema has a column `{name}`, which clashes with the row-number \
                     column `{ROW_COLUMN}`"
                )));
            }
        }

        let file = events_file(table, &columns)?;
        let create = create_table_sql(table.name, &columns, &file.path);
        let queries: Vec<String> = conditions
            .iter()
            .map(|c| {
                format!(
                    "SELECT {row} FROM {name} WHERE (\n{c}\n) ORDER BY 1",
                    row = quote_ident(ROW_COLUMN),
                    name = table.name
                )
            })
            .collect();
        // Marker -1 after the load, -(i + 2) after condition i.
        let mut script = format!("{create};\nSELECT -1;\n");
        for (i, q) in queries.iter().enumerate() {
            script.push_str(&format!("{q};\nSELECT {};\n", -(i as i64) - 2));
        }

        let (ok, status, stdout, stderr) = self.exec(&script)?;
        drop(file);

        let mut results: Vec<Vec<usize>> = Vec::with_capacity(conditions.len());
        let mut loaded = false;
        let mut current: Vec<usize> = Vec::new();
        for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let n: i64 = line.parse().map_err(|_| {
                EngineError::Failed(format!(
                    "duckdb: unexpected output line {line:?} (stderr: {})",
                    stderr.trim()
                ))
            })?;
            if n >= 0 {
                current.push(n as usize);
            } else if n == -1 {
                loaded = true;
            } else {
                current.sort_unstable();
                results.push(std::mem::take(&mut current));
            }
        }
        if ok && loaded && results.len() == conditions.len() {
            return Ok(results);
        }
        let err = if stderr.trim().is_empty() {
            format!("no error message ({status})")
        } else {
            stderr.trim().to_string()
        };
        Err(EngineError::Failed(if !loaded {
            format!("duckdb: loading the events failed: {err}\nSQL: {create}")
        } else if results.len() < conditions.len() {
            let i = results.len();
            format!("duckdb: condition {i} failed: {err}\nSQL: {}", queries[i])
        } else {
            format!("duckdb: failed after running every query: {err}")
        }))
    }
}

impl DuckDb {
    /// `Engine::rows_returning_each` in one DuckDB process: each table's events are loaded
    /// once into a staging table and every table is created empty; then, for each event, its
    /// table is recreated holding that event alone (without the row-number column) before the
    /// query runs as written, and emptied again after its table's last event.
    fn rows_returning_batched(
        &mut self,
        tables: &[EventTable<'_>],
        query: &str,
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        let row = quote_ident(ROW_COLUMN);
        let (mut files, mut creates) = (Vec::new(), Vec::new());
        for (k, table) in tables.iter().enumerate() {
            let columns = columns(table);
            let file = events_file(table, &columns)?;
            creates.push(create_table_sql(&staging(k), &columns, &file.path));
            files.push(file);
        }
        let mut script = String::new();
        for create in &creates {
            script.push_str(&format!("{create};\n"));
        }
        let only = |k: usize, which: &str| {
            format!(
                "CREATE OR REPLACE TABLE {name} AS SELECT * EXCLUDE ({row}) FROM {staging} WHERE {which};\n",
                name = tables[k].name,
                staging = staging(k),
            )
        };
        if tables.len() > 1 {
            for k in 0..tables.len() {
                script.push_str(&only(k, "false"));
            }
        }
        script.push_str("SELECT -1;\n");
        // Each event prints `k,i` when the query returns a row, then -2.
        for (k, table) in tables.iter().enumerate() {
            for i in 0..table.events.len() {
                script.push_str(&only(k, &format!("{row} = {i}")));
                script.push_str(&format!(
                    "SELECT {k}, {i} WHERE EXISTS (\n{query}\n);\nSELECT -2;\n"
                ));
            }
            if tables.len() > 1 {
                script.push_str(&only(k, "false"));
            }
        }
        let (ok, status, stdout, stderr) = self.exec(&script)?;
        drop(files);
        let mut rows = vec![Vec::new(); tables.len()];
        let (mut loaded, mut done) = (false, 0usize);
        let unexpected = |line: &str| {
            EngineError::Failed(format!(
                "duckdb: unexpected output line {line:?} (stderr: {})",
                stderr.trim()
            ))
        };
        for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some((k, i)) = line.split_once(',') {
                let (Ok(k), Ok(i)) = (k.parse::<usize>(), i.parse::<usize>()) else {
                    return Err(unexpected(line));
                };
                match rows.get_mut(k) {
                    Some(r) => r.push(i),
                    None => return Err(unexpected(line)),
                }
                continue;
            }
            match line.parse::<i64>() {
                Ok(-1) => loaded = true,
                Ok(-2) => done += 1,
                _ => return Err(unexpected(line)),
            }
        }
        let events: usize = tables.iter().map(|t| t.events.len()).sum();
        if ok && loaded && done == events {
            for r in &mut rows {
                r.sort_unstable();
            }
            return Ok(rows);
        }
        let err = if stderr.trim().is_empty() {
            format!("no error message ({status})")
        } else {
            stderr.trim().to_string()
        };
        Err(EngineError::Failed(if loaded {
            format!("duckdb: the query failed on event {done}: {err}\nquery: {query}")
        } else {
            format!(
                "duckdb: loading the events failed: {err}\nSQL: {}",
                creates.join(";\n")
            )
        }))
    }

    /// Runs `script` (SQL statements) in the kept process, on an in-memory database of its own:
    /// (success, status, stdout, stderr), as `run` gives them. The process is started when
    /// there is none, and dropped when the script fails (DuckDB then exits, `-bail`).
    fn exec(&mut self, script: &str) -> Result<(bool, String, String, String), EngineError> {
        let wrapped =
            format!("ATTACH ':memory:' AS {DB};\nUSE {DB};\n{script}\nUSE memory;\nDETACH {DB};\n");
        let file = TempFile::new(wrapped.as_bytes(), "sql")
            .map_err(|e| EngineError::Failed(format!("duckdb: cannot write the script: {e}")))?;
        let Some(path) = file
            .path
            .to_str()
            .filter(|p| !p.contains(['\'', '\n', '\r']))
        else {
            // A path `.read` cannot be given: the script on its own process.
            return self.run(script);
        };
        if self.session.is_none() {
            self.session = Some(Session::start(&self.binary)?);
        }
        let session = self.session.as_mut().expect("started above");
        session.scripts += 1;
        let end = format!("ruleqc-end-{}", session.scripts);
        // `.read` takes the file to its end, so a statement left open in it is an error there
        // rather than a wait for more input.
        let command = format!(".read '{path}'\nSELECT '{end}';\n");
        let _ = session
            .stdin
            .write_all(command.as_bytes())
            .and_then(|()| session.stdin.flush());
        let mut stdout = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            match session.stdout.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.trim_end() == end => {
                    return Ok((true, "exit status: 0".into(), stdout, String::new()));
                }
                Ok(_) => stdout.push_str(&line),
            }
        }
        // The process stopped before the marker: a statement failed (or DuckDB died).
        let mut session = self.session.take().expect("started above");
        let status = session
            .child
            .wait()
            .map_or_else(|e| format!("unknown ({e})"), |s| s.to_string());
        let stderr = session
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((false, status, stdout, stderr))
    }

    /// Runs a whole script (SQL and dot commands) on a fresh in-memory database and returns
    /// its standard output; a failing statement is an error with DuckDB's message.
    pub fn run_script(&self, script: &str) -> Result<String, EngineError> {
        let (ok, status, out, err) = self.run(script)?;
        if ok {
            Ok(out)
        } else {
            Err(EngineError::Failed(format!(
                "duckdb ({status}): {}",
                err.trim()
            )))
        }
    }

    /// Runs `script` on a fresh in-memory database: (success, status, stdout, stderr).
    fn run(&self, script: &str) -> Result<(bool, String, String, String), EngineError> {
        let mut child = spawn(&self.binary)?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let output = std::thread::scope(|s| {
            // Write from another thread: DuckDB may fill its stdout before reading all of stdin.
            // A write error (DuckDB exited early, e.g. on `-bail`) shows up in its stderr.
            s.spawn(move || {
                let _ = stdin.write_all(script.as_bytes());
            });
            child.wait_with_output()
        })
        .map_err(|e| EngineError::Failed(format!("duckdb: waiting for `duckdb`: {e}")))?;
        Ok((
            output.status.success(),
            output.status.to_string(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    }
}

/// The table's columns, in the schema's order.
fn columns<'t>(table: &EventTable<'t>) -> Vec<(&'t str, ColumnType)> {
    table
        .schema
        .columns
        .iter()
        .map(|(k, t)| (k.as_str(), *t))
        .collect()
}

/// The table's events written as the lines `create_table_sql` reads.
fn events_file(
    table: &EventTable<'_>,
    columns: &[(&str, ColumnType)],
) -> Result<TempFile, EngineError> {
    let mut lines = String::new();
    for (i, ev) in table.events.iter().enumerate() {
        lines.push_str(&event_line(i, ev, columns)?);
        lines.push('\n');
    }
    TempFile::new(lines.as_bytes(), "jsonl")
        .map_err(|e| EngineError::Failed(format!("duckdb: cannot write the events file: {e}")))
}

/// The staging table of the `k`th table's events.
fn staging(k: usize) -> String {
    format!("__ruleqc_events{k}")
}

/// One line of the events file: `{"r": i, "c0": ..., ...}` with only the schema's columns.
fn event_line(i: usize, ev: &Value, columns: &[(&str, ColumnType)]) -> Result<String, EngineError> {
    let Value::Object(obj) = ev else {
        return Err(EngineError::Failed(format!(
            "duckdb: event {i} is not a JSON object: {ev}"
        )));
    };
    let mut line = Map::new();
    line.insert("r".into(), Value::from(i as u64));
    for (c, (name, ty)) in columns.iter().enumerate() {
        let Some(v) = obj.get(*name) else { continue };
        let fits = match (ty, v) {
            (ColumnType::Json, _) => {
                line.insert(format!("c{c}"), Value::String(v.to_string()));
                continue;
            }
            (_, Value::Null) => true,
            (ColumnType::Text, Value::String(_)) => true,
            (ColumnType::Integer, Value::Number(n)) => n.is_i64(),
            (ColumnType::Real, Value::Number(_)) => true,
            (ColumnType::Boolean, Value::Bool(_)) => true,
            (ColumnType::Timestamp, Value::String(t)) => {
                match crate::backend::schema::timestamp::parse(t) {
                    Some(at) => {
                        line.insert(format!("c{c}"), Value::String(at.rfc3339()));
                        continue;
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if !fits {
            return Err(EngineError::Failed(format!(
                "duckdb: event {i}: the value {v} of `{name}` does not fit its column type {ty:?}"
            )));
        }
        if !v.is_null() {
            line.insert(format!("c{c}"), v.clone());
        }
    }
    Ok(Value::Object(line).to_string())
}

/// `CREATE TABLE <name> AS SELECT r AS __ruleqc_row, c0 AS "col", ... FROM read_json(...)`.
fn create_table_sql(name: &str, columns: &[(&str, ColumnType)], file: &Path) -> String {
    let mut select = vec![format!("r AS {}", quote_ident(ROW_COLUMN))];
    let mut types = vec!["r: 'BIGINT'".to_string()];
    for (c, (col, ty)) in columns.iter().enumerate() {
        let (read_as, expr) = match ty {
            ColumnType::Text => ("VARCHAR", format!("c{c}")),
            ColumnType::Integer => ("BIGINT", format!("c{c}")),
            ColumnType::Real => ("DOUBLE", format!("c{c}")),
            ColumnType::Boolean => ("BOOLEAN", format!("c{c}")),
            ColumnType::Json => ("VARCHAR", format!("CAST(c{c} AS JSON)")),
            // RFC 3339 in UTC (`event_line`), whatever the session's time zone.
            ColumnType::Timestamp => ("VARCHAR", format!("CAST(c{c} AS TIMESTAMPTZ)")),
        };
        select.push(format!("{expr} AS {}", quote_ident(col)));
        types.push(format!("c{c}: '{read_as}'"));
    }
    format!(
        "CREATE TABLE {name} AS SELECT {} FROM read_json({}, format='newline_delimited', \
         columns={{{}}}, maximum_object_size=1073741824)",
        select.join(", "),
        quote_str(&file.to_string_lossy()),
        types.join(", ")
    )
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A temporary file, removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(contents: &[u8], extension: &str) -> std::io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "ruleqc-duckdb-{}-{}-{nanos}.{extension}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let file = TempFile { path };
        f.write_all(contents)?;
        f.flush()?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::schema::TableSchema;
    use serde_json::json;

    /// The installed DuckDB; a missing one fails the test with the install message.
    fn duckdb() -> DuckDb {
        DuckDb::new(None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn schema(cols: &[(&str, ColumnType)]) -> TableSchema {
        TableSchema {
            columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
            complete: true,
        }
    }

    fn run(
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
        duckdb().matching_rows(&table, &conds)
    }

    fn all_types() -> TableSchema {
        schema(&[
            ("s", ColumnType::Text),
            ("i", ColumnType::Integer),
            ("f", ColumnType::Real),
            ("b", ColumnType::Boolean),
            ("j", ColumnType::Json),
        ])
    }

    #[test]
    fn name_is_duckdb() {
        assert_eq!(duckdb().name(), "duckdb");
    }

    #[test]
    fn every_column_type_loads() {
        let evs = [
            json!({"s": "a", "i": 1, "f": 1.5, "b": true, "j": [1, 2]}),
            json!({"s": "b", "i": -7, "f": 2, "b": false, "j": {"k": "v"}}),
            json!({"s": null, "i": null, "f": null, "b": null, "j": null}),
            json!({"other": 1}),
            json!({"j": "text", "s": "", "f": 1e300}),
        ];
        let got = run(
            &all_types(),
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
                "json_type(j) = 'ARRAY'",
                "json_type(j) = 'OBJECT' AND (j ->> '$.k') = 'v'",
                "json_type(j) = 'VARCHAR' AND (j ->> '$') = 'text'",
                // JSON null stays JSON null; a missing key is SQL NULL.
                "json_type(j) = 'NULL'",
                "j IS NULL",
                "typeof(s) = 'VARCHAR' AND typeof(i) = 'BIGINT' AND typeof(f) = 'DOUBLE' \
                 AND typeof(b) = 'BOOLEAN' AND typeof(j) = 'JSON'",
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
        let evs = [
            json!({"i": i64::MAX, "j": 9007199254740993u64}),
            json!({"i": i64::MIN, "j": {"k": 9007199254740993u64, "a": [u64::MAX]}}),
            json!({"i": 9007199254740992u64, "j": 9007199254740992u64}),
        ];
        let s = schema(&[("i", ColumnType::Integer), ("j", ColumnType::Json)]);
        let got = run(
            &s,
            &evs,
            &[
                "i = 9223372036854775807",
                "i = -9223372036854775808",
                "CAST(j AS VARCHAR) = '9007199254740993'",
                "TRY_CAST(j AS UBIGINT) = 9007199254740993",
                "(j ->> '$.k') = '9007199254740993'",
                "CAST(json_extract(j, '$.k') AS UBIGINT) = 9007199254740993",
                "(j ->> '$.a[0]') = '18446744073709551615'",
                "i = 9007199254740992 AND CAST(j AS VARCHAR) = '9007199254740992'",
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
                vec![1],
                vec![2]
            ]
        );
    }

    #[test]
    fn hostile_strings_survive() {
        let evs = [
            json!({"s": "it's", "j": {"q": "say \"hi\""}}),
            json!({"s": "a\\b\\\\", "j": ["back\\slash"]}),
            json!({"s": "line1\nline2\r\ttab", "j": "x\ny"}),
            json!({"s": "é 😀 中文 \u{202e}", "j": {"ü": "ß"}}),
            json!({"s": "a\u{0}b", "j": "\u{1}"}),
            json!({"s": "'); DROP TABLE events; --", "j": "$$"}),
        ];
        let s = schema(&[("s", ColumnType::Text), ("j", ColumnType::Json)]);
        let got = run(
            &s,
            &evs,
            &[
                "s = 'it''s'",
                "(j ->> '$.q') = 'say \"hi\"'",
                "s = 'a\\b\\\\' AND length(s) = 5",
                "(j ->> '$[0]') = 'back\\slash'",
                "s = 'line1' || chr(10) || 'line2' || chr(13) || chr(9) || 'tab'",
                "(j ->> '$') = 'x' || chr(10) || 'y'",
                "s = 'é 😀 中文 \u{202e}' AND strlen(s) = 18",
                "(j ->> '$.\"ü\"') = 'ß'",
                "s = 'a' || chr(0) || 'b' AND length(s) = 3",
                "s = '''); DROP TABLE events; --'",
                "(j ->> '$') = '$$'",
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
                vec![5],
                vec![0, 1, 2, 3, 4, 5],
            ]
        );
    }

    #[test]
    fn odd_column_and_table_names() {
        let s = schema(&[
            ("we\"ird col", ColumnType::Text),
            ("r", ColumnType::Integer),
        ]);
        let evs = [json!({"we\"ird col": "x", "r": 5}), json!({"r": 6})];
        let table = EventTable {
            name: "\"my \"\"events\"\"\"",
            schema: &s,
            events: &evs,
        };
        let got = duckdb()
            .matching_rows(
                &table,
                &["\"we\"\"ird col\" = 'x'".to_string(), "r = 6".to_string()],
            )
            .unwrap();
        assert_eq!(got, vec![vec![0], vec![1]]);
    }

    #[test]
    fn many_conditions_and_rows_in_one_call() {
        let evs: Vec<Value> = (0..300).map(|n| json!({"i": n})).collect();
        let s = schema(&[("i", ColumnType::Integer)]);
        let conds: Vec<String> = (0..50).map(|k| format!("i % 50 = {k}")).collect();
        let table = EventTable {
            name: "events",
            schema: &s,
            events: &evs,
        };
        let got = duckdb().matching_rows(&table, &conds).unwrap();
        assert_eq!(got.len(), 50);
        for (k, rows) in got.iter().enumerate() {
            let want: Vec<usize> = (0..300).filter(|n| n % 50 == k).collect();
            assert_eq!(rows, &want);
        }
        assert!(duckdb().matching_rows(&table, &[]).unwrap().is_empty());
    }

    #[test]
    fn no_events() {
        let got = run(&all_types(), &[], &["true", "s = 'a'"]).unwrap();
        assert_eq!(got, vec![Vec::<usize>::new(), vec![]]);
    }

    #[test]
    fn a_bad_query_names_the_condition_and_the_message() {
        let evs = [json!({"s": "a"})];
        let s = schema(&[("s", ColumnType::Text)]);
        let err = run(&s, &evs, &["s = 'a'", "nosuch = 1", "s = 'b'"]).unwrap_err();
        let EngineError::Failed(msg) = err else {
            panic!("expected Failed, got {err:?}")
        };
        assert!(msg.contains("condition 1"), "{msg}");
        assert!(msg.contains("nosuch"), "{msg}");
        assert!(msg.contains("Binder Error"), "{msg}");
        assert!(msg.contains("WHERE (\nnosuch = 1\n)"), "{msg}");

        let err = run(&s, &evs, &["s = "]).unwrap_err();
        assert!(
            matches!(&err, EngineError::Failed(m) if m.contains("Parser Error")),
            "{err:?}"
        );
    }

    /// One process serves an engine's calls: none sees another's tables, a call that fails
    /// leaves the next one a fresh process, and a statement left open is an error, not a wait
    /// for more input.
    #[test]
    fn calls_in_one_process_are_kept_apart() {
        let mut e = duckdb();
        let s = schema(&[("s", ColumnType::Text)]);
        let evs = [json!({"s": "a"}), json!({"s": "b"})];
        let table = |name| EventTable {
            name,
            schema: &s,
            events: &evs,
        };
        let one = |c: &str| vec![c.to_string()];
        assert_eq!(
            e.matching_rows(&table("first"), &one("s = 'b'")).unwrap(),
            vec![vec![1]]
        );
        // The first call's table is gone: this one's database is its own.
        let err = e
            .matching_rows(&table("second"), &one("EXISTS (SELECT 1 FROM first)"))
            .unwrap_err();
        assert!(
            matches!(&err, EngineError::Failed(m) if m.contains("first") && m.contains("does not exist")),
            "{err:?}"
        );
        // The same name again, after the failure, in the process that replaced the failed one.
        assert_eq!(
            e.matching_rows(&table("first"), &one("s = 'a'")).unwrap(),
            vec![vec![0]]
        );
        assert_eq!(e.session.as_ref().map(|s| s.scripts), Some(1));
        let err = e
            .matching_rows(&table("third"), &one("s = 'open"))
            .unwrap_err();
        assert!(
            matches!(&err, EngineError::Failed(m) if m.contains("unterminated")),
            "{err:?}"
        );
        assert!(e.session.is_none());
        assert_eq!(
            e.rows_returning(&table("first"), "SELECT * FROM first WHERE s = 'b'")
                .unwrap(),
            vec![1]
        );
        assert_eq!(
            e.rows_returning(&table("first"), "SELECT * FROM first WHERE s = 'a'")
                .unwrap(),
            vec![0]
        );
        assert_eq!(e.session.as_ref().map(|s| s.scripts), Some(2));
    }

    #[test]
    fn values_that_do_not_fit_their_column_are_errors() {
        let s = schema(&[("i", ColumnType::Integer)]);
        for bad in [json!({"i": 1.5}), json!({"i": "1"}), json!({"i": u64::MAX})] {
            let err = run(&s, &[bad], &["true"]).unwrap_err();
            assert!(
                matches!(&err, EngineError::Failed(m) if m.contains("`i`")),
                "{err:?}"
            );
        }
        let err = run(&s, &[json!([1])], &["true"]).unwrap_err();
        assert!(matches!(&err, EngineError::Failed(m) if m.contains("not a JSON object")));
        let clash = schema(&[("__RULEQC_ROW", ColumnType::Integer)]);
        assert!(run(&clash, &[json!({})], &["true"]).is_err());
    }

    #[test]
    fn integers_load_into_real_columns() {
        let s = schema(&[("f", ColumnType::Real)]);
        let got = run(
            &s,
            &[json!({"f": 3}), json!({"f": 0.1})],
            &["f = 3.0", "f = 0.1"],
        )
        .unwrap();
        assert_eq!(got, vec![vec![0], vec![1]]);
    }

    #[test]
    fn missing_binary_says_how_to_install() {
        let err = DuckDb::new(Some(PathBuf::from("/nonexistent/duckdb"))).unwrap_err();
        let EngineError::Missing(msg) = err else {
            panic!("expected Missing, got {err:?}")
        };
        assert!(msg.contains("pip install duckdb-cli==1.5.6"), "{msg}");
        assert!(msg.contains("--duckdb PATH"), "{msg}");
    }

    #[test]
    fn temp_files_are_removed_on_drop() {
        let f = TempFile::new(b"{}\n", "jsonl").unwrap();
        let path = f.path.clone();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}\n");
        let g = TempFile::new(b"", "jsonl").unwrap();
        assert_ne!(g.path, path);
        drop(f);
        drop(g);
        assert!(!path.exists());
    }
}
