//! The built `ruleqc` binary: exit codes, stdout and stderr, on `rules/` and on bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

mod support;
use support::cli::{ruleqc, stderr, stdout};

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    support::cli::scratch("cli", name)
}

const GOOD: &str = r#"RuleID: Test.Good
LogTypes: [Test.Events]
Condition: |
  action eq "delete"
Tests:
  - Name: match
    ExpectedResult: true
    Log: {action: delete}
  - Name: no match
    ExpectedResult: false
    Log: {action: create}
"#;

#[test]
fn check_rules_directory_is_clean() {
    let o = ruleqc(&["check", "rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("with errors (0 errors)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn test_rules_directory_passes() {
    let o = ruleqc(&["test", "rules"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let last = out.lines().last().expect("summary");
    let (passed, failed) = last
        .split_once(" passed, ")
        .map(|(p, f)| {
            (
                p.parse::<usize>().unwrap(),
                f.trim_end_matches(" failed").parse::<usize>().unwrap(),
            )
        })
        .expect("`N passed, M failed`");
    assert_eq!(failed, 0);
    assert!(passed >= 60, "{passed} tests");

    let o = ruleqc(&["test", "--format", "json", "rules"]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rules = doc["rules"].as_array().unwrap();
    assert!(rules.len() >= 25, "{} rules", rules.len());
    let ids: std::collections::BTreeSet<&str> = rules
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), rules.len(), "RuleIDs are unique");
    for r in rules {
        let tests = r["tests"].as_array().unwrap();
        let expect = |v: bool| tests.iter().any(|t| t["expected"] == v);
        assert!(
            expect(true) && expect(false),
            "{} needs a true and a false test",
            r["rule_id"]
        );
        for t in tests {
            assert_eq!(
                t["verdicts"]["reference"], t["expected"],
                "{}",
                r["rule_id"]
            );
        }
    }
    assert_eq!(doc["summary"]["passed"].as_u64(), Some(passed as u64));
}

#[test]
fn seed_rule_ignores_commands_without_arguments() {
    let o = ruleqc(&[
        "test",
        "--format",
        "json",
        "--rule",
        "Teleport.SuspiciousCommands",
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rules = doc["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "the filter keeps one rule");
    let tests = rules[0]["tests"].as_array().unwrap();
    let no_args = tests
        .iter()
        .find(|t| t["name"] == "Netcat without arguments")
        .expect("the argv: [] test");
    assert_eq!(no_args["verdicts"]["reference"], false);
    let with_args = tests
        .iter()
        .find(|t| t["name"] == "Netcat command")
        .expect("seed test");
    assert_eq!(with_args["verdicts"]["reference"], true);
}

#[test]
fn failing_tests_are_reported_with_exit_1() {
    let dir = scratch("failing");
    let wrong = GOOD.replace("ExpectedResult: false", "ExpectedResult: true");
    std::fs::write(dir.join("wrong.yml"), wrong).unwrap();
    let o = ruleqc(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("FAIL Test.Good :: no match: expected true, got false"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn bad_files_give_positions_exit_1_and_do_not_stop_the_others() {
    let dir = scratch("mixed");
    std::fs::write(dir.join("a_good.yml"), GOOD).unwrap();
    std::fs::write(
        dir.join("b_bad.yml"),
        "RuleID: Test.Bad\nLogTypes: [X]\nCondition: |\n  a eq 1\n  b gt \"x\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("c_bad.yaml"),
        "RuleID: Test.Bad2\nLogTypes: [X]\nSeverty: Low\nCondition: a is_null\n",
    )
    .unwrap();
    std::fs::write(dir.join("ignored.txt"), "not a rule").unwrap();
    let o = ruleqc(&["test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("b_bad.yml:5:8"), "{err}");
    assert!(err.contains("c_bad.yaml:3:1"), "{err}");
    assert!(err.contains("did you mean `Severity`?"), "{err}");
    // The good rule's tests still ran, and the summary names the files that did not load.
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("2 passed, 0 failed; 2 rule files did not load ("),
        "{last}"
    );
    assert!(
        last.contains("b_bad.yml, ") && last.contains("c_bad.yaml)"),
        "{last}"
    );

    let o = ruleqc(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("3 rule files checked: 1 ok, 2 with errors (2 errors)"),
        "{}",
        stdout(&o)
    );

    let o = ruleqc(&[
        "--error-format",
        "short",
        "check",
        dir.join("b_bad.yml").to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("b_bad.yml:5:8: error[E0304]: `gt` compares numbers"),
        "{err}"
    );
}

#[test]
fn every_bad_case_fails_cleanly() {
    let o = ruleqc(&["check", "tests/bad"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    for entry in std::fs::read_dir("tests/bad").unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        // Every file is named with a line and a column.
        let needle = format!("{name}:");
        let at = err
            .find(&needle)
            .unwrap_or_else(|| panic!("{name} not reported"));
        let rest = &err[at + needle.len()..];
        let pos: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ':')
            .collect();
        assert!(
            pos.split(':').filter(|s| !s.is_empty()).count() == 2,
            "{name}: {pos}"
        );
    }
}

#[test]
fn duplicate_rule_ids_are_errors() {
    let dir = scratch("dup");
    std::fs::write(dir.join("one.yml"), GOOD).unwrap();
    std::fs::write(dir.join("two.yml"), GOOD).unwrap();
    let o = ruleqc(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("duplicate RuleID `Test.Good`"), "{err}");
    assert!(err.contains("two.yml:1:9"), "{err}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(ruleqc(&[]).status.code(), Some(2));
    assert_eq!(ruleqc(&["check"]).status.code(), Some(2));
    assert_eq!(ruleqc(&["frobnicate", "rules"]).status.code(), Some(2));
    let o = ruleqc(&["check", "does/not/exist"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does/not/exist"), "{}", stderr(&o));
    let empty = scratch("empty");
    let o = ruleqc(&["test", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no rule files"), "{}", stderr(&o));
    let o = ruleqc(&["test", "--rule", "No.Such.Rule", "rules"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no rule matches --rule `No.Such.Rule`"));
    // The same for compile (a --check gate must not pass vacuously) and run.
    let o = ruleqc(&[
        "compile",
        "--rule",
        "No.*",
        "--out",
        "/tmp/ruleqc-none",
        "--check",
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no rule matches --rule `No.*`"),
        "{}",
        stderr(&o)
    );
    let o = ruleqc(&["run", "--rule", "No.*", "--events", "Cargo.toml", "rules"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no rule matches --rule `No.*`"));
    let o = ruleqc(&["explain", "rules"]);
    assert_eq!(o.status.code(), Some(2));
    let o = ruleqc(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    for word in ["check", "test", "explain"] {
        assert!(stdout(&o).contains(word));
    }
}

#[test]
fn explain_prints_each_stage() {
    let dir = scratch("explain");
    let file = dir.join("rule.yml");
    std::fs::write(
        &file,
        "RuleID: T.Explain\nLogTypes: [X]\nCondition: |\n  not (a eq 1 or b[*] ne~ \"X\")\n",
    )
    .unwrap();
    let o = ruleqc(&["explain", file.to_str().unwrap(), "--stage", "ast"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "Not @0..28\n  Group @4..28\n    Or @5..27\n      Predicate a eq number(1) @5..11\n      Predicate b[*] ne~ \"X\" @15..27\n"
    );
    let o = ruleqc(&["explain", file.to_str().unwrap(), "--stage", "ir"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "and\n  not a eq 1  [true when missing]\n  all b\n    @ eq~ \"X\"\n"
    );
    let bad = dir.join("bad.yml");
    std::fs::write(&bad, "RuleID: T.Bad\nLogTypes: [X]\nCondition: a eq\n").unwrap();
    let o = ruleqc(&["explain", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad.yml:3:14"), "{}", stderr(&o));
}

#[test]
fn json_output_reports_load_errors() {
    let dir = scratch("json");
    std::fs::write(dir.join("good.yml"), GOOD).unwrap();
    std::fs::write(
        dir.join("bad.yml"),
        "RuleID: T.B\nLogTypes: [X]\nCondition: a eq null\n",
    )
    .unwrap();
    let o = ruleqc(&["test", "--format", "json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(doc["errors"][0]["code"], "E0303");
    assert_eq!(doc["errors"][0]["line"], 3);
    assert_eq!(doc["errors"][0]["column"], 17);
    assert_eq!(doc["summary"]["rules_with_errors"], 1);
    assert_eq!(doc["rules"][0]["tests"][0]["verdicts"]["reference"], true);
}

#[test]
fn compile_prints_one_query_per_rule() {
    let o = ruleqc(&["compile", "--target", "sql", "rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("-- ")).collect();
    assert_eq!(headers.len(), 49, "one `-- RuleID` line per rule");
    assert!(
        out.contains("-- Teleport.SuspiciousCommands\nSELECT event, code, \"user\""),
        "{out}"
    );
    assert_eq!(out.matches(";\n").count(), 49);

    for dialect in [
        "duckdb",
        "sqlite",
        "postgres",
        "snowflake",
        "bigquery",
        "databricks",
        "clickhouse",
    ] {
        let o = ruleqc(&["compile", "--dialect", dialect, "--format", "json", "rules"]);
        assert_eq!(o.status.code(), Some(0), "{dialect}: {}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let items = doc.as_array().unwrap();
        assert_eq!(items.len(), 49);
        for i in items {
            assert_eq!(i["dialect"], dialect);
            assert_eq!(i["target"], "sql");
            assert!(i["query"].as_str().unwrap().starts_with("SELECT "));
        }
    }
}

#[test]
fn compile_reports_what_a_dialect_cannot_express_and_goes_on() {
    let dir = scratch("unsupported");
    std::fs::write(dir.join("a.yml"), GOOD).unwrap();
    std::fs::write(
        dir.join("b.yml"),
        "RuleID: T.Tick\nLogTypes: [X]\nCondition: |\n  `a``b` eq 1\n",
    )
    .unwrap();
    let o = ruleqc(&["compile", "--dialect", "bigquery", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error[E0401]: bigquery cannot name a column `a`b`"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("-- Test.Good"),
        "the other rule still compiles"
    );
    let o = ruleqc(&["compile", "--dialect", "duckdb", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("WHERE \"a`b\" = 1"), "{}", stdout(&o));
}

#[test]
fn explain_query_for_a_dialect() {
    let o = ruleqc(&[
        "explain",
        "rules/teleport/suspicious_commands.yml",
        "--stage",
        "query",
        "--dialect",
        "postgres",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("NOT COALESCE(argv IN ('null'::jsonb"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn test_runs_the_embedded_engine_by_default() {
    let verdicts = |args: &[&str]| {
        let o = ruleqc(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let first = &doc["rules"][0]["tests"][0]["verdicts"];
        let mut keys: Vec<String> = first.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        verdicts(&["test", "--format", "json", "rules"]),
        ["reference", "sqlite"]
    );
    assert_eq!(
        verdicts(&["test", "--format", "json", "--engine", "none", "rules"]),
        ["reference"]
    );
    assert_eq!(
        verdicts(&[
            "test",
            "--format",
            "json",
            "--engine",
            "duckdb",
            "--rule",
            "Teleport.*",
            "rules"
        ]),
        ["duckdb", "reference"]
    );
    let o = ruleqc(&[
        "test",
        "--engine",
        "duckdb",
        "--duckdb",
        "/no/such/duckdb",
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("pip install duckdb-cli==1.5.6"),
        "{}",
        stderr(&o)
    );
}

fn files_in(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn compile_out_check_and_prune() {
    let dir = scratch("out");
    let rules_dir = dir.join("rules");
    std::fs::create_dir_all(&rules_dir).unwrap();
    for f in [
        "teleport/suspicious_commands.yml",
        "okta/brute_force_login.yml",
        "zoom/passcode_disabled.yml",
    ] {
        let name = f.replace('/', "_");
        std::fs::copy(format!("rules/{f}"), rules_dir.join(name)).unwrap();
    }
    let gen_dir = dir.join("generated");
    let (r, g) = (rules_dir.to_str().unwrap(), gen_dir.to_str().unwrap());

    // --check on a missing directory: everything would be added, nothing is written.
    let o = ruleqc(&["compile", "--out", g, "--check", r]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("out of date: 3 to add, 0 changed, 0 stale"),
        "{}",
        stdout(&o)
    );
    assert!(!gen_dir.exists(), "--check writes nothing");

    let o = ruleqc(&["compile", "--out", g, r]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(files_in(&gen_dir).len(), 3);
    let sql = std::fs::read_to_string(gen_dir.join("Teleport.SuspiciousCommands.sql")).unwrap();
    assert!(sql.starts_with("-- generated by ruleqc from "), "{sql}");
    assert!(sql.contains("-- RuleID: Teleport.SuspiciousCommands\n-- Name: Teleport Suspicious Commands Executed\n-- Severity: Medium\n-- Schedule: every 60 minutes, looking back 60 minutes\n-- Dialect: duckdb\nSELECT "));
    assert!(sql.ends_with(";\n"));

    // Fresh output checks clean.
    let o = ruleqc(&["compile", "--out", g, "--check", r]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // Change one rule: --check names it in a diff, exits 1, writes nothing.
    let before = files_in(&gen_dir);
    let rule = rules_dir.join("teleport_suspicious_commands.yml");
    let text = std::fs::read_to_string(&rule)
        .unwrap()
        .replace("\"wget\"]", "\"wget\", \"curl\"]");
    std::fs::write(&rule, text).unwrap();
    let o = ruleqc(&["compile", "--out", g, "--check", r]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("--- a/Teleport.SuspiciousCommands.sql"),
        "{out}"
    );
    assert!(
        out.contains("+  AND program IN ('nc', 'wget', 'curl');"),
        "{out}"
    );
    assert!(
        out.contains("out of date: 0 to add, 1 changed, 0 stale"),
        "{out}"
    );
    assert_eq!(files_in(&gen_dir), before, "--check writes nothing");

    // Remove a rule: its file is stale; only --prune removes it.
    std::fs::remove_file(rules_dir.join("zoom_passcode_disabled.yml")).unwrap();
    let o = ruleqc(&["compile", "--out", g, r]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("Zoom.Operation.MeetingPasscodeDisabled.sql is stale"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files_in(&gen_dir).len(), 3);
    let o = ruleqc(&["compile", "--out", g, "--check", r]);
    assert_eq!(o.status.code(), Some(1), "a stale file is a difference");
    let o = ruleqc(&["compile", "--out", g, "--prune", r]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(files_in(&gen_dir).len(), 2);
    let o = ruleqc(&["compile", "--out", g, "--check", r]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // A file ruleqc did not write is never overwritten or pruned.
    std::fs::write(gen_dir.join("Teleport.SuspiciousCommands.sql"), "-- mine\n").unwrap();
    std::fs::write(gen_dir.join("notes.sql"), "-- also mine\n").unwrap();
    let o = ruleqc(&["compile", "--out", g, "--prune", r]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("was not written by ruleqc"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(gen_dir.join("notes.sql")).unwrap(),
        "-- also mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(gen_dir.join("Teleport.SuspiciousCommands.sql")).unwrap(),
        "-- mine\n"
    );
    // No temporary files are left behind.
    assert!(files_in(&gen_dir).iter().all(|(n, _)| !n.ends_with(".tmp")));
}

#[test]
fn compile_output_is_deterministic() {
    let dir = scratch("determinism");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let o = ruleqc(&[
        "compile",
        "--out",
        a.to_str().unwrap(),
        "rules/okta",
        "rules/aws_cloudtrail",
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ruleqc(&[
        "compile",
        "--out",
        b.to_str().unwrap(),
        "rules",
        "rules/aws_cloudtrail",
        "rules/okta",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (fa, fb) = (files_in(&a), files_in(&b));
    assert_eq!(fa.len(), 49);
    assert_eq!(fa, fb, "same bytes whatever the order of the arguments");
    let o1 = ruleqc(&["compile", "--dialect", "snowflake", "rules"]);
    let o2 = ruleqc(&["compile", "--dialect", "snowflake", "rules"]);
    assert_eq!(o1.stdout, o2.stdout);
}

/// Runs ruleqc with stdout (and stderr, with `both`) connected to a pipe whose reader is
/// closed before ruleqc writes anything, as `ruleqc ... | head -0` does.
fn closed_pipe(args: &[&str], both: bool) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ruleqc");
    drop(child.stdout.take());
    if both {
        drop(child.stderr.take());
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        &["test", "--format", "json", "rules"][..],
        &["check", "rules"],
        &["compile", "--target", "kql", "rules"],
        &["check", "tests/bad"],
    ] {
        for both in [false, true] {
            let o = closed_pipe(args, both);
            assert_eq!(o.status.code(), Some(141), "{args:?}: {}", stderr(&o));
            assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        }
    }
}

fn ruleqc_in(cwd: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ruleqc")
}

/// `rules/` copied into a scratch directory, for tests that edit rules or run from elsewhere.
fn copied_rules(name: &str) -> PathBuf {
    let dir = scratch(name);
    let copy = Command::new("cp")
        .args(["-r", "rules"])
        .arg(dir.join("rules"))
        .status()
        .expect("cp");
    assert!(copy.success());
    dir
}

#[test]
fn rule_filters_do_not_make_other_rules_stale() {
    let dir = copied_rules("filters");
    let gen_dir = dir.join("gen");
    let o = ruleqc_in(&dir, &["compile", "rules", "--out", "gen"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(files_in(&gen_dir).len(), 49);
    let o = ruleqc_in(
        &dir,
        &[
            "compile", "rules", "--rule", "AWS.*", "--out", "gen", "--check",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("up to date: 0 to add, 0 changed, 0 stale"));
    let o = ruleqc_in(
        &dir,
        &[
            "compile", "rules", "--rule", "AWS.*", "--out", "gen", "--prune",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        files_in(&gen_dir).len(),
        49,
        "no file of a filtered-out rule is removed"
    );

    // A deleted rule inside the filter is stale; one outside it is not this run's business.
    std::fs::remove_file(dir.join("rules/okta/brute_force_login.yml")).unwrap();
    let o = ruleqc_in(
        &dir,
        &[
            "compile", "rules", "--rule", "AWS.*", "--out", "gen", "--check",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = ruleqc_in(
        &dir,
        &[
            "compile", "rules", "--rule", "Okta.*", "--out", "gen", "--check",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("stale "), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 changed, 1 stale"), "{}", stdout(&o));

    // A rule that fails to compile keeps its old file: not stale, not pruned.
    let kql = ["compile", "rules/zoom", "--target", "kql", "--out", "kql"];
    assert_eq!(ruleqc_in(&dir, &kql).status.code(), Some(0));
    let rule = dir.join("rules/zoom/passcode_disabled.yml");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(&rule, format!("{text}Schedule: {{RateMinutes: 1}}\n")).unwrap();
    let o = ruleqc_in(&dir, &[&kql[..], &["--prune"]].concat());
    assert_eq!(
        o.status.code(),
        Some(1),
        "Sentinel runs every 5 minutes at most"
    );
    assert!(stderr(&o).contains("E0403"), "{}", stderr(&o));
    assert!(
        dir.join("kql/Zoom.Operation.MeetingPasscodeDisabled.yaml")
            .exists()
    );
    let o = ruleqc_in(&dir, &[&kql[..], &["--check"]].concat());
    assert!(stdout(&o).contains("0 stale"), "{}", stdout(&o));
    // A rule file that does not load: nothing is pruned, since its RuleID is unknown.
    std::fs::write(&rule, "RuleID: [\n").unwrap();
    let o = ruleqc_in(&dir, &["compile", "rules", "--out", "gen", "--prune"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not pruning"), "{}", stderr(&o));
    assert_eq!(files_in(&gen_dir).len(), 49);

    // One file for every rule: a filter would drop the others from it.
    let o = ruleqc_in(
        &dir,
        &[
            "compile", "rules", "--target", "splunk", "--rule", "AWS.*", "--out", "s",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--rule cannot be combined with --out"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn artifact_headers_do_not_depend_on_how_paths_are_typed() {
    let dir = copied_rules("paths");
    let elsewhere = dir.join("some/where");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let targets: [&[&str]; 3] = [
        &["--target", "sql"],
        &["--target", "kql"],
        &["--profile", "panther", "--dialect", "snowflake"],
    ];
    for (i, target) in targets.into_iter().enumerate() {
        let gen_dir = dir.join(format!("gen{i}"));
        let out = format!("gen{i}");
        let mut args = vec!["compile", "rules/okta", "--out", &out];
        args.extend_from_slice(target);
        let o = ruleqc_in(&dir, &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        if i == 0 {
            let sql = std::fs::read_to_string(gen_dir.join("Okta.SystemLog.PasswordGuessing.sql"))
                .unwrap();
            assert!(
                sql.starts_with("-- generated by ruleqc from ../rules/okta/brute_force_login.yml;"),
                "{sql}"
            );
        }
        let (abs_rules, abs_gen) = (dir.join("rules/okta"), gen_dir.clone());
        let (up_gen, slash_gen, dot_gen) = (
            format!("../../gen{i}"),
            format!("gen{i}/"),
            format!("./gen{i}"),
        );
        for (cwd, rules, out) in [
            (&dir, "./rules/okta/", dot_gen.as_str()),
            (&dir, "rules/../rules/okta", slash_gen.as_str()),
            (&elsewhere, "../../rules/okta", up_gen.as_str()),
            (
                &elsewhere,
                abs_rules.to_str().unwrap(),
                abs_gen.to_str().unwrap(),
            ),
        ] {
            let mut args = vec!["compile", rules, "--out", out, "--check"];
            args.extend_from_slice(target);
            let o = ruleqc_in(cwd, &args);
            assert_eq!(o.status.code(), Some(0), "{cwd:?} {args:?}: {}", stdout(&o));
        }
    }

    // In a Git repository the header names the file from the repository's root, wherever the
    // output goes.
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let outside = scratch("paths-outside");
    let o = ruleqc_in(
        &dir,
        &["compile", "rules/okta", "--out", outside.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sql = std::fs::read_to_string(outside.join("Okta.SystemLog.PasswordGuessing.sql")).unwrap();
    assert!(
        sql.starts_with("-- generated by ruleqc from rules/okta/brute_force_login.yml;"),
        "{sql}"
    );
    let abs_rules = dir.join("rules/okta");
    let o = ruleqc_in(
        &elsewhere,
        &[
            "compile",
            abs_rules.to_str().unwrap(),
            "--out",
            outside.to_str().unwrap(),
            "--check",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn check_names_hand_written_files_in_the_way() {
    let dir = copied_rules("foreign");
    std::fs::create_dir_all(dir.join("gen")).unwrap();
    std::fs::write(
        dir.join("gen/Okta.SystemLog.PasswordGuessing.sql"),
        "-- mine\n",
    )
    .unwrap();
    let o = ruleqc_in(&dir, &["compile", "rules/okta", "--out", "gen", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("1 in the way (not written by ruleqc)"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o)
            .contains("Okta.SystemLog.PasswordGuessing.sql: exists and was not written by ruleqc")
    );
}
