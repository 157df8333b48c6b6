//! The library's entry point: one rule, one target, one profile → the query text. The CLI,
//! the tests and the benchmarks all call [`compile`]; it chains the stages after the rule is
//! loaded: the profile's renames and placement, the lowering plan, and the target's spelling.

use crate::backend::sql::SqlDialect;
use crate::backend::{kql, spl, sql};
use crate::diag::Diagnostic;
use crate::profile::Profile;
use crate::rule::Rule;

/// What a rule compiles to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// SQL in one of the warehouse dialects.
    Sql(SqlDialect),
    /// A Splunk SPL search.
    Splunk,
    /// A Microsoft Sentinel / Log Analytics KQL query.
    Kql,
}

impl Target {
    /// Every target: the seven SQL dialects, SPL and KQL.
    pub fn all() -> impl Iterator<Item = Target> {
        SqlDialect::ALL
            .into_iter()
            .map(Target::Sql)
            .chain([Target::Splunk, Target::Kql])
    }

    /// `sql`, `splunk` or `kql`.
    pub fn family(self) -> &'static str {
        match self {
            Target::Sql(_) => "sql",
            Target::Splunk => "splunk",
            Target::Kql => "kql",
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Sql(d) => write!(f, "sql ({})", d.name()),
            t => f.write_str(t.family()),
        }
    }
}

/// E0402: the profile cannot place rules for this target.
fn profile_error(message: String) -> Diagnostic {
    Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0402",
        message,
        span: None,
        label: None,
        help: None,
    }
}

/// The query for `rule` on `target`, with the profile's renames and placement. Errors are
/// E0401 (the rule cannot be written for the target; pointing at the construct) and E0402
/// (the profile does not place the rule's log types; pointing at the log type).
pub fn compile(rule: &Rule, target: Target, profile: &Profile) -> Result<String, Diagnostic> {
    match target {
        Target::Sql(dialect) => {
            let p = profile.sql(dialect.name()).map_err(profile_error)?;
            let d = dialect.dialect();
            let renamed = p.rename_for(rule, d)?;
            sql::render_placed_query(&renamed, d, &|lt| {
                p.placement_in(&profile.name, &renamed, lt, d)
            })
        }
        Target::Splunk => {
            let p = profile.splunk().map_err(profile_error)?;
            let renamed = p.rename(rule);
            spl::render_placed_query(&renamed, &|lt| p.base(&profile.name, &renamed, lt))
        }
        Target::Kql => {
            let p = profile.kql().map_err(profile_error)?;
            let renamed = p.rename(rule);
            kql::render_placed_query(&renamed, &|lt| p.placement(&profile.name, &renamed, lt))
        }
    }
}
