//! The batch stage: one batch of messages through record → store → settle, each message
//! ending in an [`Outcome`], the batch ending in a [`BatchReport`].
//!
//! ```text
//!  Message ─► RecordRules::to_record ─► AerospikeSink::store_batch ─► after_store
//!                 │ Rejection                                           │ Stored / Retry
//!                 ▼                                                     │ Keep(reason)
//!       AerospikeSink::store_rejected ◄─────────────────────────────────┘
//!                 └──► after_keep: Kept / Retry ──► nsq::settle: FIN or REQ
//! ```
//!
//! What happens to a message is decided by two pure functions of the store's answer,
//! the delivery count and the [`RetryPolicy`] — [`after_store`] and [`after_keep`] — so
//! the rule "FIN only after the write" is unit-tested here without any server. A message
//! is FIN'd only once its record, or its rejection, is acknowledged by Aerospike; every
//! other path sends it back to NSQ (REQ), so nothing is lost whatever stops the run.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

use crate::nsq::{self, Message, Settle};
use crate::record::RecordRules;
use crate::store::{AerospikeSink, RejectedMessage, StoreError};

/// When a message whose store failed comes back, and when it stops coming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// REQ delay after a failed store, times the attempt count …
    pub requeue_delay: Duration,
    /// … capped by this (and by nsqd's own 1 h limit).
    pub max_requeue_delay: Duration,
    /// A message whose store failed on its `max_attempts`-th delivery is kept as rejected.
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The REQ delay after a failed store on delivery `attempts`: `requeue_delay ×
    /// attempts`, capped by `max_requeue_delay` and nsqd's [`nsq::MAX_REQ_DELAY`].
    pub fn delay(&self, attempts: u16) -> Duration {
        let factor = u32::from(attempts.max(1));
        self.requeue_delay
            .saturating_mul(factor)
            .min(self.max_requeue_delay)
            .min(nsq::MAX_REQ_DELAY)
    }

    /// Whether delivery `attempts` is the last one a transient failure may cost.
    fn exhausted(&self, attempts: u16) -> bool {
        u32::from(attempts) >= self.max_attempts
    }
}

/// How a message leaves its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its record is written: FIN.
    Stored,
    /// Kept in the rejected set with this reason: FIN.
    Kept(String),
    /// Back to NSQ, redelivered after this delay: REQ.
    Retry(Duration),
}

impl Outcome {
    /// What NSQ is told.
    pub fn settle(&self) -> Settle {
        match self {
            Outcome::Stored | Outcome::Kept(_) => Settle::Finish,
            Outcome::Retry(delay) => Settle::Requeue(*delay),
        }
    }
}

/// What the record write decided: an outcome now, or keep the message with a reason
/// first (its outcome then comes from [`after_keep`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Settle(Outcome),
    Keep(String),
}

/// The fate of a message after its record write answered `result` on delivery
/// `attempts`.
pub fn after_store(result: &Result<(), StoreError>, attempts: u16, retry: &RetryPolicy) -> Verdict {
    match result {
        Ok(()) => Verdict::Settle(Outcome::Stored),
        // Retrying cannot help (a bin name too long, a record too big): keep the message
        // as invalid rather than loop on it.
        Err(e) if e.is_permanent() => Verdict::Keep(format!("not storable: {e}")),
        // go-nsq would silently drop it here; x-msrv keeps it with the reason.
        Err(e) if retry.exhausted(attempts) => Verdict::Keep(format!(
            "not stored after {} attempts: {e}",
            retry.max_attempts
        )),
        Err(_) => Verdict::Settle(Outcome::Retry(retry.delay(attempts))),
    }
}

/// The fate of a message to be kept with `reason`, after the rejected-set write
/// answered `result`. Not kept means not finished: NSQ holds it until a run can keep it.
pub fn after_keep(
    reason: String,
    result: &Result<(), StoreError>,
    attempts: u16,
    retry: &RetryPolicy,
) -> Outcome {
    match result {
        Ok(()) => Outcome::Kept(reason),
        Err(_) => Outcome::Retry(retry.delay(attempts)),
    }
}

/// What one batch did; the run adds these up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Stored and FIN'd.
    pub stored: u64,
    /// Kept in the rejected set and FIN'd.
    pub invalid: u64,
    /// REQ'd after a failed write.
    pub requeued: u64,
    /// A write failed in a way a retry might fix: the run should stop taking messages.
    pub store_failing: bool,
}

impl BatchReport {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Stored => self.stored += 1,
            Outcome::Kept(_) => self.invalid += 1,
            Outcome::Retry(_) => self.requeued += 1,
        }
    }

    /// Adds another batch's report to this one.
    pub fn add(&mut self, other: &BatchReport) {
        self.stored += other.stored;
        self.invalid += other.invalid;
        self.requeued += other.requeued;
        self.store_failing |= other.store_failing;
    }
}

/// What every batch needs; built once per run, shared by the batch tasks.
pub struct Pipeline {
    pub rules: Arc<RecordRules>,
    pub sink: AerospikeSink,
    pub retry: RetryPolicy,
    /// Where the messages come from, written with each rejected message.
    pub topic: String,
    pub channel: String,
}

impl Pipeline {
    /// Records, stores and settles one batch. Never fails: every message leaves with an
    /// outcome (FIN after its record or rejection is stored, else REQ).
    pub async fn process(&self, batch: Vec<Message>) -> BatchReport {
        let mut report = BatchReport::default();
        let mut records = Vec::with_capacity(batch.len());
        let mut accepted = Vec::with_capacity(batch.len());
        let mut to_keep: Vec<(Message, String)> = Vec::new();
        for msg in batch {
            match self.rules.to_record(&msg.body, &msg.id) {
                Ok(record) => {
                    records.push(record);
                    accepted.push(msg);
                }
                Err(rejection) => {
                    debug!(msg_id = %msg.id, reason = %rejection, "message rejected");
                    to_keep.push((msg, rejection.to_string()));
                }
            }
        }

        let mut settled: Vec<(Message, Outcome)> = Vec::with_capacity(accepted.len());
        if !records.is_empty() {
            let results = self.sink.store_batch(records).await;
            for (msg, result) in accepted.into_iter().zip(results) {
                report.store_failing |= result.as_ref().is_err_and(|e| !e.is_permanent());
                match after_store(&result, msg.attempts, &self.retry) {
                    Verdict::Settle(outcome) => {
                        if let Err(e) = &result {
                            debug!(msg_id = %msg.id, error = %e, "store failed; requeued");
                        }
                        settled.push((msg, outcome));
                    }
                    Verdict::Keep(reason) => {
                        // Refused for what it is, or out of attempts: kept with the reason.
                        debug!(msg_id = %msg.id, reason = %reason, "not stored; keeping it");
                        to_keep.push((msg, reason));
                    }
                }
            }
        }

        if !to_keep.is_empty() {
            let items = to_keep
                .iter()
                .map(|(msg, reason)| self.rejected_message(msg, reason))
                .collect();
            let results = self.sink.store_rejected(items).await;
            for ((msg, reason), result) in to_keep.into_iter().zip(results) {
                report.store_failing |= result.is_err();
                match &result {
                    Ok(()) => {
                        warn!(msg_id = %msg.id, reason = %reason, "invalid message kept in the rejected set");
                    }
                    Err(e) => {
                        warn!(msg_id = %msg.id, error = %e, "cannot keep an invalid message; requeued");
                    }
                }
                let outcome = after_keep(reason, &result, msg.attempts, &self.retry);
                settled.push((msg, outcome));
            }
        }

        let settlements = settled
            .into_iter()
            .map(|(msg, outcome)| {
                report.count(&outcome);
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

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: RetryPolicy = RetryPolicy {
        requeue_delay: Duration::from_secs(5),
        max_requeue_delay: Duration::from_secs(12),
        max_attempts: 3,
    };

    fn transient() -> Result<(), StoreError> {
        Err(StoreError::Transient("Aerospike: DEVICE_OVERLOAD".into()))
    }

    #[test]
    fn a_written_record_is_stored_and_finished() {
        let verdict = after_store(&Ok(()), 1, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Outcome::Stored));
        assert_eq!(Outcome::Stored.settle(), Settle::Finish);
    }

    #[test]
    fn a_permanent_refusal_is_kept_whatever_the_attempt() {
        let refused = Err(StoreError::Permanent(
            "Aerospike refused the record: BIN_NAME_TOO_LONG".into(),
        ));
        for attempts in [1, 2, 3, 100] {
            assert_eq!(
                after_store(&refused, attempts, &RETRY),
                Verdict::Keep(
                    "not storable: Aerospike refused the record: BIN_NAME_TOO_LONG".into()
                ),
            );
        }
    }

    #[test]
    fn a_transient_failure_is_retried_with_a_growing_delay() {
        assert_eq!(
            after_store(&transient(), 1, &RETRY),
            Verdict::Settle(Outcome::Retry(Duration::from_secs(5)))
        );
        assert_eq!(
            after_store(&transient(), 2, &RETRY),
            Verdict::Settle(Outcome::Retry(Duration::from_secs(10)))
        );
        let unavailable = Err(StoreError::Unavailable {
            hosts: "db:3000".into(),
            reason: "connection refused".into(),
        });
        assert!(matches!(
            after_store(&unavailable, 1, &RETRY),
            Verdict::Settle(Outcome::Retry(_))
        ));
        assert_eq!(
            Outcome::Retry(Duration::from_secs(5)).settle(),
            Settle::Requeue(Duration::from_secs(5))
        );
    }

    #[test]
    fn past_max_attempts_a_transient_failure_is_kept_with_that_reason() {
        for attempts in [3, 4, u16::MAX] {
            assert_eq!(
                after_store(&transient(), attempts, &RETRY),
                Verdict::Keep("not stored after 3 attempts: Aerospike: DEVICE_OVERLOAD".into()),
            );
        }
    }

    #[test]
    fn a_kept_message_is_finished_and_a_failed_keep_retried() {
        let kept = after_keep("schema: (root): bad".into(), &Ok(()), 1, &RETRY);
        assert_eq!(kept, Outcome::Kept("schema: (root): bad".into()));
        assert_eq!(kept.settle(), Settle::Finish);
        // Not kept, so not finished: never dropped, even past max attempts.
        for attempts in [1, 3, 9] {
            let outcome = after_keep("why".into(), &transient(), attempts, &RETRY);
            assert_eq!(outcome, Outcome::Retry(RETRY.delay(attempts)));
            assert!(matches!(outcome.settle(), Settle::Requeue(_)));
        }
    }

    #[test]
    fn requeue_delay_grows_and_is_capped() {
        assert_eq!(RETRY.delay(0), Duration::from_secs(5));
        assert_eq!(RETRY.delay(1), Duration::from_secs(5));
        assert_eq!(RETRY.delay(2), Duration::from_secs(10));
        assert_eq!(RETRY.delay(3), Duration::from_secs(12));
        assert_eq!(RETRY.delay(u16::MAX), Duration::from_secs(12));
        let long = RetryPolicy {
            max_requeue_delay: Duration::from_secs(24 * 3600),
            ..RETRY
        };
        assert_eq!(long.delay(u16::MAX), nsq::MAX_REQ_DELAY, "nsqd's limit");
    }

    #[test]
    fn reports_add_up() {
        let mut total = BatchReport::default();
        let mut one = BatchReport::default();
        for outcome in [
            Outcome::Stored,
            Outcome::Stored,
            Outcome::Kept("x".into()),
            Outcome::Retry(Duration::ZERO),
        ] {
            one.count(&outcome);
        }
        total.add(&one);
        total.add(&BatchReport {
            store_failing: true,
            ..one
        });
        assert_eq!(
            total,
            BatchReport {
                stored: 4,
                invalid: 2,
                requeued: 2,
                store_failing: true
            }
        );
    }
}
