//! ClickHouse (chDB) and Spark SQL (PySpark) as `ruleqc::engine::Engine`s for the test suite.
//!
//! Both run inside one Python process per engine and test binary: tests/engines/sql_engine.py,
//! started on first use and shared by every test of the binary (a `OnceLock`, requests taken in
//! turn through a `Mutex`). It reads one JSON request per line (a table's columns, its rows and
//! the conditions) and answers one JSON line (the matching row numbers per condition), so
//! process start and, for Spark, the JVM's 20-45 s start-up are paid once. The process ends when
//! the test binary does: its stdin closes and the script's read loop stops.
//!
//! Columns get the types the dialect's `column_type` names (`Nullable(String)`, `BIGINT`, ...);
//! a `Json` column receives the value's JSON text as a string (both dialects keep semi-structured
//! data as JSON text), SQL NULL when the key is missing. A value whose JSON type does not fit
//! its column is an error. The script's stderr goes to a log file in the temporary directory,
//! named in start-up errors.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use ruleqc::backend::schema::ColumnType;
use ruleqc::backend::sql::SqlDialect;
use ruleqc::engine::{Engine, EngineError, EventTable, ROW_COLUMN};
use serde_json::{Value, json};

/// The Python package each engine needs, pinned as `.ci/run` installs it.
pub const CHDB: &str = "chdb==4.4.0";
pub const PYSPARK: &str = "pyspark==4.3.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ClickHouse,
    Spark,
}

impl Kind {
    fn arg(self) -> &'static str {
        match self {
            Kind::ClickHouse => "clickhouse",
            Kind::Spark => "spark",
        }
    }
    pub fn dialect(self) -> SqlDialect {
        match self {
            Kind::ClickHouse => SqlDialect::Clickhouse,
            Kind::Spark => SqlDialect::Databricks,
        }
    }
    fn install(self) -> String {
        match self {
            Kind::ClickHouse => format!("install chDB with `pip install {CHDB}`"),
            Kind::Spark => format!(
                "install PySpark with `pip install {PYSPARK}` and a Java 17+ runtime \
                 (`apt-get install -y default-jre-headless`)"
            ),
        }
    }
}

struct Process {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    log: PathBuf,
}

type Shared = Mutex<Result<Process, (bool, String)>>;

static CLICKHOUSE: OnceLock<Shared> = OnceLock::new();
static SPARK: OnceLock<Shared> = OnceLock::new();

/// A handle on the binary's shared engine process.
#[derive(Clone, Copy, Debug)]
pub struct PyEngine {
    kind: Kind,
    /// What the script reported at start-up, e.g. `spark 4.3.0`.
    version: &'static str,
}

static VERSIONS: OnceLock<Mutex<Vec<(Kind, &'static str)>>> = OnceLock::new();

impl PyEngine {
    /// The shared process, started on first use. `EngineError::Missing` when Python or the
    /// engine's package is not installed.
    pub fn new(kind: Kind) -> Result<PyEngine, EngineError> {
        let cell = match kind {
            Kind::ClickHouse => &CLICKHOUSE,
            Kind::Spark => &SPARK,
        };
        let guard = cell
            .get_or_init(|| Mutex::new(start(kind)))
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &*guard {
            Ok(_) => {}
            Err((true, m)) => return Err(EngineError::Missing(m.clone())),
            Err((false, m)) => return Err(EngineError::Failed(m.clone())),
        }
        let versions = VERSIONS.get_or_init(Default::default).lock().unwrap();
        let version = versions
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("?", |(_, v)| v);
        Ok(PyEngine { kind, version })
    }

    /// The engine and version the script reported, e.g. `clickhouse 26.9.2.1 (chdb 4.4.0)`.
    pub fn version(&self) -> &'static str {
        self.version
    }

    fn request(&self, req: &Value) -> Result<Value, EngineError> {
        let cell = match self.kind {
            Kind::ClickHouse => &CLICKHOUSE,
            Kind::Spark => &SPARK,
        };
        let mut guard = cell
            .get()
            .expect("started in new()")
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let p = guard
            .as_mut()
            .map_err(|(_, m)| EngineError::Failed(m.clone()))?;
        let name = self.kind.arg();
        let dead = |what: &str, e: &dyn std::fmt::Display| {
            EngineError::Failed(format!(
                "{name}: the engine process {what}: {e} (its log: {})",
                p.log.display()
            ))
        };
        let mut line = req.to_string();
        line.push('\n');
        p.stdin
            .write_all(line.as_bytes())
            .and_then(|()| p.stdin.flush())
            .map_err(|e| dead("does not take requests", &e))?;
        let mut answer = String::new();
        match p.stdout.read_line(&mut answer) {
            Ok(0) => return Err(dead("ended", &"no answer")),
            Ok(_) => {}
            Err(e) => return Err(dead("cannot be read", &e)),
        }
        serde_json::from_str(&answer).map_err(|e| dead("answered badly", &e))
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/engines/sql_engine.py")
}

/// Starts the script and waits for its `ready` line. `Err((missing, message))`.
fn start(kind: Kind) -> Result<Process, (bool, String)> {
    let name = kind.arg();
    let python = std::env::var_os("RULEQC_PYTHON").unwrap_or_else(|| "python3".into());
    let log = std::env::temp_dir().join(format!("ruleqc-{name}-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).map_err(|e| {
        (
            false,
            format!("{name}: cannot create {}: {e}", log.display()),
        )
    })?;
    let mut child = Command::new(&python)
        .arg(script())
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .map_err(|e| {
            (
                true,
                format!(
                    "{name}: cannot run `{}`: {e}; {}",
                    python.to_string_lossy(),
                    kind.install()
                ),
            )
        })?;
    let stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    let _ = stdout.read_line(&mut first);
    let ready: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    if let Some(v) = ready.get("ready").and_then(Value::as_str) {
        VERSIONS
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .push((kind, Box::leak(v.to_string().into_boxed_str())));
        return Ok(Process {
            _child: child,
            stdin,
            stdout,
            log,
        });
    }
    let _ = child.kill();
    let _ = child.wait();
    let err = ready
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no ready line")
        .to_string();
    let missing = err.contains("ModuleNotFoundError") || err.contains("JAVA_GATEWAY_EXITED");
    Err((
        missing,
        format!(
            "{name}: the engine did not start: {err}; {} (log: {})",
            kind.install(),
            log.display()
        ),
    ))
}

impl Engine for PyEngine {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::ClickHouse => "clickhouse",
            Kind::Spark => "spark",
        }
    }

    /// The compiled query as `ruleqc compile` prints it (`SELECT ... FROM t WHERE cond;`), in
    /// one engine request instead of one per event (a Spark query costs most of a second): the
    /// whole query must run on the table of all events (on Spark: parse and analyse, which
    /// resolves every name, type and function), and each event's verdict is the query's own
    /// `WHERE` text evaluated on its row.
    fn rows_returning(
        &mut self,
        table: &EventTable<'_>,
        query: &str,
    ) -> Result<Vec<usize>, EngineError> {
        let body = query.trim_end().trim_end_matches(';');
        let cond = match body.split_once("\nWHERE ") {
            Some((_, c)) => c.to_string(),
            None => "TRUE".to_string(),
        };
        let mut rows = self.rows_with(table, &[cond], &[body.to_string()])?;
        Ok(rows.pop().unwrap_or_default())
    }

    fn matching_rows(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        self.rows_with(table, conditions, &[])
    }
}

impl PyEngine {
    /// `matching_rows`, and whole `queries` that must be valid on the same table.
    fn rows_with(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
        queries: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        let name = self.kind.arg();
        let d = self.kind.dialect().dialect();
        if table.schema.columns.contains_key(ROW_COLUMN) {
            return Err(EngineError::Failed(format!(
                "{name}: the schema has a column `{ROW_COLUMN}`, which clashes with the \
                 row-number column"
            )));
        }
        let columns: Vec<Value> = table
            .schema
            .columns
            .iter()
            .map(|(k, t)| json!([d.quote_ident(k), d.column_type(*t)]))
            .collect();
        let mut rows = Vec::with_capacity(table.events.len());
        for (i, ev) in table.events.iter().enumerate() {
            let Value::Object(obj) = ev else {
                return Err(EngineError::Failed(format!(
                    "{name}: event {i} is not a JSON object: {ev}"
                )));
            };
            let mut row = vec![Value::from(i as u64)];
            for (col, ty) in &table.schema.columns {
                let v = obj.get(col).unwrap_or(&Value::Null);
                let cell = match (ty, v) {
                    (ColumnType::Json, Value::Null) if !obj.contains_key(col) => Value::Null,
                    (ColumnType::Json, v) => Value::String(v.to_string()),
                    (_, Value::Null) => Value::Null,
                    (ColumnType::Text, Value::String(_))
                    | (ColumnType::Real, Value::Number(_))
                    | (ColumnType::Boolean, Value::Bool(_)) => v.clone(),
                    (ColumnType::Integer, Value::Number(n)) if n.is_i64() => v.clone(),
                    _ => {
                        return Err(EngineError::Failed(format!(
                            "{name}: event {i}: the value {v} of `{col}` does not fit its \
                             column type {ty:?}"
                        )));
                    }
                };
                row.push(cell);
            }
            rows.push(Value::Array(row));
        }
        let answer = self.request(&json!({
            "table": table.name,
            "columns": columns,
            "rows": rows,
            "conditions": conditions,
            "queries": queries,
        }))?;
        if let Some(e) = answer.get("error").and_then(Value::as_str) {
            return Err(EngineError::Failed(format!("{name}: {e}")));
        }
        let parsed: Option<Vec<Vec<usize>>> = answer
            .get("rows")
            .and_then(|r| serde_json::from_value(r.clone()).ok());
        match parsed {
            Some(r) if r.len() == conditions.len() => Ok(r),
            _ => Err(EngineError::Failed(format!(
                "{name}: unexpected answer {answer}"
            ))),
        }
    }
}
