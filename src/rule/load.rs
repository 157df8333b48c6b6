//! Rule files -> checked `Rule`s. Reports every problem in a file, with positions in the file,
//! and never stops at the first bad file.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use saphyr_parser::ScalarStyle;

use super::model::*;
use super::yaml::{self, Kind, Node, Resolved};
use crate::diag::{Diagnostic, closest};
use crate::ir::{lower, normalize};
use crate::syntax::parser;

/// Keys ruleqc reads (SPEC §2).
pub const KNOWN_KEYS: &[&str] = &[
    "RuleID",
    "Condition",
    "LogTypes",
    "DisplayName",
    "Description",
    "Runbook",
    "Reference",
    "Enabled",
    "Severity",
    "Tags",
    "Reports",
    "DedupPeriodMinutes",
    "Threshold",
    "SummaryAttributes",
    "OutputFields",
    "Schedule",
    "Tests",
    "Entities",
];

/// Keys of Panther's rule schema that ruleqc accepts and ignores.
pub const IGNORED_KEYS: &[&str] = &[
    "AnalysisType",
    "Filename",
    "ScheduledQueries",
    "InlineFilters",
    "CreateAlert",
    "OnlyUseBaseRiskScore",
    "OutputIds",
    "DynamicSeverities",
    "AlertTitle",
    "AlertContext",
    "GroupBy",
    "Detection",
];

const TEST_KEYS: &[&str] = &["Name", "ExpectedResult", "Log"];
const TEST_IGNORED_KEYS: &[&str] = &["Mocks"];
const SCHEDULE_KEYS: &[&str] = &["RateMinutes", "CronExpression", "LookbackMinutes"];

/// A rule file's text, kept for rendering diagnostics.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The outcome of loading one file.
#[derive(Debug)]
pub struct Loaded {
    /// The file's path, and its text unless it was not kept (see `text`).
    pub file: SourceFile,
    pub result: Result<Box<Rule>, Vec<Diagnostic>>,
    /// Where the RuleID value is, for the cross-file duplicate check.
    rule_id_span: Option<Range<usize>>,
    /// When the text was not kept: what it was, to know it again when it is read back.
    dropped: Option<Digest>,
    /// `Keep::pack`: the rule's condition and metadata as one buffer (`rule::pack`), `result`
    /// holding the rest (its `head`).
    packed: Option<Packed>,
}

/// A packed rule's buffer, and what schema resolution reads of the parts it holds.
#[derive(Debug)]
struct Packed {
    bytes: Box<[u8]>,
    /// The columns the rule's condition and output fields imply (`backend::inferred_schema`),
    /// in order.
    implied: Box<crate::backend::schema::Implied>,
}

/// A file text's length and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Digest {
    len: usize,
    hash: u64,
}

impl Digest {
    fn of(text: &str) -> Digest {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        Digest {
            len: text.len(),
            hash: h.finish(),
        }
    }
}

impl Loaded {
    pub fn rule(&self) -> Option<&Rule> {
        assert!(
            self.packed.is_none(),
            "a packed rule is read with Loaded::head or Loaded::full"
        );
        self.result.as_deref().ok()
    }

    /// The loaded rule's id, path, log types, tests (their events' shapes), and spans
    /// (`Keep::pack` leaves the rest of it empty until `full`); all of it when not packed.
    pub fn head(&self) -> Option<&Rule> {
        self.result.as_deref().ok()
    }

    /// The whole loaded rule, unpacked when `Keep::pack` packed it.
    pub fn full(&self) -> Option<std::borrow::Cow<'_, Rule>> {
        let head = self.result.as_ref().ok()?;
        Some(match &self.packed {
            None => std::borrow::Cow::Borrowed(head),
            Some(p) => std::borrow::Cow::Owned(super::pack::unpack(head, &p.bytes)),
        })
    }

    /// What the W0601 search reads of the rule (`rule::pack::unpack_condition`): its id, log
    /// types and condition's IR and offsets, the rest empty when packed; the whole rule when
    /// not.
    pub fn condition(&self) -> Option<std::borrow::Cow<'_, Rule>> {
        let head = self.result.as_ref().ok()?;
        Some(match &self.packed {
            None => std::borrow::Cow::Borrowed(head),
            Some(p) => std::borrow::Cow::Owned(super::pack::unpack_condition(head, &p.bytes)),
        })
    }

    /// For a packed rule, the columns its condition and output fields imply
    /// (`backend::inferred_schema`, taken before packing); `None` when not packed (read them
    /// from the rule).
    pub fn implied(&self) -> Option<&crate::backend::schema::Implied> {
        self.packed.as_ref().map(|p| &*p.implied)
    }

    /// The text the rule was loaded from, for a diagnostic's position and snippet: the kept
    /// text, or (`Keep::text` off) the file read again. `Err` says why it cannot be had: the
    /// file changed since it was loaded (or can no longer be read), so positions in the
    /// loaded rule may not be positions in it.
    pub fn text(&self) -> Result<std::borrow::Cow<'_, str>, String> {
        let Some(digest) = self.dropped else {
            return Ok(std::borrow::Cow::Borrowed(&self.file.text));
        };
        let changed = || {
            format!(
                "{} changed or went away while ruleqc was reading the rules; this position is \
                 not shown",
                self.file.path
            )
        };
        let bytes = std::fs::read(&self.file.path).map_err(|_| changed())?;
        let text = String::from_utf8(bytes).map_err(|_| changed())?;
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        if Digest::of(&text) != digest {
            return Err(changed());
        }
        Ok(std::borrow::Cow::Owned(text))
    }

    /// Applies `keep` to a loaded rule (a file that did not load keeps everything: its
    /// diagnostics are printed from it).
    fn keeping(mut self, keep: Keep) -> Loaded {
        let Ok(rule) = &mut self.result else {
            return self;
        };
        // Rules read from YAML have their shapes already (`Cx::tests`); Sigma rules' tests
        // come from their samples as values.
        if !keep.events && rule.shapes.len() != rule.tests.len() {
            rule.shapes = rule
                .tests
                .iter_mut()
                .map(|t| EventShape::of(&std::mem::take(&mut t.log)))
                .collect();
        }
        if !keep.text {
            self.dropped = Some(Digest::of(&self.file.text));
            self.file.text = String::new();
        }
        if keep.pack && !keep.events {
            let implied = crate::backend::inferred_schema(rule)
                .columns
                .into_iter()
                .map(|(k, t)| (k.into_boxed_str(), t))
                .collect();
            let bytes = super::pack::pack(rule);
            self.packed = Some(Packed { bytes, implied });
        }
        self
    }
}

/// What a loaded rule keeps. `ruleqc test`, `run` and `explain` keep everything; `compile`
/// and `check`, which run no tests and print diagnostics for few rules, keep less, so that
/// the loaded set of a large rule set stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keep {
    /// The tests' events as values; without it, each test's `log` is `Null` and
    /// `Rule::shapes` holds what schema resolution reads of it.
    pub events: bool,
    /// The file's text; without it, `Loaded::text` reads the file again.
    pub text: bool,
    /// Each rule's condition and metadata packed into one buffer until it is read
    /// (`Loaded::full`; `rule::pack`). Only without `events`: a rule packed is never renamed.
    pub pack: bool,
}

impl Keep {
    pub const ALL: Keep = Keep {
        events: true,
        text: true,
        pack: false,
    };
}

/// How directories are searched for rule files.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// `--exclude` globs: a pattern without `/` matches a file or directory name anywhere; one
    /// with `/` matches the path relative to the searched directory, or as displayed. `*` stays
    /// within a name, `**` crosses directories.
    pub exclude: Vec<String>,
    /// `--sigma-profile`: the Sigma profile (built-in name or file) Sigma rules are read with;
    /// `None` is the built-in `windows-json`.
    pub sigma_profile: Option<String>,
}

/// A YAML file found in a directory that is not a rule, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// What `load_paths_with` found.
#[derive(Debug, Default)]
pub struct LoadedSet {
    pub loaded: Vec<Loaded>,
    /// Non-rule YAML met while searching directories (profiles, Panther packs, ...).
    pub skipped: Vec<Skipped>,
}

/// Files under `paths`: files as given, directories searched recursively for `*.yml` and
/// `*.yaml`, sorted so the order never depends on the file system.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    discover_with(paths, &Discovery::default())
        .map(|found| found.into_iter().map(|(p, _)| p).collect())
}

/// Like `discover`; each file comes with whether it was named (`true`) or found in a
/// directory. Hidden files and directories (`.github/`) are not searched, nor `exclude`d ones.
fn discover_with(paths: &[PathBuf], how: &Discovery) -> Result<Vec<(PathBuf, bool)>, String> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in &how.exclude {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("--exclude {pattern}: {e}"))?;
        builder.add(glob);
    }
    let exclude = builder.build().map_err(|e| format!("--exclude: {e}"))?;
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let before = out.len();
            walk(p, p, &exclude, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
            if out.len() == before {
                return Err(format!(
                    "{}: no rule files (*.yml, *.yaml) found",
                    p.display()
                ));
            }
        } else {
            out.push((p.clone(), true));
        }
    }
    out.sort();
    // A file both named and found in a directory counts as named.
    out.dedup_by(|b, a| {
        let same = a.0 == b.0;
        a.1 |= same && b.1;
        same
    });
    Ok(out)
}

fn walk(
    root: &Path,
    dir: &Path,
    exclude: &globset::GlobSet,
    out: &mut Vec<(PathBuf, bool)>,
) -> std::io::Result<()> {
    // Each name is read once (a sort by `file_name()` makes two per comparison).
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| (e.file_name(), e)))
        .collect::<Result<_, _>>()?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, e) in entries {
        let path = e.path();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let slashed = |p: &Path| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        };
        // Without exclusions, nothing to match (and no slashed paths to write).
        if !exclude.is_empty()
            && (exclude.is_match(&*name)
                || exclude.is_match(slashed(relative))
                || exclude.is_match(slashed(&path)))
        {
            continue;
        }
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(root, &path, exclude, out)?;
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push((path, false));
        }
    }
    Ok(())
}

/// Loads every rule file under `paths`. `Err` only for I/O problems (exit status 2);
/// problems in the files are in each `Loaded`. RuleIDs are checked for uniqueness.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Loaded>, String> {
    load_paths_with(paths, &Discovery::default()).map(|set| set.loaded)
}

/// Panther analysis types that are not detections ruleqc compiles.
const NOT_RULES: &[&str] = &[
    "pack",
    "global",
    "datamodel",
    "lookup_table",
    "saved_query",
    "scheduled_query",
];

/// Why a YAML file found in a directory is not a rule: a Panther pack, global, data model or
/// query, or a ruleqc profile. `None` for anything else, which is loaded (and reported) as a
/// rule, so a broken rule is never skipped. `root` is the file's parsed YAML.
fn not_a_rule(root: &Node) -> Option<String> {
    let Kind::Map(entries) = &root.kind else {
        return None;
    };
    let value = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(name))
            .and_then(|(_, v)| v.scalar_text())
    };
    if let Some(t) = value("AnalysisType")
        && NOT_RULES.contains(&t)
    {
        return Some(format!("a Panther `{t}` file, not a rule"));
    }
    let profile_keys = ["sql", "splunk", "kql"];
    if !entries.is_empty()
        && entries
            .iter()
            .all(|(k, _)| k.scalar_text().is_some_and(|k| profile_keys.contains(&k)))
    {
        return Some("a ruleqc profile, not a rule".to_string());
    }
    None
}

/// `load_paths`, searching directories as `how` says; YAML files in directories that are not
/// rules are listed in `skipped`.
pub fn load_paths_with(paths: &[PathBuf], how: &Discovery) -> Result<LoadedSet, String> {
    load_paths_keeping(paths, how, Keep::ALL)
}

/// `load_paths_with`, each loaded rule keeping what `keep` says.
pub fn load_paths_keeping(
    paths: &[PathBuf],
    how: &Discovery,
    keep: Keep,
) -> Result<LoadedSet, String> {
    let files = discover_with(paths, how)?;
    let mut set = LoadedSet::default();
    // Files are read, and each rule loaded, on all cores (`par::map` keeps the order); the
    // Sigma samples and the duplicate-RuleID check run over the whole set in order.
    let texts = crate::par::map(files, |(f, named)| {
        let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let text = String::from_utf8(bytes);
        let sample = text
            .as_ref()
            .is_ok_and(|t| crate::sigma::samples::is_info(t));
        Ok(RuleText {
            path: f,
            named,
            text,
            sample,
        })
    })
    .into_iter()
    .collect::<Result<Vec<_>, String>>()?;
    // Sigma regression samples first, so that each Sigma rule finds its own.
    let mut samples = crate::sigma::Samples::default();
    for t in texts.iter().filter(|t| t.sample) {
        let Ok(text) = &t.text else { continue };
        for p in crate::sigma::samples::read_info(&t.path, text, &mut samples) {
            set.loaded.push(Loaded {
                file: SourceFile {
                    path: p.path,
                    text: p.text,
                },
                result: Err(vec![p.diagnostic]),
                rule_id_span: None,
                dropped: None,
                packed: None,
            });
        }
    }
    let sigma_profile = match &how.sigma_profile {
        Some(arg) => crate::sigma::SigmaProfile::load(arg)?,
        None => crate::sigma::SigmaProfile::built_in(),
    };
    let outcomes = crate::par::map(texts, |t| {
        load_file(t, &sigma_profile, &samples, keep).map(|l| l.keeping(keep))
    });
    // Exactly as many as are loaded: a loaded rule is large, and a doubled vector's spare
    // half would be a third of the set's size again.
    set.loaded.reserve_exact(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Ok(l) => set.loaded.push(l),
            Err(s) => set.skipped.push(s),
        }
    }
    check_unique_ids(&mut set.loaded);
    Ok(set)
}

/// A file found by `load_paths_with`, read.
struct RuleText {
    path: PathBuf,
    /// Named on the command line, not found in a directory.
    named: bool,
    text: Result<String, std::string::FromUtf8Error>,
    /// Sigma regression samples (`info.yml`), read before the rules.
    sample: bool,
}

/// One file of `load_paths_with`: the rule (or why it did not load), or why it is not a rule.
fn load_file(
    t: RuleText,
    sigma_profile: &crate::sigma::SigmaProfile,
    samples: &crate::sigma::Samples,
    keep: Keep,
) -> Result<Loaded, Skipped> {
    let path = t.path.display().to_string();
    if t.sample {
        return Err(Skipped {
            path,
            reason: "Sigma regression samples (info.yml)".into(),
        });
    }
    match t.text {
        Ok(text) => {
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => text,
            };
            if let Some(root) = crate::sigma::sniff(&text) {
                let (result, rule_id_span) =
                    crate::sigma::load(&path, &text, &root, sigma_profile, samples);
                return Ok(Loaded {
                    file: SourceFile { path, text },
                    result: result.map(Box::new),
                    rule_id_span,
                    dropped: None,
                    packed: None,
                });
            }
            // One YAML parse serves both the rule-or-not question and the rule.
            let parsed = yaml::parse(&text);
            if !t.named
                && let Ok(Some(root)) = &parsed
                && let Some(reason) = not_a_rule(root)
            {
                return Err(Skipped { path, reason });
            }
            Ok(load_parsed(&path, text, parsed, keep))
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let at = text
                .char_indices()
                .map(|(i, _)| i)
                .find(|&i| i >= valid)
                .unwrap_or(text.len());
            let d = Diagnostic::error("E0101", "the file is not valid UTF-8", at..at + 1)
                .with_help("save the rule file as UTF-8");
            Ok(Loaded {
                file: SourceFile { path, text },
                result: Err(vec![d]),
                rule_id_span: None,
                dropped: None,
                packed: None,
            })
        }
    }
}

fn check_unique_ids(loaded: &mut [Loaded]) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for l in loaded.iter_mut() {
        let Ok(rule) = &l.result else { continue };
        let id = rule.rule_id.clone();
        match seen.get(&id) {
            Some(first) => {
                let span = l.rule_id_span.clone().unwrap_or(0..0);
                let d = Diagnostic::error("E0108", format!("duplicate RuleID `{id}`"), span)
                    .with_label("already used")
                    .with_help(format!(
                        "`{id}` is also the RuleID of {first}; RuleIDs must be unique"
                    ));
                l.result = Err(vec![d]);
                l.packed = None;
            }
            None => {
                seen.insert(id, l.file.path.clone());
            }
        }
    }
}

/// Loads one rule from its text. A byte-order mark is dropped first, so that columns and
/// snippets are those of the text an editor shows.
pub fn load_str(path: &str, text: String) -> Loaded {
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let parsed = yaml::parse(&text);
    load_parsed(path, text, parsed, Keep::ALL)
}

/// `load_str` for a text (without a byte-order mark) whose YAML is already parsed.
fn load_parsed(
    path: &str,
    text: String,
    parsed: Result<Option<Node>, Diagnostic>,
    keep: Keep,
) -> Loaded {
    let mut cx = Cx {
        errors: Vec::new(),
        text: &text,
        shapes: !keep.events,
        test_shapes: Vec::new(),
    };
    let (result, rule_id_span) = match cx.rule(path, parsed) {
        Some((rule, span)) if cx.errors.is_empty() => (Ok(rule), Some(span)),
        _ => {
            let mut errors = std::mem::take(&mut cx.errors);
            // In file order, whichever part of the rule found them.
            errors.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
            (Err(errors), None)
        }
    };
    Loaded {
        file: SourceFile {
            path: path.to_string(),
            text,
        },
        result: result.map(Box::new),
        rule_id_span,
        dropped: None,
        packed: None,
    }
}

struct Cx<'t> {
    errors: Vec<Diagnostic>,
    text: &'t str,
    /// Test events are read as shapes (`Keep::events` off), into `shapes`.
    shapes: bool,
    test_shapes: Vec<EventShape>,
}

fn type_error(node: &Node, key: &str, expected: &str) -> Diagnostic {
    Diagnostic::error(
        "E0105",
        format!("`{key}` must be {expected}"),
        node.span.clone(),
    )
    .with_label(format!("found {}", node.kind_name()))
}

impl Cx<'_> {
    fn rule(
        &mut self,
        path: &str,
        parsed: Result<Option<Node>, Diagnostic>,
    ) -> Option<(Rule, Range<usize>)> {
        let root = match parsed {
            Ok(Some(root)) => root,
            Ok(None) => {
                self.errors.push(
                    Diagnostic::error("E0104", "the file is empty: expected a rule", 0..0)
                        .with_help("a rule needs at least `RuleID`, `LogTypes` and `Condition`"),
                );
                return None;
            }
            Err(d) => {
                self.errors.push(tab_indent(self.text, d));
                return None;
            }
        };
        let Kind::Map(entries) = &root.kind else {
            self.errors.push(
                Diagnostic::error(
                    "E0105",
                    "a rule file must be a mapping of keys",
                    root.span.clone(),
                )
                .with_label(format!("found {}", root.kind_name()))
                .with_help("start with `RuleID: ...`"),
            );
            return None;
        };

        let mut rule_id = None;
        let mut condition = None;
        let mut log_types = None;
        let mut rule = Rule::blank(path.to_string());
        let mut output_key: Option<&str> = None;

        for (k, v) in entries {
            let Some(key) = k.scalar_text() else {
                self.errors.push(Diagnostic::error(
                    "E0102",
                    "keys must be plain names",
                    k.span.clone(),
                ));
                continue;
            };
            match key {
                "RuleID" => {
                    if let Some(id) = self.string(v, key) {
                        if valid_rule_id(&id) {
                            rule_id = Some((id, v.span.clone()));
                        } else {
                            self.errors.push(
                                Diagnostic::error("E0106", "RuleID must be a name usable in file names", v.span.clone())
                                    .with_label("invalid RuleID")
                                    .with_help("use letters, digits, `.`, `_` and `-`, starting with a letter or digit, e.g. `AWS.CloudTrail.RootLogin`"),
                            );
                        }
                    }
                }
                "Condition" => condition = Some(v),
                "LogTypes" => {
                    if let Kind::Seq(items) = &v.kind {
                        rule.spans.log_types = items.iter().map(|i| i.span.clone()).collect();
                    }
                    if let Some(list) = self.string_list(v, key, true) {
                        if list.is_empty() {
                            self.errors.push(
                                Diagnostic::error(
                                    "E0106",
                                    "`LogTypes` needs at least one log type",
                                    v.span.clone(),
                                )
                                .with_help("e.g. `LogTypes: [AWS.CloudTrail]`"),
                            );
                        } else {
                            log_types = Some(list);
                        }
                    }
                }
                "DisplayName" => rule.display_name = self.string(v, key),
                "Description" => rule.description = self.string(v, key),
                "Runbook" => rule.runbook = self.string(v, key),
                "Reference" => rule.reference = self.string(v, key),
                "Enabled" => match v.resolve() {
                    Ok(Resolved::Bool(b)) if v.scalar_text().is_some() => rule.enabled = b,
                    _ => self.errors.push(type_error(v, key, "`true` or `false`")),
                },
                "Severity" => rule.severity = self.severity(v),
                "Tags" => rule.tags = self.string_list(v, key, false).unwrap_or_default(),
                "Reports" => rule.reports = self.reports(v),
                "DedupPeriodMinutes" => {
                    if let Some(n) = self.int(v, key, 1) {
                        rule.dedup_period_minutes = n;
                    }
                }
                "Threshold" => {
                    if let Some(n) = self.int(v, key, 1) {
                        rule.threshold = n;
                    }
                }
                "SummaryAttributes" | "OutputFields" => {
                    if let Some(other) = output_key {
                        self.errors.push(
                            Diagnostic::error(
                                "E0106",
                                format!("`{key}` and `{other}` are both set"),
                                k.span.clone(),
                            )
                            .with_help(
                                "they mean the same (the fields the query returns): keep one",
                            ),
                        );
                    }
                    output_key = Some(key);
                    rule.output_fields = self.output_fields(v, key);
                }
                "Schedule" => {
                    if let Some(s) = self.schedule(v) {
                        rule.schedule = s;
                    }
                }
                "Tests" => {
                    rule.tests = self.tests(v);
                    rule.shapes = std::mem::take(&mut self.test_shapes);
                }
                "InlineFilters" if !empty_value(v) => self.errors.push(
                    Diagnostic::error(
                        "E0109",
                        "`InlineFilters` are not supported: the compiled query would match events \
                         Panther filters out",
                        k.span.clone(),
                    )
                    .with_label("not applied by ruleqc")
                    .with_help(
                        "write each filter into the `Condition` (e.g. `KeyPath: a.b, Condition: \
                         Equals, Value: x` is the line `a.b eq \"x\"`) and remove `InlineFilters`",
                    ),
                ),
                "Entities" => rule.entities = self.entities(v),
                _ if IGNORED_KEYS.contains(&key) => {}
                _ => self.unknown_key(k, key, "rule", KNOWN_KEYS.iter().chain(IGNORED_KEYS)),
            }
        }

        let first_key = entries.first().map_or(0..0, |(k, _)| k.span.clone());
        for (name, present) in [
            ("RuleID", rule_id.is_some() || has_key(entries, "RuleID")),
            (
                "LogTypes",
                log_types.is_some() || has_key(entries, "LogTypes"),
            ),
            ("Condition", condition.is_some()),
        ] {
            if !present {
                self.errors.push(
                    Diagnostic::error(
                        "E0104",
                        format!("missing required key `{name}`"),
                        first_key.clone(),
                    )
                    .with_label("in this rule")
                    .with_help("every rule needs `RuleID`, `LogTypes` and `Condition`"),
                );
            }
        }
        // SPEC §2: an entity's path is an output field, or is added to them. A rule without
        // output fields returns every field, entities included.
        if !rule.output_fields.is_empty() {
            for e in &rule.entities {
                if !rule.output_fields.iter().any(|o| o.path == e.field.path) {
                    rule.output_fields.push(e.field.clone());
                }
            }
        }
        if let Some(c) = condition.and_then(|v| self.condition(v)) {
            rule.condition = c;
        }
        let (id, id_span) = rule_id?;
        rule.rule_id = id;
        rule.spans.rule_id = id_span.clone();
        rule.log_types = log_types?;
        // The set keeps every loaded rule to the end: no spare room in its lists.
        rule.tests.shrink_to_fit();
        rule.shapes.shrink_to_fit();
        rule.output_fields.shrink_to_fit();
        rule.entities.shrink_to_fit();
        Some((rule, id_span))
    }

    fn unknown_key<'a>(
        &mut self,
        k: &Node,
        key: &str,
        what: &str,
        candidates: impl Iterator<Item = &'a &'a str>,
    ) {
        let mut d = Diagnostic::error("E0102", format!("unknown key `{key}`"), k.span.clone())
            .with_label(format!("not a {what} key"));
        let candidates: Vec<&&str> = candidates.collect();
        let candidates = candidates.into_iter();
        if let Some(s) = closest(key, candidates.clone().copied()) {
            d.message = format!("unknown key `{key}`; did you mean `{s}`?");
        } else {
            let known: Vec<&str> = candidates.copied().collect();
            d = d.with_help(format!("{what} keys are: {}", known.join(", ")));
        }
        self.errors.push(d);
    }

    fn string(&mut self, v: &Node, key: &str) -> Option<String> {
        match (&v.kind, v.resolve()) {
            (Kind::Scalar { .. }, Ok(Resolved::Str(s))) => Some(s),
            _ => {
                self.errors.push(type_error(v, key, "a string"));
                None
            }
        }
    }

    /// A list of strings; with `strict`, every item must be a string, otherwise scalars are
    /// taken as written (`3.12` stays `3.12`).
    fn string_list(&mut self, v: &Node, key: &str, strict: bool) -> Option<Vec<String>> {
        let Kind::Seq(items) = &v.kind else {
            self.errors.push(
                type_error(v, key, "a list of strings")
                    .with_help(format!("write `{key}: [a, b]` or one `- item` per line")),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match (&item.kind, item.resolve()) {
                (Kind::Scalar { .. }, Ok(Resolved::Str(s))) if !s.is_empty() => out.push(s),
                (Kind::Scalar { value, .. }, Ok(r)) if !strict && r != Resolved::Null => {
                    out.push(value.clone())
                }
                _ => self
                    .errors
                    .push(type_error(item, key, "a list of non-empty strings")),
            }
        }
        Some(out)
    }

    fn int(&mut self, v: &Node, key: &str, min: u32) -> Option<u32> {
        match v.resolve() {
            Ok(Resolved::Int(i)) if v.scalar_text().is_some() => match u32::try_from(i) {
                Ok(n) if n >= min => Some(n),
                _ => {
                    self.errors.push(
                        Diagnostic::error(
                            "E0106",
                            format!("`{key}` must be at least {min}"),
                            v.span.clone(),
                        )
                        .with_label(format!("{i} is out of range")),
                    );
                    None
                }
            },
            _ => {
                self.errors.push(type_error(v, key, "a whole number"));
                None
            }
        }
    }

    fn severity(&mut self, v: &Node) -> Option<Severity> {
        let names = Severity::ALL.map(Severity::name);
        match v.resolve() {
            Ok(Resolved::Str(s)) => {
                if let Some(sev) = Severity::ALL
                    .into_iter()
                    .find(|x| x.name().eq_ignore_ascii_case(&s))
                {
                    return Some(sev);
                }
                let mut d =
                    Diagnostic::error("E0106", format!("unknown severity `{s}`"), v.span.clone())
                        .with_help(format!("use one of {}", names.join(", ")));
                if let Some(c) = closest(&s, names) {
                    d.message = format!("unknown severity `{s}`; did you mean `{c}`?");
                }
                self.errors.push(d);
            }
            _ => self.errors.push(
                type_error(v, "Severity", "a severity name")
                    .with_help(format!("use one of {}", names.join(", "))),
            ),
        }
        None
    }

    fn reports(&mut self, v: &Node) -> Vec<(String, Vec<String>)> {
        let Kind::Map(entries) = &v.kind else {
            self.errors.push(
                type_error(v, "Reports", "a mapping of framework to ids")
                    .with_help("e.g. `Reports: {MITRE ATT&CK: [TA0002:T1059]}`"),
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, ids) in entries {
            let Some(name) = k.scalar_text() else {
                self.errors
                    .push(type_error(k, "Reports", "keyed by framework names"));
                continue;
            };
            let ids = match &ids.kind {
                Kind::Scalar { value, .. } => vec![value.clone()],
                _ => self.string_list(ids, name, false).unwrap_or_default(),
            };
            out.push((name.to_string(), ids));
        }
        out
    }

    fn output_fields(&mut self, v: &Node, key: &str) -> Vec<OutputField> {
        let Some(list) = (match &v.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }) else {
            self.errors
                .push(type_error(v, key, "a list of field paths"));
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in list {
            let Some(text) = self.string(item, key) else {
                continue;
            };
            let map = self.scalar_map(item, &text);
            let parsed = parser::parse_path(&text).and_then(|p| lower::check_output_path(&p));
            match parsed {
                Ok(path) => {
                    if out.iter().any(|o: &OutputField| o.path == path) {
                        self.errors.push(
                            Diagnostic::error(
                                "E0106",
                                format!("`{text}` is listed twice"),
                                item.span.clone(),
                            )
                            .with_label("duplicate field"),
                        );
                    }
                    out.push(OutputField { text, path })
                }
                Err(d) => self.errors.push(d.map_span(|r| map[r.start]..map[r.end])),
            }
        }
        out
    }

    /// `Entities`: kind -> field path. Unknown kinds and paths that are not fields are errors at
    /// their positions.
    fn entities(&mut self, v: &Node) -> Vec<Entity> {
        let Kind::Map(entries) = &v.kind else {
            self.errors.push(
                type_error(v, "Entities", "a mapping of entity kind to field path")
                    .with_help("e.g. `Entities: {Account: user, IP: src_ip}`"),
            );
            return Vec::new();
        };
        let names = EntityKind::ALL.map(EntityKind::name);
        let mut out: Vec<Entity> = Vec::new();
        for (k, val) in entries {
            let Some(name) = k.scalar_text() else {
                self.errors
                    .push(type_error(k, "Entities", "keyed by entity kinds"));
                continue;
            };
            let Some(kind) = EntityKind::ALL.into_iter().find(|x| x.name() == name) else {
                let mut d = Diagnostic::error(
                    "E0106",
                    format!("unknown entity kind `{name}`"),
                    k.span.clone(),
                )
                .with_label("not an entity kind")
                .with_help(format!("entity kinds are: {}", names.join(", ")));
                if let Some(c) = closest(name, names) {
                    d.message = format!("unknown entity kind `{name}`; did you mean `{c}`?");
                }
                self.errors.push(d);
                continue;
            };
            let Some(text) = self.string(val, name) else {
                continue;
            };
            let map = self.scalar_map(val, &text);
            match parser::parse_path(&text).and_then(|p| lower::check_output_path(&p)) {
                Ok(path) => out.push(Entity {
                    kind,
                    field: OutputField { text, path },
                }),
                Err(d) => self.errors.push(d.map_span(|r| map[r.start]..map[r.end])),
            }
        }
        out
    }

    fn schedule(&mut self, v: &Node) -> Option<Schedule> {
        let Kind::Map(entries) = &v.kind else {
            self.errors.push(
                type_error(v, "Schedule", "a mapping")
                    .with_help("e.g. `Schedule: {RateMinutes: 60, LookbackMinutes: 60}`"),
            );
            return None;
        };
        let mut rate = None;
        let mut cron = None;
        let mut lookback = None;
        for (k, val) in entries {
            match k.scalar_text() {
                Some("RateMinutes") => rate = self.int(val, "RateMinutes", 1),
                Some("LookbackMinutes") => lookback = self.int(val, "LookbackMinutes", 1),
                Some("CronExpression") => {
                    if let Some(c) = self.string(val, "CronExpression") {
                        if c.split_whitespace().count() == 5 {
                            cron = Some(c);
                        } else {
                            self.errors.push(
                                Diagnostic::error("E0106", "a cron expression has five fields", val.span.clone())
                                    .with_label(format!("{} fields", c.split_whitespace().count()))
                                    .with_help("minute hour day-of-month month day-of-week, e.g. \"0 */6 * * *\""),
                            );
                        }
                    }
                }
                Some(other) => self.unknown_key(k, other, "Schedule", SCHEDULE_KEYS.iter()),
                None => self
                    .errors
                    .push(type_error(k, "Schedule", "keyed by names")),
            }
        }
        let has = |name: &str| has_key(entries, name);
        let cadence = match (rate, cron) {
            // A value that was reported as invalid: nothing more to say about the cadence.
            (None, None) if has("RateMinutes") || has("CronExpression") => {
                if has("RateMinutes") && has("CronExpression") {
                    self.errors.push(Self::rate_and_cron(v));
                }
                return None;
            }
            (Some(_), None) | (None, Some(_)) if has("RateMinutes") && has("CronExpression") => {
                self.errors.push(Self::rate_and_cron(v));
                return None;
            }
            (Some(r), None) => Cadence::RateMinutes(r),
            (None, Some(c)) => Cadence::Cron(c),
            (Some(_), Some(_)) => {
                self.errors.push(Self::rate_and_cron(v));
                return None;
            }
            (None, None) => {
                self.errors.push(
                    Diagnostic::error(
                        "E0106",
                        "a schedule needs `RateMinutes` or `CronExpression`",
                        v.span.clone(),
                    )
                    .with_help("e.g. `Schedule: {RateMinutes: 60, LookbackMinutes: 60}`"),
                );
                return None;
            }
        };
        let lookback_minutes = match (&cadence, lookback) {
            (_, Some(l)) => l,
            (Cadence::RateMinutes(r), None) => *r,
            (Cadence::Cron(_), None) => {
                self.errors.push(
                    Diagnostic::error("E0104", "`LookbackMinutes` is required with `CronExpression`", v.span.clone())
                        .with_help("ruleqc cannot know how far back a cron schedule should look; set it explicitly"),
                );
                return None;
            }
        };
        Some(Schedule {
            cadence,
            lookback_minutes,
        })
    }

    fn rate_and_cron(v: &Node) -> Diagnostic {
        Diagnostic::error(
            "E0106",
            "`RateMinutes` and `CronExpression` are both set",
            v.span.clone(),
        )
        .with_help("a schedule has one of them")
    }

    fn tests(&mut self, v: &Node) -> Vec<RuleTest> {
        let Kind::Seq(items) = &v.kind else {
            self.errors.push(type_error(v, "Tests", "a list of tests"));
            return Vec::new();
        };
        let mut out: Vec<RuleTest> = Vec::new();
        for item in items {
            let Kind::Map(entries) = &item.kind else {
                self.errors.push(
                    type_error(item, "a test", "a mapping")
                        .with_help("each test has `Name`, `ExpectedResult` and `Log`"),
                );
                continue;
            };
            let (mut name, mut expected, mut log) = (None, None, None);
            for (k, val) in entries {
                match k.scalar_text() {
                    Some("Name") => name = self.string(val, "Name"),
                    Some("ExpectedResult") => match val.resolve() {
                        Ok(Resolved::Bool(b)) if val.scalar_text().is_some() => expected = Some(b),
                        _ => {
                            self.errors
                                .push(type_error(val, "ExpectedResult", "`true` or `false`"))
                        }
                    },
                    Some("Log") => match &val.kind {
                        // Without the values, the shape is read from the YAML directly (with
                        // every error `to_json` reports).
                        Kind::Map(_) if self.shapes => match EventShape::of_yaml(val) {
                            Ok(shape) => log = Some((serde_json::Value::Null, Some(shape))),
                            Err(d) => self.errors.push(d),
                        },
                        Kind::Map(_) => match val.to_json() {
                            Ok(j) => log = Some((j, None)),
                            Err(d) => self.errors.push(d),
                        },
                        _ => self.errors.push(
                            type_error(val, "Log", "an event (a mapping or a JSON object)")
                                .with_help(
                                    "write the event as YAML keys or as `{\"key\": \"value\"}`",
                                ),
                        ),
                    },
                    Some(other) if TEST_IGNORED_KEYS.contains(&other) => {}
                    Some(other) => self.unknown_key(
                        k,
                        other,
                        "test",
                        TEST_KEYS.iter().chain(TEST_IGNORED_KEYS),
                    ),
                    None => self.errors.push(type_error(k, "a test", "keyed by names")),
                }
            }
            let missing: Vec<String> = [
                ("Name", name.is_some()),
                ("ExpectedResult", expected.is_some()),
                ("Log", log.is_some()),
            ]
            .into_iter()
            .filter(|(key, ok)| !ok && !has_key(entries, key))
            .map(|(key, _)| format!("`{key}`"))
            .collect();
            if !missing.is_empty() {
                self.errors.push(
                    Diagnostic::error(
                        "E0104",
                        format!("test is missing {}", missing.join(", ")),
                        item.span.start..item.span.start,
                    )
                    .with_label("this test")
                    .with_help("each test has `Name`, `ExpectedResult` and `Log`"),
                );
            }
            if let (Some(name), Some(expected), Some((log, shape))) = (name, expected, log) {
                if out.iter().any(|t| t.name == name) {
                    let span = entries
                        .iter()
                        .find(|(k, _)| k.scalar_text() == Some("Name"))
                        .map_or(item.span.clone(), |(_, v)| v.span.clone());
                    self.errors.push(
                        Diagnostic::error("E0107", format!("two tests are named `{name}`"), span)
                            .with_label("duplicate test name")
                            .with_help(
                                "test names identify results; make them unique within the rule",
                            ),
                    );
                    continue;
                }
                out.push(RuleTest {
                    name,
                    expected,
                    log,
                    span: item.span.clone(),
                });
                self.test_shapes.extend(shape);
            }
        }
        out
    }

    /// Offsets in a scalar's value -> offsets in the file.
    fn scalar_map(&self, v: &Node, value: &str) -> Vec<usize> {
        yaml::map_scalar(value, &self.text[v.span.clone()], v.span.start)
    }

    fn condition(&mut self, v: &Node) -> Option<Condition> {
        let text = match (&v.kind, v.resolve()) {
            (Kind::Scalar { .. }, Ok(Resolved::Str(s))) => s,
            _ => {
                self.errors
                    .push(type_error(v, "Condition", "a string").with_help(
                    "write the condition as a block: `Condition: |` and one expression per line",
                ));
                return None;
            }
        };
        let map = self.scalar_map(v, &text);
        let to_file = |r: Range<usize>| {
            let start = map[r.start.min(text.len())];
            let end = map[r.end.min(text.len())].max(start);
            start..end
        };
        if text.trim().is_empty() {
            self.errors.push(
                Diagnostic::error("E0201", "the condition is empty", v.span.clone()).with_help(
                    "write at least one expression, e.g. `event eq \"session.command\"`",
                ),
            );
            return None;
        }
        let ast = match parser::parse(&text) {
            Ok(ast) => ast,
            Err(d) => {
                let mut d = explain_syntax_error(d, &text).map_span(to_file);
                if matches!(
                    &v.kind,
                    Kind::Scalar {
                        style: ScalarStyle::Folded,
                        ..
                    }
                ) {
                    d = d.with_help("`>` folds the condition's lines into one; write `Condition: |` to keep one expression per line");
                }
                self.errors.push(d);
                return None;
            }
        };
        match lower::lower_condition(&ast) {
            Ok(node) => Some(Condition {
                file_offsets: map.iter().map(|&o| o as u32).collect(),
                text,
                ir: normalize::normalize(node),
            }),
            Err(ds) => {
                self.errors
                    .extend(ds.into_iter().map(|d| d.map_span(to_file)));
                None
            }
        }
    }
}

/// `InlineFilters: []`, `InlineFilters:` or `{}`: nothing to lose by ignoring it.
fn empty_value(v: &Node) -> bool {
    match &v.kind {
        Kind::Seq(items) => items.is_empty(),
        Kind::Map(entries) => entries.is_empty(),
        _ => matches!(v.resolve(), Ok(Resolved::Null)),
    }
}

/// A YAML error in a file with a tab in some line's indentation (at or before the error) is
/// about that tab: YAML indents with spaces only, and the parser's own message names a later
/// position.
fn tab_indent(text: &str, d: Diagnostic) -> Diagnostic {
    let until = d
        .span
        .as_ref()
        .map_or(text.len(), |s| s.end.min(text.len()));
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > until {
            break;
        }
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(tab) = line[..indent].find('\t') {
            let at = offset + tab;
            return Diagnostic::error("E0101", "a tab indents this line", at..at + 1)
                .with_label("tab")
                .with_help("YAML indents with spaces only; replace the tab with spaces");
        }
        offset += line.len();
    }
    d
}

/// Where a `(` that is never closed is, in condition text; strings, raw strings and backtick
/// names are skipped.
fn unclosed_paren(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut open = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'`' => {
                let quote = b[i];
                let raw = quote == b'"' && i > 0 && b[i - 1] == b'r';
                i += 1;
                while i < b.len() && b[i] != quote && b[i] != b'\n' {
                    i += if b[i] == b'\\' && quote == b'"' && !raw {
                        2
                    } else {
                        1
                    };
                }
            }
            b'(' => open.push(i),
            b')' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    open.first().copied()
}

/// Common condition mistakes, in the author's terms: a `(` never closed (reported where it
/// opens, not at the end), `=` for `eq`, and `and`/`or` at a line's edge (lines are joined
/// with `and`).
fn explain_syntax_error(d: Diagnostic, text: &str) -> Diagnostic {
    if d.code != "E0201" {
        return d;
    }
    let at = d.span.as_ref().map_or(0, |s| s.start.min(text.len()));
    if d.message.ends_with("found the end of the condition")
        && let Some(p) = unclosed_paren(text)
    {
        return Diagnostic::error("E0201", "this `(` is never closed", p..p + 1)
            .with_label("unclosed")
            .with_help("add the `)` where the group ends, on its last line");
    }
    let here = text[at..].trim_start_matches([' ', '\t']);
    // `==`, `!=`, `<=`... are operators; a single `=` or `<>` is not.
    // `<` parses as an operator, so `<>` fails at its `>`.
    let not_equal = here.starts_with('>') && text[..at].ends_with('<');
    for (symbol, word, alias) in [("<>", "ne", "!="), ("=", "eq", "==")] {
        if here.starts_with(symbol) || (symbol == "<>" && not_equal) {
            let mut d = d;
            d.message = format!("{}; did you mean `{word}`?", d.message);
            d.help = Some(format!(
                "write `{word}` (or `{alias}`) for `{symbol}`, e.g. `status {word} 200`"
            ));
            return d;
        }
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = text[line_start..at].trim();
    let word_at = |w: &str| {
        here.strip_prefix(w)
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\n', '(']))
    };
    let joined = "each line of a condition is joined to the next with `and`";
    if before.is_empty() && (word_at("or") || word_at("and")) {
        let mut d = d;
        d.help = Some(format!(
            "{joined}, so a line does not start with `and`/`or`; for an `or` over several \
             lines, put the whole expression in parentheses: `(a eq 1` on one line, `or b eq 2)` \
             on the next"
        ));
        return d;
    }
    let prev = text[..at].trim_end();
    let ends_with = |w: &str| {
        prev.strip_suffix(w)
            .is_some_and(|r| r.is_empty() || r.ends_with([' ', '\t', '\n', ')']))
    };
    if d.message.contains("found the end of the") && (ends_with("and") || ends_with("or")) {
        let mut d = d;
        d.help = Some(format!(
            "{joined}, so a line does not end with `and`/`or`; for an `or` over several lines, \
             put the whole expression in parentheses"
        ));
        return d;
    }
    d
}

fn has_key(entries: &[(Node, Node)], name: &str) -> bool {
    entries.iter().any(|(k, _)| k.scalar_text() == Some(name))
}

fn valid_rule_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
