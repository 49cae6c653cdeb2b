//! The record key rule: where in a message its Aerospike key comes from.
//!
//! The key is what makes a write idempotent: a redelivered message carries the same key
//! and overwrites its own record instead of adding a duplicate.

use crate::pipeline::record::RuleError;
use aerospike::Value;

use super::Rejection;
use super::pointer::{Pointer, integral, json_type};
use nsq::MessageId;

/// Where a record's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A JSON pointer (RFC 6901) into the message; the value must be an integer that fits
    /// in i64, or a string.
    Pointer(Pointer),
    /// The NSQ message, as [`nsq::message_key`] names it (`<id>-<timestamp>`:
    /// the id alone is not unique across nsqd), stored as a string.
    NsqId,
}

impl RecordKey {
    /// Checks a JSON pointer: empty (the whole message, never a scalar key) is refused,
    /// as is anything not starting with `/` or with an escape other than `~0`/`~1`.
    pub fn pointer(text: &str) -> Result<Self, RuleError> {
        if !text.starts_with('/') {
            return Err(RuleError::NotAKey(text.to_owned()));
        }
        Pointer::parse(text).map(RecordKey::Pointer)
    }

    /// The key of one message, as an Aerospike key value (Int or String).
    pub fn extract(
        &self,
        message: &serde_json::Value,
        nsq_id: &MessageId,
        timestamp: i64,
    ) -> Result<Value, Rejection> {
        match self {
            RecordKey::NsqId => Ok(Value::String(nsq::message_key(nsq_id, timestamp))),
            RecordKey::Pointer(pointer) => match pointer.get(message) {
                None => Err(Rejection::Key(format!("no value at {pointer}"))),
                Some(serde_json::Value::String(s)) => Ok(Value::String(s.clone())),
                Some(serde_json::Value::Number(n)) => match integral(n) {
                    Some(i) => Ok(Value::Int(i)),
                    None if n.is_u64() => Err(Rejection::Key(format!(
                        "{pointer} is {n}, above the largest Aerospike integer key (2^63-1)"
                    ))),
                    None => Err(Rejection::Key(format!(
                        "{pointer} is {n}; a key must be an integer or a string"
                    ))),
                },
                Some(other) => Err(Rejection::Key(format!(
                    "{pointer} is {}; a key must be an integer or a string",
                    json_type(other)
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_valued_float_key_is_that_integer() {
        let key = RecordKey::pointer("/id").unwrap();
        let id = MessageId([b'0'; 16]);
        for (body, want) in [
            (r#"{"id": 7.0}"#, Some(7)),
            (r#"{"id": 8e3}"#, Some(8000)),
            (r#"{"id": -0.0}"#, Some(0)),
            (r#"{"id": -9223372036854775808.0}"#, Some(i64::MIN)),
            (r#"{"id": 1.5}"#, None),
            (r#"{"id": 9223372036854775808.0}"#, None),
            (r#"{"id": 1e300}"#, None),
        ] {
            let doc: serde_json::Value = serde_json::from_str(body).unwrap();
            let got = key.extract(&doc, &id, 0);
            match want {
                Some(i) => assert_eq!(got, Ok(Value::Int(i)), "{body}"),
                None => assert!(
                    matches!(&got, Err(Rejection::Key(r)) if r.contains("a key must be an integer or a string")),
                    "{body}: {got:?}"
                ),
            }
        }
    }
}
