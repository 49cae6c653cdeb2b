// Copyright 2015-2026 Aerospike, Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//! Per-node statistics gathered by the metrics subsystem.
//!
//! [`NodeMetrics`] is the live, concurrently-updated structure held by each
//! [`crate::cluster::Node`]. It is periodically drained into a
//! [`NodeMetricsSnapshot`] (an owned, serializable copy) which is aggregated into
//! the cluster-wide view.

use crate::locks::{read, write};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use super::histogram::SyncHistogram;
use super::policy::{LatencyUnit, MetricsPolicy};
use crate::sampler::Sampler;
#[cfg(test)]
use crate::xor_shift::XorShift;
use crate::ResultCode;

#[cfg(feature = "serialization")]
use serde::Serialize;
#[cfg(feature = "serialization")]
use serde::Serializer;

use super::policy::Labels;

/// Number of distinct command types tracked.
pub const COMMAND_TYPE_COUNT: usize = 12;

/// Logical command category a statistic is attributed to.
///
/// The discriminants are stable (`None` = 0 .. `BatchWrite` = 11) so exported
/// metrics line up across clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandType {
    /// Uncategorized.
    None = 0,
    /// Single-record read.
    Get = 1,
    /// Single-record header-only read.
    GetHeader = 2,
    /// Existence check.
    Exists = 3,
    /// Single-record write.
    Put = 4,
    /// Single-record delete.
    Delete = 5,
    /// Operate (multi-op) command.
    Operate = 6,
    /// Query.
    Query = 7,
    /// Scan.
    Scan = 8,
    /// UDF execution.
    Udf = 9,
    /// Read-only batch command.
    BatchRead = 10,
    /// Batch command containing writes.
    BatchWrite = 11,
}

impl CommandType {
    /// Array slot index for this command type.
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Builds a command type from its array slot index.
    #[must_use]
    pub const fn from_index(i: usize) -> CommandType {
        match i {
            1 => CommandType::Get,
            2 => CommandType::GetHeader,
            3 => CommandType::Exists,
            4 => CommandType::Put,
            5 => CommandType::Delete,
            6 => CommandType::Operate,
            7 => CommandType::Query,
            8 => CommandType::Scan,
            9 => CommandType::Udf,
            10 => CommandType::BatchRead,
            11 => CommandType::BatchWrite,
            _ => CommandType::None,
        }
    }

    /// Display name for this command type.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandType::None => "None",
            CommandType::Get => "Get",
            CommandType::GetHeader => "GetHeader",
            CommandType::Exists => "Exists",
            CommandType::Put => "Put",
            CommandType::Delete => "Delete",
            CommandType::Operate => "Operate",
            CommandType::Query => "Query",
            CommandType::Scan => "Scan",
            CommandType::Udf => "UDF",
            CommandType::BatchRead => "BatchRead",
            CommandType::BatchWrite => "BatchWrite",
        }
    }
}

/// Detailed per-namespace, per-command-type histograms.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serialization", derive(Serialize))]
pub struct CommandMetric {
    /// Time spent acquiring a connection from the pool.
    #[cfg_attr(feature = "serialization", serde(rename = "connection_aq"))]
    pub connection_aq: SyncHistogram,
    /// Latency of one successful RPC attempt: connection acquire start →
    /// response parsed (includes the pool wait, the socket write and the
    /// read/parse; excludes retry backoff and earlier failed attempts).
    pub latency: SyncHistogram,
    /// Time spent parsing the response.
    pub parsing: SyncHistogram,
    /// Bytes actually written to the wire per RPC attempt, successful or
    /// not (exact socket-layer count; `sum` is the total sent).
    #[cfg_attr(feature = "serialization", serde(rename = "bytes_sent"))]
    pub bytes_sent: SyncHistogram,
    /// Bytes actually read from the wire per RPC attempt, successful or not
    /// (exact socket-layer count; `sum` is the total received).
    #[cfg_attr(feature = "serialization", serde(rename = "bytes_received"))]
    pub bytes_received: SyncHistogram,
}

impl CommandMetric {
    fn new(policy: &MetricsPolicy) -> Self {
        let mk = || SyncHistogram::new(policy.latency_shift, policy.latency_columns);
        CommandMetric {
            connection_aq: mk(),
            latency: mk(),
            parsing: mk(),
            bytes_sent: mk(),
            bytes_received: mk(),
        }
    }
}

type MetricSlots = Box<[Option<CommandMetric>; COMMAND_TYPE_COUNT]>;
/// One counter per result code (the wire code is a byte), bumped with a
/// relaxed atomic on the command path instead of a mutex round trip.
type LiveResultCodeCounts = Box<[AtomicU64; 256]>;
type LiveResultCodeSlots = Box<[Option<LiveResultCodeCounts>; COMMAND_TYPE_COUNT]>;
type ResultCodeSlots = Box<[Option<HashMap<ResultCode, u64>>; COMMAND_TYPE_COUNT]>;

fn empty_metric_slots() -> MetricSlots {
    Box::new(std::array::from_fn(|_| None))
}

// Boxed like its sibling slot tables so a namespace entry stays one pointer.
#[allow(clippy::unnecessary_box_returns)]
fn empty_live_rc_slots() -> LiveResultCodeSlots {
    Box::new(std::array::from_fn(|_| None))
}

fn empty_live_rc_counts() -> LiveResultCodeCounts {
    Box::new(std::array::from_fn(|_| AtomicU64::new(0)))
}

fn empty_rc_slots() -> ResultCodeSlots {
    Box::new(std::array::from_fn(|_| None))
}

macro_rules! define_counters {
    ($($field:ident => $json:literal),+ $(,)?) => {
        /// Live, atomic counters.
        #[derive(Debug, Default)]
        pub struct LiveCounters {
            $(pub(crate) $field: AtomicU64,)+
        }

        impl LiveCounters {
            fn snapshot_and_reset(&self) -> Counters {
                Counters {
                    $($field: self.$field.swap(0, Ordering::Relaxed),)+
                }
            }
        }

        /// Owned snapshot of the counters.
        #[derive(Debug, Clone, Default)]
        #[cfg_attr(feature = "serialization", derive(Serialize))]
        pub struct Counters {
            $(
                #[doc = concat!("Counter exported as `", $json, "`.")]
                #[cfg_attr(feature = "serialization", serde(rename = $json))]
                pub $field: u64,
            )+
        }

        impl Counters {
            const fn add(&mut self, other: &Counters) {
                $(self.$field += other.$field;)+
            }
        }
    };
}

define_counters! {
    connections_attempts => "connections_attempts",
    connections_successful => "connections_successful",
    connections_failed => "connections_failed",
    connections_timeout_errors => "connections_error_timeout",
    connections_other_errors => "connections_error_other",
    connections_tls_errors => "connections_error_tls",
    connections_auth_errors => "connections_error_auth",
    circuit_breaker_hits => "circuit_breaker_hits",
    connections_pool_empty => "connections_pool_empty",
    connections_pool_overflow => "connections_pool_overflow",
    connections_idle_dropped => "connections_idle_dropped",
    connections_open => "open_connections",
    connections_in_use => "connections_in_use",
    connections_in_pool => "connections_in_pool",
    connections_recovering => "connections_recovering",
    connections_closed => "closed_connections",
    connections_closed_error => "connections_closed_error",
    connections_closed_node_removed => "connections_closed_node_removed",
    tends_total => "tends_total",
    tends_successful => "tends_successful",
    tends_failed => "tends_failed",
    partition_map_updates => "partition_map_updates",
    node_added => "node_added_count",
    node_removed => "node_removed_count",
    transaction_retry_count => "transaction_retry_count",
    transaction_error_count => "transaction_error_count",
    error_rate => "error_rate",
}

/// The 11 per-command-type latency histograms, in declaration order.
macro_rules! command_histograms {
    () => {
        [
            ("get_metrics", CommandType::Get),
            ("get_header_metrics", CommandType::GetHeader),
            ("exists_metrics", CommandType::Exists),
            ("put_metrics", CommandType::Put),
            ("delete_metrics", CommandType::Delete),
            ("operate_metrics", CommandType::Operate),
            ("query_metrics", CommandType::Query),
            ("scan_metrics", CommandType::Scan),
            ("udf_metrics", CommandType::Udf),
            ("batch_read_metrics", CommandType::BatchRead),
            ("batch_write_metrics", CommandType::BatchWrite),
        ]
    };
}

/// Phase at which opening a new connection failed. Breaks the
/// `connections_failed` rollup down into the spec's `connection.open.failure`
/// family (`metrics.md` §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFailure {
    /// The whole open (connect + TLS + auth) exceeded the connect timeout.
    Timeout,
    /// The TCP connect itself failed.
    Connect,
    /// The TLS handshake was attempted and failed (certificate, protocol).
    TlsHandshake,
    /// The socket was up but login / session authentication failed.
    Auth,
}

/// Why a connection was closed. Every close bumps `closed_connections`; the
/// reason feeds the operational `connection.closed.*` counters
/// (`metrics.md` §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Closed on an error path: a command left it unusable, a pooled socket
    /// was found dead, or a timeout recovery gave up.
    Error,
    /// Idle longer than the configured maximum socket idle time.
    Idle,
    /// Offered back to a pool that was already at capacity.
    PoolOverflow,
    /// Its node left the cluster.
    NodeRemoved,
}

/// Point-in-time connection-pool gauges for one node, read by walking the
/// pool at snapshot time (`metrics.md` §3.2: no hot-path work).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolGauges {
    /// Connections the node owns: idle in the pool, checked out by a command,
    /// or still being opened / recovered (the pool reserves the slot first).
    pub total: u64,
    /// Idle connections sitting in the pool.
    pub in_pool: u64,
    /// Connections handed to a background timeout-recovery task.
    pub recovering: u64,
}

impl PoolGauges {
    /// Connections not idle in the pool: checked out, opening or recovering.
    #[must_use]
    pub const fn in_use(&self) -> u64 {
        self.total.saturating_sub(self.in_pool)
    }
}

/// Live, concurrently-updated per-node statistics.
#[derive(Debug)]
pub struct NodeMetrics {
    /// The policy currently shaping this node's histograms. Behind a lock so
    /// [`NodeMetrics::reshape`] (which takes `&self`) can replace it; read only
    /// off the hot path (lazy detailed-metric creation and snapshot drains).
    policy: RwLock<MetricsPolicy>,
    /// Live sampler, stored lock-free as a `(range, threshold)` pair and
    /// refreshed by [`NodeMetrics::reshape`] whenever the policy changes (e.g.
    /// `enable_metrics`) so a node created before metrics were enabled still
    /// picks up the configured sampler. `range == 0` means no sampling.
    ///
    /// The two values are written/read independently with relaxed ordering; a
    /// reader racing a `reshape` may briefly observe a mismatched pair and
    /// mis-sample a single command, which is harmless given how rarely the
    /// policy changes.
    sampler_range: AtomicU64,
    sampler_threshold: AtomicU64,
    /// Resolution every elapsed time is recorded in, encoded by
    /// [`LatencyUnit::to_code`]. Stored atomically because the recorders read
    /// it on the command hot path, where taking the `policy` lock is not
    /// acceptable.
    latency_unit: AtomicU8,
    /// Whether collection is currently enabled (Tier 0, `metrics.enabled`).
    /// Gates the always-on instruments: connection opened/closed, tend and
    /// node add/remove counters. Nothing on the command hot path.
    enabled: AtomicBool,
    /// Whether the Tier 1 **operational** group is on
    /// (`extended.operational.enabled`, mirrored from the applied policy by
    /// [`NodeMetrics::reshape`]). Gates every per-command instrument (via the
    /// sample decision) and the connection failure / close-reason counters.
    /// Meaningless while `enabled` is false.
    operational: AtomicBool,
    /// Atomic scalar counters.
    pub(crate) counters: LiveCounters,
    /// Per-command-type latency histograms, indexed by [`CommandType::index`].
    /// Slot 0 (`None`) is unused but kept for index alignment.
    command_metrics: [Option<SyncHistogram>; COMMAND_TYPE_COUNT],
    detailed_metrics: RwLock<HashMap<String, MetricSlots>>,
    result_code_counts: RwLock<HashMap<String, LiveResultCodeSlots>>,
}

impl NodeMetrics {
    /// Creates a fresh set of node statistics shaped by `policy`.
    #[must_use]
    pub(crate) fn new(policy: MetricsPolicy) -> Self {
        let mut command_metrics: [Option<SyncHistogram>; COMMAND_TYPE_COUNT] =
            std::array::from_fn(|_| None);
        for (_, ct) in command_histograms!() {
            command_metrics[ct.index()] = Some(SyncHistogram::new(
                policy.latency_shift,
                policy.latency_columns,
            ));
        }
        let Sampler { range, threshold } = policy.sampler;
        let unit = policy.latency_unit;
        let operational = policy.operational;
        NodeMetrics {
            policy: RwLock::new(policy),
            sampler_range: AtomicU64::new(range),
            sampler_threshold: AtomicU64::new(threshold),
            latency_unit: AtomicU8::new(unit.to_code()),
            enabled: AtomicBool::new(false),
            operational: AtomicBool::new(operational),
            counters: LiveCounters::default(),
            command_metrics,
            detailed_metrics: RwLock::new(HashMap::new()),
            result_code_counts: RwLock::new(HashMap::new()),
        }
    }

    /// Returns whether collection is enabled for this node.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Enables or disables collection for this node.
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Returns whether the Tier 1 operational group is recording on this node:
    /// collection enabled **and** the applied policy's
    /// [`operational`](MetricsPolicy::operational) flag set. This is the gate
    /// for the un-sampled operational counters (connection failures, close
    /// reasons, pool overflow/exhaustion); per-command instruments go through
    /// `should_sample_draw` instead.
    #[must_use]
    pub fn is_operational(&self) -> bool {
        self.is_enabled() && self.operational.load(Ordering::Relaxed)
    }

    /// Decides whether a command's operational metrics are recorded, given a
    /// random `draw` made once for the whole user call: the operational group
    /// must be on (see [`is_operational`](Self::is_operational)) **and** the
    /// configured sampler must select the draw. A `threshold` of 0
    /// ([`Sampler::never`]) records nothing.
    ///
    /// The draw is deliberately separate from the decision so a call whose
    /// retries land on different nodes gets the *same* answer from each — one
    /// decision per call, never re-rolled per attempt (`metrics.md` §3.1.1).
    #[must_use]
    pub(crate) fn should_sample_draw(&self, draw: u64) -> bool {
        if !self.is_operational() {
            return false;
        }
        let range = self.sampler_range.load(Ordering::Relaxed);
        if range == 0 {
            // Unreachable via the constructors (range >= 1), but `Sampler`'s
            // fields are public — guard the modulo against a hand-built 0.
            return false;
        }
        let threshold = self.sampler_threshold.load(Ordering::Relaxed);
        draw % range < threshold
    }

    /// [`should_sample_draw`](Self::should_sample_draw) with the draw taken
    /// from `rand`. Only for callers that make exactly one decision per user
    /// call; a retry loop must draw once up front and reuse the value.
    #[cfg(test)]
    pub(crate) fn should_sample(&self, rand: &mut XorShift) -> bool {
        if !self.is_operational() {
            return false;
        }
        self.should_sample_draw(rand.next_u64())
    }

    /// Records a connection-open attempt.
    pub(crate) fn incr_connections_attempt(&self) {
        if self.is_enabled() {
            self.counters
                .connections_attempts
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a successfully-opened connection.
    pub(crate) fn incr_connections_successful(&self) {
        if self.is_enabled() {
            self.counters
                .connections_successful
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a failed connection open (Tier 1 operational): the rollup
    /// `connections_failed` plus one phase-specific counter.
    pub(crate) fn incr_connections_failed(&self, phase: OpenFailure) {
        if self.is_operational() {
            self.counters
                .connections_failed
                .fetch_add(1, Ordering::Relaxed);
            let specific = match phase {
                OpenFailure::Timeout => &self.counters.connections_timeout_errors,
                OpenFailure::Connect => &self.counters.connections_other_errors,
                OpenFailure::TlsHandshake => &self.counters.connections_tls_errors,
                OpenFailure::Auth => &self.counters.connections_auth_errors,
            };
            specific.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a closed connection (Tier 0 `closed_connections`) together with
    /// the reason it was closed (Tier 1 operational close-reason counters).
    pub(crate) fn incr_connections_closed(&self, reason: CloseReason) {
        if !self.is_enabled() {
            return;
        }
        self.counters
            .connections_closed
            .fetch_add(1, Ordering::Relaxed);
        if !self.is_operational() {
            return;
        }
        let specific = match reason {
            CloseReason::Error => &self.counters.connections_closed_error,
            CloseReason::Idle => &self.counters.connections_idle_dropped,
            CloseReason::PoolOverflow => &self.counters.connections_pool_overflow,
            CloseReason::NodeRemoved => &self.counters.connections_closed_node_removed,
        };
        specific.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a poll against an empty connection pool.
    pub(crate) fn incr_connections_pool_empty(&self) {
        if self.is_operational() {
            self.counters
                .connections_pool_empty
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a command rejected by the per-node circuit breaker because the
    /// node's error-rate window was exceeded.
    pub(crate) fn incr_circuit_breaker_hits(&self) {
        if self.is_operational() {
            self.counters
                .circuit_breaker_hits
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a command retry.
    pub(crate) fn incr_transaction_retry(&self) {
        if self.is_operational() {
            self.counters
                .transaction_retry_count
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a command that ultimately failed.
    pub(crate) fn incr_transaction_error(&self) {
        if self.is_operational() {
            self.counters
                .transaction_error_count
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a tend attempt against this node, classifying success/failure.
    pub(crate) fn incr_tend(&self, success: bool) {
        if self.is_enabled() {
            self.counters.tends_total.fetch_add(1, Ordering::Relaxed);
            if success {
                self.counters
                    .tends_successful
                    .fetch_add(1, Ordering::Relaxed);
            } else {
                self.counters.tends_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records a partition-map update applied from this node.
    pub(crate) fn incr_partition_map_update(&self) {
        if self.is_enabled() {
            self.counters
                .partition_map_updates
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records that this node was added to the cluster.
    pub(crate) fn incr_node_added(&self) {
        if self.is_enabled() {
            self.counters.node_added.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records that this node was removed from the cluster.
    pub(crate) fn incr_node_removed(&self) {
        if self.is_enabled() {
            self.counters.node_removed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Resolution elapsed times are currently recorded in.
    ///
    /// Reflects the last policy applied by `NodeMetrics::reshape`, not the one
    /// this node was constructed with.
    #[must_use]
    pub fn latency_unit(&self) -> LatencyUnit {
        LatencyUnit::from_code(self.latency_unit.load(Ordering::Relaxed))
    }

    /// Converts an elapsed duration into a histogram value in the configured
    /// unit. Every time-valued recorder goes through here.
    fn ticks(&self, elapsed: Duration) -> u64 {
        self.latency_unit().value(elapsed)
    }

    /// Records the elapsed time of a completed command against its
    /// per-command-type histogram, in the policy's [`LatencyUnit`].
    pub(crate) fn record_command(&self, ct: CommandType, elapsed: Duration) {
        if let Some(h) = &self.command_metrics[ct.index()] {
            h.add(self.ticks(elapsed));
        }
    }

    /// Records connection-acquire time for the detailed per-namespace metrics.
    pub(crate) fn record_connection_aq(&self, namespace: &str, ct: CommandType, elapsed: Duration) {
        let ticks = self.ticks(elapsed);
        self.with_command_metric(namespace, ct, |cm| cm.connection_aq.add(ticks));
    }

    /// Records the latency of one **successful RPC attempt** for the detailed
    /// metrics: measured from the start of the connection acquire to the end
    /// of response parsing (`metrics.md` §4.6, "pool acquire → response
    /// parsed").
    /// Failed attempts record nothing here; a retried attempt that then
    /// succeeds records its own sample.
    pub(crate) fn record_latency(&self, namespace: &str, ct: CommandType, latency: Duration) {
        let ticks = self.ticks(latency);
        self.with_command_metric(namespace, ct, |cm| cm.latency.add(ticks));
    }

    /// Records the response-parse time of one successful RPC attempt.
    pub(crate) fn record_parse(&self, namespace: &str, ct: CommandType, parsing: Duration) {
        let ticks = self.ticks(parsing);
        self.with_command_metric(namespace, ct, |cm| cm.parsing.add(ticks));
    }

    /// Records the bytes one RPC attempt put on the wire — whatever its
    /// outcome. Callers pass the socket layer's exact count (a write cut
    /// short by a timeout still sent what it sent); a zero is skipped
    /// because nothing crossed the wire. Sizes are never unit-converted.
    pub(crate) fn record_bytes_sent(&self, namespace: &str, ct: CommandType, bytes: u64) {
        if bytes > 0 {
            self.with_command_metric(namespace, ct, |cm| cm.bytes_sent.add(bytes));
        }
    }

    /// Records the bytes one RPC attempt read off the wire — whatever its
    /// outcome (a server error reply, a parse failure or a partial read
    /// before a timeout all count what actually arrived). Zero is skipped.
    pub(crate) fn record_bytes_received(&self, namespace: &str, ct: CommandType, bytes: u64) {
        if bytes > 0 {
            self.with_command_metric(namespace, ct, |cm| cm.bytes_received.add(bytes));
        }
    }

    /// Increments the count for a `(namespace, command type, result code)`
    /// triple.
    pub(crate) fn record_result_code(&self, namespace: &str, ct: CommandType, rc: ResultCode) {
        let idx = ct.index();
        // Fast path: namespace + slot already present.
        {
            let map = read(&self.result_code_counts);
            if let Some(slots) = map.get(namespace) {
                if let Some(counts) = &slots[idx] {
                    counts[usize::from(u8::from(rc))].fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        // Slow path: insert namespace/slot.
        let mut map = write(&self.result_code_counts);
        let slots = map
            .entry(namespace.to_string())
            .or_insert_with(empty_live_rc_slots);
        let counts = slots[idx].get_or_insert_with(empty_live_rc_counts);
        counts[usize::from(u8::from(rc))].fetch_add(1, Ordering::Relaxed);
    }

    fn with_command_metric<F: FnOnce(&CommandMetric)>(
        &self,
        namespace: &str,
        ct: CommandType,
        f: F,
    ) {
        if namespace.is_empty() {
            return;
        }
        let idx = ct.index();
        {
            let map = read(&self.detailed_metrics);
            if let Some(slots) = map.get(namespace) {
                if let Some(cm) = &slots[idx] {
                    f(cm);
                    return;
                }
            }
        }
        let mut map = write(&self.detailed_metrics);
        let slots = map
            .entry(namespace.to_string())
            .or_insert_with(empty_metric_slots);
        if slots[idx].is_none() {
            slots[idx] = Some(CommandMetric::new(&read(&self.policy)));
        }
        f(slots[idx].as_ref().unwrap());
    }

    /// Re-applies a (possibly changed) policy, resetting histograms whose shape
    /// changed.
    ///
    /// A [`LatencyUnit`] change resets the **time** histograms even though their
    /// shape is untouched: microsecond and millisecond samples in one set of
    /// buckets would make the counts, min, max and sum meaningless. Size
    /// histograms (bytes sent/received) are not times and are left alone.
    pub(crate) fn reshape(&self, policy: &MetricsPolicy) {
        // Store the applied policy first: anything created lazily from here on
        // (detailed metrics, drain snapshots) must take the new shape, or the
        // shape-checked histogram merges silently drop its samples.
        *write(&self.policy) = policy.clone();

        // Pick up the (possibly new) sampler and tier flag from the applied
        // policy.
        let Sampler { range, threshold } = policy.sampler;
        self.sampler_threshold.store(threshold, Ordering::Relaxed);
        self.sampler_range.store(range, Ordering::Relaxed);
        self.operational
            .store(policy.operational, Ordering::Relaxed);

        let unit_changed = self.latency_unit() != policy.latency_unit;
        if unit_changed {
            self.latency_unit
                .store(policy.latency_unit.to_code(), Ordering::Relaxed);
        }

        // Reshapes to the new layout, then discards values that were recorded
        // in the previous unit (a no-op reshape keeps them).
        let apply = |h: &SyncHistogram, is_time: bool| {
            h.reshape(policy.latency_shift, policy.latency_columns);
            if unit_changed && is_time {
                h.reset();
            }
        };

        for h in self.command_metrics.iter().flatten() {
            apply(h, true);
        }
        for slots in read(&self.detailed_metrics).values() {
            for cm in slots.iter().flatten() {
                for h in [&cm.connection_aq, &cm.latency, &cm.parsing] {
                    apply(h, true);
                }
                for h in [&cm.bytes_sent, &cm.bytes_received] {
                    apply(h, false);
                }
            }
        }
    }

    /// Drains the live counters and histograms into an owned snapshot, resetting
    /// the live values.
    #[must_use]
    pub(crate) fn get_and_reset(&self) -> NodeMetricsSnapshot {
        let mut snapshot = NodeMetricsSnapshot::new(read(&self.policy).clone());
        // The recorders read the unit from the atomic, so stamp the snapshot
        // from the same source they used.
        snapshot.latency_unit = self.latency_unit();
        snapshot.counters = self.counters.snapshot_and_reset();

        for (name, ct) in command_histograms!() {
            if let Some(h) = &self.command_metrics[ct.index()] {
                snapshot.set_command_histogram(name, h.clone_and_reset());
            }
        }

        // Drain detailed metrics.
        for (ns, slots) in read(&self.detailed_metrics).iter() {
            let mut tgt = empty_metric_slots();
            for (i, slot) in slots.iter().enumerate() {
                if let Some(src) = slot {
                    tgt[i] = Some(CommandMetric {
                        connection_aq: src.connection_aq.clone_and_reset(),
                        latency: src.latency.clone_and_reset(),
                        parsing: src.parsing.clone_and_reset(),
                        bytes_sent: src.bytes_sent.clone_and_reset(),
                        bytes_received: src.bytes_received.clone_and_reset(),
                    });
                }
            }
            snapshot.detailed_metrics.insert(ns.clone(), tgt);
        }

        // Drain result-code counts (clone then zero the live entries).
        for (ns, slots) in read(&self.result_code_counts).iter() {
            let mut tgt = empty_rc_slots();
            for (i, slot) in slots.iter().enumerate() {
                if let Some(counts) = slot {
                    let mut drained = HashMap::new();
                    for (code, counter) in counts.iter().enumerate() {
                        let n = counter.swap(0, Ordering::Relaxed);
                        if n > 0 {
                            drained.insert(ResultCode::from(code as u8), n);
                        }
                    }
                    tgt[i] = Some(drained);
                }
            }
            snapshot.result_code_counts.insert(ns.clone(), tgt);
        }

        snapshot
    }
}

/// Owned, serializable snapshot of a node's statistics. Used for aggregation
/// across tends and for the cluster-wide view returned to the user.
///
/// JSON field names are stable and shared across Aerospike clients.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serialization", derive(Serialize))]
pub struct NodeMetricsSnapshot {
    #[cfg_attr(feature = "serialization", serde(skip))]
    policy: MetricsPolicy,

    /// Unit of every time value in this snapshot's histograms, exported as
    /// `latency-unit: "us" | "ms"`.
    ///
    /// Bucket counts cannot be interpreted without it, so it travels with the
    /// data rather than being something the consumer has to know.
    #[cfg_attr(feature = "serialization", serde(rename = "latency_unit"))]
    pub latency_unit: LatencyUnit,

    #[cfg_attr(
        feature = "serialization",
        serde(rename = "labels", skip_serializing_if = "labels_empty")
    )]
    /// Labels attached to this snapshot (populated for the cluster-aggregated view).
    pub labels: Labels,

    #[cfg_attr(feature = "serialization", serde(flatten))]
    /// Scalar counters.
    pub counters: Counters,

    #[cfg_attr(feature = "serialization", serde(rename = "get_metrics"))]
    get_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "get_header_metrics"))]
    get_header_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "exists_metrics"))]
    exists_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "put_metrics"))]
    put_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "delete_metrics"))]
    delete_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "operate_metrics"))]
    operate_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "query_metrics"))]
    query_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "scan_metrics"))]
    scan_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "udf_metrics"))]
    udf_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "batch_read_metrics"))]
    batch_read_metrics: SyncHistogram,
    #[cfg_attr(feature = "serialization", serde(rename = "batch_write_metrics"))]
    batch_write_metrics: SyncHistogram,

    #[cfg_attr(
        feature = "serialization",
        serde(
            rename = "detailed_resultcode_counts",
            serialize_with = "serialize_result_codes"
        )
    )]
    result_code_counts: HashMap<String, ResultCodeSlots>,

    #[cfg_attr(
        feature = "serialization",
        serde(rename = "detailed_metrics", serialize_with = "serialize_detailed")
    )]
    detailed_metrics: HashMap<String, MetricSlots>,
}

impl NodeMetricsSnapshot {
    /// Creates an empty snapshot shaped by `policy`.
    #[must_use]
    pub fn new(policy: MetricsPolicy) -> Self {
        let mk = || SyncHistogram::new(policy.latency_shift, policy.latency_columns);
        NodeMetricsSnapshot {
            latency_unit: policy.latency_unit,
            labels: Labels::new(),
            counters: Counters::default(),
            get_metrics: mk(),
            get_header_metrics: mk(),
            exists_metrics: mk(),
            put_metrics: mk(),
            delete_metrics: mk(),
            operate_metrics: mk(),
            query_metrics: mk(),
            scan_metrics: mk(),
            udf_metrics: mk(),
            batch_read_metrics: mk(),
            batch_write_metrics: mk(),
            result_code_counts: HashMap::new(),
            detailed_metrics: HashMap::new(),
            policy,
        }
    }

    fn command_histogram_mut(&mut self, name: &str) -> &mut SyncHistogram {
        match name {
            "get_metrics" => &mut self.get_metrics,
            "get_header_metrics" => &mut self.get_header_metrics,
            "exists_metrics" => &mut self.exists_metrics,
            "put_metrics" => &mut self.put_metrics,
            "delete_metrics" => &mut self.delete_metrics,
            "operate_metrics" => &mut self.operate_metrics,
            "query_metrics" => &mut self.query_metrics,
            "scan_metrics" => &mut self.scan_metrics,
            "udf_metrics" => &mut self.udf_metrics,
            "batch_read_metrics" => &mut self.batch_read_metrics,
            "batch_write_metrics" => &mut self.batch_write_metrics,
            other => unreachable!("unknown command histogram: {other}"),
        }
    }

    fn set_command_histogram(&mut self, name: &str, h: SyncHistogram) {
        *self.command_histogram_mut(name) = h;
    }

    const fn command_histograms(&self) -> [(&'static str, &SyncHistogram); 11] {
        [
            ("get_metrics", &self.get_metrics),
            ("get_header_metrics", &self.get_header_metrics),
            ("exists_metrics", &self.exists_metrics),
            ("put_metrics", &self.put_metrics),
            ("delete_metrics", &self.delete_metrics),
            ("operate_metrics", &self.operate_metrics),
            ("query_metrics", &self.query_metrics),
            ("scan_metrics", &self.scan_metrics),
            ("udf_metrics", &self.udf_metrics),
            ("batch_read_metrics", &self.batch_read_metrics),
            ("batch_write_metrics", &self.batch_write_metrics),
        ]
    }

    /// Returns the per-command-type latency histogram for `ct`, or `None` for
    /// command types without a dedicated histogram ([`CommandType::None`]).
    #[must_use]
    pub const fn command_histogram(&self, ct: CommandType) -> Option<&SyncHistogram> {
        Some(match ct {
            CommandType::Get => &self.get_metrics,
            CommandType::GetHeader => &self.get_header_metrics,
            CommandType::Exists => &self.exists_metrics,
            CommandType::Put => &self.put_metrics,
            CommandType::Delete => &self.delete_metrics,
            CommandType::Operate => &self.operate_metrics,
            CommandType::Query => &self.query_metrics,
            CommandType::Scan => &self.scan_metrics,
            CommandType::Udf => &self.udf_metrics,
            CommandType::BatchRead => &self.batch_read_metrics,
            CommandType::BatchWrite => &self.batch_write_metrics,
            CommandType::None => return None,
        })
    }

    /// Returns the detailed per-namespace, per-command-type metric, if any data
    /// was recorded for that `(namespace, command type)` pair.
    #[must_use]
    pub fn detailed_metric(&self, namespace: &str, ct: CommandType) -> Option<&CommandMetric> {
        self.detailed_metrics
            .get(namespace)
            .and_then(|slots| slots[ct.index()].as_ref())
    }

    /// Returns the recorded count for a `(namespace, command type, result code)`
    /// triple (0 if none recorded).
    #[must_use]
    pub fn result_code_count(&self, namespace: &str, ct: CommandType, rc: ResultCode) -> u64 {
        self.result_code_counts
            .get(namespace)
            .and_then(|slots| slots[ct.index()].as_ref())
            .and_then(|counts| counts.get(&rc).copied())
            .unwrap_or(0)
    }

    /// Namespaces that have detailed metrics recorded.
    #[must_use]
    pub fn detailed_namespaces(&self) -> Vec<&str> {
        self.detailed_metrics.keys().map(String::as_str).collect()
    }

    /// Sets the labels attached to this snapshot.
    pub fn set_labels(&mut self, labels: Labels) {
        self.labels = labels;
    }

    /// Overrides the open-connections gauge (set from the node's live count).
    pub const fn set_open_connections(&mut self, open: u64) {
        self.counters.connections_open = open;
    }

    /// Stamps every pool gauge from a point-in-time pool walk:
    /// `open_connections` (the total), `connections_in_use`,
    /// `connections_in_pool` and `connections_recovering`.
    pub const fn set_pool_gauges(&mut self, gauges: PoolGauges) {
        self.counters.connections_open = gauges.total;
        self.counters.connections_in_use = gauges.in_use();
        self.counters.connections_in_pool = gauges.in_pool;
        self.counters.connections_recovering = gauges.recovering;
    }

    /// The pool gauges this snapshot was stamped with.
    #[must_use]
    pub const fn pool_gauges(&self) -> PoolGauges {
        PoolGauges {
            total: self.counters.connections_open,
            in_pool: self.counters.connections_in_pool,
            recovering: self.counters.connections_recovering,
        }
    }

    /// Open-connections gauge value (total connections the node owns).
    #[must_use]
    pub const fn open_connections(&self) -> u64 {
        self.counters.connections_open
    }

    /// Connections checked out, opening or recovering (`total - in_pool`).
    #[must_use]
    pub const fn connections_in_use(&self) -> u64 {
        self.counters.connections_in_use
    }

    /// Idle connections sitting in the pool.
    #[must_use]
    pub const fn connections_in_pool(&self) -> u64 {
        self.counters.connections_in_pool
    }

    /// Connections handed to a background timeout-recovery task.
    #[must_use]
    pub const fn connections_recovering(&self) -> u64 {
        self.counters.connections_recovering
    }

    /// Stamps the node's circuit-breaker gauge (`error_rate`): the number of
    /// command failures counted against the node in the **current**
    /// `error_rate_window`. Read live when the snapshot is taken.
    pub const fn set_error_rate(&mut self, count: u64) {
        self.counters.error_rate = count;
    }

    /// Current circuit-breaker window error count (`error_rate` gauge).
    ///
    /// Two caveats the number carries with it: it only moves while the
    /// breaker is on (`ClientPolicy::max_error_rate > 0`; otherwise it is a
    /// permanent 0, which does not mean "no errors"), and the tend loop
    /// zeroes it every `error_rate_window` tends — at the default window of 1
    /// it is an errors-since-last-tend reading, unrelated to how often
    /// snapshots are taken. The cluster-aggregated view is the sum over nodes.
    #[must_use]
    pub const fn error_rate(&self) -> u64 {
        self.counters.error_rate
    }

    /// Discards every *time* histogram, keeping counters, result codes and the
    /// size histograms.
    ///
    /// Used when the [`LatencyUnit`] changes: the retained samples were measured
    /// in the old unit and cannot share buckets with the new one. The node-level
    /// twin of this is [`NodeMetrics::reshape`].
    pub(crate) fn reset_time_histograms(&self) {
        for (_, h) in self.command_histograms() {
            h.reset();
        }
        for slots in self.detailed_metrics.values() {
            for cm in slots.iter().flatten() {
                cm.connection_aq.reset();
                cm.latency.reset();
                cm.parsing.reset();
            }
        }
    }

    /// Merges another snapshot into this one.
    pub fn aggregate(&mut self, other: &NodeMetricsSnapshot) {
        self.counters.add(&other.counters);

        // Merge per-command-type histograms by name (shape is identical).
        let names: [&str; 11] = [
            "get_metrics",
            "get_header_metrics",
            "exists_metrics",
            "put_metrics",
            "delete_metrics",
            "operate_metrics",
            "query_metrics",
            "scan_metrics",
            "udf_metrics",
            "batch_read_metrics",
            "batch_write_metrics",
        ];
        for name in names {
            let src = other.command_histogram_ref(name).clone();
            self.command_histogram_mut(name).merge(&src);
        }

        // Merge detailed metrics.
        for (ns, slots) in &other.detailed_metrics {
            let tgt = self
                .detailed_metrics
                .entry(ns.clone())
                .or_insert_with(empty_metric_slots);
            for (i, slot) in slots.iter().enumerate() {
                if let Some(src) = slot {
                    let dst = tgt[i].get_or_insert_with(|| CommandMetric::new(&self.policy));
                    dst.connection_aq.merge(&src.connection_aq);
                    dst.latency.merge(&src.latency);
                    dst.parsing.merge(&src.parsing);
                    dst.bytes_sent.merge(&src.bytes_sent);
                    dst.bytes_received.merge(&src.bytes_received);
                }
            }
        }

        // Merge result-code counts.
        for (ns, slots) in &other.result_code_counts {
            let tgt = self
                .result_code_counts
                .entry(ns.clone())
                .or_insert_with(empty_rc_slots);
            for (i, slot) in slots.iter().enumerate() {
                if let Some(src) = slot {
                    let dst = tgt[i].get_or_insert_with(HashMap::new);
                    for (rc, count) in src {
                        *dst.entry(*rc).or_insert(0) += count;
                    }
                }
            }
        }
    }

    fn command_histogram_ref(&self, name: &str) -> &SyncHistogram {
        self.command_histograms()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| h)
            .expect("unknown command histogram")
    }
}

#[cfg(feature = "serialization")]
const fn labels_empty(labels: &Labels) -> bool {
    labels.0.is_empty()
}

#[cfg(feature = "serialization")]
fn serialize_detailed<S>(
    map: &HashMap<String, MetricSlots>,
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    S: Serializer,
{
    use serde::ser::SerializeMap;
    let mut out = serializer.serialize_map(None)?;
    for (ns, slots) in map {
        let inner: HashMap<&'static str, &CommandMetric> = slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| {
                slot.as_ref()
                    .map(|cm| (CommandType::from_index(i).as_str(), cm))
            })
            .collect();
        if !inner.is_empty() {
            out.serialize_entry(ns, &inner)?;
        }
    }
    out.end()
}

#[cfg(feature = "serialization")]
fn serialize_result_codes<S>(
    map: &HashMap<String, ResultCodeSlots>,
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    S: Serializer,
{
    use serde::ser::SerializeMap;
    let mut out = serializer.serialize_map(None)?;
    for (ns, slots) in map {
        let mut inner: HashMap<&'static str, HashMap<String, u64>> = HashMap::new();
        for (i, slot) in slots.iter().enumerate() {
            if let Some(counts) = slot {
                if counts.is_empty() {
                    continue;
                }
                let rc_map: HashMap<String, u64> = counts
                    .iter()
                    .map(|(rc, c)| (rc.into_string(), *c))
                    .collect();
                inner.insert(CommandType::from_index(i).as_str(), rc_map);
            }
        }
        if !inner.is_empty() {
            out.serialize_entry(ns, &inner)?;
        }
    }
    out.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_type_names_and_indices() {
        assert_eq!(CommandType::None.index(), 0);
        assert_eq!(CommandType::BatchWrite.index(), 11);
        assert_eq!(CommandType::Udf.as_str(), "UDF");
        assert_eq!(CommandType::from_index(7), CommandType::Query);
        assert_eq!(CommandType::from_index(99), CommandType::None);
    }

    #[test]
    fn record_command_targets_right_histogram() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        metrics.record_command(CommandType::Put, Duration::from_millis(100));
        metrics.record_command(CommandType::Put, Duration::from_millis(200));
        metrics.record_command(CommandType::Get, Duration::from_millis(50));
        let snap = metrics.get_and_reset();
        assert_eq!(snap.put_metrics.count(), 2);
        assert_eq!(snap.get_metrics.count(), 1);
        assert_eq!(snap.exists_metrics.count(), 0);
        // live values were reset
        let snap2 = metrics.get_and_reset();
        assert_eq!(snap2.put_metrics.count(), 0);
    }

    #[test]
    fn should_sample_respects_enabled_and_sampler() {
        use crate::sampler::Sampler;
        let mut rng = XorShift::with_seed(1, 2);

        // Default policy samples always, but collection is off by default and
        // the operational tier is off in the default policy.
        let m = NodeMetrics::new(MetricsPolicy::default());
        assert!(!m.should_sample(&mut rng), "disabled must never sample");
        m.set_enabled(true);
        assert!(
            !m.should_sample(&mut rng),
            "Tier 0 only (operational off) must never sample"
        );
        assert!(!m.is_operational());
        m.reshape(&MetricsPolicy::default().with_operational(true));
        assert!(m.is_operational());
        assert!(
            m.should_sample(&mut rng),
            "enabled + operational + Always must sample"
        );

        // `Sampler::never()` records nothing even while enabled.
        let policy = MetricsPolicy {
            sampler: Sampler::never(),
            ..MetricsPolicy::default().with_operational(true)
        };
        let m2 = NodeMetrics::new(policy);
        m2.set_enabled(true);
        assert!(!m2.should_sample(&mut rng), "never() must not sample");

        // A reshape to a sampling policy is picked up live (lock-free).
        m2.reshape(&MetricsPolicy {
            sampler: Sampler::all(),
            ..MetricsPolicy::default().with_operational(true)
        });
        assert!(
            m2.should_sample(&mut rng),
            "reshape must update the sampler"
        );

        // Disabling collection turns the operational tier off with it.
        m2.set_enabled(false);
        assert!(!m2.is_operational());
        assert!(!m2.should_sample(&mut rng));
    }

    #[test]
    fn should_sample_draw_is_a_pure_function_of_the_draw() {
        use crate::sampler::Sampler;
        // 50% sampler: even draws are recorded, odd ones are not, and two
        // nodes with the same policy agree on every draw — the property the
        // per-call decision relies on when retries move between nodes.
        let policy = MetricsPolicy {
            sampler: Sampler::new(2, 1),
            ..MetricsPolicy::default().with_operational(true)
        };
        let a = NodeMetrics::new(policy.clone());
        let b = NodeMetrics::new(policy);
        a.set_enabled(true);
        b.set_enabled(true);
        for draw in 0..64u64 {
            assert_eq!(a.should_sample_draw(draw), draw % 2 == 0);
            assert_eq!(a.should_sample_draw(draw), b.should_sample_draw(draw));
        }
    }

    #[test]
    fn counters_reset_on_drain_and_aggregate_sums() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        metrics
            .counters
            .connections_attempts
            .fetch_add(3, Ordering::Relaxed);
        metrics.counters.tends_total.fetch_add(1, Ordering::Relaxed);
        let a = metrics.get_and_reset();
        assert_eq!(a.counters.connections_attempts, 3);
        // drained
        let b = metrics.get_and_reset();
        assert_eq!(b.counters.connections_attempts, 0);

        let mut agg = NodeMetricsSnapshot::new(MetricsPolicy::default());
        agg.aggregate(&a);
        agg.aggregate(&a);
        assert_eq!(agg.counters.connections_attempts, 6);
        assert_eq!(agg.counters.tends_total, 2);
    }

    #[test]
    fn detailed_and_result_codes_roundtrip() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        metrics.record_bytes_sent("test", CommandType::Put, 128);
        metrics.record_latency("test", CommandType::Put, Duration::from_millis(250));
        metrics.record_parse("test", CommandType::Put, Duration::from_millis(30));
        metrics.record_bytes_received("test", CommandType::Put, 64);
        metrics.record_result_code("test", CommandType::Put, ResultCode::KeyNotFoundError);
        metrics.record_result_code("test", CommandType::Put, ResultCode::KeyNotFoundError);

        let snap = metrics.get_and_reset();
        let slots = snap.detailed_metrics.get("test").unwrap();
        let cm = slots[CommandType::Put.index()].as_ref().unwrap();
        assert_eq!(cm.bytes_sent.count(), 1);
        assert_eq!(cm.latency.count(), 1);
        assert_eq!(cm.parsing.count(), 1);

        let rc_slots = snap.result_code_counts.get("test").unwrap();
        let counts = rc_slots[CommandType::Put.index()].as_ref().unwrap();
        assert_eq!(counts.get(&ResultCode::KeyNotFoundError), Some(&2));
    }

    #[test]
    fn command_type_all_variants_round_trip() {
        let all = [
            CommandType::None,
            CommandType::Get,
            CommandType::GetHeader,
            CommandType::Exists,
            CommandType::Put,
            CommandType::Delete,
            CommandType::Operate,
            CommandType::Query,
            CommandType::Scan,
            CommandType::Udf,
            CommandType::BatchRead,
            CommandType::BatchWrite,
        ];
        assert_eq!(all.len(), COMMAND_TYPE_COUNT);
        for (i, ct) in all.into_iter().enumerate() {
            assert_eq!(ct.index(), i);
            assert_eq!(CommandType::from_index(i), ct);
            assert!(!ct.as_str().is_empty());
        }
        // Stable display names shared across Aerospike clients.
        assert_eq!(CommandType::None.as_str(), "None");
        assert_eq!(CommandType::GetHeader.as_str(), "GetHeader");
        assert_eq!(CommandType::BatchRead.as_str(), "BatchRead");
        assert_eq!(CommandType::BatchWrite.as_str(), "BatchWrite");
    }

    #[test]
    fn disabled_node_does_not_record_gated_counters() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        // disabled by default
        assert!(!metrics.is_enabled());
        metrics.incr_connections_attempt();
        metrics.incr_tend(true);
        metrics.incr_transaction_retry();
        metrics.incr_connections_closed(CloseReason::Error);
        let snap = metrics.get_and_reset();
        assert_eq!(snap.counters.connections_attempts, 0);
        assert_eq!(snap.counters.tends_total, 0);
        assert_eq!(snap.counters.transaction_retry_count, 0);
        assert_eq!(snap.counters.connections_closed, 0);

        metrics.set_enabled(true);
        metrics.incr_connections_attempt();
        metrics.incr_connections_successful();
        metrics.incr_tend(false);
        let snap = metrics.get_and_reset();
        assert_eq!(snap.counters.connections_attempts, 1);
        assert_eq!(snap.counters.connections_successful, 1);
        assert_eq!(snap.counters.tends_total, 1);
        assert_eq!(snap.counters.tends_failed, 1);
        assert_eq!(snap.counters.tends_successful, 0);
    }

    /// Tier split (metrics.md §3): with collection on but the operational
    /// group off, the Tier 0 counters move and every operational one stays
    /// at zero; turning the group on via reshape unlocks them.
    #[test]
    fn tier_0_only_records_lifecycle_but_not_operational_counters() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        metrics.set_enabled(true);
        assert!(metrics.is_enabled() && !metrics.is_operational());

        // Tier 0: opened / closed / tend / node counters.
        metrics.incr_connections_successful();
        metrics.incr_connections_closed(CloseReason::Idle);
        metrics.incr_connections_closed(CloseReason::NodeRemoved);
        metrics.incr_tend(true);
        metrics.incr_node_added();
        // Operational: failures, close reasons, pool events, command counters.
        metrics.incr_connections_failed(OpenFailure::TlsHandshake);
        metrics.incr_connections_pool_empty();
        metrics.incr_circuit_breaker_hits();
        metrics.incr_transaction_retry();
        metrics.incr_transaction_error();

        let snap = metrics.get_and_reset();
        assert_eq!(snap.counters.connections_successful, 1);
        assert_eq!(snap.counters.connections_closed, 2);
        assert_eq!(snap.counters.tends_total, 1);
        assert_eq!(snap.counters.node_added, 1);
        for (name, value) in [
            (
                "connections_idle_dropped",
                snap.counters.connections_idle_dropped,
            ),
            (
                "connections_closed_node_removed",
                snap.counters.connections_closed_node_removed,
            ),
            ("connections_failed", snap.counters.connections_failed),
            (
                "connections_tls_errors",
                snap.counters.connections_tls_errors,
            ),
            (
                "connections_pool_empty",
                snap.counters.connections_pool_empty,
            ),
            ("circuit_breaker_hits", snap.counters.circuit_breaker_hits),
            (
                "transaction_retry_count",
                snap.counters.transaction_retry_count,
            ),
            (
                "transaction_error_count",
                snap.counters.transaction_error_count,
            ),
        ] {
            assert_eq!(value, 0, "{name} is operational and must stay 0");
        }

        metrics.reshape(&MetricsPolicy::default().with_operational(true));
        metrics.incr_connections_failed(OpenFailure::Timeout);
        metrics.incr_connections_failed(OpenFailure::Connect);
        metrics.incr_connections_failed(OpenFailure::TlsHandshake);
        metrics.incr_connections_failed(OpenFailure::Auth);
        metrics.incr_connections_closed(CloseReason::Error);
        metrics.incr_connections_closed(CloseReason::PoolOverflow);
        metrics.incr_transaction_error();
        let snap = metrics.get_and_reset();
        assert_eq!(snap.counters.connections_failed, 4);
        assert_eq!(snap.counters.connections_timeout_errors, 1);
        assert_eq!(snap.counters.connections_other_errors, 1);
        assert_eq!(snap.counters.connections_tls_errors, 1);
        assert_eq!(snap.counters.connections_auth_errors, 1);
        assert_eq!(snap.counters.connections_closed, 2);
        assert_eq!(snap.counters.connections_closed_error, 1);
        assert_eq!(snap.counters.connections_pool_overflow, 1);
        assert_eq!(snap.counters.transaction_error_count, 1);
    }

    #[test]
    fn pool_gauges_stamp_and_aggregate() {
        let mut a = NodeMetricsSnapshot::new(MetricsPolicy::default());
        a.set_pool_gauges(PoolGauges {
            total: 10,
            in_pool: 4,
            recovering: 1,
        });
        assert_eq!(a.open_connections(), 10);
        assert_eq!(a.connections_in_use(), 6);
        assert_eq!(a.connections_in_pool(), 4);
        assert_eq!(a.connections_recovering(), 1);
        assert_eq!(a.pool_gauges().in_use(), 6);

        // A walk that races a checkout can read more idle than total; in_use
        // saturates instead of wrapping.
        let odd = PoolGauges {
            total: 1,
            in_pool: 3,
            recovering: 0,
        };
        assert_eq!(odd.in_use(), 0);

        // Cluster view = sum across nodes.
        let mut b = NodeMetricsSnapshot::new(MetricsPolicy::default());
        b.set_pool_gauges(PoolGauges {
            total: 3,
            in_pool: 3,
            recovering: 0,
        });
        let mut agg = NodeMetricsSnapshot::new(MetricsPolicy::default());
        agg.aggregate(&a);
        agg.aggregate(&b);
        assert_eq!(agg.open_connections(), 13);
        assert_eq!(agg.connections_in_use(), 6);
        assert_eq!(agg.connections_in_pool(), 7);
        assert_eq!(agg.connections_recovering(), 1);
    }

    #[test]
    fn error_rate_gauge_stamps_and_sums() {
        let mut a = NodeMetricsSnapshot::new(MetricsPolicy::default());
        assert_eq!(a.error_rate(), 0);
        a.set_error_rate(3);
        assert_eq!(a.error_rate(), 3);
        let mut b = NodeMetricsSnapshot::new(MetricsPolicy::default());
        b.set_error_rate(4);
        let mut agg = NodeMetricsSnapshot::new(MetricsPolicy::default());
        agg.aggregate(&a);
        agg.aggregate(&b);
        assert_eq!(agg.error_rate(), 7);
        // A re-stamp replaces rather than accumulates: it is a gauge.
        a.set_error_rate(1);
        assert_eq!(a.error_rate(), 1);
    }

    #[test]
    fn aggregate_merges_detailed_metrics_and_result_codes() {
        let policy = MetricsPolicy::default();
        let metrics = NodeMetrics::new(policy.clone());
        metrics.set_enabled(true);

        // Two namespaces, two command types, repeated result codes.
        metrics.record_bytes_sent("ns1", CommandType::Put, 100);
        metrics.record_latency("ns1", CommandType::Put, Duration::from_millis(200));
        metrics.record_parse("ns1", CommandType::Put, Duration::from_millis(10));
        metrics.record_bytes_received("ns1", CommandType::Put, 50);
        metrics.record_result_code("ns1", CommandType::Put, ResultCode::Ok);
        metrics.record_result_code("ns2", CommandType::Get, ResultCode::KeyNotFoundError);
        let a = metrics.get_and_reset();

        metrics.record_bytes_sent("ns1", CommandType::Put, 300);

        metrics.record_latency("ns1", CommandType::Put, Duration::from_millis(400));
        metrics.record_result_code("ns1", CommandType::Put, ResultCode::Ok);
        let b = metrics.get_and_reset();

        let mut agg = NodeMetricsSnapshot::new(policy);
        agg.aggregate(&a);
        agg.aggregate(&b);

        // Detailed metric merges counts across both snapshots.
        let cm = agg.detailed_metric("ns1", CommandType::Put).unwrap();
        assert_eq!(cm.bytes_sent.count(), 2);
        assert_eq!(cm.latency.count(), 2);
        assert_eq!(cm.bytes_sent.max(), 300);

        // Result codes merge per (namespace, command, code).
        assert_eq!(
            agg.result_code_count("ns1", CommandType::Put, ResultCode::Ok),
            2
        );
        assert_eq!(
            agg.result_code_count("ns2", CommandType::Get, ResultCode::KeyNotFoundError),
            1
        );
        // Missing entries report zero, not panic.
        assert_eq!(
            agg.result_code_count("ns3", CommandType::Put, ResultCode::Ok),
            0
        );
        assert!(agg.detailed_metric("ns2", CommandType::Put).is_none());

        // Only ns1 recorded detailed histograms; ns2 only recorded a result
        // code, which lives in a separate map.
        assert_eq!(agg.detailed_namespaces(), vec!["ns1"]);
    }

    #[test]
    fn recorders_bucket_in_the_policy_unit() {
        // 1500µs is 1ms: bucket 11 of a µs log2 histogram (1024 < 1500 <= 2048,
        // ranges are upper-closed), and bucket 0 of a ms one.
        let elapsed = Duration::from_micros(1_500);

        let us = NodeMetrics::new(MetricsPolicy::micros());
        us.record_command(CommandType::Get, elapsed);
        let snap = us.get_and_reset();
        assert_eq!(snap.get_metrics.max(), 1_500);
        assert_eq!(snap.get_metrics.buckets()[11], 1);

        let ms = NodeMetrics::new(MetricsPolicy::millis());
        ms.record_command(CommandType::Get, elapsed);
        let snap = ms.get_and_reset();
        assert_eq!(snap.get_metrics.max(), 1);
        assert_eq!(snap.get_metrics.buckets()[0], 1);
    }

    #[test]
    fn detailed_recorders_convert_times_but_not_sizes() {
        let metrics = NodeMetrics::new(MetricsPolicy::micros());
        metrics.record_bytes_sent("ns", CommandType::Put, 64);
        metrics.record_latency("ns", CommandType::Put, Duration::from_millis(2));
        metrics.record_parse("ns", CommandType::Put, Duration::from_millis(3));
        metrics.record_bytes_received("ns", CommandType::Put, 128);
        metrics.record_connection_aq("ns", CommandType::Put, Duration::from_micros(7));

        let snap = metrics.get_and_reset();
        let cm = snap.detailed_metric("ns", CommandType::Put).unwrap();
        // Times in microseconds...
        assert_eq!(cm.latency.max(), 2_000);
        assert_eq!(cm.parsing.max(), 3_000);
        assert_eq!(cm.connection_aq.max(), 7);
        // ...byte counts untouched by the unit.
        assert_eq!(cm.bytes_sent.max(), 64);
        assert_eq!(cm.bytes_received.max(), 128);
    }

    #[test]
    fn reshape_shapes_lazily_created_detail_and_drain_snapshots() {
        let metrics = NodeMetrics::new(MetricsPolicy::micros());
        metrics.set_enabled(true);
        metrics.reshape(&MetricsPolicy::millis());

        // Detail created after the reshape must take the applied 7-column
        // shape, not the construction-time 24-column one.
        metrics.record_bytes_sent("ns", CommandType::Put, 64);
        metrics.record_latency("ns", CommandType::Put, Duration::from_millis(5));
        let snapshot = metrics.get_and_reset();
        let cm = snapshot.detailed_metric("ns", CommandType::Put).unwrap();
        assert_eq!(
            cm.latency.buckets().len(),
            crate::metrics::MILLIS_LATENCY_COLUMNS
        );
        assert_eq!(cm.latency.count(), 1);
        assert_eq!(snapshot.latency_unit, LatencyUnit::Milliseconds);

        // The shape-checked histogram merge would silently drop mismatched
        // samples, so aggregating into a base built from the applied policy
        // must retain them.
        let mut agg = NodeMetricsSnapshot::new(MetricsPolicy::millis());
        agg.aggregate(&snapshot);
        let agg_cm = agg.detailed_metric("ns", CommandType::Put).unwrap();
        assert_eq!(agg_cm.latency.count(), 1);
        assert_eq!(agg_cm.bytes_sent.count(), 1);
    }

    // Minimal repro for CLIENT-5242. Builds a node with the default micros()
    // shape (24 latency columns), then enables metrics with the millis() preset
    // (7 columns) -- exactly what `client.enable_metrics(MetricsPolicy::millis())`
    // does to every node (Cluster::enable_metrics -> NodeMetrics::reshape). One
    // write is recorded, then rolled into a cluster aggregate built from the
    // applied millis() policy.
    //
    // With the reshape defect the detail created lazily after the reshape keeps
    // the stale 24-column shape, and the shape-checked histogram merge silently
    // drops it:
    //   without fix -> agg latency count == 0   (this assertion fails)
    //   with fix    -> agg latency count == 1
    #[test]
    fn client_5242_repro_millis_preset_zeroes_cluster_aggregate() {
        let node = NodeMetrics::new(MetricsPolicy::micros()); // 24-column build
        node.set_enabled(true);
        node.reshape(&MetricsPolicy::millis()); // enable_metrics(millis()) does this

        node.record_bytes_sent("test", CommandType::Put, 64);

        node.record_latency("test", CommandType::Put, Duration::from_millis(5));

        let per_node = node.get_and_reset();
        let mut cluster_agg = NodeMetricsSnapshot::new(MetricsPolicy::millis());
        cluster_agg.aggregate(&per_node);

        let cm = cluster_agg
            .detailed_metric("test", CommandType::Put)
            .expect("detail slot for test/Put");
        assert_eq!(
            cm.latency.count(),
            1,
            "detailed latency was dropped by the shape-mismatched merge (CLIENT-5242)"
        );
    }

    #[test]
    fn reshape_to_a_new_unit_discards_stale_times_but_keeps_sizes() {
        let metrics = NodeMetrics::new(MetricsPolicy::micros());
        metrics.set_enabled(true);
        metrics.record_command(CommandType::Get, Duration::from_millis(5));
        metrics.record_bytes_sent("ns", CommandType::Put, 64);
        metrics.record_latency("ns", CommandType::Put, Duration::from_millis(5));
        metrics.record_parse("ns", CommandType::Put, Duration::from_millis(5));
        metrics.record_bytes_received("ns", CommandType::Put, 128);

        // Same shape, different unit: microsecond samples cannot share buckets
        // with millisecond ones.
        let mut ms = MetricsPolicy::millis();
        ms.latency_columns = MetricsPolicy::micros().latency_columns;
        metrics.reshape(&ms);
        assert_eq!(metrics.latency_unit(), LatencyUnit::Milliseconds);

        let snap = metrics.get_and_reset();
        assert_eq!(snap.get_metrics.count(), 0, "stale times must be discarded");
        let cm = snap.detailed_metric("ns", CommandType::Put).unwrap();
        assert_eq!(cm.latency.count(), 0);
        assert_eq!(cm.parsing.count(), 0);
        assert_eq!(cm.connection_aq.count(), 0);
        // Sizes are not times: they survive.
        assert_eq!(cm.bytes_sent.count(), 1);
        assert_eq!(cm.bytes_received.count(), 1);
        // And the snapshot reports the unit it was actually recorded in.
        assert_eq!(snap.latency_unit, LatencyUnit::Milliseconds);
    }

    #[test]
    fn reshape_without_a_unit_change_keeps_samples() {
        let metrics = NodeMetrics::new(MetricsPolicy::micros());
        metrics.record_command(CommandType::Get, Duration::from_micros(4));
        // Same policy: nothing to reset.
        metrics.reshape(&MetricsPolicy::micros());
        assert_eq!(metrics.get_and_reset().get_metrics.count(), 1);
    }

    #[test]
    fn snapshot_reset_time_histograms_keeps_counters_and_sizes() {
        // What `Cluster::enable_metrics` does to the retained per-host snapshots
        // when the unit changes.
        let metrics = NodeMetrics::new(MetricsPolicy::micros());
        metrics.set_enabled(true);
        metrics.incr_connections_attempt();
        metrics.record_command(CommandType::Get, Duration::from_millis(1));
        metrics.record_bytes_sent("ns", CommandType::Put, 64);
        metrics.record_latency("ns", CommandType::Put, Duration::from_millis(1));
        metrics.record_result_code("ns", CommandType::Put, ResultCode::Ok);

        let snap = metrics.get_and_reset();
        snap.reset_time_histograms();

        assert_eq!(snap.get_metrics.count(), 0);
        let cm = snap.detailed_metric("ns", CommandType::Put).unwrap();
        assert_eq!(cm.latency.count(), 0);
        // Not times: kept.
        assert_eq!(cm.bytes_sent.count(), 1);
        assert_eq!(snap.counters.connections_attempts, 1);
        assert_eq!(
            snap.result_code_count("ns", CommandType::Put, ResultCode::Ok),
            1
        );
    }

    #[test]
    fn snapshot_reports_the_unit_it_was_recorded_in() {
        let metrics = NodeMetrics::new(MetricsPolicy::millis());
        assert_eq!(metrics.latency_unit(), LatencyUnit::Milliseconds);
        assert_eq!(
            metrics.get_and_reset().latency_unit,
            LatencyUnit::Milliseconds
        );
        assert_eq!(
            NodeMetricsSnapshot::new(MetricsPolicy::micros()).latency_unit,
            LatencyUnit::Microseconds
        );
    }

    #[test]
    fn reshape_changes_histogram_layout() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        metrics.set_enabled(true);
        metrics.record_command(CommandType::Get, Duration::from_millis(10));
        // Switch to a wider histogram with a different boundary spacing.
        let new_policy = MetricsPolicy {
            latency_columns: 9,
            latency_shift: 3,
            ..MetricsPolicy::default()
        };
        metrics.reshape(&new_policy);
        // Reshape resets the histogram and changes its bucket count.
        let snap = metrics.get_and_reset();
        assert_eq!(snap.get_metrics.count(), 0);
        assert_eq!(snap.get_metrics.buckets().len(), 9);
        assert_eq!(snap.get_metrics.shift(), 3);
    }

    #[cfg(feature = "serialization")]
    #[test]
    fn snapshot_serializes_with_stable_field_names() {
        let metrics = NodeMetrics::new(MetricsPolicy::default());
        metrics.set_enabled(true);
        metrics
            .counters
            .connections_open
            .store(4, Ordering::Relaxed);
        metrics.counters.tends_total.fetch_add(2, Ordering::Relaxed);
        metrics.record_command(CommandType::Put, Duration::from_millis(123));
        metrics.record_bytes_sent("test", CommandType::Put, 64);
        metrics.record_latency("test", CommandType::Put, Duration::from_millis(90));
        metrics.record_result_code("test", CommandType::Put, ResultCode::KeyNotFoundError);

        let snap = metrics.get_and_reset();
        let v = serde_json::to_value(&snap).unwrap();

        // Counter field names (JSON tags).
        assert_eq!(v["open_connections"], 4);
        assert_eq!(v["tends_total"], 2);
        assert!(v.get("transaction_retry_count").is_some());

        // Histogram object shape.
        let put = &v["put_metrics"];
        assert_eq!(put["count"], 1);
        assert!(put.get("buckets").unwrap().is_array());
        assert!(put.get("min").is_some() && put.get("max").is_some() && put.get("sum").is_some());

        // Detailed metrics nested by namespace -> command -> histograms.
        let detailed = &v["detailed_metrics"]["test"]["Put"];
        assert_eq!(detailed["bytes_sent"]["count"], 1);
        assert!(detailed.get("connection_aq").is_some());
        assert!(detailed.get("bytes_received").is_some());

        // Result-code counts nested by namespace -> command -> code string.
        let rc = &v["detailed_resultcode_counts"]["test"]["Put"];
        assert_eq!(rc[ResultCode::KeyNotFoundError.into_string()], 1);
    }
}
