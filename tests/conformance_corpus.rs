//! The conformance corpus (tests/conformance/*.yml): small rules whose tests walk SPEC
//! §3.4–3.6. Every file must load and every test must pass on the reference evaluator.

use ruleqc::rule::load_paths;
use ruleqc::testing::run_rule_tests;

#[test]
fn conformance_corpus_passes_on_the_reference_evaluator() {
    let loaded = load_paths(&["tests/conformance".into()]).expect("corpus");
    assert!(loaded.len() >= 100, "{} files", loaded.len());
    let (mut passed, mut failures) = (0, Vec::new());
    for l in &loaded {
        let rule = l
            .rule()
            .unwrap_or_else(|| panic!("{} does not load: {:?}", l.file.path, l.result));
        for r in run_rule_tests(rule, None).results {
            if r.passed() {
                passed += 1;
            } else {
                failures.push(format!("{} :: {}", rule.rule_id, r.name));
            }
        }
    }
    assert!(failures.is_empty(), "failing: {failures:#?}");
    assert!(passed >= 1000, "{passed} tests");
}
