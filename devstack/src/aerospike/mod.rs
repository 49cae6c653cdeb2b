//! A stand-in Aerospike server (CE 7.x behaviour) for tests and the demo: one node, or a
//! cluster of nodes sharing one store ([`AerospikeCluster`]).
//!
//! # Layout
//! - [`msg`]: the wire codec (proto header, AS_MSG header, fields, ops, result codes).
//! - [`info`]: the info protocol (node identity, partition map, peers, namespaces).
//! - [`particle`]: bin values and their JSON view.
//! - [`store`]: namespaces and records, and the record-command semantics.
//! - [`exp`]: filter expressions (field 43), parsed and evaluated as the server does.
//! - [`msgpack`]: the server's reading and ordering of msgpack, for expressions.
//! - [`batch`]: batch index commands with per-row results.
//! - [`scan`]: partition scans/queries of a set.
//! - [`cluster`]: membership views and partition ownership of several nodes.
//!
//! This module: the listener, connections, fault injection and inspection API.

pub mod batch;
pub mod cluster;
pub mod exp;
pub mod info;
pub mod msg;
pub mod msgpack;
pub mod particle;
pub mod scan;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use msg::{AsMsg, ProtoHeader, ReplyHeader, ReplyOp, bits, field, rc};
use particle::{Particle, ptype};
use store::{Command, FilterExp, Store, StoreConfig};

/// One MiB: the server's default `max-record-size` (formerly `write-block-size`).
const DEFAULT_MAX_RECORD_SIZE: usize = 1024 * 1024;
/// Bytes of the admin (security) message header after the proto header.
const ADMIN_HEADER_SIZE: usize = 16;
/// Offset of the result code inside the admin header.
const ADMIN_RESULT_OFFSET: usize = 1;
/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// How to run the stand-in.
#[derive(Debug, Clone)]
pub struct AerospikeOptions {
    /// Where to listen; port 0 picks a free port (see [`AerospikeServer::addr`]).
    pub addr: SocketAddr,
    /// Namespaces the node serves; others answer NAMESPACE_NOT_FOUND (20).
    pub namespaces: Vec<String>,
    /// The node name (`node` info command), 15 hex digits like a real node id.
    pub node_name: String,
    /// The cluster name; `None` answers `null`, as an unnamed server does.
    pub cluster_name: Option<String>,
    /// The build reported by `build`; clients require at least 4.9.0.3.
    pub build: String,
    /// Larger records fail with RECORD_TOO_BIG (13); the server default is 1 MiB.
    pub max_record_size: usize,
    /// The namespace `default-ttl` in seconds (0 = records never expire).
    pub default_ttl: u32,
    /// Accept non-zero record TTLs. A CE 7 namespace with `nsup-period 0` (the default
    /// without `allow-ttl-without-nsup`) answers FORBIDDEN (22) to them; set false to
    /// mimic that configuration.
    pub allow_ttl: bool,
}

impl Default for AerospikeOptions {
    fn default() -> Self {
        AerospikeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            namespaces: vec!["test".to_owned()],
            node_name: "BB9020011AC4202".to_owned(),
            cluster_name: None,
            build: "7.2.0.0".to_owned(),
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            default_ttl: 0,
            allow_ttl: true,
        }
    }
}

/// A stored record as tests see it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// The RIPEMD-160 digest the client computed.
    pub digest: [u8; 20],
    /// The set name ("" for none).
    pub set: String,
    /// The user key, when written with `send_key`.
    pub key: Option<serde_json::Value>,
    /// Bins; lists and maps decoded, blobs as arrays of byte values.
    pub bins: BTreeMap<String, serde_json::Value>,
    pub generation: u32,
    /// Void time in seconds since 2010-01-01 (the Citrusleaf epoch), 0 = never.
    pub void_time: u32,
    /// Seconds left to live, `None` = never expires.
    pub ttl: Option<u32>,
}

/// State shared by the listener, connections and the handle of one node.
struct Shared {
    opts: AerospikeOptions,
    addr: SocketAddr,
    /// This node's index in its cluster.
    index: usize,
    cluster: Arc<ClusterState>,
    faults: Mutex<Faults>,
    commands: AtomicU64,
}

/// What the nodes of a cluster share: the records (as replication-factor 2 with
/// every node up keeps a copy everywhere) and the membership.
struct ClusterState {
    store: Mutex<Store>,
    members: Mutex<cluster::Membership>,
    /// After a node stops, the others drop it this much later (heartbeat timeout).
    failover_delay: Duration,
    /// After a node restarts, it joins the others this much later.
    join_delay: Duration,
}

impl ClusterState {
    fn members(&self) -> std::sync::MutexGuard<'_, cluster::Membership> {
        // Plain values: a poisoned lock still holds a consistent membership.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Node `index` went down: the live nodes drop it after the heartbeat timeout.
    fn node_down(self: &Arc<Self>, index: usize) {
        let epoch = {
            let mut m = self.members();
            let n = &mut m.nodes[index];
            n.alive = false;
            n.epoch += 1;
            n.epoch
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(me.failover_delay).await;
            let mut m = me.members();
            if m.nodes[index].alive || m.nodes[index].epoch != epoch {
                return;
            }
            for n in m.alive() {
                let members = m.nodes[n]
                    .view
                    .members
                    .iter()
                    .copied()
                    .filter(|&x| x != index)
                    .collect();
                m.set_view(n, members);
            }
            tracing::info!(node = index, "aerospike stand-in: node left the cluster");
        });
    }

    /// Node `index` is back: alone at first (a fresh node forms its own cluster),
    /// then, after the join delay, every live node sees every live node.
    fn node_up(self: &Arc<Self>, index: usize) {
        let epoch = {
            let mut m = self.members();
            let n = &mut m.nodes[index];
            n.alive = true;
            n.epoch += 1;
            let epoch = n.epoch;
            m.set_view(index, vec![index]);
            epoch
        };
        if self.members().nodes.len() == 1 {
            return;
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(me.join_delay).await;
            let mut m = me.members();
            if !m.nodes[index].alive || m.nodes[index].epoch != epoch {
                return;
            }
            let alive = m.alive();
            for &n in &alive {
                m.set_view(n, alive.clone());
            }
            tracing::info!(node = index, "aerospike stand-in: node joined the cluster");
        });
    }
}

/// Injected faults: node-wide and per set (set names as bytes, as on the wire).
#[derive(Debug, Default)]
struct Faults {
    delay: Option<Duration>,
    fail_with: Option<u8>,
    set_delay: HashMap<Vec<u8>, Duration>,
    set_fail: HashMap<Vec<u8>, u8>,
    set_stall: HashMap<Vec<u8>, Duration>,
}

impl Faults {
    /// How long a request touching these sets waits: the longest of the node-wide
    /// delay and the sets' delays (a batch's rows run in parallel on a server, so its
    /// slowest set decides).
    fn delay_for<'a>(&self, sets: impl Iterator<Item = &'a [u8]>) -> Option<Duration> {
        sets.filter_map(|s| self.set_delay.get(s).copied())
            .chain(self.delay)
            .max()
    }

    /// How long a request touching these sets waits in the transaction queue (the
    /// longest of its sets' stalls), and which of its sets are stalled.
    fn stall_for<'a>(&self, sets: impl Iterator<Item = &'a [u8]>) -> (Duration, Vec<Vec<u8>>) {
        let mut longest = Duration::ZERO;
        let mut stalled = Vec::new();
        for set in sets {
            if let Some(d) = self.set_stall.get(set) {
                longest = longest.max(*d);
                if !stalled.iter().any(|s: &Vec<u8>| s == set) {
                    stalled.push(set.to_vec());
                }
            }
        }
        (longest, stalled)
    }
}

impl Shared {
    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        // Plain values: a poisoned lock still holds a consistent set of faults.
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // Every mutation is a single map insert/remove, so a poisoned lock still
        // guards a consistent store.
        self.cluster.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How this node handles a command on the record with this digest.
    fn route(&self, digest: &[u8]) -> cluster::Route {
        let Ok(d) = <[u8; store::DIGEST_SIZE]>::try_from(digest) else {
            return cluster::Route::Local;
        };
        self.cluster
            .members()
            .route(self.index, store::partition_id(&d))
    }
}

/// A running listener: its stop signal and task.
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The stand-in server. Dropping it stops it.
pub struct AerospikeServer {
    shared: Arc<Shared>,
    running: tokio::sync::Mutex<Option<Running>>,
}

impl AerospikeServer {
    /// Binds and starts serving.
    pub async fn start(opts: AerospikeOptions) -> std::io::Result<AerospikeServer> {
        let cluster = Arc::new(ClusterState {
            store: Mutex::new(new_store(&opts)),
            members: Mutex::new(cluster::Membership {
                nodes: Vec::new(),
                replication_factor: 1,
            }),
            failover_delay: Duration::ZERO,
            join_delay: Duration::ZERO,
        });
        AerospikeServer::start_node(opts, cluster).await
    }

    /// Binds node number `cluster.nodes.len()` of a cluster and starts serving.
    async fn start_node(
        opts: AerospikeOptions,
        cluster: Arc<ClusterState>,
    ) -> std::io::Result<AerospikeServer> {
        let listener = TcpListener::bind(opts.addr).await?;
        let addr = listener.local_addr()?;
        let index = {
            let mut m = cluster.members();
            let index = m.nodes.len();
            m.nodes.push(cluster::Member {
                name: opts.node_name.clone(),
                id: cluster::node_id(&opts.node_name),
                addr,
                alive: true,
                epoch: 0,
                view: cluster::View {
                    members: vec![index],
                    partition_generation: 1,
                    peers_generation: 1,
                },
            });
            index
        };
        let shared = Arc::new(Shared {
            opts,
            addr,
            index,
            cluster,
            faults: Mutex::new(Faults::default()),
            commands: AtomicU64::new(0),
        });
        let running = spawn_listener(listener, shared.clone());
        tracing::info!(%addr, "aerospike stand-in listening");
        Ok(AerospikeServer {
            shared,
            running: tokio::sync::Mutex::new(Some(running)),
        })
    }

    /// The node name (`node` info command).
    pub fn node_name(&self) -> &str {
        &self.shared.opts.node_name
    }

    /// The members of this node's current cluster view, by node name (itself
    /// included).
    pub fn cluster_view(&self) -> Vec<String> {
        let m = self.shared.cluster.members();
        m.nodes[self.shared.index]
            .view
            .members
            .iter()
            .map(|&n| m.nodes[n].name.clone())
            .collect()
    }

    /// This node's `partition-generation`.
    pub fn partition_generation(&self) -> u32 {
        self.shared.cluster.members().nodes[self.shared.index]
            .view
            .partition_generation
    }

    /// The bound address (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Live records of a set, in digest order.
    pub fn records(&self, namespace: &str, set: &str) -> Vec<StoredRecord> {
        let now = SystemTime::now();
        let now_cl = store::now_cl(now);
        let store = self.shared.store();
        store
            .live_records(namespace, Some(set), now)
            .map(|(digest, r)| StoredRecord {
                digest: *digest,
                set: r.set.clone(),
                key: r.key.as_ref().and_then(|k| {
                    Particle::decode(k.ptype, &k.data)
                        .ok()
                        .flatten()
                        .map(|p| p.to_json())
                }),
                bins: r
                    .bins
                    .iter()
                    .map(|(n, p)| (n.clone(), p.to_json()))
                    .collect(),
                generation: r.generation,
                void_time: r.void_time,
                ttl: (r.void_time != 0).then(|| r.void_time.saturating_sub(now_cl)),
            })
            .collect()
    }

    /// Number of live records in a set.
    pub fn record_count(&self, namespace: &str, set: &str) -> usize {
        self.shared
            .store()
            .live_records(namespace, Some(set), SystemTime::now())
            .count()
    }

    /// Closes the listener and every connection: the server is "down". Data is kept.
    pub async fn stop(&self) {
        let running = self.running.lock().await.take();
        if let Some(r) = running {
            let _ = r.stop.send(true);
            // The task ends after dropping the listener and aborting connections; a
            // panic in it has nothing left to clean up.
            let _ = r.task.await;
            self.shared.cluster.node_down(self.shared.index);
            tracing::info!(addr = %self.shared.addr, "aerospike stand-in stopped");
        }
    }

    /// Listens again on the same address, with the data kept. A no-op when running.
    pub async fn restart(&self) {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return;
        }
        match TcpListener::bind(self.shared.addr).await {
            Ok(listener) => {
                *running = Some(spawn_listener(listener, self.shared.clone()));
                self.shared.cluster.node_up(self.shared.index);
                tracing::info!(addr = %self.shared.addr, "aerospike stand-in restarted");
            }
            Err(e) => tracing::error!(addr = %self.shared.addr, error = %e, "cannot listen again"),
        }
    }

    /// Delays every AS_MSG answer by `d` (info answers stay prompt, so the client's
    /// cluster view stays healthy while commands time out).
    pub fn set_delay(&self, d: Option<Duration>) {
        self.shared.faults().delay = d;
    }

    /// Answers every AS_MSG command with this result code instead of executing it.
    pub fn fail_with(&self, code: Option<u8>) {
        self.shared.faults().fail_with = code;
    }

    /// Fails commands on one set (in any namespace) with this result code, without
    /// executing them; `None` clears it. A single-record command or a scan of the set
    /// answers the code; in a batch only the set's rows get it as their row result
    /// (the other rows run), and without `respond_all_keys` the first such row ends
    /// the batch with that code, as per-record failures do on the server.
    pub fn fail_set(&self, set: &str, code: Option<u8>) {
        let mut f = self.shared.faults();
        match code {
            Some(c) => f.set_fail.insert(set.as_bytes().to_vec(), c),
            None => f.set_fail.remove(set.as_bytes()),
        };
    }

    /// Delays every AS_MSG command that touches one set (a single-record command, a
    /// scan, or a batch with at least one row of the set) by `d`; `None` clears it.
    /// The command is executed after the delay, like on a slow server.
    pub fn delay_set(&self, set: &str, d: Option<Duration>) {
        let mut f = self.shared.faults();
        match d {
            Some(d) => f.set_delay.insert(set.as_bytes().to_vec(), d),
            None => f.set_delay.remove(set.as_bytes()),
        };
    }

    /// Holds every AS_MSG command that touches one set in the transaction queue for
    /// `d` before it runs; `None` clears it. As on the server (`thr_tsvc.c`: "did the
    /// transaction time out while on the queue?"), a command whose deadline (the
    /// client's total timeout, else `transaction-max-ms`) passed while it waited is
    /// not executed: it answers TIMEOUT, and in a batch the set's rows do (the other
    /// rows run). Unlike [`AerospikeServer::delay_set`], whose late answers come from
    /// writes that were applied (in doubt to the client), nothing stalled past its
    /// deadline is written.
    pub fn stall_set(&self, set: &str, d: Option<Duration>) {
        let mut f = self.shared.faults();
        match d {
            Some(d) => f.set_stall.insert(set.as_bytes().to_vec(), d),
            None => f.set_stall.remove(set.as_bytes()),
        };
    }

    /// AS_MSG commands received so far (a batch counts once).
    pub fn command_count(&self) -> u64 {
        self.shared.commands.load(Ordering::Relaxed)
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.stop().await;
    }
}

impl Drop for AerospikeServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.get_mut().take() {
            let _ = r.stop.send(true);
            r.task.abort();
        }
    }
}

/// How to run a stand-in cluster.
#[derive(Debug, Clone)]
pub struct AerospikeClusterOptions {
    /// Options of node 0. Node `i` listens on the same IP, port 0 → any free port,
    /// else `port + i`; its name is node 0's with the last hex digit plus `i`.
    pub node: AerospikeOptions,
    /// Number of nodes.
    pub nodes: usize,
    /// The namespaces' `replication-factor` (the server default is 2).
    pub replication_factor: usize,
    /// How long after a node stops the others drop it: the heartbeat timeout,
    /// `heartbeat.interval` (150 ms) × `heartbeat.timeout` (10) by default.
    pub failover_delay: Duration,
    /// How long after a node restarts it joins the others (heartbeat discovery,
    /// clustering and rebalance; same default).
    pub join_delay: Duration,
}

/// Default heartbeat interval × timeout of a real node.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(150 * 10);

impl Default for AerospikeClusterOptions {
    fn default() -> Self {
        AerospikeClusterOptions {
            node: AerospikeOptions::default(),
            nodes: 2,
            replication_factor: 2,
            failover_delay: HEARTBEAT_TIMEOUT,
            join_delay: HEARTBEAT_TIMEOUT,
        }
    }
}

/// A stand-in cluster of nodes sharing one record store. Dropping it stops them.
pub struct AerospikeCluster {
    nodes: Vec<AerospikeServer>,
}

impl AerospikeCluster {
    /// Binds every node and starts them as one formed cluster.
    pub async fn start(opts: AerospikeClusterOptions) -> std::io::Result<AerospikeCluster> {
        let cluster = Arc::new(ClusterState {
            store: Mutex::new(new_store(&opts.node)),
            members: Mutex::new(cluster::Membership {
                nodes: Vec::new(),
                replication_factor: opts.replication_factor.max(1),
            }),
            failover_delay: opts.failover_delay,
            join_delay: opts.join_delay,
        });
        let mut nodes = Vec::with_capacity(opts.nodes);
        for i in 0..opts.nodes.max(1) {
            let mut node = opts.node.clone();
            if node.addr.port() != 0 {
                node.addr.set_port(node.addr.port() + i as u16);
            }
            node.node_name = nth_node_name(&opts.node.node_name, i);
            nodes.push(AerospikeServer::start_node(node, Arc::clone(&cluster)).await?);
        }
        {
            let mut m = cluster.members();
            let all: Vec<usize> = (0..nodes.len()).collect();
            for n in &mut m.nodes {
                n.view.members = all.clone();
            }
        }
        Ok(AerospikeCluster { nodes })
    }

    /// Node `i` (panics past the last one).
    pub fn node(&self, i: usize) -> &AerospikeServer {
        &self.nodes[i]
    }

    /// Every node.
    pub fn nodes(&self) -> &[AerospikeServer] {
        &self.nodes
    }

    /// Node 0's address: a client seeded with it finds the others through
    /// `peers-clear-std`.
    pub fn seed_addr(&self) -> SocketAddr {
        self.nodes[0].addr()
    }

    /// Live records of a set (the store every node shares).
    pub fn records(&self, namespace: &str, set: &str) -> Vec<StoredRecord> {
        self.nodes[0].records(namespace, set)
    }

    /// Number of live records in a set.
    pub fn record_count(&self, namespace: &str, set: &str) -> usize {
        self.nodes[0].record_count(namespace, set)
    }
}

/// Node `i`'s name: `base` with `i` added to its last hex digit (wrapping).
fn nth_node_name(base: &str, i: usize) -> String {
    if i == 0 {
        return base.to_owned();
    }
    let (head, last) = base.split_at(base.len().saturating_sub(1));
    let digit = u32::from_str_radix(last, 16).unwrap_or(0);
    format!("{head}{:X}", (digit as usize + i) % 16)
}

fn new_store(opts: &AerospikeOptions) -> Store {
    Store::new(
        StoreConfig {
            max_record_size: opts.max_record_size,
            default_ttl: opts.default_ttl,
            allow_ttl: opts.allow_ttl,
        },
        &opts.namespaces,
    )
}

fn spawn_listener(listener: TcpListener, shared: Arc<Shared>) -> Running {
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, shared, stop_rx));
    Running { stop, task }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            // Only `true` is ever sent, and a dropped sender also means stop.
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let _ = sock.set_nodelay(true);
                    let shared = shared.clone();
                    conns.spawn(async move {
                        if let Err(e) = serve_connection(sock, &shared).await {
                            tracing::debug!(%peer, error = %e, "aerospike connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_RETRY_PAUSE).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    // Aborting drops each connection's socket: clients see the node go away.
    conns.shutdown().await;
}

/// Errors that end a connection.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Msg(#[from] msg::MsgError),
    #[error("proto type {0} is not supported")]
    UnsupportedType(u8),
    #[error("bad compressed request: {0}")]
    Compression(&'static str),
}

async fn serve_connection(mut sock: TcpStream, shared: &Shared) -> Result<(), ConnError> {
    // The address this client reached us on: what `service-clear-std` reports, so a
    // server listening on 0.0.0.0 does not advertise an unroutable address.
    let local = sock.local_addr().unwrap_or(shared.addr);
    loop {
        let mut hdr = [0u8; msg::PROTO_HEADER_SIZE];
        match sock.read_exact(&mut hdr).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let header = ProtoHeader::parse(hdr)?;
        let size =
            usize::try_from(header.size).map_err(|_| msg::MsgError::TooLarge(header.size))?;
        let mut body = vec![0u8; size];
        sock.read_exact(&mut body).await?;
        match header.ptype {
            msg::PROTO_TYPE_INFO => {
                let request = String::from_utf8_lossy(&body);
                tracing::debug!(commands = %request.trim_end().replace('\n', " "), "info request");
                let view = {
                    let m = shared.cluster.members();
                    let v = &m.nodes[shared.index].view;
                    info::NodeView {
                        partition_generation: v.partition_generation,
                        peers_generation: v.peers_generation,
                        peers: m.peers(shared.index),
                        replicas: m.replica_bitmaps(shared.index),
                    }
                };
                let ctx = info::InfoContext {
                    node_name: &shared.opts.node_name,
                    cluster_name: shared.opts.cluster_name.as_deref(),
                    build: &shared.opts.build,
                    addr: local,
                    namespaces: &shared.opts.namespaces,
                    store: &shared.cluster.store,
                    view,
                };
                let reply = info::answer(&request, &ctx);
                sock.write_all(&msg::frame(msg::PROTO_TYPE_INFO, reply.as_bytes()))
                    .await?;
            }
            msg::PROTO_TYPE_AS_MSG => {
                let out = serve_as_msg(&body, shared).await;
                sock.write_all(&out).await?;
            }
            msg::PROTO_TYPE_COMPRESSED => {
                let inner = decompress_request(&body)?;
                let out = serve_as_msg(&inner, shared).await;
                sock.write_all(&out).await?;
            }
            msg::PROTO_TYPE_ADMIN => {
                // Community Edition has no security: every admin command (login, user
                // and role management) answers "security not supported".
                let mut reply = [0u8; ADMIN_HEADER_SIZE];
                reply[ADMIN_RESULT_OFFSET] = rc::SECURITY_NOT_SUPPORTED;
                sock.write_all(&msg::frame(msg::PROTO_TYPE_ADMIN, &reply))
                    .await?;
            }
            other => return Err(ConnError::UnsupportedType(other)),
        }
    }
}

/// A parsed AS_MSG request; a batch has its rows parsed too.
struct Request {
    msg: AsMsg,
    batch: Option<batch::Batch>,
}

impl Request {
    fn parse(body: &[u8]) -> Result<Request, msg::MsgError> {
        let msg = AsMsg::parse(body)?;
        let batch = msg
            .field(field::BATCH_INDEX)
            .or_else(|| msg.field(field::BATCH_INDEX_WITH_SET))
            .map(batch::Batch::parse);
        Ok(Request { msg, batch })
    }

    /// The record digests the request addresses: each batch row's, or its own.
    fn digests(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match &self.batch {
            Some(b) => Box::new(b.digests()),
            None => Box::new(self.msg.field(field::DIGEST).into_iter()),
        }
    }

    /// The transaction deadline: the client's total timeout (the header's
    /// transaction-ttl, in ms), else the server's `transaction-max-ms`.
    fn deadline(&self) -> Duration {
        match self.msg.transaction_ttl {
            0 => TRANSACTION_MAX,
            ms => Duration::from_millis(u64::from(ms)),
        }
    }

    /// The sets the request touches: each batch row's, or the command's own.
    fn sets(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match &self.batch {
            Some(b) => Box::new(b.sets()),
            None => Box::new(self.msg.field(field::SET).into_iter()),
        }
    }
}

/// Executes one AS_MSG body (delay and failure injection included) and returns the
/// framed reply, compressed when the request asked for it.
async fn serve_as_msg(body: &[u8], shared: &Shared) -> Vec<u8> {
    shared.commands.fetch_add(1, Ordering::Relaxed);
    let received = tokio::time::Instant::now();
    let request = Request::parse(body);
    let (delay, (stall, stalled)) = {
        let faults = shared.faults();
        match &request {
            Ok(r) => (faults.delay_for(r.sets()), faults.stall_for(r.sets())),
            Err(_) => (faults.delay, (Duration::ZERO, Vec::new())),
        }
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    tokio::time::sleep(stall).await;
    let expired_in_queue = !stalled.is_empty()
        && request
            .as_ref()
            .is_ok_and(|r| received.elapsed() > r.deadline());
    // A command proxied to a master that is down gets no answer from it: the proxy
    // gives up at the transaction deadline.
    if let Ok(r) = &request
        && r.digests()
            .any(|d| shared.route(d) == cluster::Route::Unreachable)
    {
        tokio::time::sleep(r.deadline()).await;
    }
    // Failures are read after the delay: a test may change them meanwhile.
    let (failure, mut set_fail) = {
        let f = shared.faults();
        (f.fail_with, f.set_fail.clone())
    };
    if expired_in_queue {
        for set in stalled {
            set_fail.entry(set).or_insert(rc::TIMEOUT);
        }
    }
    let bodies = match (failure, request) {
        (Some(code), _) => vec![msg::last_reply(code)],
        (None, Ok(r)) => handle_as_msg(&r, shared, &set_fail),
        (None, Err(e)) => {
            tracing::debug!(error = %e, "malformed AS_MSG");
            vec![msg::last_reply(rc::PARAMETER)]
        }
    };
    let compress = body
        .get(INFO1_OFFSET)
        .is_some_and(|info1| info1 & bits::INFO1_COMPRESS_RESPONSE != 0);
    let mut out = Vec::new();
    for b in &bodies {
        let frame = msg::frame(msg::PROTO_TYPE_AS_MSG, b);
        if compress && frame.len() > COMPRESS_THRESHOLD {
            out.extend_from_slice(&compress_frame(&frame));
        } else {
            out.extend_from_slice(&frame);
        }
    }
    out
}

/// The server's default `transaction-max-ms`: the deadline of a command whose
/// client sent no timeout.
const TRANSACTION_MAX: Duration = Duration::from_secs(1);

/// Offset of info1 in an AS_MSG body.
const INFO1_OFFSET: usize = 1;
/// Replies up to this size go out uncompressed even when compression was asked for
/// (the clients' default threshold; compressing tiny replies only adds bytes).
const COMPRESS_THRESHOLD: usize = 128;
/// Bytes of the uncompressed-size prefix of a compressed proto body.
const COMPRESSED_SIZE_PREFIX: usize = 8;

/// Unpacks a compressed proto body (`u64 uncompressed size`, then zlib of a whole
/// AS_MSG proto frame) and returns the inner AS_MSG body.
fn decompress_request(body: &[u8]) -> Result<Vec<u8>, ConnError> {
    use std::io::Read as _;
    let (size, data) =
        body.split_at_checked(COMPRESSED_SIZE_PREFIX)
            .ok_or(ConnError::Compression(
                "compressed body shorter than its size prefix",
            ))?;
    let declared = u64::from_be_bytes(size.try_into().unwrap_or_default());
    if declared > msg::MAX_PROTO_BODY {
        return Err(msg::MsgError::TooLarge(declared).into());
    }
    let mut inner = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(declared)
        .read_to_end(&mut inner)?;
    let hdr: [u8; msg::PROTO_HEADER_SIZE] = inner
        .get(..msg::PROTO_HEADER_SIZE)
        .and_then(|h| h.try_into().ok())
        .ok_or(ConnError::Compression(
            "compressed frame shorter than a proto header",
        ))?;
    let header = ProtoHeader::parse(hdr)?;
    if header.ptype != msg::PROTO_TYPE_AS_MSG {
        return Err(ConnError::UnsupportedType(header.ptype));
    }
    let body = &inner[msg::PROTO_HEADER_SIZE..];
    if body.len() as u64 != header.size {
        return Err(ConnError::Compression("inner frame size does not match"));
    }
    Ok(body.to_vec())
}

/// Wraps a whole proto frame as a compressed (type 4) frame.
fn compress_frame(frame: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(frame);
    let zipped = enc.finish().unwrap_or_default();
    let mut body = Vec::with_capacity(COMPRESSED_SIZE_PREFIX + zipped.len());
    body.extend_from_slice(&(frame.len() as u64).to_be_bytes());
    body.extend_from_slice(&zipped);
    msg::frame(msg::PROTO_TYPE_COMPRESSED, &body)
}

/// The reply op for a bin (`None` = a NULL particle).
pub(crate) fn reply_op<'a>(name: &'a str, p: Option<&Particle>) -> ReplyOp<'a> {
    match p {
        Some(p) => ReplyOp {
            name: name.as_bytes(),
            ptype: p.ptype(),
            data: p.encode(),
        },
        None => ReplyOp {
            name: name.as_bytes(),
            ptype: ptype::NULL,
            data: Vec::new(),
        },
    }
}

/// Executes one AS_MSG and returns the reply bodies (one proto frame each). A set in
/// `set_fail` answers its code instead of running.
fn handle_as_msg(r: &Request, shared: &Shared, set_fail: &HashMap<Vec<u8>, u8>) -> Vec<Vec<u8>> {
    let m = &r.msg;
    let now = SystemTime::now();
    if let Some(b) = &r.batch {
        // The batch's own filter is parsed before any row runs; a bad one fails the
        // batch (`as_batch_queue_task`).
        let batch_filter = match m.field(field::FILTER_EXP).map(exp::Filter::parse) {
            None => None,
            Some(Ok(f)) => Some(f),
            Some(Err(e)) => {
                tracing::debug!(error = %e, "batch filter expression refused");
                return vec![msg::last_reply(e.result_code())];
            }
        };
        // Rows for a master that is down time out (`as_batch_add_error` with
        // AS_ERR_TIMEOUT at the proxy deadline); proxied rows run.
        return b.execute(
            &mut shared.store(),
            now,
            batch_filter.as_ref(),
            |set, digest| {
                set_fail.get(set).copied().or_else(|| {
                    (shared.route(digest) == cluster::Route::Unreachable).then_some(rc::TIMEOUT)
                })
            },
        );
    }
    let set_failure = m.field(field::SET).and_then(|s| set_fail.get(s).copied());
    if m.field(field::DIGEST).is_none() {
        if let Some(code) = set_failure {
            return vec![msg::last_reply(code)];
        }
        return match scan::execute(m, &shared.store(), now) {
            Ok(frames) => frames,
            Err(e) => {
                tracing::debug!(error = %e, "malformed scan");
                vec![msg::last_reply(rc::PARAMETER)]
            }
        };
    }
    if m.field(field::UDF_FILENAME).is_some() {
        return vec![msg::last_reply(rc::UNSUPPORTED_FEATURE)];
    }
    let set_failure = set_failure.or_else(|| {
        m.field(field::DIGEST)
            .filter(|d| shared.route(d) == cluster::Route::Unreachable)
            .map(|_| rc::TIMEOUT)
    });
    if let Some(code) = set_failure {
        // A per-record failure: an answer with the code and nothing else, the command
        // not executed.
        let mut out = Vec::new();
        msg::write_msg(
            &mut out,
            &ReplyHeader {
                result_code: code,
                ..ReplyHeader::default()
            },
            &[],
            &[],
        );
        return vec![out];
    }
    let cmd = Command {
        info1: m.info1,
        info2: m.info2,
        info3: m.info3,
        generation: m.generation,
        record_ttl: m.record_ttl,
        namespace: m.field(field::NAMESPACE).unwrap_or_default(),
        set: m.field(field::SET).unwrap_or_default(),
        digest: m.field(field::DIGEST),
        key: m.field(field::KEY),
        ops: &m.ops,
        in_transaction: m.field(field::MRT_ID).is_some(),
        filter: m.field(field::FILTER_EXP).map(FilterExp::Wire),
    };
    let outcome = shared.store().execute(&cmd, now);
    let ops: Vec<ReplyOp<'_>> = outcome
        .bins
        .iter()
        .map(|(n, p)| reply_op(n, p.as_ref()))
        .collect();
    let mut out = Vec::new();
    msg::write_msg(
        &mut out,
        &ReplyHeader {
            info3: 0,
            result_code: outcome.result_code,
            generation: outcome.generation,
            void_time: outcome.void_time,
            transaction_ttl: 0,
        },
        &[],
        &ops,
    );
    vec![out]
}
