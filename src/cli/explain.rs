//! `ruleqc explain`: print one rule's condition at a stage.

use std::path::{Path, PathBuf};

use super::args::{SqlDialect, Stage, Target};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::rule::load_paths_with;

pub fn run(
    out: &Output,
    file: &Path,
    stage: Stage,
    target: Option<Target>,
    dialect: Option<SqlDialect>,
    profile: Option<&str>,
) -> i32 {
    if !matches!(stage, Stage::Query | Stage::Schema | Stage::Plan) {
        let given = [
            target.map(|_| "--target"),
            dialect.map(|_| "--dialect"),
            profile.map(|_| "--profile"),
        ];
        if let Some(flag) = given.into_iter().flatten().next() {
            return out.fatal(&format!(
                "{flag} only changes `--stage query`, `plan` and `schema`; add one of them or drop {flag}"
            ));
        }
    }
    let backend = target.unwrap_or(crate::compile::TARGETS[0]);
    if let Some(m) = super::compile::dialect_misuse(backend, dialect.is_some()) {
        return out.fatal(&m);
    }
    let target = crate::compile::Target::new(backend, dialect);
    let mut profile = match out.profile(profile.unwrap_or("default")) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if file.is_dir() {
        return out.fatal(&format!(
            "{}: explain takes one rule file, not a directory",
            file.display()
        ));
    }
    let loaded = match load_paths_with(&[PathBuf::from(file)], &out.discovery).map(|s| s.loaded) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let Some(l) = loaded.first() else {
        return out.fatal(&format!("{}: no rule", file.display()));
    };
    let Some(rule) = l.rule() else {
        out.report(l);
        return EXIT_FINDINGS;
    };
    if !super::schema::resolve(out, &mut profile, &loaded)
        .0
        .is_empty()
    {
        return EXIT_FINDINGS;
    }
    let text = match stage {
        Stage::Ast => crate::explain::ast_tree(&rule.condition.ast()),
        Stage::Ir => rule.condition.ir.pretty(),
        Stage::Plan => match plan(rule, target, &profile) {
            Ok(text) => text,
            Err(d) => {
                out.report_one(&l.file.path, &l.file.text, &d);
                return EXIT_FINDINGS;
            }
        },
        Stage::Schema => match backend.schemas(&profile) {
            Some(set) => super::schema::describe_set(set, &rule.log_types),
            None => {
                return out.fatal(&format!(
                    "profile `{}` has no `{}` section",
                    profile.name,
                    backend.name()
                ));
            }
        },
        Stage::Query => match super::compile::compile_one(rule, target, &profile) {
            Ok(q) => format!("{q}\n"),
            Err(d) => {
                out.report_one(&l.file.path, &l.file.text, &d);
                return EXIT_FINDINGS;
            }
        },
    };
    out!("{text}");
    EXIT_OK
}

/// `--stage plan`: the lowering plan `compile` builds for the target, on the schema it uses
/// (the profile's renames, then the rule set's resolved schema of each log type), one plan per
/// log type the rule reads, each headed by its log type when there are several.
fn plan(
    rule: &crate::rule::Rule,
    target: crate::compile::Target,
    profile: &crate::profile::Profile,
) -> Result<String, crate::diag::Diagnostic> {
    // The rule as the target reads it, and each log type's schema.
    let (read, schemas) = target.backend().reading(rule, profile, target.dialect())?;
    let mut text = String::new();
    for (lt, schema) in rule.log_types.iter().zip(schemas) {
        let schema = schema.unwrap_or_else(|| crate::backend::inferred_schema(&read));
        if rule.log_types.len() > 1 {
            text.push_str(&format!("-- {lt}\n"));
        }
        text.push_str(&crate::backend::plan::lower(&read.condition.ir, &schema).to_string());
    }
    Ok(text)
}
