//! `ruleqc check`: load and statically check every rule.

use std::path::PathBuf;

use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::rule::load_paths;

pub fn run(out: &Output, paths: &[PathBuf]) -> i32 {
    let loaded = match load_paths(paths) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let mut errors = 0;
    let mut bad_files = 0;
    for l in &loaded {
        let n = out.report(l);
        errors += n;
        bad_files += usize::from(n > 0);
    }
    let ok = loaded.len() - bad_files;
    outln!(
        "{} rule file{} checked: {ok} ok, {bad_files} with errors ({errors} error{})",
        loaded.len(),
        if loaded.len() == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
    );
    if bad_files > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}
