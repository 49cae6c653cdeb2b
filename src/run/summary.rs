//! What a run (or a batch of `serve`) did: [`RunSummary`], why it stopped
//! ([`StopReason`]), and what kept it from starting ([`RunError`]).

use std::time::{Duration, Instant};

use crate::pipeline::outcome::{Counts, Outcome};
use crate::pipeline::store::StoreError;
use nsq::NsqError;

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

/// What a run did; logged as one line and mapped to the exit code by the command layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunSummary {
    /// Messages taken from NSQ (at most N).
    pub received: u64,
    /// What became of them, by outcome (each a field of the JSON: `stored`, …).
    #[serde(flatten)]
    pub counts: Counts,
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
        write!(f, "received={}", self.received)?;
        for (outcome, n) in self.counts.iter() {
            write!(f, " {outcome}={n}")?;
        }
        write!(
            f,
            " stop_reason={} duration_ms={}",
            self.stop_reason,
            self.duration.as_millis()
        )
    }
}

impl RunSummary {
    /// A run that stopped before any message could flow.
    pub fn stopped_before_start(stop_reason: StopReason, started: Instant) -> RunSummary {
        RunSummary {
            received: 0,
            counts: Counts::default(),
            stop_reason,
            duration: started.elapsed(),
        }
    }

    /// Messages of `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.counts[outcome]
    }

    /// True when some message could not be stored this time (it is back in NSQ), or the
    /// run could not finish talking to NSQ: the next run has work to redo.
    pub fn is_temporary_failure(&self) -> bool {
        self.count(Outcome::Requeued) > 0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_the_same_as_text_and_json() {
        let mut counts = Counts::default();
        for (outcome, n) in [
            (Outcome::Stored, 3),
            (Outcome::Invalid, 1),
            (Outcome::GivenUp, 1),
            (Outcome::Requeued, 1),
            (Outcome::OverLimit, 2),
        ] {
            counts[outcome] = n;
        }
        let summary = RunSummary {
            received: 5,
            counts,
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
}
