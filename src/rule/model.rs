//! A checked rule (SPEC §2), with its condition parsed, lowered and normalised.

use std::ops::Range;

use serde_json::Value;

use crate::ir::{FieldPath, Node};
use crate::syntax::ast::Expr;

#[derive(Clone, Debug)]
pub struct Rule {
    pub rule_id: String,
    /// The file the rule came from, as given on the command line (for messages).
    pub path: String,
    pub condition: Condition,
    pub log_types: Vec<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
    pub reference: Option<String>,
    pub enabled: bool,
    pub severity: Option<Severity>,
    pub tags: Vec<String>,
    /// Framework -> ids, in file order (e.g. `MITRE ATT&CK` -> `TA0002:T1059`).
    pub reports: Vec<(String, Vec<String>)>,
    pub dedup_period_minutes: u32,
    pub threshold: u32,
    /// `SummaryAttributes` or `OutputFields`; empty means all fields.
    pub output_fields: Vec<OutputField>,
    pub schedule: Schedule,
    pub tests: Vec<RuleTest>,
    /// Where parts of the rule are in its file, for target errors (E0401–E0403).
    pub spans: RuleSpans,
    /// `Entities`: what the alert is about, in file order; each path is also an output field
    /// when the rule lists output fields.
    pub entities: Vec<Entity>,
}

/// Byte ranges in the rule file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSpans {
    pub rule_id: Range<usize>,
    /// One per entry of `log_types`.
    pub log_types: Vec<Range<usize>>,
}

impl Rule {
    /// The file range of a log type's entry in `LogTypes` (the rule's id when unknown).
    pub fn log_type_span(&self, log_type: &str) -> Range<usize> {
        self.log_types
            .iter()
            .position(|l| l == log_type)
            .and_then(|i| self.spans.log_types.get(i).cloned())
            .unwrap_or_else(|| self.spans.rule_id.clone())
    }
}

/// An entity kind of `Entities` (SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntityKind {
    Account,
    Host,
    Ip,
    Process,
    File,
    Url,
    Dns,
    FileHash,
    CloudApplication,
}

impl EntityKind {
    pub const ALL: [EntityKind; 9] = [
        EntityKind::Account,
        EntityKind::Host,
        EntityKind::Ip,
        EntityKind::Process,
        EntityKind::File,
        EntityKind::Url,
        EntityKind::Dns,
        EntityKind::FileHash,
        EntityKind::CloudApplication,
    ];

    /// The name as written in a rule (and as Sentinel spells the entity type).
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Account => "Account",
            EntityKind::Host => "Host",
            EntityKind::Ip => "IP",
            EntityKind::Process => "Process",
            EntityKind::File => "File",
            EntityKind::Url => "URL",
            EntityKind::Dns => "DNS",
            EntityKind::FileHash => "FileHash",
            EntityKind::CloudApplication => "CloudApplication",
        }
    }
}

/// One `Entities` entry: a kind and the field that holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub kind: EntityKind,
    pub field: OutputField,
}

#[derive(Clone, Debug)]
pub struct Condition {
    /// The condition as written (the YAML scalar's value).
    pub text: String,
    pub ast: Expr,
    /// Normalised IR.
    pub ir: Node,
    /// Byte offset in the file of each byte offset in `text` (and of its end).
    pub file_offsets: Vec<u32>,
}

impl Condition {
    /// A range in the condition text as a range in the rule file.
    pub fn to_file(&self, span: crate::syntax::ast::Span) -> Range<usize> {
        let at = |i: usize| {
            self.file_offsets
                .get(i.min(self.file_offsets.len().saturating_sub(1)))
                .map_or(0, |&o| o as usize)
        };
        let start = at(span.start);
        start..at(span.end).max(start)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputField {
    /// As written in the rule.
    pub text: String,
    pub path: FieldPath,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cadence {
    RateMinutes(u32),
    Cron(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub cadence: Cadence,
    pub lookback_minutes: u32,
}

impl Default for Schedule {
    /// SPEC §2: rate 60, lookback = rate.
    fn default() -> Self {
        Schedule {
            cadence: Cadence::RateMinutes(60),
            lookback_minutes: 60,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RuleTest {
    pub name: String,
    pub expected: bool,
    pub log: Value,
    /// The test's entry in the rule file.
    pub span: Range<usize>,
}
