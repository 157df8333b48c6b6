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

/// `--target sql`'s artifacts: `<RuleID>.sql` for each rule and, with the `panther` profile,
/// Panther's query and rule files beside it.
pub struct SqlFiles;

struct SqlPack {
    dialect: &'static str,
    panther: bool,
    files: Vec<Artifact>,
}

impl super::Packaging for SqlFiles {
    fn start<'p>(
        &self,
        profile: &'p crate::profile::Profile,
        dialect: Option<crate::backend::sql::SqlDialect>,
        _format: Option<&str>,
    ) -> Box<dyn super::Pack + 'p> {
        Box::new(SqlPack {
            dialect: dialect
                .unwrap_or(crate::backend::sql::SqlDialect::Duckdb)
                .name(),
            panther: profile.name == "panther",
            files: Vec::new(),
        })
    }

    fn files(&self) -> &'static str {
        "`<RuleID>.sql`"
    }

    fn extensions(
        &self,
        profile: &crate::profile::Profile,
        _format: Option<&str>,
    ) -> &'static [&'static str] {
        if profile.name == "panther" {
            &[".sql", ".query.yml", ".rule.yml", ".py"]
        } else {
            &[".sql"]
        }
    }
}

impl super::Pack for SqlPack {
    fn add(&mut self, rule: &Rule, query: &str, keep: bool) -> Result<(), String> {
        // Nothing here can fail: without --out there is nothing to build.
        if keep {
            self.files.push(artifact(rule, self.dialect, query));
            if self.panther {
                self.files.extend(super::panther::artifacts(rule, query));
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Vec<Artifact> {
        self.files
    }
}
