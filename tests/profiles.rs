//! Profiles: where each log type lives (table, time column, renames, column types), built-in
//! and from a file, and the lookback filter each dialect spells its own way.

use std::process::{Command, Output};

use sqlparser::dialect::{
    BigQueryDialect, ClickHouseDialect, DatabricksDialect, Dialect, DuckDbDialect,
    PostgreSqlDialect, SQLiteDialect, SnowflakeDialect,
};

fn ruleqc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .output()
        .expect("run")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleqc-profile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SEED: &str = "rules/teleport/suspicious_commands.yml";

#[test]
fn panther_profile_for_snowflake() {
    let o = ruleqc(&[
        "explain",
        SEED,
        "--stage",
        "query",
        "--dialect",
        "snowflake",
        "--profile",
        "panther",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let q = out(&o);
    assert!(q.contains("FROM panther_logs.public.gravitational_teleportaudit\nWHERE p_occurs_since('60 minutes')\n  AND event = 'session.command'"), "{q}");
    // The panther profile is Snowflake's.
    let o = ruleqc(&["explain", SEED, "--stage", "query", "--profile", "panther"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("error[E0402]: profile `panther` is for --dialect snowflake, not duckdb"),
        "{}",
        err(&o)
    );
    // sentinel has no SQL.
    let o = ruleqc(&["explain", SEED, "--stage", "query", "--profile", "sentinel"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("profile `sentinel` has no `sql` section"));
}

#[test]
fn the_default_profile_changes_nothing() {
    let a = ruleqc(&["compile", "rules"]);
    let b = ruleqc(&["compile", "--profile", "default", "rules"]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout, b.stdout);
    assert!(
        !out(&a).contains("INTERVAL"),
        "no time filter without a time column"
    );
}

#[test]
fn a_user_profile_places_renames_types_and_filters_by_lookback() {
    let dir = scratch("user");
    let profile = dir.join("warehouse.yml");
    std::fs::write(
        &profile,
        "sql:\n  table: \"analytics.{table}\"\n  time_column: event_time\n  log_types:\n    Gravitational.TeleportAudit:\n      table: security.teleport\n      columns: {argv: json, code: text}\n  fields:\n    program: proc_name\n",
    )
    .unwrap();
    let rule = dir.join("rule.yml");
    std::fs::write(
        &rule,
        "RuleID: T.Lookback\nLogTypes: [Gravitational.TeleportAudit, Okta.SystemLog]\nSchedule: {RateMinutes: 30, LookbackMinutes: 120}\nSummaryAttributes: [program]\nCondition: |\n  program eq \"nc\"\n",
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    let expected_filters = [
        (
            "duckdb",
            "event_time >= now() - INTERVAL 120 MINUTE",
            Box::new(DuckDbDialect {}) as Box<dyn Dialect>,
        ),
        (
            "sqlite",
            "event_time >= datetime('now', '-120 minutes')",
            Box::new(SQLiteDialect {}),
        ),
        (
            "postgres",
            "event_time >= now() - INTERVAL '120 minutes'",
            Box::new(PostgreSqlDialect {}),
        ),
        (
            "snowflake",
            "event_time >= DATEADD(minute, -120, CURRENT_TIMESTAMP())",
            Box::new(SnowflakeDialect {}),
        ),
        (
            "bigquery",
            "event_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 120 MINUTE)",
            Box::new(BigQueryDialect {}),
        ),
        (
            "databricks",
            "event_time >= current_timestamp() - INTERVAL 120 MINUTES",
            Box::new(DatabricksDialect {}),
        ),
        (
            "clickhouse",
            "event_time >= now() - INTERVAL 120 MINUTE",
            Box::new(ClickHouseDialect {}),
        ),
    ];
    for (dialect, filter, parser) in expected_filters {
        let o = ruleqc(&[
            "compile",
            "--dialect",
            dialect,
            "--profile",
            p,
            rule.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{dialect}: {}", err(&o));
        let q = out(&o);
        assert!(q.contains(filter), "{dialect}: {q}");
        // Listed log type: its own table; the other: the template.
        assert!(q.contains("FROM security.teleport\n"), "{dialect}: {q}");
        assert!(
            q.contains("FROM analytics.okta_systemlog\n"),
            "{dialect}: {q}"
        );
        // The renamed field is a top-level column in the condition and the output.
        assert!(q.contains("proc_name = 'nc'"), "{dialect}: {q}");
        assert!(!q.contains(" program ="), "{dialect}: {q}");
        let sql = q
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        sqlparser::parser::Parser::parse_sql(&*parser, &sql)
            .unwrap_or_else(|e| panic!("{dialect}: {e}\n{sql}"));
    }
}

#[test]
fn profile_mistakes_are_reported_with_positions() {
    let dir = scratch("bad");
    let profile = dir.join("bad.yml");
    std::fs::write(&profile, "sql:\n  tabel: x\n  log_types:\n    A: {table: y, colums: {}}\n  fields:\n    \"a b\": c\n").unwrap();
    let o = ruleqc(&["compile", "--profile", profile.to_str().unwrap(), "rules"]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains("unknown profile key `tabel`; did you mean `table`?"),
        "{e}"
    );
    assert!(e.contains("bad.yml:2:3"), "{e}");
    assert!(
        e.contains("unknown profile key `colums`; did you mean `columns`?"),
        "{e}"
    );
    assert!(e.contains("bad.yml:6:5"), "{e}");
    assert!(out(&o).is_empty(), "nothing compiled with a bad profile");

    // A log type the profile does not place is an error naming it and the profile.
    let strict = dir.join("strict.yml");
    std::fs::write(
        &strict,
        "sql:\n  log_types:\n    AWS.CloudTrail: {table: ct}\n",
    )
    .unwrap();
    let o = ruleqc(&["compile", "--profile", strict.to_str().unwrap(), SEED]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains(&format!(
            "log type `Gravitational.TeleportAudit` has no table in profile {}",
            strict.display()
        )),
        "{}",
        err(&o)
    );
    // A profile that is neither built in nor a file.
    let o = ruleqc(&["compile", "--profile", "nosuch", SEED]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("built-in profiles: default, panther, sentinel"),
        "{}",
        err(&o)
    );
}

#[test]
fn panther_profile_writes_scheduled_queries_and_rules() {
    let dir = scratch("panther-out");
    let o = ruleqc(&[
        "compile",
        "--dialect",
        "snowflake",
        "--profile",
        "panther",
        "--out",
        dir.to_str().unwrap(),
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 49 * 4, "sql, query, rule and python per rule");
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let get = |text: &str, key: &str| -> ruleqc::rule::yaml::Node {
        let root = ruleqc::rule::yaml::parse(text).unwrap().unwrap();
        let ruleqc::rule::yaml::Kind::Map(entries) = root.kind else {
            panic!()
        };
        entries
            .into_iter()
            .find(|(k, _)| k.scalar_text() == Some(key))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {key}"))
    };
    let q = read("Teleport.SuspiciousCommands.query.yml");
    assert_eq!(
        get(&q, "AnalysisType").scalar_text(),
        Some("scheduled_query")
    );
    assert_eq!(
        get(&q, "QueryName").scalar_text(),
        Some("Teleport.SuspiciousCommands Query")
    );
    let sql = read("Teleport.SuspiciousCommands.sql");
    let query_text = get(&q, "Query").scalar_text().unwrap().to_string();
    assert!(
        sql.contains(&query_text),
        "the .sql file and the scheduled query agree"
    );
    assert!(query_text.contains("p_occurs_since('60 minutes')"));
    let sched = get(&q, "Schedule");
    let ruleqc::rule::yaml::Kind::Map(s) = &sched.kind else {
        panic!()
    };
    let keys: Vec<&str> = s.iter().filter_map(|(k, _)| k.scalar_text()).collect();
    assert_eq!(keys, ["RateMinutes", "TimeoutMinutes"]);
    let r = read("Teleport.SuspiciousCommands.rule.yml");
    assert_eq!(
        get(&r, "AnalysisType").scalar_text(),
        Some("scheduled_rule")
    );
    assert_eq!(
        get(&r, "Filename").scalar_text(),
        Some("Teleport.SuspiciousCommands.py")
    );
    let ruleqc::rule::yaml::Kind::Seq(sq) = get(&r, "ScheduledQueries").kind else {
        panic!()
    };
    assert_eq!(
        sq[0].scalar_text(),
        Some("Teleport.SuspiciousCommands Query")
    );
    // Panther's own loader would read the rule file as a rule: ruleqc accepts its keys too.
    assert!(
        read("Teleport.SuspiciousCommands.py").contains("def rule(_event):\n    return True\n")
    );
    // --check sees all four kinds of file as its own.
    let o = ruleqc(&[
        "compile",
        "--dialect",
        "snowflake",
        "--profile",
        "panther",
        "--out",
        dir.to_str().unwrap(),
        "--check",
        "rules",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[test]
fn kql_profiles_place_tables_and_the_time_filter() {
    let o = ruleqc(&[
        "explain",
        SEED,
        "--stage",
        "query",
        "--target",
        "kql",
        "--profile",
        "sentinel",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).starts_with("Gravitational_TeleportAudit_CL\n| where TimeGenerated > ago(60m)\n| where event == \"session.command\""), "{}", out(&o));
    let o = ruleqc(&["explain", SEED, "--stage", "query", "--target", "kql"]);
    assert!(
        !out(&o).contains("TimeGenerated"),
        "the default profile adds no time filter"
    );
    let o = ruleqc(&[
        "explain",
        SEED,
        "--stage",
        "query",
        "--target",
        "kql",
        "--profile",
        "panther",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("profile `panther` has no `kql` section"),
        "{}",
        err(&o)
    );

    let dir = scratch("kql");
    let profile = dir.join("la.yml");
    std::fs::write(
        &profile,
        "kql:\n  time_column: TimeGenerated\n  log_types:\n    Gravitational.TeleportAudit: {table: Teleport}\n  fields:\n    program: ProcessName\n",
    )
    .unwrap();
    let o = ruleqc(&[
        "explain",
        SEED,
        "--stage",
        "query",
        "--target",
        "kql",
        "--profile",
        profile.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let q = out(&o);
    assert!(
        q.starts_with("Teleport\n| where TimeGenerated > ago(60m)\n"),
        "{q}"
    );
    assert!(q.contains("ProcessName in (\"nc\", \"wget\")"), "{q}");
    // Not placed and no template: an error naming the log type and the profile.
    let o = ruleqc(&[
        "compile",
        "--target",
        "kql",
        "--profile",
        profile.to_str().unwrap(),
        "rules/okta",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("log type `Okta.SystemLog` has no table in profile"),
        "{}",
        err(&o)
    );
}

#[test]
fn splunk_profiles_set_index_sourcetype_or_a_base_search() {
    let dir = scratch("splunk");
    let profile = dir.join("splunk.yml");
    std::fs::write(
        &profile,
        "splunk:\n  index: security\n  fields:\n    program: process_name\n  log_types:\n    Gravitational.TeleportAudit: {index: teleport, sourcetype: \"teleport:audit\"}\n    Okta.SystemLog: {search: 'index=okta sourcetype=\"OktaIM2:log\"'}\n",
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    let o = ruleqc(&[
        "explain",
        SEED,
        "--stage",
        "query",
        "--target",
        "splunk",
        "--profile",
        p,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).starts_with(
            "index=\"teleport\" sourcetype=\"teleport:audit\" event=\"session.command\""
        ),
        "{}",
        out(&o)
    );
    assert!(
        out(&o).contains("process_name == \"nc\""),
        "renamed: {}",
        out(&o)
    );
    let o = ruleqc(&[
        "explain",
        "rules/okta/brute_force_login.yml",
        "--stage",
        "query",
        "--target",
        "splunk",
        "--profile",
        p,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).starts_with("index=okta sourcetype=\"OktaIM2:log\" "),
        "{}",
        out(&o)
    );
    // No entry and no sourcetype template: an error naming the log type and the profile.
    let o = ruleqc(&[
        "compile",
        "--target",
        "splunk",
        "--profile",
        p,
        "rules/zoom",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("log type `Zoom.Operation` has no sourcetype in profile"),
        "{}",
        err(&o)
    );
    // The default profile: sourcetype = the log type.
    let o = ruleqc(&["explain", SEED, "--stage", "query", "--target", "splunk"]);
    assert!(
        out(&o).starts_with("sourcetype=\"Gravitational.TeleportAudit\" "),
        "{}",
        out(&o)
    );
    // A wildcard in a sourcetype would widen the search: refused.
    std::fs::write(&profile, "splunk:\n  sourcetype: \"{log_type}*\"\n").unwrap();
    let o = ruleqc(&[
        "explain",
        SEED,
        "--stage",
        "query",
        "--target",
        "splunk",
        "--profile",
        p,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("cannot be written as a Splunk sourcetype term"),
        "{}",
        err(&o)
    );
}
