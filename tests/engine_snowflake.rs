//! The Snowflake dialect on fakesnow, a Snowflake emulator that translates each statement to
//! DuckDB: weaker evidence than a real engine (docs/targets/snowflake-emulation.md). rules/ and
//! the conformance corpus run on it; a verdict that differs from the reference evaluator fails,
//! unless the case is listed under one of the emulator's documented gaps, in which case it is
//! counted and named in the output (and must still be wrong, so the list stays true).
//!
//! One Python process (tests/fakesnow/engine.py, fakesnow pinned in .ci/run) serves the whole
//! test binary. Python comes from `RULEQC_FAKESNOW_PYTHON`, else `target/fakesnow-venv`.

mod emulated;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use emulated::{Outcome, Report, check, corpus};
use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::backend::sql::dialect::Dialect;
use ruleqc::backend::sql::{SqlDialect, render_condition};
use ruleqc::engine::{Engine, EngineError, EventTable, ROW_COLUMN};
use serde_json::{Value, json};

const INSTALL: &str = "create it with `python3 -m venv target/fakesnow-venv && \
    target/fakesnow-venv/bin/pip install fakesnow==0.12.1 snowflake-connector-python==4.8.1` \
    (as .ci/run does), or point RULEQC_FAKESNOW_PYTHON at a Python that has them";

// The emulator's known gaps, as docs/targets/snowflake-emulation.md names them. Each is
// checked to be still there by `known_gaps_are_still_there`.
const TOP_LEVEL_CAST: &str = "a top-level VARIANT string cast to VARCHAR keeps its JSON quotes";
const USER_COLUMN: &str = "a column named USER reads as the current user";
const FLATTEN_NON_ARRAY: &str = "FLATTEN of a string fails";
const DOLLAR_NAME: &str = "$name inside quotes is read as a session variable";
const AFTER_INDEX: &str = "a subscript after an array index reads NULL";
const TYPEOF_JSON: &str = "TYPEOF of a VARIANT number says JSON, not INTEGER";

/// Cases of the corpora that hit a known gap of the emulator. A rule id alone: the emulator
/// fails the whole query. Every other case must agree with the reference evaluator.
const KNOWN_GAPS: &[(&str, &str)] = &[
    ("Amazon.EKS.Audit.AnonymousAPIAccess", USER_COLUMN),
    ("Amazon.EKS.Audit.SecretsListedByUser", USER_COLUMN),
    ("AWS.S3.BucketPublicACL", FLATTEN_NON_ARRAY),
    (
        "Conformance.CaseInsensitive.EndsWith :: lower case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.EndsWith :: mixed case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.Eq :: lower case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.Eq :: upper case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.Eq :: mixed case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.In :: lower case of first",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.In :: lower case of second",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.In :: upper case of non-ASCII element",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.In :: lower case of non-ASCII element",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.Ne :: upper case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.Ne :: lower case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.NotEndsWith :: upper case suffix",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.NotIn :: upper case of first",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.NotIn :: lower case of second",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.NotIn :: lower case of non-ASCII element",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.NotStartsWith :: lower case prefix",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.NotStartsWith :: mixed case prefix",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.StartsWith :: lower case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.CaseInsensitive.StartsWith :: upper case with capital sharp s",
        TOP_LEVEL_CAST,
    ),
    ("Conformance.Cidr.NonStrings :: an address", TOP_LEVEL_CAST),
    ("Conformance.Cidr.NotIn :: private ipv4", TOP_LEVEL_CAST),
    ("Conformance.Cidr.NotIn :: private ipv6", TOP_LEVEL_CAST),
    ("Conformance.Empty.IsEmpty :: empty string", TOP_LEVEL_CAST),
    ("Conformance.EndsWith :: suffix", TOP_LEVEL_CAST),
    ("Conformance.EndsWith :: whole string", TOP_LEVEL_CAST),
    ("Conformance.Eq.Alias :: equal string", TOP_LEVEL_CAST),
    ("Conformance.Eq.EmptyString :: empty string", TOP_LEVEL_CAST),
    ("Conformance.Eq.String :: equal string", TOP_LEVEL_CAST),
    ("Conformance.Hostile.RegexJndi", DOLLAR_NAME),
    ("Conformance.Hostile.Shell", DOLLAR_NAME),
    ("Conformance.In.String :: first element", TOP_LEVEL_CAST),
    ("Conformance.In.String :: last element", TOP_LEVEL_CAST),
    ("Conformance.Logic.NotMissing :: equal", TOP_LEVEL_CAST),
    (
        "Conformance.Matches.EmptyOnly :: empty string",
        TOP_LEVEL_CAST,
    ),
    ("Conformance.Ne.String :: equal string", TOP_LEVEL_CAST),
    (
        "Conformance.Empty.IsNotEmpty :: empty string",
        TOP_LEVEL_CAST,
    ),
    ("Conformance.NotEndsWith :: suffix", TOP_LEVEL_CAST),
    ("Conformance.NotIn.String :: first element", TOP_LEVEL_CAST),
    ("Conformance.NotIn.String :: second element", TOP_LEVEL_CAST),
    ("Conformance.NotMatches :: matching string", TOP_LEVEL_CAST),
    ("Conformance.NotStartsWith :: prefix", TOP_LEVEL_CAST),
    ("Conformance.NotStartsWith :: whole string", TOP_LEVEL_CAST),
    (
        "Conformance.Number.StringLiteral :: same string",
        TOP_LEVEL_CAST,
    ),
    ("Conformance.Path.Deep", DOLLAR_NAME),
    ("Conformance.Path.IndexNested :: both present", AFTER_INDEX),
    ("Conformance.Quantifier.ArrayText", FLATTEN_NON_ARRAY),
    ("Conformance.Star.IndexPrefix", FLATTEN_NON_ARRAY),
    ("Conformance.StartsWith :: prefix", TOP_LEVEL_CAST),
    ("Conformance.StartsWith :: whole string", TOP_LEVEL_CAST),
    ("Conformance.Field.Compare :: beyond 2^53", TYPEOF_JSON),
    (
        "Conformance.Field.CompareEqual :: one apart beyond 2^53",
        TYPEOF_JSON,
    ),
    ("Conformance.Field.EqNumbers :: beyond 2^53", TYPEOF_JSON),
    ("Conformance.Field.Contains :: inside", USER_COLUMN),
    ("Conformance.Field.Contains :: empty needle", USER_COLUMN),
    (
        "Conformance.Field.Contains :: percent matches itself",
        USER_COLUMN,
    ),
    (
        "Conformance.Field.StarShorthandRest :: an element owned by the event user",
        USER_COLUMN,
    ),
    (
        "Conformance.Field.NotStartsEndsWith :: both hold",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.Field.StarShorthand :: some element equals the event field",
        TOP_LEVEL_CAST,
    ),
    ("Conformance.Field.StartsEndsWith :: both", TOP_LEVEL_CAST),
    (
        "Conformance.Field.StartsEndsWith :: both sides empty strings",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.Field.StringOpsCaseInsensitive :: mixed case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.Field.StringOpsCaseInsensitive :: exact case",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.Field.StringOpsCaseInsensitive :: greek final sigma is sigma",
        TOP_LEVEL_CAST,
    ),
    (
        "Conformance.Number.Near2p53Nested :: the integer 2^53 is less than 2^53+1",
        TYPEOF_JSON,
    ),
    (
        "Conformance.Number.Near2p53Nested :: the integer 2^53 does not",
        TYPEOF_JSON,
    ),
    (
        "Conformance.Number.Near2p63 :: one more, an unsigned integer",
        TYPEOF_JSON,
    ),
    (
        "Conformance.Number.Near2p53IntegerLiteral :: the integer 2^53+1 is not the literal",
        TYPEOF_JSON,
    ),
];

/// The emulator process: requests and answers, one JSON line each.
struct Emulator {
    _child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    /// fakesnow, DuckDB and sqlglot versions, as the process reports them.
    versions: Value,
}

static EMULATOR: OnceLock<Result<Mutex<Emulator>, String>> = OnceLock::new();

fn python() -> PathBuf {
    match std::env::var_os("RULEQC_FAKESNOW_PYTHON") {
        Some(p) => p.into(),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fakesnow-venv/bin/python"),
    }
}

fn start() -> Result<Mutex<Emulator>, String> {
    let py = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fakesnow/engine.py");
    let mut child = Command::new(&py)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}; {INSTALL}", py.display()))?;
    let input = BufWriter::new(child.stdin.take().expect("piped"));
    let mut output = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    output
        .read_line(&mut line)
        .map_err(|e| format!("fakesnow: {e}"))?;
    let ready: Value = serde_json::from_str(&line)
        .map_err(|_| format!("fakesnow did not start (its error is above); {INSTALL}"))?;
    Ok(Mutex::new(Emulator {
        _child: child,
        input,
        output,
        versions: ready["ready"].clone(),
    }))
}

/// The shared emulator; the test fails with the install hint when it cannot start.
fn emulator() -> MutexGuard<'static, Emulator> {
    match EMULATOR.get_or_init(start) {
        Ok(m) => m.lock().unwrap_or_else(|p| p.into_inner()),
        Err(e) => panic!("{e}"),
    }
}

/// The answer to one request.
struct Answer {
    setup_error: Option<String>,
    /// Per query: its rows' first column, or the error.
    results: Vec<Result<Vec<Value>, String>>,
}

impl Emulator {
    fn request(&mut self, setup: &[String], queries: &[String], teardown: &[String]) -> Answer {
        let req = json!({"setup": setup, "queries": queries, "teardown": teardown});
        writeln!(self.input, "{req}").expect("fakesnow is running");
        self.input.flush().expect("fakesnow is running");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("fakesnow answers");
        let a: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("fakesnow answered {line:?}: {e}"));
        Answer {
            setup_error: a["setup_error"].as_str().map(str::to_string),
            results: a["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|r| match r["error"].as_str() {
                    Some(e) => Err(e.to_string()),
                    None => Ok(r["rows"].as_array().expect("rows").clone()),
                })
                .collect(),
        }
    }
}

fn dialect() -> &'static dyn Dialect {
    SqlDialect::Snowflake.dialect()
}

/// `CREATE TABLE` and one `INSERT ... SELECT ... UNION ALL ...` for the events, in Snowflake's
/// own SQL: `VARIANT` columns get `PARSE_JSON` of the value's JSON text (a JSON null stays a
/// VARIANT null; a missing key is SQL NULL), typed columns literals of their type. A value that
/// does not fit its column is an error.
fn load_statements(table: &EventTable<'_>) -> Result<Vec<String>, String> {
    let d = dialect();
    let mut cols = vec![format!("{} NUMBER(38, 0)", d.quote_ident(ROW_COLUMN))];
    for (name, ty) in &table.schema.columns {
        cols.push(format!("{} {}", d.quote_ident(name), d.column_type(*ty)));
    }
    let mut stmts = vec![format!("CREATE TABLE {} ({})", table.name, cols.join(", "))];
    let mut rows = Vec::new();
    for (i, ev) in table.events.iter().enumerate() {
        let mut vals = vec![i.to_string()];
        for (name, ty) in &table.schema.columns {
            let v = ev.get(name.as_str());
            let bad = || format!("event {i}: {name} = {} does not fit {ty:?}", v.unwrap());
            vals.push(match (ty, v) {
                (ColumnType::Json, Some(v)) => {
                    format!("PARSE_JSON({})", literal(&v.to_string())?)
                }
                (_, None | Some(Value::Null)) => "NULL".to_string(),
                (ColumnType::Text, Some(Value::String(s))) => literal(s)?,
                (ColumnType::Integer, Some(Value::Number(n))) if n.is_i64() => n.to_string(),
                (ColumnType::Real, Some(Value::Number(n))) => {
                    format!("{:?}", n.as_f64().ok_or_else(bad)?)
                }
                (ColumnType::Boolean, Some(Value::Bool(b))) => d.bool_literal(*b).to_string(),
                _ => return Err(bad()),
            });
        }
        rows.push(format!("SELECT {}", vals.join(", ")));
    }
    if !rows.is_empty() {
        stmts.push(format!(
            "INSERT INTO {} {}",
            table.name,
            rows.join(" UNION ALL ")
        ));
    }
    Ok(stmts)
}

fn literal(s: &str) -> Result<String, String> {
    dialect().string_literal(s).map_err(|u| u.reason)
}

fn query(table: &str, condition: &str) -> String {
    format!(
        "SELECT {} FROM {table} WHERE ({condition}) ORDER BY 1",
        dialect().quote_ident(ROW_COLUMN)
    )
}

fn row_numbers(rows: &[Value]) -> Vec<usize> {
    rows.iter()
        .map(|r| r.as_u64().expect("a row number") as usize)
        .collect()
}

/// The emulator as a `ruleqc::engine::Engine`: any failed statement is an error.
struct Fakesnow;

impl Engine for Fakesnow {
    fn name(&self) -> &'static str {
        "fakesnow"
    }

    fn matching_rows(
        &mut self,
        table: &EventTable<'_>,
        conditions: &[String],
    ) -> Result<Vec<Vec<usize>>, EngineError> {
        let setup = load_statements(table).map_err(EngineError::Failed)?;
        let queries: Vec<String> = conditions.iter().map(|c| query(table.name, c)).collect();
        let teardown = [format!("DROP TABLE IF EXISTS {}", table.name)];
        let a = emulator().request(&setup, &queries, &teardown);
        if let Some(e) = a.setup_error {
            return Err(EngineError::Failed(format!(
                "fakesnow: loading failed: {e}"
            )));
        }
        a.results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.map(|rows| row_numbers(&rows)).map_err(|e| {
                    EngineError::Failed(format!(
                        "fakesnow: condition {i} failed: {e}\n{}",
                        queries[i]
                    ))
                })
            })
            .collect()
    }
}

fn run_corpus(dir: &str) -> Report {
    let mut report = Report::new("fakesnow");
    let d = dialect();
    for case in corpus(dir) {
        let name = d.quote_ident(&case.table);
        let (sql, outcome) = match render_condition(&case.rule.condition.ir, d, &case.schema, &name)
        {
            Err(u) => (String::new(), Outcome::NotCompiled(u.reason)),
            Ok(sql) => {
                let table = EventTable {
                    name: &name,
                    schema: &case.schema,
                    events: &case.events,
                };
                let setup = load_statements(&table)
                    .unwrap_or_else(|e| panic!("{}: {e}", case.rule.rule_id));
                let q = query(&name, &sql);
                let mut a = emulator().request(
                    &setup,
                    std::slice::from_ref(&q),
                    &[format!("DROP TABLE IF EXISTS {name}")],
                );
                let outcome = match (a.setup_error, a.results.pop()) {
                    (Some(e), _) => Outcome::Error(format!("loading the events: {e}")),
                    (None, Some(Ok(rows))) => Outcome::Rows(row_numbers(&rows)),
                    (None, Some(Err(e))) => Outcome::Error(e),
                    (None, None) => Outcome::Error("no answer".into()),
                };
                (sql, outcome)
            }
        };
        check(&mut report, &case, &sql, outcome, KNOWN_GAPS);
    }
    report
}

#[test]
fn conformance_corpus_on_fakesnow() {
    let r = run_corpus("tests/conformance");
    r.finish("tests/conformance");
    assert!(r.agreed >= 1050, "{} cases agreed", r.agreed);
}

#[test]
fn rules_on_fakesnow() {
    let r = run_corpus("rules");
    r.finish("rules/");
    assert!(r.agreed >= 160, "{} cases agreed", r.agreed);
}

fn schema(cols: &[(&str, ColumnType)]) -> TableSchema {
    TableSchema {
        columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
        complete: true,
    }
}

fn run(
    cols: &[(&str, ColumnType)],
    events: &[Value],
    conditions: &[&str],
) -> Result<Vec<Vec<usize>>, EngineError> {
    let s = schema(cols);
    let table = EventTable {
        name: "events",
        schema: &s,
        events,
    };
    let conds: Vec<String> = conditions.iter().map(|c| c.to_string()).collect();
    Fakesnow.matching_rows(&table, &conds)
}

#[test]
fn the_emulator_reports_its_versions() {
    let v = emulator().versions.clone();
    assert_eq!(v["fakesnow"], "0.12.1", "{v}");
    assert!(v["duckdb"].is_string() && v["sqlglot"].is_string(), "{v}");
}

#[test]
fn every_column_type_loads() {
    let cols = [
        ("s", ColumnType::Text),
        ("i", ColumnType::Integer),
        ("f", ColumnType::Real),
        ("b", ColumnType::Boolean),
        ("j", ColumnType::Json),
    ];
    let evs = [
        json!({"s": "it's", "i": i64::MAX, "f": 1.5, "b": true, "j": {"k": "v"}}),
        json!({"s": "a\\b\nc", "i": -7, "f": 1e300, "b": false, "j": [1, 2]}),
        json!({"s": null, "i": null, "f": null, "b": null, "j": null}),
        json!({"other": 1}),
        json!({"s": "é 😀", "f": 2, "j": 9007199254740993u64}),
    ];
    let got = run(
        &cols,
        &evs,
        &[
            "s = 'it\\'s'",
            "s = 'a\\\\b\\nc'",
            "s = 'é 😀' AND LENGTH(s) = 3",
            "s IS NULL",
            "i = 9223372036854775807",
            "i = -7",
            "f = 1.5",
            "f = 1e300",
            "f = 2",
            "b",
            "NOT b",
            "j['k']::VARCHAR = 'v'",
            "IS_ARRAY(j) AND ARRAY_SIZE(j) = 2",
            // A JSON null is a VARIANT null; a missing key is SQL NULL.
            "IS_NULL_VALUE(j)",
            "j IS NULL",
            "j = PARSE_JSON('9007199254740993')",
        ],
    )
    .unwrap();
    let want: Vec<Vec<usize>> = vec![
        vec![0],
        vec![1],
        vec![4],
        vec![2, 3],
        vec![0],
        vec![1],
        vec![0],
        vec![1],
        vec![4],
        vec![0],
        vec![1],
        vec![0],
        vec![1],
        vec![2],
        vec![3],
        vec![4],
    ];
    assert_eq!(got, want);
}

/// The registered IS_* functions answer as Snowflake documents them, over every JSON kind.
#[test]
fn the_shimmed_type_tests_follow_snowflake() {
    let cols = [("v", ColumnType::Json)];
    let evs = [
        json!({"v": "s"}),
        json!({"v": true}),
        json!({"v": 7}),
        json!({"v": 1.5}),
        json!({"v": {"k": 1}}),
        json!({"v": [1]}),
        json!({"v": null}),
        json!({}),
    ];
    let got = run(
        &cols,
        &evs,
        &[
            "IS_VARCHAR(v)",
            "IS_BOOLEAN(v)",
            "IS_INTEGER(v)",
            "IS_DECIMAL(v)",
            "IS_DOUBLE(v)",
            "IS_OBJECT(v)",
            "IS_ARRAY(v)",
            // SQL NULL in, SQL NULL out (neither true nor false).
            "IS_VARCHAR(v) IS NULL AND IS_OBJECT(v) IS NULL",
            // A JSON null is none of them.
            "IS_NULL_VALUE(v) AND NOT (IS_VARCHAR(v) OR IS_BOOLEAN(v) OR IS_DOUBLE(v) OR IS_OBJECT(v))",
        ],
    )
    .unwrap();
    let want: Vec<Vec<usize>> = vec![
        vec![0],
        vec![1],
        vec![2],
        vec![2, 3],
        vec![2, 3],
        vec![4],
        vec![5],
        vec![7],
        vec![6],
    ];
    assert_eq!(got, want);
}

/// Each gap the docs list is still in the emulator: when an upgrade fixes one, this fails,
/// and the list (here and in docs/targets/snowflake-emulation.md) must shrink.
#[test]
fn known_gaps_are_still_there() {
    let cols = [("v", ColumnType::Json), ("USER", ColumnType::Json)];
    let evs = [json!({"v": "abc", "USER": ["x"]})];
    let one = |cond: &str| run(&cols, &evs, &[cond]);
    // TOP_LEVEL_CAST: Snowflake gives 'abc'.
    assert_eq!(
        one("v::VARCHAR = '\"abc\"'").unwrap(),
        vec![vec![0]],
        "{TOP_LEVEL_CAST}"
    );
    // USER_COLUMN: Snowflake flattens the column.
    let e = one("EXISTS (SELECT 1 FROM TABLE(FLATTEN(INPUT => \"USER\")) AS e WHERE e.value::VARCHAR = 'x')")
        .unwrap_err()
        .to_string();
    assert!(e.contains("duckdb"), "{USER_COLUMN}: {e}");
    // FLATTEN_NON_ARRAY: Snowflake gives no rows for a scalar.
    let e = one("EXISTS (SELECT 1 FROM TABLE(FLATTEN(INPUT => v)) AS e)")
        .unwrap_err()
        .to_string();
    assert!(e.contains("Expected ARRAY"), "{FLATTEN_NON_ARRAY}: {e}");
    // DOLLAR_NAME: in Snowflake '$x' is just text.
    let e = one("'$x' = 'y'").unwrap_err().to_string();
    assert!(e.contains("Session variable"), "{DOLLAR_NAME}: {e}");
    // TYPEOF_JSON: Snowflake says INTEGER.
    assert_eq!(
        one("TYPEOF(PARSE_JSON('9007199254740993')) = 'JSON'").unwrap(),
        vec![vec![0]],
        "{TYPEOF_JSON}"
    );
    // AFTER_INDEX: Snowflake reads 2.
    let evs = [json!({"v": [[1, 2]]})];
    assert_eq!(
        run(&cols[..1], &evs, &["v[0][1] IS NULL AND v[0] IS NOT NULL"]).unwrap(),
        vec![vec![0]],
        "{AFTER_INDEX}"
    );
}

#[test]
fn a_failing_query_names_the_condition_and_the_sql() {
    let cols = [("s", ColumnType::Text)];
    let evs = [json!({"s": "a"})];
    let err = run(&cols, &evs, &["s = 'a'", "nosuch = 1"]).unwrap_err();
    let EngineError::Failed(msg) = err else {
        panic!("expected Failed, got {err:?}")
    };
    assert!(msg.contains("condition 1"), "{msg}");
    assert!(msg.contains("NOSUCH"), "{msg}");
    assert!(msg.contains("WHERE (nosuch = 1)"), "{msg}");
    // The emulator goes on serving after an error.
    assert_eq!(run(&cols, &evs, &["s = 'a'"]).unwrap(), vec![vec![0]]);
}

#[test]
fn events_that_do_not_fit_their_column_are_errors() {
    for bad in [json!({"i": 1.5}), json!({"i": "1"})] {
        let err = run(&[("i", ColumnType::Integer)], &[bad], &["TRUE"]).unwrap_err();
        assert!(
            matches!(&err, EngineError::Failed(m) if m.contains("does not fit")),
            "{err:?}"
        );
    }
}

/// A small seeded differential run on the emulator, with events that keep clear of its known
/// gaps (tests/emulated/diff.rs says how); `RULEQC_DIFF_SCALE` makes it larger.
#[test]
fn differential_on_fakesnow() {
    let pairs = emulated::diff::run(
        "fakesnow",
        SqlDialect::Snowflake,
        emulated::diff::batches(3, 25, 40, true),
        &mut |schema, table, events, sqls| {
            Fakesnow
                .matching_rows(
                    &EventTable {
                        name: table,
                        schema,
                        events,
                    },
                    sqls,
                )
                .map_err(|e| e.to_string())
        },
    );
    assert!(pairs >= 3000, "{pairs} pairs");
}
