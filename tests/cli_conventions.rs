//! The built `ruleqc` binary: output formats (JSON, GitHub workflow commands, SARIF checked
//! against its schema, JUnit), `check --target`, condition coverage, directory discovery and
//! the command-line conventions (`--quiet`, `--exclude`, `list`, usage errors).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod support;
use support::cli::{ruleqc, stderr, stdout};

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    support::cli::scratch("conv", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A rule with one failing test, one rule without tests, one file that does not load.
fn mixed(name: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::write(
        dir.join("a.yml"),
        "RuleID: T.A\nLogTypes: [X]\nCondition: |\n  a eq 1\n  tags[*] eq \"x\"\nTests:\n  - Name: ok\n    ExpectedResult: true\n    Log: {a: 1, tags: [y, x]}\n  - Name: wrong\n    ExpectedResult: true\n    Log: {a: 2, tags: [x]}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("b.yml"),
        "RuleID: T.B\nLogTypes: [X]\nCondition: b eq \"q\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("c.yml"),
        "RuleID: T.C\nLogTypes: [X]\nCondition: c eq\n",
    )
    .unwrap();
    dir
}

/// Runs tests/sarif/validate.js (the SARIF 2.1.0 schema, ajv) on `log`.
fn sarif_schema_check(log: &[u8]) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("node")
        .arg("tests/sarif/validate.js")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (run: npm ci --prefix tests/sarif)");
    child.stdin.take().unwrap().write_all(log).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_ne!(o.status.code(), Some(3), "{}", stderr(&o));
    (o.status.success(), stdout(&o))
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    // The validator rejects what is not SARIF, so a pass below means something.
    let (ok, why) = sarif_schema_check(br#"{"version": "2.1.0", "runs": [{"tool": {}}]}"#);
    assert!(!ok && why.contains("driver"), "{why}");

    let dir = mixed("sarif");
    let o = ruleqc(&["test", "--coverage", "--output-format", "sarif", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    let (ok, why) = sarif_schema_check(&o.stdout);
    assert!(ok, "{why}\n{}", stdout(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let find = |id: &str| {
        results
            .iter()
            .filter(|r| r["ruleId"] == id)
            .collect::<Vec<_>>()
    };
    let failed = find("test-failed");
    assert_eq!(failed.len(), 1);
    let region = &failed[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 10, "the failing test's line");
    assert!(
        failed[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("/a.yml")
    );
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"].as_str().unwrap().starts_with('E')
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .ends_with("/c.yml")),
        "the file that does not load is a result"
    );
    assert_eq!(find("W0110").len(), 1, "T.B has no tests");
    assert!(!find("coverage").is_empty());

    for args in [
        &["check", "--output-format", "sarif"][..],
        &["check", "--target", "all", "--output-format", "sarif"],
    ] {
        let o = ruleqc(&[args, &[s(&dir)]].concat());
        assert_eq!(o.status.code(), Some(1));
        let (ok, why) = sarif_schema_check(&o.stdout);
        assert!(ok, "{args:?}: {why}");
    }
    let gen_dir = dir.join("gen");
    let o = ruleqc(&[
        "compile",
        "--output-format",
        "sarif",
        "--out",
        s(&gen_dir),
        "--check",
        s(&dir),
    ]);
    let (ok, why) = sarif_schema_check(&o.stdout);
    assert!(ok, "{why}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ruleId"] == "artifact"),
        "missing artifacts are results"
    );
}

/// A workflow command: its name, its properties in order, its message.
type WorkflowCommand = (String, Vec<(String, String)>, String);

/// Parses one GitHub Actions workflow command, as the runner reads it:
/// `::command prop=value,prop=value::message`, with `%25`, `%0D`, `%0A` (and in property values
/// `%3A`, `%2C`) escapes. `None` when the line is not a well-formed command.
fn workflow_command(line: &str) -> Option<WorkflowCommand> {
    let rest = line.strip_prefix("::")?;
    let (head, message) = rest.split_once("::")?;
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let unescape = |v: &str| {
        v.replace("%0A", "\n")
            .replace("%0D", "\r")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    };
    let mut parsed = Vec::new();
    for p in props.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=')?;
        if v.contains(':') || v.contains('\n') {
            return None;
        }
        parsed.push((k.to_string(), unescape(v)));
    }
    if message.contains('\n') || message.contains('\r') {
        return None;
    }
    Some((command.to_string(), parsed, unescape(message)))
}

#[test]
fn github_output_is_workflow_commands_at_the_right_lines() {
    let dir = mixed("github");
    let o = ruleqc(&["test", "--output-format", "github", "--coverage", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let commands: Vec<_> = err
        .lines()
        .filter(|l| l.starts_with("::"))
        .map(|l| workflow_command(l).unwrap_or_else(|| panic!("malformed: {l}")))
        .collect();
    assert!(!commands.is_empty(), "{err}");
    for (command, props, _) in &commands {
        assert!(["error", "warning", "notice"].contains(&command.as_str()));
        let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["file", "line", "col", "title"]);
        assert!(props[1].1.parse::<usize>().is_ok() && props[2].1.parse::<usize>().is_ok());
    }
    let failed = commands
        .iter()
        .find(|(_, p, m)| p[3].1 == "ruleqc test-failed" && m.contains("T.A :: wrong"))
        .expect("the failing test is annotated");
    assert_eq!(failed.0, "error");
    assert!(failed.1[0].1.ends_with("a.yml"));
    assert_eq!(failed.1[1].1, "10");
    let load = commands
        .iter()
        .find(|(_, p, _)| p[0].1.ends_with("c.yml"))
        .expect("the file that does not load is annotated");
    assert_eq!(load.0, "error");
    assert_eq!(load.1[1].1, "3", "{load:?}");
    assert!(
        commands
            .iter()
            .any(|(c, p, _)| c == "warning" && p[0].1.ends_with("b.yml"))
    );
    // The results are still readable in the log.
    assert!(stdout(&o).contains("FAIL T.A :: wrong"), "{}", stdout(&o));
    // A message with a newline (help) stays one command line.
    assert!(commands.iter().any(|(_, _, m)| m.contains("\nhelp: ")));
}

#[test]
fn junit_output_is_one_suite_per_rule() {
    let dir = mixed("junit");
    let o = ruleqc(&["test", "--output-format", "junit", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    // Well-formed XML, read back by Python's parser.
    let mut py = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E\nr = E.fromstring(sys.stdin.read())\nprint(r.tag, r.get('tests'), r.get('failures'), r.get('errors'))\nfor s in r:\n  print(s.get('name').split('/')[-1], s.get('tests'), s.get('failures'), s.get('errors'), [(c.get('name'), c.get('line'), [x.tag for x in c]) for c in s])",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        py.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    }
    let out = py.wait_with_output().unwrap();
    assert!(out.status.success(), "{xml}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("testsuites 3 1 1"), "{text}\n{xml}");
    assert!(
        text.contains("T.A 2 1 0 [('ok', '7', []), ('wrong', '10', ['failure'])]"),
        "{text}"
    );
    assert!(text.contains("T.B 0 0 0 []"), "{text}");
    assert!(
        text.contains("c.yml 1 0 1 [('load', None, ['error'])]"),
        "{text}"
    );
}

#[test]
fn check_target_reports_what_compile_would() {
    let dir = scratch("targets");
    std::fs::write(
        dir.join("splunk.yml"),
        "RuleID: T.Splunk45\nLogTypes: [X]\nSchedule: {RateMinutes: 45}\nCondition: a eq 1\nTests:\n  - {Name: t, ExpectedResult: true, Log: {a: 1}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("kql.yml"),
        "RuleID: T.Kql1\nLogTypes: [X]\nSchedule: {RateMinutes: 1}\nCondition: a eq 1\nTests:\n  - {Name: t, ExpectedResult: true, Log: {a: 1}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("greek.yml"),
        "RuleID: T.Greek\nLogTypes: [X]\nCondition: 'a matches \"\\\\p{Greek}\"'\nTests:\n  - {Name: t, ExpectedResult: true, Log: {a: \"α\"}}\n",
    )
    .unwrap();
    // Plain check: the rules are valid.
    let o = ruleqc(&["check", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = ruleqc(&[
        "--output-format",
        "short",
        "check",
        "--target",
        "all",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    // Splunk's cron, PostgreSQL's and Snowflake's regex, and Sentinel's frequency and period
    // (at the key).
    assert_eq!(err.lines().count(), 5, "{err}");
    assert!(
        err.contains("greek.yml:3:13: error[E0401]") && err.contains("(--dialect snowflake)"),
        "{err}"
    );
    assert!(
        err.contains("splunk.yml:1:1: error[E0403]: RateMinutes 45"),
        "{err}"
    );
    assert!(err.contains("(--target splunk)"), "{err}");
    assert!(
        err.contains("kql.yml:3:1: error[E0404]: Sentinel needs a frequency"),
        "{err}"
    );
    assert!(
        err.contains("greek.yml") && err.contains("(--dialect postgres)"),
        "{err}"
    );
    assert!(
        stdout(&o).contains("3 rule files checked: 0 ok, 3 with errors (5 errors)"),
        "{}",
        stdout(&o)
    );
    // The same diagnostics `compile` gives.
    let o = ruleqc(&[
        "--output-format",
        "short",
        "compile",
        "--target",
        "splunk",
        s(&dir.join("splunk.yml")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("error[E0403]: RateMinutes 45"),
        "{}",
        stderr(&o)
    );

    // One target, one dialect.
    let o = ruleqc(&["check", "--target", "sql", "--dialect", "duckdb", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ruleqc(&[
        "check",
        "--target",
        "sql",
        "--dialect",
        "postgres",
        "--target",
        "kql",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("1 ok, 2 with errors"), "{}", stdout(&o));
    // Options that would do nothing are usage errors.
    let o = ruleqc(&["check", "--dialect", "postgres", s(&dir)]);
    assert_eq!(o.status.code(), Some(2));
    let o = ruleqc(&[
        "check",
        "--target",
        "splunk",
        "--dialect",
        "postgres",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(2));
    // The repository's rules pass every target.
    let o = ruleqc(&["check", "--target", "all", "rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn coverage_reports_each_leaf_and_fails_below_the_minimum() {
    let dir = scratch("coverage");
    std::fs::write(
        dir.join("r.yml"),
        "RuleID: T.Cov\nLogTypes: [X]\nCondition: |\n  action eq \"delete\"\n  tags[*] eq \"prod\"\n  user ne \"root\"\nTests:\n  - Name: match\n    ExpectedResult: true\n    Log: {action: delete, tags: [dev, prod], user: alice}\n  - Name: other action\n    ExpectedResult: false\n    Log: {action: create, tags: [prod], user: bob}\n",
    )
    .unwrap();
    let o = ruleqc(&["test", "--coverage", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    // action: true and false; any tags: only true; @ eq prod: both (dev, prod); user ne root:
    // only true. 6 of 8 outcomes.
    assert!(
        out.contains("coverage T.Cov: 75% (6 of 8 outcomes)"),
        "{out}"
    );
    assert!(out.contains("  never false: any tags"), "{out}");
    assert!(
        out.contains("  never false: not user eq \"root\"  [true when missing]"),
        "{out}"
    );
    assert!(
        !out.contains("action eq"),
        "covered leaves are not listed: {out}"
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .ends_with("condition coverage 75% (6 of 8 outcomes)")
    );

    let o = ruleqc(&["test", "--min-coverage", "80", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("FAIL coverage T.Cov: 75% is below --min-coverage 80%"),
        "{}",
        stdout(&o)
    );
    let o = ruleqc(&["test", "--min-coverage", "75", s(&dir)]);
    assert_eq!(o.status.code(), Some(0));
    let o = ruleqc(&[
        "test",
        "--min-coverage",
        "80",
        "--output-format",
        "sarif",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let (ok, why) = sarif_schema_check(&o.stdout);
    assert!(ok, "{why}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let below: Vec<&serde_json::Value> = doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "coverage-below-minimum")
        .collect();
    assert_eq!(below.len(), 1);
    assert_eq!(below[0]["level"], "error");

    let o = ruleqc(&["test", "--coverage", "--output-format", "json", s(&dir)]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cov = &doc["rules"][0]["coverage"];
    assert_eq!(cov["percent"], 75);
    let items = cov["items"].as_array().unwrap();
    let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        [
            "action eq \"delete\"",
            "any tags",
            "@ eq \"prod\"",
            "not user eq \"root\"  [true when missing]"
        ]
    );
    assert_eq!(items[2]["depth"], 1);
    assert_eq!(items[1]["seen_false"], false);
    assert_eq!(doc["summary"]["coverage"]["percent"], 75);
}

#[test]
fn fail_lines_name_the_test_and_trace_the_condition() {
    let dir = mixed("trace");
    let o = ruleqc(&["test", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let at = out
        .find("FAIL T.A :: wrong: expected true, got false")
        .expect(&out);
    let block: Vec<&str> = out[at..].lines().take(6).collect();
    assert!(
        block[1].starts_with("  --> ") && block[1].ends_with("a.yml:10:5"),
        "{block:?}"
    );
    assert!(
        block[3].contains("a eq 1") && block[3].contains("a = 2 => false"),
        "{block:?}"
    );
    assert!(
        block[4].contains("any tags") && block[4].contains("tags has 1 elements => true"),
        "{block:?}"
    );
    assert!(
        block[5].contains("@ eq \"x\"") && block[5].ends_with("=> true"),
        "{block:?}"
    );
    // JSON carries the same trace and the test's line.
    let o = ruleqc(&["test", "--output-format", "json", s(&dir)]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = &doc["rules"][0]["tests"][1];
    assert_eq!(t["line"], 10);
    assert_eq!(t["trace"][0]["verdict"], "false");
    assert_eq!(t["trace"][0]["value"], "a = 2");
}

#[test]
fn rules_without_tests_and_min_tests() {
    let dir = mixed("mintests");
    std::fs::remove_file(dir.join("c.yml")).unwrap();
    let o = ruleqc(&["check", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "a missing test is a warning");
    assert!(
        stderr(&o).contains("warning[W0110]: rule `T.B` has no tests"),
        "{}",
        stderr(&o)
    );
    // T.B's `b` is in no event of log type X either (W0601): two warnings.
    assert!(
        stderr(&o).contains("warning[W0601]: unknown field `b` for X"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("(0 errors, 2 warnings)"),
        "{}",
        stdout(&o)
    );
    let o = ruleqc(&["check", "--min-tests", "2", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error[E0110]: rule `T.B` has 0 tests; --min-tests asks for 2"),
        "{err}"
    );
    assert!(!err.contains("T.A"), "T.A has two: {err}");
    let o = ruleqc(&["test", "--min-tests", "3", "--engine", "none", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("2 rules with too few tests"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn directories_skip_hidden_folders_profiles_and_panther_files() {
    let dir = scratch("discovery");
    let good = "RuleID: T.Good\nLogTypes: [X]\nCondition: a eq 1\nTests:\n  - {Name: t, ExpectedResult: true, Log: {a: 1}}\n";
    std::fs::write(dir.join("good.yml"), good).unwrap();
    std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
    std::fs::write(
        dir.join(".github/workflows/ci.yml"),
        "on: [push]\njobs: {}\n",
    )
    .unwrap();
    std::fs::write(dir.join(".hidden.yml"), "not: a rule\n").unwrap();
    std::fs::write(dir.join("warehouse.yml"), "sql:\n  table: \"x.{table}\"\n").unwrap();
    std::fs::write(
        dir.join("pack.yml"),
        "AnalysisType: pack\nPackID: P\nPackDefinition: {IDs: []}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("global.yml"),
        "AnalysisType: global\nGlobalID: g\nFilename: g.py\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("model.yml"),
        "AnalysisType: datamodel\nDataModelID: m\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("drafts")).unwrap();
    std::fs::write(dir.join("drafts/wip.yml"), "RuleID: [\n").unwrap();
    std::fs::write(dir.join("old.draft.yml"), "RuleID: [\n").unwrap();

    let o = ruleqc(&[
        "check",
        "--exclude",
        "drafts",
        "--exclude",
        "*.draft.yml",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "1 rule file checked: 1 ok, 0 with errors (0 errors); 4 other YAML files skipped"
        ),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("pack.yml: skipped, a Panther `pack` file, not a rule"),
        "{err}"
    );
    assert!(
        err.contains("warehouse.yml: skipped, a ruleqc profile, not a rule"),
        "{err}"
    );
    assert!(
        !err.contains(".github") && !err.contains(".hidden"),
        "{err}"
    );

    // Without --exclude the drafts are rules with errors; a path pattern works too.
    let o = ruleqc(&["check", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("3 rule files checked: 1 ok, 2 with errors"),
        "{}",
        stdout(&o)
    );
    let o = ruleqc(&[
        "check",
        "--exclude",
        "drafts/**",
        "--exclude",
        "old.*",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A file named on the command line is always loaded: a profile there is a broken rule.
    let o = ruleqc(&["check", s(&dir.join("warehouse.yml"))]);
    assert_eq!(o.status.code(), Some(1));
    // --quiet: only problems.
    let o = ruleqc(&[
        "--quiet",
        "check",
        "--exclude",
        "drafts",
        "--exclude",
        "*.draft.yml",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
    let o = ruleqc(&[
        "-q",
        "test",
        "--exclude",
        "drafts",
        "--exclude",
        "*.draft.yml",
        s(&dir),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    let o = ruleqc(&["-q", "test", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("2 rule files did not load"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn list_prints_targets_dialects_and_profiles() {
    let o = ruleqc(&["list", "dialects"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "duckdb\nsqlite\npostgres\nsnowflake\nbigquery\ndatabricks\nclickhouse\n"
    );
    let o = ruleqc(&["list", "targets"]);
    let text = stdout(&o);
    let names: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["sql", "splunk", "kql"], "{text}");
    let o = ruleqc(&["list", "profiles"]);
    assert!(
        stdout(&o).contains("panther  sql (--dialect snowflake)\n"),
        "{}",
        stdout(&o)
    );
    // Each listed dialect and profile is accepted by compile.
    for line in stdout(&ruleqc(&["list", "dialects"])).lines() {
        let o = ruleqc(&["compile", "--dialect", line, "rules/okta"]);
        assert_eq!(o.status.code(), Some(0), "{line}");
    }
}

#[test]
fn usage_mistakes_are_one_message_and_exit_2() {
    let o = ruleqc(&["compile", "--profile", "panther", "rules"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.matches("error").count(), 1, "{err}");
    assert!(
        err.contains("profile `panther` is for --dialect snowflake, not duckdb"),
        "{err}"
    );
    assert!(err.contains("help: add `--dialect snowflake`"), "{err}");
    let o = ruleqc(&[
        "compile",
        "--profile",
        "panther",
        "--dialect",
        "snowflake",
        "rules/okta",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    for (args, needle) in [
        (
            &[
                "explain",
                "rules/okta/brute_force_login.yml",
                "--dialect",
                "postgres",
            ][..],
            "--dialect only changes `--stage query`",
        ),
        (
            &[
                "explain",
                "rules/okta/brute_force_login.yml",
                "--stage",
                "query",
                "--target",
                "kql",
                "--dialect",
                "postgres",
            ],
            "--dialect is for --target sql",
        ),
        (
            &[
                "compile",
                "--target",
                "splunk",
                "--dialect",
                "postgres",
                "rules/okta",
            ],
            "--dialect is for --target sql",
        ),
        (
            &[
                "compile",
                "--format",
                "json",
                "--out",
                "/tmp/ruleqc-never",
                "rules/okta",
            ],
            "--format json prints the queries",
        ),
        (
            &["compile", "--output-format", "sarif", "rules/okta"],
            "needs --out DIR",
        ),
        (
            &["test", "--duckdb", "/usr/bin/duckdb", "rules/okta"],
            "--duckdb is for --engine duckdb",
        ),
        (
            &[
                "test",
                "--format",
                "json",
                "--output-format",
                "sarif",
                "rules/okta",
            ],
            "both say how to print",
        ),
        (
            &[
                "run",
                "--output-format",
                "json",
                "--events",
                "Cargo.toml",
                "rules/okta",
            ],
            "--output-format json is for check, test and compile",
        ),
        (
            &["check", "--output-format", "junit", "rules/okta"],
            "junit is for `ruleqc test`",
        ),
    ] {
        let o = ruleqc(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert!(!Path::new("/tmp/ruleqc-never").exists());
}

#[test]
fn empty_no_color_does_not_disable_colour() {
    // no-color.org: NO_COLOR disables colour when it is set and not empty. `script` gives
    // ruleqc a terminal, so `--color auto` decides by NO_COLOR alone.
    let dir = scratch("color");
    let bad = dir.join("bad.yml");
    std::fs::write(&bad, "RuleID: T.X\nLogTypes: [X]\nCondition: a eq\n").unwrap();
    let on_a_terminal = |no_color: Option<&str>| {
        let line = format!("'{}' check '{}'", env!("CARGO_BIN_EXE_ruleqc"), s(&bad));
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"]).stdin(Stdio::null());
        match no_color {
            Some(v) => c.env("NO_COLOR", v),
            None => c.env_remove("NO_COLOR"),
        };
        let o = c.output().expect("script (bsdutils)");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let unset = on_a_terminal(None);
    assert!(unset.contains("error"), "{unset}");
    assert!(unset.contains('\u{1b}'), "a terminal gets colour: {unset}");
    assert!(
        on_a_terminal(Some("")).contains('\u{1b}'),
        "empty is not set"
    );
    assert!(!on_a_terminal(Some("1")).contains('\u{1b}'));
    // Not a terminal: no colour unless asked for.
    assert!(!stderr(&ruleqc(&["check", s(&bad)])).contains('\u{1b}'));
    let o = Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(["--color", "always", "check", s(&bad)])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(stderr(&o).contains('\u{1b}'), "--color always wins");
}

#[test]
fn run_says_when_events_have_no_log_type() {
    let dir = scratch("nolt");
    let events = dir.join("e.jsonl");
    std::fs::write(
        &events,
        "{\"action\": \"delete\"}\n{\"action\": \"create\"}\n",
    )
    .unwrap();
    let rule = dir.join("r.yml");
    std::fs::write(
        &rule,
        "RuleID: T.R\nLogTypes: [Test.Events]\nCondition: action eq \"delete\"\n",
    )
    .unwrap();
    let o = ruleqc(&["run", "--events", s(&events), s(&rule)]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "nothing was checked: {}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("0 of other log types, 2 without a log type"),
        "{err}"
    );
    assert!(
        err.contains("error: 2 events without a string field `p_log_type` were not checked"),
        "{err}"
    );
    assert!(err.contains("--log-type LOG_TYPE"), "{err}");
    let o = ruleqc(&[
        "run",
        "--log-type",
        "Test.Events",
        "--events",
        s(&events),
        s(&rule),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("T.R: 1 match\n"), "{}", stdout(&o));
}

#[test]
fn condition_mistakes_are_reported_where_they_are_with_a_hint() {
    let dir = scratch("mistakes");
    let cases: [(&str, &[u8], &str, &str); 8] = [
        (
            "paren.yml",
            b"RuleID: T.A\nLogTypes: [X]\nCondition: |\n  (a eq 1 or\n  b eq \")(\"\nTests: []\n",
            "paren.yml:4:3: error[E0201]: this `(` is never closed",
            "add the `)`",
        ),
        (
            "tab.yml",
            b"RuleID: T.B\nLogTypes: [X]\nCondition: |\n  a eq 1\n\tb eq 2\n",
            "tab.yml:5:1: error[E0101]: a tab indents this line",
            "YAML indents with spaces only",
        ),
        (
            "bom.yml",
            b"\xef\xbb\xbfSeverty: Low\nRuleID: T.C\nLogTypes: [X]\nCondition: a eq 1\n",
            "bom.yml:1:1: error[E0102]: unknown key `Severty`",
            "did you mean `Severity`?",
        ),
        (
            "trailing.yml",
            b"RuleID: T.D\nLogTypes: [X]\nCondition: |\n  a eq 1 and\n  b eq 2\n",
            "trailing.yml:4:13: error[E0201]",
            "a line does not end with `and`/`or`",
        ),
        (
            "leading.yml",
            b"RuleID: T.E\nLogTypes: [X]\nCondition: |\n  a eq 1\n  or b eq 2\n",
            "leading.yml:5:3: error[E0201]",
            "put the whole expression in parentheses",
        ),
        (
            "eq.yml",
            b"RuleID: T.F\nLogTypes: [X]\nCondition: a = 1\n",
            "eq.yml:3:14: error[E0201]",
            "did you mean `eq`?",
        ),
        (
            "ne.yml",
            b"RuleID: T.G\nLogTypes: [X]\nCondition: a eq 1 and b <> 1\n",
            "ne.yml:3:26: error[E0201]",
            "did you mean `ne`?",
        ),
        (
            "inline.yml",
            b"RuleID: T.H\nLogTypes: [X]\nInlineFilters:\n  All:\n    - {KeyPath: a, Condition: Equals, Value: 1}\nCondition: b eq 1\n",
            "inline.yml:3:1: error[E0109]: `InlineFilters` are not supported",
            "write each filter into the `Condition`",
        ),
    ];
    for (name, text, at, hint) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let o = ruleqc(&["--output-format", "short", "check", s(&file)]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(at), "{name}: {err}");
        assert!(err.contains(hint), "{name}: {err}");
    }
    // The snippet shows the line without the byte-order mark.
    let o = ruleqc(&["check", s(&dir.join("bom.yml"))]);
    assert!(stderr(&o).contains("1 | Severty: Low\n"), "{}", stderr(&o));
    // Empty InlineFilters lose nothing: accepted.
    let file = dir.join("empty_inline.yml");
    std::fs::write(
        &file,
        "RuleID: T.I\nLogTypes: [X]\nInlineFilters: []\nCondition: b eq 1\n",
    )
    .unwrap();
    assert_eq!(ruleqc(&["check", s(&file)]).status.code(), Some(0));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let o = ruleqc(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    let script = stdout(&o);
    for word in [
        "--output-format",
        "--exclude",
        "--min-coverage",
        "list",
        "check",
    ] {
        assert!(script.contains(word), "{word}");
    }
    // bash itself parses the script.
    let dir = scratch("completions");
    std::fs::write(dir.join("ruleqc.bash"), &script).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(dir.join("ruleqc.bash"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert_eq!(
            ruleqc(&["completions", shell]).status.code(),
            Some(0),
            "{shell}"
        );
    }

    let o = ruleqc(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.contains(".TH ruleqc 1"), "{page}");
    // groff renders it without a warning, and the text names the options.
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff (apt-get install groff-base)");
    {
        use std::io::Write;
        groff
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
    }
    let rendered = groff.wait_with_output().unwrap();
    assert!(rendered.status.success());
    assert_eq!(stderr(&rendered), "", "groff warnings");
    let text = String::from_utf8_lossy(&rendered.stdout).replace(['\u{2010}', '\u{2212}'], "-");
    for word in ["--output-format", "--quiet", "--exclude", "completions"] {
        assert!(text.contains(word), "{word}: {text}");
    }
    // Each command has its page, with the global options too.
    let o = ruleqc(&["man", "test"]);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.contains(".TH ruleqc-test 1"), "{page}");
    for word in ["min\\-coverage", "output\\-format", "ruleqc test"] {
        assert!(page.contains(word), "{word}: {page}");
    }
    assert_eq!(ruleqc(&["man", "nope"]).status.code(), Some(2));
}

/// A rule whose condition is one `in` list of `n` 40-character values.
fn long_list_rule(dir: &Path, n: usize) -> PathBuf {
    let values: Vec<String> = (0..n)
        .map(|i| format!("\"value-number-{i:06}-with-some-padding-text\""))
        .collect();
    let file = dir.join(format!("list{n}.yml"));
    std::fs::write(
        &file,
        format!(
            "RuleID: T.List{n}\nLogTypes: [X]\nCondition: |\n  a in [{}]\nTests:\n  - {{Name: t, ExpectedResult: true, Log: {{a: value-number-000001-with-some-padding-text}}}}\n",
            values.join(", ")
        ),
    )
    .unwrap();
    file
}

#[test]
fn huge_queries_are_a_warning_and_sentinel_s_limit_an_error() {
    let dir = scratch("huge");
    let big = long_list_rule(&dir, 20_000);
    let o = ruleqc(&[
        "--output-format",
        "short",
        "compile",
        "--target",
        "splunk",
        s(&big),
    ]);
    assert_eq!(o.status.code(), Some(0), "a warning: {}", stderr(&o));
    assert!(o.stdout.len() > 1 << 20);
    let err = stderr(&o);
    assert!(
        err.contains("warning[W0404]: the compiled query is "),
        "{err}"
    );
    assert!(err.contains(" MB; engines and SIEMs limit"), "{err}");

    // Over Sentinel's 10,000 characters: compile and check --target kql both refuse it.
    let long = long_list_rule(&dir, 300);
    let o = ruleqc(&[
        "--output-format",
        "short",
        "compile",
        "--target",
        "kql",
        s(&long),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0403]: "), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Sentinel takes a query of at most"),
        "{}",
        stderr(&o)
    );
    let o = ruleqc(&["check", "--target", "kql", s(&long)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("error[E0404]: "), "{}", stderr(&o));
    // Other targets take it.
    let o = ruleqc(&["check", "--target", "sql", "--target", "splunk", s(&long)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn malformed_lines_are_not_written_over_the_progress_bar() {
    // `script` gives ruleqc a terminal, so `run` draws its progress bar on stderr.
    let dir = scratch("progress");
    let events = dir.join("e.jsonl");
    let mut text = String::new();
    for i in 0..150_000 {
        if i % 25_000 == 10 {
            text.push_str("not json\n");
        }
        text.push_str(&format!("{{\"p_log_type\": \"X\", \"a\": {i}}}\n"));
    }
    std::fs::write(&events, text).unwrap();
    let rule = dir.join("r.yml");
    std::fs::write(&rule, "RuleID: T.P\nLogTypes: [X]\nCondition: a eq 5\n").unwrap();
    let run = |quiet: &str| {
        let line = format!(
            "'{}' {quiet} run --events '{}' '{}'",
            env!("CARGO_BIN_EXE_ruleqc"),
            s(&events),
            s(&rule)
        );
        let o = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("script (bsdutils)");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let screen = run("");
    let segments: Vec<&str> = screen.split(['\r', '\n']).collect();
    assert!(
        segments.iter().any(|s| s.contains("reading [")),
        "the bar is drawn: {screen}"
    );
    let messages: Vec<&&str> = segments
        .iter()
        .filter(|s| s.contains("malformed:"))
        .collect();
    assert_eq!(messages.len(), 6, "{screen}");
    for m in messages {
        assert!(!m.contains("reading"), "a message on the bar's line: {m:?}");
    }
    // --quiet: no bar.
    assert!(!run("--quiet").contains("reading ["));
}

#[test]
fn a_bad_profile_still_gives_a_json_or_sarif_reader_its_document() {
    let dir = scratch("badprofile");
    let profile = dir.join("p.yml");
    std::fs::write(&profile, "sql:\n  tabel: x\n").unwrap();
    let o = ruleqc(&[
        "check",
        "--target",
        "sql",
        "--profile",
        s(&profile),
        "--output-format",
        "sarif",
        "rules/okta",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let (ok, why) = sarif_schema_check(&o.stdout);
    assert!(ok, "{why}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "E0501");
    let o = ruleqc(&[
        "check",
        "--target",
        "sql",
        "--profile",
        s(&profile),
        "--output-format",
        "json",
        "rules/okta",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["diagnostics"][0]["code"], "E0501");
    assert_eq!(doc["diagnostics"][0]["line"], 2);
}
