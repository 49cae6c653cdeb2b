//! The handshake of one nsqd connection, in nsqd's order (`protocolV2.IDENTIFY`): the
//! magic and IDENTIFY, then what nsqd's reply grants: the TLS upgrade on the same
//! socket, snappy or deflate over it, AUTH when nsqd requires it; then SUB. What comes
//! out is a [`Session`]: both sides of the (possibly upgraded) connection, the read
//! buffer, and what was [`Negotiated`]. `conn` takes it over from there.

use std::fmt;

use bytes::BytesMut;
use serde::Deserialize;
use tokio::net::TcpStream;

use crate::frame::{self, Frame};
use crate::transport::{self, Compression, READ_BUFFER, Reader, Writer};
use crate::{ConsumerOptions, NsqError, NsqdTlsError, Secret, TlsClient};

/// What one nsqd connection negotiated in its handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The largest `RDY` this nsqd allows (`--max-rdy-count`).
    pub max_rdy_count: u64,
    /// The TLS version (`TLS 1.3`), when the connection is encrypted.
    pub tls: Option<String>,
    /// The compression in use.
    pub compression: Compression,
    /// Who nsqd's auth service says this client is, when nsqd required AUTH.
    pub auth: Option<AuthIdentity>,
}

/// nsqd's answer to AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthIdentity {
    /// The identity nsqd's auth service gave.
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

/// Connects, completes the handshake and subscribes; bounded by the options'
/// `connect_timeout`. `RDY` stays 0.
pub(crate) async fn subscribe<'a>(
    addr: &'a str,
    opts: &ConsumerOptions,
) -> Result<Session<'a>, NsqError> {
    let subscribed = async {
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
                    reason: NsqdTlsError::Required(error),
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
    tokio::time::timeout(opts.connect_timeout, subscribed)
        .await
        .map_err(|_| NsqError::ConnectTimeout {
            addr: addr.to_owned(),
            after: opts.connect_timeout,
        })?
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
pub(crate) struct Session<'a> {
    pub addr: &'a str,
    pub rd: Reader,
    pub wr: Writer,
    pub rbuf: BytesMut,
    pub negotiated: Negotiated,
}

impl Session<'_> {
    async fn write(&mut self, out: &[u8]) -> Result<(), NsqError> {
        self.wr
            .write_all(out)
            .await
            .map_err(|source| NsqError::io(self.addr, source))
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
                        .map_err(|source| NsqError::io(addr, source))?;
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
    async fn upgrade_tls(self, tls: &TlsClient) -> Result<Self, NsqError> {
        let addr = self.addr;
        let failed = |reason: NsqdTlsError| NsqError::Tls {
            addr: addr.to_owned(),
            reason,
        };
        if !self.rbuf.is_empty() {
            return Err(NsqError::Protocol(format!(
                "nsqd {addr} sent more than the IDENTIFY reply before the TLS handshake"
            )));
        }
        let name = tls
            .server_name(addr)
            .map_err(|e| failed(NsqdTlsError::ServerName(e)))?;
        let tcp = transport::into_tcp(self.rd, self.wr)
            .expect("TLS is the first upgrade, on the TCP connection itself");
        let stream = tls
            .connector()
            .connect(name, tcp)
            .await
            .map_err(|e| failed(NsqdTlsError::handshake(e)))?;
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
    async fn auth(&mut self, secret: &Secret) -> Result<(), NsqError> {
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
        self.negotiated.auth = Some(AuthIdentity {
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
        .map_err(|source| NsqError::io(addr, source))?;
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
                    reason: NsqdTlsError::handshake(source),
                },
                e => e,
            })?;
        }
        (Some(_), false) => {
            return Err(NsqError::Tls {
                addr: addr.to_owned(),
                reason: NsqdTlsError::NotOffered,
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
            return Err(NsqError::AuthRequired {
                addr: addr.to_owned(),
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
    use std::time::Duration;

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
