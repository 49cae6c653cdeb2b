//! [`Consumer`]: connections to every nsqd, the shared count of messages, and the `RDY`
//! each connection may have.
//!
//! # Accounting
//! For each connection: `inflight` (handed out, not yet settled) and `share` (how many
//! more it may still receive). The shares of all connections never add up to more than
//! N − received. A connection's `RDY` is `min(cap, inflight + share)`, where `cap` is its
//! part of `max-in-flight` bounded by nsqd's `max_rdy_count`. An arrival moves one from
//! `share` to `inflight` (the `RDY` stays); a settlement lowers `inflight`, so the `RDY`
//! written before the FINs shrinks with it. Once N have arrived, or after
//! [`Consumer::stop_receiving`], every `RDY` is 0.
//!
//! A connection that ends gives its share to a live one. With several nsqd, a connection
//! that has nothing in flight and received nothing for [`REBALANCE_IDLE`] (its nsqd has
//! no messages for us) gives its share to the connections that are receiving: its `RDY`
//! is lowered to 0 first, then theirs are raised, so the shares still never add up to
//! more than what is wanted. A message already on the wire from the idle nsqd when its
//! `RDY` drops still counts against N, and past N it is requeued unprocessed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::conn::Conn;
use super::{ConsumerOptions, Message, MessageId, NsqAddresses, NsqError, Settle};

/// After the grace period, the least time still given to nsqd to answer `CLS`.
const MIN_CLOSE_WAIT: Duration = Duration::from_millis(500);
/// A connection with nothing in flight that received nothing for this long gives its
/// share to the busy ones. Well above nsqd's flush delay for x-msrv (25 ms), so a
/// connection between two flushes is not mistaken for an idle one.
pub const REBALANCE_IDLE: Duration = Duration::from_millis(500);
/// How often the shares are looked at (only with more than one nsqd).
const REBALANCE_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Default, Clone)]
struct ConnAcct {
    alive: bool,
    inflight: u64,
    share: u64,
    cap: u64,
    rdy_sent: u64,
    /// The last arrival (or the subscription).
    last_active: Option<Instant>,
    /// It gave its share away as idle: never a receiver again (no ping-pong).
    donated: bool,
}

#[derive(Debug, Default)]
struct Accounting {
    admitted: u64,
    stopped: bool,
    conns: Vec<ConnAcct>,
}

impl Accounting {
    fn target(&self, max_messages: u64, idx: usize) -> u64 {
        let c = &self.conns[idx];
        if self.stopped || self.admitted >= max_messages || !c.alive {
            0
        } else {
            c.cap.min(c.inflight + c.share)
        }
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

/// State shared by the consumer, its connections and every message.
pub(crate) struct Shared {
    max_messages: u64,
    acct: Mutex<Accounting>,
    received: AtomicU64,
    over_limit: AtomicU64,
    finished: AtomicU64,
    requeued: AtomicU64,
    settled: Notify,
    /// Weak: connections own `Arc<Shared>`, so strong references back would leak both.
    conns: OnceLock<Vec<Weak<Conn>>>,
}

impl Shared {
    fn new(max_messages: u64, connections: usize) -> Shared {
        Shared {
            max_messages,
            acct: Mutex::new(Accounting {
                conns: vec![ConnAcct::default(); connections],
                ..Accounting::default()
            }),
            received: AtomicU64::new(0),
            over_limit: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            requeued: AtomicU64::new(0),
            settled: Notify::new(),
            conns: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Accounting> {
        // The lock guards plain counters; a panic elsewhere cannot leave them half-updated
        // in a way worse than stopping, so keep going with the data as it is.
        self.acct.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an arrival on connection `idx` against N.
    pub(crate) fn admit(&self, idx: usize) -> Admission {
        let mut a = self.lock();
        if a.stopped || a.admitted >= self.max_messages {
            drop(a);
            self.over_limit.fetch_add(1, Ordering::Relaxed);
            return Admission::OverLimit;
        }
        a.admitted += 1;
        self.received.fetch_add(1, Ordering::Relaxed);
        let c = &mut a.conns[idx];
        c.inflight += 1;
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
        Admission::Admitted {
            limit_reached: a.admitted == self.max_messages,
        }
    }

    /// Records that `settled` messages of connection `idx` are being settled and returns
    /// the `RDY` to write first, if it changes.
    pub(crate) fn rdy_change(&self, idx: usize, settled: u64) -> Option<u64> {
        let mut a = self.lock();
        let c = &mut a.conns[idx];
        c.inflight = c.inflight.saturating_sub(settled);
        let target = a.target(self.max_messages, idx);
        let c = &mut a.conns[idx];
        (target != c.rdy_sent).then(|| {
            c.rdy_sent = target;
            target
        })
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

    /// The connection ended: nsqd will requeue its in-flight messages at their timeout;
    /// its share goes to a live connection.
    pub(crate) fn connection_lost(&self, idx: usize) {
        let heir = {
            let mut a = self.lock();
            let c = &mut a.conns[idx];
            c.alive = false;
            c.inflight = 0;
            let share = std::mem::take(&mut c.share);
            let heir = a.conns.iter().position(|c| c.alive);
            if let Some(h) = heir {
                a.conns[h].share += share;
            }
            heir
        };
        self.notify_settled();
        if let Some(h) = heir {
            self.spawn_rdy_updates(Some(h));
        }
    }

    /// N have arrived: close every window now rather than at the next settlement.
    pub(crate) fn limit_reached(&self) {
        self.spawn_rdy_updates(None);
    }

    fn spawn_rdy_updates(&self, only: Option<usize>) {
        let Some(conns) = self.conns.get() else {
            return;
        };
        let targets: Vec<_> = conns
            .iter()
            .enumerate()
            .filter(|(i, _)| only.is_none_or(|o| o == *i))
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        tokio::spawn(async move {
            for c in targets {
                let _ = c.update_rdy().await;
            }
        });
    }

    /// Moves the shares of idle connections to the receiving ones. Returns the donors
    /// (whose `RDY` must be lowered first) and the receivers, or `None` once nothing more
    /// is wanted (N arrived, or stopped).
    fn plan_rebalance(&self, now: Instant) -> Option<(Vec<usize>, Vec<usize>)> {
        let mut a = self.lock();
        if a.stopped || a.admitted >= self.max_messages {
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
                c.alive && !c.donated && (c.share == 0 || !idle(c))
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

    fn conn(&self, idx: usize) -> Option<Arc<Conn>> {
        self.conns
            .get()
            .and_then(|c| c.get(idx))
            .and_then(Weak::upgrade)
    }

    fn inflight(&self) -> u64 {
        self.lock()
            .conns
            .iter()
            .filter(|c| c.alive)
            .map(|c| c.inflight)
            .sum()
    }
}

/// Counters of one consumer's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Messages handed out (counted against N).
    pub received: u64,
    /// Messages that arrived past N (or after stop) and were requeued unprocessed.
    pub over_limit_requeued: u64,
    /// FINs sent.
    pub finished: u64,
    /// REQs sent for handed-out messages.
    pub requeued: u64,
    /// Connections still open.
    pub connections: usize,
}

/// Settles messages; cheap to clone and to send to worker tasks.
#[derive(Clone, Default)]
pub struct Settler {
    _private: (),
}

impl Settler {
    /// Settles many messages at once: per connection one write holding the lowered `RDY`
    /// followed by the FINs and REQs. Returns after the bytes are written; the first
    /// error, if any, after trying every connection. A message whose connection is gone
    /// needs nothing: nsqd redelivers it after its msg_timeout.
    pub async fn settle(&self, batch: Vec<(Message, Settle)>) -> Result<(), NsqError> {
        type Group = (Arc<Conn>, Vec<(MessageId, Settle)>);
        let mut groups: Vec<Group> = Vec::new();
        for (mut msg, how) in batch {
            msg.settled = true;
            match groups.iter_mut().find(|(c, _)| Arc::ptr_eq(c, &msg.conn)) {
                Some((_, items)) => items.push((msg.id, how)),
                None => groups.push((Arc::clone(&msg.conn), vec![(msg.id, how)])),
            }
        }
        let mut first_err = None;
        for (conn, items) in groups {
            if let Err(e) = conn.settle(&items).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// `TOUCH`: tells nsqd the message is still being worked on.
    pub async fn touch(&self, msg: &Message) -> Result<(), NsqError> {
        msg.conn.touch(&msg.id).await
    }
}

/// Consumes one topic/channel from one or more nsqd, handing out at most N messages.
pub struct Consumer {
    shared: Arc<Shared>,
    conns: Vec<Arc<Conn>>,
    rx: mpsc::UnboundedReceiver<Message>,
    rebalancer: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(task) = self.rebalancer.take() {
            task.abort();
        }
    }
}

/// Moves shares from idle connections to busy ones until nothing more is wanted.
async fn rebalance(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(REBALANCE_INTERVAL).await;
        let Some((donors, receivers)) = shared.plan_rebalance(Instant::now()) else {
            return;
        };
        if donors.is_empty() {
            continue;
        }
        tracing::debug!(
            ?donors,
            ?receivers,
            "moving the shares of idle nsqd connections"
        );
        // Lower first, then raise: the shares on the wire never exceed what is wanted.
        for i in donors.into_iter().chain(receivers) {
            if let Some(c) = shared.conn(i) {
                let _ = c.update_rdy().await;
            }
        }
    }
}

impl Consumer {
    /// Connects to every nsqd (given, or listed by nsqlookupd for the topic), sends
    /// IDENTIFY and SUB, and opens the `RDY` windows. Cancel-safe: dropping the future
    /// drops the sockets. Fails only when no nsqd could be used; with nsqlookupd and no
    /// producer of the topic yet, the consumer has no connections and [`next`] ends at
    /// once (nothing to consume is not an error).
    ///
    /// [`next`]: Consumer::next
    pub async fn connect(opts: ConsumerOptions) -> Result<Consumer, NsqError> {
        if opts.max_messages == 0 || opts.max_in_flight == 0 {
            return Err(NsqError::Options(
                "max-messages and max-in-flight must be at least 1".into(),
            ));
        }
        for (what, name) in [("topic", &opts.topic), ("channel", &opts.channel)] {
            if !super::is_valid_name(name) {
                return Err(NsqError::Options(format!("invalid {what} name {name:?}")));
            }
        }
        let addrs = match &opts.addresses {
            NsqAddresses::Nsqd(a) => a.clone(),
            NsqAddresses::Lookupd(l) => {
                super::lookup_producers(l, &opts.topic, opts.connect_timeout).await?
            }
        };
        if addrs.is_empty() {
            if matches!(opts.addresses, NsqAddresses::Nsqd(_)) {
                return Err(NsqError::Options("no nsqd address given".into()));
            }
            tracing::info!(topic = %opts.topic, "nsqlookupd knows no producer of the topic yet");
        }

        let shared = Arc::new(Shared::new(opts.max_messages, addrs.len()));
        let (tx, rx) = mpsc::unbounded_channel();
        let attempts = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| Conn::open(i, a, &opts, Arc::clone(&shared), tx.clone()));
        let results = futures::future::join_all(attempts).await;
        drop(tx);

        let mut conns = Vec::new();
        let mut first_err = None;
        for r in results {
            match r {
                Ok(c) => conns.push(c),
                Err(e) => {
                    tracing::warn!(error = %e, "nsqd unavailable");
                    first_err.get_or_insert(e);
                }
            }
        }
        if let (true, Some(e)) = (conns.is_empty(), first_err) {
            return Err(e);
        }
        let _ = shared.conns.set(conns.iter().map(Arc::downgrade).collect());
        {
            let mut a = shared.lock();
            let live = conns.len() as u64;
            let per_conn_in_flight = (u64::from(opts.max_in_flight) / live.max(1)).max(1);
            for (i, c) in conns.iter().enumerate() {
                let acct = &mut a.conns[c.idx];
                acct.alive = !c.is_closed();
                acct.last_active = Some(Instant::now());
                acct.cap = per_conn_in_flight.min(c.max_rdy_count);
                // Split N evenly; the first `N mod live` connections get one more.
                acct.share =
                    opts.max_messages / live + u64::from((i as u64) < opts.max_messages % live);
            }
        }
        for c in &conns {
            if let Err(e) = c.update_rdy().await {
                tracing::warn!(nsqd = %c.addr, error = %e, "could not open the RDY window");
            }
        }
        tracing::debug!(connections = conns.len(), "subscribed");
        let rebalancer = (conns.len() > 1).then(|| tokio::spawn(rebalance(Arc::clone(&shared))));
        Ok(Consumer {
            shared,
            conns,
            rx,
            rebalancer,
        })
    }

    /// The next message, or `None` once every connection has closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<Message> {
        self.rx.recv().await
    }

    /// A message already received, without waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        self.rx.try_recv().ok()
    }

    pub fn settler(&self) -> Settler {
        Settler::default()
    }

    pub fn stats(&self) -> ConsumerStats {
        ConsumerStats {
            received: self.shared.received.load(Ordering::Relaxed),
            over_limit_requeued: self.shared.over_limit.load(Ordering::Relaxed),
            finished: self.shared.finished.load(Ordering::Relaxed),
            requeued: self.shared.requeued.load(Ordering::Relaxed),
            connections: self.conns.iter().filter(|c| !c.is_closed()).count(),
        }
    }

    /// Asks for nothing more: `RDY 0` on every connection. Idempotent.
    pub async fn stop_receiving(&self) {
        self.shared.lock().stopped = true;
        for c in &self.conns {
            let _ = c.update_rdy().await;
        }
    }

    /// Closes cleanly: `RDY 0`, requeues messages received but never taken, waits up to
    /// `grace` for those handed out to be settled (a dropped one is requeued), then `CLS`,
    /// waits for `CLOSE_WAIT` and closes the sockets.
    pub async fn close(mut self, grace: Duration) -> Result<(), NsqError> {
        let deadline = Instant::now() + grace;
        if let Some(task) = self.rebalancer.take() {
            task.abort();
        }
        self.stop_receiving().await;
        let mut untaken = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            untaken.push((m, Settle::Requeue(Duration::ZERO)));
        }
        if !untaken.is_empty() {
            tracing::debug!(
                count = untaken.len(),
                "requeueing messages received but not taken"
            );
            let _ = self.settler().settle(untaken).await;
        }
        loop {
            let settled = self.shared.settled.notified();
            if self.shared.inflight() == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                tracing::warn!(
                    in_flight = self.shared.inflight(),
                    "messages still unsettled after the grace period; nsqd redelivers them after msg_timeout"
                );
                break;
            }
        }
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(MIN_CLOSE_WAIT);
        futures::future::join_all(
            self.conns
                .iter()
                .filter(|c| !c.is_closed())
                .map(|c| c.close(wait)),
        )
        .await;
        for c in &self.conns {
            c.shutdown().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(n: u64, shares: &[(u64, u64)]) -> Shared {
        let s = Shared::new(n, shares.len());
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
            let s = shared(n, &[(cap, n)]);
            let mut rdy = s.rdy_change(0, 0).unwrap_or(0);
            let mut nsqd_inflight = 0u64;
            let mut held = 0u64;
            let mut delivered = 0u64;
            let queue = 10 * n;
            for _ in 0..100_000 {
                // nsqd sends as much as the window allows.
                while nsqd_inflight < rdy && delivered < queue {
                    nsqd_inflight += 1;
                    delivered += 1;
                    match s.admit(0) {
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
                if let Some(r) = s.rdy_change(0, k) {
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
        let s = shared(10_000, &[(100, 5_000), (100, 5_000)]);
        assert_eq!(s.rdy_change(0, 0), Some(100));
        assert_eq!(s.rdy_change(0, 0), None, "unchanged RDY is not resent");
        s.lock().stopped = true;
        assert_eq!(s.rdy_change(0, 0), Some(0));
        assert_eq!(s.admit(0), Admission::OverLimit);
    }

    #[test]
    fn the_nth_arrival_reports_the_limit_and_later_ones_are_over() {
        let s = shared(2, &[(10, 1), (10, 1)]);
        assert_eq!(
            s.admit(0),
            Admission::Admitted {
                limit_reached: false
            }
        );
        // Connection 0 had a share of 1 only: a second arrival there takes connection 1's.
        assert_eq!(
            s.admit(0),
            Admission::Admitted {
                limit_reached: true
            }
        );
        assert_eq!(s.lock().conns[1].share, 0);
        assert_eq!(s.admit(1), Admission::OverLimit);
        assert_eq!(s.over_limit.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn idle_connections_give_their_share_to_busy_ones() {
        let s = shared(100, &[(50, 34), (50, 33), (50, 33)]);
        let t0 = Instant::now();
        {
            let mut a = s.lock();
            a.conns[0].last_active = Some(t0);
            a.conns[1].last_active = Some(t0);
            a.conns[2].last_active = Some(t0);
        }
        assert_eq!(s.rdy_change(1, 0), Some(33));
        let _ = s.admit(0);
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
        assert_eq!(s.rdy_change(1, 0), Some(0));
        s.lock().stopped = true;
        assert_eq!(
            s.plan_rebalance(later),
            None,
            "nothing to move after a stop"
        );
    }

    #[test]
    fn a_lost_connection_hands_its_share_on() {
        let s = shared(10, &[(10, 5), (10, 5)]);
        let _ = s.admit(0);
        s.connection_lost(0);
        let a = s.lock();
        assert_eq!(a.conns[1].share, 9);
        assert_eq!(a.conns[0].inflight, 0);
        assert!(!a.conns[0].alive);
    }
}
