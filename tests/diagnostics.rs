//! Rendered diagnostics for each class of bad input (tests/bad/*.yml), as reviewed snapshots.
//! Each file must produce at least one error, every error must point into the file, and
//! loading must never panic.

use std::path::Path;

use ruleqc::diag::{Style, render};
use ruleqc::rule::load_str;

#[test]
fn bad_rules_render_as_reviewed() {
    let mut files: Vec<_> = std::fs::read_dir("tests/bad")
        .expect("tests/bad")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "a case per class of bad input");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let path = file.to_string_lossy().replace('\\', "/");
        let loaded = load_str(&path, text.clone());
        let diags = loaded
            .result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{path} should fail"));
        assert!(!diags.is_empty());
        let mut rendered = String::new();
        for d in diags {
            let span = d
                .span
                .clone()
                .unwrap_or_else(|| panic!("{path}: {d:?} has no position"));
            assert!(
                span.end <= text.len() && span.start <= span.end,
                "{path}: span {span:?}"
            );
            rendered.push_str(&render(d, &path, &text, Style::Human));
            rendered.push('\n');
            // The one-line form names file:line:col.
            let short = render(d, &path, &text, Style::Short);
            assert!(short.starts_with(&format!("{path}:")), "{short}");
        }
        let name = Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        insta::with_settings!({
            snapshot_path => "../snapshots/diagnostics",
            prepend_module_to_snapshot => false,
            description => text.as_str(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
}

/// Schema diagnostics (tests/bad_schema/*.yml, each resolved on its own against
/// tests/bad_schema/profile.yml): test events that contradict a declared column type, fields
/// the log type's schema lacks, and columns a warehouse dialect cannot tell apart by case.
#[test]
fn schema_diagnostics_render_as_reviewed() {
    use ruleqc::backend::sql::SqlDialect;
    use ruleqc::compile::{Target, compile};
    use ruleqc::profile::diagnostics::{RuleFile, schema_diagnostics};

    let profile_text = std::fs::read_to_string("tests/bad_schema/profile.yml").expect("profile");
    let mut files: Vec<_> = std::fs::read_dir("tests/bad_schema")
        .expect("tests/bad_schema")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "profile.yml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let path = file.to_string_lossy().replace('\\', "/");
        let loaded = load_str(&path, text.clone());
        let rule = loaded.rule().unwrap_or_else(|| panic!("{path} loads"));
        let mut profile =
            ruleqc::profile::parse("tests/bad_schema/profile.yml", &profile_text).expect("parses");
        let mut diags: Vec<_> = schema_diagnostics(&mut profile, &[RuleFile { rule, text: &text }])
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        // Columns that differ only in case: an error on the warehouses that fold case, kept
        // apart (no error) on the embedded engines' dialects and on PostgreSQL.
        for d in [
            SqlDialect::Bigquery,
            SqlDialect::Snowflake,
            SqlDialect::Duckdb,
            SqlDialect::Postgres,
        ] {
            if let Err(e) = compile(rule, Target::sql(d), &profile) {
                diags.push(e);
            }
        }
        assert!(!diags.is_empty(), "{path}");
        let mut rendered = String::new();
        for d in &diags {
            let span = d.span.clone().unwrap_or_else(|| panic!("{path}: {d:?}"));
            assert!(
                span.start < text.len() && span.end <= text.len(),
                "{path}: {span:?}"
            );
            rendered.push_str(&render(d, &path, &text, Style::Human));
            rendered.push('\n');
            assert!(render(d, &path, &text, Style::Short).starts_with(&format!("{path}:")));
        }
        let name = format!(
            "schema_{}",
            Path::new(&path).file_stem().unwrap().to_string_lossy()
        );
        insta::with_settings!({
            snapshot_path => "../snapshots/diagnostics",
            prepend_module_to_snapshot => false,
            description => text.as_str(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
}
