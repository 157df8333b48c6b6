//! ruleqc: a compiler for detection rules.
//!
//! The stages, each a public function (see ARCHITECTURE.md):
//! `rule::load_str` (YAML -> `Rule`, which runs `syntax::parse`, `ir::lower::lower_condition`
//! and `ir::normalize::normalize` on the condition), `ir::eval::eval` (the reference
//! evaluator), `compile::compile` (a rule, a target and a profile -> the query: renames and
//! placement, the `backend::plan` lowering, the target's spelling) and
//! `testing::run_rule_tests`.

pub mod backend;
pub mod cli;
pub mod compile;
pub mod diag;
pub mod engine;
pub mod explain;
pub mod ir;
pub mod package;
pub mod par;
pub mod profile;
pub mod rule;
pub mod run;
pub mod sigma;
pub mod syntax;
pub mod testing;

pub use compile::{Target, compile};
