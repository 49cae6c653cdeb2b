//! [`ConsumerOptions`]: where nsqd is, what to consume, N and the other bounds, and how
//! to connect (TLS, compression, the AUTH secret).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::HttpClient;
use crate::tls::TlsClient;
use crate::transport::Compression;

/// Where to find nsqd: its TCP addresses, or nsqlookupd HTTP addresses to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsqAddresses {
    /// `host:port` of each nsqd's TCP listener (4150 by default).
    Nsqd(Vec<String>),
    /// nsqlookupd HTTP addresses (`http://host:4161`, `host:4161`, or `https://...` for
    /// one behind a TLS-terminating proxy).
    Lookupd(Vec<String>),
}

/// The default bound on the body bytes in flight: 32 messages of nsqd's largest (1 MiB
/// by default), and far more than 1000 small ones ever hold.
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: u64 = 32 * 1024 * 1024;

/// One nsqd: its TCP address (protocol V2) and its HTTP address (`/stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsqdAddr {
    /// `host:port` of its TCP listener.
    pub tcp: String,
    /// `host:port` (or a URL) of its HTTP listener.
    pub http: String,
}

/// nsqd's HTTP address when none is given: the host of its TCP address with the port
/// after it (nsqd's defaults are 4150 and 4151). `None` when `tcp` has no usable port.
pub fn default_http_addr(tcp: &str) -> Option<String> {
    let (host, port) = tcp.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    Some(format!("{host}:{}", port.checked_add(1)?))
}

/// A secret (nsqd's AUTH secret) that debug output never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    /// The secret itself, to send.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Everything [`Consumer::connect`](crate::Consumer::connect) needs. Comparable, so a
/// caller that reads its configuration again can tell whether anything changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// Where nsqd is.
    pub addresses: NsqAddresses,
    /// The HTTP addresses of the nsqd in `addresses` (`Nsqd` only; same order), where
    /// their channel depths are read to split N; empty: [`default_http_addr`] of each.
    /// With nsqlookupd, each producer's own `http_port` is used.
    pub nsqd_http: Vec<String>,
    /// The topic to consume.
    pub topic: String,
    /// The channel to subscribe to (created by SUB if it does not exist).
    pub channel: String,
    /// Most messages in flight over all connections at once (the sum of their `RDY`).
    pub max_in_flight: u32,
    /// Most body bytes in flight at once: `RDY` is held back while the messages in hand
    /// reach it (one message always comes when none is in hand). `u64::MAX`: no bound.
    pub max_in_flight_bytes: u64,
    /// N: most messages handed out in this consumer's life.
    pub max_messages: u64,
    /// Asked of nsqd in IDENTIFY; `None` keeps nsqd's own `--msg-timeout`.
    pub msg_timeout: Option<Duration>,
    /// Bound on resolving, connecting and the handshake, per nsqd or nsqlookupd.
    pub connect_timeout: Duration,
    /// How often nsqd sends heartbeats (it disconnects a client that misses two answers).
    pub heartbeat_interval: Duration,
    /// How long nsqd may hold messages in its per-client buffer. Its default, 250 ms,
    /// would delay the last messages of a run; a short run wants them sooner.
    pub output_buffer_timeout: Duration,
    /// IDENTIFY's `client_id`, shown in nsqd's `/stats`.
    pub client_id: String,
    /// IDENTIFY's `user_agent`.
    pub user_agent: String,
    /// TLS to every nsqd (IDENTIFY `tls_v1`); `None`: plain TCP.
    pub tls: Option<Arc<TlsClient>>,
    /// Compression asked for in IDENTIFY.
    pub compression: Compression,
    /// Sent in AUTH when nsqd requires it.
    pub auth_secret: Option<Secret>,
}

impl ConsumerOptions {
    /// Options with the defaults for everything not named: 1000 in flight, 32 MiB of
    /// bodies in flight, a 5 s connect timeout, 30 s heartbeats, a 25 ms output buffer
    /// timeout, plain TCP, no compression. The client id is x-msrv's, the consumer this
    /// crate was written for (set [`client_id`](Self::client_id) and
    /// [`user_agent`](Self::user_agent) for another).
    pub fn new(addresses: NsqAddresses, topic: &str, channel: &str, max_messages: u64) -> Self {
        ConsumerOptions {
            addresses,
            nsqd_http: Vec::new(),
            topic: topic.to_owned(),
            channel: channel.to_owned(),
            max_in_flight: 1000,
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            max_messages,
            msg_timeout: None,
            connect_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(30),
            output_buffer_timeout: Duration::from_millis(25),
            client_id: "x-msrv".to_owned(),
            user_agent: concat!("x-msrv/", env!("CARGO_PKG_VERSION")).to_owned(),
            tls: None,
            compression: Compression::None,
            auth_secret: None,
        }
    }

    /// The client of nsqlookupd and of nsqd's HTTP API: HTTPS trusts what [`tls`] does.
    ///
    /// [`tls`]: ConsumerOptions::tls
    pub fn http(&self) -> HttpClient {
        HttpClient::new(self.tls.clone())
    }

    /// The configured nsqd (`NsqAddresses::Nsqd`) with their HTTP addresses; empty for
    /// nsqlookupd.
    pub fn nsqd_addrs(&self) -> Vec<NsqdAddr> {
        let NsqAddresses::Nsqd(tcp) = &self.addresses else {
            return Vec::new();
        };
        tcp.iter()
            .enumerate()
            .map(|(i, tcp)| NsqdAddr {
                tcp: tcp.clone(),
                http: self
                    .nsqd_http
                    .get(i)
                    .cloned()
                    .or_else(|| default_http_addr(tcp))
                    .unwrap_or_default(),
            })
            .collect()
    }
}
