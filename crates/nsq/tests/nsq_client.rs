//! x-msrv's NSQ client against the stand-in nsqd over real sockets: the at-most-N rule,
//! settlement, requeue on drop, CLS, heartbeats, nsqlookupd discovery and failures.

use std::time::Duration;

use devstack::nsqd::{NsqOptions, NsqServer};
use nsq_exact::{Consumer, ConsumerOptions, NsqAddresses, NsqError, Settle};

/// Generous bound for anything that should happen "soon" on a busy 2-core machine.
const SOON: Duration = Duration::from_secs(10);

async fn nsqd() -> NsqServer {
    NsqServer::start(NsqOptions::default())
        .await
        .expect("stand-in nsqd starts")
}

fn options(server: &NsqServer, topic: &str, n: u64) -> ConsumerOptions {
    ConsumerOptions::new(
        NsqAddresses::Nsqd(vec![server.tcp_addr().to_string()]),
        topic,
        "x-msrv",
        n,
    )
}

fn publish(server: &NsqServer, topic: &str, count: usize) {
    for i in 0..count {
        server.publish(topic, format!("{{\"id\":{i}}}"));
    }
}

/// Receives until `n` messages arrived or nothing more comes for `quiet`, settling every
/// received message with FIN in batches of `batch`.
async fn drain(consumer: &mut Consumer, batch: usize, quiet: Duration) -> usize {
    let mut got = 0;
    let mut pending = Vec::new();
    loop {
        match tokio::time::timeout(quiet, consumer.next()).await {
            Ok(Some(m)) => {
                got += 1;
                pending.push((m, Settle::Finish));
                if pending.len() >= batch {
                    nsq_exact::settle(std::mem::take(&mut pending))
                        .await
                        .unwrap();
                }
            }
            Ok(None) | Err(_) => {
                if pending.is_empty() {
                    return got;
                }
                nsq_exact::settle(std::mem::take(&mut pending))
                    .await
                    .unwrap();
            }
        }
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SOON;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn takes_exactly_n_from_a_deeper_queue_without_extras() {
    for (n, batch, max_in_flight) in [(37u64, 5usize, 1000u32), (37, 1, 8), (100, 64, 25)] {
        let server = nsqd().await;
        publish(&server, "deep", 150);
        let mut opts = options(&server, "deep", n);
        opts.max_in_flight = max_in_flight;
        let mut consumer = Consumer::connect(opts).await.unwrap();
        let got = drain(&mut consumer, batch, Duration::from_millis(500)).await;
        let stats = consumer.stats();
        assert_eq!(got as u64, n, "batch={batch} mif={max_in_flight}");
        assert_eq!(stats.received, n);
        assert_eq!(stats.finished, n);
        assert_eq!(
            stats.over_limit_requeued, 0,
            "one nsqd must never send past N"
        );
        consumer.close(Duration::from_secs(2)).await.unwrap();
        let ch = server
            .channel_stats("deep", "x-msrv")
            .expect("channel exists");
        assert_eq!(ch.depth, 150 - n, "the rest stays queued");
        assert_eq!(ch.in_flight_count, 0);
        assert_eq!(ch.requeue_count, 0);
    }
}

#[tokio::test]
async fn messages_forced_past_n_are_requeued_unprocessed() {
    let server = nsqd().await;
    publish(&server, "forced", 30);
    server.over_deliver(5);
    let mut consumer = Consumer::connect(options(&server, "forced", 10))
        .await
        .unwrap();
    let got = drain(&mut consumer, 3, Duration::from_millis(500)).await;
    let stats = consumer.stats();
    assert_eq!(got, 10);
    assert_eq!(stats.received, 10);
    assert_eq!(stats.over_limit_requeued, 5);
    consumer.close(Duration::from_secs(2)).await.unwrap();
    let ch = server.channel_stats("forced", "x-msrv").unwrap();
    assert_eq!(ch.depth, 20, "the forced extras are back in the queue");
    assert_eq!(ch.requeue_count, 5);
    let requeued = server
        .messages("forced", "x-msrv")
        .into_iter()
        .filter(|m| m.attempts > 0)
        .count();
    assert_eq!(
        requeued, 5,
        "each forced extra was delivered once, then requeued"
    );
}

#[tokio::test]
async fn req_with_delay_redelivers_with_attempts_counted() {
    let server = nsqd().await;
    publish(&server, "retry", 1);
    let mut consumer = Consumer::connect(options(&server, "retry", 2))
        .await
        .unwrap();
    let first = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.attempts, 1);
    let id = first.id;
    nsq_exact::settle(vec![(first, Settle::Requeue(Duration::from_millis(200)))])
        .await
        .unwrap();
    let again = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, id);
    assert_eq!(again.attempts, 2);
    nsq_exact::settle(vec![(again, Settle::Finish)])
        .await
        .unwrap();
    let stats = consumer.stats();
    assert_eq!((stats.received, stats.finished, stats.requeued), (2, 1, 1));
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(server.channel_stats("retry", "x-msrv").unwrap().depth, 0);
}

#[tokio::test]
async fn a_dropped_message_goes_back_at_once() {
    let server = nsqd().await;
    publish(&server, "dropped", 1);
    let mut consumer = Consumer::connect(options(&server, "dropped", 5))
        .await
        .unwrap();
    let msg = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    let id = msg.id;
    drop(msg);
    // Long before nsqd's 60 s msg_timeout: the drop sent REQ 0.
    let again = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, id);
    assert_eq!(again.attempts, 2);
    nsq_exact::settle(vec![(again, Settle::Finish)])
        .await
        .unwrap();
    consumer.close(Duration::from_secs(2)).await.unwrap();
}

#[tokio::test]
async fn close_requeues_what_was_never_taken_and_leaves_nothing_in_flight() {
    let server = nsqd().await;
    publish(&server, "closing", 20);
    let mut consumer = Consumer::connect(options(&server, "closing", 20))
        .await
        .unwrap();
    let first = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    nsq_exact::settle(vec![(first, Settle::Finish)])
        .await
        .unwrap();
    wait_until("messages buffered", || {
        server
            .channel_stats("closing", "x-msrv")
            .is_some_and(|c| c.in_flight_count > 0)
    })
    .await;
    let started = std::time::Instant::now();
    consumer.close(Duration::from_secs(5)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "CLOSE_WAIT answered well inside the grace"
    );
    wait_until("client gone", || {
        server
            .channel_stats("closing", "x-msrv")
            .is_some_and(|c| c.client_count == 0)
    })
    .await;
    let ch = server.channel_stats("closing", "x-msrv").unwrap();
    assert_eq!(ch.in_flight_count, 0);
    assert_eq!(ch.depth, 19, "everything not finished is back in the queue");
}

#[tokio::test]
async fn heartbeats_are_answered() {
    let server = NsqServer::start(NsqOptions {
        heartbeat_interval: Duration::from_secs(1),
        ..NsqOptions::default()
    })
    .await
    .unwrap();
    let mut opts = options(&server, "idle", 1);
    opts.heartbeat_interval = Duration::from_secs(1);
    let mut consumer = Consumer::connect(opts).await.unwrap();
    // Several intervals with no traffic but heartbeats: nsqd drops a client that misses two.
    assert!(
        tokio::time::timeout(Duration::from_millis(3500), consumer.next())
            .await
            .is_err()
    );
    assert_eq!(consumer.stats().connections, 1);
    server.publish("idle", "late");
    let msg = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&msg.body[..], b"late");
    nsq_exact::settle(vec![(msg, Settle::Finish)])
        .await
        .unwrap();
    consumer.close(Duration::from_secs(2)).await.unwrap();
}

#[tokio::test]
async fn nsqlookupd_finds_the_producer() {
    let server = nsqd().await;
    publish(&server, "found", 3);
    let lookupd = format!("http://{}", server.lookupd_http_addr());
    let opts = ConsumerOptions::new(
        NsqAddresses::Lookupd(vec![lookupd.clone()]),
        "found",
        "x-msrv",
        3,
    );
    let mut consumer = Consumer::connect(opts).await.unwrap();
    assert_eq!(drain(&mut consumer, 3, Duration::from_millis(500)).await, 3);
    consumer.close(Duration::from_secs(2)).await.unwrap();

    // A topic nobody produces yet: nothing to consume, which is not an error.
    let opts = ConsumerOptions::new(NsqAddresses::Lookupd(vec![lookupd]), "nobody", "x-msrv", 3);
    let mut consumer = Consumer::connect(opts).await.unwrap();
    assert!(
        tokio::time::timeout(SOON, consumer.next())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_lost_connection_ends_the_stream() {
    let server = nsqd().await;
    publish(&server, "lost", 1);
    let mut consumer = Consumer::connect(options(&server, "lost", 10))
        .await
        .unwrap();
    let msg = tokio::time::timeout(SOON, consumer.next())
        .await
        .unwrap()
        .unwrap();
    server.drop_clients();
    assert!(
        tokio::time::timeout(SOON, consumer.next())
            .await
            .unwrap()
            .is_none()
    );
    // Settling on a dead connection reports it; nsqd redelivers at msg_timeout.
    let err = nsq_exact::settle(vec![(msg, Settle::Finish)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, NsqError::Closed { .. } | NsqError::Io { .. }),
        "{err}"
    );
    assert_eq!(consumer.stats().connections, 0);
    consumer.close(Duration::from_millis(100)).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_nsqd_is_named_in_the_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap().to_string();
    drop(unused);
    let opts = ConsumerOptions::new(NsqAddresses::Nsqd(vec![addr.clone()]), "t", "c", 1);
    let err = Consumer::connect(opts)
        .await
        .err()
        .expect("nothing listens there");
    assert!(err.to_string().contains(&addr), "{err}");
}

#[tokio::test]
async fn bad_names_are_refused_before_connecting() {
    let opts = ConsumerOptions::new(
        NsqAddresses::Nsqd(vec!["127.0.0.1:1".into()]),
        "bad topic",
        "c",
        1,
    );
    let err = Consumer::connect(opts).await.err().unwrap();
    assert!(matches!(err, NsqError::Options(_)), "{err}");
}

#[tokio::test]
async fn several_nsqd_share_n_between_them() {
    let (a, b) = (nsqd().await, nsqd().await);
    publish(&a, "split", 50);
    publish(&b, "split", 50);
    let addrs = vec![a.tcp_addr().to_string(), b.tcp_addr().to_string()];
    let opts = ConsumerOptions::new(NsqAddresses::Nsqd(addrs), "split", "x-msrv", 31);
    let mut consumer = Consumer::connect(opts).await.unwrap();
    assert_eq!(consumer.stats().connections, 2);
    let got = drain(&mut consumer, 4, Duration::from_millis(500)).await;
    let stats = consumer.stats();
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(got, 31);
    assert_eq!(
        stats.over_limit_requeued, 0,
        "the shares add up to N, so neither nsqd sends more"
    );
    let left = |s: &NsqServer| s.channel_stats("split", "x-msrv").unwrap().depth;
    assert_eq!(left(&a) + left(&b), 100 - 31);
    assert!(
        left(&a) < 50 && left(&b) < 50,
        "both nsqd were consumed from"
    );
}

#[tokio::test]
async fn an_idle_nsqd_gives_its_share_to_a_busy_one() {
    let (a, b) = (nsqd().await, nsqd().await);
    publish(&a, "lopsided", 50);
    b.create_topic("lopsided");
    let addrs = vec![a.tcp_addr().to_string(), b.tcp_addr().to_string()];
    let opts = ConsumerOptions::new(NsqAddresses::Nsqd(addrs), "lopsided", "x-msrv", 30);
    let mut consumer = Consumer::connect(opts).await.unwrap();
    // Without moving shares, nsqd `a` would stop at its half of N (15).
    let got = drain(&mut consumer, 4, nsq_exact::REBALANCE_IDLE * 4).await;
    let stats = consumer.stats();
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(got, 30);
    assert_eq!(stats.received, 30);
    assert_eq!(a.channel_stats("lopsided", "x-msrv").unwrap().depth, 20);
}

#[tokio::test]
async fn a_lost_nsqd_hands_its_share_on_after_an_unreachable_one() {
    let (a, b) = (nsqd().await, nsqd().await);
    a.create_topic("heir");
    publish(&b, "heir", 50);
    // The first address refuses, so the two live connections are the 2nd and 3rd of the
    // list: their place in the accounting is not their place among the live ones.
    let addrs = vec![
        "127.0.0.1:1".to_owned(),
        a.tcp_addr().to_string(),
        b.tcp_addr().to_string(),
    ];
    let opts = ConsumerOptions::new(NsqAddresses::Nsqd(addrs), "heir", "x-msrv", 30);
    let mut consumer = Consumer::connect(opts).await.unwrap();
    assert_eq!(consumer.stats().connections, 2);
    // b's half of N, taken and finished at once (long before a counts as idle).
    let mut half = Vec::new();
    while half.len() < 15 {
        let msg = tokio::time::timeout(SOON, consumer.next())
            .await
            .expect("b delivers its half")
            .expect("a message");
        half.push((msg, Settle::Finish));
    }
    nsq_exact::settle(half).await.unwrap();
    // a goes away holding the other half. b inherits it and has nothing left to settle,
    // so only a RDY written to b on a's loss lets the rest through.
    a.drop_clients();
    let rest = drain(&mut consumer, 4, nsq_exact::REBALANCE_IDLE * 4).await;
    let stats = consumer.stats();
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(15 + rest, 30, "b took a's share after a was lost");
    assert_eq!(stats.over_limit_requeued, 0);
    assert_eq!(b.channel_stats("heir", "x-msrv").unwrap().depth, 20);
}

/// Two stand-in nsqd, `a` empty and `b` holding `held` messages of `topic`, and a
/// consumer of both with N = `n` that knows their HTTP addresses (or, without
/// `stats`, is given addresses where nothing answers).
async fn one_empty_one_holding(
    topic: &str,
    held: usize,
    n: u64,
    stats: bool,
) -> (NsqServer, NsqServer, Consumer) {
    let (a, b) = (nsqd().await, nsqd().await);
    a.create_topic(topic);
    publish(&b, topic, held);
    let addrs = vec![a.tcp_addr().to_string(), b.tcp_addr().to_string()];
    let mut opts = ConsumerOptions::new(NsqAddresses::Nsqd(addrs), topic, "x-msrv", n);
    opts.nsqd_http = if stats {
        vec![a.http_addr().to_string(), b.http_addr().to_string()]
    } else {
        vec!["127.0.0.1:1".into(), "127.0.0.1:1".into()]
    };
    let consumer = Consumer::connect(opts).await.unwrap();
    (a, b, consumer)
}

#[tokio::test]
async fn n_is_split_by_what_each_nsqd_holds() {
    let (_a, b, mut consumer) = one_empty_one_holding("bydepth", 50, 30, true).await;
    // Everything comes at once from b: nothing waits for an idle share to move (a quiet
    // spell shorter than REBALANCE_IDLE ends the drain; an even split would stop at 15).
    let got = drain(&mut consumer, 4, nsq_exact::REBALANCE_IDLE / 2).await;
    let stats = consumer.stats();
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(got, 30);
    assert_eq!(stats.over_limit_requeued, 0);
    assert_eq!(b.channel_stats("bydepth", "x-msrv").unwrap().depth, 20);
}

#[tokio::test]
async fn one_message_on_the_second_nsqd_is_taken_at_once() {
    let (_a, b, mut consumer) = one_empty_one_holding("second", 1, 1, true).await;
    let got = drain(&mut consumer, 1, nsq_exact::REBALANCE_IDLE / 2).await;
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        got, 1,
        "the share of N was on the nsqd that has the message"
    );
    assert_eq!(b.channel_stats("second", "x-msrv").unwrap().depth, 0);
}

#[tokio::test]
async fn an_unreadable_depth_falls_back_to_the_idle_rebalancing() {
    // No /stats answers: the split is even, and a's idle share moves to b.
    let (_a, _b, mut consumer) = one_empty_one_holding("nostats", 50, 30, false).await;
    let got = drain(&mut consumer, 4, nsq_exact::REBALANCE_IDLE * 4).await;
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(got, 30);
}

#[tokio::test]
async fn the_byte_bound_holds_back_what_nsqd_sends() {
    let server = nsqd().await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000));
    for _ in 0..20 {
        server.publish("bytes", body.clone());
    }
    let mut opts = options(&server, "bytes", 20);
    opts.max_in_flight_bytes = 250_000;
    let mut consumer = Consumer::connect(opts).await.unwrap();
    let first = tokio::time::timeout(SOON, consumer.next())
        .await
        .expect("a message")
        .expect("a message");
    // Nothing settled: 2 of 100 kB in hand (250 kB bound), and nsqd sends no more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let in_flight = server
        .channel_stats("bytes", "x-msrv")
        .unwrap()
        .in_flight_count;
    assert_eq!(
        in_flight, 2,
        "nsqd has sent what fits in the bound, nothing more"
    );
    assert_eq!(consumer.stats().received, 2);
    nsq_exact::settle(vec![(first, Settle::Finish)])
        .await
        .unwrap();
    let rest = drain(&mut consumer, 1, SOON / 4).await;
    let stats = consumer.stats();
    consumer.close(Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        1 + rest,
        20,
        "every message came, a window of the bound at a time"
    );
    assert_eq!(stats.over_limit_requeued, 0);
    assert_eq!(server.channel_stats("bytes", "x-msrv").unwrap().depth, 0);
}
