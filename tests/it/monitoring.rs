//! Monitoring, end to end: the real binary against the stand-ins writes the metrics
//! textfile (read back with a Prometheus text-format parser) and the state that
//! `x-msrv status`, the Nagios/Icinga plugin, judges.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_parse::{Scrape, Value};

use crate::common::{self, Stack, run};

/// Every family the textfile always holds (the backlog's only once it could be read).
const FAMILIES: &[&str] = &[
    "x_msrv_last_run_timestamp_seconds",
    "x_msrv_last_success_timestamp_seconds",
    "x_msrv_last_run_duration_seconds",
    "x_msrv_last_run_messages",
    "x_msrv_last_run_exit_code",
    "x_msrv_last_run_stop_reason",
    "x_msrv_messages_total",
    "x_msrv_runs_total",
];

fn textfile(stack: &Stack) -> PathBuf {
    let dir = stack.dir.path().join("node-exporter");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("x-msrv.prom")
}

/// A config for `topic` with N = `n`, the textfile on, and a short idle timeout so a
/// drained queue ends the run quickly.
fn config(stack: &Stack, topic: &str, n: u64, extra: &[&str]) -> PathBuf {
    let textfile = format!("metrics.textfile = \"{}\"", textfile(stack).display());
    let mut overrides = vec!["nsq.idle-timeout = \"300ms\"", textfile.as_str()];
    overrides.extend_from_slice(extra);
    stack.config(topic, n, &overrides)
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("the textfile parses")
}

fn read(path: &Path) -> Scrape {
    parse(&std::fs::read_to_string(path).expect("the textfile exists"))
}

/// The value of `metric`, with the one label `label` = its value when given.
fn value(scrape: &Scrape, metric: &str, label: Option<(&str, &str)>) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .map(|s| match s.value {
            Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => v,
            ref other => panic!("{metric}: not a plain value: {other:?}"),
        })
        .collect();
    assert_eq!(found.len(), 1, "{metric} {label:?}: {found:?}");
    found[0]
}

fn kind(scrape: &Scrape, metric: &str) -> &'static str {
    match scrape
        .samples
        .iter()
        .find(|s| s.metric == metric)
        .map(|s| &s.value)
    {
        Some(Value::Gauge(_)) => "gauge",
        Some(Value::Counter(_)) => "counter",
        other => panic!("{metric}: {other:?}"),
    }
}

/// The textfile is complete: every family with its help text, every series.
fn assert_complete(scrape: &Scrape) {
    for family in FAMILIES {
        assert!(scrape.docs.contains_key(*family), "no HELP for {family}");
    }
    let count = |m: &str| scrape.samples.iter().filter(|s| s.metric == m).count();
    assert_eq!(count("x_msrv_last_run_messages"), 8);
    assert_eq!(count("x_msrv_messages_total"), 8);
    assert_eq!(count("x_msrv_last_run_stop_reason"), 8);
    assert_eq!(count("x_msrv_runs_total"), 2);
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn the_textfile_holds_the_last_run_and_the_counters_grow() {
    let stack = Stack::start().await;
    let topic = "metrics";
    stack.publish_valid(topic, 0..3);
    stack.nsq.publish(topic, "not json".to_owned());
    let cfg = config(&stack, topic, 10, &[]);
    let before = now();
    let out = run(&cfg, &[]).await;
    let after = now();
    assert_eq!(out.code(), 0, "{}", out.stderr);

    let path = textfile(&stack);
    let m = read(&path);
    assert_complete(&m);
    let last = |o| value(&m, "x_msrv_last_run_messages", Some(("outcome", o)));
    assert_eq!(
        (last("stored"), last("invalid"), last("requeued")),
        (3.0, 1.0, 0.0)
    );
    assert_eq!(
        (last("returned"), last("over_limit"), last("given_up")),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(value(&m, "x_msrv_last_run_exit_code", None), 0.0);
    let reason = |r| value(&m, "x_msrv_last_run_stop_reason", Some(("reason", r)));
    assert_eq!(
        (reason("idle"), reason("done"), reason("timeout")),
        (1.0, 0.0, 0.0)
    );
    let ran = value(&m, "x_msrv_last_run_timestamp_seconds", None);
    assert!(
        before <= ran && ran <= after,
        "{before} <= {ran} <= {after}"
    );
    assert_eq!(
        value(&m, "x_msrv_last_success_timestamp_seconds", None),
        ran
    );
    let duration = value(&m, "x_msrv_last_run_duration_seconds", None);
    assert!(duration > 0.0 && duration <= after - before, "{duration}");
    assert_eq!(value(&m, "x_msrv_backlog_messages", None), 0.0);
    let runs = |r| value(&m, "x_msrv_runs_total", Some(("result", r)));
    assert_eq!((runs("success"), runs("failure")), (1.0, 0.0));
    assert_eq!(kind(&m, "x_msrv_runs_total"), "counter");
    assert_eq!(kind(&m, "x_msrv_last_run_messages"), "gauge");
    // Readable by node_exporter's user whatever the unit's umask; no temporary file left.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["x-msrv.prom"]);

    stack.publish_valid(topic, 10..12);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let m = read(&path);
    let total = |o| value(&m, "x_msrv_messages_total", Some(("outcome", o)));
    assert_eq!((total("stored"), total("invalid")), (5.0, 1.0));
    assert_eq!(
        value(&m, "x_msrv_last_run_messages", Some(("outcome", "stored"))),
        2.0
    );
    assert_eq!(
        value(&m, "x_msrv_runs_total", Some(("result", "success"))),
        2.0
    );
    assert!(value(&m, "x_msrv_last_success_timestamp_seconds", None) > ran);
}

#[tokio::test]
async fn a_failed_run_updates_the_last_run_and_keeps_the_last_success() {
    let stack = Stack::start().await;
    let topic = "metrics-fail";
    stack.publish_valid(topic, 0..2);
    let cfg = config(&stack, topic, 10, &["aerospike.timeout = \"500ms\""]);
    assert_eq!(run(&cfg, &[]).await.code(), 0);
    let path = textfile(&stack);
    let success = value(&read(&path), "x_msrv_last_success_timestamp_seconds", None);

    // Aerospike down: the run cannot start.
    stack.aero.stop().await;
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    let m = read(&path);
    assert_complete(&m);
    assert_eq!(value(&m, "x_msrv_last_run_exit_code", None), 69.0);
    assert_eq!(
        value(
            &m,
            "x_msrv_last_run_stop_reason",
            Some(("reason", "unavailable"))
        ),
        1.0
    );
    assert!(value(&m, "x_msrv_last_run_timestamp_seconds", None) > success);
    assert_eq!(
        value(&m, "x_msrv_last_success_timestamp_seconds", None),
        success
    );
    assert_eq!(
        value(&m, "x_msrv_runs_total", Some(("result", "failure"))),
        1.0
    );

    // Back, but every write fails for now (DEVICE_OVERLOAD): requeued, exit 75.
    stack.aero.restart().await;
    stack.aero.fail_with(Some(18));
    stack.publish_valid(topic, 10..13);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 75, "{}", out.stderr);
    let m = read(&path);
    assert_eq!(value(&m, "x_msrv_last_run_exit_code", None), 75.0);
    assert_eq!(
        value(
            &m,
            "x_msrv_last_run_messages",
            Some(("outcome", "requeued"))
        ),
        3.0
    );
    let reason = value(
        &m,
        "x_msrv_last_run_stop_reason",
        Some(("reason", "store-unavailable")),
    );
    assert_eq!(reason, 1.0);
    assert_eq!(
        value(&m, "x_msrv_last_success_timestamp_seconds", None),
        success
    );
    assert_eq!(
        value(&m, "x_msrv_runs_total", Some(("result", "failure"))),
        2.0
    );
    assert_eq!(
        value(&m, "x_msrv_runs_total", Some(("result", "success"))),
        1.0
    );
    assert_eq!(
        value(&m, "x_msrv_messages_total", Some(("outcome", "requeued"))),
        3.0
    );
}

#[tokio::test]
async fn a_reader_never_sees_a_half_written_textfile() {
    let stack = Stack::start().await;
    let topic = "metrics-atomic";
    let cfg = config(&stack, topic, 1, &[]);
    let path = textfile(&stack);
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (path, stop, reads) = (path.clone(), Arc::clone(&stop), Arc::clone(&reads));
        std::thread::spawn(move || {
            let mut runs_seen = 0.0;
            loop {
                // Read once more after the stop is seen: the stop comes after the last
                // run has renamed its file into place, so that read sees the last run
                // (a read that began just before the rename would not).
                let stopping = stop.load(Ordering::Acquire);
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue; // not written yet
                };
                let m = parse(&text);
                assert_complete(&m);
                let runs = value(&m, "x_msrv_runs_total", Some(("result", "success")));
                assert!(runs >= runs_seen, "old after new: {runs} < {runs_seen}");
                runs_seen = runs;
                reads.fetch_add(1, Ordering::Relaxed);
                if stopping {
                    break;
                }
            }
            runs_seen
        })
    };
    const RUNS: u64 = 6;
    for id in 0..RUNS {
        stack.publish_valid(topic, id..id + 1);
        let out = run(&cfg, &[]).await;
        assert_eq!(out.code(), 0, "{}", out.stderr);
    }
    stop.store(true, Ordering::Release);
    let last_seen = reader.join().expect("the reader saw only complete files");
    assert_eq!(last_seen, RUNS as f64);
    assert!(
        reads.load(Ordering::Relaxed) > RUNS,
        "the reader read while the runs wrote"
    );
}

async fn status(cfg: &Path, args: &[&str]) -> common::Outcome {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    let out = run(cfg, &all).await;
    assert_eq!(out.stdout.lines().count(), 1, "one line: {}", out.stdout);
    out
}

#[tokio::test]
async fn status_is_unknown_without_a_run_or_a_configuration() {
    let stack = Stack::start().await;
    let cfg = config(&stack, "status-fresh", 10, &[]);
    let out = status(&cfg, &[]).await;
    assert_eq!(out.code(), 3, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("X-MSRV UNKNOWN - no run recorded yet"),
        "{}",
        out.stdout
    );

    let missing = stack.dir.path().join("missing.toml");
    let out = status(&missing, &[]).await;
    assert_eq!(out.code(), 3, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("X-MSRV UNKNOWN - cannot read the configuration"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn status_is_ok_after_a_good_run_then_warning_and_critical_as_it_ages() {
    let stack = Stack::start().await;
    let topic = "status-age";
    stack.publish_valid(topic, 0..4);
    let cfg = config(&stack, topic, 10, &[]);
    assert_eq!(run(&cfg, &[]).await.code(), 0);

    let out = status(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stdout);
    let line = out.stdout.trim_end();
    assert!(line.starts_with("X-MSRV OK - last success "), "{line}");
    assert!(
        line.contains("(warning 2m, critical 3m)"),
        "2 x and 3 x nsq.period: {line}"
    );
    assert!(line.contains("stored=4 invalid=0 requeued=0"), "{line}");
    let perf = line.split_once(" | ").expect("perfdata").1;
    assert!(perf.starts_with("'last_success_age'="), "{perf}");
    assert!(
        perf.contains(
            "s;120;180;0; 'stored'=4;;;0; 'invalid'=0;;;0; 'requeued'=0;;;0; 'backlog'=0;;;0;"
        ),
        "{perf}"
    );

    tokio::time::sleep(Duration::from_millis(20)).await;
    let out = status(&cfg, &["--warning", "1ms"]).await;
    assert_eq!(out.code(), 1, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("X-MSRV WARNING - last success "),
        "{}",
        out.stdout
    );
    let out = status(&cfg, &["--warning", "1ms", "--critical", "5ms"]).await;
    assert_eq!(out.code(), 2, "{}", out.stdout);
    assert!(
        out.stdout.starts_with("X-MSRV CRITICAL - last success "),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn status_warns_when_the_backlog_grows_run_after_run() {
    let stack = Stack::start().await;
    let topic = "status-backlog";
    // N = 1 a run, 3 more messages before each: the backlog grows 2, 4, 6.
    let cfg = config(&stack, topic, 1, &[]);
    for round in 0..3 {
        stack.publish_valid(topic, round * 10..round * 10 + 3);
        let out = run(&cfg, &[]).await;
        assert_eq!(out.code(), 0, "{}", out.stderr);
        assert_eq!(out.count("stored"), 1);
    }
    let out = status(&cfg, &[]).await;
    assert_eq!(out.code(), 1, "{}", out.stdout);
    let line = out.stdout.trim_end();
    assert!(line.starts_with("X-MSRV WARNING - last success "), "{line}");
    assert!(
        line.contains("the backlog grew over the last 3 runs (2 -> 4 -> 6): nsq.max-messages (N = 1) or nsq.period (M = 1m) is too small"),
        "{line}"
    );
    assert!(line.ends_with("'backlog'=6;;;0;"), "{line}");
}
