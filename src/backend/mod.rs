//! Backends: the normalised IR lowered once into a target-neutral plan (`plan`), then spelled
//! as query text for a target (`sql`, `spl`, `kql`).

pub mod cidr;
pub mod compact;
pub mod kql;
pub mod plan;
pub mod regexp;
pub mod schema;
pub mod spl;
pub mod sql;

use crate::backend::schema::TableSchema;
use crate::diag::Diagnostic;
use crate::ir::Step;
use crate::rule::Rule;
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

/// E0401: the rule cannot be written for the target; `u` says why and, when it knows, which
/// construct (pointed at in the rule file; otherwise the rule's id).
pub fn unsupported(rule: &Rule, u: Unsupported) -> Diagnostic {
    let (span, label) = match u.span {
        Some(s) => (rule.condition.to_file(s), "not expressible on this target"),
        None => (rule.spans.rule_id.clone(), "this rule"),
    };
    Diagnostic::error("E0401", u.reason, span)
        .with_label(label)
        .with_help(format!(
            "rule `{}` cannot be compiled for this target",
            rule.rule_id
        ))
}

/// The column types a rule implies when no schema is given.
pub fn inferred_schema(rule: &Rule) -> TableSchema {
    let fields: Vec<&[Step]> = rule
        .output_fields
        .iter()
        .map(|f| f.path.0.as_slice())
        .collect();
    TableSchema::infer_from_rule(&rule.condition.ir, &fields)
}
