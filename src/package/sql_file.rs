//! `<RuleID>.sql`: the compiled query with a header naming the rule, its schedule and source.

use super::{Artifact, MARKER};
use crate::rule::{Cadence, Rule};

pub fn artifact(rule: &Rule, dialect: &str, query: &str) -> Artifact {
    let mut h = format!(
        "-- {MARKER} from {}; do not edit by hand\n",
        rule.path.replace('\n', " ")
    );
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    h.push_str(&format!("-- RuleID: {}\n", rule.rule_id));
    if let Some(name) = &rule.display_name {
        h.push_str(&format!("-- Name: {}\n", one_line(name)));
    }
    if let Some(sev) = rule.severity {
        h.push_str(&format!("-- Severity: {}\n", sev.name()));
    }
    let cadence = match &rule.schedule.cadence {
        Cadence::RateMinutes(m) => format!("every {m} minutes"),
        Cadence::Cron(c) => format!("cron \"{}\"", one_line(c)),
    };
    h.push_str(&format!(
        "-- Schedule: {cadence}, looking back {} minutes\n",
        rule.schedule.lookback_minutes
    ));
    if !rule.enabled {
        h.push_str("-- Enabled: false\n");
    }
    h.push_str(&format!("-- Dialect: {dialect}\n"));
    Artifact {
        name: format!("{}.sql", rule.rule_id),
        contents: format!("{h}{query};\n"),
    }
}
