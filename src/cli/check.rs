//! `ruleqc check`: load and statically check every rule; with the Sentinel target or profile,
//! also every limit of Sentinel's analytics rules.

use std::path::PathBuf;

use super::args::{SqlDialect, Target};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::diag::{Diagnostic, Severity};
use crate::rule::{Loaded, load_paths};

pub fn run(out: &Output, paths: &[PathBuf], target: Option<Target>, profile: &str) -> i32 {
    let sentinel = target == Some(Target::Kql) || profile == "sentinel";
    let profile = match out.profile(profile) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let loaded = match load_paths(paths) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let mut errors = 0;
    let mut bad_files = 0;
    for l in &loaded {
        let mut n = out.report(l);
        if n == 0 && sentinel {
            n = sentinel_findings(out, l, &profile);
        }
        errors += n;
        bad_files += usize::from(n > 0);
    }
    let ok = loaded.len() - bad_files;
    println!(
        "{} rule file{} checked: {ok} ok, {bad_files} with errors ({errors} error{})",
        loaded.len(),
        if loaded.len() == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
    );
    if bad_files > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Sentinel's limits and ATT&CK pairing for one rule, printed at the rule key each is about;
/// returns the number of errors (warnings are printed, not counted).
fn sentinel_findings(out: &Output, l: &Loaded, profile: &crate::profile::Profile) -> usize {
    let Some(rule) = l.rule() else { return 0 };
    let (path, text) = (&l.file.path, &l.file.text);
    let query = match super::compile::compile_one(rule, Target::Kql, SqlDialect::Duckdb, profile) {
        Ok(q) => q,
        Err(d) => {
            out.report_one(path, text, &d);
            return 1;
        }
    };
    let (_, findings) = crate::package::sentinel::build(rule, &query, profile);
    let mut errors = 0;
    for f in findings {
        let mut d = Diagnostic::error("E0404", f.message, key_span(text, f.key))
            .with_help("a Sentinel analytics rule outside these limits is refused");
        if !f.error {
            d.severity = Severity::Warning;
            d.help = None;
        }
        errors += usize::from(f.error);
        out.report_one(path, text, &d);
    }
    errors
}

/// Where `key` is in the rule file (the file start if it is not written there).
fn key_span(text: &str, key: &str) -> std::ops::Range<usize> {
    let key = if key == "OutputFields" && !text.contains("OutputFields") {
        "SummaryAttributes"
    } else {
        key
    };
    match crate::rule::yaml::parse(text) {
        Ok(Some(root)) => match &root.kind {
            crate::rule::yaml::Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar_text() == Some(key))
                .or_else(|| {
                    entries
                        .iter()
                        .find(|(k, _)| k.scalar_text() == Some("RuleID"))
                })
                .map_or(0..0, |(k, _)| k.span.clone()),
            _ => 0..0,
        },
        _ => 0..0,
    }
}
