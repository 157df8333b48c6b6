//! `ruleqc test`: run every rule's Tests.

use std::path::PathBuf;

use serde_json::json;

use super::args::{EngineChoice, TestFormat};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::engine::{Engine, EngineError};
use crate::rule::load_paths;
use crate::testing::{glob_match, run_rule_tests};

pub fn run(
    out: &Output,
    paths: &[PathBuf],
    filters: &[String],
    format: TestFormat,
    engine: EngineChoice,
    duckdb: Option<&std::path::Path>,
) -> i32 {
    let loaded = match load_paths(paths) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let mut engine: Option<Box<dyn Engine>> = match engine {
        EngineChoice::None => None,
        EngineChoice::Sqlite => match crate::engine::sqlite::Sqlite::new() {
            Ok(e) => Some(Box::new(e)),
            Err(e) => return out.fatal(&e.to_string()),
        },
        EngineChoice::Duckdb => match crate::engine::duckdb::DuckDb::new(duckdb.map(PathBuf::from))
        {
            Ok(e) => Some(Box::new(e)),
            Err(EngineError::Missing(m)) | Err(EngineError::Failed(m)) => return out.fatal(&m),
        },
    };
    let selected = |id: &str| filters.is_empty() || filters.iter().any(|f| glob_match(f, id));
    if !filters.is_empty()
        && !loaded
            .iter()
            .filter_map(|l| l.rule())
            .any(|r| selected(&r.rule_id))
    {
        return out.fatal(&format!(
            "no rule matches {}",
            filters
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let (mut passed, mut failed, mut bad_files, mut bugs) = (0usize, 0usize, 0usize, 0usize);
    let mut rules_json = Vec::new();
    let mut errors_json = Vec::new();
    for l in &loaded {
        let Some(rule) = l.rule() else {
            // A rule that does not load cannot be filtered by id: always report it.
            bad_files += 1;
            out.report(l);
            if let Err(diags) = &l.result {
                for d in diags {
                    let (line, col) = d
                        .span
                        .as_ref()
                        .map_or((1, 1), |s| crate::diag::line_col(&l.file.text, s.start));
                    errors_json.push(json!({
                        "file": l.file.path, "line": line, "column": col,
                        "code": d.code, "message": d.message,
                    }));
                }
            }
            continue;
        };
        if !selected(&rule.rule_id) {
            continue;
        }
        let run = run_rule_tests(rule, engine.as_mut().map(|e| &mut **e as &mut dyn Engine));
        if let Some(e) = &run.engine_error {
            bugs += 1;
            if format == TestFormat::Text {
                outln!(
                    "COMPILER BUG {} ({}): the compiled query did not run: {e}",
                    rule.rule_id,
                    rule.path
                );
            }
        }
        let mut tests_json = Vec::new();
        for r in &run.results {
            if let Some(v) = r.disagreement() {
                bugs += 1;
                if format == TestFormat::Text {
                    outln!(
                        "COMPILER BUG {} :: {}: the reference evaluator says {}, {} says {}",
                        rule.rule_id,
                        r.name,
                        r.reference(),
                        v.evaluator,
                        v.result
                    );
                    if let Some(sql) = &run.engine_sql {
                        outln!("  condition as run: {sql}");
                    }
                }
            }
            if r.passed() {
                passed += 1;
            } else {
                failed += 1;
                if format == TestFormat::Text && r.reference() != r.expected {
                    outln!(
                        "FAIL {} :: {}: expected {}, got {} (reference evaluator)",
                        rule.rule_id,
                        r.name,
                        r.expected,
                        r.reference()
                    );
                }
            }
            let verdicts: serde_json::Map<String, serde_json::Value> = r
                .verdicts
                .iter()
                .map(|v| (v.evaluator.to_string(), json!(v.result)))
                .collect();
            tests_json.push(json!({
                "name": r.name, "expected": r.expected, "passed": r.passed(),
                "verdicts": verdicts,
            }));
        }
        let mut rule_json = json!({
            "rule_id": rule.rule_id, "file": rule.path, "tests": tests_json,
        });
        if let Some(e) = &run.engine_error {
            rule_json["engine_error"] = json!(e);
        }
        rules_json.push(rule_json);
    }
    match format {
        TestFormat::Text => outln!("{passed} passed, {failed} failed"),
        TestFormat::Json => {
            let doc = json!({
                "rules": rules_json,
                "errors": errors_json,
                "summary": {"passed": passed, "failed": failed, "rules_with_errors": bad_files, "compiler_bugs": bugs},
            });
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
    }
    if failed > 0 || bad_files > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
