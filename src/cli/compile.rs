//! `ruleqc compile`: rules -> queries.

use std::path::{Component, Path, PathBuf};

use serde_json::json;

use super::args::CompileFormat;
use super::args::OutputFormat;
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::compile::Target;
use crate::diag::Diagnostic;
use crate::package::{self, Artifact};
use crate::profile::Profile;
use crate::rule::Rule;
use crate::testing::glob_match;

/// Bytes of text output gathered before they are written to stdout.
const STDOUT_CHUNK: usize = 1 << 16;

/// Rules rendered (on all cores) ahead of the one whose query is printed next, at most.
const RENDER_WINDOW: usize = 256;

/// One rule's query for a target, placed by the profile.
pub fn compile_one(rule: &Rule, target: Target, profile: &Profile) -> Result<String, Diagnostic> {
    crate::compile::compile(rule, target, profile)
}

/// What `compile` would report for one rule and target, without writing anything: the query
/// and the checks of the target's deployable artifact (Splunk's cron, Sentinel's limits).
/// `Ok` is the query.
pub fn check_one(rule: &Rule, target: Target, profile: &Profile) -> Result<String, Diagnostic> {
    let q = compile_one(rule, target, profile)?;
    let packaged = target
        .backend()
        .packaging()
        .start(profile, target.dialect(), None)
        .add(rule, &q, false);
    packaged.map(|()| q).map_err(|m| Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0403",
        message: m,
        span: None,
        label: None,
        help: Some(format!(
            "rule `{}` cannot be deployed as a {} artifact",
            rule.rule_id,
            target.family()
        )),
    })
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
        deny: _,
    } = command
    else {
        unreachable!("called for `compile`")
    };
    let (backend, format) = (*target, *format);
    if let Some(m) = dialect_misuse(backend, dialect.is_some()) {
        return out.fatal(&m);
    }
    let target = Target::new(backend, *dialect);
    let packaging = backend.packaging();
    // `--format` beyond text and JSON names a packaging's own format (`arm`).
    let form = match format {
        CompileFormat::Packaged(f) => Some(f),
        CompileFormat::Text | CompileFormat::Json => None,
    };
    let profile = match out.profile(profile) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match (out.format, out_dir) {
        (OutputFormat::Junit, _) => {
            return out.fatal("--output-format junit is for `ruleqc test` results");
        }
        (OutputFormat::Json | OutputFormat::Sarif, None) => {
            return out.fatal(&format!(
                "--output-format {} needs --out DIR: without it, stdout carries the queries \
                 (`--format json` prints them as JSON)",
                out.format.name()
            ));
        }
        _ => {}
    }
    if let Some(f) = form
        && !packaging.formats().iter().any(|o| o.name == f)
    {
        let offered = crate::compile::TARGETS.iter().find_map(|t| {
            let o = t.packaging().formats().iter().find(|o| o.name == f)?;
            Some(format!("--target {} ({})", t.name(), o.platform))
        });
        return out.fatal(&format!(
            "--format {f} is for {}",
            offered.unwrap_or_else(|| "no target".into())
        ));
    }
    if out_dir.is_some() && format == CompileFormat::Json {
        return out.fatal(
            "--format json prints the queries; with --out, the artifacts are written as files \
             (drop one of the two)",
        );
    }
    // A profile that cannot place this target at all is one usage mistake, not one error per
    // rule.
    if let Err(m) = backend.section(&profile, target.dialect()) {
        let hint = backend.profile_hint(&profile).unwrap_or_else(|| {
            format!(
                "choose a profile with a `{}` section (`ruleqc list profiles`)",
                backend.name()
            )
        });
        return out.fatal(&format!("{m}\n  = help: {hint}"));
    }
    if let Some(file) = packaging.single_file(form)
        && out_dir.is_some()
        && !filters.is_empty()
    {
        let by = match form {
            Some(f) => format!("--format {f}"),
            None => format!("--target {}", backend.name()),
        };
        return out.fatal(&format!(
            "--rule cannot be combined with --out for {by} ({file}): it writes one file for all \
             rules, and the rules left out would be removed from it"
        ));
    }
    // A form of the packaging's own (`--format arm`) or --out builds artifacts, which may
    // embed test events (Panther's); printed queries need only their shapes.
    let keep = super::keep_for(&profile, out_dir.is_some() || form.is_some());
    let loaded = match out.load_keeping(paths, keep) {
        Ok(set) => set.loaded,
        Err(code) => return code,
    };
    let mut profile = profile;
    let (conflicting, _) = super::schema::resolve(out, &mut profile, &loaded);
    let mut failed = !conflicting.is_empty();
    if let Some(m) = super::no_rule_matches(filters, &loaded) {
        return out.fatal(&m);
    }
    let selected = |id: &str| filters.is_empty() || filters.iter().any(|f| glob_match(f, id));
    // Artifact headers name the rule file relative to its repository's root (else to the
    // output directory), so that the same rules give the same bytes however their paths were
    // typed and wherever ruleqc runs.
    let out_base = out_dir.as_deref().map(absolute);
    // Without --out, text queries go to stdout in chunks as they are made, so the output
    // does not pile up in memory; artifacts are only kept when --out writes them (or for the
    // one ARM template), and JSON items only for --format json.
    let keep_artifacts = out_dir.is_some();
    let stream_text = out_dir.is_none() && matches!(format, CompileFormat::Text);
    let keep_items = out_dir.is_none() && matches!(format, CompileFormat::Json);
    let mut text = String::new();
    let mut items = Vec::new();
    // A format of the packaging's own (`--format arm`) is printed as its file without --out.
    let mut pack = packaging.start(&profile, target.dialect(), form);
    let keep_built = keep_artifacts || form.is_some();
    // Rules are rendered on all cores and packaged and printed in order on this thread while
    // the rest are rendered: the output streams as before and only about a window's queries
    // wait in memory. Without artifacts to keep, the packaging's checks run with the
    // rendering (a `Pack` keeps nothing between rules it does not keep).
    let dialect = target.dialect();
    let e0403 = |rule: &Rule, m: String| Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0403",
        message: m,
        span: Some(rule.spans.rule_id.clone()),
        label: Some("this rule".into()),
        help: Some(format!(
            "rule `{}` cannot be deployed as a {} artifact",
            rule.rule_id,
            backend.name()
        )),
    };
    crate::par::stream(
        RENDER_WINDOW,
        loaded.iter().collect(),
        |l| {
            // A packed rule (`rule::Keep::pack`) is unpacked here, and dropped once rendered.
            let rendered = l.head().and_then(|head| {
                if !selected(&head.rule_id) || conflicting.contains(&head.rule_id) {
                    return None;
                }
                let rule = l.full()?;
                let stable = out_base.as_ref().map(|base| {
                    let mut r = (*rule).clone();
                    r.path = stable_path(base, Path::new(&rule.path));
                    r
                });
                let compiled = stable.as_ref().unwrap_or(&rule);
                let mut query = compile_one(compiled, target, &profile);
                if !keep_built && let Ok(q) = &query {
                    let checked = packaging
                        .start(&profile, dialect, form)
                        .add(compiled, q, false);
                    if let Err(m) = checked {
                        query = Err(e0403(compiled, m));
                    }
                }
                Some((stable, query))
            });
            (l, rendered)
        },
        |(l, rendered)| {
            let Some(head) = l.head() else {
                out.report(l);
                failed = true;
                return;
            };
            let Some((stable, query)) = rendered else {
                return;
            };
            // What is printed needs the rule's id, which the head has; artifacts are built
            // only from rules loaded whole (`keep_for` packs none then), which `rule()` checks.
            let rule = match &stable {
                Some(r) => r,
                None if keep_built => l.rule().expect("loaded"),
                None => head,
            };
            let packaged = match query {
                Ok(q) if keep_built => pack
                    .add(rule, &q, true)
                    .map(|()| q)
                    .map_err(|m| e0403(rule, m)),
                other => other,
            };
            match packaged {
                Ok(q) => {
                    if let Some(w) = crate::compile::size_warning(&q, dialect) {
                        out.report_loaded(l, &w);
                    }
                    if stream_text {
                        backend.print(&mut text, &rule.rule_id, &q);
                        if text.len() >= STDOUT_CHUNK {
                            out!("{text}");
                            text.clear();
                        }
                    }
                    if keep_items {
                        items.push(json!({
                            "rule_id": rule.rule_id,
                            "target": backend.name(),
                            "dialect": dialect.map(|d| d.name()),
                            "query": q,
                        }));
                    }
                }
                Err(d) => {
                    out.report_loaded(l, &d);
                    failed = true;
                }
            }
        },
    );
    let extensions = packaging.extensions(&profile, form);
    let artifacts = pack.finish();
    if let Some(dir) = out_dir {
        // Files of rules that exist but were filtered out or failed to compile are not stale.
        let existing: std::collections::HashSet<&str> = loaded
            .iter()
            .filter_map(|l| l.head())
            .map(|r| r.rule_id.as_str())
            .collect();
        let keep = |name: &str| {
            extensions
                .iter()
                .find_map(|x| name.strip_suffix(x))
                .is_some_and(|id| existing.contains(id) || !selected(id))
        };
        let unloaded = loaded.iter().filter(|l| l.head().is_none()).count();
        let opts = WriteOptions {
            check: *check,
            prune: *prune,
            failed,
            unloaded,
        };
        return write_artifacts(out, dir, &artifacts, extensions, &keep, opts);
    }
    match format {
        CompileFormat::Text => out!("{text}"),
        CompileFormat::Json => outln!("{}", serde_json::to_string_pretty(&items).expect("json")),
        CompileFormat::Packaged(_) => {
            out!("{}", artifacts.last().map_or("", |a| a.contents.as_str()))
        }
    }
    super::leave((loaded, profile, artifacts));
    if failed { EXIT_FINDINGS } else { EXIT_OK }
}

/// The usage error of `--dialect` given for a target without dialects.
pub fn dialect_misuse(backend: super::args::Target, given: bool) -> Option<String> {
    (given && !backend.has_dialects()).then(|| {
        let with: Vec<String> = crate::compile::TARGETS
            .iter()
            .filter(|t| t.has_dialects())
            .map(|t| format!("--target {}", t.name()))
            .collect();
        format!(
            "--dialect is for {}, not --target {}",
            with.join(" or "),
            backend.name()
        )
    })
}

/// An absolute form of `p` without `.`/`..` components or symbolic links, also when `p` (an
/// output directory) does not exist yet: its nearest existing ancestor is resolved.
fn absolute(p: &Path) -> PathBuf {
    let joined = std::env::current_dir().map_or_else(|_| p.to_path_buf(), |cwd| cwd.join(p));
    let mut rest = Vec::new();
    let mut at = joined.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            let mut out = real;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    c => out.push(c),
                }
            }
            return out;
        }
        match (at.parent(), at.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                at = parent;
            }
            _ => return joined.clone(),
        }
    }
}

/// How an artifact names its rule file: relative to the root of the Git repository the file
/// is in (the nearest directory above it with a `.git`), or, outside a repository, relative
/// to the output directory `out` (absolute).
fn stable_path(out: &Path, file: &Path) -> String {
    let file = absolute(file);
    let root = file.ancestors().skip(1).find(|d| d.join(".git").exists());
    relative_path(root.unwrap_or(out), &file)
}

/// `to` relative to the directory `from` (both absolute), with `/` separators.
fn relative_path(from: &Path, to: &Path) -> String {
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let parts: Vec<String> = std::iter::repeat_n("..".to_string(), a.len() - common)
        .chain(
            b[common..]
                .iter()
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    parts.join("/")
}

/// What `--out DIR` was asked to do, and what the run found.
struct WriteOptions {
    check: bool,
    prune: bool,
    /// A rule had errors.
    failed: bool,
    /// Rule files that did not load: their RuleIDs are unknown, so nothing is pruned.
    unloaded: usize,
}

/// `--out DIR`, with `--check` / `--prune`.
fn write_artifacts(
    out: &Output,
    dir: &Path,
    artifacts: &[Artifact],
    extensions: &[&str],
    keep: &dyn Fn(&str) -> bool,
    opts: WriteOptions,
) -> i32 {
    let WriteOptions {
        check,
        mut prune,
        failed,
        unloaded,
    } = opts;
    let changes = match package::diff(dir, artifacts, extensions, keep) {
        Ok(c) => c,
        Err(e) => return out.fatal(&format!("{}: {e}", dir.display())),
    };
    // In the machine formats stdout carries the document: the listing goes to stderr.
    let say = |s: &str| {
        if out.human() {
            out!("{s}")
        } else {
            super::written(std::io::Write::write_all(
                &mut std::io::stderr(),
                s.as_bytes(),
            ))
        }
    };
    let artifact_finding = |name: &str, message: String| {
        out.finding(super::report::Finding {
            file: dir.join(name).display().to_string(),
            line: 1,
            column: 1,
            level: "error",
            code: "artifact".into(),
            message,
            help: None,
        })
    };
    for n in &changes.foreign {
        errln!(
            "error: {}: exists and was not written by ruleqc; not overwriting it",
            dir.join(n).display()
        );
        artifact_finding(n, "exists and was not written by ruleqc".into());
    }
    let code = if check {
        for (n, d) in &changes.changed {
            say(d);
            artifact_finding(
                n,
                "out of date: `ruleqc compile --out` would change it".into(),
            );
        }
        for n in &changes.added {
            say(&format!("would add {}\n", dir.join(n).display()));
            artifact_finding(n, "missing: `ruleqc compile --out` would add it".into());
        }
        for n in &changes.stale {
            say(&format!(
                "stale {} (no rule produces it; --prune removes it)\n",
                dir.join(n).display()
            ));
            artifact_finding(n, "stale: no rule produces it; --prune removes it".into());
        }
        let differs = !changes.is_clean(true);
        let foreign = match changes.foreign.len() {
            0 => String::new(),
            n => format!(", {n} in the way (not written by ruleqc)"),
        };
        say(&format!(
            "{}: {} to add, {} changed, {} stale{foreign}\n",
            if differs { "out of date" } else { "up to date" },
            changes.added.len(),
            changes.changed.len(),
            changes.stale.len()
        ));
        if differs || failed {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        }
    } else {
        if prune && unloaded > 0 && !changes.stale.is_empty() {
            errln!(
                "warning: not pruning: {unloaded} rule file{} did not load, and a stale-looking \
                 file may be the artifact of one of them",
                if unloaded == 1 { "" } else { "s" }
            );
            prune = false;
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
        if !out.quiet {
            say(&format!(
                "{}: {} added, {} updated, {} unchanged{}\n",
                dir.display(),
                changes.added.len(),
                changes.changed.len(),
                artifacts.len()
                    - changes.added.len()
                    - changes.changed.len()
                    - changes.foreign.len(),
                if prune {
                    format!(", {} removed", changes.stale.len())
                } else {
                    String::new()
                }
            ));
        }
        if failed || !changes.foreign.is_empty() {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        }
    };
    match out.format {
        OutputFormat::Json => {
            let names = |v: &[String]| v.to_vec();
            let doc = json!({
                "diagnostics": out.take_findings().iter().filter(|f| f.code != "artifact").map(super::report::Finding::json).collect::<Vec<_>>(),
                "out": dir.display().to_string(),
                "check": check,
                "added": names(&changes.added),
                "changed": changes.changed.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                "stale": names(&changes.stale),
                "foreign": names(&changes.foreign),
                "removed": if prune && !check { names(&changes.stale) } else { Vec::new() },
            });
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
        OutputFormat::Sarif => {
            let doc = super::report::sarif(&out.take_findings());
            outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        }
        _ => {}
    }
    code
}
