//! The info protocol: newline-separated commands in, `command\tvalue\n` lines out.
//!
//! Answers what the Rust client 3.0 (seed validation, tend, partition map) and the C
//! client under the Python client ask a single node, plus a few operator commands
//! (`namespaces`, `namespace/<ns>`, `sets`, `statistics`, `truncate`).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine as _;

use super::store::Store;

/// Features a CE 7.x node advertises; clients pick protocol variants from these
/// (`peers` → peers-clear-std, `replicas` → replicas, `pscans`/`pquery` → partition
/// scans/queries, `batch-any` → batch writes).
const FEATURES: &str = "batch-any;batch-index;blob-bits;cdt-list;cdt-map;cluster-stable;float;geo;\
sindex-exists;peers;pipelining;pquery;pscans;query-show;relaxed-sc;replicas;replicas-all;\
replicas-master;replicas-max;truncate-namespace;udf";
/// The stand-in never rebalances racks, so this generation is a constant.
const REBALANCE_GENERATION: u32 = 1;
/// AP namespaces have regime 0.
const REGIME: u32 = 0;
/// A fixed cluster key (hex), as `cluster-stable` and `statistics` report one.
const CLUSTER_KEY: &str = "A1B2C3D4E5F6";
/// What the server answers for an unset cluster name (clients treat it as none).
const UNSET_CLUSTER_NAME: &str = "null";
/// Answer to a command the server does not know (`handle_cmds` in `thr_info.c`:
/// `ERROR:<AS_ERR_PARAMETER>:unrecognized command`).
const UNRECOGNIZED: &str = "ERROR:4:unrecognized command";
/// Answer when a namespace parameter names no namespace of the node.
const NAMESPACE_NOT_FOUND: &str = "ERROR:20:namespace not found on node";
/// What a bare info request (no commands) answers, as the server's summary.
const SUMMARY: [&str; 9] = [
    "features",
    "node",
    "edition",
    "build",
    "version",
    "statistics",
    "services-alumni",
    "services",
    "partition-generation",
];

/// What info answers depend on.
pub struct InfoContext<'a> {
    pub node_name: &'a str,
    pub cluster_name: Option<&'a str>,
    pub build: &'a str,
    /// The address the asking client connected to.
    pub addr: SocketAddr,
    pub namespaces: &'a [String],
    pub store: &'a Mutex<Store>,
    pub view: NodeView,
}

/// The node's cluster view as info reports it.
pub struct NodeView {
    pub partition_generation: u32,
    pub peers_generation: u32,
    /// The other members: node name and address.
    pub peers: Vec<(String, SocketAddr)>,
    /// One 512-byte bitmap per replica position (0 = master) of the partitions this
    /// node holds there; as many as the effective replication factor.
    pub replicas: Vec<Vec<u8>>,
}

impl NodeView {
    fn bitmaps(&self) -> Vec<String> {
        self.replicas
            .iter()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .collect()
    }

    fn replication_factor(&self) -> usize {
        self.replicas.len()
    }

    fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }
}

/// Answers a whole info request body.
pub fn answer(request: &str, ctx: &InfoContext<'_>) -> String {
    let mut out = String::new();
    let commands: Vec<&str> = request.split('\n').filter(|c| !c.is_empty()).collect();
    if commands.is_empty() {
        // A bare request gets the node's summary, as the server sends it.
        for name in SUMMARY {
            let _ = writeln!(out, "{name}\t{}", one(name, ctx));
        }
        return out;
    }
    for c in commands {
        let _ = writeln!(out, "{c}\t{}", one(c, ctx));
    }
    out
}

fn one(command: &str, ctx: &InfoContext<'_>) -> String {
    let port = ctx.addr.port();
    let v = &ctx.view;
    let rf = v.replication_factor();
    match command {
        "node" => ctx.node_name.to_owned(),
        "cluster-name" => ctx.cluster_name.unwrap_or(UNSET_CLUSTER_NAME).to_owned(),
        "build" => ctx.build.to_owned(),
        "version" => format!("Aerospike Community Edition build {}", ctx.build),
        "edition" => "Aerospike Community Edition".to_owned(),
        "features" => FEATURES.to_owned(),
        "partition-generation" => v.partition_generation.to_string(),
        "peers-generation" => v.peers_generation.to_string(),
        "rebalance-generation" => REBALANCE_GENERATION.to_string(),
        // `generation,default-port,[[node,tls-name,[host:port,...]],...]`; a single
        // node has none: `generation,default-port,[]`.
        "peers-clear-std" => {
            let peers: Vec<String> = v
                .peers
                .iter()
                .map(|(name, addr)| format!("[{name},,[{addr}]]"))
                .collect();
            format!("{},{port},[{}]", v.peers_generation, peers.join(","))
        }
        // No alternate addresses or TLS: empty lists, as such a server answers.
        "peers-clear-alt" | "peers-tls-std" | "peers-tls-alt" => {
            format!("{},{port},[]", v.peers_generation)
        }
        "service-clear-std" | "service" => ctx.addr.to_string(),
        "services" | "services-alumni" => v
            .peers
            .iter()
            .map(|(_, a)| a.to_string())
            .collect::<Vec<_>>()
            .join(";"),
        "service-clear-alt" | "service-tls-std" | "service-tls-alt" | "services-alternate" => {
            String::new()
        }
        // Entries are joined by ';' with no trailing one: the Rust client's partition
        // parser rejects an empty entry.
        "replicas" => ctx
            .namespaces
            .iter()
            .map(|ns| format!("{ns}:{REGIME},{rf},{}", v.bitmaps().join(",")))
            .collect::<Vec<_>>()
            .join(";"),
        "replicas-all" => ctx
            .namespaces
            .iter()
            .map(|ns| format!("{ns}:{rf},{}", v.bitmaps().join(",")))
            .collect::<Vec<_>>()
            .join(";"),
        "replicas-master" | "partitions" => ctx
            .namespaces
            .iter()
            .map(|ns| format!("{ns}:{}", v.bitmaps()[0]))
            .collect::<Vec<_>>()
            .join(";"),
        "namespaces" => ctx.namespaces.join(";"),
        "rack-ids" => ctx
            .namespaces
            .iter()
            .map(|ns| format!("{ns}:0"))
            .collect::<Vec<_>>()
            .join(";"),
        "cluster-stable" | "cluster-stable:" => CLUSTER_KEY.to_owned(),
        "status" => "ok".to_owned(),
        "udf-list" | "sindex" | "sindex-list" | "sindex-list:" => String::new(),
        "statistics" => statistics(ctx),
        "sets" => sets(ctx, None),
        c if c.starts_with("user-agent-set:") => "ok".to_owned(),
        c if c.starts_with("namespace/") => namespace(ctx, &c["namespace/".len()..]),
        c if c.starts_with("sets/") => sets(ctx, Some(&c["sets/".len()..])),
        c if c.starts_with("truncate-namespace:") => truncate(ctx, c, false),
        c if c.starts_with("truncate:") => truncate(ctx, c, true),
        _ => UNRECOGNIZED.to_owned(),
    }
}

fn lock<'a>(ctx: &InfoContext<'a>) -> std::sync::MutexGuard<'a, Store> {
    // A panic while holding the lock leaves a consistent map (every mutation is one
    // insert/remove), so a poisoned lock is still usable.
    ctx.store.lock().unwrap_or_else(|e| e.into_inner())
}

fn object_count(store: &Store, ns: &str, set: Option<&str>) -> usize {
    store.live_records(ns, set, SystemTime::now()).count()
}

fn statistics(ctx: &InfoContext<'_>) -> String {
    let store = lock(ctx);
    let objects: usize = ctx
        .namespaces
        .iter()
        .map(|ns| object_count(&store, ns, None))
        .sum();
    format!(
        "cluster_size={};cluster_key={CLUSTER_KEY};cluster_integrity=true;cluster_is_member=true;\
         uptime=1;objects={objects};client_connections=1",
        ctx.view.cluster_size()
    )
}

fn namespace(ctx: &InfoContext<'_>, ns: &str) -> String {
    if !ctx.namespaces.iter().any(|n| n == ns) {
        return NAMESPACE_NOT_FOUND.to_owned();
    }
    let store = lock(ctx);
    let objects = object_count(&store, ns, None);
    let cfg = &store.config;
    format!(
        "ns_cluster_size={};effective_replication_factor={};objects={objects};\
         tombstones=0;replication-factor={};default-ttl={};\
         max-record-size={};storage-engine=memory;strong-consistency=false",
        ctx.view.cluster_size(),
        ctx.view.replication_factor(),
        ctx.view.replication_factor(),
        cfg.default_ttl,
        cfg.max_record_size
    )
}

fn sets(ctx: &InfoContext<'_>, filter: Option<&str>) -> String {
    let mut parts = filter.unwrap_or("").split('/');
    let want_ns = parts.next().filter(|s| !s.is_empty());
    let want_set = parts.next().filter(|s| !s.is_empty());
    if want_ns.is_some_and(|w| !ctx.namespaces.iter().any(|n| n == w)) {
        // The server answers this rather than an error ("clients won't handle error").
        return "ns_type=unknown".to_owned();
    }
    let store = lock(ctx);
    let mut counts: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for ns in ctx.namespaces {
        if want_ns.is_some_and(|w| w != ns) {
            continue;
        }
        for (_, r) in store.live_records(ns, None, SystemTime::now()) {
            if want_set.is_some_and(|w| w != r.set) {
                continue;
            }
            *counts.entry((ns.clone(), r.set.clone())).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|((ns, set), n)| format!("ns={ns}:set={set}:objects={n}:tombstones=0;"))
        .collect()
}

/// `truncate:namespace=NS;set=SET[;lut=...]` and `truncate-namespace:namespace=NS`.
fn truncate(ctx: &InfoContext<'_>, command: &str, with_set: bool) -> String {
    let params = command.split_once(':').map_or("", |(_, p)| p);
    let mut ns = None;
    let mut set = None;
    for kv in params.split(';') {
        match kv.split_once('=') {
            Some(("namespace", v)) => ns = Some(v),
            Some(("set", v)) if with_set => set = Some(v),
            _ => {}
        }
    }
    let Some(ns) = ns else {
        return "ERROR::namespace required".to_owned();
    };
    if lock(ctx).truncate(ns, set) {
        "ok".to_owned()
    } else {
        NAMESPACE_NOT_FOUND.to_owned()
    }
}
