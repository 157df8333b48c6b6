//! A profile as YAML text (what `ruleqc schema` prints): every setting the parser reads, so
//! that `parse(write(p))` places rules as `p` does. Comments of a merged file are not kept.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Profile, SqlLogType};
use crate::backend::schema::ColumnType;
use crate::ir::FieldPath;

/// A key or value: plain when it is a simple word, else a JSON (YAML double-quoted) string.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '$'))
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn columns(out: &mut String, indent: &str, cols: &BTreeMap<String, ColumnType>) {
    if cols.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}columns:");
    for (k, t) in cols {
        let _ = writeln!(out, "{indent}  {}: {}", scalar(k), t.name());
    }
}

fn tables(
    out: &mut String,
    section: &str,
    template: Option<&str>,
    time_column: Option<&str>,
    log_types: &BTreeMap<String, SqlLogType>,
    renames: &[(FieldPath, String)],
) {
    let _ = writeln!(out, "{section}:");
    if let Some(t) = template {
        let _ = writeln!(out, "  table: {}", scalar(t));
    }
    if let Some(t) = time_column {
        let _ = writeln!(out, "  time_column: {}", scalar(t));
    }
    if !log_types.is_empty() {
        let _ = writeln!(out, "  log_types:");
        for (lt, e) in log_types {
            let _ = writeln!(out, "    {}:", scalar(lt));
            if e.table.is_none() && e.time_column.is_none() && e.columns.is_empty() {
                let _ = writeln!(out, "      {{}}");
            }
            if let Some(t) = &e.table {
                let _ = writeln!(out, "      table: {}", scalar(t));
            }
            if let Some(t) = &e.time_column {
                let _ = writeln!(out, "      time_column: {}", scalar(t));
            }
            columns(out, "      ", &e.columns);
        }
    }
    if !renames.is_empty() {
        let _ = writeln!(out, "  fields:");
        for (from, to) in renames {
            let _ = writeln!(out, "    {}: {}", scalar(&from.display()), scalar(to));
        }
    }
}

/// The profile as a YAML file.
pub fn write(p: &Profile) -> String {
    let mut out = String::new();
    if let Some(s) = &p.sql {
        tables(
            &mut out,
            "sql",
            s.table_template.as_deref(),
            s.time_column.as_deref(),
            &s.log_types,
            &s.renames,
        );
    }
    if let Some(k) = &p.kql {
        tables(
            &mut out,
            "kql",
            k.table_template.as_deref(),
            k.time_column.as_deref(),
            &k.log_types,
            &k.renames,
        );
    }
    if let Some(s) = &p.splunk {
        let _ = writeln!(out, "splunk:");
        if let Some(i) = &s.index {
            let _ = writeln!(out, "  index: {}", scalar(i));
        }
        if let Some(t) = &s.sourcetype_template {
            let _ = writeln!(out, "  sourcetype: {}", scalar(t));
        }
        if s.enterprise_security {
            let _ = writeln!(out, "  enterprise_security: true");
        }
        if s.late_event_margin_minutes > 0 {
            let _ = writeln!(
                out,
                "  late_event_margin_minutes: {}",
                s.late_event_margin_minutes
            );
        }
        if !s.log_types.is_empty() {
            let _ = writeln!(out, "  log_types:");
            for (lt, e) in &s.log_types {
                let _ = writeln!(out, "    {}:", scalar(lt));
                for (k, v) in [
                    ("index", &e.index),
                    ("sourcetype", &e.sourcetype),
                    ("search", &e.search),
                ] {
                    if let Some(v) = v {
                        let _ = writeln!(out, "      {k}: {}", scalar(v));
                    }
                }
            }
        }
        if !s.renames.is_empty() {
            let _ = writeln!(out, "  fields:");
            for (from, to) in &s.renames {
                let _ = writeln!(out, "    {}: {}", scalar(&from.display()), scalar(to));
            }
        }
    }
    if let Some(s) = &p.sentinel {
        let _ = writeln!(out, "sentinel:");
        if s.custom_details {
            let _ = writeln!(out, "  custom_details: true");
        }
        if !s.connectors.is_empty() {
            let _ = writeln!(out, "  connectors:");
            for (lt, c) in &s.connectors {
                let types: Vec<String> = c.data_types.iter().map(|t| scalar(t)).collect();
                let _ = writeln!(
                    out,
                    "    {}: {{connector_id: {}, data_types: [{}]}}",
                    scalar(lt),
                    scalar(&c.id),
                    types.join(", ")
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_profile_parses_back_to_the_same_settings() {
        let text = r#"
sql:
  table: "analytics.{table}"
  time_column: event_time
  log_types:
    AWS.CloudTrail:
      table: security.cloudtrail
      columns: {eventName: text, "odd key": json, n: integer, r: real, b: boolean}
    Other.Type: {}
  fields:
    userIdentity.arn: user_arn
    "detail.`user agent`": ua
kql:
  table: "{name}_CL"
splunk:
  index: security
  sourcetype: "{log_type}"
  enterprise_security: true
  late_event_margin_minutes: 10
  log_types:
    AWS.CloudTrail: {index: aws, sourcetype: "aws:cloudtrail"}
sentinel:
  custom_details: true
  connectors:
    AWS.CloudTrail: {connector_id: AWS, data_types: [AWSCloudTrail]}
"#;
        let p = super::super::parse("p.yml", text).expect("parses");
        let written = write(&p);
        let q =
            super::super::parse("p.yml", &written).unwrap_or_else(|d| panic!("{written}\n{d:?}"));
        assert_eq!(write(&q), written);
        let (a, b) = (p.sql.unwrap(), q.sql.unwrap());
        assert_eq!(
            a.log_types["AWS.CloudTrail"].columns,
            b.log_types["AWS.CloudTrail"].columns
        );
        assert_eq!(b.log_types["AWS.CloudTrail"].columns.len(), 5);
        assert_eq!(a.renames, b.renames);
        assert_eq!(a.table_template, b.table_template);
        assert!(b.log_types.contains_key("Other.Type"));
        let s = q.splunk.unwrap();
        assert!(s.enterprise_security);
        assert_eq!(s.late_event_margin_minutes, 10);
        assert_eq!(
            q.sentinel.unwrap().connectors["AWS.CloudTrail"].data_types,
            ["AWSCloudTrail"]
        );
    }
}
