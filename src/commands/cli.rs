//! The command line: one definition that `--help` and the man page test both read.
//!
//! Just over 500 lines with its tests: every subcommand's flags and help text live in
//! this one definition on purpose, since the man page, the README test and the shell
//! completions all read it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Instance, InstanceError, Location};

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Shown after `--help`: what the exit status means (the man page has the same list).
const AFTER_HELP: &str = "\
Exit status:
  0   ran cleanly: N handled, timeout reached (empty queue included), or stopped by a signal
  1   internal error
  2   usage error
  69  NSQ or Aerospike could not be reached at start
  75  some messages could not be stored and went back to NSQ, or NSQ was lost mid-run
  78  configuration or schema error (the message names the key)
  65  check --message: at least one message would be rejected
  66  records --key, rejected show: no such record; check --message: a file cannot be read
  130 rejected redrive/purge stopped by SIGINT/SIGTERM (see x-msrv rejected --help)
  status (a Nagios/Icinga plugin): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN

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

    /// Run as instance NAME, one of several consumers on this host (the template units
    /// x-msrv@NAME.timer and x-msrv-serve@NAME.service pass it): the configuration is
    /// /etc/x-msrv/NAME.{toml,yaml,yml,json} unless --config is given, the state
    /// directory /var/lib/x-msrv/NAME unless state-directory or $STATE_DIRECTORY is set,
    /// and the metrics carry the label consumer="NAME" [NAME: 1-64 of A-Z a-z 0-9 - _]
    #[arg(long = "instance", value_name = "NAME", global = true, value_parser = parse_instance)]
    pub instance: Option<Instance>,

    /// More log output (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// After a run (each batch of `serve`), also print its summary as one JSON object on
    /// stdout (for scripts)
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
    /// Long-lived: a batch of up to N every nsq.period, connections kept, until SIGTERM
    ///
    /// Each batch is what a run is: at most N messages, the same summary line (`batch
    /// finished: ...`) and metrics; between batches RDY is 0, so nothing is held in
    /// flight. Connections lost (an nsqd gone, Aerospike failing) are made anew, with
    /// backoff. Under systemd (x-msrv-serve.service, Type=notify) it reports readiness,
    /// its status and watchdog pings. Exits 0 once stopped by SIGTERM/SIGINT.
    Serve,
    /// Check the configuration and the schema, and that NSQ and Aerospike answer; with
    /// --message, what messages would become (no server needed)
    ///
    /// With --message, nothing connects: each message goes through the record stage of
    /// the configuration (schema, key, layout, set and TTL routing, version rule), and
    /// the record it would be written as (key, set, TTL, bins) or the reason it would be
    /// rejected is printed. Exit status 65 when any would be rejected, 66 when a file
    /// cannot be read.
    Check(CheckArgs),
    /// List records stored in Aerospike (the message set, or the rejected set), or read
    /// one by its key
    Records(RecordsArgs),
    /// The rejected messages as a dead-letter queue: list, show, redrive, purge
    #[command(subcommand, after_long_help = REJECTED_AFTER_HELP)]
    Rejected(RejectedCommand),
    /// Nagios/Icinga plugin: when the last run succeeded, what it did, the backlog
    ///
    /// One line, `X-MSRV OK - ... | perfdata`; exit status 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN (no run recorded yet, or the configuration cannot be read). It only
    /// reads the configuration, the state directory's metrics.json and nsqd's /stats.
    Status(StatusArgs),
    /// systemd generator: write the timer's period drop-in from the configuration
    #[command(name = "systemd-generator", hide = true)]
    SystemdGenerator(GeneratorArgs),
    /// Print the completion script for bash, zsh or fish on stdout
    ///
    /// The packages install these at build time; hidden, as an operator of an installed
    /// package never needs it (x-msrv(1) documents it for other installs).
    #[command(hide = true)]
    Completions(CompletionsArgs),
}

/// The shells whose completion scripts the packages install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// Options of `x-msrv completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Options of `x-msrv check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Check messages instead of the servers: FILE holds one message (its whole content,
    /// pretty-printed or not, as a producer would publish the file); `-` reads one
    /// message per line from standard input (blank lines skipped). Repeatable
    #[arg(long, value_name = "FILE|-")]
    pub message: Vec<PathBuf>,
    /// With --message: one JSON object per message (fields: message, outcome ("record"
    /// or "rejected"), key, namespace, set, ttl, version, bins; or reason)
    #[arg(long, requires = "message")]
    pub json: bool,
}

/// Options of `x-msrv status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// WARNING when the last success is older than this [default: 2 × nsq.period]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub warning: Option<Duration>,
    /// CRITICAL when the last success is older than this [default: 3 × nsq.period]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub critical: Option<Duration>,
}

/// Options of `x-msrv records`.
#[derive(Debug, Args)]
pub struct RecordsArgs {
    /// List the rejected (invalid) messages instead of the stored ones
    #[arg(long)]
    pub rejected: bool,
    /// Read this set of aerospike.namespace instead of aerospike.set
    #[arg(long, value_name = "NAME", conflicts_with = "rejected", value_parser = parse_set_name)]
    pub set: Option<String>,
    /// Read the one record with this key instead of listing: an integer key when KEY
    /// parses as a 64-bit integer (42, -7), else a string key (exit status 66 when there
    /// is no such record)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Take --key as a string key even when it looks like an integer ("42")
    #[arg(long, requires = "key")]
    pub string_key: bool,
    /// Show at most this many records
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// One JSON object per line instead of the readable listing
    #[arg(long)]
    pub json: bool,
}

/// Shown after `x-msrv rejected --help`.
const REJECTED_AFTER_HELP: &str = "\
Exit status of the rejected commands:
  0    done (redrive: every matching record moved, except cut bodies, which are kept)
  2    usage error; purge without --yes and without a terminal to ask on
  66   show: no such record
  69   Aerospike or nsqd could not be reached (redrive/purge: the rest is kept)
  75   some records could not be moved or deleted (they are kept; see the messages)
  130  stopped by SIGINT/SIGTERM after the batch in progress; run it again to go on";

/// `x-msrv rejected ...`: the rejected set (`rejected.set`) as a dead-letter queue.
#[derive(Debug, Subcommand)]
pub enum RejectedCommand {
    /// List rejected messages, oldest first: key, time, topic, reason, start of the body
    List(RejectedListArgs),
    /// Show one rejected message: every field, the body in full
    Show(RejectedShowArgs),
    /// Publish the original bodies back to NSQ, each record deleted once nsqd took it
    ///
    /// Run it after fixing the schema or the producer. Bodies whose record holds only
    /// their first 64 KiB (too big when kept) are never published: they are kept and
    /// reported. SIGINT/SIGTERM stop it after the batch in progress (published, then
    /// deleted): nothing is lost; run it again to go on.
    Redrive(RedriveArgs),
    /// Delete rejected messages for good
    Purge(PurgeArgs),
}

/// Which rejected messages a command acts on (all of them when none is given).
#[derive(Debug, Clone, Default, Args)]
pub struct RejectedFilter {
    /// Only records whose reason contains TEXT (case-sensitive)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Only messages nsqd received since WHEN: a duration back from now (2h, 30m,
    /// 1day) or an RFC 3339 time (2026-12-01T08:00:00Z, 2026-12-01T09:00:00+01:00)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<Since>,
    /// Only messages taken from this NSQ topic
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
}

/// Options of `x-msrv rejected list`.
#[derive(Debug, Args)]
pub struct RejectedListArgs {
    #[command(flatten)]
    pub filter: RejectedFilter,
    /// Show at most this many records (the oldest)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
    /// One JSON object per line (fields: key, topic, channel, nsq_ts, time, attempts,
    /// reason, body, body_encoding, body_len, cut, generation)
    #[arg(long)]
    pub json: bool,
}

/// Options of `x-msrv rejected show`.
#[derive(Debug, Args)]
pub struct RejectedShowArgs {
    /// The record's key, as `rejected list` shows it (`<nsq id>-<nsq_ts>`)
    #[arg(value_name = "ID")]
    pub id: String,
    /// One JSON object (the fields of `rejected list --json`)
    #[arg(long)]
    pub json: bool,
}

/// Options of `x-msrv rejected redrive`.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub filter: RejectedFilter,
    /// Move at most this many records (the oldest) [default: all that match]
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Publish every body to this topic instead of the topic it came from
    #[arg(long, value_name = "TOPIC", value_parser = parse_topic)]
    pub to_topic: Option<String>,
    /// Say what would be published, and where, and how many of those messages the
    /// configuration's record stage would now store; publish and delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `x-msrv rejected purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub filter: RejectedFilter,
    /// Delete at most this many records (the oldest) [default: all that match]
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Do not ask for confirmation (required when standard input is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
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

/// `--since`: a moment given as a duration back from now, or as a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// `2h`: nsqd's timestamp within the last two hours.
    Ago(Duration),
    /// An RFC 3339 time (any offset).
    At(OffsetDateTime),
}

impl Cli {
    /// Where the configuration is, from `--config` and `--instance`.
    pub fn location(&self) -> Location {
        Location {
            path: self.config.clone(),
            instance: self.instance.clone(),
        }
    }
}

/// The value of `--instance` (clap names the option in the error).
pub fn parse_instance(text: &str) -> Result<Instance, InstanceError> {
    Instance::parse(text)
}

impl Since {
    /// The moment, in ns since the Unix epoch (nsqd's timestamps), seen from `now`.
    pub(crate) fn cutoff_ns(self, now: OffsetDateTime) -> i64 {
        let at = match self {
            Since::Ago(d) => time::Duration::try_from(d)
                .ok()
                .and_then(|d| now.checked_sub(d))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            Since::At(t) => t,
        };
        i64::try_from(at.unix_timestamp_nanos()).unwrap_or(0)
    }
}

/// The value of `--since` (clap names the option in the error).
pub fn parse_since(text: &str) -> Result<Since, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(Since::Ago(d));
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(Since::At)
        .map_err(|_| {
            format!(
                "{text:?} is neither a duration (2h, 30m, 1day) nor an RFC 3339 time \
                 (2026-12-01T08:00:00Z, 2026-12-01T09:00:00+01:00)"
            )
        })
}

/// The value of `--to-topic`: a name nsqd accepts.
pub fn parse_topic(text: &str) -> Result<String, String> {
    if nsq::is_valid_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a valid NSQ topic (1-64 of a-z A-Z 0-9 . _ -, optionally #ephemeral)"
        ))
    }
}

/// The value of `records --set`: a name Aerospike accepts (the rule the configuration
/// and `aerospike.set-from` use).
pub fn parse_set_name(text: &str) -> Result<String, crate::pipeline::record::RuleError> {
    crate::pipeline::record::check_set_name(text).map(|()| text.to_owned())
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
        assert!(matches!(cli.command, Some(Command::Check(_))));
    }

    #[test]
    fn check_takes_messages() {
        let cli = Cli::try_parse_from(["x-msrv", "check", "--message", "a.json", "--message", "-"])
            .unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check");
        };
        assert_eq!(
            args.message,
            [PathBuf::from("a.json"), PathBuf::from("-")],
            "in the order given"
        );
        assert!(!args.json);
        assert!(
            Cli::try_parse_from(["x-msrv", "check", "--json"]).is_err(),
            "--json needs --message"
        );
    }

    #[test]
    fn rejected_subcommands_parse() {
        let cli = Cli::try_parse_from([
            "x-msrv",
            "rejected",
            "redrive",
            "--reason",
            "schema",
            "--since",
            "2h",
            "--to-topic",
            "fixed",
            "--dry-run",
        ])
        .unwrap();
        let Some(Command::Rejected(RejectedCommand::Redrive(args))) = cli.command else {
            panic!("not a redrive");
        };
        assert_eq!(args.filter.reason.as_deref(), Some("schema"));
        assert!(args.filter.since.is_some() && args.dry_run);
        assert_eq!(args.to_topic.as_deref(), Some("fixed"));
        for bad in [
            &["x-msrv", "rejected", "list", "--since", "yesterday"][..],
            &["x-msrv", "rejected", "redrive", "--to-topic", "no spaces"],
            &["x-msrv", "records", "--string-key"],
            &["x-msrv", "records", "--rejected", "--set", "other"],
            &["x-msrv", "records", "--set", "a:b"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_takes_durations() {
        let cli = Cli::try_parse_from(["x-msrv", "status", "--warning", "90s", "--critical", "5m"])
            .unwrap();
        let Some(Command::Status(args)) = cli.command else {
            panic!("not status");
        };
        assert_eq!(args.warning, Some(Duration::from_secs(90)));
        assert_eq!(args.critical, Some(Duration::from_secs(300)));
        assert!(Cli::try_parse_from(["x-msrv", "status", "--warning", "soon"]).is_err());
    }

    #[test]
    fn completions_take_a_known_shell() {
        let cli = Cli::try_parse_from(["x-msrv", "completions", "zsh"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Completions(_))));
        assert!(Cli::try_parse_from(["x-msrv", "completions", "tcsh"]).is_err());
    }

    #[test]
    fn instance_names_the_config_and_can_go_with_config() {
        let cli = Cli::try_parse_from(["x-msrv", "status", "--instance", "orders"]).unwrap();
        let location = cli.location();
        assert_eq!(location.instance.unwrap().as_str(), "orders");
        assert_eq!(location.path, None);
        let cli = Cli::try_parse_from([
            "x-msrv",
            "--instance",
            "a",
            "--config",
            "/tmp/a.toml",
            "run",
        ])
        .unwrap();
        assert!(cli.location().path.is_some() && cli.location().instance.is_some());
        for bad in ["a.b", "", "x-msrv", "../etc"] {
            assert!(
                Cli::try_parse_from(["x-msrv", "--instance", bad]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn no_subcommand_means_run() {
        let cli = Cli::try_parse_from(["x-msrv", "-c", "x.toml"]).unwrap();
        assert!(cli.command.is_none());
    }
    #[test]
    fn since_is_a_duration_or_an_rfc3339_time() {
        assert_eq!(parse_since("2h"), Ok(Since::Ago(Duration::from_secs(7200))));
        let at = parse_since("2026-12-01T09:00:00+01:00").unwrap();
        let now = OffsetDateTime::now_utc();
        assert_eq!(at.cutoff_ns(now), 1_796_112_000 * 1_000_000_000);
        assert_eq!(
            parse_since("2026-12-01T08:00:00Z").unwrap().cutoff_ns(now),
            1_796_112_000 * 1_000_000_000
        );
        let err = parse_since("yesterday").unwrap_err();
        assert!(
            err.contains("\"yesterday\"") && err.contains("RFC 3339"),
            "{err}"
        );
        let ago = parse_since("1h").unwrap().cutoff_ns(now);
        let expected = i64::try_from((now - time::Duration::HOUR).unix_timestamp_nanos()).unwrap();
        assert_eq!(ago, expected);
    }

    #[test]
    fn names_are_checked() {
        assert!(parse_topic("events").is_ok());
        assert!(parse_topic("a b").is_err());
        assert!(parse_set_name("other").is_ok());
        assert!(parse_set_name("a.b").is_err());
        assert!(parse_set_name(&"s".repeat(64)).is_err());
    }
}
