//! The fault suite: the real `x-msrv` binary against the stand-ins, faults injected at
//! random moments, and after each scenario the invariant checked from the servers' own
//! state — every message published is in exactly one place (stored under its key, kept
//! in the rejected set, or on the dead-letter topic), nothing is in flight, nothing is
//! left queued or deferred.
//!
//! `cargo test --test faults` runs the quick mode (a few runs per scenario, part of
//! `make test`); `make faults` runs the long mode (`-- --long`: hundreds of runs). The
//! seed is printed first; `-- --seed N` repeats a run. A table of every scenario is
//! printed at the end; any lost, duplicated or stuck message fails the suite.
//!
//! Not a libtest harness (`harness = false`): the scenarios share one table and run one
//! after the other, since each measures a whole machine's worth of processes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    CHANNEL, ConfigFile, NAMESPACE, REJECTED, RUN_LIMIT, SET, SHIPPED_SCHEMA, list, quoted,
};
use devstack::aerospike::{AerospikeCluster, AerospikeClusterOptions, AerospikeServer};
use devstack::nsqd::{ChannelStats, NsqOptions, NsqServer};
use tokio::process::Child;

/// A channel of the dead-letter topic, made by the suite to read what arrives there.
const DEAD_CHECK: &str = "check";
/// Bound on one x-msrv run.
/// Drain runs after a scenario before what is left counts as stuck.
const MAX_DRAIN_RUNS: usize = 30;

/// xorshift64*: a few random timings from a printed seed, no dependency for it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One row of the table.
#[derive(Debug, Default, Clone)]
struct Row {
    scenario: &'static str,
    runs: u64,
    published: u64,
    stored: u64,
    invalid: u64,
    given_up: u64,
    dead_lettered: u64,
    lost: u64,
    duplicated: u64,
    stuck: u64,
}

impl Row {
    fn add(&mut self, other: &Row) {
        self.runs += other.runs;
        self.published += other.published;
        self.stored += other.stored;
        self.invalid += other.invalid;
        self.given_up += other.given_up;
        self.dead_lettered += other.dead_lettered;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.stuck += other.stuck;
    }
}

struct Stack {
    /// One nsqd, or several found through their nsqlookupd (`lookupd`).
    nsqds: Vec<NsqServer>,
    lookupd: bool,
    /// One node, or a two-node cluster.
    cluster: AerospikeCluster,
    dir: tempfile::TempDir,
    topic: String,
    /// Config lines every run of the scenario gets, drain runs included.
    always: Vec<String>,
    /// Bodies published: valid ones by id, invalid ones by body.
    valid: Vec<u64>,
    invalid: Vec<String>,
}

fn valid_message(id: u64) -> String {
    format!(r#"{{"id":{id},"msg":"Some message-{id}","ext":[{{"ext1":"xxx"}},{{"ext2":42}}]}}"#)
}

impl Stack {
    /// One nsqd, one Aerospike node.
    async fn start(topic: &str) -> Stack {
        Stack::start_with(topic, 1, 1).await
    }

    /// `nsqds` nsqd (more than one: found through their nsqlookupd) and an Aerospike
    /// cluster of `nodes`.
    async fn start_with(topic: &str, nsqds: usize, nodes: usize) -> Stack {
        let mut servers = Vec::new();
        for _ in 0..nsqds {
            let nsq = common::nsqd(NsqOptions {
                // Short, so messages of a killed run come back within the scenario.
                msg_timeout: Duration::from_secs(2),
                ..NsqOptions::default()
            })
            .await;
            nsq.create_channel(topic, CHANNEL);
            nsq.create_channel(&format!("{topic}.dead-letter"), DEAD_CHECK);
            servers.push(nsq);
        }
        let cluster = common::aerospike_cluster(AerospikeClusterOptions {
            nodes,
            replication_factor: nodes.min(2),
            ..AerospikeClusterOptions::default()
        })
        .await;
        Stack {
            nsqds: servers,
            lookupd: nsqds > 1,
            cluster,
            dir: common::test_dir(),
            topic: topic.to_owned(),
            always: Vec::new(),
            valid: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// The first (or only) nsqd.
    fn nsq(&self) -> &NsqServer {
        &self.nsqds[0]
    }

    /// The first (or only) Aerospike node.
    fn aero(&self) -> &AerospikeServer {
        self.cluster.node(0)
    }

    /// Publishes one body, spreading bodies over the nsqds in turn.
    fn publish_one(&self, body: String) {
        let n = self.valid.len() + self.invalid.len();
        self.nsqds[n % self.nsqds.len()].publish(&self.topic, body);
    }

    /// Publishes `valid` valid messages (ids from `first`) and `invalid` invalid ones.
    fn publish(&mut self, first: u64, valid: u64, invalid: u64) {
        for id in first..first + valid {
            self.publish_one(valid_message(id));
            self.valid.push(id);
        }
        for j in 0..invalid {
            let body = match j % 3 {
                0 => format!("not json {first}-{j}"),
                1 => format!(r#"{{"id":"x{first}-{j}"}}"#),
                _ => format!(r#"{{"id":{},"msg":7}}"#, 1_000_000 + first + j),
            };
            self.publish_one(body.clone());
            self.invalid.push(body);
        }
    }

    fn publish_bodies(&mut self, bodies: Vec<String>) {
        for b in bodies {
            self.publish_one(b.clone());
            self.invalid.push(b);
        }
    }

    fn config(&self, name: &str, n: u64, overrides: &[&str]) -> PathBuf {
        let mut file = ConfigFile::new(&self.dir.path().join("state"))
            .set("timeout", "\"20s\"")
            .set("grace", "\"2s\"")
            .set("nsq.nsqd", list(self.nsqds.iter().map(NsqServer::tcp_addr)))
            .set(
                "nsq.nsqd-http",
                list(self.nsqds.iter().map(NsqServer::http_addr)),
            )
            .set("nsq.topic", quoted(&self.topic))
            .set("nsq.channel", quoted(CHANNEL))
            .set("nsq.max-messages", n.to_string())
            .set("nsq.requeue-delay", "\"100ms\"")
            .set("nsq.max-requeue-delay", "\"300ms\"")
            .set("nsq.connect-timeout", "\"3s\"")
            .set("message.schema", quoted(SHIPPED_SCHEMA))
            .set("aerospike.hosts", list([self.cluster.seed_addr()]))
            .set("aerospike.namespace", quoted(NAMESPACE))
            .set("aerospike.set", quoted(SET))
            .set("aerospike.timeout", "\"2s\"")
            .set("aerospike.batch-size", "25")
            .set("rejected.set", quoted(REJECTED));
        if self.lookupd {
            let lookupd = self
                .nsqds
                .iter()
                .map(|n| format!("http://{}", n.lookupd_http_addr()));
            file = file
                .unset_prefix("nsq.nsqd")
                .set("nsq.lookupd", list(lookupd));
        }
        let always = self.always.iter().map(String::as_str);
        file.overrides(always.chain(overrides.iter().copied()))
            .write(&self.dir.path().join(format!("{name}.toml")))
    }

    fn spawn(&self, config: &Path) -> Child {
        common::command(config, &[])
            .env("RUST_LOG", "x_msrv=error")
            .spawn()
            .expect("x-msrv starts")
    }

    /// Runs x-msrv to its end; returns its exit code and summary line (JSON).
    async fn run(&self, config: &Path) -> (Option<i32>, String, String) {
        let out = common::finish(self.spawn(config)).await;
        (out.status.code(), out.stdout, out.stderr)
    }

    /// The scenario's channel on every nsqd.
    fn channels(&self) -> impl Iterator<Item = ChannelStats> + '_ {
        self.nsqds
            .iter()
            .filter_map(|n| n.channel_stats(&self.topic, CHANNEL))
    }

    /// Messages still queued, deferred or in flight, over every nsqd.
    fn left(&self) -> u64 {
        self.channels()
            .map(|c| c.depth + c.deferred_count + c.in_flight_count)
            .sum()
    }

    /// A random moment of a run, up to `max_ms` after it has messages in flight
    /// (waiting for those at most 10 s).
    async fn at_random_moment(&self, rng: &mut Rng, max_ms: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.channels().all(|c| c.in_flight_count == 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(rng.millis(max_ms)).await;
    }

    /// Delays every AS_MSG answer of every Aerospike node (`None` clears it).
    fn set_delay(&self, d: Option<Duration>) {
        for node in self.cluster.nodes() {
            node.set_delay(d);
        }
    }

    /// Clean runs until nothing is left in the channel (messages of a killed run come
    /// back after msg_timeout, requeued ones after their delay).
    async fn drain(&self, row: &mut Row) {
        let config = self.config("drain", 100_000, &["timeout = \"3s\""]);
        for _ in 0..MAX_DRAIN_RUNS {
            if self.left() == 0 {
                return;
            }
            let (code, stdout, stderr) = self.run(&config).await;
            row.runs += 1;
            assert!(
                matches!(code, Some(0 | 75)),
                "drain run exited {code:?}: {stdout}\n{stderr}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fills in what the servers hold against what was published.
    fn check(&self, row: &mut Row) {
        // The runs of the scenario include some not awaited through the harness.
        common::assert_machine_state_untouched();
        let mut places: BTreeMap<String, u64> = BTreeMap::new();
        let mut stored = 0;
        for r in self.cluster.records(NAMESPACE, SET) {
            let id = r.key.as_ref().and_then(serde_json::Value::as_u64);
            let id = id.unwrap_or_else(|| panic!("a stored record without an integer key: {r:?}"));
            *places.entry(valid_message(id)).or_default() += 1;
            stored += 1;
        }
        for r in self.cluster.records(NAMESPACE, REJECTED) {
            let body = r
                .bins
                .get("body")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let reason = r
                .bins
                .get("reason")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            if reason.starts_with("not stored after") {
                row.given_up += 1;
            } else {
                row.invalid += 1;
            }
            *places.entry(body.to_owned()).or_default() += 1;
        }
        let dead_topic = format!("{}.dead-letter", self.topic);
        for m in self
            .nsqds
            .iter()
            .flat_map(|n| n.messages(&dead_topic, DEAD_CHECK))
        {
            *places
                .entry(String::from_utf8_lossy(&m.body).into_owned())
                .or_default() += 1;
            row.dead_lettered += 1;
        }
        row.stored += stored;
        let published: Vec<String> = self
            .valid
            .iter()
            .map(|id| valid_message(*id))
            .chain(self.invalid.iter().cloned())
            .collect();
        row.published += published.len() as u64;
        tally(&places, &published, row);
        row.stuck += self.left();
    }

    /// The end of a scenario that made `runs` runs: drain, check, stop the stand-ins.
    async fn finish(self, runs: u64) -> Row {
        let mut row = Row {
            runs,
            ..Row::default()
        };
        self.drain(&mut row).await;
        self.check(&mut row);
        self.stop().await;
        row
    }

    async fn stop(self) {
        for n in self.nsqds {
            n.shutdown().await;
        }
        for node in self.cluster.nodes() {
            node.stop().await;
        }
    }
}

/// Lost (in no place) and duplicated (in more than one) among what was published,
/// from how many places hold each.
fn tally(places: &BTreeMap<String, u64>, published: &[String], row: &mut Row) {
    for name in published {
        match places.get(name).copied().unwrap_or(0) {
            0 => row.lost += 1,
            1 => {}
            n => row.duplicated += n - 1,
        }
    }
}

fn signal(child: &Child, sig: &str) {
    // Already over (and reaped): nothing to signal.
    let Some(pid) = child.id().map(|p| p.to_string()) else {
        return;
    };
    let _ = std::process::Command::new("kill")
        .args([sig, pid.as_str()])
        .status();
}

/// SIGTERM (or SIGKILL) at a random moment of a run over a slow store.
async fn signal_at_random(rng: &mut Rng, sig: &str) -> Row {
    let mut stack = Stack::start("sig").await;
    stack.publish(0, 150, 15);
    // 7 batches of 25, 2 at a time, each 50-100 ms in the store: a run of a few
    // hundred ms; the signal comes at a random moment once messages are in flight.
    stack.set_delay(Some(Duration::from_millis(50) + rng.millis(50)));
    let config = stack.config("sig", 165, &[]);
    let mut child = stack.spawn(&config);
    stack.at_random_moment(rng, 300).await;
    signal(&child, sig);
    let _ = tokio::time::timeout(RUN_LIMIT, child.wait()).await;
    stack.set_delay(None);
    stack.finish(1).await
}

/// Aerospike failing every write for a random while (transient DEVICE_OVERLOAD), runs
/// going on meanwhile; messages requeued, then stored once it is back.
async fn store_outage(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("outage").await;
    stack.publish(0, 80, 8);
    stack.aero().fail_with(Some(18));
    let config = stack.config("outage", 40, &[]);
    let runs = 1 + rng.below(2);
    for _ in 0..runs {
        let (code, stdout, _) = stack.run(&config).await;
        assert_eq!(code, Some(75), "{stdout}");
    }
    stack.aero().fail_with(None);
    stack.finish(runs).await
}

/// Every write failing for good, the rejected set's included: each message is tried
/// `max-attempts` times, then dead-lettered; none loops.
async fn nothing_writable() -> Row {
    let mut stack = Stack::start("nowrite").await;
    stack.publish(0, 10, 5);
    stack.aero().fail_with(Some(18));
    stack.finish(0).await
}

/// A store slower than nsqd's msg_timeout: nsqd times the messages out and redelivers
/// them, the late FIN gets E_FIN_FAILED, and the run goes on.
async fn slower_than_msg_timeout(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("late").await;
    stack.publish(0, 30, 3);
    stack.set_delay(Some(Duration::from_millis(1200 + rng.below(600))));
    let config = stack.config(
        "late",
        33,
        &[
            "nsq.msg-timeout = \"1s\"",
            "aerospike.timeout = \"4s\"",
            "timeout = \"6s\"",
        ],
    );
    let (code, stdout, stderr) = stack.run(&config).await;
    assert!(matches!(code, Some(0 | 75)), "{code:?} {stdout} {stderr}");
    stack.set_delay(None);
    stack.finish(1).await
}

/// Two x-msrv on one channel at once, each with N = half.
async fn two_at_once(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("two").await;
    stack.publish(0, 200, 10);
    stack.set_delay(Some(rng.millis(10)));
    let config = stack.config("two", 105, &[]);
    let (a, b) = (stack.spawn(&config), stack.spawn(&config));
    let (a, b) = tokio::join!(a.wait_with_output(), b.wait_with_output());
    for out in [a.unwrap(), b.unwrap()] {
        assert_eq!(out.status.code(), Some(0), "{:?}", out);
    }
    stack.set_delay(None);
    stack.finish(2).await
}

/// nsqd sending past the RDY window: the extra messages are requeued unprocessed.
async fn over_delivery(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("over").await;
    stack.publish(0, 60, 0);
    stack.nsq().over_deliver(1 + rng.below(5));
    let config = stack.config("over", 20, &[]);
    let (code, stdout, _) = stack.run(&config).await;
    assert_eq!(code, Some(0), "{stdout}");
    stack.finish(1).await
}

/// A run that outlasts `timeout` with messages in hand.
async fn outlasts_timeout(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("tmo").await;
    stack.publish(0, 100, 5);
    stack.set_delay(Some(Duration::from_millis(50 + rng.below(100))));
    let config = stack.config("tmo", 105, &["timeout = \"300ms\"", "grace = \"100ms\""]);
    let (code, stdout, stderr) = stack.run(&config).await;
    assert!(matches!(code, Some(0 | 75)), "{code:?} {stdout} {stderr}");
    stack.set_delay(None);
    stack.finish(1).await
}

/// Transient result codes the data set answers with: DEVICE_OVERLOAD, KEY_BUSY,
/// SERVER_MEM_ERROR, TIMEOUT.
const TRANSIENT_CODES: [u8; 4] = [18, 14, 8, 9];

/// The data set failing for good (a transient code, or its commands held in the
/// server's queue past the client's timeout) while the rejected set works: each valid
/// message is tried `max-attempts` times, then kept in the rejected set as given up
/// with the reason; the invalid ones are kept as before. (A write that times out but
/// is applied, late, is in doubt: given up after `max-attempts` it would also be
/// stored. That is the README's "in doubt" case, not this scenario.)
async fn data_set_failing(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("dataset").await;
    stack.always = vec!["nsq.max-attempts = 3".to_owned()];
    stack.publish(0, 30, 6);
    if rng.below(3) == 0 {
        // Queued past `aerospike.timeout`: every write of the set times out unwritten.
        stack
            .aero()
            .stall_set(SET, Some(Duration::from_millis(2300 + rng.below(500))));
    } else {
        let code = rng.pick(&TRANSIENT_CODES);
        stack.aero().fail_set(SET, Some(code));
    }
    stack.finish(0).await
}

/// The rejected set failing for good: valid messages are stored, each invalid one is
/// tried `max-attempts` times, then published to the dead-letter topic; none loops.
async fn rejected_set_failing(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("rejset").await;
    stack.always = vec!["nsq.max-attempts = 3".to_owned()];
    stack.publish(0, 30, 9);
    let code = rng.pick(&TRANSIENT_CODES);
    stack.aero().fail_set(REJECTED, Some(code));
    stack.finish(0).await
}

/// One node of a two-node cluster stopped at a random moment of a run, then
/// started again after a random while; the run and the drain runs after it go on
/// against what is left of the cluster.
async fn cluster_node_down(rng: &mut Rng) -> Row {
    let mut stack = Stack::start_with("node", 1, 2).await;
    stack.publish(0, 150, 15);
    stack.set_delay(Some(Duration::from_millis(30) + rng.millis(40)));
    let config = stack.config("node", 165, &[]);
    let mut child = stack.spawn(&config);
    stack.at_random_moment(rng, 300).await;
    let victim = stack.cluster.node(rng.below(2) as usize);
    victim.stop().await;
    tokio::time::sleep(Duration::from_millis(200) + rng.millis(2000)).await;
    victim.restart().await;
    let _ = tokio::time::timeout(RUN_LIMIT, child.wait()).await;
    stack.set_delay(None);
    stack.finish(1).await
}

/// nsqd restarted (a graceful stop, then a start on the same ports) at a random
/// moment of a run: connections drop, what was in flight is kept by nsqd and comes
/// back; the run ends, the drain runs find the rest.
async fn nsqd_restart(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("restart").await;
    stack.publish(0, 150, 15);
    stack.set_delay(Some(Duration::from_millis(30) + rng.millis(40)));
    let config = stack.config("restart", 165, &[]);
    let mut child = stack.spawn(&config);
    stack.at_random_moment(rng, 300).await;
    stack.nsq().stop().await;
    tokio::time::sleep(rng.millis(500)).await;
    stack.nsq().start_again().await.expect("nsqd starts again");
    let status = tokio::time::timeout(RUN_LIMIT, child.wait())
        .await
        .expect("x-msrv ends in time")
        .unwrap();
    assert!(
        matches!(status.code(), Some(0 | 69 | 75)),
        "x-msrv exited {status:?} after an nsqd restart"
    );
    stack.set_delay(None);
    stack.finish(1).await
}

/// Two nsqd found through their nsqlookupd, two x-msrv at once, each with N a random
/// part of what is queued: together they take all of it, nothing twice.
async fn two_nsqd_through_lookupd(rng: &mut Rng) -> Row {
    let mut stack = Stack::start_with("pair", 2, 1).await;
    stack.publish(0, 200, 10);
    stack.set_delay(Some(rng.millis(10)));
    let first = 60 + rng.below(90);
    let (a, b) = (
        stack.spawn(&stack.config("pair-a", first, &[])),
        stack.spawn(&stack.config("pair-b", 210 - first, &[])),
    );
    let (a, b) = tokio::join!(a.wait_with_output(), b.wait_with_output());
    for out in [a.unwrap(), b.unwrap()] {
        assert_eq!(out.status.code(), Some(0), "{:?}", out);
    }
    stack.set_delay(None);
    stack.finish(2).await
}

/// The regression corpus of hostile bodies (`fuzz/corpus/record/`: not JSON, BOM, bad
/// UTF-8, NaN, nesting at the parser's limit, huge numbers, odd keys and bin names,
/// schema violations, ...) mixed in random order with valid messages, under a random
/// SIGTERM, then drained. Keyed by `nsq-id`, every message's place is known from
/// nsqd's id and timestamp: exactly one record, stored or kept, under `<id>-<ts>`.
async fn hostile_bodies(rng: &mut Rng) -> Row {
    let mut stack = Stack::start("hostile").await;
    stack.always = vec!["message.key = \"nsq-id\"".to_owned()];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/record");
    let mut bodies: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("the corpus")
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        // nsqd refuses an empty body and one past --max-msg-size at PUB.
        .filter(|b| !b.is_empty() && b.len() <= 1024 * 1024)
        .chain((0..20).map(|id| valid_message(id).into_bytes()))
        .collect();
    for i in (1..bodies.len()).rev() {
        bodies.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for body in &bodies {
        stack.nsq().publish(&stack.topic, body.clone());
    }
    // Where each message must end up: its nsqd id and timestamp.
    let published: Vec<String> = stack
        .nsq()
        .messages(&stack.topic, CHANNEL)
        .iter()
        .map(|m| format!("{}-{}", m.id, m.timestamp))
        .collect();
    assert_eq!(published.len(), bodies.len(), "nsqd queued every body");
    stack.set_delay(Some(Duration::from_millis(20) + rng.millis(30)));
    let config = stack.config(
        "hostile",
        bodies.len() as u64,
        &["aerospike.batch-size = 10"],
    );
    let mut child = stack.spawn(&config);
    if rng.below(2) == 0 {
        stack.at_random_moment(rng, 200).await;
        signal(&child, "-TERM");
    }
    let _ = tokio::time::timeout(RUN_LIMIT, child.wait()).await;
    stack.set_delay(None);
    let mut row = Row {
        runs: 1,
        published: published.len() as u64,
        ..Row::default()
    };
    stack.drain(&mut row).await;
    let mut places: BTreeMap<String, u64> = BTreeMap::new();
    for (set, count) in [(SET, &mut row.stored), (REJECTED, &mut row.invalid)] {
        for r in stack.cluster.records(NAMESPACE, set) {
            let key = r.key.as_ref().and_then(serde_json::Value::as_str);
            let key = key.unwrap_or_else(|| panic!("a record keyed other than by nsq-id: {r:?}"));
            *places.entry(key.to_owned()).or_default() += 1;
            *count += 1;
        }
    }
    tally(&places, &published, &mut row);
    row.stuck += stack.left();
    stack.stop().await;
    row
}

/// Several versions of each record, published in random order, under the ordering guard
/// (`message.version`), with a SIGTERM or SIGKILL at a random moment, then drained: each
/// record must end holding its newest version, however its messages were redelivered.
/// A record left at an older version counts as lost (its newest message was dropped, or
/// overwritten by an older one).
async fn versions_out_of_order(rng: &mut Rng) -> Row {
    const KEYS: u64 = 10;
    const VERSIONS: u64 = 8;
    let mut stack = Stack::start("versions").await;
    // The shipped schema allows no extra field; the version rides in `ext`.
    stack.always = vec!["message.version = \"/ext/0/v\"".to_owned()];
    let versioned = |id: u64, v: u64| format!(r#"{{"id":{id},"msg":"v{v}","ext":[{{"v":{v}}}]}}"#);
    let mut bodies: Vec<String> = (0..KEYS)
        .flat_map(|id| (1..=VERSIONS).map(move |v| (id, v)))
        .map(|(id, v)| versioned(id, v))
        .collect();
    for i in (1..bodies.len()).rev() {
        bodies.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for body in &bodies {
        stack.nsq().publish(&stack.topic, body.clone());
    }
    stack.set_delay(Some(Duration::from_millis(20) + rng.millis(30)));
    let config = stack.config(
        "versions",
        bodies.len() as u64,
        &["aerospike.batch-size = 10"],
    );
    let mut child = stack.spawn(&config);
    stack.at_random_moment(rng, 300).await;
    signal(&child, if rng.below(2) == 0 { "-TERM" } else { "-KILL" });
    let _ = tokio::time::timeout(RUN_LIMIT, child.wait()).await;
    stack.set_delay(None);
    let mut row = Row {
        runs: 1,
        published: bodies.len() as u64,
        ..Row::default()
    };
    stack.drain(&mut row).await;
    let records = stack.cluster.records(NAMESPACE, SET);
    row.stored += records.len() as u64;
    row.invalid += stack.cluster.record_count(NAMESPACE, REJECTED) as u64;
    for id in 0..KEYS {
        let newest = records
            .iter()
            .find(|r| r.key.as_ref().and_then(serde_json::Value::as_u64) == Some(id));
        let holds = newest.and_then(|r| r.bins.get("version").and_then(serde_json::Value::as_u64));
        let msg = newest.and_then(|r| r.bins.get("msg").and_then(serde_json::Value::as_str));
        if holds != Some(VERSIONS) || msg != Some(&format!("v{VERSIONS}")) {
            row.lost += 1;
        }
    }
    row.stuck += stack.left();
    stack.stop().await;
    row
}

/// Messages near nsqd's 1 MiB limit: valid ones stored, an oversized record kept cut.
async fn near_the_size_limit() -> Row {
    let mut stack = Stack::start("big").await;
    // 60 KiB strings: within the shipped schema's 64 KiB msg limit.
    for id in 0..3u64 {
        let body = format!(
            r#"{{"id":{id},"msg":"big","ext":[{}]}}"#,
            vec![format!(r#"{{"d":"{}"}}"#, "x".repeat(60_000)); 16].join(",")
        );
        stack.nsq().publish("big", body);
    }
    let huge = format!(r#"{{"id":9,"msg":"{}"}}"#, "y".repeat(1_000_000));
    stack.publish_bodies(vec![huge]);
    let mut row = Row::default();
    stack.drain(&mut row).await;
    // The big valid ones are stored under their id; count them as published valid.
    let stored: Vec<u64> = stack
        .cluster
        .records(NAMESPACE, SET)
        .iter()
        .filter_map(|r| r.key.as_ref().and_then(serde_json::Value::as_u64))
        .collect();
    row.published += 4;
    row.stored += stored.len() as u64;
    let kept = stack.cluster.record_count(NAMESPACE, REJECTED) as u64;
    row.invalid += kept;
    let accounted = stored.len() as u64 + kept;
    row.lost += 4u64.saturating_sub(accounted);
    row.duplicated += accounted.saturating_sub(4);
    row.stuck += stack.left();
    stack.stop().await;
    row
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    // libtest's own flags (from `cargo test`) are accepted and ignored.
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let long = args.iter().any(|a| a == "--long");
    let seed = args
        .iter()
        .position(|a| a == "--seed")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!(
        "fault suite, {} mode, seed {seed} (repeat with: cargo test --test faults -- {}--seed {seed})",
        if long { "long" } else { "quick" },
        if long { "--long " } else { "" }
    );
    let mut rng = Rng(seed);
    let reps = |quick: u64, long_reps: u64| if long { long_reps } else { quick };
    let started = Instant::now();
    let mut rows: Vec<Row> = Vec::new();

    macro_rules! scenario {
        ($name:expr, $reps:expr, $body:expr) => {{
            let mut total = Row {
                scenario: $name,
                ..Row::default()
            };
            for _ in 0..$reps {
                let row = $body;
                total.add(&row);
            }
            println!("  {:<28} done ({} runs)", $name, total.runs);
            rows.push(total);
        }};
    }

    scenario!(
        "SIGTERM at random",
        reps(3, 200),
        signal_at_random(&mut rng, "-TERM").await
    );
    scenario!(
        "SIGKILL at random",
        reps(2, 100),
        signal_at_random(&mut rng, "-KILL").await
    );
    scenario!(
        "store outage, then back",
        reps(2, 30),
        store_outage(&mut rng).await
    );
    scenario!("nothing writable", reps(1, 10), nothing_writable().await);
    scenario!(
        "data set failing",
        reps(1, 15),
        data_set_failing(&mut rng).await
    );
    scenario!(
        "rejected set failing",
        reps(1, 10),
        rejected_set_failing(&mut rng).await
    );
    scenario!(
        "cluster node down, back",
        reps(1, 20),
        cluster_node_down(&mut rng).await
    );
    scenario!("nsqd restarted", reps(1, 20), nsqd_restart(&mut rng).await);
    scenario!(
        "two nsqd via nsqlookupd",
        reps(1, 20),
        two_nsqd_through_lookupd(&mut rng).await
    );
    scenario!(
        "store slower than msg-timeout",
        reps(1, 10),
        slower_than_msg_timeout(&mut rng).await
    );
    scenario!(
        "two x-msrv on one channel",
        reps(2, 30),
        two_at_once(&mut rng).await
    );
    scenario!(
        "nsqd over-delivering",
        reps(2, 30),
        over_delivery(&mut rng).await
    );
    scenario!(
        "run outlasts timeout",
        reps(2, 30),
        outlasts_timeout(&mut rng).await
    );
    scenario!(
        "versions out of order",
        reps(2, 25),
        versions_out_of_order(&mut rng).await
    );
    scenario!(
        "hostile bodies (corpus)",
        reps(1, 20),
        hostile_bodies(&mut rng).await
    );
    scenario!(
        "messages near 1 MiB",
        reps(1, 5),
        near_the_size_limit().await
    );

    println!();
    println!(
        "| scenario | runs | published | stored | kept invalid | given up | dead-lettered | lost | duplicated | stuck |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut bad = false;
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.runs,
            r.published,
            r.stored,
            r.invalid,
            r.given_up,
            r.dead_lettered,
            r.lost,
            r.duplicated,
            r.stuck
        );
        bad |= r.lost + r.duplicated + r.stuck > 0;
    }
    println!("\nseed {seed}, {:.0} s", started.elapsed().as_secs_f64());
    if bad {
        eprintln!("fault suite: messages lost, duplicated or stuck (see the table)");
        std::process::exit(1);
    }
}
