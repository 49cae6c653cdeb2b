//! The stand-in nsqd driven by a third-party client, the `tokio-nsq` crate: its
//! producer (PUB, MPUB, DPUB), its consumer over nsqlookupd discovery, FIN and REQ with
//! attempts counted, and its TLS (rustls 0.19), deflate, snappy and AUTH. What
//! tokio-nsq cannot express (exact RDY, CLS) is tested with raw frames in `nsqd.rs`
//! and `nsqd_features.rs`.

use std::collections::HashSet;
use std::time::Duration;

use devstack::nsqd::{AuthGrant, AuthServer, Authorization, NsqOptions, NsqServer, TlsRequired};
use devstack::tls::TestPki;
use tokio_nsq::{
    NSQChannel, NSQConfigShared, NSQConfigSharedCompression, NSQConfigSharedTLS, NSQConsumer,
    NSQConsumerConfig, NSQConsumerConfigSources, NSQConsumerLookupConfig, NSQDeflateLevel,
    NSQEvent, NSQMessage, NSQProducer, NSQProducerConfig, NSQRequeueDelay, NSQTopic,
};

/// Generous on a busy 2-core machine; every wait polls or awaits an event.
const SOON: Duration = Duration::from_secs(20);

async fn server() -> NsqServer {
    NsqServer::start(NsqOptions {
        // Small so a short burst is not held for 250 ms; the window still applies.
        output_buffer_timeout: Duration::from_millis(25),
        ..NsqOptions::default()
    })
    .await
    .expect("stand-in nsqd starts")
}

fn consumer(server: &NsqServer, topic: &str, channel: &str, max_in_flight: u32) -> NSQConsumer {
    let mut lookupds = HashSet::new();
    lookupds.insert(format!("http://{}", server.lookupd_http_addr()));
    NSQConsumerConfig::new(
        NSQTopic::new(topic).expect("valid topic"),
        NSQChannel::new(channel).expect("valid channel"),
    )
    .set_max_in_flight(max_in_flight)
    .set_sources(NSQConsumerConfigSources::Lookup(
        NSQConsumerLookupConfig::new()
            .set_poll_interval(Duration::from_millis(100))
            .set_addresses(lookupds),
    ))
    .build()
}

async fn next(c: &mut NSQConsumer) -> NSQMessage {
    tokio::time::timeout(SOON, c.consume_filtered())
        .await
        .expect("a message in time")
        .expect("consumer open")
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_nsq_publishes_and_consumes_through_nsqlookupd() {
    let s = server().await;
    let topic = NSQTopic::new("tn").unwrap();
    let mut producer = NSQProducerConfig::new(s.tcp_addr().to_string()).build();
    let healthy = tokio::time::timeout(SOON, producer.consume())
        .await
        .unwrap();
    assert!(matches!(healthy, Some(NSQEvent::Healthy())), "{healthy:?}");
    producer.publish(&topic, b"one".to_vec()).await.unwrap();
    producer
        .publish_multiple(&topic, vec![b"two".to_vec(), b"three".to_vec()])
        .await
        .unwrap();
    for _ in 0..2 {
        let ack = tokio::time::timeout(SOON, producer.consume())
            .await
            .unwrap();
        assert!(matches!(ack, Some(NSQEvent::Ok())), "{ack:?}");
    }
    // The topic holds the three until the consumer's channel exists.
    let mut c = consumer(&s, "tn", "ch", 10);
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let m = next(&mut c).await;
        assert_eq!(m.attempt, 1);
        bodies.push(String::from_utf8(m.body.clone()).unwrap());
        m.finish().await;
    }
    bodies.sort();
    assert_eq!(bodies, ["one", "three", "two"]);
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let ch = s.channel_stats("tn", "ch").expect("channel exists");
        if ch.in_flight_count == 0 && ch.depth == 0 {
            assert_eq!(ch.message_count, 3);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "FINs not seen: {ch:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_nsq_requeue_redelivers_with_attempts_counted() {
    let s = server().await;
    s.create_channel("tr", "ch");
    s.publish("tr", "again");
    let mut c = consumer(&s, "tr", "ch", 1);
    let m = next(&mut c).await;
    assert_eq!((m.attempt, m.body.as_slice()), (1, &b"again"[..]));
    m.requeue(NSQRequeueDelay::CustomDelay(Duration::from_millis(200)))
        .await;
    let m = next(&mut c).await;
    assert_eq!(m.attempt, 2, "every delivery counts");
    m.finish().await;
    let ch = s.channel_stats("tr", "ch").unwrap();
    assert_eq!(ch.requeue_count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_nsq_deferred_publish_waits() {
    let s = server().await;
    s.create_channel("td", "ch");
    let topic = NSQTopic::new("td").unwrap();
    let mut producer = NSQProducerConfig::new(s.tcp_addr().to_string()).build();
    let _ = tokio::time::timeout(SOON, producer.consume())
        .await
        .unwrap();
    producer
        .publish_deferred(&topic, b"later".to_vec(), 60_000)
        .await
        .unwrap();
    let ack = tokio::time::timeout(SOON, producer.consume())
        .await
        .unwrap();
    assert!(matches!(ack, Some(NSQEvent::Ok())), "{ack:?}");
    let ch = s.channel_stats("td", "ch").unwrap();
    assert_eq!((ch.deferred_count, ch.depth), (1, 0));
}

/// Publishes `bodies` and consumes them back, both with these connection options.
/// Publishes `bodies` and consumes them back, both with `shared`. Returns the producer,
/// still connected: nsqd's `/stats` lists a producer only while its connection is open,
/// so a caller that checks its entry keeps it until then.
async fn round_trip(
    s: &NsqServer,
    shared: NSQConfigShared,
    topic: &str,
    bodies: &[&str],
) -> (NSQProducer, NSQConsumer) {
    let t = NSQTopic::new(topic).unwrap();
    let mut producer = NSQProducerConfig::new(s.tcp_addr().to_string())
        .set_shared(shared.clone())
        .build();
    let healthy = tokio::time::timeout(SOON, producer.consume())
        .await
        .unwrap();
    assert!(matches!(healthy, Some(NSQEvent::Healthy())), "{healthy:?}");
    for b in bodies {
        producer.publish(&t, b.as_bytes().to_vec()).await.unwrap();
        let ack = tokio::time::timeout(SOON, producer.consume())
            .await
            .unwrap();
        assert!(matches!(ack, Some(NSQEvent::Ok())), "{ack:?}");
    }
    let mut c = NSQConsumerConfig::new(t, NSQChannel::new("ch").unwrap())
        .set_max_in_flight(10)
        .set_sources(NSQConsumerConfigSources::Daemons(vec![
            s.tcp_addr().to_string(),
        ]))
        .set_shared(shared)
        .build();
    let mut got = Vec::new();
    for _ in bodies {
        let m = next(&mut c).await;
        got.push(String::from_utf8(m.body.clone()).unwrap());
        m.finish().await;
    }
    got.sort();
    let mut want: Vec<String> = bodies.iter().map(|b| (*b).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
    // Both stay connected for the caller: nsqd lists a client in /stats only while it is
    // connected, and a dropped consumer's connection closes at a moment of its own.
    (producer, c)
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_nsq_over_tls_with_deflate_and_auth() {
    let pki = TestPki::generate().unwrap();
    let authd = AuthServer::start().await.unwrap();
    authd.grant(
        "tn-secret",
        AuthGrant::new(
            "tokio-nsq",
            vec![
                Authorization::publish("^tls-deflate$"),
                Authorization::subscribe("^tls-deflate$", &["^ch$"]),
            ],
        ),
    );
    let s = NsqServer::start(NsqOptions {
        tls_required: TlsRequired::Yes,
        auth_http_addresses: vec![authd.address()],
        output_buffer_timeout: Duration::from_millis(25),
        ..pki.nsqd_options()
    })
    .await
    .unwrap();
    let shared = NSQConfigShared::new()
        .set_tls(NSQConfigSharedTLS::new("localhost"))
        .set_compression(NSQConfigSharedCompression::Deflate(
            NSQDeflateLevel::new(3).unwrap(),
        ))
        .set_credentials(b"tn-secret".to_vec());
    let (_producer, _consumer) =
        round_trip(&s, shared, "tls-deflate", &["one", "two", "three"]).await;
    let asked = authd.requests();
    assert!(!asked.is_empty());
    assert!(
        asked
            .iter()
            .all(|r| r.tls.as_deref() == Some("true") && r.secret.as_deref() == Some("tn-secret"))
    );
    let st = s.stats();
    let producer = &st.producers.unwrap()[0];
    assert!(
        producer.tls && producer.deflate && producer.authed,
        "{producer:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tokio_nsq_with_snappy() {
    let s = server().await;
    let shared = NSQConfigShared::new().set_compression(NSQConfigSharedCompression::Snappy);
    let long = "x".repeat(100_000);
    let (_producer, _consumer) = round_trip(&s, shared, "snappy", &["a", "b", &long]).await;
    let ch = s.channel_stats("snappy", "ch").unwrap();
    assert!(ch.clients.unwrap()[0].snappy);
}
