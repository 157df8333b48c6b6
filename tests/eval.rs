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
    let odd = json!({"a.b": 1, "user agent": "x", "a`b": 2, "and": 3});
    assert!(eval(&compile("`a.b` eq 1"), &odd));
    assert!(eval(&compile(r#"`user agent` eq "x""#), &odd));
    assert!(eval(&compile("`a``b` eq 2"), &odd));
    assert!(eval(&compile("`and` eq 3"), &odd));
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

/// `condition` gives the verdict in `table` on each event, and `negated` and `not (...)` the
/// opposite one.
fn verdicts(condition: &str, negated: &str, table: &[(Value, bool)]) {
    let pos = compile(condition);
    let neg = compile(negated);
    let not = compile(&format!("not ({condition})"));
    for (event, want) in table {
        assert_eq!(eval(&pos, event), *want, "`{condition}` on {event}");
        assert_eq!(eval(&neg, event), !want, "`{negated}` on {event}");
        assert_eq!(eval(&not, event), !want, "`not ({condition})` on {event}");
    }
}

/// Events `{"x": v}` for each value.
fn xs(values: &[(Value, bool)]) -> Vec<(Value, bool)> {
    values
        .iter()
        .map(|(v, b)| (json!({ "x": v }), *b))
        .collect()
}

#[test]
fn in_cidr_range_boundaries() {
    verdicts(
        r#"x in_cidr "10.0.0.0/8""#,
        r#"x not_in_cidr "10.0.0.0/8""#,
        &xs(&[
            (json!("10.0.0.0"), true),
            (json!("10.0.0.1"), true),
            (json!("10.255.255.255"), true),
            (json!("9.255.255.255"), false),
            (json!("11.0.0.0"), false),
            (json!("110.0.0.1"), false),
        ]),
    );
    verdicts(
        r#"x in_cidr "192.168.1.64/26""#,
        r#"x not_in_cidr "192.168.1.64/26""#,
        &xs(&[
            (json!("192.168.1.63"), false),
            (json!("192.168.1.64"), true),
            (json!("192.168.1.127"), true),
            (json!("192.168.1.128"), false),
        ]),
    );
    verdicts(
        r#"x in_cidr "2001:db8::/32""#,
        r#"x not_in_cidr "2001:db8::/32""#,
        &xs(&[
            (json!("2001:db8::"), true),
            (json!("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), true),
            (json!("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), false),
            (json!("2001:db9::"), false),
            // Every RFC 4291 text form of an address is that address.
            (json!("2001:DB8::1"), true),
            (json!("2001:0db8:0000:0000:0000:0000:0000:0001"), true),
        ]),
    );
}

#[test]
fn in_cidr_whole_and_single_address_ranges() {
    // `/0` holds every address of its family and none of the other.
    verdicts(
        r#"x in_cidr "0.0.0.0/0""#,
        r#"x not_in_cidr "0.0.0.0/0""#,
        &xs(&[
            (json!("0.0.0.0"), true),
            (json!("255.255.255.255"), true),
            (json!("::"), false),
            (json!("::ffff:10.0.0.1"), false),
        ]),
    );
    verdicts(
        r#"x in_cidr "::/0""#,
        r#"x not_in_cidr "::/0""#,
        &xs(&[
            (json!("::"), true),
            (json!("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), true),
            (json!("::ffff:10.0.0.1"), true),
            (json!("10.0.0.1"), false),
        ]),
    );
    verdicts(
        r#"x in_cidr "203.0.113.7/32""#,
        r#"x not_in_cidr "203.0.113.7/32""#,
        &xs(&[
            (json!("203.0.113.7"), true),
            (json!("203.0.113.6"), false),
            (json!("203.0.113.8"), false),
        ]),
    );
    verdicts(
        r#"x in_cidr "2001:db8::7/128""#,
        r#"x not_in_cidr "2001:db8::7/128""#,
        &xs(&[
            (json!("2001:db8::7"), true),
            (json!("2001:db8:0:0:0:0:0:7"), true),
            (json!("2001:db8::6"), false),
            (json!("2001:db8::8"), false),
        ]),
    );
}

#[test]
fn in_cidr_ignores_host_bits_in_the_range() {
    // `10.1.2.3/8` is `10.0.0.0/8`; `2001:db8:ab::1/32` is `2001:db8::/32`.
    for (range, same) in [
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("2001:db8:ab::1/32", "2001:db8::/32"),
    ] {
        let a = compile(&format!("x in_cidr \"{range}\""));
        let b = compile(&format!("x in_cidr \"{same}\""));
        assert_eq!(a.pretty(), b.pretty(), "{range} lowers to {same}");
        assert_eq!(a.pretty(), format!("x in_cidr \"{same}\"\n"));
    }
    verdicts(
        r#"x in_cidr "10.1.2.3/8""#,
        r#"x not_in_cidr "10.1.2.3/8""#,
        &xs(&[
            (json!("10.0.0.0"), true),
            (json!("10.200.0.1"), true),
            (json!("11.1.2.3"), false),
        ]),
    );
}

#[test]
fn in_cidr_reads_only_plain_address_strings() {
    // Not addresses: leading zeros (octal to some parsers), zone ids, ranges, padding, other
    // spellings of a number; and values that are not strings.
    verdicts(
        r#"x in_cidr ["10.0.0.0/8", "fe80::/10"]"#,
        r#"x not_in_cidr ["10.0.0.0/8", "fe80::/10"]"#,
        &[
            (json!({"x": "10.0.0.1"}), true),
            (json!({"x": "fe80::1"}), true),
            (json!({"x": "010.0.0.1"}), false),
            (json!({"x": "10.0.0.01"}), false),
            (json!({"x": "fe80::1%eth0"}), false),
            (json!({"x": "fe80::1%1"}), false),
            (json!({"x": "10.0.0.1/32"}), false),
            (json!({"x": " 10.0.0.1"}), false),
            (json!({"x": "10.0.0.1\n"}), false),
            (json!({"x": "10.1"}), false),
            (json!({"x": "167772161"}), false),
            (json!({"x": "0x0a000001"}), false),
            (json!({"x": "[fe80::1]"}), false),
            (json!({"x": ""}), false),
            (json!({"x": 167772161}), false),
            (json!({"x": 10.0}), false),
            (json!({"x": true}), false),
            (json!({"x": ["10.0.0.1"]}), false),
            (json!({"x": {"ip": "10.0.0.1"}}), false),
            (json!({"x": null}), false),
            (json!({}), false),
        ],
    );
}

#[test]
fn in_cidr_keeps_the_families_apart() {
    // `::ffff:10.0.0.1` is an IPv6 address: outside every IPv4 range, inside IPv6 ones.
    verdicts(
        r#"x in_cidr "10.0.0.0/8""#,
        r#"x not_in_cidr "10.0.0.0/8""#,
        &xs(&[
            (json!("::ffff:10.0.0.1"), false),
            (json!("::ffff:a00:1"), false),
            (json!("::10.0.0.1"), false),
        ]),
    );
    verdicts(
        r#"x in_cidr "::ffff:0.0.0.0/96""#,
        r#"x not_in_cidr "::ffff:0.0.0.0/96""#,
        &xs(&[
            (json!("::ffff:10.0.0.1"), true),
            (json!("::ffff:a00:1"), true),
            (json!("10.0.0.1"), false),
        ]),
    );
}

#[test]
fn in_cidr_on_arrays() {
    verdicts(
        r#"ips[*] in_cidr "10.0.0.0/8""#,
        r#"all ips (@ not_in_cidr "10.0.0.0/8")"#,
        &[
            (json!({"ips": ["192.0.2.1", "10.0.0.1"]}), true),
            (json!({"ips": ["192.0.2.1"]}), false),
            (json!({"ips": []}), false),
            (json!({"ips": "10.0.0.1"}), false),
            (json!({}), false),
        ],
    );
    // `[*]` with the negated operator: some element is outside.
    let c = compile(r#"ips[*] not_in_cidr "10.0.0.0/8""#);
    assert!(eval(&c, &json!({"ips": ["10.0.0.1", "192.0.2.1"]})));
    assert!(!eval(&c, &json!({"ips": ["10.0.0.1"]})));
    assert!(!eval(&c, &json!({"ips": []})));
}

#[test]
fn field_eq_is_typed() {
    let ev = |a: Value, b: Value| json!({"a": a, "b": b});
    verdicts(
        "a eq field(b)",
        "a ne field(b)",
        &[
            (ev(json!("x"), json!("x")), true),
            (ev(json!("x"), json!("X")), false),
            (ev(json!(5), json!(5)), true),
            (ev(json!(1), json!(1.0)), true),
            (ev(json!(-0.0), json!(0)), true),
            (
                ev(json!(9007199254740993u64), json!(9007199254740992u64)),
                false,
            ),
            (ev(json!(18446744073709551615u64), json!(-1)), false),
            (ev(json!(true), json!(true)), true),
            (ev(json!(false), json!(true)), false),
            // Same JSON type only.
            (ev(json!("5"), json!(5)), false),
            (ev(json!("true"), json!(true)), false),
            (ev(json!(0), json!(false)), false),
            (ev(json!(""), json!(null)), false),
            // Null and missing on either side: false (so `ne` is true).
            (ev(json!(null), json!(null)), false),
            (ev(json!("x"), json!(null)), false),
            (json!({"a": "x"}), false),
            (json!({"b": "x"}), false),
            (json!({}), false),
            // Arrays and objects are never equal, not even to themselves.
            (ev(json!([1]), json!([1])), false),
            (ev(json!([]), json!([])), false),
            (ev(json!({"k": 1}), json!({"k": 1})), false),
            (ev(json!({}), json!({})), false),
            (ev(json!(["x"]), json!("x")), false),
        ],
    );
    // The same field on both sides: equal unless null, missing, an array or an object.
    let same = compile("a eq field(a)");
    assert!(eval(&same, &json!({"a": "x"})));
    assert!(!eval(&same, &json!({"a": null})));
    assert!(!eval(&same, &json!({"a": [1]})));
    // Nested paths on both sides.
    let nested = compile("user.id eq field(target.ids[1])");
    assert!(eval(
        &nested,
        &json!({"user": {"id": 7}, "target": {"ids": [1, 7]}})
    ));
    assert!(!eval(
        &nested,
        &json!({"user": {"id": 7}, "target": {"ids": [7]}})
    ));
}

#[test]
fn field_eq_case_insensitive_compares_strings() {
    let ev = |a: Value, b: Value| json!({"a": a, "b": b});
    verdicts(
        "a eq~ field(b)",
        "a ne~ field(b)",
        &[
            (ev(json!("Admin"), json!("aDMIN")), true),
            (ev(json!("İSTANBUL"), json!("istanbul")), true),
            (ev(json!("STRASSE"), json!("straße")), false),
            (ev(json!("a"), json!("b")), false),
            // `~` compares strings: other types are not equal under it.
            (ev(json!(5), json!(5)), false),
            (ev(json!(true), json!(true)), false),
            (ev(json!(null), json!(null)), false),
            (json!({"a": "x"}), false),
        ],
    );
}

#[test]
fn field_string_operators() {
    let ev = |a: Value, b: Value| json!({"a": a, "b": b});
    let table = |hit: (Value, Value)| {
        vec![
            (ev(hit.0, hit.1), true),
            (ev(json!("abc"), json!("zzz")), false),
            (ev(json!(123), json!(1)), false),
            (ev(json!("123"), json!(1)), false),
            (ev(json!(["abc"]), json!("a")), false),
            (ev(json!("abc"), json!(null)), false),
            (json!({"a": "abc"}), false),
            (json!({"b": ""}), false),
        ]
    };
    verdicts(
        "a contains field(b)",
        "a not_contains field(b)",
        &table((json!("abc"), json!("b"))),
    );
    verdicts(
        "a starts_with field(b)",
        "a not_starts_with field(b)",
        &table((json!("abc"), json!("ab"))),
    );
    verdicts(
        "a ends_with field(b)",
        "a not_ends_with field(b)",
        &table((json!("abc"), json!("bc"))),
    );
    // An empty string is inside every string.
    assert!(eval(
        &compile("a contains field(b)"),
        &ev(json!("abc"), json!(""))
    ));
    assert!(!eval(
        &compile("a ends_with field(b)"),
        &ev(json!("bc"), json!("abc"))
    ));
    verdicts(
        "a contains~ field(b)",
        "a not_contains~ field(b)",
        &[
            (ev(json!("ProcessAdmin"), json!("ADMIN")), true),
            (ev(json!("ProcessAdmin"), json!("root")), false),
            (ev(json!(10), json!(1)), false),
        ],
    );
    verdicts(
        "a starts_with~ field(b)",
        "a not_starts_with~ field(b)",
        &[(ev(json!("ABC"), json!("ab")), true)],
    );
    verdicts(
        "a ends_with~ field(b)",
        "a not_ends_with~ field(b)",
        &[(ev(json!("ABC"), json!("bc")), true)],
    );
}

#[test]
fn field_comparisons_need_two_numbers() {
    let ev = |a: Value, b: Value| json!({"a": a, "b": b});
    for (op, less, equal, greater) in [
        ("gt", false, false, true),
        ("ge", false, true, true),
        ("lt", true, false, false),
        ("le", true, true, false),
    ] {
        let c = format!("a {op} field(b)");
        let n = format!("not (a {op} field(b))");
        verdicts(
            &c,
            &n,
            &[
                (ev(json!(1), json!(2)), less),
                (ev(json!(2), json!(2.0)), equal),
                (ev(json!(3.5), json!(2)), greater),
                (
                    ev(json!(9007199254740992u64), json!(9007199254740993u64)),
                    less,
                ),
                (ev(json!(-1), json!(18446744073709551615u64)), less),
                (ev(json!("b"), json!("a")), false),
                (ev(json!("2"), json!(1)), false),
                (ev(json!(true), json!(false)), false),
                (ev(json!([2]), json!(1)), false),
                (ev(json!(2), json!(null)), false),
                (json!({"a": 2}), false),
                (json!({"b": 2}), false),
            ],
        );
    }
}

#[test]
fn field_refs_inside_quantifiers_read_the_element() {
    // Inside `any`/`all`, both paths are relative to the element.
    let c = compile("any pairs (src eq field(dst))");
    assert!(eval(
        &c,
        &json!({"pairs": [{"src": 1, "dst": 2}, {"src": 3, "dst": 3}]})
    ));
    assert!(!eval(
        &c,
        &json!({"pairs": [{"src": 1, "dst": 2}], "dst": 1})
    ));
    assert!(!eval(
        &c,
        &json!({"pairs": [{"src": 1}], "src": 1, "dst": 1})
    ));
    // `@` on either side.
    let c = compile("any xs (@ eq field(@))");
    assert!(eval(&c, &json!({"xs": [null, "a"]})));
    assert!(!eval(&c, &json!({"xs": [null, [1], {}]})));
    let c = compile("any pairs (@[0] lt field(@[1]))");
    assert!(eval(&c, &json!({"pairs": [[2, 1], [1, 2]]})));
    assert!(!eval(&c, &json!({"pairs": [[2, 1], [1]]})));
    // `all` over a field comparison, and its complement `not all` = `any (not ...)`.
    let c = compile("all spans (end ge field(start))");
    let n = compile("not all spans (end ge field(start))");
    let lt = compile("any spans (end lt field(start))");
    for (ev, want, some_lt) in [
        (
            json!({"spans": [{"start": 1, "end": 2}, {"start": 2, "end": 2}]}),
            true,
            false,
        ),
        (
            json!({"spans": [{"start": 1, "end": 2}, {"start": 3, "end": 2}]}),
            false,
            true,
        ),
        // A missing side makes `ge` false, so `all` fails; `lt` is false there too.
        (json!({"spans": [{"start": 1}]}), false, false),
        (json!({"spans": [{"start": 1, "end": "2"}]}), false, false),
        (json!({"spans": []}), true, false),
        (json!({}), true, false),
    ] {
        assert_eq!(eval(&c, &ev), want, "all on {ev}");
        assert_eq!(eval(&n, &ev), !want, "not all on {ev}");
        assert_eq!(eval(&lt, &ev), some_lt, "any lt on {ev}");
    }
}

#[test]
fn field_refs_with_the_star_shorthand_read_where_written() {
    // `xs[*] eq field(b)`: each element against the event's `b`.
    let c = compile("hosts[*] eq field(h)");
    assert!(eval(&c, &json!({"hosts": ["a", "b"], "h": "b"})));
    assert!(!eval(&c, &json!({"hosts": ["a"], "h": "b"})));
    assert!(!eval(&c, &json!({"hosts": [{"h": "a"}], "h": "b"})));
    assert!(!eval(&c, &json!({"hosts": [], "h": "b"})));
    assert!(!eval(&c, &json!({"hosts": ["b"]})));
    // `xs[*].a eq field(b)` reads `b` from the event, never from the element.
    let c = compile("items[*].owner eq field(user)");
    assert!(eval(&c, &json!({"items": [{"owner": "u1"}], "user": "u1"})));
    assert!(!eval(
        &c,
        &json!({"items": [{"owner": "u1", "user": "u1"}], "user": "u2"})
    ));
    assert!(!eval(
        &c,
        &json!({"items": [{"owner": "u1", "user": "u1"}]})
    ));
    // Negated: some element differs; not (...): none equals.
    let ne = compile("hosts[*] ne field(h)");
    assert!(eval(&ne, &json!({"hosts": ["a", "b"], "h": "b"})));
    assert!(!eval(&ne, &json!({"hosts": ["b"], "h": "b"})));
    assert!(!eval(&ne, &json!({"hosts": [], "h": "b"})));
    let none = compile("not (hosts[*] eq field(h))");
    assert!(eval(&none, &json!({"hosts": ["a"], "h": "b"})));
    assert!(!eval(&none, &json!({"hosts": ["a", "b"], "h": "b"})));
    assert!(eval(&none, &json!({"hosts": ["b"]})));
}

#[test]
fn field_refs_in_nested_quantifiers() {
    // Inside `any groups (...)`, `members[*] eq field(owner)` reads the group's `owner`.
    let c = compile("any groups (members[*] eq field(owner))");
    assert!(eval(
        &c,
        &json!({"owner": "x", "groups": [{"owner": "a", "members": ["b"]}, {"owner": "c", "members": ["d", "c"]}]})
    ));
    assert!(!eval(
        &c,
        &json!({"owner": "b", "groups": [{"owner": "a", "members": ["b"]}]})
    ));
    // Two levels of `any`: the inner element's paths.
    let c = compile("any a (any b (x eq field(y)))");
    assert!(eval(&c, &json!({"a": [{"y": 1, "b": [{"x": 1, "y": 1}]}]})));
    assert!(!eval(
        &c,
        &json!({"y": 1, "a": [{"y": 1, "b": [{"x": 1}]}]})
    ));
    // The shorthand inside two quantifiers reads the middle element.
    let c = compile("any a (any b (c[*] eq field(k)))");
    assert!(eval(
        &c,
        &json!({"k": 0, "a": [{"k": 0, "b": [{"k": 1, "c": [1]}]}]})
    ));
    assert!(!eval(
        &c,
        &json!({"k": 1, "a": [{"k": 1, "b": [{"k": 0, "c": [1]}]}]})
    ));
    // Under `not`, the quantifiers swap but the reference keeps its scope.
    let c = compile("not any groups (members[*] eq field(owner))");
    assert!(eval(
        &c,
        &json!({"owner": "b", "groups": [{"owner": "a", "members": ["b"]}]})
    ));
    assert!(!eval(
        &c,
        &json!({"groups": [{"owner": "a", "members": ["a"]}]})
    ));
}

#[test]
fn a_field_ref_beyond_the_outermost_scope_reads_nothing() {
    // Lowering never builds one; an IR built by hand still evaluates without panicking.
    use ruleqc::ir::{FieldOp, FieldPath, FieldRef, Leaf, Node, Step, Test};
    let leaf = |negated| {
        Node::Leaf(Leaf {
            path: FieldPath(vec![Step::Key("a".into())]),
            test: Test::Field(
                FieldOp::Eq,
                FieldRef {
                    path: FieldPath(vec![Step::Key("a".into())]),
                    up: 2,
                },
            ),
            case_insensitive: false,
            negated,
            span: Default::default(),
        })
    };
    let ev = json!({"a": 1, "xs": [{"a": 1}]});
    assert!(!eval(&leaf(false), &ev));
    assert!(eval(&leaf(true), &ev));
    let inside = Node::Any {
        path: FieldPath(vec![Step::Key("xs".into())]),
        body: Box::new(leaf(false)),
    };
    assert!(!eval(&inside, &ev));
}

/// The SPEC §3.7 `field()` conformance rules (tests/conformance/field_*.yml, also run on the
/// engines by tests/engines.rs): every file loads, tests both verdicts, and every test's
/// ExpectedResult is what the reference evaluator says.
#[test]
fn field_conformance_rules_pass_on_the_reference_evaluator() {
    use ruleqc::rule::load_paths;
    use ruleqc::testing::run_rule_tests;
    let loaded: Vec<_> = load_paths(&["tests/conformance".into()])
        .expect("corpus")
        .into_iter()
        .filter(|l| l.file.path.contains("/field_"))
        .collect();
    assert!(loaded.len() >= 25, "{} files", loaded.len());
    let (mut passed, mut failures) = (0, Vec::new());
    let mut field = 0;
    for l in &loaded {
        let rule = l
            .rule()
            .unwrap_or_else(|| panic!("{} does not load: {:?}", l.file.path, l.result));
        let text = rule.condition.ir.pretty();
        field += usize::from(text.contains("field("));
        assert!(
            rule.tests.iter().any(|t| t.expected) && rule.tests.iter().any(|t| !t.expected),
            "{}: tests for both verdicts",
            rule.rule_id
        );
        for r in run_rule_tests(rule, None).results {
            if r.passed() {
                passed += 1;
            } else {
                failures.push(format!("{} :: {}", rule.rule_id, r.name));
            }
        }
    }
    assert!(failures.is_empty(), "failing: {failures:#?}");
    assert!(field >= 20, "{field} field() rules");
    assert!(passed >= 150, "{passed} tests");
}
