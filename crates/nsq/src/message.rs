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

use crate::conn::Conn;
use crate::frame::RawMessage;
use crate::{MessageId, NsqError, Settle};

/// A message handed out by [`Consumer::next`](crate::Consumer::next). Settle it with
/// [`settle`]; one dropped unsettled goes back to nsqd (`REQ <id> 0`) so nothing waits
/// for msg_timeout.
pub struct Message {
    /// nsqd's id of the message.
    pub id: MessageId,
    /// Deliveries so far, this one included (nsqd counts every delivery).
    pub attempts: u16,
    /// When nsqd accepted the message, in ns since the Unix epoch.
    pub timestamp: i64,
    /// The body, as published.
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

    /// The nsqd this message came from (its TCP address).
    pub fn nsqd(&self) -> &str {
        &self.conn.addr
    }

    /// The HTTP address of the nsqd this message came from.
    pub fn nsqd_http(&self) -> &str {
        &self.conn.http
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
///
/// The writes run in a task of their own, so a caller cancelled while they wait for a
/// connection's writer (a batch aborted at the end of the grace period) does not cut
/// them: once a message is marked settled its FIN or REQ is sure to be written, and its
/// connection's in-flight count lowered, or nsqd would hold it until msg_timeout and the
/// close would wait for it.
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
    let writes = async move {
        let mut first_err = None;
        for (conn, items, bytes) in groups {
            if let Err(e) = conn.settle(&items, bytes).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    };
    match tokio::spawn(writes).await {
        Ok(result) => result,
        // The task only ends early when the runtime shuts down; nsqd then redelivers.
        Err(e) => Err(NsqError::Protocol(format!("settling messages: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use devstack::nsqd::{NsqOptions, NsqServer};

    use super::*;
    use crate::{Consumer, ConsumerOptions, NsqAddresses};

    /// A batch aborted while its FINs wait for the connection's writer (the grace period
    /// ran out) must still FIN them: once marked settled, nothing else would, nsqd would
    /// hold them until msg_timeout and the close would wait for them a second grace.
    #[tokio::test]
    async fn a_settle_cut_by_an_abort_is_still_written() {
        let server = NsqServer::start(NsqOptions::default()).await.unwrap();
        for i in 0..2 {
            server.publish("cut", format!("{{\"id\":{i}}}"));
        }
        let opts = ConsumerOptions::new(
            NsqAddresses::Nsqd(vec![server.tcp_addr().to_string()]),
            "cut",
            "x-msrv",
            2,
        );
        let mut consumer = Consumer::connect(opts).await.unwrap();
        let (a, b) = (
            consumer.next().await.unwrap(),
            consumer.next().await.unwrap(),
        );
        let conn = Arc::clone(&a.conn);

        let held = conn.hold_writer().await;
        let batch = tokio::spawn(settle(vec![(a, Settle::Finish), (b, Settle::Finish)]));
        tokio::time::sleep(Duration::from_millis(50)).await;
        batch.abort();
        let _ = batch.await;
        drop(held);

        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stats = server.channel_stats("cut", "x-msrv").unwrap();
            // FIN'd: not in flight, not back in the queue, not requeued.
            if stats.in_flight_count == 0 && stats.depth == 0 && stats.requeue_count == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the FINs were never written: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        consumer.close(Duration::from_secs(3)).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "close waited for messages already settled: {:?}",
            started.elapsed()
        );
        server.shutdown().await;
    }
}
