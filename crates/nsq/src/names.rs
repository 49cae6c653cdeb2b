//! Topic and channel names: which ones nsqd accepts, and how one goes into a URL.

/// Longest topic or channel name nsqd accepts (`protocol.IsValidTopicName`).
const MAX_NAME_LEN: usize = 64;
/// Suffix marking a topic or channel that nsqd keeps in memory only.
const EPHEMERAL_SUFFIX: &str = "#ephemeral";

/// A topic or channel name in a URL's query: `#` is the only character of a valid name
/// that needs escaping (`name#ephemeral`).
pub(crate) fn query_escape(name: &str) -> String {
    name.replace('#', "%23")
}

/// Whether nsqd accepts `name` as a topic or channel (`^[.a-zA-Z0-9_-]+(#ephemeral)?$`,
/// 1 to 64 characters). Checked up front so a typo is a config error, not `E_BAD_TOPIC`.
pub fn is_valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    let base = name.strip_suffix(EPHEMERAL_SUFFIX).unwrap_or(name);
    !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ephemeral_name_is_escaped_for_a_query() {
        assert_eq!(query_escape("a#ephemeral"), "a%23ephemeral");
        assert_eq!(query_escape("x-msrv"), "x-msrv");
    }

    #[test]
    fn names_follow_nsqd_rules() {
        for ok in [
            "t",
            "x-msrv",
            "a.b_c-d",
            "events#ephemeral",
            &"a".repeat(64),
        ] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "a/b",
            "#ephemeral",
            "a#other",
            &"a".repeat(65),
            "ü",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
