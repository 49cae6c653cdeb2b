//! The record key rule: where in a message its Aerospike key comes from.
//!
//! The key is what makes a write idempotent: a redelivered message carries the same key
//! and overwrites its own record instead of adding a duplicate.

use aerospike::Value;

use super::Rejection;
use crate::nsq::MessageId;

/// Where a record's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    /// A JSON pointer (RFC 6901) into the message; the value must be an integer that fits
    /// in i64, or a string.
    Pointer(String),
    /// The NSQ message, as [`crate::nsq::message_key`] names it (`<id>-<timestamp>`:
    /// the id alone is not unique across nsqd), stored as a string.
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
        nsq_id: &MessageId,
        timestamp: i64,
    ) -> Result<Value, Rejection> {
        match self {
            RecordKey::NsqId => Ok(Value::String(crate::nsq::message_key(nsq_id, timestamp))),
            RecordKey::Pointer(pointer) => match lookup(message, pointer) {
                None => Err(Rejection::Key(format!("no value at {pointer}"))),
                Some(serde_json::Value::String(s)) => Ok(Value::String(s.clone())),
                Some(serde_json::Value::Number(n)) => match n.as_i64().or_else(|| integral(n)) {
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

/// A float with no fractional part (`7.0`, `8e3`, `-0.0`) as the integer it is: JSON
/// Schema's `"type": "integer"` accepts these, and some encoders write every number as a
/// float. `None` for a fraction or one outside i64.
fn integral(n: &serde_json::Number) -> Option<i64> {
    let f = n.as_f64()?;
    // -2^63 is exact as f64; 2^63 is the first value that does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

/// `serde_json::Value::pointer` without its allocations: it unescapes every token into a
/// new `String`, once per message. A pointer without escapes (the usual `/id`) is walked
/// in place; one with `~0`/`~1` goes the long way.
fn lookup<'a>(value: &'a serde_json::Value, pointer: &str) -> Option<&'a serde_json::Value> {
    if pointer.contains('~') {
        return value.pointer(pointer);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(value, |target, token| match target {
            serde_json::Value::Object(map) => map.get(token),
            // The same index rule as serde_json's: digits only, no leading zero.
            serde_json::Value::Array(list) if token == "0" || !token.starts_with(['0', '+']) => {
                token.parse::<usize>().ok().and_then(|i| list.get(i))
            }
            _ => None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_integer_valued_float_key_is_that_integer() {
        let key = RecordKey::Pointer("/id".into());
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

    #[test]
    fn lookup_agrees_with_serde_json_pointer() {
        let doc = json!({
            "id": 1, "a": {"b": [10, {"c": "x"}], "": 5}, "l": [0, 1, 2],
            "t/u": 3, "t~u": 4, "01": 6
        });
        for pointer in [
            "/id", "/a", "/a/b", "/a/b/0", "/a/b/1/c", "/a/b/2", "/a/", "/l/00", "/l/+1", "/l/1",
            "/l/-1", "/missing", "/id/x", "/t~1u", "/t~0u", "/01", "/a/b/01", "/",
        ] {
            assert_eq!(lookup(&doc, pointer), doc.pointer(pointer), "{pointer}");
        }
    }
}
