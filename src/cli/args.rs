//! The command-line interface (DESIGN.md "Command line"), as clap types. The whole tree is
//! fixed here; each command's behaviour lives in its own file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::{ColorChoice, Format};

/// Declarative runner for bulk-import jobs into marketing and consent platforms.
#[derive(Debug, Parser)]
#[command(name = "bulkspec", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Set a template variable (`{{ vars.KEY }}`); repeatable. VALUE is read as a YAML scalar.
    #[arg(long = "var", global = true, value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Read template variables from a YAML file; repeatable, later files win.
    #[arg(long = "var-file", global = true, value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More logging (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colors (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check spec files: YAML, templates, schema and semantic rules.
    Validate(PathsArgs),
    /// Print the rendered specs.
    Render(PathsArgs),
    /// Show what an apply would change, without changing anything.
    Plan(PlanArgs),
    /// Apply the changes, step by step and resumably.
    Apply(ApplyArgs),
    /// Show the state and the live status of in-flight remote jobs.
    Status(JobsArgs),
    /// Write the rejected records of a job's last apply as CSV.
    Report(ReportArgs),
    /// Inspect and repair the state.
    #[command(subcommand)]
    State(StateCommand),
    /// Write or check the JSON Schema of spec and project files.
    Schema(SchemaArgs),
    /// Run the local emulator of the four APIs.
    Sandbox(SandboxArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Spec files or folders (default: the project's spec folder, `specs/`).
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    /// Save the plan to FILE for `apply --plan`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing would change, 2 when something would.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Show record values (personal data) in the plan.
    #[arg(long)]
    pub show_values: bool,
    /// Replace record keys by a short hash in every output.
    #[arg(long)]
    pub mask_keys: bool,
    /// Allow destructive effects for this run.
    #[arg(long)]
    pub allow_destructive: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub paths: PathsArgs,
    /// Apply exactly this saved plan (refused with exit 5 when it is stale).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow destructive effects for this run.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Replace record keys by a short hash in every output.
    #[arg(long)]
    pub mask_keys: bool,
    /// Jobs applied at the same time (independent ones; a job waits for those it depends
    /// on). Remote jobs stay under each API's concurrency cap across all of them.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Jobs (default: all).
    pub jobs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The job.
    pub job: String,
    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the jobs in the state.
    List,
    /// Show one job's state.
    Show { job: String },
    /// Release a job's lock by hand.
    Unlock {
        job: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Forget a job.
    Rm {
        job: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the spec schema to FILE (the project-file schema goes beside it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 1 when the checked-in schemas under schema/ are stale.
    #[arg(long)]
    pub check: bool,
    /// Print the spec reference (Markdown) generated from the schema.
    #[arg(long, conflicts_with_all = ["out", "check"])]
    pub reference: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Keep the emulated accounts in DIR across restarts.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Refuse unknown programs, contacts and collections as the real services do.
    #[arg(long)]
    pub strict: bool,
    /// Seed the emulated accounts from a JSON file (the body of POST /_sandbox/seed).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// How long an asynchronous job takes to finish.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = humantime::parse_duration)]
    pub processing_time: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}
