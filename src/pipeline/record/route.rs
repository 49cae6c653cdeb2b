//! What a message says about its own record: the set (`aerospike.set-from`), the TTL
//! (`aerospike.ttl-from`) and the version (`message.version`). Each is read through a
//! JSON pointer; an absent (or null) field means the configured default, a field that
//! holds something unusable is a [`Rejection`] naming the pointer and the value.

use crate::pipeline::record::RuleError;
use std::time::{Duration, SystemTime};

use aerospike::{Bin, Value};

use super::Layout;
use super::Rejection;
use super::layout::check_bin_name;
use super::pointer::{Pointer, integral, json_type};

/// Aerospike's longest TTL: ten years of 365 days (the server's `MAX_ALLOWED_TTL`; a
/// longer one is refused with PARAMETER_ERROR).
pub const MAX_TTL: u32 = 10 * 365 * 24 * 3600;

/// Aerospike's longest set name, in bytes.
pub(crate) const MAX_SET_LEN: usize = 63;

/// Longest part of a value quoted in a reason.
const MAX_QUOTED: usize = 80;

/// `Ok` when `set` can be an Aerospike set name, else why not.
pub fn check_set_name(set: &str) -> Result<(), RuleError> {
    if set.is_empty() || set.len() > MAX_SET_LEN || set.contains(['.', ':', ';', '\0']) {
        return Err(RuleError::SetName(quoted(set)));
    }
    Ok(())
}

fn quoted(text: &str) -> String {
    if text.len() <= MAX_QUOTED {
        return text.to_owned();
    }
    format!("{}…", &text[..super::floor_boundary(text, MAX_QUOTED)])
}

/// `aerospike.set-from` and `aerospike.ttl-from`, checked.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// The field naming the record's set.
    pub set_from: Option<Pointer>,
    /// The field giving the record's TTL: seconds, or an RFC 3339 expiry time.
    pub ttl_from: Option<Pointer>,
    /// A set a message may not name: `rejected.set`.
    pub rejected_set: String,
}

impl Routing {
    /// The set `message` names; `None`: the configured one.
    pub(super) fn set(&self, message: &serde_json::Value) -> Result<Option<String>, Rejection> {
        let Some(pointer) = &self.set_from else {
            return Ok(None);
        };
        match pointer.get(message) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(set)) => {
                check_set_name(set).map_err(|why| Rejection::Set(format!("{pointer} is {why}")))?;
                if *set == self.rejected_set {
                    return Err(Rejection::Set(format!(
                        "{pointer} names {set:?}, the rejected set (rejected.set)"
                    )));
                }
                Ok(Some(set.clone()))
            }
            Some(other) => Err(Rejection::Set(format!(
                "{pointer} is {}; a set name must be a string",
                json_type(other)
            ))),
        }
    }

    /// The TTL `message` gives, in seconds from `now()` (asked only for an expiry
    /// time); `None`: the configured one.
    pub(super) fn ttl(
        &self,
        message: &serde_json::Value,
        now: impl FnOnce() -> SystemTime,
    ) -> Result<Option<u32>, Rejection> {
        let Some(pointer) = &self.ttl_from else {
            return Ok(None);
        };
        let bad = |why: String| Rejection::Ttl(format!("{pointer} {why}"));
        let seconds = match pointer.get(message) {
            None | Some(serde_json::Value::Null) => return Ok(None),
            Some(serde_json::Value::Number(n)) => match integral(n) {
                Some(s) if s >= 1 => s,
                Some(s) => return Err(bad(format!("is {s}; a TTL is at least 1 second"))),
                None => {
                    return Err(bad(format!(
                        "is {n}; a TTL is a whole number of seconds or an RFC 3339 time"
                    )));
                }
            },
            Some(serde_json::Value::String(text)) => {
                let at = time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|e| {
                    bad(format!(
                        "is {:?}, not an RFC 3339 time like \"2027-01-31T12:00:00Z\" ({e})",
                        quoted(text)
                    ))
                })?;
                let expires = SystemTime::from(at);
                match expires.duration_since(now()) {
                    Ok(left) if left > Duration::ZERO => {
                        // Whole seconds, rounded up: the record never expires early.
                        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                        i64::try_from(secs).unwrap_or(i64::MAX)
                    }
                    _ => return Err(bad(format!("is {text}, already past"))),
                }
            }
            Some(other) => {
                return Err(bad(format!(
                    "is {}; a TTL is a whole number of seconds or an RFC 3339 time",
                    json_type(other)
                )));
            }
        };
        match u32::try_from(seconds) {
            Ok(s) if s <= MAX_TTL => Ok(Some(s)),
            _ => Err(bad(format!(
                "gives {seconds} s; Aerospike's longest TTL is {MAX_TTL} s (10 years)"
            ))),
        }
    }
}

/// `message.version` and `message.version-bin`, checked: the ordering guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRule {
    pointer: Pointer,
    bin: String,
    /// The layout already writes a bin of this name from the same field (the `bins`
    /// layout with `/version` and bin `version`, or an index bin of the version field):
    /// its value is replaced by the integer, not refused as a clash.
    same_field: bool,
}

impl VersionRule {
    /// The rule for `pointer`, kept in bin `bin`, under `layout`; refused when the bin
    /// name is not valid, or is a bin the layout fills from another field.
    pub fn new(pointer: Pointer, bin: String, layout: &Layout) -> Result<VersionRule, RuleError> {
        check_bin_name(&bin)?;
        let same_field = match layout {
            // `/version` is the top-level field `version`: the bin of that field.
            Layout::Bins => {
                pointer.as_str().matches('/').count() == 1 && pointer.last_token() == bin
            }
            Layout::Document { bin: doc, index } => {
                if *doc == bin {
                    return Err(RuleError::VersionIsDocumentBin(bin));
                }
                match index.iter().find(|i| i.name == bin) {
                    Some(i) if i.pointer == pointer => true,
                    Some(i) => {
                        return Err(RuleError::VersionIsIndexBin {
                            bin,
                            of: i.pointer.clone(),
                        });
                    }
                    None => false,
                }
            }
        };
        Ok(VersionRule {
            pointer,
            bin,
            same_field,
        })
    }

    /// The bin the version is kept in, for the filter expression.
    pub fn bin(&self) -> &str {
        &self.bin
    }

    /// The version of `message`: an integer (a float without a fraction counts).
    pub(super) fn extract(&self, message: &serde_json::Value) -> Result<i64, Rejection> {
        let pointer = &self.pointer;
        match pointer.get(message) {
            None => Err(Rejection::Version(format!("no value at {pointer}"))),
            Some(serde_json::Value::Number(n)) => integral(n).ok_or_else(|| {
                Rejection::Version(format!(
                    "{pointer} is {n}; a version must be an integer (-2^63 to 2^63-1)"
                ))
            }),
            Some(other) => Err(Rejection::Version(format!(
                "{pointer} is {}; a version must be an integer",
                json_type(other)
            ))),
        }
    }

    /// Puts `version` into the version bin of `bins`.
    pub(super) fn add_bin(&self, bins: &mut Vec<Bin>, version: i64) -> Result<(), Rejection> {
        match bins.iter_mut().find(|b| b.name == self.bin) {
            None => bins.push(Bin::new(self.bin.clone(), Value::Int(version))),
            // The same field: the integer (a `7.0` in the message is stored as 7, which
            // the guard's integer comparison reads).
            Some(bin) if self.same_field => bin.value = Value::Int(version),
            Some(_) => {
                return Err(Rejection::Version(format!(
                    "the message has a field {:?}, the bin that keeps the version from {} (message.version-bin): rename the field or set message.version-bin",
                    self.bin, self.pointer
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::IndexBin;
    use serde_json::json;

    fn routing() -> Routing {
        Routing {
            set_from: Some(Pointer::parse("/kind").unwrap()),
            ttl_from: Some(Pointer::parse("/ttl").unwrap()),
            rejected_set: "rejected".into(),
        }
    }

    #[test]
    fn the_set_comes_from_the_message_or_the_default() {
        let r = routing();
        assert_eq!(r.set(&json!({"kind": "orders"})), Ok(Some("orders".into())));
        assert_eq!(r.set(&json!({})), Ok(None));
        assert_eq!(r.set(&json!({"kind": null})), Ok(None));
        for (message, want) in [
            (
                json!({"kind": 5}),
                "set: /kind is a number; a set name must be a string",
            ),
            (
                json!({"kind": ""}),
                "set: /kind is \"\": a set name is 1-63 bytes",
            ),
            (json!({"kind": "a.b"}), "set: /kind is \"a.b\": a set name"),
            (json!({"kind": "x".repeat(64)}), "set: /kind is \"xxxx"),
            (
                json!({"kind": "rejected"}),
                "set: /kind names \"rejected\", the rejected set (rejected.set)",
            ),
        ] {
            let err = r.set(&message).unwrap_err().to_string();
            assert!(err.starts_with(want), "{message}: {err}");
        }
        assert_eq!(Routing::default().set(&json!({"kind": 5})), Ok(None));
    }

    #[test]
    fn the_ttl_is_seconds_or_an_expiry_time() {
        let r = routing();
        // 2026-01-01T00:00:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(r.ttl(&json!({"ttl": 60}), || now), Ok(Some(60)));
        assert_eq!(r.ttl(&json!({"ttl": 60.0}), || now), Ok(Some(60)));
        assert_eq!(r.ttl(&json!({}), || now), Ok(None));
        assert_eq!(
            r.ttl(&json!({"ttl": "2026-01-01T01:00:00Z"}), || now),
            Ok(Some(3600))
        );
        // An offset counts; a fraction of a second rounds up.
        assert_eq!(
            r.ttl(&json!({"ttl": "2026-01-01T02:00:00.5+01:00"}), || now),
            Ok(Some(3601))
        );
        assert_eq!(r.ttl(&json!({"ttl": MAX_TTL}), || now), Ok(Some(MAX_TTL)));
        for (message, want) in [
            (
                json!({"ttl": 0}),
                "ttl: /ttl is 0; a TTL is at least 1 second",
            ),
            (
                json!({"ttl": -1}),
                "ttl: /ttl is -1; a TTL is at least 1 second",
            ),
            (
                json!({"ttl": 1.5}),
                "ttl: /ttl is 1.5; a TTL is a whole number",
            ),
            (json!({"ttl": true}), "ttl: /ttl is a boolean;"),
            (
                json!({"ttl": "soon"}),
                "ttl: /ttl is \"soon\", not an RFC 3339 time",
            ),
            (
                json!({"ttl": "2025-12-31T23:59:59Z"}),
                "ttl: /ttl is 2025-12-31T23:59:59Z, already past",
            ),
            (
                json!({"ttl": "2026-01-01T00:00:00Z"}),
                "ttl: /ttl is 2026-01-01T00:00:00Z, already past",
            ),
            (
                json!({"ttl": u64::from(MAX_TTL) + 1}),
                "ttl: /ttl gives 315360001 s; Aerospike's longest TTL is 315360000 s",
            ),
            (
                json!({"ttl": "2040-01-01T00:00:00Z"}),
                "ttl: /ttl gives 441763200 s;",
            ),
        ] {
            let err = r.ttl(&message, || now).unwrap_err().to_string();
            assert!(err.starts_with(want), "{message}: {err}");
        }
    }

    #[test]
    fn the_version_is_an_integer_in_its_own_bin() {
        let rule = VersionRule::new(
            Pointer::parse("/ts").unwrap(),
            "version".into(),
            &Layout::Bins,
        )
        .unwrap();
        assert_eq!(rule.extract(&json!({"ts": 7})), Ok(7));
        assert_eq!(rule.extract(&json!({"ts": 7.0})), Ok(7));
        for (message, want) in [
            (json!({}), "version: no value at /ts"),
            (
                json!({"ts": "7"}),
                "version: /ts is a string; a version must be an integer",
            ),
            (
                json!({"ts": 1.5}),
                "version: /ts is 1.5; a version must be an integer",
            ),
        ] {
            let err = rule.extract(&message).unwrap_err().to_string();
            assert!(err.starts_with(want), "{message}: {err}");
        }
        let mut bins = vec![Bin::new("ts", Value::Int(7))];
        rule.add_bin(&mut bins, 7).unwrap();
        assert_eq!(bins[1], Bin::new("version", Value::Int(7)));
        // A field of the bin's name, from another field: refused.
        let mut bins = vec![Bin::new("version", Value::String("v2".into()))];
        let err = rule.add_bin(&mut bins, 7).unwrap_err().to_string();
        assert!(err.contains("the message has a field \"version\""), "{err}");
        // The same field: its value becomes the integer.
        let same = VersionRule::new(
            Pointer::parse("/version").unwrap(),
            "version".into(),
            &Layout::Bins,
        )
        .unwrap();
        let mut bins = vec![Bin::new("version", Value::from(7.0))];
        same.add_bin(&mut bins, 7).unwrap();
        assert_eq!(bins, vec![Bin::new("version", Value::Int(7))]);
    }

    #[test]
    fn the_version_bin_may_not_be_another_bin_of_the_document() {
        let index = |p: &str| IndexBin::new(Pointer::parse(p).unwrap()).unwrap();
        let layout = Layout::Document {
            bin: "doc".into(),
            index: vec![index("/ts"), index("/meta/v")],
        };
        let ts = || Pointer::parse("/ts").unwrap();
        assert!(VersionRule::new(ts(), "doc".into(), &layout).is_err());
        assert!(VersionRule::new(ts(), "v".into(), &layout).is_err());
        assert!(
            VersionRule::new(ts(), "ts".into(), &layout)
                .unwrap()
                .same_field
        );
        assert!(
            !VersionRule::new(ts(), "version".into(), &layout)
                .unwrap()
                .same_field
        );
        assert!(VersionRule::new(ts(), "a_sixteen_bytes_".into(), &layout).is_err());
    }
}
