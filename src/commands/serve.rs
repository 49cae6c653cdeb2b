//! `x-msrv serve`: the long-lived mode ([`crate::run::serve`]) under systemd's eyes.
//!
//! Each batch is reported as a timer run is (the summary line, with `--summary-json` the
//! JSON, the metrics with the exit code a run of that batch would have had). systemd
//! (`Type=notify`, sd_notify(3)) hears `READY=1` once the first connection attempt is
//! over, whether it succeeded or not (a server that is down must not fail the start:
//! serve retries), with a first `STATUS=`; `STATUS=` after each batch; `WATCHDOG=1` at
//! half of `WatchdogSec=`; `STOPPING=1` as the signal arrives. Without
//! `$NOTIFY_SOCKET` (serve started by hand) the notifications are no-ops.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::commands::exit::Exit;
use crate::commands::report::{report_run, write_metrics};
use crate::config::Settings;
use crate::run::serve::ServeEvents;
use crate::run::{RunError, RunSummary};

/// Serves until SIGTERM/SIGINT; exits 0 once stopped cleanly.
pub async fn serve(
    settings: Arc<Settings>,
    shutdown: CancellationToken,
    summary_json: bool,
) -> Exit {
    let watchdog = sd_notify::watchdog_enabled().map(|every| tokio::spawn(watchdog(every / 2)));
    // STOPPING=1 as the signal comes, not once the batch in progress has ended.
    let stopping = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
        }
    });
    let mut events = Systemd {
        settings: Arc::clone(&settings),
        summary_json,
        ready: false,
    };
    crate::run::serve::serve(settings, shutdown, &mut events).await;
    if let Some(task) = watchdog {
        task.abort();
    }
    stopping.abort();
    Exit::Ok
}

/// Serve's events as the summary line, the metrics and sd_notify messages.
struct Systemd {
    settings: Arc<Settings>,
    summary_json: bool,
    ready: bool,
}

impl ServeEvents for Systemd {
    /// `READY=1`, once, with a first `STATUS=` until a batch has ended.
    fn connect_attempted(&mut self) {
        if !std::mem::replace(&mut self.ready, true) {
            notify(&[
                NotifyState::Ready,
                NotifyState::Status("started; no batch finished yet"),
            ]);
        }
    }

    fn connect_failed(&mut self, error: &RunError, _retry_in: Duration) {
        notify(&[NotifyState::Status(&format!("connecting: {error}"))]);
    }

    async fn batch_ended(&mut self, result: Result<&RunSummary, &RunError>, elapsed: Duration) {
        let exit = report_run("batch", result, self.summary_json);
        write_metrics(&self.settings, exit, result.ok(), elapsed).await;
        let status = match result {
            Ok(summary) => format!("{}: {summary}", exit_word(exit)),
            Err(e) => format!("{}: {e}; retrying next period", exit_word(exit)),
        };
        notify(&[NotifyState::Status(&status)]);
    }
}

/// The word `STATUS=` starts with: what a timer run with this exit code would mean.
fn exit_word(exit: Exit) -> &'static str {
    match exit {
        Exit::Ok => "last batch ok",
        Exit::TempFail => "last batch: some messages went back to NSQ",
        Exit::Unavailable => "last batch: NSQ or Aerospike unreachable",
        _ => "last batch failed",
    }
}

/// Pings systemd's watchdog while the runtime runs. One thread runs everything, so a
/// stuck batch loop (a blocking call, a busy loop) stops the pings too.
async fn watchdog(every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(100)));
    loop {
        ticks.tick().await;
        notify(&[NotifyState::Watchdog]);
    }
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        debug!(error = %e, "cannot notify systemd");
    }
}
