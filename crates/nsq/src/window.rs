//! The accounting behind "at most N": what each connection has in flight, how many more
//! it may still receive, the `RDY` that follows, and moving shares between connections.
//!
//! It does no I/O and knows no connection: every function answers with what must be
//! written (a new `RDY`, the connections whose `RDY` must be rewritten, donors and
//! receivers). That keeps the arithmetic testable without sockets, and lets the
//! connections (which count arrivals and settlements) and the consumer (which owns the
//! connections and writes the `RDY`s they do not write themselves) share it through one
//! `Arc<Window>` without depending on each other.
//!
//! # Accounting
//! For each connection: `inflight` (handed out, not yet settled) and `share` (how many
//! more it may still receive). The shares of all connections never add up to more than
//! N − received. A connection's `RDY` is `min(cap, inflight + share)`, where `cap` is its
//! part of `max-in-flight` bounded by nsqd's `max_rdy_count`. An arrival moves one from
//! `share` to `inflight` (the `RDY` stays); a settlement lowers `inflight`, so the `RDY`
//! written before the FINs shrinks with it. Once N have arrived, or after a stop, every
//! `RDY` is 0.
//!
//! N is first split by what each nsqd holds ([`split_shares`], the depths from `depth`),
//! or evenly when a depth is unknown. A connection that ends gives its share to a live
//! one. With several nsqd, a connection
//! that has nothing in flight and received nothing for [`REBALANCE_IDLE`] (its nsqd has
//! no messages for us) gives its share to the connections that are receiving: its `RDY`
//! is lowered to 0 first, then theirs are raised, so the shares still never add up to
//! more than what is wanted. A message already on the wire from the idle nsqd when its
//! `RDY` drops still counts against N, and past N it is requeued unprocessed.
//!
//! # Rewrites
//! Most `RDY` changes ride on a write the connection makes anyway (a settlement). Two do
//! not: the N-th arrival must close every window at once, and a lost connection's heir
//! must get its larger window. For those the window *records* which connections need a
//! rewrite and wakes the consumer's writer task ([`Window::rewrite_wanted`]), which takes
//! them with [`Window::take_rewrites`] and writes them.
//!
//! Its unit tests, which replay nsqd's window rule against it (exact N, shares, the byte
//! bound), are in `window/tests.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use crate::{MessageId, Settle};

/// A connection with nothing in flight that received nothing for this long gives its
/// share to the busy ones. Well above nsqd's flush delay the options ask for (25 ms), so a
/// connection between two flushes is not mistaken for an idle one.
pub const REBALANCE_IDLE: Duration = Duration::from_millis(500);

#[derive(Debug, Default, Clone)]
struct ConnAcct {
    alive: bool,
    inflight: u64,
    share: u64,
    cap: u64,
    rdy_sent: u64,
    /// Body bytes of the messages in flight on this connection.
    bytes: u64,
    /// The last arrival (or the subscription).
    last_active: Option<Instant>,
    /// Its `RDY` must be rewritten by the consumer's writer task: no write of its own
    /// would carry the change soon enough.
    rewrite: bool,
}

#[derive(Debug, Default)]
struct Accounting {
    /// N of the current batch (a consumer's life, or one batch of `serve`).
    max_messages: u64,
    admitted: u64,
    stopped: bool,
    conns: Vec<ConnAcct>,
    /// Body bytes in flight over all connections, and the bound on them.
    bytes: u64,
    max_bytes: u64,
    /// The largest body seen this run, the size a new slot is reckoned at (at first
    /// nsqd's default `--max-msg-size`, 1 MiB, so the first window cannot overshoot).
    largest: u64,
    /// Whether `largest` is a size seen yet, or still the guess.
    seen_any: bool,
}

/// What a message is reckoned at before any has arrived: nsqd's default `--max-msg-size`.
const FIRST_SIZE_GUESS: u64 = 1024 * 1024;

impl Accounting {
    fn target(&self, idx: usize) -> u64 {
        let c = &self.conns[idx];
        if self.wants_nothing() || !c.alive {
            0
        } else {
            c.cap.min(c.inflight + c.share.min(self.byte_slots()))
        }
    }

    /// N arrived, or stopped: every `RDY` is 0.
    fn wants_nothing(&self) -> bool {
        self.stopped || self.admitted >= self.max_messages
    }

    /// New messages each live connection may ask for within the byte bound: what is left
    /// of it, split between the live connections, at the largest size seen. One when
    /// nothing at all is in flight, so a message bigger than the bound still comes.
    fn byte_slots(&self) -> u64 {
        if self.max_bytes == u64::MAX {
            return u64::MAX;
        }
        let live = self.conns.iter().filter(|c| c.alive).count().max(1) as u64;
        let slots = self.max_bytes.saturating_sub(self.bytes) / live / self.largest.max(1);
        if self.bytes == 0 { slots.max(1) } else { slots }
    }
}

/// What to do with a message that just arrived.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Hand it out; `limit_reached` when it was the N-th.
    Admitted { limit_reached: bool },
    /// Past N (or after stop): `REQ <id> 0` without processing.
    OverLimit,
}

/// The counters of a consumer's life (see `ConsumerStats`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    pub received: u64,
    pub over_limit: u64,
    pub finished: u64,
    pub requeued: u64,
}

/// The accounting shared by the consumer, its connections and every message.
pub(crate) struct Window {
    acct: Mutex<Accounting>,
    received: AtomicU64,
    over_limit: AtomicU64,
    finished: AtomicU64,
    requeued: AtomicU64,
    /// Woken on every settlement and lost connection, for `close` to wait on.
    settled: Notify,
    /// Woken when a connection is marked for a rewrite. `notify_one` keeps a permit when
    /// the writer task is busy, so a wake-up is never lost.
    rewrite: Notify,
}

impl Window {
    /// Accounting for N = `max_messages` over `connections`, holding back `RDY` while
    /// the bodies in flight reach `max_bytes` (`u64::MAX`: no byte bound).
    pub(crate) fn new(max_messages: u64, connections: usize, max_bytes: u64) -> Window {
        Window {
            acct: Mutex::new(Accounting {
                max_messages,
                conns: vec![ConnAcct::default(); connections],
                max_bytes,
                largest: FIRST_SIZE_GUESS,
                seen_any: false,
                ..Accounting::default()
            }),
            received: AtomicU64::new(0),
            over_limit: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            requeued: AtomicU64::new(0),
            settled: Notify::new(),
            rewrite: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Accounting> {
        // The lock guards plain counters; a panic elsewhere cannot leave them half-updated
        // in a way worse than stopping, so keep going with the data as it is.
        self.acct.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets up the connections that subscribed, given as `(index, alive, max_rdy_count,
    /// depth)`: each gets an even part of `max_in_flight` (bounded by its nsqd) and its
    /// share of N from [`split_shares`].
    pub(crate) fn open(&self, opened: &[(usize, bool, u64, Option<u64>)], max_in_flight: u32) {
        let mut a = self.lock();
        let live = opened.len() as u64;
        let per_conn_in_flight = (u64::from(max_in_flight) / live.max(1)).max(1);
        let depths: Vec<_> = opened.iter().map(|o| o.3).collect();
        let shares = split_shares(a.max_messages, &depths);
        for (&(idx, alive, max_rdy_count, _), share) in opened.iter().zip(shares) {
            let acct = &mut a.conns[idx];
            acct.alive = alive;
            acct.last_active = Some(Instant::now());
            acct.cap = per_conn_in_flight.min(max_rdy_count);
            acct.share = share;
        }
    }

    /// Counts an arrival on connection `idx` against N. The N-th marks every connection
    /// for a rewrite (to `RDY 0`) and wakes the writer task: the windows close now, not at
    /// their next settlement. Marking under the same lock as the count means the writer
    /// task, when it sees that nothing more is wanted, also sees those rewrites.
    pub(crate) fn admit(&self, idx: usize, bytes: u64) -> Admission {
        let mut a = self.lock();
        if a.wants_nothing() {
            drop(a);
            self.over_limit.fetch_add(1, Ordering::Relaxed);
            return Admission::OverLimit;
        }
        a.admitted += 1;
        self.received.fetch_add(1, Ordering::Relaxed);
        a.bytes += bytes;
        // The first size seen replaces the 1 MiB guess: the windows may open wider now
        // (small messages), so they are rewritten without waiting for a settlement.
        let first_size = !a.seen_any && a.max_bytes != u64::MAX;
        a.largest = if a.seen_any {
            a.largest.max(bytes)
        } else {
            bytes
        };
        a.seen_any = true;
        let c = &mut a.conns[idx];
        c.inflight += 1;
        c.bytes += bytes;
        c.last_active = Some(Instant::now());
        if c.share > 0 {
            c.share -= 1;
        } else if let Some(other) = a
            .conns
            .iter_mut()
            .filter(|c| c.share > 0)
            .max_by_key(|c| c.share)
        {
            // nsqd sent past this connection's window (it may, by one, around a RDY
            // change). Keep the shares within what is still wanted by taking the slot
            // from another connection; that one may in turn over-deliver by one, which
            // the counter catches.
            other.share -= 1;
        }
        let limit_reached = a.admitted == a.max_messages;
        if limit_reached || first_size {
            for c in &mut a.conns {
                c.rewrite = true;
            }
            drop(a);
            self.rewrite.notify_one();
        }
        Admission::Admitted { limit_reached }
    }

    /// Records that `settled` messages of connection `idx` are being settled and returns
    /// the `RDY` to write first, if it changes.
    pub(crate) fn rdy_change(&self, idx: usize, settled: u64, settled_bytes: u64) -> Option<u64> {
        let mut a = self.lock();
        let c = &mut a.conns[idx];
        c.inflight = c.inflight.saturating_sub(settled);
        let freed = settled_bytes.min(c.bytes);
        c.bytes -= freed;
        a.bytes -= freed;
        let target = a.target(idx);
        let c = &mut a.conns[idx];
        let change = (target != c.rdy_sent).then(|| {
            c.rdy_sent = target;
            target
        });
        // Bytes freed here may reopen another connection's window that the byte bound
        // had shut (it has nothing to settle, so no write of its own would reopen it).
        if freed > 0 && a.max_bytes != u64::MAX {
            let mut woke = false;
            for j in 0..a.conns.len() {
                let shut = a.conns[j].rdy_sent <= a.conns[j].inflight;
                if j != idx && shut && a.target(j) > a.conns[j].rdy_sent {
                    a.conns[j].rewrite = true;
                    woke = true;
                }
            }
            if woke {
                drop(a);
                self.rewrite.notify_one();
            }
        }
        change
    }

    pub(crate) fn count_settled(&self, items: &[(MessageId, Settle)]) {
        let finished = items
            .iter()
            .filter(|(_, how)| *how == Settle::Finish)
            .count() as u64;
        self.finished.fetch_add(finished, Ordering::Relaxed);
        self.requeued
            .fetch_add(items.len() as u64 - finished, Ordering::Relaxed);
    }

    pub(crate) fn notify_settled(&self) {
        self.settled.notify_waiters();
    }

    /// Resolves at the next settlement or lost connection (create it before checking
    /// [`inflight`](Window::inflight), so none is missed).
    pub(crate) fn settled(&self) -> Notified<'_> {
        self.settled.notified()
    }

    /// The connection ended: nsqd will requeue its in-flight messages at their timeout;
    /// its share goes to a live connection, the heir, which is returned and marked for a
    /// rewrite (its `RDY` rises; the dead connection's window is gone with its socket, so
    /// there is nothing to lower first).
    pub(crate) fn connection_lost(&self, idx: usize) -> Option<usize> {
        let heir = {
            let mut a = self.lock();
            let c = &mut a.conns[idx];
            c.alive = false;
            c.inflight = 0;
            let bytes = std::mem::take(&mut c.bytes);
            let share = std::mem::take(&mut c.share);
            a.bytes -= bytes;
            let heir = a.conns.iter().position(|c| c.alive);
            if let Some(h) = heir {
                a.conns[h].share += share;
                a.conns[h].rewrite = true;
            }
            heir
        };
        self.notify_settled();
        if heir.is_some() {
            self.rewrite.notify_one();
        }
        heir
    }

    /// Resolves once a connection has been marked for a rewrite since the last call (or
    /// at once if one was marked while nobody waited).
    pub(crate) fn rewrite_wanted(&self) -> Notified<'_> {
        self.rewrite.notified()
    }

    /// Takes the connections whose `RDY` must be rewritten (in index order; they are
    /// either all lowered, at the N-th arrival, or a raise for an heir, so their order
    /// does not matter), and whether nothing more is wanted (N arrived, or stopped).
    pub(crate) fn take_rewrites(&self) -> (Vec<usize>, bool) {
        let mut a = self.lock();
        let rewrites = (0..a.conns.len())
            .filter(|&i| std::mem::take(&mut a.conns[i].rewrite))
            .collect();
        (rewrites, a.wants_nothing())
    }

    /// Asks for nothing more: every `RDY` target becomes 0. Idempotent.
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
    }

    /// Opens the next batch of `serve` after a [`stop`](Window::stop): N becomes
    /// `max_messages` again, counted from zero, split over the live connections by
    /// `depths` (by window index; [`split_shares`]) as at the start; every live
    /// connection is marked for a rewrite. Called with nothing in flight (the previous
    /// batch settled everything, or its connection is gone).
    pub(crate) fn rearm(&self, max_messages: u64, depths: &[(usize, Option<u64>)]) {
        let mut a = self.lock();
        a.max_messages = max_messages;
        a.admitted = 0;
        a.stopped = false;
        let live: Vec<_> = depths
            .iter()
            .filter(|(idx, _)| a.conns[*idx].alive)
            .copied()
            .collect();
        let shares = split_shares(max_messages, &live.iter().map(|d| d.1).collect::<Vec<_>>());
        let now = Instant::now();
        for c in &mut a.conns {
            c.share = 0;
        }
        for (&(idx, _), share) in live.iter().zip(shares) {
            let c = &mut a.conns[idx];
            c.share = share;
            c.last_active = Some(now);
            c.rewrite = true;
        }
        drop(a);
        self.rewrite.notify_one();
    }

    /// Moves the shares of idle connections to the receiving ones. Returns the donors
    /// (whose `RDY` must be lowered first) and the receivers, or `None` once nothing more
    /// is wanted (N arrived, or stopped).
    pub(crate) fn plan_rebalance(&self, now: Instant) -> Option<(Vec<usize>, Vec<usize>)> {
        let mut a = self.lock();
        if a.wants_nothing() {
            return None;
        }
        let idle = |c: &ConnAcct| {
            c.last_active
                .is_none_or(|t| now.duration_since(t) >= REBALANCE_IDLE)
        };
        // A receiver is receiving now, or has used up its share (its nsqd had messages).
        let receivers: Vec<usize> = (0..a.conns.len())
            .filter(|&i| {
                let c = &a.conns[i];
                c.alive && (c.share == 0 || !idle(c))
            })
            .collect();
        let donors: Vec<usize> = (0..a.conns.len())
            .filter(|&i| {
                let c = &a.conns[i];
                c.alive && c.share > 0 && c.inflight == 0 && idle(c)
            })
            .collect();
        if receivers.is_empty() || donors.is_empty() {
            return Some((Vec::new(), Vec::new()));
        }
        let pool: u64 = donors
            .iter()
            .map(|&i| std::mem::take(&mut a.conns[i].share))
            .sum();
        let n = receivers.len() as u64;
        for (k, &i) in receivers.iter().enumerate() {
            a.conns[i].share += pool / n + u64::from((k as u64) < pool % n);
        }
        Some((donors, receivers))
    }

    /// Messages handed out and not yet settled, over the live connections.
    pub(crate) fn inflight(&self) -> u64 {
        self.lock()
            .conns
            .iter()
            .filter(|c| c.alive)
            .map(|c| c.inflight)
            .sum()
    }

    pub(crate) fn counters(&self) -> Counters {
        Counters {
            received: self.received.load(Ordering::Relaxed),
            over_limit: self.over_limit.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
            requeued: self.requeued.load(Ordering::Relaxed),
        }
    }
}

/// N split between connections. With every depth known, each gets what its nsqd holds,
/// proportionally when they hold more than N together; what N leaves over (they hold
/// less) is split evenly, for messages published during the run. With any depth unknown,
/// N is split evenly; the idle rebalancing then moves what an nsqd with nothing holds.
/// Either way the shares add up to exactly N.
pub(crate) fn split_shares(n: u64, depths: &[Option<u64>]) -> Vec<u64> {
    let count = depths.len() as u64;
    if count == 0 {
        return Vec::new();
    }
    let even = |total: u64| -> Vec<u64> {
        (0..count)
            .map(|i| total / count + u64::from(i < total % count))
            .collect()
    };
    let Some(known) = depths.iter().copied().collect::<Option<Vec<u64>>>() else {
        return even(n);
    };
    let held: u128 = known.iter().map(|&d| u128::from(d)).sum();
    if held <= u128::from(n) {
        let rest = n - held as u64;
        return known.iter().zip(even(rest)).map(|(d, e)| d + e).collect();
    }
    // Proportional, rounded down (each below its depth, so below N), then the few left
    // over to the deepest first.
    let mut shares: Vec<u64> = known
        .iter()
        .map(|&d| (u128::from(n) * u128::from(d) / held) as u64)
        .collect();
    let mut left = n - shares.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..known.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(known[i]));
    for i in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

#[cfg(test)]
mod tests;
