//! One schema per log type (issue 11): what `test` runs is what `compile` prints, and the
//! compiled queries hold on tables typed by what the rule set's events really are.

mod support;

use std::collections::BTreeMap;

use ruleqc::backend::schema::TableSchema;
use ruleqc::backend::sql::SqlDialect;
use ruleqc::compile::{Target, compile};
use ruleqc::engine::{Engine, EventTable};
use ruleqc::profile::{BUILT_IN, Profile};
use ruleqc::rule::{Rule, load_paths};
use serde_json::Value;
use support::cli::{ruleqc, scratch, stderr, stdout};

/// A user profile with renames and declared column types, for the identity test.
const USER_PROFILE: &str = "\
sql:
  table: \"{table}\"
  log_types:
    AWS.CloudTrail:
      columns: {eventName: text, eventSource: text, requestParameters: json, userIdentity: json}
  fields:
    userIdentity.arn: user_arn
    sourceIPAddress: source_ip
";

/// The queries `compile --format json` prints, by rule id.
fn compiled(dialect: &str, profile: &str) -> Result<BTreeMap<String, String>, String> {
    let o = ruleqc(&[
        "compile",
        "--target",
        "sql",
        "--dialect",
        dialect,
        "--profile",
        profile,
        "--format",
        "json",
        "rules",
    ]);
    if !o.status.success() {
        return Err(stderr(&o));
    }
    let items: Vec<Value> = serde_json::from_str(&stdout(&o)).expect("json");
    Ok(items
        .iter()
        .map(|i| {
            (
                i["rule_id"].as_str().unwrap().to_string(),
                i["query"].as_str().unwrap().to_string(),
            )
        })
        .collect())
}

/// The queries `test --output-format json` ran, by rule id.
fn tested(engine: &str, profile: &str) -> Result<BTreeMap<String, String>, String> {
    let o = ruleqc(&[
        "test",
        "--engine",
        engine,
        "--profile",
        profile,
        "--output-format",
        "json",
        "rules",
    ]);
    if !o.status.success() {
        return Err(stderr(&o));
    }
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(doc["summary"]["compiler_bugs"], 0, "{profile} on {engine}");
    Ok(doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule_id"].as_str().unwrap().to_string(),
                r["query"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect())
}

#[test]
fn test_runs_byte_for_byte_what_compile_prints() {
    let dir = scratch("schema", "identity");
    let user = dir.join("profile.yml");
    std::fs::write(&user, USER_PROFILE).unwrap();
    let mut profiles: Vec<String> = BUILT_IN.iter().map(|p| p.to_string()).collect();
    profiles.push(user.display().to_string());
    let mut compared = 0;
    for profile in &profiles {
        for engine in ["sqlite", "duckdb"] {
            match (compiled(engine, profile), tested(engine, profile)) {
                (Ok(c), Ok(t)) => {
                    assert_eq!(c.len(), t.len(), "{profile} on {engine}");
                    for (id, q) in &c {
                        assert_eq!(Some(q), t.get(id), "{id} with {profile} on {engine}");
                        compared += 1;
                    }
                }
                // A profile that cannot place rules for the dialect fails both ways, for the
                // same reason.
                (Err(c), Err(t)) => {
                    let first = c.lines().next().unwrap_or("").trim_start_matches("error: ");
                    assert!(!first.is_empty() && t.contains(first), "{c}\n---\n{t}");
                }
                (c, t) => panic!("{profile} on {engine}: compile {c:?}\ntest {t:?}"),
            }
        }
    }
    // default and the user profile, on two engines, over every rule.
    assert!(compared >= 4 * 45, "{compared}");
    // The user profile's renames reach the query that ran.
    let t = tested("sqlite", &user.display().to_string()).unwrap();
    assert!(t.values().any(|q| q.contains("user_arn")));
    std::fs::remove_dir_all(dir).ok();
}

/// The queries `run --engine ENGINE --profile PROFILE` executed, by rule id (what it records
/// under `RULEQC_RUN_QUERIES`).
fn ran(
    engine: &str,
    profile: &str,
    dir: &std::path::Path,
) -> Result<BTreeMap<String, String>, String> {
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": \"x\"}\n",
    )
    .unwrap();
    let log = dir.join(format!("ran-{engine}.jsonl"));
    std::fs::remove_file(&log).ok();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(["run", "--engine", engine, "--profile", profile, "--events"])
        .arg(&events)
        .arg("rules")
        .env("RULEQC_RUN_QUERIES", &log)
        .output()
        .unwrap();
    if !o.status.success() {
        return Err(stderr(&o));
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["rule_id"].as_str().unwrap().to_string();
        let q = v["query"].as_str().unwrap().to_string();
        assert!(out.insert(id.clone(), q).is_none(), "{id} ran twice");
    }
    Ok(out)
}

#[test]
fn run_executes_byte_for_byte_what_compile_prints() {
    let dir = scratch("schema", "run-identity");
    let user = dir.join("profile.yml");
    std::fs::write(&user, USER_PROFILE).unwrap();
    let mut profiles: Vec<String> = BUILT_IN.iter().map(|p| p.to_string()).collect();
    profiles.push(user.display().to_string());
    let mut compared = 0;
    for profile in &profiles {
        for engine in ["sqlite", "duckdb"] {
            match (compiled(engine, profile), ran(engine, profile, &dir)) {
                (Ok(c), Ok(r)) => {
                    assert_eq!(c.len(), r.len(), "{profile} on {engine}");
                    for (id, q) in &c {
                        assert_eq!(Some(q), r.get(id), "{id} with {profile} on {engine}");
                        compared += 1;
                    }
                }
                // A profile that cannot place rules for the dialect fails both ways, for the
                // same reason.
                (Err(c), Err(r)) => {
                    let first = c.lines().next().unwrap_or("").trim_start_matches("error: ");
                    assert!(!first.is_empty() && r.contains(first), "{c}\n---\n{r}");
                }
                (c, r) => panic!("{profile} on {engine}: compile {c:?}\nrun {r:?}"),
            }
        }
    }
    // default and the user profile, on two engines, over every rule.
    assert!(compared >= 4 * 45, "{compared}");
    for engine in ["sqlite", "duckdb"] {
        let r = ran(engine, &user.display().to_string(), &dir).unwrap();
        assert!(r.values().any(|q| q.contains("user_arn")), "{engine}");
    }
    std::fs::remove_dir_all(dir).ok();
}

fn rules() -> Vec<Rule> {
    load_paths(&["rules".into()])
        .unwrap()
        .iter()
        .map(|l| l.rule().expect("rules/ loads").clone())
        .collect()
}

/// Every rule's query, compiled with no profile (the default one, resolved over the rule set),
/// on a table typed by what all of the rule set's events of its log type are: no errors and
/// every verdict as expected.
fn true_types(engine: &mut dyn Engine, dialect: SqlDialect) {
    let rules = rules();
    let refs: Vec<&Rule> = rules.iter().collect();
    let mut profile = Profile::built_in("default").unwrap();
    assert!(profile.resolve_schemas(&refs).is_empty());
    let mut by_log_type: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for r in &rules {
        for lt in &r.log_types {
            by_log_type
                .entry(lt)
                .or_default()
                .extend(r.tests.iter().map(|t| &t.log));
        }
    }
    let mut verdicts = 0;
    for r in &rules {
        let q = compile(r, Target::sql(dialect), &profile).unwrap_or_else(|d| panic!("{d:?}"));
        let truth = TableSchema::from_events(by_log_type[r.log_types[0].as_str()].iter().copied());
        let events: Vec<Value> = r.tests.iter().map(|t| t.log.clone()).collect();
        let name = ruleqc::backend::sql::default_table_name(&r.log_types[0]);
        let table = EventTable {
            name: &name,
            schema: &truth,
            events: &events,
        };
        let rows = engine
            .rows_returning(&table, &q)
            .unwrap_or_else(|e| panic!("{}: {e}\n{q}", r.rule_id));
        for (i, t) in r.tests.iter().enumerate() {
            assert_eq!(
                rows.contains(&i),
                t.expected,
                "{} :: {} on {}\n{q}",
                r.rule_id,
                t.name,
                engine.name()
            );
            verdicts += 1;
        }
    }
    assert!(verdicts >= 180, "{verdicts}");
}

#[test]
fn compiled_queries_hold_on_the_true_types_sqlite() {
    true_types(
        &mut ruleqc::engine::sqlite::Sqlite::new().unwrap(),
        SqlDialect::Sqlite,
    );
}

#[test]
fn compiled_queries_hold_on_the_true_types_duckdb() {
    true_types(
        &mut ruleqc::engine::duckdb::DuckDb::new(None).unwrap_or_else(|e| panic!("{e}")),
        SqlDialect::Duckdb,
    );
}

#[test]
fn compiled_queries_hold_on_the_true_types_postgres() {
    true_types(
        &mut support::postgres::Postgres::new().unwrap_or_else(|e| panic!("{e}")),
        SqlDialect::Postgres,
    );
}

/// A rule reading a field its log type's events never show: a warning that leaves the exit
/// status alone, unless `--deny warnings`.
#[test]
fn unknown_fields_warn_and_deny_warnings_fails() {
    let dir = scratch("schema", "deny");
    let rule = dir.join("typo.yml");
    std::fs::write(
        &rule,
        "RuleID: Test.Typo\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nCondition: |\n  eventname eq \"ConsoleLogin\"\nTests:\n  - Name: miss\n    ExpectedResult: false\n    Log: {eventName: ConsoleLogin}\n",
    )
    .unwrap();
    let r = rule.display().to_string();
    for cmd in ["check", "test", "compile"] {
        let o = ruleqc(&[cmd, &r]);
        assert_eq!(o.status.code(), Some(0), "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(
                "warning[W0601]: unknown field `eventname` for AWS.CloudTrail; did you mean `eventName`?"
            ),
            "{cmd}: {}",
            stderr(&o)
        );
        let o = ruleqc(&[cmd, "--deny", "warnings", &r]);
        assert_eq!(o.status.code(), Some(1), "{cmd} --deny warnings");
        assert!(
            stderr(&o).contains("1 warning and --deny warnings"),
            "{}",
            stderr(&o)
        );
    }
    // Another rule's event of the same log type that has the field makes it known.
    let other = dir.join("other.yml");
    std::fs::write(
        &other,
        "RuleID: Test.Other\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\nCondition: |\n  eventName eq \"x\"\nTests:\n  - Name: has it\n    ExpectedResult: false\n    Log: {eventName: y, eventname: z}\n",
    )
    .unwrap();
    let o = ruleqc(&[
        "check",
        "--deny",
        "warnings",
        &r,
        &other.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).ok();
}

/// `s` and `S` are two fields (SPEC §3.2): the embedded engines keep them apart, and the
/// query they run is the one `compile` prints.
#[test]
fn case_colliding_keys_stay_apart_on_the_embedded_engines() {
    let dir = scratch("schema", "case");
    let rule = dir.join("case.yml");
    std::fs::write(
        &rule,
        "RuleID: Test.Case\nLogTypes: [Custom.Case]\nSeverity: Low\nCondition: |\n  s eq \"lower\"\n  S eq \"upper\"\nTests:\n  - Name: right\n    ExpectedResult: true\n    Log: {s: lower, S: upper}\n  - Name: swapped\n    ExpectedResult: false\n    Log: {s: upper, S: lower}\n  - Name: only lower\n    ExpectedResult: false\n    Log: {s: lower}\n",
    )
    .unwrap();
    let r = rule.display().to_string();
    for engine in ["sqlite", "duckdb"] {
        let o = ruleqc(&["test", "--engine", engine, "--output-format", "json", &r]);
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", stdout(&o));
        let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(doc["summary"]["passed"], 3, "{engine}");
        let ran = doc["rules"][0]["query"].as_str().unwrap().to_string();
        let o = ruleqc(&["compile", "--dialect", engine, "--format", "json", &r]);
        let items: Vec<Value> = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(items[0]["query"].as_str(), Some(ran.as_str()), "{engine}");
        assert!(ran.contains("~2"), "{ran}");
        // `run` loads `S` under its alias too: only the first event matches.
        let events = dir.join("events.jsonl");
        std::fs::write(
            &events,
            "{\"s\": \"upper\", \"S\": \"lower\"}\n{\"S\": \"upper\", \"s\": \"lower\", \"n\": 2}\n{\"s\": \"lower\"}\n",
        )
        .unwrap();
        let ev = events.display().to_string();
        let o = ruleqc(&[
            "run",
            "--engine",
            engine,
            "--log-type",
            "Custom.Case",
            "--format",
            "jsonl",
            "--events",
            &ev,
            &r,
        ]);
        assert_eq!(o.status.code(), Some(0), "{engine}: {}", stderr(&o));
        assert_eq!(
            stdout(&o),
            "{\"event\":{\"S\":\"upper\",\"n\":2,\"s\":\"lower\"},\"rule_id\":\"Test.Case\"}\n",
            "{engine}"
        );
    }
    let o = ruleqc(&["compile", "--dialect", "bigquery", &r]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`S` and `s` are different fields of Custom.Case"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(dir).ok();
}

/// `ruleqc schema` infers a profile from sample logs (gzip, JSON arrays); `compile` and
/// `test` take it; `--merge` keeps what a profile declares.
#[test]
fn schema_infers_a_profile_that_compile_and_test_take() {
    use std::io::Write;
    let dir = scratch("schema", "infer");
    let jsonl = dir.join("ct.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&jsonl).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(
        b"{\"p_log_type\":\"Gravitational.TeleportAudit\",\"event\":\"user.login\",\"success\":false,\"ei\":1}\nnot json\n{\"p_log_type\":\"Gravitational.TeleportAudit\",\"event\":\"exec\",\"success\":\"false\",\"argv\":[\"-l\"]}\n",
    )
    .unwrap();
    gz.finish().unwrap();
    let array = dir.join("okta.json");
    std::fs::write(&array, r#"[{"eventType": "user.session.start", "n": 1.5}]"#).unwrap();
    let o = ruleqc(&[
        "schema",
        "--events",
        &format!("{},{}", jsonl.display(), array.display()),
        "--log-type-field",
        "p_log_type",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("malformed"), "{}", stderr(&o));
    let text = stdout(&o);
    // The array file has no p_log_type: its event is skipped and said so.
    assert!(stderr(&o).contains("1 event(s) without"), "{}", stderr(&o));
    for line in [
        "    Gravitational.TeleportAudit:",
        "        event: text",
        "        ei: integer",
        "        success: json",
        "        argv: json",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let inferred = dir.join("inferred.yml");
    std::fs::write(&inferred, &text).unwrap();
    let p = inferred.display().to_string();
    let o = ruleqc(&["test", "--profile", &p, "rules/teleport"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = ruleqc(&["compile", "--profile", &p, "rules/teleport"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // --merge: a declared column is kept (and its conflict noted), the others are added.
    let declared = dir.join("declared.yml");
    std::fs::write(
        &declared,
        "sql:\n  table: \"t_{table}\"\n  log_types:\n    Gravitational.TeleportAudit:\n      columns: {success: boolean}\n",
    )
    .unwrap();
    let o = ruleqc(&[
        "schema",
        "--events",
        &jsonl.display().to_string(),
        "--merge",
        &declared.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let merged = stdout(&o);
    assert!(merged.contains("  table: \"t_{table}\""), "{merged}");
    assert!(merged.contains("        success: boolean"), "{merged}");
    assert!(merged.contains("        event: text"), "{merged}");
    assert!(
        stderr(&o).contains("kept `success: boolean`"),
        "{}",
        stderr(&o)
    );

    // With --log-type every event is of that type.
    let o = ruleqc(&[
        "schema",
        "--events",
        &array.display().to_string(),
        "--log-type",
        "Okta.SystemLog",
    ]);
    assert!(stdout(&o).contains("        \"n\": real"), "{}", stdout(&o));
    std::fs::remove_dir_all(dir).ok();
}

/// `explain --stage plan` lowers on the schema `compile` uses (the profile's renames, then the
/// resolved schema: declared types, then what the events show), not on the rule's own guess;
/// `--stage query` prints what `compile` prints.
#[test]
fn explain_plan_and_query_use_the_resolved_schema() {
    let dir = scratch("schema", "explain");
    let rule = dir.join("argv.yml");
    // Guessed from the rule alone, `argv` is text and `pid` real; the event holds an array and
    // an integer.
    std::fs::write(
        &rule,
        "RuleID: Test.Argv\nLogTypes: [Custom.Proc]\nSeverity: Low\nCondition: |\n  argv eq \"-l\"\n  pid gt 5\nTests:\n  - Name: array\n    ExpectedResult: false\n    Log: {argv: [\"-l\"], pid: 7}\n",
    )
    .unwrap();
    let profile = dir.join("profile.yml");
    std::fs::write(
        &profile,
        "sql:\n  table: \"{table}\"\n  log_types:\n    Custom.Proc:\n      columns: {pid: real}\n  fields:\n    argv: args\n",
    )
    .unwrap();
    let (r, p) = (rule.display().to_string(), profile.display().to_string());
    let o = ruleqc(&["explain", &r, "--stage", "plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "and\n  argv:Json eq [\"-l\"]\n  pid:Integer gt [5]\n"
    );
    let o = ruleqc(&["explain", &r, "--stage", "plan", "--profile", &p]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "and\n  args:Json eq [\"-l\"]\n  pid:Real gt [5]\n"
    );
    for extra in [&[][..], &["--profile", p.as_str()][..]] {
        let mut args = vec![
            "explain",
            r.as_str(),
            "--stage",
            "query",
            "--dialect",
            "postgres",
        ];
        args.extend(extra);
        let explained = stdout(&ruleqc(&args));
        let mut args = vec!["compile", "--dialect", "postgres", r.as_str()];
        args.extend(extra);
        let compiled = stdout(&ruleqc(&args));
        assert!(
            compiled.contains(&format!("\n{};\n", explained.trim_end())),
            "{explained}\n---\n{compiled}"
        );
        assert!(explained.contains("jsonb"), "{explained}");
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A profile's `timestamp` column: loaded as the instant its RFC 3339 text stands for (any
/// offset, a space for the `T`, no offset meaning UTC), null-tested exactly, and compared by the
/// lookback filter of the profile's `time_column` as an instant, on SQLite, DuckDB and
/// PostgreSQL alike.
fn timestamps_hold(engine: &mut dyn Engine, dialect: SqlDialect) {
    use ruleqc::backend::schema::timestamp::Instant;
    let text = "RuleID: Test.Time\nLogTypes: [Custom.Auth]\nSeverity: Low\nCondition: |\n  action eq \"login\"\n  ts is_not_null\n";
    let rule = ruleqc::rule::load_str("time.yml", text.to_string())
        .rule()
        .expect("loads")
        .clone();
    let mut profile = ruleqc::profile::parse(
        "profile.yml",
        "sql:\n  table: \"{table}\"\n  log_types:\n    Custom.Auth:\n      time_column: ts\n      columns: {ts: timestamp}\n",
    )
    .expect("parses");
    assert!(profile.resolve_schemas(&[&rule]).is_empty());
    let q = compile(&rule, Target::sql(dialect), &profile).unwrap_or_else(|d| panic!("{d:?}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = |secs_ago: i64| Instant::from_unix_seconds(now - secs_ago);
    // Five minutes ago in three spellings, and in UTC+01:30; ten minutes ago with microseconds
    // (lower case `t`/`z`); two hours ago (outside the 60-minute lookback, in UTC-05:00 the
    // wall clock says three hours ago); null; missing.
    let plus = at(300 - 5400).sqlite_text();
    let minus = at(7200 + 5 * 3600).rfc3339().replace('Z', "-05:00");
    let events: Vec<Value> = [
        serde_json::json!({"action": "login", "ts": at(300).rfc3339()}),
        serde_json::json!({"action": "login", "ts": at(300).sqlite_text()}),
        serde_json::json!({"action": "login", "ts": format!("{plus}+01:30")}),
        serde_json::json!({"action": "login", "ts": at(600).rfc3339().replace('T', "t").replace('Z', ".250001z")}),
        serde_json::json!({"action": "login", "ts": minus}),
        serde_json::json!({"action": "logout", "ts": at(300).rfc3339()}),
        serde_json::json!({"action": "login", "ts": null}),
        serde_json::json!({"action": "login"}),
    ]
    .into();
    let schema = TableSchema {
        columns: BTreeMap::from([
            (
                "action".to_string(),
                ruleqc::backend::schema::ColumnType::Text,
            ),
            (
                "ts".to_string(),
                ruleqc::backend::schema::ColumnType::Timestamp,
            ),
        ]),
        complete: true,
    };
    let table = EventTable {
        name: "custom_auth",
        schema: &schema,
        events: &events,
    };
    let rows = engine
        .rows_returning(&table, &q)
        .unwrap_or_else(|e| panic!("{}: {e}\n{q}", engine.name()));
    assert_eq!(rows, [0, 1, 2, 3], "{}\n{q}", engine.name());
}

#[test]
fn timestamp_columns_sqlite() {
    timestamps_hold(
        &mut ruleqc::engine::sqlite::Sqlite::new().unwrap(),
        SqlDialect::Sqlite,
    );
}

#[test]
fn timestamp_columns_duckdb() {
    timestamps_hold(
        &mut ruleqc::engine::duckdb::DuckDb::new(None).unwrap_or_else(|e| panic!("{e}")),
        SqlDialect::Duckdb,
    );
}

#[test]
fn timestamp_columns_postgres() {
    timestamps_hold(
        &mut support::postgres::Postgres::new().unwrap_or_else(|e| panic!("{e}")),
        SqlDialect::Postgres,
    );
}

/// `test --engine duckdb` with a profile time column: the test table gets a timestamp column
/// (an event without it has just arrived), so the deployed query, lookback included, runs; a
/// time column the profile types as text cannot be compared with DuckDB's clock, and says so.
#[test]
fn test_on_duckdb_takes_a_timestamp_time_column() {
    let dir = scratch("schema", "duck-time");
    let rule = dir.join("rule.yml");
    std::fs::write(
        &rule,
        "RuleID: Test.Time\nLogTypes: [Custom.Auth]\nSeverity: Low\nCondition: |\n  action eq \"login\"\nTests:\n  - Name: a login\n    ExpectedResult: true\n    Log: {action: login}\n  - Name: a logout\n    ExpectedResult: false\n    Log: {action: logout}\n",
    )
    .unwrap();
    let r = rule.display().to_string();
    for (columns, ok) in [
        ("{ts: timestamp}", true),
        ("{}", true),
        ("{ts: text}", false),
    ] {
        let profile = dir.join("profile.yml");
        std::fs::write(
            &profile,
            format!("sql:\n  table: \"{{table}}\"\n  log_types:\n    Custom.Auth:\n      time_column: ts\n      columns: {columns}\n"),
        )
        .unwrap();
        let p = profile.display().to_string();
        let o = ruleqc(&[
            "test",
            "--engine",
            "duckdb",
            "--profile",
            &p,
            "--output-format",
            "json",
            &r,
        ]);
        let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
        if ok {
            assert_eq!(o.status.code(), Some(0), "{columns}: {}", stdout(&o));
            assert_eq!(doc["summary"]["passed"], 2, "{columns}");
            let q = doc["rules"][0]["query"].as_str().unwrap();
            assert!(q.contains("ts >= now() - INTERVAL 60 MINUTE"), "{q}");
        } else {
            assert_ne!(o.status.code(), Some(0), "{columns}");
            assert!(
                stdout(&o).contains("declare `ts: timestamp`"),
                "{columns}: {}",
                stdout(&o)
            );
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
