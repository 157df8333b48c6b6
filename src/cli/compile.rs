//! `ruleqc compile`: rules -> queries.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use serde_json::json;

use super::args::OutputFormat;
use super::args::{CompileFormat, SqlDialect, Target};
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::diag::Diagnostic;
use crate::package::{self, Artifact};
use crate::profile::Profile;
use crate::rule::Rule;
use crate::testing::glob_match;

/// Bytes of text output gathered before they are written to stdout.
const STDOUT_CHUNK: usize = 1 << 16;

/// One rule's query for a target, placed by the profile.
pub fn compile_one(
    rule: &Rule,
    target: Target,
    dialect: SqlDialect,
    profile: &Profile,
) -> Result<String, Diagnostic> {
    let target = match target {
        Target::Sql => crate::compile::Target::Sql(dialect),
        Target::Splunk => crate::compile::Target::Splunk,
        Target::Kql => crate::compile::Target::Kql,
    };
    crate::compile::compile(rule, target, profile)
}

/// Queries past this size get a warning: every engine and SIEM bounds a query's text.
const LARGE_QUERY: usize = 1 << 20;

/// W0404: a compiled query of more than a mebibyte (a long `in` list is the usual cause).
pub fn size_warning(q: &str) -> Option<Diagnostic> {
    (q.len() > LARGE_QUERY).then(|| Diagnostic {
        severity: crate::diag::Severity::Warning,
        code: "W0404",
        message: format!(
            "the compiled query is {:.1} MB; engines and SIEMs limit the length of a query",
            q.len() as f64 / 1e6
        ),
        span: None,
        label: None,
        help: Some(
            "long `in` lists grow every query; a lookup table or a shorter list keeps it \
             deployable"
                .into(),
        ),
    })
}

/// What `compile` would report for one rule and target, without writing anything: the query
/// and the checks of the target's deployable artifact (Splunk's cron, Sentinel's limits).
/// `Ok` is the query.
pub fn check_one(
    rule: &Rule,
    target: Target,
    dialect: SqlDialect,
    profile: &Profile,
) -> Result<String, Diagnostic> {
    let q = compile_one(rule, target, dialect, profile)?;
    let packaged = match target {
        Target::Sql => Ok(()),
        Target::Splunk => profile
            .splunk()
            .and_then(|sp| crate::package::savedsearches::stanza_with(rule, &q, sp))
            .map(|_| ()),
        Target::Kql => crate::package::sentinel::yaml_with(rule, &q, profile).map(|_| ()),
    };
    packaged.map(|()| q).map_err(|m| Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0403",
        message: m,
        span: None,
        label: None,
        help: Some(format!(
            "rule `{}` cannot be deployed as a {} artifact",
            rule.rule_id,
            target.name()
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
    let (target, format) = (*target, *format);
    if dialect.is_some() && target != Target::Sql {
        return out.fatal(&format!(
            "--dialect is for --target sql, not --target {}",
            target.name()
        ));
    }
    let dialect = dialect.unwrap_or(SqlDialect::Duckdb);
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
    if format == CompileFormat::Arm && target != Target::Kql {
        return out.fatal("--format arm is for --target kql (Sentinel)");
    }
    if out_dir.is_some() && format == CompileFormat::Json {
        return out.fatal(
            "--format json prints the queries; with --out, the artifacts are written as files \
             (drop one of the two)",
        );
    }
    // A profile that cannot place this target at all is one usage mistake, not one error per
    // rule.
    let section = match target {
        Target::Sql => profile.sql(dialect.name()).map(|_| ()),
        Target::Splunk => profile.splunk().map(|_| ()),
        Target::Kql => profile.kql().map(|_| ()),
    };
    if let Err(m) = section {
        let hint = match (target, profile.sql.as_ref().and_then(|s| s.dialect)) {
            (Target::Sql, Some(d)) => format!("add `--dialect {d}`"),
            _ => format!(
                "choose a profile with a `{}` section (`ruleqc list profiles`)",
                target.name()
            ),
        };
        return out.fatal(&format!("{m}\n  = help: {hint}"));
    }
    let single_file = target == Target::Splunk || format == CompileFormat::Arm;
    if out_dir.is_some() && single_file && !filters.is_empty() {
        return out.fatal(&format!(
            "--rule cannot be combined with --out for {}: it writes one file for all rules, and \
             the rules left out would be removed from it",
            if target == Target::Splunk {
                "--target splunk (savedsearches.conf)"
            } else {
                "--format arm (sentinel_rules.json)"
            }
        ));
    }
    let loaded = match out.load(paths) {
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
    let mut artifacts = Vec::new();
    let mut stanzas = Vec::new();
    let mut arm = Vec::new();
    for l in &loaded {
        let Some(rule) = l.rule() else {
            out.report(l);
            failed = true;
            continue;
        };
        if !selected(&rule.rule_id) || conflicting.contains(&rule.rule_id) {
            continue;
        }
        let stable;
        let rule = match &out_base {
            Some(base) => {
                let mut r = rule.clone();
                r.path = stable_path(base, Path::new(&rule.path));
                stable = r;
                &stable
            }
            None => rule,
        };
        let packaged = compile_one(rule, target, dialect, &profile).and_then(|q| {
            let packaging = |m: String| Diagnostic {
                severity: crate::diag::Severity::Error,
                code: "E0403",
                message: m,
                span: Some(rule.spans.rule_id.clone()),
                label: Some("this rule".into()),
                help: Some(format!(
                    "rule `{}` cannot be deployed as a {} artifact",
                    rule.rule_id,
                    target.name()
                )),
            };
            match (target, format) {
                (Target::Sql, _) if !keep_artifacts => {}
                (Target::Sql, _) => {
                    artifacts.push(crate::package::sql_file::artifact(rule, dialect.name(), &q));
                    if profile.name == "panther" {
                        artifacts.extend(crate::package::panther::artifacts(rule, &q));
                    }
                }
                (Target::Splunk, _) => {
                    // Made also without --out: its errors are reported either way.
                    let stanza = crate::package::savedsearches::stanza_with(
                        rule,
                        &q,
                        profile.splunk().map_err(packaging)?,
                    )
                    .map_err(packaging)?;
                    if keep_artifacts {
                        stanzas.push((rule.rule_id.clone(), stanza));
                    }
                }
                (Target::Kql, CompileFormat::Arm) => arm.push((
                    rule.rule_id.clone(),
                    crate::package::sentinel::arm_resource_with(rule, &q, &profile)
                        .map_err(packaging)?,
                )),
                (Target::Kql, _) => {
                    let contents = crate::package::sentinel::yaml_with(rule, &q, &profile)
                        .map_err(packaging)?;
                    if keep_artifacts {
                        artifacts.push(Artifact {
                            name: format!("{}.yaml", rule.rule_id),
                            contents,
                        });
                    }
                }
            }
            Ok(q)
        });
        match packaged {
            Ok(q) => {
                if let Some(w) = size_warning(&q) {
                    out.report_one(&l.file.path, &l.file.text, &w);
                }
                if stream_text {
                    let id = &rule.rule_id;
                    match target {
                        Target::Sql => write!(text, "-- {id}\n{q};\n\n"),
                        Target::Kql => write!(text, "// {id}\n{q}\n\n"),
                        Target::Splunk => write!(text, "```{id}```\n{q}\n\n"),
                    }
                    .expect("writing to a String");
                    if text.len() >= STDOUT_CHUNK {
                        out!("{text}");
                        text.clear();
                    }
                }
                if keep_items {
                    items.push(json!({
                        "rule_id": rule.rule_id,
                        "target": target.name(),
                        "dialect": (target == Target::Sql).then(|| dialect.name()),
                        "query": q,
                    }));
                }
            }
            Err(d) => {
                out.report_one(&l.file.path, &l.file.text, &d);
                failed = true;
            }
        }
    }
    let extensions: &[&str] = match (target, format) {
        (Target::Sql, _) if profile.name == "panther" => {
            &[".sql", ".query.yml", ".rule.yml", ".py"]
        }
        (Target::Sql, _) => &[".sql"],
        (Target::Splunk, _) => {
            artifacts.push(Artifact {
                name: "savedsearches.conf".into(),
                contents: crate::package::savedsearches::file(&stanzas),
            });
            &["savedsearches.conf"]
        }
        (Target::Kql, CompileFormat::Arm) => {
            artifacts.push(Artifact {
                name: "sentinel_rules.json".into(),
                contents: crate::package::sentinel::arm_template(std::mem::take(&mut arm)),
            });
            &[".json"]
        }
        (Target::Kql, _) => &[".yaml"],
    };
    if let Some(dir) = out_dir {
        // Files of rules that exist but were filtered out or failed to compile are not stale.
        let existing: std::collections::HashSet<&str> = loaded
            .iter()
            .filter_map(|l| l.rule())
            .map(|r| r.rule_id.as_str())
            .collect();
        let keep = |name: &str| {
            extensions
                .iter()
                .find_map(|x| name.strip_suffix(x))
                .is_some_and(|id| existing.contains(id) || !selected(id))
        };
        let unloaded = loaded.iter().filter(|l| l.rule().is_none()).count();
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
        CompileFormat::Arm => out!("{}", artifacts.last().map_or("", |a| a.contents.as_str())),
    }
    if failed { EXIT_FINDINGS } else { EXIT_OK }
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
