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
    let target = target.unwrap_or(Target::Sql);
    if dialect.is_some() && target != Target::Sql {
        return out.fatal(&format!(
            "--dialect is for --target sql, not --target {}",
            target.name()
        ));
    }
    let dialect = dialect.unwrap_or(SqlDialect::Duckdb);
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
        Stage::Plan => match plan(rule, target, dialect, &profile) {
            Ok(text) => text,
            Err(d) => {
                out.report_one(&l.file.path, &l.file.text, &d);
                return EXIT_FINDINGS;
            }
        },
        Stage::Schema => {
            let set = match target {
                Target::Kql => profile.kql.as_ref().and_then(|k| k.resolved.clone()),
                _ => profile.sql.as_ref().and_then(|s| s.resolved.clone()),
            };
            match set {
                Some(set) => super::schema::describe_set(&set, &rule.log_types),
                None => {
                    return out.fatal(&format!(
                        "profile `{}` has no `{}` section",
                        profile.name,
                        target.name()
                    ));
                }
            }
        }
        Stage::Query => match super::compile::compile_one(rule, target, dialect, &profile) {
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
    target: Target,
    dialect: SqlDialect,
    profile: &crate::profile::Profile,
) -> Result<String, crate::diag::Diagnostic> {
    use crate::backend::schema::TableSchema;
    let e0402 = |m: String| crate::diag::Diagnostic::error("E0402", m, rule.spans.rule_id.clone());
    // The rule as the target reads it, and each log type's schema.
    let (read, schemas): (
        std::borrow::Cow<'_, crate::rule::Rule>,
        Vec<Option<TableSchema>>,
    ) = match target {
        Target::Sql => {
            let p = profile.sql(dialect.name()).map_err(e0402)?;
            let d = dialect.dialect();
            let read = p.rename_for(rule, d)?;
            let schemas = rule
                .log_types
                .iter()
                .map(|lt| Ok(p.placement_in(&profile.name, &read, lt, d)?.schema))
                .collect::<Result<_, crate::diag::Diagnostic>>()?;
            (read, schemas)
        }
        Target::Kql => {
            let p = profile.kql().map_err(e0402)?;
            let read = p.rename(rule);
            let schemas = rule
                .log_types
                .iter()
                .map(|lt| Ok(p.placement(&profile.name, &read, lt)?.schema))
                .collect::<Result<_, crate::diag::Diagnostic>>()?;
            (read, schemas)
        }
        // SPL reads fields by name, with no column types.
        Target::Splunk => {
            let read = profile.splunk().map_err(e0402)?.rename(rule);
            let n = rule.log_types.len();
            (read, vec![Some(TableSchema::default()); n])
        }
    };
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
