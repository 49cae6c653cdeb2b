//! Cluster membership and partition ownership of the stand-in nodes.
//!
//! Every node keeps its own view of the cluster (the members it believes in and its
//! partition/peers generations), as a real node's succession list after the last
//! rebalance. A stopped node leaves the other views only after the heartbeat
//! timeout (`heartbeat.interval` 150 ms × `heartbeat.timeout` 10 by default); a
//! restarted node starts alone and joins after the join delay. Each view change
//! bumps that node's generations, which is what makes clients re-read `peers-*` and
//! `replicas`.
//!
//! Partition ownership follows `as/src/fabric/partition_balance.c`
//! (`fill_global_tables`): for each partition the members are ordered by a hash of
//! (partition id, node id), descending; the first is master, the next
//! `replication-factor - 1` are replicas. The hash functions differ (see
//! `devstack/README.md`), so the exact split differs from a real cluster with the
//! same node ids, but it is the same kind of even, per-partition shuffle.

use std::net::SocketAddr;

use super::store::N_PARTITIONS;

/// A node's view: the members it sees (indexes into the cluster's nodes, sorted)
/// and its generations.
#[derive(Debug, Clone)]
pub struct View {
    pub members: Vec<usize>,
    pub partition_generation: u32,
    pub peers_generation: u32,
}

/// What the cluster knows of one node.
#[derive(Debug)]
pub struct Member {
    pub name: String,
    /// Node id as the server hashes it (the name is its hex form).
    pub id: u64,
    pub addr: SocketAddr,
    /// Listening (not stopped).
    pub alive: bool,
    /// Bumped on every stop/restart, so a pending view change of an older one is
    /// dropped.
    pub epoch: u64,
    pub view: View,
}

/// All nodes of the stand-in cluster.
#[derive(Debug, Default)]
pub struct Membership {
    pub nodes: Vec<Member>,
    /// `replication-factor` of every namespace.
    pub replication_factor: usize,
}

/// Where a command for a partition goes from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// This node is master in its view: executed here.
    Local,
    /// Another live node is master in this node's view: proxied there (CE proxies
    /// over fabric, `as_proxy_divert`) and executed.
    Proxy,
    /// The master in this node's view is down (its heartbeats have not timed out
    /// yet): the proxy gets no answer and the command times out (`AS_ERR_TIMEOUT`
    /// at the transaction deadline, `proxy.c`).
    Unreachable,
}

/// FNV-1a over bytes (the server uses `cf_hash_fnv64` for pids and node ids).
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// The per-partition order key of a node (the server's `cf_hash_jen64` of
/// (hashed pid, hashed node); here FNV-1a over the same pair).
fn order_key(pid: u16, node_id: u64) -> u64 {
    let mut pair = [0u8; 16];
    pair[..8].copy_from_slice(&fnv1a64(&u32::from(pid).to_le_bytes()).to_le_bytes());
    pair[8..].copy_from_slice(&fnv1a64(&node_id.to_le_bytes()).to_le_bytes());
    fnv1a64(&pair)
}

impl Membership {
    /// The node sequence of a partition within `members`: master first.
    fn sequence(&self, members: &[usize], pid: u16) -> Vec<usize> {
        let mut seq = members.to_vec();
        seq.sort_by_key(|&n| std::cmp::Reverse((order_key(pid, self.nodes[n].id), n)));
        seq
    }

    /// Replicas per partition in a view: the replication factor, at most the
    /// members (`effective_replication_factor`).
    pub fn effective_rf(&self, view: &View) -> usize {
        self.replication_factor.min(view.members.len()).max(1)
    }

    /// Master of a partition in `node`'s view.
    pub fn master_in_view_of(&self, node: usize, pid: u16) -> usize {
        self.sequence(&self.nodes[node].view.members, pid)
            .first()
            .copied()
            .unwrap_or(node)
    }

    /// How `node` handles a command for partition `pid`.
    pub fn route(&self, node: usize, pid: u16) -> Route {
        let master = self.master_in_view_of(node, pid);
        if master == node {
            Route::Local
        } else if self.nodes[master].alive {
            Route::Proxy
        } else {
            Route::Unreachable
        }
    }

    /// For each replica position (0 = master), the bitmap of partitions `node`
    /// holds at that position in its view.
    pub fn replica_bitmaps(&self, node: usize) -> Vec<Vec<u8>> {
        let view = &self.nodes[node].view;
        let rf = self.effective_rf(view);
        let mut maps = vec![vec![0u8; usize::from(N_PARTITIONS) / 8]; rf];
        for pid in 0..N_PARTITIONS {
            let seq = self.sequence(&view.members, pid);
            if let Some(pos) = seq.iter().take(rf).position(|&n| n == node) {
                maps[pos][usize::from(pid >> 3)] |= 0x80 >> (pid & 7);
            }
        }
        maps
    }

    /// The other members of `node`'s view: name and address.
    pub fn peers(&self, node: usize) -> Vec<(String, SocketAddr)> {
        self.nodes[node]
            .view
            .members
            .iter()
            .filter(|&&n| n != node)
            .map(|&n| (self.nodes[n].name.clone(), self.nodes[n].addr))
            .collect()
    }

    /// Sets `node`'s view to these members, bumping its generations if it changed.
    pub fn set_view(&mut self, node: usize, mut members: Vec<usize>) {
        members.sort_unstable();
        let view = &mut self.nodes[node].view;
        if view.members != members {
            view.members = members;
            view.partition_generation += 1;
            view.peers_generation += 1;
        }
    }

    /// The live nodes.
    pub fn alive(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].alive)
            .collect()
    }
}

/// A node id from its name (15 hex digits); a name that is not hex hashes instead.
pub fn node_id(name: &str) -> u64 {
    u64::from_str_radix(name, 16).unwrap_or_else(|_| fnv1a64(name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes() -> Membership {
        let addr = SocketAddr::from(([127, 0, 0, 1], 3000));
        let view = View {
            members: vec![0, 1],
            partition_generation: 1,
            peers_generation: 1,
        };
        Membership {
            nodes: ["BB9020011AC4202", "BB9020011AC4203"]
                .iter()
                .map(|n| Member {
                    name: (*n).to_owned(),
                    id: node_id(n),
                    addr,
                    alive: true,
                    epoch: 0,
                    view: view.clone(),
                })
                .collect(),
            replication_factor: 2,
        }
    }

    fn count(bitmap: &[u8]) -> u32 {
        bitmap.iter().map(|b| b.count_ones()).sum()
    }

    #[test]
    fn two_nodes_split_the_partitions_and_replicate_each_others() {
        let m = two_nodes();
        let (a, b) = (m.replica_bitmaps(0), m.replica_bitmaps(1));
        assert_eq!((a.len(), b.len()), (2, 2));
        assert_eq!(count(&a[0]) + count(&b[0]), u32::from(N_PARTITIONS));
        // Roughly half each.
        assert!((1800..2300).contains(&count(&a[0])), "{}", count(&a[0]));
        // Each node is replica of exactly what the other masters.
        assert_eq!(a[1], b[0]);
        assert_eq!(b[1], a[0]);
    }

    #[test]
    fn a_lone_view_masters_everything() {
        let mut m = two_nodes();
        m.set_view(0, vec![0]);
        let a = m.replica_bitmaps(0);
        assert_eq!(a.len(), 1);
        assert_eq!(count(&a[0]), u32::from(N_PARTITIONS));
        assert_eq!(m.nodes[0].view.partition_generation, 2);
        m.nodes[1].alive = false;
        assert!((0..N_PARTITIONS).all(|p| m.route(0, p) == Route::Local));
        // Node 1 still believes in both: what node 0 masters is proxied there.
        m.nodes[1].alive = true;
        m.nodes[0].alive = false;
        assert!((0..N_PARTITIONS).any(|p| m.route(1, p) == Route::Unreachable));
    }
}
