//! One connection to one nsqd: the handshake, the reader task and every write.
//!
//! Writes go through one async lock per connection, and the new `RDY` is computed while
//! that lock is held, so what nsqd reads on this connection is always in the order the
//! accounting decided it (see the module doc of `nsq` for why the order matters).
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
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, watch};

use crate::frame::{self, Frame, RawMessage};
use crate::transport::{self, Compression, Reader, Writer as Io};
use crate::window::{Admission, Window};
use crate::{ConsumerOptions, MessageId, Negotiated, NsqError, NsqdAddr, Settle};

/// Read buffer per connection: nsqd's own output buffer is 16 KiB, so this holds several
/// of its flushes.
const READ_BUFFER: usize = 64 * 1024;
/// A write that does not finish in this time means nsqd stopped reading: give up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Slack on top of two heartbeat intervals before a silent nsqd counts as gone.
const HEARTBEAT_SLACK: Duration = Duration::from_secs(5);

/// What nsqd answers to IDENTIFY with `feature_negotiation` (only the fields used).
#[derive(Debug, Default, Deserialize)]
struct IdentifyReply {
    max_rdy_count: Option<i64>,
    #[serde(default)]
    tls_v1: bool,
    #[serde(default)]
    snappy: bool,
    #[serde(default)]
    deflate: bool,
    #[serde(default)]
    deflate_level: i64,
    #[serde(default)]
    auth_required: bool,
}

/// What nsqd answers to AUTH (`protocolV2.AUTH`).
#[derive(Debug, Deserialize)]
struct AuthReply {
    #[serde(default)]
    identity: String,
    #[serde(default)]
    identity_url: String,
    #[serde(default)]
    permission_count: i64,
}

/// nsqd's default `--max-rdy-count`, used when it does not say.
const DEFAULT_MAX_RDY_COUNT: u64 = 2500;

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
        let handshake = async {
            let mut session = handshake(addr, opts).await?;
            let mut out = BytesMut::with_capacity(128);
            frame::sub(&mut out, &opts.topic, &opts.channel);
            session.write(&out).await?;
            let reply = session.read_response("SUB").await.map_err(|e| match e {
                // `enforceTLSPolicy`: nsqd with --tls-required refuses every command but
                // IDENTIFY on a plain connection; say what to change.
                NsqError::Refused { addr, error, .. }
                    if opts.tls.is_none() && error.text.contains("(TLS required)") =>
                {
                    NsqError::Tls {
                        addr,
                        reason: format!(
                            "nsqd requires TLS (--tls-required) and nsq.tls is off; it answered SUB with {error}"
                        ),
                    }
                }
                e => e,
            })?;
            if reply != b"OK"[..] {
                return Err(NsqError::Protocol(format!(
                    "nsqd {addr} answered SUB with {:?}",
                    String::from_utf8_lossy(&reply)
                )));
            }
            Ok(session)
        };
        let Session {
            addr: _,
            rd,
            wr,
            rbuf,
            negotiated,
        } = tokio::time::timeout(opts.connect_timeout, handshake)
            .await
            .map_err(|_| NsqError::ConnectTimeout {
                addr: addr.to_owned(),
                after: opts.connect_timeout,
            })??;
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
                        Settle::Requeue(delay) => {
                            frame::req(out, id, (*delay).min(crate::MAX_REQ_DELAY))
                        }
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
                Err(io_err(&self.addr, source))
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
                Ok(r) => r.map_err(|source| io_err(&self.addr, source))?,
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

/// Connects and completes the handshake only (no SUB, so no channel is created), for
/// `check`: what was negotiated.
pub(crate) async fn probe(addr: &str, opts: &ConsumerOptions) -> Result<Negotiated, NsqError> {
    let handshake = async {
        let mut session = handshake(addr, opts).await?;
        let _ = session.wr.shutdown().await;
        Ok(session.negotiated)
    };
    tokio::time::timeout(opts.connect_timeout, handshake)
        .await
        .map_err(|_| NsqError::ConnectTimeout {
            addr: addr.to_owned(),
            after: opts.connect_timeout,
        })?
}

/// A connection during its handshake: both sides, the read buffer (it may already hold
/// more frames) and what has been negotiated so far.
struct Session<'a> {
    addr: &'a str,
    rd: Reader,
    wr: Io,
    rbuf: BytesMut,
    negotiated: Negotiated,
}

impl Session<'_> {
    async fn write(&mut self, out: &[u8]) -> Result<(), NsqError> {
        self.wr
            .write_all(out)
            .await
            .map_err(|source| io_err(self.addr, source))
    }

    /// Reads frames until a response, answering heartbeats; an error frame is a refusal.
    async fn read_response(&mut self, command: &'static str) -> Result<bytes::Bytes, NsqError> {
        let addr = self.addr;
        loop {
            match frame::decode(&mut self.rbuf)? {
                Some(Frame::Response(data)) if data == frame::HEARTBEAT => {
                    let mut out = BytesMut::new();
                    frame::nop(&mut out);
                    self.write(&out).await?;
                }
                Some(Frame::Response(data)) => return Ok(data),
                Some(Frame::Error(error)) => {
                    return Err(NsqError::Refused {
                        addr: addr.to_owned(),
                        command,
                        error,
                    });
                }
                Some(Frame::Message(_)) => {
                    return Err(NsqError::Protocol(format!(
                        "nsqd {addr} sent a message before {command} completed"
                    )));
                }
                None => {
                    let n = self
                        .rd
                        .read_buf(&mut self.rbuf)
                        .await
                        .map_err(|source| io_err(addr, source))?;
                    if n == 0 {
                        return Err(NsqError::Closed {
                            addr: addr.to_owned(),
                        });
                    }
                }
            }
        }
    }

    /// Reads the `OK` nsqd sends over a connection it has just upgraded.
    async fn read_upgrade_ok(&mut self, upgrade: &'static str) -> Result<(), NsqError> {
        let reply = self.read_response("IDENTIFY").await?;
        if reply != b"OK"[..] {
            return Err(NsqError::Protocol(format!(
                "nsqd {} answered the {upgrade} upgrade with {:?}",
                self.addr,
                String::from_utf8_lossy(&reply)
            )));
        }
        Ok(())
    }

    /// The TLS handshake on the TCP connection IDENTIFY went over.
    async fn upgrade_tls(self, tls: &crate::TlsClient) -> Result<Self, NsqError> {
        let addr = self.addr;
        let failed = |reason: String| NsqError::Tls {
            addr: addr.to_owned(),
            reason,
        };
        if !self.rbuf.is_empty() {
            return Err(NsqError::Protocol(format!(
                "nsqd {addr} sent more than the IDENTIFY reply before the TLS handshake"
            )));
        }
        let name = tls.server_name(addr).map_err(failed)?;
        let tcp = transport::into_tcp(self.rd, self.wr)
            .expect("TLS is the first upgrade, on the TCP connection itself");
        let stream = tls
            .connector()
            .connect(name, tcp)
            .await
            .map_err(|e| failed(tls_failure(&e)))?;
        let version = stream
            .get_ref()
            .1
            .protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("TLS")
            .replace("TLSv1_", "TLS 1.");
        let (rd, wr) = transport::tls(stream);
        let mut negotiated = self.negotiated;
        negotiated.tls = Some(version);
        Ok(Session {
            addr,
            rd,
            wr,
            rbuf: self.rbuf,
            negotiated,
        })
    }

    /// AUTH with the configured secret, as nsqd asked for it in its IDENTIFY reply.
    async fn auth(&mut self, secret: &crate::Secret) -> Result<(), NsqError> {
        let mut out = BytesMut::with_capacity(64);
        frame::auth(&mut out, secret.expose().as_bytes());
        self.write(&out).await?;
        let reply = self.read_response("AUTH").await?;
        let r: AuthReply = serde_json::from_slice(&reply).map_err(|e| {
            NsqError::Protocol(format!("nsqd {}: unreadable AUTH reply: {e}", self.addr))
        })?;
        tracing::debug!(
            nsqd = %self.addr,
            identity = %r.identity,
            identity_url = %r.identity_url,
            permissions = r.permission_count,
            "authenticated"
        );
        self.negotiated.auth = Some(crate::AuthIdentity {
            identity: r.identity,
            permission_count: r.permission_count,
        });
        Ok(())
    }
}

/// Connects, sends the magic and IDENTIFY, and goes through what nsqd's reply grants, in
/// nsqd's order (`protocolV2.IDENTIFY`): TLS, then snappy or deflate (each confirmed by
/// an `OK` over the upgraded connection), then AUTH when nsqd requires it. What the
/// options ask for and nsqd does not grant is an error for TLS (never a silent
/// downgrade) and a warning for compression. Not bounded here: callers wrap it.
async fn handshake<'a>(addr: &'a str, opts: &ConsumerOptions) -> Result<Session<'a>, NsqError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|source| NsqError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
    // Settlements are small writes that must leave now, not after Nagle's delay.
    stream
        .set_nodelay(true)
        .map_err(|source| io_err(addr, source))?;
    let (rd, wr) = transport::tcp(stream);
    let mut session = Session {
        addr,
        rd,
        wr,
        rbuf: BytesMut::with_capacity(READ_BUFFER),
        negotiated: Negotiated::default(),
    };
    let mut out = BytesMut::with_capacity(512);
    out.extend_from_slice(frame::MAGIC_V2);
    frame::identify(&mut out, &identify_body(opts));
    session.write(&out).await?;
    let reply = session.read_response("IDENTIFY").await?;
    let reply = parse_identify(addr, &reply)?;
    session.negotiated.max_rdy_count = reply
        .max_rdy_count
        .map_or(DEFAULT_MAX_RDY_COUNT, |n| n.max(0) as u64);

    match (&opts.tls, reply.tls_v1) {
        (Some(tls), true) => {
            session = session.upgrade_tls(tls).await?;
            // With TLS 1.3 the client's side of the handshake ends before nsqd has
            // checked the client certificate: its refusal arrives as an alert here.
            session.read_upgrade_ok("TLS").await.map_err(|e| match e {
                NsqError::Io { addr, source } => NsqError::Tls {
                    addr,
                    reason: tls_failure(&source),
                },
                e => e,
            })?;
        }
        (Some(_), false) => {
            return Err(NsqError::Tls {
                addr: addr.to_owned(),
                reason: "nsqd does not offer TLS (it needs --tls-cert and --tls-key); \
                         refusing to go on without it"
                    .into(),
            });
        }
        (None, granted) => unasked(addr, "TLS", granted)?,
    }

    let granted = match opts.compression {
        Compression::None => {
            unasked(addr, "snappy", reply.snappy)?;
            unasked(addr, "deflate", reply.deflate)?;
            Compression::None
        }
        Compression::Snappy if reply.snappy => Compression::Snappy,
        Compression::Deflate(_) if reply.deflate => {
            Compression::Deflate(reply.deflate_level.clamp(1, 9) as u8)
        }
        asked => {
            tracing::warn!(nsqd = %addr, compression = %asked, "nsqd does not offer the compression asked for (--snappy / --deflate); going on uncompressed");
            Compression::None
        }
    };
    if granted != Compression::None {
        transport::compress(&mut session.rd, &mut session.wr, granted, &mut session.rbuf);
        session.negotiated.compression = granted;
        session.read_upgrade_ok("compression").await?;
    }

    match (&opts.auth_secret, reply.auth_required) {
        (Some(secret), true) => session.auth(secret).await?,
        (None, true) => {
            return Err(NsqError::Auth {
                addr: addr.to_owned(),
                reason: "nsqd requires AUTH (it runs with --auth-http-address) and no secret \
                         is configured"
                    .into(),
            });
        }
        (Some(_), false) => {
            tracing::debug!(nsqd = %addr, "nsqd does not require AUTH; the secret is not sent");
        }
        (None, false) => {}
    }
    Ok(session)
}

/// nsqd granting a feature the client did not ask for breaks the protocol: the bytes
/// that follow would be read wrongly.
fn unasked(addr: &str, feature: &str, granted: bool) -> Result<(), NsqError> {
    if granted {
        return Err(NsqError::Protocol(format!(
            "nsqd {addr} enabled {feature}, which was not asked for"
        )));
    }
    Ok(())
}

/// A failed TLS handshake in an operator's words, with the likely fix.
fn tls_failure(e: &std::io::Error) -> String {
    let hint = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer | rustls::CertificateError::BadSignature,
        )) => " (nsqd's certificate is not signed by a trusted CA: check nsq.tls-ca-file)",
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. },
        )) => " (the certificate is for another name: check nsq.tls-server-name)",
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::CertificateRequired
            | rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA,
        )) => {
            " (nsqd wants a client certificate it trusts: check nsq.tls-cert-file and nsq.tls-key-file)"
        }
        Some(rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)) => {
            " (no TLS version in common: check nsq.tls-min-version and nsqd's --tls-min-version)"
        }
        _ => "",
    };
    format!("TLS handshake failed: {e}{hint}")
}

fn io_err(addr: &str, source: std::io::Error) -> NsqError {
    NsqError::Io {
        addr: addr.to_owned(),
        source,
    }
}

fn identify_body(opts: &ConsumerOptions) -> Vec<u8> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    let mut body = serde_json::json!({
        "client_id": opts.client_id,
        "hostname": hostname,
        "user_agent": opts.user_agent,
        "feature_negotiation": true,
        "heartbeat_interval": opts.heartbeat_interval.as_millis() as u64,
        "output_buffer_timeout": opts.output_buffer_timeout.as_millis() as u64,
    });
    if let Some(t) = opts.msg_timeout {
        body["msg_timeout"] = serde_json::json!(t.as_millis() as u64);
    }
    if opts.tls.is_some() {
        body["tls_v1"] = serde_json::json!(true);
    }
    match opts.compression {
        Compression::None => {}
        Compression::Snappy => body["snappy"] = serde_json::json!(true),
        Compression::Deflate(level) => {
            body["deflate"] = serde_json::json!(true);
            body["deflate_level"] = serde_json::json!(level);
        }
    }
    serde_json::to_vec(&body).expect("a JSON value always serialises")
}

fn parse_identify(addr: &str, reply: &[u8]) -> Result<IdentifyReply, NsqError> {
    // An nsqd that does not negotiate answers a plain OK.
    if reply == b"OK" {
        return Ok(IdentifyReply::default());
    }
    serde_json::from_slice(reply)
        .map_err(|e| NsqError::Protocol(format!("nsqd {addr}: unreadable IDENTIFY reply: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_reply_gives_max_rdy_count() {
        let reply = br#"{"max_rdy_count":300,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}"#;
        assert_eq!(parse_identify("n", reply).unwrap().max_rdy_count, Some(300));
        assert_eq!(parse_identify("n", b"OK").unwrap().max_rdy_count, None);
        let r = parse_identify(
            "n",
            br#"{"max_rdy_count":1,"auth_required":true,"snappy":true}"#,
        )
        .unwrap();
        assert!(r.auth_required && r.snappy && !r.tls_v1);
        assert!(parse_identify("n", b"{").is_err());
    }

    #[test]
    fn identify_asks_for_negotiation_and_timeouts() {
        let mut opts = ConsumerOptions::new(crate::NsqAddresses::Nsqd(vec![]), "t", "c", 1);
        opts.msg_timeout = Some(Duration::from_secs(90));
        let v: serde_json::Value = serde_json::from_slice(&identify_body(&opts)).unwrap();
        assert_eq!(v["feature_negotiation"], true);
        assert_eq!(v["msg_timeout"], 90_000);
        assert_eq!(v["heartbeat_interval"], 30_000);
        assert_eq!(v["output_buffer_timeout"], 25);
    }
}
