//! Microsoft Sentinel scheduled analytics rules: one YAML file per rule in the
//! Azure-Sentinel repository's format, or an ARM template of `alertRules` resources.
//!
//! Every file is checked against the limits the Azure-Sentinel repository's template
//! validation enforces (`.script/tests/detectionTemplateSchemaValidation`): a rule outside them
//! is an error, never a file Sentinel would refuse. `ruleqc check --target kql` reports the same
//! findings, plus warnings (a tactic added for Sentinel's technique table).

use serde_json::{Value, json};

use super::MARKER;
use super::mitre;
use crate::ir::{FieldPath, Step};
use crate::profile::Profile;
use crate::rule::{Cadence, EntityKind, OutputField, Rule, Severity};

/// Namespace for the rules' stable ids: UUID v5 of the RuleID in this namespace.
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f2c_1b7e_8d4a_4c3e_9a51_2f0d_7e6b_c3a9);

/// Limits of Azure-Sentinel's analytics-rule template validation
/// (`AnalyticsTemplateInternalModelBase.cs`, `ScheduledTemplateInternalModel.cs`,
/// `FrequencyLimitationForLongPeriodQuery.cs`, `ValidEntityMappingsAttribute.cs`).
pub mod limits {
    pub const NAME: usize = 256;
    pub const DESCRIPTION: usize = 5000;
    pub const QUERY: usize = 10_000;
    pub const TRIGGER_THRESHOLD: u32 = 10_000;
    pub const MIN_MINUTES: u32 = 5;
    pub const MAX_MINUTES: u32 = 14 * 1440;
    /// From a period of two days on, the frequency must be at least an hour.
    pub const LONG_PERIOD_MINUTES: u32 = 2 * 1440;
    pub const LONG_PERIOD_MIN_FREQUENCY: u32 = 60;
    /// The Sentinel API takes up to 10 entity mappings; the repository's validation, 5.
    pub const ENTITY_MAPPINGS_API: usize = 10;
    pub const ENTITY_MAPPINGS_REPOSITORY: usize = 5;
    pub const CUSTOM_DETAILS: usize = 20;
    pub const CUSTOM_DETAIL_KEY: usize = 20;
    pub const COLUMN_NAME: usize = 500;
}

/// Template `status` values Sentinel knows.
pub const STATUSES: &[&str] = &["Installed", "Available", "NotAvailable"];

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

/// Where a finding points in the rule file: the rule key it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub error: bool,
    /// The rule key the finding is about (`Schedule`, `Reports`, ...), for its position.
    pub key: &'static str,
    pub message: String,
}

impl Finding {
    fn error(key: &'static str, message: String) -> Self {
        Finding {
            error: true,
            key,
            message,
        }
    }
    fn warning(key: &'static str, message: String) -> Self {
        Finding {
            error: false,
            key,
            message,
        }
    }
}

/// Frequency and period in minutes, and what is wrong with them.
fn schedule(rule: &Rule, findings: &mut Vec<Finding>) -> (u32, u32) {
    let period = rule.schedule.lookback_minutes;
    let freq = match rule.schedule.cadence {
        Cadence::RateMinutes(m) => m,
        Cadence::Cron(_) => {
            findings.push(Finding::error(
                "Schedule",
                "Sentinel scheduled rules run at a frequency, not a cron expression; use Schedule.RateMinutes".into(),
            ));
            return (period, period);
        }
    };
    for (what, v) in [
        ("frequency (RateMinutes)", freq),
        ("period (LookbackMinutes)", period),
    ] {
        if !(limits::MIN_MINUTES..=limits::MAX_MINUTES).contains(&v) {
            findings.push(Finding::error(
                "Schedule",
                format!(
                    "Sentinel needs a {what} between 5 minutes and 14 days; the rule has {v} minutes"
                ),
            ));
        }
    }
    if period < freq {
        findings.push(Finding::error(
            "Schedule",
            format!("Sentinel needs the period ({period}m) to be at least the frequency ({freq}m)"),
        ));
    }
    if period >= limits::LONG_PERIOD_MINUTES && freq < limits::LONG_PERIOD_MIN_FREQUENCY {
        findings.push(Finding::error(
            "Schedule",
            format!(
                "Sentinel runs a rule that looks back two days or more ({}) at most hourly; the rule runs every {freq} minutes",
                duration(period)
            ),
        ));
    }
    (freq, period)
}

fn severity(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Info) => "Informational",
        Some(Severity::Low) => "Low",
        None | Some(Severity::Medium) => "Medium",
        Some(Severity::High) | Some(Severity::Critical) => "High",
    }
}

/// The rule's ATT&CK ids as Sentinel takes them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Attack {
    /// Sentinel tactic names: the rule's own, then those Sentinel's technique table adds.
    pub tactics: Vec<String>,
    /// Parent technique ids.
    pub techniques: Vec<String>,
}

/// Tactics and techniques satisfying Sentinel's technique→tactic table: every tactic the table
/// lists for a technique is in `tactics` (the strict form of the repository's
/// `NoTechniquesWithoutMatchingTactics` check). Warnings say what was added and why.
pub fn attack(rule: &Rule, findings: &mut Vec<Finding>) -> Attack {
    let (tactic_ids, technique_ids) = mitre::attack(rule);
    let mut out = Attack::default();
    for t in &tactic_ids {
        match mitre::sentinel_tactic(t) {
            Some(name) if !out.tactics.iter().any(|x| x == name) => {
                out.tactics.push(name.to_string())
            }
            Some(_) => {}
            None => findings.push(Finding::warning(
                "Reports",
                format!(
                    "`{t}` is not an ATT&CK enterprise tactic Sentinel knows; left out of `tactics`"
                ),
            )),
        }
    }
    let own = out.tactics.clone();
    for t in &technique_ids {
        let p = mitre::parent_technique(t).to_string();
        if out.techniques.contains(&p) {
            continue;
        }
        match mitre::sentinel_technique_tactics(&p) {
            Some(expected) => {
                let missing: Vec<&str> = expected
                    .iter()
                    .copied()
                    .filter(|x| !own.iter().any(|o| o == x))
                    .collect();
                if !missing.is_empty() {
                    findings.push(Finding::warning(
                        "Reports",
                        format!(
                            "Sentinel's technique table pairs {p} with {}; the rule pairs it with {}; the Sentinel rule lists {} too",
                            expected.join(", "),
                            paired_with(rule, &p),
                            missing.join(", ")
                        ),
                    ));
                }
                for m in missing {
                    if !out.tactics.iter().any(|x| x == m) {
                        out.tactics.push(m.to_string());
                    }
                }
            }
            None => findings.push(Finding::warning(
                "Reports",
                format!(
                    "ruleqc does not carry Sentinel's tactics for {p}; Azure-Sentinel's validation may ask for another tactic"
                ),
            )),
        }
        out.techniques.push(p);
    }
    out
}

/// The Sentinel tactics `Reports` pairs a technique with (`TA0004:T1098.003`), for messages.
fn paired_with(rule: &Rule, technique: &str) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (framework, ids) in &rule.reports {
        if !framework.to_ascii_uppercase().contains("MITRE") {
            continue;
        }
        for id in ids {
            let parts: Vec<&str> = id.split(':').map(str::trim).collect();
            if parts.iter().any(|x| {
                x.starts_with('T')
                    && !x.starts_with("TA")
                    && mitre::parent_technique(x) == technique
            }) {
                for t in parts.iter().filter(|x| x.starts_with("TA")) {
                    if let Some(n) = mitre::sentinel_tactic(t)
                        && !names.contains(&n)
                    {
                        names.push(n);
                    }
                }
            }
        }
    }
    if names.is_empty() {
        "no tactic".into()
    } else {
        names.join(", ")
    }
}

/// A Log Analytics column name as the repository's validation accepts it: `^[a-zA-Z_]+\w*$`.
fn plain_column(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= limits::COLUMN_NAME
}

/// A name made of `[A-Za-z0-9_]` from `text`, starting with a letter.
fn word(text: &str) -> String {
    let mut w: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    while w.contains("__") {
        w = w.replace("__", "_");
    }
    let w = w.trim_matches('_').to_string();
    if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        w
    } else {
        format!("F{w}")
    }
}

/// Columns of the query's result for fields, adding `| extend` lines for fields whose column is
/// not a plain Log Analytics name (a nested path is projected as `['a.b']`).
struct Columns {
    projected: bool,
    output: Vec<OutputField>,
    taken: Vec<String>,
    extends: Vec<String>,
    /// Field path -> its column.
    done: Vec<(FieldPath, String)>,
}

impl Columns {
    fn new(rule: &Rule) -> Self {
        let taken = rule
            .output_fields
            .iter()
            .map(|f| match f.path.0.as_slice() {
                [Step::Key(k)] => k.clone(),
                _ => f.text.clone(),
            })
            .collect();
        Columns {
            projected: !rule.output_fields.is_empty(),
            output: rule.output_fields.clone(),
            taken,
            extends: Vec::new(),
            done: Vec::new(),
        }
    }

    /// The column holding `field` (as renamed by the profile); `base` names a new one.
    fn column(&mut self, field: &OutputField, base: String) -> String {
        if let Some((_, c)) = self.done.iter().find(|(p, _)| p == &field.path) {
            return c.clone();
        }
        if let [Step::Key(k)] = field.path.0.as_slice()
            && plain_column(k)
        {
            self.done.push((field.path.clone(), k.clone()));
            return k.clone();
        }
        let expr = match self.output.iter().find(|o| o.path == field.path) {
            Some(o) if self.projected => crate::backend::kql::quote_ident(&o.text),
            _ => path_expr(&field.path),
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.taken.push(name.clone());
        self.extends.push(format!("{name} = tostring({expr})"));
        self.done.push((field.path.clone(), name.clone()));
        name
    }

    fn extend_line(&self) -> Option<String> {
        (!self.extends.is_empty()).then(|| format!("| extend {}", self.extends.join(", ")))
    }
}

/// A field path as a KQL expression over the event's columns.
fn path_expr(path: &FieldPath) -> String {
    let mut out = String::new();
    for (i, step) in path.0.iter().enumerate() {
        match step {
            Step::Key(k) => {
                let q = crate::backend::kql::quote_ident(k);
                if i > 0 && !q.starts_with('[') {
                    out.push('.');
                }
                out.push_str(&q);
            }
            Step::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    out
}

/// The identifier Sentinel's entity type needs (a required identifier set of one).
pub fn identifier(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Account => "FullName",
        EntityKind::Host => "HostName",
        EntityKind::Ip => "Address",
        EntityKind::Process => "CommandLine",
        EntityKind::File => "Name",
        EntityKind::Url => "Url",
        EntityKind::Dns => "DomainName",
        EntityKind::FileHash => "Value",
        EntityKind::CloudApplication => "Name",
    }
}

/// A FileHash entity also needs its algorithm: named by the field's last key when it says
/// (`md5`, `sha1`, `sha256`), else `Unknown`.
fn hash_algorithm(field: &OutputField) -> &'static str {
    let last = field
        .path
        .0
        .iter()
        .rev()
        .find_map(|s| match s {
            Step::Key(k) => Some(k.to_ascii_lowercase()),
            Step::Index(_) => None,
        })
        .unwrap_or_default();
    if last.contains("sha256") {
        "SHA256"
    } else if last.contains("sha1") {
        "SHA1"
    } else if last.contains("md5") {
        "MD5"
    } else {
        "Unknown"
    }
}

/// A Sentinel rule within every limit: its fields in file order, its schedule in minutes and
/// its query (the compiled one, plus any `| extend` of entity and detail columns).
pub struct Built {
    fields: Vec<(&'static str, Value)>,
    freq: u32,
    period: u32,
    query: String,
}

/// The Sentinel rule of `rule` with its compiled `query`, under `profile` (its `kql` renames
/// and its `sentinel` section), and every finding (errors and warnings).
pub fn build(rule: &Rule, query: &str, profile: &Profile) -> (Option<Built>, Vec<Finding>) {
    let mut findings = Vec::new();
    let sentinel = profile.sentinel.clone().unwrap_or_default();
    let renamed = match profile.kql() {
        Ok(k) => k.rename(rule),
        Err(_) => std::borrow::Cow::Borrowed(rule),
    };
    let (freq, period) = schedule(rule, &mut findings);
    let attack = attack(rule, &mut findings);
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = one_line(rule.display_name.as_deref().unwrap_or(&rule.rule_id));
    let description = rule
        .description
        .as_deref()
        .map(one_line)
        .unwrap_or_default();
    for (key, what, text, max) in [
        ("DisplayName", "name", &name, limits::NAME),
        (
            "Description",
            "description",
            &description,
            limits::DESCRIPTION,
        ),
    ] {
        let n = text.chars().count();
        if n > max {
            findings.push(Finding::error(
                key,
                format!("Sentinel takes a {what} of at most {max} characters; this one has {n}"),
            ));
        }
    }
    let threshold = rule.threshold - 1;
    if threshold > limits::TRIGGER_THRESHOLD {
        findings.push(Finding::error(
            "Threshold",
            format!(
                "Sentinel's trigger threshold is at most {}: `Threshold` can be at most {}; the rule has {}",
                limits::TRIGGER_THRESHOLD,
                limits::TRIGGER_THRESHOLD + 1,
                rule.threshold
            ),
        ));
    }

    let mut columns = Columns::new(&renamed);
    let mut mappings = Vec::new();
    for e in &renamed.entities {
        let column = columns.column(&e.field, format!("{}{}", e.kind.name(), identifier(e.kind)));
        let mut fm = vec![json!({"identifier": identifier(e.kind), "columnName": column})];
        if e.kind == EntityKind::FileHash {
            let alg = format!("{column}Algorithm");
            columns.taken.push(alg.clone());
            columns
                .extends
                .push(format!("{alg} = \"{}\"", hash_algorithm(&e.field)));
            fm.insert(0, json!({"identifier": "Algorithm", "columnName": alg}));
        }
        mappings.push(json!({"entityType": e.kind.name(), "fieldMappings": fm}));
    }
    if mappings.len() > limits::ENTITY_MAPPINGS_API {
        findings.push(Finding::error(
            "Entities",
            format!(
                "Sentinel takes at most {} entity mappings; the rule has {}",
                limits::ENTITY_MAPPINGS_API,
                mappings.len()
            ),
        ));
    } else if mappings.len() > limits::ENTITY_MAPPINGS_REPOSITORY {
        findings.push(Finding::warning(
            "Entities",
            format!(
                "Azure-Sentinel's template validation takes at most {} entity mappings; the rule has {}",
                limits::ENTITY_MAPPINGS_REPOSITORY,
                mappings.len()
            ),
        ));
    }
    let mut details = serde_json::Map::new();
    if sentinel.custom_details {
        for f in &renamed.output_fields {
            let column = columns.column(f, word(&f.text));
            let mut key: String = word(&f.text)
                .chars()
                .take(limits::CUSTOM_DETAIL_KEY)
                .collect();
            let mut n = 2;
            while details.contains_key(&key) {
                let suffix = n.to_string();
                key = word(&f.text)
                    .chars()
                    .take(limits::CUSTOM_DETAIL_KEY - suffix.len())
                    .collect::<String>()
                    + &suffix;
                n += 1;
            }
            details.insert(key, json!(column));
        }
        if details.len() > limits::CUSTOM_DETAILS {
            findings.push(Finding::error(
                "OutputFields",
                format!(
                    "Sentinel takes at most {} custom details; the rule has {} output fields",
                    limits::CUSTOM_DETAILS,
                    details.len()
                ),
            ));
        }
    }
    let query = match columns.extend_line() {
        Some(line) => format!("{query}\n{line}"),
        None => query.to_string(),
    };
    let n = query.chars().count();
    if n > limits::QUERY {
        findings.push(Finding::error(
            "Condition",
            format!(
                "Sentinel takes a query of at most {} characters; this rule's has {n}",
                limits::QUERY
            ),
        ));
    }

    let mut connectors: Vec<Value> = Vec::new();
    for lt in &rule.log_types {
        if let Some(c) = sentinel.connectors.get(lt) {
            let data_types: Vec<String> = if c.data_types.is_empty() {
                match profile
                    .kql()
                    .map(|k| k.placement(&profile.name, &renamed, lt))
                {
                    Ok(Ok(p)) => vec![p.table],
                    _ => Vec::new(),
                }
            } else {
                c.data_types.clone()
            };
            match connectors
                .iter_mut()
                .find(|x| x["connectorId"] == json!(c.id))
            {
                Some(existing) => {
                    let list = existing["dataTypes"].as_array_mut().expect("a list");
                    for d in data_types {
                        if !list.contains(&json!(d)) {
                            list.push(json!(d));
                        }
                    }
                }
                None => connectors.push(json!({"connectorId": c.id, "dataTypes": data_types})),
            }
        }
    }

    if findings.iter().any(|f| f.error) {
        return (None, findings);
    }
    let mut fields = vec![
        ("id", json!(rule_id(rule).to_string())),
        ("name", json!(name)),
        ("description", json!(description)),
        ("severity", json!(severity(rule.severity))),
        (
            "status",
            // A template has no `enabled`; a disabled rule is a template not offered.
            json!(if rule.enabled {
                "Available"
            } else {
                "NotAvailable"
            }),
        ),
        ("requiredDataConnectors", json!(connectors)),
        ("queryFrequency", json!(duration(freq))),
        ("queryPeriod", json!(duration(period))),
        ("triggerOperator", json!("gt")),
        ("triggerThreshold", json!(threshold)),
        ("tactics", json!(attack.tactics)),
        ("relevantTechniques", json!(attack.techniques)),
        ("query", json!(query)),
    ];
    if !mappings.is_empty() {
        fields.push(("entityMappings", json!(mappings)));
    }
    if !details.is_empty() {
        fields.push(("customDetails", Value::Object(details)));
    }
    fields.push(("version", json!("1.0.0")));
    fields.push(("kind", json!("Scheduled")));
    (
        Some(Built {
            fields,
            freq,
            period,
            query,
        }),
        findings,
    )
}

fn errors(findings: &[Finding]) -> String {
    findings
        .iter()
        .filter(|f| f.error)
        .map(|f| f.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// YAML with the built-in `sentinel` profile.
pub fn yaml(rule: &Rule, query: &str) -> Result<String, String> {
    let profile = Profile::built_in("sentinel").expect("built in");
    yaml_with(rule, query, &profile)
}

/// YAML: scalars as JSON strings (valid YAML), the query as a literal block, lists and maps
/// in block style.
pub fn yaml_with(rule: &Rule, query: &str, profile: &Profile) -> Result<String, String> {
    let (built, findings) = build(rule, query, profile);
    let built = built.ok_or_else(|| errors(&findings))?;
    let mut out = format!("# {MARKER} from {}; do not edit by hand\n", rule.path);
    for (k, v) in &built.fields {
        match (*k, v) {
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
                    block(&mut out, i, 2);
                }
            }
            (_, Value::Object(map)) => {
                out.push_str(&format!("{k}:\n"));
                for (mk, mv) in map {
                    out.push_str(&format!("  {mk}: {mv}\n"));
                }
            }
            _ => out.push_str(&format!("{k}: {v}\n")),
        }
    }
    Ok(out)
}

/// A list item at `indent` spaces in block style: scalars as JSON, objects key by key, lists
/// nested under their key.
fn block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (i, (k, val)) in map.iter().enumerate() {
                let lead = if i == 0 {
                    format!("{pad}- ")
                } else {
                    format!("{pad}  ")
                };
                match val {
                    Value::Array(items) if !items.is_empty() => {
                        out.push_str(&format!("{lead}{k}:\n"));
                        for x in items {
                            block(out, x, indent + 4);
                        }
                    }
                    _ => out.push_str(&format!("{lead}{k}: {val}\n")),
                }
            }
        }
        other => out.push_str(&format!("{pad}- {other}\n")),
    }
}

/// One `Microsoft.SecurityInsights/alertRules` resource (built-in `sentinel` settings).
pub fn arm_resource(rule: &Rule, query: &str) -> Result<Value, String> {
    let profile = Profile::built_in("sentinel").expect("built in");
    arm_resource_with(rule, query, &profile)
}

/// One `Microsoft.SecurityInsights/alertRules` resource.
pub fn arm_resource_with(rule: &Rule, query: &str, profile: &Profile) -> Result<Value, String> {
    let (built, findings) = build(rule, query, profile);
    let built = built.ok_or_else(|| errors(&findings))?;
    let f: serde_json::Map<String, Value> = built
        .fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut properties = json!({
        "displayName": f["name"],
        "description": f["description"],
        "severity": f["severity"],
        "enabled": rule.enabled,
        "query": built.query,
        "queryFrequency": iso_duration(built.freq),
        "queryPeriod": iso_duration(built.period),
        "triggerOperator": "GreaterThan",
        "triggerThreshold": rule.threshold - 1,
        "suppressionEnabled": false,
        "suppressionDuration": "PT1H",
        "tactics": f["tactics"],
        "techniques": f["relevantTechniques"],
    });
    for k in ["entityMappings", "customDetails"] {
        if let Some(v) = f.get(k) {
            properties[k] = v.clone();
        }
    }
    Ok(json!({
        "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
        "apiVersion": "2023-02-01",
        "name": format!("[concat(parameters('workspace'), '/Microsoft.SecurityInsights/', '{}')]", rule_id(rule)),
        "kind": "Scheduled",
        "properties": properties,
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

/// `--target kql`'s artifacts: a Sentinel analytics rule (`<RuleID>.yaml`) per rule or, with
/// `--format arm`, one ARM template of them all (`sentinel_rules.json`).
pub struct SentinelRules;

const ARM_FILE: &str = "sentinel_rules.json";

fn is_arm(format: Option<&str>) -> bool {
    format == Some("arm")
}

struct YamlRules<'p> {
    profile: &'p Profile,
    files: Vec<super::Artifact>,
}

struct ArmTemplate<'p> {
    profile: &'p Profile,
    resources: Vec<(String, Value)>,
}

impl super::Packaging for SentinelRules {
    fn files(&self) -> &'static str {
        "`<RuleID>.yaml` Sentinel rules or, with `--format arm`, `sentinel_rules.json`"
    }

    fn formats(&self) -> &'static [super::Format] {
        &[super::Format {
            name: "arm",
            platform: "Sentinel",
            about: "an ARM template of Sentinel analytics rules",
        }]
    }

    fn start<'p>(
        &self,
        profile: &'p Profile,
        _dialect: Option<crate::backend::sql::SqlDialect>,
        format: Option<&str>,
    ) -> Box<dyn super::Pack + 'p> {
        if is_arm(format) {
            Box::new(ArmTemplate {
                profile,
                resources: Vec::new(),
            })
        } else {
            Box::new(YamlRules {
                profile,
                files: Vec::new(),
            })
        }
    }

    fn extensions(&self, _profile: &Profile, format: Option<&str>) -> &'static [&'static str] {
        if is_arm(format) {
            &[".json"]
        } else {
            &[".yaml"]
        }
    }

    fn single_file(&self, format: Option<&str>) -> Option<&'static str> {
        is_arm(format).then_some(ARM_FILE)
    }

    fn limits(&self) -> Option<super::LimitCheck> {
        Some(|rule, query, profile| {
            let (_, findings) = build(rule, query, profile);
            let limits = findings
                .into_iter()
                .map(|f| super::Limit {
                    error: f.error,
                    key: f.key,
                    message: f.message,
                })
                .collect();
            (
                limits,
                "a Sentinel analytics rule outside these limits is refused",
            )
        })
    }
}

impl super::Pack for YamlRules<'_> {
    fn add(&mut self, rule: &Rule, query: &str, keep: bool) -> Result<(), String> {
        let contents = yaml_with(rule, query, self.profile)?;
        if keep {
            self.files.push(super::Artifact {
                name: format!("{}.yaml", rule.rule_id),
                contents,
            });
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Vec<super::Artifact> {
        self.files
    }
}

impl super::Pack for ArmTemplate<'_> {
    fn add(&mut self, rule: &Rule, query: &str, keep: bool) -> Result<(), String> {
        let resource = arm_resource_with(rule, query, self.profile)?;
        if keep {
            self.resources.push((rule.rule_id.clone(), resource));
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Vec<super::Artifact> {
        vec![super::Artifact {
            name: ARM_FILE.into(),
            contents: arm_template(self.resources),
        }]
    }
}
