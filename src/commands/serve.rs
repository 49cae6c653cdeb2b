//! `x-msrv serve`: the long-lived mode ([`crate::run::serve`]) under systemd's eyes.
//!
//! Each batch is reported as a timer run is (the summary line, with `--summary-json` the
//! JSON, the metrics with the exit code a run of that batch would have had). systemd
//! (`Type=notify`, sd_notify(3)) hears `READY=1` once the first connection attempt is
//! over, whether it succeeded or not (a server that is down must not fail the start:
//! serve retries), with a first `STATUS=`; `STATUS=` after each batch; `WATCHDOG=1` at
//! half of `WatchdogSec=`; `STOPPING=1` as the signal arrives. Without
//! `$NOTIFY_SOCKET` (serve started by hand) the notifications are no-ops.
//!
//! A reload (`systemctl reload`: `ExecReload=kill -HUP $MAINPID`, the signal turned into
//! a request by `main`) is `RELOADING=1` with `MONOTONIC_USEC=` (systemd 253's
//! `Type=notify-reload` requires it; 252, Debian 12's, ignores it) as serve starts
//! reading, then `READY=1` when the new configuration is in force or refused. A refused
//! one is said in `STATUS=`, and stays said after each batch's status until a reload
//! succeeds: `systemctl status` a while later still shows that the file on disk is not
//! what runs.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::commands::exit::Exit;
use crate::commands::report::{report_run, write_metrics};
use crate::config::{ConfigError, Settings};
use crate::run::serve::{Reloads, ServeEvents};
use crate::run::{RunError, RunSummary};

/// Serves until SIGTERM/SIGINT, reading the configuration again on each of `reloads`'s
/// requests; exits 0 once stopped cleanly.
pub async fn serve<L>(
    settings: Arc<Settings>,
    shutdown: CancellationToken,
    reloads: Reloads<L>,
    summary_json: bool,
) -> Exit
where
    L: FnMut() -> Result<Settings, ConfigError>,
{
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
        refused: None,
    };
    crate::run::serve::serve(settings, shutdown, reloads, &mut events).await;
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
    /// The last reload's error, while no later reload has succeeded.
    refused: Option<String>,
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
        let mut status = match result {
            Ok(summary) => format!("{}: {summary}", exit_word(exit)),
            Err(e) => format!("{}: {e}; retrying next period", exit_word(exit)),
        };
        if let Some(refused) = &self.refused {
            status.push_str(&format!("; {refused}"));
        }
        notify(&[NotifyState::Status(&status)]);
    }

    fn reloading(&mut self) {
        let mut states = vec![
            NotifyState::Reloading,
            NotifyState::Status("reloading the configuration"),
        ];
        match NotifyState::monotonic_usec_now() {
            Ok(now) => states.push(now),
            Err(e) => debug!(error = %e, "cannot read the monotonic clock for MONOTONIC_USEC"),
        }
        notify(&states);
    }

    fn reloaded(&mut self, settings: &Arc<Settings>, reconnect: bool) {
        // The metrics file and its path follow the new configuration.
        self.settings = Arc::clone(settings);
        self.refused = None;
        self.ready = true;
        let status = if reconnect {
            "configuration reloaded; the next batch connects anew"
        } else {
            "configuration reloaded; in force from the next batch"
        };
        notify(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    fn reload_refused(&mut self, error: &ConfigError) {
        let refused = format!(
            "reload refused, the previous configuration runs: {}",
            one_line(&error.to_string())
        );
        self.ready = true;
        notify(&[NotifyState::Ready, NotifyState::Status(&refused)]);
        self.refused = Some(refused);
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

/// A message fit for `STATUS=`, where a newline would end the assignment (a syntax
/// error's message quotes the lines around the fault).
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        debug!(error = %e, "cannot notify systemd");
    }
}
