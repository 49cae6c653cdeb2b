//! Topics, channels and the in-flight bookkeeping of nsqd (`nsqd/topic.go`,
//! `nsqd/channel.go`, `nsqd/client_v2.go`), without socket I/O: a delivery is a frame
//! handed to the client's writer channel, so the rules are unit-tested directly.
//!
//! Why one file of ~1 000 lines (an eighth of it tests): topic, channel and in-flight
//! state change together under one lock (a FIN touches the channel's in-flight map, its
//! counters and the deferred queue at once), as in nsqd's `topic.go`/`channel.go` pair;
//! keeping them side by side keeps that one lock's rules in one place.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use tokio::sync::mpsc;

use super::lookupd::Registry;
use super::tls::TlsInfo;

/// nsqd's message id: 16 ASCII hex digits.
pub type MsgId = [u8; 16];

/// Frame type of a message frame (`frameTypeMessage`).
const FRAME_TYPE_MESSAGE: u32 = 2;

#[derive(Debug, Clone)]
pub(crate) struct Msg {
    pub id: MsgId,
    pub body: Bytes,
    pub timestamp: i64,
    pub attempts: u16,
}

#[derive(Debug)]
struct InFlight {
    msg: Msg,
    client: u64,
    /// When it was sent: TOUCH can extend the deadline to at most `max_msg_timeout`
    /// after this (`channel.go` `TouchMessage`).
    delivered: Instant,
    deadline: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Channel {
    queue: VecDeque<Msg>,
    in_flight: HashMap<MsgId, InFlight>,
    deferred: Vec<(Instant, Msg)>,
    clients: Vec<u64>,
    next_client: usize,
    message_count: u64,
    requeue_count: u64,
    timeout_count: u64,
    /// `/channel/pause`: its clients are not ready (`IsReadyForMessages`).
    paused: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Topic {
    /// Messages the topic holds while it has no channel or is paused (nsqd keeps them
    /// in the topic), with their DPUB deferral, applied when they reach a channel.
    backlog: VecDeque<(Msg, Option<Duration>)>,
    channels: BTreeMap<String, Channel>,
    message_count: u64,
    message_bytes: u64,
    /// `/topic/pause`: the topic keeps its messages, as without channels.
    paused: bool,
    /// nsqd gives each topic its own id factory (`NewTopic`: `NewGUIDFactory`).
    ids: GuidFactory,
}

/// nsqd's message ids (`guid.go`): 41 bits of pseudo-milliseconds (ns >> 20) since
/// nsqd's epoch, 10 bits of `--node-id`, 12 bits of sequence within the
/// pseudo-millisecond, as 16 hex digits. So ids are unique per topic of one nsqd,
/// not across nsqd: two nsqd with the same node id (the default on one host, which
/// nsqd derives from the hostname) make the same ids for messages published in the
/// same pseudo-millisecond.
#[derive(Debug, Default)]
struct GuidFactory {
    sequence: i64,
    last_ts: i64,
    last_id: i64,
}

/// `( 2012-10-28 16:23:42 UTC ).UnixNano() >> 20`
const GUID_EPOCH: i64 = 1_288_834_974_288;
const GUID_NODE_BITS: u32 = 10;
const GUID_SEQUENCE_BITS: u32 = 12;
const GUID_SEQUENCE_MASK: i64 = (1 << GUID_SEQUENCE_BITS) - 1;

impl GuidFactory {
    /// The next id. Where nsqd's `NewGUID` fails (sequence expired, time or id gone
    /// backwards), its `GenerateID` waits and tries again: so does this (a spin of at
    /// most one pseudo-millisecond; 4096 ids per ms is far above what it serves).
    fn next(&mut self, node_id: u16) -> MsgId {
        loop {
            let ts = now_ns() >> 20;
            if ts < self.last_ts {
                std::hint::spin_loop();
                continue;
            }
            if ts == self.last_ts {
                self.sequence = (self.sequence + 1) & GUID_SEQUENCE_MASK;
                if self.sequence == 0 {
                    std::hint::spin_loop();
                    continue;
                }
            } else {
                self.sequence = 0;
            }
            self.last_ts = ts;
            let id = ((ts - GUID_EPOCH) << (GUID_NODE_BITS + GUID_SEQUENCE_BITS))
                | (i64::from(node_id) << GUID_SEQUENCE_BITS)
                | self.sequence;
            if id <= self.last_id {
                continue;
            }
            self.last_id = id;
            let hex = format!("{id:016x}");
            let mut out = [0u8; 16];
            out.copy_from_slice(hex.as_bytes());
            return out;
        }
    }
}

/// What nsqd knows of one subscribed TCP client.
#[derive(Debug)]
pub(crate) struct Client {
    pub topic: String,
    pub channel: String,
    pub rdy: i64,
    pub in_flight: i64,
    pub msg_timeout: Duration,
    /// IDENTIFY `sample_rate`: deliver only about this percentage (0 = all).
    pub sample_rate: i32,
    /// Closing after CLS: RDY is forced to 0 and RDY commands are ignored.
    pub closing: bool,
    pub out: mpsc::UnboundedSender<Bytes>,
    pub remote: String,
    pub user_agent: String,
    pub client_id: String,
    pub hostname: String,
    pub finish_count: u64,
    pub requeue_count: u64,
    pub message_count: u64,
    /// Unix seconds of the TCP connect (`connect_ts`).
    pub connect_ts: i64,
    pub features: ConnFeatures,
}

/// What `/stats` shows of a connection's TLS, compression and AUTH.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnFeatures {
    pub tls: Option<TlsInfo>,
    pub snappy: bool,
    pub deflate: bool,
    /// `HasAuthorizations`.
    pub authed: bool,
    pub auth_identity: String,
    pub auth_identity_url: String,
}

impl Client {
    /// `IsReadyForMessages` of `client_v2.go`: RDY is a window, not a countdown.
    pub fn is_ready(&self) -> bool {
        self.rdy > 0 && self.in_flight < self.rdy
    }
}

/// A TCP connection that published (`/stats` lists it under `producers`).
#[derive(Debug, Clone)]
pub(crate) struct Producer {
    pub remote: String,
    pub client_id: String,
    pub hostname: String,
    pub user_agent: String,
    pub connect_ts: i64,
    pub pub_counts: BTreeMap<String, u64>,
    pub features: ConnFeatures,
}

/// The state of one stand-in nsqd.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub topics: BTreeMap<String, Topic>,
    pub clients: HashMap<u64, Client>,
    /// Fault injection: this many more sends ignore the clients' RDY windows.
    pub over_deliver: u64,
    /// TCP connections that published, by connection id (nsqd's producer clients).
    pub producers: BTreeMap<u64, Producer>,
    /// `--node-id`: part of every message id.
    pub node_id: u16,
    /// xorshift state for IDENTIFY `sample_rate` (nsqd uses `rand.Int31n(100)`).
    rng: u64,
    /// The nsqlookupd this nsqd registers with (`None` in unit tests).
    pub lookupd: Option<Arc<Mutex<Registry>>>,
}

/// Why a FIN/REQ/TOUCH failed; the texts are nsqd's (`channel.go`).
pub(crate) const NOT_IN_FLIGHT: &str = "ID not in flight";
pub(crate) const NOT_OWNER: &str = "client does not own message";

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// A number in `0..100`, as nsqd's `rand.Int31n(100)` for sampling (xorshift64).
fn percent(rng: &mut u64) -> i32 {
    if *rng == 0 {
        // Seeded lazily so `State::default()` stays cheap; any non-zero seed works.
        *rng = u64::from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.subsec_nanos()),
        ) | 1;
    }
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    (*rng % 100) as i32
}

/// Encodes a message frame: size, type, timestamp, attempts, id, body.
pub(crate) fn message_frame(msg: &Msg) -> Bytes {
    let mut b = BytesMut::with_capacity(8 + 26 + msg.body.len());
    b.put_u32((4 + 26 + msg.body.len()) as u32);
    b.put_u32(FRAME_TYPE_MESSAGE);
    b.put_i64(msg.timestamp);
    b.put_u16(msg.attempts);
    b.put_slice(&msg.id);
    b.put_slice(&msg.body);
    b.freeze()
}

impl State {
    /// An nsqd that registers its topics and channels with this nsqlookupd.
    pub fn registering_with(lookupd: Arc<Mutex<Registry>>, node_id: u16) -> State {
        State {
            lookupd: Some(lookupd),
            node_id,
            ..State::default()
        }
    }

    /// Creates the topic if missing (as nsqd's `GetTopic` does on PUB or SUB). Like an
    /// nsqd with nsqlookupd configured, a new topic first gets the (non-ephemeral)
    /// channels nsqlookupd knows for it, so none of them misses a message.
    pub fn topic(&mut self, name: &str) -> &mut Topic {
        if !self.topics.contains_key(name) {
            let known = self.lookupd.as_ref().map_or_else(Vec::new, |r| {
                r.lock().unwrap_or_else(|p| p.into_inner()).channels(name)
            });
            let mut topic = Topic::default();
            for c in known.into_iter().filter(|c| !c.ends_with("#ephemeral")) {
                topic.channels.insert(c, Channel::default());
            }
            self.topics.insert(name.to_owned(), topic);
            self.notify_lookupd();
        }
        self.topics.get_mut(name).expect("inserted above")
    }

    /// nsqd's REGISTER/UNREGISTER after a topic or channel came or went.
    fn notify_lookupd(&self) {
        if let Some(r) = &self.lookupd {
            r.lock()
                .unwrap_or_else(|p| p.into_inner())
                .sync(self.names());
        }
    }

    /// Creates the channel if missing; a topic that held messages (no channel, not
    /// paused) hands them to its channels now.
    pub fn create_channel(&mut self, topic: &str, channel: &str) {
        let t = self.topic(topic);
        if !t.channels.contains_key(channel) {
            t.channels.insert(channel.to_owned(), Channel::default());
            self.notify_lookupd();
            self.distribute(topic);
        }
    }

    /// nsqd's topic `messagePump`: while the topic has channels and is not paused, each
    /// message it holds goes to every channel (a copy each).
    fn distribute(&mut self, topic: &str) {
        let Some(t) = self.topics.get_mut(topic) else {
            return;
        };
        if t.paused || t.channels.is_empty() || t.backlog.is_empty() {
            return;
        }
        let now = Instant::now();
        for (msg, defer) in t.backlog.drain(..) {
            for ch in t.channels.values_mut() {
                ch.message_count += 1;
                match defer {
                    Some(d) if !d.is_zero() => ch.deferred.push((now + d, msg.clone())),
                    _ => ch.queue.push_back(msg.clone()),
                }
            }
        }
        let channels: Vec<String> = t.channels.keys().cloned().collect();
        for c in channels {
            self.pump(topic, &c);
        }
    }

    /// PUB/DPUB: every channel gets a copy; without channels (or paused) the topic
    /// keeps it.
    pub fn publish(&mut self, topic: &str, body: Bytes, defer: Option<Duration>) {
        let node_id = self.node_id;
        let t = self.topic(topic);
        let id = t.ids.next(node_id);
        t.message_count += 1;
        t.message_bytes += body.len() as u64;
        let msg = Msg {
            id,
            body,
            timestamp: now_ns(),
            attempts: 0,
        };
        t.backlog.push_back((msg, defer));
        self.distribute(topic);
    }

    pub fn subscribe(&mut self, client: u64, topic: &str, channel: &str) {
        self.create_channel(topic, channel);
        if let Some(ch) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.channels.get_mut(channel))
            && !ch.clients.contains(&client)
        {
            ch.clients.push(client);
        }
    }

    /// A TCP connection published `count` messages to `topic`.
    pub fn count_published(
        &mut self,
        conn: u64,
        who: impl FnOnce() -> Producer,
        topic: &str,
        count: u64,
    ) {
        *self
            .producers
            .entry(conn)
            .or_insert_with(who)
            .pub_counts
            .entry(topic.to_owned())
            .or_default() += count;
    }

    /// The connection's TLS, compression or AUTH changed (a re-AUTH after the ttl).
    pub fn set_features(&mut self, conn: u64, features: &ConnFeatures) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.features = features.clone();
        }
        if let Some(p) = self.producers.get_mut(&conn) {
            p.features = features.clone();
        }
    }

    /// The connection is gone: as a producer and as a consumer.
    pub fn remove_connection(&mut self, conn: u64) {
        self.producers.remove(&conn);
        self.remove_client(conn);
    }

    /// Producer entries of `/stats`: only the first count matching `topic` (nsqd
    /// `clientV2.Stats` breaks after one).
    pub fn producer_stats(&self, topic: Option<&str>) -> Option<Vec<ClientStats>> {
        if self.producers.is_empty() {
            return None;
        }
        Some(
            self.producers
                .iter()
                .map(|(id, p)| {
                    let mut st = match self.clients.get(id) {
                        Some(c) => ClientStats::of(c),
                        None => ClientStats::of(&Client {
                            topic: String::new(),
                            channel: String::new(),
                            rdy: 0,
                            in_flight: 0,
                            msg_timeout: Duration::ZERO,
                            sample_rate: 0,
                            closing: false,
                            out: mpsc::unbounded_channel().0,
                            remote: p.remote.clone(),
                            user_agent: p.user_agent.clone(),
                            client_id: p.client_id.clone(),
                            hostname: p.hostname.clone(),
                            finish_count: 0,
                            requeue_count: 0,
                            message_count: 0,
                            connect_ts: p.connect_ts,
                            features: p.features.clone(),
                        }),
                    };
                    if st.state == STATE_SUBSCRIBED && !self.clients.contains_key(id) {
                        st.state = STATE_INIT;
                    }
                    st.pub_counts = p
                        .pub_counts
                        .iter()
                        .filter(|(t, _)| topic.is_none_or(|want| want == t.as_str()))
                        .take(1)
                        .map(|(t, n)| PubCount {
                            topic: t.clone(),
                            count: *n,
                        })
                        .collect();
                    st
                })
                .collect(),
        )
    }

    /// nsqd's `Exit` (clients and producers gone), then its start: what outlives the
    /// process is what `PersistMetadata` and the disk queues keep. Non-ephemeral
    /// topics and channels stay, with their paused flags (`LoadMetadata`); ephemeral
    /// ones go (their backend is a dummy). With `flush` (a graceful exit) each channel
    /// keeps its messages as `Channel.flush` writes them to the backend: the queue,
    /// then the in-flight ones, then the deferred ones, ready at once (the backend
    /// stores timestamp, attempts, id and body only, so attempts are kept and a
    /// deferral is lost); a topic keeps what it held (`Topic.flush`), deferral lost
    /// too. Without `flush` (a crash) every message is lost: the stand-in has no disk
    /// queue, so nothing was on disk. Counters restart at 0 in new topic/channel
    /// objects.
    pub fn restart(&mut self, flush: bool) {
        self.clients.clear();
        self.producers.clear();
        self.topics.retain(|name, _| !name.ends_with("#ephemeral"));
        for t in self.topics.values_mut() {
            t.channels.retain(|name, _| !name.ends_with("#ephemeral"));
            for ch in t.channels.values_mut() {
                let mut queue = std::mem::take(&mut ch.queue);
                // Go iterates the in-flight map in random order; the stand-in writes
                // them in delivery order.
                let mut in_flight: Vec<InFlight> = ch.in_flight.drain().map(|(_, f)| f).collect();
                in_flight.sort_by_key(|f| (f.delivered, f.msg.id));
                queue.extend(in_flight.into_iter().map(|f| f.msg));
                let mut deferred = std::mem::take(&mut ch.deferred);
                deferred.sort_by_key(|(at, m)| (*at, m.id));
                queue.extend(deferred.into_iter().map(|(_, m)| m));
                *ch = Channel {
                    queue: if flush { queue } else { VecDeque::new() },
                    paused: ch.paused,
                    ..Channel::default()
                };
            }
            let backlog = std::mem::take(&mut t.backlog);
            *t = Topic {
                backlog: if flush {
                    backlog.into_iter().map(|(m, _)| (m, None)).collect()
                } else {
                    VecDeque::new()
                },
                channels: std::mem::take(&mut t.channels),
                paused: t.paused,
                ..Topic::default()
            };
        }
    }

    /// After a restart, the nsqd registers its topics and channels with nsqlookupd
    /// again (the lookup loop's REGISTER for each on connecting).
    pub fn register_all(&self) {
        self.notify_lookupd();
    }

    /// The client is gone: it leaves its channel; its in-flight messages stay in flight
    /// until their timeout (nsqd does not requeue them at once). An ephemeral channel
    /// goes with its last client, an ephemeral topic with its last channel.
    pub fn remove_client(&mut self, client: u64) {
        let Some(c) = self.clients.remove(&client) else {
            return;
        };
        if let Some(t) = self.topics.get_mut(&c.topic)
            && let Some(ch) = t.channels.get_mut(&c.channel)
        {
            ch.clients.retain(|&id| id != client);
            if ch.clients.is_empty() && c.channel.ends_with("#ephemeral") {
                t.channels.remove(&c.channel);
                if t.channels.is_empty() && c.topic.ends_with("#ephemeral") {
                    self.topics.remove(&c.topic);
                }
                self.notify_lookupd();
            }
        }
    }

    /// Sends queued messages of one channel to its ready clients, round robin, as
    /// nsqd's per-client message pumps do.
    pub fn pump(&mut self, topic: &str, channel: &str) {
        let Some(ch) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.channels.get_mut(channel))
        else {
            return;
        };
        if ch.paused {
            return;
        }
        while !ch.queue.is_empty() && !ch.clients.is_empty() {
            let n = ch.clients.len();
            let mut chosen = None;
            for k in 0..n {
                let id = ch.clients[(ch.next_client + k) % n];
                let Some(c) = self.clients.get(&id) else {
                    continue;
                };
                if c.closing {
                    continue;
                }
                if c.is_ready() || self.over_deliver > 0 {
                    chosen = Some((k, id, !c.is_ready(), c.sample_rate));
                    break;
                }
            }
            let Some((k, id, forced, sample_rate)) = chosen else {
                break;
            };
            ch.next_client = (ch.next_client + k + 1) % n;
            let mut msg = ch.queue.pop_front().expect("queue checked non-empty");
            if sample_rate > 0 {
                // nsqd takes the message off the channel and skips it: with sampling
                // the channel loses the rest (`rand.Int31n(100) > sampleRate`).
                if percent(&mut self.rng) > sample_rate {
                    continue;
                }
            }
            if forced {
                self.over_deliver -= 1;
            }
            // A Go uint16: wraps after 65535 deliveries.
            msg.attempts = msg.attempts.wrapping_add(1);
            let c = self.clients.get_mut(&id).expect("chosen client exists");
            c.in_flight += 1;
            c.message_count += 1;
            let frame = message_frame(&msg);
            let now = Instant::now();
            ch.in_flight.insert(
                msg.id,
                InFlight {
                    msg,
                    client: id,
                    delivered: now,
                    deadline: now + c.msg_timeout,
                },
            );
            let _ = c.out.send(frame);
        }
    }

    fn in_flight_of(
        &mut self,
        client: u64,
        id: &MsgId,
    ) -> Result<(&mut Channel, String, String), &'static str> {
        let c = self.clients.get(&client).ok_or(NOT_IN_FLIGHT)?;
        let (topic, channel) = (c.topic.clone(), c.channel.clone());
        let ch = self
            .topics
            .get_mut(&topic)
            .and_then(|t| t.channels.get_mut(&channel))
            .ok_or(NOT_IN_FLIGHT)?;
        match ch.in_flight.get(id) {
            None => Err(NOT_IN_FLIGHT),
            Some(f) if f.client != client => Err(NOT_OWNER),
            Some(_) => Ok((ch, topic, channel)),
        }
    }

    pub fn finish(&mut self, client: u64, id: &MsgId) -> Result<(), &'static str> {
        let (ch, topic, channel) = self.in_flight_of(client, id)?;
        ch.in_flight.remove(id);
        if let Some(c) = self.clients.get_mut(&client) {
            c.in_flight -= 1;
            c.finish_count += 1;
        }
        self.pump(&topic, &channel);
        Ok(())
    }

    /// REQ: a zero delay goes to the back of the queue, any other is deferred.
    pub fn requeue(
        &mut self,
        client: u64,
        id: &MsgId,
        delay: Duration,
    ) -> Result<(), &'static str> {
        let (ch, topic, channel) = self.in_flight_of(client, id)?;
        let f = ch.in_flight.remove(id).expect("checked in flight");
        ch.requeue_count += 1;
        if delay.is_zero() {
            ch.queue.push_back(f.msg);
        } else {
            ch.deferred.push((Instant::now() + delay, f.msg));
        }
        if let Some(c) = self.clients.get_mut(&client) {
            c.in_flight -= 1;
            c.requeue_count += 1;
        }
        self.pump(&topic, &channel);
        Ok(())
    }

    /// TOUCH: the deadline becomes now + the client's msg_timeout, but never more than
    /// `max_msg_timeout` after the delivery.
    pub fn touch(
        &mut self,
        client: u64,
        id: &MsgId,
        msg_timeout: Duration,
        max_msg_timeout: Duration,
    ) -> Result<(), &'static str> {
        let (ch, _, _) = self.in_flight_of(client, id)?;
        if let Some(f) = ch.in_flight.get_mut(id) {
            let now = Instant::now();
            let wanted = now + msg_timeout;
            f.deadline = if wanted.duration_since(f.delivered) >= max_msg_timeout {
                f.delivered + max_msg_timeout
            } else {
                wanted
            };
        }
        Ok(())
    }

    /// A RDY or CLS changed a client's window: send what it may now take.
    pub fn client_changed(&mut self, client: u64) {
        if let Some(c) = self.clients.get(&client) {
            let (t, ch) = (c.topic.clone(), c.channel.clone());
            self.pump(&t, &ch);
        }
    }

    /// nsqd's queue scan loop: in-flight messages past their deadline go back to the
    /// queue (`timeout_count`), deferred ones that are due join it.
    pub fn scan(&mut self, now: Instant) {
        let mut touched = Vec::new();
        for (tname, t) in &mut self.topics {
            for (cname, ch) in &mut t.channels {
                // Oldest deadline first, as nsqd pops its in-flight priority queue.
                let mut expired: Vec<(Instant, MsgId)> = ch
                    .in_flight
                    .iter()
                    .filter(|(_, f)| f.deadline <= now)
                    .map(|(id, f)| (f.deadline, *id))
                    .collect();
                expired.sort();
                let mut changed = !expired.is_empty();
                for (_, id) in expired {
                    let f = ch.in_flight.remove(&id).expect("listed above");
                    ch.timeout_count += 1;
                    if let Some(c) = self.clients.get_mut(&f.client) {
                        c.in_flight -= 1;
                    }
                    ch.queue.push_back(f.msg);
                }
                // Due deferred messages in the order they fall due.
                ch.deferred.sort_by_key(|(due, _)| *due);
                let due = ch.deferred.partition_point(|(due, _)| *due <= now);
                if due > 0 {
                    changed = true;
                    ch.queue
                        .extend(ch.deferred.drain(..due).map(|(_, msg)| msg));
                }
                if changed {
                    touched.push((tname.clone(), cname.clone()));
                }
            }
        }
        for (t, c) in touched {
            self.pump(&t, &c);
        }
    }

    /// Every topic `(t, None)` and channel `(t, Some(c))`, as nsqd registers them with
    /// nsqlookupd.
    pub fn names(&self) -> BTreeSet<(String, Option<String>)> {
        self.topics
            .iter()
            .flat_map(|(t, topic)| {
                std::iter::once((t.clone(), None))
                    .chain(topic.channels.keys().map(|c| (t.clone(), Some(c.clone()))))
            })
            .collect()
    }

    /// Deletes a topic; returns the clients of its channels, which nsqd disconnects.
    pub fn delete_topic(&mut self, topic: &str) -> Option<Vec<u64>> {
        let t = self.topics.remove(topic)?;
        self.notify_lookupd();
        Some(t.channels.into_values().flat_map(|ch| ch.clients).collect())
    }

    /// Deletes a channel; returns its clients, which nsqd disconnects. An ephemeral
    /// topic goes with its last channel.
    pub fn delete_channel(&mut self, topic: &str, channel: &str) -> Option<Vec<u64>> {
        let t = self.topics.get_mut(topic)?;
        let ch = t.channels.remove(channel)?;
        if t.channels.is_empty() && topic.ends_with("#ephemeral") {
            self.topics.remove(topic);
        }
        self.notify_lookupd();
        Some(ch.clients)
    }

    /// `/topic/empty`: drops what the topic holds (not its channels' messages).
    pub fn empty_topic(&mut self, topic: &str) -> bool {
        self.topics
            .get_mut(topic)
            .map(|t| t.backlog.clear())
            .is_some()
    }

    /// `/channel/empty`: drops queued, in-flight and deferred messages; the clients'
    /// in-flight counts go to zero (`client.Empty()`).
    pub fn empty_channel(&mut self, topic: &str, channel: &str) -> bool {
        let Some(ch) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.channels.get_mut(channel))
        else {
            return false;
        };
        ch.queue.clear();
        ch.in_flight.clear();
        ch.deferred.clear();
        for id in ch.clients.clone() {
            if let Some(c) = self.clients.get_mut(&id) {
                c.in_flight = 0;
            }
        }
        self.pump(topic, channel);
        true
    }

    pub fn pause_topic(&mut self, topic: &str, paused: bool) -> bool {
        let Some(t) = self.topics.get_mut(topic) else {
            return false;
        };
        t.paused = paused;
        self.distribute(topic);
        true
    }

    pub fn pause_channel(&mut self, topic: &str, channel: &str, paused: bool) -> bool {
        let Some(ch) = self
            .topics
            .get_mut(topic)
            .and_then(|t| t.channels.get_mut(channel))
        else {
            return false;
        };
        ch.paused = paused;
        self.pump(topic, channel);
        true
    }

    /// The topics sorted by name, each with its channels sorted by name (or only the
    /// ones named), as nsqd's `GetStats`; `None` when the named topic does not exist.
    pub fn stats(
        &self,
        only_topic: Option<&str>,
        only_channel: Option<&str>,
        include_clients: bool,
    ) -> Option<Vec<TopicStats>> {
        if let Some(t) = only_topic
            && !self.topics.contains_key(t)
        {
            return None;
        }
        Some(
            self.topics
                .iter()
                .filter(|(name, _)| only_topic.is_none_or(|t| t == name.as_str()))
                // A named channel missing from a topic drops the topic (nsqd `continue`s).
                .filter(|(_, t)| only_channel.is_none_or(|c| t.channels.contains_key(c)))
                .map(|(name, t)| TopicStats {
                    topic_name: name.clone(),
                    channels: t
                        .channels
                        .iter()
                        .filter(|(c, _)| only_channel.is_none_or(|o| o == c.as_str()))
                        .map(|(c, ch)| self.channel_stats_of(c, ch, include_clients))
                        .collect(),
                    depth: t.backlog.len() as u64,
                    backend_depth: 0,
                    message_count: t.message_count,
                    message_bytes: t.message_bytes,
                    paused: t.paused,
                    e2e_processing_latency: E2eLatency::default(),
                })
                .collect(),
        )
    }

    fn channel_stats_of(&self, name: &str, ch: &Channel, include_clients: bool) -> ChannelStats {
        ChannelStats {
            channel_name: name.to_owned(),
            depth: ch.queue.len() as u64,
            backend_depth: 0,
            in_flight_count: ch.in_flight.len() as u64,
            deferred_count: ch.deferred.len() as u64,
            message_count: ch.message_count,
            requeue_count: ch.requeue_count,
            timeout_count: ch.timeout_count,
            client_count: ch.clients.len() as u64,
            clients: include_clients.then(|| {
                ch.clients
                    .iter()
                    .filter_map(|id| self.clients.get(id))
                    .map(ClientStats::of)
                    .collect()
            }),
            paused: ch.paused,
            e2e_processing_latency: E2eLatency::default(),
        }
    }

    pub fn messages(&self, topic: &str, channel: &str) -> Vec<QueuedMessage> {
        let Some(ch) = self.topics.get(topic).and_then(|t| t.channels.get(channel)) else {
            return Vec::new();
        };
        let view = |m: &Msg, state| QueuedMessage {
            id: String::from_utf8_lossy(&m.id).into_owned(),
            body: m.body.clone(),
            timestamp: m.timestamp,
            attempts: m.attempts,
            state,
        };
        ch.queue
            .iter()
            .map(|m| view(m, MessageState::Queued))
            .chain(
                ch.in_flight
                    .values()
                    .map(|f| view(&f.msg, MessageState::InFlight)),
            )
            .chain(
                ch.deferred
                    .iter()
                    .map(|(_, m)| view(m, MessageState::Deferred)),
            )
            .collect()
    }
}

/// A message of a channel, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: String,
    pub body: Bytes,
    pub timestamp: i64,
    /// Deliveries so far.
    pub attempts: u16,
    pub state: MessageState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    Queued,
    InFlight,
    Deferred,
}

/// `/stats?format=json`, in nsqd's field names (`nsqd/http.go` `doStats`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub version: String,
    pub health: String,
    pub start_time: i64,
    /// `null` in nsqd's JSON when a `topic=` filter names a missing topic.
    pub topics: Option<Vec<TopicStats>>,
    /// Go runtime memory figures in nsqd; zeros here (there is no Go heap to report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemStats>,
    /// TCP clients that published (`null` when there are none, as in nsqd).
    pub producers: Option<Vec<ClientStats>>,
}

/// nsqd's `memStats` object (all zero in the stand-in).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MemStats {
    pub heap_objects: u64,
    pub heap_idle_bytes: u64,
    pub heap_in_use_bytes: u64,
    pub heap_released_bytes: u64,
    pub gc_pause_usec_100: u64,
    pub gc_pause_usec_99: u64,
    pub gc_pause_usec_95: u64,
    pub next_gc_bytes: u64,
    pub gc_total_runs: u32,
}

/// nsqd's `e2e_processing_latency` (a quantile result); the stand-in has no
/// `--e2e-processing-latency-percentile`, so it is empty as in a default nsqd.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct E2eLatency {
    pub count: u64,
    pub percentiles: Option<Vec<serde_json::Value>>,
}

/// `/stats?format=json` topic entry, in nsqd's field names.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopicStats {
    pub topic_name: String,
    pub channels: Vec<ChannelStats>,
    pub depth: u64,
    pub backend_depth: u64,
    pub message_count: u64,
    pub message_bytes: u64,
    pub paused: bool,
    pub e2e_processing_latency: E2eLatency,
}

/// A channel entry of `/stats`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChannelStats {
    pub channel_name: String,
    /// Queued messages (nsqd: in memory + on disk; the stand-in keeps all in memory).
    pub depth: u64,
    pub backend_depth: u64,
    pub in_flight_count: u64,
    pub deferred_count: u64,
    pub message_count: u64,
    pub requeue_count: u64,
    pub timeout_count: u64,
    pub client_count: u64,
    /// `null` with `include_clients=false`.
    pub clients: Option<Vec<ClientStats>>,
    pub paused: bool,
    pub e2e_processing_latency: E2eLatency,
}

/// A client entry of `/stats` (nsqd's `ClientV2Stats`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClientStats {
    pub client_id: String,
    pub hostname: String,
    pub version: String,
    pub remote_address: String,
    pub state: i32,
    pub ready_count: i64,
    pub in_flight_count: i64,
    pub message_count: u64,
    pub finish_count: u64,
    pub requeue_count: u64,
    pub connect_ts: i64,
    pub sample_rate: i32,
    pub deflate: bool,
    pub snappy: bool,
    pub user_agent: String,
    /// `omitempty` in nsqd, as the two after it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub authed: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_identity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_identity_url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pub_counts: Vec<PubCount>,
    pub tls: bool,
    pub tls_cipher_suite: String,
    pub tls_version: String,
    pub tls_negotiated_protocol: String,
    pub tls_negotiated_protocol_is_mutual: bool,
}

/// Messages one producer published to one topic.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PubCount {
    pub topic: String,
    pub count: u64,
}

/// nsqd's client states as `/stats` reports them.
const STATE_INIT: i32 = 0;
const STATE_SUBSCRIBED: i32 = 3;
const STATE_CLOSING: i32 = 4;

impl ClientStats {
    fn of(c: &Client) -> ClientStats {
        ClientStats {
            client_id: c.client_id.clone(),
            hostname: c.hostname.clone(),
            version: "V2".into(),
            remote_address: c.remote.clone(),
            state: if c.closing {
                STATE_CLOSING
            } else {
                STATE_SUBSCRIBED
            },
            ready_count: c.rdy,
            in_flight_count: c.in_flight,
            message_count: c.message_count,
            finish_count: c.finish_count,
            requeue_count: c.requeue_count,
            connect_ts: c.connect_ts,
            sample_rate: c.sample_rate,
            deflate: c.features.deflate,
            snappy: c.features.snappy,
            user_agent: c.user_agent.clone(),
            authed: c.features.authed,
            auth_identity: c.features.auth_identity.clone(),
            auth_identity_url: c.features.auth_identity_url.clone(),
            pub_counts: Vec::new(),
            tls: c.features.tls.is_some(),
            tls_cipher_suite: c
                .features
                .tls
                .as_ref()
                .map(|t| t.cipher_suite.clone())
                .unwrap_or_default(),
            tls_version: c
                .features
                .tls
                .as_ref()
                .map(|t| t.version.clone())
                .unwrap_or_default(),
            // No ALPN in nsqd; Go reports the deprecated "is mutual" as true over TLS.
            tls_negotiated_protocol: String::new(),
            tls_negotiated_protocol_is_mutual: c.features.tls.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(state: &mut State, id: u64, rdy: i64) -> mpsc::UnboundedReceiver<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        state.clients.insert(
            id,
            Client {
                topic: "t".into(),
                channel: "c".into(),
                rdy,
                in_flight: 0,
                msg_timeout: Duration::from_secs(60),
                sample_rate: 0,
                closing: false,
                out: tx,
                remote: String::new(),
                user_agent: String::new(),
                client_id: String::new(),
                hostname: String::new(),
                finish_count: 0,
                requeue_count: 0,
                message_count: 0,
                connect_ts: 0,
                features: ConnFeatures::default(),
            },
        );
        state.subscribe(id, "t", "c");
        rx
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Bytes>) -> Vec<MsgId> {
        let mut ids = Vec::new();
        while let Ok(f) = rx.try_recv() {
            let mut id = [0u8; 16];
            id.copy_from_slice(&f[18..34]);
            ids.push(id);
        }
        ids
    }

    #[test]
    fn rdy_is_a_window() {
        let mut s = State::default();
        let mut rx = client(&mut s, 1, 2);
        for i in 0..5 {
            s.publish("t", Bytes::from(format!("m{i}")), None);
        }
        let got = drain(&mut rx);
        assert_eq!(got.len(), 2, "never more in flight than RDY");
        s.finish(1, &got[0]).unwrap();
        assert_eq!(drain(&mut rx).len(), 1, "a FIN reopens one slot");
        assert_eq!(s.finish(1, &got[0]), Err(NOT_IN_FLIGHT));
    }

    #[test]
    fn topic_keeps_messages_until_a_channel_exists_then_copies() {
        let mut s = State::default();
        s.publish("t", Bytes::from_static(b"early"), None);
        assert_eq!(s.stats(None, None, true).unwrap()[0].depth, 1);
        s.create_channel("t", "a");
        s.create_channel("t", "b");
        s.publish("t", Bytes::from_static(b"late"), None);
        let st = s.stats(Some("t"), None, true).unwrap();
        assert_eq!(st[0].depth, 0);
        assert_eq!(
            st[0].channels[0].depth, 2,
            "the first channel got the backlog"
        );
        assert_eq!(
            st[0].channels[1].depth, 1,
            "later channels get copies of new messages"
        );
    }

    #[test]
    fn timeouts_and_deferred_requeues_come_back() {
        let mut s = State::default();
        let mut rx = client(&mut s, 1, 10);
        s.publish("t", Bytes::from_static(b"x"), None);
        let id = drain(&mut rx)[0];
        s.requeue(1, &id, Duration::from_millis(10)).unwrap();
        assert!(drain(&mut rx).is_empty());
        s.scan(Instant::now() + Duration::from_millis(20));
        let again = drain(&mut rx);
        assert_eq!(again, vec![id]);
        s.scan(Instant::now() + Duration::from_secs(61));
        assert_eq!(drain(&mut rx), vec![id], "timed out and redelivered");
        let ch = &s.stats(None, None, true).unwrap()[0].channels[0];
        assert_eq!((ch.requeue_count, ch.timeout_count), (1, 1));
        assert_eq!(s.messages("t", "c")[0].attempts, 3);
    }

    #[test]
    fn over_delivery_ignores_the_window() {
        let mut s = State::default();
        let mut rx = client(&mut s, 1, 1);
        s.over_deliver = 2;
        for _ in 0..5 {
            s.publish("t", Bytes::from_static(b"x"), None);
        }
        assert_eq!(drain(&mut rx).len(), 3);
    }

    #[test]
    fn a_gone_client_keeps_its_messages_in_flight() {
        let mut s = State::default();
        let mut rx = client(&mut s, 1, 5);
        s.publish("t", Bytes::from_static(b"x"), None);
        assert_eq!(drain(&mut rx).len(), 1);
        s.remove_client(1);
        assert_eq!(
            s.stats(None, None, true).unwrap()[0].channels[0].in_flight_count,
            1
        );
        s.scan(Instant::now() + Duration::from_secs(61));
        assert_eq!(s.stats(None, None, true).unwrap()[0].channels[0].depth, 1);
    }
}
