//! Stand-in nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API), in one process,
//! modelled on nsqd 1.3.0's source (`nsqd/protocol_v2.go`, `channel.go`, `http.go`,
//! `nsqlookupd/http.go`). State is in memory only.
//!
//! # Layout
//! - `queue`: topics, channels, in-flight and deferred messages, the RDY window.
//! - `tcp`: the TCP protocol: commands, error frames, heartbeats, output buffering.
//! - `http`: nsqd's and nsqlookupd's HTTP APIs.
//!
//! What differs from the real servers is listed in `devstack/README.md`.

mod http;
mod queue;
mod tcp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinHandle};

pub use queue::{ChannelStats, ClientStats, MessageState, QueuedMessage, TopicStats};

/// The nsqd version the stand-in reports (and whose behaviour it follows).
pub const VERSION: &str = "1.3.0";

/// How often in-flight timeouts and deferred messages are checked (nsqd's
/// `--queue-scan-interval` default).
const QUEUE_SCAN_INTERVAL: Duration = Duration::from_millis(100);

/// nsqd's options that matter to the stand-in, with nsqd's defaults.
#[derive(Debug, Clone)]
pub struct NsqOptions {
    pub tcp_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub lookupd_http_addr: SocketAddr,
    /// Address nsqlookupd tells consumers to use (nsqd `--broadcast-address`); the IP of
    /// `tcp_addr` when `None`.
    pub broadcast_address: Option<String>,
    pub max_rdy_count: i64,
    pub msg_timeout: Duration,
    pub max_msg_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_heartbeat_interval: Duration,
    pub max_req_timeout: Duration,
    pub max_msg_size: usize,
    pub max_body_size: usize,
    pub output_buffer_size: usize,
    pub max_output_buffer_size: usize,
    pub output_buffer_timeout: Duration,
    pub max_output_buffer_timeout: Duration,
}

impl Default for NsqOptions {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        NsqOptions {
            tcp_addr: any,
            http_addr: any,
            lookupd_http_addr: any,
            broadcast_address: None,
            max_rdy_count: 2500,
            msg_timeout: Duration::from_secs(60),
            max_msg_timeout: Duration::from_secs(15 * 60),
            heartbeat_interval: Duration::from_secs(30),
            max_heartbeat_interval: Duration::from_secs(60),
            max_req_timeout: Duration::from_secs(60 * 60),
            max_msg_size: 1024 * 1024,
            max_body_size: 5 * 1024 * 1024,
            output_buffer_size: 16 * 1024,
            max_output_buffer_size: 64 * 1024,
            output_buffer_timeout: Duration::from_millis(250),
            max_output_buffer_timeout: Duration::from_secs(30),
        }
    }
}

pub(crate) struct Inner {
    opts: NsqOptions,
    state: Mutex<queue::State>,
    tcp_addr: SocketAddr,
    http_addr: SocketAddr,
    lookupd_addr: SocketAddr,
    next_client: AtomicU64,
    conns: Mutex<Vec<AbortHandle>>,
    started: std::time::SystemTime,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, queue::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running stand-in nsqd + nsqlookupd. Dropping it stops both.
pub struct NsqServer {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

impl NsqServer {
    /// Binds the three listeners and starts serving.
    pub async fn start(opts: NsqOptions) -> std::io::Result<NsqServer> {
        let tcp = TcpListener::bind(opts.tcp_addr).await?;
        let http = TcpListener::bind(opts.http_addr).await?;
        let lookupd = TcpListener::bind(opts.lookupd_http_addr).await?;
        let inner = Arc::new(Inner {
            tcp_addr: tcp.local_addr()?,
            http_addr: http.local_addr()?,
            lookupd_addr: lookupd.local_addr()?,
            opts,
            state: Mutex::new(queue::State::default()),
            next_client: AtomicU64::new(0),
            conns: Mutex::new(Vec::new()),
            started: std::time::SystemTime::now(),
        });
        let mut tasks = Vec::new();
        let i = Arc::clone(&inner);
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = tcp.accept().await else {
                    continue;
                };
                let id = i.next_client.fetch_add(1, Ordering::Relaxed) + 1;
                let task = tokio::spawn(tcp::serve_conn(Arc::clone(&i), stream, id));
                let mut conns = i.conns.lock().unwrap_or_else(|p| p.into_inner());
                conns.retain(|h| !h.is_finished());
                conns.push(task.abort_handle());
            }
        }));
        let i = Arc::clone(&inner);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(QUEUE_SCAN_INTERVAL);
            loop {
                tick.tick().await;
                i.state().scan(Instant::now());
            }
        }));
        tasks.push(tokio::spawn(http::serve_nsqd(http, Arc::clone(&inner))));
        tasks.push(tokio::spawn(http::serve_lookupd(
            lookupd,
            Arc::clone(&inner),
        )));
        Ok(NsqServer { inner, tasks })
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.inner.tcp_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.inner.http_addr
    }

    pub fn lookupd_http_addr(&self) -> SocketAddr {
        self.inner.lookupd_addr
    }

    /// Publishes one message, as `POST /pub?topic=` does.
    pub fn publish(&self, topic: &str, body: impl Into<Bytes>) {
        self.inner.state().publish(topic, body.into(), None);
    }

    pub fn create_topic(&self, topic: &str) {
        self.inner.state().topic(topic);
    }

    pub fn create_channel(&self, topic: &str, channel: &str) {
        self.inner.state().create_channel(topic, channel);
    }

    /// Every topic, as `/stats?format=json` lists them.
    pub fn stats(&self) -> Vec<TopicStats> {
        self.inner.state().stats(None, None)
    }

    pub fn channel_stats(&self, topic: &str, channel: &str) -> Option<ChannelStats> {
        self.inner
            .state()
            .stats(Some(topic), Some(channel))
            .pop()
            .and_then(|mut t| t.channels.pop())
    }

    /// Messages the channel holds: queued, in flight and deferred.
    pub fn messages(&self, topic: &str, channel: &str) -> Vec<QueuedMessage> {
        self.inner.state().messages(topic, channel)
    }

    /// Fault injection: closes every client connection now, as a network failure would.
    /// Their in-flight messages come back at their timeout.
    pub fn drop_clients(&self) {
        for h in self
            .inner
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            h.abort();
        }
    }

    /// Fault injection: the next `n` sends ignore the clients' RDY windows, so a
    /// consumer's own limit check can be tested.
    pub fn over_deliver(&self, n: u64) {
        self.inner.state().over_deliver += n;
    }

    /// Stops serving and closes every connection.
    pub async fn shutdown(self) {
        drop(self);
    }
}

impl Drop for NsqServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.drop_clients();
    }
}

/// nsqd's topic/channel name rule: 1–64 of `[.a-zA-Z0-9_-]`, optionally `#ephemeral`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 64 {
        return false;
    }
    let base = name.strip_suffix("#ephemeral").unwrap_or(name);
    !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The binary MPUB body: u32 count, then u32 size + body per message.
pub(crate) fn parse_binary_mpub(body: &[u8], max_msg_size: usize) -> Result<Vec<Bytes>, String> {
    let take_u32 = |b: &[u8], at: usize| -> Option<usize> {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let count = take_u32(body, 0).ok_or("could not read message count")?;
    if count == 0 {
        return Err(format!("invalid message count {count}"));
    }
    let mut at = 4;
    let mut msgs = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let size = take_u32(body, at).ok_or("could not read message size")?;
        at += 4;
        if size == 0 {
            return Err(format!("invalid message body size {size}"));
        }
        if size > max_msg_size {
            return Err(format!("message too big {size} > {max_msg_size}"));
        }
        let m = body
            .get(at..at + size)
            .ok_or("could not read message body")?;
        msgs.push(Bytes::copy_from_slice(m));
        at += size;
    }
    Ok(msgs)
}
