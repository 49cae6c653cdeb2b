//! JSON message → Aerospike bins.
//!
//! The `aerospike` crate has no conversion from `serde_json` values, and one of its own
//! (`Value::from(u64)`) panics above `i64::MAX`, so this is ours. The rule, as documented
//! for operators (README, man page):
//!
//! | JSON                                   | Aerospike                                   |
//! |----------------------------------------|---------------------------------------------|
//! | the message (must be an object)        | the record; each top-level field → one bin  |
//! | object                                 | map (string keys, in key order)             |
//! | array                                  | list                                        |
//! | string                                 | string                                      |
//! | `true` / `false`                       | boolean                                     |
//! | integer in −2^63 … 2^63−1              | integer                                     |
//! | integer in 2^63 … 2^64−1               | string of its decimal digits (lossless; Aerospike integers are signed 64-bit) |
//! | any other number (fraction, exponent, beyond u64) | float (64-bit)                   |
//! | top-level `null`                       | no bin (in Aerospike writing nil deletes a bin, so the field is simply absent) |
//! | nested `null`                          | nil                                         |
//!
//! A field name that is empty or longer than [`MAX_BIN_NAME_LEN`] bytes (the server
//! answers `BIN_NAME_TOO_LONG` for the whole record), a message that is not an object,
//! and a message with no storable field (all null, or `{}`) cannot be stored: they are
//! rejections, kept in the rejected set, never requeued.

use aerospike::{Bin, IndexMap, Value};

/// Aerospike's longest bin name, in bytes.
pub const MAX_BIN_NAME_LEN: usize = 15;

/// Why a message cannot become bins. Permanent: the same message always fails the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinsError {
    #[error("the message is {0}, not a JSON object; only an object maps to bins")]
    NotAnObject(&'static str),
    #[error("the message has no field to store (it is empty or every field is null)")]
    NoBins,
    #[error("field name {name:?} is {len} bytes; Aerospike bin names are 1 to 15 bytes")]
    BadBinName { name: String, len: usize },
}

/// Longest part of a bad field name quoted in a reason: a name can be nearly 1 MiB, and
/// the reason is stored beside the body in the rejected record.
const MAX_QUOTED_NAME: usize = 40;

/// `name` as quoted in a reason: whole when short, else its first
/// [`MAX_QUOTED_NAME`] bytes (at a character boundary) and "…".
fn quotable(mut name: String) -> String {
    if name.len() > MAX_QUOTED_NAME {
        name.truncate(super::floor_boundary(&name, MAX_QUOTED_NAME));
        name.push('…');
    }
    name
}

/// Converts a parsed message into bins, by the rule in the module doc.
pub fn to_bins(message: serde_json::Value) -> Result<Vec<Bin>, BinsError> {
    let fields = match message {
        serde_json::Value::Object(fields) => fields,
        serde_json::Value::Null => return Err(BinsError::NotAnObject("null")),
        serde_json::Value::Bool(_) => return Err(BinsError::NotAnObject("a boolean")),
        serde_json::Value::Number(_) => return Err(BinsError::NotAnObject("a number")),
        serde_json::Value::String(_) => return Err(BinsError::NotAnObject("a string")),
        serde_json::Value::Array(_) => return Err(BinsError::NotAnObject("an array")),
    };
    let mut bins = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        if name.is_empty() || name.len() > MAX_BIN_NAME_LEN {
            let len = name.len();
            return Err(BinsError::BadBinName {
                name: quotable(name),
                len,
            });
        }
        // A nil bin in a write deletes that bin: leave the field out instead.
        if value.is_null() {
            continue;
        }
        bins.push(Bin::new(name, to_value(value)));
    }
    if bins.is_empty() {
        return Err(BinsError::NoBins);
    }
    Ok(bins)
}

/// Converts one JSON value (at any depth) into an Aerospike value.
pub fn to_value(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => number(&n),
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(to_value).collect()),
        serde_json::Value::Object(fields) => {
            // In key order: serde_json is built without `preserve_order`, so its maps are
            // sorted by key, and that is the order kept. The message's own order could
            // not be kept anyway: the server has no insertion-ordered map and returns a
            // map's entries in key order however it was written (an `OrderedMap` goes on
            // the wire as an unordered map with its pairs in this order). Sorted keys
            // also make the same message encode to the same bytes every time.
            let map: IndexMap<Value, Value> = fields
                .into_iter()
                .map(|(k, v)| (Value::String(k), to_value(v)))
                .collect();
            Value::OrderedMap(map)
        }
    }
}

fn number(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        // Above i64::MAX: Aerospike has no unsigned integers (and the crate's
        // `Value::from(u64)` panics here). A float would lose digits; the decimal
        // string keeps them all.
        Value::String(u.to_string())
    } else {
        // Not an integer serde_json can hold: a fraction, an exponent, or an integer
        // beyond u64, which serde_json itself already parsed as a float.
        Value::from(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// An Aerospike value back as JSON, for listing records: the inverse of [`to_value`]
/// where one exists. Blobs (the raw body of a rejected non-UTF-8 message) become a
/// string of hex digits prefixed with `0x`; other kinds a crate may return (GeoJSON,
/// HLL) become strings.
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Nil | Value::Infinity | Value::Wildcard => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => {
            let f = f64::from(f);
            serde_json::Number::from_f64(f).map_or(J::Null, J::Number)
        }
        Value::String(s) | Value::GeoJson(s) => J::String(s.clone()),
        Value::Blob(b) | Value::Hll(b) | Value::Unknown(_, b) => J::String(hex(b)),
        Value::List(items) | Value::MultiResult(items) => {
            J::Array(items.iter().map(to_json).collect())
        }
        Value::HashMap(m) => map_json(m.iter()),
        Value::OrderedMap(m) => map_json(m.iter()),
        Value::SortedMap(m) => map_json(m.iter()),
        Value::KeyValueList(pairs) => map_json(pairs.iter().map(|(k, v)| (k, v))),
        // A kind added to the crate later: show what we can rather than fail a listing.
        other => J::String(format!("{other:?}")),
    }
}

fn map_json<'a>(entries: impl Iterator<Item = (&'a Value, &'a Value)>) -> serde_json::Value {
    let map = entries
        .map(|(k, v)| {
            let key = match k {
                Value::String(s) => s.clone(),
                other => match to_json(other) {
                    serde_json::Value::String(s) => s,
                    json => json.to_string(),
                },
            };
            (key, to_json(v))
        })
        .collect();
    serde_json::Value::Object(map)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bin(name: &str, value: Value) -> Bin {
        Bin::new(name, value)
    }

    #[test]
    fn scalars() {
        let bins = to_bins(json!({"b": true, "i": -3, "f": 1.5, "s": "x"})).unwrap();
        let mut bins = bins;
        bins.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            bins,
            vec![
                bin("b", Value::Bool(true)),
                bin("f", Value::from(1.5)),
                bin("i", Value::Int(-3)),
                bin("s", Value::String("x".into())),
            ]
        );
    }

    #[test]
    fn integer_edges() {
        assert_eq!(to_value(json!(i64::MAX)), Value::Int(i64::MAX));
        assert_eq!(to_value(json!(i64::MIN)), Value::Int(i64::MIN));
        // Above i64::MAX: the decimal string, never a panic and never a rounded float.
        assert_eq!(
            to_value(json!(u64::MAX)),
            Value::String("18446744073709551615".into())
        );
        assert_eq!(
            to_value(json!(9_223_372_036_854_775_808_u64)),
            Value::String("9223372036854775808".into())
        );
        // Beyond u64 serde_json only has a float.
        let big: serde_json::Value = serde_json::from_str("1e30").unwrap();
        assert_eq!(to_value(big), Value::from(1e30));
        let huge: serde_json::Value =
            serde_json::from_str("123456789012345678901234567890").unwrap();
        assert!(matches!(to_value(huge), Value::Float(_)));
    }

    #[test]
    fn maps_and_bins_are_in_key_order() {
        let message: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": 1, "x": 2}}"#).unwrap();
        let bins = to_bins(message).unwrap();
        let names: Vec<_> = bins.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let Value::OrderedMap(map) = &bins[0].value else {
            panic!("an object is a map: {:?}", bins[0].value)
        };
        let keys: Vec<_> = map.keys().cloned().collect();
        assert_eq!(keys, [Value::String("x".into()), Value::String("y".into())]);
    }

    #[test]
    fn nested_structures() {
        let bins =
            to_bins(json!({"ext": [{"ext1": "xxx"}, {"ext2": 42}, null, [1, 2.5]]})).unwrap();
        let mut m1 = IndexMap::new();
        m1.insert(Value::String("ext1".into()), Value::String("xxx".into()));
        let mut m2 = IndexMap::new();
        m2.insert(Value::String("ext2".into()), Value::Int(42));
        assert_eq!(
            bins,
            vec![bin(
                "ext",
                Value::List(vec![
                    Value::OrderedMap(m1),
                    Value::OrderedMap(m2),
                    Value::Nil,
                    Value::List(vec![Value::Int(1), Value::from(2.5)]),
                ])
            )]
        );
    }

    #[test]
    fn top_level_null_is_left_out_nested_null_kept() {
        let bins = to_bins(json!({"a": null, "b": {"c": null}})).unwrap();
        let mut m = IndexMap::new();
        m.insert(Value::String("c".into()), Value::Nil);
        assert_eq!(bins, vec![bin("b", Value::OrderedMap(m))]);
    }

    #[test]
    fn bin_names() {
        assert!(to_bins(json!({"fifteen_bytes__": 1})).is_ok());
        let err = to_bins(json!({"sixteen_bytes___": 1})).unwrap_err();
        assert_eq!(
            err,
            BinsError::BadBinName {
                name: "sixteen_bytes___".into(),
                len: 16
            }
        );
        assert!(matches!(
            to_bins(json!({"": 1})),
            Err(BinsError::BadBinName { len: 0, .. })
        ));
        // Bytes, not characters: 8 × 'é' is 16 bytes.
        assert!(matches!(
            to_bins(json!({"éééééééé": 1})),
            Err(BinsError::BadBinName { len: 16, .. })
        ));
        // A huge name is quoted cut, its length given whole.
        let err = to_bins(json!({"h".repeat(100_000): 1})).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "field name \"{}…\" is 100000 bytes; Aerospike bin names are 1 to 15 bytes",
                "h".repeat(40)
            )
        );
        // A long name nested in a map is a map key, not a bin name: allowed.
        assert!(to_bins(json!({"m": {"a_very_long_map_key_name": 1}})).is_ok());
    }

    #[test]
    fn non_objects_and_empty_messages() {
        assert_eq!(to_bins(json!([1])), Err(BinsError::NotAnObject("an array")));
        assert_eq!(to_bins(json!("s")), Err(BinsError::NotAnObject("a string")));
        assert_eq!(to_bins(json!({})), Err(BinsError::NoBins));
        assert_eq!(to_bins(json!({"a": null})), Err(BinsError::NoBins));
    }

    #[test]
    fn back_to_json() {
        let original = json!({"a": [1, 2.5, "s", true, null, {"k": "v"}]});
        let bins = to_bins(original.clone()).unwrap();
        assert_eq!(json!({"a": to_json(&bins[0].value)}), original);
        assert_eq!(to_json(&Value::Blob(vec![0xff, 0x01])), json!("0xff01"));
    }
}
