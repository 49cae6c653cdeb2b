//! [`Settle`], how a message goes back to nsqd (FIN or REQ), and the longest REQ delay
//! nsqd takes. Settling itself is [`settle`](crate::settle), beside the message type.

use std::time::Duration;

/// nsqd clamps a `REQ` delay to `--max-req-timeout`, 1 h by default; asking for more gets
/// `E_INVALID` and a closed connection, so the client clamps first.
pub const MAX_REQ_DELAY: Duration = Duration::from_secs(60 * 60);

/// How to settle a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// `FIN`: done with it, nsqd forgets it.
    Finish,
    /// `REQ`: give it back, to be redelivered after the delay (clamped to [`MAX_REQ_DELAY`]).
    Requeue(Duration),
}
