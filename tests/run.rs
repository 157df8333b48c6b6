//! `ruleqc run` on generated log files with known matches: every rule's test events (tagged
//! with their log type) become a log; the expected matches are what the reference evaluator
//! says for every (rule, event) pair of the same log type. Every engine (native, SQLite, DuckDB,
//! and `verify`, which runs the first two) must report exactly those, in the same order,
//! whatever the file format, and broken lines are reported and skipped.

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
        .map(|l| *l.result.unwrap())
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
    for engine in ["native", "sqlite", "duckdb", "verify"] {
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
    // Matches come out in the same order on every engine (rule by rule, each in input order),
    // so all print the same bytes.
    for o in &outputs[1..] {
        assert_eq!(
            String::from_utf8_lossy(&outputs[0]),
            String::from_utf8_lossy(o)
        );
    }

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

/// A line that is not UTF-8 is reported with its number, and the line after it is read (it
/// used to be dropped with the bad one).
#[test]
fn invalid_utf8_line_is_reported_and_the_next_kept() {
    let dir = scratch("utf8");
    let file = dir.join("x.jsonl");
    let lt = "Gravitational.TeleportAudit";
    let mut text = format!("{{\"p_log_type\": \"{lt}\", \"n\": 1}}\n").into_bytes();
    text.extend(b"{\"n\": \"\xff\"}\n");
    text.extend(
        format!("{{\"p_log_type\": \"{lt}\", \"n\": 2}}\n{{\"p_log_type\": \"{lt}\", \"n\": 3}}\n")
            .bytes(),
    );
    std::fs::write(&file, text).unwrap();
    for engine in ["native", "sqlite", "verify"] {
        let (_, o) = matches(engine, &[&file], &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{engine}: {err}");
        assert!(
            err.contains("x.jsonl:2: not valid UTF-8"),
            "{engine}: {err}"
        );
        assert!(
            err.contains("3 events read (1 malformed line skipped, 0 of other log types)"),
            "{engine}: {err}"
        );
    }
}

/// SplitMix64, to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Generated events: the rules' test events, mutated at every level (a value swapped with the
/// same key's value in another event of the log type, replaced by null or, below the top
/// level, by another type, removed, or an array emptied). A top-level value keeps a type its
/// column holds: the SQL engines load the events typed by the rule set's schema and reject an
/// event that contradicts it (`run_rejects_a_value_its_column_cannot_hold`). Every engine must give the reference evaluator's matches,
/// and all of them the same bytes; `--engine verify` must find no disagreement.
#[test]
fn engines_agree_on_generated_events() {
    let (events, _) = corpus();
    let rules: Vec<_> = load_paths(&["rules".into()])
        .unwrap()
        .into_iter()
        .map(|l| *l.result.unwrap())
        .collect();
    // Values seen under each key, per log type: material for the mutations.
    let mut seen: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    fn walk(lt: &str, v: &Value, seen: &mut BTreeMap<(String, String), Vec<Value>>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    seen.entry((lt.to_string(), k.clone()))
                        .or_default()
                        .push(x.clone());
                    walk(lt, x, seen);
                }
            }
            Value::Array(items) => items.iter().for_each(|x| walk(lt, x, seen)),
            _ => {}
        }
    }
    for e in &events {
        walk(e["p_log_type"].as_str().unwrap(), e, &mut seen);
    }
    fn mutate(
        rng: &mut Rng,
        lt: &str,
        v: &mut Value,
        seen: &BTreeMap<(String, String), Vec<Value>>,
        top: bool,
    ) {
        match v {
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().filter(|k| *k != "p_log_type").cloned().collect();
                for k in keys {
                    match rng.below(12) {
                        0 => {
                            m.remove(&k);
                        }
                        1 => m[&k] = Value::Null,
                        2 if !top => m[&k] = json!(rng.below(3) as i64 - 1),
                        3 if !top => m[&k] = json!("x"),
                        4 | 5 => {
                            let pool = &seen[&(lt.to_string(), k.clone())];
                            m[&k] = pool[rng.below(pool.len())].clone();
                        }
                        _ => mutate(rng, lt, m.get_mut(&k).unwrap(), seen, false),
                    }
                }
            }
            Value::Array(items) => {
                if rng.below(8) == 0 {
                    items.clear();
                }
                for x in items {
                    mutate(rng, lt, x, seen, false);
                }
            }
            _ => {}
        }
    }
    let mut rng = Rng(0x5eed_0015);
    let mut generated = Vec::new();
    for _ in 0..12 {
        for e in &events {
            let mut e = e.clone();
            let lt = e["p_log_type"].as_str().unwrap().to_string();
            mutate(&mut rng, &lt, &mut e, &seen, true);
            generated.push(e);
        }
    }
    let mut expected = BTreeMap::new();
    for r in &rules {
        let n = generated
            .iter()
            .filter(|e| r.log_types.iter().any(|lt| e["p_log_type"] == json!(lt)))
            .filter(|e| eval(&r.condition.ir, e))
            .count();
        expected.insert(r.rule_id.clone(), n);
    }
    let total: usize = expected.values().sum();
    assert!(total >= 200, "only {total} matches generated");
    let dir = scratch("generated");
    let file = dir.join("generated.jsonl");
    std::fs::write(&file, jsonl(&generated)).unwrap();
    let mut outputs = Vec::new();
    for engine in ["native", "sqlite", "duckdb", "verify"] {
        let (got, o) = matches(engine, &[&file], &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{engine}: {err}");
        assert_eq!(nonzero(&got), nonzero(&expected), "{engine}");
        outputs.push(o.stdout);
    }
    for o in &outputs[1..] {
        assert_eq!(
            String::from_utf8_lossy(&outputs[0]),
            String::from_utf8_lossy(o)
        );
    }
}

/// The native engine cuts its input into chunks of about 1 MB: across chunks, with a line
/// longer than a chunk and without a final newline, the line numbers of malformed lines and
/// the matches are those of the SQL engines.
#[test]
fn chunks_keep_line_numbers_and_matches() {
    let lt = "Gravitational.TeleportAudit";
    let mut text = String::new();
    let mut bad = Vec::new();
    for i in 0..30_000 {
        let program = if i % 7 == 0 { "nc" } else { "ls" };
        let pad = if i == 12_345 {
            "p".repeat(1_500_000)
        } else {
            "p".repeat(i % 50)
        };
        if i % 9_999 == 0 {
            text.push_str("{\"broken\n");
            bad.push(i + 1);
            continue;
        }
        text.push_str(&format!(
            "{{\"p_log_type\": \"{lt}\", \"event\": \"session.command\", \"argv\": [\"-l\"], \"program\": \"{program}\", \"user\": \"u{i}\", \"pad\": \"{pad}\"}}\n"
        ));
    }
    text.pop();
    assert!(text.len() > 4 << 20);
    let dir = scratch("chunks");
    let file = dir.join("big.jsonl");
    std::fs::write(&file, text).unwrap();
    // A second file numbers its lines from 1 again.
    let small = dir.join("small.jsonl");
    std::fs::write(&small, "{}\n{\"broken\n").unwrap();
    let mut outputs = Vec::new();
    for engine in ["native", "sqlite"] {
        let (got, o) = matches(
            engine,
            &[&file, &small],
            &["--rule", "Teleport.SuspiciousCommands"],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{engine}: {err}");
        for n in &bad {
            assert!(
                err.contains(&format!("big.jsonl:{n}: not JSON")),
                "{engine}: {n}: {err}"
            );
        }
        assert!(err.contains("small.jsonl:2: not JSON"), "{engine}: {err}");
        assert_eq!(
            got["Teleport.SuspiciousCommands"],
            (0..30_000).filter(|i| i % 7 == 0 && i % 9_999 != 0).count(),
            "{engine}"
        );
        outputs.push(o.stdout);
    }
    assert!(
        outputs[0] == outputs[1],
        "native and sqlite print different bytes"
    );
}

/// `run --profile`: a renamed field is read from the event key the profile maps it to, by the
/// native engine and by the compiled SQL alike, so events stored under the profile's column
/// names give the matches the original events give without the profile.
#[test]
fn profile_renames_reach_every_engine() {
    let (events, expected) = corpus();
    let dir = scratch("profile-renames");
    let renamed: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let m = e.as_object_mut().unwrap();
            if let Some(v) = m.remove("eventSource") {
                m.insert("event_source".into(), v);
            }
            e
        })
        .collect();
    assert_ne!(renamed, events, "the corpus has eventSource fields");
    let file = dir.join("renamed.jsonl");
    std::fs::write(&file, jsonl(&renamed)).unwrap();
    let profile = dir.join("profile.yml");
    std::fs::write(
        &profile,
        "sql:\n  table: \"{table}\"\n  fields:\n    eventSource: event_source\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    for engine in ["native", "sqlite", "duckdb", "verify"] {
        let (got, o) = matches(engine, &[&file], &["--profile", profile.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{engine}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(nonzero(&got), nonzero(&expected), "{engine}");
        outputs.push(String::from_utf8(o.stdout).unwrap());
    }
    for o in &outputs[1..] {
        assert_eq!(&outputs[0], o);
    }
    // Without the profile the rules read `eventSource`, which these events lack.
    let (got, _) = matches("sqlite", &[&file], &[]);
    assert_ne!(nonzero(&got), nonzero(&expected));
    std::fs::remove_dir_all(dir).ok();
}

/// The SQL engines load events typed by the rule set's schema: a value its column's type cannot
/// hold is an error naming the file and line, with nothing printed, never a silent cast.
#[test]
fn run_rejects_a_value_its_column_cannot_hold() {
    let dir = scratch("mistyped");
    let file = dir.join("events.jsonl");
    std::fs::write(
        &file,
        "{\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": \"ConsoleLogin\"}\n\
         {\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": 5}\n",
    )
    .unwrap();
    // The same event as the second element of a JSON array.
    let array = dir.join("events.json");
    std::fs::write(
        &array,
        "[{\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": \"ConsoleLogin\"},\n \
         {\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": 5}]\n",
    )
    .unwrap();
    for (f, at) in [(&file, "2"), (&array, "event 2 of the array")] {
        for engine in ["sqlite", "duckdb"] {
            let (_, o) = matches(engine, &[f], &[]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{engine}: {err}");
            assert!(
                err.contains(&format!(
                    "{}:{at}: field `eventName` of this AWS.CloudTrail event holds the integer 5, \
                     but the rule set's schema types column `eventName` as text",
                    f.display()
                )),
                "{engine}: {err}"
            );
            assert!(o.stdout.is_empty(), "{engine}");
        }
    }
    // The native engine reads the event as it is: no rule matches an integer eventName.
    let (_, o) = matches("native", &[&file], &[]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::remove_dir_all(dir).ok();
}

/// A profile's qualified table names: SQLite (and `verify`) attach the database the name
/// gives (`security.{table}`; `main` and `temp` are there already) and find the known matches;
/// a name SQLite cannot create, or any qualified name on DuckDB, is an error naming the
/// profile key that gives it.
#[test]
fn qualified_table_names_from_a_profile() {
    let (events, expected) = corpus();
    let dir = scratch("qualified");
    let file = dir.join("events.jsonl");
    std::fs::write(&file, jsonl(&events)).unwrap();
    let two = dir.join("two.yml");
    std::fs::write(
        &two,
        "sql:\n  table: \"security.{table}\"\n  log_types:\n    Okta.SystemLog: {table: main.okta}\n    GitHub.Audit: {table: temp.gh}\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    for engine in ["native", "sqlite", "verify"] {
        let (got, o) = matches(engine, &[&file], &["--profile", two.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{engine}: {err}");
        assert_eq!(nonzero(&got), nonzero(&expected), "{engine}");
        outputs.push(o.stdout);
    }
    assert_eq!(outputs[0], outputs[1]);
    let (_, o) = matches("duckdb", &[&file], &["--profile", two.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("places AWS.CloudTrail in `security.aws_cloudtrail` (`sql.table`); run --engine duckdb needs a table name without a database"),
        "{err}"
    );
    let three = dir.join("three.yml");
    std::fs::write(
        &three,
        "sql:\n  table: \"{table}\"\n  log_types:\n    Okta.SystemLog: {table: warehouse.security.okta}\n",
    )
    .unwrap();
    let (_, o) = matches("sqlite", &[&file], &["--profile", three.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("places Okta.SystemLog in `warehouse.security.okta` (`sql.log_types.Okta.SystemLog.table`); run --engine sqlite creates `table` or `database.table`"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    std::fs::remove_dir_all(dir).ok();
}

/// `run` with a profile's `timestamp` time column: SQLite and DuckDB load the instant each
/// event's text stands for and keep what the lookback filter keeps (the last hour), whatever
/// the spelling; a value that is not a timestamp is the error naming file and line.
#[test]
fn timestamp_time_column_on_both_sql_engines() {
    use ruleqc::backend::schema::timestamp::Instant;
    let dir = scratch("timestamps");
    let rule = dir.join("rule.yml");
    std::fs::write(
        &rule,
        "RuleID: Test.Time\nLogTypes: [Custom.Auth]\nSeverity: Low\nCondition: |\n  action eq \"login\"\nTests:\n  - Name: a login\n    ExpectedResult: true\n    Log: {action: login}\n",
    )
    .unwrap();
    let profile = dir.join("profile.yml");
    std::fs::write(
        &profile,
        "sql:\n  table: \"{table}\"\n  log_types:\n    Custom.Auth:\n      time_column: ts\n      columns: {ts: timestamp}\n",
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = |ago: i64| Instant::from_unix_seconds(now - ago);
    let lines = [
        json!({"n": 1, "action": "login", "ts": at(300).rfc3339()}),
        json!({"n": 2, "action": "login", "ts": at(7200).rfc3339()}),
        json!({"n": 3, "action": "login", "ts": at(300).sqlite_text().replace(' ', "t") + "z"}),
        json!({"n": 4, "action": "login", "ts": at(300 + 3600).sqlite_text() + "-01:00"}),
        json!({"n": 5, "action": "login", "ts": at(7200 - 3600).sqlite_text() + "+01:00"}),
        json!({"n": 6, "action": "login"}),
    ];
    let file = dir.join("events.jsonl");
    std::fs::write(&file, jsonl(&lines)).unwrap();
    let args = [
        "--log-type",
        "Custom.Auth",
        "--profile",
        profile.to_str().unwrap(),
    ];
    let run = |engine: &str, events: &Path| {
        ruleqc(&[
            "run",
            "--format",
            "jsonl",
            "--engine",
            engine,
            args[0],
            args[1],
            args[2],
            args[3],
            "--events",
            events.to_str().unwrap(),
            rule.to_str().unwrap(),
        ])
    };
    for engine in ["sqlite", "duckdb"] {
        let o = run(engine, &file);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{engine}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got: Vec<u64> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["event"]["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(got, [1, 3, 4], "{engine}");
    }
    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        jsonl(&[
            json!({"action": "login", "ts": at(300).rfc3339()}),
            json!({"action": "login", "ts": "yesterday"}),
        ]),
    )
    .unwrap();
    for engine in ["sqlite", "duckdb"] {
        let o = run(engine, &bad);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{engine}: {err}");
        assert!(
            err.contains(&format!(
                "{}:2: field `ts` of this Custom.Auth event holds the string \"yesterday\", but \
                 the rule set's schema types column `ts` as timestamp",
                bad.display()
            )),
            "{engine}: {err}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// The native engine on one worker and on three reads the same chunks in another order of
/// completion; what it prints (matches, malformed lines, counts) is the same bytes.
#[test]
fn native_run_gives_the_same_bytes_on_one_thread_and_three() {
    let (events, _) = corpus();
    let dir = scratch("threads");
    // About 3 MB: several 1 MB chunks, with a broken line in each stretch.
    let mut text = String::new();
    for round in 0..48 {
        text.push_str(&jsonl(&events));
        text.push_str(&format!("{{\"broken\": {round}\n"));
    }
    assert!(text.len() > 3 << 20, "{} bytes", text.len());
    let file = dir.join("events.jsonl");
    std::fs::write(&file, text).unwrap();
    let on = |threads: &str| {
        Command::new(env!("CARGO_BIN_EXE_ruleqc"))
            .args(["run", "--format", "jsonl", "--events"])
            .arg(&file)
            .arg("rules")
            .env("RULEQC_THREADS", threads)
            .output()
            .expect("run ruleqc")
    };
    let (one, three) = (on("1"), on("3"));
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert_eq!(one.stdout, three.stdout);
    assert_eq!(one.stderr, three.stderr);
    let err = String::from_utf8_lossy(&one.stderr);
    assert!(err.contains("48 malformed lines skipped"), "{err}");
    assert!(
        one.stdout.len() > 100_000,
        "{} bytes of matches",
        one.stdout.len()
    );
}
