//! Profiles: where each log type's data lives for a target — tables, time column, field
//! renames and column types — kept outside the backends. Built-in profiles are selected by
//! name (`--profile panther`); a user profile is a YAML file (`--profile my-profile.yml`).
//!
//! ```yaml
//! sql:
//!   table: "analytics.{table}"          # for log types not listed; {table} is Panther's name,
//!                                       # {log_type} the log type as written
//!   time_column: event_time             # lookback filter column (omit: no time filter)
//!   log_types:
//!     AWS.CloudTrail:
//!       table: security.cloudtrail      # qualified names are split on `.`
//!       time_column: eventTime
//!       columns: {eventName: text, requestParameters: json}
//!   fields:
//!     userIdentity.arn: user_arn        # a field path the rule uses -> a top-level column
//! splunk:
//!   index: security                     # index=... for log types without their own
//!   enterprise_security: true           # savedsearches.conf stanzas as ES correlation searches
//!   late_event_margin_minutes: 10       # run over [-(lookback+10)m, -10m] for late events
//! sentinel:
//!   custom_details: true                # output fields become customDetails
//!   connectors:                         # log type -> requiredDataConnectors entry
//!     AWS.CloudTrail: {connector_id: AWS, data_types: [AWSCloudTrail]}
//! ```

pub mod diagnostics;
pub mod write;

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::backend::schema::{
    ColumnType, Contradiction, RuleInput, SchemaSet, TableSchema, case_aliases, case_collisions,
};
use crate::backend::sql::dialect::Dialect;
use crate::backend::sql::{Placement, TimeFilter, default_table_name};
use crate::diag::{Diagnostic, closest};
use crate::ir::{FieldPath, Node, Step};
use crate::rule::yaml::{self, Kind, Node as YNode, Resolved};
use crate::rule::{OutputField, Rule};

/// The built-in profiles' names.
pub const BUILT_IN: &[&str] = &["default", "panther", "sentinel"];

#[derive(Clone, Debug, Default)]
pub struct Profile {
    /// `default`, `panther`, ... or the file it came from.
    pub name: String,
    pub sql: Option<SqlProfile>,
    pub kql: Option<KqlProfile>,
    pub splunk: Option<SplunkProfile>,
    /// Settings of the Sentinel rule files (the query itself is the `kql` section's).
    pub sentinel: Option<SentinelProfile>,
}

/// Sentinel analytics-rule settings.
#[derive(Clone, Debug, Default)]
pub struct SentinelProfile {
    /// Log type -> the data connector that brings its table.
    pub connectors: BTreeMap<String, SentinelConnector>,
    /// Output fields become the rule's `customDetails`.
    pub custom_details: bool,
}

#[derive(Clone, Debug, Default)]
pub struct SentinelConnector {
    pub id: String,
    /// Empty: the log type's table.
    pub data_types: Vec<String>,
}

/// Splunk: the base search of each log type.
#[derive(Clone, Debug, Default)]
pub struct SplunkProfile {
    /// The index for every log type without its own.
    pub index: Option<String>,
    /// Sourcetype template for log types without an entry (`{log_type}` as written); `None`
    /// makes them an error.
    pub sourcetype_template: Option<String>,
    pub log_types: BTreeMap<String, SplunkLogType>,
    /// Field path (as the rule writes it) -> the field name in the events.
    pub renames: Vec<(FieldPath, String)>,
    /// `savedsearches.conf` stanzas as Enterprise Security correlation searches (notable
    /// event and risk actions); plain scheduled alerts otherwise.
    pub enterprise_security: bool,
    /// Minutes both ends of the search window are moved back, so events that arrive late are
    /// still searched: `dispatch.earliest_time = -(lookback+margin)m`, `latest_time = -margin m`.
    pub late_event_margin_minutes: u32,
}

#[derive(Clone, Debug, Default)]
pub struct SplunkLogType {
    pub index: Option<String>,
    pub sourcetype: Option<String>,
    /// A whole base search instead of index/sourcetype.
    pub search: Option<String>,
}

impl SplunkProfile {
    pub fn rename<'a>(&self, rule: &'a Rule) -> Cow<'a, Rule> {
        rename_rule(rule, &self.renames)
    }

    pub fn base(
        &self,
        profile: &str,
        rule: &Rule,
        log_type: &str,
    ) -> Result<crate::backend::spl::Base, Diagnostic> {
        use crate::backend::spl::Base;
        let entry = self.log_types.get(log_type);
        if let Some(s) = entry.and_then(|e| e.search.clone()) {
            return Ok(Base::Search(s));
        }
        let sourcetype = match (
            entry.and_then(|e| e.sourcetype.clone()),
            &self.sourcetype_template,
        ) {
            (Some(s), _) => s,
            (None, Some(tpl)) => tpl.replace("{log_type}", log_type),
            (None, None) => {
                let mut d = unplaced(profile, rule, log_type, "splunk");
                d.message = format!("log type `{log_type}` has no sourcetype in profile {profile}");
                d.help = Some(format!(
                    "add `{log_type}: {{index: ..., sourcetype: ...}}` (or `{{search: ...}}`) under `splunk.log_types` in {profile}, or a `sourcetype` template"
                ));
                return Err(d);
            }
        };
        Ok(Base::Terms {
            index: entry
                .and_then(|e| e.index.clone())
                .or_else(|| self.index.clone()),
            sourcetype,
        })
    }
}

/// Sentinel / Log Analytics: tables and the time column.
#[derive(Clone, Debug, Default)]
pub struct KqlProfile {
    /// Table template for log types without an entry (`{name}` is the log type with `.` → `_`,
    /// `{log_type}` as written); `None` makes them an error.
    pub table_template: Option<String>,
    pub time_column: Option<String>,
    pub log_types: BTreeMap<String, SqlLogType>,
    pub renames: Vec<(FieldPath, String)>,
    /// The rule set's schemas, once `Profile::resolve_schemas` ran.
    pub resolved: Option<std::sync::Arc<SchemaSet>>,
}

impl KqlProfile {
    pub fn placement(
        &self,
        profile: &str,
        rule: &Rule,
        log_type: &str,
    ) -> Result<crate::backend::kql::Placement, Diagnostic> {
        let entry = self.log_types.get(log_type);
        let table = match (entry.and_then(|e| e.table.clone()), &self.table_template) {
            (Some(t), _) => t,
            (None, Some(tpl)) => tpl
                .replace("{name}", &log_type.replace('.', "_"))
                .replace("{log_type}", log_type),
            (None, None) => return Err(unplaced(profile, rule, log_type, "kql")),
        };
        let schema = resolved_schema(
            self.resolved.as_deref(),
            entry,
            crate::backend::inferred_schema(rule),
            log_type,
        );
        timestamp_reads(profile, rule, log_type, schema.as_ref())?;
        Ok(crate::backend::kql::Placement {
            table,
            schema,
            time_column: entry
                .and_then(|e| e.time_column.clone())
                .or_else(|| self.time_column.clone()),
        })
    }

    pub fn rename<'a>(&self, rule: &'a Rule) -> Cow<'a, Rule> {
        rename_rule(rule, &self.renames)
    }
}

fn unplaced(profile: &str, rule: &Rule, log_type: &str, section: &str) -> Diagnostic {
    Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0402",
        message: format!("log type `{log_type}` has no table in profile {profile}"),
        span: Some(rule.log_type_span(log_type)),
        label: Some("not placed by the profile".into()),
        help: Some(format!(
            "add `{log_type}: {{table: ...}}` under `{section}.log_types` in {profile}, or a `table` template (rule `{}`)",
            rule.rule_id
        )),
    }
}

#[derive(Clone, Debug, Default)]
pub struct SqlProfile {
    /// Table name template for log types without an entry; `None` makes them an error.
    pub table_template: Option<String>,
    pub time_column: Option<String>,
    /// Panther's `p_occurs_since` macro instead of a column comparison.
    pub panther_macro: bool,
    pub log_types: BTreeMap<String, SqlLogType>,
    /// Field path (as the rule writes it) -> top-level column.
    pub renames: Vec<(FieldPath, String)>,
    /// The only dialect this profile is meant for, if any.
    pub dialect: Option<&'static str>,
    /// The rule set's schemas, once `Profile::resolve_schemas` ran.
    pub resolved: Option<std::sync::Arc<SchemaSet>>,
}

/// A log type's column types for a rule: the rule set's resolved schema when there is one (the
/// rule's own guesses only for columns it lacks), else the profile's declared columns over the
/// rule's guesses, else `None` (the backend guesses).
/// E0407: a predicate that reads a `timestamp` column other than to test it for null or
/// empty. The table holds the instant, not the event's text that the rule language compares
/// (SPEC §3.4: `eq` and the string operators on the string, `gt`..`le` only on numbers), so
/// no target could check it exactly: `"2026-12-01T22:05:09Z"` and
/// `"2026-12-01T23:05:09+01:00"` are one instant but two strings.
fn timestamp_reads(
    profile: &str,
    rule: &Rule,
    log_type: &str,
    schema: Option<&TableSchema>,
) -> Result<(), Diagnostic> {
    let Some(schema) = schema else {
        return Ok(());
    };
    let is_timestamp = |p: &FieldPath| match p.0.first() {
        Some(Step::Key(k)) if schema.columns.get(k) == Some(&ColumnType::Timestamp) => {
            Some(k.clone())
        }
        _ => None,
    };
    fn walk(
        node: &Node,
        depth: usize,
        check: &dyn Fn(&FieldPath) -> Option<String>,
    ) -> Option<(String, crate::syntax::ast::Span)> {
        match node {
            Node::And(v) | Node::Or(v) => v.iter().find_map(|n| walk(n, depth, check)),
            Node::Not(n) => walk(n, depth, check),
            Node::Any { path, body } | Node::All { path, body } => {
                let here = if depth == 0 { check(path) } else { None };
                match here {
                    Some(c) => Some((c, first_leaf(body)?)),
                    None => walk(body, depth + 1, check),
                }
            }
            Node::Leaf(l) => {
                if depth == 0
                    && let Some(c) = check(&l.path)
                {
                    let null_test =
                        matches!(l.test, crate::ir::Test::IsNull | crate::ir::Test::IsEmpty);
                    if !(null_test && l.path.0.len() == 1) {
                        return Some((c, l.span));
                    }
                }
                if let crate::ir::Test::Field(_, r) = &l.test
                    && r.up == depth
                    && let Some(c) = check(&r.path)
                {
                    return Some((c, l.span));
                }
                None
            }
        }
    }
    let Some((column, span)) = walk(&rule.condition.ir, 0, &is_timestamp) else {
        return Ok(());
    };
    Err(Diagnostic::error(
        "E0407",
        format!(
            "`{column}` is a timestamp column of {log_type} in profile {profile}: the table holds \
             its instant, not the event's text, so this predicate cannot be checked exactly"
        ),
        rule.condition.to_file(span),
    )
    .with_label("compares a timestamp column")
    .with_help(format!(
        "a timestamp column is only tested with is_null, is_not_null, is_empty or is_not_empty; \
         declare `{column}: text` to compare its text, or filter by time with the profile's \
         `time_column` (rule `{}`)",
        rule.rule_id
    )))
}

fn resolved_schema(
    resolved: Option<&SchemaSet>,
    entry: Option<&SqlLogType>,
    mut s: TableSchema,
    log_type: &str,
) -> Option<TableSchema> {
    match resolved.and_then(|r| r.log_types.get(log_type)) {
        Some(r) => {
            s.columns = overlay(std::mem::take(&mut s.columns), &r.columns);
        }
        None => {
            let e = entry.filter(|e| !e.columns.is_empty())?;
            for (k, t) in &e.columns {
                s.columns.insert(k.clone(), *t);
            }
        }
    }
    Some(s)
}

/// A rule's inferred columns under its log type's resolved ones (which win on a shared name),
/// merged in key order: the map is built from sorted entries at once, instead of by one search
/// and insertion per resolved column, for every rule.
fn overlay(
    inferred: std::collections::BTreeMap<String, ColumnType>,
    resolved: &std::collections::BTreeMap<String, crate::backend::schema::ResolvedColumn>,
) -> std::collections::BTreeMap<String, ColumnType> {
    let mut merged = Vec::with_capacity(inferred.len() + resolved.len());
    let mut inferred = inferred.into_iter().peekable();
    for (k, c) in resolved {
        while let Some((ik, _)) = inferred.peek() {
            match ik.as_str().cmp(k.as_str()) {
                std::cmp::Ordering::Less => merged.extend(inferred.next()),
                std::cmp::Ordering::Equal => {
                    inferred.next();
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        merged.push((k.clone(), c.ty));
    }
    merged.extend(inferred);
    merged.into_iter().collect()
}

#[cfg(test)]
mod overlay_tests {
    use super::*;
    use crate::backend::schema::{Origin, ResolvedColumn};
    use std::collections::BTreeMap;

    proptest::proptest! {
        /// The merge gives the map that inserting each resolved column over the inferred ones
        /// gives: every name of both, the resolved type on a shared name.
        #[test]
        fn overlay_is_insertion(
            inferred in proptest::collection::btree_map("[a-eA-E~]{0,3}", 0u8..6, 0..12),
            resolved in proptest::collection::btree_map("[a-eA-E~]{0,3}", 0u8..6, 0..12),
        ) {
            let ty = |n: u8| [ColumnType::Text, ColumnType::Integer, ColumnType::Real,
                ColumnType::Boolean, ColumnType::Json, ColumnType::Timestamp][n as usize];
            let inferred: BTreeMap<String, ColumnType> =
                inferred.into_iter().map(|(k, n)| (k, ty(n))).collect();
            let resolved: BTreeMap<String, ResolvedColumn> = resolved
                .into_iter()
                .map(|(k, n)| (k, ResolvedColumn { ty: ty(n), origin: Origin::Profile }))
                .collect();
            let mut expected = inferred.clone();
            for (k, c) in &resolved {
                expected.insert(k.clone(), c.ty);
            }
            proptest::prop_assert_eq!(overlay(inferred, &resolved), expected);
        }
    }
}

/// The event as a table row under the profile's renames: a renamed one-key path moves its
/// column, a deeper one copies the value it reaches to its column.
pub fn rename_event(
    event: &serde_json::Value,
    renames: &[(FieldPath, String)],
) -> serde_json::Value {
    let serde_json::Value::Object(map) = event else {
        return event.clone();
    };
    if renames.is_empty() {
        return event.clone();
    }
    let mut out = map.clone();
    for (from, _) in renames {
        if let [Step::Key(k)] = from.0.as_slice() {
            out.remove(k);
        }
    }
    for (from, to) in renames {
        if let Some(v) = crate::ir::eval::resolve(from, event) {
            out.insert(to.clone(), v.clone());
        }
    }
    serde_json::Value::Object(out)
}

/// `rename_event`, borrowing the event when no rename applies to it.
fn rename_event_cow<'a>(
    event: &'a serde_json::Value,
    renames: &[(FieldPath, String)],
) -> Cow<'a, serde_json::Value> {
    let applies = renames.iter().any(|(from, _)| match from.0.as_slice() {
        [Step::Key(k)] => event.get(k).is_some(),
        _ => crate::ir::eval::resolve(from, event).is_some(),
    });
    // Not an object, or nothing to move: `rename_event` would return a copy of the event.
    if applies && event.is_object() {
        Cow::Owned(rename_event(event, renames))
    } else {
        Cow::Borrowed(event)
    }
}

/// A test event contradicting a declared column, found while resolving a profile's schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaConflict {
    pub contradiction: Contradiction,
    /// The event's top-level key the column comes from (the column itself, or the first key of
    /// the path the profile renames to it).
    pub key: String,
}

#[derive(Clone, Debug, Default)]
pub struct SqlLogType {
    pub table: Option<String>,
    pub time_column: Option<String>,
    pub columns: BTreeMap<String, ColumnType>,
}

impl Profile {
    /// A built-in profile by name.
    pub fn built_in(name: &str) -> Option<Profile> {
        let splunk = match name {
            "default" => Some(SplunkProfile {
                sourcetype_template: Some("{log_type}".into()),
                ..Default::default()
            }),
            _ => None,
        };
        let kql = match name {
            "default" => Some(KqlProfile {
                table_template: Some("{name}_CL".into()),
                ..Default::default()
            }),
            "sentinel" => Some(KqlProfile {
                table_template: Some("{name}_CL".into()),
                time_column: Some("TimeGenerated".into()),
                ..Default::default()
            }),
            _ => None,
        };
        let sql = match name {
            "default" => Some(SqlProfile {
                table_template: Some("{table}".into()),
                ..Default::default()
            }),
            "panther" => Some(SqlProfile {
                table_template: Some("panther_logs.public.{table}".into()),
                time_column: Some("p_event_time".into()),
                panther_macro: true,
                dialect: Some("snowflake"),
                ..Default::default()
            }),
            "sentinel" => None,
            _ => return None,
        };
        let sentinel = (name == "sentinel").then(SentinelProfile::default);
        Some(Profile {
            name: name.into(),
            sql,
            kql,
            splunk,
            sentinel,
        })
    }

    /// `--profile NAME|FILE`: a built-in name, else a file.
    pub fn load(arg: &str) -> Result<Profile, ProfileError> {
        if let Some(p) = Profile::built_in(arg) {
            return Ok(p);
        }
        let text = std::fs::read_to_string(arg).map_err(|e| {
            ProfileError::Io(format!(
                "{arg}: {e} (built-in profiles: {})",
                BUILT_IN.join(", ")
            ))
        })?;
        parse(arg, &text).map_err(|d| ProfileError::Invalid {
            path: arg.into(),
            text,
            diagnostics: d,
        })
    }

    /// Resolves, once for the whole rule set, the schema of every log type the rules use, for
    /// the SQL and the KQL sections (each with its own renames and declared columns). Returns
    /// the test events that contradict a declared column type, each once.
    pub fn resolve_schemas(&mut self, rules: &[&Rule]) -> Vec<SchemaConflict> {
        self.resolve_schemas_implying(rules, &vec![None; rules.len()])
    }

    /// `resolve_schemas`, with the columns each rule implies when they were taken before its
    /// condition was packed away (`rule::Loaded::implied`; `None`: read from the rule). A
    /// packed rule is never renamed (`rule::Keep::pack`).
    pub fn resolve_schemas_implying(
        &mut self,
        rules: &[&Rule],
        implied: &[Option<&crate::backend::schema::Implied>],
    ) -> Vec<SchemaConflict> {
        let mut conflicts: Vec<SchemaConflict> = Vec::new();
        let mut run = |renames: &[(FieldPath, String)],
                       log_types: &BTreeMap<String, SqlLogType>|
         -> SchemaSet {
            // Only the rules a rename applies to are copied (a `Cow` per rule would be a
            // rule's size each, even borrowed).
            let renamed: Vec<(usize, Rule)> = rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match rename_rule(r, renames) {
                    Cow::Owned(r) => Some((i, r)),
                    Cow::Borrowed(_) => None,
                })
                .collect();
            let mut copies = renamed.iter().peekable();
            let inputs: Vec<RuleInput<'_>> = rules
                .iter()
                .enumerate()
                .map(|(i, original)| RuleInput {
                    rule: copies
                        .next_if(|(at, _)| *at == i)
                        .map_or(*original, |(_, r)| r),
                    implied: implied[i],
                    events: original
                        .tests
                        .iter()
                        .map(|t| rename_event_cow(&t.log, renames))
                        .collect(),
                })
                .collect();
            let (set, found) =
                SchemaSet::resolve(&inputs, &|lt| log_types.get(lt).map(|e| e.columns.clone()));
            for c in found {
                let key = renames
                    .iter()
                    .find(|(_, to)| *to == c.column)
                    .and_then(|(from, _)| match from.0.first() {
                        Some(Step::Key(k)) => Some(k.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| c.column.clone());
                let dup = conflicts.iter().any(|o| {
                    (o.contradiction.rule, o.contradiction.test, &o.key) == (c.rule, c.test, &key)
                });
                if !dup {
                    conflicts.push(SchemaConflict {
                        contradiction: c,
                        key,
                    });
                }
            }
            set
        };
        let sql = self
            .sql
            .as_ref()
            .map(|s| std::sync::Arc::new(run(&s.renames, &s.log_types)));
        if let Some(kql) = &mut self.kql {
            // The same renames and columns resolve to the same schemas (and the same
            // conflicts, already reported): share the SQL section's instead of resolving again.
            let same = self.sql.as_ref().is_some_and(|s| {
                s.renames == kql.renames
                    && s.log_types.len() == kql.log_types.len()
                    && s.log_types
                        .iter()
                        .zip(&kql.log_types)
                        .all(|((a, x), (b, y))| a == b && x.columns == y.columns)
            });
            kql.resolved = Some(match (&sql, same) {
                (Some(set), true) => set.clone(),
                _ => std::sync::Arc::new(run(&kql.renames, &kql.log_types)),
            });
        }
        if let Some(s) = &mut self.sql {
            s.resolved = sql;
        }
        conflicts
    }

    /// The Splunk section, or an error naming the profile.
    pub fn splunk(&self) -> Result<&SplunkProfile, String> {
        self.splunk
            .as_ref()
            .ok_or_else(|| format!("profile `{}` has no `splunk` section", self.name))
    }

    /// The KQL section, or an error naming the profile.
    pub fn kql(&self) -> Result<&KqlProfile, String> {
        self.kql
            .as_ref()
            .ok_or_else(|| format!("profile `{}` has no `kql` section", self.name))
    }

    /// The SQL section, or an error naming the profile.
    pub fn sql(&self, dialect: &str) -> Result<&SqlProfile, String> {
        let sql = self
            .sql
            .as_ref()
            .ok_or_else(|| format!("profile `{}` has no `sql` section", self.name))?;
        if let Some(d) = sql.dialect
            && d != dialect
        {
            return Err(format!(
                "profile `{}` is for --dialect {d}, not {dialect}",
                self.name
            ));
        }
        Ok(sql)
    }
}

#[derive(Debug)]
pub enum ProfileError {
    Io(String),
    Invalid {
        path: String,
        text: String,
        diagnostics: Vec<Diagnostic>,
    },
}

/// `case_aliases` of column groups held as owned names.
fn aliases_of(groups: &[Vec<String>]) -> Vec<(String, String)> {
    let refs: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.iter().map(String::as_str).collect())
        .collect();
    case_aliases(&refs)
}

impl SqlProfile {
    /// Where `log_type` lives, or an error naming the log type and the profile.
    pub fn placement(
        &self,
        profile: &str,
        rule: &Rule,
        log_type: &str,
    ) -> Result<Placement, Diagnostic> {
        self.placement_inferred(
            profile,
            rule,
            log_type,
            crate::backend::inferred_schema(rule),
        )
    }

    /// `placement` with the rule's inferred schema already computed.
    fn placement_inferred(
        &self,
        profile: &str,
        rule: &Rule,
        log_type: &str,
        inferred: TableSchema,
    ) -> Result<Placement, Diagnostic> {
        let entry = self.log_types.get(log_type);
        let table = match (entry.and_then(|e| e.table.clone()), &self.table_template) {
            (Some(t), _) => t,
            (None, Some(tpl)) => tpl
                .replace("{table}", &default_table_name(log_type))
                .replace("{log_type}", log_type),
            (None, None) => return Err(unplaced(profile, rule, log_type, "sql")),
        };
        let time = entry
            .and_then(|e| e.time_column.clone())
            .or_else(|| self.time_column.clone());
        let time_filter = match (time, self.panther_macro) {
            (Some(_), true) => Some(TimeFilter::PantherMacro),
            (Some(c), false) => Some(TimeFilter::Column(c)),
            (None, _) => None,
        };
        let schema = resolved_schema(self.resolved.as_deref(), entry, inferred, log_type);
        timestamp_reads(profile, rule, log_type, schema.as_ref())?;
        Ok(Placement {
            table: table.split('.').map(str::to_string).collect(),
            schema,
            time_filter,
        })
    }

    /// The rule with renamed field paths (condition and output fields) replaced by their
    /// columns. Paths inside `any`/`all` bodies are relative to an element and never renamed.
    pub fn rename<'a>(&self, rule: &'a Rule) -> Cow<'a, Rule> {
        rename_rule(rule, &self.renames)
    }

    /// The columns of `log_type` that dialect `d` cannot tell apart by name (SPEC §3.2), in
    /// groups: the resolved schema's, plus what `rule` (renamed) reads.
    fn collisions(
        &self,
        rule: &Rule,
        log_type: &str,
        d: &dyn Dialect,
    ) -> std::sync::Arc<Vec<Vec<String>>> {
        let reads: Vec<String> = crate::backend::inferred_schema(rule)
            .columns
            .into_keys()
            .collect();
        self.collisions_of(&reads, log_type, d)
    }

    /// `collisions` for a rule that reads the columns `reads`. A rule whose columns are all
    /// among its log type's resolved columns (every rule of the resolved set) adds none, so it
    /// shares the groups computed once per log type and dialect.
    fn collisions_of(
        &self,
        reads: &[String],
        log_type: &str,
        d: &dyn Dialect,
    ) -> std::sync::Arc<Vec<Vec<String>>> {
        let resolved = self
            .resolved
            .as_ref()
            .and_then(|r| r.log_types.get(log_type).map(|s| (r, s)));
        if let Some((set, schema)) = resolved
            && reads.iter().all(|c| schema.columns.contains_key(c))
        {
            return set.case_collisions(log_type, d);
        }
        let mut names: std::collections::BTreeSet<&str> =
            reads.iter().map(String::as_str).collect();
        if let Some((_, schema)) = resolved {
            names.extend(schema.columns.keys().map(String::as_str));
        }
        std::sync::Arc::new(
            case_collisions(d, names)
                .into_iter()
                .map(|g| g.into_iter().map(str::to_string).collect())
                .collect(),
        )
    }

    /// The embedded engines' aliases for `log_type`'s colliding columns on dialect `d`
    /// (`case_aliases`); none on the other dialects.
    pub fn case_aliases(
        &self,
        rule: &Rule,
        log_type: &str,
        d: &dyn Dialect,
    ) -> Vec<(String, String)> {
        if !EMBEDDED.contains(&d.name()) {
            return Vec::new();
        }
        aliases_of(&self.collisions(rule, log_type, d))
    }

    /// The rule as dialect `d` reads it: the profile's renames, then, on the embedded engines'
    /// dialects (SQLite, DuckDB), each column that differs only in case from another column of
    /// its log type read under its alias (`name~2`, ...), so the two stay apart. On a warehouse
    /// dialect that would read two such columns through one identifier, E0405 names both.
    pub fn rename_for<'a>(
        &self,
        rule: &'a Rule,
        d: &dyn Dialect,
    ) -> Result<Cow<'a, Rule>, Diagnostic> {
        let renamed = self.rename(rule);
        let reads: Vec<String> = crate::backend::inferred_schema(&renamed)
            .columns
            .into_keys()
            .collect();
        let mut aliases = Vec::new();
        for lt in &renamed.log_types {
            let groups = self.collisions_of(&reads, lt, d);
            for group in groups.iter() {
                let read: Vec<&String> = group.iter().filter(|c| reads.contains(c)).collect();
                if read.is_empty() {
                    continue;
                }
                if !EMBEDDED.contains(&d.name()) {
                    let names: Vec<String> = group.iter().map(|c| format!("`{c}`")).collect();
                    let (span, label) = match first_read(&renamed.condition.ir, group) {
                        Some(s) => (rule.condition.to_file(s), "reads one of them"),
                        None => (rule.spans.rule_id.clone(), "this rule"),
                    };
                    return Err(Diagnostic::error(
                        "E0405",
                        format!(
                            "{} are different fields of {lt}, but {} reads them through one column name",
                            names.join(" and "),
                            d.name()
                        ),
                        span,
                    )
                    .with_label(label)
                    .with_help(format!(
                        "{} does not tell these column names apart; rename one of them with the profile's `fields:` (rule `{}`)",
                        d.name(),
                        rule.rule_id
                    )));
                }
            }
            if EMBEDDED.contains(&d.name()) {
                aliases.extend(aliases_of(&groups));
            }
        }
        let aliases: Vec<(FieldPath, String)> = aliases
            .into_iter()
            .map(|(from, to)| (FieldPath(vec![Step::Key(from)]), to))
            .collect();
        if !renames_apply(&renamed, &aliases) {
            return Ok(renamed);
        }
        Ok(Cow::Owned(rename_rule(&renamed, &aliases).into_owned()))
    }

    /// `placement` for dialect `d`: the schema's colliding columns under their aliases, as
    /// `rename_for` reads them.
    pub fn placement_in(
        &self,
        profile: &str,
        rule: &Rule,
        log_type: &str,
        d: &dyn Dialect,
    ) -> Result<Placement, Diagnostic> {
        // One inferred schema for both: the placement's columns and the case collisions.
        let inferred = crate::backend::inferred_schema(rule);
        let reads: Vec<String> = if EMBEDDED.contains(&d.name()) {
            inferred.columns.keys().cloned().collect()
        } else {
            Vec::new()
        };
        let mut p = self.placement_inferred(profile, rule, log_type, inferred)?;
        let aliases = if EMBEDDED.contains(&d.name()) {
            aliases_of(&self.collisions_of(&reads, log_type, d))
        } else {
            Vec::new()
        };
        if let Some(s) = p.schema.as_mut() {
            for (from, to) in aliases {
                if let Some(t) = s.columns.remove(&from) {
                    s.columns.insert(to, t);
                }
            }
        }
        Ok(p)
    }
}

/// The first predicate (outside quantifier bodies) that reads one of `columns`.
fn first_read(node: &Node, columns: &[String]) -> Option<crate::syntax::ast::Span> {
    let reads = |p: &FieldPath| matches!(p.0.first(), Some(Step::Key(k)) if columns.contains(k));
    match node {
        Node::And(v) | Node::Or(v) => v.iter().find_map(|n| first_read(n, columns)),
        Node::Not(n) => first_read(n, columns),
        Node::Leaf(l) => reads(&l.path).then_some(l.span),
        Node::Any { path, body } | Node::All { path, body } => {
            if reads(path) {
                first_leaf(body)
            } else {
                None
            }
        }
    }
}

fn first_leaf(node: &Node) -> Option<crate::syntax::ast::Span> {
    match node {
        Node::Leaf(l) => Some(l.span),
        Node::And(v) | Node::Or(v) => v.iter().find_map(first_leaf),
        Node::Not(n) | Node::Any { body: n, .. } | Node::All { body: n, .. } => first_leaf(n),
    }
}

/// The dialects of the embedded engines, whose tables ruleqc builds itself.
const EMBEDDED: &[&str] = &["sqlite", "duckdb"];

/// The rule with each renamed field path (in the condition and the output fields) replaced by
/// its column.
/// The rule itself, not a copy, when no rename applies to it.
fn rename_rule<'a>(rule: &'a Rule, renames: &[(FieldPath, String)]) -> Cow<'a, Rule> {
    if !renames_apply(rule, renames) {
        return Cow::Borrowed(rule);
    }
    let mut r = rule.clone();
    r.condition.ir = rename_node(&rule.condition.ir, renames);
    r.output_fields = rule
        .output_fields
        .iter()
        .map(|f| OutputField {
            text: f.text.clone(),
            path: rename_path(&f.path, renames),
        })
        .collect();
    for e in &mut r.entities {
        e.field.path = rename_path(&e.field.path, renames);
    }
    Cow::Owned(r)
}

/// Whether `rename_rule` would change any path of `rule` (the condition's, outside quantifier
/// bodies; the output fields'; the entities').
fn renames_apply(rule: &Rule, renames: &[(FieldPath, String)]) -> bool {
    fn hit(path: &FieldPath, renames: &[(FieldPath, String)]) -> bool {
        renames.iter().any(|(from, _)| path.0.starts_with(&from.0))
    }
    fn in_node(node: &Node, renames: &[(FieldPath, String)]) -> bool {
        match node {
            Node::And(items) | Node::Or(items) => items.iter().any(|n| in_node(n, renames)),
            Node::Not(inner) => in_node(inner, renames),
            Node::Leaf(leaf) => hit(&leaf.path, renames),
            Node::Any { path, .. } | Node::All { path, .. } => hit(path, renames),
        }
    }
    !renames.is_empty()
        && (in_node(&rule.condition.ir, renames)
            || rule.output_fields.iter().any(|f| hit(&f.path, renames))
            || rule.entities.iter().any(|e| hit(&e.field.path, renames)))
}

fn rename_path(path: &FieldPath, renames: &[(FieldPath, String)]) -> FieldPath {
    for (from, to) in renames {
        if path.0.starts_with(&from.0) {
            let mut steps = vec![Step::Key(to.clone())];
            steps.extend_from_slice(&path.0[from.0.len()..]);
            return FieldPath(steps);
        }
    }
    path.clone()
}

fn rename_node(node: &Node, renames: &[(FieldPath, String)]) -> Node {
    match node {
        Node::And(items) => Node::And(items.iter().map(|n| rename_node(n, renames)).collect()),
        Node::Or(items) => Node::Or(items.iter().map(|n| rename_node(n, renames)).collect()),
        Node::Not(inner) => Node::Not(Box::new(rename_node(inner, renames))),
        Node::Leaf(leaf) => {
            let mut l = leaf.clone();
            l.path = rename_path(&leaf.path, renames);
            Node::Leaf(l)
        }
        Node::Any { path, body } => Node::Any {
            path: rename_path(path, renames),
            body: body.clone(),
        },
        Node::All { path, body } => Node::All {
            path: rename_path(path, renames),
            body: body.clone(),
        },
    }
}

// ---- the profile file ----------------------------------------------------------------------

fn err(code: &'static str, message: impl Into<String>, node: &YNode) -> Diagnostic {
    Diagnostic::error(code, message, node.span.clone())
}

fn mapping<'a>(
    node: &'a YNode,
    what: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<&'a [(YNode, YNode)]> {
    match &node.kind {
        Kind::Map(entries) => Some(entries),
        _ => {
            out.push(
                err("E0501", format!("{what} must be a mapping"), node)
                    .with_label(format!("found {}", node.kind_name())),
            );
            None
        }
    }
}

fn string(node: &YNode, what: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
    match node.resolve() {
        Ok(Resolved::Str(s)) if matches!(node.kind, Kind::Scalar { .. }) && !s.is_empty() => {
            Some(s)
        }
        _ => {
            out.push(err(
                "E0501",
                format!("{what} must be a non-empty string"),
                node,
            ));
            None
        }
    }
}

fn unknown(key: &YNode, name: &str, known: &[&str], out: &mut Vec<Diagnostic>) {
    let mut d =
        err("E0501", format!("unknown profile key `{name}`"), key).with_label("not a profile key");
    match closest(name, known.iter().copied()) {
        Some(c) => d.message = format!("unknown profile key `{name}`; did you mean `{c}`?"),
        None => d = d.with_help(format!("keys here: {}", known.join(", "))),
    }
    out.push(d);
}

/// Parses a profile file; every problem is reported with its position.
pub fn parse(path: &str, text: &str) -> Result<Profile, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let root = match yaml::parse(text) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(vec![
                Diagnostic::error("E0501", "the profile is empty", 0..0)
                    .with_help("a profile has a `sql:` section"),
            ]);
        }
        Err(d) => return Err(vec![d]),
    };
    let mut profile = Profile {
        name: path.to_string(),
        sql: None,
        kql: None,
        splunk: None,
        sentinel: None,
    };
    if let Some(entries) = mapping(&root, "a profile", &mut out) {
        for (k, v) in entries {
            match k.scalar_text() {
                Some("sql") => profile.sql = parse_sql(v, &mut out),
                Some("kql") => {
                    profile.kql = parse_sql(v, &mut out).map(|s| KqlProfile {
                        table_template: s.table_template,
                        time_column: s.time_column,
                        log_types: s.log_types,
                        renames: s.renames,
                        resolved: None,
                    })
                }
                Some("splunk") => profile.splunk = parse_splunk(v, &mut out),
                Some("sentinel") => profile.sentinel = parse_sentinel(v, &mut out),
                Some(other) => unknown(k, other, &["sql", "kql", "splunk", "sentinel"], &mut out),
                None => out.push(err("E0501", "keys must be names", k)),
            }
        }
    }
    if out.is_empty() {
        Ok(profile)
    } else {
        Err(out)
    }
}

/// `fields:` — field path -> column/field name, longest paths first (so `a.b` wins over `a`).
fn parse_renames(v: &YNode, out: &mut Vec<Diagnostic>) -> Vec<(FieldPath, String)> {
    let mut renames = Vec::new();
    for (f, col) in mapping(v, "`fields`", out).unwrap_or(&[]) {
        let Some(text) = f.scalar_text() else {
            continue;
        };
        let Some(col) = string(col, "a column name", out) else {
            continue;
        };
        match crate::syntax::parse_path(text).and_then(|p| crate::ir::lower::check_output_path(&p))
        {
            Ok(path) => renames.push((path, col)),
            Err(d) => out.push(err(
                "E0501",
                format!("`{text}` is not a field path: {}", d.message),
                f,
            )),
        }
    }
    renames.sort_by_key(|r| std::cmp::Reverse(r.0.0.len()));
    renames
}

fn parse_splunk(node: &YNode, out: &mut Vec<Diagnostic>) -> Option<SplunkProfile> {
    let entries = mapping(node, "`splunk`", out)?;
    let mut p = SplunkProfile::default();
    for (k, v) in entries {
        match k.scalar_text() {
            Some("index") => p.index = string(v, "`index`", out),
            Some("sourcetype") => p.sourcetype_template = string(v, "`sourcetype`", out),
            Some("log_types") => {
                for (lt, spec) in mapping(v, "`log_types`", out).unwrap_or(&[]) {
                    let Some(name) = lt.scalar_text() else {
                        continue;
                    };
                    let mut e = SplunkLogType::default();
                    for (k2, v2) in mapping(spec, &format!("`{name}`"), out).unwrap_or(&[]) {
                        match k2.scalar_text() {
                            Some("index") => e.index = string(v2, "`index`", out),
                            Some("sourcetype") => e.sourcetype = string(v2, "`sourcetype`", out),
                            Some("search") => e.search = string(v2, "`search`", out),
                            Some(other) => {
                                unknown(k2, other, &["index", "sourcetype", "search"], out)
                            }
                            None => out.push(err("E0501", "keys must be names", k2)),
                        }
                    }
                    p.log_types.insert(name.to_string(), e);
                }
            }
            Some("fields") => p.renames = parse_renames(v, out),
            Some("enterprise_security") => {
                p.enterprise_security = boolean(v, "`enterprise_security`", out)
            }
            Some("late_event_margin_minutes") => {
                p.late_event_margin_minutes = minutes(v, "`late_event_margin_minutes`", out)
            }
            Some(other) => unknown(
                k,
                other,
                &[
                    "index",
                    "sourcetype",
                    "log_types",
                    "fields",
                    "enterprise_security",
                    "late_event_margin_minutes",
                ],
                out,
            ),
            None => out.push(err("E0501", "keys must be names", k)),
        }
    }
    Some(p)
}

fn boolean(node: &YNode, what: &str, out: &mut Vec<Diagnostic>) -> bool {
    match node.resolve() {
        Ok(Resolved::Bool(b)) if matches!(node.kind, Kind::Scalar { .. }) => b,
        _ => {
            out.push(err(
                "E0501",
                format!("{what} must be `true` or `false`"),
                node,
            ));
            false
        }
    }
}

fn minutes(node: &YNode, what: &str, out: &mut Vec<Diagnostic>) -> u32 {
    match node.resolve() {
        Ok(Resolved::Int(i)) if matches!(node.kind, Kind::Scalar { .. }) => {
            match u32::try_from(i) {
                Ok(n) if n <= 1440 => n,
                _ => {
                    out.push(err(
                        "E0501",
                        format!("{what} must be between 0 and 1440 minutes"),
                        node,
                    ));
                    0
                }
            }
        }
        _ => {
            out.push(err(
                "E0501",
                format!("{what} must be a whole number of minutes"),
                node,
            ));
            0
        }
    }
}

fn parse_sentinel(node: &YNode, out: &mut Vec<Diagnostic>) -> Option<SentinelProfile> {
    let entries = mapping(node, "`sentinel`", out)?;
    let mut p = SentinelProfile::default();
    for (k, v) in entries {
        match k.scalar_text() {
            Some("custom_details") => p.custom_details = boolean(v, "`custom_details`", out),
            Some("connectors") => {
                for (lt, spec) in mapping(v, "`connectors`", out).unwrap_or(&[]) {
                    let Some(name) = lt.scalar_text() else {
                        continue;
                    };
                    let mut c = SentinelConnector::default();
                    for (k2, v2) in mapping(spec, &format!("`{name}`"), out).unwrap_or(&[]) {
                        match k2.scalar_text() {
                            Some("connector_id") => {
                                c.id = string(v2, "`connector_id`", out).unwrap_or_default()
                            }
                            Some("data_types") => match &v2.kind {
                                Kind::Seq(items) => {
                                    c.data_types = items
                                        .iter()
                                        .filter_map(|i| string(i, "a data type", out))
                                        .collect()
                                }
                                _ => out.push(err(
                                    "E0501",
                                    "`data_types` must be a list of table names",
                                    v2,
                                )),
                            },
                            Some(other) => unknown(k2, other, &["connector_id", "data_types"], out),
                            None => out.push(err("E0501", "keys must be names", k2)),
                        }
                    }
                    if c.id.is_empty() && !has(spec, "connector_id") {
                        out.push(err(
                            "E0501",
                            format!("`{name}` needs a `connector_id`"),
                            spec,
                        ));
                    }
                    p.connectors.insert(name.to_string(), c);
                }
            }
            Some(other) => unknown(k, other, &["custom_details", "connectors"], out),
            None => out.push(err("E0501", "keys must be names", k)),
        }
    }
    Some(p)
}

fn has(node: &YNode, key: &str) -> bool {
    matches!(&node.kind, Kind::Map(e) if e.iter().any(|(k, _)| k.scalar_text() == Some(key)))
}

fn parse_sql(node: &YNode, out: &mut Vec<Diagnostic>) -> Option<SqlProfile> {
    let entries = mapping(node, "`sql`", out)?;
    let mut p = SqlProfile::default();
    for (k, v) in entries {
        match k.scalar_text() {
            Some("table") => p.table_template = string(v, "`table`", out),
            Some("time_column") => p.time_column = string(v, "`time_column`", out),
            Some("log_types") => {
                for (lt, spec) in mapping(v, "`log_types`", out).unwrap_or(&[]) {
                    let Some(name) = lt.scalar_text() else {
                        continue;
                    };
                    let mut e = SqlLogType::default();
                    for (k2, v2) in mapping(spec, &format!("`{name}`"), out).unwrap_or(&[]) {
                        match k2.scalar_text() {
                            Some("table") => e.table = string(v2, "`table`", out),
                            Some("time_column") => e.time_column = string(v2, "`time_column`", out),
                            Some("columns") => {
                                for (c, t) in mapping(v2, "`columns`", out).unwrap_or(&[]) {
                                    let (Some(c), Some(t)) =
                                        (c.scalar_text(), string(t, "a column type", out))
                                    else {
                                        continue;
                                    };
                                    let ty = match t.as_str() {
                                        "text" | "string" => ColumnType::Text,
                                        "integer" | "int" | "bigint" => ColumnType::Integer,
                                        "real" | "double" | "float" => ColumnType::Real,
                                        "boolean" | "bool" => ColumnType::Boolean,
                                        "json" | "variant" => ColumnType::Json,
                                        "timestamp" | "timestamptz" | "datetime" => {
                                            ColumnType::Timestamp
                                        }
                                        other => {
                                            out.push(
                                                err(
                                                    "E0501",
                                                    format!("unknown column type `{other}`"),
                                                    v2,
                                                )
                                                .with_help(
                                                    "use text, integer, real, boolean, timestamp or json",
                                                ),
                                            );
                                            continue;
                                        }
                                    };
                                    e.columns.insert(c.to_string(), ty);
                                }
                            }
                            Some(other) => {
                                unknown(k2, other, &["table", "time_column", "columns"], out)
                            }
                            None => out.push(err("E0501", "keys must be names", k2)),
                        }
                    }
                    p.log_types.insert(name.to_string(), e);
                }
            }
            Some("fields") => p.renames = parse_renames(v, out),
            Some(other) => unknown(
                k,
                other,
                &["table", "time_column", "log_types", "fields"],
                out,
            ),
            None => out.push(err("E0501", "keys must be names", k)),
        }
    }
    Some(p)
}

#[cfg(test)]
mod rename_tests {
    use std::borrow::Cow;

    use super::{FieldPath, Step, rename_event, rename_event_cow, rename_rule};
    use crate::rule::{Rule, load_str};

    fn rule(condition: &str) -> Rule {
        let text = format!(
            "RuleID: R\nLogTypes: [Custom.Proc]\nCondition: |\n  {condition}\nTests:\n  - Name: t\n    ExpectedResult: false\n    Log: {{argv: \"-l\", user: {{name: root}}}}\n"
        );
        load_str("R.yml", text).rule().expect("loads").clone()
    }

    fn renames(pairs: &[(&[&str], &str)]) -> Vec<(FieldPath, String)> {
        pairs
            .iter()
            .map(|(from, to)| {
                let steps = from.iter().map(|k| Step::Key(k.to_string())).collect();
                (FieldPath(steps), to.to_string())
            })
            .collect()
    }

    /// Schema resolution and every compile read the rule through `rename_rule`: a rule no
    /// rename touches is the rule itself, not a copy; one it touches is renamed.
    #[test]
    fn a_rule_is_copied_only_when_a_rename_applies() {
        let r = rule("argv eq \"-l\"\n  any items (name eq \"x\")");
        assert!(matches!(rename_rule(&r, &[]), Cow::Borrowed(_)));
        // `name` is only read inside a quantifier body, relative to an element: not renamed.
        let other = renames(&[(&["user", "name"], "user_name"), (&["name"], "n")]);
        assert!(matches!(rename_rule(&r, &other), Cow::Borrowed(_)));
        let argv = renames(&[(&["argv"], "args")]);
        let Cow::Owned(renamed) = rename_rule(&r, &argv) else {
            panic!("`argv` is renamed, so the rule must be a renamed copy");
        };
        assert!(renamed.condition.ir.pretty().contains("args"));
        assert!(!renamed.condition.ir.pretty().contains("argv"));
        let items = renames(&[(&["items"], "things")]);
        assert!(matches!(rename_rule(&r, &items), Cow::Owned(_)));
    }

    /// A test event is borrowed when no rename moves one of its values, and is otherwise what
    /// `rename_event` makes of it.
    #[test]
    fn an_event_is_copied_only_when_a_rename_moves_a_value() {
        let ev = serde_json::json!({"argv": "-l", "user": {"name": "root"}, "gone": null});
        for (pairs, borrowed) in [
            (renames(&[]), true),
            (renames(&[(&["pid"], "p"), (&["user", "uid"], "uid")]), true),
            (renames(&[(&["argv"], "args")]), false),
            (renames(&[(&["user", "name"], "user_name")]), false),
            // A null value is still a key `rename_event` removes.
            (renames(&[(&["gone"], "g")]), false),
        ] {
            let got = rename_event_cow(&ev, &pairs);
            assert_eq!(matches!(got, Cow::Borrowed(_)), borrowed, "{pairs:?}");
            assert_eq!(*got, rename_event(&ev, &pairs), "{pairs:?}");
        }
    }
}
