//! `x-msrv serve`, the long-lived mode, end to end: the real binary against the
//! stand-ins, a batch every `nsq.period`, with nsqd's `/stats` and the stored records as
//! the evidence (exact N per batch, nothing in flight and `RDY 0` between batches, the
//! same connection kept), and the faults a long-lived process meets: an nsqd that goes
//! away, an Aerospike restart, SIGTERM in the middle of a batch; and reloads (SIGHUP: a
//! new N, a new schema, a bad config refused). The systemd side (the notify protocol) is
//! checked here against a socket of the test's own.

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use devstack::nsqd::NsqOptions;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::common::*;

/// How long a test waits for one batch's summary.
const BATCH_WAIT: Duration = Duration::from_secs(30);

/// A running `x-msrv serve`, its stdout read a batch summary at a time.
struct Serving {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Serving {
    fn start(config: &std::path::Path) -> Serving {
        Self::start_with(config, &[])
    }

    fn start_with(config: &std::path::Path, env: &[(&str, &str)]) -> Serving {
        let mut cmd = command(config, &["serve"]);
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("x-msrv serve starts");
        let stdout = child.stdout.take().unwrap();
        Serving {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next batch's summary (the JSON line `--summary-json` prints per batch).
    async fn batch(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(BATCH_WAIT, self.lines.next_line())
            .await
            .expect("a batch summary in time")
            .unwrap()
            .expect("serve still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// SIGTERM, then the exit code and the summaries printed after the last one read.
    async fn stop(mut self) -> (i32, Vec<serde_json::Value>, String) {
        signal(self.pid(), "TERM");
        let mut rest = Vec::new();
        while let Ok(Some(line)) = tokio::time::timeout(RUN_LIMIT, self.lines.next_line())
            .await
            .expect("serve stops in time")
        {
            rest.push(serde_json::from_str(&line).unwrap());
        }
        let out = tokio::time::timeout(RUN_LIMIT, self.child.wait_with_output())
            .await
            .expect("serve exits in time")
            .unwrap();
        (
            out.status.code().expect("exited, not killed"),
            rest,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn count(summary: &serde_json::Value, field: &str) -> u64 {
    summary[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {summary}"))
}

/// The one client of the channel: its connection time, `RDY` and in-flight count.
fn client(stack: &Stack, topic: &str) -> (i64, i64, i64) {
    let ch = stack
        .nsq
        .channel_stats(topic, CHANNEL)
        .expect("the channel");
    let clients = ch.clients.unwrap_or_default();
    assert_eq!(clients.len(), 1, "one connection: {clients:?}");
    let c = &clients[0];
    (c.connect_ts, c.ready_count, c.in_flight_count)
}

/// systemd's side of `$NOTIFY_SOCKET`: a datagram socket of the test's own, read on a
/// thread of its own as systemd does, at once (a datagram socket's queue is short, 10
/// by default, and sd_notify's send blocks while it is full). Each message is kept as
/// its lines (`READY=1`, `STATUS=...`).
struct NotifySocket {
    path: std::path::PathBuf,
    received: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl NotifySocket {
    fn bind(stack: &Stack) -> NotifySocket {
        let path = stack.dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let received = Arc::clone(&received);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    if text == "END" {
                        break;
                    }
                    let mut got = received.lock().unwrap();
                    got.extend(text.lines().map(str::to_owned));
                }
            })
        };
        NotifySocket {
            path,
            received,
            reader,
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// What came since the last drain.
    fn drain(&self) -> Vec<String> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }

    /// Waits (at most `limit`) until what came since the last drain has a line that
    /// starts with `prefix`; then drains it.
    async fn drain_until(&self, prefix: &str, limit: Duration) -> Vec<String> {
        wait_until(prefix, limit, || {
            self.received
                .lock()
                .unwrap()
                .iter()
                .any(|m| m.starts_with(prefix))
        })
        .await;
        self.drain()
    }

    /// Stops the reader; what came since the last drain.
    fn close(self) -> Vec<String> {
        UnixDatagram::unbound()
            .unwrap()
            .send_to(b"END", &self.path)
            .unwrap();
        self.reader.join().unwrap();
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

#[tokio::test]
async fn serve_takes_exactly_n_per_period_holding_nothing_between_batches() {
    let stack = Stack::start().await;
    stack.publish_valid("periodic", 0..45);
    let period = Duration::from_millis(1500);
    // Heartbeats every second, pauses of over a second between batches: a connection
    // that did not answer them in the pause would be closed by nsqd (and by x-msrv's own
    // silence check), and the connection time below would change.
    let config = stack.config(
        "periodic",
        10,
        &["nsq.period = \"1500ms\"", "nsq.heartbeat-interval = \"1s\""],
    );
    let mut serve = Serving::start(&config);
    let mut connected = None;
    let mut starts = Vec::new();
    for k in 1..=4u64 {
        let b = serve.batch().await;
        starts.push(Instant::now());
        assert_eq!(b["stop_reason"], "done", "{b}");
        assert_eq!(count(&b, "received"), 10, "{b}");
        assert_eq!(count(&b, "stored"), 10, "{b}");
        assert_eq!(count(&b, "over_limit"), 0, "{b}");
        assert_eq!(count(&b, "requeued") + count(&b, "returned"), 0, "{b}");
        // Between batches: paused, not gone. Nothing in flight, RDY 0, the same socket.
        // (The FINs were written before the summary; nsqd reads them a moment later.)
        wait_until("nothing in flight", Duration::from_secs(1), || {
            client(&stack, "periodic").2 == 0
        })
        .await;
        let (ts, rdy, in_flight) = client(&stack, "periodic");
        assert_eq!((rdy, in_flight), (0, 0), "after batch {k}");
        assert_eq!(*connected.get_or_insert(ts), ts, "the connection was kept");
        assert_eq!(stack.aero.record_count(NAMESPACE, SET), 10 * k as usize);
        assert_eq!(stack.depth("periodic"), 45 - 10 * k);
        // Over a heartbeat interval into the pause, still the same connection.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (ts, rdy, in_flight) = client(&stack, "periodic");
        assert_eq!((ts, rdy, in_flight), (connected.unwrap(), 0, 0));
    }
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= period - Duration::from_millis(300),
            "batches {gap:?} apart, the period is {period:?}"
        );
    }
    // The fifth batch takes the 5 left and ends idle, its queue drained.
    let b = serve.batch().await;
    assert_eq!(
        (count(&b, "stored"), b["stop_reason"].as_str()),
        (5, Some("idle"))
    );
    let (code, rest, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(rest.iter().all(|b| count(b, "received") == 0), "{rest:?}");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 45);
    let ch = stack.nsq.channel_stats("periodic", CHANNEL).unwrap();
    assert_eq!(
        (
            ch.depth,
            ch.in_flight_count,
            ch.requeue_count,
            ch.client_count
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(stderr.matches("batch finished:").count(), 5 + rest.len());
}

#[tokio::test]
async fn serve_takes_exactly_n_per_batch_over_two_nsqd() {
    let stack = Stack::start().await;
    let second = nsqd(NsqOptions::default()).await;
    // 12 at one, 8 at the other (ids apart): each batch splits N by what each holds.
    for (nsq, ids) in [(&stack.nsq, 0..12u64), (&second, 100..108)] {
        for id in ids {
            nsq.publish("two", valid_message(id));
        }
    }
    let both = format!(
        "nsq.nsqd = [\"{}\", \"{}\"]",
        stack.nsq.tcp_addr(),
        second.tcp_addr()
    );
    let both_http = format!(
        "nsq.nsqd-http = [\"{}\", \"{}\"]",
        stack.nsq.http_addr(),
        second.http_addr()
    );
    let config = stack.config("two", 6, &[&both, &both_http, "nsq.period = \"1s\""]);
    let mut serve = Serving::start(&config);
    for k in 1..=3u64 {
        let b = serve.batch().await;
        assert_eq!(b["stop_reason"], "done", "{b}");
        assert_eq!(count(&b, "stored"), 6, "{b}");
        assert_eq!(count(&b, "over_limit"), 0, "{b}");
        assert_eq!(stack.aero.record_count(NAMESPACE, SET), 6 * k as usize);
    }
    let b = serve.batch().await;
    assert_eq!(count(&b, "stored"), 2, "{b}");
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 20);
    for nsq in [&stack.nsq, &second] {
        let ch = nsq.channel_stats("two", CHANNEL).unwrap();
        assert_eq!((ch.depth, ch.in_flight_count, ch.requeue_count), (0, 0, 0));
    }
    second.shutdown().await;
}

#[tokio::test]
async fn serve_connects_again_after_nsqd_goes_away() {
    let stack = Stack::start().await;
    stack.publish_valid("nsqd-drop", 0..30);
    let config = stack.config("nsqd-drop", 10, &["nsq.period = \"1s\""]);
    let mut serve = Serving::start(&config);
    let first = serve.batch().await;
    assert_eq!(count(&first, "stored"), 10, "{first}");
    // Gone while serve waits between batches, its messages kept (a graceful exit). The
    // summary line is printed once the FINs are written, not once nsqd has read them
    // (FIN has no reply): an nsqd stopped before then keeps those 10 in flight and sends
    // them again (stored again under the same keys), so wait for nsqd to have them.
    wait_until("the first batch's FINs in nsqd", RUN_LIMIT, || {
        stack
            .nsq
            .channel_stats("nsqd-drop", CHANNEL)
            .is_some_and(|c| c.in_flight_count == 0 && c.depth == 20)
    })
    .await;
    stack.nsq.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stack.nsq.start_again().await.unwrap();
    let mut stored = 10;
    while stored < 30 {
        let b = serve.batch().await;
        assert!(count(&b, "received") <= 10, "{b}");
        assert_eq!(count(&b, "over_limit"), 0, "{b}");
        stored += count(&b, "stored");
    }
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("an nsqd connection was lost; connecting again"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot connect; trying again"), "{stderr}");
    assert_eq!(stored, 30);
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 30, "each once");
    let ch = stack.nsq.channel_stats("nsqd-drop", CHANNEL).unwrap();
    assert_eq!((ch.depth, ch.in_flight_count), (0, 0));
}

#[tokio::test]
async fn an_nsqd_gone_in_the_middle_of_a_batch_loses_nothing() {
    let stack = Stack::start().await;
    stack.publish_valid("nsqd-mid", 0..30);
    stack.aero.set_delay(Some(Duration::from_millis(200)));
    let config = stack.config(
        "nsqd-mid",
        20,
        &["nsq.period = \"1s\"", "aerospike.batch-size = 2"],
    );
    let mut serve = Serving::start(&config);
    wait_until("messages in flight", RUN_LIMIT, || {
        stack
            .nsq
            .channel_stats("nsqd-mid", CHANNEL)
            .is_some_and(|c| c.in_flight_count > 0)
    })
    .await;
    // nsqd exits with messages in flight to serve: it keeps them (a graceful exit), and
    // the FINs of what serve stores meanwhile are lost with the connection.
    stack.nsq.stop().await;
    let cut = serve.batch().await;
    assert_eq!(cut["stop_reason"], "consumer-closed", "{cut}");
    stack.aero.set_delay(None);
    stack.nsq.start_again().await.unwrap();
    wait_until("every message stored", RUN_LIMIT, || {
        stack.aero.record_count(NAMESPACE, SET) == 30
            && stack
                .nsq
                .channel_stats("nsqd-mid", CHANNEL)
                .is_some_and(|c| c.depth == 0 && c.in_flight_count == 0)
    })
    .await;
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 30);
}

#[tokio::test]
async fn serve_connects_again_after_an_aerospike_restart() {
    let stack = Stack::start().await;
    stack.publish_valid("aero-restart", 0..30);
    let config = stack.config(
        "aero-restart",
        10,
        &["nsq.period = \"1s\"", "aerospike.timeout = \"500ms\""],
    );
    let mut serve = Serving::start(&config);
    let first = serve.batch().await;
    assert_eq!(count(&first, "stored"), 10, "{first}");
    stack.aero.stop().await;
    // The next batch cannot store: what it took goes back to NSQ, and it stops.
    let failed = serve.batch().await;
    assert_eq!(failed["stop_reason"], "store-unavailable", "{failed}");
    assert_eq!(count(&failed, "stored"), 0, "{failed}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.aero.restart().await;
    let mut stored = 10;
    let deadline = Instant::now() + RUN_LIMIT;
    while stored < 30 {
        assert!(
            Instant::now() < deadline,
            "not all stored after the restart"
        );
        let b = serve.batch().await;
        assert!(count(&b, "received") <= 10, "{b}");
        stored += count(&b, "stored");
    }
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stored, 30);
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 30, "each once");
    let ch = stack.nsq.channel_stats("aero-restart", CHANNEL).unwrap();
    assert_eq!((ch.depth, ch.in_flight_count), (0, 0));
}

#[tokio::test]
async fn sigterm_in_the_middle_of_a_batch_loses_nothing() {
    let stack = Stack::start().await;
    stack.publish_valid("serve-term", 0..40);
    // Each write takes 300 ms: the first batch is still storing when SIGTERM comes.
    stack.aero.set_delay(Some(Duration::from_millis(300)));
    let config = stack.config(
        "serve-term",
        20,
        &["nsq.period = \"1s\"", "aerospike.batch-size = 2"],
    );
    let serve = Serving::start(&config);
    wait_until("messages in flight", RUN_LIMIT, || {
        stack
            .nsq
            .channel_stats("serve-term", CHANNEL)
            .is_some_and(|c| c.in_flight_count > 0)
    })
    .await;
    let (code, batches, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    let [b] = &batches[..] else {
        panic!("one batch summary: {batches:?}\n{stderr}")
    };
    assert_eq!(b["stop_reason"], "signal", "{b}");
    let stored = count(b, "stored");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET) as u64, stored);
    assert_eq!(
        count(b, "received"),
        stored + count(b, "returned"),
        "every message taken was stored or handed back: {b}"
    );
    let ch = stack.nsq.channel_stats("serve-term", CHANNEL).unwrap();
    assert_eq!(ch.in_flight_count, 0, "nothing left in flight");
    assert_eq!(ch.depth, 40 - stored, "the rest is back in the queue");
    // A run afterwards takes the rest: each message stored once, none lost.
    stack.aero.set_delay(None);
    let out = run(&stack.config("serve-term", 100, &[]), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 40);
}

#[tokio::test]
async fn serve_speaks_the_systemd_notify_protocol() {
    let stack = Stack::start().await;
    stack.publish_valid("notify", 0..5);
    let notify = NotifySocket::bind(&stack);
    let config = stack.config("notify", 10, &["nsq.period = \"1s\""]);
    let mut serve = Serving::start_with(
        &config,
        &[
            ("NOTIFY_SOCKET", notify.path()),
            // 400 ms: a ping every 200 ms.
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let b = serve.batch().await;
    assert_eq!(count(&b, "stored"), 5, "{b}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_stop = notify.drain();
    // SIGTERM in the middle of a (slow) batch: STOPPING=1 must come as the signal does,
    // before the batch in progress has ended and reported.
    stack.aero.set_delay(Some(Duration::from_millis(1000)));
    stack.publish_valid("notify", 5..8);
    wait_until("messages in flight", RUN_LIMIT, || {
        stack
            .nsq
            .channel_stats("notify", CHANNEL)
            .is_some_and(|c| c.in_flight_count > 0)
    })
    .await;
    // nsqd counts a message in flight as it sends it; give x-msrv the moment to take
    // it, so the signal finds it in the store (1 s a write).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (code, rest, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        rest.iter().any(|b| count(b, "received") > 0),
        "SIGTERM came while the batch held messages: {rest:?}"
    );
    let after_stop = notify.close();

    let ready = before_stop
        .iter()
        .filter(|m| m.as_str() == "READY=1")
        .count();
    assert_eq!(ready, 1, "READY=1 once: {before_stop:?}");
    let pings = before_stop
        .iter()
        .filter(|m| m.as_str() == "WATCHDOG=1")
        .count();
    assert!(pings >= 4, "a watchdog ping every 200 ms: {before_stop:?}");
    assert!(
        before_stop
            .iter()
            .any(|m| m.starts_with("STATUS=last batch ok: received=5 stored=5")),
        "{before_stop:?}"
    );
    let statuses: Vec<&String> = before_stop
        .iter()
        .filter(|m| m.starts_with("STATUS="))
        .collect();
    assert_eq!(
        statuses.first().map(|m| m.as_str()),
        Some("STATUS=started; no batch finished yet"),
        "a status from the start, before any batch has ended: {before_stop:?}"
    );
    let position = |prefix: &str, contains: &str| {
        after_stop
            .iter()
            .position(|m| m.starts_with(prefix) && m.contains(contains))
            .unwrap_or_else(|| panic!("no {prefix}..{contains}: {after_stop:?}"))
    };
    assert!(
        position("STOPPING=1", "") < position("STATUS=", "stop_reason=signal"),
        "STOPPING=1 as the signal comes, before the stopped batch reports: {after_stop:?}"
    );
}

/// The schema the tests ship, with `note` allowed besides `id`, `msg` and `ext`.
fn schema_with_note() -> String {
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SHIPPED_SCHEMA).unwrap()).unwrap();
    schema["properties"]["note"] = serde_json::json!({ "type": "string" });
    schema.to_string()
}

/// A message the shipped schema rejects (`note` is not one of its fields).
fn message_with_note(id: u64) -> String {
    format!(r#"{{ "id": {id}, "msg": "Some message-{id}", "note": "new field" }}"#)
}

/// Waits for nsqd to hold `depth` messages of the channel and none in flight: the last
/// batch's FINs are read (FIN has no reply; the summary is printed once they are written).
async fn settled_at(stack: &Stack, topic: &str, depth: u64) {
    wait_until(
        &format!("depth {depth}, nothing in flight"),
        RUN_LIMIT,
        || {
            stack
                .nsq
                .channel_stats(topic, CHANNEL)
                .is_some_and(|c| c.depth == depth && c.in_flight_count == 0)
        },
    )
    .await;
}

/// The period of the reload tests: long enough that a SIGHUP sent as one batch's
/// summary is read reaches serve well before the next batch starts.
const RELOAD_PERIOD: &str = "nsq.period = \"2s\"";

#[tokio::test]
async fn sighup_applies_a_new_n_from_the_next_batch_over_the_same_connection() {
    let stack = Stack::start().await;
    stack.publish_valid("reload-n", 0..40);
    let config = stack.config("reload-n", 5, &[RELOAD_PERIOD]);
    let mut serve = Serving::start(&config);
    let first = serve.batch().await;
    assert_eq!(
        (count(&first, "received"), count(&first, "stored")),
        (5, 5),
        "{first}"
    );
    settled_at(&stack, "reload-n", 35).await;
    let (connected, _, _) = client(&stack, "reload-n");

    // The same file, N = 10 now.
    assert_eq!(stack.config("reload-n", 10, &[RELOAD_PERIOD]), config);
    signal(serve.pid(), "HUP");
    for left in [25, 15] {
        let b = serve.batch().await;
        assert_eq!(b["stop_reason"], "done", "{b}");
        assert_eq!(
            (count(&b, "received"), count(&b, "stored")),
            (10, 10),
            "{b}"
        );
        assert_eq!(count(&b, "over_limit"), 0, "{b}");
        settled_at(&stack, "reload-n", left).await;
        let (ts, rdy, _) = client(&stack, "reload-n");
        assert_eq!((ts, rdy), (connected, 0), "N needs no new connection");
    }
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr.matches("configuration reloaded").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 25);
}

#[tokio::test]
async fn sighup_reads_the_schema_again() {
    let stack = Stack::start().await;
    for id in 0..2 {
        stack.nsq.publish("reload-schema", message_with_note(id));
    }
    let config = stack.config("reload-schema", 1, &[RELOAD_PERIOD]);
    let mut serve = Serving::start(&config);
    let first = serve.batch().await;
    assert_eq!(
        (count(&first, "invalid"), count(&first, "stored")),
        (1, 0),
        "{first}"
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, REJECTED), 1);

    // The config file is the same; the schema it names allows `note` now.
    std::fs::write(
        stack.dir.path().join("message.schema.json"),
        schema_with_note(),
    )
    .unwrap();
    signal(serve.pid(), "HUP");
    let second = serve.batch().await;
    assert_eq!(
        (count(&second, "invalid"), count(&second, "stored")),
        (0, 1),
        "{second}"
    );
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 1);
    assert_eq!(stack.aero.record_count(NAMESPACE, REJECTED), 1);
}

#[tokio::test]
async fn a_config_that_fails_its_checks_is_refused_and_the_running_one_stays() {
    let stack = Stack::start().await;
    stack.publish_valid("reload-bad", 0..30);
    let config = stack.config("reload-bad", 5, &[RELOAD_PERIOD]);
    let mut serve = Serving::start(&config);
    let first = serve.batch().await;
    assert_eq!(count(&first, "stored"), 5, "{first}");

    // N = 0 does not pass the checks; the rest of the file would (N = 10 elsewhere).
    stack.config("reload-bad", 0, &[RELOAD_PERIOD]);
    signal(serve.pid(), "HUP");
    let second = serve.batch().await;
    assert_eq!(second["stop_reason"], "done", "{second}");
    assert_eq!(count(&second, "stored"), 5, "the old N: {second}");
    settled_at(&stack, "reload-bad", 20).await;

    // A good file again: it is taken.
    stack.config("reload-bad", 10, &[RELOAD_PERIOD]);
    signal(serve.pid(), "HUP");
    let third = serve.batch().await;
    assert_eq!(count(&third, "stored"), 10, "{third}");
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    let refused = stderr
        .lines()
        .find(|l| l.contains("configuration refused"))
        .unwrap_or_else(|| panic!("no refusal: {stderr}"));
    assert!(refused.contains("ERROR"), "{refused}");
    assert!(
        refused.contains("nsq.max-messages: must be greater than zero"),
        "{refused}"
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 20);
}

#[tokio::test]
async fn a_reload_is_reloading_then_ready_on_the_notify_socket() {
    let stack = Stack::start().await;
    stack.publish_valid("notify-reload", 0..30);
    let notify = NotifySocket::bind(&stack);
    let config = stack.config("notify-reload", 5, &[RELOAD_PERIOD]);
    let mut serve = Serving::start_with(&config, &[("NOTIFY_SOCKET", notify.path())]);
    serve.batch().await;
    notify.drain_until("STATUS=last batch ok", BATCH_WAIT).await;

    stack.config("notify-reload", 10, &[RELOAD_PERIOD]);
    signal(serve.pid(), "HUP");
    let got = notify.drain_until("READY=1", BATCH_WAIT).await;
    let at = |line: &str| got.iter().position(|m| m.starts_with(line));
    let reloading = at("RELOADING=1").unwrap_or_else(|| panic!("{got:?}"));
    assert!(at("MONOTONIC_USEC=").is_some(), "{got:?}");
    assert!(
        reloading < at("READY=1").unwrap(),
        "RELOADING=1, then READY=1: {got:?}"
    );
    assert!(
        got.iter()
            .any(|m| m.starts_with("STATUS=configuration reloaded")),
        "{got:?}"
    );
    let b = serve.batch().await;
    assert_eq!(count(&b, "stored"), 10, "{b}");

    // Refused: READY=1 all the same (the service runs), and STATUS= says why, also
    // after the next batch.
    notify.drain_until("STATUS=last batch ok", BATCH_WAIT).await;
    stack.config("notify-reload", 0, &[RELOAD_PERIOD]);
    signal(serve.pid(), "HUP");
    let got = notify.drain_until("READY=1", BATCH_WAIT).await;
    assert!(got.iter().any(|m| m == "RELOADING=1"), "{got:?}");
    assert!(
        got.iter().any(|m| m.starts_with("STATUS=reload refused")
            && m.contains("nsq.max-messages: must be greater than zero")),
        "{got:?}"
    );
    let b = serve.batch().await;
    assert_eq!(count(&b, "stored"), 10, "the previous configuration: {b}");
    let got = notify.drain_until("STATUS=last batch ok", BATCH_WAIT).await;
    assert!(
        got.iter()
            .any(|m| m.starts_with("STATUS=last batch ok") && m.contains("reload refused")),
        "{got:?}"
    );
    let (code, _, stderr) = serve.stop().await;
    assert_eq!(code, 0, "{stderr}");
    notify.close();
}
