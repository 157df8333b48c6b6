//! The platforms' own checks, applied to the artifacts of every rule in rules/:
//!
//! - Sentinel: the constraints Azure-Sentinel's repository validates analytics rules against
//!   (`.script/tests/detectionTemplateSchemaValidation`: required fields, lengths, enums,
//!   durations and ranges, technique/tactic pairs, entity mapping shapes, custom details),
//!   written here from those rules, independently of `ruleqc::package::sentinel`.
//! - Splunk: every key of the generated `savedsearches.conf` is a setting of Splunk's
//!   `savedsearches.conf.spec` (the names are in tests/support/savedsearches.conf.spec.keys).
//! - Panther: `pat test` (pip `panther-analysis-tool`, installed by .ci/run) accepts the
//!   generated scheduled queries, rules and their tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn ruleqc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .output()
        .expect("run")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleqc-platform-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compile_into(dir: &Path, args: &[&str]) {
    let mut all = vec!["compile"];
    all.extend(args);
    all.extend(["--out", dir.to_str().unwrap(), "rules"]);
    let o = ruleqc(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

// ---- Sentinel --------------------------------------------------------------------------------

/// Sentinel's technique -> tactics table, rows for the techniques the rules use
/// (Azure-Sentinel `KillChainTechniquesHelper.cs`).
const TECHNIQUE_TACTICS: &str = "
T1059 Execution
T1070 DefenseEvasion
T1078 InitialAccess Persistence PrivilegeEscalation DefenseEvasion
T1090 CommandAndControl
T1095 CommandAndControl
T1098 Persistence
T1110 CredentialAccess
T1125 Collection
T1136 Persistence
T1190 InitialAccess
T1199 InitialAccess
T1485 Impact
T1505 Persistence
T1537 Exfiltration
T1539 CredentialAccess
T1548 PrivilegeEscalation DefenseEvasion
T1552 CredentialAccess
T1555 CredentialAccess
T1556 Persistence DefenseEvasion CredentialAccess
T1562 DefenseEvasion
T1567 Exfiltration
T1609 Collection
T1611 PrivilegeEscalation
T1621 CredentialAccess
";

/// `AttackTactic` values Sentinel accepts.
const TACTICS: &[&str] = &[
    "Reconnaissance",
    "ResourceDevelopment",
    "InitialAccess",
    "Execution",
    "Persistence",
    "PrivilegeEscalation",
    "DefenseEvasion",
    "CredentialAccess",
    "Discovery",
    "LateralMovement",
    "Collection",
    "Exfiltration",
    "CommandAndControl",
    "Impact",
    "PreAttack",
    "ImpairProcessControl",
    "InhibitResponseFunction",
];

/// Entity type -> (valid identifiers, required identifier sets), `EntityMappingIdentifiers.cs`.
fn entity_identifiers(
    kind: &str,
) -> Option<(&'static [&'static str], &'static [&'static [&'static str]])> {
    Some(match kind {
        "Account" => (
            &[
                "Name",
                "FullName",
                "NTDomain",
                "DnsDomain",
                "UPNSuffix",
                "Sid",
                "AadTenantId",
                "AadUserId",
                "PUID",
                "IsDomainJoined",
                "DisplayName",
                "ObjectGuid",
            ],
            &[
                &["FullName"],
                &["Sid"],
                &["Name"],
                &["AadUserId"],
                &["PUID"],
                &["ObjectGuid"],
            ],
        ),
        "Host" => (
            &[
                "DnsDomain",
                "NTDomain",
                "HostName",
                "FullName",
                "NetBiosName",
                "AzureID",
                "OMSAgentID",
                "OSFamily",
                "OSVersion",
                "IsDomainJoined",
            ],
            &[
                &["FullName"],
                &["HostName"],
                &["NetBiosName"],
                &["AzureID"],
                &["OMSAgentID"],
            ],
        ),
        "IP" => (&["Address"], &[&["Address"]]),
        "Process" => (
            &[
                "ProcessId",
                "CommandLine",
                "ElevationToken",
                "CreationTimeUtc",
            ],
            &[&["CommandLine"], &["ProcessId"]],
        ),
        "File" => (&["Directory", "Name"], &[&["Name"]]),
        "FileHash" => (&["Algorithm", "Value"], &[&["Algorithm", "Value"]]),
        "URL" => (&["Url"], &[&["Url"]]),
        "DNS" => (&["DomainName"], &[&["DomainName"]]),
        "CloudApplication" => (&["AppId", "Name", "InstanceName"], &[&["AppId"], &["Name"]]),
        _ => return None,
    })
}

/// `^[a-zA-Z_]+\w*$` (column names), or with `letter_first`, `^[a-zA-Z]+\w*$`.
fn word(s: &str, letter_first: bool) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || (!letter_first && c == '_'))
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Minutes of a `<n>m|h|d` duration.
fn minutes(s: &str) -> Option<u64> {
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "m" => n,
        "h" => n * 60,
        "d" => n * 1440,
        _ => return None,
    })
}

/// Every violation of Azure-Sentinel's analytics-rule constraints in one rule file.
fn sentinel_violations(rule: &Value) -> Vec<String> {
    let mut v = Vec::new();
    let mut bad = |m: String| v.push(m);
    let str_of = |k: &str| rule.get(k).and_then(Value::as_str);
    for k in [
        "id",
        "name",
        "description",
        "severity",
        "requiredDataConnectors",
        "queryFrequency",
        "queryPeriod",
        "triggerOperator",
        "triggerThreshold",
        "query",
        "kind",
        "version",
    ] {
        if rule.get(k).is_none() {
            bad(format!("missing `{k}`"));
        }
    }
    if str_of("id").is_none_or(|id| uuid::Uuid::parse_str(id).is_err()) {
        bad("`id` is not a GUID".into());
    }
    if str_of("kind") != Some("Scheduled") {
        bad("`kind` is not Scheduled".into());
    }
    for (k, max, min) in [
        ("name", 256, 0),
        ("description", 5000, 0),
        ("query", 10_000, 1),
    ] {
        let n = str_of(k).map_or(0, |s| s.chars().count());
        if n > max || n < min {
            bad(format!("`{k}` has {n} characters ({min}..={max})"));
        }
    }
    if !str_of("severity").is_some_and(|s| ["Informational", "Low", "Medium", "High"].contains(&s))
    {
        bad(format!("severity {:?}", rule.get("severity")));
    }
    if let Some(s) = rule.get("status")
        && !s
            .as_str()
            .is_some_and(|s| ["Installed", "Available", "NotAvailable"].contains(&s))
    {
        bad(format!("status {s}"));
    }
    if !str_of("triggerOperator").is_some_and(|s| ["gt", "lt", "eq", "ne"].contains(&s)) {
        bad("triggerOperator".into());
    }
    if !rule
        .get("triggerThreshold")
        .and_then(Value::as_i64)
        .is_some_and(|t| (0..=10_000).contains(&t))
    {
        bad(format!(
            "triggerThreshold {:?}",
            rule.get("triggerThreshold")
        ));
    }
    let freq = str_of("queryFrequency").and_then(minutes);
    let period = str_of("queryPeriod").and_then(minutes);
    match (freq, period) {
        (Some(f), Some(p)) => {
            for (k, m) in [("queryFrequency", f), ("queryPeriod", p)] {
                if !(5..=14 * 1440).contains(&m) {
                    bad(format!("{k} {m}m outside 5m..14d"));
                }
            }
            if p < f {
                bad("queryPeriod < queryFrequency".into());
            }
            if p >= 2 * 1440 && f < 60 {
                bad("a period of 2 days or more with a frequency under an hour".into());
            }
        }
        _ => bad("unreadable queryFrequency/queryPeriod".into()),
    }
    match rule.get("requiredDataConnectors").and_then(Value::as_array) {
        Some(list) => {
            for c in list {
                if c["connectorId"].as_str().is_none_or(str::is_empty)
                    || !c["dataTypes"].as_array().is_some_and(|d| {
                        !d.is_empty() && d.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty()))
                    })
                {
                    bad(format!("connector {c}"));
                }
            }
        }
        None => bad("requiredDataConnectors is not a list".into()),
    }
    let tactics: Vec<&str> = rule
        .get("tactics")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for t in &tactics {
        if !TACTICS.contains(t) {
            bad(format!("tactic {t}"));
        }
    }
    for t in rule
        .get("relevantTechniques")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let t = t.as_str().unwrap_or("");
        let parent = t.split('.').next().unwrap();
        let shape = parent.len() == 5
            && parent.starts_with('T')
            && parent[1..].chars().all(|c| c.is_ascii_digit());
        if !shape {
            bad(format!("technique {t}"));
            continue;
        }
        let row = TECHNIQUE_TACTICS
            .lines()
            .find(|l| l.split_whitespace().next() == Some(parent));
        match row {
            None => bad(format!("technique {t} has no row in Sentinel's table")),
            Some(row) => {
                for needed in row.split_whitespace().skip(1) {
                    if !tactics.contains(&needed) {
                        bad(format!("technique {t} without its tactic {needed}"));
                    }
                }
            }
        }
    }
    let query = str_of("query").unwrap_or("");
    for old in [
        "AccountCustomEntity",
        "HostCustomEntity",
        "IPCustomEntity",
        "URLCustomEntity",
        "ProcessCustomEntity",
        "FileHashCustomEntity",
    ] {
        if query.contains(old) {
            bad(format!("the query uses {old} without a new entity mapping"));
        }
    }
    if let Some(maps) = rule.get("entityMappings") {
        let maps = maps.as_array().cloned().unwrap_or_default();
        if !(1..=5).contains(&maps.len()) {
            bad(format!("{} entity mappings (1..=5)", maps.len()));
        }
        for m in &maps {
            let kind = m["entityType"].as_str().unwrap_or("");
            let Some((valid, required)) = entity_identifiers(kind) else {
                bad(format!("entity type {kind}"));
                continue;
            };
            let fields = m["fieldMappings"].as_array().cloned().unwrap_or_default();
            if !(1..=3).contains(&fields.len()) {
                bad(format!("{kind}: {} field mappings (1..=3)", fields.len()));
            }
            let mut used = BTreeSet::new();
            for f in &fields {
                let id = f["identifier"].as_str().unwrap_or("");
                let col = f["columnName"].as_str().unwrap_or("");
                if !valid.contains(&id) {
                    bad(format!("{kind}: identifier {id}"));
                }
                if !used.insert(id) {
                    bad(format!("{kind}: identifier {id} twice"));
                }
                if !word(col, false) || col.len() > 500 {
                    bad(format!("{kind}: column name {col:?}"));
                }
                // Beyond the repository's check: the column is one the query returns.
                if !query.contains(col) {
                    bad(format!("{kind}: column {col} is not in the query"));
                }
            }
            if !required
                .iter()
                .any(|set| set.iter().all(|i| used.contains(i)))
            {
                bad(format!("{kind}: missing required identifiers"));
            }
        }
    }
    if let Some(details) = rule.get("customDetails") {
        let map = details.as_object().cloned().unwrap_or_default();
        if map.len() > 20 {
            bad(format!("{} custom details", map.len()));
        }
        for (k, val) in &map {
            let col = val.as_str().unwrap_or("");
            if !word(k, true) || k.len() > 20 || !word(col, false) || col.len() > 500 {
                bad(format!("custom detail {k}: {col}"));
            }
            if !query.contains(col) {
                bad(format!("custom detail column {col} is not in the query"));
            }
        }
    }
    v
}

fn sentinel_files(dir: &Path) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let root = ruleqc::rule::yaml::parse(&text)
                .unwrap_or_else(|d| panic!("{}: {}", p.display(), d.message))
                .unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                root.to_json().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_sentinel_rule_passes_azure_sentinels_constraints() {
    let dir = scratch("sentinel");
    let profile = dir.join("profile.yml");
    std::fs::write(
        &profile,
        "kql:\n  table: \"{name}_CL\"\n  time_column: TimeGenerated\nsentinel:\n  custom_details: true\n  connectors:\n    AWS.CloudTrail: {connector_id: AWS, data_types: [AWSCloudTrail]}\n    Okta.SystemLog: {connector_id: OktaSSO}\n",
    )
    .unwrap();
    let mut checked = 0;
    let mut mapped = 0;
    for (name, args) in [
        ("builtin", vec!["--target", "kql", "--profile", "sentinel"]),
        ("default", vec!["--target", "kql"]),
        (
            "custom",
            vec!["--target", "kql", "--profile", profile.to_str().unwrap()],
        ),
    ] {
        let out = dir.join(name);
        compile_into(&out, &args);
        let files = sentinel_files(&out);
        assert_eq!(files.len(), 49, "{name}");
        let mut problems = Vec::new();
        for (file, rule) in &files {
            for p in sentinel_violations(rule) {
                problems.push(format!("{name}/{file}: {p}"));
            }
            mapped += usize::from(rule.get("entityMappings").is_some());
            checked += 1;
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        if name == "custom" {
            let with = |k: &str| files.iter().filter(|(_, r)| r.get(k).is_some()).count();
            assert!(with("customDetails") >= 40, "{}", with("customDetails"));
            let connected = files
                .iter()
                .filter(|(_, r)| !r["requiredDataConnectors"].as_array().unwrap().is_empty())
                .count();
            assert!(connected >= 10, "{connected}");
        }
    }
    assert_eq!(checked, 3 * 49);
    assert!(mapped >= 3 * 30, "{mapped}");
}

#[test]
fn the_sentinel_constraints_catch_what_the_platform_refuses() {
    // Each check above can fail: a good file, and one spoiled in each way Sentinel refuses.
    let dir = scratch("sentinel-spoiled");
    compile_into(&dir, &["--target", "kql", "--profile", "sentinel"]);
    let (_, good) = sentinel_files(&dir)
        .into_iter()
        .find(|(f, _)| f == "Slack.AuditLogs.AppWithAdminScopes.yaml")
        .unwrap();
    assert!(sentinel_violations(&good).is_empty());
    let spoil = |f: &dyn Fn(&mut Value)| {
        let mut r = good.clone();
        f(&mut r);
        sentinel_violations(&r)
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("name", spoil(&|r| r["name"] = "n".repeat(257).into())),
        ("status", spoil(&|r| r["status"] = "Disabled".into())),
        (
            "threshold",
            spoil(&|r| r["triggerThreshold"] = 10_001.into()),
        ),
        ("frequency", spoil(&|r| r["queryFrequency"] = "4m".into())),
        ("period", spoil(&|r| r["queryPeriod"] = "15d".into())),
        (
            "long period",
            spoil(&|r| {
                r["queryPeriod"] = "2d".into();
                r["queryFrequency"] = "30m".into()
            }),
        ),
        (
            "tactic",
            spoil(&|r| r["tactics"] = serde_json::json!(["PrivilegeEscalation"])),
        ),
        (
            "identifier",
            spoil(&|r| r["entityMappings"][0]["fieldMappings"][0]["identifier"] = "Upn".into()),
        ),
        (
            "column",
            spoil(&|r| {
                r["entityMappings"][0]["fieldMappings"][0]["columnName"] = "actor.user.email".into()
            }),
        ),
        (
            "too many",
            spoil(&|r| {
                let m = r["entityMappings"][0].clone();
                r["entityMappings"] = serde_json::json!([m, m, m, m, m, m]);
            }),
        ),
        (
            "custom detail",
            spoil(&|r| r["customDetails"] = serde_json::json!({"1st": "action"})),
        ),
        (
            "no connectors",
            spoil(&|r| r["requiredDataConnectors"] = Value::Null),
        ),
    ];
    for (what, found) in cases {
        assert!(!found.is_empty(), "{what} was not caught");
    }
}

// ---- Splunk ----------------------------------------------------------------------------------

/// Does `key` match the spec setting `pattern` (`<x>` is one name; the last may hold dots)?
fn spec_matches(pattern: &str, key: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    for (i, seg) in p.iter().enumerate() {
        let wild = seg.starts_with('<') && seg.ends_with('>');
        if i == p.len() - 1 {
            return if wild {
                k.len() > i && k[i..].iter().all(|s| !s.is_empty())
            } else {
                k.len() == p.len() && k[i] == *seg
            };
        }
        match k.get(i) {
            Some(s) if wild && !s.is_empty() => {}
            Some(s) if s == seg => {}
            _ => return false,
        }
    }
    false
}

fn spec_keys() -> Vec<String> {
    include_str!("support/savedsearches.conf.spec.keys")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_savedsearches_key_is_in_splunks_spec() {
    let spec = spec_keys();
    assert!(spec.len() > 200, "{}", spec.len());
    assert!(spec_matches(
        "action.<action_name>.<parameter>",
        "action.notable.param.rule_title"
    ));
    assert!(!spec_matches("alert.suppress", "alert.supress"));
    assert!(!spec_matches("action.<action_name>", "action"));
    let dir = scratch("splunk");
    let profile = dir.join("es.yml");
    std::fs::write(
        &profile,
        "splunk:\n  index: security\n  sourcetype: \"{log_type}\"\n  enterprise_security: true\n  late_event_margin_minutes: 15\n",
    )
    .unwrap();
    let mut keys = BTreeSet::new();
    for (name, args) in [
        ("plain", vec!["--target", "splunk"]),
        (
            "es",
            vec!["--target", "splunk", "--profile", profile.to_str().unwrap()],
        ),
    ] {
        let out = dir.join(name);
        compile_into(&out, &args);
        let text = std::fs::read_to_string(out.join("savedsearches.conf")).unwrap();
        let stanzas = ruleqc::package::savedsearches::parse(&text).unwrap();
        assert_eq!(stanzas.len(), 49);
        for (stanza, kv) in &stanzas {
            for (k, v) in kv {
                assert!(
                    spec.iter().any(|p| spec_matches(p, k)),
                    "{name}/[{stanza}]: `{k}` is not a savedsearches.conf setting"
                );
                assert!(
                    !v.is_empty() || k == "description",
                    "[{stanza}] {k} is empty"
                );
                keys.insert(k.clone());
            }
        }
    }
    // The ES keys really were checked.
    for k in [
        "action.correlationsearch.enabled",
        "action.notable.param.drilldown_search",
        "action.risk.param._risk",
        "alert.suppress.fields",
    ] {
        assert!(keys.contains(k), "{k}");
    }
}

// ---- Panther ---------------------------------------------------------------------------------

/// `pat`, from `$RULEQC_PAT` or PATH (.ci/run installs it).
fn pat() -> String {
    std::env::var("RULEQC_PAT").unwrap_or_else(|_| "pat".into())
}

fn pat_test(dir: &Path) -> Output {
    Command::new(pat())
        .args(["test", "--path", "."])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` ({e}): install it with `pip install panther-analysis-tool==1.11.1` (see .ci/run) or set RULEQC_PAT",
                pat()
            )
        })
}

#[test]
fn pat_test_accepts_the_panther_output() {
    let dir = scratch("panther");
    compile_into(
        &dir,
        &[
            "--target",
            "sql",
            "--dialect",
            "snowflake",
            "--profile",
            "panther",
        ],
    );
    let o = pat_test(&dir);
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("Passed: 49"), "{text}");
    assert!(
        text.contains("Failed: 0") && text.contains("Invalid: 0"),
        "{text}"
    );
    // pat ran each rule's matching test events as query rows, through rule() and
    // alert_context(): every rule has some, and the entities come back.
    assert!(!text.contains("No tests configured"), "{text}");
    assert!(
        text.contains(r#"[alertContext] {"Account": "panther", "Process": "/bin/nc"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"[alertContext] {"Account": "jdoe@example.com", "IP": "192.0.2.99"}"#),
        "{text}"
    );

    // And pat does refuse a broken one (the check can fail).
    let bad = scratch("panther-bad");
    for ext in [".query.yml", ".rule.yml", ".py"] {
        let name = format!("Teleport.SuspiciousCommands{ext}");
        let mut t = std::fs::read_to_string(dir.join(&name)).unwrap();
        if ext == ".rule.yml" {
            t = t.replace("Severity:", "Severty:");
        }
        std::fs::write(bad.join(name), t).unwrap();
    }
    let o = pat_test(&bad);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Invalid: 1"));
}
