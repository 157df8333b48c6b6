//! The Sentinel KQL backend.
//!
//! Every rule in rules/ and tests/conformance/ compiles to KQL with the column types of its own
//! test events and with the types inferred from the rule, and every query goes through
//! Microsoft's own parser and semantic analyser (Kusto.Language, the npm package
//! `@kusto/language-service-next` pinned in tests/kql/package.json), run by
//! tests/kql/validate.js in one Node process shared by the whole test binary: any diagnostic
//! fails the test. The validator is itself checked to catch broken queries, unknown columns and
//! type errors. The unit tests pin the lowering of each trap (case, missing values under
//! negation, wildcard-looking and hostile values, nested and odd keys, arrays and quantifiers),
//! and every query they produce goes through the validator too. The queries for rules/ are
//! snapshots in snapshots/kql/.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use ruleqc::backend::inferred_schema;
use ruleqc::backend::kql::{default_table_name, kql_type, render_condition, render_query};
use ruleqc::backend::schema::{ColumnType, TableSchema};
use ruleqc::ir::{lower::lower_condition, normalize::normalize};
use ruleqc::rule::{Rule, load_paths, load_str};
use serde_json::{Value, json};

// ---- the validator ---------------------------------------------------------------------------

struct Validator {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static VALIDATOR: OnceLock<Mutex<Validator>> = OnceLock::new();

fn validator() -> MutexGuard<'static, Validator> {
    VALIDATOR
        .get_or_init(|| Mutex::new(Validator::start()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

impl Validator {
    fn start() -> Validator {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let package = root.join("tests/kql/node_modules/@kusto/language-service-next");
        assert!(
            package.join("Kusto.Language.Bridge.js").is_file(),
            "the KQL validator's package is not installed: run `npm ci --prefix tests/kql` \
             (it installs @kusto/language-service-next into tests/kql/node_modules)"
        );
        let mut child = Command::new("node")
            .arg(root.join("tests/kql/validate.js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start `node` for the KQL validator ({e}); install Node.js 18 or newer, then run `npm ci --prefix tests/kql`")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Validator {
            _child: child,
            stdin,
            stdout,
        }
    }

    /// One answer per request, in order.
    fn run(&mut self, requests: &[Value]) -> Vec<Value> {
        let mut answers = Vec::with_capacity(requests.len());
        for r in requests {
            writeln!(self.stdin, "{r}").expect("write to the KQL validator");
            self.stdin.flush().expect("flush the KQL validator's input");
            let mut line = String::new();
            let n = self
                .stdout
                .read_line(&mut line)
                .expect("read from the KQL validator");
            assert!(n > 0, "the KQL validator stopped (see its message above)");
            let answer: Value = serde_json::from_str(&line).expect("the validator answers JSON");
            assert_eq!(answer["id"], r["id"], "answers come in order");
            answers.push(answer);
        }
        answers
    }
}

fn columns(schema: &TableSchema) -> Value {
    Value::Object(
        schema
            .columns
            .iter()
            .map(|(k, t)| (k.clone(), json!(kql_type(*t))))
            .collect(),
    )
}

fn request(id: impl Into<Value>, query: &str, table: &str, schema: &TableSchema) -> Value {
    json!({"id": id.into(), "query": query, "table": table, "columns": columns(schema)})
}

/// The error diagnostics of each query, as readable lines (empty when it passed).
fn diagnostics(answer: &Value) -> Vec<String> {
    answer["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            format!(
                "{} at {}:{}: {}",
                d["code"].as_str().unwrap_or("?"),
                d["line"],
                d["column"],
                d["message"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Validates one query against one table; panics with the diagnostics.
fn assert_valid(query: &str, table: &str, schema: &TableSchema) {
    let answers = validator().run(&[request("one", query, table, schema)]);
    let d = diagnostics(&answers[0]);
    assert!(
        d.is_empty(),
        "Kusto.Language rejects\n{query}\n{}",
        d.join("\n")
    );
}

// ---- helpers ---------------------------------------------------------------------------------

fn rules(dir: &str) -> Vec<Rule> {
    load_paths(&[dir.into()])
        .expect(dir)
        .into_iter()
        .map(|l| {
            *l.result
                .unwrap_or_else(|e| panic!("{}: {e:?}", l.file.path))
        })
        .collect()
}

fn ir(condition: &str) -> ruleqc::ir::Node {
    let ast = ruleqc::syntax::parse(condition).unwrap_or_else(|e| panic!("{condition}: {e:?}"));
    normalize(lower_condition(&ast).unwrap_or_else(|e| panic!("{condition}: {e:?}")))
}

fn schema(cols: &[(&str, ColumnType)]) -> TableSchema {
    TableSchema {
        columns: cols.iter().map(|(k, t)| (k.to_string(), *t)).collect(),
        complete: true,
    }
}

/// The filter for `condition` over table `T_CL` with the given columns, checked by
/// Kusto.Language.
fn kql(condition: &str, cols: &[(&str, ColumnType)]) -> String {
    let s = schema(cols);
    let f = render_condition(&ir(condition), &s)
        .unwrap_or_else(|e| panic!("{condition}: {}", e.reason));
    assert_valid(&format!("T_CL\n{f}"), "T_CL", &s);
    f
}

/// The predicate of a filter that is a single `| where`.
fn pred(condition: &str, cols: &[(&str, ColumnType)]) -> String {
    let f = kql(condition, cols);
    let p = f
        .strip_prefix("| where ")
        .unwrap_or_else(|| panic!("`{condition}` is not one where: {f}"));
    assert!(!p.contains('\n'), "`{condition}` is not one where: {f}");
    p.to_string()
}

use ColumnType::{Boolean, Integer, Json, Real, Text};

// ---- the corpus through Microsoft's parser -----------------------------------------------------

/// Every rule in `dir`, compiled with the test events' schema and the inferred one.
fn corpus(dir: &str, requests: &mut Vec<Value>, queries: &mut Vec<String>) -> Vec<String> {
    let mut unsupported = Vec::new();
    for rule in rules(dir) {
        let events: Vec<Value> = rule.tests.iter().map(|t| t.log.clone()).collect();
        let table = default_table_name(&rule.log_types[0]);
        for (label, s) in [
            ("test events", TableSchema::from_events(&events)),
            ("inferred", inferred_schema(&rule)),
        ] {
            let given = s.clone();
            match render_query(&rule, &move |_| Some(given.clone())) {
                Ok(q) => {
                    requests.push(request(
                        format!("{} ({label} schema)", rule.rule_id),
                        &q,
                        &table,
                        &s,
                    ));
                    queries.push(q);
                }
                Err(e) => {
                    assert_eq!(e.code, "E0401", "{e:?}");
                    unsupported.push(format!("{} ({label}): {}", rule.rule_id, e.message));
                }
            }
        }
    }
    unsupported
}

#[test]
fn every_rule_and_conformance_query_passes_kusto_language() {
    let mut requests = Vec::new();
    let mut queries = Vec::new();
    let mut unsupported = corpus("rules", &mut requests, &mut queries);
    let from_rules = requests.len();
    unsupported.extend(corpus("tests/conformance", &mut requests, &mut queries));
    assert_eq!(unsupported, Vec::<String>::new());
    assert!(from_rules >= 49 * 2, "{from_rules}");
    assert!(requests.len() >= (49 + 143) * 2, "{}", requests.len());

    let answers = validator().run(&requests);
    let mut failures = Vec::new();
    for ((req, answer), q) in requests.iter().zip(&answers).zip(&queries) {
        let d = diagnostics(answer);
        if !d.is_empty() {
            failures.push(format!("{}:\n{q}\n  {}", req["id"], d.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} queries rejected by Kusto.Language:\n\n{}",
        failures.len(),
        requests.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_validator_catches_errors() {
    let s = schema(&[("s", Text), ("n", Integer), ("d", Json)]);
    let cases = [
        ("T_CL\n| where s == \"a\"", None),
        ("T_CL\n| where s == ", Some("KS006")), // syntax: missing expression
        ("T_CL\n| where nosuch == \"a\"", Some("KS142")), // unknown column
        ("T_CL\n| where s > 5", Some("KS106")), // type error: string > long
        ("T_CL\n| where s == \"a\nb\"", Some("KS001")), // raw newline in a string
        ("Other_CL\n| where s == \"a\"", Some("KS204")), // unknown table
        ("T_CL\n| where d.where == 1", Some("KS006")), // keyword as a bare member
        ("T_CL\n| where s contains_cs \"a\" and", Some("KS006")), // dangling operator
    ];
    let requests: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (q, _))| request(i, q, "T_CL", &s))
        .collect();
    let answers = validator().run(&requests);
    for ((q, want), answer) in cases.iter().zip(&answers) {
        let codes: Vec<&str> = answer["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        match want {
            None => assert!(codes.is_empty(), "{q}: {codes:?}"),
            Some(code) => assert!(codes.contains(code), "{q}: expected {code}, got {codes:?}"),
        }
    }
    // A bad request is an error, never a silent pass.
    let bad = validator()
        .run(&[json!({"id": "bad", "query": "T", "table": "T", "columns": {"x": "strin"}})]);
    assert_eq!(bad[0]["diagnostics"][0]["code"], "VALIDATOR");
}

// ---- hostile values stay one literal -----------------------------------------------------------

#[test]
fn hostile_values_stay_single_literals() {
    let values = [
        r#"a"b"#,
        r"a\b",
        "a\\",
        "line1\nline2\r\n",
        "tab\there",
        "x' or 1==1 //",
        "\" | take 10 | where \"",
        "`whoami`",
        "*?%_[]{}",
        "$(rm -rf /)",
        ";\u{1}\u{7f}\u{2028}",
        "é😀 İ",
        "",
    ];
    let s = schema(&[("s", Text), ("d", Json)]);
    let mut requests = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let lit = serde_json::to_string(v).unwrap();
        // A backtick segment cannot hold a line break, so the key test skips those values.
        let key_ok = !v.contains(['\n', '\r']);
        for (j, cond) in [
            format!("s eq {lit}"),
            format!("s ne~ {lit}"),
            format!("s in [{lit}, \"other\"]"),
            format!("s not_contains {lit}"),
            format!("d starts_with {lit}"),
            format!("d ends_with~ {lit}"),
            format!("d.`k{}` is_null", v.replace('`', "``")),
        ]
        .iter()
        .enumerate()
        {
            if j == 6 && !key_ok {
                continue;
            }
            let f =
                render_condition(&ir(cond), &s).unwrap_or_else(|e| panic!("{cond}: {}", e.reason));
            let mut r = request(format!("{i}/{j}"), &format!("T_CL\n{f}"), "T_CL", &s);
            r["literals"] = json!(true);
            requests.push((v, j, cond.clone(), r));
        }
    }
    let answers = validator().run(&requests.iter().map(|r| r.3.clone()).collect::<Vec<_>>());
    for ((v, j, cond, r), answer) in requests.iter().zip(&answers) {
        assert!(
            diagnostics(answer).is_empty(),
            "{cond}: {}\n{}",
            r["query"],
            diagnostics(answer).join("\n")
        );
        let lits: Vec<&str> = answer["literals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .filter(|l| !["string", "long", "int", "real", "decimal"].contains(l))
            .collect();
        // The value (or, for the key test, the key) is exactly one literal, decoded unchanged.
        let want = if *j == 6 {
            format!("k{v}")
        } else {
            v.to_string()
        };
        if *j == 6 && want.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue; // a plain key is written as `.k`, not a literal
        }
        let expected: Vec<&str> = if *j == 2 {
            vec![want.as_str(), "other"]
        } else {
            vec![want.as_str()]
        };
        if v.is_empty() && (2..=5).contains(j) {
            continue; // "" needs no literal for contains/starts/ends (folded)
        }
        assert_eq!(lits, expected, "{cond}: {}", r["query"]);
    }
}

#[test]
fn regex_literals_are_verbatim_and_decode_to_the_re2_pattern() {
    let s = schema(&[("s", Text)]);
    for (cond, pattern) in [
        (r#"s matches r"say \x22hi\x22|it's""#, r#"say "hi"|it's"#),
        (r#"s matches r"^\\\\srv\\share$""#, r"^\\\\srv\\share$"),
        (r#"s matches "a\nb""#, r"a\nb"),
        (r#"s matches r"(?x) a | b # either""#, "a|b"),
    ] {
        let f = render_condition(&ir(cond), &s).unwrap();
        let mut r = request("re", &format!("T_CL\n{f}"), "T_CL", &s);
        r["literals"] = json!(true);
        let answer = &validator().run(&[r])[0];
        assert!(diagnostics(answer).is_empty(), "{f}");
        assert_eq!(answer["literals"], json!([pattern]), "{cond}: {f}");
        assert!(f.contains(" matches regex @\""), "{f}");
    }
}

// ---- traps, one by one -------------------------------------------------------------------------

#[test]
fn case_sensitivity_picks_the_operator() {
    let c = [("s", Text)];
    assert_eq!(pred(r#"s eq "Admin""#, &c), r#"s == "Admin""#);
    assert_eq!(pred(r#"s eq~ "Admin""#, &c), r#"s =~ "Admin""#);
    assert_eq!(pred(r#"s ne "Admin""#, &c), r#"s != "Admin""#);
    assert_eq!(pred(r#"s ne~ "Admin""#, &c), r#"s !~ "Admin""#);
    assert_eq!(pred(r#"s in ["a", "B"]"#, &c), r#"s in ("a", "B")"#);
    assert_eq!(pred(r#"s in~ ["a", "B"]"#, &c), r#"s in~ ("a", "B")"#);
    assert_eq!(pred(r#"s not_in ["a", "B"]"#, &c), r#"s !in ("a", "B")"#);
    assert_eq!(pred(r#"s not_in~ ["a", "B"]"#, &c), r#"s !in~ ("a", "B")"#);
    assert_eq!(pred(r#"s contains "Adm""#, &c), r#"s contains_cs "Adm""#);
    assert_eq!(pred(r#"s contains~ "Adm""#, &c), r#"s contains "Adm""#);
    assert_eq!(
        pred(r#"s not_contains "Adm""#, &c),
        r#"s !contains_cs "Adm""#
    );
    assert_eq!(pred(r#"s not_contains~ "Adm""#, &c), r#"s !contains "Adm""#);
    assert_eq!(
        pred(r#"s starts_with "Adm""#, &c),
        r#"s startswith_cs "Adm""#
    );
    assert_eq!(pred(r#"s starts_with~ "Adm""#, &c), r#"s startswith "Adm""#);
    assert_eq!(
        pred(r#"s not_starts_with "Adm""#, &c),
        r#"s !startswith_cs "Adm""#
    );
    assert_eq!(pred(r#"s ends_with "Adm""#, &c), r#"s endswith_cs "Adm""#);
    assert_eq!(pred(r#"s ends_with~ "Adm""#, &c), r#"s endswith "Adm""#);
    assert_eq!(
        pred(r#"s not_ends_with~ "Adm""#, &c),
        r#"s !endswith "Adm""#
    );
    assert_eq!(
        pred(r#"s matches r"^Adm""#, &c),
        r#"s matches regex @"^Adm""#
    );
    assert_eq!(
        pred(r#"s matches r"(?i)^adm""#, &c),
        r#"s matches regex @"(?i)^adm""#
    );
    // `has` matches terms, never substrings: it is not the lowering of `contains`.
    for cond in [
        r#"s contains "dm""#,
        r#"s contains~ "dm""#,
        r#"s not_contains "dm""#,
    ] {
        assert!(!pred(cond, &c).contains("has"), "{cond}");
    }
}

#[test]
fn negations_keep_events_with_missing_fields() {
    // Strings are never null in KQL (missing reads as ""): the negated operator is exact.
    assert_eq!(pred(r#"s ne "a""#, &[("s", Text)]), r#"s != "a""#);
    assert_eq!(
        pred(r#"not (s contains "a")"#, &[("s", Text)]),
        r#"s !contains_cs "a""#
    );
    assert_eq!(
        pred(r#"not (s matches r"a")"#, &[("s", Text)]),
        r#"not(s matches regex @"a")"#
    );
    // long/real/bool columns are null when missing: the negation tests for null first.
    assert_eq!(pred("n ne 5", &[("n", Integer)]), "isnull(n) or n != 5");
    assert_eq!(
        pred("not (n gt 5)", &[("n", Integer)]),
        "isnull(n) or n <= 5"
    );
    assert_eq!(
        pred("not (n le 1.5)", &[("n", Real)]),
        "isnull(n) or n > 1.5"
    );
    assert_eq!(
        pred("n not_in [1, 2]", &[("n", Real)]),
        "isnull(n) or n !in (1, 2)"
    );
    assert_eq!(
        pred("b ne true", &[("b", Boolean)]),
        "isnull(b) or b != true"
    );
    assert_eq!(pred("n is_not_null", &[("n", Integer)]), "isnotnull(n)");
    assert_eq!(pred("n is_null", &[("n", Integer)]), "isnull(n)");
    // dynamic values: the type test comes first, and the negation is De Morgan's, never
    // `not(...)` of something that can be null.
    assert_eq!(
        pred(r#"d ne "a""#, &[("d", Json)]),
        r#"gettype(d) != "string" or tostring(d) != "a""#
    );
    assert_eq!(
        pred("not (d gt 5)", &[("d", Json)]),
        r#"gettype(d) !in ("int", "long", "real", "decimal") or toreal(d) <= 5"#
    );
    assert_eq!(
        pred("d.a ne false", &[("d", Json)]),
        r#"gettype(d.a) != "bool" or tobool(d.a) != false"#
    );
    assert_eq!(pred("d is_null", &[("d", Json)]), "isnull(d)");
    // A field the events never have: positive tests are false, negated ones true.
    assert_eq!(kql(r#"gone ne "a""#, &[("s", Text)]), "");
    assert_eq!(kql(r#"gone eq "a""#, &[("s", Text)]), "| where false");
    assert_eq!(kql(r#"gone is_null"#, &[("s", Text)]), "");
    assert_eq!(kql(r#"gone.x not_in ["a"]"#, &[("s", Text)]), "");
    assert_eq!(
        kql(r#"s eq "x" and gone.y ne 1"#, &[("s", Text)]),
        r#"| where s == "x""#
    );
    // A scalar column has no members: `s.x` is missing.
    assert_eq!(kql(r#"s.x ne "a""#, &[("s", Text)]), "");
}

#[test]
fn empty_and_null_follow_the_column_type() {
    // string: missing, null and "" are one value in KQL (documented divergence for `is_null`).
    assert_eq!(pred("s is_null", &[("s", Text)]), "isempty(s)");
    assert_eq!(pred("s is_not_null", &[("s", Text)]), "isnotempty(s)");
    assert_eq!(pred("s is_empty", &[("s", Text)]), "isempty(s)");
    assert_eq!(pred("s is_not_empty", &[("s", Text)]), "isnotempty(s)");
    // dynamic: `isempty` is false for [] and {}, so the test spells each empty value out.
    assert_eq!(
        pred("d is_empty", &[("d", Json)]),
        r#"tostring(d) == "" or (gettype(d) in ("array", "dictionary") and tostring(d) in ("[]", "{}"))"#
    );
    assert_eq!(
        pred("d is_not_empty", &[("d", Json)]),
        r#"tostring(d) != "" and (gettype(d) !in ("array", "dictionary") or tostring(d) !in ("[]", "{}"))"#
    );
    assert_eq!(pred("n is_empty", &[("n", Real)]), "isnull(n)");
    assert_eq!(pred("b is_not_empty", &[("b", Boolean)]), "isnotnull(b)");
}

#[test]
fn equality_is_typed() {
    // A string column never equals a number or a boolean, and the reverse.
    assert_eq!(kql("s eq 5", &[("s", Text)]), "| where false");
    assert_eq!(kql(r#"n eq "5""#, &[("n", Integer)]), "| where false");
    assert_eq!(kql("s ne true", &[("s", Text)]), "");
    assert_eq!(kql("n gt 1", &[("n", Boolean)]), "| where false");
    // dynamic: the JSON type decides.
    assert_eq!(
        pred(r#"d eq "5""#, &[("d", Json)]),
        r#"gettype(d) == "string" and tostring(d) == "5""#
    );
    assert_eq!(
        pred("d eq 5", &[("d", Json)]),
        r#"gettype(d) in ("int", "long", "real", "decimal") and toreal(d) == 5"#
    );
    assert_eq!(
        pred("d in [1, 2.5]", &[("d", Json)]),
        r#"gettype(d) in ("int", "long", "real", "decimal") and toreal(d) in (1, 2.5)"#
    );
    assert_eq!(
        pred("d eq true", &[("d", Json)]),
        r#"gettype(d) == "bool" and tobool(d) == true"#
    );
    assert_eq!(
        pred("d in [true, false]", &[("d", Json)]),
        r#"gettype(d) == "bool""#
    );
    // Integers beyond 2^53 compare exactly: `long` values with `tolong`.
    assert_eq!(
        pred("d eq 9007199254740993", &[("d", Json)]),
        r#"(gettype(d) in ("int", "long") and tolong(d) == 9007199254740993) or (gettype(d) in ("real", "decimal") and toreal(d) == 9007199254740992.0)"#
    );
    assert_eq!(
        pred("not (d gt 9007199254740993)", &[("d", Json)]),
        r#"(gettype(d) !in ("int", "long") or tolong(d) <= 9007199254740993) and (gettype(d) !in ("real", "decimal") or toreal(d) <= 9007199254740992.0)"#
    );
    assert_eq!(
        pred("n eq 9007199254740993", &[("n", Integer)]),
        "n == 9007199254740993"
    );
    // A literal above every `long` on a `long` column.
    assert_eq!(
        kql("n eq 18446744073709551615", &[("n", Integer)]),
        "| where false"
    );
    assert_eq!(
        pred("n lt 18446744073709551615", &[("n", Integer)]),
        "isnotnull(n)"
    );
    assert_eq!(pred("n ge 1e3", &[("n", Integer)]), "n >= 1000.0");
}

#[test]
fn wildcard_looking_characters_are_literal() {
    let c = [("s", Text)];
    // KQL string operators have no wildcards; no `like`, `has` or regex is involved.
    assert_eq!(pred(r#"s eq "a*b?c%d_e""#, &c), r#"s == "a*b?c%d_e""#);
    assert_eq!(pred(r#"s contains "*""#, &c), r#"s contains_cs "*""#);
    assert_eq!(pred(r#"s starts_with "%_""#, &c), r#"s startswith_cs "%_""#);
    assert_eq!(pred(r#"s ends_with "[x]""#, &c), r#"s endswith_cs "[x]""#);
    assert_eq!(pred(r#"s in ["*", "?"]"#, &c), r#"s in ("*", "?")"#);
}

#[test]
fn hostile_strings_are_escaped() {
    let c = [("s", Text)];
    assert_eq!(pred(r#"s eq "a\"b""#, &c), r#"s == "a\"b""#);
    assert_eq!(pred(r#"s eq "a\\b""#, &c), r#"s == "a\\b""#);
    assert_eq!(pred(r#"s eq "a\nb""#, &c), r#"s == "a\nb""#);
    assert_eq!(pred(r#"s eq "x | take 1""#, &c), r#"s == "x | take 1""#);
    assert_eq!(pred(r#"s contains "`id`""#, &c), r#"s contains_cs "`id`""#);
    assert_eq!(pred(r#"s eq "\u0001""#, &c), r#"s == "\u0001""#);
    // Nothing hostile reaches the query outside a literal: no raw line breaks at all.
    assert!(!kql(r#"s eq "a\nb\r""#, &c).contains('\n'));
    // NUL cannot be held by a KQL string: E0401, never a truncated literal.
    let e = render_condition(&ir(r#"s eq "a\u0000b""#), &schema(&c)).unwrap_err();
    assert!(e.reason.contains("NUL"), "{}", e.reason);
}

#[test]
fn empty_needles() {
    // Every string contains "": on a string column (where missing is "") that is always true;
    // on a dynamic value it is "is a string".
    assert_eq!(kql(r#"s contains """#, &[("s", Text)]), "");
    assert_eq!(
        kql(r#"s not_starts_with """#, &[("s", Text)]),
        "| where false"
    );
    assert_eq!(
        pred(r#"d contains """#, &[("d", Json)]),
        r#"gettype(d) == "string""#
    );
    assert_eq!(
        pred(r#"d not_ends_with """#, &[("d", Json)]),
        r#"gettype(d) != "string""#
    );
    assert_eq!(pred(r#"s eq """#, &[("s", Text)]), r#"s == """#);
}

#[test]
fn nested_odd_keys_and_indexes() {
    let c = [
        ("a", Json),
        ("detail", Json),
        ("where", Json),
        ("user agent", Text),
        ("argv", Json),
    ];
    assert_eq!(
        pred(r#"a.b.c eq "x""#, &c),
        r#"gettype(a.b.c) == "string" and tostring(a.b.c) == "x""#
    );
    assert_eq!(
        pred(r#"detail.`user agent` eq "x""#, &c),
        r#"gettype(detail["user agent"]) == "string" and tostring(detail["user agent"]) == "x""#
    );
    assert_eq!(
        pred(r#"detail.`a"b\c` eq "x""#, &c),
        r#"gettype(detail["a\"b\\c"]) == "string" and tostring(detail["a\"b\\c"]) == "x""#
    );
    assert_eq!(
        pred(r#"a.where eq 1"#, &c),
        r#"gettype(a["where"]) in ("int", "long", "real", "decimal") and toreal(a["where"]) == 1"#
    );
    assert_eq!(pred(r#"`where`.x is_null"#, &c), r#"isnull(['where'].x)"#);
    assert_eq!(
        pred(r#"`user agent` eq "x""#, &c),
        r#"['user agent'] == "x""#
    );
    assert_eq!(
        pred(r#"argv[0] eq "-l""#, &c),
        r#"gettype(argv[0]) == "string" and tostring(argv[0]) == "-l""#
    );
    assert_eq!(
        pred(r#"a.list[2].name ne "x""#, &c),
        r#"gettype(a.list[2].name) != "string" or tostring(a.list[2].name) != "x""#
    );
    // An index beyond the `long` range finds nothing.
    assert_eq!(kql("argv[18446744073709551615] is_null", &c), "");
}

#[test]
fn star_is_an_mv_apply_that_keeps_one_row_per_event() {
    let c = [("event", Text), ("argv", Json)];
    let f = kql(r#"event eq "exec" and argv[*] eq "-l""#, &c);
    assert_eq!(
        f,
        r#"| where event == "exec"
| mv-apply with_itemindex=__i1 __e1 = array_concat(dynamic([null]), iff(gettype(argv) == "array", argv, dynamic([]))) on (
    summarize __n1 = countif(__i1 > 0 and gettype(__e1) == "string" and tostring(__e1) == "-l")
)
| where __n1 > 0
| project-away __n1"#
    );
    // `not (argv[*] eq "-l")`: no element is "-l" (so true for missing, empty, non-arrays).
    // It is `all argv (@ ne "-l")`, which counts the elements that are "-l".
    let f = kql(r#"not (argv[*] eq "-l")"#, &c);
    assert!(
        f.contains(r#"countif(__i1 > 0 and gettype(__e1) == "string" and tostring(__e1) == "-l")"#),
        "{f}"
    );
    assert!(f.contains("| where __n1 == 0"), "{f}");
    let g = kql(r#"all argv (@ ne "-l")"#, &c);
    assert_eq!(f, g);
    // `[*].rest` looks at a member of each element.
    let f = kql(r#"argv[*].type eq "x""#, &c);
    assert!(f.contains(r#"tostring(__e1.type) == "x""#), "{f}");
}

#[test]
fn quantifiers_on_missing_empty_and_non_arrays() {
    let c = [("s", Text), ("arr", Json)];
    // Missing (the events never have it): `any` false, `all` true.
    assert_eq!(kql(r#"any gone (@ eq 1)"#, &c), "| where false");
    assert_eq!(kql(r#"all gone (@ eq 1)"#, &c), "");
    // A string column is not an array.
    assert_eq!(kql(r#"any s (@ eq "x")"#, &c), "| where false");
    assert_eq!(kql(r#"all s (@ eq "x")"#, &c), "");
    // On a dynamic value the array test is in the query: a non-array contributes no element,
    // and the null sentinel keeps the row of an empty array (index 0, never counted).
    let f = kql(r#"all arr (@ starts_with "-")"#, &c);
    assert!(
        f.contains(
            r#"array_concat(dynamic([null]), iff(gettype(arr) == "array", arr, dynamic([])))"#
        ),
        "{f}"
    );
    assert!(
        f.contains(r#"countif(__i1 > 0 and (gettype(__e1) != "string" or tostring(__e1) !startswith_cs "-"))"#),
        "{f}"
    );
    assert!(f.ends_with("| where __n1 == 0\n| project-away __n1"), "{f}");
    // Same element: both tests on one element.
    let f = kql(r#"any arr (name eq "a" and value gt 1)"#, &c);
    assert!(
        f.contains(r#"countif(__i1 > 0 and gettype(__e1.name) == "string" and tostring(__e1.name) == "a" and gettype(__e1.value) in ("int", "long", "real", "decimal") and toreal(__e1.value) > 1)"#),
        "{f}"
    );
    // A body that no element can satisfy (an index beyond any array), or every element does.
    let beyond = "@[18446744073709551615]";
    assert_eq!(
        kql(&format!("any arr ({beyond} eq 1)"), &c),
        "| where false"
    );
    assert_eq!(kql(&format!("all arr ({beyond} is_null)"), &c), "");
    assert_eq!(
        pred(&format!("any arr ({beyond} is_null)"), &c),
        r#"gettype(arr) == "array" and array_length(arr) > 0"#
    );
    assert_eq!(
        pred(&format!("all arr ({beyond} eq 1)"), &c),
        r#"gettype(arr) != "array" or array_length(arr) == 0"#
    );
}

#[test]
fn nested_quantifiers_and_quantifiers_under_or() {
    let c = [("s", Text), ("a", Json)];
    let f = kql(r#"s eq "x" or any a (any b (@ eq 1))"#, &c);
    assert_eq!(
        f,
        r#"| mv-apply with_itemindex=__i1 __e1 = array_concat(dynamic([null]), iff(gettype(a) == "array", a, dynamic([]))) on (
    mv-apply with_itemindex=__i2 __e2 = array_concat(dynamic([null]), iff(gettype(__e1.b) == "array", __e1.b, dynamic([]))) on (
        summarize __n2 = countif(__i2 > 0 and gettype(__e2) in ("int", "long", "real", "decimal") and toreal(__e2) == 1)
    )
    | summarize __n1 = countif(__i1 > 0 and __n2 > 0)
)
| where s == "x" or __n1 > 0
| project-away __n1"#
    );
    // Two quantifiers: two stages, both counts projected away.
    let f = kql(r#"any a (@ eq 1) and all a (@ ne 2)"#, &c);
    assert!(
        f.contains("| where __n1 > 0\n    and __n2 == 0\n| project-away __n1, __n2"),
        "{f}"
    );
}

#[test]
fn output_fields_are_projected() {
    let text = r#"
RuleID: Test.Kql.Project
LogTypes: [Custom.App, Other.Log]
SummaryAttributes: [event, user.name, "detail.`user agent`", gone]
Condition: |
  event eq "login"
  any tags (@ eq "x")
"#;
    let loaded = load_str("inline.yml", text.into());
    let rule = loaded.rule().expect("rule loads");
    let s = schema(&[
        ("event", Text),
        ("user", Json),
        ("detail", Json),
        ("tags", Json),
    ]);
    let given = s.clone();
    let q = render_query(rule, &move |_| Some(given.clone())).unwrap();
    assert_eq!(
        q,
        r#"union
    (Custom_App_CL
    | where event == "login"
    | mv-apply with_itemindex=__i1 __e1 = array_concat(dynamic([null]), iff(gettype(tags) == "array", tags, dynamic([]))) on (
        summarize __n1 = countif(__i1 > 0 and gettype(__e1) == "string" and tostring(__e1) == "x")
    )
    | where __n1 > 0
    | project event, ['user.name'] = user.name, ['detail.`user agent`'] = detail["user agent"], gone = dynamic(null)),
    (Other_Log_CL
    | where event == "login"
    | mv-apply with_itemindex=__i1 __e1 = array_concat(dynamic([null]), iff(gettype(tags) == "array", tags, dynamic([]))) on (
        summarize __n1 = countif(__i1 > 0 and gettype(__e1) == "string" and tostring(__e1) == "x")
    )
    | where __n1 > 0
    | project event, ['user.name'] = user.name, ['detail.`user agent`'] = detail["user agent"], gone = dynamic(null))"#
    );
    let cols = columns(&s);
    let answer = &validator().run(&[json!({
        "id": "union", "query": q,
        "tables": {"Custom_App_CL": cols.clone(), "Other_Log_CL": cols},
    })])[0];
    assert!(
        diagnostics(answer).is_empty(),
        "{}",
        diagnostics(answer).join("\n")
    );
    assert_eq!(
        default_table_name("Gravitational.TeleportAudit"),
        "Gravitational_TeleportAudit_CL"
    );
}

#[test]
fn what_kql_cannot_express_is_e0401() {
    // A regex with a Unicode property RE2 does not know.
    let e =
        render_condition(&ir(r#"s matches r"\p{Letter}+""#), &schema(&[("s", Text)])).unwrap_err();
    assert!(e.reason.contains("RE2"), "{}", e.reason);
    // An event column with the name of a helper column.
    let e = render_condition(
        &ir(r#"any a (@ eq 1)"#),
        &schema(&[("a", Json), ("__n1", Text)]),
    )
    .unwrap_err();
    assert!(e.reason.contains("__n1"), "{}", e.reason);
    // Through the rule: E0401 naming the rule.
    let text = "RuleID: Test.Kql.Nul\nLogTypes: [A.B]\nCondition: 's eq \"a\\u0000b\"'\n";
    let loaded = load_str("inline.yml", text.into());
    let rule = loaded.rule().expect("rule loads");
    let d = render_query(rule, &|_| None).unwrap_err();
    assert_eq!(d.code, "E0401");
    assert!(d.help.unwrap().contains("Test.Kql.Nul"));
}

// ---- reviewed snapshots ------------------------------------------------------------------------

#[test]
fn rule_queries_as_reviewed() {
    for rule in rules("rules") {
        let q = render_query(&rule, &|_| None).unwrap();
        insta::with_settings!({
            snapshot_path => "../snapshots/kql",
            prepend_module_to_snapshot => false,
            description => rule.condition.text.as_str(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(rule.rule_id.clone(), q);
        });
    }
}

// ---- divergences KQL forces (docs/targets/kql.md) ----------------------------------------------

#[test]
fn divergence_a_missing_string_reads_as_empty() {
    // A `string` column holds "" where the event has no value or null: KQL cannot tell them
    // apart, so tests that "" satisfies are also true on a missing field...
    let c = [("s", Text)];
    assert_eq!(pred(r#"s eq """#, &c), r#"s == """#);
    assert_eq!(pred(r#"s in ["", "x"]"#, &c), r#"s in ("", "x")"#);
    assert_eq!(pred(r#"s matches r"^$""#, &c), r#"s matches regex @"^$""#);
    assert_eq!(kql(r#"s starts_with """#, &c), "");
    // ...and `is_null` is true on "" (missing is by far the common case, so `isempty` it is).
    assert_eq!(pred("s is_null", &c), "isempty(s)");
    // A `dynamic` column keeps the difference: these are exact.
    let d = [("d", Json)];
    assert_eq!(
        pred(r#"d eq """#, &d),
        r#"gettype(d) == "string" and tostring(d) == """#
    );
    assert_eq!(pred("d is_null", &d), "isnull(d)");
    assert_eq!(
        pred(r#"d matches r"^$""#, &d),
        r#"gettype(d) == "string" and tostring(d) matches regex @"^$""#
    );
}

#[test]
fn keyword_named_columns_and_keys_are_bracketed() {
    for name in [
        "where",
        "and",
        "or",
        "not",
        "true",
        "null",
        "project",
        "kind",
        "title",
        "time",
        "string",
        "has",
        "in",
        "contains",
        "between",
        "by",
        "datetime",
        "dynamic",
        "union",
        "to",
        "with_itemindex",
    ] {
        let cols = [(name, Text), ("d", Json)];
        let f = kql(&format!(r#"`{name}` eq "x" and d.`{name}` ne 1"#), &cols);
        assert!(f.contains(&format!("['{name}'] == \"x\"")), "{f}");
        assert!(f.contains(&format!("d[\"{name}\"]")), "{f}");
    }
}

#[test]
fn sentinel_rule_files_queries_pass_kusto_language() {
    let profile = ruleqc::profile::Profile::built_in("sentinel").expect("built in");
    let kql = profile.kql().expect("kql section");
    let mut requests = Vec::new();
    let mut queries = Vec::new();
    for rule in rules("rules") {
        let events: Vec<Value> = rule.tests.iter().map(|t| t.log.clone()).collect();
        let schema = TableSchema::from_events(&events);
        let q = ruleqc::backend::kql::render_placed_query(&rule, &|lt| {
            let mut p = kql.placement(&profile.name, &rule, lt)?;
            p.schema = Some(schema.clone());
            Ok(p)
        })
        .unwrap_or_else(|e| panic!("{}: {e:?}", rule.rule_id));
        assert!(q.contains("| where TimeGenerated > ago("), "{q}");
        // The query as Sentinel reads it: out of the rule YAML ruleqc writes.
        let file = ruleqc::package::sentinel::yaml(&rule, &q).expect("within Sentinel's limits");
        let root = ruleqc::rule::yaml::parse(&file).unwrap().unwrap();
        let ruleqc::rule::yaml::Kind::Map(entries) = &root.kind else {
            panic!("{file}")
        };
        let q = entries
            .iter()
            .find(|(k, _)| k.scalar_text() == Some("query"))
            .and_then(|(_, v)| v.scalar_text())
            .expect("a query")
            .to_string();
        let mut cols = columns(&schema);
        cols["TimeGenerated"] = json!("datetime");
        let table = default_table_name(&rule.log_types[0]);
        requests.push(json!({"id": rule.rule_id, "query": q, "table": table, "columns": cols}));
        queries.push(q);
    }
    let answers = validator().run(&requests);
    let problems: Vec<String> = answers
        .iter()
        .zip(&queries)
        .filter(|(a, _)| !diagnostics(a).is_empty())
        .map(|(a, q)| format!("{}\n{}", q, diagnostics(a).join("\n")))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert_eq!(answers.len(), 49);
}
