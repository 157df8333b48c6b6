//! `ruleqc compile`: rules -> queries.

use std::path::Path;

use serde_json::json;

use super::args::{SqlDialect, Target, TestFormat};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::backend::sql::render_placed_query;
use crate::diag::Diagnostic;
use crate::package::{self, Artifact};
use crate::profile::Profile;
use crate::rule::{Rule, load_paths};
use crate::testing::glob_match;

/// One rule's query for a target, placed by the profile.
pub fn compile_one(
    rule: &Rule,
    target: Target,
    dialect: SqlDialect,
    profile: &Profile,
) -> Result<String, Diagnostic> {
    match target {
        Target::Sql => {
            let sql = profile.sql(dialect.name()).map_err(|m| Diagnostic {
                severity: crate::diag::Severity::Error,
                code: "E0402",
                message: m,
                span: None,
                label: None,
                help: None,
            })?;
            let renamed = sql.rename(rule);
            render_placed_query(&renamed, dialect.dialect(), &|lt| {
                sql.placement(&profile.name, &renamed, lt)
            })
        }
        Target::Splunk => crate::backend::spl::render_query(rule),
        Target::Kql => crate::backend::kql::render_query(rule, &|_| None),
    }
}

pub fn run(out: &Output, command: &super::args::Command) -> i32 {
    let super::args::Command::Compile {
        paths,
        target,
        dialect,
        format,
        rules: filters,
        out: out_dir,
        check,
        prune,
        profile,
    } = command
    else {
        unreachable!("called for `compile`")
    };
    let (target, dialect, format) = (*target, *dialect, *format);
    let profile = match out.profile(profile) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if out_dir.is_some() && target != Target::Sql {
        return out.fatal(&format!(
            "--out is not available for --target {} yet; print the queries instead",
            target.name()
        ));
    }
    let loaded = match load_paths(paths) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let selected = |id: &str| filters.is_empty() || filters.iter().any(|f| glob_match(f, id));
    let mut failed = false;
    let mut text = String::new();
    let mut items = Vec::new();
    let mut artifacts = Vec::new();
    for l in &loaded {
        let Some(rule) = l.rule() else {
            out.report(l);
            failed = true;
            continue;
        };
        if !selected(&rule.rule_id) {
            continue;
        }
        match compile_one(rule, target, dialect, &profile) {
            Ok(q) => {
                artifacts.push(crate::package::sql_file::artifact(rule, dialect.name(), &q));
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
    if let Some(dir) = out_dir {
        return write_artifacts(out, dir, &artifacts, *check, *prune, failed);
    }
    match format {
        TestFormat::Text => print!("{text}"),
        TestFormat::Json => println!("{}", serde_json::to_string_pretty(&items).expect("json")),
    }
    if failed { EXIT_FINDINGS } else { EXIT_OK }
}

/// `--out DIR`, with `--check` / `--prune`.
fn write_artifacts(
    out: &Output,
    dir: &Path,
    artifacts: &[Artifact],
    check: bool,
    prune: bool,
    failed: bool,
) -> i32 {
    let changes = match package::diff(dir, artifacts, ".sql") {
        Ok(c) => c,
        Err(e) => return out.fatal(&format!("{}: {e}", dir.display())),
    };
    for n in &changes.foreign {
        eprintln!(
            "error: {}: exists and was not written by ruleqc; not overwriting it",
            dir.join(n).display()
        );
    }
    if check {
        for (_, d) in &changes.changed {
            print!("{d}");
        }
        for n in &changes.added {
            println!("would add {}", dir.join(n).display());
        }
        for n in &changes.stale {
            println!(
                "stale {} (no rule produces it; --prune removes it)",
                dir.join(n).display()
            );
        }
        let differs = !changes.is_clean(true);
        println!(
            "{}: {} to add, {} changed, {} stale",
            if differs { "out of date" } else { "up to date" },
            changes.added.len(),
            changes.changed.len(),
            changes.stale.len()
        );
        return if differs || failed {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        };
    }
    if let Err(e) = package::write(dir, artifacts, &changes, prune) {
        return out.fatal(&format!("{}: {e}", dir.display()));
    }
    for n in changes.stale.iter().filter(|_| !prune) {
        eprintln!(
            "warning: {} is stale (no rule produces it); --prune removes it",
            dir.join(n).display()
        );
    }
    println!(
        "{}: {} added, {} updated, {} unchanged{}",
        dir.display(),
        changes.added.len(),
        changes.changed.len(),
        artifacts.len() - changes.added.len() - changes.changed.len() - changes.foreign.len(),
        if prune {
            format!(", {} removed", changes.stale.len())
        } else {
            String::new()
        }
    );
    if failed || !changes.foreign.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
