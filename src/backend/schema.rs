//! What the compiler knows about a log type's table: its columns and their SQL types.
//!
//! A schema comes from test events (`ruleqc test`), from data (`ruleqc run`) or, later, from a
//! profile. Without one, `infer_from_rule` guesses column types from how the rule uses them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ir::{FieldOp, FieldPath, Node, Step, Test};

pub mod timestamp;

/// The SQL type of a top-level column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ColumnType {
    /// Strings (SQL NULL for missing or JSON null).
    Text,
    /// 64-bit integers.
    Integer,
    /// Doubles.
    Real,
    Boolean,
    /// A semi-structured column holding any JSON value (objects, arrays, mixed types).
    Json,
    /// Instants, from RFC 3339 strings (`timestamp::parse`). Only declared in a profile,
    /// never inferred: the events show strings.
    Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSchema {
    pub columns: BTreeMap<String, ColumnType>,
    /// `true` when the columns are all there is (from data): a field outside them is missing.
    /// `false` for inferred schemas, where unknown columns are assumed to exist.
    pub complete: bool,
}

impl TableSchema {
    /// One column per top-level key of the events. A key whose values (ignoring nulls) are all
    /// strings is `Text`, all integers in the i64 range `Integer`, all numbers `Real` (unless
    /// one is an integer a double cannot hold), all booleans `Boolean`; anything else (objects,
    /// arrays, mixed types, only nulls, wide integers mixed with fractions) is `Json`.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Value>) -> TableSchema {
        let mut b = SchemaBuilder::default();
        for ev in events {
            b.add(ev);
        }
        b.finish()
    }

    /// Column types guessed from the condition alone: a column read below its top level, or
    /// through an array, or tested for emptiness, or compared with values of several types is
    /// `Json`; one compared with strings only is `Text`, numbers `Real`, booleans `Boolean`; one
    /// only tested with `is_null` is `Text` (`IS NULL` works on any type).
    pub fn infer_from_rule(condition: &Node, output_fields: &[&[Step]]) -> TableSchema {
        let mut uses: BTreeMap<String, Vec<Use>> = BTreeMap::new();
        collect(condition, &mut uses);
        for f in output_fields {
            if let Some(Step::Key(k)) = f.first() {
                uses.entry(k.clone()).or_default().push(if f.len() > 1 {
                    Use::Json
                } else {
                    Use::NullOnly
                });
            }
        }
        let columns = uses
            .into_iter()
            .map(|(k, us)| {
                let typed: Vec<&Use> = us.iter().filter(|u| **u != Use::NullOnly).collect();
                let ty = if typed.is_empty() {
                    ColumnType::Text
                } else if typed.iter().any(|u| **u == Use::Json)
                    || typed.windows(2).any(|w| w[0] != w[1])
                {
                    ColumnType::Json
                } else {
                    match typed[0] {
                        Use::Str => ColumnType::Text,
                        Use::Num => ColumnType::Real,
                        Use::Bool => ColumnType::Boolean,
                        _ => ColumnType::Json,
                    }
                };
                (k, ty)
            })
            .collect();
        TableSchema {
            columns,
            complete: false,
        }
    }

    /// The type of a top-level column: `None` when the schema is complete and lacks it (the
    /// field is missing in every row).
    pub fn column(&self, name: &str) -> Option<ColumnType> {
        match self.columns.get(name) {
            Some(t) => Some(*t),
            None if self.complete => None,
            None => Some(ColumnType::Json),
        }
    }
}

/// What a column's type depends on in one JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Str,
    Bool,
    /// An integer that fits an `i64`; `wide` from ±2^53 on: a double cannot hold every integer
    /// there, so one stored as a double could no longer be told from its neighbours (SPEC
    /// §3.4 compares `2^53` with `2^53 + 1` exactly).
    Int {
        wide: bool,
    },
    Float,
    /// An integer beyond `i64` (a number, but too wide for an integer column).
    Huge,
    /// An array or an object.
    Other,
}

impl Kind {
    pub fn of(v: &Value) -> Kind {
        match v {
            Value::Null => Kind::Null,
            Value::String(_) => Kind::Str,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) if n.is_i64() => Kind::Int {
                wide: n.as_i64().is_some_and(|x| x.unsigned_abs() >= 1 << 53),
            },
            Value::Number(n) if n.is_f64() => Kind::Float,
            Value::Number(_) => Kind::Huge,
            _ => Kind::Other,
        }
    }
}

/// Builds a `TableSchema` from events seen one at a time (`ruleqc run` streams its input).
#[derive(Debug, Default)]
pub struct SchemaBuilder {
    seen: BTreeMap<String, Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    s: bool,
    i: bool,
    f: bool,
    b: bool,
    other: bool,
    non_null: bool,
    /// An integer from ±2^53 on (see `Kind::Int`).
    wide_int: bool,
}

impl SchemaBuilder {
    pub fn add(&mut self, event: &Value) {
        let Value::Object(map) = event else { return };
        for (k, v) in map {
            self.add_kind(k, Kind::of(v));
        }
    }

    /// One top-level value of an event, by kind (what `add` sees of each value).
    pub fn add_kind(&mut self, key: &str, kind: Kind) {
        if !self.seen.contains_key(key) {
            self.seen.insert(key.to_string(), Seen::default());
        }
        let s = self.seen.get_mut(key).expect("inserted");
        match kind {
            Kind::Null => {}
            Kind::Str => s.s = true,
            Kind::Bool => s.b = true,
            Kind::Int { wide } => {
                s.i = true;
                s.wide_int |= wide;
            }
            Kind::Float => s.f = true,
            // Kept exact as JSON, like arrays and objects.
            Kind::Huge | Kind::Other => s.other = true,
        }
        s.non_null |= kind != Kind::Null;
    }

    pub fn finish(self) -> TableSchema {
        let columns = self
            .seen
            .into_iter()
            .map(|(k, s)| {
                let kinds = [s.s, s.i || s.f, s.b, s.other]
                    .iter()
                    .filter(|x| **x)
                    .count();
                // Integers mixed with fractions would be doubles; keep them exact as JSON
                // when a double cannot hold one of them.
                let lossy = s.f && s.wide_int;
                let ty = if !s.non_null || s.other || kinds != 1 || lossy {
                    ColumnType::Json
                } else if s.s {
                    ColumnType::Text
                } else if s.b {
                    ColumnType::Boolean
                } else if s.f {
                    ColumnType::Real
                } else {
                    ColumnType::Integer
                };
                (k, ty)
            })
            .collect();
        TableSchema {
            columns,
            complete: true,
        }
    }
}

/// Where a resolved column's type came from (`ruleqc explain --stage schema` shows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Declared in the profile.
    Profile,
    /// Shown by the test events of the log type; the first rule whose events hold the column.
    Events(String),
    /// No event holds it: guessed from how these rules use it.
    Guessed(Vec<String>),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Profile => f.write_str("profile"),
            Origin::Events(r) => write!(f, "events of rule {r}"),
            Origin::Guessed(rs) => write!(f, "guessed from rule {}", rs.join(", ")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedColumn {
    pub ty: ColumnType,
    pub origin: Origin,
}

/// One log type's columns, resolved once for a whole rule set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTypeSchema {
    pub columns: BTreeMap<String, ResolvedColumn>,
    /// The keys the test events show in the objects below the top level, by where the object
    /// is (`userIdentity` → `arn`, `type`, ...): what an "unknown field" warning checks a
    /// nested path against.
    pub objects: Objects,
}

/// A place inside an event below its top level: object keys, and `None` for an array's
/// elements (any index).
pub type Place = Vec<Option<String>>;

/// The keys of the objects test events hold, by place, as a tree of the places: each key is
/// kept once, under its parent, instead of once in every place below it (the tree of a large
/// rule set's events was a tenth of its loaded size as a map from places to key sets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objects {
    /// The event itself: its keys are the top-level ones.
    root: ObjectNode,
}

/// What the events show at one place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectNode {
    /// When an object was seen here: its keys (sorted, each once), with what is under each.
    keys: Option<Vec<(Box<str>, ObjectNode)>>,
    /// When an array was seen here: what its elements show.
    elements: Option<Box<ObjectNode>>,
}

/// The keys of the objects seen at one place, sorted.
#[derive(Clone, Copy, Debug)]
pub struct ObjectKeys<'a>(&'a [(Box<str>, ObjectNode)]);

impl<'a> ObjectKeys<'a> {
    pub fn contains(&self, key: &str) -> bool {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key)).is_ok()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Objects {
    /// The keys of the objects seen at `place` (below the top level); `None` when no object
    /// was seen there.
    pub fn get(&self, place: &[Option<String>]) -> Option<ObjectKeys<'_>> {
        if place.is_empty() {
            return None;
        }
        let mut node = &self.root;
        for step in place {
            node = match step {
                Some(k) => {
                    let keys = node.keys.as_ref()?;
                    let i = keys.binary_search_by(|(x, _)| (**x).cmp(k)).ok()?;
                    &keys[i].1
                }
                None => node.elements.as_deref()?,
            };
        }
        node.keys.as_deref().map(ObjectKeys)
    }

    /// Whether no object was seen below the top level.
    pub fn is_empty(&self) -> bool {
        fn any(n: &ObjectNode) -> bool {
            n.keys.is_some() || n.elements.as_deref().is_some_and(any)
        }
        !self.root.keys.iter().flatten().any(|(_, n)| any(n))
    }

    /// The node of the top-level key `key`.
    pub fn top(&mut self, key: &str) -> &mut ObjectNode {
        self.root.key(key)
    }
}

impl ObjectNode {
    /// Records that an object was seen here (with no key yet).
    pub fn object(&mut self) {
        self.keys.get_or_insert_with(Vec::new);
    }

    /// The node of key `key` of the object here, recording both.
    pub fn key(&mut self, key: &str) -> &mut ObjectNode {
        let keys = self.keys.get_or_insert_with(Vec::new);
        let i = match keys.binary_search_by(|(x, _)| (**x).cmp(key)) {
            Ok(i) => i,
            Err(i) => {
                keys.insert(i, (key.into(), ObjectNode::default()));
                i
            }
        };
        &mut keys[i].1
    }

    /// The node of the elements of the array here, recording it.
    pub fn elements(&mut self) -> &mut ObjectNode {
        self.elements.get_or_insert_with(Default::default)
    }

    /// Drops the spare room the key lists grew while the events were read.
    fn shrink(&mut self) {
        if let Some(keys) = &mut self.keys {
            keys.shrink_to_fit();
            for (_, node) in keys {
                node.shrink();
            }
        }
        if let Some(e) = &mut self.elements {
            e.shrink();
        }
    }
}

/// Records the keys of every object inside `v`, which is at `at`.
fn collect_objects(v: &Value, at: &mut ObjectNode) {
    match v {
        Value::Object(map) => {
            at.object();
            for (k, child) in map {
                collect_objects(child, at.key(k));
            }
        }
        Value::Array(items) => {
            let elements = at.elements();
            for item in items {
                collect_objects(item, elements);
            }
        }
        _ => {}
    }
}

impl LogTypeSchema {
    /// The column types, for a backend.
    pub fn table(&self) -> TableSchema {
        TableSchema {
            columns: self
                .columns
                .iter()
                .map(|(k, c)| (k.clone(), c.ty))
                .collect(),
            complete: false,
        }
    }

    /// The columns known from the profile or from events (not only guessed from rules): what
    /// an "unknown field" warning may be checked against. Empty when nothing is known.
    pub fn known(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|(_, c)| !matches!(c.origin, Origin::Guessed(_)))
            .map(|(k, _)| k.as_str())
    }
}

/// Every log type's schema for a rule set: profile-declared columns win; then what all test
/// events of the log type, across every rule, show; then a guess from the rules for columns no
/// event holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaSet {
    pub log_types: BTreeMap<String, LogTypeSchema>,
    /// `case_collisions` of each log type's columns, per dialect, computed on first use: the
    /// set does not change once resolved, and every rule of a log type asks for the same groups.
    collisions: CollisionCache,
}

/// Log type's colliding column groups, by dialect name then log type. Not part of the set's
/// value: a clone starts empty and two sets compare equal whatever either has cached.
#[derive(Default)]
struct CollisionCache(std::sync::Mutex<std::collections::HashMap<&'static str, GroupsByLogType>>);

/// Colliding column groups, by log type.
type GroupsByLogType = std::collections::HashMap<String, std::sync::Arc<Vec<Vec<String>>>>;

impl Clone for CollisionCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for CollisionCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CollisionCache {}

impl std::fmt::Debug for CollisionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CollisionCache")
    }
}

/// The columns a rule implies (`backend::inferred_schema`), in name order, as kept for a
/// packed rule (`rule::Loaded::implied`).
pub type Implied = [(Box<str>, ColumnType)];

/// One rule as schema resolution sees it: the rule (with the profile's renames applied) and
/// its test events (renamed the same way), in test order.
pub struct RuleInput<'a> {
    pub rule: &'a crate::rule::Rule,
    /// The columns the rule implies (`backend::inferred_schema`) when they were taken before
    /// its condition was packed away (`Loaded::implied`); `None`: read from `rule`.
    pub implied: Option<&'a Implied>,
    /// Borrowed from the rule's tests when no rename applies to an event.
    pub events: Vec<std::borrow::Cow<'a, Value>>,
}

/// A test event whose value cannot be held by the column type the profile declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contradiction {
    /// Index into the `RuleInput`s.
    pub rule: usize,
    /// Index of the test in the rule.
    pub test: usize,
    pub log_type: String,
    pub column: String,
    pub declared: ColumnType,
    pub value: Value,
}

impl ColumnType {
    /// The name a profile uses for the type.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Real => "real",
            ColumnType::Boolean => "boolean",
            ColumnType::Json => "json",
            ColumnType::Timestamp => "timestamp",
        }
    }

    /// Whether a column of this type holds `v` as it is (JSON null fits every column).
    pub fn holds(self, v: &Value) -> bool {
        match (self, v) {
            (ColumnType::Json, _) | (_, Value::Null) => true,
            (ColumnType::Text, Value::String(_)) => true,
            (ColumnType::Integer, Value::Number(n)) => n.is_i64(),
            (ColumnType::Real, Value::Number(_)) => true,
            (ColumnType::Boolean, Value::Bool(_)) => true,
            (ColumnType::Timestamp, Value::String(s)) => timestamp::parse(s).is_some(),
            _ => false,
        }
    }

    /// `holds`, for a value known by its kind and, for a string, its text.
    pub fn holds_kind(self, kind: Kind, text: Option<&str>) -> bool {
        if self == ColumnType::Timestamp && kind == Kind::Str {
            return text.is_some_and(|t| timestamp::parse(t).is_some());
        }
        matches!(
            (self, kind),
            (ColumnType::Json, _)
                | (_, Kind::Null)
                | (ColumnType::Text, Kind::Str)
                | (ColumnType::Integer, Kind::Int { .. })
                | (
                    ColumnType::Real,
                    Kind::Int { .. } | Kind::Float | Kind::Huge
                )
                | (ColumnType::Boolean, Kind::Bool)
        )
    }
}

/// What a JSON value is, in words (for diagnostics).
pub fn describe(v: &Value) -> String {
    let mut text = v.to_string();
    if text.chars().count() > 40 {
        text = format!("{}...", text.chars().take(37).collect::<String>());
    }
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "the boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "the integer",
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(_) => "the array",
        Value::Object(_) => "the object",
    };
    format!("{kind} {text}")
}

impl SchemaSet {
    /// `case_collisions` of `log_type`'s resolved columns on dialect `d` (none for a log type
    /// the set lacks), computed once per log type and dialect.
    pub fn case_collisions(
        &self,
        log_type: &str,
        d: &dyn crate::backend::sql::dialect::Dialect,
    ) -> std::sync::Arc<Vec<Vec<String>>> {
        let mut cache = self.collisions.0.lock().unwrap_or_else(|e| e.into_inner());
        let by_log_type = cache.entry(d.name()).or_default();
        if let Some(groups) = by_log_type.get(log_type) {
            return groups.clone();
        }
        let groups = std::sync::Arc::new(match self.log_types.get(log_type) {
            Some(s) => case_collisions(d, s.columns.keys().map(String::as_str))
                .into_iter()
                .map(|g| g.into_iter().map(str::to_string).collect())
                .collect(),
            None => Vec::new(),
        });
        by_log_type.insert(log_type.to_string(), groups.clone());
        groups
    }

    /// Resolves every log type the rules name. `declared` gives a log type's profile columns.
    /// Values that contradict a declared column are returned (and leave the column as declared).
    pub fn resolve(
        inputs: &[RuleInput<'_>],
        declared: &dyn Fn(&str) -> Option<BTreeMap<String, ColumnType>>,
    ) -> (SchemaSet, Vec<Contradiction>) {
        let mut log_types: Vec<&str> = inputs
            .iter()
            .flat_map(|i| i.rule.log_types.iter().map(String::as_str))
            .collect();
        log_types.sort_unstable();
        log_types.dedup();
        let mut set = SchemaSet::default();
        let mut contradictions = Vec::new();
        for lt in log_types {
            let decl = declared(lt).unwrap_or_default();
            let mut columns: BTreeMap<String, ResolvedColumn> = decl
                .iter()
                .map(|(k, t)| {
                    (
                        k.clone(),
                        ResolvedColumn {
                            ty: *t,
                            origin: Origin::Profile,
                        },
                    )
                })
                .collect();
            let mut builder = SchemaBuilder::default();
            let mut first: BTreeMap<String, String> = BTreeMap::new();
            let mut guesses: BTreeMap<String, (ColumnType, Vec<String>)> = BTreeMap::new();
            let mut objects = Objects::default();
            for (ri, input) in inputs.iter().enumerate() {
                if !input.rule.log_types.iter().any(|l| l == lt) {
                    continue;
                }
                for (ti, ev) in input.events.iter().enumerate() {
                    let Value::Object(map) = &**ev else { continue };
                    for (k, v) in map {
                        collect_objects(v, objects.top(k));
                        match decl.get(k) {
                            Some(t) if !t.holds(v) => contradictions.push(Contradiction {
                                rule: ri,
                                test: ti,
                                log_type: lt.to_string(),
                                column: k.clone(),
                                declared: *t,
                                value: v.clone(),
                            }),
                            Some(_) => {}
                            None => {
                                builder.add_kind(k, Kind::of(v));
                                first
                                    .entry(k.clone())
                                    .or_insert_with(|| input.rule.rule_id.clone());
                            }
                        }
                    }
                }
                // A rule loaded without its events (`rule::Keep`) has their shapes: the same
                // kinds and object keys. It is loaded so only for a profile that declares no
                // column and renames nothing, so no value can contradict a declared type.
                for shape in &input.rule.shapes {
                    shape.objects(&mut objects);
                    for (k, kind) in shape.fields().into_iter().flatten() {
                        debug_assert!(!decl.contains_key(k), "shapes under declared columns");
                        if decl.contains_key(k) {
                            continue;
                        }
                        builder.add_kind(k, kind);
                        if !first.contains_key(k) {
                            first.insert(k.to_string(), input.rule.rule_id.clone());
                        }
                    }
                }
                let mut guess = |k: String, t: ColumnType| {
                    let g = guesses.entry(k).or_insert((t, Vec::new()));
                    if g.0 != t {
                        g.0 = ColumnType::Json;
                    }
                    g.1.push(input.rule.rule_id.clone());
                };
                match input.implied {
                    Some(cols) => cols.iter().for_each(|(k, t)| guess(k.to_string(), *t)),
                    None => crate::backend::inferred_schema(input.rule)
                        .columns
                        .into_iter()
                        .for_each(|(k, t)| guess(k, t)),
                }
            }
            for (k, ty) in builder.finish().columns {
                let origin = Origin::Events(first.remove(&k).unwrap_or_default());
                columns.insert(k, ResolvedColumn { ty, origin });
            }
            for (k, (ty, mut rules)) in guesses {
                rules.dedup();
                columns.entry(k).or_insert(ResolvedColumn {
                    ty,
                    origin: Origin::Guessed(rules),
                });
            }
            // Kept for the whole run: no spare room in its key lists.
            objects.root.shrink();
            set.log_types
                .insert(lt.to_string(), LogTypeSchema { columns, objects });
        }
        (set, contradictions)
    }
}

/// Whether two column names reach one column on a SQL dialect (the dialect's
/// `identifier_case`).
pub fn same_column(d: &dyn crate::backend::sql::dialect::Dialect, a: &str, b: &str) -> bool {
    a != b && column_key(d, a) == column_key(d, b)
}

/// What names a column on dialect `d`: two names reach one column when their keys are equal.
fn column_key(d: &dyn crate::backend::sql::dialect::Dialect, name: &str) -> String {
    use crate::backend::sql::dialect::IdentCase;
    if d.identifier_case() == IdentCase::Insensitive {
        return name.to_lowercase();
    }
    let q = d.quote_ident(name);
    match q.chars().next() {
        Some('"' | '`') => q[1..q.len() - 1].to_string(),
        _ => match d.identifier_case() {
            IdentCase::FoldUpper => q.to_uppercase(),
            IdentCase::FoldLower => q.to_lowercase(),
            IdentCase::Insensitive | IdentCase::Exact => q,
        },
    }
}

/// Groups of columns that `same_column` cannot tell apart, each sorted, of two or more.
pub fn case_collisions<'a>(
    d: &dyn crate::backend::sql::dialect::Dialect,
    columns: impl IntoIterator<Item = &'a str>,
) -> Vec<Vec<&'a str>> {
    // One pass keyed by what `same_column` compares (each column is met once per rule and
    // log type, so comparing every column with every group was quadratic in the columns).
    // Distinct names collide exactly when their keys are equal.
    let key = |c: &str| column_key(d, c);
    let mut groups: Vec<Vec<&str>> = Vec::new();
    let mut by_key: std::collections::HashMap<String, usize> = Default::default();
    for c in columns {
        match by_key.entry(key(c)) {
            std::collections::hash_map::Entry::Occupied(g) if !groups[*g.get()].contains(&c) => {
                groups[*g.get()].push(c)
            }
            std::collections::hash_map::Entry::Occupied(_) => groups.push(vec![c]),
            std::collections::hash_map::Entry::Vacant(g) => {
                g.insert(groups.len());
                groups.push(vec![c]);
            }
        }
    }
    groups.retain(|g| g.len() > 1);
    for g in &mut groups {
        g.sort_unstable();
    }
    groups
}

/// The embedded engines' names for colliding columns: in each group the first name (in byte
/// order) stays, the others become `name~2`, `name~3`, ... (a name no event key takes in
/// practice and that both SQLite and DuckDB accept quoted).
pub fn case_aliases(groups: &[Vec<&str>]) -> Vec<(String, String)> {
    groups
        .iter()
        .flat_map(|g| {
            g.iter()
                .enumerate()
                .skip(1)
                .map(|(i, c)| (c.to_string(), format!("{c}~{}", i + 1)))
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    Json,
    Str,
    Num,
    Bool,
    NullOnly,
}

fn collect(node: &Node, uses: &mut BTreeMap<String, Vec<Use>>) {
    collect_at(node, 0, uses);
}

/// `depth` counts the quantifiers around `node`. Only paths read at depth 0 name columns; a
/// quantifier's body reads its element, except a `field()` that is read `up` scopes out,
/// which reaches the event when `up` equals the depth.
fn collect_at(node: &Node, depth: usize, uses: &mut BTreeMap<String, Vec<Use>>) {
    match node {
        Node::And(items) | Node::Or(items) => items.iter().for_each(|n| collect_at(n, depth, uses)),
        Node::Not(inner) => collect_at(inner, depth, uses),
        Node::Any { path, body } | Node::All { path, body } => {
            if depth == 0 {
                add_use(uses, path, Use::Json);
            }
            collect_at(body, depth + 1, uses);
        }
        Node::Leaf(leaf) => {
            let u = match &leaf.test {
                Test::Eq(s) => scalar_use(s),
                Test::In(items) => items.first().map_or(Use::Json, scalar_use),
                Test::Contains(_)
                | Test::StartsWith(_)
                | Test::EndsWith(_)
                | Test::Matches(_)
                | Test::InCidr(_) => Use::Str,
                Test::Compare(..) => Use::Num,
                Test::IsNull => Use::NullOnly,
                Test::IsEmpty => Use::Json,
                Test::Field(op, _) => field_use(*op, leaf.case_insensitive),
            };
            if depth == 0 {
                add_use(uses, &leaf.path, u);
            }
            if let Test::Field(_, r) = &leaf.test
                && r.up == depth
            {
                add_use(uses, &r.path, u);
            }
        }
    }
}

/// A use of the column `path` starts at; a deeper path reads it as JSON.
fn add_use(uses: &mut BTreeMap<String, Vec<Use>>, path: &FieldPath, u: Use) {
    let Some(Step::Key(k)) = path.0.first() else {
        return;
    };
    let u = if path.0.len() > 1 { Use::Json } else { u };
    uses.entry(k.clone()).or_default().push(u);
}

/// Both sides of a field comparison: strings for the string operators and `eq~`, numbers for
/// `gt`..`le`; plain `eq` compares values of any one type, so the column stays JSON.
fn field_use(op: FieldOp, ci: bool) -> Use {
    match op {
        FieldOp::Eq if !ci => Use::Json,
        FieldOp::Eq | FieldOp::Contains | FieldOp::StartsWith | FieldOp::EndsWith => Use::Str,
        FieldOp::Compare(_) => Use::Num,
    }
}

fn scalar_use(s: &crate::ir::Scalar) -> Use {
    match s {
        crate::ir::Scalar::Str(_) => Use::Str,
        crate::ir::Scalar::Num(_) => Use::Num,
        crate::ir::Scalar::Bool(_) => Use::Bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_from_events() {
        let evs = [
            json!({"s": "a", "i": 1, "f": 1.5, "b": true, "argv": "", "o": {"k": 1}, "n": null, "big": 18446744073709551615u64}),
            json!({"s": null, "i": 2, "f": 2, "b": false, "argv": [], "o": null}),
            json!({"w": 9007199254740993i64, "i": 9007199254740993i64}),
            json!({"w": 0.5}),
        ];
        let s = TableSchema::from_events(&evs);
        let t = |k: &str| s.column(k);
        assert_eq!(t("s"), Some(ColumnType::Text));
        assert_eq!(t("i"), Some(ColumnType::Integer));
        assert_eq!(t("f"), Some(ColumnType::Real));
        assert_eq!(t("b"), Some(ColumnType::Boolean));
        assert_eq!(t("argv"), Some(ColumnType::Json));
        assert_eq!(t("o"), Some(ColumnType::Json));
        assert_eq!(t("n"), Some(ColumnType::Json));
        assert_eq!(t("big"), Some(ColumnType::Json));
        assert_eq!(t("w"), Some(ColumnType::Json));
        assert_eq!(t("absent"), None);
    }

    /// `run` checks values by kind in its first pass and by value when loading SQLite: the
    /// two must give one answer.
    #[test]
    fn holds_kind_agrees_with_holds() {
        let values = [
            json!(null),
            json!("s"),
            json!(true),
            json!(1),
            json!(-9007199254740993i64),
            json!(18446744073709551615u64),
            json!(1.5),
            json!([1]),
            json!({"a": 1}),
            json!("2026-12-01T22:05:09Z"),
        ];
        for ty in [
            ColumnType::Timestamp,
            ColumnType::Text,
            ColumnType::Integer,
            ColumnType::Real,
            ColumnType::Boolean,
            ColumnType::Json,
        ] {
            for v in &values {
                assert_eq!(
                    ty.holds_kind(Kind::of(v), v.as_str()),
                    ty.holds(v),
                    "{ty:?} {v}"
                );
            }
        }
    }
}

#[cfg(test)]
mod inference_tests {
    use super::*;
    use crate::ir::{lower::lower_condition, normalize::normalize};

    fn infer(condition: &str) -> TableSchema {
        let ast = crate::syntax::parse(condition).expect("parses");
        let ir = normalize(lower_condition(&ast).expect("lowers"));
        TableSchema::infer_from_rule(&ir, &[])
    }

    #[test]
    fn field_references_read_columns() {
        let s = infer("a gt field(b)\nc contains field(d)\ne eq field(f)\ng eq~ field(h)");
        let t = |k: &str| s.columns.get(k).copied();
        assert_eq!(
            (t("a"), t("b")),
            (Some(ColumnType::Real), Some(ColumnType::Real))
        );
        assert_eq!(
            (t("c"), t("d")),
            (Some(ColumnType::Text), Some(ColumnType::Text))
        );
        // `eq` compares any one type: the columns stay JSON.
        assert_eq!(
            (t("e"), t("f")),
            (Some(ColumnType::Json), Some(ColumnType::Json))
        );
        assert_eq!(
            (t("g"), t("h")),
            (Some(ColumnType::Text), Some(ColumnType::Text))
        );
        // A deeper path reads its top-level column as JSON.
        assert_eq!(
            infer("a eq field(b.c)").columns.get("b"),
            Some(&ColumnType::Json)
        );
    }

    #[test]
    fn field_references_in_quantifiers_read_the_event_only_when_written_there() {
        // The shorthand reads `h` from the event; inside `any`, `k` is the element's.
        let s = infer("hosts[*] eq~ field(h)\nany xs (a eq field(k))\nany ys (zs[*] eq field(m))");
        let keys: Vec<&str> = s.columns.keys().map(String::as_str).collect();
        assert_eq!(keys, ["h", "hosts", "xs", "ys"]);
        assert_eq!(s.columns["h"], ColumnType::Text);
    }

    #[test]
    fn in_cidr_reads_a_string() {
        assert_eq!(
            infer(r#"ip in_cidr "10.0.0.0/8""#).columns.get("ip"),
            Some(&ColumnType::Text)
        );
    }
}

#[cfg(test)]
mod resolution_tests {
    use super::*;
    use crate::rule::{Rule, load_str};

    fn rule(id: &str, condition: &str, logs: &[&str]) -> Rule {
        let mut text = format!(
            "RuleID: {id}\nLogTypes: [Gravitational.TeleportAudit]\nCondition: |\n  {condition}\nTests:\n"
        );
        for (i, log) in logs.iter().enumerate() {
            text.push_str(&format!(
                "  - Name: t{i}\n    ExpectedResult: false\n    Log: {log}\n"
            ));
        }
        load_str(&format!("{id}.yml"), text)
            .rule()
            .unwrap_or_else(|| panic!("{id} loads"))
            .clone()
    }

    #[test]
    fn the_profile_wins_then_every_rules_events_then_guesses() {
        let a = rule("A", "success eq true", &[r#"{success: true, uid: "u"}"#]);
        // Another rule's event holds a string: the column is JSON for both rules.
        let b = rule("B", "code eq \"x\"", &[r#"{success: "false", code: "T1"}"#]);
        // No event has `argv` or `ei`: guessed from the rules that read them.
        let c = rule("C", "argv eq \"-l\"\n  ei gt 5", &[r#"{uid: 42}"#]);
        let inputs: Vec<RuleInput<'_>> = [&a, &b, &c]
            .iter()
            .map(|r| RuleInput {
                rule: r,
                implied: None,
                events: r
                    .tests
                    .iter()
                    .map(|t| std::borrow::Cow::Borrowed(&t.log))
                    .collect(),
            })
            .collect();
        let declared = |_: &str| Some(BTreeMap::from([("uid".to_string(), ColumnType::Text)]));
        let (set, contradictions) = SchemaSet::resolve(&inputs, &declared);
        let s = &set.log_types["Gravitational.TeleportAudit"];
        let col = |k: &str| s.columns.get(k).cloned().map(|c| (c.ty, c.origin));
        assert_eq!(col("uid"), Some((ColumnType::Text, Origin::Profile)));
        assert_eq!(
            col("success"),
            Some((ColumnType::Json, Origin::Events("A".into())))
        );
        assert_eq!(
            col("code"),
            Some((ColumnType::Text, Origin::Events("B".into())))
        );
        assert_eq!(
            col("argv"),
            Some((ColumnType::Text, Origin::Guessed(vec!["C".into()])))
        );
        assert_eq!(
            col("ei"),
            Some((ColumnType::Real, Origin::Guessed(vec!["C".into()])))
        );
        // C's `uid: 42` contradicts the declared text column; A's string does not.
        assert_eq!(contradictions.len(), 1);
        let k = &contradictions[0];
        assert_eq!((k.rule, k.test, k.column.as_str()), (2, 0, "uid"));
        assert_eq!(k.declared, ColumnType::Text);
        // Known (for unknown-field warnings): profile and event columns, not guesses.
        let known: Vec<&str> = s.known().collect();
        assert_eq!(known, ["code", "success", "uid"]);
    }

    #[test]
    fn case_collisions_by_dialect() {
        use crate::backend::sql::SqlDialect;
        let cols = ["s", "S", "user", "User", "USER", "other"];
        let groups = |d: SqlDialect| case_collisions(d.dialect(), cols.iter().copied());
        assert_eq!(
            groups(SqlDialect::Sqlite),
            vec![vec!["S", "s"], vec!["USER", "User", "user"]]
        );
        assert_eq!(groups(SqlDialect::Postgres), Vec::<Vec<&str>>::new());
        assert_eq!(groups(SqlDialect::Clickhouse), Vec::<Vec<&str>>::new());
        // Snowflake upper-cases what it leaves unquoted.
        assert!(!groups(SqlDialect::Snowflake).is_empty());
        assert_eq!(
            case_aliases(&groups(SqlDialect::Duckdb)),
            [
                ("s".to_string(), "s~2".to_string()),
                ("User".to_string(), "User~2".to_string()),
                ("user".to_string(), "user~3".to_string())
            ]
        );
    }
}
