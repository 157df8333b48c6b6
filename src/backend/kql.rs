//! Microsoft Sentinel / Log Analytics KQL.

use crate::backend::schema::TableSchema;
use crate::diag::Diagnostic;
use crate::rule::Rule;

/// The default Sentinel table for a log type: `.` → `_` and the custom-log suffix `_CL`
/// (`Gravitational.TeleportAudit` → `Gravitational_TeleportAudit_CL`).
pub fn default_table_name(log_type: &str) -> String {
    format!("{}_CL", log_type.replace('.', "_"))
}

/// The KQL query for a rule.
pub fn render_query(
    rule: &Rule,
    _schema_for: &dyn Fn(&str) -> Option<TableSchema>,
) -> Result<String, Diagnostic> {
    Err(crate::backend::sql::unsupported_target(rule, "kql"))
}
