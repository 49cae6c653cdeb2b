//! What names a message: nsqd's 16-byte id ([`MessageId`]) and, across redeliveries and
//! nsqd, the id with its timestamp ([`message_key`]).

use std::fmt;

/// The 16-byte ASCII id nsqd gives every message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// The id as text (nsqd ids are hex digits; anything else is shown lossily).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

/// What names one message across its redeliveries: nsqd's id and its timestamp of
/// the message, as `<id>-<timestamp>`. The id alone does not: nsqd makes ids from
/// the time, its `--node-id` and a per-topic sequence, so two nsqd with the same node
/// id (the default for every nsqd of one host) or two topics of one nsqd give the
/// same id to different messages published in the same millisecond.
pub fn message_key(id: impl fmt::Display, timestamp: i64) -> String {
    format!("{id}-{timestamp}")
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}
