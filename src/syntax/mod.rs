//! The condition language (SPEC §3): grammar, AST and parser.

pub mod ast;
pub mod parser;

pub use parser::{parse, parse_path};
