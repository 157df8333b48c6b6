//! `ruleqc compile`: rules -> queries.

use std::path::PathBuf;

use serde_json::json;

use super::args::{SqlDialect, Target, TestFormat};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::backend::sql::render_query;
use crate::diag::Diagnostic;
use crate::rule::{Rule, load_paths};
use crate::testing::glob_match;

/// One rule's query for a target.
pub fn compile_one(rule: &Rule, target: Target, dialect: SqlDialect) -> Result<String, Diagnostic> {
    match target {
        Target::Sql => render_query(rule, dialect.dialect(), &|_| None),
        Target::Splunk => crate::backend::spl::render_query(rule),
        Target::Kql => crate::backend::kql::render_query(rule, &|_| None),
    }
}

pub fn run(
    out: &Output,
    paths: &[PathBuf],
    filters: &[String],
    target: Target,
    dialect: SqlDialect,
    format: TestFormat,
) -> i32 {
    let loaded = match load_paths(paths) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let selected = |id: &str| filters.is_empty() || filters.iter().any(|f| glob_match(f, id));
    let mut failed = false;
    let mut text = String::new();
    let mut items = Vec::new();
    for l in &loaded {
        let Some(rule) = l.rule() else {
            out.report(l);
            failed = true;
            continue;
        };
        if !selected(&rule.rule_id) {
            continue;
        }
        match compile_one(rule, target, dialect) {
            Ok(q) => {
                text.push_str(&format!("-- {}\n{q};\n\n", rule.rule_id));
                items.push(json!({
                    "rule_id": rule.rule_id,
                    "target": target.name(),
                    "dialect": (target == Target::Sql).then(|| dialect.name()),
                    "query": q,
                }));
            }
            Err(d) => {
                out.report_one(&l.file.path, &l.file.text, &d);
                failed = true;
            }
        }
    }
    match format {
        TestFormat::Text => print!("{text}"),
        TestFormat::Json => println!("{}", serde_json::to_string_pretty(&items).expect("json")),
    }
    if failed { EXIT_FINDINGS } else { EXIT_OK }
}
