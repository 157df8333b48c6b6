//! Microsoft Sentinel scheduled analytics rules: one YAML file per rule in the
//! Azure-Sentinel repository's format, or an ARM template of `alertRules` resources.

use serde_json::{Value, json};

use super::MARKER;
use super::mitre;
use crate::rule::{Cadence, Rule, Severity};

/// Namespace for the rules' stable ids: UUID v5 of the RuleID in this namespace.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f2c_1b7e_8d4a_4c3e_9a51_2f0d_7e6b_c3a9);

pub fn rule_id(rule: &Rule) -> uuid::Uuid {
    uuid::Uuid::new_v5(&NAMESPACE, rule.rule_id.as_bytes())
}

/// A duration in Sentinel's `<n>m|h|d` form, in the largest whole unit (so Sentinel reads back
/// the same value: 120 minutes is `2h`, 90 minutes stays `90m`).
pub fn duration(minutes: u32) -> String {
    if minutes.is_multiple_of(1440) {
        format!("{}d", minutes / 1440)
    } else if minutes.is_multiple_of(60) {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// The same duration in ISO 8601 (`PT1H`, `P1D`), for ARM templates.
pub fn iso_duration(minutes: u32) -> String {
    if minutes.is_multiple_of(1440) {
        format!("P{}D", minutes / 1440)
    } else if minutes.is_multiple_of(60) {
        format!("PT{}H", minutes / 60)
    } else {
        format!("PT{minutes}M")
    }
}

/// Frequency and period in minutes, within Sentinel's limits.
fn schedule(rule: &Rule) -> Result<(u32, u32), String> {
    let freq = match rule.schedule.cadence {
        Cadence::RateMinutes(m) => m,
        Cadence::Cron(_) => {
            return Err("Sentinel scheduled rules run at a frequency, not a cron expression; use Schedule.RateMinutes".into());
        }
    };
    let period = rule.schedule.lookback_minutes;
    const MIN: u32 = 5;
    const MAX: u32 = 14 * 1440;
    for (what, v) in [
        ("frequency (RateMinutes)", freq),
        ("period (LookbackMinutes)", period),
    ] {
        if !(MIN..=MAX).contains(&v) {
            return Err(format!(
                "Sentinel needs a {what} between 5 minutes and 14 days; the rule has {v} minutes"
            ));
        }
    }
    if period < freq {
        return Err(format!(
            "Sentinel needs the period ({period}m) to be at least the frequency ({freq}m)"
        ));
    }
    Ok((freq, period))
}

fn severity(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Info) => "Informational",
        Some(Severity::Low) => "Low",
        None | Some(Severity::Medium) => "Medium",
        Some(Severity::High) | Some(Severity::Critical) => "High",
    }
}

fn tactics_and_techniques(rule: &Rule) -> (Vec<String>, Vec<String>) {
    let (tactics, techniques) = mitre::attack(rule);
    let tactics = tactics
        .iter()
        .filter_map(|t| mitre::sentinel_tactic(t))
        .map(str::to_string)
        .collect();
    let mut techs: Vec<String> = Vec::new();
    for t in &techniques {
        let p = mitre::parent_technique(t).to_string();
        if !techs.contains(&p) {
            techs.push(p);
        }
    }
    (tactics, techs)
}

/// The rule's fields, in a fixed order.
fn fields(rule: &Rule, query: &str) -> Result<Vec<(&'static str, Value)>, String> {
    let (freq, period) = schedule(rule)?;
    let (tactics, techniques) = tactics_and_techniques(rule);
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(vec![
        ("id", json!(rule_id(rule).to_string())),
        (
            "name",
            json!(one_line(
                rule.display_name.as_deref().unwrap_or(&rule.rule_id)
            )),
        ),
        (
            "description",
            json!(
                rule.description
                    .as_deref()
                    .map(one_line)
                    .unwrap_or_default()
            ),
        ),
        ("severity", json!(severity(rule.severity))),
        (
            "status",
            json!(if rule.enabled {
                "Available"
            } else {
                "Disabled"
            }),
        ),
        ("requiredDataConnectors", json!([])),
        ("queryFrequency", json!(duration(freq))),
        ("queryPeriod", json!(duration(period))),
        ("triggerOperator", json!("gt")),
        ("triggerThreshold", json!(rule.threshold - 1)),
        ("tactics", json!(tactics)),
        ("relevantTechniques", json!(techniques)),
        ("query", json!(query)),
        ("version", json!("1.0.0")),
        ("kind", json!("Scheduled")),
    ])
}

/// YAML: scalars as JSON strings (valid YAML), the query as a literal block.
pub fn yaml(rule: &Rule, query: &str) -> Result<String, String> {
    let mut out = format!("# {MARKER} from {}; do not edit by hand\n", rule.path);
    for (k, v) in fields(rule, query)? {
        match (k, &v) {
            ("query", Value::String(q)) => {
                out.push_str("query: |-\n");
                for line in q.lines() {
                    out.push_str("  ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            (_, Value::Array(items)) if items.is_empty() => out.push_str(&format!("{k}: []\n")),
            (_, Value::Array(items)) => {
                out.push_str(&format!("{k}:\n"));
                for i in items {
                    out.push_str(&format!("  - {i}\n"));
                }
            }
            _ => out.push_str(&format!("{k}: {v}\n")),
        }
    }
    Ok(out)
}

/// One `Microsoft.SecurityInsights/alertRules` resource.
pub fn arm_resource(rule: &Rule, query: &str) -> Result<Value, String> {
    let (freq, period) = schedule(rule)?;
    let (tactics, techniques) = tactics_and_techniques(rule);
    let f: serde_json::Map<String, Value> = fields(rule, query)?
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(json!({
        "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
        "apiVersion": "2023-02-01",
        "name": format!("[concat(parameters('workspace'), '/Microsoft.SecurityInsights/', '{}')]", rule_id(rule)),
        "kind": "Scheduled",
        "properties": {
            "displayName": f["name"],
            "description": f["description"],
            "severity": f["severity"],
            "enabled": rule.enabled,
            "query": query,
            "queryFrequency": iso_duration(freq),
            "queryPeriod": iso_duration(period),
            "triggerOperator": "GreaterThan",
            "triggerThreshold": rule.threshold - 1,
            "suppressionEnabled": false,
            "suppressionDuration": "PT1H",
            "tactics": tactics,
            "techniques": techniques,
        }
    }))
}

/// The ARM template around the resources (sorted by rule id).
pub fn arm_template(mut resources: Vec<(String, Value)>) -> String {
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    let doc = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": {"generator": MARKER},
        "parameters": {"workspace": {"type": "string"}},
        "resources": resources.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).expect("json"))
}
