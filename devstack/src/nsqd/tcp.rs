//! nsqd's TCP protocol V2 (`nsqd/protocol_v2.go`): one task reads commands, one writes
//! frames with nsqd's output buffering, and a heartbeat ticker.
//!
//! Output buffering follows `messagePump`: messages collect in the client's buffer,
//! which is flushed at once when the client is no longer ready (its window is full, or
//! RDY was lowered), when the buffer passes `output_buffer_size`, when a response or
//! heartbeat is sent, and otherwise after `output_buffer_timeout` (never, if IDENTIFY
//! set it to -1) — so the last messages of a burst can wait that long, as they do with
//! the real server.
//!
//! IDENTIFY upgrades the connection as nsqd does: the JSON reply goes out as the
//! connection is, then the TLS handshake and an `OK` over TLS, then snappy or deflate
//! and an `OK` compressed (`transport`). AUTH asks the auth HTTP service (`auth`);
//! SUB, PUB, MPUB and DPUB are checked against its authorizations (`CheckAuth`), asking
//! again once its ttl has passed.
//!
//! Every check, error code and error text follows nsqd 1.3.0; the few deliberate
//! differences are listed in `devstack/README.md`.
//!
//! Why one file of ~1 300 lines: it follows `protocol_v2.go`, itself one file, command
//! by command (IDENTIFY through CLS, each with its checks and error texts next to it),
//! so the stand-in is compared with the real server side by side; splitting it by
//! command would scatter the shared connection state the commands read and write.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};

use super::auth::{self, AuthQuery, AuthState};
use super::queue::{Client, ConnFeatures, MsgId, Producer};
use super::tls::{TlsInfo, TlsRequired};
use super::transport::{ConnRead, ConnWrite, Encoder, InflateRead, Sink, SnappyRead};
use super::{Inner, is_valid_name};

/// The command loop's reader: nsqd's `client.Reader` over whatever the connection
/// has been upgraded to.
type Reader = BufReader<ConnRead>;

const FRAME_TYPE_RESPONSE: u32 = 0;
const FRAME_TYPE_ERROR: u32 = 1;

/// nsqd's per-client output buffer (`defaultBufferSize`); not an nsqd option.
const DEFAULT_OUTPUT_BUFFER_SIZE: usize = 16 * 1024;
/// nsqd's per-client read buffer (also `defaultBufferSize`): the longest command line.
const READ_BUFFER_SIZE: usize = 16 * 1024;
/// Smallest `output_buffer_size` IDENTIFY may ask for.
const MIN_OUTPUT_BUFFER_SIZE: i64 = 64;
/// IDENTIFY `sample_rate` range is 0–99 percent.
const MAX_SAMPLE_RATE: i32 = 99;
/// nsqd's deflate level when IDENTIFY names none.
const DEFAULT_DEFLATE_LEVEL: i64 = 6;
/// `UpgradeTLS` gives the handshake this long (`tlsConn.SetDeadline`).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const NANOS_PER_MILLI: i64 = 1_000_000;

/// An error frame and whether nsqd closes the connection after it (`FatalClientErr`).
pub(crate) struct ClientErr {
    pub(crate) code: &'static str,
    /// Bytes, not a `String`: nsqd echoes the client's bytes as they came.
    pub(crate) text: Vec<u8>,
    fatal: bool,
}

fn fatal(code: &'static str, text: impl Into<Vec<u8>>) -> ClientErr {
    ClientErr {
        code,
        text: text.into(),
        fatal: true,
    }
}

fn non_fatal(code: &'static str, text: impl Into<Vec<u8>>) -> ClientErr {
    ClientErr {
        code,
        text: text.into(),
        fatal: false,
    }
}

pub(crate) fn frame(frame_type: u32, data: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(8 + data.len());
    b.put_u32(4 + data.len() as u32);
    b.put_u32(frame_type);
    b.put_slice(data);
    b.freeze()
}

/// The IDENTIFY body fields nsqd reads (`identifyDataV2`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Identify {
    client_id: String,
    hostname: String,
    user_agent: String,
    feature_negotiation: bool,
    heartbeat_interval: i64,
    output_buffer_size: i64,
    output_buffer_timeout: i64,
    tls_v1: bool,
    snappy: bool,
    deflate: bool,
    deflate_level: i64,
    sample_rate: i32,
    msg_timeout: i64,
}

#[derive(PartialEq, Eq)]
enum ConnState {
    Init,
    Subscribed,
    Closing,
}

/// Per-connection settings (nsqd's `clientV2` fields).
struct Session {
    id: u64,
    state: ConnState,
    heartbeat: Option<Duration>,
    output_buffer_size: usize,
    output_buffer_timeout: Duration,
    /// The client's msg_timeout (TOUCH uses the latest IDENTIFY's).
    msg_timeout: Duration,
    /// The msg_timeout in-flight deadlines use: nsqd's message pump takes it from the
    /// first IDENTIFY only.
    pump_msg_timeout: Duration,
    /// Whether the writer already took its settings from an IDENTIFY (it takes only
    /// the first, as nsqd's pump reads `IdentifyEventChan` once).
    pump_identified: bool,
    sample_rate: i32,
    client_id: String,
    hostname: String,
    user_agent: String,
    remote: String,
    /// The peer's IP, as nsqd sends it to the auth service (`remote_ip`).
    remote_ip: String,
    connect_ts: i64,
    /// TLS, compression and AUTH as negotiated so far.
    features: ConnFeatures,
    /// The AUTH secret, kept to ask again when the answer expires.
    auth_secret: Vec<u8>,
    /// nsqd's `AuthState`: the auth service's last answer.
    auth: Option<AuthState>,
}

impl Session {
    fn has_authorizations(&self) -> bool {
        self.auth
            .as_ref()
            .is_some_and(AuthState::has_authorizations)
    }
}

/// Settings the writer task needs, sent once IDENTIFY has run.
#[derive(Clone, Copy)]
struct WriterSettings {
    heartbeat: Option<Duration>,
    output_buffer_size: usize,
    /// Zero: no timed flush at all (nsqd stops its flush ticker).
    output_buffer_timeout: Duration,
}

/// What the reader hands the writer: a response/error (flushed at once), or new
/// buffering settings.
enum Out {
    Flush(Bytes),
    Settings(WriterSettings),
    /// The client's RDY changed: flush if it is no longer ready.
    Recheck,
    /// A TLS upgrade: hand the TCP write half over, wait for the TLS one (none: the
    /// connection ends).
    Upgrade {
        give: oneshot::Sender<OwnedWriteHalf>,
        back: oneshot::Receiver<ConnWrite>,
    },
    /// Compress everything written from now on.
    Compress(Encoder),
}

/// Takes the client out of its channel however the connection task ends, aborted
/// (`NsqServer::drop_clients`) included.
struct ClientGuard {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.inner.state().remove_connection(self.id);
        self.inner
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

pub(crate) async fn serve_conn(inner: Arc<Inner>, stream: TcpStream, id: u64) {
    let _guard = ClientGuard {
        inner: Arc::clone(&inner),
        id,
    };
    let peer = stream.peer_addr().ok();
    let remote = peer.map(|a| a.to_string()).unwrap_or_default();
    // nsqd's default client_id and hostname: the peer's IP.
    let ip = peer.map(|a| a.ip().to_string()).unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (resp_tx, resp_rx) = mpsc::unbounded_channel::<Out>();
    let (msg_tx, msg_rx) = mpsc::unbounded_channel::<Bytes>();
    let opts = inner.opts.clone();
    let defaults = WriterSettings {
        heartbeat: Some(opts.heartbeat_interval),
        output_buffer_size: DEFAULT_OUTPUT_BUFFER_SIZE,
        output_buffer_timeout: opts.output_buffer_timeout,
    };
    let writer = tokio::spawn(write_loop(
        Arc::clone(&inner),
        id,
        Sink::new(wr),
        resp_rx,
        msg_rx,
        defaults,
    ));
    let mut session = Session {
        id,
        state: ConnState::Init,
        heartbeat: Some(opts.heartbeat_interval),
        output_buffer_size: DEFAULT_OUTPUT_BUFFER_SIZE,
        output_buffer_timeout: opts.output_buffer_timeout,
        msg_timeout: opts.msg_timeout,
        pump_msg_timeout: opts.msg_timeout,
        pump_identified: false,
        sample_rate: 0,
        client_id: ip.clone(),
        hostname: ip.clone(),
        user_agent: String::new(),
        remote,
        remote_ip: ip,
        connect_ts: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        features: ConnFeatures::default(),
        auth_secret: Vec::new(),
        auth: None,
    };
    let rd = ConnRead::Plain(rd);
    if let Err(e) = read_loop(&inner, rd, &resp_tx, msg_tx, &mut session).await {
        tracing::debug!(client = id, error = %e, "client connection ended");
    }
    inner.state().remove_connection(id);
    drop(resp_tx);
    // The writer flushes what is queued (a final error frame, say) and closes.
    let _ = writer.await;
}

async fn read_loop(
    inner: &Arc<Inner>,
    rd: ConnRead,
    resp: &mpsc::UnboundedSender<Out>,
    msg_tx: mpsc::UnboundedSender<Bytes>,
    s: &mut Session,
) -> std::io::Result<()> {
    let mut rd = BufReader::new(rd);
    let mut magic = [0u8; 4];
    rd.read_exact(&mut magic).await?;
    if &magic != b"  V2" {
        let _ = resp.send(Out::Flush(frame(FRAME_TYPE_ERROR, b"E_BAD_PROTOCOL")));
        return Ok(());
    }
    let mut msg_tx = Some(msg_tx);
    let mut line = Vec::with_capacity(128);
    loop {
        // nsqd sets a read deadline of two heartbeat intervals before it reads a
        // command; the command's body must arrive within it too.
        let heartbeat = s.heartbeat;
        let (id, step) = (
            s.id,
            read_command(inner, &mut rd, resp, &mut msg_tx, s, &mut line),
        );
        let step = match heartbeat {
            Some(hb) => match tokio::time::timeout(hb * 2, step).await {
                Ok(r) => r?,
                Err(_) => {
                    tracing::debug!(
                        client = id,
                        "nothing read for two heartbeat intervals; closing"
                    );
                    return Ok(());
                }
            },
            None => step.await?,
        };
        let Some(result) = step else {
            return Ok(());
        };
        match result {
            Ok(Some(data)) => {
                let _ = resp.send(Out::Flush(frame(FRAME_TYPE_RESPONSE, &data)));
            }
            Ok(None) => {}
            Err(e) => {
                let text = [e.code.as_bytes(), b" ", &e.text].concat();
                let _ = resp.send(Out::Flush(frame(FRAME_TYPE_ERROR, &text)));
                if e.fatal {
                    return Ok(());
                }
            }
        }
    }
}

type ExecResult = Result<Option<Vec<u8>>, ClientErr>;

/// Reads one command line and runs it; `None` when the connection ends (EOF, or a line
/// longer than nsqd's 16 KiB read buffer, where `ReadSlice` fails).
async fn read_command(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    resp: &mpsc::UnboundedSender<Out>,
    msg_tx: &mut Option<mpsc::UnboundedSender<Bytes>>,
    s: &mut Session,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<ExecResult>> {
    line.clear();
    let n = (&mut *rd)
        .take(READ_BUFFER_SIZE as u64)
        .read_until(b'\n', line)
        .await?;
    // A last line without its newline is an EOF to nsqd, not a command.
    if n == 0 || line.last() != Some(&b'\n') {
        return Ok(None);
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let params: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    Ok(Some(exec(inner, rd, resp, msg_tx, s, &params).await?))
}

/// nsqd's `protocol.ByteToBase10`: decimal digits only (no sign), an empty string is
/// 0, and overflow wraps.
fn base10(p: &[u8]) -> Option<u64> {
    p.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit()
            .then(|| n.wrapping_mul(10).wrapping_add(u64::from(d - b'0')))
    })
}

/// A millisecond count as nsqd turns it into a `time.Duration` (int64 nanoseconds,
/// wrapping on overflow): `None` stands for a negative duration.
fn millis_to_duration(ms: u64) -> Option<Duration> {
    let ns = (ms as i64).wrapping_mul(NANOS_PER_MILLI);
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

/// nsqd's `readLen`: a big-endian length read as a signed 32-bit number.
async fn read_len<R: AsyncRead + Unpin>(rd: &mut R) -> std::io::Result<i32> {
    rd.read_i32().await
}

/// Reads the size-prefixed body of IDENTIFY or AUTH with nsqd's checks and texts.
async fn read_body<R: AsyncRead + Unpin>(
    rd: &mut R,
    max: usize,
    cmd: &str,
) -> Result<Vec<u8>, ClientErr> {
    let len = read_len(rd)
        .await
        .map_err(|_| fatal("E_BAD_BODY", format!("{cmd} failed to read body size")))?;
    if i64::from(len) > max as i64 {
        return Err(fatal(
            "E_BAD_BODY",
            format!("{cmd} body too big {len} > {max}"),
        ));
    }
    if len <= 0 {
        return Err(fatal(
            "E_BAD_BODY",
            format!("{cmd} invalid body size {len}"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    rd.read_exact(&mut body)
        .await
        .map_err(|_| fatal("E_BAD_BODY", format!("{cmd} failed to read body")))?;
    Ok(body)
}

/// Reads one message body, size first, with nsqd's `E_BAD_MESSAGE` texts: `what` is
/// `message` for PUB/DPUB and `message(i)` for the i-th message of an MPUB.
async fn read_message<R: AsyncRead + Unpin>(
    rd: &mut R,
    max: usize,
    cmd: &str,
    what: &str,
) -> Result<Vec<u8>, ClientErr> {
    let len = read_len(rd).await.map_err(|_| {
        fatal(
            "E_BAD_MESSAGE",
            format!("{cmd} failed to read {what} body size"),
        )
    })?;
    if len <= 0 {
        return Err(fatal(
            "E_BAD_MESSAGE",
            format!("{cmd} invalid {what} body size {len}"),
        ));
    }
    if i64::from(len) > max as i64 {
        return Err(fatal(
            "E_BAD_MESSAGE",
            format!("{cmd} message too big {len} > {max}"),
        ));
    }
    let mut body = vec![0u8; len as usize];
    rd.read_exact(&mut body).await.map_err(|_| {
        fatal(
            "E_BAD_MESSAGE",
            format!("{cmd} failed to read message body"),
        )
    })?;
    Ok(body)
}

/// nsqd's `readMPUB`, shared by TCP MPUB and HTTP `/mpub?binary=true`: a message count,
/// then size + body per message, read straight from the stream (the outer body size is
/// only checked, not used to frame the messages).
pub(crate) async fn read_mpub<R: AsyncRead + Unpin>(
    rd: &mut R,
    max_msg_size: usize,
    max_body_size: usize,
) -> Result<Vec<Bytes>, ClientErr> {
    let count = read_len(rd)
        .await
        .map_err(|_| fatal("E_BAD_BODY", "MPUB failed to read message count"))?;
    // 4 bytes of count, then at least 4 + 1 bytes per message.
    let max_messages = (max_body_size as i64 - 4) / 5;
    if count <= 0 || i64::from(count) > max_messages {
        return Err(fatal(
            "E_BAD_BODY",
            format!("MPUB invalid message count {count}"),
        ));
    }
    let mut msgs = Vec::with_capacity(count as usize);
    for i in 0..count {
        let body = read_message(rd, max_msg_size, "MPUB", &format!("message({i})")).await?;
        msgs.push(Bytes::from(body));
    }
    Ok(msgs)
}

/// nsqd's `getMessageID`: exactly 16 bytes.
fn parse_id(p: &[u8]) -> Result<MsgId, ClientErr> {
    p.try_into()
        .map_err(|_| fatal("E_INVALID", "invalid message ID"))
}

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// Go's `%q` (`strconv.Quote`) for the names nsqd quotes in its errors.
fn quoted(p: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in p.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                    if (c as u32) < 0x10000 {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        out.push_str(&format!("\\U{:08x}", c as u32));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

async fn exec(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    resp: &mpsc::UnboundedSender<Out>,
    msg_tx: &mut Option<mpsc::UnboundedSender<Bytes>>,
    s: &mut Session,
    params: &[&[u8]],
) -> std::io::Result<ExecResult> {
    let cmd = params[0];
    // `enforceTLSPolicy`: every command but IDENTIFY, unknown ones included.
    if cmd != b"IDENTIFY" && inner.opts.tls_required != TlsRequired::No && s.features.tls.is_none()
    {
        return Ok(Err(fatal(
            "E_INVALID",
            [&b"cannot "[..], cmd, b" in current state (TLS required)"].concat(),
        )));
    }
    Ok(match cmd {
        b"IDENTIFY" => identify(inner, rd, resp, s).await,
        b"FIN" | b"REQ" | b"TOUCH" => settle(inner, s, params),
        b"RDY" => rdy(inner, resp, s, params),
        b"PUB" | b"DPUB" => publish(inner, rd, s, params).await,
        b"MPUB" => mpublish(inner, rd, s, params).await,
        b"NOP" => Ok(None),
        b"SUB" => subscribe(inner, msg_tx, s, params).await,
        b"CLS" => {
            if s.state != ConnState::Subscribed {
                return Ok(Err(fatal("E_INVALID", "cannot CLS in current state")));
            }
            s.state = ConnState::Closing;
            let mut st = inner.state();
            if let Some(c) = st.clients.get_mut(&s.id) {
                c.rdy = 0;
                c.closing = true;
            }
            drop(st);
            let _ = resp.send(Out::Recheck);
            Ok(Some(b"CLOSE_WAIT".to_vec()))
        }
        b"AUTH" => auth(inner, rd, resp, s, params).await,
        other => Err(fatal(
            "E_INVALID",
            [&b"invalid command "[..], other].concat(),
        )),
    })
}

async fn subscribe(
    inner: &Arc<Inner>,
    msg_tx: &mut Option<mpsc::UnboundedSender<Bytes>>,
    s: &mut Session,
    params: &[&[u8]],
) -> ExecResult {
    if s.state != ConnState::Init {
        return Err(fatal("E_INVALID", "cannot SUB in current state"));
    }
    if s.heartbeat.is_none() {
        return Err(fatal("E_INVALID", "cannot SUB with heartbeats disabled"));
    }
    if params.len() < 3 {
        return Err(fatal("E_INVALID", "SUB insufficient number of parameters"));
    }
    let (topic, channel) = (lossy(params[1]), lossy(params[2]));
    if !is_valid_name(&topic) {
        return Err(fatal(
            "E_BAD_TOPIC",
            format!("SUB topic name {} is not valid", quoted(params[1])),
        ));
    }
    if !is_valid_name(&channel) {
        return Err(fatal(
            "E_BAD_CHANNEL",
            format!("SUB channel name {} is not valid", quoted(params[2])),
        ));
    }
    check_auth(inner, s, "SUB", &topic, &channel).await?;
    let Some(tx) = msg_tx.take() else {
        return Err(fatal("E_INVALID", "cannot SUB in current state"));
    };
    let mut st = inner.state();
    st.clients.insert(
        s.id,
        Client {
            topic: topic.clone(),
            channel: channel.clone(),
            rdy: 0,
            in_flight: 0,
            msg_timeout: s.pump_msg_timeout,
            sample_rate: s.sample_rate,
            closing: false,
            out: tx,
            remote: s.remote.clone(),
            user_agent: s.user_agent.clone(),
            client_id: s.client_id.clone(),
            hostname: s.hostname.clone(),
            finish_count: 0,
            requeue_count: 0,
            message_count: 0,
            connect_ts: s.connect_ts,
            features: s.features.clone(),
        },
    );
    st.subscribe(s.id, &topic, &channel);
    s.state = ConnState::Subscribed;
    Ok(Some(b"OK".to_vec()))
}

fn rdy(
    inner: &Arc<Inner>,
    resp: &mpsc::UnboundedSender<Out>,
    s: &mut Session,
    params: &[&[u8]],
) -> ExecResult {
    let max = inner.opts.max_rdy_count;
    if s.state == ConnState::Closing {
        // nsqd ignores RDY changes of a closing client.
        return Ok(None);
    }
    if s.state != ConnState::Subscribed {
        return Err(fatal("E_INVALID", "cannot RDY in current state"));
    }
    let count = match params.get(1) {
        None => 1,
        Some(p) => base10(p).ok_or_else(|| {
            fatal(
                "E_INVALID",
                [&b"RDY could not parse count "[..], p].concat(),
            )
        })? as i64,
    };
    if count < 0 || count > max {
        // Fatal in nsqd: "otherwise clients would have inconsistent state".
        return Err(fatal(
            "E_INVALID",
            format!("RDY count {count} out of range 0-{max}"),
        ));
    }
    let mut st = inner.state();
    if let Some(c) = st.clients.get_mut(&s.id) {
        c.rdy = count;
    }
    st.client_changed(s.id);
    drop(st);
    let _ = resp.send(Out::Recheck);
    Ok(None)
}

/// FIN, REQ and TOUCH: the only commands whose failure is not fatal.
fn settle(inner: &Arc<Inner>, s: &mut Session, params: &[&[u8]]) -> ExecResult {
    let opts = &inner.opts;
    let name = lossy(params[0]);
    if s.state != ConnState::Subscribed && s.state != ConnState::Closing {
        return Err(fatal(
            "E_INVALID",
            format!("cannot {name} in current state"),
        ));
    }
    let min = if name == "REQ" { 3 } else { 2 };
    if params.len() < min {
        return Err(fatal(
            "E_INVALID",
            format!("{name} insufficient number of params"),
        ));
    }
    let id = parse_id(params[1])?;
    // `FIN <id> failed <reason>`, the id echoed as sent.
    let failed = |e: &str| [name.as_bytes(), b" ", &id, b" failed ", e.as_bytes()].concat();
    match name.as_str() {
        "FIN" => inner
            .state()
            .finish(s.id, &id)
            .map(|()| None)
            .map_err(|e| non_fatal("E_FIN_FAILED", failed(e))),
        "REQ" => {
            let ms = base10(params[2]).ok_or_else(|| {
                fatal(
                    "E_INVALID",
                    [&b"REQ could not parse timeout "[..], params[2]].concat(),
                )
            })?;
            // nsqd clamps (and logs) rather than refuses an out-of-range delay.
            let delay = millis_to_duration(ms)
                .unwrap_or(Duration::ZERO)
                .min(opts.max_req_timeout);
            inner
                .state()
                .requeue(s.id, &id, delay)
                .map(|()| None)
                .map_err(|e| non_fatal("E_REQ_FAILED", failed(e)))
        }
        _ => inner
            .state()
            .touch(s.id, &id, s.msg_timeout, opts.max_msg_timeout)
            .map(|()| None)
            .map_err(|e| non_fatal("E_TOUCH_FAILED", failed(e))),
    }
}

fn producer_of(s: &Session) -> impl FnOnce() -> Producer + '_ {
    || Producer {
        remote: s.remote.clone(),
        client_id: s.client_id.clone(),
        hostname: s.hostname.clone(),
        user_agent: s.user_agent.clone(),
        connect_ts: s.connect_ts,
        pub_counts: Default::default(),
        features: s.features.clone(),
    }
}

async fn publish(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    s: &mut Session,
    params: &[&[u8]],
) -> ExecResult {
    let opts = &inner.opts;
    let name = lossy(params[0]);
    let deferred = name == "DPUB";
    if params.len() < if deferred { 3 } else { 2 } {
        return Err(fatal(
            "E_INVALID",
            format!("{name} insufficient number of parameters"),
        ));
    }
    let topic = lossy(params[1]);
    if !is_valid_name(&topic) {
        return Err(fatal(
            "E_BAD_TOPIC",
            format!("{name} topic name {} is not valid", quoted(params[1])),
        ));
    }
    let mut defer = None;
    if deferred {
        let ms = base10(params[2]).ok_or_else(|| {
            fatal(
                "E_INVALID",
                [&b"DPUB could not parse timeout "[..], params[2]].concat(),
            )
        })?;
        match millis_to_duration(ms) {
            Some(d) if d <= opts.max_req_timeout => defer = Some(d),
            _ => {
                return Err(fatal(
                    "E_INVALID",
                    format!(
                        "DPUB timeout {ms} out of range 0-{}",
                        opts.max_req_timeout.as_millis()
                    ),
                ));
            }
        }
    }
    let body = read_message(rd, opts.max_msg_size, &name, "message").await?;
    check_auth(inner, s, &name, &topic, "").await?;
    let mut st = inner.state();
    st.publish(&topic, Bytes::from(body), defer);
    st.count_published(s.id, producer_of(s), &topic, 1);
    Ok(Some(b"OK".to_vec()))
}

async fn mpublish(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    s: &mut Session,
    params: &[&[u8]],
) -> ExecResult {
    let opts = &inner.opts;
    if params.len() < 2 {
        return Err(fatal("E_INVALID", "MPUB insufficient number of parameters"));
    }
    let topic = lossy(params[1]);
    if !is_valid_name(&topic) {
        // nsqd repeats the code inside the text here.
        return Err(fatal(
            "E_BAD_TOPIC",
            format!(
                "E_BAD_TOPIC MPUB topic name {} is not valid",
                quoted(params[1])
            ),
        ));
    }
    // nsqd checks the authorization, then creates the topic, before it reads the body.
    check_auth(inner, s, "MPUB", &topic, "").await?;
    inner.state().topic(&topic);
    let len = read_len(rd)
        .await
        .map_err(|_| fatal("E_BAD_BODY", "MPUB failed to read body size"))?;
    if len <= 0 {
        return Err(fatal("E_BAD_BODY", format!("MPUB invalid body size {len}")));
    }
    if i64::from(len) > opts.max_body_size as i64 {
        return Err(fatal(
            "E_BAD_BODY",
            format!("MPUB body too big {len} > {}", opts.max_body_size),
        ));
    }
    let msgs = read_mpub(rd, opts.max_msg_size, opts.max_body_size).await?;
    let mut st = inner.state();
    let n = msgs.len() as u64;
    for m in msgs {
        st.publish(&topic, m, None);
    }
    st.count_published(s.id, producer_of(s), &topic, n);
    Ok(Some(b"OK".to_vec()))
}

/// AUTH (`protocolV2.AUTH`): state, parameters and body checked, then the secret is
/// sent to the auth service; its answer must hold at least one authorization.
async fn auth(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    resp: &mpsc::UnboundedSender<Out>,
    s: &mut Session,
    params: &[&[u8]],
) -> ExecResult {
    if s.state != ConnState::Init {
        return Err(fatal("E_INVALID", "cannot AUTH in current state"));
    }
    if params.len() != 1 {
        return Err(fatal("E_INVALID", "AUTH invalid number of parameters"));
    }
    let body = read_body(rd, inner.opts.max_body_size, "AUTH").await?;
    if s.has_authorizations() {
        return Err(fatal("E_INVALID", "AUTH already set"));
    }
    if !inner.auth_enabled() {
        return Err(fatal("E_AUTH_DISABLED", "AUTH disabled"));
    }
    s.auth_secret = body;
    if let Err(e) = query_auth(inner, s).await {
        // nsqd logs why and tells the client nothing more.
        tracing::warn!(client = s.id, error = %e, "AUTH failed");
        return Err(fatal("E_AUTH_FAILED", "AUTH failed"));
    }
    let Some(state) = s.auth.as_ref().filter(|a| a.has_authorizations()) else {
        return Err(fatal("E_UNAUTHORIZED", "AUTH no authorizations found"));
    };
    #[derive(serde::Serialize)]
    struct AuthReply<'a> {
        identity: &'a str,
        identity_url: &'a str,
        permission_count: usize,
    }
    let reply = go_json(&AuthReply {
        identity: &state.identity,
        identity_url: &state.identity_url,
        permission_count: state.permission_count(),
    });
    let _ = resp.send(Out::Flush(frame(FRAME_TYPE_RESPONSE, &reply)));
    Ok(None)
}

/// `clientV2.QueryAuthd`: asks the auth service about this connection and keeps the
/// answer (even one without authorizations, as nsqd does).
async fn query_auth(inner: &Arc<Inner>, s: &mut Session) -> Result<(), String> {
    let opts = &inner.opts;
    let query = AuthQuery {
        remote_ip: &s.remote_ip,
        tls: s.features.tls.is_some(),
        common_name: s
            .features
            .tls
            .as_ref()
            .map_or("", |t| t.common_name.as_str()),
        secret: &s.auth_secret,
    };
    let state = auth::query_any(
        &opts.auth_http_addresses,
        &query,
        opts.http_client_connect_timeout,
        opts.http_client_request_timeout,
    )
    .await?;
    s.features.authed = state.has_authorizations();
    s.features.auth_identity = state.identity.clone();
    s.features.auth_identity_url = state.identity_url.clone();
    s.auth = Some(state);
    inner.state().set_features(s.id, &s.features);
    Ok(())
}

/// `protocolV2.CheckAuth`: with auth enabled, the connection must have AUTHed, and its
/// authorizations (asked again once expired) must allow `cmd` on the topic/channel
/// (`""` for a publish).
async fn check_auth(
    inner: &Arc<Inner>,
    s: &mut Session,
    cmd: &str,
    topic: &str,
    channel: &str,
) -> Result<(), ClientErr> {
    if !inner.auth_enabled() {
        return Ok(());
    }
    if !s.has_authorizations() {
        return Err(fatal("E_AUTH_FIRST", format!("AUTH required before {cmd}")));
    }
    let expired = s
        .auth
        .as_ref()
        .is_some_and(|a| a.is_expired(Instant::now()));
    if expired && let Err(e) = query_auth(inner, s).await {
        tracing::warn!(client = s.id, error = %e, "AUTH failed");
        return Err(fatal("E_AUTH_FAILED", "AUTH failed"));
    }
    if !s
        .auth
        .as_ref()
        .is_some_and(|a| a.is_allowed(topic, channel))
    {
        return Err(fatal(
            "E_UNAUTHORIZED",
            format!(
                "AUTH failed for {cmd} on {} {}",
                quoted(topic.as_bytes()),
                quoted(channel.as_bytes())
            ),
        ));
    }
    Ok(())
}

/// Go's `json.Marshal`: as serde_json, but `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn go_json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_string(value)
        .expect("plain structs serialise")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .into_bytes()
}

/// Decodes the IDENTIFY body as Go's `json.Unmarshal` does: `null` (for the body or
/// a field) leaves the zero value, and keys match case-insensitively. Clients rely on
/// this: tokio-nsq, for one, sends `"sample_rate": null`.
fn parse_identify(body: &[u8]) -> serde_json::Result<Identify> {
    match serde_json::from_slice::<serde_json::Value>(body)? {
        serde_json::Value::Null => Ok(Identify::default()),
        serde_json::Value::Object(map) => serde_json::from_value(serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.to_lowercase(), v))
                .collect(),
        )),
        // Go cannot unmarshal an array, string or number into a struct.
        _ => Err(serde::de::Error::custom("IDENTIFY body is not an object")),
    }
}

/// IDENTIFY: validate like nsqd (`clientV2.Identify`), answer JSON when the client
/// negotiates features.
async fn identify(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    resp: &mpsc::UnboundedSender<Out>,
    s: &mut Session,
) -> ExecResult {
    let opts = &inner.opts;
    // nsqd checks the state before it reads the body.
    if s.state != ConnState::Init {
        return Err(fatal("E_INVALID", "cannot IDENTIFY in current state"));
    }
    let body = read_body(rd, opts.max_body_size, "IDENTIFY").await?;
    let ident = parse_identify(&body)
        .map_err(|_| fatal("E_BAD_BODY", "IDENTIFY failed to decode JSON body"))?;
    let bad = |what: &str, v: i64| fatal("E_BAD_BODY", format!("IDENTIFY {what} ({v}) is invalid"));
    s.client_id = ident.client_id.clone();
    s.hostname = ident.hostname.clone();
    s.user_agent = ident.user_agent.clone();
    let max_hb = opts.max_heartbeat_interval.as_millis() as i64;
    match ident.heartbeat_interval {
        -1 => s.heartbeat = None,
        0 => {}
        ms if (1000..=max_hb).contains(&ms) => {
            s.heartbeat = Some(Duration::from_millis(ms as u64));
        }
        ms => return Err(bad("heartbeat interval", ms)),
    }
    let min_obt = opts.min_output_buffer_timeout.as_millis() as i64;
    let max_obt = opts.max_output_buffer_timeout.as_millis() as i64;
    match ident.output_buffer_timeout {
        -1 => s.output_buffer_timeout = Duration::ZERO,
        0 => {}
        ms if (min_obt..=max_obt).contains(&ms) => {
            s.output_buffer_timeout = Duration::from_millis(ms as u64);
        }
        ms => return Err(bad("output buffer timeout", ms)),
    }
    match ident.output_buffer_size {
        -1 => {
            // "effectively no buffer": every write goes straight out.
            s.output_buffer_size = 1;
            s.output_buffer_timeout = Duration::ZERO;
        }
        0 => {}
        n if n >= MIN_OUTPUT_BUFFER_SIZE && n as usize <= opts.max_output_buffer_size => {
            s.output_buffer_size = n as usize;
        }
        n => return Err(bad("output buffer size", n)),
    }
    if !(0..=MAX_SAMPLE_RATE).contains(&ident.sample_rate) {
        return Err(bad("sample rate", i64::from(ident.sample_rate)));
    }
    s.sample_rate = ident.sample_rate;
    let max_mt = opts.max_msg_timeout.as_millis() as i64;
    match ident.msg_timeout {
        0 => {}
        ms if (1000..=max_mt).contains(&ms) => s.msg_timeout = Duration::from_millis(ms as u64),
        ms => return Err(bad("msg timeout", ms)),
    }
    if !s.pump_identified {
        s.pump_identified = true;
        s.pump_msg_timeout = s.msg_timeout;
        let _ = resp.send(Out::Settings(WriterSettings {
            heartbeat: s.heartbeat,
            output_buffer_size: s.output_buffer_size,
            output_buffer_timeout: s.output_buffer_timeout,
        }));
    }
    if !ident.feature_negotiation {
        return Ok(Some(b"OK".to_vec()));
    }
    let tls_v1 = inner.tls.is_some() && ident.tls_v1;
    let deflate = opts.deflate && ident.deflate;
    let mut deflate_level = DEFAULT_DEFLATE_LEVEL;
    if deflate && ident.deflate_level > 0 {
        deflate_level = ident.deflate_level;
    }
    // Clamped even when deflate is off, as in nsqd (the reply shows it).
    deflate_level = deflate_level.min(opts.max_deflate_level);
    let snappy = opts.snappy && ident.snappy;
    if deflate && snappy {
        return Err(fatal(
            "E_IDENTIFY_FAILED",
            "cannot enable both deflate and snappy compression",
        ));
    }
    let reply = serde_json::json!({
        "max_rdy_count": opts.max_rdy_count,
        "version": super::VERSION,
        "max_msg_timeout": opts.max_msg_timeout.as_millis() as u64,
        "msg_timeout": s.msg_timeout.as_millis() as u64,
        "tls_v1": tls_v1,
        "deflate": deflate,
        "deflate_level": deflate_level,
        "max_deflate_level": opts.max_deflate_level,
        "snappy": snappy,
        "sample_rate": s.sample_rate,
        "auth_required": inner.auth_enabled(),
        "output_buffer_size": s.output_buffer_size,
        "output_buffer_timeout": s.output_buffer_timeout.as_millis() as u64,
    });
    let reply = serde_json::to_vec(&reply).expect("JSON value serialises");
    // The reply goes out as the connection is; each upgrade then answers `OK` over
    // what it set up.
    let _ = resp.send(Out::Flush(frame(FRAME_TYPE_RESPONSE, &reply)));
    let ok = || Out::Flush(frame(FRAME_TYPE_RESPONSE, b"OK"));
    if tls_v1 {
        upgrade_tls(inner, rd, resp, s).await?;
        let _ = resp.send(ok());
    }
    if snappy {
        upgrade_compression(rd, resp, Encoder::snappy(), |r| {
            ConnRead::Snappy(Box::new(SnappyRead::new(r)))
        })?;
        s.features.snappy = true;
        let _ = resp.send(ok());
    }
    if deflate {
        // 1..=9: at least 1 as chosen above, at most `max_deflate_level` (1..=9).
        let level = deflate_level as u32;
        upgrade_compression(rd, resp, Encoder::deflate(level), |r| {
            ConnRead::Deflate(Box::new(InflateRead::new(r)))
        })?;
        s.features.deflate = true;
        let _ = resp.send(ok());
    }
    Ok(None)
}

fn identify_failed(e: impl std::fmt::Display) -> ClientErr {
    fatal("E_IDENTIFY_FAILED", format!("IDENTIFY failed {e}"))
}

/// `clientV2.UpgradeTLS`: the handshake on the TCP connection, within 5 s. On failure
/// the error frame goes out unencrypted, as nsqd's writer is still the plain one.
async fn upgrade_tls(
    inner: &Arc<Inner>,
    rd: &mut Reader,
    resp: &mpsc::UnboundedSender<Out>,
    s: &mut Session,
) -> Result<(), ClientErr> {
    // A second IDENTIFY asking again: nsqd would start a handshake on the raw
    // connection under the existing layers; the stand-in refuses.
    if !rd.get_ref().is_plain() {
        return Err(identify_failed("connection already upgraded"));
    }
    let acceptor = inner
        .tls
        .clone()
        .expect("tls_v1 is granted only with a TLS configuration");
    let (give, taken) = oneshot::channel();
    let (back, back_rx) = oneshot::channel();
    let _ = resp.send(Out::Upgrade {
        give,
        back: back_rx,
    });
    let Ok(wr) = taken.await else {
        return Err(identify_failed("connection closed"));
    };
    let ConnRead::Plain(r) = std::mem::replace(rd, BufReader::new(ConnRead::Gone)).into_inner()
    else {
        unreachable!("checked plain above");
    };
    let tcp = r.reunite(wr).map_err(identify_failed)?;
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp).into_fallible()).await {
        Ok(Ok(tls)) => {
            s.features.tls = Some(TlsInfo::of(tls.get_ref().1));
            let (r, w) = tokio::io::split(tls);
            *rd = BufReader::new(ConnRead::Tls(r));
            let _ = back.send(ConnWrite::Tls(w));
            Ok(())
        }
        Ok(Err((e, tcp))) => {
            let (r, w) = tcp.into_split();
            *rd = BufReader::new(ConnRead::Plain(r));
            let _ = back.send(ConnWrite::Plain(w));
            Err(identify_failed(e))
        }
        // The stream went with the handshake: the connection ends.
        Err(_) => Err(identify_failed("i/o timeout")),
    }
}

/// `UpgradeSnappy` / `UpgradeDeflate`: a decompressing reader over the TCP or TLS
/// stream, a compressor in front of the writer.
fn upgrade_compression(
    rd: &mut Reader,
    resp: &mpsc::UnboundedSender<Out>,
    encoder: Encoder,
    wrap: impl FnOnce(ConnRead) -> ConnRead,
) -> Result<(), ClientErr> {
    if rd.get_ref().is_compressed() {
        return Err(identify_failed("connection already compressed"));
    }
    let below = std::mem::replace(rd, BufReader::new(ConnRead::Gone)).into_inner();
    *rd = BufReader::new(wrap(below));
    let _ = resp.send(Out::Compress(encoder));
    Ok(())
}

async fn write_loop(
    inner: Arc<Inner>,
    id: u64,
    mut wr: Sink,
    mut resp: mpsc::UnboundedReceiver<Out>,
    mut msgs: mpsc::UnboundedReceiver<Bytes>,
    mut cfg: WriterSettings,
) {
    let heartbeat_frame = frame(FRAME_TYPE_RESPONSE, b"_heartbeat_");
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut hb = cfg
        .heartbeat
        .map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
    let mut flush_at: Option<tokio::time::Instant> = None;
    let mut msgs_open = true;
    loop {
        let flush_sleep = async {
            match flush_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let tick = async {
            match hb.as_mut() {
                Some(i) => {
                    i.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            out = resp.recv() => match out {
                Some(Out::Flush(f)) => {
                    // Messages already handed to this client go out before the response,
                    // as they share one buffer in nsqd.
                    while let Ok(m) = msgs.try_recv() {
                        buf.put_slice(&m);
                    }
                    buf.put_slice(&f);
                    if wr.send(&buf).await.is_err() { return; }
                    buf.clear();
                    flush_at = None;
                }
                Some(Out::Recheck) => {
                    // nsqd's pump wakes on `ReadyStateChan` and flushes a client that is
                    // no longer ready.
                    let ready = inner.state().clients.get(&id).is_some_and(|c| c.is_ready());
                    if !ready && !buf.is_empty() {
                        if wr.send(&buf).await.is_err() { return; }
                        buf.clear();
                        flush_at = None;
                    }
                }
                Some(Out::Settings(s)) => {
                    cfg = s;
                    hb = cfg.heartbeat.map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
                }
                Some(Out::Upgrade { give, back }) => {
                    // Nothing is buffered: the IDENTIFY reply was flushed before this.
                    let Some(tcp) = wr.take_plain() else { return };
                    if give.send(tcp).is_err() { return; }
                    // As nsqd's write lock during the handshake: no heartbeat meanwhile.
                    match back.await {
                        Ok(io) => wr.set_io(io),
                        Err(_) => return,
                    }
                }
                Some(Out::Compress(e)) => wr.compress(e),
                None => {
                    let _ = wr.send(&buf).await;
                    wr.close().await;
                    return;
                }
            },
            () = tick => {
                buf.put_slice(&heartbeat_frame);
                if wr.send(&buf).await.is_err() { return; }
                buf.clear();
                flush_at = None;
            }
            m = msgs.recv(), if msgs_open => match m {
                Some(f) => {
                    buf.put_slice(&f);
                    while let Ok(f) = msgs.try_recv() {
                        buf.put_slice(&f);
                    }
                    let ready = inner.state().clients.get(&id).is_some_and(|c| c.is_ready());
                    if !ready || buf.len() >= cfg.output_buffer_size {
                        if wr.send(&buf).await.is_err() { return; }
                        buf.clear();
                        flush_at = None;
                    } else if flush_at.is_none() && !cfg.output_buffer_timeout.is_zero() {
                        // A zero timeout (IDENTIFY -1) stops nsqd's flush ticker: the
                        // buffer then waits for a full window, a full buffer or the
                        // next response/heartbeat.
                        flush_at = Some(tokio::time::Instant::now() + cfg.output_buffer_timeout);
                    }
                }
                None => msgs_open = false,
            },
            () = flush_sleep => {
                if wr.send(&buf).await.is_err() { return; }
                buf.clear();
                flush_at = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base10_is_nsqds_byte_to_base10() {
        assert_eq!(base10(b"250"), Some(250));
        assert_eq!(base10(b""), Some(0), "an empty count parses as 0");
        assert_eq!(base10(b"-1"), None, "no sign");
        assert_eq!(base10(b"+1"), None);
        assert_eq!(base10(b"1.5"), None);
    }

    #[test]
    fn names_are_quoted_like_go() {
        assert_eq!(quoted(b"bad/t"), r#""bad/t""#);
        assert_eq!(quoted(b"a\tb\x00\"\xff"), r#""a\tb\x00\"\xff""#);
        assert_eq!(quoted("é\u{a0}".as_bytes()), r#""é\u00a0""#);
    }

    #[test]
    fn huge_millis_wrap_like_a_go_duration() {
        assert_eq!(millis_to_duration(5), Some(Duration::from_millis(5)));
        // 2^63 / 1e6 ms overflows int64 nanoseconds and goes negative in Go.
        assert_eq!(millis_to_duration(9_300_000_000_000), None);
    }

    #[test]
    fn identify_bodies_decode_like_go_json() {
        let i =
            parse_identify(br#"{"sample_rate":null,"Client_ID":"x","msg_timeout":2000}"#).unwrap();
        assert_eq!(
            (i.sample_rate, i.client_id.as_str(), i.msg_timeout),
            (0, "x", 2000)
        );
        assert_eq!(parse_identify(b"null").unwrap().msg_timeout, 0);
        assert!(parse_identify(b"[]").is_err());
        assert!(parse_identify(br#"{"msg_timeout":"1"}"#).is_err());
        assert!(parse_identify(br#"{"msg_timeout":1.5}"#).is_err());
    }
}
