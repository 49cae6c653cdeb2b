//! The batch stage: one batch of messages through record → store → settle, each message
//! ending in an [`Outcome`], the batch ending in a [`BatchReport`].
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

use crate::failures::FailureLog;
use crate::record::RecordRules;
use crate::store::{AerospikeSink, RejectedMessage, StoreError, Written};
use nsq::{Message, Settle};

/// When a message whose write failed comes back, and when it stops coming back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// REQ delay after a failed write, times the message's failed writes …
    pub requeue_delay: Duration,
    /// … capped by this (and by nsqd's own 1 h limit).
    pub max_requeue_delay: Duration,
    /// A message whose write failed this many times is given up (see [`after_store`]).
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The REQ delay after a message's `failures`-th failed write: `requeue_delay ×
    /// failures`, capped by `max_requeue_delay` and nsqd's [`nsq::MAX_REQ_DELAY`].
    pub fn delay(&self, failures: u32) -> Duration {
        self.requeue_delay
            .saturating_mul(failures.max(1))
            .min(self.max_requeue_delay)
            .min(nsq::MAX_REQ_DELAY)
    }

    /// Whether `failures` failed writes are all a message may cost.
    fn exhausted(&self, failures: u32) -> bool {
        failures >= self.max_attempts
    }
}

/// Why a message is kept in the rejected set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepKind {
    /// It is not valid (JSON, schema, key) or Aerospike refused it for what it is.
    Invalid,
    /// It is valid, but its writes kept failing: given up after `max-attempts`.
    GivenUp,
}

/// How a message leaves its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its record is written (or, `create-only`, was there already): FIN.
    Stored,
    /// The ordering guard: a record with its version or a newer one is stored, so it
    /// was not written: FIN.
    Superseded,
    /// Kept in the rejected set with this reason: FIN.
    Kept(KeepKind, String),
    /// Neither stored nor kept, published to the dead-letter topic: FIN.
    DeadLettered(String),
    /// Back to NSQ, redelivered after this delay: REQ.
    Retry(Duration),
}

impl Outcome {
    /// What NSQ is told.
    pub fn settle(&self) -> Settle {
        match self {
            Outcome::Stored
            | Outcome::Superseded
            | Outcome::Kept(..)
            | Outcome::DeadLettered(_) => Settle::Finish,
            Outcome::Retry(delay) => Settle::Requeue(*delay),
        }
    }
}

/// What the record write decided: an outcome now, or keep the message with a reason
/// first (its outcome then comes from [`after_keep`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Settle(Outcome),
    Keep(KeepKind, String),
}

/// What to do with a message the rejected-set write did not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterKeep {
    Settle(Outcome),
    /// Out of attempts: publish it to the dead-letter topic (if there is one).
    DeadLetter(String),
}

/// The fate of a message after its record write answered `result`; `failures` is its
/// failed writes so far, this one included when `result` is a transient error.
pub fn after_store(
    result: &Result<Written, StoreError>,
    failures: u32,
    retry: &RetryPolicy,
) -> Verdict {
    match result {
        Ok(Written::Stored | Written::Existed) => Verdict::Settle(Outcome::Stored),
        Ok(Written::Superseded) => Verdict::Settle(Outcome::Superseded),
        // Retrying cannot help (a bin name too long, a record too big): keep the message
        // as invalid rather than loop on it.
        Err(e) if e.is_permanent() => {
            Verdict::Keep(KeepKind::Invalid, format!("not storable: {e}"))
        }
        // go-nsq would silently drop it here; x-msrv keeps it with the reason.
        Err(e) if retry.exhausted(failures) => Verdict::Keep(
            KeepKind::GivenUp,
            format!("not stored after {failures} failed writes: {e}"),
        ),
        Err(_) => Verdict::Settle(Outcome::Retry(retry.delay(failures))),
    }
}

/// The fate of a message to be kept with `reason`, after the rejected-set write
/// answered `result`; `failures` as for [`after_store`]. Not kept means not finished:
/// NSQ holds it until a run can keep it, or, past `max-attempts`, it is dead-lettered.
pub fn after_keep(
    kind: KeepKind,
    reason: String,
    result: &Result<(), StoreError>,
    failures: u32,
    retry: &RetryPolicy,
) -> AfterKeep {
    match result {
        Ok(()) => AfterKeep::Settle(Outcome::Kept(kind, reason)),
        Err(e) if retry.exhausted(failures) => AfterKeep::DeadLetter(format!(
            "{reason}; not kept in the rejected set after {failures} failed writes: {e}"
        )),
        Err(_) => AfterKeep::Settle(Outcome::Retry(retry.delay(failures))),
    }
}

/// What one batch did; the run adds these up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Stored and FIN'd.
    pub stored: u64,
    /// Not written, a newer version being stored (the ordering guard), and FIN'd.
    pub superseded: u64,
    /// Kept in the rejected set as invalid and FIN'd.
    pub invalid: u64,
    /// Valid, but given up after `max-attempts` failed writes: kept in the rejected set.
    pub given_up: u64,
    /// Neither stored nor kept: published to the dead-letter topic and FIN'd.
    pub dead_lettered: u64,
    /// REQ'd after a failed write.
    pub requeued: u64,
    /// A write failed in a way a retry might fix: the run should stop taking messages.
    pub store_failing: bool,
}

impl BatchReport {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Stored => self.stored += 1,
            Outcome::Superseded => self.superseded += 1,
            Outcome::Kept(KeepKind::Invalid, _) => self.invalid += 1,
            Outcome::Kept(KeepKind::GivenUp, _) => self.given_up += 1,
            Outcome::DeadLettered(_) => self.dead_lettered += 1,
            Outcome::Retry(_) => self.requeued += 1,
        }
    }

    /// Adds another batch's report to this one.
    pub fn add(&mut self, other: &BatchReport) {
        self.stored += other.stored;
        self.superseded += other.superseded;
        self.invalid += other.invalid;
        self.given_up += other.given_up;
        self.dead_lettered += other.dead_lettered;
        self.requeued += other.requeued;
        self.store_failing |= other.store_failing;
    }

    /// Messages that left with an outcome (FIN or REQ after a write).
    pub fn settled(&self) -> u64 {
        self.stored
            + self.superseded
            + self.invalid
            + self.given_up
            + self.dead_lettered
            + self.requeued
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

        let mut settled: Vec<(Message, Outcome)> = Vec::with_capacity(accepted.len());
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
                if !matches!(outcome, Outcome::Retry(_)) {
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
    async fn dead_letter(&self, msg: &Message, reason: String) -> Outcome {
        // Not published: back to NSQ for the longest delay the retry policy allows.
        let stays = Outcome::Retry(self.retry.max_requeue_delay.min(nsq::MAX_REQ_DELAY));
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
                Outcome::DeadLettered(reason)
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

    const RETRY: RetryPolicy = RetryPolicy {
        requeue_delay: Duration::from_secs(5),
        max_requeue_delay: Duration::from_secs(12),
        max_attempts: 3,
    };

    fn transient<T>() -> Result<T, StoreError> {
        Err(StoreError::Transient("Aerospike: DEVICE_OVERLOAD".into()))
    }

    #[test]
    fn a_written_record_is_stored_and_finished() {
        let verdict = after_store(&Ok(Written::Stored), 0, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Outcome::Stored));
        assert_eq!(Outcome::Stored.settle(), Settle::Finish);
        // create-only: the record was there, so the message is stored.
        let verdict = after_store(&Ok(Written::Existed), 0, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Outcome::Stored));
    }

    #[test]
    fn a_message_older_than_its_record_is_superseded_and_finished() {
        let verdict = after_store(&Ok(Written::Superseded), 0, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Outcome::Superseded));
        assert_eq!(Outcome::Superseded.settle(), Settle::Finish);
    }

    #[test]
    fn a_permanent_refusal_is_kept_as_invalid_whatever_the_failures() {
        let refused: Result<Written, StoreError> = Err(StoreError::Permanent(
            "Aerospike refused the record: BIN_NAME_TOO_LONG".into(),
        ));
        for failures in [0, 1, 3, 100] {
            assert_eq!(
                after_store(&refused, failures, &RETRY),
                Verdict::Keep(
                    KeepKind::Invalid,
                    "not storable: Aerospike refused the record: BIN_NAME_TOO_LONG".into()
                ),
            );
        }
    }

    #[test]
    fn a_transient_failure_is_retried_with_a_growing_delay() {
        assert_eq!(
            after_store(&transient::<Written>(), 1, &RETRY),
            Verdict::Settle(Outcome::Retry(Duration::from_secs(5)))
        );
        assert_eq!(
            after_store(&transient::<Written>(), 2, &RETRY),
            Verdict::Settle(Outcome::Retry(Duration::from_secs(10)))
        );
        let unavailable: Result<Written, StoreError> = Err(StoreError::Unavailable {
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
    fn at_max_attempts_failed_writes_a_valid_message_is_given_up_not_invalid() {
        for failures in [3, 4, u32::MAX] {
            assert_eq!(
                after_store(&transient::<Written>(), failures, &RETRY),
                Verdict::Keep(
                    KeepKind::GivenUp,
                    format!(
                        "not stored after {failures} failed writes: Aerospike: DEVICE_OVERLOAD"
                    )
                ),
            );
        }
    }

    #[test]
    fn a_kept_message_is_finished_and_a_failed_keep_retried_then_dead_lettered() {
        let kept = after_keep(KeepKind::Invalid, "schema: bad".into(), &Ok(()), 0, &RETRY);
        let AfterKeep::Settle(kept) = kept else {
            panic!("kept: {kept:?}")
        };
        assert_eq!(kept, Outcome::Kept(KeepKind::Invalid, "schema: bad".into()));
        assert_eq!(kept.settle(), Settle::Finish);
        // Not kept, so not finished: back to NSQ while failures remain …
        for failures in [1, 2] {
            let outcome = after_keep(
                KeepKind::Invalid,
                "why".into(),
                &transient(),
                failures,
                &RETRY,
            );
            assert_eq!(
                outcome,
                AfterKeep::Settle(Outcome::Retry(RETRY.delay(failures)))
            );
        }
        // … and never requeued for ever: past max attempts it goes to the dead letters.
        for kind in [KeepKind::Invalid, KeepKind::GivenUp] {
            assert_eq!(
                after_keep(kind, "why".into(), &transient(), 3, &RETRY),
                AfterKeep::DeadLetter(
                    "why; not kept in the rejected set after 3 failed writes: Aerospike: DEVICE_OVERLOAD"
                        .into()
                )
            );
        }
        assert_eq!(Outcome::DeadLettered("x".into()).settle(), Settle::Finish);
    }

    #[test]
    fn requeue_delay_grows_and_is_capped() {
        assert_eq!(RETRY.delay(0), Duration::from_secs(5));
        assert_eq!(RETRY.delay(1), Duration::from_secs(5));
        assert_eq!(RETRY.delay(2), Duration::from_secs(10));
        assert_eq!(RETRY.delay(3), Duration::from_secs(12));
        assert_eq!(RETRY.delay(u32::MAX), Duration::from_secs(12));
        let long = RetryPolicy {
            max_requeue_delay: Duration::from_secs(24 * 3600),
            ..RETRY
        };
        assert_eq!(long.delay(u32::MAX), nsq::MAX_REQ_DELAY, "nsqd's limit");
    }

    #[test]
    fn reports_add_up() {
        let mut total = BatchReport::default();
        let mut one = BatchReport::default();
        for outcome in [
            Outcome::Stored,
            Outcome::Stored,
            Outcome::Superseded,
            Outcome::Kept(KeepKind::Invalid, "x".into()),
            Outcome::Kept(KeepKind::GivenUp, "x".into()),
            Outcome::DeadLettered("x".into()),
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
                superseded: 2,
                invalid: 2,
                given_up: 2,
                dead_lettered: 2,
                requeued: 2,
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
