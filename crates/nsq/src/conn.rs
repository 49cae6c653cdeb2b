//! One connection to one nsqd after its handshake (`handshake`): the reader task and
//! every write.
//!
//! Writes go through one async lock per connection, and the new `RDY` is computed while
//! that lock is held, so what nsqd reads on this connection is always in the order the
//! accounting decided it (see the crate doc for why the order matters).
//!
//! A connection counts arrivals and settlements in the shared `window`, but it never
//! writes another connection's `RDY` and does not know the consumer: when the window
//! says other connections need a new `RDY`, the consumer's writer task writes it. Nor
//! does it build the messages it hands out: the consumer gives it a [`Deliver`]
//! callback, so the message type (which holds an `Arc<Conn>`) depends on this module and
//! not the other way round.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{Mutex, watch};

use crate::frame::{self, Frame, RawMessage};
use crate::handshake::{self, Session};
use crate::transport::{READ_BUFFER, Reader, Writer as Io};
use crate::window::{Admission, Window};
use crate::{ConsumerOptions, MAX_REQ_DELAY, MessageId, NsqError, NsqdAddr, Settle};

/// A write that does not finish in this time means nsqd stopped reading: give up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack on top of two heartbeat intervals before a silent nsqd counts as gone.
const HEARTBEAT_SLACK: Duration = Duration::from_secs(5);

/// Hands a message that arrived (and was admitted) on to the consumer. Gives its id back
/// when nobody takes messages any more (the consumer is gone), for the connection to
/// requeue it at once. Dropped when the reader ends, which is what lets
/// `Consumer::next` end once every reader is gone.
pub(crate) type Deliver =
    Box<dyn FnMut(RawMessage, &Arc<Conn>) -> Result<(), MessageId> + Send + 'static>;

pub(crate) struct Writer {
    io: Io,
    buf: BytesMut,
}

pub(crate) struct Conn {
    /// Index into the consumer's accounting table.
    pub idx: usize,
    pub addr: String,
    /// The same nsqd's HTTP address (for a dead-letter publish).
    pub http: String,
    /// The largest `RDY` this nsqd allows (`--max-rdy-count`); more is a fatal `E_INVALID`.
    pub max_rdy_count: u64,
    writer: Mutex<Writer>,
    window: Arc<Window>,
    closed: AtomicBool,
    /// Set once nsqd answered `CLS` with `CLOSE_WAIT`, or the reader ended.
    close_wait: watch::Sender<bool>,
}

impl Conn {
    /// Connects, sends IDENTIFY and SUB, and starts the reader task; `RDY` stays 0 until
    /// the consumer opens the window.
    pub async fn open(
        idx: usize,
        nsqd: &NsqdAddr,
        opts: &ConsumerOptions,
        window: Arc<Window>,
        deliver: Deliver,
    ) -> Result<Arc<Conn>, NsqError> {
        let addr = nsqd.tcp.as_str();
        let Session {
            rd,
            wr,
            rbuf,
            negotiated,
            ..
        } = handshake::subscribe(addr, opts).await?;
        tracing::debug!(nsqd = %addr, %negotiated, "connected");
        let max_rdy_count = negotiated.max_rdy_count;
        let (close_wait, _) = watch::channel(false);
        let conn = Arc::new(Conn {
            idx,
            addr: addr.to_owned(),
            http: nsqd.http.clone(),
            max_rdy_count,
            writer: Mutex::new(Writer {
                io: wr,
                buf: BytesMut::with_capacity(4096),
            }),
            window,
            closed: AtomicBool::new(false),
            close_wait,
        });
        let silence = opts.heartbeat_interval * 2 + HEARTBEAT_SLACK;
        tokio::spawn(Arc::clone(&conn).read_loop(rd, rbuf, deliver, silence));
        Ok(conn)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Writes the `RDY` the accounting wants now, if it differs from the last one sent.
    pub async fn update_rdy(&self) -> Result<(), NsqError> {
        self.write_with(|window, idx, out| {
            if let Some(rdy) = window.rdy_change(idx, 0, 0) {
                frame::rdy(out, rdy);
            }
        })
        .await
    }

    /// Settles messages of this connection: one write with the lowered `RDY` first, then
    /// the FINs and REQs.
    /// `bytes` is the sum of their bodies, which leaves the byte bound's count.
    pub async fn settle(&self, items: &[(MessageId, Settle)], bytes: u64) -> Result<(), NsqError> {
        let result = self
            .write_with(|window, idx, out| {
                if let Some(rdy) = window.rdy_change(idx, items.len() as u64, bytes) {
                    frame::rdy(out, rdy);
                }
                for (id, how) in items {
                    match how {
                        Settle::Finish => frame::fin(out, id),
                        Settle::Requeue(delay) => frame::req(out, id, (*delay).min(MAX_REQ_DELAY)),
                    }
                }
            })
            .await;
        if result.is_ok() {
            self.window.count_settled(items);
        }
        self.window.notify_settled();
        result
    }

    /// Holds this connection's writer, as a write stuck on a full socket would (tests).
    #[cfg(test)]
    pub(super) async fn hold_writer(&self) -> tokio::sync::MutexGuard<'_, Writer> {
        self.writer.lock().await
    }

    /// `CLS`, then waits (bounded) for `CLOSE_WAIT` or the end of the connection.
    pub async fn close(&self, wait: Duration) {
        if self.write_with(|_, _, out| frame::cls(out)).await.is_err() {
            return;
        }
        let mut rx = self.close_wait.subscribe();
        if tokio::time::timeout(wait, rx.wait_for(|done| *done))
            .await
            .is_err()
        {
            tracing::warn!(nsqd = %self.addr, "no CLOSE_WAIT from nsqd in time; closing anyway");
        }
    }

    /// Closes the socket for writing; nsqd then closes its side and the reader ends.
    pub async fn shutdown(&self) {
        let mut w = self.writer.lock().await;
        let _ = w.io.shutdown().await;
        self.mark_closed();
    }

    /// Runs `fill` under the writer lock (and, inside it, the accounting lock via
    /// `Window`), then writes what it produced. A closed connection writes nothing, but
    /// `fill` still runs so the accounting stays whole.
    async fn write_with(
        &self,
        fill: impl FnOnce(&Window, usize, &mut BytesMut),
    ) -> Result<(), NsqError> {
        let mut w = self.writer.lock().await;
        let Writer { io, buf } = &mut *w;
        buf.clear();
        fill(&self.window, self.idx, buf);
        if self.is_closed() {
            return Err(NsqError::Closed {
                addr: self.addr.clone(),
            });
        }
        if buf.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(WRITE_TIMEOUT, io.write_all(buf)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => {
                self.mark_closed();
                Err(NsqError::io(&self.addr, source))
            }
            Err(_) => {
                self.mark_closed();
                Err(NsqError::Io {
                    addr: self.addr.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"),
                })
            }
        }
    }

    fn mark_closed(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            // The window marks the heir of this connection's share for a rewrite and
            // wakes the consumer's writer task, which raises the heir's RDY.
            let _ = self.window.connection_lost(self.idx);
        }
        self.close_wait.send_replace(true);
    }

    async fn read_loop(
        self: Arc<Self>,
        mut rd: Reader,
        mut buf: BytesMut,
        mut deliver: Deliver,
        silence: Duration,
    ) {
        let why = self
            .read_frames(&mut rd, &mut buf, &mut deliver, silence)
            .await;
        match &why {
            Ok(()) => tracing::debug!(nsqd = %self.addr, "nsqd closed the connection"),
            Err(e) => tracing::warn!(nsqd = %self.addr, error = %e, "nsqd connection ended"),
        }
        self.mark_closed();
        // Dropping `deliver` here is what lets `Consumer::next` end once every reader is
        // gone.
    }

    async fn read_frames(
        self: &Arc<Self>,
        rd: &mut Reader,
        buf: &mut BytesMut,
        deliver: &mut Deliver,
        silence: Duration,
    ) -> Result<(), NsqError> {
        loop {
            while let Some(f) = frame::decode(buf)? {
                self.handle(f, deliver).await?;
            }
            if buf.capacity() - buf.len() < READ_BUFFER / 4 {
                buf.reserve(READ_BUFFER);
            }
            let n = match tokio::time::timeout(silence, rd.read_buf(buf)).await {
                Ok(r) => r.map_err(|source| NsqError::io(&self.addr, source))?,
                Err(_) => {
                    return Err(NsqError::Protocol(format!(
                        "no heartbeat from nsqd for {silence:?}"
                    )));
                }
            };
            if n == 0 {
                return if buf.is_empty() {
                    Ok(())
                } else {
                    Err(NsqError::Protocol(
                        "connection closed in the middle of a frame".into(),
                    ))
                };
            }
        }
    }

    async fn handle(self: &Arc<Self>, f: Frame, deliver: &mut Deliver) -> Result<(), NsqError> {
        match f {
            Frame::Message(raw) => match self.window.admit(self.idx, raw.body.len() as u64) {
                Admission::Admitted { limit_reached } => {
                    if limit_reached {
                        // `admit` has already woken the consumer's writer task, which
                        // closes every window (this one included) now.
                        tracing::debug!(nsqd = %self.addr, "the last wanted message arrived");
                    }
                    let bytes = raw.body.len() as u64;
                    if let Err(id) = deliver(raw, self) {
                        // The consumer is gone: give the message straight back.
                        self.settle(&[(id, Settle::Requeue(Duration::ZERO))], bytes)
                            .await?;
                    }
                }
                Admission::OverLimit => {
                    tracing::debug!(nsqd = %self.addr, msg_id = %raw.id, "message past the limit; requeueing it unprocessed");
                    self.write_with(|_, _, out| frame::req(out, &raw.id, Duration::ZERO))
                        .await?;
                }
            },
            Frame::Response(data) if data == frame::HEARTBEAT => {
                self.write_with(|_, _, out| frame::nop(out)).await?;
            }
            Frame::Response(data) if data == frame::CLOSE_WAIT => {
                self.close_wait.send_replace(true);
            }
            Frame::Response(_) => {}
            Frame::Error(e) if !e.is_fatal() => {
                // A late FIN/REQ/TOUCH of a message nsqd already timed out: it has been or
                // will be redelivered, and storing it again is idempotent.
                tracing::warn!(nsqd = %self.addr, error = %e, "nsqd rejected a settlement");
            }
            Frame::Error(e) => {
                return Err(NsqError::Refused {
                    addr: self.addr.clone(),
                    command: "a command",
                    error: e,
                });
            }
        }
        Ok(())
    }
}
