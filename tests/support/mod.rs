//! Helpers shared by integration tests: `mod support;` in a test file.
// Each test binary compiles its own copy and uses only part of it.
#![allow(dead_code)]

pub mod cli;
pub mod corpus;
pub mod differential;
pub mod postgres;
pub mod py_engine;
