//! `AerospikeSink` against the stand-in Aerospike server, over real sockets: per-record
//! batch outcomes, idempotence, the rejected set, listing, and faults (outage, slow
//! server, error codes) that must end as transient errors in bounded time, never a hang
//! or a panic.

use std::time::Duration;

use aerospike::{Bin, Value};
use bytes::Bytes;
use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use serde_json::json;

use nsq::MessageId;
use x_msrv::pipeline::record::{Record, RecordKey, RecordRules, SchemaValidator};
use x_msrv::pipeline::store::{
    AerospikeSettings, AerospikeSink, MAX_KEPT_BODY, RejectedMessage, StoreError, Ttl, WriteMode,
    Written,
};

use crate::common;

const NS: &str = "test";
const SET: &str = "messages";
const REJECTED: &str = "rejected";

/// A test fails instead of hanging if a call is never answered: far above any timeout
/// configured here, so a busy machine does not make it flaky.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn settings(server: &AerospikeServer, timeout: Duration) -> AerospikeSettings {
    AerospikeSettings {
        hosts: vec![server.addr().to_string()],
        namespace: NS.to_owned(),
        set: SET.to_owned(),
        rejected_set: REJECTED.to_owned(),
        ttl: Ttl::NamespaceDefault,
        write: WriteMode::Replace,
        version_bin: None,
        timeout,
        batch_size: 500,
        user: None,
        password: None,
    }
}

async fn start() -> (AerospikeServer, AerospikeSink) {
    let server = common::aerospike(AerospikeOptions::default()).await;
    // Generous: the calls here are answered in microseconds unless a test slows them.
    let sink = AerospikeSink::connect(&settings(&server, Duration::from_secs(5)))
        .await
        .expect("connect to the stand-in");
    (server, sink)
}

async fn guarded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .expect("the call returned (it must never hang)")
}

/// Turns a JSON message into a record the way a run does (the bins rule, a key).
fn prepared(message: serde_json::Value) -> Record {
    let validator = SchemaValidator::from_value(&json!({"type": "object"})).unwrap();
    let body = serde_json::to_vec(&message).unwrap();
    let rules = RecordRules::new(validator, RecordKey::pointer("/id").unwrap());
    rules
        .to_record(&body, &MessageId(*b"0000000000000000"), 0)
        .unwrap()
}

fn rejected(msg_id: &str, body: &[u8], reason: &str) -> RejectedMessage {
    RejectedMessage {
        msg_id: msg_id.to_owned(),
        body: Bytes::copy_from_slice(body),
        reason: reason.to_owned(),
        attempts: 3,
        timestamp: 1_700_000_000_000_000_000,
        topic: "t".to_owned(),
        channel: "c".to_owned(),
    }
}

#[tokio::test]
async fn batch_stores_each_record_and_reports_each_outcome() {
    let (server, sink) = start().await;
    let long_name = Record {
        key: Value::Int(2),
        // 16 bytes: the server refuses this row only (BIN_NAME_TOO_LONG).
        bins: vec![Bin::new("sixteen_bytes___", Value::Int(1))],
        set: None,
        ttl: None,
        version: None,
    };
    let records = vec![
        prepared(json!({"id": 1, "msg": "one", "ext": [{"ext1": "xxx"}, {"ext2": 42}]})),
        long_name,
        prepared(json!({"id": "three", "msg": "three", "big": u64::MAX, "f": 1.5, "ok": true})),
    ];
    let outcomes = guarded(sink.store_batch(records)).await;
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes[0], Ok(Written::Stored));
    match &outcomes[1] {
        Err(e @ StoreError::Permanent(reason)) => {
            assert!(e.is_permanent());
            assert!(
                reason.contains("BIN_NAME_TOO_LONG") || reason.to_lowercase().contains("bin name"),
                "{reason}"
            );
        }
        other => panic!("16-byte bin name: want a permanent error, got {other:?}"),
    }
    assert_eq!(outcomes[2], Ok(Written::Stored));

    let mut stored = server.records(NS, SET);
    stored.sort_by_key(|r| r.key.as_ref().map(|k| k.to_string()));
    assert_eq!(stored.len(), 2, "{stored:?}");
    let one = stored
        .iter()
        .find(|r| r.key == Some(json!(1)))
        .expect("record 1, with its key");
    assert_eq!(one.bins["msg"], json!("one"));
    assert_eq!(one.bins["ext"], json!([{"ext1": "xxx"}, {"ext2": 42}]));
    let three = stored
        .iter()
        .find(|r| r.key == Some(json!("three")))
        .expect("record three");
    assert_eq!(three.bins["big"], json!("18446744073709551615"));
    assert_eq!(three.bins["f"], json!(1.5));
    assert_eq!(three.bins["ok"], json!(true));
    sink.close().await;
}

#[tokio::test]
async fn storing_the_same_message_twice_leaves_one_record() {
    let (server, sink) = start().await;
    let message = json!({"id": 7, "msg": "again"});
    for _ in 0..2 {
        let outcomes = guarded(sink.store_batch(vec![prepared(message.clone())])).await;
        assert_eq!(outcomes, vec![Ok(Written::Stored)]);
    }
    // A redelivered message whose field changed meanwhile replaces, not merges.
    let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 7, "other": 1}))])).await;
    assert_eq!(outcomes, vec![Ok(Written::Stored)]);
    let stored = server.records(NS, SET);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].generation, 3);
    assert_eq!(
        stored[0].bins.keys().collect::<Vec<_>>(),
        vec!["id", "other"]
    );
    sink.close().await;
}

#[tokio::test]
async fn rejected_messages_are_kept_by_message_id_and_timestamp() {
    let (server, sink) = start().await;
    let items = vec![
        rejected(
            "0a0000000000000a",
            b"{ \"id\": 1, ",
            "invalid JSON at line 1 column 11: EOF",
        ),
        rejected(
            "0b0000000000000b",
            b"\xff\xfe not utf-8",
            "invalid JSON at line 1 column 1: x",
        ),
    ];
    let outcomes = guarded(sink.store_rejected(items.clone())).await;
    assert_eq!(outcomes, vec![Ok(()), Ok(())]);
    // Delivered again (and rejected again): overwritten, not duplicated.
    let outcomes = guarded(sink.store_rejected(items[..1].to_vec())).await;
    assert_eq!(outcomes, vec![Ok(())]);

    let stored = server.records(NS, REJECTED);
    assert_eq!(stored.len(), 2, "{stored:?}");
    let text = stored
        .iter()
        .find(|r| r.key == Some(json!("0a0000000000000a-1700000000000000000")))
        .expect("kept under its NSQ id and timestamp");
    assert_eq!(text.bins["body"], json!("{ \"id\": 1, "));
    assert_eq!(
        text.bins["reason"],
        json!("invalid JSON at line 1 column 11: EOF")
    );
    assert_eq!(text.bins["attempts"], json!(3));
    assert_eq!(text.bins["nsq_ts"], json!(1_700_000_000_000_000_000_i64));
    assert_eq!(text.bins["topic"], json!("t"));
    assert_eq!(text.bins["channel"], json!("c"));
    assert_eq!(text.generation, 2);
    let binary = stored
        .iter()
        .find(|r| r.key == Some(json!("0b0000000000000b-1700000000000000000")))
        .expect("kept under its NSQ id and timestamp");
    assert!(binary.bins.contains_key("body"));
    assert!(
        server.records(NS, SET).is_empty(),
        "nothing leaks into the message set"
    );
    sink.close().await;
}

#[tokio::test]
async fn a_body_too_big_for_a_record_is_kept_cut() {
    let (server, sink) = start().await;
    // Above the server's 1 MiB record limit.
    let body = vec![b'x'; 2 * 1024 * 1024];
    let outcomes =
        guarded(sink.store_rejected(vec![rejected("0c0000000000000c", &body, "too big")])).await;
    assert_eq!(outcomes, vec![Ok(())]);
    let stored = server.records(NS, REJECTED);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].bins["body"].as_str().map(str::len),
        Some(MAX_KEPT_BODY)
    );
    assert_eq!(stored[0].bins["body_len"], json!(body.len()));
    sink.close().await;
}

#[tokio::test]
async fn list_returns_records_sorted_by_key_with_a_limit() {
    let (_server, sink) = start().await;
    let records = (0..5)
        .rev()
        .map(|i| prepared(json!({"id": i, "msg": format!("m{i}")})))
        .collect();
    assert!(
        guarded(sink.store_batch(records))
            .await
            .iter()
            .all(Result::is_ok)
    );

    let all = guarded(sink.list(SET, 100)).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
        (0..5).map(|i| json!(i)).collect::<Vec<_>>()
    );
    assert_eq!(all[3].bins["msg"], json!("m3"));
    assert_eq!(all[3].generation, 1);
    assert!(
        all[3].to_string().starts_with("key=3 generation=1 "),
        "{}",
        all[3]
    );

    let some = guarded(sink.list(SET, 2)).await.unwrap();
    assert_eq!(some.len(), 2);
    assert!(guarded(sink.list("empty", 10)).await.unwrap().is_empty());
    sink.close().await;
}

#[tokio::test]
async fn an_outage_makes_every_row_transient_then_recovers() {
    let (server, sink) = start().await;
    server.stop().await;
    let records = (0..3).map(|i| prepared(json!({"id": i}))).collect();
    let outcomes = guarded(sink.store_batch(records)).await;
    assert_eq!(outcomes.len(), 3);
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Err(StoreError::Transient(_))),
            "{outcome:?}"
        );
    }
    let outcomes =
        guarded(sink.store_rejected(vec![rejected("0d0000000000000d", b"x", "r")])).await;
    assert!(
        matches!(outcomes[0], Err(StoreError::Transient(_))),
        "{outcomes:?}"
    );

    // Back up: the same sink writes again once the client has reconnected.
    server.restart().await;
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 9}))])).await;
        if outcomes == vec![Ok(Written::Stored)] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never recovered: {outcomes:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.records(NS, SET).len(), 1);
    sink.close().await;
}

#[tokio::test]
async fn a_slow_server_is_a_transient_error_not_a_hang() {
    let server = common::aerospike(AerospikeOptions::default()).await;
    let sink = AerospikeSink::connect(&settings(&server, Duration::from_millis(300)))
        .await
        .unwrap();
    // Far longer than the 300 ms per-call timeout.
    server.set_delay(Some(Duration::from_secs(30)));
    let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 1}))])).await;
    assert!(
        matches!(outcomes[0], Err(StoreError::Transient(_))),
        "{outcomes:?}"
    );
    let listed = guarded(sink.list(SET, 10)).await;
    assert!(
        matches!(listed, Err(StoreError::Transient(_))),
        "{listed:?}"
    );
    server.set_delay(None);
    sink.close().await;
}

#[tokio::test]
async fn server_result_codes_are_classified() {
    let (server, sink) = start().await;
    // 14 KEY_BUSY and 18 DEVICE_OVERLOAD: a retry may work.
    for code in [14u8, 18] {
        server.fail_with(Some(code));
        let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 1}))])).await;
        assert!(
            matches!(outcomes[0], Err(StoreError::Transient(_))),
            "code {code}: {outcomes:?}"
        );
    }
    // 13 RECORD_TOO_BIG and 12 BIN_TYPE_ERROR: never.
    for code in [13u8, 12] {
        server.fail_with(Some(code));
        let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 1}))])).await;
        assert!(
            matches!(outcomes[0], Err(StoreError::Permanent(_))),
            "code {code}: {outcomes:?}"
        );
    }
    server.fail_with(None);
    let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 1}))])).await;
    assert_eq!(outcomes, vec![Ok(Written::Stored)]);
    sink.close().await;
}

#[tokio::test]
async fn connecting_to_nothing_fails_in_bounded_time() {
    // A port that was just free: nothing listens there.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let settings = AerospikeSettings {
        hosts: vec![addr.to_string()],
        namespace: NS.to_owned(),
        set: SET.to_owned(),
        rejected_set: REJECTED.to_owned(),
        ttl: Ttl::Never,
        write: WriteMode::Replace,
        version_bin: None,
        timeout: Duration::from_millis(500),
        batch_size: 10,
        user: None,
        password: None,
    };
    let err = guarded(AerospikeSink::connect(&settings))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn the_configured_ttl_is_sent() {
    let server = common::aerospike(AerospikeOptions::default()).await;
    for (ttl, want) in [(Ttl::Seconds(3600), true), (Ttl::Never, false)] {
        let mut s = settings(&server, Duration::from_secs(5));
        s.ttl = ttl;
        s.set = format!("ttl{}", u8::from(want));
        let sink = AerospikeSink::connect(&s).await.unwrap();
        let outcomes = guarded(sink.store_batch(vec![prepared(json!({"id": 1}))])).await;
        assert_eq!(outcomes, vec![Ok(Written::Stored)]);
        let stored = server.records(NS, &s.set);
        assert_eq!(stored.len(), 1);
        match stored[0].ttl {
            // Seconds left: at most what was asked, and not already mostly gone.
            Some(left) => assert!(want && left <= 3600 && left > 60, "{ttl:?}: {left}"),
            None => assert!(!want, "{ttl:?}: never expires"),
        }
        sink.close().await;
    }
}

#[tokio::test]
async fn the_test_messages_round_trip_through_the_server() {
    let (server, sink) = start().await;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let settings =
        x_msrv::config::load(&x_msrv::config::Location::file(root.join("test/demo.toml"))).unwrap();
    let text = std::fs::read_to_string(root.join("test/valid.json")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let records = lines
        .iter()
        .map(|l| {
            settings
                .message
                .to_record(l.as_bytes(), &MessageId(*b"0000000000000000"), 0)
                .unwrap()
        })
        .collect();
    let outcomes = guarded(sink.store_batch(records)).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let stored = server.records(NS, SET);
    assert_eq!(stored.len(), lines.len());
    for line in lines {
        let original: serde_json::Value = serde_json::from_str(line).unwrap();
        let record = stored
            .iter()
            .find(|r| r.key.as_ref() == Some(&original["id"]))
            .unwrap_or_else(|| panic!("no record for {line}"));
        let bins = serde_json::Value::Object(record.bins.clone().into_iter().collect());
        assert_eq!(bins, original, "stored bins differ from the message");
    }
    sink.close().await;
}
