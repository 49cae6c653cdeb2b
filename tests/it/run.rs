//! The `x-msrv` binary end to end, the way an operator runs it: a config file, the
//! stand-in nsqd and Aerospike over real sockets, signals, exit codes, and what ends up
//! stored, rejected and left in NSQ.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use devstack::nsqd::NsqOptions;
use nsq::{Consumer, ConsumerOptions, NsqAddresses, Settle, settle};

use crate::common::*;

#[tokio::test]
async fn takes_exactly_n_and_leaves_the_rest_queued() {
    let stack = Stack::start().await;
    stack.publish_valid("deep", 0..100);
    let out = run(&stack.config("deep", 37, &[]), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.summary("stop_reason"), "done");
    assert_eq!(out.count("received"), 37);
    assert_eq!(out.count("stored"), 37);
    assert_eq!(out.count("over_limit"), 0, "no over-delivery from one nsqd");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 37);
    assert_eq!(stack.depth("deep"), 63);
    let ch = stack.nsq.channel_stats("deep", CHANNEL).unwrap();
    assert_eq!((ch.in_flight_count, ch.requeue_count), (0, 0));
}

#[tokio::test]
async fn messages_forced_past_n_are_requeued_never_processed() {
    let stack = Stack::start().await;
    stack.publish_valid("forced", 0..30);
    stack.nsq.over_deliver(5);
    let out = run(&stack.config("forced", 10, &[]), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("stored"), 10);
    assert_eq!(out.count("over_limit"), 5);
    assert_eq!(
        stack.aero.record_count(NAMESPACE, SET),
        10,
        "the extras were not stored"
    );
    wait_until("extras back in the queue", Duration::from_secs(10), || {
        stack.depth("forced") == 20
    })
    .await;
}

#[tokio::test]
async fn invalid_messages_are_kept_with_their_reasons() {
    let stack = Stack::start().await;
    stack.publish_valid("mixed", 0..3);
    stack.nsq.publish("mixed", "{ not json");
    stack
        .nsq
        .publish("mixed", r#"{ "id": 7, "msg": 12, "ext": [] }"#);
    stack
        .nsq
        .publish("mixed", r#"{ "msg": "no id", "ext": [] }"#);
    let out = run(&stack.config("mixed", 100, &["timeout = \"2s\""]), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("stored"), 3);
    assert_eq!(out.count("invalid"), 3);
    assert_eq!(
        stack.depth("mixed"),
        0,
        "the invalid ones are finished, because they are kept"
    );
    let rejected = stack.aero.records(NAMESPACE, REJECTED);
    assert_eq!(rejected.len(), 3);
    let reasons: Vec<String> = rejected
        .iter()
        .map(|r| r.bins["reason"].to_string())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("JSON")), "{reasons:?}");
    assert!(
        reasons.iter().filter(|r| r.contains("schema")).count() >= 2,
        "{reasons:?}"
    );
    assert!(
        rejected
            .iter()
            .any(|r| r.bins["body"].to_string().contains("{ not json"))
    );
}

#[tokio::test]
async fn a_redelivered_message_is_stored_once() {
    // nsqd times the message out while Aerospike is slow: the FIN comes too late
    // (E_FIN_FAILED), nsqd redelivers, and the second store writes the same key.
    let stack = Stack::start().await;
    stack.publish_valid("again", 0..1);
    stack.aero.set_delay(Some(Duration::from_millis(1500)));
    let cfg = stack.config(
        "again",
        2,
        &[
            "nsq.msg-timeout = \"1s\"",
            "aerospike.timeout = \"5s\"",
            "timeout = \"10s\"",
        ],
    );
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("received"), 2, "delivered twice: {}", out.stderr);
    assert_eq!(
        stack.aero.record_count(NAMESPACE, SET),
        1,
        "one record, not a duplicate"
    );
    assert_eq!(stack.depth("again"), 0);
}

#[tokio::test]
async fn a_store_outage_requeues_everything() {
    let stack = Stack::start().await;
    stack.publish_valid("outage", 0..20);
    // DEVICE_OVERLOAD: a transient server answer.
    stack.aero.fail_with(Some(18));
    let out = run(&stack.config("outage", 20, &[]), &[]).await;
    assert_eq!(out.code(), 75, "{}", out.stderr);
    assert_eq!(out.count("stored"), 0);
    assert_eq!(out.summary("stop_reason"), "store-unavailable");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 0);
    // REQ'd with a delay, so deferred; nothing FIN'd, nothing in flight.
    let ch = stack.nsq.channel_stats("outage", CHANNEL).unwrap();
    assert_eq!(ch.in_flight_count, 0);
    assert_eq!(ch.depth + ch.deferred_count, 20, "{ch:?}");
}

/// Aerospike failing every write, the rejected set included: each message is tried
/// `max-attempts` times, then published to `rejected.topic` and FIN'd; none loops.
#[tokio::test]
async fn a_message_neither_stored_nor_kept_is_dead_lettered_not_looped() {
    let stack = Stack::start().await;
    let dead = "dl.dead-letter";
    stack.nsq.create_channel(dead, "check");
    stack.nsq.create_channel("dl", CHANNEL);
    stack.publish_valid("dl", 0..2);
    stack.nsq.publish("dl", "not json");
    stack.nsq.publish("dl", r#"{"id": "no integer"}"#);
    stack.aero.fail_with(Some(18));
    let cfg = stack.config(
        "dl",
        4,
        &[
            "nsq.max-attempts = 2",
            "nsq.requeue-delay = \"100ms\"",
            "nsq.max-requeue-delay = \"100ms\"",
        ],
    );
    let mut dead_lettered = 0;
    for _ in 0..6 {
        let ch = stack.nsq.channel_stats("dl", CHANNEL).unwrap();
        if ch.depth + ch.deferred_count + ch.in_flight_count == 0 {
            break;
        }
        wait_until("the requeued messages", Duration::from_secs(5), || {
            stack
                .nsq
                .channel_stats("dl", CHANNEL)
                .is_some_and(|c| c.deferred_count == 0)
        })
        .await;
        let out = run(&cfg, &[]).await;
        assert_eq!(out.count("stored"), 0, "{}", out.stderr);
        dead_lettered += out.count("dead_lettered");
    }
    assert_eq!(dead_lettered, 4);
    let ch = stack.nsq.channel_stats("dl", CHANNEL).unwrap();
    assert_eq!(
        (ch.depth, ch.deferred_count, ch.in_flight_count),
        (0, 0, 0),
        "nothing left looping: {ch:?}"
    );
    let mut bodies: Vec<String> = stack
        .nsq
        .messages(dead, "check")
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    bodies.sort();
    let mut published = vec![
        valid_message(0),
        valid_message(1),
        "not json".to_owned(),
        r#"{"id": "no integer"}"#.to_owned(),
    ];
    published.sort();
    assert_eq!(bodies, published, "each body dead-lettered once, unchanged");
}

/// nsqd's `attempts` counts x-msrv's own hand-backs too (here four REQ 0, as of messages
/// returned at a stop): one failed write must not give a message up as if it were its
/// fifth. Before x-msrv counted failed writes itself, this message was kept in the
/// rejected set as "not stored after 2 attempts" (and counted as invalid).
#[tokio::test]
async fn hand_backs_do_not_count_as_failed_writes() {
    let stack = Stack::start().await;
    stack.publish_valid("hb", 7..8);
    for _ in 0..4 {
        let opts = ConsumerOptions::new(
            NsqAddresses::Nsqd(vec![stack.nsq.tcp_addr().to_string()]),
            "hb",
            CHANNEL,
            1,
        );
        let mut consumer = Consumer::connect(opts).await.unwrap();
        let m = consumer.next().await.unwrap();
        settle(vec![(m, Settle::Requeue(Duration::ZERO))])
            .await
            .unwrap();
        consumer.close(Duration::from_secs(1)).await.unwrap();
    }
    let cfg = stack.config(
        "hb",
        1,
        &["nsq.max-attempts = 2", "nsq.requeue-delay = \"100ms\""],
    );
    stack.aero.fail_set(SET, Some(18));
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 75, "{}", out.stderr);
    assert_eq!(
        (
            out.count("requeued"),
            out.count("given_up"),
            out.count("invalid")
        ),
        (1, 0, 0),
        "{}",
        out.stdout
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, REJECTED), 0);

    stack.aero.fail_set(SET, None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("stored"), 1);
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 1);
    assert_eq!(stack.aero.record_count(NAMESPACE, REJECTED), 0);
}

/// The data set failing while the rejected set works: after `max-attempts` failed
/// writes a valid message is given up, kept with the reason, and counted as given up,
/// not as invalid.
#[tokio::test]
async fn a_message_whose_writes_keep_failing_is_given_up_not_invalid() {
    let stack = Stack::start().await;
    stack.publish_valid("gu", 0..3);
    stack.aero.fail_set(SET, Some(18));
    let cfg = stack.config(
        "gu",
        3,
        &[
            "nsq.max-attempts = 3",
            "nsq.requeue-delay = \"50ms\"",
            "nsq.max-requeue-delay = \"50ms\"",
        ],
    );
    let (mut given_up, mut runs) = (0, 0);
    while given_up < 3 {
        runs += 1;
        assert!(runs <= 3, "given up after more than max-attempts runs");
        tokio::time::sleep(Duration::from_millis(150)).await;
        let out = run(&cfg, &[]).await;
        assert_eq!(out.count("invalid"), 0, "{}", out.stdout);
        given_up += out.count("given_up");
    }
    assert_eq!(runs, 3, "each message tried exactly max-attempts times");
    let kept = stack.aero.records(NAMESPACE, REJECTED);
    assert_eq!(kept.len(), 3);
    for r in kept {
        let reason = r.bins["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("not stored after 3 failed writes: "),
            "{reason}"
        );
    }
    assert_eq!(stack.depth("gu"), 0);
}

#[tokio::test]
async fn a_slow_store_times_out_and_requeues() {
    let stack = Stack::start().await;
    stack.publish_valid("slow", 0..5);
    stack.aero.set_delay(Some(Duration::from_secs(3)));
    let out = run(
        &stack.config("slow", 5, &["aerospike.timeout = \"300ms\""]),
        &[],
    )
    .await;
    assert_eq!(out.code(), 75, "{}", out.stderr);
    let ch = stack.nsq.channel_stats("slow", CHANNEL).unwrap();
    assert_eq!(ch.in_flight_count, 0);
    assert_eq!(ch.depth + ch.deferred_count, 5);
}

#[tokio::test]
async fn sigterm_mid_run_loses_nothing() {
    let stack = Stack::start().await;
    stack.publish_valid("term", 0..50);
    stack.aero.set_delay(Some(Duration::from_millis(700)));
    let cfg = stack.config(
        "term",
        50,
        &["timeout = \"30s\"", "aerospike.batch-size = 5"],
    );
    let child = command(&cfg, &[]).spawn().unwrap();
    wait_until("messages in flight", Duration::from_secs(10), || {
        stack
            .nsq
            .channel_stats("term", CHANNEL)
            .is_some_and(|c| c.in_flight_count > 0)
    })
    .await;
    signal(child.id().unwrap(), "TERM");
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        summary_field(&stdout, "stop_reason").as_deref(),
        Some("signal"),
        "{stderr}"
    );
    let stored = stack.aero.record_count(NAMESPACE, SET) as u64;
    assert!(stored < 50, "stopped early");
    let ch = stack.nsq.channel_stats("term", CHANNEL).unwrap();
    assert_eq!(ch.in_flight_count, 0, "nothing left in flight: {ch:?}");
    assert_eq!(
        stored + ch.depth,
        50,
        "every message is stored or back in the queue"
    );
}

#[tokio::test]
async fn sigterm_while_connecting_exits_at_once() {
    // An "nsqd" that accepts and never answers: the handshake would wait for
    // connect-timeout (30 s here).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let stack = Stack::start().await;
    let nsqd = format!("nsq.nsqd = [\"{addr}\"]");
    let cfg = stack.config(
        "hang",
        5,
        &["timeout = \"60s\"", "nsq.connect-timeout = \"30s\"", &nsqd],
    );
    let child = command(&cfg, &[]).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sent = Instant::now();
    signal(child.id().unwrap(), "TERM");
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_empty_queue_ends_at_the_timeout_with_success() {
    let stack = Stack::start().await;
    let started = Instant::now();
    let out = run(&stack.config("empty", 10, &["timeout = \"1s\""]), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.summary("stop_reason"), "timeout");
    assert_eq!(out.count("received"), 0);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn an_empty_or_drained_queue_ends_after_idle_timeout_not_timeout() {
    let stack = Stack::start().await;
    let keys = ["timeout = \"30s\"", "nsq.idle-timeout = \"500ms\""];
    let started = Instant::now();
    let out = run(&stack.config("idle-empty", 10, &keys), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.summary("stop_reason"), "idle");
    assert_eq!(out.count("received"), 0);
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(500)..Duration::from_secs(10)).contains(&took),
        "took {took:?}"
    );

    // Fewer messages than N: all stored, then the run ends idle.
    stack.publish_valid("idle-drained", 0..25);
    let out = run(&stack.config("idle-drained", 100, &keys), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.summary("stop_reason"), "idle");
    assert_eq!(out.count("stored"), 25);
    assert_eq!(stack.depth("idle-drained"), 0);
}

#[tokio::test]
async fn a_steady_stream_is_not_cut_short_by_idle_timeout() {
    // One message every 100 ms for 3 s, idle-timeout 1 s: gaps never reach it, so the
    // run takes all 30 and ends done, not idle.
    let stack = Stack::start().await;
    stack.nsq.create_topic("steady");
    stack.nsq.create_channel("steady", CHANNEL);
    let keys = ["timeout = \"30s\"", "nsq.idle-timeout = \"1s\""];
    let child = command(&stack.config("steady", 30, &keys), &[])
        .spawn()
        .unwrap();
    for id in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stack.nsq.publish("steady", valid_message(id));
    }
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        summary_field(&stdout, "stop_reason").as_deref(),
        Some("done"),
        "{stdout}"
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 30);
}

#[tokio::test]
async fn lookupd_discovery_and_a_topic_nobody_produces() {
    let stack = Stack::start().await;
    stack.publish_valid("found", 0..4);
    let lookupd = format!(
        "nsq.lookupd = [\"http://{}\"]",
        stack.nsq.lookupd_http_addr()
    );
    let cfg = stack.config("found", 4, &[&lookupd]);
    // Exactly one of nsqd and lookupd: drop the default nsqd line.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("nsq.nsqd"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cfg, &text).unwrap();
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("stored"), 4);

    std::fs::write(&cfg, text.replace("\"found\"", "\"nobody-yet\"")).unwrap();
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.summary("stop_reason"), "no-producers");
}

#[tokio::test]
async fn unreachable_servers_exit_unavailable() {
    let stack = Stack::start().await;
    stack.aero.stop().await;
    let out = run(
        &stack.config("down", 1, &["aerospike.timeout = \"500ms\""]),
        &[],
    )
    .await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(out.stderr.contains("Aerospike"), "{}", out.stderr);
}

#[tokio::test]
async fn config_errors_name_the_key() {
    let stack = Stack::start().await;
    for (extra, key) in [
        ("nsq.max-messagez = 3", "max-messagez"),
        ("nsq.max-in-flight = -1", "max-in-flight"),
        ("aerospike.timeout = \"soon\"", "timeout"),
        ("nsq.lookupd = [\"127.0.0.1:4161\"]", "lookupd"),
        ("message.key = \"id\"", "message.key"),
    ] {
        let out = run(&stack.config("cfg", 1, &[extra]), &[]).await;
        assert_eq!(out.code(), 78, "{extra}: {}", out.stderr);
        assert!(
            out.stderr.contains(key),
            "{extra}: error does not name {key}: {}",
            out.stderr
        );
    }
    let out = run(&PathBuf::from("/nonexistent/x-msrv.toml"), &[]).await;
    assert_eq!(out.code(), 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("/nonexistent/x-msrv.toml"),
        "{}",
        out.stderr
    );
}

/// The stand-in answers a login like Community Edition (no security: result 51,
/// SECURITY_NOT_SUPPORTED). A password from `aerospike.password-file` makes the client
/// log in exactly as an inline one does, so both runs fail alike, naming the refusal,
/// before anything is stored.
#[tokio::test]
async fn a_password_file_reaches_the_login_like_an_inline_password() {
    let stack = Stack::start().await;
    stack.publish_valid("login", 0..2);
    std::fs::write(stack.dir.path().join("aerospike-password"), "from-a-file\n").unwrap();
    let inline = stack.config(
        "login",
        2,
        &[
            "aerospike.user = \"x-msrv\"",
            "aerospike.password = \"inline\"",
        ],
    );
    let inline = run(&inline, &[]).await;
    // A relative path: next to the config file.
    let from_file = stack.config(
        "login",
        2,
        &[
            "aerospike.user = \"x-msrv\"",
            "aerospike.password-file = \"aerospike-password\"",
        ],
    );
    let from_file = run(&from_file, &[]).await;
    for out in [&inline, &from_file] {
        assert_eq!(out.code(), 69, "{}", out.stderr);
        assert!(
            out.stderr.contains("Error 51") && out.stderr.contains("Security not supported"),
            "the refused login is named: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("from-a-file"), "{}", out.stderr);
    }
    assert!(stack.aero.records(NAMESPACE, SET).is_empty());
    // No file: a config error naming the key and the path, before any connection.
    std::fs::remove_file(stack.dir.path().join("aerospike-password")).unwrap();
    let out = run(
        &stack.config(
            "login",
            2,
            &[
                "aerospike.user = \"x-msrv\"",
                "aerospike.password-file = \"aerospike-password\"",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(out.code(), 78, "{}", out.stderr);
    assert!(
        out.stderr.contains("aerospike.password-file")
            && out.stderr.contains(
                &stack
                    .dir
                    .path()
                    .join("aerospike-password")
                    .display()
                    .to_string()
            ),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn check_and_records_commands() {
    let stack = Stack::start().await;
    stack.publish_valid("cmds", 0..3);
    let cfg = stack.config("cmds", 3, &[]);
    let check = command(&cfg, &["check"]).output().await.unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(run(&cfg, &[]).await.code(), 0);
    let listed = command(&cfg, &["records", "--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(listed.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    stack.aero.stop().await;
    let check = command(&cfg, &["check"]).output().await.unwrap();
    assert_eq!(check.status.code(), Some(69));
}

/// Two nsqd of one host make the same message ids (nsqd derives them from the time,
/// its `--node-id` — by default the same for every nsqd of a host — and a per-topic
/// sequence). Messages from both, published in the same milliseconds, are each kept
/// and stored under their own key: rejected records and `nsq-id` keys name a message
/// by its id *and* nsqd's timestamp, so none overwrites another.
#[tokio::test]
async fn messages_of_two_nsqd_with_the_same_ids_overwrite_nothing() {
    let stack = Stack::start().await;
    let second = nsqd(NsqOptions::default()).await;
    let (mut ids_a, mut ids_b) = (Vec::new(), Vec::new());
    for nsq in [&stack.nsq, &second] {
        nsq.create_channel("twins", CHANNEL);
    }
    for i in 0..20 {
        for (n, nsq) in [&stack.nsq, &second].into_iter().enumerate() {
            nsq.publish("twins", format!("not json {n}-{i}"));
            nsq.publish("twins", valid_message(100 * n as u64 + i));
        }
    }
    for (nsq, ids) in [(&stack.nsq, &mut ids_a), (&second, &mut ids_b)] {
        ids.extend(nsq.messages("twins", CHANNEL).iter().map(|m| m.id.clone()));
    }
    let shared = ids_a.iter().filter(|id| ids_b.contains(id)).count();
    assert!(
        shared > 0,
        "the two nsqd made no common id: nothing is tested"
    );
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
    let cfg = stack.config(
        "twins",
        80,
        &[&both, &both_http, "message.key = \"nsq-id\""],
    );
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("stored"), 40, "{}", out.stdout);
    assert_eq!(out.count("invalid"), 40, "{}", out.stdout);
    assert_eq!(
        stack.aero.record_count(NAMESPACE, REJECTED),
        40,
        "{shared} ids were made by both nsqd; every invalid message keeps its own record"
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 40);
    second.shutdown().await;
}
