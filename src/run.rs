//! One run: take at most N messages from NSQ, store them in Aerospike, settle each in NSQ.
//!
//! ```text
//!  Consumer::next ─► batch ─► validate: JSON, schema, key, bins ─► AerospikeSink::store_batch
//!                                 │ rejected                        │ one outcome per record
//!                                 ▼                                 ▼
//!                         store_rejected ◄──── permanent error ── stored → FIN
//!                                 │                                transient → REQ (backoff)
//!                                 └──────► kept → FIN, not kept → REQ
//! ```
//!
//! A message is FIN'd only once its record, or its rejection, is acknowledged by
//! Aerospike; every other path sends it back to NSQ (REQ), so nothing is lost whatever
//! stops the run. Batches run concurrently; each message is settled exactly when its own
//! record's outcome is known.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Settings;
use crate::nsq::{Consumer, ConsumerOptions, Message, NsqError, Settle, Settler};
use crate::store::{AerospikeSink, RejectedMessage, StoreError};

/// Batches processed at the same time. Two cores: more only adds queueing, while two or
/// three keep Aerospike busy while the next batch is validated.
const MAX_CONCURRENT_BATCHES: usize = 4;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// N messages were received and all of them settled.
    Done,
    /// The run's `timeout` elapsed (an empty queue ends this way).
    Timeout,
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
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Done => "done",
            StopReason::Timeout => "timeout",
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Messages taken from NSQ (at most N).
    pub received: u64,
    /// Messages stored in Aerospike and FIN'd.
    pub stored: u64,
    /// Invalid messages kept in the rejected set and FIN'd.
    pub invalid: u64,
    /// Messages sent back to NSQ after a failed store (they will be retried).
    pub requeued: u64,
    /// Messages handed back unprocessed because the run stopped first.
    pub returned: u64,
    /// Messages that arrived past N and were REQ'd at once, never processed.
    pub over_limit: u64,
    /// Why the run ended.
    pub stop_reason: StopReason,
    /// Wall time from start to the last settlement.
    pub duration: Duration,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "received={} stored={} invalid={} requeued={} returned={} over_limit={} stop_reason={} duration_ms={}",
            self.received,
            self.stored,
            self.invalid,
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

/// Counters shared by the batch tasks.
#[derive(Debug, Default)]
struct Counters {
    stored: AtomicU64,
    invalid: AtomicU64,
    requeued: AtomicU64,
    /// Set by a batch that met a transient store error: the run stops taking messages.
    store_failing: AtomicBool,
}

/// What each batch task needs; shared, never copied per message.
struct Pipeline {
    settings: Arc<Settings>,
    sink: AerospikeSink,
    settler: Settler,
    counters: Counters,
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

    // Aerospike first: connecting to it has no side effect, while subscribing to NSQ
    // opens the RDY window and messages start to flow.
    let sink = tokio::select! {
        biased;
        () = shutdown.cancelled() => return Ok(stopped_before_start(StopReason::Signal, started)),
        () = &mut deadline => return Ok(stopped_before_start(StopReason::Timeout, started)),
        sink = AerospikeSink::connect(&settings.aerospike) => sink?,
    };
    let mut consumer = tokio::select! {
        biased;
        () = shutdown.cancelled() => {
            sink.close().await;
            return Ok(stopped_before_start(StopReason::Signal, started));
        }
        () = &mut deadline => {
            sink.close().await;
            return Ok(stopped_before_start(StopReason::Timeout, started));
        }
        consumer = Consumer::connect(consumer_options(&settings)) => match consumer {
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
        return Ok(stopped_before_start(StopReason::NoProducers, started));
    }
    info!(
        topic = %settings.nsq.topic,
        channel = %settings.nsq.channel,
        max_messages = settings.nsq.max_messages,
        "subscribed"
    );

    let pipeline = Arc::new(Pipeline {
        settings: Arc::clone(&settings),
        sink,
        settler: consumer.settler(),
        counters: Counters::default(),
    });
    let batch_size = settings.aerospike.batch_size;
    let max_messages = settings.nsq.max_messages;

    let mut tasks: JoinSet<()> = JoinSet::new();
    // Sizes of the batches still running, by task: a task that panicked reports no
    // output, yet its messages must still count as settled (dropped messages are REQ'd).
    let mut running: HashMap<tokio::task::Id, u64> = HashMap::new();
    let mut settled: u64 = 0;
    let mut dispatched: u64 = 0;
    let stop_reason = loop {
        if pipeline.counters.store_failing.load(Ordering::Relaxed) {
            break StopReason::StoreUnavailable;
        }
        // Done: N received, every one of them taken from the consumer and settled.
        if consumer.stats().received >= max_messages
            && dispatched >= max_messages
            && settled == dispatched
        {
            break StopReason::Done;
        }
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break StopReason::Signal,
            () = &mut deadline => break StopReason::Timeout,
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = match joined {
                    Ok((id, ())) => id,
                    Err(e) => {
                        warn!(error = %e, "a batch task failed; its messages go back to NSQ");
                        e.id()
                    }
                };
                settled += running.remove(&id).unwrap_or(0);
            }
            next = consumer.next(), if tasks.len() < MAX_CONCURRENT_BATCHES => {
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
                let size = batch.len() as u64;
                dispatched += size;
                let pipeline = Arc::clone(&pipeline);
                let handle = tasks.spawn(async move { pipeline.process_batch(batch).await });
                running.insert(handle.id(), size);
            }
        }
    };

    consumer.stop_receiving().await;
    debug!(reason = %stop_reason, in_progress = tasks.len(), "stopping");
    let grace = settings.grace;
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        // Aborting drops the batches' messages; a dropped message is REQ'd by its
        // connection, so this hands them back to NSQ instead of waiting for msg_timeout.
        warn!(grace = ?grace, "grace period over; returning unfinished messages to NSQ");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    let stats = consumer.stats();
    if let Err(e) = consumer.close(grace).await {
        warn!(error = %e, "closing the NSQ connection");
    }
    let pipeline = Arc::into_inner(pipeline)
        .expect("every batch task has ended, so the pipeline has no other owner");
    pipeline.sink.close().await;

    let counters = &pipeline.counters;
    let stored = counters.stored.load(Ordering::Relaxed);
    let invalid = counters.invalid.load(Ordering::Relaxed);
    let requeued = counters.requeued.load(Ordering::Relaxed);
    Ok(RunSummary {
        received: stats.received,
        stored,
        invalid,
        requeued,
        // Received but never given an outcome: the stop came first, and the consumer
        // (or a dropped message) sent them back with REQ 0.
        returned: stats.received.saturating_sub(stored + invalid + requeued),
        over_limit: stats.over_limit_requeued,
        stop_reason,
        duration: started.elapsed(),
    })
}

/// The NSQ consumer's options from the settings.
pub fn consumer_options(settings: &Settings) -> ConsumerOptions {
    let nsq = &settings.nsq;
    let mut opts = ConsumerOptions::new(
        nsq.addresses.clone(),
        &nsq.topic,
        &nsq.channel,
        nsq.max_messages,
    );
    opts.max_in_flight = nsq.max_in_flight;
    opts.msg_timeout = nsq.msg_timeout;
    opts.connect_timeout = nsq.connect_timeout;
    opts
}

fn stopped_before_start(stop_reason: StopReason, started: Instant) -> RunSummary {
    RunSummary {
        received: 0,
        stored: 0,
        invalid: 0,
        requeued: 0,
        returned: 0,
        over_limit: 0,
        stop_reason,
        duration: started.elapsed(),
    }
}

impl Pipeline {
    /// Validates, stores and settles one batch. Never returns an error: every message
    /// leaves with an outcome (FIN after its record or rejection is stored, else REQ).
    async fn process_batch(&self, batch: Vec<Message>) {
        let mut records = Vec::with_capacity(batch.len());
        let mut accepted = Vec::with_capacity(batch.len());
        let mut rejected: Vec<(Message, String)> = Vec::new();
        for msg in batch {
            match self.settings.prepare(&msg.body, &msg.id.0) {
                Ok(record) => {
                    records.push(record);
                    accepted.push(msg);
                }
                Err(rejection) => {
                    debug!(msg_id = %msg.id, reason = %rejection, "message rejected");
                    rejected.push((msg, rejection.to_string()));
                }
            }
        }

        let mut settlements = Vec::with_capacity(accepted.len() + rejected.len());
        if !records.is_empty() {
            let outcomes = self.sink.store_batch(records).await;
            for (msg, outcome) in accepted.into_iter().zip(outcomes) {
                match outcome {
                    Ok(()) => {
                        self.counters.stored.fetch_add(1, Ordering::Relaxed);
                        settlements.push((msg, Settle::Finish));
                    }
                    Err(e) if e.is_permanent() => {
                        // Retrying cannot help (a bin name too long, a record too big):
                        // keep the message as invalid rather than loop on it.
                        debug!(msg_id = %msg.id, error = %e, "store refused the record");
                        rejected.push((msg, format!("not storable: {e}")));
                    }
                    Err(e) => self.retry_later(msg, &e, &mut settlements, &mut rejected),
                }
            }
        }

        if !rejected.is_empty() {
            let items = rejected
                .iter()
                .map(|(msg, reason)| self.rejected_message(msg, reason))
                .collect();
            let outcomes = self.sink.store_rejected(items).await;
            for ((msg, reason), outcome) in rejected.into_iter().zip(outcomes) {
                match outcome {
                    Ok(()) => {
                        warn!(msg_id = %msg.id, reason = %reason, "invalid message kept in the rejected set");
                        self.counters.invalid.fetch_add(1, Ordering::Relaxed);
                        settlements.push((msg, Settle::Finish));
                    }
                    Err(e) => {
                        // Not kept, so not finished: NSQ holds it until a run can keep it.
                        warn!(msg_id = %msg.id, error = %e, "cannot keep an invalid message; requeued");
                        self.requeue(msg, &mut settlements);
                    }
                }
            }
        }

        if let Err(e) = self.settler.settle(settlements).await {
            // The connection is gone: nsqd redelivers these after msg_timeout, and a
            // stored record is simply written again under the same key.
            warn!(error = %e, "cannot settle messages with NSQ");
        }
    }

    /// A transient store failure: REQ with backoff, or, past `max-attempts`, keep the
    /// message as rejected with the reason (go-nsq would silently drop it there).
    fn retry_later(
        &self,
        msg: Message,
        error: &StoreError,
        settlements: &mut Vec<(Message, Settle)>,
        rejected: &mut Vec<(Message, String)>,
    ) {
        self.counters.store_failing.store(true, Ordering::Relaxed);
        if u32::from(msg.attempts) >= self.settings.nsq.max_attempts {
            rejected.push((
                msg,
                format!(
                    "not stored after {} attempts: {error}",
                    self.settings.nsq.max_attempts
                ),
            ));
        } else {
            debug!(msg_id = %msg.id, error = %error, "store failed; requeued");
            self.requeue(msg, settlements);
        }
    }

    fn requeue(&self, msg: Message, settlements: &mut Vec<(Message, Settle)>) {
        self.counters.store_failing.store(true, Ordering::Relaxed);
        self.counters.requeued.fetch_add(1, Ordering::Relaxed);
        let delay = self.settings.requeue_delay(msg.attempts);
        settlements.push((msg, Settle::Requeue(delay)));
    }

    fn rejected_message(&self, msg: &Message, reason: &str) -> RejectedMessage {
        RejectedMessage {
            msg_id: msg.id.to_string(),
            body: msg.body.clone(),
            reason: reason.to_owned(),
            attempts: msg.attempts,
            timestamp: msg.timestamp,
            topic: self.settings.nsq.topic.clone(),
            channel: self.settings.nsq.channel.clone(),
        }
    }
}
