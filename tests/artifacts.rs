//! Deployable artifacts read back: savedsearches.conf stanzas (with `.conf` continuations)
//! carry exactly the compiled SPL; Sentinel rule YAML and ARM templates carry the compiled KQL,
//! the required keys, valid durations and stable ids; Sentinel's limits are enforced.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use ruleqc::package::{savedsearches, sentinel};
use ruleqc::rule::yaml::{self, Kind};

fn ruleqc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .output()
        .expect("run")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleqc-artifacts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// RuleID -> query, for the rules that compile for `target`.
fn queries(target: &str) -> BTreeMap<String, String> {
    let o = ruleqc(&["compile", "--target", target, "--format", "json", "rules"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    doc.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["rule_id"].as_str().unwrap().to_string(),
                i["query"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn savedsearches_conf_reads_back_to_the_compiled_searches() {
    let dir = scratch("splunk");
    let _ = ruleqc(&[
        "compile",
        "--target",
        "splunk",
        "--out",
        dir.to_str().unwrap(),
        "rules",
    ]);
    let text = std::fs::read_to_string(dir.join("savedsearches.conf")).expect("written");
    for line in text.lines() {
        assert!(
            !line.ends_with('\\') || line.ends_with(" \\"),
            "bare backslash: {line}"
        );
    }
    let stanzas = savedsearches::parse(&text).expect("parses");
    let expected = queries("splunk");
    assert!(
        expected.len() >= 40,
        "{} rules compile for splunk",
        expected.len()
    );
    assert_eq!(stanzas.len(), expected.len());
    for (name, kv) in &stanzas {
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("search"), Some(expected[name].as_str()), "{name}");
        assert_eq!(get("enableSched"), Some("1"));
        assert!(get("cron_schedule").is_some_and(|c| c.split_whitespace().count() == 5));
        assert!(
            get("dispatch.earliest_time").is_some_and(|t| t.starts_with('-') && t.ends_with('m'))
        );
        assert_eq!(get("counttype"), Some("number of events"));
        assert_eq!(get("relation"), Some("greater than"));
        assert!(get("alert.suppress.period").is_some());
        assert!(get("disabled").is_some());
    }
    let seed = &stanzas
        .iter()
        .find(|s| s.0 == "Teleport.SuspiciousCommands")
        .unwrap()
        .1;
    assert!(seed.contains(&(
        "action.correlationsearch.annotations".into(),
        r#"{"mitre_attack":["T1059","TA0002"]}"#.into()
    )));
    assert!(seed.contains(&(
        "alert.suppress.fields".into(),
        "event,code,user,program,path,return_code,login,server_id,sid".into()
    )));
}

#[test]
fn multi_line_searches_use_conf_continuations() {
    let rule = |search: &str| {
        let text = "RuleID: T.Multi\nLogTypes: [X]\nCondition: a is_null\n".to_string();
        let loaded = ruleqc::rule::load_str("t.yml", text);
        let r = loaded.result.unwrap();
        savedsearches::stanza(&r, search)
    };
    let s = rule("index=a\n| where x == 1").unwrap();
    assert!(s.contains("search = index=a \\\n| where x == 1\n"), "{s}");
    let back = savedsearches::parse(&s).unwrap();
    assert_eq!(back[0].1[0].1, "index=a\n| where x == 1");
    assert!(
        rule("index=a \\\n| where x == 1").is_err(),
        "a line ending in a backslash is refused"
    );
    assert_eq!(
        savedsearches::rate_to_cron(15).as_deref(),
        Some("*/15 * * * *")
    );
    assert_eq!(
        savedsearches::rate_to_cron(60).as_deref(),
        Some("0 * * * *")
    );
    assert_eq!(
        savedsearches::rate_to_cron(360).as_deref(),
        Some("0 */6 * * *")
    );
    assert_eq!(
        savedsearches::rate_to_cron(1440).as_deref(),
        Some("0 0 * * *")
    );
    assert_eq!(savedsearches::rate_to_cron(45), None);
    assert_eq!(savedsearches::rate_to_cron(90), None);
}

#[test]
fn sentinel_yaml_has_the_required_keys_and_stable_ids() {
    let (a, b) = (scratch("kql-a"), scratch("kql-b"));
    for d in [&a, &b] {
        let o = ruleqc(&[
            "compile",
            "--target",
            "kql",
            "--out",
            d.to_str().unwrap(),
            "rules",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let expected = queries("kql");
    assert_eq!(expected.len(), 49);
    for (id, query) in &expected {
        let file = format!("{id}.yaml");
        let text = std::fs::read_to_string(a.join(&file)).unwrap();
        assert_eq!(
            text,
            std::fs::read_to_string(b.join(&file)).unwrap(),
            "same bytes every run"
        );
        let root = yaml::parse(&text).unwrap().unwrap();
        let Kind::Map(entries) = &root.kind else {
            panic!("{file}")
        };
        let get = |k: &str| {
            entries
                .iter()
                .find(|(key, _)| key.scalar_text() == Some(k))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{file} lacks {k}"))
        };
        for k in [
            "id",
            "name",
            "description",
            "severity",
            "queryFrequency",
            "queryPeriod",
            "triggerOperator",
            "triggerThreshold",
            "tactics",
            "relevantTechniques",
            "query",
            "version",
            "kind",
            "status",
        ] {
            let _ = get(k);
        }
        // The compiled query, then (for entities in nested fields) one `| extend` naming
        // their columns as Log Analytics column names.
        let written = get("query").scalar_text().unwrap().to_string();
        match written.strip_prefix(query.as_str()) {
            Some("") => {}
            Some(rest) => assert!(
                rest.starts_with("\n| extend ") && !rest[1..].contains('\n'),
                "{file}: {rest}"
            ),
            None => panic!("{file}: the query is not the compiled one:\n{written}"),
        }
        assert!(
            sentinel::STATUSES.contains(&get("status").scalar_text().unwrap()),
            "{file}"
        );
        assert_eq!(get("kind").scalar_text(), Some("Scheduled"));
        assert_eq!(get("triggerOperator").scalar_text(), Some("gt"));
        for k in ["queryFrequency", "queryPeriod"] {
            let v = get(k).scalar_text().unwrap().to_string();
            let (n, unit) = v.split_at(v.len() - 1);
            assert!(
                n.parse::<u32>().is_ok() && ["m", "h", "d"].contains(&unit),
                "{file}: {k} = {v}"
            );
        }
        let uuid = get("id").scalar_text().unwrap().to_string();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "5", "a version 5 UUID");
    }
    assert_eq!(sentinel::duration(70), "70m");
    assert_eq!(sentinel::duration(120), "2h");
    assert_eq!(sentinel::duration(2880), "2d");
    assert_eq!(sentinel::iso_duration(60), "PT1H");
    assert_eq!(sentinel::iso_duration(1440), "P1D");
    assert_eq!(sentinel::iso_duration(70), "PT70M");
}

#[test]
fn arm_template_and_sentinel_limits() {
    let dir = scratch("arm");
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--format",
        "arm",
        "--out",
        dir.to_str().unwrap(),
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sentinel_rules.json")).unwrap())
            .unwrap();
    let resources = doc["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 49);
    for r in resources {
        assert_eq!(r["kind"], "Scheduled");
        let p = &r["properties"];
        assert!(p["queryFrequency"].as_str().unwrap().starts_with('P'));
        assert!(p["queryPeriod"].as_str().unwrap().starts_with('P'));
        assert!(p["query"].as_str().unwrap().contains("| where"));
    }
    // The template is ours: rewriting it is allowed, and --check sees it clean.
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--format",
        "arm",
        "--out",
        dir.to_str().unwrap(),
        "--check",
        "rules",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    let rules = scratch("limits");
    let write = |name: &str, schedule: &str| {
        std::fs::write(
            rules.join(name),
            format!(
                "RuleID: T.{}\nLogTypes: [X]\nSchedule: {schedule}\nCondition: a is_null\n",
                name.trim_end_matches(".yml")
            ),
        )
        .unwrap();
    };
    write("Fast.yml", "{RateMinutes: 2}");
    write("Short.yml", "{RateMinutes: 60, LookbackMinutes: 30}");
    write(
        "Cron.yml",
        "{CronExpression: \"0 * * * *\", LookbackMinutes: 60}",
    );
    write("Long.yml", "{RateMinutes: 60, LookbackMinutes: 30000}");
    write("Fine.yml", "{RateMinutes: 60, LookbackMinutes: 20160}");
    write("LongFast.yml", "{RateMinutes: 30, LookbackMinutes: 2880}");
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--out",
        dir.join("lim").to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("between 5 minutes and 14 days; the rule has 2 minutes"),
        "{e}"
    );
    assert!(
        e.contains("period (30m) to be at least the frequency (60m)"),
        "{e}"
    );
    assert!(e.contains("not a cron expression"), "{e}");
    assert!(e.contains("the rule has 30000 minutes"), "{e}");
    assert!(
        e.contains(
            "looks back two days or more (2d) at most hourly; the rule runs every 30 minutes"
        ),
        "{e}"
    );
    assert_eq!(e.matches("error[E0403]").count(), 5, "{e}");
    assert!(
        dir.join("lim/T.Fine.yaml").exists(),
        "the rule within the limits is written"
    );
    assert!(!dir.join("lim/T.Fast.yaml").exists());
}

/// The artifacts of a few rules per target, as reviewed snapshots.
#[test]
fn artifacts_as_reviewed() {
    let dir = scratch("snapshots");
    let pick = [
        "rules/teleport/suspicious_commands.yml",
        "rules/eks/privileged_pod_created.yml",
    ];
    let mut runs: Vec<(&str, Vec<&str>)> = vec![
        (
            "sql",
            vec![
                "--target",
                "sql",
                "--dialect",
                "snowflake",
                "--profile",
                "panther",
            ],
        ),
        ("splunk", vec!["--target", "splunk"]),
        ("kql", vec!["--target", "kql", "--profile", "sentinel"]),
        ("arm", vec!["--target", "kql", "--format", "arm"]),
    ];
    for (name, args) in runs.drain(..) {
        let out = dir.join(name);
        let mut all = vec!["compile"];
        all.extend(args);
        all.extend(["--out", out.to_str().unwrap()]);
        all.extend(pick);
        let o = ruleqc(&all);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let file = f.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&f).unwrap();
            insta::with_settings!({
                snapshot_path => "../snapshots/artifacts",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("{name}__{file}"), text);
            });
        }
    }
}

/// A rule directory of one rule, for the command-line tests below.
fn one_rule(name: &str, text: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    std::fs::write(dir.join("rule.yml"), text).unwrap();
    dir
}

#[test]
fn sentinel_tactics_satisfy_sentinels_technique_table() {
    // T1098 is Persistence only in Sentinel's table; T1078 has four tactics there.
    let text = "RuleID: T.Tactics\nLogTypes: [X]\nCondition: a is_null\nReports:\n  MITRE ATT&CK: [TA0004:T1098.003, TA0001:T1078, TA0112:T1562.001]\n";
    let rule = ruleqc::rule::load_str("t.yml", text.into()).result.unwrap();
    let mut findings = Vec::new();
    let a = sentinel::attack(&rule, &mut findings);
    assert_eq!(
        a.tactics,
        [
            "PrivilegeEscalation",
            "InitialAccess",
            "DefenseEvasion",
            "Persistence"
        ]
    );
    assert_eq!(a.techniques, ["T1098", "T1078", "T1562"]);
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(findings.len(), 2, "{messages:?}");
    assert!(findings.iter().all(|f| !f.error && f.key == "Reports"));
    assert!(messages[0].starts_with("Sentinel's technique table pairs T1098 with Persistence"));

    // `check --target kql` says so as a warning at `Reports`, and passes.
    let dir = one_rule("tactics", text);
    let o = ruleqc(&[
        "--error-format",
        "short",
        "check",
        "--target",
        "kql",
        dir.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{e}");
    assert_eq!(e.matches("warning[E0404]").count(), 2, "{e}");
    assert!(
        e.contains("rule.yml:4:1: warning[E0404]: Sentinel's technique table pairs T1098"),
        "{e}"
    );
    // Without the Sentinel target, no Sentinel findings (the rule has no tests: W0110 only).
    let o = ruleqc(&["check", dir.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("E0404"));
}

#[test]
fn check_and_compile_refuse_what_sentinel_refuses() {
    let long_name = "N".repeat(300);
    let text = format!(
        "RuleID: T.Limits\nDisplayName: {long_name}\nLogTypes: [X]\nThreshold: 20000\nSchedule: {{RateMinutes: 10, LookbackMinutes: 4320}}\nCondition: a is_null\n"
    );
    let dir = one_rule("sentinel-limits", &text);
    for args in [
        vec!["check", "--target", "kql"],
        vec!["check", "--profile", "sentinel"],
    ] {
        let mut all = vec!["--error-format", "short"];
        all.extend(args);
        all.push(dir.to_str().unwrap());
        let o = ruleqc(&all);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{e}");
        assert!(
            e.contains("rule.yml:2:1: error[E0404]: Sentinel takes a name of at most 256 characters; this one has 300"),
            "{e}"
        );
        assert!(e.contains("rule.yml:4:1: error[E0404]: Sentinel's trigger threshold is at most 10000: `Threshold` can be at most 10001; the rule has 20000"), "{e}");
        assert!(e.contains("rule.yml:5:1: error[E0404]: Sentinel runs a rule that looks back two days or more (3d) at most hourly"), "{e}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("1 with errors (3 errors"));
    }
    // Other targets do not have Sentinel's limits.
    let o = ruleqc(&["check", "--target", "splunk", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    // compile writes no file for it.
    let out = dir.join("out");
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--out",
        out.to_str().unwrap(),
        dir.join("rule.yml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at most 256 characters"));
    assert!(!out.join("T.Limits.yaml").exists());
}

#[test]
fn disabled_rules_connectors_and_custom_details() {
    let dir = scratch("sentinel-profile");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("r.yml"),
        "RuleID: T.Off\nEnabled: false\nLogTypes: [AWS.CloudTrail, AWS.VPCFlow]\nOutputFields: [eventName, userIdentity.arn, 'a-b']\nCondition: eventName eq \"x\"\n",
    )
    .unwrap();
    let profile = dir.join("profile.yml");
    std::fs::write(
        &profile,
        "kql:\n  table: \"{name}\"\nsentinel:\n  custom_details: true\n  connectors:\n    AWS.CloudTrail: {connector_id: AWS, data_types: [AWSCloudTrail]}\n    AWS.VPCFlow: {connector_id: AWS}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--profile",
        profile.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("T.Off.yaml")).unwrap();
    assert!(text.contains("status: \"NotAvailable\"\n"), "{text}");
    assert!(
        text.contains("requiredDataConnectors:\n  - connectorId: \"AWS\"\n    dataTypes:\n      - \"AWSCloudTrail\"\n      - \"AWS_VPCFlow\"\n"),
        "{text}"
    );
    assert!(
        text.contains("customDetails:\n  eventName: \"eventName\"\n  userIdentity_arn: \"userIdentity_arn\"\n  a_b: \"a_b\"\n")
            || text.contains("customDetails:\n  a_b: \"a_b\"\n  eventName: \"eventName\"\n  userIdentity_arn: \"userIdentity_arn\"\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "| extend userIdentity_arn = tostring(['userIdentity.arn']), a_b = tostring(['a-b'])"
        ),
        "{text}"
    );
    // The ARM form has `enabled`.
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--format",
        "arm",
        rules.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["resources"][0]["properties"]["enabled"], false);

    // A bad profile key is an error with its position.
    std::fs::write(&profile, "sentinel:\n  custom_detail: true\n").unwrap();
    let o = ruleqc(&[
        "--error-format",
        "short",
        "compile",
        "--target",
        "kql",
        "--profile",
        profile.to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("profile.yml:2:3: error[E0501]: unknown profile key `custom_detail`; did you mean `custom_details`?"),
        "{e}"
    );
}

#[test]
fn splunk_enterprise_security_index_and_late_event_margin() {
    let dir = scratch("splunk-es");
    let profile = dir.join("es.yml");
    std::fs::write(
        &profile,
        "splunk:\n  index: security\n  sourcetype: \"{log_type}\"\n  enterprise_security: true\n  late_event_margin_minutes: 10\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = ruleqc(&[
        "compile",
        "--target",
        "splunk",
        "--profile",
        profile.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "rules",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("savedsearches.conf")).unwrap();
    let stanzas = savedsearches::parse(&text).unwrap();
    assert_eq!(stanzas.len(), 49);
    for (name, kv) in &stanzas {
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert!(
            get("search").unwrap().starts_with("index=\"security\" "),
            "{name}"
        );
        assert_eq!(get("action.correlationsearch.enabled"), Some("1"));
        assert!(get("action.correlationsearch.label").is_some_and(|l| !l.is_empty()));
        assert_eq!(get("action.notable"), Some("1"));
        assert!(get("action.notable.param.rule_title").is_some());
        assert!(get("action.notable.param.rule_description").is_some());
        assert!(
            ["informational", "low", "medium", "high", "critical"]
                .contains(&get("action.notable.param.severity").unwrap())
        );
        assert_eq!(get("action.notable.param.drilldown_search"), get("search"));
        assert_eq!(get("dispatch.latest_time"), Some("-10m"));
    }
    let seed = &stanzas
        .iter()
        .find(|s| s.0 == "Teleport.SuspiciousCommands")
        .unwrap()
        .1;
    let get = |k: &str| {
        seed.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("dispatch.earliest_time"), Some("-70m"));
    assert_eq!(get("action.risk"), Some("1"));
    assert_eq!(
        get("action.risk.param._risk"),
        Some(
            r#"[{"risk_object_field":"user","risk_object_type":"user","risk_score":50},{"threat_object_field":"path","threat_object_type":"process"}]"#
        )
    );
    // A rule without entities has notables but no risk action.
    let plain = &stanzas
        .iter()
        .find(|s| s.0 == "AWS.EC2.SecurityGroupOpenToInternet")
        .unwrap()
        .1;
    assert!(plain.iter().all(|(k, _)| !k.starts_with("action.risk")));
    // The default stays plain alerts, looking back to now.
    let o = ruleqc(&[
        "compile",
        "--target",
        "splunk",
        "--out",
        dir.join("plain").to_str().unwrap(),
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("plain/savedsearches.conf")).unwrap();
    assert!(!text.contains("action.notable"));
    assert!(!text.contains("index="));
    assert!(text.contains("dispatch.latest_time = now\n"));
}

/// The README shows one rule's Sentinel YAML and ES stanza: they are what compile writes.
#[test]
fn readme_artifact_examples_are_current() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let block = |start: &str| -> String {
        let from = readme
            .find(start)
            .unwrap_or_else(|| panic!("README lacks {start}"));
        let rest = &readme[from..];
        rest[..rest.find("```").unwrap()].to_string()
    };
    let dir = scratch("readme");
    let rule = "rules/okta/brute_force_login.yml";
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--profile",
        "sentinel",
        "--out",
        dir.join("kql").to_str().unwrap(),
        rule,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let yaml =
        std::fs::read_to_string(dir.join("kql/Okta.SystemLog.PasswordGuessing.yaml")).unwrap();
    assert_eq!(
        block("# generated by ruleqc from rules/okta/brute_force_login.yml"),
        yaml
    );
    let profile = dir.join("es.yml");
    std::fs::write(
        &profile,
        "splunk: {index: okta, sourcetype: \"{log_type}\", enterprise_security: true, late_event_margin_minutes: 10}\n",
    )
    .unwrap();
    assert!(readme.contains(
        "`splunk: {index: okta, sourcetype: \"{log_type}\", enterprise_security: true, late_event_margin_minutes: 10}`"
    ));
    let o = ruleqc(&[
        "compile",
        "--target",
        "splunk",
        "--profile",
        profile.to_str().unwrap(),
        "--out",
        dir.join("spl").to_str().unwrap(),
        rule,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let conf = std::fs::read_to_string(dir.join("spl/savedsearches.conf")).unwrap();
    let stanza = &conf[conf.find('[').unwrap()..];
    assert_eq!(block("[Okta.SystemLog.PasswordGuessing]"), stanza);
}
