//! `x-msrv rejected list|show|redrive|purge` and `x-msrv records --key/--set`, the real
//! binary against the stand-in nsqd and Aerospike over sockets. The evidence is the
//! servers' own state: what the rejected and data sets hold, and what nsqd's topics
//! and channels received.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aerospike::{Bin, Client, ClientPolicy, Key, Value, WritePolicy};
use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use devstack::nsqd::NsqOptions;
use serde_json::json;

use crate::common::{
    self, CHANNEL, NAMESPACE, REJECTED, RUN_LIMIT, SET, SHIPPED_SCHEMA, Stack, finish, quoted,
    signal,
};

/// The shipped schema (`additionalProperties: false`), and the same accepting `note`:
/// a producer started sending a new field, the schema is fixed afterwards.
fn fixed_schema() -> serde_json::Value {
    let mut schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/etc/message.schema.json"
    )))
    .unwrap();
    schema["properties"]["note"] = json!({"type": "string"});
    schema
}

impl Stack {
    /// A config for `topic` with N = `n` named `<name>.toml`, with a shorter timeout and
    /// grace than the harness's; `fixed` picks the schema that accepts `note`.
    /// `overrides` are `key = value` TOML lines (dotted keys).
    fn rejected_config(
        &self,
        name: &str,
        topic: &str,
        n: u64,
        fixed: bool,
        overrides: &[&str],
    ) -> PathBuf {
        let schema = self.dir.path().join(format!("{name}.schema.json"));
        if fixed {
            std::fs::write(&schema, fixed_schema().to_string()).unwrap();
        } else {
            std::fs::copy(SHIPPED_SCHEMA, &schema).unwrap();
        }
        self.config_file(topic, n)
            .set("timeout", "\"3s\"")
            .set("grace", "\"2s\"")
            .set("message.schema", quoted(schema.display()))
            .overrides(overrides)
            .write(&self.dir.path().join(format!("{name}.toml")))
    }

    /// The rejected set as the stand-in holds it: key → bins.
    fn rejected(&self) -> Vec<(String, serde_json::Value)> {
        self.aero
            .records(NAMESPACE, REJECTED)
            .into_iter()
            .map(|r| {
                let key = r.key.and_then(|k| k.as_str().map(str::to_owned));
                (key.expect("a string key"), json!(r.bins))
            })
            .collect()
    }

    fn rejected_count(&self) -> usize {
        self.aero.record_count(NAMESPACE, REJECTED)
    }

    /// Messages nsqd took into `topic` since it started.
    fn topic_count(&self, topic: &str) -> u64 {
        self.nsq
            .stats()
            .topics
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.topic_name == topic)
            .map_or(0, |t| t.message_count)
    }

    /// Runs x-msrv once with `config` and checks that it took `received` messages.
    async fn consume(&self, config: &Path, received: u64) {
        let out = run(config, &["--summary-json"]).await;
        assert_eq!(out.code(), 0, "{out}");
        let summary = out.json_lines().pop().unwrap();
        assert_eq!(summary["received"], received, "{out}");
    }
}

/// A message the shipped schema refuses (the field `note`) and the fixed one accepts.
fn noted_message(id: u64) -> String {
    format!(r#"{{"id": {id}, "msg": "message {id}", "note": "new field"}}"#)
}

/// x-msrv with exactly `args` (no `--summary-json` unless given).
fn command(config: &Path, args: &[&str]) -> tokio::process::Command {
    common::x_msrv(config, args)
}

async fn run(config: &Path, args: &[&str]) -> common::Outcome {
    common::run_plain(config, args).await
}

fn now_ns() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// Writes a rejected record as x-msrv does (same key form and bins), with a chosen
/// nsqd timestamp: nsqd stamps what it takes with the current time, so a message from
/// hours ago cannot be made through it.
async fn put_rejected(
    aero: &AerospikeServer,
    id: &str,
    ts: i64,
    topic: &str,
    reason: &str,
    body: &str,
) -> String {
    let client = Client::new(&ClientPolicy::default(), &aero.addr().to_string())
        .await
        .unwrap();
    let key_text = format!("{id}-{ts}");
    let key = Key::new(NAMESPACE, REJECTED, Value::String(key_text.clone())).unwrap();
    let policy = WritePolicy {
        send_key: true,
        ..WritePolicy::default()
    };
    let bins = [
        Bin::new("body", Value::String(body.to_owned())),
        Bin::new("reason", Value::String(reason.to_owned())),
        Bin::new("attempts", Value::Int(1)),
        Bin::new("nsq_ts", Value::Int(ts)),
        Bin::new("topic", Value::String(topic.to_owned())),
        Bin::new("channel", Value::String(CHANNEL.to_owned())),
    ];
    client.put(&policy, &key, &bins).await.unwrap();
    client.close().await.unwrap();
    key_text
}

/// Three kinds of rejected messages on two topics, and one kept three hours ago.
/// Returns the stack, a config, the old record's key and the moment between the two
/// topics' runs.
async fn mixed_stack() -> (Stack, PathBuf, String, i64) {
    let stack = Stack::start().await;
    for i in 0..3 {
        stack.nsq.publish("alpha", format!("not json {i}"));
    }
    stack.nsq.publish("alpha", r#"{"msg": "no id"}"#);
    stack.nsq.publish("alpha", noted_message(1));
    let alpha = stack.rejected_config("alpha", "alpha", 5, false, &[]);
    stack.consume(&alpha, 5).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = now_ns();
    tokio::time::sleep(Duration::from_millis(20)).await;
    stack.nsq.publish("beta", "not json either");
    stack.nsq.publish("beta", noted_message(2));
    stack
        .consume(&stack.rejected_config("beta", "beta", 2, false, &[]), 2)
        .await;
    let old = put_rejected(
        &stack.aero,
        "0a0b0c0d0e0f0001",
        now_ns() - 3 * 3600 * 1_000_000_000,
        "alpha",
        "invalid JSON at line 1 column 1: expected value",
        "old garbage",
    )
    .await;
    assert_eq!(stack.rejected_count(), 8);
    (stack, alpha, old, between)
}

fn keys_of(lines: &[serde_json::Value]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_owned())
        .collect()
}

/// The stand-in's rejected keys whose bins satisfy `pick`.
fn held_keys(stack: &Stack, pick: impl Fn(&serde_json::Value) -> bool) -> BTreeSet<String> {
    stack
        .rejected()
        .into_iter()
        .filter(|(_, bins)| pick(bins))
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test]
async fn list_filters_and_show() {
    let (stack, cfg, old, between) = mixed_stack().await;
    let before = stack.rejected();

    // No filter: everything, oldest first, with the stable JSON fields.
    let all = run(&cfg, &["rejected", "list", "--json"]).await;
    assert_eq!(all.code(), 0, "{all}");
    let lines = all.json_lines();
    assert_eq!(keys_of(&lines), held_keys(&stack, |_| true), "{all}");
    assert_eq!(lines[0]["key"], old.as_str(), "oldest first");
    let ts: Vec<i64> = lines
        .iter()
        .map(|l| l["nsq_ts"].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    for line in &lines {
        let (_, bins) = before
            .iter()
            .find(|(k, _)| k == line["key"].as_str().unwrap())
            .unwrap();
        assert_eq!(line["body"], bins["body"], "{line}");
        assert_eq!(line["reason"], bins["reason"]);
        assert_eq!(line["topic"], bins["topic"]);
        assert_eq!(line["nsq_ts"], bins["nsq_ts"]);
        assert_eq!(line["body_encoding"], "utf8");
        assert_eq!(line["cut"], false);
    }

    // --reason: a substring of the reason.
    let json = run(
        &cfg,
        &["rejected", "list", "--json", "--reason", "invalid JSON"],
    )
    .await;
    let want = held_keys(&stack, |b| {
        b["reason"].as_str().unwrap().contains("invalid JSON")
    });
    assert_eq!(want.len(), 5, "3 + 1 on alpha, 1 on beta");
    assert_eq!(keys_of(&json.json_lines()), want, "{json}");

    // --topic.
    let beta = run(&cfg, &["rejected", "list", "--json", "--topic", "beta"]).await;
    assert_eq!(
        keys_of(&beta.json_lines()),
        held_keys(&stack, |b| b["topic"] == "beta")
    );
    assert_eq!(beta.json_lines().len(), 2);

    // --since as a duration: the record from three hours ago is out, then in.
    let recent = run(&cfg, &["rejected", "list", "--json", "--since", "2h"]).await;
    let recent = keys_of(&recent.json_lines());
    assert_eq!(recent.len(), 7);
    assert!(!recent.contains(&old));
    let wide = run(&cfg, &["rejected", "list", "--json", "--since", "4h"]).await;
    assert_eq!(wide.json_lines().len(), 8);

    // --since as an RFC 3339 time, in another offset: only beta's came after it.
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(between))
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(5, 30, 0).unwrap());
    let at = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(at.contains("+05:30"), "{at}");
    let after = run(&cfg, &["rejected", "list", "--json", "--since", &at]).await;
    assert_eq!(
        keys_of(&after.json_lines()),
        held_keys(&stack, |b| b["nsq_ts"].as_i64().unwrap() >= between),
        "{after}"
    );
    assert_eq!(after.json_lines().len(), 2);

    // Filters combine; --limit keeps the oldest.
    let both = run(
        &cfg,
        &[
            "rejected", "list", "--json", "--reason", "schema", "--topic", "alpha",
        ],
    )
    .await;
    assert_eq!(both.json_lines().len(), 2, "{both}");
    let limited = run(&cfg, &["rejected", "list", "--json", "--limit", "3"]).await;
    let limited = limited.json_lines();
    assert_eq!(limited.len(), 3);
    assert_eq!(limited[..], lines[..3]);

    // The readable listing: a header with the count, each key, reason and body.
    let text = run(&cfg, &["rejected", "list", "--topic", "beta"]).await;
    assert_eq!(text.code(), 0, "{text}");
    assert!(
        text.stdout
            .starts_with("2 rejected message(s) in test.rejected with topic \"beta\""),
        "{text}"
    );
    for key in held_keys(&stack, |b| b["topic"] == "beta") {
        assert!(text.stdout.contains(&key), "{text}");
    }
    assert!(
        text.stdout.contains("    body:   not json either"),
        "{text}"
    );
    assert!(text.stdout.contains("    reason: schema: "), "{text}");

    // A bad --since names the option and the input: usage error.
    let bad = run(&cfg, &["rejected", "list", "--since", "yesterday"]).await;
    assert_eq!(bad.code(), 2, "{bad}");
    assert!(
        bad.stderr.contains("--since") && bad.stderr.contains("yesterday"),
        "{bad}"
    );

    // show: every field, the body in full; --json the same fields as list.
    let noted = held_keys(&stack, |b| {
        b["topic"] == "beta" && b["reason"].as_str().unwrap().contains("schema")
    });
    let id = noted.first().unwrap();
    let shown = run(&cfg, &["rejected", "show", id]).await;
    assert_eq!(shown.code(), 0, "{shown}");
    for field in [
        "key:",
        "topic:      beta",
        "channel:    x-msrv",
        "nsq_ts:",
        "attempts:   1",
        "reason:     schema:",
        "generation: 1",
        "body_len:",
        "body:\n",
    ] {
        assert!(shown.stdout.contains(field), "{field} in {shown}");
    }
    assert!(shown.stdout.contains(&format!("key:        {id}")));
    assert!(
        shown.stdout.ends_with(&format!("{}\n", noted_message(2))),
        "{shown}"
    );
    let shown = run(&cfg, &["rejected", "show", id, "--json"]).await;
    let v = &shown.json_lines()[0];
    assert_eq!(v["body"], noted_message(2));
    assert_eq!(v["key"], id.as_str());

    // show of a key that is not there: a clear message and exit 66.
    let missing = run(&cfg, &["rejected", "show", "0000000000000000-1"]).await;
    assert_eq!(missing.code(), 66, "{missing}");
    assert!(
        missing
            .stderr
            .contains("no rejected message with key \"0000000000000000-1\""),
        "{missing}"
    );

    // Reading changed nothing.
    assert_eq!(stack.rejected(), before);
}

/// The issue's done-when: a strict schema keeps K messages as rejected; the schema is
/// fixed; a redrive is interrupted with SIGINT about halfway, then run again to the
/// end; a run with the fixed schema stores them. Every message is stored exactly once,
/// the rejected set ends empty, nothing is lost, and nothing was published twice.
#[tokio::test]
async fn redrive_interrupted_halfway_then_finished_stores_every_message_once() {
    const K: u64 = 400;
    const BATCH: usize = 10;
    let stack = Stack::start().await;
    for id in 0..K {
        stack.nsq.publish("events", noted_message(id));
    }
    let batch = format!("aerospike.batch-size = {BATCH}");
    let strict = stack.rejected_config("strict", "events", K, false, &[&batch]);
    stack.consume(&strict, K).await;
    assert_eq!(stack.rejected_count(), K as usize);
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 0);
    assert_eq!(stack.depth("events"), 0);
    assert_eq!(stack.topic_count("events"), K);

    let fixed = stack.rejected_config("fixed", "events", K, true, &[&batch]);
    // Slow enough to stop halfway: every call on the rejected set waits 25 ms.
    stack
        .aero
        .delay_set(REJECTED, Some(Duration::from_millis(25)));
    let child = command(&fixed, &["rejected", "redrive"]).spawn().unwrap();
    let pid = child.id().unwrap();
    let deadline = Instant::now() + RUN_LIMIT;
    while stack.rejected_count() > K as usize / 2 {
        assert!(Instant::now() < deadline, "the redrive made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal(pid, "INT");
    let first = finish(child).await;
    assert_eq!(first.code(), 130, "{first}");
    assert!(first.stdout.contains("interrupted"), "{first}");
    let left = stack.rejected_count();
    assert!(
        left > 0 && left < K as usize,
        "stopped partway: {left} of {K} left\n{first}"
    );
    // Nothing lost: every message is either still kept or back in the topic.
    let moved = K - left as u64;
    assert_eq!(stack.depth("events"), moved, "{first}");
    assert!(
        first
            .stdout
            .contains(&format!("moved {moved} of {K} message(s)")),
        "{first}"
    );
    assert!(first.stdout.contains(&format!("{left} remain")), "{first}");

    stack.aero.delay_set(REJECTED, None);
    let second = run(&fixed, &["rejected", "redrive"]).await;
    assert_eq!(second.code(), 0, "{second}");
    assert!(
        second
            .stdout
            .contains(&format!("moved {left} of {left} message(s)")),
        "{second}"
    );
    assert_eq!(stack.rejected_count(), 0);
    assert_eq!(stack.depth("events"), K);
    // nsqd got each body once more: no body was published twice (a signal is only
    // looked at between batches, each batch published and then deleted).
    assert_eq!(stack.topic_count("events"), 2 * K);

    stack.consume(&fixed, K).await;
    let stored = stack.aero.records(NAMESPACE, SET);
    let keys: BTreeSet<i64> = stored
        .iter()
        .map(|r| r.key.as_ref().and_then(|k| k.as_i64()).unwrap())
        .collect();
    assert_eq!(keys, (0..K as i64).collect::<BTreeSet<_>>());
    assert_eq!(stored.len(), K as usize);
    assert!(
        stored.iter().all(|r| r.generation == 1),
        "each message stored once"
    );
    assert!(stored.iter().all(|r| r.bins["note"] == "new field"));
    assert_eq!(stack.rejected_count(), 0);
    assert_eq!(stack.depth("events"), 0);
}

/// A crash (SIGKILL) can hit between a batch's publish and its delete: those records
/// stay and the next redrive publishes them again, at most one batch of them. Storing
/// them again rewrites the same records, so still nothing is lost or duplicated.
#[tokio::test]
async fn redrive_killed_republishes_at_most_one_batch() {
    const K: u64 = 200;
    const BATCH: u64 = 10;
    let stack = Stack::start().await;
    for id in 0..K {
        stack.nsq.publish("crash", noted_message(id));
    }
    let batch = format!("aerospike.batch-size = {BATCH}");
    stack
        .consume(
            &stack.rejected_config("strict", "crash", K, false, &[&batch]),
            K,
        )
        .await;
    let fixed = stack.rejected_config("fixed", "crash", 2 * K, true, &[&batch]);
    stack
        .aero
        .delay_set(REJECTED, Some(Duration::from_millis(20)));
    let child = command(&fixed, &["rejected", "redrive"]).spawn().unwrap();
    let pid = child.id().unwrap();
    // Killed right after a publish: nsqd has more than the rejected set lost.
    let deadline = Instant::now() + RUN_LIMIT;
    while stack.depth("crash") < K / 2 {
        assert!(Instant::now() < deadline, "the redrive made no progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    signal(pid, "KILL");
    let killed = finish(child).await;
    assert_eq!(killed.status.code(), None, "killed by the signal");
    let left = stack.rejected_count() as u64;
    assert!(left > 0 && left < K, "{left}");
    let published = stack.depth("crash");
    assert!(
        published + left >= K && published + left <= K + BATCH,
        "each message kept or published, at most one batch both: {published} + {left}"
    );
    stack.aero.delay_set(REJECTED, None);
    let rest = run(&fixed, &["rejected", "redrive"]).await;
    assert_eq!(rest.code(), 0, "{rest}");
    assert_eq!(stack.rejected_count(), 0);
    let republished = stack.depth("crash") - K;
    assert!(republished <= BATCH, "{republished} published twice");

    let total = stack.depth("crash");
    stack.consume(&fixed, total).await;
    let stored = stack.aero.records(NAMESPACE, SET);
    assert_eq!(
        stored.len(),
        K as usize,
        "every message stored, once per key"
    );
    let rewritten = stored.iter().filter(|r| r.generation > 1).count() as u64;
    assert_eq!(
        rewritten, republished,
        "the duplicates only rewrote their records"
    );
    assert_eq!(stack.rejected_count(), 0);
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let (stack, cfg, _, _) = mixed_stack().await;
    let before = stack.rejected();
    let counts = (stack.topic_count("alpha"), stack.topic_count("beta"));
    let out = run(
        &cfg,
        &["rejected", "redrive", "--dry-run", "--topic", "alpha"],
    )
    .await;
    assert_eq!(out.code(), 0, "{out}");
    let would: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("would publish "))
        .collect();
    assert_eq!(would.len(), 6, "{out}");
    for key in held_keys(&stack, |b| b["topic"] == "alpha") {
        assert!(
            would
                .iter()
                .any(|l| l.contains(&key) && l.contains("to topic alpha on nsqd")),
            "{key}: {out}"
        );
    }
    assert!(
        out.stdout.contains("nothing was published or deleted"),
        "{out}"
    );
    assert_eq!(stack.rejected(), before);
    assert_eq!(
        (stack.topic_count("alpha"), stack.topic_count("beta")),
        counts
    );
}

/// The dry run judges each body with the configuration's record stage: with the shipped
/// schema none of alpha's six would be stored; with the schema fixed to accept `note`,
/// the one noted message would, the five that are not JSON or lack an id would not.
#[tokio::test]
async fn dry_run_says_how_many_the_schema_would_now_accept() {
    let (stack, strict, _, _) = mixed_stack().await;
    let fixed = stack.rejected_config("fixed", "alpha", 5, true, &[]);
    let before = stack.rejected();
    for (cfg, stored) in [(&strict, 0), (&fixed, 1)] {
        let out = run(
            cfg,
            &["rejected", "redrive", "--dry-run", "--topic", "alpha"],
        )
        .await;
        assert_eq!(out.code(), 0, "{out}");
        let judged: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("would publish "))
            .collect();
        assert_eq!(judged.len(), 6, "{out}");
        let now_stored = judged
            .iter()
            .filter(|l| l.ends_with("; it would now be stored"))
            .count();
        assert_eq!(now_stored, stored, "{out}");
        assert_eq!(
            judged
                .iter()
                .filter(|l| l.contains("; it would be rejected again: "))
                .count(),
            6 - stored,
            "{out}"
        );
        assert!(
            out.stdout.contains(&format!(
                "dry run: would publish 6 message(s), of which this configuration would now \
                 store {stored} and reject {} again;",
                6 - stored
            )),
            "{out}"
        );
    }
    assert_eq!(stack.rejected(), before, "a dry run changes nothing");
}

/// A body too big for a record is kept cut to 64 KiB: it is not the message, so a
/// redrive skips it, keeps it and says so; the others go to `--to-topic`, unchanged.
#[tokio::test]
async fn cut_bodies_are_skipped_and_kept_others_go_to_the_given_topic() {
    let stack = Stack::start_with_both(
        NsqOptions::default(),
        AerospikeOptions {
            max_record_size: 100_000,
            ..AerospikeOptions::default()
        },
    )
    .await;
    let big = "x".repeat(150_000);
    stack.nsq.publish("orig", big.clone());
    stack.nsq.publish("orig", noted_message(1));
    stack.nsq.publish("orig", "short garbage");
    let cfg = stack.rejected_config("orig", "orig", 3, false, &[]);
    stack.consume(&cfg, 3).await;
    let cut = held_keys(&stack, |b| b.get("body_len").is_some());
    assert_eq!(cut.len(), 1, "{:?}", stack.rejected());
    let cut = cut.first().unwrap().clone();
    let orig_count = stack.topic_count("orig");

    // list and show say it is cut.
    let listed = run(&cfg, &["rejected", "list", "--json"]).await;
    let line = listed
        .json_lines()
        .into_iter()
        .find(|l| l["key"] == cut.as_str())
        .unwrap();
    assert_eq!(line["cut"], true);
    assert_eq!(line["body_len"], 150_000);
    assert_eq!(line["body"].as_str().unwrap().len(), 64 * 1024);

    stack.nsq.create_channel("fixed", "check");
    let out = run(&cfg, &["rejected", "redrive", "--to-topic", "fixed"]).await;
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stdout
            .contains(&format!("skipped {cut}: its body was 150000 bytes")),
        "{out}"
    );
    assert!(out.stdout.contains("moved 2 of 2 message(s)"), "{out}");
    assert_eq!(
        stack
            .rejected()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>(),
        std::slice::from_ref(&cut),
        "the cut one is kept"
    );
    let mut bodies: Vec<String> = stack
        .nsq
        .messages("fixed", "check")
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["short garbage".to_owned(), noted_message(1)]);
    assert_eq!(
        stack.topic_count("orig"),
        orig_count,
        "nothing to the old topic"
    );

    // Run again: still skipped, still kept.
    let again = run(&cfg, &["rejected", "redrive"]).await;
    assert_eq!(again.code(), 0, "{again}");
    assert!(again.stdout.contains(&format!("skipped {cut}")), "{again}");
    assert_eq!(stack.rejected_count(), 1);
}

#[tokio::test]
async fn purge_with_filters_needs_yes_without_a_terminal() {
    let (stack, cfg, old, _) = mixed_stack().await;
    let before = stack.rejected();

    // No terminal, no --yes: refused, nothing deleted.
    let refused = run(&cfg, &["rejected", "purge", "--reason", "invalid JSON"]).await;
    assert_eq!(refused.code(), 2, "{refused}");
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(stack.rejected(), before);

    // --since 2h spares the old one; --reason picks the non-JSON ones.
    let out = run(
        &cfg,
        &[
            "rejected",
            "purge",
            "--yes",
            "--reason",
            "invalid JSON",
            "--since",
            "2h",
        ],
    )
    .await;
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("deleted 4 of 4"), "{out}");
    let left = stack.rejected();
    assert_eq!(left.len(), 4);
    assert!(left.iter().any(|(k, _)| *k == old));
    assert!(
        left.iter()
            .filter(|(k, _)| *k != old)
            .all(|(_, b)| b["reason"].as_str().unwrap().starts_with("schema")),
        "{left:?}"
    );

    // --topic with --limit: the oldest of beta only.
    let out = run(
        &cfg,
        &["rejected", "purge", "-y", "--topic", "beta", "--limit", "1"],
    )
    .await;
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("deleted 1 of 1"), "{out}");
    assert_eq!(stack.rejected_count(), 3);

    // Nothing matching: nothing deleted, success.
    let none = run(&cfg, &["rejected", "purge", "-y", "--topic", "nope"]).await;
    assert_eq!(none.code(), 0, "{none}");
    assert!(none.stdout.contains("nothing deleted"), "{none}");
    assert_eq!(stack.rejected_count(), 3);

    let all = run(&cfg, &["rejected", "purge", "--yes"]).await;
    assert!(all.stdout.contains("deleted 3 of 3"), "{all}");
    assert_eq!(stack.rejected_count(), 0);
}

#[tokio::test]
async fn records_by_key_integer_string_and_missing() {
    let stack = Stack::start().await;
    for id in 0..3 {
        stack
            .nsq
            .publish("keys", format!(r#"{{"id": {id}, "msg": "m{id}"}}"#));
    }
    stack.nsq.publish("keys", "not json");
    let cfg = stack.rejected_config("keys", "keys", 4, false, &[]);
    stack.consume(&cfg, 4).await;

    // An integer key.
    let one = run(&cfg, &["records", "--key", "1", "--json"]).await;
    assert_eq!(one.code(), 0, "{one}");
    let v = &one.json_lines()[0];
    assert_eq!(v["key"], 1);
    assert_eq!(v["bins"]["msg"], "m1");
    let text = run(&cfg, &["records", "--key", "2"]).await;
    assert!(text.stdout.starts_with("key=2 generation=1 "), "{text}");

    // Missing: a clear message naming the key and how it was read, exit 66.
    let missing = run(&cfg, &["records", "--key", "99"]).await;
    assert_eq!(missing.code(), 66, "{missing}");
    assert!(
        missing
            .stderr
            .contains("no record with the integer key \"99\" in test.messages"),
        "{missing}"
    );
    assert!(missing.stderr.contains("--string-key"), "{missing}");
    let as_string = run(&cfg, &["records", "--key", "1", "--string-key"]).await;
    assert_eq!(
        as_string.code(),
        66,
        "the record's key is the integer 1: {as_string}"
    );
    assert!(as_string.stderr.contains("string key \"1\""), "{as_string}");

    // A string key: the rejected record, and a record of another set.
    let (id, _) = stack.rejected().pop().unwrap();
    let rejected = run(&cfg, &["records", "--rejected", "--key", &id, "--json"]).await;
    assert_eq!(rejected.code(), 0, "{rejected}");
    assert_eq!(rejected.json_lines()[0]["bins"]["body"], "not json");

    let client = Client::new(&ClientPolicy::default(), &stack.aero.addr().to_string())
        .await
        .unwrap();
    let policy = WritePolicy {
        send_key: true,
        ..WritePolicy::default()
    };
    let key = Key::new(NAMESPACE, "other", Value::String("7".into())).unwrap();
    client
        .put(&policy, &key, &[Bin::new("v", Value::Int(70))])
        .await
        .unwrap();
    client.close().await.unwrap();
    let other = run(
        &cfg,
        &[
            "records",
            "--set",
            "other",
            "--key",
            "7",
            "--string-key",
            "--json",
        ],
    )
    .await;
    assert_eq!(other.code(), 0, "{other}");
    assert_eq!(other.json_lines()[0]["bins"]["v"], 70);
    assert_eq!(other.json_lines()[0]["key"], "7");
    let listed = run(&cfg, &["records", "--set", "other", "--json"]).await;
    assert_eq!(listed.json_lines().len(), 1, "{listed}");
    let wrong = run(&cfg, &["records", "--set", "other", "--key", "7"]).await;
    assert_eq!(wrong.code(), 66, "7 read as an integer: {wrong}");
}
