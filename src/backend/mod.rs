//! Backends: the normalised IR lowered once into a target-neutral plan (`plan`), then spelled
//! as query text for a target (`sql`, `spl`, `kql`).

pub mod kql;
pub mod plan;
pub mod regexp;
pub mod schema;
pub mod spl;
pub mod sql;

use crate::syntax::ast::Span;

/// Why a rule cannot be written for a target (E0401), with the construct it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub reason: String,
    /// The predicate or quantifier in the condition text (byte offsets), when known.
    pub span: Option<Span>,
}

impl Unsupported {
    pub fn new(reason: String) -> Unsupported {
        Unsupported { reason, span: None }
    }

    /// Points the error at `span` unless it already points at a construct inside it.
    pub fn at(mut self, span: Span) -> Unsupported {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}
