//! One run: connect, take at most N messages in batches, stop, add up what happened.
//!
//! ```text
//!  connect Aerospike, subscribe ─► loop { Consumer::next ─► spawn Pipeline::process(batch) }
//!                                       until N settled, idle, timeout, signal, store
//!                                       failing, or NSQ gone
//!                                 ─► RDY 0, grace for batches in hand, CLS ─► RunSummary
//! ```
//!
//! This module only schedules: what happens to each message is the [`batch`] stage's
//! business, and each batch task hands back a [`BatchReport`] that the loop adds up.
//! Batches run concurrently; each message is settled exactly when its own record's
//! outcome is known.
//!
//! [`batch`]: crate::batch

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::batch::{BatchReport, Pipeline};
use crate::config::Settings;
use crate::failures::FailureLog;
use crate::store::{AerospikeSink, StoreError};
use nsq::{Consumer, HttpClient, NsqError};

/// Batches processed at the same time: as many as fill half of `nsq.max-in-flight`, so
/// the other half keeps arriving while they are stored (a store holding the whole window
/// leaves nsqd nothing to send until a batch ends), at least one and at most
/// `MAX_CONCURRENT_BATCHES`. With the defaults (2000 in flight, `aerospike.batch-size`
/// 250) that is 4. 100k small messages against the stand-ins (`scripts/bench --quick
/// --cases small`), 2 cores, two runs each in one session, as (max-in-flight, batch-size
/// → batches at once): (1000, 250 → 2) 153-160k msg/s, 68-70% of the lower ceiling,
/// 13.2-13.4 MB; (1000, 125 → 4) 170-175k, 68-74%, 13.3-13.4 MB; (1500, 250 → 3)
/// 177-191k, 68-77%, 14.3-14.4 MB; (2000, 250 → 4) 191-192k, 81-91%, 15.7-16.1 MB, CPU
/// 3.6-3.9 us/msg in all. An earlier session: with 1000 in flight, 4 batches of 250 (the
/// whole window in the store) 119-123k against 144-161k for 2.
fn concurrent_batches(max_in_flight: u32, batch_size: usize) -> usize {
    (max_in_flight as usize / (2 * batch_size.max(1))).clamp(1, MAX_CONCURRENT_BATCHES)
}

/// More batches at once only add queueing on two cores.
const MAX_CONCURRENT_BATCHES: usize = 4;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// N messages were received and all of them settled.
    Done,
    /// The run's `timeout` elapsed.
    Timeout,
    /// Nothing arrived for `nsq.idle-timeout` with nothing in hand: the queue is drained
    /// (an empty queue ends this way).
    Idle,
    /// SIGTERM or SIGINT (or any other cancellation of the shutdown token).
    Signal,
    /// Every NSQ connection closed under us.
    ConsumerClosed,
    /// nsqlookupd knows no nsqd with the topic yet: nothing to consume, not a failure.
    NoProducers,
    /// Aerospike failed a write in a way a retry might fix (down, slow, overloaded);
    /// the run stops early rather than requeue every remaining message one by one.
    StoreUnavailable,
}

impl StopReason {
    /// The word used in logs and the summary line.
    pub const fn as_str(self) -> &'static str {
        match self {
            StopReason::Done => "done",
            StopReason::Timeout => "timeout",
            StopReason::Idle => "idle",
            StopReason::Signal => "signal",
            StopReason::ConsumerClosed => "consumer-closed",
            StopReason::NoProducers => "no-producers",
            StopReason::StoreUnavailable => "store-unavailable",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run did; logged as one line and mapped to the exit code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// Messages taken from NSQ (at most N).
    pub received: u64,
    /// Messages stored in Aerospike and FIN'd.
    pub stored: u64,
    /// Messages not written because their record holds the same or a newer version
    /// (`message.version`), FIN'd.
    pub superseded: u64,
    /// Invalid messages kept in the rejected set and FIN'd.
    pub invalid: u64,
    /// Valid messages given up after `nsq.max-attempts` failed writes, kept in the
    /// rejected set and FIN'd.
    pub given_up: u64,
    /// Messages neither stored nor kept (the rejected-set write failed too), published to
    /// `rejected.topic` and FIN'd.
    pub dead_lettered: u64,
    /// Messages sent back to NSQ after a failed store (they will be retried).
    pub requeued: u64,
    /// Messages handed back unprocessed because the run stopped first.
    pub returned: u64,
    /// Messages that arrived past N and were REQ'd at once, never processed.
    pub over_limit: u64,
    /// Why the run ended.
    pub stop_reason: StopReason,
    /// Wall time from start to the last settlement.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "received={} stored={} superseded={} invalid={} given_up={} dead_lettered={} requeued={} returned={} over_limit={} stop_reason={} duration_ms={}",
            self.received,
            self.stored,
            self.superseded,
            self.invalid,
            self.given_up,
            self.dead_lettered,
            self.requeued,
            self.returned,
            self.over_limit,
            self.stop_reason,
            self.duration.as_millis()
        )
    }
}

impl RunSummary {
    /// True when some message could not be stored this time (it is back in NSQ), or the
    /// run could not finish talking to NSQ: the next run has work to redo.
    pub fn is_temporary_failure(&self) -> bool {
        self.requeued > 0
            || matches!(
                self.stop_reason,
                StopReason::ConsumerClosed | StopReason::StoreUnavailable
            )
    }
}

/// Failures that prevent a run from starting.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// NSQ could not be reached or refused the subscription.
    #[error("cannot subscribe to NSQ: {0}")]
    Nsq(#[from] NsqError),
    /// Aerospike could not be reached.
    #[error("cannot connect to Aerospike: {0}")]
    Store(#[from] StoreError),
}

/// Runs one batch. Returns when the run is over and every message it took is settled (or,
/// past the grace period, handed back to NSQ).
///
/// `shutdown` is cancelled by the caller on SIGTERM/SIGINT; it is honoured at every
/// moment, connecting included.
pub async fn run(
    settings: Arc<Settings>,
    shutdown: CancellationToken,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let deadline = tokio::time::sleep(settings.timeout);
    tokio::pin!(deadline);
    let mut session = match Session::open(&settings, &shutdown, deadline.as_mut()).await? {
        Start::Connected(session) => session,
        Start::Stopped(reason) => return Ok(stopped_before_start(reason, started)),
    };
    let summary = session
        .batch(&settings, &shutdown, deadline.as_mut(), started)
        .await;
    session.close(settings.grace).await;
    Ok(summary)
}

/// How [`Session::open`] ended without an error.
pub(crate) enum Start {
    Connected(Session),
    /// Stopped before a message could flow: signal, timeout, or no producer yet.
    Stopped(StopReason),
}

/// Connected to Aerospike and subscribed to NSQ: what the batches of a run, or of
/// `serve`, share. Between two batches of `serve` the consumer is paused (`RDY 0`).
pub(crate) struct Session {
    consumer: Consumer,
    pipeline: Arc<Pipeline>,
    failures: Arc<FailureLog>,
}

impl Session {
    /// Connects Aerospike, then subscribes (which opens the first batch's window).
    /// `shutdown` and `deadline` are honoured while connecting.
    pub(crate) async fn open(
        settings: &Settings,
        shutdown: &CancellationToken,
        mut deadline: Pin<&mut Sleep>,
    ) -> Result<Start, RunError> {
        // Aerospike first: connecting to it has no side effect, while subscribing to NSQ
        // opens the RDY window and messages start to flow.
        let sink = tokio::select! {
            biased;
            () = shutdown.cancelled() => return Ok(Start::Stopped(StopReason::Signal)),
            () = &mut deadline => return Ok(Start::Stopped(StopReason::Timeout)),
            sink = AerospikeSink::connect(&settings.aerospike) => sink?,
        };
        let consumer = tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                sink.close().await;
                return Ok(Start::Stopped(StopReason::Signal));
            }
            () = &mut deadline => {
                sink.close().await;
                return Ok(Start::Stopped(StopReason::Timeout));
            }
            consumer = Consumer::connect(settings.nsq.consumer_options()) => match consumer {
                Ok(consumer) => consumer,
                Err(e) => {
                    sink.close().await;
                    return Err(e.into());
                }
            },
        };
        if consumer.stats().connections == 0 {
            // Only possible with nsqlookupd: no nsqd has announced the topic yet.
            info!(topic = %settings.nsq.topic, "nsqlookupd knows no producer of the topic; nothing to do");
            let _ = consumer.close(settings.grace).await;
            sink.close().await;
            return Ok(Start::Stopped(StopReason::NoProducers));
        }
        info!(
            topic = %settings.nsq.topic,
            channel = %settings.nsq.channel,
            max_messages = settings.nsq.max_messages,
            "subscribed"
        );
        let failures = Arc::new(load_failures(&settings.state_directory));
        let pipeline = Arc::new(Pipeline {
            rules: Arc::clone(&settings.message),
            sink,
            retry: settings.retry,
            failures: Arc::clone(&failures),
            dead_letter_topic: settings.dead_letter_topic.clone(),
            http: HttpClient::new(settings.nsq.tls.clone()),
            topic: settings.nsq.topic.clone(),
            channel: settings.nsq.channel.clone(),
        });
        Ok(Start::Connected(Session {
            consumer,
            pipeline,
            failures,
        }))
    }

    /// The consumer, to see whether its connections still stand.
    pub(crate) fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// Opens the next batch of `serve` (at most `nsq.max-messages` more).
    pub(crate) async fn resume(&mut self, settings: &Settings) {
        self.consumer.resume(settings.nsq.max_messages).await;
    }

    /// Takes one batch of at most N: until N are settled, idle, `deadline`, a signal,
    /// the store failing, or NSQ gone. Then `RDY 0`, `grace` for what is in hand, and
    /// the connections stay open (paused) for [`close`](Session::close) or
    /// [`resume`](Session::resume). The summary counts from `started`.
    pub(crate) async fn batch(
        &mut self,
        settings: &Settings,
        shutdown: &CancellationToken,
        mut deadline: Pin<&mut Sleep>,
        started: Instant,
    ) -> RunSummary {
        let consumer = &mut self.consumer;
        let batch_size = settings.aerospike.batch_size;
        let max_messages = settings.nsq.max_messages;
        let concurrent = concurrent_batches(settings.nsq.max_in_flight, batch_size);

        let mut tasks: JoinSet<BatchReport> = JoinSet::new();
        let mut total = BatchReport::default();
        let mut dispatched: u64 = 0;
        // Counted from the later of the last arrival and the last batch's end, and only
        // while nothing is in hand: a slow store never makes a run idle.
        let idle_timeout = settings.nsq.idle_timeout;
        let idle = tokio::time::sleep(idle_timeout.unwrap_or(settings.timeout));
        tokio::pin!(idle);
        let busy = |idle: Pin<&mut Sleep>| {
            if let Some(t) = idle_timeout {
                idle.reset(tokio::time::Instant::now() + t);
            }
        };
        let stop_reason = loop {
            if total.store_failing {
                break StopReason::StoreUnavailable;
            }
            // Done: N received, every one of them taken from the consumer, every batch over.
            if consumer.stats().received >= max_messages
                && dispatched >= max_messages
                && tasks.is_empty()
            {
                break StopReason::Done;
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break StopReason::Signal,
                () = &mut deadline => break StopReason::Timeout,
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    add_report(&mut total, joined);
                    busy(idle.as_mut());
                }
                next = consumer.next(), if tasks.len() < concurrent => {
                    let Some(first) = next else { break StopReason::ConsumerClosed };
                    // Take what is already waiting, without waiting for more: batches grow
                    // with the arrival rate and a lone message is not held back.
                    let mut batch = Vec::with_capacity(batch_size.min(1024));
                    batch.push(first);
                    while batch.len() < batch_size {
                        match consumer.try_next() {
                            Some(msg) => batch.push(msg),
                            None => break,
                        }
                    }
                    dispatched += batch.len() as u64;
                    let pipeline = Arc::clone(&self.pipeline);
                    tasks.spawn(async move { pipeline.process(batch).await });
                    busy(idle.as_mut());
                }
                // Last: a message already waiting wins over the idle timer.
                () = &mut idle, if idle_timeout.is_some() && tasks.is_empty() => {
                    break StopReason::Idle;
                }
            }
        };

        consumer.stop_receiving().await;
        debug!(reason = %stop_reason, in_progress = tasks.len(), "stopping");
        let grace = settings.grace;
        let drained = tokio::time::timeout(grace, async {
            while let Some(joined) = tasks.join_next().await {
                add_report(&mut total, joined);
            }
        })
        .await;
        if drained.is_err() {
            // Aborting drops the batches' messages; a dropped message is REQ'd by its
            // connection, so this hands them back to NSQ instead of waiting for msg_timeout.
            warn!(grace = ?grace, "grace period over; returning unfinished messages to NSQ");
            tasks.abort_all();
            while let Some(joined) = tasks.join_next().await {
                add_report(&mut total, joined);
            }
        }
        // Messages received but never taken go back now, not at close: between two
        // batches of `serve` nothing stays in flight.
        consumer.pause(grace).await;
        let stats = consumer.stats();
        if let Err(e) = self.failures.save() {
            warn!(
                dir = %settings.state_directory.display(),
                error = %e,
                "cannot save the failed-write counts; this run's are lost (see state-directory)"
            );
        }

        let BatchReport {
            stored,
            superseded,
            invalid,
            given_up,
            dead_lettered,
            requeued,
            ..
        } = total;
        RunSummary {
            received: stats.received,
            stored,
            superseded,
            invalid,
            given_up,
            dead_lettered,
            requeued,
            // Received but never given an outcome: the stop came first, and the consumer
            // (or a dropped message) sent them back with REQ 0.
            returned: stats.received.saturating_sub(total.settled()),
            over_limit: stats.over_limit_requeued,
            stop_reason,
            duration: started.elapsed(),
        }
    }

    /// `CLS` to every nsqd (after [`batch`](Session::batch): nothing is in hand), then
    /// the Aerospike connections.
    pub(crate) async fn close(self, grace: Duration) {
        if let Err(e) = self.consumer.close(grace).await {
            warn!(error = %e, "closing the NSQ connection");
        }
        let pipeline = Arc::into_inner(self.pipeline)
            .expect("every batch task has ended, so the pipeline has no other owner");
        pipeline.sink.close().await;
    }
}

/// Adds a finished batch's report. A batch task that panicked or was aborted reports
/// nothing: its messages were dropped unsettled, and a dropped message is requeued, so
/// they count as returned.
fn add_report(total: &mut BatchReport, joined: Result<BatchReport, tokio::task::JoinError>) {
    match joined {
        Ok(report) => total.add(&report),
        Err(e) if e.is_cancelled() => {}
        Err(e) => warn!(error = %e, "a batch task failed; its messages go back to NSQ"),
    }
}

/// The failed-write counts of earlier runs; unreadable ones start a fresh count (kept for
/// this run only), which can only make a message's give-up later, never sooner.
fn load_failures(dir: &std::path::Path) -> FailureLog {
    match FailureLog::load(dir) {
        Ok(log) => log,
        Err(e) => {
            warn!(dir = %dir.display(), error = %e, "cannot read the failed-write counts; counting from zero");
            FailureLog::in_memory()
        }
    }
}

pub(crate) fn stopped_before_start(stop_reason: StopReason, started: Instant) -> RunSummary {
    RunSummary {
        received: 0,
        stored: 0,
        superseded: 0,
        invalid: 0,
        given_up: 0,
        dead_lettered: 0,
        requeued: 0,
        returned: 0,
        over_limit: 0,
        stop_reason,
        duration: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_the_same_as_text_and_json() {
        let summary = RunSummary {
            received: 5,
            stored: 3,
            superseded: 0,
            invalid: 1,
            given_up: 1,
            dead_lettered: 0,
            requeued: 1,
            returned: 0,
            over_limit: 2,
            stop_reason: StopReason::StoreUnavailable,
            duration: Duration::from_millis(41),
        };
        assert_eq!(
            summary.to_string(),
            "received=5 stored=3 superseded=0 invalid=1 given_up=1 dead_lettered=0 requeued=1 returned=0 over_limit=2 stop_reason=store-unavailable duration_ms=41"
        );
        assert_eq!(
            serde_json::to_value(&summary).unwrap(),
            serde_json::json!({
                "received": 5, "stored": 3, "superseded": 0, "invalid": 1, "given_up": 1, "dead_lettered": 0,
                "requeued": 1, "returned": 0,
                "over_limit": 2, "stop_reason": "store-unavailable", "duration_ms": 41
            })
        );
        assert!(summary.is_temporary_failure());
    }

    #[test]
    fn concurrent_batches_fill_half_the_window() {
        assert_eq!(concurrent_batches(1000, 250), 2);
        assert_eq!(concurrent_batches(1000, 125), 4);
        assert_eq!(
            concurrent_batches(1000, 100),
            4,
            "at most MAX_CONCURRENT_BATCHES"
        );
        assert_eq!(concurrent_batches(1000, 1000), 1, "at least one");
        assert_eq!(concurrent_batches(1, 250), 1);
    }
}
