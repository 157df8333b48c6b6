//! `compile` and `check` load rules without their test events' values and without their
//! file texts (`rule::Keep`): schema resolution must see the same schemas, and every
//! diagnostic printed after loading must still carry its file, line, column and snippet,
//! read back from the file.

use std::path::{Path, PathBuf};

use ruleqc::diag::{Style, render};
use ruleqc::profile::Profile;
use ruleqc::profile::diagnostics::{RuleFile, UnknownFields, schema_diagnostics};
use ruleqc::rule::{Discovery, Keep, Loaded, load_paths_keeping, load_str};

mod support;
use support::cli::{ruleqc, stderr};

#[path = "../benches/support/corpus.rs"]
#[allow(dead_code)]
mod corpus;

const LEAN: Keep = Keep {
    events: false,
    text: false,
    pack: false,
};

fn load(paths: &[PathBuf], keep: Keep) -> Vec<Loaded> {
    load_paths_keeping(paths, &Discovery::default(), keep)
        .expect("load")
        .loaded
}

/// The default profile's SQL schemas resolved over `loaded`.
fn resolved(loaded: &[Loaded]) -> ruleqc::backend::schema::SchemaSet {
    let rules: Vec<_> = loaded.iter().filter_map(Loaded::rule).collect();
    let mut profile = Profile::built_in("default").expect("default");
    assert!(profile.resolve_schemas(&rules).is_empty());
    let set = profile.sql.expect("sql").resolved.expect("resolved");
    (*set).clone()
}

/// The same schemas from the events' shapes as from their values: on `rules/` and on 400
/// rules of the benchmark corpus (nested objects, arrays of arrays, duplicate keys, wide
/// integers, odd key names).
#[test]
fn shapes_resolve_to_the_schemas_values_give() {
    let dir = support::cli::scratch("lean", "corpus");
    for r in corpus::generate(400, corpus::SEED) {
        let path = dir.join(&r.file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &r.text).expect("write");
    }
    for root in [PathBuf::from("rules"), dir.clone()] {
        let full = load(std::slice::from_ref(&root), Keep::ALL);
        let lean = load(std::slice::from_ref(&root), LEAN);
        assert_eq!(full.len(), lean.len());
        let mut tests = 0;
        for (f, l) in full.iter().zip(&lean) {
            let (Some(f), Some(l)) = (f.rule(), l.rule()) else {
                assert_eq!(f.rule().is_some(), l.rule().is_some());
                continue;
            };
            assert!(f.shapes.is_empty());
            assert_eq!(l.shapes.len(), l.tests.len(), "{}", l.rule_id);
            assert!(l.tests.iter().all(|t| t.log.is_null()));
            tests += l.tests.len();
        }
        assert!(tests > 100, "{}: {tests} tests", root.display());
        let (a, b) = (resolved(&full), resolved(&lean));
        assert!(a.log_types.values().any(|s| !s.objects.is_empty()));
        assert_eq!(a, b, "{}", root.display());
    }
    std::fs::remove_dir_all(&dir).expect("remove the corpus");
}

/// A packed rule (`Keep::pack`) unpacks to the rule loaded without packing, its implied
/// columns are the ones the rule implies, the schemas resolved from the packed heads are the
/// same, and the whole rule cannot be read by mistake from a head: on `rules/`, the Sigma
/// test rules, the broken rules and 400 rules of the benchmark corpus.
#[test]
fn packed_rules_unpack_to_the_rules_loaded() {
    let dir = support::cli::scratch("lean", "packed");
    for r in corpus::generate(400, corpus::SEED) {
        let path = dir.join(&r.file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &r.text).expect("write");
    }
    let packed_keep = Keep { pack: true, ..LEAN };
    let roots = ["rules", "tests/sigma/suite", "tests/bad"].map(PathBuf::from);
    for root in roots.into_iter().chain([dir.clone()]) {
        let lean = load(std::slice::from_ref(&root), LEAN);
        let packed = load(std::slice::from_ref(&root), packed_keep);
        assert_eq!(lean.len(), packed.len());
        let mut rules = 0;
        for (l, p) in lean.iter().zip(&packed) {
            assert_eq!(
                format!("{:?}", l.result.as_ref().err()),
                format!("{:?}", p.result.as_ref().err())
            );
            let Some(rule) = l.rule() else { continue };
            rules += 1;
            let full = p.full().expect("loaded");
            assert!(matches!(full, std::borrow::Cow::Owned(_)), "packed");
            assert_eq!(format!("{rule:?}"), format!("{full:?}"), "{}", rule.rule_id);
            let implied: Vec<_> = ruleqc::backend::inferred_schema(rule)
                .columns
                .into_iter()
                .map(|(k, t)| (k.into_boxed_str(), t))
                .collect();
            assert_eq!(p.implied().expect("packed"), &implied[..]);
            let head = p.head().expect("loaded");
            assert!(
                head.condition.text.is_empty(),
                "the head leaves the condition out"
            );
            assert_eq!(
                (&head.rule_id, &head.log_types),
                (&rule.rule_id, &rule.log_types)
            );
            let cond = p.condition().expect("loaded");
            assert_eq!(cond.condition.ir, rule.condition.ir);
            assert_eq!(cond.condition.file_offsets, rule.condition.file_offsets);
            let read = std::panic::catch_unwind(|| p.rule().is_some());
            assert!(read.is_err(), "Loaded::rule refuses a packed rule");
        }
        if root.ends_with("bad") {
            continue;
        }
        assert!(rules > 1, "{}: {rules} rules", root.display());
        let heads: Vec<_> = packed.iter().filter_map(Loaded::head).collect();
        let implied: Vec<_> = packed
            .iter()
            .filter(|l| l.head().is_some())
            .map(Loaded::implied)
            .collect();
        let mut profile = Profile::built_in("default").expect("default");
        assert!(
            profile
                .resolve_schemas_implying(&heads, &implied)
                .is_empty()
        );
        // The W0601 warnings from what `Loaded::condition` unpacks are the whole rule's.
        let unknown = UnknownFields::new(&profile).expect("the default profile has SQL");
        let mut warned = 0;
        for (l, p) in lean.iter().zip(&packed) {
            let Some(rule) = l.rule() else { continue };
            let ds = unknown.of(rule);
            warned += ds.len();
            let of_condition = unknown.of(&p.condition().expect("loaded"));
            assert_eq!(
                format!("{ds:?}"),
                format!("{of_condition:?}"),
                "{}",
                rule.rule_id
            );
        }
        if root == dir {
            assert!(warned > 100, "{warned} warnings");
        }
        let set = profile.sql.expect("sql").resolved.expect("resolved");
        assert_eq!(resolved(&lean), *set, "{}", root.display());
    }
    std::fs::remove_dir_all(&dir).expect("remove the corpus");
}

/// A rule file's text is read back for its diagnostics; if the file changed since it was
/// loaded, that is said instead of pointing into the new text.
#[test]
fn the_text_is_read_back_and_a_changed_file_is_noticed() {
    let dir = support::cli::scratch("lean", "reread");
    let file = dir.join("r.yml");
    let text = std::fs::read_to_string("tests/bad_schema/unknown_field.yml").expect("read");
    // With a byte-order mark, which loading drops (positions are in the text without it).
    std::fs::write(&file, format!("\u{feff}{text}")).expect("write");
    let loaded = load(std::slice::from_ref(&file), LEAN);
    assert_eq!(loaded.len(), 1);
    assert!(loaded[0].rule().is_some());
    assert!(loaded[0].file.text.is_empty(), "the text is not kept");
    assert_eq!(loaded[0].text().expect("read back"), text);
    std::fs::write(&file, text.replace("Tests:", "Tests:\n")).expect("write");
    let why = loaded[0].text().expect_err("changed");
    assert!(why.contains("r.yml changed"), "{why}");
    std::fs::remove_file(&file).expect("remove");
    assert!(loaded[0].text().is_err());
    // Kept, the text is the one loaded, whatever the file says now.
    let kept = load_str("r.yml", text.clone());
    assert_eq!(kept.text().expect("kept"), text);
    std::fs::remove_dir_all(&dir).expect("remove the scratch directory");
}

/// The schema diagnostics `check` and `compile` print for `tests/bad_schema` (E0406 against
/// its profile's declared types, W0601 of unknown top-level and nested fields, with that
/// profile and with the default one, where the rules keep only their events' shapes) are
/// the ones the library renders from the file's text: same file, line, column and snippet.
#[test]
fn schema_diagnostics_keep_their_place_and_snippet() {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/bad_schema")
        .expect("tests/bad_schema")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "profile.yml"))
        .collect();
    files.sort();
    let profile_text = std::fs::read_to_string("tests/bad_schema/profile.yml").expect("profile");
    let mut seen = std::collections::BTreeSet::new();
    for file in &files {
        let path = file.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("read");
        let loaded = load_str(&path, text.clone());
        let rule = loaded.rule().expect("loads");
        for profile_arg in [Some("tests/bad_schema/profile.yml"), None] {
            let mut profile = match profile_arg {
                Some(p) => ruleqc::profile::parse(p, &profile_text).expect("parses"),
                None => Profile::built_in("default").expect("default"),
            };
            let want: Vec<String> =
                schema_diagnostics(&mut profile, &[RuleFile { rule, text: &text }])
                    .into_iter()
                    .map(|(_, d)| {
                        assert!(d.span.is_some(), "{path}: {d:?}");
                        seen.insert(d.code);
                        render(&d, &path, &text, Style::Human)
                    })
                    .collect();
            let mut commands: Vec<Vec<&str>> = vec![
                vec!["check", &path],
                vec!["compile", "--target", "sql", "--dialect", "sqlite", &path],
                vec!["check", "--error-format", "short", &path],
            ];
            if let Some(p) = profile_arg {
                for c in &mut commands {
                    if c[0] == "check" {
                        c.extend(["--target", "sql", "--dialect", "sqlite"]);
                    }
                    c.extend(["--profile", p]);
                }
            }
            for args in commands {
                let o = ruleqc(&args);
                let err = stderr(&o);
                for w in &want {
                    let w = if args.contains(&"short") {
                        short(w, &path)
                    } else {
                        w.clone()
                    };
                    assert!(err.contains(&w), "{args:?}: missing\n{w}\nin\n{err}");
                }
            }
        }
    }
    assert!(
        seen.contains("E0406") && seen.contains("W0601"),
        "{seen:?}: tests/bad_schema no longer has both kinds"
    );
}

/// The `path:line:col: ` start of the short form of a diagnostic rendered in full
/// (`--> path:line:col`).
fn short(human: &str, path: &str) -> String {
    let at = human
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("--> "))
        .unwrap_or_else(|| panic!("no position in\n{human}"));
    assert!(Path::new(at.split(':').next().unwrap()) == Path::new(path));
    format!("{at}: ")
}
