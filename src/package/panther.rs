//! Panther: with `--profile panther`, each rule's Snowflake query also becomes a
//! `scheduled_query` (the query and its schedule) and a `scheduled_rule` that alerts on the
//! query's rows, with the Python body Panther's classic rule format requires (the query
//! already does the filtering, so it returns True for every row).

use serde_json::{Value, json};

use super::{Artifact, MARKER};
use crate::ir::Step;
use crate::rule::{Cadence, Rule};

/// How long Panther lets the query run, in minutes.
const TIMEOUT_MINUTES: u32 = 10;

fn query_name(rule: &Rule) -> String {
    format!("{} Query", rule.rule_id)
}

/// `key: value` lines, values as JSON scalars (which YAML reads as the same values).
fn yaml(header: &str, fields: &[(&str, Value)]) -> String {
    let mut out = format!("# {MARKER} {header}; do not edit by hand\n");
    for (k, v) in fields {
        match v {
            Value::Null => {}
            Value::String(s) if s.contains('\n') => {
                out.push_str(&format!("{k}: |-\n"));
                for line in s.lines() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
            Value::Array(items) if items.is_empty() => {}
            Value::Array(items) if items.iter().all(Value::is_object) => {
                // A list of mappings (Tests): each key on its own line, values as JSON.
                out.push_str(&format!("{k}:\n"));
                for i in items {
                    for (n, (mk, mv)) in i.as_object().expect("an object").iter().enumerate() {
                        let lead = if n == 0 { "  - " } else { "    " };
                        out.push_str(&format!("{lead}{mk}: {mv}\n"));
                    }
                }
            }
            Value::Array(items) => {
                out.push_str(&format!("{k}:\n"));
                for i in items {
                    out.push_str(&format!("  - {i}\n"));
                }
            }
            Value::Object(map) if map.is_empty() => {}
            Value::Object(map) => {
                out.push_str(&format!("{k}:\n"));
                for (mk, mv) in map {
                    match mv {
                        Value::Array(items) => {
                            out.push_str(&format!("  {}:\n", json!(mk)));
                            for i in items {
                                out.push_str(&format!("    - {i}\n"));
                            }
                        }
                        other => out.push_str(&format!("  {}: {other}\n", json!(mk))),
                    }
                }
            }
            other => out.push_str(&format!("{k}: {other}\n")),
        }
    }
    out
}

/// The row key of a field: the query names an output field as the rule wrote it; without
/// output fields the row is the event, and a nested field is walked to.
fn row_path(rule: &Rule, field: &crate::rule::OutputField) -> Vec<Value> {
    if !rule.output_fields.is_empty() {
        return vec![json!(field.text)];
    }
    field
        .path
        .0
        .iter()
        .map(|s| match s {
            Step::Key(k) => json!(k),
            Step::Index(n) => json!(n),
        })
        .collect()
}

/// The value at `path` in an event, `null` where it is missing.
fn value_at(event: &Value, path: &crate::ir::FieldPath) -> Value {
    let mut v = event;
    for step in &path.0 {
        let next = match step {
            Step::Key(k) => v.get(k.as_str()),
            Step::Index(n) => usize::try_from(*n).ok().and_then(|i| v.get(i)),
        };
        match next {
            Some(x) => v = x,
            None => return Value::Null,
        }
    }
    v.clone()
}

/// The rule's matching test events as the rows its scheduled query returns (the output fields
/// under the names the query gives them, or the whole event), each expected to alert: Panther
/// runs `rule()` and `alert_context()` on them.
fn tests(rule: &Rule) -> Value {
    let rows: Vec<Value> = rule
        .tests
        .iter()
        .filter(|t| t.expected)
        .map(|t| {
            let row = if rule.output_fields.is_empty() {
                t.log.clone()
            } else {
                Value::Object(
                    rule.output_fields
                        .iter()
                        .map(|f| (f.text.clone(), value_at(&t.log, &f.path)))
                        .collect(),
                )
            };
            let mut m = serde_json::Map::new();
            m.insert("Name".into(), json!(t.name));
            m.insert("ExpectedResult".into(), json!(true));
            m.insert("Log".into(), row);
            Value::Object(m)
        })
        .collect();
    Value::Array(rows)
}

/// `alert_context`: the rule's `Entities`, by kind, as strings (what the alert is about).
fn alert_context(rule: &Rule) -> String {
    if rule.entities.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n\ndef _field(event, *path):\n    value = event\n    for step in path:\n        try:\n            value = value[step]\n        except (KeyError, IndexError, TypeError):\n            return None\n    return None if value is None else str(value)\n\n\ndef alert_context(event):\n    return {\n",
    );
    for e in &rule.entities {
        let args: Vec<String> = row_path(rule, &e.field)
            .iter()
            .map(|v| v.to_string())
            .collect();
        out.push_str(&format!(
            "        {}: _field(event, {}),\n",
            json!(e.kind.name()),
            args.join(", ")
        ));
    }
    out.push_str("    }\n");
    out
}

/// `<RuleID>.query.yml`, `<RuleID>.rule.yml` and `<RuleID>.py`.
pub fn artifacts(rule: &Rule, query: &str) -> Vec<Artifact> {
    let mut schedule = serde_json::Map::new();
    match &rule.schedule.cadence {
        Cadence::RateMinutes(m) => {
            schedule.insert("RateMinutes".into(), json!(m));
        }
        Cadence::Cron(c) => {
            schedule.insert("CronExpression".into(), json!(c));
        }
    }
    schedule.insert("TimeoutMinutes".into(), json!(TIMEOUT_MINUTES));
    let from = format!("from {}", rule.path);
    let query_yml = yaml(
        &from,
        &[
            ("AnalysisType", json!("scheduled_query")),
            ("QueryName", json!(query_name(rule))),
            ("Enabled", json!(rule.enabled)),
            ("Description", json!(rule.description)),
            ("Query", json!(format!("{query}\n"))),
            ("Schedule", Value::Object(schedule)),
        ],
    );
    let reports: serde_json::Map<String, Value> = rule
        .reports
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let fields: Vec<&str> = rule.output_fields.iter().map(|f| f.text.as_str()).collect();
    let py_name = format!("{}.py", rule.rule_id);
    let rule_yml = yaml(
        &from,
        &[
            ("AnalysisType", json!("scheduled_rule")),
            ("Filename", json!(py_name)),
            ("RuleID", json!(rule.rule_id)),
            ("DisplayName", json!(rule.display_name)),
            ("Enabled", json!(rule.enabled)),
            ("ScheduledQueries", json!([query_name(rule)])),
            ("Severity", json!(rule.severity.map(|s| s.name()))),
            ("Description", json!(rule.description)),
            ("Runbook", json!(rule.runbook)),
            ("Reference", json!(rule.reference)),
            ("Tags", json!(rule.tags)),
            ("Reports", Value::Object(reports)),
            ("DedupPeriodMinutes", json!(rule.dedup_period_minutes)),
            ("Threshold", json!(rule.threshold)),
            ("SummaryAttributes", json!(fields)),
            ("Tests", tests(rule)),
        ],
    );
    let mut py = format!(
        "# {MARKER} from {}; do not edit by hand\n# The scheduled query {} selects exactly the matching rows.\n\n\ndef rule(_event):\n    return True\n",
        rule.path,
        json!(query_name(rule))
    );
    py.push_str(&alert_context(rule));
    vec![
        Artifact {
            name: format!("{}.query.yml", rule.rule_id),
            contents: query_yml,
        },
        Artifact {
            name: format!("{}.rule.yml", rule.rule_id),
            contents: rule_yml,
        },
        Artifact {
            name: py_name,
            contents: py,
        },
    ]
}
