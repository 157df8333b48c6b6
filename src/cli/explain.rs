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
    if !matches!(stage, Stage::Query | Stage::Schema) {
        let given = [
            target.map(|_| "--target"),
            dialect.map(|_| "--dialect"),
            profile.map(|_| "--profile"),
        ];
        if let Some(flag) = given.into_iter().flatten().next() {
            return out.fatal(&format!(
                "{flag} only changes `--stage query`; add `--stage query` or drop {flag}"
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
        Stage::Ast => crate::explain::ast_tree(&rule.condition.ast),
        Stage::Ir => rule.condition.ir.pretty(),
        Stage::Plan => {
            crate::backend::plan::lower(&rule.condition.ir, &crate::backend::inferred_schema(rule))
                .to_string()
        }
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
