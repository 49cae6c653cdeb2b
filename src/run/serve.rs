//! `x-msrv serve`: one long-lived process that takes a batch every `nsq.period` itself.
//!
//! ```text
//!  every nsq.period:  connect (with backoff) unless the connections still stand
//!                     ─► resume: RDY opens for at most N ─► Session::batch
//!                     ─► RDY 0 (paused: subscribed, heartbeats answered, nothing in
//!                        flight) ─► summary line + metrics, as a timer run
//!  SIGTERM/SIGINT at any moment ─► the batch in progress stops as a run would ─► CLS
//!  a reload request ─► after the batch in progress: load ─► refused (the running
//!                      configuration stays) or in force from the next batch
//! ```
//!
//! A batch is exactly what a timer run is (`run::Session::batch`): the same N, the same
//! stops (N, idle, `timeout`, signal, store failing, NSQ gone), the same summary. What
//! differs is only around it: the connections are kept between batches, and a batch that
//! lost them (an nsqd gone, the store failing) has them made anew for the next one.
//!
//! What happens is told to a [`ServeEvents`]: the first connection attempt over (ready:
//! a server that is down must not fail the start, serve retries), each failed attempt,
//! each batch's [`RunSummary`] or [`RunError`], each reload. The command layer
//! (`commands::serve`) turns them into the summary line, the metrics, the exit code a
//! timer run would have had, and systemd's notify messages.
//!
//! # Reload
//! Serve knows neither signals nor files: it is given [`Reloads`], a channel of requests
//! (the command layer sends one on SIGHUP) and a loader that reads and checks the
//! configuration again. A request is taken between batches only, so a batch always runs
//! under one configuration from its start to its summary. What the new configuration
//! does (nginx's habit):
//! - it fails its checks: refused, the error (naming the key) told to `events`, and the
//!   running configuration stays;
//! - it changes what the session connected to or loaded (`Session::keeps`: NSQ
//!   addresses, topic, channel, TLS, compression, AUTH, IDENTIFY's timeouts; Aerospike
//!   hosts, namespace, credentials; the state directory): the session is closed now
//!   (nothing is in flight between batches) and opened anew at the next batch;
//! - anything else (N, schema, key, layout, set, TTL, periods, timeouts, grace) applies
//!   from the next batch over the same connections.
//!
//! A changed `nsq.period` re-arms the schedule: the next batch starts one new period
//! after the last one started (at once if that is past).

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior, Sleep};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::config::{ConfigError, Settings};
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
    /// A reload begins (no batch is in progress).
    fn reloading(&mut self);
    /// The reloaded configuration is in force from the next batch; `reconnect`: the
    /// session was closed, and the next batch connects anew.
    fn reloaded(&mut self, settings: &Arc<Settings>, reconnect: bool);
    /// The reloaded configuration was refused; the running one stays.
    fn reload_refused(&mut self, error: &ConfigError);
}

/// How [`serve`] is asked to read its configuration again, and how it reads it.
pub struct Reloads<L> {
    /// Marked changed for each request; requests that come while one waits are taken
    /// as one. When its sender is gone, no more reloads come.
    pub requests: watch::Receiver<()>,
    /// Reads and checks the configuration again (from where the first one came from).
    pub load: L,
}

/// The first wait before connecting again after a failed attempt; it doubles per failure
/// within a batch, up to [`MAX_RETRY`], and never past the batch's `timeout`.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Runs batches every `nsq.period` until `shutdown` is cancelled, telling `events` of
/// each. The first batch starts at once; a batch longer than the period delays the next
/// one (it starts when this one ends), never overlaps it. Between batches, each request
/// of `reloads` loads the configuration again (see the module's doc).
pub async fn serve<L>(
    mut settings: Arc<Settings>,
    shutdown: CancellationToken,
    mut reloads: Reloads<L>,
    events: &mut impl ServeEvents,
) where
    L: FnMut() -> Result<Settings, ConfigError>,
{
    let mut ticks = schedule(tokio::time::Instant::now(), settings.nsq.period);
    let mut last_tick = tokio::time::Instant::now();
    let mut reload_requests = true;
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
            // Before the tick: a reload asked for during a batch applies to the next one.
            changed = reloads.requests.changed(), if reload_requests => {
                match changed {
                    Ok(()) => {
                        reload(&mut settings, &mut session, &mut reloads.load, events).await;
                        if ticks.period() != settings.nsq.period {
                            ticks = schedule(last_tick + settings.nsq.period, settings.nsq.period);
                        }
                    }
                    Err(_) => reload_requests = false,
                }
                continue;
            }
            tick = ticks.tick() => last_tick = tick,
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

/// Ticks every `period` from `first` on; a batch longer than the period delays the next
/// tick instead of bunching the missed ones.
fn schedule(first: tokio::time::Instant, period: Duration) -> Interval {
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// Loads the configuration again and puts it in force, or refuses it (see the module's
/// doc). Between batches: `session`, if any, is paused with nothing in flight.
async fn reload<L>(
    settings: &mut Arc<Settings>,
    session: &mut Option<Session>,
    load: &mut L,
    events: &mut impl ServeEvents,
) where
    L: FnMut() -> Result<Settings, ConfigError>,
{
    info!("reloading the configuration");
    events.reloading();
    let new = match load() {
        Ok(new) => new,
        Err(e) => {
            // The error in the message, not a field: under journald a field is not in
            // the line `journalctl -u` shows, and the key at fault is what matters here
            // (as main's "configuration error" at start).
            error!("configuration refused; the running one stays: {e}");
            events.reload_refused(&e);
            return;
        }
    };
    let reconnect = !Session::keeps(settings, &new);
    *session = match session.take() {
        Some(s) if reconnect => {
            s.close(settings.grace).await;
            None
        }
        Some(s) => Some(s.reconfigure(&new)),
        None => None,
    };
    *settings = Arc::new(new);
    info!(
        period = ?settings.nsq.period,
        max_messages = settings.nsq.consumer.max_messages,
        reconnect,
        "configuration reloaded; in force from the next batch"
    );
    events.reloaded(settings, reconnect);
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
