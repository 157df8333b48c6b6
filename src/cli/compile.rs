//! `ruleqc compile`: rules -> queries.

use std::path::Path;

use serde_json::json;

use super::args::{CompileFormat, SqlDialect, Target};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::backend::sql::render_placed_query;
use crate::diag::Diagnostic;
use crate::package::{self, Artifact};
use crate::profile::Profile;
use crate::rule::{Rule, load_paths};
use crate::testing::glob_match;

/// E0402: the profile cannot place rules for this target.
fn profile_error(message: String) -> Diagnostic {
    Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0402",
        message,
        span: None,
        label: None,
        help: None,
    }
}

/// One rule's query for a target, placed by the profile.
pub fn compile_one(
    rule: &Rule,
    target: Target,
    dialect: SqlDialect,
    profile: &Profile,
) -> Result<String, Diagnostic> {
    match target {
        Target::Sql => {
            let sql = profile.sql(dialect.name()).map_err(profile_error)?;
            let renamed = sql.rename(rule);
            render_placed_query(&renamed, dialect.dialect(), &|lt| {
                sql.placement(&profile.name, &renamed, lt)
            })
        }
        Target::Splunk => {
            let splunk = profile.splunk().map_err(profile_error)?;
            let renamed = splunk.rename(rule);
            crate::backend::spl::render_placed_query(&renamed, &|lt| {
                splunk.base(&profile.name, &renamed, lt)
            })
        }
        Target::Kql => {
            let kql = profile.kql().map_err(profile_error)?;
            let renamed = kql.rename(rule);
            crate::backend::kql::render_placed_query(&renamed, &|lt| {
                kql.placement(&profile.name, &renamed, lt)
            })
        }
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
    if format == CompileFormat::Arm && target != Target::Kql {
        return out.fatal("--format arm is for --target kql (Sentinel)");
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
    let mut stanzas = Vec::new();
    let mut arm = Vec::new();
    for l in &loaded {
        let Some(rule) = l.rule() else {
            out.report(l);
            failed = true;
            continue;
        };
        if !selected(&rule.rule_id) {
            continue;
        }
        let packaged = compile_one(rule, target, dialect, &profile).and_then(|q| {
            let packaging = |m: String| Diagnostic {
                severity: crate::diag::Severity::Error,
                code: "E0403",
                message: m,
                span: None,
                label: None,
                help: Some(format!(
                    "rule `{}` cannot be deployed as a {} artifact",
                    rule.rule_id,
                    target.name()
                )),
            };
            match (target, format) {
                (Target::Sql, _) => {
                    artifacts.push(crate::package::sql_file::artifact(rule, dialect.name(), &q));
                    if profile.name == "panther" {
                        artifacts.extend(crate::package::panther::artifacts(rule, &q));
                    }
                }
                (Target::Splunk, _) => stanzas.push((
                    rule.rule_id.clone(),
                    crate::package::savedsearches::stanza(rule, &q).map_err(packaging)?,
                )),
                (Target::Kql, CompileFormat::Arm) => arm.push((
                    rule.rule_id.clone(),
                    crate::package::sentinel::arm_resource(rule, &q).map_err(packaging)?,
                )),
                (Target::Kql, _) => artifacts.push(Artifact {
                    name: format!("{}.yaml", rule.rule_id),
                    contents: crate::package::sentinel::yaml(rule, &q).map_err(packaging)?,
                }),
            }
            Ok(q)
        });
        match packaged {
            Ok(q) => {
                let (comment, end) = match target {
                    Target::Sql => (format!("-- {}", rule.rule_id), ";"),
                    Target::Kql => (format!("// {}", rule.rule_id), ""),
                    Target::Splunk => (format!("```{}```", rule.rule_id), ""),
                };
                text.push_str(&format!("{comment}\n{q}{end}\n\n"));
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
    let extensions: &[&str] = match (target, format) {
        (Target::Sql, _) if profile.name == "panther" => {
            &[".sql", ".query.yml", ".rule.yml", ".py"]
        }
        (Target::Sql, _) => &[".sql"],
        (Target::Splunk, _) => {
            artifacts.push(Artifact {
                name: "savedsearches.conf".into(),
                contents: crate::package::savedsearches::file(&stanzas),
            });
            &["savedsearches.conf"]
        }
        (Target::Kql, CompileFormat::Arm) => {
            artifacts.push(Artifact {
                name: "sentinel_rules.json".into(),
                contents: crate::package::sentinel::arm_template(std::mem::take(&mut arm)),
            });
            &[".json"]
        }
        (Target::Kql, _) => &[".yaml"],
    };
    if let Some(dir) = out_dir {
        return write_artifacts(out, dir, &artifacts, *check, *prune, failed, extensions);
    }
    match format {
        CompileFormat::Text => out!("{text}"),
        CompileFormat::Json => outln!("{}", serde_json::to_string_pretty(&items).expect("json")),
        CompileFormat::Arm => out!("{}", artifacts.last().map_or("", |a| a.contents.as_str())),
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
    extensions: &[&str],
) -> i32 {
    let changes = match package::diff(dir, artifacts, extensions) {
        Ok(c) => c,
        Err(e) => return out.fatal(&format!("{}: {e}", dir.display())),
    };
    for n in &changes.foreign {
        errln!(
            "error: {}: exists and was not written by ruleqc; not overwriting it",
            dir.join(n).display()
        );
    }
    if check {
        for (_, d) in &changes.changed {
            out!("{d}");
        }
        for n in &changes.added {
            outln!("would add {}", dir.join(n).display());
        }
        for n in &changes.stale {
            outln!(
                "stale {} (no rule produces it; --prune removes it)",
                dir.join(n).display()
            );
        }
        let differs = !changes.is_clean(true);
        outln!(
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
        errln!(
            "warning: {} is stale (no rule produces it); --prune removes it",
            dir.join(n).display()
        );
    }
    outln!(
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
