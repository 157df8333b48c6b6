//! `ruleqc check`: load and statically check every rule, and with `--target`, compile it for
//! each target as `compile` would, writing nothing; for KQL, every limit of Sentinel's
//! analytics rules.

use std::path::PathBuf;

use serde_json::json;

use super::args::{OutputFormat, SqlDialect, Target};
use super::{EXIT_FINDINGS, EXIT_OK, Output, report};
use crate::compile::TARGETS;

/// `check`'s options besides the paths.
pub struct CheckOptions<'a> {
    /// `--target`; `None` is `all`.
    pub targets: &'a [Option<Target>],
    pub dialects: &'a [SqlDialect],
    pub profile: Option<&'a str>,
    pub min_tests: Option<usize>,
}

/// Rules compiled (on all cores) ahead of the one reported next, at most.
const CHECK_WINDOW: usize = 256;

pub fn run(out: &Output, paths: &[PathBuf], opts: &CheckOptions<'_>) -> i32 {
    if out.format == OutputFormat::Junit {
        return out.fatal("--output-format junit is for `ruleqc test` results");
    }
    let mut combos = match combinations(out, opts) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The profile checked against (the default one without --target).
    let mut default = match &combos {
        Some(_) => None,
        None => crate::profile::Profile::built_in("default"),
    };
    let profile = combos.as_ref().map(|(p, _)| p).or(default.as_ref());
    // `check` runs no tests: the loaded rules keep their events' shapes, not their values.
    let keep = profile.map_or(crate::rule::Keep::ALL, |p| super::keep_for(p, false));
    let set = match out.load_keeping(paths, keep) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let loaded = &set.loaded;
    let mut errors = 0;
    let mut bad_files = 0;
    let (schema_errors, mut warnings) = match (&mut combos, &mut default) {
        (Some((profile, _)), _) | (None, Some(profile)) => {
            super::schema::resolve(out, profile, loaded)
        }
        (None, None) => Default::default(),
    };
    // Errors by code, for the summary's count by reason.
    let mut by_code: std::collections::BTreeMap<&'static str, usize> = Default::default();
    // With --target, the rules are compiled on all cores (as `compile` does) and reported in
    // order on this thread as they are done.
    crate::par::stream(
        CHECK_WINDOW,
        loaded.iter().collect(),
        |l| {
            // Without --target nothing is compiled, and nothing is unpacked; a packed rule
            // (`rule::Keep::pack`) is unpacked here, and dropped once reported.
            let compiled = (|| {
                let (profile, combos) = combos.as_ref()?;
                let rule = l.full()?;
                let each = combos.iter().map(|&target| {
                    if target.backend().packaging().limits().is_some() {
                        super::compile::compile_one(&rule, target, profile)
                    } else {
                        super::compile::check_one(&rule, target, profile)
                    }
                });
                let each = each.collect::<Vec<_>>();
                Some((rule, each))
            })();
            (l, compiled)
        },
        |(l, queries)| {
            let mut n = out.report(l);
            if let Err(ds) = &l.result {
                for d in ds {
                    *by_code.entry(d.code).or_default() += 1;
                }
            }
            if l.head().is_some_and(|r| schema_errors.contains(&r.rule_id)) {
                n += 1;
            }
            if let (Some((rule, queries)), Some((profile, combos))) = (queries, &combos) {
                for (target, query) in combos.iter().zip(queries) {
                    if let Some(limits) = target.backend().packaging().limits() {
                        // Every limit of the platform's deployed rules, each at the key it is
                        // about.
                        let (e, w) = limit_findings(out, l, &rule, query, profile, limits);
                        n += e;
                        warnings += w;
                        continue;
                    }
                    let which = |d: &mut crate::diag::Diagnostic| {
                        d.message = match target.dialect() {
                            Some(dialect) => {
                                format!("{} (--dialect {})", d.message, dialect.name())
                            }
                            None => format!("{} (--target {})", d.message, target.family()),
                        };
                    };
                    match query {
                        Ok(q) => {
                            if let Some(mut w) = crate::compile::size_warning(&q, target.dialect())
                            {
                                which(&mut w);
                                out.report_loaded(l, &w);
                                warnings += 1;
                            }
                        }
                        Err(mut d) => {
                            which(&mut d);
                            out.report_loaded(l, &d);
                            *by_code.entry(d.code).or_default() += 1;
                            n += 1;
                        }
                    }
                }
            }
            // A packed rule's head keeps its tests.
            if let Some(rule) = l.head() {
                match super::test::few_tests(out, l, rule, opts.min_tests) {
                    Some(crate::diag::Severity::Error) => n += 1,
                    Some(crate::diag::Severity::Warning) => warnings += 1,
                    None => {}
                }
            }
            errors += n;
            bad_files += usize::from(n > 0);
        },
    );
    let ok = loaded.len() - bad_files;
    let skipped = match set.skipped.len() {
        0 => String::new(),
        n => format!("; {n} other YAML file{} skipped", plural(n)),
    };
    let summary = format!(
        "{} rule file{} checked: {ok} ok, {bad_files} with errors ({errors} error{}{}){skipped}",
        loaded.len(),
        plural(loaded.len()),
        plural(errors),
        match warnings {
            0 => String::new(),
            w => format!(", {w} warning{}", plural(w)),
        }
    );
    match out.format {
        OutputFormat::Json => {
            let findings: Vec<_> = out.take_findings().iter().map(|f| f.json()).collect();
            let doc = json!({
                "diagnostics": findings,
                "skipped": set.skipped.iter().map(|s| json!({"file": s.path, "reason": s.reason})).collect::<Vec<_>>(),
                "summary": {"files": loaded.len(), "ok": ok, "with_errors": bad_files, "errors": errors, "warnings": warnings},
            });
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
        OutputFormat::Sarif => {
            let doc = report::sarif(&out.take_findings());
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
        _ => {
            if !out.quiet {
                for s in &set.skipped {
                    errln!("note: {}: skipped, {}", s.path, s.reason);
                }
                outln!("{summary}");
                if !by_code.is_empty() {
                    let reasons: Vec<String> =
                        by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
                    outln!("errors by code: {}", reasons.join(", "));
                }
            }
        }
    }
    super::leave((set, combos, default));
    if bad_files > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Loaded profile and each target (in each dialect) `--target`/`--dialect` ask for; `None`
/// without `--target`. `Err` is the exit status of a usage error, already printed.
#[allow(clippy::type_complexity)]
fn combinations(
    out: &Output,
    opts: &CheckOptions<'_>,
) -> Result<Option<(crate::profile::Profile, Vec<crate::compile::Target>)>, i32> {
    // A platform's built-in profile (`sentinel`) means its target.
    let implied: Vec<Option<Target>> = TARGETS
        .iter()
        .copied()
        .filter(|t| opts.profile.is_some() && t.implied_by_profile() == opts.profile)
        .map(Some)
        .collect();
    let opts = &CheckOptions {
        targets: if opts.targets.is_empty() && !implied.is_empty() {
            &implied
        } else {
            opts.targets
        },
        ..*opts
    };
    if opts.targets.is_empty() {
        if !opts.dialects.is_empty() || opts.profile.is_some() {
            return Err(out.fatal(
                "--dialect and --profile choose what `check --target` compiles for; add --target",
            ));
        }
        return Ok(None);
    }
    let all = opts.targets.iter().any(|t| t.is_none());
    let wants = |t: Target| all || opts.targets.iter().any(|w| w.is_some_and(|w| *w == *t));
    let with_dialects = || TARGETS.iter().filter(|t| t.has_dialects());
    if !opts.dialects.is_empty() && !with_dialects().any(|&t| wants(t)) {
        let names: Vec<String> = with_dialects()
            .map(|t| format!("--target {}", t.name()))
            .collect();
        return Err(out.fatal(&format!("--dialect is for {} (or all)", names.join(" or "))));
    }
    let explicit_profile = opts.profile.is_some();
    let profile = out.profile(opts.profile.unwrap_or("default"))?;
    let mut combos = Vec::new();
    for &t in TARGETS.iter().filter(|&&t| wants(t)) {
        if t.has_dialects() {
            let dialects: Vec<SqlDialect> = if opts.dialects.is_empty() {
                SqlDialect::ALL.to_vec()
            } else {
                opts.dialects.to_vec()
            };
            for d in dialects {
                match t.section(&profile, Some(d)) {
                    Ok(()) => combos.push(crate::compile::Target::new(t, Some(d))),
                    // `all` with a profile for one dialect: that dialect only.
                    Err(_) if all || opts.dialects.is_empty() => {}
                    Err(m) => return Err(out.fatal(&m)),
                }
            }
            continue;
        }
        match t.section(&profile, None) {
            Ok(()) => combos.push(crate::compile::Target::of(t)),
            Err(_) if all && explicit_profile => {}
            Err(m) => return Err(out.fatal(&m)),
        }
    }
    if combos.is_empty() {
        return Err(out.fatal(&format!(
            "profile `{}` places no rules for the targets asked for",
            profile.name
        )));
    }
    Ok(Some((profile, combos)))
}

/// The platform's limits (Sentinel's, with its ATT&CK pairing) for one loaded rule and its
/// compiled `query`, reported at the rule key each is about; returns the numbers of errors and
/// warnings.
fn limit_findings(
    out: &Output,
    l: &crate::rule::Loaded,
    rule: &crate::rule::Rule,
    query: Result<String, crate::diag::Diagnostic>,
    profile: &crate::profile::Profile,
    limits: crate::package::LimitCheck,
) -> (usize, usize) {
    use crate::diag::{Diagnostic, Severity};
    let query = match query {
        Ok(q) => q,
        Err(d) => {
            out.report_loaded(l, &d);
            return (1, 0);
        }
    };
    let mut warnings = 0;
    if let Some(w) = crate::compile::size_warning(&query, None) {
        out.report_loaded(l, &w);
        warnings += 1;
    }
    let (findings, help) = limits(rule, &query, profile);
    if findings.is_empty() {
        return (0, warnings);
    }
    // The rule's text, read back once for the findings' keys.
    let text = l.text();
    let mut errors = 0;
    for f in findings {
        let span = key_span(text.as_deref().unwrap_or(""), f.key);
        let mut d = Diagnostic::error("E0404", f.message, span).with_help(help);
        if !f.error {
            d.severity = Severity::Warning;
            d.help = None;
            warnings += 1;
        }
        errors += usize::from(f.error);
        match &text {
            Ok(t) => out.report_one(&l.file.path, t, &d),
            Err(why) => out.report_one(&l.file.path, "", &super::unplaced(&d, why)),
        }
    }
    (errors, warnings)
}

/// Where `key` is in the rule file (the RuleID if it is not written there).
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
