//! Splunk SPL.

use crate::diag::Diagnostic;
use crate::rule::Rule;

/// The SPL search for a rule.
pub fn render_query(rule: &Rule) -> Result<String, Diagnostic> {
    Err(crate::backend::sql::unsupported_target(rule, "splunk"))
}
