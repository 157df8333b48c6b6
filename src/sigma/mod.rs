//! Sigma rules as input (SPEC §7). A YAML file with `detection` and `logsource` (or a
//! correlation rule, reported as unsupported) is a Sigma rule; it becomes the same `Rule` a
//! ruleqc rule file does: its detection is written out as ruleqc condition text together with
//! the syntax tree the parser would read from that text (see `detection`), and the ordinary
//! lowering and normaliser turn the tree into IR, so every target, `test`, `run`, `--out` and
//! `explain` work on it unchanged (`explain --stage ast` parses the kept text). Metadata maps onto the
//! rule's fields; SigmaHQ-style regression samples (`samples`) become its tests.

pub mod condition;
pub mod detection;
pub mod profile;
pub mod samples;

use std::ops::Range;

use crate::diag::Diagnostic;
use crate::ir::{lower, normalize};
use crate::rule::yaml::{self, Kind, Node};
use crate::rule::{Condition, FileOffsets, Rule, RuleSpans, Schedule, Severity};
pub use profile::SigmaProfile;
pub use samples::Samples;

/// Parses `text` and returns its root when it is a Sigma rule: a mapping with `detection` and
/// `logsource`, or with `correlation` (which is then reported as unsupported).
pub fn sniff(text: &str) -> Option<Node> {
    // Most files are ruleqc rules: no YAML parse for them.
    if !(text.contains("detection") && text.contains("logsource") || text.contains("correlation")) {
        return None;
    }
    let root = yaml::parse(text).ok()??;
    let Kind::Map(entries) = &root.kind else {
        return None;
    };
    let has = |k: &str| entries.iter().any(|(n, _)| n.scalar_text() == Some(k));
    ((has("detection") && has("logsource")) || (has("correlation") && has("title"))).then_some(root)
}

/// What a Sigma file loads to: the rule, or every problem found; and where the rule's id is.
pub fn load(
    path: &str,
    text: &str,
    root: &Node,
    profile: &SigmaProfile,
    samples: &Samples,
) -> (Result<Rule, Vec<Diagnostic>>, Option<Range<usize>>) {
    let mut errors = Vec::new();
    let Kind::Map(entries) = &root.kind else {
        unreachable!("sniff only accepts mappings")
    };
    let get = |k: &str| {
        entries
            .iter()
            .find(|(n, _)| n.scalar_text() == Some(k))
            .map(|(n, v)| (n, v))
    };
    if let Some((k, _)) = get("correlation") {
        errors.push(
            Diagnostic::error("E0604", "Sigma correlation rules are not supported", k.span.clone())
                .with_label("correlation rule")
                .with_help("a correlation counts or orders events over time; ruleqc compiles single-event conditions, so compile the rules it refers to on their own"),
        );
        return (Err(errors), None);
    }
    let string = |k: &str, errors: &mut Vec<Diagnostic>| -> Option<String> {
        let (_, v) = get(k)?;
        match &v.kind {
            Kind::Scalar { value, .. } => Some(value.clone()),
            _ => {
                errors.push(
                    Diagnostic::error("E0601", format!("`{k}` must be a string"), v.span.clone())
                        .with_label(format!("found {}", v.kind_name())),
                );
                None
            }
        }
    };
    let list = |k: &str, errors: &mut Vec<Diagnostic>| -> Vec<String> {
        let Some((_, v)) = get(k) else {
            return Vec::new();
        };
        match &v.kind {
            Kind::Seq(items) => items
                .iter()
                .filter_map(|i| match i.scalar_text() {
                    Some(s) => Some(s.to_string()),
                    None => {
                        errors.push(Diagnostic::error(
                            "E0601",
                            format!("`{k}` must be a list of strings"),
                            i.span.clone(),
                        ));
                        None
                    }
                })
                .collect(),
            Kind::Scalar { value, .. } if !value.is_empty() => vec![value.clone()],
            Kind::Scalar { .. } => Vec::new(),
            Kind::Map(_) => {
                errors.push(Diagnostic::error(
                    "E0601",
                    format!("`{k}` must be a list of strings"),
                    v.span.clone(),
                ));
                Vec::new()
            }
        }
    };

    let title = string("title", &mut errors);
    let (id, id_span) = match get("id") {
        Some((_, v)) => match v.scalar_text() {
            Some(s) if valid_id(s) => (s.to_string(), v.span.clone()),
            _ => {
                errors.push(
                    Diagnostic::error(
                        "E0601",
                        "a Sigma `id` is a UUID (letters, digits, `-`, `_`, `.`)",
                        v.span.clone(),
                    )
                    .with_help("give the rule a UUID, e.g. one from `uuidgen`"),
                );
                (String::new(), v.span.clone())
            }
        },
        None => {
            let stem = std::path::Path::new(path)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if valid_id(&stem) {
                (stem, 0..0)
            } else {
                errors.push(
                    Diagnostic::error("E0601", "the rule has no `id`", 0..0)
                        .with_help("add `id:` with a UUID"),
                );
                (String::new(), 0..0)
            }
        }
    };
    let description = string("description", &mut errors);
    let author = string("author", &mut errors);
    let references = list("references", &mut errors);
    let falsepositives = list("falsepositives", &mut errors);
    let tags = list("tags", &mut errors);
    let level = string("level", &mut errors);
    let status = string("status", &mut errors);
    let severity = match level.as_deref() {
        None => None,
        Some("informational") => Some(Severity::Info),
        Some("low") => Some(Severity::Low),
        Some("medium") => Some(Severity::Medium),
        Some("high") => Some(Severity::High),
        Some("critical") => Some(Severity::Critical),
        Some(other) => {
            let (_, v) = get("level").expect("level is set");
            errors.push(
                Diagnostic::error("E0601", format!("unknown level `{other}`"), v.span.clone())
                    .with_help("a Sigma level is informational, low, medium, high or critical"),
            );
            None
        }
    };

    // The log source, through the profile.
    let (ls_key, ls_node) = get("logsource").expect("sniffed");
    let mut source = profile::LogSource::default();
    match &ls_node.kind {
        Kind::Map(items) => {
            for (k, v) in items {
                let value = v.scalar_text().map(|s| s.to_string());
                match k.scalar_text() {
                    Some("product") => source.product = value,
                    Some("category") => source.category = value,
                    Some("service") => source.service = value,
                    _ => {}
                }
            }
        }
        _ => errors.push(Diagnostic::error(
            "E0601",
            "`logsource` must be a mapping",
            ls_node.span.clone(),
        )),
    }
    if source.product.is_none() && source.category.is_none() && source.service.is_none() {
        errors.push(
            Diagnostic::error(
                "E0601",
                "the log source names no product, category or service",
                ls_key.span.clone(),
            )
            .with_help("e.g. `logsource: {product: windows, category: process_creation}`"),
        );
    }
    let place = profile.resolve(&source);

    let mut lw = detection::Lowerer::new(text, &place, profile);
    let implied = lw.implied(ls_key.span.start);
    let (_, det) = get("detection").expect("sniffed");
    let body = lw.detection(det);
    errors.append(&mut lw.errors);

    let condition = match body {
        Some(body) if errors.is_empty() => {
            let at = det.span.start;
            let mut parts = implied;
            parts.push(body);
            let out = if parts.len() == 1 {
                parts.pop().expect("one part")
            } else {
                detection::Out::and_groups(parts, at)
            };
            build_condition(out, det.span.clone(), &mut errors)
        }
        _ => None,
    };
    dedup(&mut errors);
    if !errors.is_empty() {
        errors.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        return (Err(errors), None);
    }
    let condition = condition.expect("no errors: a condition");

    let mut reports = Vec::new();
    let attack = attack_ids(&tags);
    if !attack.is_empty() {
        reports.push(("MITRE ATT&CK".to_string(), attack));
    }
    let mut about = description.unwrap_or_default();
    if let Some(a) = &author {
        if !about.is_empty() {
            about.push_str("\n\n");
        }
        about.push_str(&format!("Author: {a}"));
    }
    let runbook = (!falsepositives.is_empty())
        .then(|| format!("False positives: {}", falsepositives.join("; ")));
    let mut rule = Rule {
        rule_id: id,
        path: path.to_string(),
        condition,
        log_types: vec![place.log_type.clone()],
        display_name: title,
        description: (!about.is_empty()).then_some(about),
        runbook,
        reference: (!references.is_empty()).then(|| references.join("\n")),
        enabled: !matches!(status.as_deref(), Some("deprecated" | "unsupported")),
        severity,
        tags,
        reports,
        dedup_period_minutes: 60,
        threshold: 1,
        output_fields: Vec::new(),
        schedule: Schedule::default(),
        tests: Vec::new(),
        spans: RuleSpans {
            rule_id: id_span.clone(),
            log_types: vec![ls_node.span.clone()],
        },
        entities: Vec::new(),
        shapes: Vec::new(),
    };
    match samples::tests_for(&rule, samples) {
        Ok(tests) => rule.tests = tests,
        Err(d) => return (Err(vec![d]), None),
    }
    (Ok(rule), Some(id_span))
}

/// Generated condition text -> the rule's `Condition`, through the ordinary parser, lowering
/// and normaliser; their errors are mapped back to the Sigma file.
fn build_condition(
    out: detection::Out,
    det: Range<usize>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Condition> {
    let offsets = file_offsets(&out, det.start);
    let text = out.text;
    let to_file = |r: Range<usize>| {
        let s = offsets.at(r.start.min(text.len()));
        s..offsets.at(r.end.min(text.len())).max(s)
    };
    // The tree built alongside the text is what parsing the text gives (debug builds check
    // it); the nesting limit is the parser's own check. Without a tree, the text is parsed.
    let direct = out
        .expr
        .filter(|_| shallow(&text) || crate::syntax::parser::check_nesting(&text).is_ok());
    #[cfg(debug_assertions)]
    if let Some(e) = &direct {
        assert_eq!(
            Some(e),
            crate::syntax::parse(&text).ok().as_ref(),
            "the tree built for {text}"
        );
    }
    let ast = match direct {
        Some(e) => e,
        None => match crate::syntax::parse(&text) {
            Ok(a) => a,
            Err(d) => {
                // Only a nesting limit can get here: the text is generated.
                errors.push(d.map_span(to_file).with_help(format!(
                    "the detection's condition is too large or deep for ruleqc: {}",
                    text.chars().take(200).collect::<String>()
                )));
                return None;
            }
        },
    };
    match lower::lower_condition(&ast) {
        Ok(node) => Some(Condition {
            file_offsets: offsets,
            text,
            ir: normalize::normalize(node),
        }),
        Err(ds) => {
            errors.extend(ds.into_iter().map(|d| d.map_span(to_file)));
            None
        }
    }
}

/// Whether `text` cannot be nested deeper than the condition parser allows, by a count: its
/// nesting grows only at `(`, `[` and `not` (`syntax::parser::check_nesting`), so it is at most
/// their number (strings and comments holding them only make the count larger). Most
/// generated conditions, long value lists included, are far under the limit; the others get
/// the parser's own check.
fn shallow(text: &str) -> bool {
    let brackets = text.bytes().filter(|&b| b == b'(' || b == b'[').count();
    brackets + text.matches("not").count() <= crate::syntax::parser::MAX_NESTING
}

/// The file offset of each byte of `out`'s text and of its end (that of the last byte, or
/// `empty_at` for no text): one run per piece, not per byte.
fn file_offsets(out: &detection::Out, empty_at: usize) -> FileOffsets {
    let mut runs: Vec<(u32, u32)> = out
        .runs
        .iter()
        .map(|&(t, f)| (t as u32, f as u32))
        .collect();
    if runs.is_empty() {
        runs.push((0, empty_at as u32));
    }
    let offsets = FileOffsets::flat(runs, out.text.len() as u32 + 1);
    #[cfg(debug_assertions)]
    {
        let mut map = out.byte_map();
        map.push(map.last().copied().unwrap_or(empty_at));
        for (i, &o) in map.iter().enumerate() {
            assert_eq!(offsets.at(i), o, "offset {i} of {}", out.text);
        }
    }
    offsets
}

fn dedup(errors: &mut Vec<Diagnostic>) {
    let mut seen = Vec::new();
    errors.retain(|d| {
        let key = (d.span.clone(), d.message.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}

fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Sigma's ATT&CK tactic tags (`attack.execution`) and their ids.
const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "TA0043"),
    ("resource-development", "TA0042"),
    ("initial-access", "TA0001"),
    ("execution", "TA0002"),
    ("persistence", "TA0003"),
    ("privilege-escalation", "TA0004"),
    ("defense-evasion", "TA0005"),
    ("stealth", "TA0005"),
    ("credential-access", "TA0006"),
    ("discovery", "TA0007"),
    ("lateral-movement", "TA0008"),
    ("collection", "TA0009"),
    ("command-and-control", "TA0011"),
    ("exfiltration", "TA0010"),
    ("impact", "TA0040"),
    ("defense-impairment", "TA0112"),
];

/// `attack.*` tags -> ATT&CK ids for `Reports`: tactics by name (`attack.execution` ->
/// `TA0002`), techniques and sub-techniques by id (`attack.t1059.001` -> `T1059.001`).
/// Groups, software and campaigns (`attack.g0016`, `attack.s0002`) are left as tags.
pub fn attack_ids(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let dashed = rest.replace('_', "-");
        let id = if let Some((_, id)) = TACTICS.iter().find(|(n, _)| *n == dashed) {
            id.to_string()
        } else if rest.starts_with('t')
            && rest[1..]
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            rest.to_ascii_uppercase()
        } else {
            continue;
        };
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_tags_become_ids() {
        let tags: Vec<String> = [
            "attack.execution",
            "attack.t1059.001",
            "attack.defense-evasion",
            "attack.T1027",
            "attack.g0016",
            "attack.s0002",
            "cve.2021-44228",
            "attack.execution",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            attack_ids(&tags),
            ["TA0002", "T1059.001", "TA0005", "T1027"]
        );
    }

    /// `shallow` only vouches for texts the parser's nesting check accepts: random texts of
    /// brackets, `not`s, strings, comments and line breaks around the limit, and the deepest
    /// ones it takes.
    #[test]
    fn shallow_texts_pass_the_nesting_check() {
        use crate::syntax::parser::{MAX_NESTING, check_nesting};
        let pieces = [
            "(", "[", ")", "]", "not ", "a ", "and ", "\"(\" ", "# ((\n", "\n", "`[` ",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut vouched = 0;
        for _ in 0..20_000 {
            let n = (next() % 120) as usize;
            let text: String = (0..n)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            if shallow(&text) {
                vouched += 1;
                assert!(check_nesting(&text).is_ok(), "{text:?}");
            }
        }
        assert!(vouched > 1000, "{vouched}");
        let deepest = format!("{}a{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(shallow(&deepest) && check_nesting(&deepest).is_ok());
        let deeper = format!("not {deepest}");
        assert!(!shallow(&deeper) && check_nesting(&deeper).is_err());
    }
}
