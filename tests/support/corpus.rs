//! rules/ and the conformance corpus on an engine: every test's verdict from the compiled SQL
//! equals the reference evaluator's (and the expected result).

use ruleqc::engine::Engine;
use ruleqc::rule::load_paths;
use ruleqc::testing::run_rule_tests;

/// Divergences a target forces, each documented in the README's section for its dialect.
/// Anything else that differs fails the test.
const KNOWN_DIVERGENCES: &[(&str, &str)] = &[
    // PostgreSQL's case-insensitive regex matching follows the locale's one-character case
    // mappings, in which ß and ẞ are not a pair; the regex crate uses Unicode simple folding.
    (
        "postgres",
        "Conformance.Matches.CaseFlagUnicode :: capital sharp s",
    ),
    // `jsonb` keeps numbers as exact decimals and writes an exponent out, so the double
    // 9.223372036854776e+18 reads back as the integer 9223372036854776000 and compares exactly
    // (SPEC §3.4 wants doubles there); a typed `double precision` column is right.
    (
        "postgres",
        "Conformance.Number.Near2p63 :: the double nearest the literal",
    ),
];

/// Rules a dialect refuses at compile time with an error the README documents for it (E0401):
/// not run on that engine.
const KNOWN_UNSUPPORTED: &[(&str, &str, &str)] = &[
    // Databricks JSON paths cannot name a key with `'`, `\` or `]`.
    (
        "spark",
        "Conformance.Path.BacktickNonAscii",
        "Databricks JSON paths cannot name the key",
    ),
];

/// Runs every rule of `dir` on `engine`; panics listing each wrong verdict. The number of tests
/// checked.
pub fn run_corpus(engine: &mut dyn Engine, dir: &str) -> usize {
    let mut checked = 0;
    let mut problems = Vec::new();
    for l in load_paths(&[dir.into()]).expect(dir) {
        let rule = l
            .rule()
            .unwrap_or_else(|| panic!("{} does not load", l.file.path));
        let run = run_rule_tests(rule, Some(&mut *engine));
        if let Some(e) = &run.engine_error
            && KNOWN_UNSUPPORTED
                .iter()
                .any(|(en, id, m)| *en == engine.name() && *id == rule.rule_id && e.contains(m))
        {
            continue;
        }
        if let Some(e) = run.engine_error {
            problems.push(format!("{}: {e}", rule.rule_id));
            continue;
        }
        for r in &run.results {
            assert_eq!(r.verdicts.len(), 2, "{} ran on the engine", rule.rule_id);
            let id = format!("{} :: {}", rule.rule_id, r.name);
            if KNOWN_DIVERGENCES.contains(&(engine.name(), id.as_str())) {
                assert!(
                    !r.passed(),
                    "{id} now agrees on {}: remove it from the list",
                    engine.name()
                );
                assert_eq!(r.reference(), r.expected, "{id}");
                continue;
            }
            if !r.passed() {
                problems.push(format!(
                    "{} :: {}: expected {}, verdicts {:?}\n  {}",
                    rule.rule_id,
                    r.name,
                    r.expected,
                    r.verdicts,
                    run.engine_sql.as_deref().unwrap_or("")
                ));
            }
            checked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "{} on {dir}:\n{}",
        engine.name(),
        problems.join("\n")
    );
    checked
}
