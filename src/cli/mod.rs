//! The `ruleqc` command line: parse arguments, run a subcommand, return the exit status.

/// Writes to stdout; a closed pipe ends the process quietly ([`EXIT_CLOSED_PIPE`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::written(std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!($($arg)*)))
    };
}
/// `out!` with a newline.
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => { out!("{}\n", format_args!($($arg)*)) };
}
/// Writes to stderr; a closed pipe ends the process quietly.
macro_rules! errln {
    () => {
        $crate::cli::written(std::io::Write::write_all(&mut std::io::stderr().lock(), b"\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::written(std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!("{}\n", format_args!($($arg)*))))
    };
}

pub mod args;
mod check;
mod compile;
mod explain;
mod report;
mod run;
mod schema;
mod test;

use std::io::{IsTerminal, Write};

use clap::Parser as _;

use crate::diag::{self, Style};
use crate::rule::Loaded;
pub use args::Cli;
use args::{ColorChoice, Command, ErrorFormat, OutputFormat};

/// All good.
pub const EXIT_OK: i32 = 0;
/// A rule has errors or a test failed.
pub const EXIT_FINDINGS: i32 = 1;
/// Usage or I/O error.
pub const EXIT_USAGE: i32 = 2;
/// The reader of stdout or stderr went away (`ruleqc ... | head -1`): the status a process
/// killed by SIGPIPE reports, which is what other Unix tools give in that case.
pub const EXIT_CLOSED_PIPE: i32 = 128 + 13;

/// Runs the command line; returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let mut out = Output::new(&cli);
    if let Err(m) = crate::par::threads_setting() {
        return out.fatal(&m);
    }
    let machine = !matches!(out.format, OutputFormat::Human | OutputFormat::Short);
    let code = match &cli.command {
        Command::Check {
            paths,
            target,
            dialect,
            profile,
            tests,
            ..
        } => {
            let targets: Vec<_> = target.iter().map(|t| t.target()).collect();
            let opts = check::CheckOptions {
                targets: &targets,
                dialects: dialect,
                profile: profile.as_deref(),
                min_tests: tests.min_tests,
            };
            check::run(&out, paths, &opts)
        }
        Command::Test {
            paths,
            tests,
            coverage,
            min_coverage,
            rules,
            format,
            engine,
            duckdb,
            profile,
            ..
        } => {
            match (format, out.format) {
                (None, _) => {}
                (Some(args::TestFormat::Json), OutputFormat::Human) => {
                    out.format = OutputFormat::Json
                }
                (Some(args::TestFormat::Text), OutputFormat::Human) => {}
                (Some(f), o) => {
                    return out.fatal(&format!(
                        "--format {} and --output-format {} both say how to print; keep --output-format",
                        if *f == args::TestFormat::Json { "json" } else { "text" },
                        o.name()
                    ));
                }
            }
            if duckdb.is_some() && *engine != args::EngineChoice::Duckdb {
                return out.fatal("--duckdb is for --engine duckdb");
            }
            let opts = test::TestOptions {
                filters: rules,
                engine: *engine,
                duckdb: duckdb.as_deref(),
                min_tests: tests.min_tests,
                coverage: *coverage,
                min_coverage: *min_coverage,
                profile,
            };
            test::run(&out, paths, &opts)
        }
        Command::Compile { .. } => compile::run(&out, &cli.command),
        Command::Run { .. }
        | Command::Schema { .. }
        | Command::Explain { .. }
        | Command::List { .. }
        | Command::Completions { .. }
        | Command::Man { .. }
            if machine =>
        {
            out.fatal(&format!(
                "--output-format {} is for check, test and compile",
                out.format.name()
            ))
        }
        Command::Run { .. } => run::run(&out, &cli.command),
        Command::Schema { .. } => schema::run(&out, &cli.command),
        Command::List { what } => list(*what),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "ruleqc", &mut buf);
            written(std::io::stdout().lock().write_all(&buf));
            EXIT_OK
        }
        Command::Man { command } => {
            let mut root = <Cli as clap::CommandFactory>::command();
            let page = match command {
                None => root,
                Some(name) => {
                    // Built, so that the global options appear on each command's page.
                    root.build();
                    match root.find_subcommand(name) {
                        Some(sub) => sub
                            .clone()
                            .display_name(format!("ruleqc-{name}"))
                            .bin_name(format!("ruleqc {name}"))
                            .version(env!("CARGO_PKG_VERSION")),
                        None => return out.fatal(&format!("no command `{name}`")),
                    }
                }
            };
            let mut buf = Vec::new();
            match clap_mangen::Man::new(page).render(&mut buf) {
                Ok(()) => {
                    written(std::io::stdout().lock().write_all(&buf));
                    EXIT_OK
                }
                Err(e) => out.fatal(&format!("rendering the manual page: {e}")),
            }
        }
        Command::Explain {
            file,
            stage,
            target,
            dialect,
            profile,
        } => explain::run(&out, file, *stage, *target, *dialect, profile.as_deref()),
    };
    written(std::io::stdout().flush());
    let deny = match &cli.command {
        Command::Check { deny, .. }
        | Command::Test { deny, .. }
        | Command::Compile { deny, .. } => deny.deny.is_some(),
        _ => false,
    };
    let warnings = out.warnings.get();
    if deny && code == EXIT_OK && warnings > 0 {
        errln!(
            "error: {warnings} warning{} and --deny warnings",
            if warnings == 1 { "" } else { "s" }
        );
        return EXIT_FINDINGS;
    }
    code
}

/// The outcome of a write to stdout or stderr: a reader that went away ends the process
/// quietly; any other error (a full disk) ends it with a message and status 2, since the output
/// is incomplete.
pub fn written(r: std::io::Result<()>) {
    match r {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(EXIT_CLOSED_PIPE)
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: writing the output: {e}");
            std::process::exit(EXIT_USAGE)
        }
    }
}

/// Leaves the rule set (and what was built from it) to the end of the process instead of
/// freeing it: the command has printed everything, and freeing ten thousand rules one
/// allocation at a time measured 4% of `compile`'s CPU time, all of it on one core.
fn leave<T>(set: T) {
    std::mem::forget(set);
}

/// A diagnostic whose file could not be read back (`Loaded::text`): without its position,
/// which would point into a text that is no longer the one the rule was loaded from, and
/// saying why.
fn unplaced(d: &crate::diag::Diagnostic, why: &str) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic {
        span: None,
        label: None,
        help: Some(match &d.help {
            Some(h) => format!("{h}\nnote: {why}"),
            None => format!("note: {why}"),
        }),
        ..d.clone()
    }
}

/// What a command that runs no tests keeps of each loaded rule under `profile`: no test
/// events (their shapes instead) unless `events` (artifacts that embed them are built) or
/// the profile renames fields or declares column types (schema resolution then reads values:
/// to move them, or to report one that contradicts a declared type); never the file's text.
fn keep_for(profile: &crate::profile::Profile, events: bool) -> crate::rule::Keep {
    let sql = profile.sql.iter().map(|s| (&s.renames, &s.log_types));
    let kql = profile.kql.iter().map(|s| (&s.renames, &s.log_types));
    let values = sql
        .chain(kql)
        .any(|(renames, lts)| !renames.is_empty() || lts.values().any(|e| !e.columns.is_empty()));
    crate::rule::Keep {
        events: events || values,
        text: false,
        pack: true,
    }
}

/// With `--rule` filters that select no loaded rule: the usage error to report. A filter that
/// matches nothing would otherwise make a run (or a `--check` gate) pass vacuously.
fn no_rule_matches(filters: &[String], loaded: &[Loaded]) -> Option<String> {
    let any = loaded.iter().filter_map(|l| l.head()).any(|r| {
        filters
            .iter()
            .any(|f| crate::testing::glob_match(f, &r.rule_id))
    });
    (!filters.is_empty() && !any).then(|| {
        let quoted: Vec<String> = filters.iter().map(|f| format!("`{f}`")).collect();
        format!("no rule matches --rule {}", quoted.join(", "))
    })
}

/// `ruleqc list`.
fn list(what: args::ListWhat) -> i32 {
    match what {
        args::ListWhat::Targets => {
            for t in crate::compile::TARGETS {
                outln!("{:<8} {}", t.name(), t.about());
            }
        }
        args::ListWhat::Dialects => {
            for d in args::SqlDialect::ALL {
                outln!("{}", d.name());
            }
        }
        args::ListWhat::Profiles => {
            for name in crate::profile::BUILT_IN {
                let Some(p) = crate::profile::Profile::built_in(name) else {
                    continue;
                };
                let places: Vec<String> = crate::compile::TARGETS
                    .iter()
                    .filter_map(|t| t.places(&p))
                    .collect();
                outln!("{name:<8} {}", places.join(", "));
            }
        }
    }
    EXIT_OK
}

/// Where and how results and diagnostics are printed.
pub struct Output {
    style: Style,
    pub format: OutputFormat,
    pub quiet: bool,
    pub discovery: crate::rule::Discovery,
    findings: std::cell::RefCell<Vec<report::Finding>>,
    /// Warnings reported so far (for `--deny warnings`).
    warnings: std::cell::Cell<usize>,
}

impl Output {
    fn new(cli: &Cli) -> Self {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // no-color.org: set and not empty.
            ColorChoice::Auto => {
                std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let format = match cli.error_format {
            Some(ErrorFormat::Short) => OutputFormat::Short,
            Some(ErrorFormat::Human) => OutputFormat::Human,
            None => cli.output_format,
        };
        let style = match (format, color) {
            (OutputFormat::Short, _) => Style::Short,
            (_, true) => Style::Color,
            (_, false) => Style::Human,
        };
        Output {
            style,
            format,
            quiet: cli.quiet,
            discovery: crate::rule::Discovery {
                exclude: cli.exclude.clone(),
                sigma_profile: cli.sigma_profile.clone(),
            },
            findings: Default::default(),
            warnings: Default::default(),
        }
    }

    /// Loads the rule files under `paths` (with `--exclude`); `Err` is the exit status of an
    /// I/O or usage error, already printed.
    fn load(&self, paths: &[std::path::PathBuf]) -> Result<crate::rule::LoadedSet, i32> {
        self.load_keeping(paths, crate::rule::Keep::ALL)
    }

    /// `load`, each loaded rule keeping what `keep` says.
    fn load_keeping(
        &self,
        paths: &[std::path::PathBuf],
        keep: crate::rule::Keep,
    ) -> Result<crate::rule::LoadedSet, i32> {
        crate::rule::load_paths_keeping(paths, &self.discovery, keep).map_err(|e| self.fatal(&e))
    }

    /// Reports a file's diagnostics; returns how many there were.
    fn report(&self, loaded: &Loaded) -> usize {
        let Err(diags) = &loaded.result else {
            return 0;
        };
        for d in diags {
            self.report_loaded(loaded, d);
        }
        diags.len()
    }

    /// `report_one` for a diagnostic of a loaded file, in its text (`Loaded::text`: read
    /// back when it was not kept); without its position when the text cannot be had.
    fn report_loaded(&self, loaded: &Loaded, d: &crate::diag::Diagnostic) {
        match loaded.text() {
            Ok(text) => self.report_one(&loaded.file.path, &text, d),
            Err(why) => self.report_one(&loaded.file.path, "", &unplaced(d, &why)),
        }
    }

    /// Reports one diagnostic of a rule file: rendered on stderr (`human`, `short`), as a
    /// workflow command on stderr (`github`, which the runner reads there too), or kept for the
    /// document printed at the end.
    fn report_one(&self, path: &str, text: &str, d: &crate::diag::Diagnostic) {
        if d.severity == crate::diag::Severity::Warning {
            self.warnings.set(self.warnings.get() + 1);
        }
        match self.format {
            OutputFormat::Human | OutputFormat::Short => {
                errln!("{}", diag::render(d, path, text, self.style));
                if self.style != Style::Short {
                    errln!();
                }
            }
            _ => self.finding(report::Finding::from_diagnostic(d, path, text)),
        }
    }

    /// `report_one` for each of `diags` (a file's path and text, and a diagnostic), in order;
    /// on stderr the diagnostics are rendered on all cores first.
    fn report_all(&self, diags: &[(&str, &str, &crate::diag::Diagnostic)]) {
        if !matches!(self.format, OutputFormat::Human | OutputFormat::Short) {
            for (path, text, d) in diags {
                self.report_one(path, text, d);
            }
            return;
        }
        let style = self.style;
        // A window at a time, so that the rendered text does not pile up; each window is
        // written at once (the bytes `report_one` writes, in fewer writes).
        for window in diags.chunks(1024) {
            let rendered = crate::par::map(window.iter().collect(), |(path, text, d)| {
                diag::render(d, path, text, style)
            });
            let mut all = String::new();
            for ((_, _, d), r) in window.iter().zip(rendered) {
                if d.severity == crate::diag::Severity::Warning {
                    self.warnings.set(self.warnings.get() + 1);
                }
                all.push_str(&r);
                all.push('\n');
                if style != Style::Short {
                    all.push('\n');
                }
            }
            written(std::io::stderr().lock().write_all(all.as_bytes()));
        }
    }

    /// Reports a finding that is not a diagnostic of the rule file (a failed test, a rule
    /// without tests) in the machine formats; `human` and `short` print their own lines.
    fn finding(&self, f: report::Finding) {
        match self.format {
            OutputFormat::Github => errln!("{}", f.github()),
            OutputFormat::Human | OutputFormat::Short => {}
            _ => self.findings.borrow_mut().push(f),
        }
    }

    /// The findings kept for the document printed at the end.
    fn take_findings(&self) -> Vec<report::Finding> {
        std::mem::take(&mut self.findings.borrow_mut())
    }

    /// Whether the command's human-readable lines (results, summaries) go to stdout.
    fn human(&self) -> bool {
        matches!(
            self.format,
            OutputFormat::Human | OutputFormat::Short | OutputFormat::Github
        )
    }

    /// Loads `--profile`, printing its problems; `Err` carries the exit status.
    fn profile(&self, arg: &str) -> Result<crate::profile::Profile, i32> {
        match crate::profile::Profile::load(arg) {
            Ok(p) => Ok(p),
            Err(crate::profile::ProfileError::Io(m)) => Err(self.fatal(&m)),
            Err(crate::profile::ProfileError::Invalid {
                path,
                text,
                diagnostics,
            }) => {
                for d in &diagnostics {
                    self.report_one(&path, &text, d);
                }
                // The run stops here: a JSON or SARIF reader still gets its document.
                let findings = self.take_findings();
                match self.format {
                    OutputFormat::Json => {
                        let doc = serde_json::json!({
                            "diagnostics": findings.iter().map(report::Finding::json).collect::<Vec<_>>(),
                        });
                        outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
                    }
                    OutputFormat::Sarif => {
                        let doc = report::sarif(&findings);
                        outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
                    }
                    _ => {}
                }
                Err(EXIT_FINDINGS)
            }
        }
    }

    /// An I/O or usage problem, not tied to a rule.
    fn fatal(&self, message: &str) -> i32 {
        errln!("error: {message}");
        EXIT_USAGE
    }
}
