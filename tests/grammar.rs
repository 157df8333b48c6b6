//! The condition grammar (SPEC §3.1–3.3): every operator, alias, literal form, precedence
//! rule, comment and line-joining rule. Trees are compared in `explain --stage ast` form.

use ruleqc::explain::ast_tree;
use ruleqc::syntax::ast::{ExprKind, LiteralKind, Operator, Segment};
use ruleqc::syntax::{parse, parse_path};

/// The AST without spans, one node per line.
fn tree(text: &str) -> String {
    let ast = parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e:?}"));
    ast_tree(&ast)
        .lines()
        .map(|l| l.rsplit_once(" @").map_or(l, |(a, _)| a))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fails(text: &str) -> ruleqc::diag::Diagnostic {
    match parse(text) {
        Ok(ast) => panic!("{text:?} should not parse, got {ast:?}"),
        Err(d) => d,
    }
}

fn predicate(text: &str) -> ruleqc::syntax::ast::Predicate {
    match parse(text).expect("parses").kind {
        ExprKind::Predicate(p) => p,
        other => panic!("not a predicate: {other:?}"),
    }
}

#[test]
fn every_operator_and_alias() {
    let cases = [
        ("eq", Operator::Eq),
        ("==", Operator::Eq),
        ("ne", Operator::Ne),
        ("!=", Operator::Ne),
        ("in", Operator::In),
        ("not_in", Operator::NotIn),
        ("contains", Operator::Contains),
        ("not_contains", Operator::NotContains),
        ("starts_with", Operator::StartsWith),
        ("not_starts_with", Operator::NotStartsWith),
        ("ends_with", Operator::EndsWith),
        ("not_ends_with", Operator::NotEndsWith),
        ("matches", Operator::Matches),
        ("not_matches", Operator::NotMatches),
        ("gt", Operator::Gt),
        (">", Operator::Gt),
        ("ge", Operator::Ge),
        (">=", Operator::Ge),
        ("lt", Operator::Lt),
        ("<", Operator::Lt),
        ("le", Operator::Le),
        ("<=", Operator::Le),
    ];
    for (word, op) in cases {
        let p = predicate(&format!("x {word} 1"));
        assert_eq!(p.op, op, "{word}");
        assert!(!p.case_insensitive);
        // Symbols need no white space around them.
        if !word.chars().next().unwrap().is_alphabetic() {
            assert_eq!(
                predicate(&format!("x{word}1")).op,
                op,
                "{word} without spaces"
            );
        }
    }
    for (word, op) in [
        ("is_null", Operator::IsNull),
        ("is_not_null", Operator::IsNotNull),
        ("is_empty", Operator::IsEmpty),
        ("is_not_empty", Operator::IsNotEmpty),
    ] {
        let p = predicate(&format!("x {word}"));
        assert_eq!(p.op, op);
        assert!(p.value.is_none());
    }
}

#[test]
fn case_insensitive_forms() {
    for word in [
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "not_starts_with",
        "ends_with",
        "not_ends_with",
        "==",
        "!=",
    ] {
        let p = predicate(&format!("x {word}~ \"a\""));
        assert!(p.case_insensitive, "{word}~");
        assert_eq!(Operator::from_word(word), Some(p.op));
    }
    // `~` belongs to the operator: no space in between.
    fails("x eq ~ \"a\"");
}

#[test]
fn operators_are_whole_words() {
    // `equals` is not `eq` followed by something.
    let d = fails("x equals \"a\"");
    assert!(d.message.contains("expected an operator"), "{}", d.message);
    // Operator words are fine as field names.
    assert_eq!(predicate("in eq 1").path.display(), "in");
    assert_eq!(predicate("contains.eq eq 1").path.display(), "contains.eq");
}

#[test]
fn literals() {
    let value = |text: &str| predicate(&format!("x eq {text}")).value.unwrap().kind;
    assert_eq!(
        value(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#),
        LiteralKind::String {
            value: "a\"b\\c/d\u{8}\u{c}\n\r\té😀".into(),
            raw: false
        }
    );
    assert_eq!(
        value(r#""""#),
        LiteralKind::String {
            value: String::new(),
            raw: false
        }
    );
    assert_eq!(
        value(r#"r"\d+\.\w""#),
        LiteralKind::String {
            value: r"\d+\.\w".into(),
            raw: true
        }
    );
    assert_eq!(
        value("\"ünï😀\""),
        LiteralKind::String {
            value: "ünï😀".into(),
            raw: false
        }
    );
    for n in [
        "0",
        "-1",
        "3.5",
        "1e3",
        "-2.5E-3",
        "18446744073709551615",
        "-9223372036854775808",
    ] {
        let LiteralKind::Number(got) = value(n) else {
            panic!("{n} is a number")
        };
        assert_eq!(
            got,
            serde_json::from_str::<serde_json::Number>(n).unwrap(),
            "{n}"
        );
    }
    assert_eq!(value("true"), LiteralKind::Bool(true));
    assert_eq!(value("false"), LiteralKind::Bool(false));
    assert_eq!(value("null"), LiteralKind::Null);
    // Not JSON numbers.
    for bad in ["01", "1.", ".5", "+1", "1e", "0x10", "1.2.3"] {
        fails(&format!("x eq {bad}"));
    }
    // Invalid escapes and lone surrogates.
    for bad in [r#""\x41""#, r#""\u12""#, r#""\ud800""#, r#""\'""#] {
        fails(&format!("x eq {bad}"));
    }
    // A string cannot run over a line break.
    assert_eq!(fails("x eq \"ab\ncd\"").code, "E0202");
    // Out-of-range numbers are an error, not infinity.
    assert_eq!(fails("x gt 1e400").code, "E0205");
}

#[test]
fn lists() {
    let items = |text: &str| match predicate(&format!("x in {text}")).value.unwrap().kind {
        LiteralKind::List(items) => items.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(items(r#"["a"]"#), 1);
    assert_eq!(items(r#"["a", "b",]"#), 2);
    assert_eq!(items("[1,2,3]"), 3);
    assert_eq!(items("[]"), 0); // an empty list parses; the checker rejects it
    // Lists span lines, with comments inside.
    assert_eq!(items("[\n  \"a\",  # first\n  \"b\"\n]"), 2);
    // No nested lists, no bare words.
    fails("x in [[1]]");
    fails("x in [a]");
    fails("x in [1 2]");
}

#[test]
fn paths() {
    let segs = |text: &str| {
        parse_path(text)
            .unwrap_or_else(|e| panic!("{text}: {e:?}"))
            .segments
    };
    let key = |k: &str| Segment::Key(k.into());
    assert_eq!(segs("program"), vec![key("program")]);
    assert_eq!(segs("user.name"), vec![key("user"), key("name")]);
    assert_eq!(
        segs("requestParameters.userName"),
        vec![key("requestParameters"), key("userName")]
    );
    assert_eq!(segs("@timestamp"), vec![key("@timestamp")]);
    assert_eq!(segs("$x-y_z9"), vec![key("$x-y_z9")]);
    assert_eq!(
        segs("detail.`user agent`"),
        vec![key("detail"), key("user agent")]
    );
    assert_eq!(segs("`p_any_ip`"), vec![key("p_any_ip")]);
    assert_eq!(segs("`a``b`"), vec![key("a`b")]);
    assert_eq!(segs("`a.b`.c"), vec![key("a.b"), key("c")]);
    assert_eq!(segs("`and`.`null`"), vec![key("and"), key("null")]);
    // An empty key is refused (docs/language-decisions.md), at the segment.
    let e = parse_path("a.``").unwrap_err();
    assert_eq!(e.message, "empty field name");
    assert_eq!(e.span.as_ref().map(|s| (s.start, s.end)), Some((2, 4)));
    assert_eq!(segs("argv[0]"), vec![key("argv"), Segment::Index(0)]);
    assert_eq!(
        segs("a[12][3]"),
        vec![key("a"), Segment::Index(12), Segment::Index(3)]
    );
    assert_eq!(
        segs("resources[*].type"),
        vec![key("resources"), Segment::AnyElement, key("type")]
    );
    assert_eq!(segs("@"), vec![Segment::Element]);
    assert_eq!(
        segs("@.a[0]"),
        vec![Segment::Element, key("a"), Segment::Index(0)]
    );
    // Keywords must be backticked; digits cannot start a segment; no spaces inside a path.
    for bad in [
        "and", "not", "true", "null", "any", "all", "a.or", "1abc", "a. b", "a[-1]", "a[x]",
        "a..b", "a.`b", "a b",
    ] {
        assert!(parse_path(bad).is_err(), "{bad} should not be a path");
    }
    // Keyword prefixes are fine.
    assert_eq!(
        segs("android.order.nothing"),
        vec![key("android"), key("order"), key("nothing")]
    );
    // Display round-trips, with backticks where needed.
    for p in [
        "a.b",
        "detail.`user agent`",
        "`a``b`",
        "`and`",
        "x[0][*].y",
        "@.a",
        "`1x`",
    ] {
        assert_eq!(parse_path(p).unwrap().display(), p);
    }
}

#[test]
fn precedence_or_and_not() {
    assert_eq!(
        tree("a eq 1 or b eq 2 and c eq 3"),
        "Or\n  Predicate a eq number(1)\n  And\n    Predicate b eq number(2)\n    Predicate c eq number(3)"
    );
    assert_eq!(
        tree("a eq 1 and b eq 2 or c eq 3"),
        "Or\n  And\n    Predicate a eq number(1)\n    Predicate b eq number(2)\n  Predicate c eq number(3)"
    );
    assert_eq!(
        tree("not a eq 1 and b eq 2"),
        "And\n  Not\n    Predicate a eq number(1)\n  Predicate b eq number(2)"
    );
    assert_eq!(
        tree("not (a eq 1 and b eq 2)"),
        "Not\n  Group\n    And\n      Predicate a eq number(1)\n      Predicate b eq number(2)"
    );
    assert_eq!(
        tree("not not a is_null"),
        "Not\n  Not\n    Predicate a is_null"
    );
    // Chains of one operator are one n-ary node.
    assert_eq!(
        tree("a is_null or b is_null or c is_null"),
        "Or\n  Predicate a is_null\n  Predicate b is_null\n  Predicate c is_null"
    );
    // Keywords are lower case and whole words.
    fails("a is_null AND b is_null");
    fails("a is_null andb is_null");
    assert_eq!(
        tree("(a is_null)and(b is_null)").lines().next(),
        Some("And")
    );
}

#[test]
fn lines_are_joined_with_and() {
    assert_eq!(
        tree("a eq 1\nb eq 2 or c eq 3\n"),
        "And\n  Predicate a eq number(1)\n  Or\n    Predicate b eq number(2)\n    Predicate c eq number(3)"
    );
    // Blank lines, comment lines, trailing comments, CRLF and surrounding white space.
    assert_eq!(
        tree(
            "\n# leading comment\n  a eq 1   # trailing\n\n\t\r\n  # between\nb eq \"#not a comment\"\r\n\n"
        ),
        "And\n  Predicate a eq number(1)\n  Predicate b eq \"#not a comment\""
    );
    // A line break ends an expression outside brackets: `or` cannot start the next line.
    fails("a eq 1\nor b eq 2");
    fails("a eq 1 or\nb eq 2");
    // Inside parentheses and lists, line breaks are white space.
    assert_eq!(
        tree("(a eq 1\n  or # why\n  b eq 2)\nc in [1,\n 2]"),
        "And\n  Group\n    Or\n      Predicate a eq number(1)\n      Predicate b eq number(2)\n  Predicate c in [number(1), number(2)]"
    );
    // A comment cannot swallow the closing bracket's line.
    assert_eq!(
        tree("(a eq 1 # c )\n)"),
        "Group\n  Predicate a eq number(1)"
    );
    // Only comments is empty.
    fails("# nothing\n\n");
    fails("");
}

#[test]
fn quantifiers() {
    assert_eq!(
        tree("any threatsInfoMap (campaignID is_not_empty and threatStatus eq \"active\")"),
        "Any threatsInfoMap\n  And\n    Predicate campaignID is_not_empty\n    Predicate threatStatus eq \"active\""
    );
    assert_eq!(
        tree("all argv (\n  @ starts_with \"-\"\n  and @ ne \"--\"\n)"),
        "All argv\n  And\n    Predicate @ starts_with \"-\"\n    Predicate @ ne \"--\""
    );
    assert_eq!(
        tree("any a (any @ (@ eq 1))"),
        "Any a\n  Any @\n    Predicate @ eq number(1)"
    );
    // `any` needs parentheses; it is not a field name.
    fails("any argv @ eq 1");
    fails("any eq 1");
    assert_eq!(tree("`any` eq 1"), "Predicate `any` eq number(1)");
}

#[test]
fn nesting_limit() {
    let ok = format!("{}a is_null{}", "(".repeat(64), ")".repeat(64));
    parse(&ok).expect("64 levels are allowed");
    let deep = format!("{}a is_null{}", "(".repeat(65), ")".repeat(65));
    assert_eq!(fails(&deep).code, "E0203");
    let nots = format!("{}a is_null", "not ".repeat(65));
    assert_eq!(fails(&nots).code, "E0203");
    parse(&format!("{}a is_null", "not ".repeat(64))).expect("64 nots");
    // Mixed: parentheses and nots add up.
    let mixed = format!("{}a is_null{}", "not (".repeat(33), ")".repeat(33));
    assert_eq!(fails(&mixed).code, "E0203");
    // Far beyond the limit: an error, not a crash.
    let huge = format!("{}a is_null{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(fails(&huge).code, "E0203");
    let huge_nots = "not ".repeat(100_000) + "a is_null";
    assert_eq!(fails(&huge_nots).code, "E0203");
    // Brackets inside strings do not count.
    parse(&format!("a eq \"{}\"", "(".repeat(200))).expect("parens in a string");
    // Long flat conditions are not nesting.
    let wide = vec!["a is_null"; 5000].join(" and ");
    parse(&wide).expect("wide");
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let d = fails("event \"x\"");
    assert!(
        d.message.starts_with("expected an operator such as `eq`"),
        "{}",
        d.message
    );
    assert_eq!(d.span, Some(6..9));
    // A missing value is reported by the checker, about the operator.
    let ast = parse("event eq").unwrap();
    let d = &ruleqc::ir::lower::lower_condition(&ast).unwrap_err()[0];
    assert_eq!(
        (d.code, d.message.as_str()),
        ("E0301", "`eq` needs a value")
    );
    let d = fails("event eq )");
    assert!(d.message.contains("a value"), "{}", d.message);
    let d = fails("event eq and");
    assert_eq!(
        d.message,
        "expected a condition such as `field eq \"value\"`, found the end of the condition"
    );
    let d = fails("a eq 1 b eq 2");
    assert!(
        d.message.contains("`and`, `or` or the end of the line"),
        "{}",
        d.message
    );
    let d = fails("a eq 'x'");
    assert!(d.message.contains("double quotes"), "{}", d.message);
    let d = fails("a eq 1 && b eq 2");
    assert_eq!(d.help.as_deref(), Some("use `and` / `or`"));
    let d = fails("program inn [\"a\"]");
    assert_eq!(d.help.as_deref(), Some("did you mean `in`?"));
    assert_eq!(d.span, Some(8..11));
    let d = fails("(a eq 1");
    assert!(
        d.message.contains("found the end of the condition"),
        "{}",
        d.message
    );
    // The parser never names its grammar rules.
    for text in [
        "event \"x\"",
        "event eq and",
        "(a eq 1",
        "a eq 1 )",
        "x in [1 2]",
        "@@",
        "a[",
        "a eq r\"x",
    ] {
        let d = fails(text);
        for rule in [
            "expr",
            "op_name",
            "predicate",
            "EOI",
            "str_inner",
            "quoted_ident",
        ] {
            assert!(!d.message.contains(rule), "{text}: {}", d.message);
        }
    }
}

#[test]
fn in_cidr_operators() {
    for (word, op) in [
        ("in_cidr", Operator::InCidr),
        ("not_in_cidr", Operator::NotInCidr),
    ] {
        let p = predicate(&format!("ip {word} \"10.0.0.0/8\""));
        assert_eq!((p.op, p.case_insensitive), (op, false), "{word}");
        assert_eq!(Operator::from_word(word), Some(op));
        assert_eq!(op.name(), word);
    }
    assert_eq!(
        tree(r#"ip not_in_cidr ["10.0.0.0/8", "2001:db8::/32",]"#),
        r#"Predicate ip not_in_cidr ["10.0.0.0/8", "2001:db8::/32"]"#
    );
    // Whole words: `in_cidrs` is no operator, and `in` is not `in_cidr` cut short.
    let d = fails(r#"ip in_cidrs "10.0.0.0/8""#);
    assert_eq!(d.help.as_deref(), Some("did you mean `in_cidr`?"));
    assert_eq!(predicate(r#"ip in ["a"]"#).op, Operator::In);
    assert_eq!(predicate("in_cidr eq 1").path.display(), "in_cidr");
    // `~` parses (the checker rejects it, about the operator).
    assert!(predicate(r#"ip in_cidr~ "10.0.0.0/8""#).case_insensitive);
}

#[test]
fn field_references() {
    let value = |text: &str| predicate(text).value.expect("a value").kind;
    let LiteralKind::Field(path) = value("a eq field(target.id)") else {
        panic!("a field reference")
    };
    assert_eq!(path.display(), "target.id");
    assert_eq!(
        path.segments,
        [Segment::Key("target".into()), Segment::Key("id".into())]
    );
    assert_eq!(
        tree("end_time ge field(start_time)"),
        "Predicate end_time ge field(start_time)"
    );
    assert_eq!(
        tree("a ne~ field( `user agent`[0] )"),
        "Predicate a ne~ field(`user agent`[0])"
    );
    assert_eq!(
        tree("any xs (@ eq field(@))"),
        "Any xs\n  Predicate @ eq field(@)"
    );
    // The span covers `field(...)`.
    let p = predicate("a eq field(b)");
    let span = p.value.unwrap().span;
    assert_eq!((span.start, span.end), (5, 13));
    // Paths and keys named `field` are still paths.
    assert_eq!(
        tree("field eq field(field)"),
        "Predicate field eq field(field)"
    );
    assert_eq!(tree("a.field eq 1"), "Predicate a.field eq number(1)");
    // Parses in a list and with any operator; the checker decides (see below).
    assert!(matches!(value("a in [field(b)]"), LiteralKind::List(_)));
    assert!(matches!(value("a matches field(b)"), LiteralKind::Field(_)));
    // Syntax errors.
    let d = fails("a eq field(b");
    assert!(
        d.message
            .contains("`)` to close `field(`, found the end of the condition"),
        "{}",
        d.message
    );
    let d = fails("a eq field(b c)");
    assert_eq!(d.message, "expected `)` to close `field(`, found `c`");
    assert!(
        fails("a eq field()")
            .message
            .contains("expected a field path")
    );
    assert!(
        fails(r#"a eq field("b")"#)
            .message
            .contains("expected a field path")
    );
    // The messages speak of `field(`, never of grammar rules.
    for text in [
        "a eq field(",
        "a eq field(b",
        "a eq field(b c)",
        "a eq field(]",
        "a in [field(b",
    ] {
        let d = fails(text);
        for rule in ["field_ref", "field_open", "field_close", "path_only", "EOI"] {
            assert!(!d.message.contains(rule), "{text}: {}", d.message);
        }
    }
    // A bare name where a value goes: the author probably meant a field reference.
    for text in ["a eq b", "a gt field (b)", "a eq `b c`"] {
        let d = fails(text);
        assert_eq!(
            d.help.as_deref(),
            Some("to compare with another field's value, write `field(PATH)`"),
            "{text}"
        );
    }
}

/// The checker's errors for a condition, as (code, the text each one points at).
fn check_errors(text: &str) -> Vec<(&'static str, String)> {
    let ast = parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e:?}"));
    let errors = ruleqc::ir::lower::lower_condition(&ast).expect_err(text);
    errors
        .iter()
        .map(|d| {
            let span = d.span.clone().expect("a position");
            (d.code, text[span].to_string())
        })
        .collect()
}

#[test]
fn in_cidr_checks() {
    for (text, code, at) in [
        (r#"ip in_cidr "10.0.0.0""#, "E0309", r#""10.0.0.0""#),
        (r#"ip in_cidr "2001:db8::1""#, "E0309", r#""2001:db8::1""#),
        (r#"ip in_cidr "10.0.0.0/33""#, "E0309", r#""10.0.0.0/33""#),
        (r#"ip in_cidr "::/129""#, "E0309", r#""::/129""#),
        (r#"ip in_cidr "010.0.0.0/8""#, "E0309", r#""010.0.0.0/8""#),
        (
            r#"ip in_cidr "fe80::%eth0/10""#,
            "E0309",
            r#""fe80::%eth0/10""#,
        ),
        (r#"ip in_cidr "10.0.0.0/x""#, "E0309", r#""10.0.0.0/x""#),
        (r#"ip in_cidr r"10.0.0.0/""#, "E0309", r#"r"10.0.0.0/""#),
        (r#"ip in_cidr "10.0.0.0/8 ""#, "E0309", r#""10.0.0.0/8 ""#),
        ("ip in_cidr 10", "E0304", "10"),
        ("ip in_cidr true", "E0304", "true"),
        ("ip in_cidr []", "E0305", "[]"),
        (r#"ip in_cidr ["10.0.0.0/8", 5]"#, "E0304", "5"),
        ("ip in_cidr null", "E0303", "null"),
        ("ip in_cidr", "E0301", "in_cidr"),
        (r#"ip in_cidr~ "10.0.0.0/8""#, "E0306", "in_cidr~"),
        (r#"ip not_in_cidr~ "10.0.0.0/8""#, "E0306", "not_in_cidr~"),
        ("ip in_cidr field(net)", "E0304", "field(net)"),
    ] {
        assert_eq!(check_errors(text), [(code, at.to_string())], "{text}");
    }
    // Every bad range of a list is reported, each at its own literal.
    assert_eq!(
        check_errors(r#"ip in_cidr ["10.0.0.0/8", "10.0.0.0", "1.2.3.4/8", "::1/200"]"#),
        [
            ("E0309", r#""10.0.0.0""#.to_string()),
            ("E0309", r#""::1/200""#.to_string())
        ]
    );
    assert_eq!(
        check_errors(r#"ip not_in_cidr ["10.0.0.0", 5, "::/8"]"#),
        [
            ("E0309", r#""10.0.0.0""#.to_string()),
            ("E0304", "5".to_string())
        ]
    );
    // `/0`, `/32`, `/128` and host bits are fine.
    for ok in [
        r#"ip in_cidr "0.0.0.0/0""#,
        r#"ip in_cidr "::/0""#,
        r#"ip in_cidr "10.1.2.3/32""#,
        r#"ip in_cidr "2001:db8::1/128""#,
        r#"ip in_cidr ["10.1.2.3/8", "::ffff:10.0.0.0/104"]"#,
        r#"ips[*] not_in_cidr "10.0.0.0/8""#,
    ] {
        let ast = parse(ok).unwrap();
        assert!(ruleqc::ir::lower::lower_condition(&ast).is_ok(), "{ok}");
    }
}

#[test]
fn field_reference_checks() {
    for (text, code, at) in [
        ("a in field(b)", "E0304", "field(b)"),
        ("a not_in~ field(b)", "E0304", "field(b)"),
        ("a matches field(b)", "E0304", "field(b)"),
        ("a not_matches field(b)", "E0304", "field(b)"),
        ("a not_in_cidr field(b)", "E0304", "field(b)"),
        ("a is_null field(b)", "E0302", "field(b)"),
        (r#"a in ["x", field(b)]"#, "E0304", "field(b)"),
        ("a in [field(b), field(c)]", "E0304", "field(b)"),
        ("a eq [field(b)]", "E0304", "[field(b)]"),
        ("a gt~ field(b)", "E0306", "gt~"),
        ("a eq field(b[*])", "E0308", "b[*]"),
        ("a eq field(b[*].c)", "E0308", "b[*].c"),
        ("a eq field(@)", "E0308", "@"),
        // With the shorthand, `field()` is read where it is written: the event, so no `@`.
        ("xs[*] eq field(@)", "E0308", "@"),
    ] {
        assert_eq!(check_errors(text), [(code, at.to_string())], "{text}");
    }
    // Every operator that takes one, in every form, lowers.
    for op in [
        "eq",
        "==",
        "ne",
        "!=",
        "gt",
        ">",
        "ge",
        ">=",
        "lt",
        "<",
        "le",
        "<=",
        "contains",
        "not_contains",
        "starts_with",
        "not_starts_with",
        "ends_with",
        "not_ends_with",
        "eq~",
        "ne~",
        "contains~",
        "not_contains~",
        "starts_with~",
        "not_starts_with~",
        "ends_with~",
        "not_ends_with~",
    ] {
        let text = format!("a {op} field(b)");
        let ast = parse(&text).unwrap();
        assert!(ruleqc::ir::lower::lower_condition(&ast).is_ok(), "{text}");
    }
    // Inside quantifiers `@` is the element, on either side.
    for ok in [
        "any xs (@ eq field(@))",
        "any xs (ys[*] eq field(@))",
        "any xs (a eq field(@.b[0]))",
    ] {
        let ast = parse(ok).unwrap();
        assert!(ruleqc::ir::lower::lower_condition(&ast).is_ok(), "{ok}");
    }
}

#[test]
fn field_references_lower_with_their_scope() {
    let ir = |text: &str| {
        let ast = parse(text).unwrap();
        ruleqc::ir::normalize::normalize(ruleqc::ir::lower::lower_condition(&ast).unwrap()).pretty()
    };
    assert_eq!(ir("a eq field(b)"), "a eq field(b)\n");
    assert_eq!(
        ir("a ne~ field(b.c)"),
        "not a eq~ field(b.c)  [true when missing]\n"
    );
    assert_eq!(
        ir("a not_starts_with field(b)"),
        "not a starts_with field(b)  [true when missing]\n"
    );
    assert_eq!(ir("a <= field(b)"), "a le field(b)\n");
    // The shorthand reads PATH2 one element out; a quantifier's body reads its element.
    assert_eq!(
        ir("xs[*].a eq field(b)"),
        "any xs\n  a eq field(b)  [field() read outside the element]\n"
    );
    assert_eq!(ir("any xs (a eq field(b))"), "any xs\n  a eq field(b)\n");
    assert_eq!(
        ir("not (xs[*] eq field(b))"),
        "all xs\n  not @ eq field(b)  [field() read outside the element]  [true when missing]\n"
    );
    assert_eq!(
        ir(r#"ip not_in_cidr ["10.1.2.3/8", "2001:db8::1/32"]"#),
        "not ip in_cidr [\"10.0.0.0/8\", \"2001:db8::/32\"]  [true when missing]\n"
    );
}

/// The characters string literals, raw strings and quoted names accept, at the edges of the
/// ranges the grammar spells out (`grammar/condition.pest`).
#[test]
fn literal_character_sets() {
    let string = |text: &str| match predicate(&format!("x eq {text}")).value.unwrap().kind {
        LiteralKind::String { value, .. } => value,
        other => panic!("not a string: {other:?}"),
    };
    let edges = " !#[]^_`\u{7f}\u{80}\u{ffff}\u{10000}\u{10ffff}é";
    assert_eq!(string(&format!("\"{edges}\"")), edges);
    assert_eq!(
        string(&format!("r\"{edges}\\\u{0}\u{b}\u{c}\u{1f}\"")),
        format!("{edges}\\\u{0}\u{b}\u{c}\u{1f}")
    );
    // Control characters are not allowed raw in a string; CR and LF end a raw string's line.
    for bad in [
        "\"a\u{0}b\"",
        "\"a\u{1f}b\"",
        "\"a\tb\"",
        "r\"a\rb\"",
        "\"a\\qb\"",
    ] {
        fails(&format!("x eq {bad}"));
    }
    let name = |text: &str| match &parse_path(text).expect("path").segments[0] {
        Segment::Key(k) => k.clone(),
        other => panic!("not a key: {other:?}"),
    };
    assert_eq!(
        name("`a``b c.d \"\u{0}\u{b}\u{7f}\u{10ffff}`"),
        "a`b c.d \"\u{0}\u{b}\u{7f}\u{10ffff}"
    );
    for bad in ["`a\rb`", "`a\nb`", "`a`b`"] {
        assert!(parse_path(bad).is_err(), "{bad:?}");
    }
}

/// Failing conditions at the nesting limit are rejected quickly: no alternative re-parses a
/// nested body after it failed (pest runs without a call limit, see `syntax::parse`).
#[test]
fn failures_at_the_nesting_limit_stay_linear() {
    let quantifiers = format!("{}a is_null{}", "any xs (".repeat(64), ")".repeat(63));
    fails(&quantifiers);
    let groups = format!("{}a is_null{} and", "not (".repeat(32), ")".repeat(32));
    fails(&groups);
    let lists = "(".repeat(63) + "a in [1, 2, \"x\" " + &")".repeat(63);
    fails(&lists);
    let wide = vec![format!("{}a eq \"x\"{}", "any xs (".repeat(60), ")".repeat(60)); 200]
        .join(" or ")
        + " or";
    fails(&wide);
}
