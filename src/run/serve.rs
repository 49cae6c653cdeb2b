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
//! A batch is exactly what a timer run is (`run::Session::batch`): the same N, the same
//! stops (N, idle, `timeout`, signal, store failing, NSQ gone), the same summary. What
//! differs is only around it: the connections are kept between batches, and a batch that
//! lost them (an nsqd gone, the store failing) has them made anew for the next one.
//!
//! What happens is told to a [`ServeEvents`]: the first connection attempt over (ready:
//! a server that is down must not fail the start, serve retries), each failed attempt,
//! each batch's [`RunSummary`] or [`RunError`]. The command layer
//! (`commands::serve`) turns them into the summary line, the metrics, the exit code a
//! timer run would have had, and systemd's notify messages.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::{MissedTickBehavior, Sleep};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Settings;
use crate::run::{RunError, RunSummary, Session, Start, StopReason};
use nsq::{Consumer, NsqAddresses};

/// What [`serve`] tells its caller as it goes.
// Not `Send`-bound on purpose: serve runs on one thread (the binary's current-thread
// runtime), and the command layer's answers (metrics files, sd_notify) need no other.
#[allow(async_fn_in_trait)]
pub trait ServeEvents {
    /// A connection attempt is over, connected or not: serve is up (called again after
    /// later attempts; only the first one matters to a caller that says "ready").
    fn connect_attempted(&mut self);
    /// A connection attempt failed; the next comes after `retry_in`.
    fn connect_failed(&mut self, error: &RunError, retry_in: Duration);
    /// A batch ended, or could not start (`Err`: not connected within its `timeout`);
    /// `elapsed` is its wall time.
    async fn batch_ended(&mut self, result: Result<&RunSummary, &RunError>, elapsed: Duration);
}

/// The first wait before connecting again after a failed attempt; it doubles per failure
/// within a batch, up to [`MAX_RETRY`], and never past the batch's `timeout`.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Runs batches every `nsq.period` until `shutdown` is cancelled, telling `events` of
/// each. The first batch starts at once; a batch longer than the period delays the next
/// one (it starts when this one ends), never overlaps it.
pub async fn serve(
    settings: Arc<Settings>,
    shutdown: CancellationToken,
    events: &mut impl ServeEvents,
) {
    let mut ticks = tokio::time::interval(settings.nsq.period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut session: Option<Session> = None;
    info!(
        period = ?settings.nsq.period,
        max_messages = settings.nsq.consumer.max_messages,
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
                let connected = connect(&settings, &shutdown, deadline.as_mut(), events).await;
                events.connect_attempted();
                match connected {
                    Ok(Start::Connected(s)) => session.insert(s),
                    Ok(Start::Stopped(StopReason::Signal)) => break,
                    Ok(Start::Stopped(reason)) => {
                        let summary = RunSummary::stopped_before_start(reason, started);
                        events.batch_ended(Ok(&summary), started.elapsed()).await;
                        continue;
                    }
                    Err(e) => {
                        events.batch_ended(Err(&e), started.elapsed()).await;
                        continue;
                    }
                }
            }
        };
        let summary = s
            .batch(&settings, &shutdown, deadline.as_mut(), started)
            .await;
        events.batch_ended(Ok(&summary), started.elapsed()).await;
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
    let opts = &settings.nsq.consumer;
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
/// [`MAX_RETRY`], until `deadline` (then the last error) or a signal. Each failed
/// attempt is told to `events`.
async fn connect(
    settings: &Settings,
    shutdown: &CancellationToken,
    mut deadline: Pin<&mut Sleep>,
    events: &mut impl ServeEvents,
) -> Result<Start, RunError> {
    let mut wait = FIRST_RETRY;
    loop {
        let e = match Session::open(settings, shutdown, deadline.as_mut()).await {
            Err(e) => e,
            done => return done,
        };
        events.connect_attempted();
        warn!(error = %e, retry_in = ?wait, "cannot connect; trying again");
        events.connect_failed(&e, wait);
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(Start::Stopped(StopReason::Signal)),
            () = &mut deadline => return Err(e),
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MAX_RETRY);
    }
}
