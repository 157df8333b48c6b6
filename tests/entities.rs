//! `Entities` (SPEC §2): loaded with positions for every mistake, added to the output fields,
//! and carried into each platform's artifact (Sentinel entity mappings, Splunk ES risk objects,
//! Panther alert context).

use std::process::Command;

use ruleqc::package::{panther, savedsearches, sentinel};
use ruleqc::rule::{EntityKind, Rule, load_str};

fn load(text: &str) -> Result<Rule, Vec<ruleqc::diag::Diagnostic>> {
    load_str("t.yml", text.to_string()).result.map(|r| *r)
}

const HEAD: &str = "RuleID: T.Entities\nLogTypes: [X.Y]\nCondition: a is_not_null\n";

#[test]
fn entities_load_in_file_order_and_join_the_output_fields() {
    let r = load(&format!(
        "{HEAD}OutputFields: [a, user.name]\nEntities:\n  Account: user.name\n  IP: src.ip\n  FileHash: file.hashes.sha256\n"
    ))
    .unwrap();
    let kinds: Vec<EntityKind> = r.entities.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EntityKind::Account, EntityKind::Ip, EntityKind::FileHash]
    );
    let outputs: Vec<&str> = r.output_fields.iter().map(|f| f.text.as_str()).collect();
    // `user.name` is already listed; the others are added after the rule's own.
    assert_eq!(outputs, ["a", "user.name", "src.ip", "file.hashes.sha256"]);

    // A rule that returns every field keeps doing so.
    let r = load(&format!("{HEAD}Entities: {{Host: host}}\n")).unwrap();
    assert!(r.output_fields.is_empty());
    assert_eq!(r.entities[0].field.text, "host");
}

#[test]
fn unknown_kinds_and_non_field_paths_are_errors_at_their_positions() {
    let text =
        format!("{HEAD}Entities:\n  Acount: user\n  Host: \"a[*].b\"\n  IP: 5\n  Bogus: x\n");
    let errs = load(&text).unwrap_err();
    let messages: Vec<&str> = errs.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(errs.len(), 4, "{messages:?}");
    assert_eq!(
        messages[0],
        "unknown entity kind `Acount`; did you mean `Account`?"
    );
    let at = |d: &ruleqc::diag::Diagnostic| &text[d.span.clone().unwrap()];
    assert_eq!(at(&errs[0]), "Acount");
    assert_eq!(errs[1].message, "an output field must be a plain path");
    assert_eq!(at(&errs[1]), "a[*].b");
    assert_eq!(errs[2].message, "`IP` must be a string");
    assert!(errs[3].message.starts_with("unknown entity kind `Bogus`"));
    assert!(
        errs[3]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("CloudApplication")),
        "{:?}",
        errs[3].help
    );
    let errs = load(&format!("{HEAD}Entities: [user]\n")).unwrap_err();
    assert_eq!(
        errs[0].message,
        "`Entities` must be a mapping of entity kind to field path"
    );
    // Through the command line: file, line and column.
    let dir = std::env::temp_dir().join(format!("ruleqc-entities-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yml");
    std::fs::write(&file, &text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(["--error-format", "short", "check", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.yml:5:3:"), "{e}");
    assert!(e.contains("bad.yml:6:10:"), "{e}");
}

#[test]
fn every_kind_reaches_every_platform() {
    let r = load(&format!(
        "{HEAD}Severity: High\nOutputFields: [a]\nEntities:\n  Account: user.name\n  Host: host\n  IP: src\n  Process: proc.cmd\n  File: file.name\n  URL: url\n  DNS: query.name\n  FileHash: file.md5\n  CloudApplication: app\n"
    ))
    .unwrap();
    // Sentinel: each kind with the identifier it needs; columns a Log Analytics name.
    let (built, findings) = sentinel::build(
        &r,
        "X_Y_CL\n| project a",
        &ruleqc::profile::Profile::built_in("sentinel").unwrap(),
    );
    assert!(built.is_some(), "{findings:?}");
    // Nine mappings: the API takes them; Azure-Sentinel's repository check takes five.
    assert!(
        findings.iter().any(|f| !f.error
            && f.message
                == "Azure-Sentinel's template validation takes at most 5 entity mappings; the rule has 9"),
        "{findings:?}"
    );
    let text = sentinel::yaml(&r, "X_Y_CL\n| project a").unwrap_or_else(|e| panic!("{e}"));
    // A top-level field is its own column; a nested one gets a column named for the entity.
    for (kind, id, column) in [
        ("Account", "FullName", "AccountFullName"),
        ("Host", "HostName", "host"),
        ("IP", "Address", "src"),
        ("Process", "CommandLine", "ProcessCommandLine"),
        ("File", "Name", "FileName"),
        ("URL", "Url", "url"),
        ("DNS", "DomainName", "DNSDomainName"),
        ("CloudApplication", "Name", "app"),
    ] {
        assert!(
            text.contains(&format!(
                "  - entityType: \"{kind}\"\n    fieldMappings:\n      - columnName: \"{column}\"\n        identifier: \"{id}\"\n"
            )),
            "{kind}: {text}"
        );
    }
    // A FileHash names its algorithm too, from the field's name.
    assert!(
        text.contains("FileHashValue = tostring(['file.md5']), FileHashValueAlgorithm = \"MD5\""),
        "{text}"
    );

    // Splunk ES: accounts and systems are scored risk objects, the rest threat objects.
    let es = ruleqc::profile::SplunkProfile {
        enterprise_security: true,
        ..Default::default()
    };
    let stanza = savedsearches::stanza_with(&r, "index=x", &es).unwrap();
    let kv = &savedsearches::parse(&stanza).unwrap()[0].1;
    let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let risk: serde_json::Value =
        serde_json::from_str(&get("action.risk.param._risk").unwrap()).unwrap();
    let risk = risk.as_array().unwrap();
    assert_eq!(risk.len(), 9);
    assert_eq!(
        risk[0],
        serde_json::json!({"risk_object_field": "user.name", "risk_object_type": "user", "risk_score": 75})
    );
    assert_eq!(risk[1]["risk_object_type"], "system");
    assert_eq!(risk[2]["risk_object_type"], "system");
    assert_eq!(
        risk[3],
        serde_json::json!({"threat_object_field": "proc.cmd", "threat_object_type": "process"})
    );
    assert_eq!(risk[7]["threat_object_type"], "file_hash");
    assert_eq!(risk[8]["risk_object_type"], "other");
    assert_eq!(get("action.risk").as_deref(), Some("1"));
    // Plain alerts carry no ES actions.
    let plain = savedsearches::stanza(&r, "index=x").unwrap();
    assert!(!plain.contains("action.risk"), "{plain}");
    assert!(!plain.contains("action.notable"), "{plain}");

    // Panther: the alert context names each entity.
    let py = panther::artifacts(&r, "SELECT 1")
        .into_iter()
        .find(|a| a.name.ends_with(".py"))
        .unwrap()
        .contents;
    assert!(py.contains("def alert_context(event):"), "{py}");
    assert!(
        py.contains("\"Account\": _field(event, \"user.name\"),"),
        "{py}"
    );
    assert!(
        py.contains("\"FileHash\": _field(event, \"file.md5\"),"),
        "{py}"
    );
}
