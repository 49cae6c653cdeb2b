//! The stand-in nsqd's IDENTIFY upgrades (TLS, snappy, deflate) and AUTH, checked over
//! real sockets with raw protocol frames and the stand-in auth service.
//!
//! The test client is blocking and built from parts independent of the server's: the
//! rustls client (`StreamOwned`), snap's and flate2's `std::io` reader/writer. It reads
//! frames exactly (no read-ahead), since an upgrade's first bytes follow the frame
//! before it on the wire. The servers run on a runtime of their own.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use devstack::nsqd::{
    AuthAnswer, AuthGrant, AuthServer, Authorization, NsqOptions, NsqServer, TlsClientAuthPolicy,
    TlsRequired,
};
use devstack::tls::{CLIENT_COMMON_NAME, TestPki};
use rustls::pki_types::ServerName;

const SOON: Duration = Duration::from_secs(10);

/// The servers under test, on their own runtime (the test itself blocks). Fields drop
/// in order: the servers, then their runtime.
struct Stand {
    nsqd: NsqServer,
    authd: Option<AuthServer>,
    /// Runs the servers' tasks; never used directly.
    _rt: tokio::runtime::Runtime,
}

impl Stand {
    fn start(opts: NsqOptions) -> Stand {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let nsqd = rt.block_on(NsqServer::start(opts)).expect("nsqd starts");
        Stand {
            nsqd,
            authd: None,
            _rt: rt,
        }
    }

    /// nsqd asking a fresh auth service (`opts`' auth addresses are replaced).
    fn with_auth(opts: NsqOptions) -> Stand {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let authd = rt.block_on(AuthServer::start()).unwrap();
        let nsqd = rt
            .block_on(NsqServer::start(NsqOptions {
                auth_http_addresses: vec![authd.address()],
                ..opts
            }))
            .expect("nsqd starts");
        Stand {
            nsqd,
            authd: Some(authd),
            _rt: rt,
        }
    }

    fn authd(&self) -> &AuthServer {
        self.authd.as_ref().expect("started with_auth")
    }

    fn addr(&self) -> SocketAddr {
        self.nsqd.tcp_addr()
    }
}

fn start_error(opts: NsqOptions) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(NsqServer::start(opts)) {
        Ok(_) => panic!("nsqd must refuse these options"),
        Err(e) => e.to_string(),
    }
}

#[derive(Debug, PartialEq)]
enum Frame {
    Response(String),
    Error(String),
    Message(Vec<u8>),
}

/// One stream shared by the reading and the writing side (TLS needs both).
struct Shared<T>(Rc<RefCell<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Rc::clone(&self.0))
    }
}

impl<T: Read> Read for Shared<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

impl<T: Write> Write for Shared<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// The stream compression wraps: TCP, or TLS over it.
enum Base {
    Tcp(TcpStream),
    Tls(Shared<Tls>),
}

impl Base {
    fn reader(&self) -> Box<dyn Read> {
        match self {
            Base::Tcp(t) => Box::new(t.try_clone().unwrap()),
            Base::Tls(t) => Box::new(t.clone()),
        }
    }

    fn writer(&self) -> Box<dyn Write> {
        match self {
            Base::Tcp(t) => Box::new(t.try_clone().unwrap()),
            Base::Tls(t) => Box::new(t.clone()),
        }
    }
}

/// Raw DEFLATE decoding that hands out what it holds before it reads more, as Go's
/// reader does (flate2's `read::DeflateDecoder` reads first, and would wait here for
/// bytes the server sends only after our next command).
struct Inflate {
    inner: Box<dyn Read>,
    z: flate2::Decompress,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl Read for Inflate {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let (i0, o0) = (self.z.total_in(), self.z.total_out());
            self.z
                .decompress(
                    &self.buf[self.pos..self.len],
                    out,
                    flate2::FlushDecompress::None,
                )
                .map_err(std::io::Error::other)?;
            let consumed = (self.z.total_in() - i0) as usize;
            self.pos += consumed;
            let n = (self.z.total_out() - o0) as usize;
            if n > 0 || out.is_empty() {
                return Ok(n);
            }
            if self.pos < self.len {
                assert!(consumed > 0, "deflate stream stuck");
                continue;
            }
            self.len = self.inner.read(&mut self.buf)?;
            self.pos = 0;
            if self.len == 0 {
                return Ok(0);
            }
        }
    }
}

struct Client {
    base: Base,
    r: Box<dyn Read>,
    w: Box<dyn Write>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(SOON)).unwrap();
        let base = Base::Tcp(tcp);
        let mut c = Client {
            r: base.reader(),
            w: base.writer(),
            base,
        };
        c.send(b"  V2");
        c
    }

    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
        self.w.flush().unwrap();
    }

    fn cmd(&mut self, line: &str) {
        self.send(format!("{line}\n").as_bytes());
    }

    fn cmd_body(&mut self, line: &str, body: &[u8]) {
        let mut out = format!("{line}\n").into_bytes();
        out.extend((body.len() as u32).to_be_bytes());
        out.extend(body);
        self.send(&out);
    }

    /// The next frame; `None` when the connection ended (or broke).
    fn frame(&mut self) -> Option<Frame> {
        let mut size = [0u8; 4];
        self.r.read_exact(&mut size).ok()?;
        let mut data = vec![0u8; u32::from_be_bytes(size) as usize];
        self.r.read_exact(&mut data).ok()?;
        let ty = u32::from_be_bytes(data[..4].try_into().unwrap());
        let data = &data[4..];
        Some(match ty {
            0 => Frame::Response(String::from_utf8_lossy(data).into_owned()),
            1 => Frame::Error(String::from_utf8_lossy(data).into_owned()),
            // timestamp (8), attempts (2), id (16), body
            2 => Frame::Message(data[26..].to_vec()),
            t => panic!("unknown frame type {t}"),
        })
    }

    /// The next frame that is not a heartbeat.
    fn next(&mut self) -> Option<Frame> {
        loop {
            match self.frame() {
                Some(Frame::Response(r)) if r == "_heartbeat_" => {}
                other => return other,
            }
        }
    }

    fn ok(&mut self) {
        assert_eq!(self.next(), Some(Frame::Response("OK".into())));
    }

    fn error(&mut self) -> String {
        match self.next() {
            Some(Frame::Error(e)) => e,
            other => panic!("expected an error frame, got {other:?}"),
        }
    }

    fn is_closed(&mut self) -> bool {
        self.frame().is_none()
    }

    /// IDENTIFY with feature negotiation; the JSON reply.
    fn identify(&mut self, json: &str) -> serde_json::Value {
        self.cmd_body("IDENTIFY", json.as_bytes());
        match self.next() {
            Some(Frame::Response(r)) => serde_json::from_str(&r).expect("JSON reply"),
            other => panic!("expected the IDENTIFY reply, got {other:?}"),
        }
    }

    /// The TLS handshake on the TCP stream, as go-nsq does after `tls_v1: true`.
    fn upgrade_tls(&mut self, config: rustls::ClientConfig) -> std::io::Result<()> {
        let Base::Tcp(tcp) = &self.base else {
            panic!("TLS already")
        };
        let conn = rustls::ClientConnection::new(
            Arc::new(config),
            ServerName::try_from("localhost").unwrap(),
        )
        .map_err(std::io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(conn, tcp.try_clone().unwrap());
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        self.base = Base::Tls(Shared(Rc::new(RefCell::new(tls))));
        self.r = self.base.reader();
        self.w = self.base.writer();
        Ok(())
    }

    fn upgrade_snappy(&mut self) {
        self.r = Box::new(snap::read::FrameDecoder::new(self.base.reader()));
        self.w = Box::new(snap::write::FrameEncoder::new(self.base.writer()));
    }

    fn upgrade_deflate(&mut self, level: u32) {
        self.r = Box::new(Inflate {
            inner: self.base.reader(),
            z: flate2::Decompress::new(false),
            buf: vec![0; 16 * 1024],
            pos: 0,
            len: 0,
        });
        self.w = Box::new(flate2::write::DeflateEncoder::new(
            self.base.writer(),
            flate2::Compression::new(level),
        ));
    }

    /// Connects, IDENTIFYs asking for TLS and upgrades, checking both answers.
    fn tls(addr: SocketAddr, config: rustls::ClientConfig) -> Client {
        let mut c = Client::connect(addr);
        let v = c.identify(r#"{"feature_negotiation":true,"tls_v1":true}"#);
        assert_eq!(v["tls_v1"], true, "{v}");
        c.upgrade_tls(config).expect("TLS handshake");
        c.ok();
        c
    }
}

fn message(c: &mut Client) -> Vec<u8> {
    match c.next() {
        Some(Frame::Message(body)) => body,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn tls_upgrade_then_sub_pub_and_a_message() {
    let pki = TestPki::generate().unwrap();
    let s = Stand::start(pki.nsqd_options());
    let mut c = Client::connect(s.addr());
    // The reply comes unencrypted, then the handshake, then `OK` over TLS.
    let v = c.identify(r#"{"feature_negotiation":true,"tls_v1":true,"client_id":"tls-1"}"#);
    assert_eq!(
        (
            &v["tls_v1"],
            &v["snappy"],
            &v["deflate"],
            &v["auth_required"]
        ),
        (
            &serde_json::json!(true),
            &serde_json::json!(false),
            &serde_json::json!(false),
            &serde_json::json!(false)
        )
    );
    c.upgrade_tls(pki.client_config(false).unwrap()).unwrap();
    c.ok();
    c.cmd_body("PUB t", b"over tls");
    c.ok();
    c.cmd("SUB t c");
    c.ok();
    c.cmd("RDY 1");
    assert_eq!(message(&mut c), b"over tls");
    let stats = s.nsqd.channel_stats("t", "c").unwrap();
    let client = &stats.clients.unwrap()[0];
    assert!(client.tls, "{client:?}");
    assert_eq!(client.tls_version, "TLS1.3");
    assert!(
        client.tls_cipher_suite.starts_with("Unknown "),
        "Go names no TLS 1.3 suite"
    );
    assert!(!client.snappy && !client.deflate);
}

#[test]
fn without_a_certificate_tls_is_never_offered() {
    let s = Stand::start(NsqOptions::default());
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"tls_v1":true}"#);
    assert_eq!(v["tls_v1"], false);
    // No upgrade: the next command is answered in the clear.
    c.cmd("SUB t c");
    c.ok();
    // Without feature negotiation nothing is negotiated at all.
    let pki = TestPki::generate().unwrap();
    let s = Stand::start(pki.nsqd_options());
    let mut c = Client::connect(s.addr());
    c.cmd_body("IDENTIFY", br#"{"tls_v1":true,"snappy":true}"#);
    c.ok();
    c.cmd("SUB t c");
    c.ok();
}

#[test]
fn tls_required_refuses_commands_before_the_upgrade() {
    let pki = TestPki::generate().unwrap();
    let s = Stand::start(NsqOptions {
        tls_required: TlsRequired::Yes,
        ..pki.nsqd_options()
    });
    for cmd in ["SUB t c", "NOP", "FOO"] {
        let mut c = Client::connect(s.addr());
        c.cmd(cmd);
        let name = cmd.split(' ').next().unwrap();
        assert_eq!(
            c.error(),
            format!("E_INVALID cannot {name} in current state (TLS required)")
        );
        assert!(c.is_closed(), "fatal");
    }
    // IDENTIFY is allowed in the clear, PUB after it still is not.
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true}"#);
    assert_eq!(v["tls_v1"], false, "not asked for");
    c.cmd_body("PUB t", b"x");
    assert_eq!(
        c.error(),
        "E_INVALID cannot PUB in current state (TLS required)"
    );
    // Over TLS the same commands work.
    let mut c = Client::tls(s.addr(), pki.client_config(false).unwrap());
    c.cmd_body("PUB t", b"x");
    c.ok();
    // `true` covers the plain HTTP API too; `tcp-https` does not.
    let http = format!("http://{}/ping", s.nsqd.http_addr());
    let mut resp = ureq::get(&http)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.body_mut().read_to_string().unwrap(),
        r#"{"message": "TLS_REQUIRED", "https_port": 0}"#
    );
    let s = Stand::start(NsqOptions {
        tls_required: TlsRequired::ExceptHttp,
        ..pki.nsqd_options()
    });
    let http = format!("http://{}/ping", s.nsqd.http_addr());
    assert_eq!(ureq::get(&http).call().unwrap().status(), 200);
    let mut c = Client::connect(s.addr());
    c.cmd("NOP");
    assert_eq!(
        c.error(),
        "E_INVALID cannot NOP in current state (TLS required)"
    );
}

#[test]
fn options_are_checked_at_start_as_nsqd_checks_them() {
    assert!(
        start_error(NsqOptions {
            tls_required: TlsRequired::Yes,
            ..NsqOptions::default()
        })
        .contains("cannot require TLS client connections without TLS key and cert")
    );
    // A client auth policy makes TLS required, so it too needs a certificate.
    assert!(
        start_error(NsqOptions {
            tls_client_auth_policy: TlsClientAuthPolicy::Require,
            ..NsqOptions::default()
        })
        .contains("cannot require TLS")
    );
    assert!(
        start_error(NsqOptions {
            max_deflate_level: 10,
            ..NsqOptions::default()
        })
        .contains("--max-deflate-level must be [1,9]")
    );
    let pki = TestPki::generate().unwrap();
    assert!(
        start_error(NsqOptions {
            tls_key: None,
            ..pki.nsqd_options()
        })
        .starts_with("failed to build TLS config - ")
    );
    assert!(
        start_error(NsqOptions {
            tls_root_ca_file: Some(pki.server_key()),
            ..pki.nsqd_options()
        })
        .contains("failed to append certificate to pool")
    );
}

#[test]
fn a_client_auth_policy_requires_tls_and_a_certificate() {
    let pki = TestPki::generate().unwrap();
    let stranger = TestPki::generate().unwrap();
    let foreign = pki
        .client_config_presenting(&stranger.client_cert(), &stranger.client_key())
        .unwrap();
    let s = Stand::start(NsqOptions {
        tls_client_auth_policy: TlsClientAuthPolicy::RequireVerify,
        ..pki.nsqd_options()
    });
    // The policy alone makes TLS required.
    let mut c = Client::connect(s.addr());
    c.cmd("NOP");
    assert_eq!(
        c.error(),
        "E_INVALID cannot NOP in current state (TLS required)"
    );
    for refused in [pki.client_config(false).unwrap(), foreign.clone()] {
        let mut c = Client::connect(s.addr());
        let v = c.identify(r#"{"feature_negotiation":true,"tls_v1":true}"#);
        assert_eq!(v["tls_v1"], true);
        // With TLS 1.3 the client's side of the handshake may complete; the server's
        // refusal then arrives as an alert, never as the `OK`.
        if c.upgrade_tls(refused).is_ok() {
            assert_eq!(c.frame(), None, "no OK for a refused certificate");
        }
    }
    let mut c = Client::tls(s.addr(), pki.client_config(true).unwrap());
    c.cmd("NOP");
    c.cmd_body("PUB t", b"verified");
    c.ok();

    // `require`: any certificate, verified or not, but one must come.
    let s = Stand::start(NsqOptions {
        tls_client_auth_policy: TlsClientAuthPolicy::Require,
        ..pki.nsqd_options()
    });
    let mut c = Client::tls(s.addr(), foreign);
    c.cmd_body("PUB t", b"any certificate");
    c.ok();
    let mut c = Client::connect(s.addr());
    c.identify(r#"{"feature_negotiation":true,"tls_v1":true}"#);
    if c.upgrade_tls(pki.client_config(false).unwrap()).is_ok() {
        assert_eq!(c.frame(), None, "no certificate, no OK");
    }
}

/// Publishes `bodies` over `c` and reads them back on the same connection.
fn round_trip(c: &mut Client, bodies: &[Vec<u8>]) {
    for b in bodies {
        c.cmd_body("PUB big", b);
        c.ok();
    }
    c.cmd("SUB big c");
    c.ok();
    c.cmd(&format!("RDY {}", bodies.len()));
    let mut got: Vec<Vec<u8>> = (0..bodies.len()).map(|_| message(c)).collect();
    got.sort();
    let mut want = bodies.to_vec();
    want.sort();
    assert!(got == want, "every message back, unchanged");
}

fn bodies() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("message {i}").into_bytes())
        .collect();
    // Past one 64 KiB snappy block, and incompressible bytes too.
    v.push((0..200_000u32).map(|i| (i % 7) as u8 + b'a').collect());
    v.push(
        (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    );
    v
}

#[test]
fn snappy_carries_messages_both_ways() {
    let s = Stand::start(NsqOptions::default());
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"snappy":true}"#);
    assert_eq!(
        (&v["snappy"], &v["deflate"]),
        (&serde_json::json!(true), &serde_json::json!(false))
    );
    c.upgrade_snappy();
    c.ok();
    round_trip(&mut c, &bodies());
    let client = &s.nsqd.channel_stats("big", "c").unwrap().clients.unwrap()[0];
    assert!(client.snappy && !client.deflate && !client.tls);
    // A server with --snappy=false says no and stays plain.
    let s = Stand::start(NsqOptions {
        snappy: false,
        ..NsqOptions::default()
    });
    let mut c = Client::connect(s.addr());
    assert_eq!(
        c.identify(r#"{"feature_negotiation":true,"snappy":true}"#)["snappy"],
        false
    );
    c.cmd("SUB t c");
    c.ok();
}

#[test]
fn deflate_carries_messages_both_ways_at_the_negotiated_level() {
    let s = Stand::start(NsqOptions::default());
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"deflate":true,"deflate_level":3}"#);
    assert_eq!(
        (&v["deflate"], &v["deflate_level"]),
        (&serde_json::json!(true), &serde_json::json!(3))
    );
    assert_eq!(v["max_deflate_level"], 6);
    c.upgrade_deflate(3);
    c.ok();
    round_trip(&mut c, &bodies());
    assert!(s.nsqd.channel_stats("big", "c").unwrap().clients.unwrap()[0].deflate);

    // Levels above --max-deflate-level are lowered to it; none asked means 6.
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"deflate":true,"deflate_level":9}"#);
    assert_eq!(v["deflate_level"], 6);
    let s = Stand::start(NsqOptions {
        max_deflate_level: 2,
        ..NsqOptions::default()
    });
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"deflate":false}"#);
    assert_eq!(
        (&v["deflate"], &v["deflate_level"]),
        (&serde_json::json!(false), &serde_json::json!(2))
    );
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"deflate":true}"#);
    assert_eq!(v["deflate_level"], 2);
    c.upgrade_deflate(9); // the client's own level is its business
    c.ok();
    c.cmd_body("PUB t", b"x");
    c.ok();
}

#[test]
fn snappy_and_deflate_at_once_is_refused() {
    let s = Stand::start(NsqOptions::default());
    let mut c = Client::connect(s.addr());
    c.cmd_body(
        "IDENTIFY",
        br#"{"feature_negotiation":true,"snappy":true,"deflate":true}"#,
    );
    assert_eq!(
        c.error(),
        "E_IDENTIFY_FAILED cannot enable both deflate and snappy compression"
    );
    assert!(c.is_closed());
    // With deflate off on the server, asking for both just gets snappy.
    let s = Stand::start(NsqOptions {
        deflate: false,
        ..NsqOptions::default()
    });
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"snappy":true,"deflate":true}"#);
    assert_eq!(
        (&v["snappy"], &v["deflate"]),
        (&serde_json::json!(true), &serde_json::json!(false))
    );
}

#[test]
fn tls_then_snappy_then_deflate_each_over_the_last() {
    let pki = TestPki::generate().unwrap();
    let s = Stand::start(NsqOptions {
        tls_required: TlsRequired::Yes,
        ..pki.nsqd_options()
    });
    let mut c = Client::connect(s.addr());
    let v = c.identify(r#"{"feature_negotiation":true,"tls_v1":true,"snappy":true}"#);
    assert_eq!(
        (&v["tls_v1"], &v["snappy"]),
        (&serde_json::json!(true), &serde_json::json!(true))
    );
    c.upgrade_tls(pki.client_config(false).unwrap()).unwrap();
    c.ok(); // over TLS
    c.upgrade_snappy();
    c.ok(); // snappy inside TLS
    round_trip(&mut c, &bodies()[48..]);

    let mut c = Client::connect(s.addr());
    let v = c
        .identify(r#"{"feature_negotiation":true,"tls_v1":true,"deflate":true,"deflate_level":1}"#);
    assert_eq!(v["deflate_level"], 1);
    c.upgrade_tls(pki.client_config(false).unwrap()).unwrap();
    c.ok();
    c.upgrade_deflate(1);
    c.ok();
    c.cmd_body("PUB t", b"tls+deflate");
    c.ok();
}

fn grant_alice() -> AuthGrant {
    AuthGrant::new(
        "alice",
        vec![
            Authorization::subscribe("^orders$", &["^x-msrv$", "^archive"]),
            Authorization::publish("^orders$"),
        ],
    )
    .identity_url("https://example.invalid/alice")
}

#[test]
fn auth_is_required_then_accepted_and_enforced() {
    let s = Stand::with_auth(NsqOptions::default());
    s.authd().grant("s3cret", grant_alice());
    let mut c = Client::connect(s.addr());
    assert_eq!(
        c.identify(r#"{"feature_negotiation":true}"#)["auth_required"],
        true
    );
    c.cmd("SUB orders x-msrv");
    assert_eq!(c.error(), "E_AUTH_FIRST AUTH required before SUB");
    assert!(c.is_closed());
    let mut c = Client::connect(s.addr());
    c.cmd_body("PUB orders", b"x");
    assert_eq!(c.error(), "E_AUTH_FIRST AUTH required before PUB");

    let mut c = Client::connect(s.addr());
    c.cmd_body("AUTH", b"s3cret");
    let Some(Frame::Response(reply)) = c.next() else {
        panic!("AUTH answers JSON")
    };
    assert_eq!(
        reply,
        r#"{"identity":"alice","identity_url":"https://example.invalid/alice","permission_count":2}"#
    );
    c.cmd_body("AUTH", b"s3cret");
    assert_eq!(c.error(), "E_INVALID AUTH already set");

    let mut p = Client::connect(s.addr());
    p.cmd_body("AUTH", b"s3cret");
    p.next();
    p.cmd_body("PUB orders", b"one");
    p.ok();
    p.cmd_body("DPUB orders 0", b"two");
    p.ok();
    // MPUB is checked before its body is read, and before the topic is made.
    p.cmd("MPUB other");
    assert_eq!(
        p.error(),
        r#"E_UNAUTHORIZED AUTH failed for MPUB on "other" """#
    );
    assert!(p.is_closed());
    assert!(
        s.nsqd
            .stats()
            .topics
            .unwrap_or_default()
            .iter()
            .all(|t| t.topic_name != "other"),
        "no topic for a refused MPUB"
    );

    let mut c = Client::connect(s.addr());
    c.cmd_body("AUTH", b"s3cret");
    c.next();
    c.cmd("SUB orders x-msrv");
    c.ok();
    c.cmd("RDY 2");
    let mut got = [message(&mut c), message(&mut c)];
    got.sort();
    assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    let client = &s
        .nsqd
        .channel_stats("orders", "x-msrv")
        .unwrap()
        .clients
        .unwrap()[0];
    assert!(client.authed);
    assert_eq!(client.auth_identity, "alice");
    assert_eq!(client.auth_identity_url, "https://example.invalid/alice");
}

#[test]
fn a_channel_or_topic_outside_the_authorizations_is_unauthorized() {
    let s = Stand::with_auth(NsqOptions::default());
    s.authd().grant("s3cret", grant_alice());
    for (cmd, body, err) in [
        (
            "SUB orders other",
            None,
            r#"AUTH failed for SUB on "orders" "other""#,
        ),
        (
            "SUB orders2 x-msrv",
            None,
            r#"AUTH failed for SUB on "orders2" "x-msrv""#,
        ),
        (
            "PUB invoices",
            Some(&b"x"[..]),
            r#"AUTH failed for PUB on "invoices" """#,
        ),
    ] {
        let mut c = Client::connect(s.addr());
        c.cmd_body("AUTH", b"s3cret");
        c.next();
        match body {
            Some(b) => c.cmd_body(cmd, b),
            None => c.cmd(cmd),
        }
        assert_eq!(c.error(), format!("E_UNAUTHORIZED {err}"));
        assert!(c.is_closed(), "fatal");
    }
    // A channel regexp matches anywhere in the name, as Go's MatchString does.
    let mut c = Client::connect(s.addr());
    c.cmd_body("AUTH", b"s3cret");
    c.next();
    c.cmd("SUB orders archive-2024");
    c.ok();
}

#[test]
fn auth_refusals_have_nsqds_codes() {
    let s = Stand::with_auth(NsqOptions::default());
    let authd = s.authd();
    authd.grant("nothing", AuthGrant::new("bob", Vec::new()));
    authd.answer(
        "no-ttl",
        AuthAnswer::Raw {
            status: 200,
            body: r#"{"ttl":0,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]}"#.into(),
        },
    );
    authd.answer(
        "bad-permission",
        AuthAnswer::Raw {
            status: 200,
            body: r#"{"ttl":60,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["admin"]}]}"#.into(),
        },
    );
    authd.answer(
        "broken",
        AuthAnswer::Raw {
            status: 500,
            body: "oops".into(),
        },
    );
    for (secret, want) in [
        ("unknown", "E_AUTH_FAILED AUTH failed"), // the auth service says 403
        ("no-ttl", "E_AUTH_FAILED AUTH failed"),
        ("bad-permission", "E_AUTH_FAILED AUTH failed"),
        ("broken", "E_AUTH_FAILED AUTH failed"),
        ("nothing", "E_UNAUTHORIZED AUTH no authorizations found"),
    ] {
        let mut c = Client::connect(s.addr());
        c.cmd_body("AUTH", secret.as_bytes());
        assert_eq!(c.error(), want, "secret {secret}");
        assert!(c.is_closed());
    }
    // No auth service configured.
    let plain = Stand::start(NsqOptions::default());
    let mut c = Client::connect(plain.addr());
    c.cmd_body("AUTH", b"s3cret");
    assert_eq!(c.error(), "E_AUTH_DISABLED AUTH disabled");
    // An auth service that is not there.
    let gone = Stand::start(NsqOptions {
        auth_http_addresses: vec!["127.0.0.1:1".into()],
        ..NsqOptions::default()
    });
    let mut c = Client::connect(gone.addr());
    c.cmd_body("AUTH", b"s3cret");
    assert_eq!(c.error(), "E_AUTH_FAILED AUTH failed");
}

#[test]
fn the_auth_service_is_asked_what_nsqd_asks() {
    let pki = TestPki::generate().unwrap();
    let s = Stand::with_auth(NsqOptions {
        tls_client_auth_policy: TlsClientAuthPolicy::RequireVerify,
        ..pki.nsqd_options()
    });
    s.authd().grant("s3cret word", grant_alice());
    let mut c = Client::tls(s.addr(), pki.client_config(true).unwrap());
    c.cmd_body("AUTH", b"s3cret word");
    assert!(matches!(c.next(), Some(Frame::Response(_))));
    let req = &s.authd().requests()[0];
    assert_eq!(req.path, "/auth");
    assert_eq!(req.secret.as_deref(), Some("s3cret word"));
    assert_eq!(req.remote_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(req.tls.as_deref(), Some("true"));
    assert_eq!(req.common_name.as_deref(), Some(CLIENT_COMMON_NAME));
    assert_eq!(
        req.accept.as_deref(),
        Some("application/vnd.nsq; version=1.0")
    );
    // Go's url.Values.Encode: keys sorted, spaces as '+'.
    assert_eq!(
        req.raw_query,
        format!("common_name={CLIENT_COMMON_NAME}&remote_ip=127.0.0.1&secret=s3cret+word&tls=true")
    );

    let s = Stand::with_auth(NsqOptions::default());
    s.authd().grant("plain", grant_alice());
    let mut c = Client::connect(s.addr());
    c.cmd_body("AUTH", b"plain");
    c.next();
    let req = &s.authd().requests()[0];
    assert_eq!(
        (req.tls.as_deref(), req.common_name.as_deref()),
        (Some("false"), Some(""))
    );
}

#[test]
fn auth_is_asked_again_once_its_ttl_has_passed() {
    let s = Stand::with_auth(NsqOptions::default());
    s.authd().grant("s3cret", grant_alice().ttl(1));
    let mut p = Client::connect(s.addr());
    p.cmd_body("AUTH", b"s3cret");
    p.next();
    p.cmd_body("PUB orders", b"1");
    p.ok();
    assert_eq!(s.authd().requests().len(), 1, "cached within the ttl");
    // The service now allows only subscribing.
    s.authd().grant(
        "s3cret",
        AuthGrant::new("alice", vec![Authorization::subscribe(".*", &[".*"])]),
    );
    std::thread::sleep(Duration::from_millis(1100));
    p.cmd_body("PUB orders", b"2");
    assert_eq!(
        p.error(),
        r#"E_UNAUTHORIZED AUTH failed for PUB on "orders" """#
    );
    assert_eq!(s.authd().requests().len(), 2, "asked again after the ttl");

    // A failing service on the second ask: AUTH failed.
    let mut p = Client::connect(s.addr());
    s.authd().grant("s3cret", grant_alice().ttl(1));
    p.cmd_body("AUTH", b"s3cret");
    p.next();
    s.authd().revoke("s3cret");
    std::thread::sleep(Duration::from_millis(1100));
    p.cmd_body("PUB orders", b"3");
    assert_eq!(p.error(), "E_AUTH_FAILED AUTH failed");
}
