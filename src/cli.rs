//! The command line: one definition that `--help` and the man page test both read.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Shown after `--help`: what the exit status means (the man page has the same list).
const AFTER_HELP: &str = "\
Exit status:
  0   ran cleanly: N handled, timeout reached (empty queue included), or stopped by a signal
  1   internal error
  2   usage error
  69  NSQ or Aerospike could not be reached at start
  75  some messages could not be stored and went back to NSQ, or NSQ was lost mid-run
  78  configuration or schema error (the message names the key)

See x-msrv(1) for every configuration key.";

/// Moves at most N JSON messages from NSQ into Aerospike, then exits.
///
/// Meant to be started by the x-msrv.timer systemd timer every M seconds. Each run
/// subscribes to the configured topic/channel, validates each message against a JSON
/// Schema, stores it in Aerospike and only then finishes it in NSQ. Invalid messages are
/// kept with the reason in the rejected set; nothing is dropped.
#[derive(Debug, Parser)]
#[command(name = "x-msrv", version, about, long_about, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Configuration file (.toml, .yaml, .yml or .json) [default: the first of
    /// /etc/x-msrv/x-msrv.{toml,yaml,yml,json}]
    #[arg(
        short = 'c',
        long = "config",
        alias = "cfg",
        value_name = "PATH",
        global = true
    )]
    pub config: Option<PathBuf>,

    /// More log output (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// After a run, also print its summary as one JSON object on stdout (for scripts)
    #[arg(long = "summary-json", global = true)]
    pub summary_json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `run` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take up to N messages from NSQ, store them, exit (the default)
    Run,
    /// Check the configuration and the schema, and that NSQ and Aerospike answer
    Check,
    /// List records stored in Aerospike (the message set, or the rejected set)
    Records(RecordsArgs),
    /// systemd generator: write the timer's period drop-in from the configuration
    #[command(name = "systemd-generator", hide = true)]
    SystemdGenerator(GeneratorArgs),
}

/// Options of `x-msrv records`.
#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// List the rejected (invalid) messages instead of the stored ones
    #[arg(long)]
    pub rejected: bool,
    /// Show at most this many records
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// One JSON object per line instead of the readable listing
    #[arg(long)]
    pub json: bool,
}

/// The arguments systemd passes to a generator (see systemd.generator(7)).
#[derive(Debug, Args)]
pub struct GeneratorArgs {
    /// Directory for generated units of normal priority
    pub normal_dir: PathBuf,
    /// Directory for early (overriding) units; unused
    pub early_dir: Option<PathBuf>,
    /// Directory for late units; unused
    pub late_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cfg_is_an_alias_of_config() {
        let cli = Cli::try_parse_from(["x-msrv", "--cfg", "/tmp/a.toml", "check"]).unwrap();
        assert_eq!(
            cli.config.as_deref(),
            Some(std::path::Path::new("/tmp/a.toml"))
        );
        assert!(matches!(cli.command, Some(Command::Check)));
    }

    #[test]
    fn no_subcommand_means_run() {
        let cli = Cli::try_parse_from(["x-msrv", "-c", "x.toml"]).unwrap();
        assert!(cli.command.is_none());
    }
}
