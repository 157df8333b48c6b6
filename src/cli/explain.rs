//! `ruleqc explain`: print one rule's condition at a stage.

use std::path::{Path, PathBuf};

use super::args::Stage;
use super::{EXIT_FINDINGS, EXIT_OK, Output};
use crate::rule::load_paths;

pub fn run(out: &Output, file: &Path, stage: Stage) -> i32 {
    if file.is_dir() {
        return out.fatal(&format!(
            "{}: explain takes one rule file, not a directory",
            file.display()
        ));
    }
    let loaded = match load_paths(&[PathBuf::from(file)]) {
        Ok(l) => l,
        Err(e) => return out.fatal(&e),
    };
    let Some(l) = loaded.first() else {
        return out.fatal(&format!("{}: no rule", file.display()));
    };
    let Some(rule) = l.rule() else {
        out.report(l);
        return EXIT_FINDINGS;
    };
    let text = match stage {
        Stage::Ast => crate::explain::ast_tree(&rule.condition.ast),
        Stage::Ir => rule.condition.ir.pretty(),
    };
    print!("{text}");
    EXIT_OK
}
