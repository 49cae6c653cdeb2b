//! The stand-in nsqd and nsqlookupd checked over real sockets: the TCP protocol V2 spoken
//! byte by byte (a test of the server, so raw frames are the point), and the HTTP APIs
//! through `ureq`, a third-party HTTP client.

use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use devstack::nsqd::{NsqOptions, NsqServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SOON: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq)]
enum Frame {
    Response(String),
    Error(String),
    Message {
        attempts: u16,
        id: String,
        body: Vec<u8>,
    },
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    async fn connect(server: &NsqServer) -> Client {
        let mut stream = TcpStream::connect(server.tcp_addr()).await.unwrap();
        stream.write_all(b"  V2").await.unwrap();
        Client {
            stream,
            buf: BytesMut::new(),
        }
    }

    async fn identify(&mut self, json: &str) -> Frame {
        let mut out = BytesMut::new();
        out.put_slice(b"IDENTIFY\n");
        out.put_u32(json.len() as u32);
        out.put_slice(json.as_bytes());
        self.stream.write_all(&out).await.unwrap();
        self.frame().await.unwrap()
    }

    async fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    async fn sub(server: &NsqServer, topic: &str, channel: &str, rdy: u32) -> Client {
        let mut c = Client::connect(server).await;
        c.send(&format!("SUB {topic} {channel}")).await;
        assert_eq!(c.frame().await.unwrap(), Frame::Response("OK".into()));
        if rdy > 0 {
            c.send(&format!("RDY {rdy}")).await;
        }
        c
    }

    /// The next frame, or `None` when the server closed the connection.
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            if self.buf.len() >= 4 {
                let size = u32::from_be_bytes(self.buf[..4].try_into().unwrap()) as usize;
                if self.buf.len() >= 4 + size {
                    self.buf.advance(4);
                    let ty = self.buf.get_u32();
                    let mut data = self.buf.split_to(size - 4);
                    return Some(match ty {
                        0 => Frame::Response(String::from_utf8_lossy(&data).into_owned()),
                        1 => Frame::Error(String::from_utf8_lossy(&data).into_owned()),
                        2 => {
                            let _ts = data.get_i64();
                            let attempts = data.get_u16();
                            let id = String::from_utf8_lossy(&data[..16]).into_owned();
                            Frame::Message {
                                attempts,
                                id,
                                body: data[16..].to_vec(),
                            }
                        }
                        t => panic!("unknown frame type {t}"),
                    });
                }
            }
            let n = tokio::time::timeout(SOON, self.stream.read_buf(&mut self.buf))
                .await
                .expect("a frame within the time limit")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
        }
    }

    /// Frames arriving within `wait`, skipping heartbeats.
    async fn frames_within(&mut self, wait: Duration) -> Vec<Frame> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(f)) = tokio::time::timeout_at(deadline, self.frame()).await {
            if f != Frame::Response("_heartbeat_".into()) {
                got.push(f);
            }
        }
        got
    }

    async fn message(&mut self) -> (u16, String, Vec<u8>) {
        loop {
            match self.frame().await.expect("connection open") {
                Frame::Message { attempts, id, body } => return (attempts, id, body),
                Frame::Response(r) if r == "_heartbeat_" => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    async fn is_closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(SOON, self.frame()).await {
                Ok(None) => return true,
                Ok(Some(_)) => {}
                Err(_) => return false,
            }
        }
    }
}

async fn server() -> NsqServer {
    NsqServer::start(NsqOptions {
        output_buffer_timeout: Duration::from_millis(5),
        ..NsqOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn rdy_is_a_window_and_fin_reopens_a_slot() {
    let s = server().await;
    for i in 0..5 {
        s.publish("t", format!("m{i}"));
    }
    let mut c = Client::sub(&s, "t", "c", 2).await;
    let got = c.frames_within(Duration::from_millis(500)).await;
    assert_eq!(got.len(), 2, "never more in flight than RDY: {got:?}");
    let Frame::Message { id, attempts, .. } = &got[0] else {
        panic!()
    };
    assert_eq!(*attempts, 1);
    c.send(&format!("FIN {id}")).await;
    assert_eq!(
        c.frames_within(Duration::from_millis(500)).await.len(),
        1,
        "one slot reopened"
    );
    assert_eq!(s.channel_stats("t", "c").unwrap().in_flight_count, 2);
}

#[tokio::test]
async fn rdy_above_max_rdy_count_is_fatal() {
    let s = NsqServer::start(NsqOptions {
        max_rdy_count: 50,
        ..NsqOptions::default()
    })
    .await
    .unwrap();
    let mut c = Client::sub(&s, "t", "c", 0).await;
    c.send("RDY 51").await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error(
            "E_INVALID RDY count 51 out of range 0-50".into()
        ))
    );
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn identify_negotiates_and_validates() {
    let s = server().await;
    let mut c = Client::connect(&s).await;
    let Frame::Response(json) = c
        .identify(r#"{"feature_negotiation":true,"msg_timeout":5000}"#)
        .await
    else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["max_rdy_count"], 2500);
    assert_eq!(v["msg_timeout"], 5000);
    assert_eq!(v["max_msg_timeout"], 900_000);
    assert_eq!(v["tls_v1"], false);
    let mut c = Client::connect(&s).await;
    assert_eq!(c.identify("{}").await, Frame::Response("OK".into()));
    let mut c = Client::connect(&s).await;
    assert_eq!(
        c.identify(r#"{"heartbeat_interval":500}"#).await,
        Frame::Error("E_BAD_BODY IDENTIFY heartbeat interval (500) is invalid".into())
    );
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn req_with_delay_defers_and_counts_attempts() {
    let s = server().await;
    s.publish("t", "x");
    let mut c = Client::sub(&s, "t", "c", 1).await;
    let (attempts, id, _) = c.message().await;
    assert_eq!(attempts, 1);
    c.send(&format!("REQ {id} 300")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ch = s.channel_stats("t", "c").unwrap();
    assert_eq!(
        (ch.deferred_count, ch.requeue_count, ch.in_flight_count),
        (1, 1, 0)
    );
    let (attempts, again, _) = c.message().await;
    assert_eq!((attempts, again), (2, id));
}

#[tokio::test]
async fn an_unfinished_message_times_out_and_comes_back() {
    let s = server().await;
    s.publish("t", "x");
    let mut c = Client::connect(&s).await;
    let _ = c.identify(r#"{"msg_timeout":1000}"#).await;
    c.send("SUB t c").await;
    assert_eq!(c.frame().await, Some(Frame::Response("OK".into())));
    c.send("RDY 5").await;
    let (_, id, _) = c.message().await;
    let (attempts, again, _) = c.message().await;
    assert_eq!((attempts, &again), (2, &id));
    assert_eq!(s.channel_stats("t", "c").unwrap().timeout_count, 1);
    // TOUCH of the redelivered message works; FIN of it too.
    c.send(&format!("TOUCH {id}")).await;
    c.send(&format!("FIN {id}")).await;
    c.send("NOP").await;
    assert!(c.frames_within(Duration::from_millis(300)).await.is_empty());
    assert_eq!(s.channel_stats("t", "c").unwrap().in_flight_count, 0);
}

#[tokio::test]
async fn a_disconnected_clients_messages_return_only_at_their_timeout() {
    let s = NsqServer::start(NsqOptions {
        msg_timeout: Duration::from_secs(1),
        ..NsqOptions::default()
    })
    .await
    .unwrap();
    s.publish("t", "x");
    let mut c = Client::sub(&s, "t", "c", 1).await;
    let _ = c.message().await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ch = s.channel_stats("t", "c").unwrap();
    assert_eq!(
        (ch.client_count, ch.in_flight_count, ch.depth),
        (0, 1, 0),
        "still in flight"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let ch = s.channel_stats("t", "c").unwrap();
    assert_eq!((ch.in_flight_count, ch.depth, ch.timeout_count), (0, 1, 1));
}

#[tokio::test]
async fn cls_answers_close_wait_and_stops_delivery() {
    let s = server().await;
    let mut c = Client::sub(&s, "t", "c", 10).await;
    c.send("CLS").await;
    assert_eq!(c.frame().await, Some(Frame::Response("CLOSE_WAIT".into())));
    c.send("RDY 10").await; // ignored while closing
    s.publish("t", "late");
    assert!(c.frames_within(Duration::from_millis(300)).await.is_empty());
    assert_eq!(s.channel_stats("t", "c").unwrap().depth, 1);
}

#[tokio::test]
async fn heartbeats_are_sent_and_a_silent_client_is_dropped() {
    let s = server().await;
    let mut c = Client::connect(&s).await;
    let _ = c.identify(r#"{"heartbeat_interval":1000}"#).await;
    assert_eq!(c.frame().await, Some(Frame::Response("_heartbeat_".into())));
    // No answer to any heartbeat: nsqd's read deadline is two intervals.
    let started = std::time::Instant::now();
    assert!(c.is_closed().await);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn only_fin_req_touch_failures_are_non_fatal() {
    let s = server().await;
    let mut c = Client::sub(&s, "t", "c", 1).await;
    c.send("FIN 0000000000000bad").await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error(
            "E_FIN_FAILED FIN 0000000000000bad failed ID not in flight".into()
        ))
    );
    c.send("REQ 0000000000000bad 0").await;
    assert!(matches!(c.frame().await, Some(Frame::Error(e)) if e.starts_with("E_REQ_FAILED")));
    c.send("TOUCH 0000000000000bad").await;
    assert!(matches!(c.frame().await, Some(Frame::Error(e)) if e.starts_with("E_TOUCH_FAILED")));
    s.publish("t", "still open");
    let (_, _, body) = c.message().await;
    assert_eq!(body, b"still open");
    c.send("BOGUS").await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error("E_INVALID invalid command BOGUS".into()))
    );
    assert!(c.is_closed().await);
    let mut c = Client::connect(&s).await;
    c.send("SUB bad/topic c").await;
    assert!(matches!(c.frame().await, Some(Frame::Error(e)) if e.starts_with("E_BAD_TOPIC")));
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn topics_hold_messages_until_a_channel_and_channels_get_copies() {
    let s = server().await;
    s.publish("t", "before");
    let mut a1 = Client::sub(&s, "t", "a", 10).await;
    let mut b = Client::sub(&s, "t", "b", 10).await;
    let mut a2 = Client::sub(&s, "t", "a", 10).await;
    assert_eq!(
        a1.message().await.2,
        b"before",
        "the first channel got the topic's messages"
    );
    for i in 0..4 {
        s.publish("t", format!("m{i}"));
    }
    assert_eq!(
        b.frames_within(Duration::from_millis(300)).await.len(),
        4,
        "every channel gets a copy"
    );
    let n1 = a1.frames_within(Duration::from_millis(300)).await.len();
    let n2 = a2.frames_within(Duration::from_millis(300)).await.len();
    assert_eq!(n1 + n2, 4, "clients of one channel share its messages");
    assert!(n1 > 0 && n2 > 0, "both clients got some: {n1} {n2}");
}

#[tokio::test]
async fn tcp_pub_mpub_dpub() {
    let s = server().await;
    let mut c = Client::connect(&s).await;
    let mut out = BytesMut::new();
    out.put_slice(b"PUB t\n");
    out.put_u32(3);
    out.put_slice(b"one");
    out.put_slice(b"MPUB t\n");
    out.put_u32(4 + 4 + 3 + 4 + 5);
    out.put_u32(2);
    out.put_u32(3);
    out.put_slice(b"two");
    out.put_u32(5);
    out.put_slice(b"three");
    out.put_slice(b"DPUB t 60000\n");
    out.put_u32(4);
    out.put_slice(b"four");
    c.stream.write_all(&out).await.unwrap();
    for _ in 0..3 {
        assert_eq!(c.frame().await, Some(Frame::Response("OK".into())));
    }
    s.create_channel("t", "c");
    s.publish("t", "five");
    let ch = s.channel_stats("t", "c").unwrap();
    assert_eq!(
        (ch.depth, ch.deferred_count),
        (4, 1),
        "the DPUB stays deferred in the channel: {ch:?}"
    );
}

fn http_get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn http_post(url: &str, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.post(url).send(body).unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn http_api_matches_nsqd() {
    let s = server().await;
    let base = format!("http://{}", s.http_addr());
    let (b, l) = (base.clone(), format!("http://{}", s.lookupd_http_addr()));
    let tcp_port = s.tcp_addr().port();
    tokio::task::spawn_blocking(move || {
        assert_eq!(http_get(&format!("{b}/ping")), (200, "OK".into()));
        assert_eq!(
            http_post(&format!("{b}/pub?topic=h"), b"one"),
            (200, "OK".into())
        );
        assert_eq!(
            http_post(&format!("{b}/mpub?topic=h"), b"two\nthree\n\nfour"),
            (200, "OK".into())
        );
        let mut bin = Vec::new();
        bin.extend_from_slice(&2u32.to_be_bytes());
        for m in [&b"five"[..], b"six\nwith newline"] {
            bin.extend_from_slice(&(m.len() as u32).to_be_bytes());
            bin.extend_from_slice(m);
        }
        assert_eq!(
            http_post(&format!("{b}/mpub?topic=h&binary=true"), &bin),
            (200, "OK".into())
        );
        assert_eq!(
            http_post(&format!("{b}/pub?topic=h"), b""),
            (400, r#"{"message":"MSG_EMPTY"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/pub"), b"x"),
            (400, r#"{"message":"MISSING_ARG_TOPIC"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/pub?topic=a/b"), b"x"),
            (400, r#"{"message":"INVALID_TOPIC"}"#.into())
        );
        let big = vec![b'x'; 1024 * 1024 + 1];
        assert_eq!(
            http_post(&format!("{b}/pub?topic=h"), &big),
            (413, r#"{"message":"MSG_TOO_BIG"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/channel/create?topic=h&channel=c"), b"").0,
            200
        );
        let (code, stats) = http_get(&format!("{b}/stats?format=json&topic=h"));
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&stats).unwrap();
        let t = &v["topics"][0];
        assert_eq!(t["topic_name"], "h");
        assert_eq!(t["message_count"], 6);
        assert_eq!(t["channels"][0]["channel_name"], "c");
        assert_eq!(t["channels"][0]["depth"], 6);
        for field in [
            "in_flight_count",
            "deferred_count",
            "requeue_count",
            "timeout_count",
            "client_count",
        ] {
            assert_eq!(t["channels"][0][field], 0, "{field}");
        }

        let (code, body) = http_get(&format!("{l}/lookup?topic=h"));
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["channels"], serde_json::json!(["c"]));
        assert_eq!(v["producers"][0]["tcp_port"], tcp_port);
        assert_eq!(v["producers"][0]["broadcast_address"], "127.0.0.1");
        assert_eq!(
            http_get(&format!("{l}/lookup?topic=none")),
            (404, r#"{"message":"TOPIC_NOT_FOUND"}"#.into())
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn over_deliver_ignores_the_window_on_purpose() {
    let s = server().await;
    for _ in 0..10 {
        s.publish("t", "x");
    }
    s.over_deliver(3);
    let mut c = Client::sub(&s, "t", "c", 2).await;
    assert_eq!(c.frames_within(Duration::from_millis(500)).await.len(), 5);
}

/// Sends raw bytes and returns the next frame.
async fn raw(c: &mut Client, bytes: &[u8]) -> Option<Frame> {
    c.stream.write_all(bytes).await.unwrap();
    c.frame().await
}

#[tokio::test]
async fn numbers_parse_as_nsqd_does_and_sub_needs_heartbeats() {
    let s = server().await;
    // nsqd's ByteToBase10 knows no sign: a negative RDY or REQ is a parse error.
    let mut c = Client::sub(&s, "t", "c", 0).await;
    c.send("RDY -1").await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error(
            "E_INVALID RDY could not parse count -1".into()
        ))
    );
    assert!(c.is_closed().await);
    s.publish("t", "x");
    let mut c = Client::sub(&s, "t", "c", 1).await;
    let (_, id, _) = c.message().await;
    c.send(&format!("REQ {id} -5")).await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error(
            "E_INVALID REQ could not parse timeout -5".into()
        ))
    );
    assert!(c.is_closed().await);
    // A REQ delay past max_req_timeout is clamped, not refused. (The message above
    // stays in flight to the closed client until its timeout: publish another.)
    s.publish("t", "y");
    let mut c = Client::sub(&s, "t", "c", 1).await;
    let (_, id, _) = c.message().await;
    c.send(&format!("REQ {id} 99999999999")).await;
    c.send("NOP").await;
    assert!(c.frames_within(Duration::from_millis(300)).await.is_empty());
    assert_eq!(s.channel_stats("t", "c").unwrap().deferred_count, 1);
    c.send("FIN short").await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error("E_INVALID invalid message ID".into()))
    );
    // Heartbeats off: nsqd refuses SUB.
    let mut c = Client::connect(&s).await;
    assert_eq!(
        c.identify(r#"{"heartbeat_interval":-1}"#).await,
        Frame::Response("OK".into())
    );
    c.send("SUB t c").await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error(
            "E_INVALID cannot SUB with heartbeats disabled".into()
        ))
    );
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn identify_checks_state_ranges_and_echoes_sampling() {
    let s = server().await;
    let mut c = Client::connect(&s).await;
    let Frame::Response(json) = c
        .identify(r#"{"feature_negotiation":true,"sample_rate":50,"output_buffer_timeout":-1}"#)
        .await
    else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sample_rate"], 50);
    assert_eq!(v["output_buffer_timeout"], 0);
    assert_eq!(v["output_buffer_size"], 16384);
    // IDENTIFY again is allowed before SUB, as in nsqd.
    assert_eq!(c.identify("{}").await, Frame::Response("OK".into()));
    c.send("SUB t c").await;
    assert_eq!(c.frame().await, Some(Frame::Response("OK".into())));
    assert_eq!(
        c.identify("{}").await,
        Frame::Error("E_INVALID cannot IDENTIFY in current state".into())
    );
    for (body, err) in [
        (
            r#"{"output_buffer_timeout":10}"#,
            "E_BAD_BODY IDENTIFY output buffer timeout (10) is invalid",
        ),
        (
            r#"{"output_buffer_size":63}"#,
            "E_BAD_BODY IDENTIFY output buffer size (63) is invalid",
        ),
        (
            r#"{"sample_rate":100}"#,
            "E_BAD_BODY IDENTIFY sample rate (100) is invalid",
        ),
        (
            r#"{"msg_timeout":999}"#,
            "E_BAD_BODY IDENTIFY msg timeout (999) is invalid",
        ),
        ("not json", "E_BAD_BODY IDENTIFY failed to decode JSON body"),
    ] {
        let mut c = Client::connect(&s).await;
        assert_eq!(c.identify(body).await, Frame::Error(err.into()), "{body}");
        assert!(c.is_closed().await);
    }
    let mut c = Client::connect(&s).await;
    let mut out = BytesMut::new();
    out.put_slice(b"IDENTIFY\n");
    out.put_u32(0);
    assert_eq!(
        raw(&mut c, &out).await,
        Some(Frame::Error(
            "E_BAD_BODY IDENTIFY invalid body size 0".into()
        ))
    );
}

#[tokio::test]
async fn touch_extends_the_deadline_but_not_past_max_msg_timeout() {
    let s = NsqServer::start(NsqOptions {
        max_msg_timeout: Duration::from_millis(2500),
        ..NsqOptions::default()
    })
    .await
    .unwrap();
    s.publish("t", "x");
    let mut c = Client::connect(&s).await;
    let _ = c.identify(r#"{"msg_timeout":1000}"#).await;
    c.send("SUB t c").await;
    assert_eq!(c.frame().await, Some(Frame::Response("OK".into())));
    c.send("RDY 1").await;
    let (_, id, _) = c.message().await;
    let delivered = tokio::time::Instant::now();
    // Keep touching: without the cap the message would never time out.
    let redelivered = loop {
        c.send(&format!("TOUCH {id}")).await;
        match tokio::time::timeout(Duration::from_millis(300), c.frame()).await {
            Ok(Some(Frame::Message { attempts, .. })) => break attempts,
            Ok(Some(Frame::Response(r))) if r == "_heartbeat_" => {}
            Ok(Some(Frame::Error(e))) if e.starts_with("E_TOUCH_FAILED") => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => {}
        }
        assert!(delivered.elapsed() < SOON, "never timed out");
    };
    assert_eq!(redelivered, 2);
    assert!(
        delivered.elapsed() >= Duration::from_millis(2000),
        "TOUCH kept it past msg_timeout"
    );
    assert_eq!(s.channel_stats("t", "c").unwrap().timeout_count, 1);
}

#[tokio::test]
async fn mpub_and_pub_errors_carry_nsqds_texts() {
    let s = server().await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"MPUB bad/t\n".to_vec(),
            "E_BAD_TOPIC E_BAD_TOPIC MPUB topic name \"bad/t\" is not valid",
        ),
        (
            [&b"MPUB t\n"[..], &8u32.to_be_bytes(), &0u32.to_be_bytes()].concat(),
            "E_BAD_BODY MPUB invalid message count 0",
        ),
        (
            [
                &b"MPUB t\n"[..],
                &8u32.to_be_bytes(),
                &1u32.to_be_bytes(),
                &0u32.to_be_bytes(),
            ]
            .concat(),
            "E_BAD_MESSAGE MPUB invalid message(0) body size 0",
        ),
        (
            [&b"PUB t\n"[..], &0u32.to_be_bytes()].concat(),
            "E_BAD_MESSAGE PUB invalid message body size 0",
        ),
        (
            [&b"PUB t\n"[..], &(1024u32 * 1024 + 1).to_be_bytes()].concat(),
            "E_BAD_MESSAGE PUB message too big 1048577 > 1048576",
        ),
        (
            b"DPUB t -1\n".to_vec(),
            "E_INVALID DPUB could not parse timeout -1",
        ),
        (
            b"DPUB t 3600001\n".to_vec(),
            "E_INVALID DPUB timeout 3600001 out of range 0-3600000",
        ),
        (
            [&b"AUTH\n"[..], &6u32.to_be_bytes(), b"secret"].concat(),
            "E_AUTH_DISABLED AUTH disabled",
        ),
    ];
    for (bytes, err) in cases {
        let mut c = Client::connect(&s).await;
        assert_eq!(raw(&mut c, &bytes).await, Some(Frame::Error(err.into())));
        assert!(c.is_closed().await, "{err} is fatal");
    }
    let mut bad = TcpStream::connect(s.tcp_addr()).await.unwrap();
    bad.write_all(b"  V1").await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(SOON, bad.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[8..], b"E_BAD_PROTOCOL");
}

#[tokio::test]
async fn ephemeral_channels_vanish_with_their_last_client() {
    let s = server().await;
    let c = Client::sub(&s, "t", "tail#ephemeral", 1).await;
    assert!(s.channel_stats("t", "tail#ephemeral").is_some());
    drop(c);
    let deadline = tokio::time::Instant::now() + SOON;
    while s.channel_stats("t", "tail#ephemeral").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channel still there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_paused_channel_holds_its_messages_and_deleting_it_closes_its_clients() {
    let s = server().await;
    let mut c = Client::sub(&s, "t", "c", 5).await;
    let base = format!("http://{}", s.http_addr());
    let b = base.clone();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            http_post(&format!("{b}/channel/pause?topic=t&channel=c"), b""),
            (200, String::new())
        );
    })
    .await
    .unwrap();
    s.publish("t", "held");
    assert!(c.frames_within(Duration::from_millis(300)).await.is_empty());
    let b = base.clone();
    tokio::task::spawn_blocking(move || {
        http_post(&format!("{b}/channel/unpause?topic=t&channel=c"), b"");
    })
    .await
    .unwrap();
    assert_eq!(c.message().await.2, b"held");
    let b = base.clone();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            http_post(&format!("{b}/channel/delete?topic=t&channel=c"), b""),
            (200, String::new())
        );
    })
    .await
    .unwrap();
    assert!(
        c.is_closed().await,
        "nsqd closes a deleted channel's clients"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_errors_methods_and_stats_shape_follow_nsqd() {
    let s = server().await;
    let mut producer = Client::connect(&s).await;
    let mut out = BytesMut::new();
    out.put_slice(b"PUB p\n");
    out.put_u32(1);
    out.put_slice(b"x");
    assert_eq!(
        raw(&mut producer, &out).await,
        Some(Frame::Response("OK".into()))
    );
    let b = format!("http://{}", s.http_addr());
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let r = agent.get(format!("{b}/pub?topic=t")).call().unwrap();
        assert_eq!(r.status().as_u16(), 405);
        assert_eq!(
            r.headers().get("X-NSQ-Content-Type").unwrap(),
            "nsq; version=1.0"
        );
        assert_eq!(
            http_post(&format!("{b}/ping"), b"").0,
            405,
            "nsqd serves /ping on GET only"
        );
        let head = agent.head(format!("{b}/ping")).call().unwrap();
        assert_eq!(head.status().as_u16(), 405, "no HEAD in nsqd's router");
        assert_eq!(
            http_get(&format!("{b}/nothing")),
            (404, r#"{"message":"NOT_FOUND"}"#.into())
        );
        // The body is checked before the query.
        assert_eq!(
            http_post(&format!("{b}/pub"), b""),
            (400, r#"{"message":"MSG_EMPTY"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/pub?topic=t&defer=-1"), b"x"),
            (400, r#"{"message":"INVALID_DEFER"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/mpub?topic=t"), b"\n\n"),
            (200, "OK".into()),
            "an MPUB of only empty lines publishes nothing and succeeds"
        );
        let mut bin = Vec::new();
        bin.extend_from_slice(&1u32.to_be_bytes());
        bin.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(
            http_post(&format!("{b}/mpub?topic=t&binary=yes"), &bin),
            (413, r#"{"message":"BAD_MESSAGE"}"#.into()),
            "an unknown binary value counts as true"
        );
        assert_eq!(
            http_post(&format!("{b}/channel/create?topic=none&channel=c"), b""),
            (404, r#"{"message":"TOPIC_NOT_FOUND"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/channel/create?topic=t&channel=a/b"), b""),
            (400, r#"{"message":"INVALID_ARG_CHANNEL"}"#.into())
        );
        assert_eq!(
            http_post(&format!("{b}/topic/delete?topic=none"), b""),
            (404, r#"{"message":"TOPIC_NOT_FOUND"}"#.into())
        );
        let (_, body) = http_get(&format!("{b}/stats?format=json&topic=none"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["topics"], serde_json::Value::Null);
        let (_, body) = http_get(&format!("{b}/stats?format=json"));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["version"], "1.3.0");
        assert_eq!(v["health"], "OK");
        assert!(v["memory"].is_object());
        assert_eq!(v["producers"][0]["pub_counts"][0]["topic"], "p");
        assert_eq!(v["producers"][0]["pub_counts"][0]["count"], 1);
        assert_eq!(v["topics"][0]["topic_name"], "p", "sorted by name");
        assert_eq!(v["topics"][0]["message_bytes"], 1);
        assert_eq!(
            v["topics"][0]["e2e_processing_latency"],
            serde_json::json!({"count": 0, "percentiles": null})
        );
        let (_, body) = http_get(&format!("{b}/stats"));
        assert!(body.contains("Topics:"), "{body}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn nsqlookupd_keeps_registrations_like_the_real_one() {
    let s = server().await;
    s.create_channel("kept", "c");
    let l = format!("http://{}", s.lookupd_http_addr());
    let b = format!("http://{}", s.http_addr());
    let node = format!("127.0.0.1:{}", s.http_addr().port());
    tokio::task::spawn_blocking(move || {
        let json = |url: &str| {
            let (code, body) = http_get(url);
            (
                code,
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            )
        };
        let (_, v) = json(&format!("{l}/nodes"));
        assert_eq!(v["producers"][0]["topics"], serde_json::json!(["kept"]));
        assert_eq!(v["producers"][0]["tombstones"], serde_json::json!([false]));
        http_post(&format!("{l}/topic/tombstone?topic=kept&node={node}"), b"");
        let (_, v) = json(&format!("{l}/lookup?topic=kept"));
        assert_eq!(v["producers"], serde_json::json!([]), "tombstoned");
        // nsqd deletes the topic: nsqlookupd keeps the registration, without producers.
        assert_eq!(
            http_post(&format!("{b}/topic/delete?topic=kept"), b"").0,
            200
        );
        let (code, v) = json(&format!("{l}/lookup?topic=kept"));
        assert_eq!(code, 200);
        assert_eq!(v["channels"], serde_json::json!(["c"]));
        assert_eq!(v["producers"], serde_json::json!([]));
        assert_eq!(
            json(&format!("{l}/topics")).1["topics"],
            serde_json::json!(["kept"])
        );
        assert_eq!(
            http_post(&format!("{l}/topic/delete?topic=kept"), b"").0,
            200
        );
        assert_eq!(
            http_get(&format!("{l}/lookup?topic=kept")),
            (404, r#"{"message":"TOPIC_NOT_FOUND"}"#.into())
        );
        assert_eq!(
            http_get(&format!("{l}/lookup")),
            (400, r#"{"message":"MISSING_ARG_TOPIC"}"#.into())
        );
        assert_eq!(http_get(&format!("{l}/ping")), (200, "OK".into()));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn output_buffer_timeout_off_holds_messages_until_the_window_closes() {
    let s = NsqServer::start(NsqOptions::default()).await.unwrap();
    let mut c = Client::connect(&s).await;
    // -1 stops nsqd's flush ticker: buffered messages wait for a reason to flush.
    assert_eq!(
        c.identify(r#"{"output_buffer_timeout":-1,"heartbeat_interval":30000}"#)
            .await,
        Frame::Response("OK".into())
    );
    c.send("SUB t c").await;
    assert_eq!(c.frame().await, Some(Frame::Response("OK".into())));
    c.send("RDY 10").await;
    s.publish("t", "buffered");
    assert!(
        c.frames_within(Duration::from_millis(600)).await.is_empty(),
        "nsqd holds it in the 16 KiB buffer"
    );
    assert_eq!(s.channel_stats("t", "c").unwrap().in_flight_count, 1);
    // RDY 0 makes the client not ready: nsqd's pump flushes.
    c.send("RDY 0").await;
    assert_eq!(c.message().await.2, b"buffered");
}

#[tokio::test]
async fn a_full_window_flushes_at_once() {
    let s = NsqServer::start(NsqOptions {
        // Far longer than the test waits: only the full window can flush.
        output_buffer_timeout: Duration::from_secs(30),
        ..NsqOptions::default()
    })
    .await
    .unwrap();
    let mut c = Client::sub(&s, "t", "c", 1).await;
    s.publish("t", "one");
    assert_eq!(c.message().await.2, b"one");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_topic_gets_the_channels_nsqlookupd_knows() {
    let s = server().await;
    let l = format!("http://{}", s.lookupd_http_addr());
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            http_post(&format!("{l}/channel/create?topic=pre&channel=c"), b"").0,
            200
        );
        assert_eq!(
            http_post(
                &format!("{l}/channel/create?topic=pre&channel=e%23ephemeral"),
                b""
            )
            .0,
            200
        );
    })
    .await
    .unwrap();
    s.publish("pre", "x");
    assert_eq!(s.channel_stats("pre", "c").map(|c| c.depth), Some(1));
    let channels: Vec<_> = s.stats().topics.unwrap()[0]
        .channels
        .iter()
        .map(|c| c.channel_name.clone())
        .collect();
    assert_eq!(channels, ["c"], "no ephemeral channel without a client");
    // Deleted and published again: nsqlookupd still knows "c", so it comes back.
    s.create_channel("pre", "d");
    let b = format!("http://{}", s.http_addr());
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            http_post(&format!("{b}/topic/delete?topic=pre"), b"").0,
            200
        );
    })
    .await
    .unwrap();
    s.publish("pre", "y");
    assert_eq!(s.channel_stats("pre", "d").map(|c| c.depth), Some(1));
    assert_eq!(s.channel_stats("pre", "c").map(|c| c.depth), Some(1));
}

#[tokio::test]
async fn an_overlong_line_or_a_late_body_ends_the_connection() {
    let s = server().await;
    let mut c = Client::connect(&s).await;
    // Past nsqd's 16 KiB read buffer without a newline: `ReadSlice` fails, no frame.
    c.stream.write_all(&vec![b'N'; 16 * 1024]).await.unwrap();
    let end = tokio::time::timeout(SOON, c.frame()).await;
    assert_eq!(end, Ok(None), "closed without an error frame");
    // A PUB whose body never comes: the two-heartbeat read deadline covers it too.
    let mut c = Client::connect(&s).await;
    let _ = c.identify(r#"{"heartbeat_interval":1000}"#).await;
    c.send("PUB t").await;
    assert!(c.is_closed().await);
}

#[tokio::test]
async fn shutdown_closes_listeners_and_connections() {
    let s = server().await;
    let mut c = Client::sub(&s, "t", "c", 1).await;
    let (tcp, http) = (s.tcp_addr(), s.http_addr());
    s.shutdown().await;
    assert!(c.is_closed().await, "client connections are closed");
    assert!(
        TcpStream::connect(tcp).await.is_err(),
        "TCP listener closed"
    );
    assert!(
        TcpStream::connect(http).await.is_err(),
        "HTTP listener closed"
    );
}

#[tokio::test]
async fn sampling_takes_skipped_messages_off_the_channel() {
    let s = server().await;
    let mut c = Client::connect(&s).await;
    let _ = c.identify(r#"{"sample_rate":1}"#).await;
    c.send("SUB t c").await;
    assert_eq!(c.frame().await, Some(Frame::Response("OK".into())));
    c.send("RDY 1000").await;
    for i in 0..200 {
        s.publish("t", format!("m{i}"));
    }
    let got = c.frames_within(Duration::from_millis(500)).await.len();
    // About 2 % get through (nsqd: `rand.Int31n(100) > 1` skips); 50 would take a
    // miracle.
    assert!(got < 50, "{got} delivered");
    let ch = s.channel_stats("t", "c").unwrap();
    assert_eq!(ch.depth, 0, "skipped messages are gone, not queued");
    assert_eq!(ch.in_flight_count as usize, got);
}

#[tokio::test]
async fn error_texts_echo_the_clients_bytes_unchanged() {
    let s = server().await;
    let mut stream = TcpStream::connect(s.tcp_addr()).await.unwrap();
    stream.write_all(b"  V2BOGUS\xff\n").await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(SOON, stream.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got[8..], b"E_INVALID invalid command BOGUS\xff");
}

/// A graceful nsqd restart (`NSQD.Exit`, then a start with its metadata and disk
/// queues): clients are closed, connects refused while it is down, nsqlookupd drops
/// the producer; afterwards the channel holds its queued, in-flight and deferred
/// messages again, in `Channel.flush` order, with the attempts already counted.
#[tokio::test(flavor = "multi_thread")]
async fn graceful_restart_keeps_queued_in_flight_and_deferred_messages() {
    let s = server().await;
    let (tcp, http) = (s.tcp_addr(), s.http_addr());
    let lookup = format!("http://{}/lookup?topic=rt", s.lookupd_http_addr());
    let mut c = Client::sub(&s, "rt", "ch", 2).await;
    let mut e = Client::sub(&s, "rt", "gone#ephemeral", 0).await;
    for body in ["a", "b", "c"] {
        s.publish("rt", body);
    }
    let (att_a, _id_a, body_a) = c.message().await;
    let (_, id_b, body_b) = c.message().await;
    assert_eq!((att_a, &body_a[..], &body_b[..]), (1, &b"a"[..], &b"b"[..]));
    // b deferred for an hour, a stays in flight, c queued behind RDY 0.
    c.send("RDY 0").await;
    c.send(&format!("REQ {id_b} 3600000")).await;
    let deadline = tokio::time::Instant::now() + SOON;
    let before = loop {
        let st = s.channel_stats("rt", "ch").expect("channel");
        if st.deferred_count == 1 || tokio::time::Instant::now() > deadline {
            break st;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        (before.depth, before.in_flight_count, before.deferred_count),
        (1, 1, 1)
    );
    let (status, body) = tokio::task::spawn_blocking({
        let lookup = lookup.clone();
        move || http_get(&lookup)
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("\"tcp_port\":{}", tcp.port())),
        "{body}"
    );

    s.stop().await;
    assert!(!s.is_running().await);
    assert!(c.is_closed().await, "consumers are disconnected");
    assert!(e.is_closed().await);
    assert!(
        TcpStream::connect(tcp).await.is_err(),
        "TCP refused while down"
    );
    assert!(
        TcpStream::connect(http).await.is_err(),
        "HTTP refused while down"
    );
    let (status, body) = tokio::task::spawn_blocking({
        let lookup = lookup.clone();
        move || http_get(&lookup)
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "nsqlookupd keeps the registration");
    assert!(body.contains("\"producers\":[]"), "{body}");

    s.start_again().await.expect("same ports again");
    assert_eq!(s.tcp_addr(), tcp);
    let after = s.channel_stats("rt", "ch").expect("channel kept");
    assert_eq!(
        (
            after.depth,
            after.in_flight_count,
            after.deferred_count,
            after.message_count
        ),
        (3, 0, 0, 0),
        "everything back in the queue, counters new"
    );
    assert!(
        s.channel_stats("rt", "gone#ephemeral").is_none(),
        "ephemeral channels are not persisted"
    );
    let (status, body) = tokio::task::spawn_blocking(move || http_get(&lookup))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("\"tcp_port\":{}", tcp.port())),
        "{body}"
    );

    let mut c = Client::sub(&s, "rt", "ch", 3).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let (attempts, _, body) = c.message().await;
        got.push((String::from_utf8(body).unwrap(), attempts));
    }
    // Queue, then in flight, then deferred (ready at once: the deferral is not
    // persisted); each delivery counts one more attempt.
    assert_eq!(got, vec![("c".into(), 1), ("a".into(), 2), ("b".into(), 2)]);
}

/// `kill` models a crash: the topics and channels survive (nsqd's metadata file) but
/// the in-memory messages do not.
#[tokio::test(flavor = "multi_thread")]
async fn kill_loses_the_messages_but_not_the_channels() {
    let s = server().await;
    let mut c = Client::sub(&s, "kt", "ch", 1).await;
    s.publish("kt", "a");
    s.publish("kt", "b");
    let _ = c.message().await;
    s.kill().await;
    assert!(c.is_closed().await);
    s.start_again().await.expect("start again");
    let ch = s.channel_stats("kt", "ch").expect("channel kept");
    assert_eq!((ch.depth, ch.in_flight_count), (0, 0));
    s.publish("kt", "c");
    let mut c = Client::sub(&s, "kt", "ch", 1).await;
    let (attempts, _, body) = c.message().await;
    assert_eq!((attempts, &body[..]), (1, &b"c"[..]));
}

/// `restart` = stop + start_again; a FIN for a message of the old connection is
/// refused on the new one (the message is queued, not in flight).
#[tokio::test(flavor = "multi_thread")]
async fn restart_requires_a_new_connection_and_new_deliveries() {
    let s = server().await;
    let mut c = Client::sub(&s, "rs", "ch", 1).await;
    s.publish("rs", "a");
    let (_, id, _) = c.message().await;
    s.restart().await.expect("restart");
    assert!(c.is_closed().await);
    let mut c = Client::sub(&s, "rs", "ch", 0).await;
    c.send(&format!("FIN {id}")).await;
    assert_eq!(
        c.frame().await,
        Some(Frame::Error(format!(
            "E_FIN_FAILED FIN {id} failed ID not in flight"
        )))
    );
    c.send("RDY 1").await;
    let (attempts, id2, _) = c.message().await;
    assert_eq!((attempts, &id2), (2, &id), "same message, same id");
    c.send(&format!("FIN {id}")).await;
    c.send("NOP").await;
    assert!(c.frames_within(Duration::from_millis(200)).await.is_empty());
    assert_eq!(s.channel_stats("rs", "ch").unwrap().depth, 0);
}
