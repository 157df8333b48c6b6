//! Backends: the normalised IR rendered as query text for a target.

pub mod kql;
pub mod regexp;
pub mod schema;
pub mod spl;
pub mod sql;
