//! The native engine for `ruleqc run`: the rules' normalised IR evaluated in process by the
//! reference evaluator (`ir::eval`), so its verdicts are the reference's by construction.
//!
//! What makes it fast is what it does not do:
//! - Each line is parsed once, and only the parts of the event that some rule reads (or the
//!   log type) are built as values: the rest is checked as JSON and dropped (`Need`,
//!   `Projected`). Every scalar is still converted, so a line is rejected exactly when a
//!   `serde_json::Value` would reject it. A matching event is parsed again, whole, for its
//!   output.
//! - All rules of a log type are evaluated in the same pass over the events.
//! - The input is cut into chunks of whole lines that worker threads parse and evaluate; the
//!   results are put back in input order, and at most `IN_FLIGHT` chunks exist at once.
//! - Matches are kept per (rule, log type) in memory up to a limit and spilled to one
//!   temporary file beyond it, so memory stays bounded whatever the input and the number of
//!   matches. They come out as the SQL engines print them: rule by rule, each rule's log types
//!   in the order it lists them, events in input order.

use std::collections::{BTreeMap, HashMap};
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

/// Bytes of input in one chunk (it is extended to the end of its last line).
const CHUNK_BYTES: usize = 1 << 20;
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

/// The rules compiled for one pass: what to parse, and which rules each log type runs.
pub struct Program<'r> {
    rules: &'r [&'r Rule],
    need: Need,
    log_type_of: &'r LogTypeOf,
    /// Per log type, the (group, rule) pairs to evaluate; a group is one (rule, log type)
    /// entry, numbered in output order.
    by_type: HashMap<&'r str, Vec<(usize, usize)>>,
    groups: Vec<usize>,
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
}

impl<'r> Program<'r> {
    pub fn new(rules: &'r [&'r Rule], log_type_of: &'r LogTypeOf) -> Program<'r> {
        let mut need = Need::default();
        if let LogTypeOf::Field(f) = log_type_of {
            need.add_path(&FieldPath(vec![Step::Key(f.clone())]));
        }
        let mut by_type: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
        let mut groups = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            need.add_condition(&rule.condition.ir);
            for lt in &rule.log_types {
                by_type.entry(lt).or_default().push((groups.len(), i));
                groups.push(i);
            }
        }
        Program {
            rules,
            need,
            log_type_of,
            by_type,
            groups,
        }
    }

    /// One event: `projected` holds what the rules read, `whole` gives the event itself (for
    /// the matches' output).
    fn event(&self, projected: &Value, whole: &mut dyn FnMut() -> Value, out: &mut Outcome) {
        let lt = match self.log_type_of {
            LogTypeOf::Fixed(t) => Some(t.as_str()),
            LogTypeOf::Field(f) => projected.get(f).and_then(Value::as_str),
        };
        let Some(lt) = lt else {
            out.no_log_type += 1;
            return;
        };
        let Some(pairs) = self.by_type.get(lt) else {
            out.skipped += 1;
            return;
        };
        out.events += 1;
        let mut event = None;
        for &(group, i) in pairs {
            let rule = self.rules[i];
            if eval(&rule.condition.ir, projected) {
                let event = event.get_or_insert_with(&mut *whole);
                let shown = project(rule, event.clone());
                out.matches.push((group, shown.to_string()));
            }
        }
    }

    /// One line of JSON Lines, as `run::read_events` reads it (`number` counts from 1).
    fn line(&self, file: &str, number: u64, bytes: &[u8], out: &mut Outcome) {
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

    /// Lines separated by newlines, the first numbered `first` (a final newline does not
    /// start another line).
    fn lines(&self, file: &str, first: u64, data: &[u8], out: &mut Outcome) {
        let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
        let mut start = 0;
        for (number, end) in (first..).zip(ends) {
            if end > start || end < data.len() {
                self.line(file, number, &data[start..end], out);
            }
            start = end + 1;
        }
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
    /// Whole lines of a JSON Lines file; `first` is the number of the first.
    Lines {
        file: usize,
        first: u64,
        data: Vec<u8>,
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
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let names: Vec<String> = opts.files.iter().map(|f| f.display().to_string()).collect();
    let pb = crate::run::progress_bar(opts.files, opts.progress, "reading");
    let stop = AtomicBool::new(false);
    let mut store = Store::new(program.groups.len(), MATCH_MEMORY);

    let (work_tx, work_rx) = sync_channel::<(usize, Chunk)>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = channel::<(usize, Message)>();
    let (token_tx, token_rx) = sync_channel::<()>(IN_FLIGHT);
    let result = std::thread::scope(|s| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
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
                            Chunk::Lines { file, first, data } => {
                                program.lines(&names[file], first, &data, &mut out)
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
            s.spawn(move || read(opts, names, pb, stop, token_tx, work_tx, done_tx))
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
            Ok(false) => read_lines(reader, i, &mut next, &mut seq, &work_tx),
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
) -> std::io::Result<ControlFlow<()>> {
    let mut first = 1u64;
    // Bytes read after the last newline of the previous chunk.
    let mut rest: Vec<u8> = Vec::new();
    loop {
        let mut data = std::mem::take(&mut rest);
        data.reserve(CHUNK_BYTES + (1 << 16));
        let eof = loop {
            let before = data.len();
            let n = (&mut reader)
                .take((CHUNK_BYTES.saturating_sub(before)).max(1 << 16) as u64)
                .read_to_end(&mut data)?;
            if n == 0 {
                break true;
            }
            // A chunk ends at a newline; a line longer than a chunk makes a longer chunk.
            if data.len() >= CHUNK_BYTES && memchr::memrchr(b'\n', &data).is_some() {
                break false;
            }
        };
        if !eof {
            let cut = memchr::memrchr(b'\n', &data).expect("a newline was seen") + 1;
            rest = data.split_off(cut);
        }
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
        if !data.is_empty() {
            let Some(n) = next(seq) else {
                return Ok(ControlFlow::Break(()));
            };
            // A chunk cut at a newline ends with one: it is not the start of another line.
            let data = if eof {
                data
            } else {
                let mut d = data;
                d.pop();
                d
            };
            if work_tx
                .send((n, Chunk::Lines { file, first, data }))
                .is_err()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
        first += lines;
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
            let out = match msg {
                Message::Done(out) => out,
                Message::Bad(b) => Outcome {
                    bad: vec![b],
                    ..Outcome::default()
                },
                Message::Failed(e) => return Err(e),
                Message::End => return Ok(Some(scan)),
            };
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
