//! Backends: the normalised IR rendered as query text for a target.

pub mod schema;
pub mod sql;
