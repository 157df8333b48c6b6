//! The rule set's schemas at the CLI: resolving them once per command (reporting test events
//! that contradict a profile's column types), and `ruleqc schema`.

use std::collections::BTreeSet;

use super::Output;
use crate::backend::schema::SchemaSet;
use crate::diag::Severity;
use crate::profile::Profile;
use crate::profile::diagnostics::{RuleFile, schema_diagnostics};
use crate::rule::{Loaded, Rule};

/// Resolves `profile`'s schemas over every rule that loaded, and reports the schema
/// diagnostics in the rule files: test events that contradict a declared column type (E0406)
/// and fields the log type's schema lacks (W0601). Returns the ids of the rules with an
/// error (they are not compiled or run) and the number of warnings.
pub fn resolve(
    out: &Output,
    profile: &mut Profile,
    loaded: &[Loaded],
) -> (BTreeSet<String>, usize) {
    let rules: Vec<(&Loaded, &Rule)> = loaded
        .iter()
        .filter_map(|l| l.rule().map(|r| (l, r)))
        .collect();
    let files: Vec<RuleFile<'_>> = rules
        .iter()
        .map(|(l, r)| RuleFile {
            rule: r,
            text: &l.file.text,
        })
        .collect();
    let mut bad = BTreeSet::new();
    let mut warnings = 0;
    for (i, d) in schema_diagnostics(profile, &files) {
        let (l, rule) = rules[i];
        out.report_one(&l.file.path, &l.file.text, &d);
        match d.severity {
            Severity::Error => {
                bad.insert(rule.rule_id.clone());
            }
            Severity::Warning => warnings += 1,
        }
    }
    (bad, warnings)
}

/// `explain --stage schema`: each log type the rule set uses, its columns, their types and
/// where each type came from.
pub fn describe_set(set: &SchemaSet, log_types: &[String]) -> String {
    let mut text = String::new();
    for lt in log_types {
        let Some(s) = set.log_types.get(lt) else {
            continue;
        };
        text.push_str(&format!("{lt}\n"));
        let width = s
            .columns
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0);
        for (k, c) in &s.columns {
            text.push_str(&format!("  {k:width$}  {:7}  {}\n", c.ty.name(), c.origin));
        }
    }
    text
}
