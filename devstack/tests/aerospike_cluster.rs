//! The two-node Aerospike stand-in cluster driven by the official `aerospike` crate:
//! discovery of both nodes from one seed, writes routed to each partition's master,
//! a node stopped mid-stream (errors, then failover after the heartbeat timeout) and
//! its return.

use std::time::Duration;

use aerospike::{Client, ClientPolicy, WritePolicy, as_bin, as_key};
use devstack::aerospike::{AerospikeCluster, AerospikeClusterOptions};

/// Generous bound for anything that should happen "soon" on a busy 2-core machine.
const DEADLINE: Duration = Duration::from_secs(20);
const NS: &str = "test";
/// Short heartbeat timeout and join delay so the tests run quickly.
const FAILOVER: Duration = Duration::from_millis(500);

async fn start() -> (AerospikeCluster, Client) {
    let cluster = AerospikeCluster::start(AerospikeClusterOptions {
        failover_delay: FAILOVER,
        join_delay: FAILOVER,
        ..AerospikeClusterOptions::default()
    })
    .await
    .expect("start cluster");
    let client = tokio::time::timeout(
        DEADLINE,
        Client::new(&ClientPolicy::default(), &cluster.seed_addr().to_string()),
    )
    .await
    .expect("connect in time")
    .expect("client connects");
    (cluster, client)
}

/// Polls until the client sees `n` nodes.
async fn wait_for_nodes(client: &Client, n: usize) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while client.nodes().len() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "client sees {:?}, wanted {n} nodes",
            client.node_names()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn wp() -> WritePolicy {
    let mut p = WritePolicy::default();
    p.base_policy.total_timeout = 400;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_nodes_are_discovered_and_each_gets_its_partitions_writes() {
    let (cluster, client) = start().await;
    wait_for_nodes(&client, 2).await;
    let mut names = client.node_names();
    names.sort();
    let mut want: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| n.node_name().to_owned())
        .collect();
    want.sort();
    assert_eq!(names, want);
    assert_eq!(cluster.node(1).cluster_view().len(), 2);

    let before: Vec<u64> = cluster.nodes().iter().map(|n| n.command_count()).collect();
    for i in 0..200i64 {
        tokio::time::timeout(
            DEADLINE,
            client.put(&wp(), &as_key!(NS, "split", i), &[as_bin!("v", i)]),
        )
        .await
        .expect("in time")
        .expect("put");
    }
    let sent: Vec<u64> = cluster
        .nodes()
        .iter()
        .zip(&before)
        .map(|(n, b)| n.command_count() - b)
        .collect();
    assert_eq!(
        sent.iter().sum::<u64>(),
        200,
        "one command per put: {sent:?}"
    );
    assert!(
        sent.iter().all(|&s| s >= 50),
        "both masters get writes: {sent:?}"
    );
    assert_eq!(cluster.record_count(NS, "split"), 200);
    client.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_fails_over_to_the_survivor_and_comes_back() {
    let (cluster, client) = start().await;
    wait_for_nodes(&client, 2).await;
    let gen0 = cluster.node(0).partition_generation();

    // Writes while node 1 goes down: some fail, then all succeed again on node 0.
    let mut stored = Vec::new();
    let mut failures = 0;
    let mut i = 0i64;
    let stop_at = 50;
    let mut consecutive_ok = 0;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while consecutive_ok < 100 {
        assert!(tokio::time::Instant::now() < deadline, "no recovery");
        if i == stop_at {
            cluster.node(1).stop().await;
        }
        let key = as_key!(NS, "failover", i);
        match tokio::time::timeout(DEADLINE, client.put(&wp(), &key, &[as_bin!("v", i)]))
            .await
            .expect("in time")
        {
            Ok(()) => {
                stored.push(i);
                if i > stop_at {
                    consecutive_ok += 1;
                }
            }
            Err(_) => {
                failures += 1;
                consecutive_ok = 0;
            }
        }
        i += 1;
    }
    assert!(
        failures > 0,
        "writes to the stopped node's partitions failed first"
    );
    assert_eq!(
        cluster.node(0).cluster_view(),
        vec![cluster.node(0).node_name().to_owned()]
    );
    assert!(
        cluster.node(0).partition_generation() > gen0,
        "generation bumped"
    );
    wait_for_nodes(&client, 1).await;
    let records = cluster.records(NS, "failover");
    for k in &stored {
        assert!(
            records.iter().any(|r| r.bins["v"] == serde_json::json!(k)),
            "acknowledged write {k} kept"
        );
    }

    // Node 1 returns: after the join delay both views hold both nodes again and the
    // client sends node 1 its partitions' writes.
    cluster.node(1).restart().await;
    wait_for_nodes(&client, 2).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while cluster.node(0).cluster_view().len() != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node 1 never rejoined"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the client's tend (every second) read the new partition map.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = cluster.node(1).command_count();
    for j in 0..100i64 {
        tokio::time::timeout(
            DEADLINE,
            client.put(&wp(), &as_key!(NS, "back", j), &[as_bin!("v", j)]),
        )
        .await
        .expect("in time")
        .expect("put after rejoin");
    }
    assert!(
        cluster.node(1).command_count() - before >= 25,
        "node 1 masters its half again"
    );
    client.close().await.expect("close");
}

/// Before the heartbeat timeout the survivor keeps only its own half: writes for the
/// stopped node's partitions fail, the others succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_heartbeat_timeout_only_the_survivors_half_works() {
    let cluster = AerospikeCluster::start(AerospikeClusterOptions {
        failover_delay: Duration::from_secs(30),
        ..AerospikeClusterOptions::default()
    })
    .await
    .expect("start");
    // A client seeded with node 0 only, before node 1 stops: it learns the full map.
    let client = Client::new(&ClientPolicy::default(), &cluster.seed_addr().to_string())
        .await
        .expect("connect");
    wait_for_nodes(&client, 2).await;
    cluster.node(1).stop().await;
    // Writes to node 1's partitions fail (connection refused); node 0's succeed,
    // since node 0 is still master of its half.
    let mut ok = 0;
    let mut failed = 0;
    for i in 0..40i64 {
        match client
            .put(&wp(), &as_key!(NS, "dead", i), &[as_bin!("v", i)])
            .await
        {
            Ok(()) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
    assert_eq!(
        cluster.node(0).cluster_view().len(),
        2,
        "not failed over yet"
    );
    client.close().await.expect("close");
}
