//! nsqd's TCP protocol V2 (`nsqd/protocol_v2.go`): one task reads commands, one writes
//! frames with nsqd's output buffering, and a heartbeat ticker.
//!
//! Output buffering follows `messagePump`: messages collect in the client's buffer,
//! which is flushed at once when the client is no longer ready (its window is full),
//! when the buffer passes `output_buffer_size`, when a response or heartbeat is sent, and
//! otherwise after `output_buffer_timeout` — so the last messages of a burst can wait
//! that long, as they do with the real server.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::queue::{Client, MsgId};
use super::{Inner, is_valid_name};

const FRAME_TYPE_RESPONSE: u32 = 0;
const FRAME_TYPE_ERROR: u32 = 1;

/// An error frame and whether nsqd closes the connection after it (`FatalClientErr`).
struct ClientErr {
    code: &'static str,
    text: String,
    fatal: bool,
}

fn fatal(code: &'static str, text: impl Into<String>) -> ClientErr {
    ClientErr {
        code,
        text: text.into(),
        fatal: true,
    }
}

fn non_fatal(code: &'static str, text: impl Into<String>) -> ClientErr {
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
    sample_rate: i32,
    msg_timeout: i64,
}

#[derive(PartialEq, Eq)]
enum ConnState {
    Init,
    Subscribed,
    Closing,
}

/// Per-connection settings negotiated by IDENTIFY.
struct Session {
    id: u64,
    state: ConnState,
    identified: bool,
    heartbeat: Option<Duration>,
    output_buffer_size: usize,
    output_buffer_timeout: Duration,
    msg_timeout: Duration,
    ident: Identify,
    remote: String,
}

/// Settings the writer task needs, sent once IDENTIFY has run.
#[derive(Clone, Copy)]
struct WriterSettings {
    heartbeat: Option<Duration>,
    output_buffer_size: usize,
    output_buffer_timeout: Duration,
}

/// What the reader hands the writer: a response/error (flushed at once), or new
/// buffering settings.
enum Out {
    Flush(Bytes),
    Settings(WriterSettings),
}

/// Takes the client out of its channel however the connection task ends, aborted
/// (`NsqServer::drop_clients`) included.
struct ClientGuard {
    inner: Arc<Inner>,
    id: u64,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.inner.state().remove_client(self.id);
    }
}

pub(crate) async fn serve_conn(inner: Arc<Inner>, stream: TcpStream, id: u64) {
    let _guard = ClientGuard {
        inner: Arc::clone(&inner),
        id,
    };
    let remote = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (resp_tx, resp_rx) = mpsc::unbounded_channel::<Out>();
    let (msg_tx, msg_rx) = mpsc::unbounded_channel::<Bytes>();
    let opts = inner.opts.clone();
    let defaults = WriterSettings {
        heartbeat: Some(opts.heartbeat_interval),
        output_buffer_size: opts.output_buffer_size,
        output_buffer_timeout: opts.output_buffer_timeout,
    };
    let writer = tokio::spawn(write_loop(
        Arc::clone(&inner),
        id,
        wr,
        resp_rx,
        msg_rx,
        defaults,
    ));
    let mut session = Session {
        id,
        state: ConnState::Init,
        identified: false,
        heartbeat: Some(opts.heartbeat_interval),
        output_buffer_size: opts.output_buffer_size,
        output_buffer_timeout: opts.output_buffer_timeout,
        msg_timeout: opts.msg_timeout,
        ident: Identify::default(),
        remote,
    };
    if let Err(e) = read_loop(&inner, rd, &resp_tx, msg_tx, &mut session).await {
        tracing::debug!(client = id, error = %e, "client connection ended");
    }
    inner.state().remove_client(id);
    drop(resp_tx);
    // The writer flushes what is queued (a final error frame, say) and closes.
    let _ = writer.await;
}

async fn read_loop(
    inner: &Arc<Inner>,
    rd: OwnedReadHalf,
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
        line.clear();
        // nsqd sets a read deadline of two heartbeat intervals before every read.
        let read = rd.read_until(b'\n', &mut line);
        let n = match s.heartbeat {
            Some(hb) => match tokio::time::timeout(hb * 2, read).await {
                Ok(r) => r?,
                Err(_) => {
                    tracing::debug!(
                        client = s.id,
                        "no data for two heartbeat intervals; closing"
                    );
                    return Ok(());
                }
            },
            None => read.await?,
        };
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let params: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let result = exec(inner, &mut rd, resp, &mut msg_tx, s, &params).await?;
        match result {
            Ok(Some(data)) => {
                let _ = resp.send(Out::Flush(frame(FRAME_TYPE_RESPONSE, &data)));
            }
            Ok(None) => {}
            Err(e) => {
                let text = if e.text.is_empty() {
                    e.code.to_owned()
                } else {
                    format!("{} {}", e.code, e.text)
                };
                let _ = resp.send(Out::Flush(frame(FRAME_TYPE_ERROR, text.as_bytes())));
                if e.fatal {
                    return Ok(());
                }
            }
        }
    }
}

type ExecResult = Result<Option<Vec<u8>>, ClientErr>;

async fn read_body(
    rd: &mut BufReader<OwnedReadHalf>,
    max: usize,
    cmd: &str,
) -> std::io::Result<Result<Vec<u8>, ClientErr>> {
    let len = rd.read_u32().await? as usize;
    if len == 0 || len > max {
        return Ok(Err(fatal(
            "E_BAD_BODY",
            format!("{cmd} invalid body size {len}"),
        )));
    }
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body).await?;
    Ok(Ok(body))
}

fn parse_id(p: &[u8]) -> Result<MsgId, ClientErr> {
    p.try_into().map_err(|_| {
        fatal(
            "E_INVALID",
            format!("Invalid Message ID {}", String::from_utf8_lossy(p)),
        )
    })
}

async fn exec(
    inner: &Arc<Inner>,
    rd: &mut BufReader<OwnedReadHalf>,
    resp: &mpsc::UnboundedSender<Out>,
    msg_tx: &mut Option<mpsc::UnboundedSender<Bytes>>,
    s: &mut Session,
    params: &[&[u8]],
) -> std::io::Result<ExecResult> {
    let opts = &inner.opts;
    let cmd = params[0];
    let text = |i: usize| {
        params
            .get(i)
            .map(|p| String::from_utf8_lossy(p).into_owned())
    };
    Ok(match cmd {
        b"NOP" => Ok(None),
        b"IDENTIFY" => {
            let body = match read_body(rd, opts.max_body_size, "IDENTIFY").await? {
                Ok(b) => b,
                Err(e) => return Ok(Err(e)),
            };
            if s.state != ConnState::Init || s.identified {
                return Ok(Err(fatal("E_INVALID", "cannot IDENTIFY in current state")));
            }
            identify(inner, resp, s, &body)
        }
        b"SUB" => {
            if s.state != ConnState::Init {
                return Ok(Err(fatal("E_INVALID", "cannot SUB in current state")));
            }
            if params.len() < 3 {
                return Ok(Err(fatal(
                    "E_INVALID",
                    "SUB insufficient number of parameters",
                )));
            }
            let (topic, channel) = (text(1).unwrap_or_default(), text(2).unwrap_or_default());
            if !is_valid_name(&topic) {
                return Ok(Err(fatal(
                    "E_BAD_TOPIC",
                    format!("SUB topic name {topic:?} is not valid"),
                )));
            }
            if !is_valid_name(&channel) {
                return Ok(Err(fatal(
                    "E_BAD_CHANNEL",
                    format!("SUB channel name {channel:?} is not valid"),
                )));
            }
            let Some(tx) = msg_tx.take() else {
                return Ok(Err(fatal("E_INVALID", "cannot SUB in current state")));
            };
            let mut st = inner.state();
            st.clients.insert(
                s.id,
                Client {
                    topic: topic.clone(),
                    channel: channel.clone(),
                    rdy: 0,
                    in_flight: 0,
                    msg_timeout: s.msg_timeout,
                    closing: false,
                    out: tx,
                    remote: s.remote.clone(),
                    user_agent: s.ident.user_agent.clone(),
                    client_id: s.ident.client_id.clone(),
                    hostname: s.ident.hostname.clone(),
                    finish_count: 0,
                    requeue_count: 0,
                    message_count: 0,
                },
            );
            st.subscribe(s.id, &topic, &channel);
            s.state = ConnState::Subscribed;
            Ok(Some(b"OK".to_vec()))
        }
        b"RDY" => {
            if s.state == ConnState::Closing {
                // nsqd ignores RDY changes of a closing client.
                return Ok(Ok(None));
            }
            if s.state != ConnState::Subscribed {
                return Ok(Err(fatal("E_INVALID", "cannot RDY in current state")));
            }
            let count = match params.get(1) {
                None => 1,
                Some(p) => match std::str::from_utf8(p)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                {
                    Some(n) => n,
                    None => {
                        return Ok(Err(fatal(
                            "E_INVALID",
                            format!("RDY could not parse count {}", text(1).unwrap_or_default()),
                        )));
                    }
                },
            };
            if count < 0 || count > opts.max_rdy_count {
                return Ok(Err(fatal(
                    "E_INVALID",
                    format!("RDY count {count} out of range 0-{}", opts.max_rdy_count),
                )));
            }
            let mut st = inner.state();
            if let Some(c) = st.clients.get_mut(&s.id) {
                c.rdy = count;
            }
            st.client_changed(s.id);
            Ok(None)
        }
        b"FIN" | b"REQ" | b"TOUCH" => {
            let name = String::from_utf8_lossy(cmd).into_owned();
            if s.state != ConnState::Subscribed && s.state != ConnState::Closing {
                return Ok(Err(fatal(
                    "E_INVALID",
                    format!("cannot {name} in current state"),
                )));
            }
            let min = if cmd == b"REQ" { 3 } else { 2 };
            if params.len() < min {
                return Ok(Err(fatal(
                    "E_INVALID",
                    format!("{name} insufficient number of params"),
                )));
            }
            let id = match parse_id(params[1]) {
                Ok(id) => id,
                Err(e) => return Ok(Err(e)),
            };
            let idtext = String::from_utf8_lossy(&id).into_owned();
            let mut st = inner.state();
            match cmd {
                b"FIN" => st
                    .finish(s.id, &id)
                    .map(|()| None)
                    .map_err(|e| non_fatal("E_FIN_FAILED", format!("FIN {idtext} failed {e}"))),
                b"REQ" => {
                    let Some(ms) = std::str::from_utf8(params[2])
                        .ok()
                        .and_then(|t| t.parse::<i64>().ok())
                    else {
                        return Ok(Err(fatal(
                            "E_INVALID",
                            format!(
                                "REQ could not parse timeout {}",
                                text(2).unwrap_or_default()
                            ),
                        )));
                    };
                    // nsqd clamps (and logs) rather than refuses an out-of-range delay.
                    let delay = Duration::from_millis(ms.max(0) as u64).min(opts.max_req_timeout);
                    st.requeue(s.id, &id, delay)
                        .map(|()| None)
                        .map_err(|e| non_fatal("E_REQ_FAILED", format!("REQ {idtext} failed {e}")))
                }
                _ => st
                    .touch(s.id, &id, opts.max_msg_timeout)
                    .map(|()| None)
                    .map_err(|e| non_fatal("E_TOUCH_FAILED", format!("TOUCH {idtext} failed {e}"))),
            }
        }
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
            Ok(Some(b"CLOSE_WAIT".to_vec()))
        }
        b"PUB" | b"DPUB" => {
            let name = String::from_utf8_lossy(cmd).into_owned();
            let need = if cmd == b"DPUB" { 3 } else { 2 };
            if params.len() < need {
                return Ok(Err(fatal(
                    "E_INVALID",
                    format!("{name} insufficient number of parameters"),
                )));
            }
            let topic = text(1).unwrap_or_default();
            if !is_valid_name(&topic) {
                return Ok(Err(fatal(
                    "E_BAD_TOPIC",
                    format!("{name} topic name {topic:?} is not valid"),
                )));
            }
            let mut defer = None;
            if cmd == b"DPUB" {
                let Some(ms) = std::str::from_utf8(params[2])
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                else {
                    return Ok(Err(fatal(
                        "E_INVALID",
                        format!(
                            "DPUB could not parse timeout {}",
                            text(2).unwrap_or_default()
                        ),
                    )));
                };
                let max = opts.max_req_timeout.as_millis() as i64;
                if ms < 0 || ms > max {
                    return Ok(Err(fatal(
                        "E_INVALID",
                        format!("DPUB timeout {ms} out of range 0-{max}"),
                    )));
                }
                defer = Some(Duration::from_millis(ms as u64));
            }
            let len = rd.read_u32().await? as usize;
            if len == 0 {
                return Ok(Err(fatal(
                    "E_BAD_MESSAGE",
                    format!("{name} invalid message body size {len}"),
                )));
            }
            if len > opts.max_msg_size {
                return Ok(Err(fatal(
                    "E_BAD_MESSAGE",
                    format!("{name} message too big {len} > {}", opts.max_msg_size),
                )));
            }
            let mut body = vec![0u8; len];
            rd.read_exact(&mut body).await?;
            inner.state().publish(&topic, Bytes::from(body), defer);
            Ok(Some(b"OK".to_vec()))
        }
        b"MPUB" => {
            if params.len() < 2 {
                return Ok(Err(fatal(
                    "E_INVALID",
                    "MPUB insufficient number of parameters",
                )));
            }
            let topic = text(1).unwrap_or_default();
            if !is_valid_name(&topic) {
                return Ok(Err(fatal(
                    "E_BAD_TOPIC",
                    format!("MPUB topic name {topic:?} is not valid"),
                )));
            }
            let body = match read_body(rd, opts.max_body_size, "MPUB").await? {
                Ok(b) => b,
                Err(e) => return Ok(Err(e)),
            };
            match super::parse_binary_mpub(&body, opts.max_msg_size) {
                Ok(msgs) => {
                    let mut st = inner.state();
                    for m in msgs {
                        st.publish(&topic, m, None);
                    }
                    Ok(Some(b"OK".to_vec()))
                }
                Err(e) => Err(fatal("E_BAD_MESSAGE", format!("MPUB {e}"))),
            }
        }
        b"AUTH" => Err(fatal("E_AUTH_DISABLED", "AUTH disabled")),
        other => Err(fatal(
            "E_INVALID",
            format!("invalid command {}", String::from_utf8_lossy(other)),
        )),
    })
}

/// IDENTIFY: validate like nsqd, answer JSON when the client negotiates features.
fn identify(
    inner: &Arc<Inner>,
    resp: &mpsc::UnboundedSender<Out>,
    s: &mut Session,
    body: &[u8],
) -> ExecResult {
    let opts = &inner.opts;
    let ident: Identify = serde_json::from_slice(body)
        .map_err(|_| fatal("E_BAD_BODY", "IDENTIFY failed to decode JSON body"))?;
    let max_hb = opts.max_heartbeat_interval.as_millis() as i64;
    s.heartbeat = match ident.heartbeat_interval {
        -1 => None,
        0 => Some(opts.heartbeat_interval),
        ms if (1000..=max_hb).contains(&ms) => Some(Duration::from_millis(ms as u64)),
        ms => {
            return Err(fatal(
                "E_BAD_BODY",
                format!("IDENTIFY heartbeat interval ({ms}) is invalid"),
            ));
        }
    };
    s.output_buffer_size = match ident.output_buffer_size {
        -1 => 1,
        0 => opts.output_buffer_size,
        n if n >= 64 && n as usize <= opts.max_output_buffer_size => n as usize,
        n => {
            return Err(fatal(
                "E_BAD_BODY",
                format!("IDENTIFY output buffer size ({n}) is invalid"),
            ));
        }
    };
    let max_obt = opts.max_output_buffer_timeout.as_millis() as i64;
    s.output_buffer_timeout = match ident.output_buffer_timeout {
        -1 => Duration::ZERO,
        0 => opts.output_buffer_timeout,
        ms if (1..=max_obt).contains(&ms) => Duration::from_millis(ms as u64),
        ms => {
            return Err(fatal(
                "E_BAD_BODY",
                format!("IDENTIFY output buffer timeout ({ms}) is invalid"),
            ));
        }
    };
    let max_mt = opts.max_msg_timeout.as_millis() as i64;
    s.msg_timeout = match ident.msg_timeout {
        0 => opts.msg_timeout,
        ms if (1000..=max_mt).contains(&ms) => Duration::from_millis(ms as u64),
        ms => {
            return Err(fatal(
                "E_BAD_BODY",
                format!("IDENTIFY msg timeout ({ms}) is invalid"),
            ));
        }
    };
    if !(0..=99).contains(&ident.sample_rate) {
        return Err(fatal(
            "E_BAD_BODY",
            format!("IDENTIFY sample rate ({}) is invalid", ident.sample_rate),
        ));
    }
    // TLS, snappy and deflate are never negotiated: the reply says false, as an nsqd
    // started without TLS and with compression disabled does.
    let _ = (ident.tls_v1, ident.snappy, ident.deflate);
    let _ = resp.send(Out::Settings(WriterSettings {
        heartbeat: s.heartbeat,
        output_buffer_size: s.output_buffer_size,
        output_buffer_timeout: s.output_buffer_timeout,
    }));
    s.identified = true;
    let negotiate = ident.feature_negotiation;
    s.ident = ident;
    if !negotiate {
        return Ok(Some(b"OK".to_vec()));
    }
    let reply = serde_json::json!({
        "max_rdy_count": opts.max_rdy_count,
        "version": super::VERSION,
        "max_msg_timeout": opts.max_msg_timeout.as_millis() as u64,
        "msg_timeout": s.msg_timeout.as_millis() as u64,
        "tls_v1": false,
        "deflate": false,
        "deflate_level": 6,
        "max_deflate_level": 6,
        "snappy": false,
        "sample_rate": 0,
        "auth_required": false,
        "output_buffer_size": s.output_buffer_size,
        "output_buffer_timeout": s.output_buffer_timeout.as_millis() as u64,
    });
    Ok(Some(
        serde_json::to_vec(&reply).expect("JSON value serialises"),
    ))
}

async fn write_loop(
    inner: Arc<Inner>,
    id: u64,
    mut wr: OwnedWriteHalf,
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
                    if wr.write_all(&buf).await.is_err() { return; }
                    buf.clear();
                    flush_at = None;
                }
                Some(Out::Settings(s)) => {
                    cfg = s;
                    hb = cfg.heartbeat.map(|d| tokio::time::interval_at(tokio::time::Instant::now() + d, d));
                }
                None => {
                    let _ = wr.write_all(&buf).await;
                    let _ = wr.shutdown().await;
                    return;
                }
            },
            () = tick => {
                buf.put_slice(&heartbeat_frame);
                if wr.write_all(&buf).await.is_err() { return; }
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
                    if !ready || buf.len() >= cfg.output_buffer_size || cfg.output_buffer_timeout.is_zero() {
                        if wr.write_all(&buf).await.is_err() { return; }
                        buf.clear();
                        flush_at = None;
                    } else if flush_at.is_none() {
                        flush_at = Some(tokio::time::Instant::now() + cfg.output_buffer_timeout);
                    }
                }
                None => msgs_open = false,
            },
            () = flush_sleep => {
                if wr.write_all(&buf).await.is_err() { return; }
                buf.clear();
                flush_at = None;
            }
        }
    }
}
