//! Throughput of x-msrv's NSQ client alone: receive + FIN of M messages from the stand-in
//! nsqd over loopback, settled in batches as the run loop does. Prints msg/s; not a test.
//!
//! `cargo bench --bench nsq_consume [-- MESSAGES BATCH]` (defaults 100000 500). The
//! stand-in shares the two cores with the consumer, so this is a floor, not a ceiling.

use std::time::{Duration, Instant};

use devstack::nsqd::{NsqOptions, NsqServer};
use nsq_exact::{Consumer, ConsumerOptions, NsqAddresses, Settle};

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total = args.first().copied().unwrap_or(100_000);
    let batch = args.get(1).copied().unwrap_or(500) as usize;
    let server = NsqServer::start(NsqOptions::default())
        .await
        .expect("stand-in nsqd");
    let body = br#"{ "id": 1, "msg": "Some message-1", "ext": [ {"ext1": "xxx"}, {"ext2": 42} ] }"#;
    for _ in 0..total {
        server.publish("bench", &body[..]);
    }
    let opts = ConsumerOptions::new(
        NsqAddresses::Nsqd(vec![server.tcp_addr().to_string()]),
        "bench",
        "bench",
        total,
    );
    let started = Instant::now();
    let mut consumer = Consumer::connect(opts).await.expect("subscribe");
    let mut done = 0u64;
    while done < total {
        let Ok(Some(first)) = tokio::time::timeout(Duration::from_secs(10), consumer.next()).await
        else {
            break;
        };
        let mut settle = vec![(first, Settle::Finish)];
        while settle.len() < batch {
            match consumer.try_next() {
                Some(m) => settle.push((m, Settle::Finish)),
                None => break,
            }
        }
        done += settle.len() as u64;
        nsq_exact::settle(settle).await.expect("settle");
    }
    let elapsed = started.elapsed();
    let stats = consumer.stats();
    consumer.close(Duration::from_secs(2)).await.expect("close");
    println!(
        "nsq_consume: {done} messages in {:.3} s = {:.0} msg/s (batch {batch}, over-limit {})",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        stats.over_limit_requeued
    );
}
