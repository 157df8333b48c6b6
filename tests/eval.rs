//! The reference evaluator, row by row through SPEC §3.4 (operators), §3.5 (arrays) and §3.6
//! (two-valued logic). Every operator meets a match, a non-match, a missing field, JSON null,
//! empty values, wrong types and arrays; every negation is checked to be the exact complement.

use ruleqc::ir::eval::eval;
use ruleqc::ir::{lower::lower_condition, normalize::normalize};
use serde_json::{Value, json};

fn compile(condition: &str) -> ruleqc::ir::Node {
    let ast = ruleqc::syntax::parse(condition).unwrap_or_else(|e| panic!("{condition}: {e:?}"));
    normalize(lower_condition(&ast).unwrap_or_else(|e| panic!("{condition}: {e:?}")))
}

/// The values every operator meets, under the key `x`.
fn shapes() -> Vec<(&'static str, Value)> {
    vec![
        ("missing", json!({"other": 1})),
        ("null", json!({"x": null})),
        ("empty string", json!({"x": ""})),
        ("empty array", json!({"x": []})),
        ("empty object", json!({"x": {}})),
        ("zero", json!({"x": 0})),
        ("false", json!({"x": false})),
        ("string", json!({"x": "abc"})),
        ("upper string", json!({"x": "ABC"})),
        ("number 5", json!({"x": 5})),
        ("string 5", json!({"x": "5"})),
        ("true", json!({"x": true})),
        ("string true", json!({"x": "true"})),
        ("array holding the value", json!({"x": ["abc", 5]})),
        ("object", json!({"x": {"abc": 5}})),
    ]
}

/// `condition` is true exactly on the shapes named in `true_on`; its negation (`negated`,
/// and `not (condition)`) exactly on the others.
fn row(condition: &str, negated: &str, true_on: &[&str]) {
    let pos = compile(condition);
    let neg = compile(negated);
    let not = compile(&format!("not ({condition})"));
    for (name, event) in shapes() {
        let want = true_on.contains(&name);
        assert_eq!(eval(&pos, &event), want, "`{condition}` on {name}: {event}");
        assert_eq!(eval(&neg, &event), !want, "`{negated}` on {name}: {event}");
        assert_eq!(eval(&not, &event), !want, "`not ({condition})` on {name}");
    }
    for t in true_on {
        assert!(shapes().iter().any(|(n, _)| n == t), "unknown shape {t}");
    }
}

#[test]
fn eq_and_ne_are_typed() {
    row(r#"x eq "abc""#, r#"x ne "abc""#, &["string"]);
    row(r#"x == "abc""#, r#"x != "abc""#, &["string"]);
    row("x eq 5", "x ne 5", &["number 5"]);
    row("x eq 5.0", "x ne 5.0", &["number 5"]);
    row(r#"x eq "5""#, r#"x ne "5""#, &["string 5"]);
    row("x eq true", "x ne true", &["true"]);
    row(r#"x eq "true""#, r#"x ne "true""#, &["string true"]);
    row("x eq false", "x ne false", &["false"]);
    row("x eq 0", "x ne 0", &["zero"]);
    row(r#"x eq """#, r#"x ne """#, &["empty string"]);
}

#[test]
fn eq_case_insensitive() {
    row(
        r#"x eq~ "aBc""#,
        r#"x ne~ "aBc""#,
        &["string", "upper string"],
    );
    row(
        r#"x in~ ["X", "ABC"]"#,
        r#"x not_in~ ["X", "ABC"]"#,
        &["string", "upper string"],
    );
}

#[test]
fn in_and_not_in() {
    row(
        r#"x in ["abc", "zzz"]"#,
        r#"x not_in ["abc", "zzz"]"#,
        &["string"],
    );
    row("x in [5, 7]", "x not_in [5, 7]", &["number 5"]);
    row("x in [true]", "x not_in [true]", &["true"]);
    row(
        r#"x in ["5", "true"]"#,
        r#"x not_in ["5", "true"]"#,
        &["string 5", "string true"],
    );
}

#[test]
fn string_operators() {
    row(r#"x contains "b""#, r#"x not_contains "b""#, &["string"]);
    row(
        r#"x contains~ "B""#,
        r#"x not_contains~ "B""#,
        &["string", "upper string"],
    );
    row(
        r#"x contains """#,
        r#"x not_contains """#,
        &[
            "empty string",
            "string",
            "upper string",
            "string 5",
            "string true",
        ],
    );
    row(
        r#"x starts_with "ab""#,
        r#"x not_starts_with "ab""#,
        &["string"],
    );
    row(
        r#"x starts_with~ "aB""#,
        r#"x not_starts_with~ "aB""#,
        &["string", "upper string"],
    );
    row(
        r#"x ends_with "bc""#,
        r#"x not_ends_with "bc""#,
        &["string"],
    );
    row(
        r#"x ends_with~ "BC""#,
        r#"x not_ends_with~ "BC""#,
        &["string", "upper string"],
    );
    // A number is not a string: "5" contains "5", 5 does not.
    row(r#"x contains "5""#, r#"x not_contains "5""#, &["string 5"]);
}

#[test]
fn matches_is_an_unanchored_search() {
    row(r#"x matches "b""#, r#"x not_matches "b""#, &["string"]);
    row(
        r#"x matches r"^a.c$""#,
        r#"x not_matches r"^a.c$""#,
        &["string"],
    );
    row(
        r#"x matches "(?i)B""#,
        r#"x not_matches "(?i)B""#,
        &["string", "upper string"],
    );
    row(
        r#"x matches r"^\d$""#,
        r#"x not_matches r"^\d$""#,
        &["string 5"],
    );
    row(
        r#"x matches "^$""#,
        r#"x not_matches "^$""#,
        &["empty string"],
    );
    // `.` does not match a newline without (?s); case-sensitive by default.
    let re = compile(r#"x matches "a.b""#);
    assert!(!eval(&re, &json!({"x": "a\nb"})));
    assert!(eval(
        &compile(r#"x matches "(?s)a.b""#),
        &json!({"x": "a\nb"})
    ));
}

#[test]
fn comparisons_need_numbers() {
    row("x gt 4", "not (x gt 4)", &["number 5"]);
    row("x > 4.5", "not (x > 4.5)", &["number 5"]);
    row("x ge 5", "not (x ge 5)", &["number 5"]);
    row("x >= 5", "not (x >= 5)", &["number 5"]);
    row("x lt 1", "not (x lt 1)", &["zero"]);
    row("x < 1e1", "not (x < 1e1)", &["zero", "number 5"]);
    row("x le 0", "not (x le 0)", &["zero"]);
    row("x <= -0.5", "not (x <= -0.5)", &[]);
    let e = |v: Value| json!({"x": v});
    assert!(eval(&compile("x gt -1"), &e(json!(-0.5))));
    assert!(!eval(&compile("x gt 5"), &e(json!(5))));
    assert!(eval(&compile("x ge 5"), &e(json!(5.0))));
    assert!(eval(
        &compile("x gt 9007199254740992"),
        &e(json!(9007199254740993u64))
    ));
    assert!(eval(&compile("x lt 18446744073709551615"), &e(json!(-1))));
}

#[test]
fn null_and_empty() {
    row("x is_null", "x is_not_null", &["missing", "null"]);
    row(
        "x is_empty",
        "x is_not_empty",
        &[
            "missing",
            "null",
            "empty string",
            "empty array",
            "empty object",
        ],
    );
    // White space is not empty.
    assert!(!eval(&compile("x is_empty"), &json!({"x": " "})));
}

#[test]
fn paths_never_look_inside_arrays() {
    let ev = json!({"argv": ["-l"], "a": {"b": [{"c": 1}]}, "user": {"name": "n"}});
    assert!(!eval(&compile(r#"argv eq "-l""#), &ev));
    assert!(eval(&compile(r#"argv ne "-l""#), &ev));
    assert!(!eval(&compile("a.b.c eq 1"), &ev));
    assert!(eval(&compile("a.b.c is_null"), &ev));
    assert!(eval(&compile("a.b[0].c eq 1"), &ev));
    assert!(eval(&compile(r#"argv[0] eq "-l""#), &ev));
    assert!(eval(&compile("argv[1] is_null"), &ev));
    assert!(eval(&compile(r#"user.name eq "n""#), &ev));
    // A key on a string, an index on an object: missing.
    assert!(eval(&compile("user.name.first is_null"), &ev));
    assert!(eval(&compile("user[0] is_null"), &ev));
    // Backtick keys are keys, dots included.
    let odd = json!({"a.b": 1, "user agent": "x", "a`b": 2, "and": 3, "": 4});
    assert!(eval(&compile("`a.b` eq 1"), &odd));
    assert!(eval(&compile(r#"`user agent` eq "x""#), &odd));
    assert!(eval(&compile("`a``b` eq 2"), &odd));
    assert!(eval(&compile("`and` eq 3"), &odd));
    assert!(eval(&compile("`` eq 4"), &odd));
    assert!(!eval(&compile("a.b eq 1"), &odd));
}

#[test]
fn any_element() {
    let c = compile(r#"argv[*] eq "-l""#);
    let n = compile(r#"not (argv[*] eq "-l")"#);
    for (ev, want) in [
        (json!({"argv": ["-p", "-l"]}), true),
        (json!({"argv": ["-p"]}), false),
        (json!({"argv": []}), false),
        (json!({"argv": null}), false),
        (json!({}), false),
        (json!({"argv": "-l"}), false),
        (json!({"argv": {"0": "-l"}}), false),
        (json!({"argv": [["-l"]]}), false),
    ] {
        assert_eq!(eval(&c, &ev), want, "{ev}");
        assert_eq!(eval(&n, &ev), !want, "not: {ev}");
    }
    let c = compile(r#"resources[*].type eq "AWS::S3::Bucket""#);
    assert!(eval(
        &c,
        &json!({"resources": [{"type": "x"}, {"type": "AWS::S3::Bucket"}]})
    ));
    assert!(!eval(
        &c,
        &json!({"resources": [{"kind": "AWS::S3::Bucket"}]})
    ));
    // `[*]` with a negated operator: some element differs.
    let c = compile(r#"argv[*] ne "-l""#);
    assert!(eval(&c, &json!({"argv": ["-l", "-p"]})));
    assert!(!eval(&c, &json!({"argv": ["-l"]})));
    assert!(!eval(&c, &json!({"argv": []})));
    // is_null on elements: an element that is null, or lacks the key.
    let c = compile("items[*].id is_null");
    assert!(eval(&c, &json!({"items": [{"id": 1}, {}]})));
    assert!(!eval(&c, &json!({"items": [{"id": 1}]})));
}

#[test]
fn quantifiers_use_the_same_element() {
    let any = compile(r#"any t (campaignID is_not_empty and threatStatus eq "active")"#);
    let stars = compile(r#"t[*].campaignID is_not_empty and t[*].threatStatus eq "active""#);
    let split =
        json!({"t": [{"campaignID": "c1", "threatStatus": "cleared"}, {"threatStatus": "active"}]});
    let same = json!({"t": [{"campaignID": "c1", "threatStatus": "active"}]});
    assert!(!eval(&any, &split));
    assert!(eval(&stars, &split), "two [*] may match two elements");
    assert!(eval(&any, &same));

    let all = compile(r#"all argv (@ starts_with "-")"#);
    for (ev, want) in [
        (json!({"argv": ["-a", "-b"]}), true),
        (json!({"argv": ["-a", "b"]}), false),
        (json!({"argv": []}), true),
        (json!({"argv": null}), true),
        (json!({}), true),
        (json!({"argv": "b"}), true),
        (json!({"argv": {"k": "b"}}), true),
    ] {
        assert_eq!(eval(&all, &ev), want, "all on {ev}");
        // `all` is `not any PATH (not EXPR)`.
        let alt = compile(r#"not any argv (not @ starts_with "-")"#);
        assert_eq!(eval(&alt, &ev), want, "not any not on {ev}");
    }
    let any = compile(r#"any argv (@ starts_with "-" and @ ne "--")"#);
    assert!(eval(&any, &json!({"argv": ["x", "-v"]})));
    assert!(!eval(&any, &json!({"argv": ["--", "x"]})));
    assert!(!eval(&any, &json!({"argv": "-v"})));

    // Nested quantifiers and `@` on nested arrays.
    let nested = compile("any m (any @ (@ gt 10))");
    assert!(eval(&nested, &json!({"m": [[1], [2, 11]]})));
    assert!(!eval(&nested, &json!({"m": [[1], [2, 3], 50]})));
    let deep = compile(r#"any a (any b (c eq 1 and d eq 2))"#);
    assert!(eval(
        &deep,
        &json!({"a": [{"b": [{"c": 1}, {"d": 2}]}, {"b": [{"c": 1, "d": 2}]}]})
    ));
    assert!(!eval(&deep, &json!({"a": [{"b": [{"c": 1}, {"d": 2}]}]})));
    // Inside a quantifier, a path is relative to the element, never the event.
    let rel = compile("any a (x eq 1)");
    assert!(!eval(&rel, &json!({"x": 1, "a": [{"y": 1}]})));
    // Elements that are not objects have no keys.
    assert!(!eval(&rel, &json!({"a": [1, "x", null]})));
}

#[test]
fn two_valued_logic() {
    let missing = json!({});
    for (cond, want) in [
        (r#"x eq "a""#, false),
        (r#"x ne "a""#, true),
        (r#"x in ["a"]"#, false),
        (r#"x not_in ["a"]"#, true),
        (r#"x contains "a""#, false),
        (r#"x not_contains "a""#, true),
        (r#"x starts_with "a""#, false),
        (r#"x not_starts_with "a""#, true),
        (r#"x ends_with "a""#, false),
        (r#"x not_ends_with "a""#, true),
        (r#"x matches "a""#, false),
        (r#"x not_matches "a""#, true),
        ("x gt 1", false),
        ("not (x gt 1)", true),
        ("x is_null", true),
        ("x is_not_null", false),
        ("x is_empty", true),
        ("x is_not_empty", false),
        (r#"not (x eq "a" or y eq "b")"#, true),
        (r#"not (x eq "a" and y eq "b")"#, true),
        (r#"x ne "a" and y not_in ["b"]"#, true),
    ] {
        assert_eq!(
            eval(&compile(cond), &missing),
            want,
            "{cond} on a missing field"
        );
    }
    // Lines are and-ed; `or` binds looser than `and`, `not` tighter.
    let c = compile("a eq 1\nb eq 2 or c eq 3");
    assert!(eval(&c, &json!({"a": 1, "c": 3})));
    assert!(!eval(&c, &json!({"b": 2, "c": 3})));
    let c = compile("not a eq 1 and b eq 2");
    assert!(eval(&c, &json!({"b": 2})));
    assert!(!eval(&c, &json!({"a": 1, "b": 2})));
}

#[test]
fn unicode_case_folding() {
    let c = compile(r#"x eq~ "école""#);
    assert!(eval(&c, &json!({"x": "ÉCOLE"})));
    let c = compile(r#"x contains~ "straße""#);
    assert!(eval(&c, &json!({"x": "STRAßE"})));
    // Simple lower-casing: no full case folding (ß is not "ss").
    assert!(!eval(&c, &json!({"x": "STRASSE"})));
    let c = compile(r#"x eq~ "istanbul""#);
    assert!(eval(&c, &json!({"x": "İSTANBUL"})));
    // Without `~`, case matters for every script.
    assert!(!eval(&compile(r#"x eq "école""#), &json!({"x": "ÉCOLE"})));
}
