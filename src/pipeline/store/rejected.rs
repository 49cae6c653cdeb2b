//! The rejected set's records: an invalid message (or one given up) kept with its reason.
//!
//! Rejected messages are written to `rejected.set` keyed by `<NSQ message id>-<nsqd
//! timestamp>` ([`RejectedMessage::key`]: a redelivery overwrites, never duplicates; the
//! id alone is unique only per topic of one nsqd), with bins `body` (a string when the
//! raw body is UTF-8, else a blob), `reason`, `attempts`, `nsq_ts` (nsqd's timestamp,
//! ns), `topic` and `channel`. A body too big for a record is cut to [`MAX_KEPT_BODY`]
//! bytes (bin `body_len` then holds the full length), so even that message is kept.

use aerospike::{Bin, Value};
use bytes::Bytes;

use super::write::Row;
use super::{AerospikeSink, StoreError};

/// How much of a rejected body is kept when the whole body does not fit in a record.
pub const MAX_KEPT_BODY: usize = 64 * 1024;

/// An invalid message to keep in the rejected set.
#[derive(Debug, Clone)]
pub struct RejectedMessage {
    /// The NSQ message id.
    pub msg_id: String,
    /// The raw body, exactly as received.
    pub body: Bytes,
    /// Why it was rejected.
    pub reason: String,
    /// Deliveries so far.
    pub attempts: u16,
    /// nsqd's timestamp of the message, ns since the Unix epoch.
    pub timestamp: i64,
    pub topic: String,
    pub channel: String,
}

impl RejectedMessage {
    /// The record key, [`nsq::message_key`]: a redelivery overwrites its own
    /// record, and no other message's.
    pub fn key(&self) -> String {
        nsq::message_key(&self.msg_id, self.timestamp)
    }
}

impl AerospikeSink {
    /// Keeps invalid messages in `rejected.set`, keyed by [`RejectedMessage::key`]. One outcome
    /// per message, in order. A message too big for a record is kept with its body cut
    /// to [`MAX_KEPT_BODY`] bytes.
    pub async fn store_rejected(&self, items: Vec<RejectedMessage>) -> Vec<Result<(), StoreError>> {
        let rows = items
            .iter()
            .map(|m| Row::plain(Value::String(m.key()), rejected_bins(m, None)))
            .collect();
        let mut outcomes = self.write_rejected(rows).await;

        // Second chance for bodies the server found too big: cut them.
        let too_big: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(i, o)| {
                matches!(o, Err(StoreError::Permanent(_))) && items[*i].body.len() > MAX_KEPT_BODY
            })
            .map(|(i, _)| i)
            .collect();
        if !too_big.is_empty() {
            let rows = too_big
                .iter()
                .map(|&i| {
                    let m = &items[i];
                    Row::plain(
                        Value::String(m.key()),
                        rejected_bins(m, Some(MAX_KEPT_BODY)),
                    )
                })
                .collect();
            let retried = self.write_rejected(rows).await;
            for (i, outcome) in too_big.into_iter().zip(retried) {
                outcomes[i] = outcome;
            }
        }
        outcomes
    }

    async fn write_rejected(&self, rows: Vec<Row>) -> Vec<Result<(), StoreError>> {
        self.write_rows(&self.rejected_policy, &self.settings.rejected_set, rows)
            .await
            .into_iter()
            .map(|outcome| outcome.map(|_| ()))
            .collect()
    }
}

fn rejected_bins(m: &RejectedMessage, cut: Option<usize>) -> Vec<Bin> {
    let body = match cut {
        Some(n) if m.body.len() > n => &m.body[..n],
        _ => &m.body[..],
    };
    let body = match std::str::from_utf8(body) {
        Ok(text) => Value::String(text.to_owned()),
        // Cutting may split a UTF-8 sequence; keep the valid prefix as text then.
        Err(e) if cut.is_some() && e.error_len().is_none() => {
            Value::String(String::from_utf8_lossy(&body[..e.valid_up_to()]).into_owned())
        }
        Err(_) => Value::Blob(body.to_vec()),
    };
    let mut bins = vec![
        Bin::new("body", body),
        Bin::new("reason", Value::String(m.reason.clone())),
        Bin::new("attempts", Value::Int(i64::from(m.attempts))),
        Bin::new("nsq_ts", Value::Int(m.timestamp)),
        Bin::new("topic", Value::String(m.topic.clone())),
        Bin::new("channel", Value::String(m.channel.clone())),
    ];
    if cut.is_some() {
        bins.push(Bin::new(
            "body_len",
            Value::Int(i64::try_from(m.body.len()).unwrap_or(i64::MAX)),
        ));
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8]) -> RejectedMessage {
        RejectedMessage {
            msg_id: "0123456789abcdef".into(),
            body: Bytes::copy_from_slice(body),
            reason: "why".into(),
            attempts: 2,
            timestamp: 42,
            topic: "t".into(),
            channel: "c".into(),
        }
    }

    #[test]
    fn rejected_body_is_text_or_blob() {
        let bins = rejected_bins(&message(b"{x"), None);
        assert_eq!(bins[0], Bin::new("body", Value::String("{x".into())));
        assert_eq!(bins.len(), 6);
        let bins = rejected_bins(&message(b"\xff\x00"), None);
        assert_eq!(bins[0], Bin::new("body", Value::Blob(vec![0xff, 0])));
    }

    #[test]
    fn cut_body_keeps_whole_characters_and_the_length() {
        let body = "é".repeat(10); // 20 bytes
        let bins = rejected_bins(&message(body.as_bytes()), Some(5));
        assert_eq!(bins[0], Bin::new("body", Value::String("éé".into())));
        assert_eq!(bins.last().unwrap(), &Bin::new("body_len", Value::Int(20)));
    }
}
