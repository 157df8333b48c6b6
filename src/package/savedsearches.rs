//! Splunk `savedsearches.conf`: one stanza per rule, scheduled, with its trigger, suppression
//! and MITRE annotations; with the profile's `enterprise_security`, an Enterprise Security
//! correlation search with a notable-event action and a risk action from the rule's `Entities`.

use serde_json::json;

use super::MARKER;
use super::mitre;
use crate::profile::SplunkProfile;
use crate::rule::{Cadence, EntityKind, Rule, Severity};

/// A cron expression for a rate in minutes, if cron can express it exactly.
pub fn rate_to_cron(minutes: u32) -> Option<String> {
    match minutes {
        m if m < 60 && 60u32.is_multiple_of(m) => Some(if m == 1 {
            "* * * * *".into()
        } else {
            format!("*/{m} * * * *")
        }),
        60 => Some("0 * * * *".into()),
        m if m.is_multiple_of(60) && m < 1440 && 1440u32.is_multiple_of(m) => {
            Some(format!("0 */{} * * *", m / 60))
        }
        1440 => Some("0 0 * * *".into()),
        _ => None,
    }
}

/// A `.conf` value over several lines: every line but the last ends with ` \`.
fn continued(value: &str) -> Result<String, String> {
    continuable(value)?;
    Ok(value.lines().collect::<Vec<_>>().join(" \\\n"))
}

/// `continued`'s error, without writing the value.
fn continuable(value: &str) -> Result<(), String> {
    match value.lines().find(|l| l.ends_with('\\')) {
        Some(l) => Err(format!(
            "a search line ends with a backslash, which .conf would read as a continuation: {l}"
        )),
        None => Ok(()),
    }
}

/// `stanza_with`'s error, in the same order, without writing the stanza: what `compile`
/// reports for a rule when no `savedsearches.conf` is written. Its errors do not depend on
/// the profile (renames move field paths, not the schedule or the search).
pub fn check(rule: &Rule, search: &str) -> Result<(), String> {
    if let Cadence::RateMinutes(m) = rule.schedule.cadence
        && rate_to_cron(m).is_none()
    {
        return Err(format!(
            "RateMinutes {m} has no cron equivalent; give the rule a Schedule.CronExpression"
        ));
    }
    continuable(search)
}

fn severity(s: Option<Severity>) -> u8 {
    match s {
        Some(Severity::Info) => 2,
        Some(Severity::Low) => 3,
        None | Some(Severity::Medium) => 4,
        Some(Severity::High) => 5,
        Some(Severity::Critical) => 6,
    }
}

/// ES notable-event urgency inputs: the rule's severity in ES's words.
fn es_severity(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Info) => "informational",
        Some(Severity::Low) => "low",
        None | Some(Severity::Medium) => "medium",
        Some(Severity::High) => "high",
        Some(Severity::Critical) => "critical",
    }
}

/// The risk score each risk object gets, by severity.
pub fn risk_score(s: Option<Severity>) -> u32 {
    match s {
        Some(Severity::Info) => 10,
        Some(Severity::Low) => 25,
        None | Some(Severity::Medium) => 50,
        Some(Severity::High) => 75,
        Some(Severity::Critical) => 100,
    }
}

/// An entity as ES risk analysis sees it: accounts and hosts are risk objects (scored), the
/// other kinds threat objects (carried along, not scored).
fn risk_entry(kind: EntityKind, field: &str, score: u32) -> serde_json::Value {
    let risk =
        |t: &str| json!({"risk_object_field": field, "risk_object_type": t, "risk_score": score});
    let threat = |t: &str| json!({"threat_object_field": field, "threat_object_type": t});
    match kind {
        EntityKind::Account => risk("user"),
        EntityKind::Host => risk("system"),
        EntityKind::Ip => risk("system"),
        EntityKind::CloudApplication => risk("other"),
        EntityKind::Process => threat("process"),
        EntityKind::File => threat("file_name"),
        EntityKind::Url => threat("url"),
        EntityKind::Dns => threat("domain"),
        EntityKind::FileHash => threat("file_hash"),
    }
}

/// One stanza as a plain scheduled alert. `search` is the compiled SPL.
pub fn stanza(rule: &Rule, search: &str) -> Result<String, String> {
    stanza_with(rule, search, &SplunkProfile::default())
}

/// One stanza under the profile's Splunk settings. `rule` is the rule as written (field
/// renames of the profile are applied here, as the search applies them).
pub fn stanza_with(rule: &Rule, search: &str, profile: &SplunkProfile) -> Result<String, String> {
    let renamed = profile.rename(rule);
    let rule = &renamed;
    let cron = match &rule.schedule.cadence {
        Cadence::Cron(c) => c.clone(),
        Cadence::RateMinutes(m) => rate_to_cron(*m).ok_or_else(|| {
            format!(
                "RateMinutes {m} has no cron equivalent; give the rule a Schedule.CronExpression"
            )
        })?,
    };
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = format!("[{}]\n", rule.rule_id);
    let mut kv = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
    kv("search", continued(search)?);
    let description = rule
        .description
        .as_deref()
        .or(rule.display_name.as_deref())
        .map(one_line)
        .unwrap_or_default();
    kv("description", description.clone());
    kv("disabled", if rule.enabled { "0" } else { "1" }.into());
    kv("enableSched", "1".into());
    kv("cron_schedule", cron);
    let margin = profile.late_event_margin_minutes;
    kv(
        "dispatch.earliest_time",
        format!("-{}m", rule.schedule.lookback_minutes + margin),
    );
    kv(
        "dispatch.latest_time",
        if margin == 0 {
            "now".into()
        } else {
            format!("-{margin}m")
        },
    );
    kv("counttype", "number of events".into());
    kv("relation", "greater than".into());
    kv("quantity", (rule.threshold - 1).to_string());
    kv("alert.severity", severity(rule.severity).to_string());
    kv("alert.track", "1".into());
    kv("alert.suppress", "1".into());
    kv(
        "alert.suppress.period",
        format!("{}m", rule.dedup_period_minutes),
    );
    if !rule.output_fields.is_empty() {
        // As the search's `| table` names them.
        let fields: Vec<String> = rule
            .output_fields
            .iter()
            .map(|f| crate::backend::spl::field_label(&f.path))
            .collect();
        kv("alert.suppress.fields", fields.join(","));
    }
    let (tactics, techniques) = mitre::attack(rule);
    if !tactics.is_empty() || !techniques.is_empty() {
        let mut ids: Vec<String> = techniques.clone();
        ids.extend(tactics.iter().cloned());
        kv(
            "action.correlationsearch.annotations",
            json!({"mitre_attack": ids}).to_string(),
        );
    }
    if profile.enterprise_security {
        let title = one_line(rule.display_name.as_deref().unwrap_or(&rule.rule_id));
        kv("action.correlationsearch.enabled", "1".into());
        kv("action.correlationsearch.label", title.clone());
        kv("action.notable", "1".into());
        kv("action.notable.param.rule_title", title.clone());
        kv("action.notable.param.rule_description", description);
        kv(
            "action.notable.param.severity",
            es_severity(rule.severity).into(),
        );
        kv("action.notable.param.security_domain", "threat".into());
        kv(
            "action.notable.param.drilldown_name",
            format!("Events of {title}"),
        );
        kv("action.notable.param.drilldown_search", continued(search)?);
        kv(
            "action.notable.param.drilldown_earliest_offset",
            "$info_min_time$".into(),
        );
        kv(
            "action.notable.param.drilldown_latest_offset",
            "$info_max_time$".into(),
        );
        let fields: Vec<(EntityKind, String)> = rule
            .entities
            .iter()
            .map(|e| (e.kind, crate::backend::spl::field_label(&e.field.path)))
            .collect();
        if !fields.is_empty() {
            let names: Vec<&str> = fields.iter().map(|(_, f)| f.as_str()).collect();
            kv("action.notable.param.nes_fields", names.join(","));
            let score = risk_score(rule.severity);
            let objects: Vec<serde_json::Value> = fields
                .iter()
                .map(|(k, f)| risk_entry(*k, f, score))
                .collect();
            kv("action.risk", "1".into());
            kv(
                "action.risk.param._risk",
                serde_json::Value::Array(objects).to_string(),
            );
            kv("action.risk.param._risk_message", title);
        }
    }
    Ok(out)
}

/// The whole file: a marker line, then the stanzas in RuleID order.
pub fn file(stanzas: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = stanzas.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = format!("# {MARKER}; do not edit by hand\n");
    for (_, s) in sorted {
        out.push('\n');
        out.push_str(s);
    }
    out
}

/// A stanza read back: its name and its `key = value` pairs in order.
pub type Stanza = (String, Vec<(String, String)>);

/// Reads a `savedsearches.conf` back (continuations joined with newlines), for tests and for
/// anyone checking generated files.
pub fn parse(text: &str) -> Result<Vec<Stanza>, String> {
    let mut out: Vec<Stanza> = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            out.push((name.to_string(), Vec::new()));
            continue;
        }
        let (k, v) = line
            .split_once(" = ")
            .ok_or_else(|| format!("line {}: expected `key = value`", n + 1))?;
        let mut value = v.to_string();
        while let Some(stripped) = value.strip_suffix(" \\") {
            let (_, next) = lines
                .next()
                .ok_or_else(|| format!("line {}: continuation at the end", n + 1))?;
            value = format!("{stripped}\n{next}");
        }
        out.last_mut()
            .ok_or_else(|| format!("line {}: a key outside a stanza", n + 1))?
            .1
            .push((k.to_string(), value));
    }
    Ok(out)
}

/// `--target splunk`'s artifact: one `savedsearches.conf` with a stanza per rule.
pub struct SavedSearches;

const FILE: &str = "savedsearches.conf";

struct Stanzas<'p> {
    profile: Result<&'p SplunkProfile, String>,
    stanzas: Vec<(String, String)>,
}

impl super::Packaging for SavedSearches {
    fn start<'p>(
        &self,
        profile: &'p crate::profile::Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
        _format: Option<&str>,
    ) -> Box<dyn super::Pack + 'p> {
        Box::new(Stanzas {
            profile: profile.splunk(),
            stanzas: Vec::new(),
        })
    }

    fn files(&self) -> &'static str {
        "`savedsearches.conf`"
    }

    fn extensions(
        &self,
        _profile: &crate::profile::Profile,
        _format: Option<&str>,
    ) -> &'static [&'static str] {
        &[FILE]
    }

    fn single_file(&self, _format: Option<&str>) -> Option<&'static str> {
        Some(FILE)
    }
}

impl super::Pack for Stanzas<'_> {
    fn add(&mut self, rule: &Rule, query: &str, keep: bool) -> Result<(), String> {
        // Checked also without --out: its errors are reported either way.
        let profile = self.profile.clone()?;
        if keep {
            let stanza = stanza_with(rule, query, profile)?;
            self.stanzas.push((rule.rule_id.clone(), stanza));
        } else {
            check(rule, query)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Vec<super::Artifact> {
        vec![super::Artifact {
            name: FILE.into(),
            contents: file(&self.stanzas),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check` (what `compile` runs without `--out`) refuses exactly what `stanza_with`
    /// refuses, with the same message, under both kinds of stanza.
    #[test]
    fn check_refuses_what_the_stanza_refuses() {
        let schedules = [
            "",
            "Schedule: {RateMinutes: 15}\n",
            "Schedule: {RateMinutes: 45}\n",
            "Schedule: {RateMinutes: 90, LookbackMinutes: 90}\n",
            "Schedule: {CronExpression: '*/7 * * * *', LookbackMinutes: 7}\n",
        ];
        let searches = [
            "index=a | where x == 1",
            "index=a\n| where x == 1",
            "index=a \\\n| where x == 1",
            "index=a\r\n| where x == 1\\",
            "index=a\\\r\n| where x == 1",
            "index=a\\\r| where x == 1",
            "index=a\n\\\n",
            "\\",
            "",
        ];
        let plain = SplunkProfile::default();
        let es = SplunkProfile {
            enterprise_security: true,
            ..SplunkProfile::default()
        };
        let mut refused = 0;
        for schedule in schedules {
            let text = format!("RuleID: T.Check\nLogTypes: [X]\n{schedule}Condition: a is_null\n");
            let rule = crate::rule::load_str("t.yml", text).result.expect("loads");
            for search in searches {
                let checked = check(&rule, search);
                refused += usize::from(checked.is_err());
                for profile in [&plain, &es] {
                    let built = stanza_with(&rule, search, profile).map(|_| ());
                    assert_eq!(checked, built, "{schedule:?} {search:?}");
                }
            }
        }
        // Both errors occur, alone and together (the schedule's is reported first).
        assert!(refused > 9 && refused < 45, "{refused}");
    }
}
