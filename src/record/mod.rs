//! The record stage: a message body becomes a [`Record`] (key + bins) or a [`Rejection`].
//!
//! ```text
//!  body ─► JSON parse ─► JSON Schema ─► key rule ─► bins ─► Record
//!             └────────────┴──────────────┴──────────┴────► Rejection (a reason)
//! ```
//!
//! [`RecordRules`] holds what the steps need (the compiled schema, the key rule); the
//! configuration builds it once at start-up and nothing here reads the configuration
//! again. A message that fails any step is *data*, not an error of the run: the
//! [`Rejection`] carries a reason for a human (`invalid JSON at line 1 column 7: ...`,
//! `schema: /ext/1: "x" is not of type "object"`), and the message is kept with it in
//! the rejected set. No step here is retried, so nothing that could succeed later (a
//! store failure) is ever a `Rejection`.
//!
//! # Layout
//! - `schema`: [`SchemaValidator`], the compiled JSON Schema.
//! - `key`: [`RecordKey`], where the record key comes from.
//! - [`bins`]: the JSON ↔ Aerospike value mapping (both ways: writing, and listing).

pub mod bins;
mod key;
mod schema;

use std::path::Path;

use aerospike::{Bin, Value};

use crate::nsq::MessageId;

pub use key::RecordKey;
pub use schema::{SchemaError, SchemaValidator};

/// Why a message cannot be stored, ever. Never retried: the message is kept in the
/// rejected set with this reason and FIN'd.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not JSON (or not UTF-8).
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid JSON that does not match the schema; the first few violations.
    #[error("schema: {0}")]
    Schema(String),
    /// No usable record key.
    #[error("key: {0}")]
    Key(String),
    /// A field Aerospike cannot store (see [`bins`]).
    #[error("bins: {0}")]
    Bins(String),
}

impl Rejection {
    fn from_json(e: &serde_json::Error) -> Self {
        // serde_json appends " at line L column C" to its message; keep the message
        // alone, the position goes first in ours.
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        Rejection::Json {
            line: e.line(),
            column: e.column(),
            message,
        }
    }
}

/// A message ready to store: its key and its bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's user key (Int or String); stored with the record (`send_key`).
    pub key: Value,
    /// The record's bins, one per top-level field that is not null.
    pub bins: Vec<Bin>,
}

/// Everything between a message body and a record: the compiled schema and the key rule.
#[derive(Debug)]
pub struct RecordRules {
    schema: SchemaValidator,
    key: RecordKey,
}

impl RecordRules {
    pub fn new(schema: SchemaValidator, key: RecordKey) -> Self {
        RecordRules { schema, key }
    }

    /// Parse, schema, key, bins: the record of one message, or why there is none.
    /// `id` and `timestamp` are nsqd's, for a key taken from them (`nsq-id`).
    pub fn to_record(
        &self,
        body: &[u8],
        id: &MessageId,
        timestamp: i64,
    ) -> Result<Record, Rejection> {
        let value = self.schema.check(body)?;
        let key = self.key.extract(&value, id, timestamp)?;
        let bins = bins::to_bins(value).map_err(|e| Rejection::Bins(e.to_string()))?;
        Ok(Record { key, bins })
    }

    /// The file the schema came from.
    pub fn schema_path(&self) -> &Path {
        self.schema.path()
    }

    /// Where record keys come from.
    pub fn key(&self) -> &RecordKey {
        &self.key
    }
}

/// The largest character boundary of `s` at or below `i` (`str::floor_char_boundary`
/// is newer than this crate's rust-version), for cutting long text in a reason.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest character boundary of `s` at or above `i`.
fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_character_boundaries() {
        let s = "aé€"; // 1 + 2 + 3 bytes
        assert_eq!(floor_boundary(s, 2), 1);
        assert_eq!(ceil_boundary(s, 2), 3);
        assert_eq!(floor_boundary(s, 4), 3);
        assert_eq!(ceil_boundary(s, 4), 6);
        assert_eq!(floor_boundary(s, 99), 6);
    }
    use serde_json::json;

    fn schema() -> SchemaValidator {
        SchemaValidator::from_value(&json!({
            "type": "object",
            "required": ["id", "msg"],
            "properties": {
                "id": {"type": "integer"},
                "msg": {"type": "string"},
                "ext": {"type": "array", "items": {"type": "object"}}
            }
        }))
        .unwrap()
    }

    const ID: MessageId = MessageId(*b"0123456789abcdef");
    /// nsqd's timestamp of the test message, ns.
    const TS: i64 = 1_796_000_000_123_456_789;

    #[test]
    fn valid_message_passes() {
        let v = schema()
            .check(br#"{"id": 1, "msg": "m", "ext": [{"a": 1}]}"#)
            .unwrap();
        assert_eq!(v["id"], 1);
    }

    #[test]
    fn broken_json_reports_the_position() {
        let err = schema().check(br#"{"id": x}"#).unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::Json {
                    line: 1,
                    column: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("invalid JSON at line 1 column 8: expected value"),
            "{text}"
        );
        assert!(!text.ends_with("column 8"), "{text}");
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let err = schema()
            .check(b"{\"id\": 1, \"msg\": \"\xff\"}")
            .unwrap_err();
        assert!(matches!(err, Rejection::Json { .. }), "{err:?}");
    }

    #[test]
    fn schema_violation_names_the_place() {
        let err = schema()
            .check(br#"{"id": 1, "msg": "m", "ext": [{"a": 1}, "x"]}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(err, r#"schema: /ext/1: "x" is not of type "object""#);
        let err = schema().check(br#"[1]"#).unwrap_err().to_string();
        assert!(err.starts_with("schema: (root): "), "{err}");
    }

    #[test]
    fn a_huge_value_does_not_make_a_huge_reason() {
        let schema = SchemaValidator::from_value(&json!({
            "type": "object",
            "properties": {"msg": {"type": "string", "maxLength": 10}, "n": {"type": "string"}}
        }))
        .unwrap();
        let body = format!(
            r#"{{"msg": "{}", "n": [{}]}}"#,
            "é".repeat(500_000),
            "1,".repeat(99_999) + "1"
        );
        let err = schema.check(body.as_bytes()).unwrap_err().to_string();
        let start: String = err.chars().take(200).collect();
        assert!(err.len() < 1_000, "{} bytes: {start}...", err.len());
        assert!(err.starts_with("schema: /msg: \"éé"), "{err}");
        assert!(err.contains("… (") && err.contains("/n: "), "{err}");
    }

    #[test]
    fn many_violations_are_summarised() {
        let err = schema()
            .check(br#"{"id": "a", "msg": 2, "ext": [1, 2, 3]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("; and 2 more"), "{err}");
        assert_eq!(err.matches("; ").count(), 3, "{err}");
    }

    #[test]
    fn key_from_pointer() {
        let key = RecordKey::pointer("/id").unwrap();
        assert_eq!(
            key.extract(&json!({"id": 7}), &ID, TS).unwrap(),
            Value::Int(7)
        );
        assert_eq!(
            key.extract(&json!({"id": -7}), &ID, TS).unwrap(),
            Value::Int(-7)
        );
        assert_eq!(
            key.extract(&json!({"id": "k"}), &ID, TS).unwrap(),
            Value::String("k".into())
        );
        let nested = RecordKey::pointer("/meta/a~1b").unwrap();
        assert_eq!(
            nested
                .extract(&json!({"meta": {"a/b": 3}}), &ID, TS)
                .unwrap(),
            Value::Int(3)
        );
    }

    #[test]
    fn unusable_keys_are_rejections() {
        let key = RecordKey::pointer("/id").unwrap();
        for (msg, want) in [
            (json!({}), "key: no value at /id"),
            (json!({"id": null}), "key: /id is null"),
            (json!({"id": 1.5}), "key: /id is 1.5"),
            (json!({"id": true}), "key: /id is a boolean"),
            (json!({"id": [1]}), "key: /id is an array"),
            (
                json!({"id": u64::MAX}),
                "key: /id is 18446744073709551615, above",
            ),
        ] {
            let err = key.extract(&msg, &ID, TS).unwrap_err().to_string();
            assert!(err.starts_with(want), "{msg}: {err}");
        }
    }

    #[test]
    fn key_from_nsq_id() {
        assert_eq!(
            RecordKey::NsqId.extract(&json!({}), &ID, TS).unwrap(),
            Value::String("0123456789abcdef-1796000000123456789".into())
        );
    }

    #[test]
    fn bad_pointers_are_refused() {
        assert!(RecordKey::pointer("id").is_err());
        assert!(RecordKey::pointer("").is_err());
        assert!(RecordKey::pointer("/a~").is_err());
        assert!(RecordKey::pointer("/a~2").is_err());
        assert!(RecordKey::pointer("/a~0~1").is_ok());
    }

    #[test]
    fn to_record_runs_every_step() {
        let rules = RecordRules::new(schema(), RecordKey::pointer("/id").unwrap());
        let p = rules
            .to_record(br#"{"id": 3, "msg": "m", "skip": null}"#, &ID, TS)
            .unwrap();
        assert_eq!(p.key, Value::Int(3));
        assert_eq!(
            p.bins,
            vec![
                Bin::new("id", Value::Int(3)),
                Bin::new("msg", Value::String("m".into()))
            ]
        );
        let err = rules
            .to_record(
                br#"{"id": 3, "msg": "m", "much_too_long_name": 1}"#,
                &ID,
                TS,
            )
            .unwrap_err();
        assert!(matches!(err, Rejection::Bins(_)), "{err:?}");
    }
}
