//! The `ruleqc` command line: parse arguments, run a subcommand, return the exit status.

pub mod args;
mod check;
mod compile;
mod explain;
mod run;
mod test;

use std::io::{IsTerminal, Write};

use clap::Parser as _;

use crate::diag::{self, Style};
use crate::rule::Loaded;
pub use args::Cli;
use args::{ColorChoice, Command, ErrorFormat};

/// All good.
pub const EXIT_OK: i32 = 0;
/// A rule has errors or a test failed.
pub const EXIT_FINDINGS: i32 = 1;
/// Usage or I/O error.
pub const EXIT_USAGE: i32 = 2;

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
    let out = Output::new(&cli);
    let code = match &cli.command {
        Command::Check {
            paths,
            target,
            profile,
        } => check::run(&out, paths, *target, profile),
        Command::Test {
            paths,
            rules,
            format,
            engine,
            duckdb,
        } => test::run(&out, paths, rules, *format, *engine, duckdb.as_deref()),
        Command::Compile { .. } => compile::run(&out, &cli.command),
        Command::Run { .. } => run::run(&out, &cli.command),
        Command::Explain {
            file,
            stage,
            target,
            dialect,
            profile,
        } => explain::run(&out, file, *stage, *target, *dialect, profile),
    };
    let _ = std::io::stdout().flush();
    code
}

/// Where and how results and diagnostics are printed.
pub struct Output {
    style: Style,
}

impl Output {
    fn new(cli: &Cli) -> Self {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let style = match (cli.error_format, color) {
            (ErrorFormat::Short, _) => Style::Short,
            (ErrorFormat::Human, true) => Style::Color,
            (ErrorFormat::Human, false) => Style::Human,
        };
        Output { style }
    }

    /// Prints a file's diagnostics to stderr; returns how many there were.
    fn report(&self, loaded: &Loaded) -> usize {
        let Err(diags) = &loaded.result else {
            return 0;
        };
        let mut err = std::io::stderr().lock();
        for d in diags {
            let _ = writeln!(
                err,
                "{}",
                diag::render(d, &loaded.file.path, &loaded.file.text, self.style)
            );
            if self.style != Style::Short {
                let _ = writeln!(err);
            }
        }
        diags.len()
    }

    /// A diagnostic that belongs to a rule file but no position in it.
    fn report_one(&self, path: &str, text: &str, d: &crate::diag::Diagnostic) {
        eprintln!("{}", diag::render(d, path, text, self.style));
        if self.style != Style::Short {
            eprintln!();
        }
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
                Err(EXIT_FINDINGS)
            }
        }
    }

    /// An I/O or usage problem, not tied to a rule.
    fn fatal(&self, message: &str) -> i32 {
        eprintln!("error: {message}");
        EXIT_USAGE
    }
}
