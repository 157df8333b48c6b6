//! Target errors (E0401 the rule cannot be written for a target, E0402 the profile does not
//! place it, E0403 it cannot be packaged) point at the construct in the rule file.

use std::path::PathBuf;

mod support;
use support::cli::{ruleqc, stderr};

fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = support::cli::scratch("target", name);
    for (f, text) in files {
        std::fs::write(dir.join(f), text).expect("write");
    }
    dir
}

/// An inner quantifier testing two fields of its element cannot be written in Splunk (`mvmap`
/// does not nest): the error is at its first predicate, with the caret, and the short form
/// keeps the label.
const NESTED: &str = "RuleID: Test.Nested
LogTypes: [Test.Events]
Condition: |
  action eq \"x\"
  any a (k eq \"v\" and any b (x eq \"1\" and y eq \"2\"))
";

/// `file:5:<column of the inner quantifier's first predicate>`.
fn position(f: &str) -> String {
    let line = NESTED.lines().nth(4).unwrap();
    format!("{f}:5:{}", line.find("x eq").unwrap() + 1)
}

#[test]
fn e0401_points_at_the_predicate() {
    let dir = scratch("e0401", &[("nested.yml", NESTED)]);
    let file = dir.join("nested.yml");
    let f = file.to_str().unwrap();
    let o = ruleqc(&["compile", "--target", "splunk", f]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("error[E0401]"), "{e}");
    assert!(e.contains(&position(f)), "{e}");
    assert!(e.contains("any b (x eq"), "the source line is shown: {e}");
    assert!(e.contains("^^^^"), "a caret under the predicate: {e}");

    let o = ruleqc(&[
        "compile",
        "--target",
        "splunk",
        "--error-format",
        "short",
        f,
    ]);
    let e = stderr(&o);
    assert!(
        e.starts_with(&format!("{}: error[E0401]: ", position(f))),
        "{e}"
    );
    assert!(e.contains("[not expressible on this target]"), "{e}");
    // The same rule compiles for SQL and KQL.
    for t in ["sql", "kql"] {
        let o = ruleqc(&["compile", "--target", t, f]);
        assert_eq!(o.status.code(), Some(0), "{t}: {}", stderr(&o));
    }
}

const TWO_LOG_TYPES: &str = "RuleID: Test.Two
LogTypes:
  - Test.Placed
  - Test.Unplaced
Condition: |
  action eq \"x\"
";

const PROFILE: &str = "sql:
  log_types:
    Test.Placed: {table: placed}
";

#[test]
fn e0402_points_at_the_log_type() {
    let dir = scratch(
        "e0402",
        &[("two.yml", TWO_LOG_TYPES), ("profile.yml", PROFILE)],
    );
    let rule = dir.join("two.yml");
    let profile = dir.join("profile.yml");
    let f = rule.to_str().unwrap();
    let o = ruleqc(&[
        "compile",
        "--profile",
        profile.to_str().unwrap(),
        "--error-format",
        "short",
        f,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with(&format!("{f}:4:5: error[E0402]: log type `Test.Unplaced`")),
        "{e}"
    );
    assert!(e.contains("[not placed by the profile]"), "{e}");
}

#[test]
fn library_compile_is_what_the_cli_prints() {
    let dir = scratch("library", &[("nested.yml", NESTED)]);
    let file = dir.join("nested.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    let loaded = ruleqc::rule::load_str(file.to_str().unwrap(), text);
    let rule = loaded.rule().expect("loads");
    let profile = ruleqc::profile::Profile::load("default").expect("built-in");
    let q = ruleqc::compile(
        rule,
        ruleqc::Target::of(&ruleqc::backend::kql::KqlTarget),
        &profile,
    )
    .expect("compiles");
    let o = ruleqc(&["compile", "--target", "kql", file.to_str().unwrap()]);
    let printed = String::from_utf8(o.stdout).unwrap();
    assert!(printed.contains(&q), "{printed}\n---\n{q}");
    let e = ruleqc::compile(
        rule,
        ruleqc::Target::of(&ruleqc::backend::spl::SplunkTarget),
        &profile,
    )
    .unwrap_err();
    assert_eq!(e.code, "E0401");
    let span = e.span.expect("a position");
    let at = &std::fs::read_to_string(&file).unwrap()[span];
    assert_eq!(at, "x eq \"1\"");
}
