//! What gets stored, end to end: the record layouts, the set and TTL taken from the
//! message, the write modes under redelivery, and the ordering guard — the real binary
//! against the stand-ins, the stand-in Aerospike's records as the evidence.

use serde_json::{Value, json};

use crate::common::*;

/// A schema that takes any object: these tests are about what happens after it.
fn open_schema(stack: &Stack) -> String {
    let path = stack.dir.path().join("open.schema.json");
    std::fs::write(&path, r#"{"type": "object"}"#).unwrap();
    format!("message.schema = \"{}\"", path.display())
}

/// A config for `topic` taking `n` messages, with the open schema and `overrides`.
fn config(stack: &Stack, topic: &str, n: u64, overrides: &[&str]) -> std::path::PathBuf {
    let schema = open_schema(stack);
    let mut lines = vec![schema.as_str()];
    lines.extend_from_slice(overrides);
    stack.config(topic, n, &lines)
}

/// Publishes `messages` to `topic`, runs one batch of exactly that many, and checks
/// the run took them all.
async fn deliver(stack: &Stack, topic: &str, overrides: &[&str], messages: &[Value]) -> Outcome {
    for m in messages {
        stack.nsq.publish(topic, m.to_string());
    }
    let cfg = config(stack, topic, messages.len() as u64, overrides);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(
        out.count("received"),
        messages.len() as u64,
        "{}",
        out.stderr
    );
    assert_eq!(stack.depth(topic), 0, "every message settled");
    out
}

/// The one record of `set`.
fn only_record(stack: &Stack, set: &str) -> devstack::aerospike::StoredRecord {
    let mut records = stack.aero.records(NAMESPACE, set);
    assert_eq!(records.len(), 1, "{records:?}");
    records.remove(0)
}

/// `x-msrv records --json` of the data set: (key, generation, bins) of each record.
async fn listed(cfg: &std::path::Path) -> Vec<Value> {
    let out = command(cfg, &["records", "--json"]).output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn message() -> Value {
    json!({"id": 1, "type": "order", "customer_account_id": "c-7", "lines": [{"sku": "a", "qty": 2}]})
}

#[tokio::test]
async fn one_message_under_each_layout_read_back_by_records() {
    // `bins`: a bin per top-level field; the 19-byte name cannot be one.
    let stack = Stack::start().await;
    let out = deliver(&stack, "as-bins", &[], &[message()]).await;
    assert_eq!(out.count("invalid"), 1, "{}", out.stderr);
    let kept = only_record(&stack, REJECTED);
    let reason = kept.bins["reason"].as_str().unwrap();
    assert!(
        reason.contains("\"customer_account_id\" is 19 bytes"),
        "{reason}"
    );
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 0);
    let short = json!({"id": 2, "type": "order", "lines": [{"sku": "a", "qty": 2}]});
    let out = deliver(&stack, "as-bins", &[], std::slice::from_ref(&short)).await;
    assert_eq!(out.count("stored"), 1, "{}", out.stderr);
    let cfg = config(&stack, "as-bins", 1, &[]);
    assert_eq!(
        listed(&cfg).await,
        [json!({"key": 2, "generation": 1, "bins": short})]
    );

    // `document`: the whole message in one map bin, any field name; index bins copy
    // the fields they name.
    let stack = Stack::start().await;
    let document = [
        "message.layout = \"document\"",
        "message.index-bins = [\"/id\", \"/type\", \"/missing\"]",
    ];
    let out = deliver(&stack, "as-doc", &document, &[message()]).await;
    assert_eq!(out.count("stored"), 1, "{}", out.stderr);
    assert_eq!(out.count("invalid"), 0, "{}", out.stderr);
    let cfg = config(&stack, "as-doc", 1, &document);
    assert_eq!(
        listed(&cfg).await,
        [json!({"key": 1, "generation": 1, "bins": {"doc": message(), "id": 1, "type": "order"}})]
    );

    // `document` with another bin name and no index bins.
    let stack = Stack::start().await;
    let named = [
        "message.layout = \"document\"",
        "message.document-bin = \"m\"",
    ];
    deliver(&stack, "as-m", &named, &[message()]).await;
    let record = only_record(&stack, SET);
    assert_eq!(record.bins.keys().collect::<Vec<_>>(), ["m"]);
    assert_eq!(record.bins["m"], message());
}

#[tokio::test]
async fn set_and_ttl_come_from_the_message_and_bad_values_are_rejected() {
    let stack = Stack::start().await;
    let routing = [
        "aerospike.set-from = \"/kind\"",
        "aerospike.ttl-from = \"/expires\"",
    ];
    let in_an_hour = time_in(3600);
    let messages = [
        json!({"id": 1, "kind": "orders", "expires": 600}),
        json!({"id": 2, "kind": "orders", "expires": in_an_hour}),
        json!({"id": 3}),
        json!({"id": 4, "kind": 5}),
        json!({"id": 5, "kind": "a.b"}),
        json!({"id": 6, "kind": REJECTED}),
        json!({"id": 7, "expires": "tomorrow"}),
        json!({"id": 8, "expires": "2020-01-01T00:00:00Z"}),
        json!({"id": 9, "expires": 0}),
    ];
    let out = deliver(&stack, "routed", &routing, &messages).await;
    assert_eq!(out.count("stored"), 3, "{}", out.stderr);
    assert_eq!(out.count("invalid"), 6, "{}", out.stderr);

    let mut orders = stack.aero.records(NAMESPACE, "orders");
    orders.sort_by_key(|r| r.key.as_ref().and_then(Value::as_i64));
    assert_eq!(orders.len(), 2, "{orders:?}");
    let ttl = |r: &devstack::aerospike::StoredRecord| r.ttl.expect("a TTL");
    assert!((590..=600).contains(&ttl(&orders[0])), "{orders:?}");
    assert!((3590..=3600).contains(&ttl(&orders[1])), "{orders:?}");
    // No field: the configured set and TTL (the namespace's: never, here).
    let plain = only_record(&stack, SET);
    assert_eq!(plain.key, Some(json!(3)));
    assert_eq!(plain.ttl, None);

    let reasons: Vec<(i64, String)> = {
        let mut kept: Vec<_> = stack
            .aero
            .records(NAMESPACE, REJECTED)
            .into_iter()
            .map(|r| {
                let body: Value = serde_json::from_str(r.bins["body"].as_str().unwrap()).unwrap();
                (
                    body["id"].as_i64().unwrap(),
                    r.bins["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        kept.sort();
        kept
    };
    let want = [
        (4, "set: /kind is a number; a set name must be a string"),
        (5, "set: /kind is \"a.b\": a set name is 1-63 bytes"),
        (6, "set: /kind names \"rejected\", the rejected set"),
        (7, "ttl: /expires is \"tomorrow\", not an RFC 3339 time"),
        (8, "ttl: /expires is 2020-01-01T00:00:00Z, already past"),
        (9, "ttl: /expires is 0; a TTL is at least 1 second"),
    ];
    assert_eq!(reasons.len(), want.len(), "{reasons:?}");
    for ((id, reason), (want_id, want_reason)) in reasons.iter().zip(want) {
        assert_eq!(*id, want_id);
        assert!(reason.starts_with(want_reason), "{id}: {reason}");
    }
}

/// An RFC 3339 UTC time `secs` from now.
fn time_in(secs: u64) -> String {
    let at = std::time::SystemTime::now() + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[tokio::test]
async fn create_only_keeps_the_first_and_update_merges_under_redelivery() {
    let stack = Stack::start().await;
    let create_only = ["aerospike.write = \"create-only\""];
    let out = deliver(
        &stack,
        "once",
        &create_only,
        &[json!({"id": 1, "msg": "first"})],
    )
    .await;
    assert_eq!(out.count("stored"), 1);
    // The same key again (a redelivery, or a producer sending it twice): success, and
    // the record is left as it was.
    let out = deliver(
        &stack,
        "once",
        &create_only,
        &[json!({"id": 1, "msg": "second"})],
    )
    .await;
    assert_eq!(out.count("stored"), 1, "{}", out.stderr);
    assert_eq!(out.count("invalid") + out.count("requeued"), 0);
    let record = only_record(&stack, SET);
    assert_eq!(record.generation, 1);
    assert_eq!(record.bins["msg"], json!("first"));

    let stack = Stack::start().await;
    let update = ["aerospike.write = \"update\""];
    deliver(
        &stack,
        "merge",
        &update,
        &[json!({"id": 2, "a": 1, "b": 1})],
    )
    .await;
    deliver(
        &stack,
        "merge",
        &update,
        &[json!({"id": 2, "b": 2, "c": 3})],
    )
    .await;
    let record = only_record(&stack, SET);
    assert_eq!(record.generation, 2);
    let bins: Value = serde_json::to_value(&record.bins).unwrap();
    assert_eq!(bins, json!({"id": 2, "a": 1, "b": 2, "c": 3}));

    // The default, replace: the second write is the whole record.
    let stack = Stack::start().await;
    deliver(&stack, "whole", &[], &[json!({"id": 3, "a": 1, "b": 1})]).await;
    deliver(&stack, "whole", &[], &[json!({"id": 3, "b": 2})]).await;
    let record = only_record(&stack, SET);
    assert_eq!(record.generation, 2);
    let bins: Value = serde_json::to_value(&record.bins).unwrap();
    assert_eq!(bins, json!({"id": 3, "b": 2}));
}

#[tokio::test]
async fn an_older_message_never_overwrites_a_newer_record() {
    let stack = Stack::start().await;
    let guard = ["message.version = \"/ts\""];
    let versioned = |ts: i64| json!({"id": 1, "ts": ts, "msg": format!("v{ts}")});
    // Five versions of one record in one run, out of order: whatever order the server
    // applies them in, the newest is what stays.
    let out = deliver(
        &stack,
        "versions",
        &guard,
        &[
            versioned(3),
            versioned(1),
            versioned(5),
            versioned(2),
            versioned(4),
        ],
    )
    .await;
    let (stored, superseded) = (out.count("stored"), out.count("superseded"));
    assert_eq!(stored + superseded, 5, "{}", out.stderr);
    assert!(stored >= 1, "{}", out.stderr);
    let record = only_record(&stack, SET);
    assert_eq!(record.bins["ts"], json!(5));
    assert_eq!(record.bins["msg"], json!("v5"));
    assert_eq!(record.bins["version"], json!(5));
    assert_eq!(
        u64::from(record.generation),
        stored,
        "one generation per applied write"
    );

    // An older message redelivered later: counted, finished, and nothing written.
    let out = deliver(&stack, "versions", &guard, &[versioned(4)]).await;
    assert_eq!(out.count("superseded"), 1, "{}", out.stderr);
    assert_eq!(out.count("stored"), 0);
    let after = only_record(&stack, SET);
    assert_eq!(after.generation, record.generation);
    assert_eq!(after.bins, record.bins);
    // The same version again is not newer either.
    let out = deliver(&stack, "versions", &guard, &[versioned(5)]).await;
    assert_eq!(out.count("superseded"), 1, "{}", out.stderr);
    // A newer one is written.
    let out = deliver(&stack, "versions", &guard, &[versioned(6)]).await;
    assert_eq!(out.count("stored"), 1, "{}", out.stderr);
    let newest = only_record(&stack, SET);
    assert_eq!(newest.generation, record.generation + 1);
    assert_eq!(newest.bins["msg"], json!("v6"));
    // A message without a version cannot be ordered: kept with the reason.
    let out = deliver(&stack, "versions", &guard, &[json!({"id": 1, "msg": "?"})]).await;
    assert_eq!(out.count("invalid"), 1, "{}", out.stderr);
    let kept = only_record(&stack, REJECTED);
    assert_eq!(kept.bins["reason"], json!("version: no value at /ts"));
}
