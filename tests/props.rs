//! Whatever the input, parsing and loading return a value or diagnostics: never a panic, and
//! every diagnostic's span lies inside the text it points into.

use proptest::prelude::*;
use ruleqc::rule::load_str;
use ruleqc::syntax::parse;

/// Fragments of the condition language, so generated text gets past the first token often.
fn condition_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("a".to_string()),
        Just("x.y".to_string()),
        Just("`k k`".to_string()),
        Just("arr[*]".to_string()),
        Just("arr[0]".to_string()),
        Just("@".to_string()),
        Just("eq".to_string()),
        Just("ne~".to_string()),
        Just("in".to_string()),
        Just("matches".to_string()),
        Just("is_null".to_string()),
        Just("gt".to_string()),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("not".to_string()),
        Just("any".to_string()),
        Just("all".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just("\"s\"".to_string()),
        Just("r\"(a|b)+\"".to_string()),
        Just("\"\\u00e9\"".to_string()),
        Just("1.5e3".to_string()),
        Just("-1".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("#c".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\"".to_string()),
        Just("`".to_string()),
        "\\PC{0,3}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.join(" "))
}

fn spans_in_bounds(text: &str, d: &ruleqc::diag::Diagnostic) {
    if let Some(s) = &d.span {
        assert!(
            s.start <= s.end && s.end <= text.len(),
            "span {s:?} outside {} bytes",
            text.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_arbitrary_strings_never_panics(text in "\\PC{0,200}") {
        if let Err(d) = parse(&text) {
            spans_in_bounds(&text, &d);
        }
    }

    #[test]
    fn parsing_language_soup_never_panics(text in condition_soup()) {
        match parse(&text) {
            Ok(ast) => {
                if let Err(ds) = ruleqc::ir::lower::lower_condition(&ast) {
                    for d in &ds {
                        spans_in_bounds(&text, d);
                    }
                }
            }
            Err(d) => spans_in_bounds(&text, &d),
        }
    }

    #[test]
    fn loading_arbitrary_yaml_never_panics(text in "(\\PC|\n|\t){0,300}") {
        let loaded = load_str("prop.yml", text.clone());
        if let Err(ds) = &loaded.result {
            for d in ds {
                spans_in_bounds(&text, d);
                let _ = ruleqc::diag::render(d, "prop.yml", &text, ruleqc::diag::Style::Human);
            }
        }
    }

    #[test]
    fn loading_rule_shaped_yaml_never_panics(
        cond in condition_soup(),
        key in prop_oneof![Just("Condition"), Just("Conditon"), Just("Tests"), Just("LogTypes")],
        style in prop_oneof![Just("|"), Just(">"), Just("|-"), Just("")],
        log in "(\\PC|\n){0,60}",
    ) {
        let body: String = cond.lines().map(|l| format!("  {l}\n")).collect();
        let text = format!(
            "RuleID: P.Rule\nLogTypes: [X]\n{key}: {style}\n{body}Tests:\n  - Name: t\n    ExpectedResult: true\n    Log: {log}\n"
        );
        let loaded = load_str("prop.yml", text.clone());
        match &loaded.result {
            Ok(rule) => {
                for t in &rule.tests {
                    let _ = ruleqc::ir::eval::eval(&rule.condition.ir, &t.log);
                }
            }
            Err(ds) => {
                for d in ds {
                    spans_in_bounds(&text, d);
                    let _ = ruleqc::diag::render(d, "prop.yml", &text, ruleqc::diag::Style::Human);
                }
            }
        }
    }
}
