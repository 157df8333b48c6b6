//! Sigma rules as input (SPEC §7): the project's own Sigma rules (tests/sigma/suite), one per
//! group of modifiers and condition forms, each run on matching and near-miss events through
//! the reference evaluator, SQLite and DuckDB; diagnostics for bad Sigma input as reviewed
//! snapshots; the CLI on Sigma rules (test with regression samples, compile, explain).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use ruleqc::diag::{Style, render};
use ruleqc::engine::Engine;
use ruleqc::rule::{Discovery, Loaded, Rule, RuleTest, load_paths_with};
use ruleqc::testing::run_rule_tests;

fn load_all(paths: &[&str], profile: Option<&str>) -> Vec<Loaded> {
    let how = Discovery {
        sigma_profile: profile.map(String::from),
        ..Default::default()
    };
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    load_paths_with(&paths, &how).expect("load").loaded
}

fn suite() -> Vec<Rule> {
    load_all(&["tests/sigma/suite"], None)
        .into_iter()
        .map(|l| match l.result {
            Ok(r) => *r,
            Err(d) => panic!("{}: {d:?}", l.file.path),
        })
        .collect()
}

fn rule(rules: &[Rule], file: &str) -> Rule {
    rules
        .iter()
        .find(|r| r.path.ends_with(file))
        .unwrap_or_else(|| panic!("{file} not loaded"))
        .clone()
}

/// Runs `cases` as the rule's tests on the evaluator, SQLite and DuckDB; every verdict must
/// be the expected one.
fn check(rule: &Rule, cases: &[(Value, bool)]) {
    let mut r = rule.clone();
    r.tests = cases
        .iter()
        .enumerate()
        .map(|(i, (log, expected))| RuleTest {
            name: format!("case {i}: {log}"),
            expected: *expected,
            log: log.clone(),
            span: 0..0,
        })
        .collect();
    let mut sqlite = ruleqc::engine::sqlite::Sqlite::new().expect("embedded sqlite");
    let mut duckdb = ruleqc::engine::duckdb::DuckDb::new(None).unwrap_or_else(|e| panic!("{e}"));
    for engine in [&mut sqlite as &mut dyn Engine, &mut duckdb] {
        let run = run_rule_tests(&r, Some(engine));
        assert!(
            run.engine_error.is_none(),
            "{}: {:?}",
            r.path,
            run.engine_error
        );
        for t in &run.results {
            assert_eq!(t.verdicts.len(), 2, "the engine ran");
            for v in &t.verdicts {
                assert_eq!(
                    v.result, t.expected,
                    "{} {} on {}\ncondition: {}",
                    r.path, t.name, v.evaluator, r.condition.text
                );
            }
        }
    }
}

#[test]
fn wildcards_escapes_and_case() {
    let rules = suite();
    check(
        &rule(&rules, "wildcards.yml"),
        &[
            (json!({"f1": "ab--yz"}), true),
            (json!({"f1": "AByz"}), true),
            (json!({"f1": "ab\nyz"}), true),
            (json!({"f1": "ab--yzz"}), false),
            (json!({"f2": "aXc"}), true),
            (json!({"f2": "ac"}), false),
            (json!({"f2": "aXYc"}), false),
            (json!({"f3": "x*y"}), true),
            (json!({"f3": "xZy"}), false),
            (json!({"f4": "c:\\anything"}), true),
            (json!({"f4": "C:"}), false),
            (json!({"f5": "hello world"}), true),
            (json!({"f5": "hello world!"}), false),
            (json!({"f6": ""}), true),
            (json!({"f6": 12}), true),
            (json!({"f6": null}), false),
            (json!({"f7": "C:\\a\\B.EXE"}), true),
            (json!({"f7": "b.exe.txt"}), false),
            (json!({"f8": "x CMD y"}), true),
            (json!({"f9": "c:\\windows\\system32"}), true),
            (json!({"f9": "c:\\windows\\system32\\x"}), false),
            (json!({"other": 1}), false),
        ],
    );
}

#[test]
fn string_modifiers() {
    let rules = suite();
    check(
        &rule(&rules, "string_modifiers.yml"),
        &[
            (json!({"a": "xxmidxx"}), true),
            (json!({"a": "mi d"}), false),
            (json!({"b": "PREfix"}), true),
            (json!({"b": "xpre"}), false),
            (json!({"c": "A.DLL"}), true),
            (json!({"c": "a.exe "}), false),
            (json!({"d": "two and ONE"}), true),
            (json!({"d": "one only"}), false),
            (json!({"e": "ExAct"}), true),
            (json!({"e": "exact"}), false),
            (json!({"g": "gUpx"}), true),
            (json!({"g": "gupx"}), false),
            (json!({"h": "xok"}), true),
            (json!({"h": "XSKIP"}), false),
            (json!({"h": "ok"}), false),
        ],
    );
}

#[test]
fn numbers_and_comparisons() {
    let rules = suite();
    check(
        &rule(&rules, "numbers.yml"),
        &[
            (json!({"EventID": 4688}), true),
            (json!({"EventID": "4688"}), true),
            (json!({"EventID": 4688.0}), true),
            (json!({"EventID": "04688"}), false),
            (json!({"EventID": 4689}), false),
            (json!({"Code": 9}), true),
            (json!({"Code": "7"}), true),
            (json!({"Code": 8}), false),
            (json!({"Port": 443}), true),
            (json!({"Port": "443"}), true),
            (json!({"Port": "4430"}), false),
            (json!({"Size": 101}), true),
            (json!({"Size": 100}), false),
            (json!({"Size": "101"}), false),
            (json!({"Count": 5}), true),
            (json!({"Count": 4.9}), false),
            (json!({"Score": -2}), true),
            (json!({"Score": -1.5}), false),
            (json!({"Depth": 0}), true),
            (json!({"Depth": 1}), false),
            (json!({"Enabled": true}), true),
            (json!({"Enabled": "true"}), false),
            (json!({"Enabled": false}), false),
        ],
    );
}

#[test]
fn regexes_and_flags() {
    let rules = suite();
    check(
        &rule(&rules, "regex.yml"),
        &[
            (json!({"r1": "abbbc"}), true),
            (json!({"r1": "ABC"}), false),
            (json!({"r2": "say HELLO   World"}), true),
            (json!({"r2": "helloworld"}), false),
            (json!({"r3": "first\nsecond\nthird"}), true),
            (json!({"r3": "first second"}), false),
            (json!({"r4": "start\nend"}), true),
            (json!({"r4": "start\n\nend"}), false),
        ],
    );
}

#[test]
fn encodings() {
    let rules = suite();
    let b64 = |b: &[u8]| ruleqc::sigma::detection::base64(b);
    let wide = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let mut cases = vec![
        (json!({"e1": "SUVY"}), true),
        (json!({"e1": "suvy"}), false),
        (json!({"e1": "xSUVY"}), false),
        (json!({"e4": b64(&wide("ab"))}), true),
        (json!({"e5": b64(&[0, b'a', 0, b'b'])}), true),
        (json!({"e6": b64(&[0xFF, 0xFE, b'a', 0, b'b', 0])}), true),
        (json!({"e6": b64(&wide("ab"))}), false),
    ];
    // The value at each offset inside longer encoded text, and a near miss.
    for prefix in ["", "a", "ab", "abc"] {
        cases.push((
            json!({"e2": b64(format!("{prefix}http://x.org").as_bytes())}),
            true,
        ));
        cases.push((
            json!({"e2": b64(format!("{prefix}https://x.org").as_bytes())}),
            false,
        ));
        let mut w = wide(prefix);
        w.extend(wide("ping 10.0.0.1"));
        cases.push((json!({"e3": b64(&w)}), true));
        let mut w = wide(prefix);
        w.extend(wide("pong 10.0.0.1"));
        cases.push((json!({"e3": b64(&w)}), false));
    }
    check(&rule(&rules, "encodings.yml"), &cases);
}

#[test]
fn windash_spellings() {
    let rules = suite();
    let mut cases = Vec::new();
    for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        cases.push((
            json!({"CommandLine": format!("powershell {dash}ENC abc")}),
            true,
        ));
    }
    cases.push((json!({"CommandLine": "powershell +enc abc"}), false));
    cases.push((json!({"CommandLine": "powershell enc abc"}), false));
    check(&rule(&rules, "windash.yml"), &cases);
}

#[test]
fn cidr_fieldref_exists_null() {
    let rules = suite();
    check(
        &rule(&rules, "fields.yml"),
        &[
            (json!({"ip": "10.1.2.3"}), true),
            (json!({"ip": "2001:db8::1"}), true),
            (json!({"ip": "11.0.0.1"}), false),
            (json!({"ip": "010.0.0.1"}), false),
            (json!({"user": "Alice", "target": {"user": "alice"}}), true),
            (json!({"user": 5, "target": {"user": 5}}), true),
            (json!({"user": "alice", "target": {"user": "bob"}}), false),
            (json!({"user": "alice"}), false),
            (json!({"path": "C:\\x\\EVIL.exe", "file": "evil.exe"}), true),
            (
                json!({"path": "C:\\x\\evil.exe.bak", "file": "evil.exe"}),
                false,
            ),
            (json!({"marker": "", "other": 1}), true),
            (json!({"marker": 1, "gone": 1}), false),
            (json!({"gone": null, "marker": 0}), true),
            (json!({"kind": "ORPHAN"}), true),
            (json!({"kind": "orphan", "parent": null}), true),
            (json!({"kind": "orphan", "parent": "p"}), false),
        ],
    );
}

#[test]
fn keyword_searches_read_the_raw_message() {
    let rules = suite();
    check(
        &rule(&rules, "keywords.yml"),
        &[
            (json!({"message": "ran MIMIKATZ.exe"}), true),
            (json!({"message": "x sekurlsa::logonpasswords"}), true),
            (json!({"message": "sekurlsa:"}), false),
            (json!({"message": "omega then alpha"}), true),
            (json!({"message": "alpha only"}), false),
            (json!({"msg": "mimikatz"}), false),
        ],
    );
}

#[test]
fn condition_forms() {
    let rules = suite();
    // (sel_a or sel_b) and not filter and not all of sel_*
    check(
        &rule(&rules, "conditions.yml"),
        &[
            (json!({"a": 1}), true),
            (json!({"b": "1"}), true),
            (json!({"a": 1, "b": 1}), false),
            (json!({"a": 1, "c": 1}), false),
            (json!({"a": 1, "d": 1}), false),
            (json!({"e": 1}), false),
        ],
    );
    // 1 of them and not all of them or _helper (them skips `_helper`)
    check(
        &rule(&rules, "them.yml"),
        &[
            (json!({"x": "A"}), true),
            (json!({"y": "b"}), true),
            (json!({"x": "a", "y": "b"}), false),
            (json!({"x": "a", "y": "b", "z": "c"}), true),
            (json!({"z": "C"}), true),
            (json!({}), false),
        ],
    );
}

#[test]
fn expand_reads_placeholders_from_the_profile() {
    let loaded = load_all(
        &["tests/sigma/expand/expand.yml"],
        Some("tests/sigma/expand/profile.yml"),
    );
    let r = loaded[0]
        .rule()
        .unwrap_or_else(|| panic!("{:?}", loaded[0].result));
    check(
        r,
        &[
            (json!({"user": "adm_x", "host": "ws7"}), true),
            (json!({"user": "adm_x", "host": "AWS-42"}), false),
            (json!({"user": "adm_x", "host": "jump01"}), false),
            (json!({"user": "adm_x", "host": "jump011"}), true),
            (json!({"user": "bob", "host": "ws7"}), false),
        ],
    );
    // Without the values, `expand` is an error at the value.
    let loaded = load_all(&["tests/sigma/expand/expand.yml"], None);
    let d = &loaded[0].result.as_ref().unwrap_err()[0];
    assert_eq!(d.code, "E0607");
    let (line, _) = ruleqc::diag::line_col(&loaded[0].file.text, d.span.clone().unwrap().start);
    assert_eq!(line, 10);
}

#[test]
fn windows_profile_maps_fields_and_implies_the_event_id() {
    let rules = suite();
    let r = rule(&rules, "whoami.yml");
    assert_eq!(r.log_types, ["windows.process_creation"]);
    let event = |id: u64, image: &str| json!({"Event": {"System": {"EventID": id}, "EventData": {"Image": image, "ParentImage": "C:\\X\\CScript.exe"}}});
    check(
        &r,
        &[
            (event(1, "C:\\Windows\\whoami.exe"), true),
            (event(4688, "C:\\Windows\\whoami.exe"), false),
            (event(1, "C:\\Windows\\notwhoami.exe"), false),
        ],
    );
    // Metadata reaches the rule, and from there every artifact.
    assert_eq!(
        r.display_name.as_deref(),
        Some("Whoami run from a script host")
    );
    assert_eq!(r.severity, Some(ruleqc::rule::Severity::High));
    assert_eq!(
        r.reports,
        [(
            "MITRE ATT&CK".to_string(),
            vec!["TA0007".to_string(), "T1033".to_string()]
        )]
    );
    assert_eq!(r.reference.as_deref(), Some("https://example.org/whoami"));
    assert_eq!(
        r.runbook.as_deref(),
        Some("False positives: Admin scripts; Inventory tools")
    );
    assert!(
        r.description
            .as_deref()
            .unwrap()
            .ends_with("Author: ruleqc tests")
    );
    assert_eq!(r.tags, ["attack.discovery", "attack.t1033"]);
    // The regression sample: two events, `match_count: 1`.
    assert_eq!(r.tests.len(), 2);
    assert_eq!(
        r.tests.iter().map(|t| t.expected).collect::<Vec<_>>(),
        [true, false]
    );
}

#[test]
fn bad_sigma_rules_render_as_reviewed() {
    let mut files: Vec<_> = std::fs::read_dir("tests/sigma/bad")
        .expect("tests/sigma/bad")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8);
    for file in files {
        let path = file.to_string_lossy().replace('\\', "/");
        let loaded = load_all(&[&path], None);
        assert_eq!(loaded.len(), 1, "{path}");
        let l = &loaded[0];
        let diags = l
            .result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{path} should fail"));
        let mut rendered = String::new();
        for d in diags {
            let span = d.span.clone().unwrap_or_else(|| panic!("{path}: {d:?}"));
            assert!(span.end <= l.file.text.len() && span.start <= span.end);
            rendered.push_str(&render(d, &path, &l.file.text, Style::Human));
            rendered.push('\n');
        }
        let name = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        insta::with_settings!({
            snapshot_path => "../snapshots/sigma",
            prepend_module_to_snapshot => false,
            description => l.file.text.as_str(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
}

#[test]
fn cli_tests_samples_compiles_and_explains_sigma_rules() {
    let out = support::cli::ruleqc(&["test", "tests/sigma/suite", "--engine", "sqlite"]);
    let (stdout, stderr) = (support::cli::stdout(&out), support::cli::stderr(&out));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
    for target in [
        &["--target", "splunk"][..],
        &["--target", "kql"],
        &["--target", "sql", "--dialect", "duckdb"],
        &["--target", "sql", "--dialect", "sqlite"],
        &["--target", "sql", "--dialect", "postgres"],
        &["--target", "sql", "--dialect", "snowflake"],
        &["--target", "sql", "--dialect", "bigquery"],
        &["--target", "sql", "--dialect", "databricks"],
        &["--target", "sql", "--dialect", "clickhouse"],
    ] {
        let mut args = vec!["compile", "tests/sigma/suite/rules/whoami.yml"];
        args.extend_from_slice(target);
        let out = support::cli::ruleqc(&args);
        let (stdout, stderr) = (support::cli::stdout(&out), support::cli::stderr(&out));
        assert!(out.status.success(), "{target:?}: {stderr}");
        assert!(stdout.contains("whoami.exe"), "{target:?}: {stdout}");
    }
    let out = support::cli::ruleqc(&[
        "explain",
        "--stage",
        "ir",
        "tests/sigma/suite/rules/whoami.yml",
    ]);
    let stdout = support::cli::stdout(&out);
    assert!(out.status.success(), "{}", support::cli::stderr(&out));
    assert!(
        stdout.contains("Event.EventData.Image ends_with~ \"\\\\whoami.exe\""),
        "{stdout}"
    );
}

#[test]
fn keyword_search_without_a_raw_field_is_an_error_for_that_rule_only() {
    let dir = support::cli::scratch("sigma", "noraw");
    let profile = dir.join("noraw.yml");
    std::fs::write(&profile, "field_template: \"{field}\"\nraw_field: null\n").unwrap();
    let loaded = load_all(
        &["tests/sigma/suite/rules"],
        Some(profile.to_str().unwrap()),
    );
    let failed: Vec<&Loaded> = loaded.iter().filter(|l| l.result.is_err()).collect();
    assert_eq!(failed.len(), 1, "only the keyword rule fails");
    assert!(failed[0].file.path.ends_with("keywords.yml"));
    let d = &failed[0].result.as_ref().unwrap_err()[0];
    assert_eq!(d.code, "E0606");
    let (line, col) = ruleqc::diag::line_col(&failed[0].file.text, d.span.clone().unwrap().start);
    assert_eq!((line, col), (8, 11));
    let _ = std::fs::remove_dir_all(dir);
}

/// The example profiles in docs/sigma/ load and place a Windows rule where their comments say.
#[test]
fn documented_example_profiles_work() {
    let out = support::cli::ruleqc(&[
        "--sigma-profile",
        "docs/sigma/splunk.yml",
        "compile",
        "--target",
        "splunk",
        "--profile",
        "docs/sigma/splunk-target.yml",
        "tests/sigma/suite/rules/whoami.yml",
    ]);
    let stdout = support::cli::stdout(&out);
    assert!(out.status.success(), "{}", support::cli::stderr(&out));
    assert!(
        stdout.contains(r#"sourcetype="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational""#)
            && stdout.contains("EventCode"),
        "{stdout}"
    );
    let out = support::cli::ruleqc(&[
        "--sigma-profile",
        "docs/sigma/sentinel.yml",
        "compile",
        "--target",
        "kql",
        "--profile",
        "docs/sigma/sentinel-target.yml",
        "tests/sigma/suite/rules/whoami.yml",
    ]);
    let stdout = support::cli::stdout(&out);
    assert!(out.status.success(), "{}", support::cli::stderr(&out));
    assert!(
        stdout.contains("DeviceProcessEvents\n") && stdout.contains("InitiatingProcessFolderPath"),
        "{stdout}"
    );
    // A profile with a mistake stops the run with its position.
    let dir = support::cli::scratch("sigma", "badprofile");
    let bad = dir.join("p.yml");
    std::fs::write(&bad, "field_template: \"x\"\n").unwrap();
    let out = support::cli::ruleqc(&[
        "--sigma-profile",
        bad.to_str().unwrap(),
        "check",
        "tests/sigma/suite",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::cli::stderr(&out).contains("p.yml:1:17: `field_template` must contain `{field}`"),
        "{}",
        support::cli::stderr(&out)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A rule whose KQL query is longer than a Sentinel analytics rule takes is written in its
/// compact form (lists merged into one regex, ranges into Kusto's range functions), which fits
/// and passes Kusto.Language's semantic check.
#[test]
fn long_lists_get_the_compact_kql_form_that_kusto_accepts() {
    let out = support::cli::ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--format",
        "json",
        "tests/sigma/long/long_lists.yml",
    ]);
    let stdout = support::cli::stdout(&out);
    assert!(out.status.success(), "{}", support::cli::stderr(&out));
    let compiled: Value = serde_json::from_str(&stdout).expect("JSON output");
    let query = compiled[0]["query"].as_str().expect("a query").to_string();
    let n = query.chars().count();
    assert!(n <= 10_000, "{n} characters:\n{query}");
    for part in [
        "ipv4_is_in_any_range(tostring(Event.EventData.DestinationIp), dynamic([\"10.0.0.0/16\"",
        "ipv6_is_in_any_range(",
        "\"0:0:0:0:0:0:0:1/128\"",
        "matches regex @\"(?i)",
        "(?-i:[Ss])",
    ] {
        assert!(query.contains(part), "{part} not in\n{query}");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let package = root.join("tests/kql/node_modules/@kusto/language-service-next");
    assert!(
        package.join("Kusto.Language.Bridge.js").is_file(),
        "run `npm ci --prefix tests/kql` (the KQL validator's package)"
    );
    let request = json!({
        "id": 1,
        "query": query,
        "table": "windows_network_connection_CL",
        "columns": {"Event": "dynamic"},
    });
    let mut child = std::process::Command::new("node")
        .arg(root.join("tests/kql/validate.js"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs the KQL validator");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{request}").expect("write the request");
    }
    let answer = child.wait_with_output().expect("the validator answers");
    let line = String::from_utf8_lossy(&answer.stdout);
    let answer: Value = serde_json::from_str(line.lines().next().expect("one answer"))
        .expect("the validator answers JSON");
    assert_eq!(answer["diagnostics"], json!([]), "{query}");
}
