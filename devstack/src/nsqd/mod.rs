//! Stand-in nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API), in one process,
//! modelled on nsqd 1.3.0's source (`nsqd/protocol_v2.go`, `channel.go`, `http.go`,
//! `nsqlookupd/http.go`). State is in memory only.
//!
//! # Layout
//! - `queue`: topics, channels, in-flight and deferred messages, the RDY window.
//! - `tcp`: the TCP protocol: commands, error frames, heartbeats, output buffering.
//! - `http`: nsqd's and nsqlookupd's HTTP APIs.
//! - `lookupd`: nsqlookupd's registrations, fed by the stand-in nsqd.
//!
//! What differs from the real servers is listed in `devstack/README.md`.

mod http;
mod lookupd;
mod queue;
mod tcp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinHandle};

pub use queue::{
    ChannelStats, ClientStats, E2eLatency, MemStats, MessageState, PubCount, QueuedMessage, Stats,
    TopicStats,
};

/// The nsqd version the stand-in reports (and whose behaviour it follows).
pub const VERSION: &str = "1.3.0";

/// How often in-flight timeouts and deferred messages are checked (nsqd's
/// `--queue-scan-interval` default).
const QUEUE_SCAN_INTERVAL: Duration = Duration::from_millis(100);

/// nsqd's options that matter to the stand-in, with nsqd's defaults (flag names in
/// brackets).
#[derive(Debug, Clone)]
pub struct NsqOptions {
    /// TCP protocol listener [`--tcp-address`]; port 0 picks a free one.
    pub tcp_addr: SocketAddr,
    /// nsqd HTTP API listener [`--http-address`].
    pub http_addr: SocketAddr,
    /// nsqlookupd HTTP API listener (nsqlookupd `--http-address`).
    pub lookupd_http_addr: SocketAddr,
    /// Address nsqlookupd tells consumers to use [`--broadcast-address`]; the IP of
    /// `tcp_addr` when `None` (real nsqd defaults to the hostname).
    pub broadcast_address: Option<String>,
    /// Largest RDY a client may send [`--max-rdy-count`].
    pub max_rdy_count: i64,
    /// Default in-flight timeout [`--msg-timeout`].
    pub msg_timeout: Duration,
    /// Largest msg_timeout IDENTIFY may ask for, and the longest TOUCH can keep a
    /// message [`--max-msg-timeout`].
    pub max_msg_timeout: Duration,
    /// Default heartbeat interval (nsqd: `--client-timeout` / 2).
    pub heartbeat_interval: Duration,
    /// Largest heartbeat_interval IDENTIFY may ask for [`--max-heartbeat-interval`].
    pub max_heartbeat_interval: Duration,
    /// Longest REQ/DPUB/`defer` delay [`--max-req-timeout`].
    pub max_req_timeout: Duration,
    /// Largest message body [`--max-msg-size`].
    pub max_msg_size: usize,
    /// Largest MPUB/IDENTIFY/AUTH body [`--max-body-size`].
    pub max_body_size: usize,
    /// Largest output_buffer_size IDENTIFY may ask for [`--max-output-buffer-size`].
    pub max_output_buffer_size: usize,
    /// Default output buffer flush timeout [`--output-buffer-timeout`]; must be > 0.
    pub output_buffer_timeout: Duration,
    /// Range IDENTIFY's output_buffer_timeout must fall in
    /// [`--min-output-buffer-timeout`, `--max-output-buffer-timeout`].
    pub min_output_buffer_timeout: Duration,
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
            max_output_buffer_size: 64 * 1024,
            output_buffer_timeout: Duration::from_millis(250),
            min_output_buffer_timeout: Duration::from_millis(25),
            max_output_buffer_timeout: Duration::from_secs(30),
        }
    }
}

pub(crate) struct Inner {
    opts: NsqOptions,
    state: Mutex<queue::State>,
    registry: Arc<Mutex<lookupd::Registry>>,
    tcp_addr: SocketAddr,
    http_addr: SocketAddr,
    lookupd_addr: SocketAddr,
    next_client: AtomicU64,
    /// Connection tasks by client id, so faults and deletions can close them.
    conns: Mutex<HashMap<u64, AbortHandle>>,
    started: std::time::SystemTime,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, queue::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// nsqlookupd's registrations (the nsqd keeps them current as it creates and
    /// deletes topics and channels). Lock order: state, then registry — `State` takes
    /// this lock inside its own, so never take the state lock while holding this.
    fn registry(&self) -> MutexGuard<'_, lookupd::Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes these client connections (nsqd closes the clients of a deleted topic or
    /// channel). Call without the state lock: a closing connection takes it.
    fn close_clients(&self, ids: &[u64]) {
        let conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            if let Some(h) = conns.get(id) {
                h.abort();
            }
        }
    }

    fn start_time(&self) -> i64 {
        self.started
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    /// `/stats` as nsqd builds it.
    fn stats(
        &self,
        topic: Option<&str>,
        channel: Option<&str>,
        include_clients: bool,
        include_mem: bool,
    ) -> Stats {
        let st = self.state();
        Stats {
            version: VERSION.into(),
            health: "OK".into(),
            start_time: self.start_time(),
            topics: st.stats(topic, channel, include_clients),
            memory: include_mem.then(MemStats::default),
            producers: if include_clients {
                st.producer_stats(topic)
            } else {
                None
            },
        }
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
        let registry = Arc::new(Mutex::new(lookupd::Registry::default()));
        let inner = Arc::new(Inner {
            tcp_addr: tcp.local_addr()?,
            http_addr: http.local_addr()?,
            lookupd_addr: lookupd.local_addr()?,
            opts,
            state: Mutex::new(queue::State::registering_with(Arc::clone(&registry))),
            registry,
            next_client: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
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
                conns.retain(|_, h| !h.is_finished());
                conns.insert(id, task.abort_handle());
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

    /// Everything `/stats?format=json` reports (clients included, no memory figures).
    pub fn stats(&self) -> Stats {
        self.inner.stats(None, None, true, false)
    }

    /// One channel's `/stats` entry, `None` if the channel does not exist.
    pub fn channel_stats(&self, topic: &str, channel: &str) -> Option<ChannelStats> {
        self.inner
            .state()
            .stats(Some(topic), Some(channel), true)?
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
        for (_, h) in self
            .inner
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
        {
            h.abort();
        }
    }

    /// Fault injection: the next `n` sends ignore the clients' RDY windows, so a
    /// consumer's own limit check can be tested.
    pub fn over_deliver(&self, n: u64) {
        self.inner.state().over_deliver += n;
    }

    /// Stops serving and closes every connection; the listeners are closed when this
    /// returns.
    pub async fn shutdown(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            t.abort();
        }
        self.drop_clients();
        for t in tasks {
            // Cancelled on purpose: the JoinError says so and nothing else.
            let _ = t.await;
        }
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
