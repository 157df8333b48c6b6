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
    let out = Output::new(&cli);
    let code = match &cli.command {
        Command::Check { paths } => check::run(&out, paths),
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
    written(std::io::stdout().flush());
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
            written(writeln!(
                err,
                "{}",
                diag::render(d, &loaded.file.path, &loaded.file.text, self.style)
            ));
            if self.style != Style::Short {
                written(writeln!(err));
            }
        }
        diags.len()
    }

    /// A diagnostic that belongs to a rule file but no position in it.
    fn report_one(&self, path: &str, text: &str, d: &crate::diag::Diagnostic) {
        errln!("{}", diag::render(d, path, text, self.style));
        if self.style != Style::Short {
            errln!();
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
        errln!("error: {message}");
        EXIT_USAGE
    }
}
