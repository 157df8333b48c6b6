//! The rule set's schemas at the CLI: resolving them once per command (reporting test events
//! that contradict a profile's column types), and `ruleqc schema`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use serde_json::Value;

use super::args::Command;
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::backend::schema::SchemaBuilder;
use crate::backend::schema::SchemaSet;
use crate::diag::Diagnostic;
use crate::profile::Profile;
use crate::profile::diagnostics::{UnknownFields, contradiction};
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
    // A packed rule (`rule::Keep::pack`) is resolved from its head and the columns it implies,
    // and unpacked only for its W0601 window.
    let rules: Vec<(&Loaded, &Rule)> = loaded
        .iter()
        .filter_map(|l| l.head().map(|r| (l, r)))
        .collect();
    let only: Vec<&Rule> = rules.iter().map(|(_, r)| *r).collect();
    let implied: Vec<_> = rules.iter().map(|(l, _)| l.implied()).collect();
    let conflicts = profile.resolve_schemas_implying(&only, &implied);
    let mut bad = BTreeSet::new();
    // E0406 first, in the order resolution found them; each read from its rule's text.
    let texts: Vec<_> = conflicts
        .iter()
        .map(|c| rules[c.contradiction.rule].0.text())
        .collect();
    let errors: Vec<_> = conflicts
        .iter()
        .zip(&texts)
        .map(|(c, text)| {
            let l = rules[c.contradiction.rule].0;
            let rule = l.full().expect("a resolved rule loaded");
            bad.insert(rule.rule_id.clone());
            let text = text.as_deref().unwrap_or("");
            (l, contradiction(&rule, text, c, &profile.name))
        })
        .collect();
    let reports: Vec<_> = errors
        .iter()
        .zip(&texts)
        .map(|((l, d), text)| located(l, text, d))
        .collect();
    out.report_all(
        &reports
            .iter()
            .map(|(p, t, d)| (*p, *t, &**d))
            .collect::<Vec<_>>(),
    );
    // Then W0601, per rule in rule order: a window of rules at a time on all cores, each rule
    // with a warning read back for its text, then reported.
    let mut warnings = 0;
    if let Some(unknown) = UnknownFields::new(profile) {
        for window in rules.chunks(WARNING_WINDOW) {
            let found = crate::par::map(window.iter().collect(), |(l, _)| {
                let ds = unknown.of(&l.condition().expect("a resolved rule loaded"));
                let text = (!ds.is_empty()).then(|| l.text());
                (ds, text)
            });
            let reports: Vec<_> = window
                .iter()
                .zip(&found)
                .flat_map(|((l, _), (ds, text))| {
                    ds.iter().map(move |d| {
                        let text = text.as_ref().expect("read for its warnings");
                        located(l, text, d)
                    })
                })
                .collect();
            warnings += reports.len();
            out.report_all(
                &reports
                    .iter()
                    .map(|(p, t, d)| (*p, *t, &**d))
                    .collect::<Vec<_>>(),
            );
        }
    }
    (bad, warnings)
}

/// Rules whose W0601 warnings are found, then reported, at a time (their warnings, rendered
/// reports and re-read texts are held at the peak, next to the whole loaded set).
const WARNING_WINDOW: usize = 256;

/// A diagnostic of a loaded file with the text to point into: the file's (`Loaded::text`),
/// or, when that cannot be had, none, and the diagnostic without its position and saying why.
fn located<'a>(
    l: &'a Loaded,
    text: &'a Result<std::borrow::Cow<'_, str>, String>,
    d: &'a Diagnostic,
) -> (&'a str, &'a str, std::borrow::Cow<'a, Diagnostic>) {
    match text {
        Ok(t) => (&l.file.path, t, std::borrow::Cow::Borrowed(d)),
        Err(why) => (
            &l.file.path,
            "",
            std::borrow::Cow::Owned(super::unplaced(d, why)),
        ),
    }
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

/// `ruleqc schema`: sample logs -> a profile with each log type's columns and types.
pub fn run(out: &Output, command: &Command) -> i32 {
    let Command::Schema {
        events,
        log_type,
        log_type_field,
        merge,
        strict,
    } = command
    else {
        unreachable!("called for `schema`")
    };
    for f in events {
        if let Err(e) = std::fs::metadata(f) {
            return out.fatal(&format!("{}: {e}", f.display()));
        }
    }
    let mut profile = match merge {
        Some(path) => match out.profile(&path.display().to_string()) {
            Ok(p) => p,
            Err(code) => return code,
        },
        None => Profile {
            name: "inferred".into(),
            sql: Some(crate::profile::SqlProfile {
                table_template: Some("{table}".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    };
    let Some(sql) = profile.sql.as_mut() else {
        return out.fatal(&format!(
            "profile `{}` has no `sql` section to add columns to",
            profile.name
        ));
    };
    let mut builders: BTreeMap<String, SchemaBuilder> = BTreeMap::new();
    let (mut count, mut untyped, mut bad) = (0usize, 0usize, 0usize);
    let pb = indicatif::ProgressBar::hidden();
    for f in events {
        let flow = crate::run::read_events(
            f,
            &pb,
            &mut |ev: Value| {
                let lt = match log_type {
                    Some(t) => Some(t.clone()),
                    None => ev
                        .get(log_type_field)
                        .and_then(Value::as_str)
                        .map(str::to_string),
                };
                match lt {
                    Some(lt) => {
                        count += 1;
                        let row = crate::profile::rename_event(&ev, &sql.renames);
                        builders.entry(lt).or_default().add(&row);
                    }
                    None => untyped += 1,
                }
                ControlFlow::Continue(())
            },
            &mut |line| {
                bad += 1;
                errln!("malformed: {line}");
                if *strict {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        match flow {
            Err(e) => return out.fatal(&format!("{}: {e}", f.display())),
            Ok(ControlFlow::Break(())) => return EXIT_FINDINGS,
            Ok(ControlFlow::Continue(())) => {}
        }
    }
    if builders.is_empty() {
        let how = match log_type {
            Some(t) => format!("--log-type {t}"),
            None => format!(
                "no event has a string `{log_type_field}` (use --log-type or --log-type-field)"
            ),
        };
        return out.fatal(&format!("no events to infer a schema from: {how}"));
    }
    for (lt, b) in builders {
        let entry = sql.log_types.entry(lt.clone()).or_default();
        for (col, ty) in b.finish().columns {
            match entry.columns.get(&col) {
                Some(declared) if *declared != ty => errln!(
                    "note: {lt}: kept `{col}: {}` from {}; the events show {}",
                    declared.name(),
                    profile.name,
                    ty.name()
                ),
                Some(_) => {}
                None => {
                    entry.columns.insert(col, ty);
                }
            }
        }
    }
    let files: Vec<String> = events.iter().map(|f| f.display().to_string()).collect();
    outln!(
        "# Columns inferred by `ruleqc schema` from {count} event{} ({}){}.\n# Review the types, commit this file, and pass it with --profile to compile, test and run.",
        if count == 1 { "" } else { "s" },
        files.join(", "),
        match merge {
            Some(m) => format!(", merged into {}", m.display()),
            None => String::new(),
        }
    );
    out!("{}", crate::profile::write::write(&profile));
    if untyped > 0 && !out.quiet {
        errln!("note: {untyped} event(s) without a string `{log_type_field}` were skipped");
    }
    if bad > 0 && !out.quiet {
        errln!("note: {bad} malformed line(s) skipped (--strict stops at the first)");
    }
    EXIT_OK
}
