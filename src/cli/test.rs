//! `ruleqc test`: run every rule's Tests, and with `--coverage`, report which parts of each
//! condition the tests exercise.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::args::{EngineChoice, OutputFormat};
use super::check::plural;
use super::report::{Finding, xml_escape};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::diag::{Severity, line_col};
use crate::engine::{Engine, EngineError};
use crate::rule::{Loaded, Rule};
use crate::testing::{CoverItem, coverage, glob_match, run_rule_tests_with, trace};

/// `test`'s options besides the paths.
pub struct TestOptions<'a> {
    pub filters: &'a [String],
    pub engine: EngineChoice,
    pub duckdb: Option<&'a std::path::Path>,
    pub min_tests: Option<usize>,
    pub coverage: bool,
    pub min_coverage: Option<u8>,
    /// `--profile`: what the engine's query is compiled with.
    pub profile: &'a str,
}

/// Reports a rule with fewer tests than `--min-tests` (an error) or, without it, with none (a
/// warning); returns the severity reported.
pub fn few_tests(out: &Output, l: &Loaded, rule: &Rule, min: Option<usize>) -> Option<Severity> {
    let n = rule.tests.len();
    let (severity, message) = match min {
        Some(m) if n < m => (
            Severity::Error,
            format!(
                "rule `{}` has {n} test{}; --min-tests asks for {m}",
                rule.rule_id,
                plural(n)
            ),
        ),
        None if n == 0 => (
            Severity::Warning,
            format!("rule `{}` has no tests", rule.rule_id),
        ),
        _ => return None,
    };
    let d = crate::diag::Diagnostic {
        severity,
        code: if severity == Severity::Error {
            "E0110"
        } else {
            "W0110"
        },
        message,
        span: None,
        label: None,
        help: Some(
            "add `Tests:` with a matching and a non-matching event, so the condition is proven"
                .into(),
        ),
    };
    out.report_one(&l.file.path, &l.file.text, &d);
    Some(severity)
}

/// Where the condition's text `start..` is in the rule file: found by its text after the
/// `Condition:` key (exact for block scalars), else the key itself.
fn locate(file_text: &str, rule: &Rule, start: usize, end: usize) -> usize {
    let key = if file_text.starts_with("Condition:") {
        0
    } else {
        file_text.find("\nCondition:").map_or(0, |i| i + 1)
    };
    let snippet = rule.condition.text.get(start..end).unwrap_or("");
    if snippet.is_empty() {
        return key;
    }
    file_text[key..].find(snippet).map_or(key, |i| key + i)
}

pub fn run(out: &Output, paths: &[PathBuf], opts: &TestOptions<'_>) -> i32 {
    let filters = opts.filters;
    let want_coverage = opts.coverage || opts.min_coverage.is_some();
    let set = match out.load(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let loaded = &set.loaded;
    let mut profile = match out.profile(opts.profile) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if opts.engine != EngineChoice::None {
        let dialect = match opts.engine {
            EngineChoice::Duckdb => "duckdb",
            _ => "sqlite",
        };
        if let Err(m) = profile.sql(dialect) {
            return out.fatal(&format!(
                "{m}: --engine {dialect} runs the query compiled for --dialect {dialect}"
            ));
        }
    }
    let (conflicting, schema_warnings) = super::schema::resolve(out, &mut profile, loaded);
    // One engine per worker: rules are tested on all cores (an engine is one connection or
    // one `duckdb` binary, used by one rule at a time), and reported in the order of the files.
    // The binary is found and checked once; each worker's copy starts its own process.
    let duckdb = match opts.engine {
        EngineChoice::Duckdb => {
            match crate::engine::duckdb::DuckDb::new(opts.duckdb.map(PathBuf::from)) {
                Ok(d) => Some(d),
                Err(EngineError::Missing(m)) | Err(EngineError::Failed(m)) => {
                    return out.fatal(&m);
                }
            }
        }
        _ => None,
    };
    let make = || -> Result<Option<Box<dyn Engine + Send>>, EngineError> {
        Ok(match opts.engine {
            EngineChoice::None => None,
            EngineChoice::Sqlite => Some(Box::new(crate::engine::sqlite::Sqlite::new()?)),
            EngineChoice::Duckdb => duckdb
                .clone()
                .map(|d| Box::new(d) as Box<dyn Engine + Send>),
        })
    };
    let first = match make() {
        Ok(e) => e,
        Err(EngineError::Missing(m)) | Err(EngineError::Failed(m)) => return out.fatal(&m),
    };
    let engines = std::sync::Mutex::new(vec![first]);
    let selected = |id: &str| filters.is_empty() || filters.iter().any(|f| glob_match(f, id));
    if let Some(m) = super::no_rule_matches(filters, loaded) {
        return out.fatal(&m);
    }
    let human = out.human();

    let (mut passed, mut failed, mut bugs) = (0usize, 0usize, 0usize);
    let mut warnings = schema_warnings;
    let mut bad_files: Vec<&str> = Vec::new();
    let mut schema_errors = 0usize;
    let mut few = 0usize;
    let (mut covered, mut outcomes) = (0usize, 0usize);
    let mut below: Vec<(String, usize)> = Vec::new();
    let mut rules_json = Vec::new();
    let mut errors_json = Vec::new();
    let mut junit = String::new();
    // What a worker does for one file: run the rule's tests, when they are to be run.
    let run_one = |l: &Loaded| {
        let rule = l
            .rule()
            .filter(|r| selected(&r.rule_id) && !conflicting.contains(&r.rule_id))?;
        let taken = engines.lock().map(|mut e| e.pop()).unwrap_or(None);
        let mut engine = match taken.map(Ok).unwrap_or_else(make) {
            Ok(e) => e,
            Err(e) => {
                let mut run = run_rule_tests_with(rule, None, &profile);
                run.engine_error = Some(e.to_string());
                return Some(run);
            }
        };
        let run = run_rule_tests_with(
            rule,
            engine.as_mut().map(|e| &mut **e as &mut dyn Engine),
            &profile,
        );
        if let Ok(mut pool) = engines.lock() {
            pool.push(engine);
        }
        Some(run)
    };
    let files: Vec<&Loaded> = loaded.iter().collect();
    crate::par::stream(
        64,
        files,
        |l| (l, run_one(l)),
        |(l, run)| {
            let Some(rule) = l.rule() else {
                // A rule that does not load cannot be filtered by id: always report it.
                bad_files.push(&l.file.path);
                out.report(l);
                if let Err(diags) = &l.result {
                    let mut messages = String::new();
                    for d in diags {
                        let f = Finding::from_diagnostic(d, &l.file.path, &l.file.text);
                        messages.push_str(&format!(
                            "{}:{}:{}: {}[{}]: {}\n",
                            f.file, f.line, f.column, f.level, f.code, f.message
                        ));
                        errors_json.push(json!({
                            "file": f.file, "line": f.line, "column": f.column,
                            "code": f.code, "message": f.message,
                        }));
                    }
                    junit.push_str(&format!(
                    "  <testsuite name=\"{0}\" tests=\"1\" failures=\"0\" errors=\"1\">\n    <testcase name=\"load\" classname=\"{0}\" file=\"{0}\">\n      <error message=\"the rule file has errors\">{1}</error>\n    </testcase>\n  </testsuite>\n",
                    xml_escape(&l.file.path),
                    xml_escape(&messages)
                ));
                }
                return;
            };
            if !selected(&rule.rule_id) {
                return;
            }
            match few_tests(out, l, rule, opts.min_tests) {
                Some(Severity::Error) => few += 1,
                Some(Severity::Warning) => warnings += 1,
                None => {}
            }
            if conflicting.contains(&rule.rule_id) {
                // Reported by `resolve`: the events are not what the deployed query would see.
                schema_errors += 1;
                return;
            }
            let Some(run) = run else {
                unreachable!("a selected rule without schema errors is run")
            };
            if let Some(e) = &run.engine_error {
                bugs += 1;
                if human {
                    outln!(
                        "COMPILER BUG {} ({}): the compiled query did not run: {e}",
                        rule.rule_id,
                        rule.path
                    );
                }
            }
            let mut tests_json = Vec::new();
            let mut cases = String::new();
            let mut rule_failures = 0;
            for (r, t) in run.results.iter().zip(&rule.tests) {
                let (line, col) = line_col(&l.file.text, t.span.start);
                let at = format!("{}:{line}:{col}", l.file.path);
                let mut problem = None;
                if let Some(v) = r.disagreement() {
                    bugs += 1;
                    let m = format!(
                        "COMPILER BUG {} :: {}: the reference evaluator says {}, {} says {}",
                        rule.rule_id,
                        r.name,
                        r.reference(),
                        v.evaluator,
                        v.result
                    );
                    if human {
                        outln!("{m}");
                        if let Some(sql) = &run.engine_sql {
                            outln!("  query as run: {sql}");
                        }
                    }
                    problem = Some(m);
                }
                let lines = trace(rule, &t.log);
                let shown: Vec<String> = lines
                    .iter()
                    .map(|tl| format!("{}{}", "  ".repeat(tl.depth), tl.text))
                    .collect();
                let width = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
                let trace_text: String = lines
                    .iter()
                    .zip(&shown)
                    .map(|(tl, s)| format!("    {s:width$}  {} => {}\n", tl.value, tl.verdict))
                    .collect();
                if r.passed() {
                    passed += 1;
                } else {
                    failed += 1;
                    rule_failures += 1;
                    if r.reference() != r.expected {
                        let m = format!(
                            "FAIL {} :: {}: expected {}, got {} (reference evaluator)",
                            rule.rule_id,
                            r.name,
                            r.expected,
                            r.reference()
                        );
                        if human {
                            outln!("{m}\n  --> {at}\n  how the condition decided:\n{trace_text}");
                        }
                        problem = Some(m);
                    }
                    out.finding(Finding {
                        file: l.file.path.clone(),
                        line,
                        column: col,
                        level: "error",
                        code: "test-failed".into(),
                        message: problem.clone().unwrap_or_default(),
                        help: None,
                    });
                }
                let verdicts: serde_json::Map<String, Value> = r
                    .verdicts
                    .iter()
                    .map(|v| (v.evaluator.to_string(), json!(v.result)))
                    .collect();
                let mut tj = json!({
                    "name": r.name, "expected": r.expected, "passed": r.passed(),
                    "verdicts": verdicts, "line": line,
                });
                if !r.passed() {
                    tj["trace"] = lines
                    .iter()
                    .map(|tl| {
                        json!({"depth": tl.depth, "predicate": tl.text, "value": tl.value, "verdict": tl.verdict})
                    })
                    .collect();
                }
                tests_json.push(tj);
                cases.push_str(&format!(
                    "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\">\n",
                    xml_escape(&r.name),
                    xml_escape(&rule.rule_id),
                    xml_escape(&l.file.path)
                ));
                if let Some(p) = problem.filter(|_| !r.passed()) {
                    cases.push_str(&format!(
                        "      <failure message=\"{}\">{}</failure>\n",
                        xml_escape(&p),
                        xml_escape(&format!("{at}\n{trace_text}"))
                    ));
                }
                cases.push_str("    </testcase>\n");
            }
            junit.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{rule_failures}\" errors=\"0\" file=\"{}\">\n{cases}  </testsuite>\n",
            xml_escape(&rule.rule_id),
            run.results.len(),
            xml_escape(&l.file.path)
        ));
            let mut rule_json = json!({
                "rule_id": rule.rule_id, "file": rule.path, "tests": tests_json,
            });
            if let Some(e) = &run.engine_error {
                rule_json["engine_error"] = json!(e);
            }
            if let Some(q) = &run.engine_sql {
                rule_json["query"] = json!(q);
            }
            if want_coverage {
                let items = coverage(rule);
                let (c, n) = (
                    items.iter().map(CoverItem::covered).sum::<usize>(),
                    items.len() * 2,
                );
                covered += c;
                outcomes += n;
                let pct = percent(c, n);
                if let Some(m) = opts.min_coverage.filter(|m| pct < usize::from(*m)) {
                    below.push((rule.rule_id.clone(), pct));
                    out.finding(Finding {
                        file: l.file.path.clone(),
                        line: 1,
                        column: 1,
                        level: "error",
                        code: "coverage-below-minimum".into(),
                        message: format!(
                            "rule `{}`: condition coverage {pct}% is below --min-coverage {m}%",
                            rule.rule_id
                        ),
                        help: None,
                    });
                }
                report_coverage(out, l, rule, &items, pct, human);
                rule_json["coverage"] =
                    json!({"percent": pct, "covered": c, "outcomes": n, "items": items});
            }
            rules_json.push(rule_json);
        },
    );

    let min_failed = opts.min_coverage.filter(|_| !below.is_empty());
    if let Some(m) = min_failed
        && human
    {
        for (id, pct) in &below {
            outln!("FAIL coverage {id}: {pct}% is below --min-coverage {m}%");
        }
    }
    let mut summary = format!("{passed} passed, {failed} failed");
    if !bad_files.is_empty() {
        let mut names: Vec<&str> = bad_files.iter().take(5).copied().collect();
        let more = bad_files.len() - names.len();
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        names.sort();
        summary.push_str(&format!(
            "; {} rule file{} did not load ({}{tail})",
            bad_files.len(),
            plural(bad_files.len()),
            names.join(", ")
        ));
    }
    if schema_errors > 0 {
        summary.push_str(&format!(
            "; {schema_errors} rule{} with test events the profile's column types cannot hold",
            plural(schema_errors)
        ));
    }
    if few > 0 {
        summary.push_str(&format!("; {few} rule{} with too few tests", plural(few)));
    }
    if want_coverage {
        summary.push_str(&format!(
            "; condition coverage {}% ({covered} of {outcomes} outcomes)",
            percent(covered, outcomes)
        ));
    }
    match out.format {
        OutputFormat::Json => {
            let diagnostics: Vec<Value> = out.take_findings().iter().map(Finding::json).collect();
            let mut doc = json!({
                "rules": rules_json,
                "errors": errors_json,
                "diagnostics": diagnostics,
                "summary": {
                    "passed": passed, "failed": failed, "rules_with_errors": bad_files.len(),
                    "compiler_bugs": bugs, "warnings": warnings, "too_few_tests": few,
                    "schema_errors": schema_errors,
                },
            });
            if want_coverage {
                doc["summary"]["coverage"] = json!({
                    "percent": percent(covered, outcomes), "covered": covered, "outcomes": outcomes,
                    "below_minimum": below.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                });
            }
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
        OutputFormat::Sarif => {
            let doc = super::report::sarif(&out.take_findings());
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
        OutputFormat::Junit => {
            outln!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ruleqc\" tests=\"{}\" failures=\"{failed}\" errors=\"{}\">\n{junit}</testsuites>",
                passed + failed + bad_files.len(),
                bad_files.len()
            );
        }
        _ => {
            if !out.quiet || failed > 0 || !bad_files.is_empty() {
                outln!("{summary}");
            }
        }
    }
    if failed > 0
        || bugs > 0
        || !bad_files.is_empty()
        || few > 0
        || min_failed.is_some()
        || schema_errors > 0
    {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// `covered` of `total` as a whole percentage, rounded down (100 only when all are covered);
/// nothing to cover is 100%.
fn percent(covered: usize, total: usize) -> usize {
    (covered * 100).checked_div(total).unwrap_or(100)
}

/// One rule's coverage: a line per rule and one per gap (human), or notes at the gaps.
fn report_coverage(
    out: &Output,
    l: &Loaded,
    rule: &Rule,
    items: &[CoverItem],
    pct: usize,
    human: bool,
) {
    if human && !out.quiet {
        outln!(
            "coverage {}: {pct}% ({} of {} outcomes)",
            rule.rule_id,
            items.iter().map(CoverItem::covered).sum::<usize>(),
            items.len() * 2
        );
    }
    for item in items.iter().filter(|i| i.covered() < 2) {
        let never = match (item.seen_true, item.seen_false) {
            (false, false) => "never evaluated (no test reaches it)",
            (false, true) => "never true",
            _ => "never false",
        };
        if human && !out.quiet {
            outln!("  {never}: {}{}", "  ".repeat(item.depth), item.text);
        }
        if !matches!(out.format, OutputFormat::Human | OutputFormat::Short) {
            let at = locate(&l.file.text, rule, item.start, item.end);
            let (line, column) = line_col(&l.file.text, at);
            out.finding(Finding {
                file: l.file.path.clone(),
                line,
                column,
                level: "note",
                code: "coverage".into(),
                message: format!(
                    "`{}` in rule `{}` is {never} in its tests",
                    item.text, rule.rule_id
                ),
                help: Some("add a test whose event gives it the other outcome".into()),
            });
        }
    }
}
