//! `[rejected]`'s `rejected.topic`: where a message goes that can be neither stored nor
//! kept in the rejected set. (`rejected.set` is checked with `[aerospike]`, whose sets it
//! must differ from.)

use crate::config::error::ConfigError;
use nsq;

/// `rejected.topic`: unset gives `<nsq.topic>.dead-letter`, empty gives none.
pub(super) fn check_dead_letter_topic(
    topic: Option<String>,
    consumed: &str,
) -> Result<Option<String>, ConfigError> {
    const KEY: &str = "rejected.topic";
    match topic {
        Some(t) if t.is_empty() => Ok(None),
        Some(t) => {
            if !nsq::is_valid_name(&t) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!("{t:?} is not a valid NSQ topic name (1-64 of [.a-zA-Z0-9_-])"),
                ));
            }
            if t == consumed {
                return Err(ConfigError::invalid(
                    KEY,
                    "must differ from nsq.topic (a dead letter would come straight back)",
                ));
            }
            Ok(Some(t))
        }
        None => {
            let t = format!("{}.dead-letter", consumed.trim_end_matches("#ephemeral"));
            if !nsq::is_valid_name(&t) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!(
                        "the default {t:?} is too long for NSQ (64 bytes): set rejected.topic, or \"\" for none"
                    ),
                ));
            }
            Ok(Some(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, error, parse, with};

    #[test]
    fn the_dead_letter_topic_defaults_to_the_topic_and_can_be_turned_off() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.dead_letter_topic.as_deref(), Some("t.dead-letter"));
        let s = parse(&with("rejected", "topic = \"\"")).unwrap();
        assert_eq!(s.dead_letter_topic, None);
        let s = parse(&with("rejected", "topic = \"dlq\"")).unwrap();
        assert_eq!(s.dead_letter_topic.as_deref(), Some("dlq"));
        for (bad, says) in [
            ("a b", "not a valid NSQ topic name"),
            ("t", "must differ from nsq.topic"),
        ] {
            let err = error(&with("rejected", &format!("topic = \"{bad}\"")));
            assert!(
                err.starts_with("rejected.topic: ") && err.contains(says),
                "{err}"
            );
        }
        let long = MINIMAL.replace("topic = \"t\"", &format!("topic = \"{}\"", "t".repeat(60)));
        let err = error(&long);
        assert!(
            err.starts_with("rejected.topic: ") && err.contains("too long"),
            "{err}"
        );
    }
}
