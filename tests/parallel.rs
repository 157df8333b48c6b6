//! Loading, compiling and testing on several threads gives what a file-by-file run gives, in
//! the same order, and a broken rule among many is still reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::cli::{stderr, stdout};

/// `ruleqc ARGS` on `threads` threads (`RULEQC_THREADS`), without colour.
fn ruleqc_on(threads: usize, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("RULEQC_THREADS", threads.to_string())
        .output()
        .expect("run ruleqc")
}

/// A rule of its own log type (so that its schema, and so its query, is the same loaded alone
/// or with the others), with a condition whose length varies from rule to rule so that the
/// workers finish their files at different times.
fn rule(i: usize) -> String {
    let extra: String = (0..i % 17)
        .map(|k| format!("  action ne \"value {k} of {i}\"\n"))
        .collect();
    format!(
        "RuleID: Par.Rule{i:03}\nLogTypes: [Par.Type{i:03}]\nCondition: |\n  action eq \"a{i}\"\n{extra}\
         Tests:\n  - Name: match\n    ExpectedResult: true\n    Log: {{action: a{i}}}\n"
    )
}

/// `n` rule files `r000.yml`... in a fresh directory; `broken(i)` replaces rule `i`'s text.
fn rule_dir(name: &str, n: usize, broken: &dyn Fn(usize) -> Option<Vec<u8>>) -> PathBuf {
    let dir = support::cli::scratch("parallel", name);
    for i in 0..n {
        let text = broken(i).unwrap_or_else(|| rule(i).into_bytes());
        std::fs::write(dir.join(format!("r{i:03}.yml")), text).expect("write rule");
    }
    dir
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// Every seventh rule has a problem of its own: a bad condition, an unknown key, or a second
/// document's worth of nonsense.
fn some_broken(i: usize) -> Option<Vec<u8>> {
    (i % 7 == 3).then(|| match i % 3 {
        0 => rule(i).replace("action eq", "action =").into_bytes(),
        1 => format!("{}Severty: High\n", rule(i)).into_bytes(),
        _ => rule(i).replace("LogTypes: [", "LogTypes: [[").into_bytes(),
    })
}

#[test]
fn loading_many_rules_gives_each_rule_as_loaded_alone_in_order() {
    let dir = rule_dir("load", 150, &some_broken);
    let together = ruleqc::rule::load_paths(std::slice::from_ref(&dir)).expect("load");
    let alone: Vec<_> = files(&dir)
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).expect("read");
            ruleqc::rule::load_str(&f.display().to_string(), text)
        })
        .collect();
    assert_eq!(together.len(), alone.len());
    for (t, a) in together.iter().zip(&alone) {
        assert_eq!(t.file.path, a.file.path);
        assert_eq!(t.file.text, a.file.text);
        assert_eq!(format!("{:?}", t.result), format!("{:?}", a.result));
    }
    assert_eq!(together.iter().filter(|l| l.rule().is_none()).count(), 21);
}

#[test]
fn compiling_on_four_threads_prints_what_each_file_alone_prints_in_order() {
    let dir = rule_dir("compile", 150, &some_broken);
    let together = ruleqc_on(4, &["compile", "--target", "sql", dir.to_str().unwrap()]);
    let (mut out, mut err) = (String::new(), String::new());
    for f in files(&dir) {
        let alone = ruleqc_on(4, &["compile", "--target", "sql", f.to_str().unwrap()]);
        out.push_str(&stdout(&alone));
        err.push_str(&stderr(&alone));
    }
    assert_eq!(together.status.code(), Some(1), "{}", stderr(&together));
    assert_eq!(stdout(&together), out);
    assert_eq!(stderr(&together), err);
    // The queries are there, in file order.
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("-- Par.Rule"))
        .collect();
    assert_eq!(ids.len(), 150 - 21, "{out}");
    assert!(ids.is_sorted(), "{ids:?}");
}

#[test]
fn one_thread_and_four_give_the_same_bytes() {
    // Besides the broken rules, every eleventh rule has a test that fails, so that `test`
    // reports failures (with their traces) from several workers.
    let dir = rule_dir("threads", 200, &|i| {
        some_broken(i).or_else(|| {
            (i % 11 == 5).then(|| {
                rule(i)
                    .replace("ExpectedResult: true", "ExpectedResult: false")
                    .into_bytes()
            })
        })
    });
    let d = dir.to_str().unwrap();
    for args in [
        vec!["check", d],
        vec!["check", "--target", "all", d],
        vec!["compile", "--target", "splunk", d],
        vec!["compile", "--target", "kql", d],
        vec!["test", d],
        vec!["test", "--engine", "none", d],
        vec!["test", "--coverage", d],
        vec!["test", "--output-format", "json", d],
        vec!["test", "--output-format", "junit", d],
    ] {
        let one = ruleqc_on(1, &args);
        let four = ruleqc_on(4, &args);
        assert_eq!(one.status.code(), four.status.code(), "{args:?}");
        assert_eq!(stdout(&one), stdout(&four), "{args:?}");
        assert_eq!(stderr(&one), stderr(&four), "{args:?}");
        if args == ["test", d] {
            let out = stdout(&four);
            let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL ")).collect();
            assert_eq!(fails.len(), 15, "{out}");
            assert!(fails[0].starts_with("FAIL Par.Rule005 :: match"), "{out}");
        }
    }
}

#[test]
fn a_broken_rule_among_many_is_reported() {
    let dir = rule_dir("broken", 300, &|i| match i {
        137 => Some(
            rule(i)
                .replace("action eq \"a137\"", "action eq (")
                .into_bytes(),
        ),
        211 => Some(b"RuleID: Par.Latin1\nDisplayName: caf\xe9\n".to_vec()),
        _ => None,
    });
    let o = ruleqc_on(4, &["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let at = |name: &str| format!("{}:", dir.join(name).display());
    assert!(err.contains(&at("r137.yml")), "{err}");
    assert!(err.contains("error[E0201]"), "{err}");
    assert!(err.contains(&at("r211.yml")), "{err}");
    assert!(
        err.contains("error[E0101]: the file is not valid UTF-8"),
        "{err}"
    );
    assert!(
        err.find(&at("r137.yml")) < err.find(&at("r211.yml")),
        "in file order: {err}"
    );
    assert!(
        stdout(&o).starts_with("300 rule files checked: 298 ok, 2 with errors"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_bad_thread_count_is_a_usage_error() {
    for bad in ["0", "many", "-2"] {
        let o = Command::new(env!("CARGO_BIN_EXE_ruleqc"))
            .args(["check", "rules"])
            .env("RULEQC_THREADS", bad)
            .output()
            .expect("run ruleqc");
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&o).contains(&format!("error: RULEQC_THREADS is the number of threads to use, a whole number from 1; found `{bad}`")),
            "{}",
            stderr(&o)
        );
    }
}
