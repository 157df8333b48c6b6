//! A throwaway PostgreSQL server for the test suite, as a `ruleqc::engine::Engine`.
//!
//! Server. The first `Postgres::new()` in a test process creates a cluster in a fresh temporary
//! directory (`initdb -A trust -E UTF8 --locale=C.UTF-8`, superuser `postgres`), configures it with
//! `fsync=off`, listening on 127.0.0.1 only, on a free port, with its unix socket inside the
//! directory, and starts it with `pg_ctl start -w`. PostgreSQL refuses to run as root, so when
//! the tests run as root (CI), `initdb` and `pg_ctl` run as the `postgres` user through
//! `runuser -u postgres --`, and the directory is given to that user. Every later `new()` in the
//! process shares that server (a `OnceLock`).
//!
//! Stopping. Statics are never dropped, so the server is stopped by a watchdog started before
//! `initdb`: a `sh` that ignores INT/HUP/TERM and reads its stdin until end-of-file, then runs
//! `pg_ctl stop -m immediate` and removes the directory. The write end of that stdin pipe is
//! held, in a static, by the test process only (Rust opens pipes close-on-exec, so no other child
//! inherits it); the kernel closes it when the process ends, however it ends (normal exit, panic,
//! Ctrl-C, SIGKILL of the test process alone). The stop happens a moment after the process exits.
//!
//! Loading. Each `matching_rows` call is one `psql` session (`psql -X -q -A -t -v
//! ON_ERROR_STOP=1`, SQL on stdin) that creates a TEMPORARY table with the given name (private
//! to the session, so parallel tests do not collide, and gone when it ends), fills it with one
//! `INSERT ... SELECT ... FROM jsonb_array_elements($tag$[...]$tag$::jsonb)` whose payload
//! holds the events under positional keys (`r`, `c0`, `c1`, ...) and whose dollar-quote tag does
//! not occur in the payload, then runs each condition as `SELECT __ruleqc_row FROM <table> WHERE
//! (<condition>) ORDER BY 1`, each followed by a marker query printing a negative number (as the
//! DuckDB engine does). Columns: `Text` → `text` (`->>`), `Integer` → `bigint`, `Real` →
//! `double precision`, `Boolean` → `boolean`, `Json` → `jsonb` (`->`, so numbers stay exact
//! numerics and a JSON `null` stays a jsonb `null`; a missing key is SQL NULL). A value whose
//! JSON type does not fit its column is an error. PostgreSQL cannot store U+0000 in `text` or
//! `jsonb`: such an event fails to load (`EngineError::Failed`).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;

use ruleqc::backend::schema::ColumnType;
use ruleqc::engine::{Engine, EngineError, EventTable, ROW_COLUMN};
use serde_json::{Map, Value};

const INSTALL: &str = "install PostgreSQL with `apt-get install -y postgresql`";

/// A handle on the test process's shared PostgreSQL server.
#[derive(Clone, Copy, Debug)]
pub struct Postgres {
    server: &'static Server,
}

#[derive(Debug)]
struct Server {
    psql: PathBuf,
    port: u16,
    dir: PathBuf,
    /// Held until the process exits; its closing tells the watchdog to stop the server.
    _watchdog: ChildStdin,
}

/// `Err((missing, message))` when the server could not be started.
static SERVER: OnceLock<Result<Server, (bool, String)>> = OnceLock::new();

impl Postgres {
    /// The shared server, started on first use. `EngineError::Missing` when PostgreSQL is not
    /// installed, `EngineError::Failed` when it is but does not start.
    pub fn new() -> Result<Postgres, EngineError> {
        match SERVER.get_or_init(start) {
            Ok(server) => Ok(Postgres { server }),
            Err((true, m)) => Err(EngineError::Missing(m.clone())),
            Err((false, m)) => Err(EngineError::Failed(m.clone())),
        }
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The cluster's temporary directory (data in `data/`, log in `log`, the unix socket).
    pub fn dir(&self) -> &Path {
        &self.server.dir
    }

    /// Runs `sql` in a new `psql` session (stops at the first error); its stdout, one value per
    /// line, columns separated by `|`.
    pub fn psql(&self, sql: &str) -> Result<String, EngineError> {
        let out = self.run_psql(sql)?;
        if !out.status.success() {
            return Err(EngineError::Failed(format!(
                "postgres: psql failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn run_psql(&self, sql: &str) -> Result<Output, EngineError> {
        let mut cmd = Command::new(&self.server.psql);
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.server.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres"])
            .env("PGCLIENTENCODING", "UTF8")
            .env_remove("PGOPTIONS")
            .env_remove("PGSERVICE");
        run_with_input(&mut cmd, sql).map_err(|e| {
            EngineError::Failed(format!(
                "postgres: cannot run `{}`: {e}",
                self.server.psql.display()
            ))
        })
    }
}

impl Engine for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn matching_rows(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        if conditions.is_empty() {
            return Ok(Vec::new());
        }
        let columns: Vec<(&str, ColumnType)> = table
            .schema
            .columns
            .iter()
            .map(|(k, t)| (k.as_str(), *t))
            .collect();
        if columns.iter().any(|(k, _)| *k == ROW_COLUMN) {
            return Err(EngineError::Failed(format!(
                "postgres: the schema has a column `{ROW_COLUMN}`, which clashes with the \
                 row-number column"
            )));
        }

        let mut rows = Vec::with_capacity(table.events.len());
        for (i, ev) in table.events.iter().enumerate() {
            rows.push(event_object(i, ev, &columns)?);
        }
        let payload = Value::Array(rows).to_string();
        let load = load_sql(table.name, &columns, &payload);

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
        let mut script = format!("{load}\nSELECT -1;\n");
        for (i, q) in queries.iter().enumerate() {
            script.push_str(&format!("{q};\nSELECT {};\n", -(i as i64) - 2));
        }

        let out = self.run_psql(&script)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut results: Vec<Vec<usize>> = Vec::with_capacity(conditions.len());
        let mut loaded = false;
        let mut current = Vec::new();
        for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let n: i64 = line.parse().map_err(|_| {
                EngineError::Failed(format!(
                    "postgres: unexpected output line {line:?} (stderr: {})",
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
        if out.status.success() && loaded && results.len() == conditions.len() {
            return Ok(results);
        }
        let err = if stderr.trim().is_empty() {
            format!("no error message ({})", out.status)
        } else {
            stderr.trim().to_string()
        };
        Err(EngineError::Failed(if !loaded {
            let mut shown = load;
            if shown.len() > 2000 {
                let mut cut = 2000;
                while !shown.is_char_boundary(cut) {
                    cut -= 1;
                }
                shown.truncate(cut);
                shown.push_str(" ...");
            }
            format!("postgres: loading the events failed: {err}\nSQL: {shown}")
        } else if results.len() < conditions.len() {
            let i = results.len();
            format!("postgres: condition {i} failed: {err}\nSQL: {}", queries[i])
        } else {
            format!("postgres: failed after running every query: {err}")
        }))
    }
}

/// `{"r": i, "c0": ..., ...}` with only the schema's columns, checked against their types.
fn event_object(
    i: usize,
    ev: &Value,
    columns: &[(&str, ColumnType)],
) -> Result<Value, EngineError> {
    let Value::Object(obj) = ev else {
        return Err(EngineError::Failed(format!(
            "postgres: event {i} is not a JSON object: {ev}"
        )));
    };
    let mut row = Map::new();
    row.insert("r".into(), Value::from(i as u64));
    for (c, (name, ty)) in columns.iter().enumerate() {
        let Some(v) = obj.get(*name) else { continue };
        let fits = match (ty, v) {
            (ColumnType::Json, _) | (_, Value::Null) => true,
            (ColumnType::Text, Value::String(_)) => true,
            (ColumnType::Integer, Value::Number(n)) => n.is_i64(),
            (ColumnType::Real, Value::Number(_)) => true,
            (ColumnType::Boolean, Value::Bool(_)) => true,
            (ColumnType::Timestamp, Value::String(t)) => {
                ruleqc::backend::schema::timestamp::parse(t).is_some()
            }
            _ => false,
        };
        if !fits {
            return Err(EngineError::Failed(format!(
                "postgres: event {i}: the value {v} of `{name}` does not fit its column type \
                 {ty:?}"
            )));
        }
        // A timestamp as RFC 3339 in UTC, read the same whatever the session's time zone.
        let v = match (ty, v) {
            (ColumnType::Timestamp, Value::String(t)) => Value::String(
                ruleqc::backend::schema::timestamp::parse(t)
                    .expect("checked")
                    .rfc3339(),
            ),
            _ => v.clone(),
        };
        row.insert(format!("c{c}"), v);
    }
    Ok(Value::Object(row))
}

/// `CREATE TEMP TABLE` and one `INSERT ... SELECT` from the dollar-quoted JSON payload.
fn load_sql(name: &str, columns: &[(&str, ColumnType)], payload: &str) -> String {
    let mut defs = vec![format!("{} bigint", quote_ident(ROW_COLUMN))];
    let mut exprs = vec!["(e ->> 'r')::bigint".to_string()];
    for (c, (col, ty)) in columns.iter().enumerate() {
        let (sql_type, expr) = match ty {
            ColumnType::Text => ("text", format!("e ->> 'c{c}'")),
            ColumnType::Integer => ("bigint", format!("(e ->> 'c{c}')::bigint")),
            ColumnType::Real => (
                "double precision",
                format!("(e ->> 'c{c}')::double precision"),
            ),
            ColumnType::Boolean => ("boolean", format!("(e ->> 'c{c}')::boolean")),
            ColumnType::Json => ("jsonb", format!("e -> 'c{c}'")),
            ColumnType::Timestamp => ("timestamptz", format!("(e ->> 'c{c}')::timestamptz")),
        };
        defs.push(format!("{} {sql_type}", quote_ident(col)));
        exprs.push(expr);
    }
    let tag = dollar_tag(payload);
    format!(
        "CREATE TEMP TABLE {name} ({});\nINSERT INTO {name} SELECT {} FROM \
         jsonb_array_elements({tag}{payload}{tag}::jsonb) AS e;",
        defs.join(", "),
        exprs.join(", ")
    )
}

/// A dollar-quote tag that does not occur in `payload`.
fn dollar_tag(payload: &str) -> String {
    (0..)
        .map(|n| format!("$ruleqc{n}$"))
        .find(|t| !payload.contains(t.as_str()))
        .expect("some tag is free")
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Runs `cmd` with `input` on its stdin, collecting stdout and stderr.
fn run_with_input(cmd: &mut Command, input: &str) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    std::thread::scope(|s| {
        // From another thread: the child may fill its stdout before reading all its input. A
        // write error (the child stopped at an error) shows up in its stderr.
        s.spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        child.wait_with_output()
    })
}

// ---------------------------------------------------------------------------------------------
// Starting the server.

/// The PostgreSQL programs and how to run the server-side ones.
struct Programs {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    psql: PathBuf,
    /// `runuser -u postgres --` when running as root, else nothing.
    as_postgres: Vec<String>,
}

impl Programs {
    fn server_cmd(&self, program: &Path) -> Command {
        match self.as_postgres.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

fn start() -> Result<Server, (bool, String)> {
    let programs = find_programs().map_err(|m| (true, m))?;
    let failed = |m: String| (false, m);

    let dir = std::env::temp_dir().join(format!(
        "ruleqc-pg-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir(&dir)
        .map_err(|e| failed(format!("postgres: cannot create {}: {e}", dir.display())))?;
    if !programs.as_postgres.is_empty() {
        check(
            Command::new("chown").arg("postgres:").arg(&dir),
            "chown the cluster directory to postgres",
        )
        .map_err(failed)?;
    }
    let watchdog = start_watchdog(&programs, &dir).map_err(failed)?;
    let data = dir.join("data");

    check(
        programs
            .server_cmd(&programs.initdb)
            .current_dir(&dir)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .arg("--no-sync"),
        "initdb",
    )
    .map_err(failed)?;

    let conf = data.join("postgresql.conf");
    let base_conf = std::fs::read_to_string(&conf)
        .map_err(|e| failed(format!("postgres: cannot read {}: {e}", conf.display())))?;
    let mut last_error = String::new();
    // The port is free when picked but could be taken before the server binds it: retry.
    for _ in 0..5 {
        let port = free_port().map_err(failed)?;
        let settings = format!(
            "\n# ruleqc test server\nlisten_addresses = '127.0.0.1'\nport = {port}\n\
             unix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nmax_connections = 100\n",
            dir.display().to_string().replace('\'', "''")
        );
        std::fs::write(&conf, format!("{base_conf}{settings}"))
            .map_err(|e| failed(format!("postgres: cannot write {}: {e}", conf.display())))?;
        let log = dir.join("log");
        let started = check(
            programs
                .server_cmd(&programs.pg_ctl)
                .current_dir(&dir)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-s", "start"]),
            "pg_ctl start",
        );
        match started {
            Ok(()) => {
                return Ok(Server {
                    psql: programs.psql,
                    port,
                    dir,
                    _watchdog: watchdog,
                });
            }
            Err(e) => {
                let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                last_error = format!("{e}\nserver log:\n{log_text}");
            }
        }
    }
    Err(failed(last_error))
}

/// The watchdog: when its stdin reaches end-of-file (this process is gone), stop the server and
/// remove `dir`.
fn start_watchdog(programs: &Programs, dir: &Path) -> Result<ChildStdin, String> {
    let script = r#"trap '' INT HUP TERM
cat >/dev/null
"$@" -m immediate -s >/dev/null 2>&1
rm -rf "$0""#;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .args(&programs.as_postgres)
        .arg(&programs.pg_ctl)
        .arg("-D")
        .arg(dir.join("data"))
        .arg("stop")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("postgres: cannot start the watchdog `sh`: {e}"))?;
    Ok(child.stdin.take().expect("piped stdin"))
}

/// Runs `cmd` (stdin empty), turning failure into a message with its output.
fn check(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("postgres: cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "postgres: {what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("postgres: cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("postgres: cannot find a free port: {e}"))
}

/// `initdb`, `pg_ctl` and `psql` from the newest `/usr/lib/postgresql/<version>/bin` (Debian,
/// Ubuntu), else from `PATH`; `runuser -u postgres --` when running as root.
fn find_programs() -> Result<Programs, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    let bin_dir = versions.pop().map(|(_, b)| b);
    let find = |name: &str| -> Option<PathBuf> {
        bin_dir
            .as_ref()
            .map(|b| b.join(name))
            .filter(|p| p.is_file())
            .or_else(|| find_on_path(name))
    };
    let (Some(initdb), Some(pg_ctl), Some(psql)) = (find("initdb"), find("pg_ctl"), find("psql"))
    else {
        return Err(format!(
            "PostgreSQL is not installed (no initdb, pg_ctl and psql in \
             /usr/lib/postgresql/*/bin or on PATH): {INSTALL}"
        ));
    };
    let as_postgres = if is_root() {
        let has_user = Command::new("id")
            .args(["-u", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has_user {
            return Err(format!(
                "PostgreSQL refuses to run as root and there is no `postgres` user to run it \
                 as: {INSTALL} (it creates the user)"
            ));
        }
        ["runuser", "-u", "postgres", "--"]
            .map(String::from)
            .to_vec()
    } else {
        Vec::new()
    };
    Ok(Programs {
        initdb,
        pg_ctl,
        psql,
        as_postgres,
    })
}

fn is_root() -> bool {
    // The effective uid, from /proc (Linux), else from `id -u`.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(2) == Some("0");
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
