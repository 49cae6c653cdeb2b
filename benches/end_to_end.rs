//! One x-msrv run end to end, in process: M messages from the stand-in nsqd through
//! JSON parsing, schema validation and the Aerospike batch sink into the stand-in
//! Aerospike, each FIN'd after its write. Prints msg/s; not a test.
//!
//! `cargo bench --bench end_to_end [-- MESSAGES BATCH_SIZE]` (defaults 100000 500).
//! Both stand-ins share the two cores with x-msrv, so this is a floor: against real
//! servers on other hosts x-msrv has the machine to itself.

use std::path::Path;
use std::sync::Arc;

use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use devstack::nsqd::{NsqOptions, NsqServer};
use tokio_util::sync::CancellationToken;
use x_msrv::config::{self, Format};
use x_msrv::pipeline::outcome::Outcome;

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total = args.first().copied().unwrap_or(100_000);
    let batch = args.get(1).copied().unwrap_or(500);
    let nsq = NsqServer::start(NsqOptions::default())
        .await
        .expect("stand-in nsqd");
    let aero = AerospikeServer::start(AerospikeOptions::default())
        .await
        .expect("stand-in aerospike");
    for id in 0..total {
        nsq.publish(
            "bench",
            format!(r#"{{ "id": {id}, "msg": "Some message-{id}", "ext": [ {{"ext1": "xxx"}}, {{"ext2": 42}} ] }}"#),
        );
    }
    // The run keeps failed-write counts in its state directory: a temporary one, not the
    // machine's /var/lib/x-msrv.
    let state = tempfile::tempdir().expect("a temporary directory");
    let text = format!(
        r#"timeout = "120s"
state-directory = "{}"
[nsq]
nsqd = ["{}"]
topic = "bench"
max-messages = {total}
max-in-flight = 2500
[message]
schema = "etc/message.schema.json"
[aerospike]
hosts = ["{}"]
batch-size = {batch}
timeout = "5s"
"#,
        state.path().display(),
        nsq.tcp_addr(),
        aero.addr()
    );
    let settings = config::from_str(&text, Format::Toml, Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("config");
    let summary = x_msrv::run::run(Arc::new(settings), CancellationToken::new())
        .await
        .expect("run");
    let secs = summary.duration.as_secs_f64();
    println!(
        "end_to_end: {} stored of {total} in {secs:.3} s = {:.0} msg/s (batch-size {batch}, stop {}, records {})",
        summary.count(Outcome::Stored),
        summary.count(Outcome::Stored) as f64 / secs,
        summary.stop_reason,
        aero.record_count("test", "messages")
    );
}
