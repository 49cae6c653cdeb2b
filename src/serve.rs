//! `x-msrv serve`: one long-lived process that takes a batch every `nsq.period` itself.
//!
//! ```text
//!  every nsq.period:  connect (with backoff) unless the connections still stand
//!                     ─► resume: RDY opens for at most N ─► Session::batch
//!                     ─► RDY 0 (paused: subscribed, heartbeats answered, nothing in
//!                        flight) ─► summary line + metrics, as a timer run
//!  SIGTERM/SIGINT at any moment ─► the batch in progress stops as a run would ─► CLS
//! ```
//!
//! A batch is exactly what a timer run is ([`run::Session::batch`]): the same N, the same
//! stops (N, idle, `timeout`, signal, store failing, NSQ gone), the same summary. What
//! differs is only around it: the connections are kept between batches, and a batch that
//! lost them (an nsqd gone, the store failing) has them made anew for the next one.
//!
//! systemd (`Type=notify`, sd_notify(3)) hears `READY=1` once the first connection attempt
//! is over, whether it succeeded or not (a server that is down must not fail the
//! start: serve retries), with a first `STATUS=`; `STATUS=` after each batch;
//! `WATCHDOG=1` at half of `WatchdogSec=`; `STOPPING=1` as the signal arrives.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::time::{MissedTickBehavior, Sleep};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Settings;
use crate::exit::Exit;
use crate::run::{self, RunError, RunSummary, Session, Start, StopReason};
use nsq::{Consumer, NsqAddresses};

/// The first wait before connecting again after a failed attempt; it doubles per failure
/// within a batch, up to [`MAX_RETRY`], and never past the batch's `timeout`.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Runs batches every `nsq.period` until `shutdown` is cancelled. `report` is given each
/// batch's outcome and its wall time, and answers the exit code a timer run would have
/// had (for `STATUS=`). The first batch starts at once; a batch longer than the period
/// delays the next one (it starts when this one ends), never overlaps it.
pub async fn serve<R>(settings: Arc<Settings>, shutdown: CancellationToken, mut report: R)
where
    R: AsyncFnMut(&Result<RunSummary, RunError>, Duration) -> Exit,
{
    let notifier = Notifier::default();
    let watchdog = sd_notify::watchdog_enabled().map(|every| tokio::spawn(watchdog(every / 2)));
    // STOPPING=1 as the signal comes, not once the batch in progress has ended.
    let stopping = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
        }
    });
    let mut ticks = tokio::time::interval(settings.nsq.period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut session: Option<Session> = None;
    info!(
        period = ?settings.nsq.period,
        max_messages = settings.nsq.max_messages,
        "serving: a batch of at most max-messages every period"
    );
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let started = Instant::now();
        let deadline = tokio::time::sleep(settings.timeout);
        tokio::pin!(deadline);

        if let Some(s) = session.take() {
            if reusable(&settings, s.consumer()).await {
                session = Some(s);
            } else {
                s.close(settings.grace).await;
            }
        }
        let s = match session.as_mut() {
            Some(s) => {
                s.resume(&settings).await;
                s
            }
            None => {
                let connected = connect(&settings, &shutdown, deadline.as_mut(), &notifier).await;
                notifier.ready();
                match connected {
                    Ok(Start::Connected(s)) => session.insert(s),
                    Ok(Start::Stopped(StopReason::Signal)) => break,
                    Ok(Start::Stopped(reason)) => {
                        let summary = run::stopped_before_start(reason, started);
                        let exit = report(&Ok(summary.clone()), started.elapsed()).await;
                        notifier.status(&format!("{}: {summary}", exit_word(exit)));
                        continue;
                    }
                    Err(e) => {
                        let text = e.to_string();
                        let exit = report(&Err(e), started.elapsed()).await;
                        notifier.status(&format!(
                            "{}: {text}; retrying next period",
                            exit_word(exit)
                        ));
                        continue;
                    }
                }
            }
        };
        let summary = s
            .batch(&settings, &shutdown, deadline.as_mut(), started)
            .await;
        let exit = report(&Ok(summary.clone()), started.elapsed()).await;
        notifier.status(&format!("{}: {summary}", exit_word(exit)));
        match summary.stop_reason {
            StopReason::Signal => break,
            // The connections (or the store) are gone or failing: made anew next time.
            StopReason::ConsumerClosed | StopReason::StoreUnavailable => {
                if let Some(s) = session.take() {
                    s.close(settings.grace).await;
                }
            }
            _ => {}
        }
    }
    if let Some(s) = session {
        s.close(settings.grace).await;
    }
    if let Some(task) = watchdog {
        task.abort();
    }
    stopping.abort();
    info!("stopped");
}

/// Whether the paused connections can take the next batch: every nsqd connected to is
/// still connected, and (with nsqlookupd) nsqlookupd still lists the same nsqd for the
/// topic. A lookup that fails keeps what stands: nsqlookupd down does not stop nsqd.
async fn reusable(settings: &Settings, consumer: &Consumer) -> bool {
    if !consumer.is_intact() {
        info!("an nsqd connection was lost; connecting again");
        return false;
    }
    let opts = settings.nsq.consumer_options();
    let NsqAddresses::Lookupd(lookupd) = &opts.addresses else {
        return true;
    };
    match nsq::lookup_producers(&opts.http(), lookupd, &opts.topic, opts.connect_timeout).await {
        Ok(found) => {
            let now: BTreeSet<&str> = found.iter().map(|a| a.tcp.as_str()).collect();
            let before: BTreeSet<&str> = consumer.nsqd().collect();
            if now == before {
                true
            } else {
                info!(
                    ?before,
                    ?now,
                    "nsqlookupd lists other nsqd for the topic; connecting again"
                );
                false
            }
        }
        Err(e) => {
            debug!(error = %e, "nsqlookupd did not answer; keeping the connections");
            true
        }
    }
}

/// [`Session::open`], again after each failure, waiting [`FIRST_RETRY`] doubling up to
/// [`MAX_RETRY`], until `deadline` (then the last error) or a signal. The first attempt's
/// end makes the service ready.
async fn connect(
    settings: &Settings,
    shutdown: &CancellationToken,
    mut deadline: Pin<&mut Sleep>,
    notifier: &Notifier,
) -> Result<Start, RunError> {
    let mut wait = FIRST_RETRY;
    loop {
        let e = match Session::open(settings, shutdown, deadline.as_mut()).await {
            Err(e) => e,
            done => return done,
        };
        notifier.ready();
        warn!(error = %e, retry_in = ?wait, "cannot connect; trying again");
        notifier.status(&format!("connecting: {e}"));
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(Start::Stopped(StopReason::Signal)),
            () = &mut deadline => return Err(e),
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MAX_RETRY);
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

/// What serve tells systemd; without `$NOTIFY_SOCKET` (serve started by hand) each call
/// is a no-op.
#[derive(Default)]
struct Notifier {
    ready: Cell<bool>,
}

impl Notifier {
    /// `READY=1`, once, with a first `STATUS=` until a batch has ended.
    fn ready(&self) {
        if !self.ready.replace(true) {
            notify(&[
                NotifyState::Ready,
                NotifyState::Status("started; no batch finished yet"),
            ]);
        }
    }

    fn status(&self, text: &str) {
        notify(&[NotifyState::Status(text)]);
    }
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        debug!(error = %e, "cannot notify systemd");
    }
}
