//! The generated differential test (tests/differential.rs, and the ClickHouse and Spark
//! binaries): random conditions (depth ≤ 4, every operator, `field()` comparisons where the
//! dialect spells them) × random events (missing, null, typed, array, nested and hostile
//! values), run through the reference evaluator and through the compiled SQL on an engine. Any
//! disagreement prints the seed, the condition, the event and the SQL.
//!
//! Seeded and reproducible: `RULEQC_DIFF_SEED` picks the seed (default fixed),
//! `RULEQC_DIFF_SCALE` multiplies the number of batches for a larger run.

use ruleqc::backend::schema::TableSchema;
use ruleqc::backend::sql::{SqlDialect, render_condition};
use ruleqc::engine::{Engine, EventTable};
use ruleqc::ir::eval::eval;
use ruleqc::ir::{Node, lower::lower_condition, normalize::normalize};
use serde_json::{Value, json};

/// SplitMix64: small, seedable, good enough to pick test cases.
struct Rng {
    state: u64,
    /// Whether to generate `field()` comparisons (not every dialect spells them).
    field: bool,
}

impl Rng {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const STRINGS: &[&str] = &[
    "a",
    "A",
    "",
    "abc",
    "ABC",
    "xabcx",
    "a%b",
    "a_b",
    "a*b",
    "?",
    "it's",
    "say \"hi\"",
    "back\\slash",
    "new\nline",
    "tab\there",
    ";--",
    "$x",
    "`tick`",
    "|pipe",
    "É",
    "é",
    "Straße",
    "5",
    "true",
    "null",
    " ",
    "ünïcödé 😀",
    "10.0.0.1",
    "010.0.0.1",
    "10.255.255.255",
    "11.0.0.0",
    "::ffff:10.0.0.1",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:1",
    "fe80::1%eth0",
];

/// Strings that are prefixes, suffixes and infixes of one another, in two cases.
const RELATED: &[&str] = &[
    "a", "A", "ab", "abc", "ABC", "bc", "xabcx", "", "é", "É", "5",
];

fn number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        7 => json!(9007199254740992u64),
        0 => json!(0),
        1 => json!(5),
        2 => json!(-1.5),
        3 => json!(9007199254740993u64),
        4 => json!(1000.0),
        5 => json!(5.0),
        _ => json!(-7),
    }
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(4) {
        0 | 1 => json!(*rng.pick(STRINGS)),
        2 => number(rng),
        _ => json!(rng.chance(50)),
    }
}

fn any_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 3 } else { 6 }) {
        0 => Value::Null,
        1 | 2 => scalar(rng),
        3 | 4 => Value::Array(
            (0..rng.below(4))
                .map(|_| any_value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for k in ["k", "arr", "n"] {
                if rng.chance(60) {
                    m.insert(k.into(), any_value(rng, depth - 1));
                }
            }
            Value::Object(m)
        }
    }
}

/// Events whose `s`, `n`, `b` keys keep one type (typed columns) and whose other keys mix.
fn event(rng: &mut Rng) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    let missing_or_null = |rng: &mut Rng, v: Value| match rng.below(10) {
        0 => None,
        1 => Some(Value::Null),
        _ => Some(v),
    };
    let s = json!(*rng.pick(STRINGS));
    put("s", missing_or_null(rng, s));
    let n = number(rng);
    put("n", missing_or_null(rng, n));
    let b = json!(rng.chance(50));
    put("b", missing_or_null(rng, b));
    let v = any_value(rng, 2);
    put("m", missing_or_null(rng, v));
    let arr = Value::Array((0..rng.below(4)).map(|_| any_value(rng, 2)).collect());
    let arr = if rng.chance(15) { scalar(rng) } else { arr };
    put("arr", missing_or_null(rng, arr));
    let mut obj = serde_json::Map::new();
    if rng.chance(70) {
        obj.insert("k".into(), any_value(rng, 1));
    }
    if rng.chance(60) {
        obj.insert(
            "arr".into(),
            Value::Array((0..rng.below(4)).map(|_| any_value(rng, 2)).collect()),
        );
    }
    put("obj", missing_or_null(rng, Value::Object(obj)));
    let odd = scalar(rng);
    put("odd key", missing_or_null(rng, odd));
    // Partners for `field()`: strings that contain, start or end one another, and numbers
    // near each other and near 2^53, with other kinds now and then.
    let t = match rng.below(10) {
        0 => number(rng),
        1 => json!(rng.chance(50)),
        _ => json!(*rng.pick(RELATED)),
    };
    put("t", missing_or_null(rng, t));
    let x = match rng.below(10) {
        0 => json!(*rng.pick(RELATED)),
        _ => number(rng),
    };
    put("x", missing_or_null(rng, x));
    Value::Object(m)
}

fn literal_str(rng: &mut Rng) -> String {
    serde_json::to_string(rng.pick(STRINGS)).unwrap()
}

fn literal_num(rng: &mut Rng) -> String {
    rng.pick(&[
        "0",
        "5",
        "-1.5",
        "9007199254740993",
        "9007199254740992",
        "1e3",
        "5.0",
        "-7",
        "2",
    ])
    .to_string()
}

fn literal(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => literal_str(rng),
        1 => literal_num(rng),
        _ => rng.pick(&["true", "false"]).to_string(),
    }
}

/// One predicate on one of `paths`; a `field()` comparison is on one of `field.0` and reads one
/// of `field.1` (paths of the scope the predicate is written in: for `arr[*] ...`, the event's).
fn predicate(rng: &mut Rng, paths: &[&str], field: (&[&str], &[&str])) -> String {
    let path = *rng.pick(paths);
    let ci = if rng.chance(25) { "~" } else { "" };
    match rng.below(19) {
        14..=18 if rng.field => field_predicate(rng, field.0, field.1),
        14..=18 => {
            let op = rng.pick(&["eq", "ne"]);
            format!("{path} {op} {}", literal(rng))
        }
        0 | 1 => {
            let op = rng.pick(&["eq", "ne", "==", "!="]);
            let lit = literal(rng);
            let ci = if lit.starts_with('"') { ci } else { "" };
            format!("{path} {op}{ci} {lit}")
        }
        2 => {
            let op = rng.pick(&["in", "not_in"]);
            let kind = rng.below(3);
            let items: Vec<String> = (0..1 + rng.below(3))
                .map(|_| match kind {
                    0 => literal_str(rng),
                    1 => literal_num(rng),
                    _ => rng.pick(&["true", "false"]).to_string(),
                })
                .collect();
            let ci = if kind == 0 { ci } else { "" };
            format!("{path} {op}{ci} [{}]", items.join(", "))
        }
        3..=5 => {
            let op = rng.pick(&[
                "contains",
                "not_contains",
                "starts_with",
                "not_starts_with",
                "ends_with",
                "not_ends_with",
            ]);
            let needle = rng.pick(&[
                "a", "b", "bc", "A", "", "%", "_", "*", "\\\\", "\\n", "é", "'", "\\\"", "5",
            ]);
            format!("{path} {op}{ci} \"{needle}\"")
        }
        6 => {
            let op = rng.pick(&["matches", "not_matches"]);
            let re = rng.pick(&[
                "^a", "c$", "(?i)é", "a.c", r"\d", "[%_]", "^$", "b|x", r"\bab", "(?s)w.l",
                r"^\w+$", "ß",
            ]);
            format!("{path} {op} r\"{re}\"")
        }
        9 => {
            let op = rng.pick(&["in_cidr", "not_in_cidr"]);
            let ranges: Vec<String> = (0..1 + rng.below(2))
                .map(|_| {
                    let r = rng.pick(&[
                        "10.0.0.0/8",
                        "10.0.0.1/32",
                        "0.0.0.0/0",
                        "2001:db8::/32",
                        "::ffff:0:0/96",
                        "fe80::/10",
                        "::/0",
                    ]);
                    format!("\"{r}\"")
                })
                .collect();
            format!("{path} {op} [{}]", ranges.join(", "))
        }
        7 | 8 => {
            let op = rng.pick(&["gt", "ge", "lt", "le", ">", ">=", "<", "<="]);
            format!("{path} {op} {}", literal_num(rng))
        }
        _ => {
            let op = rng.pick(&["is_null", "is_not_null", "is_empty", "is_not_empty"]);
            format!("{path} {op}")
        }
    }
}

/// `PATH op field(PATH2)` with PATH from `lefts` and PATH2 from `others`, any operator
/// `field()` takes, `~` now and then on the string ones.
fn field_predicate(rng: &mut Rng, lefts: &[&str], others: &[&str]) -> String {
    let path = rng.pick(lefts);
    let other = rng.pick(others);
    let op = *rng.pick(&[
        "eq",
        "ne",
        "==",
        "!=",
        "gt",
        "ge",
        "lt",
        "le",
        "<",
        ">=",
        "contains",
        "not_contains",
        "starts_with",
        "not_starts_with",
        "ends_with",
        "not_ends_with",
    ]);
    let stringy = !matches!(op, "gt" | "ge" | "lt" | "le" | "<" | ">=");
    let ci = if stringy && rng.chance(25) { "~" } else { "" };
    format!("{path} {op}{ci} field({other})")
}

/// A shallow condition that is mostly `field()` comparisons between the partner keys, some
/// through `[*]` (PATH2 read from the event) or inside a quantifier (PATH2 from the element).
fn field_condition(rng: &mut Rng) -> String {
    let p = match rng.below(6) {
        0 => {
            let arr = rng.pick(&["arr", "m", "obj.arr"]);
            field_predicate(rng, &[&format!("{arr}[*]")], FIELD_PATHS)
        }
        1 => {
            let q = rng.pick(&["any", "all"]);
            let arr = rng.pick(&["arr", "m", "obj.arr"]);
            let body = field_predicate(rng, ELEM_PATHS, ELEM_PATHS);
            format!("{q} {arr} ({body})")
        }
        _ => field_predicate(rng, FIELD_PATHS, FIELD_PATHS),
    };
    if rng.chance(30) {
        format!("not ({p})")
    } else {
        p
    }
}

const TOP_PATHS: &[&str] = &[
    "s",
    "n",
    "b",
    "m",
    "m.k",
    "m[0]",
    "arr[0]",
    "arr[1]",
    "obj.k",
    "obj.arr[0]",
    "`odd key`",
    "missing",
    "obj.k.n",
    "t",
    "x",
];
/// Where a `field()` at the top level reads: mostly the partner keys.
const FIELD_PATHS: &[&str] = &["s", "t", "t", "x", "x", "n", "b", "m", "arr[0]", "missing"];
const ELEM_PATHS: &[&str] = &["@", "@", "k", "n", "arr[0]", "@[0]"];

fn condition(rng: &mut Rng, depth: usize, in_quant: bool) -> String {
    let paths = if in_quant { ELEM_PATHS } else { TOP_PATHS };
    if depth == 0 || rng.chance(30) {
        if !in_quant && rng.chance(15) {
            let arr = rng.pick(&["arr", "m", "obj.arr"]);
            let p = predicate(rng, &["@"], (&["@"], FIELD_PATHS));
            return p.replacen('@', &format!("{arr}[*]"), 1);
        }
        let field = if in_quant {
            (ELEM_PATHS, ELEM_PATHS)
        } else {
            (FIELD_PATHS, FIELD_PATHS)
        };
        return predicate(rng, paths, field);
    }
    match rng.below(5) {
        0 => format!("not ({})", condition(rng, depth - 1, in_quant)),
        1 => format!(
            "({} and {})",
            condition(rng, depth - 1, in_quant),
            condition(rng, depth - 1, in_quant)
        ),
        2 => format!(
            "({} or {})",
            condition(rng, depth - 1, in_quant),
            condition(rng, depth - 1, in_quant)
        ),
        _ => {
            let q = rng.pick(&["any", "all"]);
            let arr = if in_quant {
                *rng.pick(&["@", "arr"])
            } else {
                *rng.pick(&["arr", "m", "obj.arr", "obj", "s"])
            };
            format!("{q} {arr} ({})", condition(rng, depth - 1, true))
        }
    }
}

fn compile(text: &str) -> Node {
    let ast = ruleqc::syntax::parse(text).unwrap_or_else(|e| panic!("generated {text:?}: {e:?}"));
    normalize(lower_condition(&ast).unwrap_or_else(|e| panic!("generated {text:?}: {e:?}")))
}

/// `batches` generated batches from the default seed, for checks that need no engine: each a
/// table of 30 events and 45 conditions (text and normalised IR), `field()` ones included.
#[allow(clippy::type_complexity)] // main fails clippy here since the s3-engines merge
pub fn batches(batches: usize) -> Vec<(Vec<Value>, Vec<(String, Node)>)> {
    let mut rng = Rng {
        state: 0x5eed_2026,
        field: true,
    };
    (0..batches)
        .map(|_| {
            let events: Vec<Value> = (0..30).map(|_| event(&mut rng)).collect();
            let mut texts: Vec<String> = (0..25).map(|_| condition(&mut rng, 4, false)).collect();
            texts.extend((0..20).map(|_| field_condition(&mut rng)));
            let conds = texts
                .into_iter()
                .map(|t| {
                    let n = compile(&t);
                    (t, n)
                })
                .collect();
            (events, conds)
        })
        .collect()
}

/// Runs the generated cases on one engine; panics with every disagreement. `batches` tables of
/// 30 events, each with 45 conditions (5,400 pairs per 4 batches), times `RULEQC_DIFF_SCALE`.
/// Without `field()` (dialects that do not spell it), the 20 `field()`-heavy conditions of a
/// batch are ordinary ones. Returns the number of (condition, event) pairs checked.
pub fn differential(engine: &mut dyn Engine, dialect: SqlDialect, batches: usize) -> usize {
    let seed: u64 = std::env::var("RULEQC_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let scale: usize = std::env::var("RULEQC_DIFF_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // BigQuery refuses `field()` between two JSON numbers (E0401); every other dialect spells it.
    let with_field = dialect != SqlDialect::Bigquery;
    let mut rng = Rng {
        state: seed,
        field: with_field,
    };
    let mut pairs = 0;
    let mut cidr = 0;
    let mut field = 0;
    let mut failures = Vec::new();
    // Batches of conditions over one table of events each.
    for batch in 0..batches * scale {
        let events: Vec<Value> = (0..30).map(|_| event(&mut rng)).collect();
        let mut texts: Vec<String> = (0..25).map(|_| condition(&mut rng, 4, false)).collect();
        if with_field {
            texts.extend((0..20).map(|_| field_condition(&mut rng)));
        } else {
            texts.extend((0..20).map(|_| condition(&mut rng, 4, false)));
        }
        let nodes: Vec<Node> = texts.iter().map(|t| compile(t)).collect();
        cidr += texts.iter().filter(|t| t.contains("in_cidr")).count();
        field += texts.iter().filter(|t| t.contains("field(")).count();
        let schema = TableSchema::from_events(&events);
        let d = dialect.dialect();
        let table = d.quote_ident("differential");
        let sqls: Vec<String> = nodes
            .iter()
            .map(|n| render_condition(n, d, &schema, &table).expect("compiles"))
            .collect();
        let rows = engine
            .matching_rows(
                &EventTable {
                    name: &table,
                    schema: &schema,
                    events: &events,
                },
                &sqls,
            )
            .unwrap_or_else(|e| panic!("seed {seed} batch {batch}: {} failed: {e}", engine.name()));
        for (c, node) in nodes.iter().enumerate() {
            for (i, ev) in events.iter().enumerate() {
                pairs += 1;
                let want = eval(node, ev);
                let got = rows[c].binary_search(&i).is_ok();
                if want != got && failures.len() < 10 {
                    failures.push(format!(
                        "seed {seed} batch {batch}: {} says {got}, reference says {want}\n  condition: {}\n  event: {ev}\n  sql: {}",
                        engine.name(),
                        texts[c],
                        sqls[c]
                    ));
                }
            }
        }
    }
    assert!(
        cidr >= 5,
        "only {cidr} conditions with in_cidr were generated"
    );
    assert!(
        field >= 5 || !with_field,
        "only {field} conditions with field() were generated"
    );
    assert!(
        failures.is_empty(),
        "{} disagreements (first 10):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(pairs >= 1000 * batches * scale, "{pairs} pairs");
    pairs
}
