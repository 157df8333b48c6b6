//! The library's entry point: one rule, one target, one profile → the query text. The CLI,
//! the tests and the benchmarks all call [`compile`]; it chains the stages after the rule is
//! loaded: the profile's renames and placement, the lowering plan, and the target's spelling.
//!
//! A target is described once, by its own file, as a [`Backend`]; [`TARGETS`] registers it.
//! `compile`, and the CLI's `compile`, `check`, `explain` and `list`, read that description and
//! never name a target.

use std::sync::Arc;

use crate::backend::schema::{SchemaSet, TableSchema};
use crate::backend::sql::SqlDialect;
use crate::backend::{kql, spl, sql};
use crate::diag::Diagnostic;
use crate::package::Packaging;
use crate::profile::Profile;
use crate::rule::Rule;

/// Every target, in the order `--help`, `list targets` and `check --target all` show them.
/// A new target is one line here.
pub static TARGETS: &[&dyn Backend] = &[&sql::SqlTarget, &spl::SplunkTarget, &kql::KqlTarget];

/// Everything the library and the command line know about one query language. Its file
/// implements it next to the speller; nothing outside that file and its packaging file
/// depends on which target it is.
pub trait Backend: Sync {
    /// The `--target` value, which is also the profile section the target reads (`sql`,
    /// `splunk`, `kql`).
    fn name(&self) -> &'static str;
    /// How prose names it (`SQL`, `Splunk`, `KQL`).
    fn title(&self) -> &'static str;
    /// One sentence (no final period, as clap shows it) for `--help` and `ruleqc list targets`.
    fn about(&self) -> &'static str;
    /// Whether `--dialect` chooses one of [`SqlDialect`] (the SQL target).
    fn has_dialects(&self) -> bool {
        false
    }
    /// The built-in profile that, given to `check` without `--target`, means this target
    /// (`sentinel` means KQL).
    fn implied_by_profile(&self) -> Option<&'static str> {
        None
    }
    /// Whether `profile` places rules for this target (for `dialect`, when it has dialects;
    /// `None`: for any). `Err` names the profile and what it lacks.
    fn section(&self, profile: &Profile, dialect: Option<SqlDialect>) -> Result<(), String>;
    /// What to change when `profile` does not place this target, if not another profile (the
    /// SQL target: the profile's own `--dialect`).
    fn profile_hint(&self, _profile: &Profile) -> Option<String> {
        None
    }
    /// How `ruleqc list profiles` names this target for `profile`, if it places rules for it.
    fn places(&self, profile: &Profile) -> Option<String> {
        self.section(profile, None)
            .ok()
            .map(|()| self.name().to_string())
    }
    /// The rule as the target reads it (the profile's renames) and each log type's schema
    /// (`None`: inferred from the rule), in `rule.log_types` order: what the lowering plan is
    /// built from (`explain --stage plan`). Errors are E0402, at the rule.
    fn reading<'r>(
        &self,
        rule: &'r Rule,
        profile: &Profile,
        dialect: Option<SqlDialect>,
    ) -> Result<(std::borrow::Cow<'r, Rule>, Vec<Option<TableSchema>>), Diagnostic>;
    /// The query, renamed and placed by the profile, spelled by the target (E0401, E0402).
    fn render(
        &self,
        rule: &Rule,
        profile: &Profile,
        dialect: Option<SqlDialect>,
    ) -> Result<String, Diagnostic>;
    /// The rule set's resolved schemas the target reads (`explain --stage schema`).
    fn schemas<'p>(&self, profile: &'p Profile) -> Option<&'p Arc<SchemaSet>>;
    /// Appends one query as `compile` prints it: the comment line with the RuleID, the
    /// query, a blank line.
    fn print(&self, out: &mut String, rule_id: &str, query: &str);
    /// Its deployable artifacts (`compile --out`, `check --target`).
    fn packaging(&self) -> &'static dyn Packaging;
}

impl std::fmt::Debug for dyn Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn Backend {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// The registered target called `name`.
pub fn backend_named(name: &str) -> Option<&'static dyn Backend> {
    TARGETS.iter().copied().find(|t| t.name() == name)
}

/// What a rule compiles to: a registered target and, for one with dialects, the dialect.
#[derive(Clone, Copy)]
pub struct Target {
    backend: &'static dyn Backend,
    dialect: Option<SqlDialect>,
}

impl Target {
    /// `backend`, in `dialect` if it has dialects (DuckDB when not given); otherwise the
    /// dialect is ignored.
    pub fn new(backend: &'static dyn Backend, dialect: Option<SqlDialect>) -> Target {
        let dialect = backend
            .has_dialects()
            .then(|| dialect.unwrap_or(SqlDialect::Duckdb));
        Target { backend, dialect }
    }

    /// `backend` (in its default dialect, if it has dialects).
    pub fn of(backend: &'static dyn Backend) -> Target {
        Target::new(backend, None)
    }

    /// SQL in `dialect`.
    pub fn sql(dialect: SqlDialect) -> Target {
        Target::new(&sql::SqlTarget, Some(dialect))
    }

    /// Every target: each registered one in each of its dialects (the seven SQL dialects,
    /// SPL and KQL).
    pub fn all() -> impl Iterator<Item = Target> {
        TARGETS.iter().flat_map(|&b| {
            let dialects: Vec<Option<SqlDialect>> = if b.has_dialects() {
                SqlDialect::ALL.into_iter().map(Some).collect()
            } else {
                vec![None]
            };
            dialects.into_iter().map(move |d| Target::new(b, d))
        })
    }

    pub fn backend(self) -> &'static dyn Backend {
        self.backend
    }

    /// The dialect, for a target that has dialects.
    pub fn dialect(self) -> Option<SqlDialect> {
        self.dialect
    }

    /// `sql`, `splunk` or `kql`.
    pub fn family(self) -> &'static str {
        self.backend.name()
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        self.family() == other.family() && self.dialect == other.dialect
    }
}

impl Eq for Target {}

impl std::hash::Hash for Target {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.family().hash(state);
        self.dialect.hash(state);
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.dialect {
            Some(d) => write!(f, "{} ({})", self.family(), d.name()),
            None => f.write_str(self.family()),
        }
    }
}

/// E0402: the profile cannot place rules for this target (`message` names the profile).
pub fn profile_error(message: String) -> Diagnostic {
    Diagnostic {
        severity: crate::diag::Severity::Error,
        code: "E0402",
        message,
        span: None,
        label: None,
        help: None,
    }
}

/// E0402 at `rule`'s RuleID, for what reads the rule's placement (`Backend::reading`).
pub fn profile_error_at(rule: &Rule) -> impl Fn(String) -> Diagnostic + '_ {
    |m| Diagnostic::error("E0402", m, rule.spans.rule_id.clone())
}

/// The query for `rule` on `target`, with the profile's renames and placement. Errors are
/// E0401 (the rule cannot be written for the target; pointing at the construct) and E0402
/// (the profile does not place the rule's log types; pointing at the log type).
pub fn compile(rule: &Rule, target: Target, profile: &Profile) -> Result<String, Diagnostic> {
    target.backend.render(rule, profile, target.dialect)
}

/// Queries past this size get a warning: every engine and SIEM bounds a query's text.
const LARGE_QUERY: usize = 1 << 20;

/// W0404: a compiled query of more than a mebibyte (a long `in` list is the usual cause), or,
/// for a SQL dialect whose engine parses less by default, more than that engine's default.
pub fn size_warning(
    q: &str,
    dialect: Option<crate::backend::sql::SqlDialect>,
) -> Option<crate::diag::Diagnostic> {
    if let Some(d) = dialect.map(|d| d.dialect())
        && let Some((limit, engine, help)) = d.max_query_bytes()
        && q.len() > limit
    {
        return Some(crate::diag::Diagnostic {
            severity: crate::diag::Severity::Warning,
            code: "W0404",
            message: format!(
                "the compiled query is {} bytes; {engine} parses at most {limit} bytes of a \
                 query by default",
                q.len(),
            ),
            span: None,
            label: None,
            help: Some(help.into()),
        });
    }
    (q.len() > LARGE_QUERY).then(|| crate::diag::Diagnostic {
        severity: crate::diag::Severity::Warning,
        code: "W0404",
        message: format!(
            "the compiled query is {:.1} MB; engines and SIEMs limit the length of a query",
            q.len() as f64 / 1e6
        ),
        span: None,
        label: None,
        help: Some(
            "long `in` lists grow every query; a lookup table or a shorter list keeps it \
             deployable"
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, t) in TARGETS.iter().enumerate() {
            assert!(
                TARGETS[..i].iter().all(|u| u.name() != t.name()),
                "two targets are called `{}`",
                t.name()
            );
            assert_eq!(backend_named(t.name()).map(|b| b.name()), Some(t.name()));
        }
        assert!(backend_named("nope").is_none());
    }

    #[test]
    fn all_is_every_dialect_then_each_other_target() {
        let all: Vec<String> = Target::all().map(|t| t.to_string()).collect();
        let mut want: Vec<String> = SqlDialect::ALL
            .iter()
            .map(|d| format!("sql ({})", d.name()))
            .collect();
        want.extend(["splunk".to_string(), "kql".to_string()]);
        assert_eq!(all, want);
    }

    #[test]
    fn a_dialect_is_kept_only_where_it_means_something() {
        let splunk = Target::new(&spl::SplunkTarget, Some(SqlDialect::Sqlite));
        assert_eq!(splunk.dialect(), None);
        assert_eq!(splunk, Target::of(&spl::SplunkTarget));
        assert_eq!(Target::of(&sql::SqlTarget), Target::sql(SqlDialect::Duckdb));
        assert_ne!(
            Target::sql(SqlDialect::Sqlite),
            Target::sql(SqlDialect::Duckdb)
        );
    }
}
