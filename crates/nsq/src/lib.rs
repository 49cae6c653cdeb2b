//! A small NSQ consumer built for x-msrv's one rule: take **at most N** messages a run.
//!
//! # Why not an existing crate
//! The exact-N guarantee needs full control of `RDY`, and no maintained crate gives it:
//! - `nsq-client` 0.1.12 (2019) is dead: actix 0.7 on tokio 0.1, never sends `CLS`, and its
//!   `REQ` is unusable.
//! - `tokio-nsq` 0.14 (2023) has no way to set `RDY` (its rebalancer reopens the window on
//!   its own), treats a late `E_FIN_FAILED ...` as fatal because it compares the whole
//!   frame, never requeues a dropped message (the send is not awaited) and can panic in
//!   `finish()`.
//!
//! So this module speaks TCP protocol V2 itself (IDENTIFY, AUTH, SUB, RDY, FIN, REQ, NOP,
//! CLS; [`frame`] also encodes TOUCH, which x-msrv does not send) plus the nsqlookupd HTTP
//! `/lookup`, and negotiates in IDENTIFY what a secured nsqd needs: TLS (rustls), snappy
//! or deflate, and AUTH. None of these changes the accounting: they sit under the frames
//! (`transport`), and the exact-N rules below hold over any of them.
//!
//! # How "at most N" holds
//! nsqd's `RDY` is a *window*: it sends while the client's in-flight count is below `RDY`
//! (`client_v2.go`, `IsReadyForMessages`), and every FIN or REQ reopens a slot. So per
//! connection this client keeps `RDY ≤ in-flight + share`, where the shares of all
//! connections add up to at most the messages still wanted, and writes a lowered `RDY`
//! in the same write, *ahead of* the FINs that would reopen the window (nsqd handles a
//! connection's commands in order). With one nsqd, nsqd can then never send more than N.
//! An atomic counter still checks every arrival: a message past N (over-delivery, or one
//! already on the wire when a share moved between connections) is `REQ <id> 0` at once,
//! never handed out and never lost. Messages handed out and never settled are requeued
//! when dropped.
//!
//! # Layout
//! - [`frame`]: the wire format, encoding and decoding only.
//! - `message`: [`Message`], its requeue when dropped unsettled, and [`settle`].
//! - `window`: the accounting of shares, in-flight counts and `RDY`, without I/O.
//! - `conn`: one nsqd connection (handshake, reader task, its own writes).
//! - `transport`: the bytes under the frames: TCP or TLS, snappy or deflate over either.
//! - [`tls`]: the TLS client configuration, built once from the configured files.
//! - `consumer`: [`Consumer`], owning the connections and writing the `RDY`s they do not.
//! - `lookupd`: producer discovery over nsqlookupd's HTTP API.
//! - `depth`: each nsqd's channel depth from its HTTP `/stats`, to split N by it.
//! - `publish`: nsqd's HTTP `/pub` and `/mpub` (dead letters, `rejected redrive`).
//! - `http`: [`HttpClient`], the one HTTP(S) client of `lookupd`, `depth` and `publish`.

pub mod frame;
pub mod tls;

mod conn;
mod consumer;
mod depth;
mod http;
mod lookupd;
mod message;
mod publish;
mod transport;
mod window;

use std::fmt;
use std::time::Duration;

pub use consumer::{Consumer, ConsumerStats};
pub use depth::backlog;
pub use frame::ServerError;
pub use http::HttpClient;
pub use lookupd::lookup_producers;
pub use message::{Message, settle};
pub use publish::{PublishError, publish, publish_batch};
pub use tls::TlsClient;
pub use transport::Compression;
pub use window::REBALANCE_IDLE;

/// Checks, without subscribing, that every nsqd the options name (or nsqlookupd lists)
/// accepts a connection and IDENTIFY. One line per nsqd, for `x-msrv check`.
pub async fn probe(opts: &ConsumerOptions) -> Result<Vec<String>, NsqError> {
    let (addrs, via) = match &opts.addresses {
        NsqAddresses::Nsqd(_) => (opts.nsqd_addrs(), String::new()),
        NsqAddresses::Lookupd(l) => (
            lookup_producers(&opts.http(), l, &opts.topic, opts.connect_timeout).await?,
            format!(" (via nsqlookupd {})", l.join(", ")),
        ),
    };
    if addrs.is_empty() {
        return Ok(vec![format!("no nsqd has topic {:?} yet{via}", opts.topic)]);
    }
    let mut lines = Vec::with_capacity(addrs.len());
    for addr in &addrs {
        let negotiated = conn::probe(&addr.tcp, opts).await?;
        lines.push(format!("nsqd {} ok ({negotiated}){via}", addr.tcp));
    }
    Ok(lines)
}

/// What one nsqd connection negotiated in its handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The largest `RDY` this nsqd allows (`--max-rdy-count`).
    pub max_rdy_count: u64,
    /// The TLS version (`TLS 1.3`), when the connection is encrypted.
    pub tls: Option<String>,
    pub compression: Compression,
    /// Who nsqd's auth service says x-msrv is, when nsqd required AUTH.
    pub auth: Option<AuthIdentity>,
}

/// nsqd's answer to AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthIdentity {
    pub identity: String,
    /// How many authorizations (topic and channels) the identity holds.
    pub permission_count: i64,
}

impl fmt::Display for Negotiated {
    /// `TLS 1.3, snappy, AUTH as "x-msrv" (2 permissions), max_rdy_count 2500`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tls {
            Some(version) => write!(f, "{version}")?,
            None => f.write_str("no TLS")?,
        }
        match self.compression {
            Compression::None => f.write_str(", uncompressed")?,
            c => write!(f, ", {c}")?,
        }
        match &self.auth {
            Some(a) => write!(
                f,
                ", AUTH as {:?} ({} permissions)",
                a.identity, a.permission_count
            )?,
            None => f.write_str(", no AUTH")?,
        }
        write!(f, ", max_rdy_count {}", self.max_rdy_count)
    }
}

/// A secret (nsqd's AUTH secret) that debug output never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// nsqd clamps a `REQ` delay to `--max-req-timeout`, 1 h by default; asking for more gets
/// `E_INVALID` and a closed connection, so the client clamps first.
pub const MAX_REQ_DELAY: Duration = Duration::from_secs(60 * 60);

/// Longest topic or channel name nsqd accepts (`protocol.IsValidTopicName`).
const MAX_NAME_LEN: usize = 64;
/// Suffix marking a topic or channel that nsqd keeps in memory only.
const EPHEMERAL_SUFFIX: &str = "#ephemeral";

/// A topic or channel name in a URL's query: `#` is the only character of a valid name
/// that needs escaping (`name#ephemeral`).
pub(crate) fn query_escape(name: &str) -> String {
    name.replace('#', "%23")
}

/// Whether nsqd accepts `name` as a topic or channel (`^[.a-zA-Z0-9_-]+(#ephemeral)?$`,
/// 1 to 64 characters). Checked up front so a typo is a config error, not `E_BAD_TOPIC`.
pub fn is_valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    let base = name.strip_suffix(EPHEMERAL_SUFFIX).unwrap_or(name);
    !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The 16-byte ASCII id nsqd gives every message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// The id as text (nsqd ids are hex digits; anything else is shown lossily).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

/// What names one message across its redeliveries: nsqd's id and its timestamp of
/// the message, as `<id>-<timestamp>`. The id alone does not: nsqd makes ids from
/// the time, its `--node-id` and a per-topic sequence, so two nsqd with the same node
/// id (the default for every nsqd of one host) or two topics of one nsqd give the
/// same id to different messages published in the same millisecond.
pub fn message_key(id: impl fmt::Display, timestamp: i64) -> String {
    format!("{id}-{timestamp}")
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

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
    pub tcp: String,
    pub http: String,
}

/// nsqd's HTTP address when none is given: the host of its TCP address with the port
/// after it (nsqd's defaults are 4150 and 4151). `None` when `tcp` has no usable port.
pub fn default_http_addr(tcp: &str) -> Option<String> {
    let (host, port) = tcp.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    Some(format!("{host}:{}", port.checked_add(1)?))
}

/// Everything [`Consumer::connect`] needs.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub addresses: NsqAddresses,
    /// The HTTP addresses of the nsqd in `addresses` (`Nsqd` only; same order), where
    /// their channel depths are read to split N; empty: [`default_http_addr`] of each.
    /// With nsqlookupd, each producer's own `http_port` is used.
    pub nsqd_http: Vec<String>,
    pub topic: String,
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
    pub client_id: String,
    pub user_agent: String,
    /// TLS to every nsqd (IDENTIFY `tls_v1`); `None`: plain TCP.
    pub tls: Option<std::sync::Arc<TlsClient>>,
    /// Compression asked for in IDENTIFY.
    pub compression: Compression,
    /// Sent in AUTH when nsqd requires it.
    pub auth_secret: Option<Secret>,
}

impl ConsumerOptions {
    /// Options with x-msrv's defaults for everything not named.
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
}

impl ConsumerOptions {
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

/// What went wrong talking to NSQ.
#[derive(Debug, thiserror::Error)]
pub enum NsqError {
    #[error("cannot connect to nsqd {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("nsqd {addr} did not complete the handshake within {after:?}")]
    ConnectTimeout { addr: String, after: Duration },
    #[error("nsqd {addr} refused {command}: {error}")]
    Refused {
        addr: String,
        command: &'static str,
        error: ServerError,
    },
    #[error("nsqd {addr}: {reason}")]
    Tls { addr: String, reason: String },
    #[error("nsqd {addr}: {reason}")]
    Auth { addr: String, reason: String },
    #[error("nsqd {addr} closed the connection")]
    Closed { addr: String },
    #[error("nsqd {addr}: {source}")]
    Io {
        addr: String,
        source: std::io::Error,
    },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("nsqlookupd {addr}: {reason}")]
    Lookupd { addr: String, reason: String },
    #[error("invalid consumer options: {0}")]
    Options(String),
    #[error("cannot publish to topic {topic:?} on nsqd {addr}: {reason}")]
    Publish {
        addr: String,
        topic: String,
        reason: String,
    },
}

/// How to settle a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// `FIN`: done with it, nsqd forgets it.
    Finish,
    /// `REQ`: give it back, to be redelivered after the delay (clamped to [`MAX_REQ_DELAY`]).
    Requeue(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ephemeral_name_is_escaped_for_a_query() {
        assert_eq!(query_escape("a#ephemeral"), "a%23ephemeral");
        assert_eq!(query_escape("x-msrv"), "x-msrv");
    }

    #[test]
    fn names_follow_nsqd_rules() {
        for ok in [
            "t",
            "x-msrv",
            "a.b_c-d",
            "events#ephemeral",
            &"a".repeat(64),
        ] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "has space",
            "a/b",
            "#ephemeral",
            "a#other",
            &"a".repeat(65),
            "ü",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
