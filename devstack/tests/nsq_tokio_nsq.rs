//! The stand-in nsqd driven by a third-party client, the `tokio-nsq` crate: its
//! producer (PUB, MPUB, DPUB), its consumer over nsqlookupd discovery, FIN and REQ with
//! attempts counted. What tokio-nsq cannot express (exact RDY, CLS) is tested with raw
//! frames in `nsqd.rs`.

use std::collections::HashSet;
use std::time::Duration;

use devstack::nsqd::{NsqOptions, NsqServer};
use tokio_nsq::{
    NSQChannel, NSQConsumer, NSQConsumerConfig, NSQConsumerConfigSources, NSQConsumerLookupConfig,
    NSQEvent, NSQMessage, NSQProducerConfig, NSQRequeueDelay, NSQTopic,
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
