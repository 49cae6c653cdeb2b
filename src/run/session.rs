//! A session: connected to Aerospike and subscribed to NSQ, taking batches of at most N
//! until a stop; what a timer run does once and `serve` once per period.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Settings;
use crate::pipeline::batch::{BatchReport, Pipeline};
use crate::pipeline::failures::FailureLog;
use crate::pipeline::outcome::Outcome;
use crate::pipeline::store::AerospikeSink;
use crate::run::{RunError, RunSummary, StopReason};
use nsq::{Consumer, HttpClient};

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
            consumer = Consumer::connect(settings.nsq.consumer.clone()) => match consumer {
                Ok(consumer) => consumer,
                Err(e) => {
                    sink.close().await;
                    return Err(e.into());
                }
            },
        };
        if consumer.stats().connections == 0 {
            // Only possible with nsqlookupd: no nsqd has announced the topic yet.
            info!(topic = %settings.nsq.consumer.topic, "nsqlookupd knows no producer of the topic; nothing to do");
            let _ = consumer.close(settings.grace).await;
            sink.close().await;
            return Ok(Start::Stopped(StopReason::NoProducers));
        }
        info!(
            topic = %settings.nsq.consumer.topic,
            channel = %settings.nsq.consumer.channel,
            max_messages = settings.nsq.consumer.max_messages,
            "subscribed"
        );
        let failures = Arc::new(load_failures(&settings.state_directory));
        let pipeline = Arc::new(Pipeline {
            rules: Arc::clone(&settings.message),
            sink,
            retry: settings.retry,
            failures: Arc::clone(&failures),
            dead_letter_topic: settings.dead_letter_topic.clone(),
            http: HttpClient::new(settings.nsq.consumer.tls.clone()),
            topic: settings.nsq.consumer.topic.clone(),
            channel: settings.nsq.consumer.channel.clone(),
        });
        Ok(Start::Connected(Session {
            consumer,
            pipeline,
            failures,
        }))
    }

    /// After a reload that [`keeps`](Session::keeps) this session: the next batches
    /// record, store and settle by `settings` (schema, key, layout, set, TTL, write mode,
    /// retry policy, dead-letter topic), over the same connections. N, the periods and
    /// the timeouts need nothing here: each batch reads them from the settings it is
    /// given. Between batches only: no batch task holds the pipeline.
    pub(crate) fn reconfigure(self, settings: &Settings) -> Session {
        let Session {
            consumer,
            pipeline,
            failures,
        } = self;
        let pipeline = Arc::into_inner(pipeline).expect(
            "between batches every batch task has ended, so the pipeline has no other owner",
        );
        let pipeline = Arc::new(Pipeline {
            rules: Arc::clone(&settings.message),
            sink: pipeline.sink.reconfigure(&settings.aerospike),
            retry: settings.retry,
            failures: Arc::clone(&failures),
            dead_letter_topic: settings.dead_letter_topic.clone(),
            // Built from `nsq.tls` and the topic and channel, which `keeps` compared.
            http: pipeline.http,
            topic: pipeline.topic,
            channel: pipeline.channel,
        });
        Session {
            consumer,
            pipeline,
            failures,
        }
    }

    /// Whether a session opened with `old` can go on under `new`: what
    /// [`open`](Session::open) connected to and loaded is the same. NSQ: every consumer
    /// option but N (addresses, topic, channel, TLS and its files' contents, compression,
    /// AUTH, IDENTIFY's timeouts, the in-flight bounds the consumer's window was made
    /// with); Aerospike: the hosts, the namespace and the credentials; and the state
    /// directory the failed-write counts were read from.
    pub(crate) fn keeps(old: &Settings, new: &Settings) -> bool {
        let (a, b) = (&old.nsq.consumer, &new.nsq.consumer);
        let same_nsq = *a
            == nsq::ConsumerOptions {
                max_messages: a.max_messages,
                ..b.clone()
            };
        let (a, b) = (&old.aerospike, &new.aerospike);
        let same_aerospike = a.hosts == b.hosts
            && a.namespace == b.namespace
            && a.user == b.user
            && a.password == b.password;
        same_nsq && same_aerospike && old.state_directory == new.state_directory
    }

    /// The consumer, to see whether its connections still stand.
    pub(crate) fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// Opens the next batch of `serve` (at most `nsq.max-messages` more).
    pub(crate) async fn resume(&mut self, settings: &Settings) {
        self.consumer
            .resume(settings.nsq.consumer.max_messages)
            .await;
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
        let max_messages = settings.nsq.consumer.max_messages;
        let concurrent = concurrent_batches(settings.nsq.consumer.max_in_flight, batch_size);

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

        let mut counts = total.counts;
        // Received but never given an outcome: the stop came first, and the consumer
        // (or a dropped message) sent them back with REQ 0.
        counts[Outcome::Returned] = stats.received.saturating_sub(total.settled());
        counts[Outcome::OverLimit] = stats.over_limit_requeued;
        RunSummary {
            received: stats.received,
            counts,
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

#[cfg(test)]
mod tests {
    use super::*;

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
