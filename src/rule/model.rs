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
    /// The condition as written (the YAML scalar's value; for a Sigma rule, the condition
    /// its detection became).
    pub text: String,
    /// Normalised IR.
    pub ir: Node,
    /// Byte offset in the file of each byte offset in `text` (and of its end).
    pub file_offsets: FileOffsets,
}

impl Condition {
    /// The condition's syntax tree, parsed again from `text`: only `explain --stage ast`
    /// reads it, so a loaded rule does not keep it (it was a fifth of a loaded rule's heap).
    pub fn ast(&self) -> Expr {
        crate::syntax::parse(&self.text)
            .expect("the condition text parsed when the rule was loaded, and parsing is pure")
    }

    /// A range in the condition text as a range in the rule file.
    pub fn to_file(&self, span: crate::syntax::ast::Span) -> Range<usize> {
        let start = self.file_offsets.at(span.start);
        start..self.file_offsets.at(span.end).max(start)
    }
}

/// A file offset for each byte offset of a condition's text, kept as runs: within a run, text
/// and file advance together, so a condition read from a block scalar is one run per line
/// rather than four bytes per character (every loaded rule keeps its offsets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileOffsets {
    /// (text offset, file offset) where each run starts, by text offset.
    runs: Vec<(u32, u32)>,
    /// How many text offsets there are.
    len: u32,
    /// Every offset of a run is the run's file offset (generated text, see [`Self::flat`]).
    flat: bool,
}

impl FileOffsets {
    /// The file offset of text offset `i` (past the end: that of the last one; none: 0).
    pub fn at(&self, i: usize) -> usize {
        if self.len == 0 {
            return 0;
        }
        let i = (i as u64).min(u64::from(self.len) - 1) as u32;
        let run = self.runs.partition_point(|&(start, _)| start <= i) - 1;
        let (start, offset) = self.runs[run];
        if self.flat {
            offset as usize
        } else {
            (offset + (i - start)) as usize
        }
    }

    /// Offsets of generated text (a Sigma rule's condition): each run, (text offset, file
    /// offset) by text offset, stands at one file offset, that of the key or value it was
    /// written for, so a run is a piece of text, not a byte of it. `len` text offsets.
    pub fn flat(runs: Vec<(u32, u32)>, len: u32) -> Self {
        FileOffsets {
            runs,
            len,
            flat: true,
        }
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl FromIterator<u32> for FileOffsets {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        let mut out = FileOffsets::default();
        let mut last: Option<u32> = None;
        for o in iter {
            if last.is_none_or(|l| l.checked_add(1) != Some(o)) {
                out.runs.push((out.len, o));
            }
            last = Some(o);
            out.len += 1;
        }
        out
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

#[cfg(test)]
mod tests {
    use super::FileOffsets;

    /// The runs give the offset the plain table gives, at every index and past the end.
    #[test]
    fn file_offsets_match_the_table() {
        let tables: [&[u32]; 5] = [
            &[],
            &[7],
            &[10, 11, 12, 13],
            &[10, 11, 15, 16, 17, 17, 30, 29, 30],
            &[0, 1, 2, 5, 6, 9, 9, 9, 12],
        ];
        for table in tables {
            let runs: FileOffsets = table.iter().copied().collect();
            assert_eq!(runs.len(), table.len());
            for i in 0..table.len() + 3 {
                let want = table
                    .get(i.min(table.len().saturating_sub(1)))
                    .map_or(0, |&o| o as usize);
                assert_eq!(runs.at(i), want, "{table:?} at {i}");
            }
        }
        let block: FileOffsets = (100..200).chain(300..400).collect();
        assert_eq!(block.runs.len(), 2);
    }
}
