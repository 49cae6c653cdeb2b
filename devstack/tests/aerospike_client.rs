//! The Aerospike stand-in driven by the official `aerospike` crate over real sockets:
//! every particle type, record-exists actions and generations with the server's result
//! codes, operate, batch with per-row results, scans, size limits and fault injection.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aerospike::{
    BatchOperation, BatchPolicy, BatchReadPolicy, BatchWritePolicy, Bin, Bins, Client,
    ClientPolicy, Error, ErrorKind, Expiration, GenerationPolicy, Key, PartitionFilter,
    QueryPolicy, ReadPolicy, RecordExistsAction, ResultCode, Statement, Value, WritePolicy, as_bin,
    as_key, operations,
};
use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use futures::StreamExt;
use serde_json::json;

/// Generous bound for anything that should happen "soon" on a busy 2-core machine.
const DEADLINE: Duration = Duration::from_secs(20);
const NS: &str = "test";

async fn start(opts: AerospikeOptions) -> (AerospikeServer, Client) {
    let server = AerospikeServer::start(opts).await.expect("start stand-in");
    let client = connect(&server).await;
    (server, client)
}

async fn connect(server: &AerospikeServer) -> Client {
    let hosts = server.addr().to_string();
    tokio::time::timeout(DEADLINE, Client::new(&ClientPolicy::default(), &hosts))
        .await
        .expect("connect in time")
        .expect("client connects to the stand-in")
}

async fn default_setup() -> (AerospikeServer, Client) {
    start(AerospikeOptions::default()).await
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

fn wp() -> WritePolicy {
    WritePolicy::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_every_particle_type() {
    let (server, client) = default_setup().await;
    let key = as_key!(NS, "types", "k1");
    let mut map = HashMap::new();
    map.insert(Value::from("a"), Value::from(1));
    let bins = vec![
        as_bin!("int", 42),
        as_bin!("float", 1.5),
        as_bin!("str", "hello"),
        as_bin!("blob", vec![1u8, 2, 3]),
        as_bin!("bool", true),
        Bin::new("list", Value::List(vec![Value::from("x"), Value::from(7)])),
        Bin::new("map", Value::HashMap(map)),
    ];
    bounded(client.put(&wp(), &key, &bins)).await.expect("put");
    let rec = bounded(client.get(&ReadPolicy::default(), &key, Bins::All))
        .await
        .expect("get");
    assert_eq!(rec.bins["int"], Value::from(42));
    assert_eq!(rec.bins["float"], Value::from(1.5));
    assert_eq!(rec.bins["str"], Value::from("hello"));
    assert_eq!(rec.bins["blob"], Value::Blob(vec![1, 2, 3]));
    assert_eq!(rec.bins["bool"], Value::Bool(true));
    assert_eq!(
        rec.bins["list"],
        Value::List(vec![Value::from("x"), Value::from(7)])
    );
    match &rec.bins["map"] {
        Value::HashMap(m) => assert_eq!(m.get(&Value::from("a")), Some(&Value::from(1))),
        Value::OrderedMap(m) => assert_eq!(m.get(&Value::from("a")), Some(&Value::from(1))),
        other => panic!("map bin came back as {other:?}"),
    }
    assert_eq!(rec.generation, 1);

    let stored = server.records(NS, "types");
    assert_eq!(stored.len(), 1);
    let b = &stored[0].bins;
    assert_eq!(b["int"], json!(42));
    assert_eq!(b["float"], json!(1.5));
    assert_eq!(b["str"], json!("hello"));
    assert_eq!(b["blob"], json!([1, 2, 3]));
    assert_eq!(b["bool"], json!(true));
    assert_eq!(b["list"], json!(["x", 7]));
    assert_eq!(b["map"], json!({"a": 1}));
    assert_eq!(stored[0].key, None, "send_key is off by default");
    assert_eq!(&stored[0].digest[..], &key.digest()[..]);

    // A subset of bins.
    let rec = bounded(client.get(&ReadPolicy::default(), &key, ["int", "nope"]))
        .await
        .expect("get some bins");
    assert_eq!(rec.bins.len(), 1);
    assert_eq!(rec.bins["int"], Value::from(42));
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_record_is_key_not_found() {
    let (_server, client) = default_setup().await;
    let key = as_key!(NS, "missing", 1);
    let err = bounded(client.get(&ReadPolicy::default(), &key, Bins::All))
        .await
        .expect_err("no such record");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyNotFoundError));
    assert!(
        !bounded(client.exists(&ReadPolicy::default(), &key))
            .await
            .expect("exists")
    );
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_exists_actions_answer_like_the_server() {
    let (server, client) = default_setup().await;
    let key = as_key!(NS, "rea", "k");
    let policy = |a| WritePolicy {
        record_exists_action: a,
        ..WritePolicy::default()
    };

    let err = bounded(client.put(
        &policy(RecordExistsAction::UpdateOnly),
        &key,
        &[as_bin!("a", 1)],
    ))
    .await
    .expect_err("update-only on a missing record");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyNotFoundError));
    let err = bounded(client.put(
        &policy(RecordExistsAction::ReplaceOnly),
        &key,
        &[as_bin!("a", 1)],
    ))
    .await
    .expect_err("replace-only on a missing record");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyNotFoundError));

    bounded(client.put(
        &policy(RecordExistsAction::CreateOnly),
        &key,
        &[as_bin!("a", 1), as_bin!("b", 2)],
    ))
    .await
    .expect("create-only on a new record");
    let err = bounded(client.put(
        &policy(RecordExistsAction::CreateOnly),
        &key,
        &[as_bin!("a", 1)],
    ))
    .await
    .expect_err("create-only on an existing record");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyExistsError));

    // Update merges bins; Replace drops the ones not written.
    bounded(client.put(
        &policy(RecordExistsAction::Update),
        &key,
        &[as_bin!("c", 3)],
    ))
    .await
    .expect("update");
    assert_eq!(server.records(NS, "rea")[0].bins.len(), 3);
    bounded(client.put(
        &policy(RecordExistsAction::Replace),
        &key,
        &[as_bin!("d", 4)],
    ))
    .await
    .expect("replace");
    let stored = server.records(NS, "rea");
    assert_eq!(stored[0].bins.keys().collect::<Vec<_>>(), vec!["d"]);
    assert_eq!(stored[0].generation, 3);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_policies_are_checked() {
    let (_server, client) = default_setup().await;
    let key = as_key!(NS, "gen", "k");
    bounded(client.put(&wp(), &key, &[as_bin!("a", 1)]))
        .await
        .expect("put");
    bounded(client.put(&wp(), &key, &[as_bin!("a", 2)]))
        .await
        .expect("put again");

    let mut p = WritePolicy {
        generation_policy: GenerationPolicy::ExpectGenEqual,
        generation: 1,
        ..WritePolicy::default()
    };
    let err = bounded(client.put(&p, &key, &[as_bin!("a", 3)]))
        .await
        .expect_err("stale generation");
    assert_eq!(server_rc(&err), Some(ResultCode::GenerationError));
    p.generation = 2;
    bounded(client.put(&p, &key, &[as_bin!("a", 3)]))
        .await
        .expect("current generation");

    p.generation_policy = GenerationPolicy::ExpectGenGreater;
    p.generation = 3;
    let err = bounded(client.put(&p, &key, &[as_bin!("a", 4)]))
        .await
        .expect_err("gen-gt with equal generation");
    assert_eq!(server_rc(&err), Some(ResultCode::GenerationError));
    p.generation = 10;
    bounded(client.put(&p, &key, &[as_bin!("a", 4)]))
        .await
        .expect("greater generation");
    let rec = bounded(client.get(&ReadPolicy::default(), &key, Bins::All))
        .await
        .expect("get");
    assert_eq!(rec.generation, 4);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_exists_operate_and_null_bins() {
    let (server, client) = default_setup().await;
    let key = as_key!(NS, "ops", "k");
    bounded(client.put(
        &wp(),
        &key,
        &[as_bin!("n", 10), as_bin!("s", "mid"), as_bin!("x", 1)],
    ))
    .await
    .expect("put");
    assert!(
        bounded(client.exists(&ReadPolicy::default(), &key))
            .await
            .expect("exists")
    );

    let ops = [
        operations::add(&as_bin!("n", 5)),
        operations::append(&as_bin!("s", "-end")),
        operations::prepend(&as_bin!("s", "start-")),
        operations::get_bin("n"),
        operations::get_bin("s"),
    ];
    let rec = bounded(client.operate(&wp(), &key, &ops))
        .await
        .expect("operate");
    // One answer per op, in op order; the write ops answer nil (RESPOND_ALL_OPS).
    assert_eq!(
        rec.results.expect("per-op results"),
        vec![
            Value::Nil,
            Value::Nil,
            Value::Nil,
            Value::from(15),
            Value::from("start-mid-end")
        ]
    );

    // Adding an integer to a string bin is a type error on the server.
    let err = bounded(client.operate(&wp(), &key, &[operations::add(&as_bin!("s", 1))]))
        .await
        .expect_err("incr of a string");
    assert_eq!(server_rc(&err), Some(ResultCode::BinTypeError));

    // A null bin deletes the bin; deleting the last bin deletes the record.
    bounded(client.put(&wp(), &key, &[as_bin!("x", None)]))
        .await
        .expect("null bin");
    let stored = server.records(NS, "ops");
    assert!(!stored[0].bins.contains_key("x"));
    bounded(client.put(&wp(), &key, &[as_bin!("n", None), as_bin!("s", None)]))
        .await
        .expect("null all bins");
    assert_eq!(server.record_count(NS, "ops"), 0);

    bounded(client.put(&wp(), &key, &[as_bin!("a", 1)]))
        .await
        .expect("put");
    assert!(
        bounded(client.delete(&wp(), &key))
            .await
            .expect("delete existing")
    );
    assert!(
        !bounded(client.delete(&wp(), &key))
            .await
            .expect("delete missing")
    );
    assert!(
        !bounded(client.exists(&ReadPolicy::default(), &key))
            .await
            .expect("exists")
    );
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_bin_name_and_big_record_are_rejected() {
    let opts = AerospikeOptions {
        max_record_size: 4096,
        ..AerospikeOptions::default()
    };
    let (server, client) = start(opts).await;
    let key = as_key!(NS, "limits", "k");
    // The 3.0 client itself refuses long bin names in single-record commands (the
    // server's own check is covered by the batch test and the wire tests).
    let err = bounded(client.put(&wp(), &key, &[as_bin!("abcdefghijklmnop", 1)]))
        .await
        .expect_err("16-byte bin name");
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument), "{err:?}");
    bounded(client.put(&wp(), &key, &[as_bin!("abcdefghijklmno", 1)]))
        .await
        .expect("15-byte bin name is fine");

    let err = bounded(client.put(&wp(), &key, &[as_bin!("big", vec![0u8; 8192])]))
        .await
        .expect_err("record over the limit");
    assert_eq!(server_rc(&err), Some(ResultCode::RecordTooBig));
    assert!(!server.records(NS, "limits")[0].bins.contains_key("big"));
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_record_size_limit_is_one_mebibyte() {
    let (_server, client) = default_setup().await;
    let key = as_key!(NS, "limits", "big");
    let err = bounded(client.put(&wp(), &key, &[as_bin!("b", vec![0u8; 1024 * 1024])]))
        .await
        .expect_err("1 MiB blob plus overhead");
    assert_eq!(server_rc(&err), Some(ResultCode::RecordTooBig));
    bounded(client.put(&wp(), &key, &[as_bin!("b", vec![0u8; 1000 * 1000])]))
        .await
        .expect("just under 1 MiB");
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_key_is_stored_and_returned_by_scan() {
    let (server, client) = default_setup().await;
    let p = WritePolicy {
        send_key: true,
        record_exists_action: RecordExistsAction::Replace,
        ..WritePolicy::default()
    };
    for i in 0..50i64 {
        let key = as_key!(NS, "scanned", i);
        bounded(client.put(&p, &key, &[as_bin!("i", i), as_bin!("s", format!("v{i}"))]))
            .await
            .expect("put");
    }
    // Another set that must not show up.
    bounded(client.put(&p, &as_key!(NS, "other", 1), &[as_bin!("i", 1)]))
        .await
        .expect("put other");

    let stored = server.records(NS, "scanned");
    assert_eq!(stored.len(), 50);
    assert!(stored.iter().any(|r| r.key == Some(json!(7))));

    let stmt = Statement::new(NS, "scanned", Bins::All);
    let rs = bounded(client.query(&QueryPolicy::default(), PartitionFilter::all(), stmt))
        .await
        .expect("query");
    let mut stream = rs.into_stream();
    let mut seen = Vec::new();
    while let Some(r) = bounded(stream.next()).await {
        let rec = r.expect("record");
        let key = rec.key.expect("scan returns the key");
        let Some(Value::Int(k)) = key.user_key().cloned() else {
            panic!("user key missing: {key:?}");
        };
        assert_eq!(rec.bins["i"], Value::from(k));
        seen.push(k);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_rows_have_their_own_results() {
    let (server, client) = default_setup().await;
    let wpol = BatchWritePolicy::default();
    let mut ops = vec![
        BatchOperation::write(
            &wpol,
            as_key!(NS, "batch", 1),
            vec![operations::put(&as_bin!("a", 1))],
        ),
        BatchOperation::write(
            &wpol,
            as_key!(NS, "batch", 2),
            vec![operations::put(&as_bin!("abcdefghijklmnop", 2))],
        ),
        BatchOperation::write(
            &wpol,
            as_key!(NS, "batch", 3),
            vec![operations::put(&as_bin!("a", 3))],
        ),
    ];
    bounded(client.batch(&BatchPolicy::write_default(), &mut ops))
        .await
        .expect("batch write");
    assert_eq!(ops[0].result_code(), Some(ResultCode::Ok));
    assert_eq!(ops[1].result_code(), Some(ResultCode::BinNameTooLong));
    assert_eq!(ops[2].result_code(), Some(ResultCode::Ok));
    assert_eq!(server.record_count(NS, "batch"), 2);

    let rpol = BatchReadPolicy::default();
    let mut reads = vec![
        BatchOperation::read(&rpol, as_key!(NS, "batch", 1), Bins::All),
        BatchOperation::read(&rpol, as_key!(NS, "batch", 2), Bins::All),
        BatchOperation::read(&rpol, as_key!(NS, "batch", 3), Bins::All),
    ];
    bounded(client.batch(&BatchPolicy::default(), &mut reads))
        .await
        .expect("batch read");
    assert_eq!(reads[0].result_code(), Some(ResultCode::Ok));
    assert_eq!(reads[1].result_code(), Some(ResultCode::KeyNotFoundError));
    assert_eq!(reads[2].result_code(), Some(ResultCode::Ok));
    let rec = reads[2].record().expect("row 3 has a record");
    assert_eq!(rec.bins["a"], Value::from(3));

    let dpol = aerospike::BatchDeletePolicy::default();
    let mut deletes = vec![
        BatchOperation::delete(&dpol, as_key!(NS, "batch", 1)),
        BatchOperation::delete(&dpol, as_key!(NS, "batch", 2)),
    ];
    bounded(client.batch(&BatchPolicy::write_default(), &mut deletes))
        .await
        .expect("batch delete");
    assert_eq!(deletes[0].result_code(), Some(ResultCode::Ok));
    assert_eq!(deletes[1].result_code(), Some(ResultCode::KeyNotFoundError));
    assert_eq!(server.record_count(NS, "batch"), 1);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_is_applied_or_forbidden() {
    let (server, client) = default_setup().await;
    let p = WritePolicy {
        expiration: Expiration::Seconds(100),
        ..WritePolicy::default()
    };
    bounded(client.put(&p, &as_key!(NS, "ttl", 1), &[as_bin!("a", 1)]))
        .await
        .expect("put with ttl");
    let ttl = server.records(NS, "ttl")[0].ttl.expect("expires");
    assert!((90..=100).contains(&ttl), "ttl {ttl}");
    let rec = bounded(client.get(&ReadPolicy::default(), &as_key!(NS, "ttl", 1), Bins::All))
        .await
        .expect("get");
    let left = rec.time_to_live().expect("ttl reported").as_secs();
    assert!((90..=100).contains(&left), "ttl reported {left}");
    client.close().await.expect("close");
    drop(server);

    let (_server, client) = start(AerospikeOptions {
        allow_ttl: false,
        ..AerospikeOptions::default()
    })
    .await;
    let err = bounded(client.put(&p, &as_key!(NS, "ttl", 1), &[as_bin!("a", 1)]))
        .await
        .expect_err("ttl without nsup");
    assert_eq!(server_rc(&err), Some(ResultCode::FailForbidden));
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_with_answers_that_code() {
    let (server, client) = default_setup().await;
    // SERVER_MEM_ERROR: not retried by the client (KEY_BUSY would be, ending in a
    // client timeout that wraps it).
    server.fail_with(Some(8));
    let err = bounded(client.put(&wp(), &as_key!(NS, "fail", 1), &[as_bin!("a", 1)]))
        .await
        .expect_err("injected failure");
    assert_eq!(server_rc(&err), Some(ResultCode::ServerMemError));
    let mut rows = vec![BatchOperation::read(
        &BatchReadPolicy::default(),
        as_key!(NS, "fail", 1),
        Bins::All,
    )];
    let res = bounded(client.batch(&BatchPolicy::default(), &mut rows)).await;
    let failed = res.is_err() || rows[0].result_code() == Some(ResultCode::ServerMemError);
    assert!(
        failed,
        "batch under fail_with: {res:?} / {:?}",
        rows[0].result_code()
    );
    assert_eq!(server.record_count(NS, "fail"), 0);
    server.fail_with(None);
    bounded(client.put(&wp(), &as_key!(NS, "fail", 1), &[as_bin!("a", 1)]))
        .await
        .expect("works again");
    assert!(server.command_count() >= 2);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_makes_the_client_time_out() {
    let (server, client) = default_setup().await;
    server.set_delay(Some(Duration::from_secs(3)));
    let mut p = WritePolicy::default();
    p.base_policy.total_timeout = 300;
    p.base_policy.socket_timeout = 300;
    let err = bounded(client.put(&p, &as_key!(NS, "slow", 1), &[as_bin!("a", 1)]))
        .await
        .expect_err("answer comes too late");
    assert!(
        matches!(err.kind(), ErrorKind::Timeout),
        "expected a client timeout, got {err:?}"
    );
    server.set_delay(None);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_restart_keep_the_data() {
    let (server, client) = default_setup().await;
    let key = as_key!(NS, "restart", 1);
    bounded(client.put(&wp(), &key, &[as_bin!("a", 1)]))
        .await
        .expect("put");

    server.stop().await;
    let mut p = WritePolicy::default();
    p.base_policy.total_timeout = 500;
    let err = bounded(client.put(&p, &key, &[as_bin!("a", 2)]))
        .await
        .expect_err("server is down");
    assert!(
        server_rc(&err).is_none(),
        "a down server is not a server answer: {err:?}"
    );

    server.restart().await;
    // The client finds the node again on its own; poll until it does.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match bounded(client.get(&ReadPolicy::default(), &key, Bins::All)).await {
            Ok(rec) => {
                assert_eq!(rec.bins["a"], Value::from(1), "data survived the restart");
                break;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("client never reconnected: {e:?}"),
        }
    }
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_cluster_name_is_refused() {
    let server = AerospikeServer::start(AerospikeOptions {
        cluster_name: Some("alpha".to_owned()),
        ..AerospikeOptions::default()
    })
    .await
    .expect("start");
    let hosts = server.addr().to_string();
    let mut policy = ClientPolicy {
        cluster_name: Some("beta".to_owned()),
        ..ClientPolicy::default()
    };
    let res = bounded(Client::new(&policy, &hosts)).await;
    assert!(
        res.is_err(),
        "a client for another cluster must not connect"
    );
    policy.cluster_name = Some("alpha".to_owned());
    let client = bounded(Client::new(&policy, &hosts))
        .await
        .expect("right cluster name");
    client.close().await.expect("close");
}

#[allow(dead_code)]
fn _key_type_check(k: Key) -> Key {
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_requests_and_replies_work() {
    let (server, client) = default_setup().await;
    let mut wpol = WritePolicy::default();
    wpol.base_policy.use_compression = true;
    let mut rpol = ReadPolicy::default();
    rpol.base_policy.use_compression = true;
    // Big, compressible values so both directions cross the compression threshold.
    let text = "abc".repeat(2000);
    for i in 0..3i64 {
        let key = as_key!(NS, "zip", i);
        bounded(client.put(&wpol, &key, &[as_bin!("t", text.as_str())]))
            .await
            .expect("compressed put");
    }
    assert_eq!(server.record_count(NS, "zip"), 3);
    let rec = bounded(client.get(&rpol, &as_key!(NS, "zip", 1), Bins::All))
        .await
        .expect("compressed get");
    assert_eq!(rec.bins["t"], Value::from(text.as_str()));

    let mut bpol = BatchPolicy::default();
    bpol.base_policy.use_compression = true;
    let mut rows: Vec<BatchOperation> = (0..3i64)
        .map(|i| {
            BatchOperation::read(
                &BatchReadPolicy::default(),
                as_key!(NS, "zip", i),
                Bins::All,
            )
        })
        .collect();
    bounded(client.batch(&bpol, &mut rows))
        .await
        .expect("compressed batch");
    for row in &rows {
        assert_eq!(row.result_code(), Some(ResultCode::Ok));
        assert_eq!(
            row.record().expect("record").bins["t"],
            Value::from(text.as_str())
        );
    }
    client.close().await.expect("close");
}

/// What x-msrv's sink does: batch writes with Replace and send_key, then a scan sees
/// the keys; identical op lists without send_key go out as REPEAT rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_replace_with_send_key_and_repeat_rows() {
    let (server, client) = default_setup().await;
    let keyed = BatchWritePolicy {
        record_exists_action: RecordExistsAction::Replace,
        send_key: true,
        ..BatchWritePolicy::default()
    };
    let ops = vec![
        operations::put(&as_bin!("v", 1)),
        operations::put(&as_bin!("s", "x")),
    ];
    let mut rows: Vec<BatchOperation> = (0..20i64)
        .map(|i| BatchOperation::write(&keyed, as_key!(NS, "sink", i), ops.clone()))
        .collect();
    bounded(client.batch(&BatchPolicy::write_default(), &mut rows))
        .await
        .expect("batch");
    assert!(rows.iter().all(|r| r.result_code() == Some(ResultCode::Ok)));
    let stored = server.records(NS, "sink");
    assert_eq!(stored.len(), 20);
    assert!(stored.iter().all(|r| r.key.is_some() && r.generation == 1));

    // Replace drops bins not written again.
    let replace_only_v = vec![operations::put(&as_bin!("v", 2))];
    let mut rows: Vec<BatchOperation> = (0..20i64)
        .map(|i| BatchOperation::write(&keyed, as_key!(NS, "sink", i), replace_only_v.clone()))
        .collect();
    bounded(client.batch(&BatchPolicy::write_default(), &mut rows))
        .await
        .expect("batch");
    let stored = server.records(NS, "sink");
    assert!(
        stored
            .iter()
            .all(|r| r.bins.len() == 1 && r.bins["v"] == json!(2) && r.generation == 2)
    );

    // Without send_key the client repeats the previous row's header.
    let plain = BatchWritePolicy::default();
    let mut rows: Vec<BatchOperation> = (100..120i64)
        .map(|i| BatchOperation::write(&plain, as_key!(NS, "sink", i), ops.clone()))
        .collect();
    bounded(client.batch(&BatchPolicy::write_default(), &mut rows))
        .await
        .expect("batch");
    assert!(rows.iter().all(|r| r.result_code() == Some(ResultCode::Ok)));
    assert_eq!(server.record_count(NS, "sink"), 40);
    let unkeyed = server
        .records(NS, "sink")
        .into_iter()
        .filter(|r| r.key.is_none())
        .count();
    assert_eq!(unkeyed, 20);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_with_max_records_stops_early_and_empty_set_is_empty() {
    let (_server, client) = default_setup().await;
    for i in 0..30i64 {
        bounded(client.put(&wp(), &as_key!(NS, "capped", i), &[as_bin!("i", i)]))
            .await
            .expect("put");
    }
    let policy = QueryPolicy {
        max_records: 10,
        ..QueryPolicy::default()
    };
    let rs = bounded(client.query(
        &policy,
        PartitionFilter::all(),
        Statement::new(NS, "capped", Bins::All),
    ))
    .await
    .expect("query");
    let mut stream = rs.into_stream();
    let mut n = 0;
    while let Some(r) = bounded(stream.next()).await {
        r.expect("record");
        n += 1;
    }
    assert!(n > 0 && n <= 10, "got {n} records with max_records 10");

    let rs = bounded(client.query(
        &QueryPolicy::default(),
        PartitionFilter::all(),
        Statement::new(NS, "nothing-here", Bins::All),
    ))
    .await
    .expect("query");
    let mut stream = rs.into_stream();
    assert!(bounded(stream.next()).await.is_none());
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_expire_after_their_ttl() {
    let (server, client) = default_setup().await;
    let key = as_key!(NS, "expiring", 1);
    let p = WritePolicy {
        expiration: Expiration::Seconds(1),
        ..WritePolicy::default()
    };
    bounded(client.put(&p, &key, &[as_bin!("a", 1)]))
        .await
        .expect("put");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match bounded(client.get(&ReadPolicy::default(), &key, Bins::All)).await {
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(rec) => panic!("record never expired: {rec:?}"),
            Err(e) => {
                assert_eq!(server_rc(&e), Some(ResultCode::KeyNotFoundError));
                break;
            }
        }
    }
    assert_eq!(server.record_count(NS, "expiring"), 0);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_from_many_tasks_all_land() {
    let (server, client) = default_setup().await;
    let client = std::sync::Arc::new(client);
    let mut tasks = Vec::new();
    for t in 0..32i64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25i64 {
                let key = as_key!(NS, "busy", t * 1000 + i);
                bounded(client.put(&WritePolicy::default(), &key, &[as_bin!("v", i)]))
                    .await
                    .expect("put");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(server.record_count(NS, "busy"), 32 * 25);
    assert!(server.command_count() >= 32 * 25);
    client.close().await.expect("close");
}

/// A batch reply bigger than one 128 KiB block arrives in several proto frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batch_reply_spans_several_frames() {
    let (_server, client) = default_setup().await;
    let value = "v".repeat(400);
    let wpol = BatchWritePolicy::default();
    let mut rows: Vec<BatchOperation> = (0..1000i64)
        .map(|i| {
            BatchOperation::write(
                &wpol,
                as_key!(NS, "big-batch", i),
                vec![operations::put(&as_bin!("s", value.as_str()))],
            )
        })
        .collect();
    bounded(client.batch(&BatchPolicy::write_default(), &mut rows))
        .await
        .expect("batch write");
    assert!(rows.iter().all(|r| r.result_code() == Some(ResultCode::Ok)));
    let mut reads: Vec<BatchOperation> = (0..1000i64)
        .map(|i| {
            BatchOperation::read(
                &BatchReadPolicy::default(),
                as_key!(NS, "big-batch", i),
                Bins::All,
            )
        })
        .collect();
    bounded(client.batch(&BatchPolicy::default(), &mut reads))
        .await
        .expect("batch read");
    for r in &reads {
        assert_eq!(r.result_code(), Some(ResultCode::Ok));
        assert_eq!(
            r.record().expect("record").bins["s"],
            Value::from(value.as_str())
        );
    }
    client.close().await.expect("close");
}

/// The server refuses a bin delete (a nil value) under Replace, and a touch of a
/// missing record; a touch bumps the generation and sets the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_with_nil_bin_and_touch() {
    let (server, client) = default_setup().await;
    let key = as_key!(NS, "touchy", 1);
    let replace = WritePolicy {
        record_exists_action: RecordExistsAction::Replace,
        ..WritePolicy::default()
    };
    let err = bounded(client.put(&replace, &key, &[as_bin!("a", 1), as_bin!("b", None)]))
        .await
        .expect_err("nil bin under Replace");
    assert_eq!(server_rc(&err), Some(ResultCode::ParameterError));
    assert_eq!(server.record_count(NS, "touchy"), 0);

    let err = bounded(client.touch(&wp(), &key))
        .await
        .expect_err("touch of a missing record");
    assert_eq!(server_rc(&err), Some(ResultCode::KeyNotFoundError));

    bounded(client.put(&replace, &key, &[as_bin!("a", 1)]))
        .await
        .expect("put");
    let touch = WritePolicy {
        expiration: Expiration::Seconds(500),
        ..WritePolicy::default()
    };
    bounded(client.touch(&touch, &key)).await.expect("touch");
    let stored = &server.records(NS, "touchy")[0];
    assert_eq!(stored.generation, 2);
    assert!(
        stored.ttl.is_some_and(|t| (490..=500).contains(&t)),
        "{stored:?}"
    );
    assert_eq!(stored.bins["a"], json!(1));
    client.close().await.expect("close");
}

/// Community Edition refuses multi-record transactions. A real CE server accepts the
/// client's transaction-monitor write (a CDT list op) and answers ENTERPRISE_ONLY to
/// the record write; the stand-in has no CDT engine and already refuses the monitor
/// write (UNSUPPORTED_FEATURE). Either way nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_refused() {
    let (server, client) = default_setup().await;
    let mut p = WritePolicy::default();
    p.base_policy.txn = Some(std::sync::Arc::new(aerospike::Txn::new()));
    let err = bounded(client.put(&p, &as_key!(NS, "mrt", 1), &[as_bin!("a", 1)]))
        .await
        .expect_err("MRT on CE");
    assert!(
        matches!(
            server_rc(&err),
            Some(ResultCode::EnterpriseOnly | ResultCode::UnsupportedFeature)
        ),
        "{err:?}"
    );
    assert_eq!(server.record_count(NS, "mrt"), 0);
    client.close().await.expect("close");
}

/// Batch write rows: `n` keys in each of the two sets, alternating.
fn mixed_rows(set_a: &str, set_b: &str, n: i64) -> Vec<BatchOperation> {
    let wpol = BatchWritePolicy::default();
    (0..n)
        .flat_map(|i| [(set_a, i), (set_b, i)])
        .map(|(set, i)| {
            BatchOperation::write(
                &wpol,
                as_key!(NS, set, i),
                vec![operations::put(&as_bin!("v", i))],
            )
        })
        .collect()
}

/// `fail_set` fails one set's commands and batch rows; the other set keeps working,
/// and the reverse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_set_fails_only_that_set() {
    let (server, client) = default_setup().await;
    // FAIL_FORBIDDEN, what a set past its stop-writes limit answers (not retried).
    server.fail_set("data-f", Some(22));
    let err = bounded(client.put(&wp(), &as_key!(NS, "data-f", 1), &[as_bin!("v", 1)]))
        .await
        .expect_err("the failed set");
    assert_eq!(server_rc(&err), Some(ResultCode::FailForbidden));
    bounded(client.put(&wp(), &as_key!(NS, "rejected-f", 1), &[as_bin!("v", 1)]))
        .await
        .expect("the other set works");
    let err = bounded(client.get(&ReadPolicy::default(), &as_key!(NS, "data-f", 1), Bins::All))
        .await
        .expect_err("reads of the failed set fail too");
    assert_eq!(server_rc(&err), Some(ResultCode::FailForbidden));

    // A batch: only the failed set's rows carry the code; the others are written.
    let mut rows = mixed_rows("data-f", "rejected-f", 5);
    bounded(client.batch(&BatchPolicy::write_default(), &mut rows))
        .await
        .expect("batch answered");
    for (i, row) in rows.iter().enumerate() {
        let want = if i % 2 == 0 {
            ResultCode::FailForbidden
        } else {
            ResultCode::Ok
        };
        assert_eq!(row.result_code(), Some(want), "row {i}");
    }
    assert_eq!(
        server.record_count(NS, "data-f"),
        0,
        "failed rows not executed"
    );
    assert_eq!(server.record_count(NS, "rejected-f"), 5);

    // The reverse: the data set works while the rejected set fails.
    server.fail_set("data-f", None);
    server.fail_set("rejected-f", Some(22));
    let mut rows = mixed_rows("data-f", "rejected-f", 5);
    bounded(client.batch(&BatchPolicy::write_default(), &mut rows))
        .await
        .expect("batch answered");
    let codes: Vec<_> = rows.iter().map(|r| r.result_code()).collect();
    assert!(codes.iter().step_by(2).all(|c| *c == Some(ResultCode::Ok)));
    assert!(
        codes
            .iter()
            .skip(1)
            .step_by(2)
            .all(|c| *c == Some(ResultCode::FailForbidden))
    );
    assert_eq!(server.record_count(NS, "data-f"), 5);
    server.fail_set("rejected-f", None);
    bounded(client.put(&wp(), &as_key!(NS, "rejected-f", 9), &[as_bin!("v", 1)]))
        .await
        .expect("cleared");
    client.close().await.expect("close");
}

/// Without `respond_all_keys` the first failed row ends the batch with its code, as
/// the server ends a batch at a per-record error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_set_without_respond_all_keys_ends_the_batch() {
    let (server, client) = default_setup().await;
    server.fail_set("data-g", Some(22));
    let mut policy = BatchPolicy::write_default();
    policy.respond_all_keys = false;
    // Row 0 is on the working set, row 1 on the failed one.
    let mut rows = mixed_rows("rejected-g", "data-g", 3);
    let res = bounded(client.batch(&policy, &mut rows)).await;
    let ended = match &res {
        Err(e) => server_rc(e) == Some(ResultCode::FailForbidden),
        Ok(()) => rows
            .iter()
            .any(|r| r.result_code() == Some(ResultCode::FailForbidden)),
    };
    assert!(ended, "batch ended by the failed row: {res:?}");
    // The server still dispatches every row (only the answer stops): the working
    // set's rows ran, the failed set's did not.
    assert_eq!(server.record_count(NS, "rejected-g"), 3);
    assert_eq!(server.record_count(NS, "data-g"), 0);
    client.close().await.expect("close");
}

/// `delay_set` delays what touches the set (single commands and batches) while the
/// other set answers promptly; the delayed write still lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_set_delays_only_that_set() {
    let (server, client) = default_setup().await;
    server.delay_set("data-d", Some(Duration::from_secs(2)));
    let mut p = WritePolicy::default();
    p.base_policy.total_timeout = 300;
    p.base_policy.socket_timeout = 300;
    let err = bounded(client.put(&p, &as_key!(NS, "data-d", 1), &[as_bin!("v", 1)]))
        .await
        .expect_err("too late");
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");
    let started = std::time::Instant::now();
    bounded(client.put(&p, &as_key!(NS, "rejected-d", 1), &[as_bin!("v", 1)]))
        .await
        .expect("other set prompt");
    assert!(started.elapsed() < Duration::from_millis(300));

    let mut bp = BatchPolicy::write_default();
    bp.base_policy.total_timeout = 300;
    bp.base_policy.socket_timeout = 300;
    let mut rows = mixed_rows("rejected-d", "data-d", 2);
    let res = bounded(client.batch(&bp, &mut rows)).await;
    let timed_out = match &res {
        Err(e) => matches!(e.kind(), ErrorKind::Timeout),
        Ok(()) => rows.iter().all(|r| r.result_code() != Some(ResultCode::Ok)),
    };
    assert!(timed_out, "a batch touching the set is delayed: {res:?}");
    let mut rows = mixed_rows("rejected-d", "other-d", 2);
    bounded(client.batch(&bp, &mut rows))
        .await
        .expect("a batch not touching it is prompt");

    // Executed after the delay, like a slow server: the writes are in doubt, not lost.
    // Keys 1 (the put) and 0, 1 (the batch): two records.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.record_count(NS, "data-d"), 2);
    server.delay_set("data-d", None);
    bounded(client.put(&p, &as_key!(NS, "data-d", 5), &[as_bin!("v", 1)]))
        .await
        .expect("cleared");
    client.close().await.expect("close");
}

/// `stall_set` holds a set's commands in the queue: one whose client deadline passes
/// meanwhile is never executed (the server's "timed out in queue"), one whose deadline
/// is longer than the stall runs after it; in a batch, only the set's rows time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_set_times_out_in_the_queue_without_writing() {
    let (server, client) = default_setup().await;
    server.stall_set("data-s", Some(Duration::from_millis(800)));
    let mut short = WritePolicy::default();
    short.base_policy.total_timeout = 300;
    short.base_policy.socket_timeout = 300;
    short.base_policy.max_retries = 0;
    let err = bounded(client.put(&short, &as_key!(NS, "data-s", 1), &[as_bin!("v", 1)]))
        .await
        .expect_err("stalled past its deadline");
    assert!(matches!(err.kind(), ErrorKind::Timeout), "{err:?}");

    let mut long = WritePolicy::default();
    long.base_policy.total_timeout = 5000;
    long.base_policy.socket_timeout = 5000;
    let started = std::time::Instant::now();
    bounded(client.put(&long, &as_key!(NS, "data-s", 2), &[as_bin!("v", 2)]))
        .await
        .expect("a deadline longer than the stall");
    assert!(started.elapsed() >= Duration::from_millis(800));

    let mut bp = BatchPolicy::write_default();
    bp.base_policy.total_timeout = 500;
    bp.base_policy.socket_timeout = 500;
    let mut rows = mixed_rows("rejected-s", "data-s", 2);
    let _ = bounded(client.batch(&bp, &mut rows)).await;

    // Long after every stall has ended: only key 2 of the set was written; the
    // batch's rows of the other set ran.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.record_count(NS, "data-s"), 1);
    assert_eq!(server.record_count(NS, "rejected-s"), 2);
    server.stall_set("data-s", None);
    bounded(client.put(&short, &as_key!(NS, "data-s", 5), &[as_bin!("v", 1)]))
        .await
        .expect("cleared");
    client.close().await.expect("close");
}
