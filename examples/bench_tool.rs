//! The two ceilings `make bench` holds x-msrv against, measured on the same messages
//! through the same servers (not a test; `scripts/bench` drives it):
//!
//! - `drain --nsqd ADDR --topic T --count K`: a minimal NSQ consumer, receive + FIN and
//!   nothing else (x-msrv's own client, RDY = max-in-flight, FIN in batches as they come);
//! - `write --aerospike ADDR --file F --count K [--batch B]`: the records of the first K
//!   messages of F (one JSON message a line), built before the clock starts, then batch
//!   written with the official client exactly as x-msrv writes them (create-or-replace,
//!   key sent, B rows a batch, as many batches in flight as x-msrv).
//!
//! Each prints one line, `SECONDS COUNT`, the time from the first request to the last
//! answer.
//!
//! And the launcher the x-msrv runs are measured with: `measure --out FILE -- PROGRAM
//! ARGS...` runs PROGRAM with its stdout in FILE and prints `WALL_SECONDS CPU_SECONDS
//! PEAK_RSS_KIB EXIT_CODE` for that child alone. A small launcher, because a child's peak
//! RSS counts the memory it had before `exec` (a fork of the launcher): measured from
//! Python it would read Python's ~20 MB, not x-msrv's.

use std::time::{Duration, Instant};

use futures::StreamExt;

use aerospike::{
    BatchOperation, BatchPolicy, BatchWritePolicy, Client, ClientPolicy, Key, RecordExistsAction,
    operations,
};
use nsq::{Consumer, ConsumerOptions, MessageId, NsqAddresses, Settle};
use x_msrv::pipeline::record::{RecordKey, RecordRules, SchemaValidator};

const NAMESPACE: &str = "test";
const SET: &str = "ceiling";
/// Batches in flight at once: x-msrv's own `MAX_CONCURRENT_BATCHES`.
const CONCURRENT_BATCHES: usize = 4;
/// Records built ahead of the writes at a time.
const RECORDS_PER_BLOCK: usize = 20_000;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn required(args: &[String], name: &str) -> String {
    arg(args, name).unwrap_or_else(|| panic!("bench_tool: {name} is required"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("measure") {
        measure(&args);
        return;
    }
    let count: u64 = required(&args, "--count").parse().expect("--count K");
    let (secs, done) = match args.first().map(String::as_str) {
        Some("drain") => {
            drain(
                &required(&args, "--nsqd"),
                &required(&args, "--topic"),
                count,
            )
            .await
        }
        Some("write") => {
            let batch = arg(&args, "--batch").map_or(500, |b| b.parse().expect("--batch B"));
            write(
                &required(&args, "--aerospike"),
                &required(&args, "--file"),
                count,
                batch,
            )
            .await
        }
        _ => panic!("usage: bench_tool drain|write ... (see the module doc)"),
    };
    println!("{secs:.6} {done}");
}

async fn drain(nsqd: &str, topic: &str, count: u64) -> (f64, u64) {
    let mut opts = ConsumerOptions::new(
        NsqAddresses::Nsqd(vec![nsqd.to_owned()]),
        topic,
        "ceiling",
        count,
    );
    opts.max_in_flight = 2500;
    let started = Instant::now();
    let mut consumer = Consumer::connect(opts).await.expect("subscribe");
    let mut done = 0u64;
    while done < count {
        let Ok(Some(first)) = tokio::time::timeout(Duration::from_secs(10), consumer.next()).await
        else {
            break;
        };
        let mut settle = vec![(first, Settle::Finish)];
        while let Some(m) = consumer.try_next() {
            settle.push((m, Settle::Finish));
        }
        done += settle.len() as u64;
        nsq::settle(settle).await.expect("settle");
    }
    let secs = started.elapsed().as_secs_f64();
    consumer.close(Duration::from_secs(2)).await.expect("close");
    (secs, done)
}

async fn write(aerospike: &str, file: &str, count: u64, batch: usize) -> (f64, u64) {
    let text = std::fs::read_to_string(file).expect("read the messages");
    let schema =
        SchemaValidator::from_value(&serde_json::json!({"type": "object"})).expect("a schema");
    let rules = RecordRules::new(schema, RecordKey::pointer("/id").expect("a pointer"));
    let id = MessageId(*b"0000000000000000");
    let client = Client::new(&ClientPolicy::default(), &aerospike.to_owned())
        .await
        .expect("connect to Aerospike");
    let policy = BatchPolicy::write_default();
    let write_policy = BatchWritePolicy {
        record_exists_action: RecordExistsAction::Replace,
        send_key: true,
        ..BatchWritePolicy::default()
    };
    let lines: Vec<&str> = text.lines().take(count as usize).collect();
    let mut timed = Duration::ZERO;
    let mut done = 0u64;
    // Records are built a block at a time, off the clock: all of a million built at
    // once would cost the writes cache misses that x-msrv, with its bounded window,
    // never has.
    for block in lines.chunks(RECORDS_PER_BLOCK) {
        let records: Vec<_> = block
            .iter()
            .map(|l| {
                rules
                    .to_record(l.as_bytes(), &id, 0)
                    .expect("a storable message")
            })
            .collect();
        let started = Instant::now();
        // As many batches in flight as x-msrv keeps, so the ceiling is not a sequential one.
        done += futures::stream::iter(records.chunks(batch))
            .map(|chunk| {
                let (client, policy, write_policy) = (&client, &policy, &write_policy);
                async move {
                    let mut ops: Vec<_> = chunk
                        .iter()
                        .map(|r| {
                            let key = Key::new(NAMESPACE.to_owned(), SET.to_owned(), r.key.clone())
                                .expect("a key");
                            let bins: Vec<_> = r.bins.iter().map(operations::put).collect();
                            BatchOperation::write(write_policy, key, bins)
                        })
                        .collect();
                    client.batch(policy, &mut ops).await.expect("batch write");
                    chunk.len() as u64
                }
            })
            .buffer_unordered(CONCURRENT_BATCHES)
            .fold(0, |sum, n| async move { sum + n })
            .await;
        timed += started.elapsed();
    }
    let _ = client.close().await;
    (timed.as_secs_f64(), done)
}

fn measure(args: &[String]) {
    use nix::sys::resource::{UsageWho, getrusage};
    let out = required(args, "--out");
    let split = args
        .iter()
        .position(|a| a == "--")
        .expect("measure --out FILE -- PROGRAM ARGS...");
    let (program, rest) = args[split + 1..].split_first().expect("a program");
    let stdout = std::fs::File::create(&out).expect("create the output file");
    let started = Instant::now();
    let status = std::process::Command::new(program)
        .args(rest)
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .status()
        .expect("run the program");
    let wall = started.elapsed().as_secs_f64();
    // The only child this process has had, so the children's figures are its own.
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    println!(
        "{wall:.6} {:.6} {} {}",
        secs(usage.user_time()) + secs(usage.system_time()),
        usage.max_rss(),
        status.code().unwrap_or(-1)
    );
}
