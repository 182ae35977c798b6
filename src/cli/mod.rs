//! The command line: parse arguments, call the stage, hand the result to `output`. Each
//! command is one file; none of them prints directly.

mod apply;
pub mod args;
mod completions;
pub mod exit;
mod plan;
mod render;
mod report;
mod sandbox;
mod schema;
mod state;
mod state_open;
mod status;
mod validate;

use std::path::PathBuf;

use clap::Parser;

pub use args::Cli;
use args::Command;
pub use exit::Exit;

use crate::output::Output;
use crate::spec::workspace::LoadOptions;

/// What every command gets.
pub struct Context {
    pub global: args::Global,
    pub out: Output,
    /// The working directory (`-C DIR` or the process's).
    pub dir: PathBuf,
}

impl Context {
    /// The async runtime of a command that talks to the network; `None` (the reason printed)
    /// when it cannot start.
    pub fn runtime(&self) -> Option<tokio::runtime::Runtime> {
        match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => Some(rt),
            Err(e) => {
                self.out
                    .error(&format!("error: cannot start the async runtime: {e}\n"));
                None
            }
        }
    }

    /// Load options for the given spec paths.
    pub fn load_options(&self, paths: &[PathBuf]) -> LoadOptions {
        LoadOptions {
            dir: self.dir.clone(),
            paths: paths.to_vec(),
            vars: self.global.vars.clone(),
            var_files: self.global.var_files.clone(),
        }
    }
}

/// Runs the program with the process's arguments.
pub fn main() -> std::process::ExitCode {
    run(std::env::args_os()).into()
}

/// Runs the program with `args`; returns the exit code.
pub fn run<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors; the contract says 1. Help and version are not errors.
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Exit::Ok,
                _ => Exit::Error,
            };
        }
    };
    let out = Output::new(cli.global.format, cli.global.color, cli.global.quiet);
    init_logging(cli.global.verbose);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let dir = match &cli.global.dir {
        Some(d) if d.is_dir() => cwd.join(d),
        Some(d) => {
            out.error(&format!("error: -C {}: no such directory\n", d.display()));
            return Exit::Error;
        }
        None => cwd,
    };
    let cx = Context {
        global: cli.global,
        out,
        dir,
    };
    match cli.command {
        Command::Validate(a) => validate::run(&cx, &a.paths),
        Command::Render(a) => render::run(&cx, &a.paths),
        Command::Schema(a) => schema::run(&cx, &a),
        Command::Completions(a) => completions::run(&cx, a.shell),
        Command::Man => completions::man(&cx),
        Command::Plan(a) => plan::run(&cx, &a),
        Command::State(c) => state::run(&cx, &c),
        Command::Sandbox(a) => sandbox::run(&cx, &a),
        Command::Report(a) => report::run(&cx, &a),
        Command::Apply(a) => apply::run(&cx, &a),
        Command::Status(a) => status::run(&cx, &a),
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BULKSPEC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("bulkspec={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
