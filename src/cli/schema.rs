//! The rule set's schemas at the CLI: resolving them once per command (reporting test events
//! that contradict a profile's column types), and `ruleqc schema`.

use std::collections::BTreeSet;
use std::ops::Range;

use super::Output;
use crate::backend::schema::{SchemaSet, describe};
use crate::diag::Diagnostic;
use crate::profile::{Profile, SchemaConflict};
use crate::rule::yaml::{self, Kind};
use crate::rule::{Loaded, Rule};

/// Resolves `profile`'s schemas over every rule that loaded, and reports each test event that
/// contradicts a declared column type (E0406) in its rule file. Returns the ids of the rules
/// with such an event: they are not compiled or run.
pub fn resolve(out: &Output, profile: &mut Profile, loaded: &[Loaded]) -> BTreeSet<String> {
    let rules: Vec<(&Loaded, &Rule)> = loaded
        .iter()
        .filter_map(|l| l.rule().map(|r| (l, r)))
        .collect();
    let only: Vec<&Rule> = rules.iter().map(|(_, r)| *r).collect();
    let conflicts = profile.resolve_schemas(&only);
    let mut bad = BTreeSet::new();
    for c in &conflicts {
        let (l, rule) = rules[c.contradiction.rule];
        out.report_one(
            &l.file.path,
            &l.file.text,
            &contradiction(l, rule, c, &profile.name),
        );
        bad.insert(rule.rule_id.clone());
    }
    bad
}

/// E0406: a test event's value that the profile's column type cannot hold.
pub fn contradiction(l: &Loaded, rule: &Rule, c: &SchemaConflict, profile: &str) -> Diagnostic {
    let k = &c.contradiction;
    let test = &rule.tests[k.test];
    let span = field_span(&l.file.text, k.test, &c.key).unwrap_or(test.span.start..test.span.start);
    let column = if c.key == k.column {
        format!("`{}`", k.column)
    } else {
        format!("`{}` (column `{}`)", c.key, k.column)
    };
    Diagnostic::error(
        "E0406",
        format!(
            "test `{}` of rule `{}` gives {column} {}, but profile {profile} declares it {} for {}",
            test.name,
            rule.rule_id,
            describe(&k.value),
            k.declared.name(),
            k.log_type
        ),
        span,
    )
    .with_label(format!("not a {} value", k.declared.name()))
    .with_help(
        "a query deployed against that column would never see this value; fix the event, or \
         declare the column `json` if its values differ in type",
    )
}

/// Where the top-level key `key` of test number `test`'s `Log` is in a rule file.
pub fn field_span(text: &str, test: usize, key: &str) -> Option<Range<usize>> {
    let root = yaml::parse(text).ok()??;
    let entry = |n: &yaml::Node, name: &str| -> Option<(yaml::Node, yaml::Node)> {
        match &n.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.scalar_text() == Some(name))
                .cloned(),
            _ => None,
        }
    };
    let (_, tests) = entry(&root, "Tests")?;
    let Kind::Seq(items) = &tests.kind else {
        return None;
    };
    let (_, log) = entry(items.get(test)?, "Log")?;
    Some(entry(&log, key)?.0.span)
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
