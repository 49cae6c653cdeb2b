//! JSON pointers (RFC 6901) into a message: the key, the set, the TTL, the version and
//! the index bins are each found through one.

use crate::pipeline::record::RuleError;
use std::fmt;

/// A checked JSON pointer to a field of the message (never the whole message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer(String);

impl Pointer {
    /// Checks a pointer: it starts with `/` (empty, the whole message, is refused), and
    /// every `~` is followed by `0` or `1`.
    pub fn parse(text: &str) -> Result<Pointer, RuleError> {
        if !text.starts_with('/') {
            return Err(RuleError::NotAPointer(text.to_owned()));
        }
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(RuleError::BadEscape(text.to_owned()));
            }
        }
        Ok(Pointer(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The field's value in `message`; `None` when there is none. A JSON `null` is
    /// returned as it is: each caller says what a null means.
    pub fn get<'a>(&self, message: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        lookup(message, &self.0)
    }

    /// The last token, unescaped (`/meta/a~1b` → `a/b`): the name an index bin gets.
    pub fn last_token(&self) -> String {
        let last = self.0.rsplit('/').next().unwrap_or_default();
        last.replace("~1", "/").replace("~0", "~")
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `serde_json::Value::pointer` without its allocations: it unescapes every token into a
/// new `String`, once per message. A pointer without escapes (the usual `/id`) is walked
/// in place; one with `~0`/`~1` goes the long way.
pub(super) fn lookup<'a>(
    value: &'a serde_json::Value,
    pointer: &str,
) -> Option<&'a serde_json::Value> {
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

/// A JSON value's kind, as a reason names it (`/id is a boolean`).
pub(super) fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A float with no fractional part (`7.0`, `8e3`, `-0.0`) as the integer it is: JSON
/// Schema's `"type": "integer"` accepts these, and some encoders write every number as a
/// float. `None` for a fraction or one outside i64.
pub(super) fn integral(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // -2^63 is exact as f64; 2^63 is the first value that does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f)).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn bad_pointers_are_refused() {
        assert!(Pointer::parse("id").is_err());
        assert!(Pointer::parse("").is_err());
        assert!(Pointer::parse("/a~").is_err());
        assert!(Pointer::parse("/a~2").is_err());
        assert!(Pointer::parse("/a~0~1").is_ok());
    }

    #[test]
    fn the_last_token_is_unescaped() {
        assert_eq!(Pointer::parse("/id").unwrap().last_token(), "id");
        assert_eq!(
            Pointer::parse("/meta/a~1b~0c").unwrap().last_token(),
            "a/b~c"
        );
        assert_eq!(Pointer::parse("/").unwrap().last_token(), "");
    }
}
