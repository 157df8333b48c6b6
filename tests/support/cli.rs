//! Running the built `ruleqc` binary in CLI tests.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `ruleqc ARGS` without colour.
pub fn ruleqc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleqc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ruleqc")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// A fresh directory for one test's files (`kind` names the test file, `name` the test).
pub fn scratch(kind: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleqc-{kind}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
