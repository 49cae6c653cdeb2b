//! [`Consumer`]: connections to every nsqd, and the task that writes the `RDY`s no
//! connection writes itself.
//!
//! The arithmetic of shares and `RDY` lives in `window` (see its module doc); this file
//! does the I/O it asks for. A connection writes its own `RDY` ahead of its settlements,
//! but two changes must reach connections that are not writing: the N-th arrival closes
//! every window, and a lost connection's heir gets a larger one. The window records
//! those and wakes the consumer's writer task, which owns the connections and writes
//! them at once. With several nsqd the same task also moves the shares of idle
//! connections to busy ones every [`REBALANCE_INTERVAL`]: lowering the donors' `RDY`
//! first, then raising the receivers', so the windows on the wire never add up to more
//! than what is wanted. Keeping the connections here, and only here, is what lets
//! `conn` and `window` not know the consumer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::conn::{Conn, Deliver};
use crate::depth;
use crate::http::HttpClient;
use crate::message::{self, Message};
use crate::window::{Counters, Window};
use crate::{ConsumerOptions, NsqAddresses, NsqError, NsqdAddr, Settle};

/// After the grace period, the least time still given to nsqd to answer `CLS`.
const MIN_CLOSE_WAIT: Duration = Duration::from_millis(500);
/// Bound on reading the channel depths at the start (only with more than one nsqd): a
/// local nsqd answers in a millisecond; one slower than this gets an even split.
const DEPTH_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the shares are looked at (only with more than one nsqd).
const REBALANCE_INTERVAL: Duration = Duration::from_millis(200);

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

/// Consumes one topic/channel from one or more nsqd, handing out at most N messages;
/// `serve` [`pause`]s it after a batch and [`resume`]s it for the next N.
///
/// [`pause`]: Consumer::pause
/// [`resume`]: Consumer::resume
pub struct Consumer {
    window: Arc<Window>,
    conns: Vec<Arc<Conn>>,
    rx: mpsc::UnboundedReceiver<Message>,
    rdy_writer: Option<tokio::task::JoinHandle<()>>,
    /// The nsqd connected to (by window index), for the depths a batch is split by.
    addrs: Vec<NsqdAddr>,
    http: HttpClient,
    topic: String,
    channel: String,
    /// The window's counters when the current batch began: [`stats`](Consumer::stats)
    /// counts from here.
    base: Counters,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Some(task) = self.rdy_writer.take() {
            task.abort();
        }
    }
}

/// Writes the `RDY`s the window asks for (at once, when woken) and, with several nsqd,
/// moves shares from idle connections to busy ones; ends once nothing more is wanted.
async fn write_rdys(window: Arc<Window>, conns: Vec<Arc<Conn>>) {
    let rebalancing = conns.len() > 1;
    let mut next_look = Instant::now() + REBALANCE_INTERVAL;
    loop {
        let look = tokio::select! {
            () = window.rewrite_wanted() => false,
            () = tokio::time::sleep_until(next_look), if rebalancing => true,
        };
        let (rewrites, done) = window.take_rewrites();
        update_rdy(&conns, rewrites).await;
        // The rewrites of the N-th arrival are recorded under the same lock as the
        // count, so once `done` they have just been written: nothing is left to do.
        if done {
            return;
        }
        if !look {
            continue;
        }
        let Some((donors, receivers)) = window.plan_rebalance(Instant::now()) else {
            return;
        };
        if !donors.is_empty() {
            tracing::debug!(
                ?donors,
                ?receivers,
                "moving the shares of idle nsqd connections"
            );
            // Lower first, then raise: the shares on the wire never exceed what is wanted.
            update_rdy(&conns, donors.into_iter().chain(receivers)).await;
        }
        next_look = Instant::now() + REBALANCE_INTERVAL;
    }
}

/// Writes the current `RDY` of the connections with these window indexes, in order.
async fn update_rdy(conns: &[Arc<Conn>], indexes: impl IntoIterator<Item = usize>) {
    for i in indexes {
        // By index in the window, not position: an nsqd that could not be reached has
        // an index but no connection.
        if let Some(c) = conns.iter().find(|c| c.idx == i) {
            let _ = c.update_rdy().await;
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
            if !crate::is_valid_name(name) {
                return Err(NsqError::Options(format!("invalid {what} name {name:?}")));
            }
        }
        let addrs = match &opts.addresses {
            NsqAddresses::Nsqd(_) => opts.nsqd_addrs(),
            NsqAddresses::Lookupd(l) => {
                crate::lookup_producers(&opts.http(), l, &opts.topic, opts.connect_timeout).await?
            }
        };
        if addrs.is_empty() {
            if matches!(opts.addresses, NsqAddresses::Nsqd(_)) {
                return Err(NsqError::Options("no nsqd address given".into()));
            }
            tracing::info!(topic = %opts.topic, "nsqlookupd knows no producer of the topic yet");
        }

        let window = Arc::new(Window::new(
            opts.max_messages,
            addrs.len(),
            opts.max_in_flight_bytes,
        ));
        let (tx, rx) = mpsc::unbounded_channel();
        let attempts = addrs.iter().enumerate().map(|(i, a)| {
            let tx = tx.clone();
            let deliver: Deliver = Box::new(move |raw, conn| {
                tx.send(Message::new(raw, Arc::clone(conn)))
                    .map_err(|mpsc::error::SendError(msg)| msg.disarm())
            });
            Conn::open(i, a, &opts, Arc::clone(&window), deliver)
        });
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
        let http = opts.http();
        // After SUB (the channel exists and holds its copy), before the first RDY.
        let depths = read_depths(&conns, &addrs, &http, &opts.topic, &opts.channel).await;
        let opened: Vec<_> = conns
            .iter()
            .zip(depths)
            .map(|(c, depth)| (c.idx, !c.is_closed(), c.max_rdy_count, depth))
            .collect();
        window.open(&opened, opts.max_in_flight);
        for c in &conns {
            if let Err(e) = c.update_rdy().await {
                tracing::warn!(nsqd = %c.addr, error = %e, "could not open the RDY window");
            }
        }
        tracing::debug!(connections = conns.len(), "subscribed");
        // A rewrite asked for before the task starts (the N-th arrival during the first
        // RDYs) is not lost: the window's Notify keeps the permit.
        let rdy_writer = (!conns.is_empty())
            .then(|| tokio::spawn(write_rdys(Arc::clone(&window), conns.clone())));
        let base = window.counters();
        Ok(Consumer {
            window,
            conns,
            rx,
            rdy_writer,
            addrs,
            http,
            topic: opts.topic.clone(),
            channel: opts.channel.clone(),
            base,
        })
    }

    /// The nsqd this consumer connected to (nsqlookupd's answer at the time, or the
    /// configured ones that could be reached and the ones that could not).
    pub fn nsqd(&self) -> impl Iterator<Item = &str> {
        self.addrs.iter().map(|a| a.tcp.as_str())
    }

    /// Every connection it opened is still open (and it has one).
    pub fn is_intact(&self) -> bool {
        !self.conns.is_empty()
            && self.conns.len() == self.addrs.len()
            && self.conns.iter().all(|c| !c.is_closed())
    }

    /// Ends a batch without closing: `RDY 0` everywhere, messages received but never
    /// taken requeued, and up to `grace` for those handed out to be settled (a dropped
    /// one is requeued). The connections stay subscribed and keep answering heartbeats;
    /// what nsqd had already sent arrives past the stop and is requeued unprocessed
    /// (counted as over-limit in the next batch's [`stats`](Consumer::stats)).
    pub async fn pause(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        if let Some(task) = self.rdy_writer.take() {
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
            let _ = message::settle(untaken).await;
        }
        loop {
            let settled = self.window.settled();
            if self.window.inflight() == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, settled).await.is_err() {
                tracing::warn!(
                    in_flight = self.window.inflight(),
                    "messages still unsettled after the grace period; nsqd redelivers them after msg_timeout"
                );
                break;
            }
        }
    }

    /// Opens the next batch after [`pause`](Consumer::pause): at most `max_messages`
    /// more, split over the live connections by their channel depths now, exactly as
    /// [`connect`](Consumer::connect) splits the first; [`stats`](Consumer::stats) count
    /// from zero again.
    pub async fn resume(&mut self, max_messages: u64) {
        debug_assert!(self.rdy_writer.is_none(), "resume after pause");
        let live: Vec<_> = self
            .conns
            .iter()
            .filter(|c| !c.is_closed())
            .cloned()
            .collect();
        let depths = read_depths(&live, &self.addrs, &self.http, &self.topic, &self.channel).await;
        let by_index: Vec<_> = live.iter().map(|c| c.idx).zip(depths).collect();
        self.base = self.window.counters();
        self.window.rearm(max_messages.max(1), &by_index);
        for c in &live {
            if let Err(e) = c.update_rdy().await {
                tracing::warn!(nsqd = %c.addr, error = %e, "could not open the RDY window");
            }
        }
        self.rdy_writer = Some(tokio::spawn(write_rdys(
            Arc::clone(&self.window),
            self.conns.clone(),
        )));
    }

    /// The next message, or `None` once every connection has closed. Cancel-safe.
    pub async fn next(&mut self) -> Option<Message> {
        self.rx.recv().await
    }

    /// A message already received, without waiting.
    pub fn try_next(&mut self) -> Option<Message> {
        self.rx.try_recv().ok()
    }

    /// The counters of the current batch (since [`connect`](Consumer::connect) or the
    /// last [`resume`](Consumer::resume)).
    pub fn stats(&self) -> ConsumerStats {
        let c = self.window.counters();
        let b = self.base;
        ConsumerStats {
            received: c.received - b.received,
            over_limit_requeued: c.over_limit - b.over_limit,
            finished: c.finished - b.finished,
            requeued: c.requeued - b.requeued,
            connections: self.conns.iter().filter(|c| !c.is_closed()).count(),
        }
    }

    /// Asks for nothing more: `RDY 0` on every connection. Idempotent.
    pub async fn stop_receiving(&self) {
        self.window.stop();
        for c in &self.conns {
            let _ = c.update_rdy().await;
        }
    }

    /// Closes cleanly: `RDY 0`, requeues messages received but never taken, waits up to
    /// `grace` for those handed out to be settled (a dropped one is requeued), then `CLS`,
    /// waits for `CLOSE_WAIT` and closes the sockets.
    pub async fn close(mut self, grace: Duration) -> Result<(), NsqError> {
        let deadline = Instant::now() + grace;
        self.pause(grace).await;
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

/// The channel depth at each connection's nsqd (with one connection there is nothing to
/// split: not read), in the order of `conns`.
async fn read_depths(
    conns: &[Arc<Conn>],
    addrs: &[NsqdAddr],
    http: &HttpClient,
    topic: &str,
    channel: &str,
) -> Vec<Option<u64>> {
    if conns.len() <= 1 {
        return vec![None; conns.len()];
    }
    let urls: Vec<String> = conns.iter().map(|c| addrs[c.idx].http.clone()).collect();
    let depths = depth::channel_depths(http, &urls, topic, channel, DEPTH_TIMEOUT).await;
    tracing::debug!(?depths, "channel depth per nsqd");
    depths
}
