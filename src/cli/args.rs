//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};

pub use crate::backend::sql::SqlDialect;

/// ruleqc compiles detection rules (YAML metadata + a one-screen condition) into the queries
/// that SIEMs and warehouses run, and proves them against the rule's own test events.
///
/// Exit status: 0 all good; 1 a rule has errors or a test failed; 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(
    name = "ruleqc",
    version,
    about,
    long_about,
    after_long_help = "Environment: RULEQC_THREADS=N, the number of threads for loading, \
        checking, compiling and testing rules and for `run`'s native engine (default: one per \
        core); NO_COLOR, no colour."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// How diagnostics and results are printed: `human` (source line and caret), `short` (one
    /// line each), `json` (one document on stdout), `github` (workflow annotations), `sarif`
    /// (SARIF 2.1.0 for code scanning, on stdout), `junit` (`test` results as JUnit XML).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output_format: OutputFormat,

    /// Old name of `--output-format` for `human` and `short`.
    #[arg(
        long,
        global = true,
        value_enum,
        hide = true,
        conflicts_with = "output_format"
    )]
    pub error_format: Option<ErrorFormat>,

    /// Colour diagnostics: `auto` colours when stderr is a terminal and NO_COLOR is unset or
    /// empty.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print only problems: no summary lines, no progress bar.
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Skip files and directories matching GLOB when searching directories for rules; a
    /// pattern without `/` matches a name anywhere (`drafts`, `*.draft.yml`), one with `/` the
    /// path under the searched directory (`aws/old/**`). Repeatable. Hidden files and
    /// directories are always skipped.
    #[arg(long, global = true, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// The Sigma profile Sigma rules are read with: log sources -> log types, field names ->
    /// event paths, implied conditions, `|expand` values, the raw-message field. A built-in
    /// name (`windows-json`, the default) or a file (YAML; see docs/sigma.md).
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub sigma_profile: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and statically check every rule under the paths; report every problem in one run.
    Check {
        /// Rule files, or directories searched recursively for *.yml / *.yaml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also compile every rule for this target, writing nothing, and report what `compile`
        /// would (a dialect that cannot express a condition, Splunk's and Sentinel's schedule
        /// limits). `all`: every SQL dialect, Splunk and KQL. Repeatable.
        #[arg(long, value_parser = check_target_values())]
        target: Vec<CheckTarget>,
        /// With --target sql: only these dialects (default: all seven). Repeatable.
        #[arg(long, value_enum)]
        dialect: Vec<SqlDialect>,
        /// With --target: the profile to place rules with (as for `compile`).
        #[arg(long, value_name = "NAME|FILE")]
        profile: Option<String>,
        #[command(flatten)]
        tests: MinTests,
        #[command(flatten)]
        deny: Deny,
    },
    /// Run every rule's Tests and report failures; ends with `N passed, M failed`.
    Test {
        /// Rule files, or directories searched recursively for *.yml / *.yaml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        tests: MinTests,
        /// Report condition coverage: per rule, whether some test made each leaf predicate of
        /// the condition true and some test made it false.
        #[arg(long)]
        coverage: bool,
        /// Fail (exit 1) when a rule's condition coverage is below PERCENT (implies --coverage).
        #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
        min_coverage: Option<u8>,
        /// Only rules whose RuleID matches; `*` is a wildcard (e.g. `AWS.*`). Repeatable.
        #[arg(long = "rule", value_name = "ID")]
        rules: Vec<String>,
        /// Old form of `--output-format`: `text` is `human`, `json` is `json`.
        #[arg(long, value_enum, hide = true)]
        format: Option<TestFormat>,
        /// Also run each rule's compiled SQL on this engine, with the test events loaded as a
        /// table, and report any disagreement with the reference evaluator as a compiler bug.
        /// `sqlite` is embedded; `duckdb` needs the DuckDB binary; `none` skips this.
        #[arg(long, value_enum, default_value_t = EngineChoice::Sqlite)]
        engine: EngineChoice,
        /// The DuckDB binary for `--engine duckdb` (default: `duckdb` on PATH).
        #[arg(long, value_name = "PATH")]
        duckdb: Option<PathBuf>,
        /// The profile whose renames and column types the engine's query is compiled with:
        /// the engine runs the query `compile --profile` prints for its dialect.
        #[arg(long, value_name = "NAME|FILE", default_value = "default")]
        profile: String,
        #[command(flatten)]
        deny: Deny,
    },
    /// Compile rules to queries: one per rule, preceded by a comment line with its RuleID.
    Compile {
        /// Rule files, or directories searched recursively for *.yml / *.yaml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The query language.
        #[arg(long, value_parser = target_values(), default_value = default_target())]
        target: Target,
        /// The SQL dialect (with `--target sql`) [default: duckdb].
        #[arg(long, value_enum)]
        dialect: Option<SqlDialect>,
        // `text`, `json`, and each target's own formats (`arm`), from the registration list.
        #[arg(long, value_parser = format_values(), default_value = "text", help = format_help())]
        format: CompileFormat,
        /// Only rules whose RuleID matches; `*` is a wildcard. Repeatable.
        #[arg(long = "rule", value_name = "ID")]
        rules: Vec<String>,
        // Each target's files, from the registration list.
        #[arg(long, value_name = "DIR", help = out_help())]
        out: Option<PathBuf>,
        /// With --out: write nothing; print a diff of every file that would change, list files
        /// that would be added or are stale, and exit 1 if anything differs.
        #[arg(long, requires = "out")]
        check: bool,
        /// With --out: remove files ruleqc wrote earlier for rules that no longer exist.
        #[arg(long, requires = "out")]
        prune: bool,
        /// Where the data lives: a built-in profile (`default`, `panther` for Snowflake,
        /// `sentinel`) or a profile file (YAML; see the README).
        #[arg(long, value_name = "NAME|FILE", default_value = "default")]
        profile: String,
        #[command(flatten)]
        deny: Deny,
    },
    /// Infer each log type's columns and their types from sample logs (JSON Lines or JSON
    /// arrays, `.gz` too) and print them as a profile (YAML) to commit and pass with --profile.
    Schema {
        /// A log file to read; repeat the flag, or separate files with commas.
        #[arg(long, required = true, value_delimiter = ',', value_name = "FILE")]
        events: Vec<PathBuf>,
        /// Treat every event as this log type (e.g. `AWS.CloudTrail`).
        #[arg(long, value_name = "LOG_TYPE", conflicts_with = "log_type_field")]
        log_type: Option<String>,
        /// The top-level field that names each event's log type.
        #[arg(long, value_name = "FIELD", default_value = "p_log_type")]
        log_type_field: String,
        /// A profile file to merge into: its settings and the columns it declares are kept
        /// (its `fields:` renames apply to the events), inferred columns are added. The merged
        /// profile is printed; the file is not changed.
        #[arg(long, value_name = "FILE")]
        merge: Option<PathBuf>,
        /// Stop at the first malformed line (exit 1) instead of reporting and skipping it.
        #[arg(long)]
        strict: bool,
    },
    /// Run rules over local log files (JSON Lines or JSON arrays, `.gz` too) and report, per
    /// rule, how many events match and which.
    Run {
        /// Rule files, or directories searched recursively for *.yml / *.yaml.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A log file to read; repeat the flag, or separate files with commas.
        #[arg(long, required = true, value_delimiter = ',', value_name = "FILE")]
        events: Vec<PathBuf>,
        /// Treat every event as this log type (e.g. `AWS.CloudTrail`).
        #[arg(long, value_name = "LOG_TYPE", conflicts_with = "log_type_field")]
        log_type: Option<String>,
        /// The top-level field that names each event's log type.
        #[arg(long, value_name = "FIELD", default_value = "p_log_type")]
        log_type_field: String,
        /// `native` (the rules evaluated in process, one pass over the events on every core),
        /// `sqlite` (the compiled SQL on the embedded SQLite, the events loaded into a temporary
        /// database file), `duckdb` (the compiled SQL on the DuckDB binary, which reads the
        /// files itself) or `verify` (`native` and `sqlite`, any disagreement reported as a
        /// compiler bug).
        #[arg(long, value_enum, default_value_t = RunEngine::Native)]
        engine: RunEngine,
        /// The DuckDB binary for `--engine duckdb` (default: `duckdb` on PATH).
        #[arg(long, value_name = "PATH")]
        duckdb: Option<PathBuf>,
        /// `table`: per rule, the match count and the matching events; `jsonl`: one line per
        /// match, `{"rule_id": ..., "event": {...}}` (the rule's output fields, or the event).
        #[arg(long, value_enum, default_value_t = RunFormat::Table)]
        format: RunFormat,
        /// Stop at the first malformed line (exit 1) instead of reporting and skipping it.
        #[arg(long)]
        strict: bool,
        /// Only rules whose RuleID matches; `*` is a wildcard. Repeatable.
        #[arg(long = "rule", value_name = "ID")]
        rules: Vec<String>,
        /// A built-in profile name or a profile file: its field renames (a renamed field is
        /// read from the event key the profile maps it to) and column types apply, and the SQL
        /// engines run the very query `ruleqc compile --profile` prints.
        #[arg(long, value_name = "NAME|FILE", default_value = "default")]
        profile: String,
    },
    /// List what ruleqc supports: `targets`, SQL `dialects`, or built-in `profiles` (with
    /// the targets each can place rules for). One per line, name first.
    List {
        #[arg(value_enum)]
        what: ListWhat,
    },
    /// Print a shell completion script (e.g. `ruleqc completions bash > ~/.local/share/bash-completion/completions/ruleqc`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff), generated from these options: `ruleqc man > ruleqc.1`, or
    /// one command's page: `ruleqc man check > ruleqc-check.1`.
    Man {
        /// The command whose page to print (default: the overview).
        command: Option<String>,
    },
    /// Print an intermediate form of one rule's condition.
    Explain {
        /// One rule file.
        file: PathBuf,
        /// `ast`: the parsed condition as written; `ir`: the normalised predicate IR; `plan`:
        /// the target-neutral lowering plan; `query`: the compiled query for
        /// `--target`/`--dialect`.
        #[arg(long, value_enum, default_value_t = Stage::Ir)]
        stage: Stage,
        /// The query language (with `--stage query`) [default: sql].
        #[arg(long, value_parser = target_values())]
        target: Option<Target>,
        /// The SQL dialect (with `--stage query --target sql`) [default: duckdb].
        #[arg(long, value_enum)]
        dialect: Option<SqlDialect>,
        /// A built-in profile name or a profile file (with `--stage query`) [default: default].
        #[arg(long, value_name = "NAME|FILE")]
        profile: Option<String>,
    },
}

/// `--deny warnings`, for `check`, `compile` and `test`.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct Deny {
    /// `warnings`: exit 1 when any warning was reported (for CI). Without it, warnings are
    /// printed but never change the exit status.
    #[arg(long = "deny", value_enum, value_name = "WHAT")]
    pub deny: Option<DenyWhat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DenyWhat {
    /// Every warning (`W....` codes) is a failure.
    Warnings,
}

/// `--min-tests`, for `check` and `test`.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct MinTests {
    /// Rules with fewer than N tests are errors. Without it, a rule with no tests is a warning.
    #[arg(long, value_name = "N")]
    pub min_tests: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListWhat {
    Targets,
    Dialects,
    Profiles,
}

/// A `check --target` value: one registered target, or `all` of them.
#[derive(Clone, Copy, Debug)]
pub struct CheckTarget(Option<Target>);

impl CheckTarget {
    /// `None` for `all`.
    pub fn target(self) -> Option<Target> {
        self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    Human,
    Short,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Source line and caret, and plain-text results.
    Human,
    /// One line per diagnostic: `file:line:col: error[CODE]: message`.
    Short,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=...`), which annotate the pull request.
    Github,
    /// A SARIF 2.1.0 log on stdout, for code scanning.
    Sarif,
    /// JUnit XML test results on stdout (`test` only).
    Junit,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Human => "human",
            OutputFormat::Short => "short",
            OutputFormat::Json => "json",
            OutputFormat::Github => "github",
            OutputFormat::Sarif => "sarif",
            OutputFormat::Junit => "junit",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileFormat {
    Text,
    Json,
    /// A format of a target's packaging (`arm`): its one file, printed or, with `--out`,
    /// written.
    Packaged(&'static str),
}

/// `compile --format`'s values: `text`, `json`, then every format a target's packaging offers.
fn format_values() -> impl TypedValueParser<Value = CompileFormat> {
    let own: Vec<&'static str> = crate::compile::TARGETS
        .iter()
        .flat_map(|t| t.packaging().formats())
        .map(|f| f.name)
        .collect();
    let mut names = vec!["text", "json"];
    for n in &own {
        if !names.contains(n) {
            names.push(n);
        }
    }
    PossibleValuesParser::new(names).map(move |name| match name.as_str() {
        "text" => CompileFormat::Text,
        "json" => CompileFormat::Json,
        other => CompileFormat::Packaged(
            own.iter()
                .copied()
                .find(|n| *n == other)
                .expect("one of the possible values"),
        ),
    })
}

/// `compile --format`'s help: the two query forms, then each target's own formats.
fn format_help() -> String {
    let mut help = "`text`: the queries; `json`: `[{rule_id, target, dialect, query}]`".to_string();
    for t in crate::compile::TARGETS {
        for f in t.packaging().formats() {
            help.push_str(&format!(
                "; `{}` (with `--target {}`): {}",
                f.name,
                t.name(),
                f.about
            ));
        }
    }
    help
}

/// `compile --out`'s help: the files each target writes.
fn out_help() -> String {
    let files: Vec<String> = crate::compile::TARGETS
        .iter()
        .map(|t| format!("{} ({})", t.packaging().files(), t.name()))
        .collect();
    format!(
        "Write the deployable artifacts into DIR: {}. Files are replaced atomically; files \
         ruleqc did not write are never touched",
        files.join(", ")
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// The parsed condition, with byte spans.
    Ast,
    /// The normalised predicate IR (`not` pushed to the tests).
    Ir,
    /// The target-neutral lowering plan for the column types the rule implies: where each
    /// value is read, the typed test, folded constants and quantifier shapes.
    Plan,
    /// The query for `--target` (and `--dialect`, `--profile`).
    Query,
    /// The schema of the rule's log types, resolved from the profile (`--profile`), the test
    /// events and the rule, with where each column's type came from.
    Schema,
}

/// A `--target` value: one of the library's registered targets.
pub type Target = &'static dyn crate::compile::Backend;

/// `--target`'s accepted values, from the registration list: each target's name and its
/// sentence.
fn target_values() -> impl TypedValueParser<Value = Target> {
    let values = crate::compile::TARGETS
        .iter()
        .map(|t| PossibleValue::new(t.name()).help(t.about()));
    PossibleValuesParser::new(values)
        .map(|name| crate::compile::backend_named(&name).expect("one of the possible values"))
}

/// The target `compile` writes without `--target`: the first registered one.
pub fn default_target() -> &'static str {
    crate::compile::TARGETS[0].name()
}

/// `check --target`'s values: every registered target, then `all`.
fn check_target_values() -> impl TypedValueParser<Value = CheckTarget> {
    let targets = crate::compile::TARGETS;
    let titles: Vec<String> = targets
        .iter()
        .map(|t| match t.has_dialects() {
            true => format!("{} dialect", t.title()),
            false => t.title().to_string(),
        })
        .collect();
    let every = match titles.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    let values = targets
        .iter()
        .map(|t| PossibleValue::new(t.name()))
        .chain([PossibleValue::new("all").help(format!("Every {every}"))]);
    PossibleValuesParser::new(values).map(|name| CheckTarget(crate::compile::backend_named(&name)))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunEngine {
    Native,
    Sqlite,
    Duckdb,
    Verify,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    Table,
    Jsonl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Sqlite,
    Duckdb,
    None,
}

#[cfg(test)]
mod target_values_tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    fn values(sub: &str, arg: &str) -> Vec<String> {
        let cmd = Cli::command();
        let sub = cmd.find_subcommand(sub).expect("subcommand");
        let arg = sub
            .get_arguments()
            .find(|a| a.get_id() == arg)
            .expect("argument");
        arg.get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect()
    }

    #[test]
    fn target_values_are_the_registration_list() {
        Cli::command().debug_assert();
        let names: Vec<String> = crate::compile::TARGETS
            .iter()
            .map(|t| t.name().to_string())
            .collect();
        assert_eq!(values("compile", "target"), names);
        assert_eq!(values("explain", "target"), names);
        let mut all = names.clone();
        all.push("all".into());
        assert_eq!(values("check", "target"), all);
    }

    #[test]
    fn format_values_are_text_json_and_every_packaging_format() {
        let mut want = vec!["text".to_string(), "json".to_string()];
        for t in crate::compile::TARGETS {
            want.extend(t.packaging().formats().iter().map(|f| f.name.to_string()));
        }
        assert_eq!(values("compile", "format"), want);
    }

    #[test]
    fn a_value_parses_to_its_target() {
        for t in crate::compile::TARGETS {
            let cli = Cli::try_parse_from(["ruleqc", "compile", "x.yml", "--target", t.name()])
                .expect("parses");
            let super::Command::Compile { target, .. } = cli.command else {
                panic!("compile")
            };
            assert_eq!(target.name(), t.name());
        }
        let cli = Cli::try_parse_from(["ruleqc", "check", "x.yml", "--target", "all"]).unwrap();
        let super::Command::Check { target, .. } = cli.command else {
            panic!("check")
        };
        assert!(target[0].target().is_none());
    }
}
