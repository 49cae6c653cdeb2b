//! The record key rule: where in a message its Aerospike key comes from.
//!
//! The key is what makes a write idempotent: a redelivered message carries the same key
//! and overwrites its own record instead of adding a duplicate.

use aerospike::Value;

use super::Rejection;

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
