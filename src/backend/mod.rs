//! Backends: the normalised IR rendered as query text for a target.

pub mod kql;
pub mod schema;
pub mod spl;
pub mod sql;
