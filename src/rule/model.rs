//! A checked rule (SPEC §2), with its condition parsed, lowered and normalised.

use std::ops::Range;

use serde_json::Value;

use crate::backend::schema::{Kind, ObjectNode, Objects};
use crate::diag::Diagnostic;
use crate::rule::yaml::{self, Resolved};

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
    /// Empty, or (a rule loaded for `compile` or `check`, which run no tests) one shape per
    /// test: then each test's `log` is `Null`, and the shape keeps what schema resolution
    /// reads of it.
    pub shapes: Vec<EventShape>,
}

/// Byte ranges in the rule file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSpans {
    pub rule_id: Range<usize>,
    /// One per entry of `log_types`.
    pub log_types: Vec<Range<usize>>,
}

impl Rule {
    /// A rule of `path` with nothing read yet: no id, condition (an empty `and`), log types,
    /// tests or metadata, and the defaults of an absent key (enabled, dedup 60 minutes,
    /// threshold 1).
    pub fn blank(path: String) -> Rule {
        Rule {
            rule_id: String::new(),
            path,
            condition: Condition {
                text: String::new(),
                ir: crate::ir::Node::And(Vec::new()),
                file_offsets: Default::default(),
            },
            log_types: Vec::new(),
            display_name: None,
            description: None,
            runbook: None,
            reference: None,
            enabled: true,
            severity: None,
            tags: Vec::new(),
            reports: Vec::new(),
            dedup_period_minutes: 60,
            threshold: 1,
            output_fields: Vec::new(),
            schedule: Schedule::default(),
            tests: Vec::new(),
            spans: Default::default(),
            entities: Vec::new(),
            shapes: Vec::new(),
        }
    }

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
    pub(super) runs: Vec<(u32, u32)>,
    /// How many text offsets there are.
    pub(super) len: u32,
    /// Every offset of a run is the run's file offset (generated text, see [`Self::flat`]).
    pub(super) flat: bool,
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
        // Every loaded rule keeps its offsets: no spare room.
        out.runs.shrink_to_fit();
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

/// What schema resolution reads of a test event, without its values: each key with the kind
/// of its value (`backend::schema::Kind`), objects and arrays with what they hold. A tenth of
/// the event's `serde_json::Value` (every string, map node and number of the event is an
/// allocation there); `compile` and `check` keep this instead of the event.
///
/// Encoded in one byte string, in the order of the event's (sorted, de-duplicated) keys: a
/// scalar is its kind's byte; an object is `OBJECT`, then each entry (`KEY`, the key's length
/// as a LEB128 number, its bytes, then its value), then `END`; an array is `ARRAY`, its
/// elements, `END`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventShape(Box<[u8]>);

const NULL: u8 = 0;
const STR: u8 = 1;
const BOOL: u8 = 2;
const INT: u8 = 3;
const WIDE_INT: u8 = 4;
const FLOAT: u8 = 5;
const HUGE: u8 = 6;
const OBJECT: u8 = 7;
const ARRAY: u8 = 8;
const END: u8 = 9;
const KEY: u8 = 10;

impl EventShape {
    /// The shape of a test event.
    pub fn of(event: &Value) -> EventShape {
        let mut out = Vec::new();
        encode(event, &mut out);
        EventShape(out.into_boxed_slice())
    }

    /// The shape of a test event written in YAML (`Log`), without building its value: the
    /// same shape as `of(&node.to_json()?)`, and the same error when there is one.
    pub fn of_yaml(node: &yaml::Node) -> Result<EventShape, Diagnostic> {
        let mut out = Vec::new();
        encode_yaml(node, &mut out)?;
        Ok(EventShape(out.into_boxed_slice()))
    }

    /// The event's top-level keys, in order, each with its value's kind; `None` when the event
    /// is not an object.
    pub fn fields(&self) -> Option<impl Iterator<Item = (&str, Kind)>> {
        (self.0.first() == Some(&OBJECT))
            .then_some(Entries {
                shape: &self.0,
                at: 1,
            })
            .map(|e| e.map(|(k, v)| (k, kind(v[0]))))
    }

    /// Adds the keys of every object below the top level to `out` (what `backend::schema`
    /// records of a log type's events from the event itself).
    pub fn objects(&self, out: &mut Objects) {
        if self.0.first() != Some(&OBJECT) {
            return;
        }
        for (k, v) in (Entries {
            shape: &self.0,
            at: 1,
        }) {
            objects(v, out.top(k));
        }
    }
}

/// `KEY`, the key's length (LEB128), its bytes.
fn encode_key(key: &str, out: &mut Vec<u8>) {
    out.push(KEY);
    let mut n = key.len();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(key.as_bytes());
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            out.push(OBJECT);
            for (k, v) in map {
                encode_key(k, out);
                encode(v, out);
            }
            out.push(END);
        }
        Value::Array(items) => {
            out.push(ARRAY);
            for item in items {
                encode(item, out);
            }
            out.push(END);
        }
        scalar => out.push(match Kind::of(scalar) {
            Kind::Null => NULL,
            Kind::Str => STR,
            Kind::Bool => BOOL,
            Kind::Int { wide: false } => INT,
            Kind::Int { wide: true } => WIDE_INT,
            Kind::Float => FLOAT,
            Kind::Huge | Kind::Other => HUGE,
        }),
    }
}

/// `encode` of the value `node.to_json()` gives, or its error.
fn encode_yaml(node: &yaml::Node, out: &mut Vec<u8>) -> Result<(), Diagnostic> {
    let invalid = |message: &str| Diagnostic::error("E0105", message, node.span.clone());
    match &node.kind {
        yaml::Kind::Scalar { .. } => out.push(match node.resolve() {
            Ok(Resolved::Null) => NULL,
            Ok(Resolved::Bool(_)) => BOOL,
            Ok(Resolved::Str(_)) => STR,
            Ok(Resolved::Int(i)) => match i64::try_from(i) {
                Ok(x) if x.unsigned_abs() >= 1 << 53 => WIDE_INT,
                Ok(_) => INT,
                Err(_) if u64::try_from(i).is_ok() => HUGE,
                Err(_) => return Err(invalid("integer out of range for JSON")),
            },
            Ok(Resolved::Float(f)) if f.is_finite() => FLOAT,
            Ok(Resolved::Float(_)) => {
                return Err(invalid(
                    "infinity and NaN cannot be represented in a JSON event",
                ));
            }
            Err(message) => return Err(invalid(&message)),
        }),
        yaml::Kind::Seq(items) => {
            out.push(ARRAY);
            for item in items {
                encode_yaml(item, out)?;
            }
            out.push(END);
        }
        yaml::Kind::Map(entries) => {
            out.push(OBJECT);
            let body = out.len();
            // Each entry in file order (so the first error is `to_json`'s), then, unless the
            // keys already are, sorted with the last of equal keys kept, as in a JSON object.
            let mut parts: Vec<(&str, Range<usize>)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = k.event_key()?;
                let start = out.len();
                encode_key(key, out);
                encode_yaml(v, out)?;
                parts.push((key, start..out.len()));
            }
            if !parts.windows(2).all(|w| w[0].0 < w[1].0) {
                let written = out.split_off(body);
                parts.reverse();
                parts.sort_by(|a, b| a.0.cmp(b.0));
                parts.dedup_by(|later, first| later.0 == first.0);
                for (_, r) in parts {
                    out.extend_from_slice(&written[r.start - body..r.end - body]);
                }
            }
            out.push(END);
        }
    }
    Ok(())
}

fn kind(tag: u8) -> Kind {
    match tag {
        NULL => Kind::Null,
        STR => Kind::Str,
        BOOL => Kind::Bool,
        INT => Kind::Int { wide: false },
        WIDE_INT => Kind::Int { wide: true },
        FLOAT => Kind::Float,
        HUGE => Kind::Huge,
        _ => Kind::Other,
    }
}

/// The length of the value encoded at the start of `shape`.
fn value_len(shape: &[u8]) -> usize {
    match shape[0] {
        OBJECT => {
            let mut e = Entries { shape, at: 1 };
            while e.next().is_some() {}
            e.at + 1
        }
        ARRAY => {
            let mut at = 1;
            while shape[at] != END {
                at += value_len(&shape[at..]);
            }
            at + 1
        }
        _ => 1,
    }
}

/// An encoded object's entries, from `at` (just past its `OBJECT`) to its `END`: each key
/// with its encoded value.
struct Entries<'a> {
    shape: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.shape[self.at] == END {
            return None;
        }
        debug_assert_eq!(self.shape[self.at], KEY);
        self.at += 1;
        let (mut n, mut shift) = (0usize, 0);
        loop {
            let b = self.shape[self.at];
            self.at += 1;
            n |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let key = std::str::from_utf8(&self.shape[self.at..self.at + n])
            .expect("encoded from a string's bytes");
        self.at += n;
        let len = value_len(&self.shape[self.at..]);
        let value = &self.shape[self.at..self.at + len];
        self.at += len;
        Some((key, value))
    }
}

/// `backend::schema`'s record of object keys, over an encoded value at `at`.
fn objects(v: &[u8], at: &mut ObjectNode) {
    match v[0] {
        OBJECT => {
            at.object();
            for (k, child) in (Entries { shape: v, at: 1 }) {
                objects(child, at.key(k));
            }
        }
        ARRAY => {
            let elements = at.elements();
            let mut i = 1;
            while v[i] != END {
                let len = value_len(&v[i..]);
                objects(&v[i..i + len], elements);
                i += len;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{EventShape, FileOffsets, Kind, Objects};

    /// Every top-level key comes back with its value's kind, whatever the key's length (the
    /// encoding's tags and a key's length are both bytes), and nested objects give their keys
    /// by place.
    #[test]
    fn shapes_give_keys_kinds_and_objects() {
        let long = "k".repeat(300);
        let event = serde_json::json!({
            "a": "x", "bbbbbbbbb": 1, "cccccccccc": 9007199254740993i64, "d": 1.5,
            "e": null, "f": true, "g": 18446744073709551615u64, long.clone(): [[{"z": 1}], 2],
            "h": {"eeeeeeeee": {"y": [], "x": {}}},
        });
        let shape = EventShape::of(&event);
        let fields: Vec<(String, Kind)> = shape
            .fields()
            .expect("an object")
            .map(|(k, kind)| (k.to_string(), kind))
            .collect();
        let want: Vec<(String, Kind)> = event
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), Kind::of(v)))
            .collect();
        assert_eq!(fields, want);
        let mut objects = Objects::default();
        shape.objects(&mut objects);
        let keys = |place: &[Option<&str>]| -> Vec<String> {
            let place: Vec<Option<String>> = place.iter().map(|p| p.map(str::to_string)).collect();
            let keys = objects.get(&place).expect("an object there");
            keys.iter().map(str::to_string).collect()
        };
        assert_eq!(keys(&[Some(&long), None, None]), ["z"]);
        assert_eq!(keys(&[Some("h")]), ["eeeeeeeee"]);
        assert_eq!(keys(&[Some("h"), Some("eeeeeeeee")]), ["x", "y"]);
        assert!(keys(&[Some("h"), Some("eeeeeeeee"), Some("x")]).is_empty());
        assert!(objects.get(&[Some("a".into())]).is_none());
        assert!(objects.get(&[Some(long.clone()), None]).is_none());
        assert!(objects.get(&[]).is_none());
        assert!(!objects.is_empty());
        assert!(EventShape::of(&serde_json::json!([1])).fields().is_none());
    }

    /// Read from YAML, an event has the shape of its JSON value, and the same first error.
    #[test]
    fn yaml_events_have_their_values_shapes() {
        let events = [
            "{b: 1, a: x, c: [1, 2.5, {z: null, y: true}], d: {}}",
            "{\"k\": 9007199254740992, \"k2\": 9007199254740991, huge: 18446744073709551615}",
            "{x: 1, y: {q: [[]], p: ~}, 'x y': \"s\", 1: 0x1f, .inf: '.inf'}",
            "{a: -9223372036854775808, b: 1e3, c: .5, d: !!str 12, e: '', f: \"\"}",
            "{z: 1, y: 2, x: {c: 1, b: 2, a: [3]}}",
            "{a: 1e400}",
            "{a: 18446744073709551616}",
            "{a: [1, .nan]}",
            "{a: !!binary x}",
            "{[a]: 1}",
        ];
        let mut errors = 0;
        for text in events {
            let node = crate::rule::yaml::parse(text)
                .expect("parses")
                .expect("a node");
            let want = node.to_json().map(|v| EventShape::of(&v));
            let got = EventShape::of_yaml(&node);
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "{text}"),
                (Err(w), Err(g)) => {
                    assert_eq!((w.code, &w.message, &w.span), (g.code, &g.message, &g.span));
                    errors += 1;
                }
                (w, g) => panic!("{text}: {w:?} against {g:?}"),
            }
        }
        assert_eq!(errors, 5);
    }

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
