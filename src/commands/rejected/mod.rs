//! `x-msrv rejected list|show|redrive|purge`: the rejected set as a dead-letter queue.
//!
//! Every invalid message is kept in `rejected.set` with its reason (see
//! [`crate::pipeline::store::RejectedMessage`]). Once the schema or the producer is fixed, these
//! commands find the messages again, publish their original bodies back through nsqd
//! (`redrive`), or delete them for good (`purge`).
//!
//! A record whose body was cut to [`MAX_KEPT_BODY`](crate::pipeline::store::MAX_KEPT_BODY) bytes
//! (bin `body_len`) does not hold the message, only its start: it is never published,
//! always kept and reported.
//!
//! # Layout
//! - this file: the dispatch ([`run`]) and the `Tally` of a command that changes the set.
//! - `filter`: selecting records (`--reason`, `--since`, `--topic`, `--limit`).
//! - `output`: terminal output: listing and JSON lines, previews, the progress report.
//! - `list`: `list` and `show`, the commands that only read.
//! - `redrive`: publishing bodies back to nsqd and deleting what nsqd took; why it is safe
//!   to interrupt and to run again is in its doc.
//! - `dry_run`: `redrive --dry-run`'s verdict on each body from the record stage.
//! - `nsqd`: finding the nsqd to publish a topic to.
//! - `purge`: deleting records for good.

mod dry_run;
mod filter;
mod list;
mod nsqd;
mod output;
mod purge;
mod redrive;

use std::io::IsTerminal;

use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::commands::cli::RejectedCommand;
use crate::commands::exit::Exit;
use crate::config::Settings;
use crate::pipeline::store::AerospikeSink;

/// `x-msrv rejected ...`.
pub async fn run(
    settings: &Settings,
    command: &RejectedCommand,
    shutdown: CancellationToken,
) -> Exit {
    if let RejectedCommand::Purge(args) = command {
        // Before any connection: refusing must change nothing and take no time.
        if !args.yes && !std::io::stdin().is_terminal() {
            error!(
                "rejected purge: refusing to delete without confirmation: standard input is \
                 not a terminal to ask on; add --yes"
            );
            return Exit::Usage;
        }
    }
    let sink = match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => sink,
        Err(e) => {
            error!("cannot connect to Aerospike: {e}");
            return Exit::Unavailable;
        }
    };
    let exit = match command {
        RejectedCommand::List(args) => list::list(&sink, args).await,
        RejectedCommand::Show(args) => list::show(&sink, args).await,
        RejectedCommand::Redrive(args) => redrive::redrive(settings, &sink, args, &shutdown).await,
        RejectedCommand::Purge(args) => purge::purge(&sink, args, &shutdown).await,
    };
    sink.close().await;
    exit
}

/// `namespace.set` of the rejected set, as the commands name it.
fn set_name(sink: &AerospikeSink) -> String {
    let s = sink.settings();
    format!("{}.{}", s.namespace, s.rejected_set)
}

/// What a redrive or purge did, for its last lines and its exit status.
#[derive(Debug, Default)]
struct Tally {
    /// Published and deleted (redrive), or deleted (purge).
    done: usize,
    /// Gone between the scan and their batch (another command, or their TTL).
    gone: usize,
    /// Kept because something failed (reported one by one).
    failed: usize,
    /// Kept because their body is cut.
    cut: usize,
    /// Stopped by a signal.
    interrupted: bool,
    /// Stopped because nsqd or Aerospike failed.
    unavailable: bool,
}

impl Tally {
    fn exit(&self) -> Exit {
        if self.unavailable {
            Exit::Unavailable
        } else if self.interrupted {
            Exit::Interrupted
        } else if self.failed > 0 {
            Exit::TempFail
        } else {
            Exit::Ok
        }
    }
}

/// A rejected record with this reason, nsqd timestamp and topic, for the unit tests of
/// the rooms here.
#[cfg(test)]
fn test_record(reason: &str, nsq_ts: i64, topic: &str) -> crate::pipeline::store::RejectedRecord {
    let mut r = crate::pipeline::store::RejectedRecord::for_tests("k-1");
    r.reason = reason.to_owned();
    r.nsq_ts = nsq_ts;
    r.topic = topic.to_owned();
    r
}
