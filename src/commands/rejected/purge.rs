//! `x-msrv rejected purge`: deletes the selected records for good, after a yes on the
//! terminal (or `--yes`), batch by batch; a signal is looked at between batches.

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::error;

use super::filter::{Filter, select};
use super::output::{Report, out};
use super::{Tally, set_name};
use crate::commands::cli::PurgeArgs;
use crate::commands::exit::Exit;
use crate::pipeline::store::{AerospikeSink, RejectedRecord};

/// `x-msrv rejected purge`.
pub(super) async fn purge(
    sink: &AerospikeSink,
    args: &PurgeArgs,
    shutdown: &CancellationToken,
) -> Exit {
    let filter = Filter::new(&args.filter, OffsetDateTime::now_utc());
    let (chosen, _) = match select(sink, &filter, args.limit).await {
        Ok(found) => found,
        Err(e) => {
            error!("cannot read the rejected messages: {e}");
            return Exit::Unavailable;
        }
    };
    let set = set_name(sink);
    if chosen.is_empty() {
        out!("purge: no rejected message in {set}{filter}; nothing deleted");
        return Exit::Ok;
    }
    if !args.yes {
        let question = format!(
            "Delete {} rejected message(s) from {set}{filter} for good? [y/N] ",
            chosen.len()
        );
        match confirm(question, shutdown).await {
            Some(true) => {}
            Some(false) => {
                out!("purge: not confirmed; nothing deleted");
                return Exit::Ok;
            }
            None => {
                out!("purge: interrupted; nothing deleted");
                return Exit::Interrupted;
            }
        }
    }
    let mut tally = Tally::default();
    let report = Report::new(chosen.len(), "purging");
    for batch in chosen.chunks(sink.settings().batch_size.max(1)) {
        if shutdown.is_cancelled() {
            tally.interrupted = true;
            break;
        }
        let refs: Vec<&RejectedRecord> = batch.iter().collect();
        match sink.delete_rejected(&refs).await {
            Ok(rows) => {
                for (r, row) in batch.iter().zip(rows) {
                    match row {
                        Ok(()) => tally.done += 1,
                        Err(e) => {
                            tally.failed += 1;
                            report.fail(format!("cannot delete {}: {e}", r.id));
                        }
                    }
                }
            }
            Err(e) => {
                report.fail(format!("cannot delete: {e}"));
                tally.unavailable = true;
                break;
            }
        }
        report.advance(batch.len());
    }
    report.done();
    out!(
        "purge: deleted {} of {} rejected message(s) from {set}{filter}{}",
        tally.done,
        chosen.len(),
        if tally.done < chosen.len() {
            format!("; {} remain", chosen.len() - tally.done)
        } else {
            String::new()
        }
    );
    if tally.interrupted {
        out!("purge: interrupted by a signal; run the same command again to go on");
    }
    tally.exit()
}

/// Asks `question` on stderr and reads the answer from stdin: `Some(true)` for y/yes,
/// `None` when a signal came first.
async fn confirm(question: String, shutdown: &CancellationToken) -> Option<bool> {
    // stdin is read on a blocking thread: the runtime has one thread, and it must stay
    // free to see a SIGINT while the operator thinks.
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    tokio::select! {
        answer = answer => {
            let line = answer.ok()?.unwrap_or_default();
            Some(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
        }
        () = shutdown.cancelled() => None,
    }
}
