//! Selecting records: the filters of `list`, `redrive` and `purge` (`--reason`, `--since`,
//! `--topic`), and the scan that applies them.
//!
//! The filters are applied over a scan of the set's small bins (the bodies are not
//! read); the matches are sorted oldest first (nsqd's timestamp) and cut to `--limit`.
//! The commands then handle them in batches of `aerospike.batch-size`, whose bodies are
//! read by digest. Records written meanwhile are not part of the run.

use std::fmt;
use std::ops::ControlFlow;

use time::OffsetDateTime;

use super::output::time_of;
use crate::commands::cli::RejectedFilter;
use crate::pipeline::store::{AerospikeSink, RejectedBins, RejectedRecord, StoreError};

/// The filters of one command, with `--since` resolved against the time it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Filter {
    reason: Option<String>,
    since_ns: Option<i64>,
    topic: Option<String>,
}

impl Filter {
    pub(super) fn new(args: &RejectedFilter, now: OffsetDateTime) -> Filter {
        Filter {
            reason: args.reason.clone(),
            since_ns: args.since.map(|s| s.cutoff_ns(now)),
            topic: args.topic.clone(),
        }
    }

    fn matches(&self, r: &RejectedRecord) -> bool {
        self.reason
            .as_ref()
            .is_none_or(|t| r.reason.contains(t.as_str()))
            && self.since_ns.is_none_or(|ns| r.nsq_ts >= ns)
            && self.topic.as_ref().is_none_or(|t| r.topic == *t)
    }
}

/// " matching reason "x", since ..., topic t" (empty without filters).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(reason) = &self.reason {
            parts.push(format!("reason containing {reason:?}"));
        }
        if let Some(ns) = self.since_ns {
            parts.push(format!("received since {}", time_of(ns)));
        }
        if let Some(topic) = &self.topic {
            parts.push(format!("topic {topic:?}"));
        }
        if parts.is_empty() {
            Ok(())
        } else {
            write!(f, " with {}", parts.join(", "))
        }
    }
}

/// The records matching `filter`, oldest first, at most `limit`; and how many matched.
pub(super) async fn select(
    sink: &AerospikeSink,
    filter: &Filter,
    limit: Option<usize>,
) -> Result<(Vec<RejectedRecord>, usize), StoreError> {
    let mut found = Vec::new();
    sink.scan_rejected(RejectedBins::Meta, |r| {
        if filter.matches(&r) {
            found.push(r);
        }
        ControlFlow::Continue(())
    })
    .await?;
    found.sort_by(|a, b| a.nsq_ts.cmp(&b.nsq_ts).then_with(|| a.id.cmp(&b.id)));
    let matched = found.len();
    if let Some(limit) = limit {
        found.truncate(limit);
    }
    Ok((found, matched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::rejected::test_record as record;

    #[test]
    fn filters_combine() {
        let none = Filter::default();
        let r = record("schema: \"id\" is a required property", 100, "events");
        assert!(none.matches(&r));
        let f = Filter {
            reason: Some("required".into()),
            since_ns: Some(100),
            topic: Some("events".into()),
        };
        assert!(f.matches(&r));
        assert!(!f.matches(&record("invalid JSON", 100, "events")));
        assert!(!f.matches(&record("required", 99, "events")));
        assert!(!f.matches(&record("required", 100, "other")));
        assert!(
            !Filter {
                reason: Some("Required".into()),
                ..Filter::default()
            }
            .matches(&r)
        );
        assert_eq!(none.to_string(), "");
        assert!(
            f.to_string()
                .starts_with(" with reason containing \"required\", received since 1970")
        );
    }
}
