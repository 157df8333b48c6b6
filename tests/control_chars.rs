//! SPEC §4: emitted text holds no raw control character inside a literal, on every target.
//! A rule carrying each C0 character (U+0001..U+001F) in string values, list items, prefixes,
//! and a regex is compiled for all nine targets; the output must not contain the
//! character, and a line feed may only be layout (as many line breaks as for a plain `x`).
//! NUL (U+0000) either compiles the same way or is refused with a clear error.

use ruleqc::compile::{Target, compile};
use ruleqc::profile::Profile;
use ruleqc::rule::load_str;

/// The rule with `c` (as a JSON `\uXXXX` escape) in every kind of literal.
fn rule_with(c: u32) -> String {
    let e = format!("\\u{c:04x}");
    format!(
        "RuleID: Test.Control\nLogTypes: [Test.Events]\nCondition: |\n  \
         (a eq \"x{e}y\" or b in [\"{e}\", \"p{e}\"] or c contains \"{e}z\" \
         or d starts_with~ \"{e}Q\" or f ends_with \"{e}\" or g ne \"{e}\" \
         or h matches \"k{e}+\" or any arr (@ eq \"{e}\"))\n\
         Tests:\n  - Name: carries it\n    ExpectedResult: true\n    Log: {{a: \"x{e}y\"}}\n"
    )
}

fn compiled(text: String, target: Target) -> Result<String, String> {
    let loaded = load_str("control.yml", text);
    let rule = loaded
        .rule()
        .unwrap_or_else(|| panic!("loads: {:?}", loaded.result));
    // The rule's own test must hold, so the character really is in the condition.
    let run = ruleqc::testing::run_rule_tests(rule, None);
    assert!(run.results.iter().all(|r| r.passed()), "{:?}", run.results);
    let profile = Profile::built_in("default").expect("default profile");
    compile(rule, target, &profile).map_err(|d| d.message)
}

#[test]
fn no_target_writes_a_raw_control_character() {
    let mut checked = 0;
    for target in Target::all() {
        let plain = compiled(rule_with('x' as u32), target).expect("plain rule compiles");
        let plain_lines = plain.matches('\n').count();
        for c in 1..0x20u32 {
            let ch = char::from_u32(c).unwrap();
            let out = compiled(rule_with(c), target)
                .unwrap_or_else(|e| panic!("{target}: U+{c:04X} does not compile: {e}"));
            if ch == '\n' {
                assert_eq!(
                    out.matches('\n').count(),
                    plain_lines,
                    "{target}: a raw line feed inside a literal:\n{out}"
                );
            } else {
                assert!(
                    !out.contains(ch),
                    "{target}: a raw U+{c:04X} in the output:\n{out:?}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9 * 31);
}

#[test]
fn nul_is_written_escaped_or_refused_clearly() {
    for target in Target::all() {
        match compiled(rule_with(0), target) {
            Ok(out) => assert!(!out.contains('\0'), "{target}: a raw NUL:\n{out:?}"),
            Err(e) => assert!(e.contains("NUL"), "{target}: {e}"),
        }
    }
}
