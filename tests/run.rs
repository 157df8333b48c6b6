//! `ruleqc run` on generated log files with known matches: every rule's test events (tagged
//! with their log type) become a log; the expected matches are what the reference evaluator
//! says for every (rule, event) pair of the same log type. Both engines must report exactly
//! those, whatever the file format, and broken lines are reported and skipped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ruleqc::ir::eval::eval;
use ruleqc::rule::load_paths;
use serde_json::{Value, json};

fn ruleqc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .output()
        .expect("run ruleqc")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleqc-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The events (with `p_log_type`) and, per rule, how many of them it matches.
fn corpus() -> (Vec<Value>, BTreeMap<String, usize>) {
    let rules: Vec<_> = load_paths(&["rules".into()])
        .unwrap()
        .into_iter()
        .map(|l| l.result.unwrap())
        .collect();
    let mut events = Vec::new();
    for r in &rules {
        for t in &r.tests {
            let mut ev = t.log.clone();
            ev["p_log_type"] = json!(r.log_types[0]);
            events.push(ev);
        }
    }
    let mut expected = BTreeMap::new();
    for r in &rules {
        let n = events
            .iter()
            .filter(|e| r.log_types.iter().any(|lt| e["p_log_type"] == json!(lt)))
            .filter(|e| eval(&r.condition.ir, e))
            .count();
        expected.insert(r.rule_id.clone(), n);
    }
    (events, expected)
}

fn jsonl(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

/// Runs and counts the matches per rule (from `--format jsonl`).
fn matches(engine: &str, files: &[&Path], extra: &[&str]) -> (BTreeMap<String, usize>, Output) {
    let mut args = vec!["run", "--format", "jsonl", "--engine", engine];
    let joined = files
        .iter()
        .map(|f| f.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    args.extend(["--events", &joined]);
    args.extend(extra);
    args.push("rules");
    let o = ruleqc(&args);
    let mut counts = BTreeMap::new();
    for line in String::from_utf8(o.stdout.clone()).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["event"].is_object(), "{line}");
        *counts
            .entry(v["rule_id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    (counts, o)
}

fn nonzero(m: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    m.iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.clone(), *n))
        .collect()
}

#[test]
fn run_reports_exactly_the_known_matches_on_both_engines() {
    let (events, expected) = corpus();
    assert!(expected.values().sum::<usize>() >= 70);
    let dir = scratch("known");
    // JSON Lines, with broken lines in the middle; a gzip'd JSON array; a file of another type.
    let mut text = jsonl(&events[..60]);
    text.push_str("{\"broken\": \n");
    text.push_str("[1, 2]\n");
    text.push_str(&jsonl(&events[60..120]));
    let lines_file = dir.join("a.jsonl");
    std::fs::write(&lines_file, text).unwrap();
    let gz_file = dir.join("b.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(serde_json::to_string(&events[120..]).unwrap().as_bytes())
        .unwrap();
    std::fs::write(&gz_file, gz.finish().unwrap()).unwrap();
    let other = dir.join("c.jsonl");
    std::fs::write(&other, "{\"p_log_type\": \"Something.Else\", \"x\": 1}\n").unwrap();

    let mut outputs = Vec::new();
    for engine in ["sqlite", "duckdb"] {
        let (got, o) = matches(engine, &[&lines_file, &gz_file, &other], &[]);
        outputs.push(o.stdout.clone());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{engine}: {err}");
        assert_eq!(nonzero(&got), nonzero(&expected), "{engine}");
        assert!(err.contains("a.jsonl:61: not JSON"), "{engine}: {err}");
        assert!(
            err.contains("a.jsonl:62: not a JSON object"),
            "{engine}: {err}"
        );
        assert!(
            err.contains(&format!(
                "{} events read (2 malformed lines skipped, 1 of other log types)",
                events.len()
            )),
            "{engine}: {err}"
        );
    }
    // Matches come out in input order on both engines, so the two print the same bytes.
    assert_eq!(
        String::from_utf8_lossy(&outputs[0]),
        String::from_utf8_lossy(&outputs[1])
    );

    // --strict stops at the first broken line.
    let o = ruleqc(&[
        "run",
        "--strict",
        "--events",
        lines_file.to_str().unwrap(),
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a.jsonl:61"));
}

#[test]
fn log_type_flag_and_table_output() {
    let dir = scratch("flag");
    let file = dir.join("teleport.jsonl");
    std::fs::write(
        &file,
        concat!(
            "{\"event\": \"session.command\", \"argv\": [\"-l\"], \"program\": \"nc\", \"user\": \"eve\"}\n",
            "{\"event\": \"session.command\", \"argv\": [], \"program\": \"nc\", \"user\": \"bob\"}\n",
            "{\"event\": \"session.command\", \"argv\": [\"x\"], \"program\": \"ls\"}\n",
        ),
    )
    .unwrap();
    let o = ruleqc(&[
        "run",
        "--log-type",
        "Gravitational.TeleportAudit",
        "--rule",
        "Teleport.SuspiciousCommands",
        "--events",
        file.to_str().unwrap(),
        "rules",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("Teleport.SuspiciousCommands: 1 match\n"),
        "{out}"
    );
    assert!(out.contains("eve"), "{out}");
    assert!(!out.contains("bob"), "{out}");
    // A missing file is an I/O error.
    let o = ruleqc(&["run", "--events", "/no/such/file.jsonl", "rules"]);
    assert_eq!(o.status.code(), Some(2));
}
