//! Message validation: JSON parse, JSON Schema, record key, bins — or a [`Rejection`].
//!
//! A message that fails any step is *data*, not an error of the run: the [`Rejection`]
//! carries a reason for a human (`invalid JSON at line 1 column 7: ...`,
//! `schema: /ext/1: "x" is not of type "object"`), and the message is kept with it in
//! the rejected set. No step here is retried, so nothing that could succeed later (a
//! store failure) is ever a `Rejection`.
//!
//! The schema is compiled once, when the configuration is loaded; `$ref`s to local files
//! resolve relative to the schema file (remote references are not fetched: x-msrv is
//! built without an HTTP client for them).

use std::fmt;
use std::path::{Path, PathBuf};

use aerospike::{Bin, Value};

use crate::config::MessageSettings;
use crate::store::bins;

/// How many schema violations a reason lists before it says "and N more".
const MAX_REPORTED_SCHEMA_ERRORS: usize = 3;

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
    /// A field Aerospike cannot store (see [`crate::store::bins`]).
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

/// Why a schema file cannot be used (a configuration error).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a valid JSON Schema: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A compiled JSON Schema.
pub struct SchemaValidator {
    path: PathBuf,
    validator: jsonschema::Validator,
}

impl fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SchemaValidator {
    /// Reads and compiles the schema at `path`.
    pub fn from_file(path: &Path) -> Result<Self, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let schema: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| SchemaError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        // The file's own URI as the base, so `{"$ref": "common.json"}` finds its sibling.
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let validator = jsonschema::options()
            .with_base_uri(format!("file://{}", absolute.display()))
            .build(&schema)
            .map_err(|e| SchemaError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(SchemaValidator {
            path: path.to_path_buf(),
            validator,
        })
    }

    /// Compiles a schema given as a value (tests, tools); local `$ref`s only.
    pub fn from_value(schema: &serde_json::Value) -> Result<Self, SchemaError> {
        let validator = jsonschema::validator_for(schema).map_err(|e| SchemaError::Invalid {
            path: PathBuf::from("(inline schema)"),
            message: e.to_string(),
        })?;
        Ok(SchemaValidator {
            path: PathBuf::from("(inline schema)"),
            validator,
        })
    }

    /// The file the schema came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parses `body` and checks it against the schema.
    pub fn check(&self, body: &[u8]) -> Result<serde_json::Value, Rejection> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Rejection::from_json(&e))?;
        self.check_value(&value)?;
        Ok(value)
    }

    /// Checks an already parsed value against the schema.
    pub fn check_value(&self, value: &serde_json::Value) -> Result<(), Rejection> {
        if self.validator.is_valid(value) {
            return Ok(());
        }
        let mut reasons = Vec::new();
        let mut total = 0usize;
        for error in self.validator.iter_errors(value) {
            total += 1;
            if reasons.len() < MAX_REPORTED_SCHEMA_ERRORS {
                let at = error.instance_path().as_str();
                let at = if at.is_empty() { "(root)" } else { at };
                reasons.push(format!("{at}: {error}"));
            }
        }
        let mut reason = reasons.join("; ");
        if total > reasons.len() {
            reason.push_str(&format!("; and {} more", total - reasons.len()));
        }
        Err(Rejection::Schema(reason))
    }
}

/// Where a record's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A JSON pointer (RFC 6901) into the message; the value must be an integer that fits
    /// in i64, or a string.
    Pointer(String),
    /// The NSQ message id (16 ASCII characters), stored as a string.
    NsqId,
}

impl RecordKey {
    /// Checks a JSON pointer: empty (the whole message, never a scalar key) is refused,
    /// as is anything not starting with `/` or with an escape other than `~0`/`~1`.
    pub fn pointer(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!(
                "{text:?} is neither \"nsq-id\" nor a JSON pointer like \"/id\" (it must start with '/')"
            ));
        }
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "{text:?}: in a JSON pointer '~' must be followed by 0 or 1"
                ));
            }
        }
        Ok(RecordKey::Pointer(text.to_owned()))
    }

    /// The key of one message, as an Aerospike key value (Int or String).
    pub fn extract(
        &self,
        message: &serde_json::Value,
        nsq_id: &[u8; 16],
    ) -> Result<Value, Rejection> {
        match self {
            RecordKey::NsqId => Ok(Value::String(String::from_utf8_lossy(nsq_id).into_owned())),
            RecordKey::Pointer(pointer) => match message.pointer(pointer) {
                None => Err(Rejection::Key(format!("no value at {pointer}"))),
                Some(serde_json::Value::String(s)) => Ok(Value::String(s.clone())),
                Some(serde_json::Value::Number(n)) => match n.as_i64() {
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

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A message ready to store: its key and its bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The record's user key (Int or String); stored with the record (`send_key`).
    pub key: Value,
    /// The record's bins, one per top-level field that is not null.
    pub bins: Vec<Bin>,
}

impl MessageSettings {
    /// Parse, schema, key, bins: everything between a message body and a record.
    pub fn prepare(&self, body: &[u8], nsq_id: &[u8; 16]) -> Result<Prepared, Rejection> {
        let value = self.validator.check(body)?;
        let key = self.key.extract(&value, nsq_id)?;
        let bins = bins::to_bins(value).map_err(|e| Rejection::Bins(e.to_string()))?;
        Ok(Prepared { key, bins })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    const ID: &[u8; 16] = b"0123456789abcdef";

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
        assert_eq!(key.extract(&json!({"id": 7}), ID).unwrap(), Value::Int(7));
        assert_eq!(key.extract(&json!({"id": -7}), ID).unwrap(), Value::Int(-7));
        assert_eq!(
            key.extract(&json!({"id": "k"}), ID).unwrap(),
            Value::String("k".into())
        );
        let nested = RecordKey::pointer("/meta/a~1b").unwrap();
        assert_eq!(
            nested.extract(&json!({"meta": {"a/b": 3}}), ID).unwrap(),
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
            let err = key.extract(&msg, ID).unwrap_err().to_string();
            assert!(err.starts_with(want), "{msg}: {err}");
        }
    }

    #[test]
    fn key_from_nsq_id() {
        assert_eq!(
            RecordKey::NsqId.extract(&json!({}), ID).unwrap(),
            Value::String("0123456789abcdef".into())
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
    fn prepare_runs_every_step() {
        let settings = MessageSettings {
            schema_path: PathBuf::from("inline"),
            validator: schema(),
            key: RecordKey::pointer("/id").unwrap(),
        };
        let p = settings
            .prepare(br#"{"id": 3, "msg": "m", "skip": null}"#, ID)
            .unwrap();
        assert_eq!(p.key, Value::Int(3));
        assert_eq!(
            p.bins,
            vec![
                Bin::new("id", Value::Int(3)),
                Bin::new("msg", Value::String("m".into()))
            ]
        );
        let err = settings
            .prepare(br#"{"id": 3, "msg": "m", "much_too_long_name": 1}"#, ID)
            .unwrap_err();
        assert!(matches!(err, Rejection::Bins(_)), "{err:?}");
    }
}
