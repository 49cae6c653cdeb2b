//! The batch stage: one batch of messages through record → store → settle, each message
//! ending in a [`Fate`] counted by its [`Outcome`], the batch ending in a [`BatchReport`].
//!
//! [`Fate`]: crate::pipeline::outcome::Fate
//! [`Outcome`]: crate::pipeline::outcome::Outcome
//!
//! ```text
//!  Message ─► RecordRules::to_record ─► AerospikeSink::store_batch ─► after_store
//!                 │ Rejection                                           │ Stored / Retry
//!                 ▼                                                     │ Keep(invalid or given up)
//!       AerospikeSink::store_rejected ◄─────────────────────────────────┘
//!                 └──► after_keep: Kept / GivenUp / Retry / DeadLetter
//!                                                          └──► nsq::publish to rejected.topic
//!                                          ──► nsq::settle: FIN or REQ
//! ```
//!
//! What happens to a message is decided by two pure functions of the store's answer,
//! the message's failed writes so far (x-msrv's own count, [`FailureLog`]) and the
//! [`RetryPolicy`] — [`after_store`] and [`after_keep`] — so the rule "FIN only after the
//! write" is unit-tested here without any server. A message is FIN'd only once its
//! record or its rejection is acknowledged by Aerospike, or nsqd acknowledged its
//! publish to the dead-letter topic; every other path sends it back to NSQ (REQ), so
//! nothing is lost whatever stops the run, and nothing loops for ever: each failed write
//! counts, and past `max-attempts` a message is given up (kept in the rejected set) or,
//! when that write fails too, dead-lettered.
//!
//! A panic in the record step (a bug in x-msrv or a crate, met on one message) keeps
//! that message as rejected with the panic's text; a panic in a store call counts as a
//! failed write of each message in it. Either way the batch still settles every message:
//! an unwinding task would drop the batch, and its messages, requeued with no failure
//! counted, would come back and panic every run.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tracing::{debug, error, warn};

use crate::pipeline::failures::FailureLog;
use crate::pipeline::outcome::{
    AfterKeep, Counts, Fate, KeepKind, RetryPolicy, Verdict, after_keep, after_store,
};
use crate::pipeline::record::RecordRules;
use crate::pipeline::store::{AerospikeSink, RejectedMessage, StoreError};
use nsq::{self, Message};

/// What one batch did; the run adds these up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Messages by outcome: only the outcomes of a write ([`Fate::outcome`]), never
    /// `returned` or `over_limit`, which the run counts.
    pub counts: Counts,
    /// A write failed in a way a retry might fix: the run should stop taking messages.
    pub store_failing: bool,
}

impl BatchReport {
    fn count(&mut self, fate: &Fate) {
        self.counts[fate.outcome()] += 1;
    }

    /// Adds another batch's report to this one.
    pub fn add(&mut self, other: &BatchReport) {
        self.counts.add(&other.counts);
        self.store_failing |= other.store_failing;
    }

    /// Messages that left with an outcome (FIN or REQ after a write).
    pub fn settled(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

/// What every batch needs; built once per run, shared by the batch tasks.
pub struct Pipeline {
    pub rules: Arc<RecordRules>,
    pub sink: AerospikeSink,
    pub retry: RetryPolicy,
    /// Failed writes per message, across runs.
    pub failures: Arc<FailureLog>,
    /// `rejected.topic`: where a message goes that can be neither stored nor kept.
    pub dead_letter_topic: Option<String>,
    /// How the dead-letter publish reaches nsqd's HTTP API (HTTPS as `nsq.tls` says).
    pub http: nsq::HttpClient,
    /// Where the messages come from, written with each rejected message.
    pub topic: String,
    pub channel: String,
}

/// Bound on one dead-letter publish (nsqd's HTTP `/pub`).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

impl Pipeline {
    /// Records, stores and settles one batch. Never fails: every message leaves with an
    /// outcome (FIN after its record or rejection is stored, else REQ).
    pub async fn process(&self, batch: Vec<Message>) -> BatchReport {
        let mut report = BatchReport::default();
        let mut records = Vec::with_capacity(batch.len());
        let mut accepted = Vec::with_capacity(batch.len());
        let mut to_keep: Vec<(Message, KeepKind, String)> = Vec::new();
        for msg in batch {
            match caught(|| self.rules.to_record(&msg.body, &msg.id, msg.timestamp)) {
                Ok(Ok(record)) => {
                    records.push(record);
                    accepted.push(msg);
                }
                Ok(Err(rejection)) => {
                    debug!(msg_id = %msg.id, reason = %rejection, "message rejected");
                    to_keep.push((msg, KeepKind::Invalid, rejection.to_string()));
                }
                Err(panic) => {
                    let reason =
                        format!("x-msrv failed on this message (a bug, please report it): {panic}");
                    error!(msg_id = %msg.id, reason = %reason, "record step panicked");
                    to_keep.push((msg, KeepKind::Invalid, reason));
                }
            }
        }

        let mut settled: Vec<(Message, Fate)> = Vec::with_capacity(accepted.len());
        if !records.is_empty() {
            let count = records.len();
            let results = guarded(self.sink.store_batch(records), count).await;
            for (msg, result) in accepted.into_iter().zip(results) {
                let transient = result.as_ref().is_err_and(|e| !e.is_permanent());
                report.store_failing |= transient;
                let failures = if transient {
                    self.failures.failed(&msg.id, msg.timestamp)
                } else {
                    0
                };
                match after_store(&result, failures, &self.retry) {
                    Verdict::Settle(outcome) => {
                        if let Err(e) = &result {
                            debug!(msg_id = %msg.id, error = %e, failures, "store failed; requeued");
                        }
                        settled.push((msg, outcome));
                    }
                    Verdict::Keep(kind, reason) => {
                        debug!(msg_id = %msg.id, reason = %reason, "not stored; keeping it");
                        to_keep.push((msg, kind, reason));
                    }
                }
            }
        }

        let mut dead_letters: Vec<(Message, String)> = Vec::new();
        if !to_keep.is_empty() {
            let items = to_keep
                .iter()
                .map(|(msg, _, reason)| self.rejected_message(msg, reason))
                .collect();
            let results = guarded(self.sink.store_rejected(items), to_keep.len()).await;
            for ((msg, kind, reason), result) in to_keep.into_iter().zip(results) {
                report.store_failing |= result.is_err();
                let failures = match &result {
                    Ok(()) => {
                        match kind {
                            KeepKind::Invalid => {
                                warn!(msg_id = %msg.id, reason = %reason, "invalid message kept in the rejected set")
                            }
                            KeepKind::GivenUp => {
                                warn!(msg_id = %msg.id, reason = %reason, "message given up, kept in the rejected set")
                            }
                        }
                        0
                    }
                    Err(e) => {
                        let failures = self.failures.failed(&msg.id, msg.timestamp);
                        warn!(msg_id = %msg.id, error = %e, failures, "cannot keep a message in the rejected set");
                        failures
                    }
                };
                match after_keep(kind, reason, &result, failures, &self.retry) {
                    AfterKeep::Settle(outcome) => settled.push((msg, outcome)),
                    AfterKeep::DeadLetter(reason) => dead_letters.push((msg, reason)),
                }
            }
        }
        for (msg, reason) in dead_letters {
            let outcome = self.dead_letter(&msg, reason).await;
            settled.push((msg, outcome));
        }

        let settlements = settled
            .into_iter()
            .map(|(msg, outcome)| {
                report.count(&outcome);
                if !matches!(outcome, Fate::Retry(_)) {
                    self.failures.forget(&msg.id, msg.timestamp);
                }
                (msg, outcome.settle())
            })
            .collect();
        if let Err(e) = nsq::settle(settlements).await {
            // The connection is gone: nsqd redelivers these after msg_timeout, and a
            // stored record is simply written again under the same key.
            warn!(error = %e, "cannot settle messages with NSQ");
        }
        report
    }

    /// Publishes a message that can be neither stored nor kept to `rejected.topic` on
    /// the nsqd it came from; FIN'd only once nsqd acknowledged the publish.
    async fn dead_letter(&self, msg: &Message, reason: String) -> Fate {
        // Not published: back to NSQ for the longest delay the retry policy allows.
        let stays = Fate::Retry(self.retry.max_requeue_delay.min(nsq::MAX_REQ_DELAY));
        let Some(topic) = &self.dead_letter_topic else {
            error!(msg_id = %msg.id, reason = %reason, "message can be neither stored nor kept, and rejected.topic is off: it stays in NSQ");
            return stays;
        };
        match nsq::publish(
            &self.http,
            msg.nsqd_http(),
            topic,
            msg.body.clone(),
            PUBLISH_TIMEOUT,
        )
        .await
        {
            Ok(()) => {
                error!(msg_id = %msg.id, topic = %topic, reason = %reason, "message dead-lettered: published to rejected.topic");
                Fate::DeadLettered(reason)
            }
            Err(e) => {
                error!(msg_id = %msg.id, topic = %topic, error = %e, reason = %reason, "cannot publish to rejected.topic; the message stays in NSQ");
                stays
            }
        }
    }

    fn rejected_message(&self, msg: &Message, reason: &str) -> RejectedMessage {
        RejectedMessage {
            msg_id: msg.id.to_string(),
            body: msg.body.clone(),
            reason: reason.to_owned(),
            attempts: msg.attempts,
            timestamp: msg.timestamp,
            topic: self.topic.clone(),
            channel: self.channel.clone(),
        }
    }
}

/// Runs a store call; a panic inside it answers a transient failure for each of its
/// `count` rows, so each message counts a failed write instead of the batch vanishing.
async fn guarded<T>(
    call: impl std::future::Future<Output = Vec<Result<T, StoreError>>>,
    count: usize,
) -> Vec<Result<T, StoreError>> {
    match AssertUnwindSafe(call).catch_unwind().await {
        Ok(results) => results,
        Err(panic) => {
            let reason = format!(
                "x-msrv failed writing the batch (a bug, please report it): {}",
                panic_text(panic.as_ref())
            );
            error!(reason = %reason, rows = count, "store call panicked");
            (0..count)
                .map(|_| Err(StoreError::Transient(reason.clone())))
                .collect()
        }
    }
}

/// Runs `f`; a panic comes back as its message instead of unwinding the batch.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|panic| panic_text(panic.as_ref()))
}

/// A panic's message, when it has one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::outcome::Outcome;

    #[test]
    fn reports_add_up() {
        let mut total = BatchReport::default();
        let mut one = BatchReport::default();
        for fate in [
            Fate::Stored,
            Fate::Stored,
            Fate::Superseded,
            Fate::Kept(KeepKind::Invalid, "x".into()),
            Fate::Kept(KeepKind::GivenUp, "x".into()),
            Fate::DeadLettered("x".into()),
            Fate::Retry(Duration::ZERO),
        ] {
            one.count(&fate);
        }
        total.add(&one);
        total.add(&BatchReport {
            store_failing: true,
            ..one
        });
        let mut expected = Counts::default();
        for (outcome, n) in [
            (Outcome::Stored, 4),
            (Outcome::Superseded, 2),
            (Outcome::Invalid, 2),
            (Outcome::GivenUp, 2),
            (Outcome::DeadLettered, 2),
            (Outcome::Requeued, 2),
        ] {
            expected[outcome] = n;
        }
        assert_eq!(
            total,
            BatchReport {
                counts: expected,
                store_failing: true
            }
        );
        assert_eq!(total.settled(), 14);
    }

    #[test]
    fn a_panic_in_the_record_step_comes_back_as_its_message() {
        let outcome: Result<(), String> = caught(|| panic!("schema compiler bug at {}", 7));
        assert_eq!(outcome, Err("schema compiler bug at 7".to_owned()));
        assert_eq!(caught(|| 5), Ok(5));
    }

    #[tokio::test]
    async fn a_panicking_store_call_is_a_failed_write_of_each_row() {
        let results = guarded::<()>(
            async {
                if true {
                    panic!("index out of bounds");
                }
                Vec::new()
            },
            3,
        )
        .await;
        assert_eq!(results.len(), 3);
        for r in results {
            let Err(StoreError::Transient(reason)) = r else {
                panic!("{r:?}")
            };
            assert!(reason.contains("index out of bounds"), "{reason}");
        }
    }
}
