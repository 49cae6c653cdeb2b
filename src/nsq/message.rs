//! [`Message`], what the consumer hands out, and [`settle`], how it goes back.
//!
//! A message keeps its connection alive (`Arc<Conn>`) because its FIN or REQ must go to
//! the nsqd that sent it: nsqd knows a message id only on the connection it was sent on.
//! One dropped without being settled is requeued at once, so a worker that fails or is
//! cancelled does not leave it waiting for nsqd's msg_timeout.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::conn::Conn;
use super::frame::RawMessage;
use super::{MessageId, NsqError, Settle};

/// A message handed out by [`Consumer::next`](super::Consumer::next). Settle it with
/// [`settle`]; one dropped unsettled goes back to nsqd (`REQ <id> 0`) so nothing waits
/// for msg_timeout.
pub struct Message {
    pub id: MessageId,
    /// Deliveries so far, this one included (nsqd counts every delivery).
    pub attempts: u16,
    /// When nsqd accepted the message, in ns since the Unix epoch.
    pub timestamp: i64,
    pub body: Bytes,
    conn: Arc<Conn>,
    settled: bool,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .field("timestamp", &self.timestamp)
            .field("body_len", &self.body.len())
            .field("nsqd", &self.conn.addr)
            .finish()
    }
}

impl Message {
    pub(super) fn new(raw: RawMessage, conn: Arc<Conn>) -> Message {
        Message {
            id: raw.id,
            attempts: raw.attempts,
            timestamp: raw.timestamp,
            body: raw.body,
            conn,
            settled: false,
        }
    }

    /// The nsqd this message came from.
    pub fn nsqd(&self) -> &str {
        &self.conn.addr
    }

    /// Drops it without the requeue of [`Drop`], for a caller that settles it itself;
    /// returns its id.
    pub(super) fn disarm(mut self) -> MessageId {
        self.settled = true;
        self.id
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        tracing::debug!(msg_id = %self.id, "unsettled message dropped; requeueing it");
        let conn = Arc::clone(&self.conn);
        let (id, bytes) = (self.id, self.body.len() as u64);
        // The REQ needs the connection's writer, an async lock: hand it to the runtime.
        // Without one (the runtime is gone) nsqd still redelivers after msg_timeout.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = conn
                    .settle(&[(id, Settle::Requeue(Duration::ZERO))], bytes)
                    .await
                {
                    tracing::debug!(msg_id = %id, error = %e, "requeue of a dropped message failed");
                }
            });
        }
    }
}

/// Settles many messages at once: per connection one write holding the lowered `RDY`
/// followed by the FINs and REQs. Returns after the bytes are written; the first error,
/// if any, after trying every connection. A message whose connection is gone needs
/// nothing: nsqd redelivers it after its msg_timeout.
pub async fn settle(batch: Vec<(Message, Settle)>) -> Result<(), NsqError> {
    /// A connection, its messages' settlements, and the bytes of their bodies.
    type Group = (Arc<Conn>, Vec<(MessageId, Settle)>, u64);
    let mut groups: Vec<Group> = Vec::new();
    for (mut msg, how) in batch {
        msg.settled = true;
        let bytes = msg.body.len() as u64;
        match groups
            .iter_mut()
            .find(|(c, _, _)| Arc::ptr_eq(c, &msg.conn))
        {
            Some((_, items, sum)) => {
                items.push((msg.id, how));
                *sum += bytes;
            }
            None => groups.push((Arc::clone(&msg.conn), vec![(msg.id, how)], bytes)),
        }
    }
    let mut first_err = None;
    for (conn, items, bytes) in groups {
        if let Err(e) = conn.settle(&items, bytes).await {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}
