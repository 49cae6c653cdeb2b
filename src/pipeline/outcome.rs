//! What becomes of a message: the decision after its writes ([`Fate`], by two pure
//! functions, [`after_store`] and [`after_keep`]), and the counts by [`Outcome`] that a
//! batch, a run, the metrics and `x-msrv status` all read.
//!
//! [`Outcome`] is the one list of outcomes: the summary line, its JSON, `metrics.json`
//! and the Prometheus series all take their words from [`Outcome::as_str`] and their
//! numbers from [`Counts`], indexed by the enum. Adding an outcome is a compile error
//! wherever one must be handled (the `match`es here and in [`Fate::outcome`]).

use std::ops::{Index, IndexMut};
use std::time::Duration;

use serde::ser::SerializeMap;
use strum::{EnumCount, IntoEnumIterator};

use crate::pipeline::store::{StoreError, Written};
use nsq::{self, Settle};

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

/// How a message leaves its batch, decided after its writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
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

impl Fate {
    /// What NSQ is told.
    pub fn settle(&self) -> Settle {
        match self {
            Fate::Stored | Fate::Superseded | Fate::Kept(..) | Fate::DeadLettered(_) => {
                Settle::Finish
            }
            Fate::Retry(delay) => Settle::Requeue(*delay),
        }
    }

    /// What it counts as.
    pub fn outcome(&self) -> Outcome {
        match self {
            Fate::Stored => Outcome::Stored,
            Fate::Superseded => Outcome::Superseded,
            Fate::Kept(KeepKind::Invalid, _) => Outcome::Invalid,
            Fate::Kept(KeepKind::GivenUp, _) => Outcome::GivenUp,
            Fate::DeadLettered(_) => Outcome::DeadLettered,
            Fate::Retry(_) => Outcome::Requeued,
        }
    }
}

/// What the record write decided: an outcome now, or keep the message with a reason
/// first (its outcome then comes from [`after_keep`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Settle(Fate),
    Keep(KeepKind, String),
}

/// What to do with a message the rejected-set write did not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterKeep {
    Settle(Fate),
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
        Ok(Written::Stored | Written::Existed) => Verdict::Settle(Fate::Stored),
        Ok(Written::Superseded) => Verdict::Settle(Fate::Superseded),
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
        Err(_) => Verdict::Settle(Fate::Retry(retry.delay(failures))),
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
        Ok(()) => AfterKeep::Settle(Fate::Kept(kind, reason)),
        Err(e) if retry.exhausted(failures) => AfterKeep::DeadLetter(format!(
            "{reason}; not kept in the rejected set after {failures} failed writes: {e}"
        )),
        Err(_) => AfterKeep::Settle(Fate::Retry(retry.delay(failures))),
    }
}

/// What became of a message, as counted: the words of the summary line, its JSON,
/// `metrics.json` and the `outcome` label of the Prometheus series, in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::EnumCount, strum::EnumIter)]
pub enum Outcome {
    /// Stored in Aerospike and FIN'd.
    Stored,
    /// Not written: its record holds the same or a newer version (`message.version`);
    /// FIN'd.
    Superseded,
    /// Invalid, kept in the rejected set and FIN'd.
    Invalid,
    /// Valid, but given up after `nsq.max-attempts` failed writes: kept in the
    /// rejected set and FIN'd.
    GivenUp,
    /// Neither stored nor kept (the rejected-set write failed too): published to
    /// `rejected.topic` and FIN'd.
    DeadLettered,
    /// Sent back to NSQ after a failed write (it will be retried).
    Requeued,
    /// Handed back unprocessed because the run stopped first.
    Returned,
    /// Arrived past N and REQ'd at once, never processed.
    OverLimit,
}

impl Outcome {
    /// Every outcome, in the summary line's order.
    pub fn all() -> impl Iterator<Item = Outcome> {
        Outcome::iter()
    }

    /// The word used in the summary line, its JSON and the metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Superseded => "superseded",
            Outcome::Invalid => "invalid",
            Outcome::GivenUp => "given_up",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Requeued => "requeued",
            Outcome::Returned => "returned",
            Outcome::OverLimit => "over_limit",
        }
    }

    /// The outcome a word names (the inverse of [`as_str`](Outcome::as_str)).
    pub fn from_word(word: &str) -> Option<Outcome> {
        Outcome::all().find(|o| o.as_str() == word)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Messages by [`Outcome`]: a batch's, a run's, or every run's so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; Outcome::COUNT]);

impl Counts {
    /// Adds `other`'s counts to these (saturating: totals over years never wrap).
    pub fn add(&mut self, other: &Counts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// Each outcome with its count, in [`Outcome::all`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::all().map(|o| (o, self[o]))
    }

    /// The messages of these outcomes.
    pub fn sum(&self, outcomes: &[Outcome]) -> u64 {
        outcomes.iter().map(|&o| self[o]).sum()
    }
}

impl Index<Outcome> for Counts {
    type Output = u64;
    fn index(&self, outcome: Outcome) -> &u64 {
        &self.0[outcome as usize]
    }
}

impl IndexMut<Outcome> for Counts {
    fn index_mut(&mut self, outcome: Outcome) -> &mut u64 {
        &mut self.0[outcome as usize]
    }
}

/// Read back from the map [`Serialize`](serde::Serialize) writes (`metrics.json`). A
/// word this version does not know (a file a newer x-msrv wrote) is skipped, not an
/// error: monitoring must not stop over a counter it cannot show.
impl<'de> serde::Deserialize<'de> for Counts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let words = std::collections::BTreeMap::<String, u64>::deserialize(d)?;
        let mut counts = Counts::default();
        for (word, n) in words {
            if let Some(outcome) = Outcome::from_word(&word) {
                counts[outcome] = n;
            }
        }
        Ok(counts)
    }
}

/// As a map from each [`Outcome::as_str`] word to its count, in order.
impl serde::Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(Outcome::COUNT))?;
        for (outcome, n) in self.iter() {
            map.serialize_entry(outcome.as_str(), &n)?;
        }
        map.end()
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

    fn transient<T>() -> Result<T, StoreError> {
        Err(StoreError::Transient("Aerospike: DEVICE_OVERLOAD".into()))
    }

    #[test]
    fn a_written_record_is_stored_and_finished() {
        let verdict = after_store(&Ok(Written::Stored), 0, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Fate::Stored));
        assert_eq!(Fate::Stored.settle(), Settle::Finish);
        // create-only: the record was there, so the message is stored.
        let verdict = after_store(&Ok(Written::Existed), 0, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Fate::Stored));
    }

    #[test]
    fn a_message_older_than_its_record_is_superseded_and_finished() {
        let verdict = after_store(&Ok(Written::Superseded), 0, &RETRY);
        assert_eq!(verdict, Verdict::Settle(Fate::Superseded));
        assert_eq!(Fate::Superseded.settle(), Settle::Finish);
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
            Verdict::Settle(Fate::Retry(Duration::from_secs(5)))
        );
        assert_eq!(
            after_store(&transient::<Written>(), 2, &RETRY),
            Verdict::Settle(Fate::Retry(Duration::from_secs(10)))
        );
        let unavailable: Result<Written, StoreError> = Err(StoreError::Unavailable {
            hosts: "db:3000".into(),
            reason: "connection refused".into(),
        });
        assert!(matches!(
            after_store(&unavailable, 1, &RETRY),
            Verdict::Settle(Fate::Retry(_))
        ));
        assert_eq!(
            Fate::Retry(Duration::from_secs(5)).settle(),
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
        assert_eq!(kept, Fate::Kept(KeepKind::Invalid, "schema: bad".into()));
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
                AfterKeep::Settle(Fate::Retry(RETRY.delay(failures)))
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
        assert_eq!(Fate::DeadLettered("x".into()).settle(), Settle::Finish);
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
    fn every_outcome_has_its_own_word_and_reads_back() {
        let words: Vec<&str> = Outcome::all().map(Outcome::as_str).collect();
        assert_eq!(
            words,
            [
                "stored",
                "superseded",
                "invalid",
                "given_up",
                "dead_lettered",
                "requeued",
                "returned",
                "over_limit"
            ]
        );
        for outcome in Outcome::all() {
            assert_eq!(Outcome::from_word(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::from_word("stroed"), None);
    }

    #[test]
    fn counts_add_and_serialize_in_order() {
        let mut a = Counts::default();
        a[Outcome::Stored] = 2;
        a[Outcome::OverLimit] = 1;
        let mut b = a;
        b.add(&a);
        assert_eq!(b[Outcome::Stored], 4);
        assert_eq!(b.sum(&[Outcome::Stored, Outcome::OverLimit]), 6);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"stored":2,"superseded":0,"invalid":0,"given_up":0,"dead_lettered":0,"requeued":0,"returned":0,"over_limit":1}"#
        );
    }
}
