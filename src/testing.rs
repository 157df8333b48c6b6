//! Running a rule's `Tests` (SPEC §5). Today through the reference evaluator; each evaluator
//! gives its own verdict so that later engines can be compared with it.

use serde::Serialize;

use crate::backend::schema::{ColumnType, TableSchema};
use crate::backend::sql::{SqlDialect, TimeFilter};
use crate::compile::Target;
use crate::diag::Diagnostic;
use crate::engine::{Engine, EventTable};
use crate::ir::eval::{Scope, eval, eval_leaf, resolve};
use crate::ir::{FieldPath, Node, Step};
use crate::profile::{Profile, rename_event};
use crate::rule::Rule;

/// One test's result.
#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub expected: bool,
    /// Verdict per evaluator, in a fixed order (`reference` first).
    pub verdicts: Vec<Verdict>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub evaluator: &'static str,
    pub result: bool,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.result == self.expected)
    }

    pub fn reference(&self) -> bool {
        self.verdicts[0].result
    }

    /// An engine that disagrees with the reference evaluator: a compiler bug.
    pub fn disagreement(&self) -> Option<&Verdict> {
        self.verdicts[1..]
            .iter()
            .find(|v| v.result != self.reference())
    }
}

/// What running a rule's tests produced.
#[derive(Debug)]
pub struct RuleRun {
    pub results: Vec<TestResult>,
    /// The condition as the engine ran it, when an engine was used.
    pub engine_sql: Option<String>,
    /// The rule could not be compiled or run on the engine (a compiler bug or limitation).
    pub engine_error: Option<String>,
}

/// Runs every test of `rule` through the reference evaluator and, when given, through the
/// query `ruleqc compile` prints for the engine's dialect with the built-in `default` profile,
/// its schema resolved from this rule alone. `ruleqc test` resolves it over the whole rule set
/// and calls [`run_rule_tests_with`].
pub fn run_rule_tests(rule: &Rule, engine: Option<&mut dyn Engine>) -> RuleRun {
    let mut profile = Profile::built_in("default").expect("a built-in profile");
    profile.resolve_schemas(&[rule]);
    run_rule_tests_with(rule, engine, &profile)
}

/// One table an engine builds for a rule's tests: its name as the query writes it, its
/// columns, and the test events as rows (renamed as the profile and the dialect read them).
pub struct TestTable {
    pub name: String,
    pub schema: TableSchema,
    pub events: Vec<serde_json::Value>,
}

/// The tables the query of `rule` for `dialect` reads, with `rule`'s test events in each.
pub fn test_tables(
    rule: &Rule,
    dialect: SqlDialect,
    profile: &Profile,
) -> Result<Vec<TestTable>, Diagnostic> {
    let d = dialect.dialect();
    let p = profile.sql(dialect.name()).map_err(|m| {
        Diagnostic::error("E0402", m, rule.spans.rule_id.clone()).with_label("this rule")
    })?;
    let read = p.rename_for(rule, d)?;
    let mut tables = Vec::new();
    for lt in &rule.log_types {
        let mut placement = p.placement_in(&profile.name, &read, lt, d)?;
        // The deployed query keeps only events of its lookback window: a test event without
        // the time column is one that just arrived. SQLite compares the column as text with
        // `datetime('now', ...)` (a `timestamp` column holds that text); the other engines
        // need a timestamp column, which one the events do not show becomes.
        let mut now: Option<(String, String)> = None;
        match &placement.time_filter {
            None => {}
            Some(TimeFilter::Column(c)) => {
                let reads_text = dialect.dialect().time_since_reads_text();
                let ty = match placement.schema.as_mut() {
                    Some(s) => Some(*s.columns.entry(c.clone()).or_insert(if reads_text {
                        ColumnType::Text
                    } else {
                        ColumnType::Timestamp
                    })),
                    None => None,
                };
                if !reads_text && ty != Some(ColumnType::Timestamp) {
                    return Err(Diagnostic::error(
                        "E0402",
                        format!(
                            "profile {} filters {lt} by time on `{c}`, which the test table on {} \
                             types as {}; declare `{c}: timestamp` in the profile's columns for \
                             {lt} (or use --engine sqlite)",
                            profile.name,
                            dialect.name(),
                            ty.map_or("nothing", ColumnType::name)
                        ),
                        rule.spans.rule_id.clone(),
                    ));
                }
                now = Some((c.clone(), utc_now()));
            }
            Some(TimeFilter::PantherMacro) => {
                return Err(Diagnostic::error(
                    "E0402",
                    format!(
                        "profile {} filters {lt} with Panther's p_occurs_since macro, which only \
                         Panther defines",
                        profile.name,
                    ),
                    rule.spans.rule_id.clone(),
                ));
            }
        }
        let aliases: Vec<(FieldPath, String)> = p
            .case_aliases(&read, lt, d)
            .into_iter()
            .map(|(from, to)| (FieldPath(vec![Step::Key(from)]), to))
            .collect();
        tables.push(TestTable {
            name: placement
                .table
                .iter()
                .map(|part| d.quote_ident(part))
                .collect::<Vec<_>>()
                .join("."),
            schema: placement
                .schema
                .unwrap_or_else(|| crate::backend::inferred_schema(&read)),
            events: rule
                .tests
                .iter()
                .map(|t| {
                    let mut row = rename_event(&rename_event(&t.log, &p.renames), &aliases);
                    if let (Some((c, at)), serde_json::Value::Object(m)) = (&now, &mut row) {
                        m.entry(c.clone())
                            .or_insert_with(|| serde_json::Value::String(at.clone()));
                    }
                    row
                })
                .collect(),
        });
    }
    Ok(tables)
}

/// Runs every test of `rule` through the reference evaluator and, when given, through the
/// engine: the query `ruleqc compile` prints for the engine's dialect and `profile` runs, as
/// printed, once per test with that test's event alone in the table (SPEC §4).
pub fn run_rule_tests_with(
    rule: &Rule,
    engine: Option<&mut dyn Engine>,
    profile: &Profile,
) -> RuleRun {
    let mut results: Vec<TestResult> = rule
        .tests
        .iter()
        .map(|t| TestResult {
            name: t.name.clone(),
            expected: t.expected,
            verdicts: vec![Verdict {
                evaluator: "reference",
                result: eval(&rule.condition.ir, &t.log),
            }],
        })
        .collect();
    let mut run = RuleRun {
        results: Vec::new(),
        engine_sql: None,
        engine_error: None,
    };
    if let Some(engine) = engine.filter(|_| !rule.tests.is_empty()) {
        let dialect = engine_sql_dialect(engine.name());
        let compiled = crate::compile::compile(rule, Target::sql(dialect), profile)
            .and_then(|q| Ok((q, test_tables(rule, dialect, profile)?)));
        match compiled {
            Err(d) => {
                run.engine_error = Some(format!(
                    "cannot compile for {}: {}",
                    dialect.name(),
                    d.message
                ))
            }
            Ok((query, tables)) => {
                let event_tables: Vec<EventTable> = tables
                    .iter()
                    .map(|t| EventTable {
                        name: &t.name,
                        schema: &t.schema,
                        events: &t.events,
                    })
                    .collect();
                match engine.rows_returning_each(&event_tables, &query) {
                    // A rule with several log types has one `SELECT` per table; each test's
                    // event goes into each table in turn, and every `SELECT` must give the
                    // same verdict.
                    Ok(each) => match split_verdict(rule, &tables, &each) {
                        Some(m) => run.engine_error = Some(m),
                        None => {
                            for (i, r) in results.iter_mut().enumerate() {
                                r.verdicts.push(Verdict {
                                    evaluator: engine.name(),
                                    result: each[0].binary_search(&i).is_ok(),
                                });
                            }
                        }
                    },
                    Err(e) => run.engine_error = Some(e.to_string()),
                }
                run.engine_sql = Some(query);
            }
        }
    }
    run.results = results;
    run
}

/// When the tables of a rule with several log types do not give its query the same rows (its
/// `SELECT`s disagree on a test), which test and tables.
fn split_verdict(rule: &Rule, tables: &[TestTable], each: &[Vec<usize>]) -> Option<String> {
    let first = &each[0];
    each.iter().enumerate().skip(1).find_map(|(k, rows)| {
        let i = (0..rule.tests.len())
            .find(|i| first.binary_search(i).is_ok() != rows.binary_search(i).is_ok())?;
        let says = |rows: &Vec<usize>| {
            if rows.binary_search(&i).is_ok() {
                "matches"
            } else {
                "does not match"
            }
        };
        Some(format!(
            "test `{}` {} with its event in {} ({}) but {} with it in {} ({})",
            rule.tests[i].name,
            says(first),
            tables[0].name,
            rule.log_types[0],
            says(rows),
            tables[k].name,
            rule.log_types[k]
        ))
    })
}

/// The current UTC time as SQLite's `datetime()` writes it (`2026-12-01 22:05:09`).
fn utc_now() -> String {
    crate::backend::schema::timestamp::Instant::now().sqlite_text()
}

/// The `--dialect` an engine speaks.
pub fn engine_sql_dialect(engine: &str) -> SqlDialect {
    SqlDialect::ALL
        .into_iter()
        .find(|d| d.dialect().engines().contains(&engine))
        .unwrap_or(SqlDialect::Sqlite)
}

/// The SQL dialect an engine speaks.
pub fn engine_dialect(engine: &str) -> &'static dyn crate::backend::sql::dialect::Dialect {
    engine_sql_dialect(engine).dialect()
}

/// One part of a condition that coverage tracks: a leaf predicate, or an `any`/`all`
/// quantifier (whose body's leaves are tracked too, per array element).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverItem {
    /// The predicate in the IR's words (`a eq 1`, `not b in [...]`, `any tags`).
    pub text: String,
    /// Byte range in the condition text.
    pub start: usize,
    pub end: usize,
    /// Nesting depth (0 at the top, +1 inside each quantifier).
    pub depth: usize,
    /// Some test made it true / false.
    pub seen_true: bool,
    pub seen_false: bool,
}

impl CoverItem {
    /// Covered outcomes, of two.
    pub fn covered(&self) -> usize {
        usize::from(self.seen_true) + usize::from(self.seen_false)
    }
}

/// Condition coverage of a rule's tests: each leaf and quantifier of the normalised condition,
/// in condition order, with whether some test event made it true and some made it false. Every
/// leaf is evaluated on every event (no short-circuit); inside a quantifier, on every element
/// of the array.
pub fn coverage(rule: &Rule) -> Vec<CoverItem> {
    let mut items = Vec::new();
    collect(&rule.condition.ir, 0, &mut items);
    for t in &rule.tests {
        let mut i = 0;
        let scope = Scope {
            root: &t.log,
            outer: None,
        };
        mark(&rule.condition.ir, &scope, &mut items, &mut i);
    }
    items
}

fn span_of(node: &Node) -> (usize, usize) {
    match node {
        Node::Leaf(l) => (l.span.start, l.span.end),
        Node::And(v) | Node::Or(v) => {
            let spans: Vec<_> = v.iter().map(span_of).collect();
            (
                spans.iter().map(|s| s.0).min().unwrap_or(0),
                spans.iter().map(|s| s.1).max().unwrap_or(0),
            )
        }
        Node::Not(n) | Node::Any { body: n, .. } | Node::All { body: n, .. } => span_of(n),
    }
}

fn collect(node: &Node, depth: usize, out: &mut Vec<CoverItem>) {
    match node {
        Node::And(v) | Node::Or(v) => v.iter().for_each(|n| collect(n, depth, out)),
        Node::Not(n) => collect(n, depth, out),
        Node::Leaf(l) => out.push(CoverItem {
            text: l.to_string(),
            start: l.span.start,
            end: l.span.end,
            depth,
            seen_true: false,
            seen_false: false,
        }),
        Node::Any { path, body } | Node::All { path, body } => {
            let (start, end) = span_of(body);
            let word = if matches!(node, Node::Any { .. }) {
                "any"
            } else {
                "all"
            };
            out.push(CoverItem {
                text: format!("{word} {}", path.display()),
                start,
                end,
                depth,
                seen_true: false,
                seen_false: false,
            });
            collect(body, depth + 1, out);
        }
    }
}

/// `eval` within a scope (an element, with the scopes around it for `field(^...)`).
fn eval_scoped(node: &Node, scope: &Scope<'_>) -> bool {
    let inner = |body: &Node, element: &serde_json::Value| {
        eval_scoped(
            body,
            &Scope {
                root: element,
                outer: Some(scope),
            },
        )
    };
    match node {
        Node::And(v) => v.iter().all(|n| eval_scoped(n, scope)),
        Node::Or(v) => v.iter().any(|n| eval_scoped(n, scope)),
        Node::Not(n) => !eval_scoped(n, scope),
        Node::Leaf(l) => eval_leaf(l, scope),
        Node::Any { path, body } => match resolve(path, scope.root) {
            Some(serde_json::Value::Array(a)) => a.iter().any(|e| inner(body, e)),
            _ => false,
        },
        Node::All { path, body } => match resolve(path, scope.root) {
            Some(serde_json::Value::Array(a)) => a.iter().all(|e| inner(body, e)),
            _ => true,
        },
    }
}

/// Marks what `node`'s items evaluate to in `scope`; `i` walks the items in `collect`'s order.
fn mark(node: &Node, scope: &Scope<'_>, items: &mut [CoverItem], i: &mut usize) {
    match node {
        Node::And(v) | Node::Or(v) => v.iter().for_each(|n| mark(n, scope, items, i)),
        Node::Not(n) => mark(n, scope, items, i),
        Node::Leaf(l) => {
            let r = eval_leaf(l, scope);
            items[*i].seen_true |= r;
            items[*i].seen_false |= !r;
            *i += 1;
        }
        Node::Any { path, body } | Node::All { path, body } => {
            let r = eval_scoped(node, scope);
            items[*i].seen_true |= r;
            items[*i].seen_false |= !r;
            *i += 1;
            let first = *i;
            let elements = match resolve(path, scope.root) {
                Some(serde_json::Value::Array(a)) => a.as_slice(),
                _ => &[],
            };
            for e in elements {
                *i = first;
                let inner = Scope {
                    root: e,
                    outer: Some(scope),
                };
                mark(body, &inner, items, i);
            }
            // Past the body's items, whether or not there were elements.
            *i = first + count(body);
        }
    }
}

fn count(node: &Node) -> usize {
    match node {
        Node::And(v) | Node::Or(v) => v.iter().map(count).sum(),
        Node::Not(n) => count(n),
        Node::Leaf(_) => 1,
        Node::Any { body, .. } | Node::All { body, .. } => 1 + count(body),
    }
}

/// One line of an evaluation trace: a leaf or quantifier, the value it looked at, its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    pub depth: usize,
    pub text: String,
    /// The field and its value as JSON (shortened), that it is missing, or for a quantifier
    /// the array's size.
    pub value: String,
    pub verdict: String,
}

/// How `rule`'s condition decides on `event`: every leaf and quantifier, in condition order.
/// Inside a quantifier, a leaf's verdict is given per element.
pub fn trace(rule: &Rule, event: &serde_json::Value) -> Vec<TraceLine> {
    let mut out = Vec::new();
    let scope = Scope {
        root: event,
        outer: None,
    };
    trace_node(&rule.condition.ir, &[scope], 0, &mut out);
    out
}

fn shorten(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 {
        s
    } else {
        format!("{}...", s.chars().take(57).collect::<String>())
    }
}

/// `scopes`: the event, or the elements of the enclosing quantifiers' arrays.
fn trace_node(node: &Node, scopes: &[Scope<'_>], depth: usize, out: &mut Vec<TraceLine>) {
    let verdicts = |f: &dyn Fn(&Scope<'_>) -> bool| -> String {
        match scopes {
            [one] => f(one).to_string(),
            _ => {
                let hits: Vec<String> = scopes
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| f(s))
                    .map(|(i, _)| i.to_string())
                    .collect();
                match hits.len() {
                    0 => format!("false for all {} elements", scopes.len()),
                    n if n == scopes.len() => format!("true for all {n} elements"),
                    _ => format!("true for element {}", hits.join(", ")),
                }
            }
        }
    };
    match node {
        Node::And(v) | Node::Or(v) => v.iter().for_each(|n| trace_node(n, scopes, depth, out)),
        Node::Not(n) => trace_node(n, scopes, depth, out),
        Node::Leaf(l) => {
            let path = l.path.display();
            let value = match scopes {
                [one] => resolve(&l.path, one.root).map_or(format!("{path} is missing"), |v| {
                    format!("{path} = {}", shorten(v))
                }),
                _ => format!("{path} in each of {} elements", scopes.len()),
            };
            out.push(TraceLine {
                depth,
                text: l.to_string(),
                value,
                verdict: verdicts(&|s| eval_leaf(l, s)),
            });
        }
        Node::Any { path, body } | Node::All { path, body } => {
            let word = if matches!(node, Node::Any { .. }) {
                "any"
            } else {
                "all"
            };
            let mut elements: Vec<Scope<'_>> = Vec::new();
            for s in scopes {
                if let Some(serde_json::Value::Array(a)) = resolve(path, s.root) {
                    elements.extend(a.iter().map(|e| Scope {
                        root: e,
                        outer: Some(s),
                    }));
                }
            }
            let p = path.display();
            let value = match scopes {
                [one] => match resolve(path, one.root) {
                    Some(serde_json::Value::Array(a)) => format!("{p} has {} elements", a.len()),
                    Some(other) => format!("{p} = {} (not an array)", shorten(other)),
                    None => format!("{p} is missing"),
                },
                _ => format!("{p} has {} elements in all", elements.len()),
            };
            out.push(TraceLine {
                depth,
                text: format!("{word} {}", path.display()),
                value,
                verdict: verdicts(&|s| eval_scoped(node, s)),
            });
            if !elements.is_empty() {
                trace_node(body, &elements, depth + 1, out);
            }
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("AWS.*", "AWS.CloudTrail.Root"));
        assert!(glob_match("*Root*", "AWS.CloudTrail.RootLogin"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXcYb"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    /// Each engine is claimed by one dialect's file; an unknown name falls back to SQLite.
    #[test]
    fn engines_speak_the_dialect_that_names_them() {
        use super::{SqlDialect, engine_sql_dialect};
        for (engine, dialect) in [
            ("sqlite", SqlDialect::Sqlite),
            ("duckdb", SqlDialect::Duckdb),
            ("postgres", SqlDialect::Postgres),
            ("clickhouse", SqlDialect::Clickhouse),
            ("spark", SqlDialect::Databricks),
            ("no-such-engine", SqlDialect::Sqlite),
        ] {
            assert_eq!(engine_sql_dialect(engine), dialect, "{engine}");
        }
        let mut claimed: Vec<&str> = SqlDialect::ALL
            .iter()
            .flat_map(|d| d.dialect().engines().iter().copied())
            .collect();
        let n = claimed.len();
        claimed.sort_unstable();
        claimed.dedup();
        assert_eq!(claimed.len(), n, "an engine named by two dialects");
    }
}
