//! Stand-in nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API), in one process,
//! modelled on nsqd 1.3.0's source (`nsqd/protocol_v2.go`, `channel.go`, `http.go`,
//! `nsqlookupd/http.go`). State is in memory only.
//!
//! # Layout
//! - `queue`: topics, channels, in-flight and deferred messages, the RDY window.
//! - `tcp`: the TCP protocol: commands, error frames, heartbeats, output buffering.
//! - `http`: nsqd's and nsqlookupd's HTTP APIs.
//! - `lookupd`: nsqlookupd's registrations, fed by the stand-in nsqd.
//! - `transport`: the connection's byte streams and their upgrades (TLS, snappy,
//!   deflate).
//! - `tls`: nsqd's TLS configuration (`buildTLSConfig`) and what `/stats` shows of it.
//! - `auth`: nsqd's side of AUTH (`internal/auth`): the auth HTTP query, authorizations.
//! - `authd`: [`AuthServer`], a stand-in auth HTTP service for tests.
//!
//! What differs from the real servers is listed in `devstack/README.md`.

mod auth;
mod authd;
mod http;
mod lookupd;
mod queue;
mod tcp;
mod tls;
mod transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

pub use authd::{AuthAnswer, AuthGrant, AuthRequest, AuthServer, Authorization};
pub use queue::{
    ChannelStats, ClientStats, E2eLatency, MemStats, MessageState, PubCount, QueuedMessage, Stats,
    TopicStats,
};
pub use tls::{TlsClientAuthPolicy, TlsMinVersion, TlsRequired};

/// The nsqd version the stand-in reports (and whose behaviour it follows).
pub const VERSION: &str = "1.3.0";

/// How often in-flight timeouts and deferred messages are checked (nsqd's
/// `--queue-scan-interval` default).
const QUEUE_SCAN_INTERVAL: Duration = Duration::from_millis(100);
/// How long an exit waits for aborted connection tasks to end.
const CONNECTION_END_WAIT: Duration = Duration::from_secs(5);
/// How often an exit checks whether the connection tasks have ended.
const CONNECTION_END_POLL: Duration = Duration::from_millis(5);

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
    /// Part of every message id [`--node-id`], 0..1024. nsqd's default comes from
    /// the hostname (crc32 of its md5, mod 1024), so every nsqd of one host has the
    /// same; so does every stand-in ([`default_node_id`]).
    pub node_id: u16,
    /// Server certificate chain and its key, PEM files [`--tls-cert`, `--tls-key`]. With
    /// neither, nsqd has no TLS: IDENTIFY `tls_v1` answers false and never upgrades.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) client certificates are verified against
    /// [`--tls-root-ca-file`].
    pub tls_root_ca_file: Option<PathBuf>,
    /// Whether clients must present a certificate [`--tls-client-auth-policy`]; any
    /// policy but `None` also makes TLS required, as in nsqd.
    pub tls_client_auth_policy: TlsClientAuthPolicy,
    /// Whether commands need a TLS connection first [`--tls-required`].
    pub tls_required: TlsRequired,
    /// Oldest TLS version accepted [`--tls-min-version`].
    pub tls_min_version: TlsMinVersion,
    /// Whether IDENTIFY may negotiate deflate [`--deflate`], and its highest level
    /// [`--max-deflate-level`], 1–9.
    pub deflate: bool,
    pub max_deflate_level: i64,
    /// Whether IDENTIFY may negotiate snappy [`--snappy`].
    pub snappy: bool,
    /// Auth HTTP services [`--auth-http-address`, may be repeated]: `host:port` (nsqd
    /// asks `http://host:port/auth?...`) or a full `http://` URL. Empty: AUTH disabled.
    pub auth_http_addresses: Vec<String>,
    /// Timeouts of the auth HTTP requests [`--http-client-connect-timeout`,
    /// `--http-client-request-timeout`].
    pub http_client_connect_timeout: Duration,
    pub http_client_request_timeout: Duration,
}

/// A node id from the hostname, the same for every stand-in on one host, as nsqd's
/// default is for every nsqd on one host (the hash differs from nsqd's; only its
/// being shared matters).
pub fn default_node_id() -> u16 {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hash = host.trim().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % 1024) as u16
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
            node_id: default_node_id(),
            tls_cert: None,
            tls_key: None,
            tls_root_ca_file: None,
            tls_client_auth_policy: TlsClientAuthPolicy::None,
            tls_required: TlsRequired::No,
            tls_min_version: TlsMinVersion::Tls10,
            deflate: true,
            max_deflate_level: 6,
            snappy: true,
            auth_http_addresses: Vec::new(),
            http_client_connect_timeout: Duration::from_secs(2),
            http_client_request_timeout: Duration::from_secs(5),
        }
    }
}

pub(crate) struct Inner {
    opts: NsqOptions,
    /// nsqd's `tlsConfig`: `None` without `--tls-cert`/`--tls-key`.
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Mutex<queue::State>,
    registry: Arc<Mutex<lookupd::Registry>>,
    tcp_addr: SocketAddr,
    http_addr: SocketAddr,
    lookupd_addr: SocketAddr,
    next_client: AtomicU64,
    /// Connection tasks by client id, so faults and deletions can close them.
    conns: Mutex<HashMap<u64, AbortHandle>>,
    /// When this nsqd (re)started, for `/stats` `start_time`.
    started: Mutex<std::time::SystemTime>,
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

    /// `NSQD.IsAuthEnabled`.
    fn auth_enabled(&self) -> bool {
        !self.opts.auth_http_addresses.is_empty()
    }

    fn start_time(&self) -> i64 {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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
    /// nsqlookupd's HTTP task: it keeps running while the nsqd is stopped.
    lookupd: JoinHandle<()>,
    /// The nsqd's tasks; `None` while it is stopped.
    nsqd: tokio::sync::Mutex<Option<NsqdTasks>>,
}

/// The running nsqd: TCP accept loop, queue scan, HTTP API.
struct NsqdTasks {
    tcp: JoinHandle<()>,
    scan: JoinHandle<()>,
    http: JoinHandle<()>,
    http_stop: watch::Sender<bool>,
}

impl NsqdTasks {
    fn spawn(inner: &Arc<Inner>, tcp: TcpListener, http: TcpListener) -> NsqdTasks {
        let i = Arc::clone(inner);
        let tcp = tokio::spawn(async move {
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
        });
        let i = Arc::clone(inner);
        let scan = tokio::spawn(async move {
            let mut tick = tokio::time::interval(QUEUE_SCAN_INTERVAL);
            loop {
                tick.tick().await;
                i.state().scan(Instant::now());
            }
        });
        let (http_stop, stop_rx) = watch::channel(false);
        let http = tokio::spawn(http::serve_nsqd(http, Arc::clone(inner), stop_rx));
        NsqdTasks {
            tcp,
            scan,
            http,
            http_stop,
        }
    }

    fn abort(&self) {
        self.tcp.abort();
        self.scan.abort();
        self.http.abort();
    }
}

impl NsqServer {
    /// Checks the options as `nsqd.New` does (an error names the flag, with nsqd's
    /// text), binds the three listeners and starts serving.
    pub async fn start(mut opts: NsqOptions) -> std::io::Result<NsqServer> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        if !(1..=9).contains(&opts.max_deflate_level) {
            return Err(invalid("--max-deflate-level must be [1,9]".into()));
        }
        // nsqd: a client auth policy without --tls-required means TLS is required.
        if opts.tls_client_auth_policy != TlsClientAuthPolicy::None
            && opts.tls_required == TlsRequired::No
        {
            opts.tls_required = TlsRequired::Yes;
        }
        let tls = tls::server_config(&opts)
            .map_err(|e| invalid(format!("failed to build TLS config - {e}")))?;
        if tls.is_none() && opts.tls_required != TlsRequired::No {
            return Err(invalid(
                "cannot require TLS client connections without TLS key and cert".into(),
            ));
        }
        let tcp = TcpListener::bind(opts.tcp_addr).await?;
        let http = TcpListener::bind(opts.http_addr).await?;
        let lookupd = TcpListener::bind(opts.lookupd_http_addr).await?;
        let registry = Arc::new(Mutex::new(lookupd::Registry::default()));
        let node_id = opts.node_id;
        let inner = Arc::new(Inner {
            tcp_addr: tcp.local_addr()?,
            http_addr: http.local_addr()?,
            lookupd_addr: lookupd.local_addr()?,
            opts,
            tls: tls.map(tokio_rustls::TlsAcceptor::from),
            state: Mutex::new(queue::State::registering_with(
                Arc::clone(&registry),
                node_id,
            )),
            registry,
            next_client: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            started: Mutex::new(std::time::SystemTime::now()),
        });
        let nsqd = NsqdTasks::spawn(&inner, tcp, http);
        let lookupd = tokio::spawn(http::serve_lookupd(lookupd, Arc::clone(&inner)));
        Ok(NsqServer {
            inner,
            lookupd,
            nsqd: tokio::sync::Mutex::new(Some(nsqd)),
        })
    }

    /// A graceful exit of the nsqd, as on SIGTERM (`NSQD.Exit`): the TCP and HTTP
    /// listeners close (connects are refused), every client connection is closed,
    /// and each channel's queued, in-flight and deferred messages are kept as nsqd
    /// writes them to its disk queue (see [`NsqServer::start_again`]). nsqlookupd
    /// stays up and drops the nsqd as producer. A no-op when stopped.
    pub async fn stop(&self) {
        self.exit(true).await;
    }

    /// A crash (`kill -9`) of the nsqd: as [`NsqServer::stop`], but every message is
    /// lost (the stand-in has no disk queue, so none was on disk); topics and
    /// channels survive, as nsqd's metadata file does.
    pub async fn kill(&self) {
        self.exit(false).await;
    }

    async fn exit(&self, flush: bool) {
        let Some(tasks) = self.nsqd.lock().await.take() else {
            return;
        };
        tasks.tcp.abort();
        tasks.scan.abort();
        // HTTP stops gracefully: the listener closes, keep-alive connections close,
        // requests in progress finish (bounded).
        let _ = tasks.http_stop.send(true);
        let conns: Vec<AbortHandle> = self
            .inner
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, h)| h)
            .collect();
        for h in &conns {
            h.abort();
        }
        let NsqdTasks {
            tcp, scan, http, ..
        } = tasks;
        let http_abort = http.abort_handle();
        if tokio::time::timeout(CONNECTION_END_WAIT, http)
            .await
            .is_err()
        {
            http_abort.abort();
        }
        for t in [tcp, scan] {
            // Cancelled on purpose: the JoinError says so and nothing else.
            let _ = t.await;
        }
        wait_for_connections(&conns).await;
        self.inner.state().restart(flush);
        self.inner.registry().producer_gone();
        tracing::info!(tcp = %self.inner.tcp_addr, flush, "nsqd stand-in stopped");
    }

    /// Starts the nsqd again on the same TCP and HTTP ports after [`NsqServer::stop`]
    /// or [`NsqServer::kill`], as nsqd's start with `LoadMetadata`: the kept topics and
    /// channels are registered with nsqlookupd again and consumers that reconnect get
    /// the kept messages. A no-op when running.
    pub async fn start_again(&self) -> std::io::Result<()> {
        let mut nsqd = self.nsqd.lock().await;
        if nsqd.is_some() {
            return Ok(());
        }
        let tcp = TcpListener::bind(self.inner.tcp_addr).await?;
        let http = TcpListener::bind(self.inner.http_addr).await?;
        *self.inner.started.lock().unwrap_or_else(|p| p.into_inner()) =
            std::time::SystemTime::now();
        self.inner.state().register_all();
        *nsqd = Some(NsqdTasks::spawn(&self.inner, tcp, http));
        tracing::info!(tcp = %self.inner.tcp_addr, "nsqd stand-in started again");
        Ok(())
    }

    /// [`NsqServer::stop`] then [`NsqServer::start_again`]: a graceful restart.
    pub async fn restart(&self) -> std::io::Result<()> {
        self.stop().await;
        self.start_again().await
    }

    /// Whether the nsqd is running (not between stop/kill and start_again).
    pub async fn is_running(&self) -> bool {
        self.nsqd.lock().await.is_some()
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
        if let Some(tasks) = self.nsqd.lock().await.take() {
            tasks.abort();
            self.drop_clients();
            for t in [tasks.tcp, tasks.scan, tasks.http] {
                // Cancelled on purpose: the JoinError says so and nothing else.
                let _ = t.await;
            }
        }
        self.lookupd.abort();
        let _ = (&mut self.lookupd).await;
    }
}

impl Drop for NsqServer {
    fn drop(&mut self) {
        if let Some(tasks) = self.nsqd.get_mut().take() {
            tasks.abort();
        }
        self.lookupd.abort();
        self.drop_clients();
    }
}

/// Waits (bounded) until every aborted connection task has ended, so none of them
/// touches the state after an exit took its snapshot.
async fn wait_for_connections(conns: &[AbortHandle]) {
    let deadline = Instant::now() + CONNECTION_END_WAIT;
    while !conns.iter().all(AbortHandle::is_finished) && Instant::now() < deadline {
        tokio::time::sleep(CONNECTION_END_POLL).await;
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
