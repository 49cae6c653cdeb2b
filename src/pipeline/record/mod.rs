//! The record stage: a message body becomes a [`Record`] (key, bins, and where and how
//! it is written) or a [`Rejection`].
//!
//! ```text
//!  body ─► JSON parse ─► JSON Schema ─► key ─► set, TTL, version ─► layout ─► Record
//!             └────────────┴──────────────┴────────┴─────────────────┴──────► Rejection (a reason)
//! ```
//!
//! [`RecordRules`] holds what the steps need (the compiled schema, the key rule, the
//! routing pointers, the layout); the configuration builds it once at start-up and
//! nothing here reads the configuration again. A message that fails any step is *data*,
//! not an error of the run: the [`Rejection`] carries a reason for a human (`invalid
//! JSON at line 1 column 7: ...`, `schema: /ext/1: "x" is not of type "object"`, `set:
//! /type is 5; a set name must be a string`), and the message is kept with it in the
//! rejected set. No step here is retried, so nothing that could succeed later (a store
//! failure) is ever a `Rejection`.
//!
//! # Layout
//! - `schema`: [`SchemaValidator`], the compiled JSON Schema.
//! - `key`: [`RecordKey`], where the record key comes from.
//! - `pointer`: [`Pointer`], a checked JSON pointer into a message.
//! - `route`: the set, TTL and version a message names ([`Routing`], [`VersionRule`]).
//! - `layout`: [`Layout`], how the fields become bins (`bins` or `document`).
//! - [`bins`]: the JSON ↔ Aerospike value mapping (both ways: writing, and listing).

pub mod bins;
mod key;
mod layout;
mod pointer;
mod route;
mod rule_error;
mod schema;

use std::path::Path;

use aerospike::{Bin, Value};

use nsq::MessageId;

pub use key::RecordKey;
pub use layout::{IndexBin, Layout, check_bin_name};
pub use pointer::Pointer;
pub use route::{MAX_TTL, Routing, VersionRule, check_set_name};
pub use rule_error::RuleError;
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
    /// `aerospike.set-from` names no usable set.
    #[error("set: {0}")]
    Set(String),
    /// `aerospike.ttl-from` holds no usable TTL.
    #[error("ttl: {0}")]
    Ttl(String),
    /// `message.version` holds no usable version.
    #[error("version: {0}")]
    Version(String),
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

/// A message ready to store: its key, its bins, and where and how they are written.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's user key (Int or String); stored with the record (`send_key`).
    pub key: Value,
    /// The record's bins (see [`Layout`]).
    pub bins: Vec<Bin>,
    /// The set the message names (`aerospike.set-from`); `None`: `aerospike.set`.
    pub set: Option<String>,
    /// The TTL the message gives, seconds (`aerospike.ttl-from`); `None`: `aerospike.ttl`.
    pub ttl: Option<u32>,
    /// The message's version (`message.version`), also in the version bin: the write
    /// applies only when the stored record has none or a lower one.
    pub version: Option<i64>,
}

/// Everything between a message body and a record: the compiled schema, the key rule,
/// the routing pointers and the layout.
#[derive(Debug)]
pub struct RecordRules {
    schema: SchemaValidator,
    key: RecordKey,
    routing: Routing,
    layout: Layout,
    version: Option<VersionRule>,
}

impl RecordRules {
    /// Rules with today's defaults: no routing, the `bins` layout, no version.
    pub fn new(schema: SchemaValidator, key: RecordKey) -> Self {
        RecordRules {
            schema,
            key,
            routing: Routing::default(),
            layout: Layout::Bins,
            version: None,
        }
    }

    /// With the set and TTL taken from the message.
    pub fn with_routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// With another layout.
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// With an ordering guard. The configuration has checked the version bin against
    /// the layout's own bins ([`Layout::fixed_bins`]).
    pub fn with_version(mut self, version: VersionRule) -> Self {
        self.version = Some(version);
        self
    }

    /// Parse, schema, key, routing, bins: the record of one message, or why there is
    /// none. `id` and `timestamp` are nsqd's, for a key taken from them (`nsq-id`).
    pub fn to_record(
        &self,
        body: &[u8],
        id: &MessageId,
        timestamp: i64,
    ) -> Result<Record, Rejection> {
        let value = self.schema.check(body)?;
        let key = self.key.extract(&value, id, timestamp)?;
        let set = self.routing.set(&value)?;
        let ttl = self.routing.ttl(&value, std::time::SystemTime::now)?;
        let version = self
            .version
            .as_ref()
            .map(|v| v.extract(&value))
            .transpose()?;
        let mut bins = self
            .layout
            .to_bins(value)
            .map_err(|e| Rejection::Bins(e.to_string()))?;
        if let (Some(rule), Some(version)) = (&self.version, version) {
            rule.add_bin(&mut bins, version)?;
        }
        Ok(Record {
            key,
            bins,
            set,
            ttl,
            version,
        })
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

/// The NSQ id of the `n`-th message checked without nsqd (`x-msrv check --message`,
/// `rejected redrive --dry-run`), for the one rule that reads it: `message.key =
/// "nsq-id"`. Like nsqd's ids it is 16 hex digits, distinct for each `n`; nsqd gives a
/// published message its own, so a key made from this one is only an example.
pub fn synthetic_id(n: u64) -> MessageId {
    let mut id = [0; 16];
    id.copy_from_slice(format!("{n:016x}").as_bytes());
    MessageId(id)
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
    fn synthetic_ids_look_like_nsqd_ids() {
        assert_eq!(synthetic_id(0).as_str(), "0000000000000000");
        assert_eq!(synthetic_id(42).as_str(), "000000000000002a");
        assert_eq!(synthetic_id(u64::MAX).as_str(), "ffffffffffffffff");
    }

    #[test]
    fn to_record_runs_every_step() {
        let rules = RecordRules::new(schema(), RecordKey::pointer("/id").unwrap());
        let p = rules
            .to_record(br#"{"id": 3, "msg": "m", "skip": null}"#, &ID, TS)
            .unwrap();
        assert_eq!(p.key, Value::Int(3));
        assert_eq!((p.set, p.ttl, p.version), (None, None, None));
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
