//! The BigQuery dialect on Google's ZetaSQL: the analyser and reference implementation of
//! GoogleSQL, BigQuery's SQL (docs/targets/bigquery-zetasql.md). Every BigQuery query of rules/
//! and the conformance corpus is analysed against its table's schema with BigQuery's language
//! options, then evaluated over the rule's test events by the reference implementation; each
//! verdict is compared with the reference evaluator's. What ZetaSQL cannot check is listed by
//! name below and in the output, never counted as a pass.
//!
//! One Node process (tests/zetasql/check.js, the package pinned in tests/zetasql/package-lock.json,
//! installed by `npm ci --prefix tests/zetasql`) serves the whole test binary; it starts the
//! package's server binary itself.

mod emulated;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use emulated::{Outcome, Report, check, corpus};
use ruleqc::backend::inferred_schema;
use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::backend::sql::dialect::Dialect;
use ruleqc::backend::sql::{
    Placement, SqlDialect, TimeFilter, default_table_name, render_condition, render_placed_query,
};
use ruleqc::engine::ROW_COLUMN;
use ruleqc::rule::load_paths;
use serde_json::{Value, json};

const INSTALL: &str = "install it with `npm ci --prefix tests/zetasql` (as .ci/run does)";

/// Cases of the corpora ZetaSQL cannot check, by the gap's name in
/// docs/targets/bigquery-zetasql.md. A rule id alone: the whole query.
const KNOWN_GAPS: &[(&str, &str)] = &[("Conformance.Path.Deep", DOLLAR_COLUMN)];

/// ZetaSQL takes a name that starts with `$` for one of its internal names, so a catalog
/// column `$meta` cannot be referenced (BigQuery's own rules for column names are not ZetaSQL's).
const DOLLAR_COLUMN: &str = "a column whose name starts with $ cannot be referenced";

struct ZetaSql {
    _child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    /// The package version and the language features added for BigQuery.
    ready: Value,
}

static ZETASQL: OnceLock<Result<Mutex<ZetaSql>, String>> = OnceLock::new();

fn start() -> Result<Mutex<ZetaSql>, String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/zetasql");
    if !dir
        .join("node_modules/@fivetrandevelopers/zetasql")
        .is_dir()
    {
        return Err(format!("ZetaSQL is not installed; {INSTALL}"));
    }
    let mut child = Command::new("node")
        .arg(dir.join("check.js"))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run node: {e}; {INSTALL}"))?;
    let input = BufWriter::new(child.stdin.take().expect("piped"));
    let mut output = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    output
        .read_line(&mut line)
        .map_err(|e| format!("zetasql: {e}"))?;
    let ready: Value = serde_json::from_str(&line)
        .map_err(|_| format!("the ZetaSQL server did not start (its error is above); {INSTALL}"))?;
    Ok(Mutex::new(ZetaSql {
        _child: child,
        input,
        output,
        ready: ready["ready"].clone(),
    }))
}

fn zetasql() -> MutexGuard<'static, ZetaSql> {
    match ZETASQL.get_or_init(start) {
        Ok(m) => m.lock().unwrap_or_else(|p| p.into_inner()),
        Err(e) => panic!("{e}"),
    }
}

/// What ZetaSQL made of one query.
#[derive(Debug)]
enum Checked {
    /// The analyser rejected it.
    Invalid(String),
    /// Valid, but the reference implementation could not evaluate it.
    NotEvaluated(String),
    /// The first column of every result row.
    Rows(Vec<Option<String>>),
}

impl ZetaSql {
    fn check(
        &mut self,
        table: &str,
        schema: &TableSchema,
        events: &[Value],
        queries: &[String],
    ) -> Vec<Checked> {
        let (columns, rows) = table_content(schema, events);
        let req = json!({"table": table, "columns": columns, "rows": rows, "queries": queries});
        writeln!(self.input, "{req}").expect("zetasql is running");
        self.input.flush().expect("zetasql is running");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("zetasql answers");
        let a: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("zetasql answered {line:?}: {e}"));
        a["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                if let Some(e) = r["analyze_error"].as_str() {
                    Checked::Invalid(e.to_string())
                } else if let Some(e) = r["evaluate_error"].as_str() {
                    Checked::NotEvaluated(e.to_string())
                } else {
                    Checked::Rows(
                        r["rows"]
                            .as_array()
                            .expect("rows")
                            .iter()
                            .map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    )
                }
            })
            .collect()
    }
}

/// The table's columns (the row number first) with their GoogleSQL types, and its rows: a JSON
/// column's cell is the value's JSON text (so a JSON null is a JSON `null`, a missing key SQL
/// NULL), an INT64 cell a decimal string (exact beyond 2^53).
fn table_content(schema: &TableSchema, events: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let mut columns = vec![json!([ROW_COLUMN, "INT64"])];
    columns.extend(typed_columns(schema));
    let rows = events
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            let mut cells = vec![json!(i.to_string())];
            for (name, ty) in &schema.columns {
                cells.push(match (ty, ev.get(name.as_str())) {
                    (ColumnType::Json, Some(v)) => json!(v.to_string()),
                    (_, None | Some(Value::Null)) => Value::Null,
                    (ColumnType::Integer, Some(Value::Number(n))) if n.is_i64() => {
                        json!(n.to_string())
                    }
                    (ColumnType::Real, Some(Value::Number(n))) => json!(n.as_f64()),
                    (ColumnType::Text, Some(v @ Value::String(_)))
                    | (ColumnType::Boolean, Some(v @ Value::Bool(_))) => v.clone(),
                    (ty, Some(v)) => panic!("event {i}: {name} = {v} does not fit {ty:?}"),
                });
            }
            Value::Array(cells)
        })
        .collect();
    (columns, rows)
}

/// The schema's columns with their GoogleSQL type names.
fn typed_columns(schema: &TableSchema) -> Vec<Value> {
    let d = dialect();
    schema
        .columns
        .iter()
        .map(|(name, ty)| {
            let t = match ty {
                ColumnType::Text => "STRING",
                ColumnType::Integer => "INT64",
                ColumnType::Real => "DOUBLE",
                ColumnType::Boolean => "BOOL",
                ColumnType::Json => "JSON",
                ColumnType::Timestamp => "TIMESTAMP",
            };
            // The dialect's own name for the type, so the two cannot drift apart.
            assert_eq!(
                d.column_type(*ty),
                if t == "DOUBLE" { "FLOAT64" } else { t }
            );
            json!([name, t])
        })
        .collect()
}

fn dialect() -> &'static dyn Dialect {
    SqlDialect::Bigquery.dialect()
}

fn query(table: &str, condition: &str) -> String {
    format!(
        "SELECT {} FROM {table} WHERE ({condition}) ORDER BY 1",
        dialect().quote_ident(ROW_COLUMN)
    )
}

fn row_numbers(rows: &[Option<String>]) -> Vec<usize> {
    rows.iter()
        .map(|r| {
            r.as_deref()
                .and_then(|s| s.parse().ok())
                .expect("a row number")
        })
        .collect()
}

fn run_corpus(dir: &str) -> Report {
    let mut report = Report::new("zetasql");
    let d = dialect();
    for case in corpus(dir) {
        let name = d.quote_ident(&case.table);
        let (sql, outcome) = match render_condition(&case.rule.condition.ir, d, &case.schema, &name)
        {
            Err(u) => (String::new(), Outcome::NotCompiled(u.reason)),
            Ok(sql) => {
                let q = query(&name, &sql);
                let mut got = zetasql().check(&case.table, &case.schema, &case.events, &[q]);
                let outcome = match got.pop().expect("one answer") {
                    Checked::Invalid(e) => Outcome::Error(format!("analysis: {e}")),
                    Checked::NotEvaluated(e) => Outcome::Error(format!("evaluation: {e}")),
                    Checked::Rows(rows) => Outcome::Rows(row_numbers(&rows)),
                };
                (sql, outcome)
            }
        };
        check(&mut report, &case, &sql, outcome, KNOWN_GAPS);
    }
    report
}

/// The query `ruleqc compile --dialect bigquery` writes for each rule (output fields, one SELECT
/// per log type, column types inferred from the rule), with a time filter on a TIMESTAMP column
/// as a profile adds it: every one passes the analyser against its tables' schemas.
fn analyse_compiled(dir: &str) -> usize {
    let d = dialect();
    let mut analysed = 0;
    let mut problems = Vec::new();
    for l in load_paths(&[dir.into()]).expect(dir) {
        let rule = l.rule().expect("loads");
        let schema = inferred_schema(rule);
        let placed = render_placed_query(rule, d, &|lt| {
            Ok(Placement {
                table: vec![default_table_name(lt)],
                schema: Some(schema.clone()),
                time_filter: Some(TimeFilter::Column("p_event_time".into())),
            })
        });
        let Ok(sql) = placed else {
            // Not compiled for BigQuery (E0401): the corpus tests list these by name.
            continue;
        };
        let mut columns = typed_columns(&schema);
        columns.push(json!(["p_event_time", "TIMESTAMP"]));
        let tables: Vec<Value> = rule
            .log_types
            .iter()
            .map(|lt| json!([default_table_name(lt), columns]))
            .collect();
        let req = json!({"tables": tables, "queries": [sql], "analyze_only": true});
        let mut z = zetasql();
        writeln!(z.input, "{req}").expect("zetasql is running");
        z.input.flush().expect("zetasql is running");
        let mut line = String::new();
        z.output.read_line(&mut line).expect("zetasql answers");
        let a: Value = serde_json::from_str(&line).expect("an answer");
        if let Some(e) = a["results"][0]["analyze_error"].as_str() {
            if !KNOWN_GAPS.contains(&(rule.rule_id.as_str(), DOLLAR_COLUMN)) {
                problems.push(format!("{}: {e}\n{sql}", rule.rule_id));
            }
        } else {
            analysed += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    analysed
}

#[test]
fn every_compiled_query_passes_the_analyser() {
    assert!(analyse_compiled("rules") >= 49);
    assert!(analyse_compiled("tests/conformance") >= 140);
}

#[test]
fn conformance_corpus_on_zetasql() {
    let r = run_corpus("tests/conformance");
    r.finish("tests/conformance");
    assert!(r.agreed >= 1100, "{} cases agreed", r.agreed);
}

#[test]
fn rules_on_zetasql() {
    let r = run_corpus("rules");
    r.finish("rules/");
    assert!(r.agreed >= 175, "{} cases agreed", r.agreed);
}

fn schema(cols: &[(&str, ColumnType)]) -> TableSchema {
    TableSchema {
        columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
        complete: true,
    }
}

/// Each condition over `events` as one query; the matching rows, or what ZetaSQL said.
fn run(cols: &[(&str, ColumnType)], events: &[Value], conditions: &[&str]) -> Vec<Checked> {
    let queries: Vec<String> = conditions.iter().map(|c| query("events", c)).collect();
    zetasql().check("events", &schema(cols), events, &queries)
}

fn rows(c: &Checked) -> Vec<usize> {
    match c {
        Checked::Rows(r) => row_numbers(r),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_server_runs_the_pinned_package_with_the_bigquery_features() {
    let r = zetasql().ready.clone();
    assert_eq!(r["package"], "1.13.0", "{r}");
    assert!(
        r["features"]
            .as_array()
            .unwrap()
            .contains(&json!("FEATURE_JSON_TYPE")),
        "{r}"
    );
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
        json!({"s": "it's \"q\"", "i": i64::MAX, "f": 1.5, "b": true, "j": {"k": "v"}}),
        json!({"s": "a\\b\nc", "i": -7, "f": 1e300, "b": false, "j": [1, 2]}),
        json!({"s": null, "i": null, "f": null, "b": null, "j": null}),
        json!({"other": 1}),
        json!({"s": "é 😀", "f": 2, "j": 9007199254740993u64}),
    ];
    let got: Vec<Vec<usize>> = run(
        &cols,
        &evs,
        &[
            r#"s = 'it\'s "q"'"#,
            r"s = 'a\\b\nc'",
            "s = 'é 😀' AND LENGTH(s) = 3",
            "s IS NULL",
            "i = 9223372036854775807",
            "i = -7",
            "f = 1.5",
            "f = 1e300",
            "f = 2",
            "b",
            "NOT b",
            "JSON_VALUE(j['k']) = 'v'",
            "JSON_TYPE(j) = 'array' AND ARRAY_LENGTH(JSON_QUERY_ARRAY(j)) = 2",
            // A JSON null is a JSON `null`; a missing key is SQL NULL.
            "JSON_TYPE(j) = 'null'",
            "j IS NULL",
            "JSON_TYPE(j) = 'number' AND JSON_VALUE(j) = '9007199254740993'",
        ],
    )
    .iter()
    .map(rows)
    .collect();
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

/// The analyser really checks names, types and syntax, with BigQuery's options.
#[test]
fn the_analyser_rejects_what_bigquery_would() {
    let cols = [("s", ColumnType::Text), ("j", ColumnType::Json)];
    let evs = [json!({"s": "a", "j": {"k": 1}})];
    let got = run(
        &cols,
        &evs,
        &[
            "nosuch = 1",
            "s > 1",
            "NO_SUCH_FUNCTION(s)",
            "s = ",
            // JSON values do not compare with `=` in GoogleSQL.
            "j = j",
            "JSON_TYPE(j['k']) = 'number'",
        ],
    );
    let invalid = |c: &Checked, what: &str| match c {
        Checked::Invalid(e) => assert!(e.contains(what), "{e}"),
        other => panic!("expected an analysis error with {what:?}, got {other:?}"),
    };
    invalid(&got[0], "Unrecognized name: nosuch");
    invalid(&got[1], "No matching signature for operator >");
    invalid(&got[2], "Function not found: NO_SUCH_FUNCTION");
    invalid(&got[3], "Syntax error");
    invalid(&got[4], "JSON");
    assert_eq!(rows(&got[5]), vec![0]);
}

/// Each gap the docs list is still in ZetaSQL: when an upgrade fixes one, this fails, and the
/// list (here and in docs/targets/bigquery-zetasql.md) must shrink.
#[test]
fn known_gaps_are_still_there() {
    let got = run(
        &[("$meta", ColumnType::Text), ("a$b", ColumnType::Text)],
        &[json!({"$meta": "x", "a$b": "y"})],
        &["`$meta` = 'x'", "`a$b` = 'y'"],
    );
    assert!(
        matches!(&got[0], Checked::Invalid(e) if e.contains("Unrecognized name: `$meta`")),
        "{DOLLAR_COLUMN}: {got:?}"
    );
    assert_eq!(rows(&got[1]), vec![0]);
}

/// Why the dialect lowers İ and Σ by hand: GoogleSQL's LOWER is full lower-casing.
#[test]
fn googlesql_lower_is_full_lower_casing() {
    let got = run(
        &[("s", ColumnType::Text)],
        &[json!({"s": "İ ΟΔΟΣ"})],
        &[
            "LOWER(s) = 'i\u{307} οδος'",
            &format!("{} = 'i οδοσ'", dialect().lower("s")),
        ],
    );
    assert_eq!(rows(&got[0]), vec![0]);
    assert_eq!(rows(&got[1]), vec![0]);
}

/// A small seeded differential run on ZetaSQL's reference implementation, over events of
/// every shape (it has none of the emulator's gaps); `RULEQC_DIFF_SCALE` makes it larger.
#[test]
fn differential_on_zetasql() {
    let pairs = emulated::diff::run(
        "zetasql",
        SqlDialect::Bigquery,
        emulated::diff::batches(3, 25, 40, false),
        &mut |schema, table, events, sqls| {
            let queries: Vec<String> = sqls.iter().map(|c| query(table, c)).collect();
            zetasql()
                .check(table, schema, events, &queries)
                .into_iter()
                .enumerate()
                .map(|(i, c)| match c {
                    Checked::Rows(r) => Ok(row_numbers(&r)),
                    other => Err(format!("condition {i}: {other:?}\n{}", queries[i])),
                })
                .collect()
        },
    );
    assert!(pairs >= 3000, "{pairs} pairs");
}
