//! Filter expressions against the Aerospike stand-in, built and sent by the official
//! `aerospike` crate over real sockets: single-record writes, reads, deletes and touch,
//! batch rows with a filter each (x-msrv's version guard among them), unknown results,
//! malformed and unsupported expressions, record metadata, arithmetic and scans. Every
//! check reads the stand-in's store, not only the client's answer.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aerospike::expressions::{
    self as exp, ExpType, Expression, and, bin_exists, bool_val, eq, ge, gt, int_bin, int_val, le,
    lt, not, or, string_val,
};
use aerospike::{
    BatchDeletePolicy, BatchOperation, BatchPolicy, BatchReadPolicy, BatchWritePolicy, Bin, Bins,
    Client, ClientPolicy, Error, ErrorKind, Expiration, PartitionFilter, QueryPolicy, ReadPolicy,
    RecordExistsAction, ResultCode, Statement, Value, WritePolicy, as_bin, as_key, operations,
};
use base64::Engine as _;
use devstack::aerospike::{AerospikeOptions, AerospikeServer, StoredRecord};
use futures::StreamExt;
use serde_json::json;

/// Generous bound for anything that should happen "soon" on a busy 2-core machine.
const DEADLINE: Duration = Duration::from_secs(20);
const NS: &str = "test";

async fn setup() -> (AerospikeServer, Client) {
    let server = AerospikeServer::start(AerospikeOptions::default())
        .await
        .expect("start stand-in");
    let hosts = server.addr().to_string();
    let client = tokio::time::timeout(DEADLINE, Client::new(&ClientPolicy::default(), &hosts))
        .await
        .expect("connect in time")
        .expect("client connects to the stand-in");
    (server, client)
}

/// Runs a client call with an outer bound, because a stalled server can hang a call.
async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, f)
        .await
        .expect("client call finished in time")
}

fn server_rc(e: &Error) -> Option<ResultCode> {
    match e.kind() {
        ErrorKind::Server { rc, .. } => Some(*rc),
        _ => None,
    }
}

fn write_filtered(f: Expression) -> WritePolicy {
    let mut p = WritePolicy::default();
    p.base_policy.filter_expression = Some(f);
    p
}

fn read_filtered(f: Expression) -> ReadPolicy {
    let mut p = ReadPolicy::default();
    p.base_policy.filter_expression = Some(f);
    p
}

/// The one record of a set in the stand-in's store.
fn only(server: &AerospikeServer, set: &str) -> StoredRecord {
    let mut records = server.records(NS, set);
    assert_eq!(records.len(), 1, "one record in {set}: {records:?}");
    records.remove(0)
}

/// The stored record with this user key (the tests write with `send_key`).
fn by_key(server: &AerospikeServer, set: &str, key: i64) -> StoredRecord {
    server
        .records(NS, set)
        .into_iter()
        .find(|r| r.key == Some(json!(key)))
        .unwrap_or_else(|| panic!("record {key} in {set}"))
}

/// x-msrv's ordering guard: write only if the stored version is absent or lower.
fn version_guard(v: i64) -> Expression {
    or(vec![
        not(bin_exists("version")),
        lt(int_bin("version"), int_val(v)),
    ])
}

/// An expression from raw msgpack bytes, for what the client's builders cannot make.
fn raw_exp(bytes: &[u8]) -> Expression {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    exp::from_base64(&b64).expect("valid base64")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_a_false_filter_is_filtered_out_and_changes_nothing() {
    let (server, client) = setup().await;
    let key = as_key!(NS, "put", "k");
    bounded(client.put(
        &WritePolicy::default(),
        &key,
        &[as_bin!("v", 5), as_bin!("s", "a")],
    ))
    .await
    .expect("put");

    bounded(client.put(
        &write_filtered(eq(int_bin("v"), int_val(5))),
        &key,
        &[as_bin!("s", "b")],
    ))
    .await
    .expect("filter holds: written");
    let r = only(&server, "put");
    assert_eq!((r.generation, &r.bins["s"]), (2, &json!("b")));

    let err = bounded(client.put(
        &write_filtered(eq(int_bin("v"), int_val(99))),
        &key,
        &[as_bin!("s", "c")],
    ))
    .await
    .expect_err("filter fails");
    assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut));
    let r = only(&server, "put");
    assert_eq!(r.generation, 2, "generation unchanged");
    assert_eq!(r.bins["s"], json!("b"));
    assert_eq!(r.bins["v"], json!(5));

    // operate and touch are writes: filtered the same way.
    let err = bounded(client.operate(
        &write_filtered(gt(int_bin("v"), int_val(5))),
        &key,
        &[operations::add(&as_bin!("v", 1))],
    ))
    .await
    .expect_err("operate filtered out");
    assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut));
    let err = bounded(client.touch(&write_filtered(bool_val(false)), &key))
        .await
        .expect_err("touch filtered out");
    assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut));
    let r = only(&server, "put");
    assert_eq!((r.generation, &r.bins["v"]), (2, &json!(5)));

    bounded(client.touch(&write_filtered(ge(int_bin("v"), int_val(5))), &key))
        .await
        .expect("touch passes");
    assert_eq!(only(&server, "put").generation, 3);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_write_to_a_missing_record_creates_it_unfiltered() {
    let (server, client) = setup().await;
    // The server evaluates a write's filter only on an existing record.
    bounded(client.put(
        &write_filtered(eq(int_bin("v"), int_val(99))),
        &as_key!(NS, "create", 1),
        &[as_bin!("v", 1)],
    ))
    .await
    .expect("created");
    // It does not even parse it: a type error goes unnoticed until a record exists.
    let ill_typed = eq(int_bin("v"), string_val("1"));
    let key = as_key!(NS, "create", 2);
    bounded(client.put(&write_filtered(ill_typed.clone()), &key, &[as_bin!("v", 2)]))
        .await
        .expect("created despite the ill-typed filter");
    let err = bounded(client.put(&write_filtered(ill_typed), &key, &[as_bin!("v", 3)]))
        .await
        .expect_err("now parsed");
    assert_eq!(server_rc(&err), Some(ResultCode::ParameterError));
    let stored = server.records(NS, "create");
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|r| r.generation == 1), "{stored:?}");
    let mut values: Vec<_> = stored.iter().map(|r| r.bins["v"].clone()).collect();
    values.sort_by_key(|v| v.as_i64());
    assert_eq!(values, vec![json!(1), json!(2)]);

    // update-only still needs the record, filter or not.
    let update_only = WritePolicy {
        record_exists_action: RecordExistsAction::UpdateOnly,
        ..write_filtered(bool_val(true))
    };
    let err = bounded(client.put(&update_only, &as_key!(NS, "create", 3), &[as_bin!("v", 3)]))
        .await
        .expect_err("no record to update");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyNotFoundError));
    assert_eq!(server.record_count(NS, "create"), 2);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_exists_and_deletes_obey_their_filter() {
    let (server, client) = setup().await;
    let key = as_key!(NS, "rd", "k");
    bounded(client.put(&WritePolicy::default(), &key, &[as_bin!("v", 1)]))
        .await
        .expect("put");

    let rec = bounded(client.get(
        &read_filtered(eq(int_bin("v"), int_val(1))),
        &key,
        Bins::All,
    ))
    .await
    .expect("read passes");
    assert_eq!(rec.bins["v"], Value::from(1));
    let err = bounded(client.get(
        &read_filtered(eq(int_bin("v"), int_val(2))),
        &key,
        Bins::All,
    ))
    .await
    .expect_err("read filtered out");
    assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut));
    let err = bounded(client.exists(&read_filtered(bool_val(false)), &key))
        .await
        .expect_err("exists filtered out");
    assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut));
    assert!(
        bounded(client.exists(&read_filtered(bool_val(true)), &key))
            .await
            .expect("exists")
    );
    // A missing record is not found before any filter is looked at.
    let err = bounded(client.get(
        &read_filtered(eq(int_bin("v"), string_val("ill-typed"))),
        &as_key!(NS, "rd", "nope"),
        Bins::All,
    ))
    .await
    .expect_err("missing");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyNotFoundError));

    let err = bounded(client.delete(&write_filtered(gt(int_bin("v"), int_val(1))), &key))
        .await
        .expect_err("delete filtered out");
    assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut));
    assert_eq!(server.record_count(NS, "rd"), 1, "still there");
    assert!(
        bounded(client.delete(&write_filtered(le(int_bin("v"), int_val(1))), &key))
            .await
            .expect("delete passes")
    );
    assert_eq!(server.record_count(NS, "rd"), 0);
    client.close().await.expect("close");
}

/// Writes rows of x-msrv's shape — `version` and `payload` — each guarded by its own
/// version, and returns the rows' result codes.
async fn guarded_batch(
    client: &Client,
    policy: &BatchPolicy,
    set: &str,
    rows: &[(i64, i64)],
) -> Vec<Option<ResultCode>> {
    let policies: Vec<BatchWritePolicy> = rows
        .iter()
        .map(|&(_, v)| BatchWritePolicy {
            filter_expression: Some(version_guard(v)),
            send_key: true,
            ..BatchWritePolicy::default()
        })
        .collect();
    let mut ops: Vec<BatchOperation> = rows
        .iter()
        .zip(&policies)
        .map(|(&(k, v), p)| {
            BatchOperation::write(
                p,
                as_key!(NS, set, k),
                vec![
                    operations::put(&as_bin!("version", v)),
                    operations::put(&as_bin!("payload", format!("v{v}"))),
                ],
            )
        })
        .collect();
    bounded(client.batch(policy, &mut ops))
        .await
        .expect("the batch succeeds whatever its rows answer");
    ops.iter().map(BatchOperation::result_code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_guard_writes_only_newer_rows_of_a_batch() {
    let (server, client) = setup().await;
    let set = "guard";
    let send_key = WritePolicy {
        send_key: true,
        ..WritePolicy::default()
    };
    // 1: no version bin; 2: version 3; 3: version 5; 4: version 7; 6: version "9"
    // (a string: the guard's comparison is unknown); 0 and 5: no record.
    let seed: [(i64, Vec<Bin>); 5] = [
        (1, vec![as_bin!("payload", "old")]),
        (2, vec![as_bin!("version", 3), as_bin!("payload", "old")]),
        (3, vec![as_bin!("version", 5), as_bin!("payload", "old")]),
        (4, vec![as_bin!("version", 7), as_bin!("payload", "old")]),
        (6, vec![as_bin!("version", "9"), as_bin!("payload", "old")]),
    ];
    for (k, bins) in &seed {
        bounded(client.put(&send_key, &as_key!(NS, set, *k), bins))
            .await
            .expect("seed");
    }

    let codes = guarded_batch(
        &client,
        &BatchPolicy::write_default(),
        set,
        &[(0, 1), (1, 2), (2, 4), (3, 5), (4, 6), (6, 10)],
    )
    .await;
    use ResultCode::{FilteredOut, Ok as Written};
    assert_eq!(
        codes,
        [
            Written,
            Written,
            Written,
            FilteredOut,
            FilteredOut,
            FilteredOut
        ]
        .map(Some)
    );
    let state = |k| {
        let r = by_key(&server, set, k);
        (
            r.generation,
            r.bins["version"].clone(),
            r.bins["payload"].clone(),
        )
    };
    assert_eq!(
        state(0),
        (1, json!(1), json!("v1")),
        "absent record created"
    );
    assert_eq!(state(1), (2, json!(2), json!("v2")), "absent bin: written");
    assert_eq!(
        state(2),
        (2, json!(4), json!("v4")),
        "older version: written"
    );
    assert_eq!(state(3), (1, json!(5), json!("old")), "same version: kept");
    assert_eq!(state(4), (1, json!(7), json!("old")), "newer version: kept");
    assert_eq!(state(6), (1, json!("9"), json!("old")), "unknown: kept");

    // Without respond_all_keys a FILTERED_OUT row does not end the batch: the rows
    // after it still answer and are written.
    let strict = BatchPolicy {
        respond_all_keys: false,
        ..BatchPolicy::write_default()
    };
    let codes = guarded_batch(&client, &strict, set, &[(4, 7), (5, 1), (3, 6)]).await;
    assert_eq!(codes, [FilteredOut, Written, Written].map(Some));
    assert_eq!(state(5), (1, json!(1), json!("v1")));
    assert_eq!(state(3), (2, json!(6), json!("v6")));
    assert_eq!(state(4), (1, json!(7), json!("old")));
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_reads_and_deletes_filter_each_row() {
    let (server, client) = setup().await;
    let set = "rows";
    for k in 0..3i64 {
        bounded(client.put(
            &WritePolicy::default(),
            &as_key!(NS, set, k),
            &[as_bin!("n", k)],
        ))
        .await
        .expect("seed");
    }
    let read = |n| BatchReadPolicy {
        filter_expression: Some(eq(int_bin("n"), int_val(n))),
        ..BatchReadPolicy::default()
    };
    let (r0, r1, r9) = (read(0), read(5), read(9));
    let mut reads = vec![
        BatchOperation::read(&r0, as_key!(NS, set, 0), Bins::All),
        BatchOperation::read(&r1, as_key!(NS, set, 1), Bins::All),
        BatchOperation::read(&r9, as_key!(NS, set, 9), Bins::All),
    ];
    bounded(client.batch(&BatchPolicy::default(), &mut reads))
        .await
        .expect("batch read");
    assert_eq!(reads[0].result_code(), Some(ResultCode::Ok));
    assert_eq!(
        reads[0].record().expect("row 0 read").bins["n"],
        Value::from(0)
    );
    assert_eq!(reads[1].result_code(), Some(ResultCode::FilteredOut));
    assert!(reads[1].record().is_none());
    assert_eq!(reads[2].result_code(), Some(ResultCode::KeyNotFoundError));

    let delete = |f| BatchDeletePolicy {
        filter_expression: Some(f),
        ..BatchDeletePolicy::default()
    };
    let (keep, drop) = (
        delete(gt(int_bin("n"), int_val(10))),
        delete(bool_val(true)),
    );
    let mut deletes = vec![
        BatchOperation::delete(&keep, as_key!(NS, set, 1)),
        BatchOperation::delete(&drop, as_key!(NS, set, 2)),
    ];
    bounded(client.batch(&BatchPolicy::write_default(), &mut deletes))
        .await
        .expect("batch delete");
    assert_eq!(deletes[0].result_code(), Some(ResultCode::FilteredOut));
    assert_eq!(deletes[1].result_code(), Some(ResultCode::Ok));
    let mut left: Vec<_> = server
        .records(NS, set)
        .iter()
        .map(|r| r.bins["n"].clone())
        .collect();
    left.sort_by_key(|v| v.as_i64());
    assert_eq!(left, vec![json!(0), json!(1)]);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_results_filter_out_whichever_way_they_are_negated() {
    let (server, client) = setup().await;
    let key = as_key!(NS, "unk", "k");
    bounded(client.put(&WritePolicy::default(), &key, &[as_bin!("v", "text")]))
        .await
        .expect("put");
    // An int read of a string bin is unknown, and so is every comparison with it.
    let unknown = || lt(int_bin("v"), int_val(10));
    let passes = |f: Expression| {
        let client = &client;
        let key = &key;
        async move {
            match bounded(client.get(&read_filtered(f), key, Bins::All)).await {
                Ok(_) => true,
                Err(e) if server_rc(&e) == Some(ResultCode::FilteredOut) => false,
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    };
    assert!(!passes(unknown()).await);
    assert!(!passes(not(unknown())).await);
    assert!(passes(or(vec![unknown(), bool_val(true)])).await);
    assert!(!passes(or(vec![unknown(), bool_val(false)])).await);
    assert!(!passes(and(vec![unknown(), bool_val(true)])).await);
    assert!(passes(not(and(vec![unknown(), bool_val(false)]))).await);
    assert!(!passes(exp::exclusive(vec![bool_val(true), unknown()])).await);
    // The bin read with its own type is fine.
    assert!(passes(eq(exp::string_bin("v"), string_val("text"))).await);
    assert!(passes(eq(exp::bin_type("v"), int_val(3))).await);
    assert_eq!(only(&server, "unk").generation, 1);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_filters_are_parameter_errors_and_unsupported_ops_say_so() {
    let (server, client) = setup().await;
    let key = as_key!(NS, "bad", "k");
    bounded(client.put(&WritePolicy::default(), &key, &[as_bin!("v", 1)]))
        .await
        .expect("put");
    let malformed = [
        (
            "an int compared with a string",
            eq(int_bin("v"), string_val("1")),
        ),
        ("a non-boolean filter", int_val(1)),
        (
            "an int compared with a float",
            eq(int_bin("v"), exp::float_val(1.0)),
        ),
        (
            "a 16-byte bin name",
            eq(int_bin("sixteen_chars_xx"), int_val(1)),
        ),
        ("trailing bytes", raw_exp(&[0xc3, 0xc3])),
        ("op code 200", raw_exp(&[0x91, 0xcc, 200])),
        (
            "eq with three arguments",
            raw_exp(&[0x94, 0x01, 0x01, 0x01, 0x01]),
        ),
        ("a truncated list", raw_exp(&[0x93, 0x01, 0x01])),
        ("an empty expression", raw_exp(&[])),
    ];
    for (what, f) in malformed {
        let err = bounded(client.put(&write_filtered(f), &key, &[as_bin!("v", 2)]))
            .await
            .expect_err(what);
        assert_eq!(server_rc(&err), Some(ResultCode::ParameterError), "{what}");
    }
    let unsupported = [
        (
            "a regex compare",
            exp::regex_compare("^t", aerospike::RegexFlags::NONE, exp::string_bin("v")),
        ),
        (
            "a list expression",
            gt(exp::lists::size(exp::list_bin("l"), &[]), int_val(0)),
        ),
    ];
    for (what, f) in unsupported {
        let err = bounded(client.get(&read_filtered(f), &key, Bins::All))
            .await
            .expect_err(what);
        assert_eq!(
            server_rc(&err),
            Some(ResultCode::UnsupportedFeature),
            "{what}"
        );
    }
    let r = only(&server, "bad");
    assert_eq!((r.generation, &r.bins["v"]), (1, &json!(1)));

    // A batch's own filter is parsed before its rows run: a bad one fails the batch,
    // though its rows are for missing records, which a row filter never stops. (The
    // client also copies the filter into every row, and reads the batch's error
    // trailer as row 0's result.)
    let mut policy = BatchPolicy::write_default();
    policy.base_policy.filter_expression = Some(eq(int_bin("v"), string_val("x")));
    let wpol = BatchWritePolicy::default();
    let mut ops: Vec<BatchOperation> = ["new1", "new2"]
        .into_iter()
        .map(|k| {
            BatchOperation::write(
                &wpol,
                as_key!(NS, "bad", k),
                vec![operations::put(&as_bin!("v", 1))],
            )
        })
        .collect();
    match bounded(client.batch(&policy, &mut ops)).await {
        Err(e) => assert_eq!(server_rc(&e), Some(ResultCode::ParameterError)),
        Ok(()) => assert_eq!(ops[0].result_code(), Some(ResultCode::ParameterError)),
    }
    assert_eq!(server.record_count(NS, "bad"), 1, "no row written");

    // A row's own bad filter fails that row only, once a record exists for it.
    let bad_row = BatchWritePolicy {
        filter_expression: Some(int_val(1)),
        ..BatchWritePolicy::default()
    };
    let mut ops = vec![
        BatchOperation::write(
            &bad_row,
            key.clone(),
            vec![operations::put(&as_bin!("v", 5))],
        ),
        BatchOperation::write(
            &wpol,
            as_key!(NS, "bad", "other"),
            vec![operations::put(&as_bin!("v", 5))],
        ),
    ];
    bounded(client.batch(&BatchPolicy::write_default(), &mut ops))
        .await
        .expect("batch");
    assert_eq!(ops[0].result_code(), Some(ResultCode::ParameterError));
    assert_eq!(ops[1].result_code(), Some(ResultCode::Ok));
    assert_eq!(server.record_count(NS, "bad"), 2);
    client.close().await.expect("close");
}

fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_nanos() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_key_and_arithmetic_expressions_see_the_record() {
    let (server, client) = setup().await;
    let key = as_key!(NS, "meta", "user-key");
    let before = unix_ns(SystemTime::now());
    let policy = WritePolicy {
        send_key: true,
        expiration: Expiration::Seconds(100),
        ..WritePolicy::default()
    };
    bounded(client.put(&policy, &key, &[as_bin!("n", 7), as_bin!("f", 2.5)]))
        .await
        .expect("put");
    let after = unix_ns(SystemTime::now());
    let digest_mod_3 = i64::from(u32::from_le_bytes(
        key.digest()[16..20].try_into().expect("4 bytes"),
    )) % 3;

    // Each check holds, and a variant that must not hold is filtered out.
    let checks: Vec<(&str, Expression, Expression)> = vec![
        ("key_exists", exp::key_exists(), not(exp::key_exists())),
        (
            "string key",
            eq(exp::key(ExpType::String), string_val("user-key")),
            eq(exp::key(ExpType::String), string_val("other")),
        ),
        (
            "set name",
            eq(exp::set_name(), string_val("meta")),
            eq(exp::set_name(), string_val("other")),
        ),
        (
            "ttl",
            and(vec![
                gt(exp::ttl(), int_val(90)),
                le(exp::ttl(), int_val(100)),
            ]),
            gt(exp::ttl(), int_val(100)),
        ),
        (
            "void time in Unix nanoseconds",
            gt(exp::void_time(), int_val(before + 90_000_000_000)),
            gt(exp::void_time(), int_val(after + 101_000_000_000)),
        ),
        (
            "last update in Unix nanoseconds, at millisecond precision",
            and(vec![
                ge(exp::last_update(), int_val(before - 1_000_000)),
                le(exp::last_update(), int_val(after)),
            ]),
            gt(exp::last_update(), int_val(after)),
        ),
        (
            "since update in milliseconds",
            lt(exp::since_update(), int_val(60_000)),
            lt(exp::since_update(), int_val(0)),
        ),
        (
            "digest modulo",
            eq(exp::digest_modulo(3), int_val(digest_mod_3)),
            eq(exp::digest_modulo(3), int_val((digest_mod_3 + 1) % 3)),
        ),
        (
            "record size in 16-byte blocks",
            and(vec![
                gt(exp::record_size(), int_val(0)),
                eq(exp::num_mod(exp::record_size(), int_val(16)), int_val(0)),
            ]),
            eq(exp::record_size(), int_val(0)),
        ),
        (
            "not a tombstone",
            not(exp::is_tombstone()),
            exp::is_tombstone(),
        ),
        (
            "arithmetic",
            eq(exp::num_add(vec![int_bin("n"), int_val(3)]), int_val(10)),
            eq(exp::num_mul(vec![int_bin("n"), int_val(3)]), int_val(20)),
        ),
        (
            "float arithmetic and conversion",
            eq(
                exp::to_int(exp::num_mul(vec![exp::float_bin("f"), exp::float_val(4.0)])),
                int_val(10),
            ),
            gt(exp::float_bin("f"), exp::float_val(2.5)),
        ),
        (
            "let and cond",
            exp::exp_let(vec![
                exp::def("x", exp::num_sub(vec![int_bin("n"), int_val(2)])),
                exp::cond(vec![
                    gt(exp::var("x"), int_val(4)),
                    eq(exp::var("x"), int_val(5)),
                    bool_val(false),
                ]),
            ]),
            exp::exp_let(vec![
                exp::def("x", int_bin("n")),
                lt(exp::var("x"), int_val(7)),
            ]),
        ),
    ];
    for (what, holds, fails) in checks {
        bounded(client.get(&read_filtered(holds), &key, Bins::All))
            .await
            .unwrap_or_else(|e| panic!("{what} should hold: {e}"));
        let err = bounded(client.get(&read_filtered(fails), &key, Bins::All))
            .await
            .expect_err(what);
        assert_eq!(server_rc(&err), Some(ResultCode::FilteredOut), "{what}");
    }
    assert_eq!(only(&server, "meta").generation, 1);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_stream_only_the_records_the_filter_matches() {
    let (server, client) = setup().await;
    for i in 0..20i64 {
        bounded(client.put(
            &WritePolicy::default(),
            &as_key!(NS, "scan", i),
            &[as_bin!("i", i)],
        ))
        .await
        .expect("put");
    }
    let scan = |policy: QueryPolicy| {
        let client = &client;
        async move {
            let rs = bounded(client.query(
                &policy,
                PartitionFilter::all(),
                Statement::new(NS, "scan", Bins::All),
            ))
            .await
            .expect("query");
            let mut stream = rs.into_stream();
            let mut seen = Vec::new();
            while let Some(r) = bounded(stream.next()).await {
                match r {
                    Ok(rec) => seen.push(rec.bins["i"].clone()),
                    Err(e) => return Err(e),
                }
            }
            Ok(seen)
        }
    };
    let mut filtered = QueryPolicy::default();
    filtered.base_policy.filter_expression = Some(ge(int_bin("i"), int_val(15)));
    let mut seen = scan(filtered.clone()).await.expect("scan");
    seen.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(seen, (15..20).map(Value::from).collect::<Vec<_>>());

    // Filtered-out records do not count against max_records.
    filtered.max_records = 3;
    let seen = scan(filtered).await.expect("scan");
    assert!(
        !seen.is_empty() && seen.len() <= 3,
        "{} records with max_records 3",
        seen.len()
    );
    assert!(seen.iter().all(|v| matches!(v, Value::Int(i) if *i >= 15)));

    let mut bad = QueryPolicy::default();
    bad.base_policy.filter_expression = Some(int_val(1));
    let err = scan(bad).await.expect_err("malformed filter");
    assert_eq!(server_rc(&err), Some(ResultCode::ParameterError));
    assert_eq!(server.record_count(NS, "scan"), 20);
    client.close().await.expect("close");
}
