//! A small seeded differential run for the stand-in engines: random conditions over random
//! events, each verdict of the compiled query against the reference evaluator's.
//!
//! `RULEQC_DIFF_SEED` picks the seed and `RULEQC_DIFF_SCALE` multiplies the number of batches,
//! as in tests/differential.rs. With `avoid_gaps` the events keep clear of the Snowflake
//! emulator's known gaps by construction (docs/targets/snowflake-emulation.md): no top-level
//! column holds values of several JSON types (so no top-level VARIANT is cast to VARCHAR), the
//! only array iterated is always an array or absent (no FLATTEN of a string), and no text
//! holds `$`. Every other difference is a failure.

use serde_json::{Map, Value, json};

/// SplitMix64: seedable and small.
pub struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
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
    "it's",
    "say \"hi\"",
    "back\\slash",
    "new\nline",
    "É",
    "é",
    "Straße",
    "İstanbul",
    "ΟΔΟΣ",
    "5",
    "true",
    "null",
    " ",
    "ünï 😀",
    "10.0.0.1",
    "2001:db8::1",
    "10.255.255.255",
];

/// Event numbers, 2^53 + 1 (an integer no double holds) among them: SPEC §3.4 compares it
/// exactly with an integer literal and as 2^53 with a double one.
const NUMBERS: &[&str] = &[
    "0",
    "5",
    "-1.5",
    "9007199254740992",
    "9007199254740993",
    "1000.0",
    "5.0",
    "-7",
    "1e300",
];

/// Literals of conditions: integers below 2^53 (one comparison of either sort is exact) and
/// doubles, 2^53 written as one among them. An integer literal of 2^53 or more needs the value's
/// kind, which BigQuery cannot tell (E0401) and fakesnow's `TYPEOF` does not give (a documented
/// gap); the conformance corpus covers it on the engines that can.
const LITERALS: &[&str] = &[
    "0",
    "5",
    "-1.5",
    "9007199254740991",
    "9007199254740992.0",
    "1000.0",
    "5.0",
    "-7",
    "1e300",
];

fn number(rng: &mut Rng) -> Value {
    let n: &&str = rng.pick(NUMBERS);
    serde_json::from_str(n).unwrap()
}

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(5) {
        0 | 1 => json!(*rng.pick(STRINGS)),
        2 => number(rng),
        3 => json!(rng.chance(50)),
        _ => Value::Null,
    }
}

fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 2 } else { 4 }) {
        0 | 1 => scalar(rng),
        2 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        _ => {
            let mut m = Map::new();
            for k in ["k", "n", "arr"] {
                if rng.chance(60) {
                    m.insert(k.into(), value(rng, depth - 1));
                }
            }
            Value::Object(m)
        }
    }
}

/// Present (mostly), null or missing.
fn put(rng: &mut Rng, m: &mut Map<String, Value>, k: &str, v: Value) {
    match rng.below(10) {
        0 => {}
        1 => {
            m.insert(k.into(), Value::Null);
        }
        _ => {
            m.insert(k.into(), v);
        }
    }
}

fn event(rng: &mut Rng, avoid_gaps: bool) -> Value {
    let mut m = Map::new();
    // Typed top-level columns.
    let v = json!(*rng.pick(STRINGS));
    put(rng, &mut m, "ts", v);
    let v = number(rng);
    put(rng, &mut m, "tn", v);
    let v = json!(rng.chance(50));
    put(rng, &mut m, "tb", v);
    // Mixed values below a top-level object.
    let mut o = Map::new();
    let v = json!(*rng.pick(STRINGS));
    put(rng, &mut o, "s", v);
    let v = number(rng);
    put(rng, &mut o, "n", v);
    let v = value(rng, 2);
    put(rng, &mut o, "v", v);
    let v = Value::Array((0..rng.below(4)).map(|_| value(rng, 2)).collect());
    put(rng, &mut o, "arr", v);
    let mut obj = Map::new();
    let v = value(rng, 1);
    put(rng, &mut obj, "k", v);
    put(rng, &mut o, "obj", Value::Object(obj));
    m.insert("o".into(), Value::Object(o));
    if !avoid_gaps {
        // Top-level columns of mixed types, and an "array" that is sometimes a scalar.
        let v = value(rng, 2);
        put(rng, &mut m, "m", v);
        let v = if rng.chance(20) {
            scalar(rng)
        } else {
            Value::Array((0..rng.below(4)).map(|_| value(rng, 2)).collect())
        };
        put(rng, &mut m, "arr", v);
    }
    Value::Object(m)
}

fn lit_str(rng: &mut Rng) -> String {
    serde_json::to_string(rng.pick(STRINGS)).unwrap()
}

fn literal(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => lit_str(rng),
        1 => rng.pick(LITERALS).to_string(),
        _ => rng.pick(&["true", "false"]).to_string(),
    }
}

fn predicate(rng: &mut Rng, path: &str) -> String {
    let ci = if rng.chance(25) { "~" } else { "" };
    match rng.below(12) {
        0..=2 => {
            let op = rng.pick(&["eq", "ne"]);
            let lit = literal(rng);
            let ci = if lit.starts_with('"') { ci } else { "" };
            format!("{path} {op}{ci} {lit}")
        }
        3 => {
            let op = rng.pick(&["in", "not_in"]);
            let items: Vec<String> = (0..1 + rng.below(3)).map(|_| lit_str(rng)).collect();
            format!("{path} {op}{ci} [{}]", items.join(", "))
        }
        4..=6 => {
            let op = rng.pick(&[
                "contains",
                "not_contains",
                "starts_with",
                "not_starts_with",
                "ends_with",
                "not_ends_with",
            ]);
            let needle = rng.pick(&["a", "bc", "A", "%", "_", "\\\\", "\\n", "é", "'", "5", "İ"]);
            format!("{path} {op}{ci} \"{needle}\"")
        }
        7 => {
            let op = rng.pick(&["matches", "not_matches"]);
            let re = rng.pick(&["^a", "c$", "(?i)é", "a.c", r"\d", "^$", "b|x", r"^\w+$"]);
            format!("{path} {op} r\"{re}\"")
        }
        8 | 9 => {
            let op = rng.pick(&["gt", "ge", "lt", "le"]);
            format!("{path} {op} {}", rng.pick(LITERALS))
        }
        10 => {
            let op = rng.pick(&["in_cidr", "not_in_cidr"]);
            let r = rng.pick(&["10.0.0.0/8", "0.0.0.0/0", "2001:db8::/32", "::/0"]);
            format!("{path} {op} [\"{r}\"]")
        }
        _ => {
            let op = rng.pick(&["is_null", "is_not_null", "is_empty", "is_not_empty"]);
            format!("{path} {op}")
        }
    }
}

fn condition(rng: &mut Rng, depth: usize, in_quant: bool, avoid_gaps: bool) -> String {
    let paths: &[&str] = match (in_quant, avoid_gaps) {
        (true, _) => &["@", "@", "k", "n", "@[0]"],
        (false, true) => &[
            "ts", "tn", "tb", "o.s", "o.n", "o.v", "o.v.k", "o.arr[0]", "o.obj.k", "o.none",
        ],
        (false, false) => &[
            "ts", "tn", "tb", "o.s", "o.n", "o.v", "o.v.k", "o.arr[0]", "o.obj.k", "m", "m.k",
            "m[0]", "arr[0]", "arr[1]", "none",
        ],
    };
    if depth == 0 || rng.chance(30) {
        let path = *rng.pick(paths);
        return predicate(rng, path);
    }
    match rng.below(5) {
        0 => format!("not ({})", condition(rng, depth - 1, in_quant, avoid_gaps)),
        1 => format!(
            "({} and {})",
            condition(rng, depth - 1, in_quant, avoid_gaps),
            condition(rng, depth - 1, in_quant, avoid_gaps)
        ),
        2 => format!(
            "({} or {})",
            condition(rng, depth - 1, in_quant, avoid_gaps),
            condition(rng, depth - 1, in_quant, avoid_gaps)
        ),
        _ => {
            let q = rng.pick(&["any", "all"]);
            let arr = match (in_quant, avoid_gaps) {
                (true, _) => "@",
                (false, true) => "o.arr",
                (false, false) => *rng.pick(&["o.arr", "arr", "m"]),
            };
            format!(
                "{q} {arr} ({})",
                condition(rng, depth - 1, true, avoid_gaps)
            )
        }
    }
}

/// One batch: events and conditions over them.
pub struct Batch {
    pub events: Vec<Value>,
    pub conditions: Vec<String>,
}

/// The seed, and `batches` × `RULEQC_DIFF_SCALE` batches of `events` events and `conditions`
/// conditions each.
pub fn batches(
    batches: usize,
    events: usize,
    conditions: usize,
    avoid_gaps: bool,
) -> (u64, Vec<Batch>) {
    let seed: u64 = std::env::var("RULEQC_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let scale: usize = std::env::var("RULEQC_DIFF_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(seed);
    let out = (0..batches * scale)
        .map(|_| Batch {
            events: (0..events).map(|_| event(&mut rng, avoid_gaps)).collect(),
            conditions: (0..conditions)
                .map(|_| condition(&mut rng, 3, false, avoid_gaps))
                .collect(),
        })
        .collect();
    (seed, out)
}

/// The normalised IR of a generated condition.
pub fn compile(text: &str) -> ruleqc::ir::Node {
    let ast = ruleqc::syntax::parse(text).unwrap_or_else(|e| panic!("generated {text:?}: {e:?}"));
    ruleqc::ir::normalize::normalize(
        ruleqc::ir::lower::lower_condition(&ast)
            .unwrap_or_else(|e| panic!("generated {text:?}: {e:?}")),
    )
}

/// An engine for `run`: schema, table name, events, compiled conditions → the matching rows of
/// each condition.
pub type RunBatch = dyn FnMut(
    &ruleqc::backend::schema::TableSchema,
    &str,
    &[Value],
    &[String],
) -> Result<Vec<Vec<usize>>, String>;

/// Runs the batches through `engine` (schema, table name, events, compiled conditions → the
/// matching rows of each) and compares every verdict with the reference evaluator's. Returns
/// the number of pairs; panics with the first disagreements, each with the seed to replay it.
pub fn run(
    name: &str,
    dialect: ruleqc::backend::sql::SqlDialect,
    (seed, batches): (u64, Vec<Batch>),
    engine: &mut RunBatch,
) -> usize {
    let d = dialect.dialect();
    let table = d.quote_ident("differential");
    let mut pairs = 0;
    let mut failures = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let schema = ruleqc::backend::schema::TableSchema::from_events(&batch.events);
        let nodes: Vec<ruleqc::ir::Node> = batch.conditions.iter().map(|c| compile(c)).collect();
        let sqls: Vec<String> = nodes
            .iter()
            .zip(&batch.conditions)
            .map(|(n, c)| {
                ruleqc::backend::sql::render_condition(n, d, &schema, &table)
                    .unwrap_or_else(|u| panic!("{c}: {}", u.reason))
            })
            .collect();
        let rows = engine(&schema, &table, &batch.events, &sqls)
            .unwrap_or_else(|e| panic!("seed {seed} batch {b}: {name} failed: {e}"));
        for (c, node) in nodes.iter().enumerate() {
            for (i, ev) in batch.events.iter().enumerate() {
                pairs += 1;
                let want = ruleqc::ir::eval::eval(node, ev);
                let got = rows[c].binary_search(&i).is_ok();
                if want != got && failures.len() < 10 {
                    failures.push(format!(
                        "seed {seed} batch {b}: {name} says {got}, the reference {want}\n  condition: {}\n  event: {ev}\n  sql: {}",
                        batch.conditions[c], sqls[c]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements (first 10):\n{}",
        failures.len(),
        failures.join("\n")
    );
    pairs
}
