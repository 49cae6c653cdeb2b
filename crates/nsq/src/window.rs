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
//! Why one file over 600 lines: the arithmetic is about 440 of them; the rest are its
//! unit tests, which replay nsqd's window rule against it (exact N, shares, the byte
//! bound) and are kept beside what they check.

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
mod tests {
    use super::*;

    fn window(n: u64, shares: &[(u64, u64)]) -> Window {
        let s = Window::new(n, shares.len(), u64::MAX);
        {
            let mut a = s.lock();
            for (i, (cap, share)) in shares.iter().enumerate() {
                a.conns[i] = ConnAcct {
                    alive: true,
                    cap: *cap,
                    share: *share,
                    ..ConnAcct::default()
                };
            }
        }
        s
    }

    /// Simulates nsqd on one connection: it sends while in-flight < RDY, commands applied
    /// in order. Checks the invariant the whole design rests on.
    #[test]
    fn one_connection_never_gets_more_than_n() {
        for (n, cap, batch) in [
            (37u64, 1000u64, 5u64),
            (100, 10, 3),
            (5, 2500, 1),
            (1000, 64, 64),
        ] {
            let s = window(n, &[(cap, n)]);
            let mut rdy = s.rdy_change(0, 0, 0).unwrap_or(0);
            let mut nsqd_inflight = 0u64;
            let mut held = 0u64;
            let mut delivered = 0u64;
            let queue = 10 * n;
            for _ in 0..100_000 {
                // nsqd sends as much as the window allows.
                while nsqd_inflight < rdy && delivered < queue {
                    nsqd_inflight += 1;
                    delivered += 1;
                    match s.admit(0, 0) {
                        Admission::Admitted { .. } => held += 1,
                        Admission::OverLimit => panic!("over-delivery with n={n} cap={cap}"),
                    }
                }
                if held == 0 {
                    break;
                }
                // The client settles a batch: RDY first, then the FINs.
                let k = held.min(batch);
                held -= k;
                if let Some(r) = s.rdy_change(0, k, 0) {
                    rdy = r;
                }
                nsqd_inflight -= k;
            }
            assert_eq!(delivered, n, "n={n} cap={cap} batch={batch}");
            assert_eq!(s.received.load(Ordering::Relaxed), n);
            assert_eq!(rdy, 0);
        }
    }

    #[test]
    fn rdy_respects_cap_and_stop() {
        let s = window(10_000, &[(100, 5_000), (100, 5_000)]);
        assert_eq!(s.rdy_change(0, 0, 0), Some(100));
        assert_eq!(s.rdy_change(0, 0, 0), None, "unchanged RDY is not resent");
        s.lock().stopped = true;
        assert_eq!(s.rdy_change(0, 0, 0), Some(0));
        assert_eq!(s.admit(0, 0), Admission::OverLimit);
    }

    #[test]
    fn the_nth_arrival_reports_the_limit_and_later_ones_are_over() {
        let s = window(2, &[(10, 1), (10, 1)]);
        assert_eq!(
            s.admit(0, 0),
            Admission::Admitted {
                limit_reached: false
            }
        );
        // Connection 0 had a share of 1 only: a second arrival there takes connection 1's.
        assert_eq!(
            s.admit(0, 0),
            Admission::Admitted {
                limit_reached: true
            }
        );
        assert_eq!(s.lock().conns[1].share, 0);
        assert_eq!(s.admit(1, 0), Admission::OverLimit);
        assert_eq!(s.over_limit.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn rearm_opens_exactly_n_more_over_the_live_connections() {
        let s = window(4, &[(10, 2), (10, 2)]);
        assert_eq!(s.rdy_change(0, 0, 0), Some(2));
        assert_eq!(s.rdy_change(1, 0, 0), Some(2));
        for i in 0..4 {
            let _ = s.admit(i % 2, 0);
        }
        assert_eq!(
            s.admit(0, 0),
            Admission::OverLimit,
            "the first batch is done"
        );
        assert_eq!(s.rdy_change(0, 2, 0), Some(0), "N arrived: RDY 0");
        assert_eq!(s.rdy_change(1, 2, 0), Some(0));
        s.stop();
        assert_eq!(s.rdy_change(0, 0, 0), None, "paused: still 0");
        assert_eq!(s.admit(1, 0), Admission::OverLimit, "paused: past N");
        let _ = s.connection_lost(1);
        let _ = s.take_rewrites();

        s.rearm(3, &[(0, None), (1, None)]);
        let (rewrites, done) = s.take_rewrites();
        assert_eq!((rewrites, done), (vec![0], false), "the live one only");
        assert_eq!(
            s.rdy_change(0, 0, 0),
            Some(3),
            "all of the new N on the live one"
        );
        for k in 1..=3 {
            assert_eq!(
                s.admit(0, 0),
                Admission::Admitted {
                    limit_reached: k == 3
                }
            );
        }
        assert_eq!(s.admit(0, 0), Admission::OverLimit, "exactly N again");
        assert_eq!(s.rdy_change(0, 0, 0), Some(0));
    }

    #[test]
    fn idle_connections_give_their_share_to_busy_ones() {
        let s = window(100, &[(50, 34), (50, 33), (50, 33)]);
        let t0 = Instant::now();
        {
            let mut a = s.lock();
            a.conns[0].last_active = Some(t0);
            a.conns[1].last_active = Some(t0);
            a.conns[2].last_active = Some(t0);
        }
        assert_eq!(s.rdy_change(1, 0, 0), Some(33));
        let _ = s.admit(0, 0);
        assert_eq!(
            s.plan_rebalance(t0),
            Some((vec![], vec![])),
            "nobody idle yet"
        );
        let later = Instant::now() + REBALANCE_IDLE;
        s.lock().conns[0].last_active = Some(later);
        let (donors, receivers) = s.plan_rebalance(later).unwrap();
        assert_eq!((donors, receivers), (vec![1, 2], vec![0]));
        let a = s.lock();
        assert_eq!(a.conns[0].share, 33 + 66);
        assert_eq!(
            a.conns[0].share + a.conns[0].inflight,
            100,
            "shares still add up to what is wanted"
        );
        assert_eq!((a.conns[1].share, a.conns[2].share), (0, 0));
        drop(a);
        assert_eq!(s.rdy_change(1, 0, 0), Some(0));
        s.lock().stopped = true;
        assert_eq!(
            s.plan_rebalance(later),
            None,
            "nothing to move after a stop"
        );
    }

    #[test]
    fn a_lost_connection_hands_its_share_on() {
        let s = window(10, &[(10, 5), (10, 5)]);
        let _ = s.admit(0, 0);
        s.connection_lost(0);
        let a = s.lock();
        assert_eq!(a.conns[1].share, 9);
        assert_eq!(a.conns[0].inflight, 0);
        assert!(!a.conns[0].alive);
        drop(a);
        assert_eq!(
            s.take_rewrites(),
            (vec![1], false),
            "the heir's RDY is raised"
        );
        assert_eq!(s.take_rewrites(), (vec![], false), "taken once");
    }

    #[test]
    fn the_nth_arrival_asks_for_every_window_to_close() {
        let s = window(2, &[(10, 1), (10, 1)]);
        let _ = s.admit(0, 0);
        assert_eq!(s.take_rewrites(), (vec![], false));
        let _ = s.admit(1, 0);
        assert_eq!(s.take_rewrites(), (vec![0, 1], true));
        assert_eq!((s.rdy_change(0, 0, 0), s.rdy_change(1, 0, 0)), (None, None));
    }

    #[test]
    fn n_is_split_by_depth_when_every_depth_is_known() {
        // N = 1 over two nsqd, the message on the second: the share goes there.
        assert_eq!(split_shares(1, &[Some(0), Some(1)]), vec![0, 1]);
        // They hold less than N: each its own, the rest evenly.
        assert_eq!(split_shares(10, &[Some(0), Some(3)]), vec![4, 6]);
        // They hold more: proportionally, adding up to N.
        assert_eq!(split_shares(30, &[Some(50), Some(0)]), vec![30, 0]);
        assert_eq!(
            split_shares(10, &[Some(1), Some(1), Some(1)]),
            vec![4, 3, 3]
        );
        let shares = split_shares(100, &[Some(70), Some(20), Some(10)]);
        assert_eq!(shares, vec![70, 20, 10]);
        let shares = split_shares(7, &[Some(1_000), Some(999), Some(1)]);
        assert_eq!(shares.iter().sum::<u64>(), 7);
        assert!(
            shares[0] >= shares[1] && shares[1] >= shares[2],
            "{shares:?}"
        );
        assert_eq!(
            split_shares(u64::MAX, &[Some(u64::MAX), Some(1)])
                .iter()
                .sum::<u64>(),
            u64::MAX
        );
    }

    #[test]
    fn n_is_split_evenly_when_a_depth_is_unknown() {
        assert_eq!(split_shares(31, &[Some(100), None]), vec![16, 15]);
        assert_eq!(split_shares(5, &[None]), vec![5]);
        assert!(split_shares(5, &[]).is_empty());
    }

    /// A window with a byte bound: one connection, N and cap large.
    fn bounded(max_bytes: u64, conns: usize) -> Window {
        let w = Window::new(1_000_000, conns, max_bytes);
        {
            let mut a = w.lock();
            for c in &mut a.conns {
                *c = ConnAcct {
                    alive: true,
                    cap: 1000,
                    share: 1_000_000 / conns as u64,
                    ..ConnAcct::default()
                };
            }
        }
        w
    }

    #[test]
    fn the_byte_bound_holds_rdy_back() {
        const MIB: u64 = 1024 * 1024;
        let w = bounded(32 * MIB, 1);
        // Before any message: reckoned at 1 MiB each, so 32.
        assert_eq!(w.rdy_change(0, 0, 0), Some(32));
        // Small messages: the first size seen opens the window to the cap at once.
        let _ = w.admit(0, 100);
        assert_eq!(
            w.take_rewrites().0,
            vec![0],
            "rewritten without a settlement"
        );
        assert_eq!(w.rdy_change(0, 1, 100), Some(1000));
    }

    #[test]
    fn the_window_is_as_many_messages_as_fit_in_the_bound() {
        let w = bounded(10_000, 1);
        // Reckoned at 1 MiB before any arrived, which is over the bound: one.
        assert_eq!(w.rdy_change(0, 0, 0), Some(1));
        let _ = w.admit(0, 1000);
        assert_eq!(
            w.rdy_change(0, 0, 0),
            Some(10),
            "1 in hand + 9000 bytes of 1000"
        );
        for _ in 0..9 {
            let _ = w.admit(0, 1000);
        }
        assert_eq!(
            w.rdy_change(0, 0, 0),
            None,
            "full: 10 in hand, RDY 10, none more"
        );
        assert_eq!(
            w.rdy_change(0, 4, 4000),
            None,
            "6 in hand + 4 more: still 10"
        );
        // A bigger message is the new reckoning: the window narrows.
        let _ = w.admit(0, 4000);
        assert_eq!(
            w.rdy_change(0, 0, 0),
            Some(7),
            "7 in hand, 10 000 bytes: none more"
        );
        assert_eq!(w.rdy_change(0, 7, 10_000), Some(2), "10 000 bytes of 4000");
    }

    #[test]
    fn a_message_bigger_than_the_bound_still_comes() {
        let w = bounded(1000, 1);
        let _ = w.admit(0, 5000);
        assert_eq!(
            w.rdy_change(0, 0, 0),
            Some(1),
            "the one in hand, nothing more"
        );
        assert_eq!(
            w.rdy_change(0, 1, 5000),
            None,
            "none in hand: one may come, RDY stays 1"
        );
    }

    #[test]
    fn bytes_freed_on_one_connection_reopen_another_shut_one() {
        let w = bounded(2000, 2);
        let _ = w.admit(0, 1000);
        let _ = w.take_rewrites();
        let _ = w.admit(0, 1000);
        // Connection 1 is shut by the bound: 2000 of 2000 in flight on connection 0.
        assert_eq!(w.rdy_change(1, 0, 0), None, "RDY 0 was never raised");
        assert_eq!(w.take_rewrites().0, Vec::<usize>::new());
        // Connection 0 settles; connection 1, with nothing to settle, is marked.
        let _ = w.rdy_change(0, 2, 2000);
        assert_eq!(w.take_rewrites().0, vec![1]);
        assert_eq!(w.rdy_change(1, 0, 0), Some(1));
    }

    #[test]
    fn the_byte_bound_never_breaks_exact_n() {
        // The window simulation of `one_connection_never_gets_more_than_n` with a bound.
        let w = Window::new(500, 1, 64 * 1024);
        w.open(&[(0, true, 2500, None)], 1000);
        let mut rdy = w.rdy_change(0, 0, 0).unwrap_or(0);
        let (mut nsqd_inflight, mut held, mut delivered) = (0u64, Vec::new(), 0u64);
        for round in 0..100_000u64 {
            while nsqd_inflight < rdy && delivered < 5000 {
                let size = 100 + (delivered * 7919) % 20_000;
                nsqd_inflight += 1;
                delivered += 1;
                assert!(
                    matches!(w.admit(0, size), Admission::Admitted { .. }),
                    "past N"
                );
                held.push(size);
            }
            let _ = w.take_rewrites();
            if held.is_empty() {
                break;
            }
            let k = held.len().min(1 + (round % 7) as usize);
            let bytes: u64 = held.drain(..k).sum();
            if let Some(r) = w.rdy_change(0, k as u64, bytes) {
                rdy = r;
            }
            nsqd_inflight -= k as u64;
        }
        assert_eq!(delivered, 500);
        assert_eq!(rdy, 0);
    }
}
