//! The native engine for `ruleqc run`: the rules' normalised IR evaluated in process by the
//! reference evaluator (`ir::eval`), so its verdicts are the reference's by construction.
//!
//! What makes it fast is what it does not do:
//! - Each line is checked by a conservative scanner (`scan`) that finds the top-level keys
//!   some rule reads; only what the rules of the event's log type read is built as values,
//!   into one event each worker refills from line to line (`fill`). A line the scanner does
//!   not vouch for takes the serde_json path: parsed once, only the parts some rule reads (or
//!   the log type) built (`Need`, `Projected`), every scalar still converted. Either way a
//!   line is rejected exactly when a `serde_json::Value` would reject it, with its message.
//!   A matching event is parsed again, whole, for its output.
//! - All rules of a log type are evaluated in the same pass over the events.
//! - The input is cut into chunks of whole lines that worker threads parse and evaluate; the
//!   results are put back in input order, and at most `IN_FLIGHT` chunks exist at once.
//! - Matches are kept per (rule, log type) in memory up to a limit and spilled to one
//!   temporary file beyond it, so memory stays bounded whatever the input and the number of
//!   matches. They come out as the SQL engines print them: rule by rule, each rule's log types
//!   in the order it lists them, events in input order.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use serde::Deserialize as _;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::ir::eval::eval;
use crate::ir::{FieldPath, Node, Step, Test};
use crate::rule::Rule;
use crate::run::{BadLine, LogTypeOf, Match, Options, Scan, project};

use super::scan;

/// Bytes of input in one chunk (it is extended to the end of its last line).
const CHUNK_BYTES: usize = 1 << 20;
/// A chunk's buffer: room for a chunk and the read that completes it.
const BUFFER_BYTES: usize = CHUNK_BYTES + (1 << 16);
/// Events of a JSON array in one chunk.
const CHUNK_EVENTS: usize = 2048;
/// Chunks read but not yet taken in order by the collector.
const IN_FLIGHT: usize = 16;
/// Bytes of matches kept in memory before they are spilled to a temporary file.
const MATCH_MEMORY: usize = 32 << 20;

/// The parts of a value that are read: all of it, or some of its keys (when it is an object;
/// any other value is then read as nothing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Need {
    whole: bool,
    /// Few (tens) and short: a list searched by length first is faster than a map.
    keys: Vec<(String, Need)>,
}

impl Need {
    /// The value at `path` is read, all of it.
    pub fn add_path(&mut self, path: &FieldPath) {
        let mut n = self;
        for step in &path.0 {
            if n.whole {
                return;
            }
            match step {
                Step::Key(k) => {
                    let i = match n.keys.iter().position(|(name, _)| name == k) {
                        Some(i) => i,
                        None => {
                            n.keys.push((k.clone(), Need::default()));
                            n.keys.len() - 1
                        }
                    };
                    n = &mut n.keys[i].1;
                }
                // Arrays are read whole.
                Step::Index(_) => break,
            }
        }
        n.whole = true;
        n.keys.clear();
    }

    /// Everything `node` reads, from the event's root.
    pub fn add_condition(&mut self, node: &Node) {
        self.add_node(node, 0);
    }

    /// `depth` is the number of quantifiers around `node`. Inside one, paths are relative to
    /// an element of an array that is read whole, except a `field()` that names the event's
    /// own scope (`up == depth`).
    fn add_node(&mut self, node: &Node, depth: usize) {
        match node {
            Node::And(items) | Node::Or(items) => {
                for n in items {
                    self.add_node(n, depth);
                }
            }
            Node::Not(inner) => self.add_node(inner, depth),
            Node::Leaf(leaf) => {
                if depth == 0 {
                    self.add_path(&leaf.path);
                }
                if let Test::Field(_, r) = &leaf.test
                    && r.up == depth
                {
                    self.add_path(&r.path);
                }
            }
            Node::Any { path, body } | Node::All { path, body } => {
                if depth == 0 {
                    self.add_path(path);
                }
                self.add_node(body, depth + 1);
            }
        }
    }

    /// Parses one JSON text into the parts of it that are read: an object with the needed
    /// keys (`Value::Null` for a text that is not an object), or the whole value. Accepts and
    /// rejects exactly the texts `serde_json::from_str::<Value>` does.
    pub fn parse(&self, text: &str) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_str(text);
        let v = Projected(self).deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

/// A value parsed through its `Need`.
#[derive(Clone, Copy)]
struct Projected<'n>(&'n Need);

impl<'de> DeserializeSeed<'de> for Projected<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.whole {
            Value::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

/// Any value that is not an object: nothing is read from it.
macro_rules! read_as_nothing {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<E>(self, _: $t) -> Result<Value, E> {
            Ok(Value::Null)
        }
    )*};
}

impl<'de> Visitor<'de> for Projected<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    read_as_nothing!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(Value::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(Key(&self.0.keys))? {
            match key {
                Some((k, need)) => {
                    // A key given twice keeps its last value, as in a `Value`.
                    out.insert(k, map.next_value_seed(Projected(need))?);
                }
                None => map.next_value_seed(Skip)?,
            }
        }
        Ok(Value::Object(out))
    }
}

/// An object key: the key and its `Need` when it is read, `None` when it is not.
struct Key<'n>(&'n [(String, Need)]);

impl<'de, 'n> DeserializeSeed<'de> for Key<'n> {
    type Value = Option<(String, &'n Need)>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'n> Visitor<'de> for Key<'n> {
    type Value = Option<(String, &'n Need)>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .iter()
            .find(|(name, _)| name.len() == s.len() && name == s)
            .map(|(name, n)| (name.clone(), n)))
    }
}

/// A value that is not read: parsed (every scalar converted, so that `1e400` or a lone
/// surrogate is an error as in a `Value`; not `IgnoredAny`, which lets both through) and
/// dropped.
#[derive(Clone, Copy)]
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! skip_scalars {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<E>(self, _: $t) -> Result<(), E> {
            Ok(())
        }
    )*};
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    skip_scalars!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry_seed(Skip, Skip)?.is_some() {}
        Ok(())
    }
}

/// Puts in `slot` the value `text` (within a line `scan` vouched for) read through `need`, as
/// `Projected` reads it, reusing what `slot` held (the previous event's value: its strings and
/// objects are refilled rather than freed and allocated again). Objects read in part are
/// scanned again for their keys; values read whole are built directly when they are literals
/// or strings without escapes, and by serde_json otherwise (numbers as it reads them). `None`
/// when serde_json rejects the text; `slot` is then to be thrown away.
fn fill(slot: &mut Value, text: &str, need: &Need) -> Option<()> {
    if need.whole {
        return fill_whole(slot, text);
    }
    if !text.starts_with('{') {
        // Anything but an object is read as nothing (and `scan` vouched for it).
        *slot = Value::Null;
        return Some(());
    }
    if need.keys.len() <= 64 {
        if !slot.is_object() {
            *slot = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = slot else {
            unreachable!("made an object above")
        };
        // The keys of `need` seen, by index.
        let mut seen = 0u64;
        let mut filled = true;
        let scanned = scan::members(text, |key, start, end| {
            if let Some(i) = need.keys.iter().position(|(name, _)| same(name, key))
                && filled
            {
                let (name, need) = &need.keys[i];
                let slot = match map.get_mut(name) {
                    Some(slot) => slot,
                    None => map.entry(name.clone()).or_insert(Value::Null),
                };
                filled = fill(slot, &text[start..end], need).is_some();
                seen |= 1 << i;
            }
        });
        if scanned.is_some() {
            // Keys the previous event had and this one has not: every key seen is in the map,
            // so there are some exactly when it holds more.
            if map.len() > seen.count_ones() as usize {
                map.retain(|k, _| {
                    need.keys
                        .iter()
                        .position(|(name, _)| name == k)
                        .is_some_and(|i| seen & (1 << i) != 0)
                });
            }
            return filled.then_some(());
        }
    }
    // A key with an escape, say: serde_json reads the object.
    let mut de = serde_json::Deserializer::from_str(text);
    *slot = Projected(need).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(())
}

/// Keys of an object read whole that are refilled in place (one with more is built anew).
const REFILLED_KEYS: usize = 32;

/// `fill` of a value read whole: strings without escapes, literals and integers from 0 to
/// `u64::MAX` are built directly, objects and arrays refilled in place member by member
/// (element by element), anything else by serde_json (as it reads numbers with a point, with
/// `float_roundtrip`, and negative ones: `-0` is a float there).
fn fill_whole(slot: &mut Value, text: &str) -> Option<()> {
    match text.as_bytes().first() {
        Some(b'"') if text.len() >= 2 && !text.contains('\\') => {
            let s = &text[1..text.len() - 1];
            match slot {
                Value::String(old) => {
                    old.clear();
                    old.push_str(s);
                }
                _ => *slot = Value::String(s.to_string()),
            }
            return Some(());
        }
        Some(b'{') => {
            if let Some(filled) = refill_object(slot, text) {
                return filled;
            }
        }
        Some(b'[') => {
            if let Some(filled) = refill_array(slot, text) {
                return filled;
            }
        }
        Some(b'0'..=b'9') if text.bytes().all(|c| c.is_ascii_digit()) => {
            if let Ok(n) = text.parse::<u64>() {
                *slot = Value::Number(n.into());
                return Some(());
            }
        }
        _ => {}
    }
    *slot = match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => serde_json::from_str(text).ok()?,
    };
    Some(())
}

/// The object `text` into `slot`, read whole and in place: `None` when it is left to
/// serde_json (an escaped key, more than `REFILLED_KEYS` members; `slot` may then hold part
/// of it), else what `fill_whole` answers.
fn refill_object(slot: &mut Value, text: &str) -> Option<Option<()>> {
    if !slot.is_object() {
        *slot = Value::Object(serde_json::Map::new());
    }
    let Value::Object(map) = slot else {
        unreachable!("made an object above")
    };
    let mut keys = [""; REFILLED_KEYS];
    let (mut n, mut filled, mut more) = (0, true, false);
    scan::members(text, |key, start, end| {
        if !filled || more {
            return;
        }
        if n == keys.len() {
            more = true;
            return;
        }
        keys[n] = key;
        n += 1;
        let slot = match map.get_mut(key) {
            Some(slot) => slot,
            None => map.entry(key.to_string()).or_insert(Value::Null),
        };
        filled = fill_whole(slot, &text[start..end]).is_some();
    })?;
    if more {
        return None;
    }
    // Keys the previous value had and this one has not: every key seen is in the map, so
    // there are some exactly when it holds more than the distinct keys seen (a key given
    // twice keeps its last value, as in a `Value`).
    let keys = &keys[..n];
    let distinct = (0..n).filter(|&i| !keys[..i].contains(&keys[i])).count();
    if map.len() > distinct {
        map.retain(|k, _| keys.contains(&k.as_str()));
    }
    Some(filled.then_some(()))
}

/// The array `text` into `slot`, element by element and in place: `None` when it is left to
/// serde_json, else what `fill_whole` answers.
fn refill_array(slot: &mut Value, text: &str) -> Option<Option<()>> {
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Value::Array(items) = slot else {
        unreachable!("made an array above")
    };
    let (mut n, mut filled) = (0, true);
    scan::elements(text, |start, end| {
        if !filled {
            return;
        }
        if n == items.len() {
            items.push(Value::Null);
        }
        filled = fill_whole(&mut items[n], &text[start..end]).is_some();
        n += 1;
    })?;
    items.truncate(n);
    Some(filled.then_some(()))
}

/// What a worker keeps from one line to the next for the fast path.
#[derive(Default)]
struct Scratch {
    /// The members the rules read (index in `need.keys`, span of the value's text), in order.
    kept: Vec<(usize, usize, usize)>,
    /// The last event read the fast way, refilled by the next (`Null` at first, or after a
    /// line the fast path gave up on).
    event: Value,
    /// Per log type (index in `Program::types`), the last event of that type, kept while
    /// events of other types take `event`: the keys an event has depend on its type, so
    /// each type's event is refilled in place where one event for all would have keys
    /// removed and inserted at every change of type.
    of_type: Vec<Value>,
    /// Per key of `need.keys`, whether this event has it.
    seen: Vec<bool>,
}

/// The rules compiled for one pass: what to parse, and which rules each log type runs.
pub struct Program<'r> {
    rules: &'r [&'r Rule],
    need: Need,
    log_type_of: &'r LogTypeOf,
    /// The log types some rule runs on, in the order the rules first name them (few: a list
    /// compared by length and bytes is cheaper than hashing the log type of every event).
    types: Vec<LogType<'r>>,
    groups: Vec<usize>,
    /// The fast path (`scan`), unless some rule reads the whole event.
    fast: Option<Fast>,
}

/// The first 8 bytes of a key (fewer, zero-padded, when it is shorter).
fn head(key: &str) -> u64 {
    // Without a call to `memcpy` for the shorter copy.
    match key.as_bytes() {
        [a, b, c, d, e, f, g, h, ..] => u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]),
        short => short.iter().rev().fold(0, |h, &c| (h << 8) | u64::from(c)),
    }
}

/// Two keys are equal (short ones compared without a call to `memcmp`).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// What the fast path needs: the top-level keys of `Program::need` by length (indexes into
/// its `keys`), and where the log type is among them.
struct Fast {
    /// With each key, its first bytes (`head`), compared before the rest.
    by_len: Vec<Vec<(u64, usize)>>,
    log_type: Option<usize>,
}

/// One log type some rule runs on.
struct LogType<'r> {
    name: &'r str,
    /// The (group, rule) pairs to evaluate; a group is one (rule, log type) entry, numbered
    /// in output order.
    pairs: Vec<(usize, usize)>,
    /// For the fast path, per key of `Program::need`, the part of its value that this log
    /// type's rules read (`None`: they do not read it).
    reads: Vec<Option<Need>>,
}

/// What a chunk of input gave.
#[derive(Default)]
struct Outcome {
    events: u64,
    skipped: u64,
    no_log_type: u64,
    /// Malformed lines, in input order.
    bad: Vec<BadLine>,
    /// (group, the reported part of the event as JSON text), in input order.
    matches: Vec<(usize, String)>,
    /// For a chunk of lines: the newlines in it (the lines of `bad` are then numbered from the
    /// chunk's start, and the collector makes them the file's), and whether it is its file's
    /// first.
    lines: Option<u64>,
    starts_file: bool,
}

impl<'r> Program<'r> {
    pub fn new(rules: &'r [&'r Rule], log_type_of: &'r LogTypeOf) -> Program<'r> {
        let mut need = Need::default();
        if let LogTypeOf::Field(f) = log_type_of {
            need.add_path(&FieldPath(vec![Step::Key(f.clone())]));
        }
        let mut types: Vec<LogType<'r>> = Vec::new();
        let mut groups = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            need.add_condition(&rule.condition.ir);
            for lt in &rule.log_types {
                let t = match types.iter().position(|t| t.name == lt) {
                    Some(t) => t,
                    None => {
                        types.push(LogType {
                            name: lt,
                            pairs: Vec::new(),
                            reads: Vec::new(),
                        });
                        types.len() - 1
                    }
                };
                types[t].pairs.push((groups.len(), i));
                groups.push(i);
            }
        }
        for t in &mut types {
            let mut n = Need::default();
            for &(_, i) in &t.pairs {
                n.add_condition(&rules[i].condition.ir);
            }
            t.reads = need
                .keys
                .iter()
                .map(|(k, _)| match n.whole {
                    true => Some(Need {
                        whole: true,
                        keys: Vec::new(),
                    }),
                    false => n
                        .keys
                        .iter()
                        .find(|(name, _)| name == k)
                        .map(|p| p.1.clone()),
                })
                .collect();
        }
        let fast = (!need.whole).then(|| {
            let mut by_len: Vec<Vec<(u64, usize)>> = Vec::new();
            for (i, (k, _)) in need.keys.iter().enumerate() {
                if by_len.len() <= k.len() {
                    by_len.resize(k.len() + 1, Vec::new());
                }
                by_len[k.len()].push((head(k), i));
            }
            let log_type = match log_type_of {
                LogTypeOf::Field(f) => need.keys.iter().position(|(k, _)| k == f),
                LogTypeOf::Fixed(_) => None,
            };
            Fast { by_len, log_type }
        });
        Program {
            rules,
            need,
            log_type_of,
            types,
            groups,
            fast,
        }
    }

    /// One event: `projected` holds what the rules read, `whole` gives the event itself (for
    /// the matches' output).
    fn event(&self, projected: &Value, whole: &mut dyn FnMut() -> Value, out: &mut Outcome) {
        let lt = match self.log_type_of {
            LogTypeOf::Fixed(t) => Some(t.as_str()),
            LogTypeOf::Field(f) => projected.get(f).and_then(Value::as_str),
        };
        if let Some(t) = self.log_type(lt, out) {
            self.typed(&self.types[t], projected, whole, out);
        }
    }

    /// The log type named `lt` when some rule runs on it; otherwise the event is counted as
    /// one without a log type (`None`) or of another log type.
    fn log_type(&self, lt: Option<&str>, out: &mut Outcome) -> Option<usize> {
        let Some(lt) = lt else {
            out.no_log_type += 1;
            return None;
        };
        let found = self.types.iter().position(|t| same(t.name, lt));
        if found.is_none() {
            out.skipped += 1;
        }
        found
    }

    /// `event`, of the log type `t`.
    fn typed(
        &self,
        t: &LogType<'r>,
        projected: &Value,
        whole: &mut dyn FnMut() -> Value,
        out: &mut Outcome,
    ) {
        out.events += 1;
        let mut event = None;
        for &(group, i) in &t.pairs {
            let rule = self.rules[i];
            if eval(&rule.condition.ir, projected) {
                let event = event.get_or_insert_with(&mut *whole);
                // A rule without output fields reports the whole event: printed from it
                // rather than from a copy.
                let shown = match rule.output_fields.is_empty() {
                    true => event.to_string(),
                    false => project(rule, event.clone()).to_string(),
                };
                out.matches.push((group, shown));
            }
        }
    }

    /// One line of JSON Lines, as `run::read_events` reads it (`number` counts from 1).
    fn line(
        &self,
        file: &str,
        number: u64,
        bytes: &[u8],
        scratch: &mut Scratch,
        out: &mut Outcome,
    ) {
        let bad = |message: String| BadLine {
            file: file.to_string(),
            line: number,
            message,
        };
        let Ok(line) = std::str::from_utf8(bytes) else {
            out.bad.push(bad("not valid UTF-8".into()));
            return;
        };
        let text = line.trim();
        if text.is_empty() {
            return;
        }
        if let Some(fast) = &self.fast {
            scratch.kept.clear();
            let scanned = scan::members(text, |key, start, end| {
                if let Some(i) = self.key_index(fast, key) {
                    scratch.kept.push((i, start, end));
                }
            });
            if scanned.is_some() && self.fast_event(fast, text, scratch, out) {
                return;
            }
        }
        let projected = match self.need.parse(text) {
            Ok(v) => v,
            // The error as a whole parse words it (and, should the two ever disagree, the
            // whole parse decides).
            Err(_) => match serde_json::from_str::<Value>(text) {
                Ok(v) => v,
                Err(e) => {
                    out.bad.push(bad(format!("not JSON: {e}")));
                    return;
                }
            },
        };
        if !projected.is_object() {
            out.bad.push(bad("not a JSON object".into()));
            return;
        }
        let mut whole = || serde_json::from_str(text).unwrap_or_else(|_| projected.clone());
        self.event(&projected, &mut whole, out);
    }

    /// The index in `need.keys` of a top-level key the rules read.
    fn key_index(&self, fast: &Fast, key: &str) -> Option<usize> {
        let candidates = fast.by_len.get(key.len())?;
        let head = head(key);
        candidates
            .iter()
            .find(|&&(h, i)| h == head && (key.len() <= 8 || same(&self.need.keys[i].0, key)))
            .map(|&(_, i)| i)
    }

    /// One event whose line `scan` vouched for, `scratch.kept` holding the members the rules
    /// read. Only what the rules of its log type read is built. False (nothing done) when a
    /// kept value is not what serde_json reads, for the caller to parse the line the slow way.
    fn fast_event(
        &self,
        fast: &Fast,
        text: &str,
        scratch: &mut Scratch,
        out: &mut Outcome,
    ) -> bool {
        let kept = &scratch.kept;
        let found;
        let lt = match self.log_type_of {
            LogTypeOf::Fixed(t) => Some(t.as_str()),
            LogTypeOf::Field(_) => {
                // The last one, as in a `Value`.
                let span = kept
                    .iter()
                    .rev()
                    .find(|&&(i, _, _)| Some(i) == fast.log_type)
                    .map(|&(_, s, e)| &text[s..e]);
                match span {
                    None => None,
                    Some(s) if s.len() >= 2 && s.starts_with('"') && !s.contains('\\') => {
                        Some(&s[1..s.len() - 1])
                    }
                    Some(s) => match serde_json::from_str::<Value>(s) {
                        Ok(v) => {
                            found = v;
                            found.as_str()
                        }
                        Err(_) => return false,
                    },
                }
            }
        };
        let Some(index) = self.log_type(lt, out) else {
            // No log type, or one no rule runs on: counted, and nothing more to read.
            return true;
        };
        let t = &self.types[index];
        if scratch.of_type.len() < self.types.len() {
            scratch.of_type.resize(self.types.len(), Value::Null);
        }
        std::mem::swap(&mut scratch.event, &mut scratch.of_type[index]);
        let built = self.build(fast, text, scratch, |i| t.reads[i].as_ref());
        if built.is_some() {
            let projected = &scratch.event;
            let mut whole = || serde_json::from_str(text).unwrap_or_else(|_| projected.clone());
            self.typed(t, projected, &mut whole, out);
        }
        std::mem::swap(&mut scratch.event, &mut scratch.of_type[index]);
        // When not built, nothing was counted yet: the caller reads the line the slow way.
        built.is_some()
    }

    /// Makes `scratch.event` the object of the kept members that `read` says are read, each
    /// value read through its `Need` (see `fill`). A key given twice keeps its last value, as
    /// in a `Value`. `None` when serde_json rejects a value (`scratch.event` is then reset).
    fn build<'n>(
        &'n self,
        fast: &Fast,
        text: &str,
        scratch: &mut Scratch,
        read: impl Fn(usize) -> Option<&'n Need>,
    ) -> Option<()> {
        let Scratch {
            kept, event, seen, ..
        } = scratch;
        if !event.is_object() {
            *event = Value::Object(serde_json::Map::new());
        }
        let Value::Object(map) = event else {
            unreachable!("made an object above")
        };
        seen.clear();
        seen.resize(self.need.keys.len(), false);
        let mut distinct = 0;
        for &(i, start, end) in kept.iter() {
            let Some(need) = read(i) else { continue };
            let name = &self.need.keys[i].0;
            let slot = match map.get_mut(name) {
                Some(slot) => slot,
                None => map.entry(name.clone()).or_insert(Value::Null),
            };
            if fill(slot, &text[start..end], need).is_none() {
                *event = Value::Null;
                return None;
            }
            if !seen[i] {
                seen[i] = true;
                distinct += 1;
            }
        }
        // Keys the previous event had and this one has not: every key seen is in the map, so
        // there are some exactly when it holds more.
        if map.len() > distinct {
            map.retain(|k, _| self.key_index(fast, k).is_some_and(|i| seen[i]));
        }
        Some(())
    }

    /// Lines separated by newlines, the first numbered `first` (a final newline does not
    /// start another line); the number of newlines.
    fn lines(&self, file: &str, first: u64, data: &[u8], out: &mut Outcome) -> u64 {
        let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
        let mut start = 0;
        let mut scratch = Scratch::default();
        let mut number = first;
        for end in ends {
            if end > start || end < data.len() {
                self.line(file, number, &data[start..end], &mut scratch, out);
            }
            number += 1;
            start = end + 1;
        }
        // The last `end` is `data.len()`, not a newline.
        number - first - 1
    }
}

/// Where two engines' matches (rule index, reported event, in output order) differ: per rule,
/// the counts and the first event only one of them reports. Empty when they agree.
pub fn disagreements(
    rules: &[&Rule],
    ours: &[(usize, Value)],
    theirs: &[(usize, Value)],
) -> Vec<String> {
    let of = |all: &[(usize, Value)], i: usize| -> Vec<String> {
        all.iter()
            .filter(|(r, _)| *r == i)
            .map(|(_, e)| e.to_string())
            .collect()
    };
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let (a, b) = (of(ours, i), of(theirs, i));
        if a == b {
            continue;
        }
        let only = |x: &[String], y: &[String]| {
            let y: std::collections::HashSet<&String> = y.iter().collect();
            x.iter().find(|e| !y.contains(e)).cloned()
        };
        let first = match (only(&a, &b), only(&b, &a)) {
            (Some(e), _) => format!("; only native matches {e}"),
            (None, Some(e)) => format!("; only SQLite matches {e}"),
            (None, None) => "; the same events in another order".into(),
        };
        out.push(format!(
            "{}: native {} match{}, SQLite {}{first}",
            rule.rule_id,
            a.len(),
            if a.len() == 1 { "" } else { "es" },
            b.len(),
        ));
    }
    out
}

/// A piece of input, numbered in input order.
enum Chunk {
    /// Whole lines of a JSON Lines file, `data[..len]` (its buffer is given back to the
    /// reader afterwards); `starts_file` for the file's first chunk.
    Lines {
        file: usize,
        starts_file: bool,
        data: Vec<u8>,
        len: usize,
    },
    /// Events of a JSON array.
    Events(Vec<Value>),
}

enum Message {
    Done(Outcome),
    /// A malformed JSON array, reported by the reader.
    Bad(BadLine),
    Failed(String),
    End,
}

/// Runs the rules over the files: malformed lines go to `on_bad` as they are met (in input
/// order), matches to `on_match` at the end, in the SQL engines' order. `Ok(None)` when
/// `--strict` stopped at a malformed line.
pub fn run(
    opts: &Options<'_>,
    rules: &[&Rule],
    on_bad: &mut dyn FnMut(&BadLine),
    on_match: &mut dyn FnMut(Match),
) -> Result<Option<Scan>, String> {
    let program = Program::new(rules, opts.log_type_of);
    let workers = crate::par::threads();
    let names: Vec<String> = opts.files.iter().map(|f| f.display().to_string()).collect();
    let pb = crate::run::progress_bar(opts.files, opts.progress, "reading");
    let stop = AtomicBool::new(false);
    let mut store = Store::new(program.groups.len(), MATCH_MEMORY);

    let (work_tx, work_rx) = sync_channel::<(usize, Chunk)>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = channel::<(usize, Message)>();
    let (token_tx, token_rx) = sync_channel::<()>(IN_FLIGHT);
    // Chunk buffers the workers are done with, for the reader to fill again (so that they are
    // not allocated, zeroed and faulted in anew for every megabyte).
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    let result = std::thread::scope(|s| {
        for _ in 0..workers {
            let (done_tx, free_tx) = (done_tx.clone(), free_tx.clone());
            let (work_rx, program, names) = (&work_rx, &program, &names);
            s.spawn(move || {
                loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((seq, chunk))) = next else { return };
                    // A panic in a worker is an error for the run, never a hang: the
                    // collector would otherwise wait for this chunk forever.
                    let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let mut out = Outcome::default();
                        match chunk {
                            Chunk::Lines {
                                file,
                                starts_file,
                                data,
                                len,
                            } => {
                                let lines = program.lines(&names[file], 1, &data[..len], &mut out);
                                out.lines = Some(lines);
                                out.starts_file = starts_file;
                                // A buffer grown for a long line is not kept.
                                if data.len() <= 2 * BUFFER_BYTES {
                                    let _ = free_tx.send(data);
                                }
                            }
                            Chunk::Events(events) => {
                                for ev in events {
                                    program.event(&ev, &mut || ev.clone(), &mut out);
                                }
                            }
                        }
                        out
                    }));
                    let msg = match work {
                        Ok(out) => Message::Done(out),
                        Err(_) => Message::Failed(format!(
                            "internal error: the native engine failed on input chunk {seq}; \
                             please report it (--engine sqlite runs the same rules)"
                        )),
                    };
                    if done_tx.send((seq, msg)).is_err() {
                        return;
                    }
                }
            });
        }
        let reader = {
            let (pb, stop, names) = (&pb, &stop, &names);
            s.spawn(move || read(opts, names, pb, stop, token_tx, work_tx, done_tx, free_rx))
        };
        let r = collect(
            done_rx,
            token_rx,
            &stop,
            opts.strict,
            &mut |b| pb.suspend(|| on_bad(b)),
            &mut store,
        );
        let _ = reader.join();
        r
    });
    pb.finish_and_clear();
    let Some(scan) = result? else {
        return Ok(None);
    };
    store.finish(&program.groups, on_match)?;
    Ok(Some(scan))
}

#[allow(clippy::too_many_arguments)]
/// The reader thread: cuts the files into chunks, numbered from 0, each sent after taking a
/// token (so that at most `IN_FLIGHT` are pending), then `End`.
fn read(
    opts: &Options<'_>,
    names: &[String],
    pb: &indicatif::ProgressBar,
    stop: &AtomicBool,
    token_tx: SyncSender<()>,
    work_tx: SyncSender<(usize, Chunk)>,
    done_tx: std::sync::mpsc::Sender<(usize, Message)>,
    free: Receiver<Vec<u8>>,
) {
    let mut seq = 0usize;
    // Takes a token; false when the collector has stopped.
    let mut next = |seq: &mut usize| -> Option<usize> {
        if stop.load(Ordering::Relaxed) || token_tx.send(()).is_err() {
            return None;
        }
        *seq += 1;
        Some(*seq - 1)
    };
    for (i, f) in opts.files.iter().enumerate() {
        let failed = |e: std::io::Error| format!("{}: {e}", f.display());
        let mut reader = match crate::run::open(f, pb) {
            Ok(r) => r,
            Err(e) => {
                if let Some(n) = next(&mut seq) {
                    let _ = done_tx.send((n, Message::Failed(failed(e))));
                }
                return;
            }
        };
        let flow = match crate::run::starts_array(&mut reader) {
            Ok(true) => read_array(reader, &names[i], &mut next, &mut seq, &work_tx, &done_tx),
            Ok(false) => read_lines(reader, i, &mut next, &mut seq, &work_tx, &free),
            Err(e) => Err(e),
        };
        match flow {
            Ok(ControlFlow::Continue(())) => {}
            Ok(ControlFlow::Break(())) => return,
            Err(e) => {
                if let Some(n) = next(&mut seq) {
                    let _ = done_tx.send((n, Message::Failed(failed(e))));
                }
                return;
            }
        }
    }
    if let Some(n) = next(&mut seq) {
        let _ = done_tx.send((n, Message::End));
    }
}

type NextSeq<'a> = dyn FnMut(&mut usize) -> Option<usize> + 'a;

fn read_lines(
    mut reader: Box<dyn BufRead>,
    file: usize,
    next: &mut NextSeq<'_>,
    seq: &mut usize,
    work_tx: &SyncSender<(usize, Chunk)>,
    free: &Receiver<Vec<u8>>,
) -> std::io::Result<ControlFlow<()>> {
    // A buffer given back by a worker, or a new one; all of it is initialised, and `read`
    // writes into it in place.
    let buffer = |at_least: usize| {
        let mut b = free.try_recv().unwrap_or_default();
        if b.len() < at_least {
            b.resize(at_least, 0);
        }
        b
    };
    let mut starts_file = true;
    let mut data = buffer(BUFFER_BYTES);
    // Bytes in `data`: the rest of the previous chunk's last line, then what was read.
    let mut filled = 0;
    loop {
        // Whether `data[..filled]` has a newline (the previous chunk's rest has none).
        let mut newline = false;
        let eof = loop {
            if filled == data.len() {
                // A line longer than a chunk makes a longer chunk.
                data.resize(2 * data.len(), 0);
            }
            let n = match reader.read(&mut data[filled..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break true;
            }
            newline = newline || memchr::memchr(b'\n', &data[filled..filled + n]).is_some();
            filled += n;
            // A chunk ends at a newline.
            if filled >= CHUNK_BYTES && newline {
                break false;
            }
        };
        let len = if eof {
            filled
        } else {
            memchr::memrchr(b'\n', &data[..filled]).expect("a newline was seen") + 1
        };
        let mut rest = buffer(BUFFER_BYTES.max(filled - len + (1 << 16)));
        rest[..filled - len].copy_from_slice(&data[len..filled]);
        filled -= len;
        if len > 0 {
            let Some(n) = next(seq) else {
                return Ok(ControlFlow::Break(()));
            };
            let chunk = Chunk::Lines {
                file,
                starts_file,
                data: std::mem::replace(&mut data, rest),
                len,
            };
            starts_file = false;
            if work_tx.send((n, chunk)).is_err() {
                return Ok(ControlFlow::Break(()));
            }
        } else {
            data = rest;
        }
        if eof {
            return Ok(ControlFlow::Continue(()));
        }
    }
}

fn read_array(
    reader: Box<dyn BufRead>,
    name: &str,
    next: &mut NextSeq<'_>,
    seq: &mut usize,
    work_tx: &SyncSender<(usize, Chunk)>,
    done_tx: &std::sync::mpsc::Sender<(usize, Message)>,
) -> std::io::Result<ControlFlow<()>> {
    let mut batch = Vec::new();
    let mut send = |batch: &mut Vec<Value>, seq: &mut usize| -> ControlFlow<()> {
        if batch.is_empty() {
            return ControlFlow::Continue(());
        }
        let Some(n) = next(seq) else {
            return ControlFlow::Break(());
        };
        match work_tx.send((n, Chunk::Events(std::mem::take(batch)))) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    };
    // Malformed arrays are reported after the events before the error, in order.
    let mut bad = Vec::new();
    let flow = crate::run::read_array(
        reader,
        name,
        &mut |ev: Value| {
            batch.push(ev);
            if batch.len() >= CHUNK_EVENTS {
                return send(&mut batch, seq);
            }
            ControlFlow::Continue(())
        },
        &mut |b| {
            bad.push(b);
            ControlFlow::Continue(())
        },
    )?;
    if flow.is_break() || send(&mut batch, seq).is_break() {
        return Ok(ControlFlow::Break(()));
    }
    for b in bad {
        let Some(n) = next(seq) else {
            return Ok(ControlFlow::Break(()));
        };
        if done_tx.send((n, Message::Bad(b))).is_err() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Takes the workers' results in input order. Returning drops both receivers, which stops the
/// reader and the workers.
fn collect(
    done_rx: Receiver<(usize, Message)>,
    token_rx: Receiver<()>,
    stop: &AtomicBool,
    strict: bool,
    on_bad: &mut dyn FnMut(&BadLine),
    store: &mut Store,
) -> Result<Option<Scan>, String> {
    /// However the collector returns, the reader stops.
    struct Halt<'a>(&'a AtomicBool);
    impl Drop for Halt<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _halt = Halt(stop);
    let mut scan = Scan::default();
    // Lines of the current file before the current chunk.
    let mut lines_before = 0;
    let mut pending = BTreeMap::new();
    let mut next = 0usize;
    loop {
        let Ok((seq, msg)) = done_rx.recv() else {
            return Err("the reader stopped without finishing".into());
        };
        pending.insert(seq, msg);
        while let Some(msg) = pending.remove(&next) {
            next += 1;
            let _ = token_rx.recv();
            let mut out = match msg {
                Message::Done(out) => out,
                Message::Bad(b) => Outcome {
                    bad: vec![b],
                    ..Outcome::default()
                },
                Message::Failed(e) => return Err(e),
                Message::End => return Ok(Some(scan)),
            };
            if let Some(lines) = out.lines {
                if out.starts_file {
                    lines_before = 0;
                }
                for b in &mut out.bad {
                    b.line += lines_before;
                }
                lines_before += lines;
            }
            for b in &out.bad {
                scan.bad_lines += 1;
                on_bad(b);
                if strict {
                    return Ok(None);
                }
            }
            scan.events += out.events;
            scan.skipped += out.skipped;
            scan.no_log_type += out.no_log_type;
            for (g, text) in out.matches {
                store
                    .push(g, &text)
                    .map_err(|e| format!("spilling matches: {e}"))?;
            }
        }
    }
}

/// The matches of each group, in memory up to a limit, then in a temporary file.
struct Store {
    memory: Vec<Vec<u8>>,
    in_memory: usize,
    limit: usize,
    spill: Option<(Spill, File)>,
    /// Per group, (offset, length) of its spilled runs, in order.
    runs: Vec<Vec<(u64, u64)>>,
    spilled: u64,
}

/// Removes the spill file.
struct Spill(PathBuf);

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Store {
    fn new(groups: usize, limit: usize) -> Store {
        Store {
            memory: vec![Vec::new(); groups],
            in_memory: 0,
            limit,
            spill: None,
            runs: vec![Vec::new(); groups],
            spilled: 0,
        }
    }

    /// One match, one line of JSON (which has no newline of its own).
    fn push(&mut self, group: usize, text: &str) -> std::io::Result<()> {
        let buf = &mut self.memory[group];
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        self.in_memory += text.len() + 1;
        if self.in_memory > self.limit {
            self.spill_all()?;
        }
        Ok(())
    }

    fn spill_all(&mut self) -> std::io::Result<()> {
        if self.spill.is_none() {
            let path = std::env::temp_dir().join(format!(
                "ruleqc-run-{}-{}.matches",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |t| t.as_nanos())
            ));
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            self.spill = Some((Spill(path), file));
        }
        let (_, file) = self.spill.as_mut().expect("opened above");
        let mut w = std::io::BufWriter::new(file);
        for (g, buf) in self.memory.iter_mut().enumerate() {
            if buf.is_empty() {
                continue;
            }
            w.write_all(buf)?;
            self.runs[g].push((self.spilled, buf.len() as u64));
            self.spilled += buf.len() as u64;
            *buf = Vec::new();
        }
        w.flush()?;
        self.in_memory = 0;
        Ok(())
    }

    /// Every match, group by group.
    fn finish(mut self, groups: &[usize], on_match: &mut dyn FnMut(Match)) -> Result<(), String> {
        let err = |e: std::io::Error| format!("reading spilled matches: {e}");
        for (g, &rule) in groups.iter().enumerate() {
            let mut texts = Vec::new();
            for &(offset, len) in &self.runs[g] {
                let (_, file) = self.spill.as_mut().expect("runs are in the spill file");
                let mut run = vec![0; len as usize];
                file.seek(SeekFrom::Start(offset)).map_err(err)?;
                file.read_exact(&mut run).map_err(err)?;
                texts.push(run);
            }
            texts.push(std::mem::take(&mut self.memory[g]));
            for text in texts {
                for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let event: Value = serde_json::from_slice(line)
                        .map_err(|e| format!("reading a match back: {e}"))?;
                    on_match(Match { rule, event });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(conditions: &[&str]) -> Need {
        let mut n = Need::default();
        for c in conditions {
            let ast = crate::syntax::parse(c).unwrap();
            let node =
                crate::ir::normalize::normalize(crate::ir::lower::lower_condition(&ast).unwrap());
            n.add_condition(&node);
        }
        n
    }

    /// The projection keeps what the conditions read and nothing else.
    #[test]
    fn reads_only_what_conditions_read() {
        let n = need(&[
            "a.b eq 1",
            "c[*].x eq field(d.e)",
            "f[1] eq 2",
            "any g (h eq field(i))",
        ]);
        let v = n
            .parse(
                r#"{"a": {"b": 1, "z": [1, 2]}, "c": [{"x": 1, "q": 2}], "d": {"e": 1, "w": 0},
                "f": [0, 2], "g": [{"h": 1}], "i": 1, "j": {"big": [1, 2, 3]}, "a2": 5}"#,
            )
            .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": {"b": 1}, "c": [{"x": 1, "q": 2}], "d": {"e": 1},
                "f": [0, 2], "g": [{"h": 1}]})
        );
        // A path through a value that is not an object reads nothing of it.
        assert_eq!(
            n.parse(r#"{"a": [1], "d": "text"}"#).unwrap(),
            serde_json::json!({"a": null, "d": null})
        );
        // A key read whole after a deeper path through it was read.
        assert_eq!(
            need(&["k.a eq 1", "k is_not_empty"])
                .parse(r#"{"k": {"a": 1, "b": 2}}"#)
                .unwrap(),
            serde_json::json!({"k": {"a": 1, "b": 2}})
        );
    }

    /// A projected parse accepts and rejects exactly the texts a `Value` does, with the
    /// same kind of top-level value.
    #[test]
    fn projection_accepts_what_value_accepts() {
        let n = need(&["a eq 1", "o.k eq 1"]);
        let texts = [
            r#"{"a": 1, "b": "x", "c": null, "d": true, "e": 1.5, "f": [1, {"g": 2}], "h": {}}"#,
            r#"{"big": 9007199254740993, "huge": 18446744073709551615, "a": -1}"#,
            r#"{"a": 1, "a": "last"}"#,
            r#"{"z": {"b": 1e400}}"#,
            r#"{"z": {"b": "\ud800"}}"#,
            r#"{"z": ["\ud800\u0041"]}"#,
            r#"{"z": {"b": 1.5e-400}}"#,
            r#"{"z": [01]}"#,
            "{\"z\": {\"b\": \"x\u{1}\"}}",
            r#"{"z": {"\x": 1}}"#,
            r#"{"o": {"k": 1, "\x": 1}}"#,
            r#"{"a": 1} trailing"#,
            r#"{"a": 1"#,
            r#"[1, 2]"#,
            r#""text""#,
            r#"12"#,
            r#"null"#,
            &format!("{}1{}", "[".repeat(200), "]".repeat(200)),
            &format!("{{\"z\": {}1{}}}", "[".repeat(126), "]".repeat(126)),
            &format!("{{\"z\": {}1{}}}", "[".repeat(127), "]".repeat(127)),
        ];
        for text in texts {
            let value = serde_json::from_str::<Value>(text);
            let projected = n.parse(text);
            assert_eq!(
                value.is_ok(),
                projected.is_ok(),
                "{text}: {value:?} vs {projected:?}"
            );
            if let (Err(a), Err(b)) = (&value, &projected) {
                assert_eq!(a.to_string(), b.to_string(), "{text}");
            }
            if let (Ok(v), Ok(p)) = (value, projected) {
                assert_eq!(v.is_object(), p.is_object(), "{text}");
                assert_eq!(v.get("a"), p.get("a"), "{text}");
            }
        }
    }

    /// The rules of `rules/`, run on `p_log_type`, as the differential tests use them.
    fn with_rules_of_repo<T>(f: impl FnOnce(&Program<'_>) -> T) -> T {
        let loaded = crate::rule::load_paths(&["rules".into()]).unwrap();
        let rules: Vec<&Rule> = loaded.iter().filter_map(|l| l.rule()).collect();
        let log_type_of = LogTypeOf::Field("p_log_type".into());
        let program = Program::new(&rules, &log_type_of);
        f(&program)
    }

    /// A line through the fast path and its fallback, as `line` takes it: the projection of
    /// every key the rules read, or the message of a malformed line.
    /// `scratch` carries the previous line's event, refilled by this one.
    fn fast_then_slow(p: &Program<'_>, text: &str, scratch: &mut Scratch) -> Result<Value, String> {
        let fast = p.fast.as_ref().unwrap();
        scratch.kept.clear();
        let scanned = scan::members(text, |key, start, end| {
            if let Some(i) = p.key_index(fast, key) {
                scratch.kept.push((i, start, end));
            }
        });
        if scanned.is_some()
            && p.build(fast, text, scratch, |i| Some(&p.need.keys[i].1))
                .is_some()
        {
            return Ok(scratch.event.clone());
        }
        slow(p, text)
    }

    /// Today's path, serde_json alone.
    fn slow(p: &Program<'_>, text: &str) -> Result<Value, String> {
        match p.need.parse(text) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err("not a JSON object".into()),
            Err(_) => Err(format!(
                "not JSON: {}",
                serde_json::from_str::<Value>(text).unwrap_err()
            )),
        }
    }

    /// The rules of `rules/` made into a program twice, with and without the fast path, for `f`.
    fn with_both_paths(f: impl FnOnce(&[&Rule], &Program<'_>, &Program<'_>)) {
        let loaded = crate::rule::load_paths(&["rules".into()]).unwrap();
        let rules: Vec<&Rule> = loaded.iter().filter_map(|l| l.rule()).collect();
        let log_type_of = LogTypeOf::Field("p_log_type".into());
        let p = Program::new(&rules, &log_type_of);
        let mut without = Program::new(&rules, &log_type_of);
        without.fast = None;
        f(&rules, &p, &without);
    }

    /// Every line, whole, through `line` with and without the fast path: the same counts,
    /// malformed lines with the same messages, the same matches.
    fn same_outcome(p: &Program<'_>, without: &Program<'_>, lines: &[Vec<u8>]) {
        assert!(p.fast.is_some() && without.fast.is_none());
        let run = |p: &Program<'_>| {
            let mut out = Outcome::default();
            let mut scratch = Scratch::default();
            for (n, line) in lines.iter().enumerate() {
                p.line("f", n as u64 + 1, line, &mut scratch, &mut out);
            }
            let bad: Vec<String> = out.bad.iter().map(|b| b.message.clone()).collect();
            (out.events, out.skipped, out.no_log_type, bad, out.matches)
        };
        assert_eq!(run(p), run(without));
    }

    /// The fast path holds to serde_json on every line: accepted exactly when serde_json
    /// accepts it, with its message, and the same projected value.
    /// `scratch` is kept from line to line, as a worker keeps it.
    fn agrees(p: &Program<'_>, text: &str, scratch: &mut Scratch) {
        let want = slow(p, text);
        let got = fast_then_slow(p, text, scratch);
        assert_eq!(got, want, "{text}");
        // The projection is a `Value`'s own keys.
        if let (Ok(whole), Ok(got)) = (serde_json::from_str::<Value>(text), &got) {
            for (k, v) in got.as_object().unwrap() {
                if p.need.keys.iter().any(|(n, need)| n == k && need.whole) {
                    assert_eq!(Some(v), whole.get(k), "{text}");
                }
            }
        }
    }

    /// Hand-written edge cases of numbers, strings, keys, nesting and framing, each as a
    /// value read by a rule (`eventName`), one read in part (`userIdentity`, an object) and
    /// one no rule reads.
    #[test]
    fn fast_path_agrees_with_serde_json_on_edge_cases() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let values = [
            "-0",
            "0",
            "-0.0",
            "1e400",
            "-1e400",
            "1E-400",
            "1e-400",
            "1.5e3",
            "9007199254740991",
            "9007199254740992",
            "9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "0.30000000000000000000000000000000000000000000001",
            "2.2250738585072011e-308",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            &"9".repeat(309),
            &"9".repeat(300),
            &format!("0.{}1", "0".repeat(400)),
            "01",
            "1.",
            ".5",
            "-",
            "+1",
            "1.e3",
            "0x10",
            "NaN",
            "Infinity",
            r#""plain""#,
            r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
            r#""\u0041\u00e9\u20ac""#,
            r#""\ud83d\ude00""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\ud800x""#,
            r#""\udbff\udfff""#,
            r#""\u12""#,
            r#""\uzzzz""#,
            r#""\x""#,
            r#""\u0000""#,
            "\"\u{1}\"",
            "\"\u{1f}\"",
            "\"\u{7f}\"",
            "\"é€😀\"",
            "\"\t\"",
            "true",
            "false",
            "null",
            "tru",
            "nul",
            "True",
            "[]",
            "{}",
            "[1,]",
            "[,1]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{1: 2}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"\ud800": 1}"#,
            r#"{"k\u00e9": 1}"#,
            &deep(60),
            &deep(99),
            &deep(100),
            &deep(125),
            &deep(126),
            &deep(127),
            &deep(128),
            &deep(200),
        ];
        with_rules_of_repo(|p| {
            let mut scratch = Scratch::default();
            for v in values {
                for line in [
                    format!(r#"{{"p_log_type": "AWS.CloudTrail", "eventName": {v}}}"#),
                    format!(r#"{{"eventName": {v}, "p_log_type": "AWS.CloudTrail"}}"#),
                    format!(
                        r#"{{"p_log_type": "AWS.CloudTrail", "userIdentity": {{"type": {v}, "x": {v}}}}}"#
                    ),
                    format!(r#"{{"p_log_type": "AWS.CloudTrail", "notReadByAnyRule": {v}}}"#),
                    format!(r#"{{"p_log_type": {v}}}"#),
                    format!(r#"{{"notReadByAnyRule": [{{"x": {v}}}]}}"#),
                    v.to_string(),
                ] {
                    agrees(p, &line, &mut scratch);
                }
            }
            // Values read whole are refilled in place from one line to the next: members and
            // elements come and go, keys repeat, types change.
            for v in [
                r#"{"a": 1, "b": [1, 2, 3], "c": {"d": "x"}}"#,
                r#"{"a": 2, "b": [4], "c": {"e": "y"}}"#,
                r#"{"a": 3, "a": 4, "b": []}"#,
                r#"{"a": 5, "b": 6}"#,
                r#"{"b": 7, "b": 8}"#,
                r#"{"a": "s", "a": "t", "c": {"d": 1, "d": 2}}"#,
                r#"{"a": "\u0041"}"#,
                r#"{"a\u0041": 1}"#,
                r#"{"a": 9, "b": 10}"#,
                r#"[{"a": 1, "b": 2}, {"a": 3}, [5, 6]]"#,
                r#"[{"a": 1}, [5]]"#,
                r#"[{"b": 2}, 7, [], {}]"#,
                "[1, -1, 0, -0, 1.5, 18446744073709551615, 18446744073709551616]",
                "[2]",
                "[]",
                r#"{"k0": 0, "k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17, "k18": 18, "k19": 19, "k20": 20, "k21": 21, "k22": 22, "k23": 23, "k24": 24, "k25": 25, "k26": 26, "k27": 27, "k28": 28, "k29": 29, "k30": 30, "k31": 31, "k32": 32}"#,
                r#"{"k0": 0, "z": 1}"#,
                "\"plain\"",
                r#"{"a": 1}"#,
            ] {
                for line in [
                    format!(
                        r#"{{"p_log_type": "AWS.CloudTrail", "userIdentity": {{"type": {v}}}}}"#
                    ),
                    format!(
                        r#"{{"p_log_type": "AWS.CloudTrail", "userIdentity": {{"type": {v}}}, "resources": {v}}}"#
                    ),
                ] {
                    agrees(p, &line, &mut scratch);
                }
            }
            for line in [
                "{}",
                " {} ",
                "\t{\"a\":1}\r",
                "{\"a\":1}\u{a0}",
                "{\"a\":1} x",
                "{\"a\":1}}",
                "{\"a\":1",
                "{\"a\"",
                "{",
                "}",
                "[1, 2]",
                "\"text\"",
                "12",
                "null",
                "{,}",
                r#"{"eventName": "a", "eventName": "b"}"#,
                r#"{"p_log_type": "AWS.CloudTrail", "p_log_type": "Okta.SystemLog"}"#,
                r#"{"p_log_type": "AWS.CloudTrail", "eventName": "a", "eventName": 1e400}"#,
                r#"{"p_log_type": "AWS.CloudTrail", "eventName": 1, "x": "\ud800"}"#,
                r#"{"p_log_type": "AWS\u002eCloudTrail", "eventName": "ConsoleLogin"}"#,
                r#"{"p_log_type" : "Okta.SystemLog" , "eventType" : "user.session.start" }"#,
            ] {
                agrees(p, line, &mut scratch);
            }
        });
    }

    /// The engine's own lines (log types, the projection per log type, counts, matches and
    /// messages, invalid UTF-8 too) are the same with and without the fast path; and the fast
    /// path is taken for ordinary lines.
    #[test]
    fn engine_lines_agree_with_and_without_fast_path() {
        with_both_paths(|rules, p, without| {
            let mut lines: Vec<Vec<u8>> = Vec::new();
            // Events of the rules' own tests, as JSON Lines.
            for rule in rules {
                for t in &rule.tests {
                    lines.push(t.log.to_string().into_bytes());
                }
            }
            assert!(lines.len() > 50, "{}", lines.len());
            lines.push(b"{\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": \"\xff\"}".to_vec());
            lines.push(b"{\"p_log_type\": \"AWS.CloudTrail\", \"eventName\": 1e400}".to_vec());
            lines.push(b"{\"p_log_type\": 7}".to_vec());
            lines.push(b"{\"p_log_type\": \"Nobody.Reads\"}".to_vec());
            lines.push(b"[1]".to_vec());
            same_outcome(p, without, &lines);
            let mut out = Outcome::default();
            let fast = p.fast.as_ref().unwrap();
            let mut scratch = Scratch::default();
            let text = std::str::from_utf8(&lines[0]).unwrap();
            assert!(
                scan::members(text, |k, s, e| if let Some(i) = p.key_index(fast, k) {
                    scratch.kept.push((i, s, e))
                })
                .is_some()
            );
            assert!(p.fast_event(fast, text, &mut scratch, &mut out));
        });
    }

    /// Generated lines: objects of members whose keys the rules read or not (repeated at
    /// times), whose values mix edge-case numbers and strings, nested containers, and
    /// framing faults.
    mod generated {
        use super::*;
        use proptest::prelude::*;

        fn scalar() -> impl Strategy<Value = String> {
            prop_oneof![
                8 => "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,25})?",
                1 => "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,25})?[eE][+-]?[0-9]{1,3}",
                1 => "-?0[0-9]{1,3}|-|[0-9]+\\.|\\.[0-9]",
                8 => "\"([a-zé😀 ]|\\\\[\"\\\\/bfnrt]|\\\\u00[0-9a-fA-F]{2})*\"",
                1 => "\"(\\\\u[0-9a-fA-F]{4}|\\\\u[dD][89abAB][0-9a-f]{2}\\\\u[dD][c-fC-F][0-9a-f]{2}|\\\\[xu]|[\\x00-\\x1f]|a)*\"",
                2 => prop::sample::select(vec![
                    "true", "false", "null", "true", "false", "null", "tru", "-0", "1e400",
                    "1E-400", "9007199254740993", "18446744073709551616", "\"\\ud800\"",
                ])
                .prop_map(str::to_string),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            scalar().prop_recursive(4, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4)
                        .prop_map(|v| format!("[{}]", v.join(","))),
                    prop::collection::vec((key(), inner), 0..4).prop_map(|m| {
                        let m: Vec<String> =
                            m.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                        format!("{{{}}}", m.join(","))
                    }),
                ]
            })
        }

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                4 => prop::sample::select(vec![
                    "\"p_log_type\"", "\"eventName\"", "\"userIdentity\"", "\"type\"",
                    "\"eventType\"", "\"sourceIPAddress\"", "\"errorCode\"", "\"x\"",
                    "\"event\\u004eame\"", "\"\"",
                ])
                .prop_map(str::to_string),
                2 => "\"[a-zA-Z_]{1,12}\"",
            ]
        }

        fn log_type() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "\"AWS.CloudTrail\"",
                "\"Okta.SystemLog\"",
                "\"GitHub.Audit\"",
                "\"Other\"",
                "1",
                "\"AWS.Cloud\\u0054rail\"",
            ])
            .prop_map(str::to_string)
        }

        fn line() -> impl Strategy<Value = String> {
            (
                prop::option::of(log_type()),
                prop::collection::vec((key(), value()), 0..6),
                prop::sample::select(vec!["", "", "", " ", "\t", "\r", "\u{a0}"]),
                prop::sample::select(vec!["", "", "", "", "", "", "", "", " x", "}", ",", "]"]),
                prop::sample::select(vec![" ", "", "\n"]),
            )
                .prop_map(|(lt, members, pad, trailing, sep)| {
                    let mut m: Vec<String> = members
                        .into_iter()
                        .map(|(k, v)| format!("{k}:{sep}{v}"))
                        .collect();
                    if let Some(lt) = lt {
                        m.insert(m.len() / 2, format!("\"p_log_type\":{lt}"));
                    }
                    format!("{pad}{{{}}}{trailing}{pad}", m.join(&format!(",{sep}")))
                })
        }

        /// The rules are loaded once, and the cases run by hand.
        #[test]
        fn fast_path_agrees_with_serde_json_on_generated_lines() {
            with_both_paths(|_, p, without| {
                let (lines_seen, scanned) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
                let scratch = std::cell::RefCell::new(Scratch::default());
                let mut runner =
                    proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(1500));
                runner
                    .run(&prop::collection::vec(line(), 1..8), |lines| {
                        for l in &lines {
                            agrees(p, l, &mut scratch.borrow_mut());
                            lines_seen.set(lines_seen.get() + 1);
                            if scan::members(l, |_, _, _| ()).is_some() {
                                scanned.set(scanned.get() + 1);
                            }
                        }
                        let bytes: Vec<Vec<u8>> =
                            lines.iter().map(|l| l.clone().into_bytes()).collect();
                        same_outcome(p, without, &bytes);
                        Ok(())
                    })
                    .unwrap();
                // Both paths are exercised: many lines are taken by the fast path, many are not.
                let (seen, fast) = (lines_seen.get(), scanned.get());
                eprintln!("{fast} of {seen} generated lines taken by the fast path");
                assert!(fast * 5 > seen && fast * 5 < seen * 4, "{fast} of {seen}");
            });
        }
    }

    /// `--engine verify`'s comparison names the rule, the counts and an event only one side
    /// reports, and is silent when the two agree.
    #[test]
    fn disagreements_name_rule_and_event() {
        let loaded = crate::rule::load_paths(&["rules/teleport".into()]).unwrap();
        let rules: Vec<&Rule> = loaded.iter().filter_map(|l| l.rule()).collect();
        assert!(rules.len() >= 2);
        let e = |n: i64| serde_json::json!({"n": n});
        let ours = vec![(0, e(1)), (0, e(2)), (1, e(3))];
        assert!(disagreements(&rules, &ours, &ours).is_empty());
        let theirs = vec![(0, e(1)), (1, e(3))];
        let d = disagreements(&rules, &ours, &theirs);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with(&format!("{}: native 2 matches, SQLite 1", rules[0].rule_id)));
        assert!(d[0].ends_with(r#"only native matches {"n":2}"#), "{d:?}");
        let swapped = vec![(0, e(2)), (0, e(1)), (1, e(3))];
        let d = disagreements(&rules, &ours, &swapped);
        assert!(d[0].ends_with("the same events in another order"), "{d:?}");
        let d = disagreements(&rules, &theirs, &ours);
        assert!(d[0].ends_with(r#"only SQLite matches {"n":2}"#), "{d:?}");
    }

    /// A key's head is its first eight bytes, zero-padded, little-endian.
    #[test]
    fn head_is_the_first_eight_bytes() {
        for key in [
            "",
            "a",
            "ab",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "é",
            "\u{10ffff}x",
        ] {
            let mut b = [0u8; 8];
            let n = key.len().min(8);
            b[..n].copy_from_slice(&key.as_bytes()[..n]);
            assert_eq!(head(key), u64::from_le_bytes(b), "{key}");
        }
    }

    /// Matches beyond the memory limit go to the spill file and come back in order.
    #[test]
    fn store_spills_and_keeps_order() {
        let mut store = Store::new(3, 40);
        let mut want = vec![Vec::new(); 3];
        for i in 0..50 {
            let g = (i * 7) % 3;
            let text = serde_json::json!({"i": i}).to_string();
            store.push(g, &text).unwrap();
            want[g].push(i);
        }
        assert!(store.spill.is_some() && store.runs.iter().all(|r| r.len() > 1));
        let path = store.spill.as_ref().unwrap().0.0.clone();
        let mut got = vec![Vec::new(); 3];
        store
            .finish(&[0, 1, 2], &mut |m| {
                got[m.rule].push(m.event["i"].as_u64().unwrap() as usize)
            })
            .unwrap();
        assert_eq!(got, want);
        assert!(!path.exists(), "the spill file is removed");
    }
}
