//! SigmaHQ-style regression samples: an `info.yml` naming the rule (`rule_metadata: [{id}]`)
//! and its tests (`regression_tests_info: [{path, match_count}]`), beside the events as JSON
//! (one or more objects one after the other). Each event becomes one of the rule's tests.
//!
//! `match_count` is how many of a file's events the rule must match at least. When it is the
//! number of events (or absent), every event is expected to match. When it is smaller, the
//! file also holds events the rule need not match, without saying which: the reference
//! evaluator picks them, and when it matches fewer than `match_count` every event is expected
//! to match, so the run fails and shows them; the embedded engine must agree event by event.
//! (SigmaHQ's samples count loosely: a file of three registry writes that each meet the rule
//! says `match_count: 1`, so the count is a minimum, not an exact number.)

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::diag::Diagnostic;
use crate::ir::eval::eval;
use crate::rule::yaml::{self, Kind, Node, Resolved};
use crate::rule::{Rule, RuleTest};

/// The events of one sample file.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The event file, as found.
    pub file: String,
    pub events: Vec<Value>,
    pub match_count: Option<usize>,
}

/// Samples by rule id.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub by_id: HashMap<String, Vec<Sample>>,
}

/// A problem in a sample's files, to report against that file.
pub struct Problem {
    pub path: String,
    pub text: String,
    pub diagnostic: Diagnostic,
}

/// Is this YAML an `info.yml` of regression samples?
pub fn is_info(text: &str) -> bool {
    if !text.contains("rule_metadata") {
        return false;
    }
    let Ok(Some(root)) = yaml::parse(text) else {
        return false;
    };
    let Kind::Map(entries) = &root.kind else {
        return false;
    };
    entries
        .iter()
        .any(|(k, _)| k.scalar_text() == Some("rule_metadata"))
}

fn get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.kind {
        Kind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.kind) {
        Some(Kind::Seq(items)) => items,
        _ => &[],
    }
}

/// Reads an `info.yml` and its event files into `samples`; problems are returned.
pub fn read_info(info: &Path, text: &str, samples: &mut Samples) -> Vec<Problem> {
    let mut problems = Vec::new();
    let info_path = info.display().to_string();
    let problem = |span: std::ops::Range<usize>, message: String| Problem {
        path: info_path.clone(),
        text: text.to_string(),
        diagnostic: Diagnostic::error("E0608", message, span),
    };
    let root = match yaml::parse(text) {
        Ok(Some(r)) => r,
        Ok(None) => return problems,
        Err(d) => {
            problems.push(Problem {
                path: info_path,
                text: text.to_string(),
                diagnostic: d,
            });
            return problems;
        }
    };
    let ids: Vec<String> = items(get(&root, "rule_metadata"))
        .iter()
        .filter_map(|m| get(m, "id").and_then(|i| i.scalar_text()).map(String::from))
        .collect();
    if ids.is_empty() {
        let span = get(&root, "rule_metadata").map_or(0..0, |n| n.span.clone());
        problems.push(problem(span, "`rule_metadata` names no rule `id`".into()));
        return problems;
    }
    let dir = info.parent().unwrap_or(Path::new("."));
    // The listed tests; without a list, every JSON file beside info.yml.
    let mut wanted: Vec<(std::path::PathBuf, Option<usize>, std::ops::Range<usize>)> = Vec::new();
    for t in items(get(&root, "regression_tests_info")) {
        let Some(p) = get(t, "path").and_then(|p| p.scalar_text()) else {
            problems.push(problem(
                t.span.clone(),
                "a regression test needs its `path`".into(),
            ));
            continue;
        };
        let name = Path::new(p).file_name().unwrap_or_default();
        let mut file = dir.join(name);
        // The event file is the JSON form of the `.evtx` the path names.
        if !file.exists() {
            file.set_extension("json");
        }
        let count = match get(t, "match_count").map(|c| c.resolve()) {
            None => None,
            Some(Ok(Resolved::Int(n))) if n >= 0 => Some(n as usize),
            Some(_) => {
                problems.push(problem(
                    get(t, "match_count").expect("present").span.clone(),
                    "`match_count` must be a whole number".into(),
                ));
                continue;
            }
        };
        // Raw log lines have no JSON form to load.
        if get(t, "type").and_then(|x| x.scalar_text()) == Some("raw") {
            continue;
        }
        wanted.push((file, count, t.span.clone()));
    }
    if get(&root, "regression_tests_info").is_none() {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        wanted.extend(found.into_iter().map(|f| (f, None, 0..0)));
    }
    for (file, count, span) in wanted {
        let shown = file.display().to_string();
        let data = match std::fs::read_to_string(&file) {
            Ok(d) => d,
            Err(e) => {
                problems.push(problem(
                    span,
                    format!("cannot read the sample {shown}: {e}"),
                ));
                continue;
            }
        };
        let mut events = Vec::new();
        let mut stream = serde_json::Deserializer::from_str(&data).into_iter::<Value>();
        let mut bad = None;
        for v in &mut stream {
            match v {
                Ok(v) => events.push(v),
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = bad {
            let at = offset(&data, e.line(), e.column());
            problems.push(Problem {
                path: shown,
                text: data.clone(),
                diagnostic: Diagnostic::error(
                    "E0608",
                    format!("invalid JSON in a regression sample: {e}"),
                    at..at,
                ),
            });
            continue;
        }
        if events.is_empty() {
            problems.push(problem(span, format!("the sample {shown} holds no event")));
            continue;
        }
        for id in &ids {
            samples.by_id.entry(id.clone()).or_default().push(Sample {
                file: shown.clone(),
                events: events.clone(),
                match_count: count,
            });
        }
    }
    problems
}

/// Byte offset of a 1-based line and column.
fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len())
}

/// The rule's tests from its samples.
pub fn tests_for(rule: &Rule, samples: &Samples) -> Result<Vec<RuleTest>, Diagnostic> {
    let mut tests = Vec::new();
    for s in samples.by_id.get(&rule.rule_id).into_iter().flatten() {
        let n = s.events.len();
        let name = |i: usize| {
            let f = Path::new(&s.file)
                .file_name()
                .map_or(s.file.clone(), |f| f.to_string_lossy().into_owned());
            if n == 1 {
                f
            } else {
                format!("{f} event {}", i + 1)
            }
        };
        let expected: Vec<bool> = match s.match_count {
            Some(m) if m < n => {
                let fired: Vec<bool> = s
                    .events
                    .iter()
                    .map(|e| eval(&rule.condition.ir, e))
                    .collect();
                if fired.iter().filter(|f| **f).count() >= m {
                    fired
                } else {
                    vec![true; n]
                }
            }
            Some(m) if m > n => {
                return Err(Diagnostic::error(
                    "E0608",
                    format!("the sample {} has {n} events but `match_count` {m}", s.file),
                    rule.spans.rule_id.clone(),
                ));
            }
            _ => vec![true; n],
        };
        for (i, (e, x)) in s.events.iter().zip(expected).enumerate() {
            tests.push(RuleTest {
                name: name(i),
                expected: x,
                log: e.clone(),
                span: rule.spans.rule_id.clone(),
            });
        }
    }
    Ok(tests)
}
