//! `ruleqc run`: rules over local log files.

use std::io::{IsTerminal, Write};

use serde_json::{Value, json};

use super::args::{Command, RunEngine, RunFormat};
use super::{EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Output, written};
use crate::backend::sql::SqlDialect;
use crate::engine::native;
use crate::rule::Rule;
use crate::run::{LogTypeOf, Options, Scan, run_duckdb, run_sqlite, scan};
use crate::testing::glob_match;

pub fn run(out: &Output, command: &Command) -> i32 {
    let Command::Run {
        paths,
        events,
        log_type,
        log_type_field,
        engine,
        duckdb,
        format,
        strict,
        rules: filters,
        profile,
    } = command
    else {
        unreachable!("called for `run`")
    };
    for f in events {
        if let Err(e) = std::fs::metadata(f) {
            return out.fatal(&format!("{}: {e}", f.display()));
        }
    }
    let loaded = match out.load(paths) {
        Ok(set) => set.loaded,
        Err(code) => return code,
    };
    let mut profile = match out.profile(profile) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let dialect = match engine {
        RunEngine::Duckdb => SqlDialect::Duckdb,
        RunEngine::Native | RunEngine::Sqlite | RunEngine::Verify => SqlDialect::Sqlite,
    };
    // The SQL section's renames are what every engine reads the events through.
    if let Err(m) = profile.sql(dialect.name()) {
        return out.fatal(&m);
    }
    // Over every rule that loaded, as `compile` resolves them.
    let (conflicting, _) = super::schema::resolve(out, &mut profile, &loaded);
    let mut rule_errors = !conflicting.is_empty();
    let mut rules: Vec<&Rule> = Vec::new();
    for l in &loaded {
        match l.rule() {
            Some(r) if conflicting.contains(&r.rule_id) => {}
            Some(r) if filters.is_empty() || filters.iter().any(|f| glob_match(f, &r.rule_id)) => {
                rules.push(r)
            }
            Some(_) => {}
            None => {
                out.report(l);
                rule_errors = true;
            }
        }
    }
    if let Some(m) = super::no_rule_matches(filters, &loaded) {
        return out.fatal(&m);
    }
    let duck = match engine {
        RunEngine::Duckdb => match crate::engine::duckdb::DuckDb::new(duckdb.clone()) {
            Ok(d) => Some(d),
            Err(e) => return out.fatal(&e.to_string()),
        },
        RunEngine::Native | RunEngine::Sqlite | RunEngine::Verify => None,
    };
    // The rules as they read the events: renamed fields are the keys the profile maps them to.
    let renamed: Vec<Rule> = match &profile.sql {
        Some(sql) => rules.iter().map(|r| sql.rename(r).into_owned()).collect(),
        None => rules.iter().map(|r| (*r).clone()).collect(),
    };
    let planned = match engine {
        RunEngine::Native => Vec::new(),
        RunEngine::Sqlite | RunEngine::Duckdb | RunEngine::Verify => {
            match crate::run::plan(&rules, &profile, dialect) {
                Ok(p) => p,
                Err(e) => return out.fatal(&e),
            }
        }
    };
    let rules: Vec<&Rule> = renamed.iter().collect();
    let log_type_of = match log_type {
        Some(t) => LogTypeOf::Fixed(t.clone()),
        None => LogTypeOf::Field(log_type_field.clone()),
    };
    let mut wanted: Vec<String> = rules
        .iter()
        .flat_map(|r| r.log_types.iter().cloned())
        .collect();
    wanted.sort();
    wanted.dedup();
    let opts = Options {
        files: events,
        log_type_of: &log_type_of,
        strict: *strict,
        progress: std::io::stderr().is_terminal() && !out.quiet,
    };

    let mut counts = vec![0u64; rules.len()];
    let mut matches: Vec<Vec<Value>> = vec![Vec::new(); rules.len()];
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let mut on_match = |m: crate::run::Match| {
        counts[m.rule] += 1;
        match format {
            RunFormat::Jsonl => {
                let line = json!({"rule_id": rules[m.rule].rule_id, "event": m.event});
                written(writeln!(w, "{line}"));
            }
            // Printed per rule, after the run.
            RunFormat::Table => matches[m.rule].push(m.event),
        }
    };
    let mut on_bad = |bad: &crate::run::BadLine| errln!("malformed: {bad}");
    // `--engine verify`'s finding, reported after the output.
    let mut bug = None;
    let (scanned, result) = match engine {
        RunEngine::Native => match native::run(&opts, &rules, &mut on_bad, &mut on_match) {
            Ok(Some(s)) => (s, Ok(())),
            Ok(None) => return stopped(),
            Err(e) => return out.fatal(&e),
        },
        RunEngine::Verify => match verify(&opts, &rules, &wanted, &planned, &mut on_match) {
            Ok(Some((s, agree))) => {
                bug = agree.err();
                (s, Ok(()))
            }
            Ok(None) => return stopped(),
            Err(e) => return out.fatal(&e),
        },
        RunEngine::Sqlite | RunEngine::Duckdb => {
            let typed = match &duck {
                Some(_) => match crate::run::merged_tables(&planned) {
                    Ok(t) => Some(t),
                    Err(e) => return out.fatal(&e),
                },
                None => None,
            };
            let scanned = match scan(&opts, &wanted, typed.as_ref(), &mut on_bad) {
                Ok(Some(s)) => s,
                Ok(None) => return stopped(),
                Err(e) => return out.fatal(&e),
            };
            let result = match &duck {
                Some(d) => run_duckdb(&opts, &rules, &planned, &scanned, d, &mut on_match),
                None => run_sqlite(&opts, &rules, &planned, &mut on_match),
            };
            (scanned, result)
        }
    };
    if let Err(e) = result {
        written(w.flush());
        errln!("error: {e}");
        return EXIT_FINDINGS;
    }
    if *format == RunFormat::Table {
        for (i, rule) in rules.iter().enumerate() {
            let n = counts[i];
            written(writeln!(
                w,
                "{}: {n} match{}",
                rule.rule_id,
                if n == 1 { "" } else { "es" }
            ));
            print_table(&mut w, rule, &matches[i]);
        }
    }
    written(w.flush());
    let total: u64 = counts.iter().sum();
    let none = match scanned.no_log_type {
        0 => String::new(),
        n => format!(", {n} without a log type"),
    };
    if !out.quiet {
        errln!(
            "{} events read ({} malformed line{} skipped, {} of other log types{none}), {} rule{}, {total} match{}",
            scanned.events,
            scanned.bad_lines,
            if scanned.bad_lines == 1 { "" } else { "s" },
            scanned.skipped,
            rules.len(),
            if rules.len() == 1 { "" } else { "s" },
            if total == 1 { "" } else { "es" },
        );
    }
    if scanned.no_log_type > 0 {
        let how = match &log_type_of {
            LogTypeOf::Field(f) => format!("a string field `{f}`"),
            LogTypeOf::Fixed(_) => unreachable!("--log-type gives every event one"),
        };
        errln!(
            "{}: {} event{} without {how} {} not checked against any rule\n  \
             = help: --log-type LOG_TYPE treats every event as that log type; \
             --log-type-field FIELD names the field that holds it",
            if scanned.events == 0 {
                "error"
            } else {
                "warning"
            },
            scanned.no_log_type,
            if scanned.no_log_type == 1 { "" } else { "s" },
            if scanned.no_log_type == 1 {
                "was"
            } else {
                "were"
            },
        );
        if scanned.events == 0 {
            return EXIT_USAGE;
        }
    }
    if let Some(bug) = bug {
        errln!("error: {bug}");
        return EXIT_FINDINGS;
    }
    if rule_errors { EXIT_FINDINGS } else { EXIT_OK }
}

fn stopped() -> i32 {
    errln!("stopped at the first malformed line (--strict)");
    EXIT_FINDINGS
}

/// `--engine verify`: the native engine, then the compiled SQL on SQLite over the same files.
/// The native matches go to `on_match`; `Err` in the second half when the two disagree (a
/// compiler bug, one of the two engines is wrong), naming what differs.
#[allow(clippy::type_complexity)]
fn verify(
    opts: &Options<'_>,
    rules: &[&Rule],
    wanted: &[String],
    planned: &[crate::run::Planned],
    on_match: &mut dyn FnMut(crate::run::Match),
) -> Result<Option<(Scan, Result<(), String>)>, String> {
    let mut ours = Vec::new();
    let Some(scanned) = native::run(
        opts,
        rules,
        &mut |bad| errln!("malformed: {bad}"),
        &mut |m| ours.push((m.rule, m.event)),
    )?
    else {
        return Ok(None);
    };
    // The malformed lines were reported by the native pass.
    let Some(sql_scan) = scan(opts, wanted, None, &mut |_| {})? else {
        return Ok(None);
    };
    let mut theirs = Vec::new();
    run_sqlite(opts, rules, planned, &mut |m| {
        theirs.push((m.rule, m.event))
    })?;
    let mut diffs = native::disagreements(rules, &ours, &theirs);
    let seen = |s: &Scan| (s.events, s.bad_lines, s.skipped, s.no_log_type);
    if seen(&scanned) != seen(&sql_scan) {
        diffs.insert(
            0,
            format!(
                "events, malformed lines, other log types, without a log type: native {:?}, SQLite {:?}",
                seen(&scanned),
                seen(&sql_scan)
            ),
        );
    }
    for (rule, event) in ours {
        on_match(crate::run::Match { rule, event });
    }
    let agree = if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "compiler bug: the native engine and the SQL compiled for SQLite disagree on these events:\n  {}",
            diffs.join("\n  ")
        ))
    };
    Ok(Some((scanned, agree)))
}

/// The matching events of one rule: its output fields as columns, or one event per line.
fn print_table(w: &mut impl Write, rule: &Rule, events: &[Value]) {
    if events.is_empty() {
        return;
    }
    if rule.output_fields.is_empty() {
        for e in events {
            written(writeln!(w, "  {e}"));
        }
        return;
    }
    let cell = |v: &Value| match v {
        Value::String(s) => s.replace(['\n', '\t'], " "),
        other => other.to_string(),
    };
    let headers: Vec<&str> = rule.output_fields.iter().map(|f| f.text.as_str()).collect();
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| headers.iter().map(|h| cell(&e[*h])).collect())
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain(std::iter::once(headers[c].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    written(writeln!(w, "  {}", line(headers.clone()).trim_end()));
    for r in &rows {
        written(writeln!(
            w,
            "  {}",
            line(r.iter().map(String::as_str).collect()).trim_end()
        ));
    }
}
