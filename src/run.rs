//! `ruleqc run`: rules over local log files (JSON Lines or JSON arrays, `.gz` too).
//!
//! The input is streamed twice and never held in memory: the first pass reports malformed
//! lines, derives each log type's schema from the data and finds values their column's type
//! cannot hold; the second loads the events into the engine (a temporary SQLite database on
//! disk, or DuckDB reading the files itself) in tables typed by the rule set's schema. Each
//! rule's query, exactly as `ruleqc compile` prints it for the dialect and profile, then runs
//! on them. That is `--engine sqlite|duckdb`; the default engine (`engine::native`) reads the
//! input once and evaluates the rules itself, with this module's reader for JSON arrays and
//! gzip.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::Value;

use crate::backend::schema::{ColumnType, Kind, SchemaBuilder, TableSchema};
use crate::backend::sql::SqlDialect;
use crate::rule::Rule;

/// How an event's log type is found.
#[derive(Clone, Debug)]
pub enum LogTypeOf {
    /// Every event has this log type.
    Fixed(String),
    /// The log type is the string in this top-level field (`p_log_type` by default).
    Field(String),
}

impl LogTypeOf {
    fn of<'e>(&'e self, event: &'e Value) -> Option<&'e str> {
        match self {
            LogTypeOf::Fixed(t) => Some(t),
            LogTypeOf::Field(f) => event.get(f).and_then(Value::as_str),
        }
    }

    fn of_shape<'e>(&'e self, event: &'e Shape) -> Option<&'e str> {
        match self {
            LogTypeOf::Fixed(t) => Some(t),
            LogTypeOf::Field(f) => event.get_str(f),
        }
    }
}

/// A line (or JSON array) that is not an event.
/// What the reader parses each event into: a whole `Value`, or only its `Shape`.
pub trait Event: serde::de::DeserializeOwned {
    fn is_object(&self) -> bool;
}

impl Event for Value {
    fn is_object(&self) -> bool {
        self.is_object()
    }
}

/// An event's top-level keys with the kind of each value, and its top-level strings: what the
/// first pass needs (the log type and the schema). Nested values are checked as JSON but not
/// built, which makes the pass several times cheaper than parsing into a `Value`. A key given
/// twice keeps its last value, as in a `Value`.
#[derive(Debug)]
pub enum Shape {
    Object(Vec<(String, Kind, Option<String>)>),
    NotObject,
}

impl Shape {
    fn get_str(&self, key: &str) -> Option<&str> {
        match self {
            Shape::Object(fields) => fields
                .iter()
                .find(|(k, _, _)| k == key)
                .and_then(|(_, _, s)| s.as_deref()),
            Shape::NotObject => None,
        }
    }
}

impl Event for Shape {
    fn is_object(&self) -> bool {
        matches!(self, Shape::Object(_))
    }
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match d.deserialize_any(Visit { depth: 0 })? {
            Seen::Object(fields) => Shape::Object(fields),
            Seen::Value(..) => Shape::NotObject,
        })
    }
}

/// What a visit keeps of a value: the top-level fields of the event, or one value's kind (and
/// its text when it is a top-level string).
enum Seen {
    Object(Vec<(String, Kind, Option<String>)>),
    Value(Kind, Option<String>),
}

/// Visits a value at a depth: 0 is the event, 1 a top-level value, 2 anything nested, which is
/// parsed and dropped. Not `IgnoredAny`, which skips numbers and strings without converting
/// them and so lets through what a `Value` rejects (`1e400`, a lone surrogate): every scalar
/// is visited, so a line is malformed for the first pass exactly when it is for the second.
#[derive(Clone, Copy)]
struct Visit {
    depth: u8,
}

impl Visit {
    fn inner(self) -> Visit {
        Visit {
            depth: (self.depth + 1).min(2),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Visit {
    type Value = Seen;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Seen, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Visit {
    type Value = Seen;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Seen, E> {
        Ok(Seen::Value(Kind::Null, None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Seen, E> {
        Ok(Seen::Value(Kind::Bool, None))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Seen, E> {
        let wide = n.unsigned_abs() >= 1 << 53;
        Ok(Seen::Value(Kind::Int { wide }, None))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Seen, E> {
        Ok(match i64::try_from(n) {
            Ok(n) => Seen::Value(Kind::Int { wide: n >= 1 << 53 }, None),
            Err(_) => Seen::Value(Kind::Huge, None),
        })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Seen, E> {
        Ok(Seen::Value(Kind::Float, None))
    }
    fn visit_str<E>(self, s: &str) -> Result<Seen, E> {
        Ok(Seen::Value(
            Kind::Str,
            (self.depth == 1).then(|| s.to_string()),
        ))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seen, A::Error> {
        while seq.next_element_seed(self.inner())?.is_some() {}
        Ok(Seen::Value(Kind::Other, None))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        if self.depth > 0 {
            while map.next_entry_seed(self.inner(), self.inner())?.is_some() {}
            return Ok(Seen::Value(Kind::Other, None));
        }
        let mut fields: Vec<(String, Kind, Option<String>)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            // Only depth 0 gives an `Object`.
            let (kind, text) = match map.next_value_seed(self.inner())? {
                Seen::Value(kind, text) => (kind, text),
                Seen::Object(_) => (Kind::Other, None),
            };
            match fields.iter_mut().find(|(key, _, _)| *key == k) {
                Some(f) => *f = (k, kind, text),
                None => fields.push((k, kind, text)),
            }
        }
        Ok(Seen::Object(fields))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    pub file: String,
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Opens a log file, decompressing gzip (detected by its magic bytes).
pub(crate) fn open(
    path: &Path,
    progress: &indicatif::ProgressBar,
) -> std::io::Result<Box<dyn BufRead>> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    drop(file);
    let file = progress.wrap_read(File::open(path)?);
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    })
}

/// Streams the events of one file to `on_event`; malformed input goes to `on_bad`, which may
/// stop the run. Returns `Break` when a callback stopped it.
pub fn read_events<E: Event>(
    path: &Path,
    progress: &indicatif::ProgressBar,
    on_event: &mut dyn FnMut(E) -> ControlFlow<()>,
    on_bad: &mut dyn FnMut(BadLine) -> ControlFlow<()>,
) -> std::io::Result<ControlFlow<()>> {
    read_events_at(path, progress, &mut |e, _| on_event(e), on_bad)
}

/// Where an event is in its file: its line (JSON Lines) or its element (a JSON array).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Line(u64),
    Element(u64),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Line(n) => write!(f, "{n}"),
            Position::Element(n) => write!(f, "event {n} of the array"),
        }
    }
}

/// `read_events`, with each event's position in its file.
pub fn read_events_at<E: Event>(
    path: &Path,
    progress: &indicatif::ProgressBar,
    on_event: &mut dyn FnMut(E, Position) -> ControlFlow<()>,
    on_bad: &mut dyn FnMut(BadLine) -> ControlFlow<()>,
) -> std::io::Result<ControlFlow<()>> {
    let name = path.display().to_string();
    let mut reader = open(path, progress)?;
    if starts_array(&mut reader)? {
        let mut element = 0u64;
        return read_array(
            reader,
            &name,
            &mut |e| {
                element += 1;
                on_event(e, Position::Element(element))
            },
            on_bad,
        );
    }
    let mut bytes = Vec::new();
    let mut number = 0u64;
    loop {
        bytes.clear();
        if reader.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(ControlFlow::Continue(()));
        }
        number += 1;
        // Checked line by line (a whole-line `read_line` would consume the bad line before
        // failing, and skipping "the rest" of it would drop the next one).
        let Ok(line) = std::str::from_utf8(&bytes) else {
            if on_bad(BadLine {
                file: name.clone(),
                line: number,
                message: "not valid UTF-8".into(),
            })
            .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
            continue;
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let flow = match serde_json::from_str::<E>(text) {
            Ok(v) if v.is_object() => on_event(v, Position::Line(number)),
            Ok(_) => on_bad(BadLine {
                file: name.clone(),
                line: number,
                message: "not a JSON object".into(),
            }),
            Err(e) => on_bad(BadLine {
                file: name.clone(),
                line: number,
                message: format!("not JSON: {e}"),
            }),
        };
        if flow.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
}

/// Is the input a JSON array (its first non-blank byte a `[`), rather than JSON Lines?
pub(crate) fn starts_array(reader: &mut dyn BufRead) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => return Ok(buf[i] == b'['),
            None if buf.is_empty() => return Ok(false),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// A JSON array of events, element by element.
pub(crate) fn read_array<E: Event>(
    reader: Box<dyn BufRead>,
    name: &str,
    on_event: &mut dyn FnMut(E) -> ControlFlow<()>,
    on_bad: &mut dyn FnMut(BadLine) -> ControlFlow<()>,
) -> std::io::Result<ControlFlow<()>> {
    struct Each<'a, E> {
        on_event: &'a mut dyn FnMut(E) -> ControlFlow<()>,
        stopped: bool,
    }
    impl<'de, E: Event> Visitor<'de> for &mut Each<'_, E> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of events")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<E>()? {
                if (self.on_event)(v).is_break() {
                    self.stopped = true;
                    // Read (and drop) the rest so the array still parses.
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                    return Ok(());
                }
            }
            Ok(())
        }
    }
    let non_objects = std::cell::Cell::new(0usize);
    let mut each = Each {
        on_event: &mut |v: E| {
            if v.is_object() {
                on_event(v)
            } else {
                non_objects.set(non_objects.get() + 1);
                ControlFlow::Continue(())
            }
        },
        stopped: false,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = de.deserialize_seq(&mut each);
    let stopped = each.stopped;
    if let Err(e) = result
        && on_bad(BadLine {
            file: name.to_string(),
            line: e.line() as u64,
            message: format!("not a JSON array of events: {e}"),
        })
        .is_break()
    {
        return Ok(ControlFlow::Break(()));
    }
    if non_objects.get() > 0
        && on_bad(BadLine {
            file: name.to_string(),
            line: 1,
            message: format!("{} array elements are not JSON objects", non_objects.get()),
        })
        .is_break()
    {
        return Ok(ControlFlow::Break(()));
    }
    Ok(if stopped {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    })
}

/// What one pass over the input saw.
#[derive(Debug, Default)]
pub struct Scan {
    pub events: u64,
    pub bad_lines: u64,
    /// Events whose log type no rule reads.
    pub skipped: u64,
    /// Events without a log type (no string in the log-type field).
    pub no_log_type: u64,
    pub schemas: BTreeMap<String, TableSchema>,
    /// The first event with a top-level value its column's type cannot hold, when the scan
    /// was given the tables to check against.
    pub mistyped: Option<(PathBuf, Position)>,
}

pub struct Options<'a> {
    pub files: &'a [PathBuf],
    pub log_type_of: &'a LogTypeOf,
    pub strict: bool,
    pub progress: bool,
}

pub(crate) fn progress_bar(files: &[PathBuf], show: bool, label: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    // Drawn on stderr only when it is a terminal.
    let pb = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_message(label.to_string());
    pb
}

/// First pass: malformed lines (reported through `on_bad`) and the schema of each wanted log
/// type; with `typed` (tables by log type), the first event whose value its column's type
/// cannot hold (`Scan::mistyped`). `Err` for I/O errors; `Ok(None)` when `--strict` stopped at
/// a malformed line.
pub fn scan(
    opts: &Options<'_>,
    wanted: &[String],
    typed: Option<&BTreeMap<String, PlannedTable>>,
    on_bad: &mut dyn FnMut(&BadLine),
) -> Result<Option<Scan>, String> {
    let mut builders: HashMap<String, SchemaBuilder> = HashMap::new();
    let mut scan = Scan::default();
    let pb = progress_bar(opts.files, opts.progress, "reading");
    for f in opts.files {
        let flow = read_events_at(
            f,
            &pb,
            &mut |ev: Shape, at| {
                match opts.log_type_of.of_shape(&ev) {
                    Some(t) if wanted.iter().any(|w| w == t) => {
                        scan.events += 1;
                        let b = builders.entry(t.to_string()).or_default();
                        let table = typed.and_then(|ts| ts.get(t));
                        if let Shape::Object(fields) = &ev {
                            for (k, kind, text) in fields {
                                b.add_kind(k, *kind);
                                if let Some(table) = table
                                    && scan.mistyped.is_none()
                                    && !table.holds(k, *kind, text.as_deref())
                                {
                                    scan.mistyped = Some((f.clone(), at));
                                }
                            }
                        }
                    }
                    Some(_) => scan.skipped += 1,
                    None => scan.no_log_type += 1,
                }
                ControlFlow::Continue(())
            },
            &mut |bad| {
                scan.bad_lines += 1;
                // Not written over the progress bar.
                pb.suspend(|| on_bad(&bad));
                if opts.strict {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .map_err(|e| format!("{}: {e}", f.display()))?;
        if flow.is_break() {
            pb.finish_and_clear();
            return Ok(None);
        }
    }
    pb.finish_and_clear();
    scan.schemas = builders.into_iter().map(|(k, b)| (k, b.finish())).collect();
    Ok(Some(scan))
}

/// One match: the rule and the event (or its output fields).
pub struct Match {
    pub rule: usize,
    pub event: Value,
}

/// The part of an event a rule reports: its output fields, or the whole event.
pub fn project(rule: &Rule, event: Value) -> Value {
    if rule.output_fields.is_empty() {
        return event;
    }
    let mut out = serde_json::Map::new();
    for f in &rule.output_fields {
        let v = crate::ir::eval::resolve(&f.path, &event)
            .cloned()
            .unwrap_or(Value::Null);
        out.insert(f.text.clone(), v);
    }
    Value::Object(out)
}

const EVENT_COLUMN: &str = "__ruleqc_event";
/// The event's place in the input: matches are reported in input order. (Not `rowid`, which
/// an event's own `rowid` key would shadow.)
const ORDER_COLUMN: &str = "__ruleqc_n";

/// One query `run` executes on an embedded engine: the text `ruleqc compile` prints for the
/// rule, the dialect and the profile, and the tables it reads.
#[derive(Clone, Debug)]
pub struct Planned {
    /// Index into the rules.
    pub rule: usize,
    /// The query, byte for byte as `ruleqc compile` prints it (without the `;`).
    pub query: String,
    /// Per log type the rule reads: the table's name as the query writes it, and its columns.
    pub tables: Vec<PlannedTable>,
}

#[derive(Clone, Debug)]
pub struct PlannedTable {
    pub log_type: String,
    /// As the query writes it (`aws_cloudtrail`, `security.cloudtrail`).
    pub name: String,
    /// The database (SQLite schema) of a qualified name: `security` for `security.cloudtrail`.
    pub database: Option<String>,
    pub schema: TableSchema,
    /// Event keys read under another column name (case-colliding keys: `s` and `S~2`).
    pub aliases: Vec<(crate::ir::FieldPath, String)>,
}

impl PlannedTable {
    /// The column an event's top-level key is loaded into.
    fn column_of<'a>(&'a self, key: &'a str) -> &'a str {
        self.aliases
            .iter()
            .find(|(from, _)| matches!(from.0.as_slice(), [crate::ir::Step::Key(k)] if k == key))
            .map_or(key, |(_, to)| to.as_str())
    }

    /// Whether the table's column for `key` (if it has one) holds a value of this kind (and
    /// text, for a string).
    fn holds(&self, key: &str, kind: Kind, text: Option<&str>) -> bool {
        self.schema
            .columns
            .get(self.column_of(key))
            .is_none_or(|ty| ty.holds_kind(kind, text))
    }
}

/// The queries `run --engine sqlite|duckdb` executes: for each rule, what `ruleqc compile
/// --dialect D --profile P` prints (the profile's schemas resolved over the rule set first),
/// and the tables, typed by the same schema, that the events are loaded into.
pub fn plan(
    rules: &[&Rule],
    profile: &crate::profile::Profile,
    dialect: SqlDialect,
) -> Result<Vec<Planned>, String> {
    let d = dialect.dialect();
    let p = profile.sql(dialect.name())?;
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let fail = |e: crate::diag::Diagnostic| {
            format!(
                "{}: cannot compile for {}: {}",
                rule.rule_id,
                dialect.name(),
                e.message
            )
        };
        let query = crate::compile::compile(rule, crate::compile::Target::sql(dialect), profile)
            .map_err(fail)?;
        let read = p.rename_for(rule, d).map_err(fail)?;
        let mut tables = Vec::new();
        for lt in &rule.log_types {
            let placement = p.placement_in(&profile.name, &read, lt, d).map_err(fail)?;
            // SQLite attaches a database for a schema-qualified table; DuckDB binds each event
            // to the name the query reads with a CTE, which cannot be qualified.
            let most = if dialect == SqlDialect::Sqlite { 2 } else { 1 };
            if placement.table.len() > most {
                let key = if p.log_types.get(lt).is_some_and(|e| e.table.is_some()) {
                    format!("`sql.log_types.{lt}.table`")
                } else {
                    "`sql.table`".to_string()
                };
                return Err(format!(
                    "{}: profile {} places {lt} in `{}` ({key}); {}",
                    rule.rule_id,
                    profile.name,
                    placement.table.join("."),
                    if most == 2 {
                        format!(
                            "run --engine sqlite creates `table` or `database.table`, so give \
                             {key} at most two parts"
                        )
                    } else {
                        format!(
                            "run --engine duckdb needs a table name without a database, so give \
                             {key} a name without a `.` (or run with --engine sqlite)"
                        )
                    },
                ));
            }
            tables.push(PlannedTable {
                log_type: lt.clone(),
                name: placement
                    .table
                    .iter()
                    .map(|part| d.quote_ident(part))
                    .collect::<Vec<_>>()
                    .join("."),
                database: placement
                    .table
                    .first()
                    .filter(|_| placement.table.len() == 2)
                    .cloned(),
                schema: placement
                    .schema
                    .unwrap_or_else(|| crate::backend::inferred_schema(&read)),
                aliases: p
                    .case_aliases(&read, lt, d)
                    .into_iter()
                    .map(|(from, to)| (crate::ir::FieldPath(vec![crate::ir::Step::Key(from)]), to))
                    .collect(),
            });
        }
        out.push(Planned {
            rule: i,
            query,
            tables,
        });
    }
    Ok(out)
}

/// With `RULEQC_RUN_QUERIES=FILE` set, each query an embedded engine is about to execute is
/// appended to FILE as a JSON line `{"rule_id": ..., "query": ...}`: the very text executed,
/// for the test that checks it equals what `ruleqc compile` prints.
fn record_executed(rule_id: &str, query: &str) -> Result<(), String> {
    let Some(path) = std::env::var_os("RULEQC_RUN_QUERIES") else {
        return Ok(());
    };
    use std::io::Write;
    let line = serde_json::json!({"rule_id": rule_id, "query": query});
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(|e| format!("RULEQC_RUN_QUERIES={}: {e}", Path::new(&path).display()))
}

/// One table per log type for all planned queries: the union of the columns the rules' tables
/// declare (the rule-set schema gives every rule the same type for a column).
pub fn merged_tables(planned: &[Planned]) -> Result<BTreeMap<String, PlannedTable>, String> {
    let mut tables: BTreeMap<String, PlannedTable> = BTreeMap::new();
    for t in planned.iter().flat_map(|p| &p.tables) {
        match tables.get_mut(&t.log_type) {
            None => {
                tables.insert(t.log_type.clone(), t.clone());
            }
            Some(m) => {
                if m.name != t.name {
                    return Err(format!(
                        "{} is placed in two tables, {} and {}",
                        t.log_type, m.name, t.name
                    ));
                }
                for (k, ty) in &t.schema.columns {
                    m.schema.columns.entry(k.clone()).or_insert(*ty);
                }
                for a in &t.aliases {
                    if !m.aliases.contains(a) {
                        m.aliases.push(a.clone());
                    }
                }
            }
        }
    }
    Ok(tables)
}

/// An event's row under a table's columns, or an error naming the file and the position of an
/// event whose value the column's type cannot hold (never a silent cast).
fn checked_row(
    table: &PlannedTable,
    ev: &Value,
    file: &Path,
    at: Position,
) -> Result<Value, String> {
    let row = crate::profile::rename_event(ev, &table.aliases);
    for (k, ty) in &table.schema.columns {
        if let Some(v) = row.get(k.as_str())
            && !ty.holds(v)
        {
            return Err(format!(
                "{}:{at}: field `{k}` of this {} event holds {}, but the rule set's schema types \
                 column `{k}` as {} (declare it in the profile's `columns:` or fix the event)",
                file.display(),
                table.log_type,
                crate::backend::schema::describe(v),
                ty.name()
            ));
        }
    }
    Ok(row)
}

/// A data table's name in the database of its log type's table.
fn qualified(t: &PlannedTable, data: &str) -> String {
    match &t.database {
        Some(db) => format!("{}.{data}", SqlDialect::Sqlite.dialect().quote_ident(db)),
        None => data.to_string(),
    }
}

/// Runs the planned queries on the embedded SQLite. The events are loaded, typed by the
/// planned schemas, into a temporary database file; each log type's table, under the name the
/// query reads, is a view showing only the event being checked, and each rule's query runs as
/// written once per event of its log types: an event matches when the query returns a row with
/// it alone in the table, as a deployed query alerts on it. Matches go to `on_match` in rule
/// order, then input order.
pub fn run_sqlite(
    opts: &Options<'_>,
    rules: &[&Rule],
    planned: &[Planned],
    on_match: &mut dyn FnMut(Match),
) -> Result<(), String> {
    use rusqlite::types::Value as SqlValue;
    let d = SqlDialect::Sqlite.dialect();
    let path = std::env::temp_dir().join(format!(
        "ruleqc-run-{}-{}.sqlite",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |t| t.as_nanos())
    ));
    struct Remove(PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _guard = Remove(path.clone());
    let err = |e: rusqlite::Error| format!("SQLite: {e}");
    crate::engine::sqlite::configure();
    let mut conn = rusqlite::Connection::open(&path).map_err(err)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        .map_err(err)?;
    crate::engine::sqlite::register_functions(&conn).map_err(err)?;
    let current = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(-1));
    {
        let current = current.clone();
        conn.create_scalar_function(
            "__ruleqc_current",
            0,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            move |_| Ok(current.load(std::sync::atomic::Ordering::Relaxed)),
        )
        .map_err(err)?;
    }

    let tables = merged_tables(planned)?;
    // log type -> its data table's name.
    let data: BTreeMap<&str, String> = tables
        .keys()
        .enumerate()
        .map(|(i, lt)| (lt.as_str(), format!("__ruleqc_data_{i}")))
        .collect();
    // Each database a qualified table name needs, attached empty (in memory; `main` and
    // `temp` are there already).
    let mut attached: Vec<&str> = Vec::new();
    for t in tables.values() {
        if let Some(db) = t.database.as_deref()
            && !["main", "temp"].contains(&db.to_ascii_lowercase().as_str())
            && !attached.iter().any(|a| a.eq_ignore_ascii_case(db))
        {
            conn.execute_batch(&format!(
                "ATTACH DATABASE ':memory:' AS {}",
                d.quote_ident(db)
            ))
            .map_err(err)?;
            attached.push(db);
        }
    }
    let tx = conn.transaction().map_err(err)?;
    for (lt, t) in &tables {
        let cols: Vec<String> = t.schema.columns.keys().map(|k| d.quote_ident(k)).collect();
        let mut defs: Vec<String> = t
            .schema
            .columns
            .iter()
            .map(|(k, ty)| format!("{} {}", d.quote_ident(k), d.column_type(*ty)))
            .collect();
        defs.push(format!("{EVENT_COLUMN} TEXT"));
        defs.push(format!("{ORDER_COLUMN} INTEGER PRIMARY KEY"));
        let shown = if cols.is_empty() {
            "NULL AS __ruleqc_none".to_string()
        } else {
            cols.join(", ")
        };
        // A qualified name's view lives in its database, with the data it shows (a view
        // outside `temp` reads only its own database).
        let (view, data_in) = match &t.database {
            None => ("TEMP VIEW".to_string(), String::new()),
            Some(db) => ("VIEW".to_string(), format!("{}.", d.quote_ident(db))),
        };
        tx.execute_batch(&format!(
            "CREATE TABLE {data_in}{data} ({defs});\n\
             CREATE {view} {name} AS SELECT {shown} FROM {data} WHERE {ORDER_COLUMN} = __ruleqc_current();",
            data = data[lt.as_str()],
            defs = defs.join(", "),
            name = t.name,
        ))
        .map_err(err)?;
    }
    {
        let mut inserts = HashMap::new();
        for (lt, t) in &tables {
            let marks = vec!["?"; t.schema.columns.len() + 2].join(", ");
            let stmt = tx
                .prepare(&format!(
                    "INSERT INTO {} VALUES ({marks})",
                    qualified(t, &data[lt.as_str()])
                ))
                .map_err(err)?;
            inserts.insert(lt.clone(), (stmt, t));
        }
        let pb = progress_bar(opts.files, opts.progress, "loading");
        let mut failure = None;
        let mut n = 0i64;
        for f in opts.files {
            let _ = read_events_at(
                f,
                &pb,
                &mut |ev: Value, at| {
                    n += 1;
                    let Some(lt) = opts.log_type_of.of(&ev) else {
                        return ControlFlow::Continue(());
                    };
                    let Some((stmt, t)) = inserts.get_mut(lt) else {
                        return ControlFlow::Continue(());
                    };
                    let row = match checked_row(t, &ev, f, at) {
                        Ok(r) => r,
                        Err(e) => {
                            failure = Some(e);
                            return ControlFlow::Break(());
                        }
                    };
                    let mut vals: Vec<SqlValue> = t
                        .schema
                        .columns
                        .iter()
                        .map(|(k, ty)| crate::engine::sqlite::sql_value(*ty, row.get(k.as_str())))
                        .collect();
                    vals.push(SqlValue::Text(ev.to_string()));
                    vals.push(SqlValue::Integer(n));
                    match stmt.execute(rusqlite::params_from_iter(vals)) {
                        Ok(_) => ControlFlow::Continue(()),
                        Err(e) => {
                            failure = Some(err(e));
                            ControlFlow::Break(())
                        }
                    }
                },
                // Reported by the first pass.
                &mut |_| ControlFlow::Continue(()),
            )
            .map_err(|e| format!("{}: {e}", f.display()))?;
            if let Some(e) = failure.take() {
                return Err(e);
            }
        }
        pb.finish_and_clear();
    }
    tx.commit().map_err(err)?;

    for p in planned {
        let rule = rules[p.rule];
        // The rule's events: per log type in the order the rule names them, each in input
        // order (the order the other engines report matches in).
        let mut events: Vec<(i64, String)> = Vec::new();
        for t in &p.tables {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {ORDER_COLUMN}, {EVENT_COLUMN} FROM {} ORDER BY 1",
                    qualified(&tables[t.log_type.as_str()], &data[t.log_type.as_str()])
                ))
                .map_err(err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect::<Result<Vec<(i64, String)>, _>>())
                .map_err(err)?;
            events.extend(rows);
        }
        record_executed(&rule.rule_id, &p.query)?;
        let sql = format!("SELECT EXISTS (\n{}\n)", p.query);
        let mut stmt = conn
            .prepare(&sql)
            .map_err(|e| format!("{}: SQLite: {e}\n{}", rule.rule_id, p.query))?;
        for (n, text) in events {
            current.store(n, std::sync::atomic::Ordering::Relaxed);
            let hit: bool = stmt
                .query_row([], |r| r.get(0))
                .map_err(|e| format!("{}: SQLite: {e}\n{}", rule.rule_id, p.query))?;
            if hit {
                let event: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                on_match(Match {
                    rule: p.rule,
                    event: project(rule, event),
                });
            }
        }
    }
    Ok(())
}

/// Runs the planned queries with the DuckDB binary, which reads the files itself
/// (`read_json_objects`) into one table per log type, typed by the planned schemas (a value
/// its column cannot hold stops the run before loading, as on SQLite; the first pass found it).
///
/// Each rule's query runs as written, once per log type it reads, for every event of that log
/// type at once: `SELECT ... FROM data AS ev WHERE EXISTS (WITH <table> AS (SELECT ev.<columns>)
/// SELECT 1 FROM (<query>))`. Inside the `EXISTS` the name the query reads is a one-row table
/// holding only the outer event (the rule's other tables are empty), so an event matches when
/// the query returns a row with it alone in the table, as on SQLite, whatever the query's
/// shape; DuckDB decorrelates the subquery into one join instead of running it per event.
pub fn run_duckdb(
    opts: &Options<'_>,
    rules: &[&Rule],
    planned: &[Planned],
    scan: &Scan,
    duckdb: &crate::engine::duckdb::DuckDb,
    on_match: &mut dyn FnMut(Match),
) -> Result<(), String> {
    let d = SqlDialect::Duckdb.dialect();
    let tables = merged_tables(planned)?;
    if let Some((file, at)) = &scan.mistyped {
        return Err(mistyped(opts, &tables, file, *at));
    }
    let lit = |s: &str| d.string_literal(s).map_err(|u| u.reason);
    // A top-level key's JSONPath, as a string literal.
    let key_path = |k: &str| {
        let path = crate::backend::sql::duckdb::json_path(&[crate::ir::Step::Key(k.to_string())])
            .map_err(|u| u.reason)?;
        lit(&path)
    };
    let files: Vec<String> = opts
        .files
        .iter()
        .map(|f| lit(&f.display().to_string()))
        .collect::<Result<_, _>>()?;
    let mut sql = String::from("SET preserve_insertion_order = true;\nSET TimeZone = 'UTC';\n");
    let source = format!(
        "read_json_objects([{}], format = 'auto', ignore_errors = true) AS r(j)",
        files.join(", ")
    );
    // DuckDB parses a JSON text again for every function applied to it, so the file is read
    // once (with the log type, when a field names it) and each table's columns come from one
    // list-valued json_extract per event: one parse of each event for the log type, one for
    // the columns, whatever the number of log types and columns.
    let (log_type, objects) = match opts.log_type_of {
        // Without a log-type field, what is not an object is not an event (the first pass
        // reported it); with one, such a value has no log type and no table takes it.
        LogTypeOf::Fixed(_) => (String::new(), " WHERE json_type(j) = 'OBJECT'"),
        LogTypeOf::Field(f) => (
            format!(", json_extract_string(j, {}) AS lt", key_path(f)?),
            "",
        ),
    };
    // The raw table's rowid is the event's place in the input, kept in every table so that
    // matches come out in input order (as with the native engine) however DuckDB plans the
    // query.
    sql.push_str(&format!(
        "CREATE TEMP TABLE __ruleqc_raw AS SELECT j{log_type} FROM {source}{objects};\n"
    ));
    // log type -> its data table's name.
    let data: BTreeMap<&str, String> = tables
        .keys()
        .enumerate()
        .map(|(i, lt)| (lt.as_str(), format!("__ruleqc_data_{i}")))
        .collect();
    for (lt, t) in &tables {
        // Each column from the event key it is loaded from (an aliased key under its alias).
        let keys: BTreeMap<&str, &str> = t
            .schema
            .columns
            .keys()
            .map(|c| {
                let key = t
                    .aliases
                    .iter()
                    .find(|(_, to)| to == c)
                    .and_then(|(from, _)| match from.0.as_slice() {
                        [crate::ir::Step::Key(k)] => Some(k.as_str()),
                        _ => None,
                    })
                    .unwrap_or(c.as_str());
                (c.as_str(), key)
            })
            .collect();
        let mut cols = vec![format!("n AS {ORDER_COLUMN}, j AS {EVENT_COLUMN}")];
        let mut paths = Vec::new();
        for (c, ty) in &t.schema.columns {
            paths.push(key_path(keys[c.as_str()])?);
            // `x[i]` is exactly `json_extract(j, path)`, and `json_extract_string(x[i], '$')`
            // exactly `json_extract_string(j, path)`, nulls, escapes and numbers included.
            // Every value fits its column (checked by the first pass), so a cast that fails
            // is an error, never a NULL.
            let x = format!("x[{}]", paths.len());
            let text = format!("json_extract_string({x}, '$')");
            let expr = match ty {
                ColumnType::Text => text,
                ColumnType::Integer => format!("CAST({text} AS BIGINT)"),
                ColumnType::Real => format!("CAST({text} AS DOUBLE)"),
                ColumnType::Boolean => format!("CAST({text} AS BOOLEAN)"),
                // The first pass accepted the text (`timestamp::parse`); DuckDB reads those
                // forms once `t`/`z` are upper case, an offset-less one in the session's time
                // zone, set to UTC.
                ColumnType::Timestamp => format!("CAST(upper({text}) AS TIMESTAMPTZ)"),
                ColumnType::Json => x,
            };
            cols.push(format!("{expr} AS {}", d.quote_ident(c)));
        }
        let filter = match opts.log_type_of {
            LogTypeOf::Fixed(_) => String::new(),
            LogTypeOf::Field(_) => format!(" WHERE lt = {}", lit(lt)?),
        };
        let extract = if paths.is_empty() {
            String::new()
        } else {
            format!(", json_extract(j, [{}]) AS x", paths.join(", "))
        };
        sql.push_str(&format!(
            "CREATE TABLE {} AS SELECT {} FROM (SELECT rowid AS n, j{extract} FROM __ruleqc_raw{filter});\n",
            data[lt.as_str()],
            cols.join(", "),
        ));
    }
    sql.push_str("DROP TABLE __ruleqc_raw;\n");
    sql.push_str(".mode jsonlines\n");
    const EV: &str = "__ruleqc_ev";
    for p in planned {
        let rule = rules[p.rule];
        record_executed(&rule.rule_id, &p.query)?;
        // Per log type in the order the rule names them, each in input order.
        for t in &p.tables {
            let ctes: Vec<String> = p
                .tables
                .iter()
                .map(|other| {
                    let columns = &tables[other.log_type.as_str()].schema.columns;
                    let body = if columns.is_empty() {
                        "SELECT NULL AS __ruleqc_none".to_string()
                    } else if other.log_type == t.log_type {
                        let cols: Vec<String> = columns
                            .keys()
                            .map(|c| format!("{EV}.{0} AS {0}", d.quote_ident(c)))
                            .collect();
                        format!("SELECT {}", cols.join(", "))
                    } else {
                        let cols: Vec<String> = columns.keys().map(|c| d.quote_ident(c)).collect();
                        format!(
                            "SELECT {} FROM {} LIMIT 0",
                            cols.join(", "),
                            data[other.log_type.as_str()]
                        )
                    };
                    format!("{} AS ({body})", other.name)
                })
                .collect();
            sql.push_str(&format!(
                "SELECT {i} AS q, CAST({EVENT_COLUMN} AS VARCHAR) AS e FROM {table} AS {EV} \
                 WHERE EXISTS (WITH {ctes} SELECT 1 FROM (\n{query}\n)) ORDER BY {ORDER_COLUMN};\n",
                i = p.rule,
                table = data[t.log_type.as_str()],
                ctes = ctes.join(", "),
                query = p.query,
            ));
        }
    }
    let out = duckdb.run_script(&sql).map_err(|e| e.to_string())?;
    for line in out.lines() {
        let line = line.trim();
        if !line.starts_with('{') {
            continue;
        }
        let row: Value =
            serde_json::from_str(line).map_err(|e| format!("duckdb output: {e}: {line}"))?;
        let (Some(i), Some(e)) = (row["q"].as_u64(), row["e"].as_str()) else {
            continue;
        };
        let i = i as usize;
        let event: Value = serde_json::from_str(e).map_err(|e| e.to_string())?;
        on_match(Match {
            rule: i,
            event: project(rules[i], event),
        });
    }
    Ok(())
}

/// The error for the event the first pass found mistyped: the file is read again up to it (only
/// on this path) so that the message shows the value, as `checked_row` words it.
fn mistyped(
    opts: &Options<'_>,
    tables: &BTreeMap<String, PlannedTable>,
    file: &Path,
    at: Position,
) -> String {
    let mut message = None;
    let _ = read_events_at(
        file,
        &indicatif::ProgressBar::hidden(),
        &mut |ev: Value, here| {
            if here != at {
                return ControlFlow::Continue(());
            }
            if let Some(t) = opts.log_type_of.of(&ev).and_then(|lt| tables.get(lt)) {
                message = checked_row(t, &ev, file, at).err();
            }
            ControlFlow::Break(())
        },
        &mut |_| ControlFlow::Continue(()),
    );
    message.unwrap_or_else(|| {
        format!(
            "{}:{at}: a field of this event holds a value its column's type cannot hold",
            file.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first pass (`Shape`) accepts exactly the lines the second (`Value`) does, and sees
    /// the same top-level kinds and strings.
    #[test]
    fn shape_agrees_with_value() {
        let lines = [
            r#"{"a": 1, "b": "x", "c": null, "d": true, "e": 1.5, "f": [1, {"g": 2}], "h": {}}"#,
            r#"{"big": 9007199254740993, "neg": -9007199254740993, "huge": 18446744073709551615}"#,
            r#"{"edge": 9007199254740992, "below": 9007199254740991, "nedge": -9007199254740992}"#,
            r#"{"k": 1, "k": "last"}"#,
            r#"{"s": "esc \" \\ \u00e9 \ud83d\ude00"}"#,
            r#"{"a": {"b": 1e400}}"#,
            r#"{"a": {"b": "\ud800"}}"#,
            r#"{"a": ["\ud800\u0041"]}"#,
            r#"{"a": {"b": 1.5e-400}}"#,
            r#"{"a": [01]}"#,
            "{\"a\": {\"b\": \"x\u{1}\"}}",
            r#"{"a": {"\x": 1}}"#,
            r#"{"a": 1} trailing"#,
            r#"{"a": 1"#,
            r#"[1, 2]"#,
            r#""text""#,
            r#"12"#,
            r#"null"#,
        ];
        for line in lines {
            let value = serde_json::from_str::<Value>(line);
            let shape = serde_json::from_str::<Shape>(line);
            assert_eq!(
                value.is_ok(),
                shape.is_ok(),
                "{line}: {value:?} vs {shape:?}"
            );
            let (Ok(value), Ok(shape)) = (value, shape) else {
                continue;
            };
            assert_eq!(value.is_object(), Event::is_object(&shape), "{line}");
            let (Value::Object(map), Shape::Object(fields)) = (&value, &shape) else {
                continue;
            };
            assert_eq!(map.len(), fields.len(), "{line}");
            for (k, kind, text) in fields {
                assert_eq!(*kind, Kind::of(&map[k]), "{line}: {k}");
                assert_eq!(text.as_deref(), map[k].as_str(), "{line}: {k}");
            }
        }
    }
}
