//! The Aerospike sink: batch writes with one outcome per record, the rejected set, listing.
//!
//! Built on the official `aerospike` crate (3.0, async on tokio). Three things it does
//! not do for us, done here:
//! - **Bound every call.** A call can hang when the server stalls (the crate's issue
//!   #159), so besides the policy's own `total_timeout`, each call runs under
//!   `tokio::time::timeout`; running out is a transient error like any other timeout.
//! - **Classify outcomes.** [`AerospikeSink::store_batch`] writes a whole batch with
//!   `Client::batch` and reads each row's result code: a row the server refuses for what
//!   it *is* (bin name too long, record too big, wrong type, bad parameter) is
//!   [`StoreError::Permanent`] — retrying would loop forever, so the caller keeps the
//!   message as rejected; anything a retry may fix (timeout, connection, server busy or
//!   out of space, no answer) is [`StoreError::Transient`] and the message goes back to
//!   NSQ. A failure of the whole call makes every row transient.
//! - **Idempotence.** Every record is written under a key taken from the message, with
//!   the key itself stored (`send_key`), so storing a redelivered message again leaves
//!   one record. How it is written is `aerospike.write` ([`WriteMode`]): create or
//!   replace (the default: the same content again), create or update (merge the bins),
//!   or create only (an existing record is success, [`Written::Existed`]).
//! - **Per-record routing and the ordering guard.** A record may name its own set and
//!   TTL ([`Record::set`], [`Record::ttl`]); with a version ([`Record::version`]) the
//!   row carries a filter expression, `the version bin is absent or lower than this
//!   version`, evaluated by the server against the stored record in the same batch
//!   write (a new record is created without it, as `write_master` does); a row it
//!   filters out answers FILTERED_OUT, which is [`Written::Superseded`].
//!
//! Rejected messages are written to `rejected.set` keyed by `<NSQ message id>-<nsqd
//! timestamp>` ([`RejectedMessage::key`]: a redelivery overwrites, never duplicates;
//! the id alone is unique only per topic of one nsqd), with bins `body` (a string when the raw
//! body is UTF-8, else a blob), `reason`, `attempts`, `nsq_ts` (nsqd's timestamp, ns),
//! `topic` and `channel`. A body too big for a record is cut to [`MAX_KEPT_BODY`] bytes
//! (bin `body_len` then holds the full length), so even that message is kept.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aerospike::expressions::{self as exp, Expression};
use aerospike::{
    AuthMode, BatchOperation, BatchPolicy, BatchWritePolicy, Bin, Bins, Client, ClientPolicy,
    Expiration, Key, PartitionFilter, QueryPolicy, RecordExistsAction, ResultCode, Statement,
    Value, operations,
};
use bytes::Bytes;
use futures::StreamExt;
use tracing::debug;

use crate::pipeline::record::{Record, bins};

// The operator's reads and deletes: `records --key`, `x-msrv rejected ...`.
mod admin;
pub use admin::{DIGEST_ID_PREFIX, RejectedBins, RejectedBody, RejectedRecord};

/// Connecting takes several round trips (seed validation, peers, partition map), so it
/// gets at least this long even with a short per-call `aerospike.timeout`.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Extra time for our own bound beyond the client's: the client's timeout, which carries
/// a better message, should normally fire first.
const TIMEOUT_MARGIN: Duration = Duration::from_millis(250);
/// A scan for `records` reads many records; it gets at least this long.
const MIN_LIST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on `close`: a run must exit even if the client cannot say goodbye.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How much of a rejected body is kept when the whole body does not fit in a record.
pub const MAX_KEPT_BODY: usize = 64 * 1024;

/// Result codes that mean "this record can never be written as it is".
const PERMANENT_CODES: &[ResultCode] = &[
    ResultCode::ParameterError,
    ResultCode::BinTypeError,
    ResultCode::RecordTooBig,
    ResultCode::BinNameTooLong,
    ResultCode::KeyMismatch,
    ResultCode::InvalidEncoding,
];

/// How long stored records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The namespace's `default-ttl`.
    NamespaceDefault,
    /// Never expire.
    Never,
    /// Expire this long after the write (whole seconds).
    Seconds(u32),
}

/// `aerospike.write`: what a write does to a record that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Create, or replace every bin (bins the message does not have are gone).
    Replace,
    /// Create, or update: the message's bins are written, the record's others kept.
    Update,
    /// Create only: an existing record is left as it is, and that is success.
    CreateOnly,
}

impl WriteMode {
    fn record_exists_action(self) -> RecordExistsAction {
        match self {
            WriteMode::Replace => RecordExistsAction::Replace,
            WriteMode::Update => RecordExistsAction::Update,
            WriteMode::CreateOnly => RecordExistsAction::CreateOnly,
        }
    }
}

/// How a record write succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The record is written.
    Stored,
    /// `create-only`: a record with this key exists and was left as it is.
    Existed,
    /// The ordering guard: the stored record has this version or a newer one; nothing
    /// was written.
    Superseded,
}

/// Where and how the sink writes: `[aerospike]` and `rejected.set`, checked by the
/// configuration.
#[derive(Clone)]
pub struct AerospikeSettings {
    /// Seed hosts as `host:port`.
    pub hosts: Vec<String>,
    pub namespace: String,
    /// Set of the stored messages.
    pub set: String,
    /// Set of the rejected messages (`rejected.set`).
    pub rejected_set: String,
    pub ttl: Ttl,
    /// `aerospike.write`.
    pub write: WriteMode,
    /// `message.version-bin` when `message.version` is set: the bin the ordering
    /// guard's filter reads.
    pub version_bin: Option<String>,
    /// Bound on every call (also enforced around the client: it can hang, its issue #159).
    pub timeout: Duration,
    /// Most records per batch write.
    pub batch_size: usize,
    pub user: Option<String>,
    pub password: Option<String>,
}

// Hand-written so the password never reaches a log line.
impl fmt::Debug for AerospikeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AerospikeSettings")
            .field("hosts", &self.hosts)
            .field("namespace", &self.namespace)
            .field("set", &self.set)
            .field("rejected_set", &self.rejected_set)
            .field("ttl", &self.ttl)
            .field("write", &self.write)
            .field("version_bin", &self.version_bin)
            .field("timeout", &self.timeout)
            .field("batch_size", &self.batch_size)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why a write (or a connection) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The record can never be written as it is; keep the message as rejected.
    #[error("{0}")]
    Permanent(String),
    /// A retry may succeed (timeout, connection, server busy, no answer).
    #[error("{0}")]
    Transient(String),
    /// No connection to the cluster could be made.
    #[error("{hosts}: {reason}")]
    Unavailable { hosts: String, reason: String },
}

impl StoreError {
    /// True when retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, StoreError::Permanent(_))
    }
}

/// An invalid message to keep in the rejected set.
#[derive(Debug, Clone)]
pub struct RejectedMessage {
    /// The NSQ message id.
    pub msg_id: String,
    /// The raw body, exactly as received.
    pub body: Bytes,
    /// Why it was rejected.
    pub reason: String,
    /// Deliveries so far.
    pub attempts: u16,
    /// nsqd's timestamp of the message, ns since the Unix epoch.
    pub timestamp: i64,
    pub topic: String,
    pub channel: String,
}

impl RejectedMessage {
    /// The record key, [`nsq::message_key`]: a redelivery overwrites its own
    /// record, and no other message's.
    pub fn key(&self) -> String {
        nsq::message_key(&self.msg_id, self.timestamp)
    }
}

/// A stored record, as `x-msrv records` shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredRecordView {
    /// The user key (stored with every record x-msrv writes); `null` when absent.
    pub key: serde_json::Value,
    /// How many times the record was written.
    pub generation: u32,
    /// The bins, converted back to JSON (see [`bins::to_json`]).
    pub bins: serde_json::Map<String, serde_json::Value>,
}

impl StoredRecordView {
    /// The view of `record`, keyed by `key` (the key a single read was made with),
    /// else by the key a scan returned with the record.
    fn of(record: &aerospike::Record, key: Option<&Key>) -> StoredRecordView {
        StoredRecordView {
            key: key
                .or(record.key.as_ref())
                .and_then(|k| k.user_key())
                .map_or(serde_json::Value::Null, bins::to_json),
            generation: record.generation,
            bins: record
                .bins
                .iter()
                .map(|(name, value)| (name.clone(), bins::to_json(value)))
                .collect(),
        }
    }
}

impl fmt::Display for StoredRecordView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key={} generation={} {}",
            self.key,
            self.generation,
            serde_json::Value::Object(self.bins.clone())
        )
    }
}

/// Writes messages to Aerospike. Cheap to share: calls take `&self`.
pub struct AerospikeSink {
    client: Arc<Client>,
    settings: AerospikeSettings,
    batch_policy: BatchPolicy,
    /// Rows of `aerospike.set`: `aerospike.write`, `aerospike.ttl`.
    write_policy: BatchWritePolicy,
    /// Rows of `rejected.set`: always create or replace (a redelivered rejected message
    /// is the same message), `aerospike.ttl`.
    rejected_policy: BatchWritePolicy,
}

impl fmt::Debug for AerospikeSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AerospikeSink")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One line: the crate's errors may span several (sub-errors, cause chain).
fn one_line(e: &aerospike::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl AerospikeSink {
    /// Connects to the cluster (bounded: at least [`MIN_CONNECT_TIMEOUT`]).
    pub async fn connect(settings: &AerospikeSettings) -> Result<Self, StoreError> {
        let hosts = settings.hosts.join(",");
        let unavailable = |reason: String| StoreError::Unavailable {
            hosts: hosts.clone(),
            reason,
        };
        let mut policy = ClientPolicy {
            timeout: millis(settings.timeout),
            ..ClientPolicy::default()
        };
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            policy.set_auth_mode(AuthMode::Internal(user.clone(), password.clone()));
        }
        let bound = settings.timeout.max(MIN_CONNECT_TIMEOUT);
        let client = match tokio::time::timeout(bound, Client::new(&policy, &hosts)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(unavailable(one_line(&e))),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within {}",
                    humantime::format_duration(bound)
                )));
            }
        };

        Ok(AerospikeSink::with_client(Arc::new(client), settings))
    }

    /// The same connections, writing by `settings` from now on: the set, the TTL, the
    /// write mode, the version bin, the per-call timeout and the batch size. The hosts,
    /// the credentials and the client's own connect timeout stay those it connected
    /// with (a change of those needs [`connect`](Self::connect)).
    pub fn reconfigure(self, settings: &AerospikeSettings) -> AerospikeSink {
        AerospikeSink::with_client(self.client, settings)
    }

    fn with_client(client: Arc<Client>, settings: &AerospikeSettings) -> AerospikeSink {
        let mut batch_policy = BatchPolicy::write_default();
        batch_policy.base_policy.total_timeout = millis(settings.timeout);
        batch_policy.base_policy.socket_timeout = millis(settings.timeout);
        // Retrying is NSQ's job (REQ with backoff); a retry here would only stretch
        // the time a batch holds its messages.
        batch_policy.base_policy.max_retries = 0;

        let rejected_policy = BatchWritePolicy {
            record_exists_action: RecordExistsAction::Replace,
            send_key: true,
            expiration: match settings.ttl {
                Ttl::NamespaceDefault => Expiration::NamespaceDefault,
                Ttl::Never => Expiration::Never,
                Ttl::Seconds(s) => Expiration::Seconds(s),
            },
            ..BatchWritePolicy::default()
        };
        let write_policy = BatchWritePolicy {
            record_exists_action: settings.write.record_exists_action(),
            ..rejected_policy.clone()
        };

        AerospikeSink {
            client,
            settings: settings.clone(),
            batch_policy,
            write_policy,
            rejected_policy,
        }
    }

    /// The settings this sink was made with.
    pub fn settings(&self) -> &AerospikeSettings {
        &self.settings
    }

    /// Writes `records` as one batch: each into its own set (else `aerospike.set`), with
    /// its own TTL (else `aerospike.ttl`), by `aerospike.write`, guarded by its version
    /// when it has one. Returns one outcome per record, in order.
    pub async fn store_batch(&self, records: Vec<Record>) -> Vec<Result<Written, StoreError>> {
        let rows = records
            .into_iter()
            .map(|r| Row {
                set: r.set,
                key: r.key,
                bins: r.bins,
                ttl: r.ttl,
                version: r.version,
            })
            .collect();
        self.write_rows(&self.write_policy, &self.settings.set, rows)
            .await
    }

    /// Keeps invalid messages in `rejected.set`, keyed by [`RejectedMessage::key`]. One outcome
    /// per message, in order. A message too big for a record is kept with its body cut
    /// to [`MAX_KEPT_BODY`] bytes.
    pub async fn store_rejected(&self, items: Vec<RejectedMessage>) -> Vec<Result<(), StoreError>> {
        let rows = items
            .iter()
            .map(|m| Row::plain(Value::String(m.key()), rejected_bins(m, None)))
            .collect();
        let mut outcomes = self.write_rejected(rows).await;

        // Second chance for bodies the server found too big: cut them.
        let too_big: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(i, o)| {
                matches!(o, Err(StoreError::Permanent(_))) && items[*i].body.len() > MAX_KEPT_BODY
            })
            .map(|(i, _)| i)
            .collect();
        if !too_big.is_empty() {
            let rows = too_big
                .iter()
                .map(|&i| {
                    let m = &items[i];
                    Row::plain(
                        Value::String(m.key()),
                        rejected_bins(m, Some(MAX_KEPT_BODY)),
                    )
                })
                .collect();
            let retried = self.write_rejected(rows).await;
            for (i, outcome) in too_big.into_iter().zip(retried) {
                outcomes[i] = outcome;
            }
        }
        outcomes
    }

    async fn write_rejected(&self, rows: Vec<Row>) -> Vec<Result<(), StoreError>> {
        self.write_rows(&self.rejected_policy, &self.settings.rejected_set, rows)
            .await
            .into_iter()
            .map(|outcome| outcome.map(|_| ()))
            .collect()
    }

    /// Writes one batch of rows, by `policy`, each into its own set or `default_set`.
    async fn write_rows(
        &self,
        policy: &BatchWritePolicy,
        default_set: &str,
        rows: Vec<Row>,
    ) -> Vec<Result<Written, StoreError>> {
        let mut outcomes: Vec<Option<Result<Written, StoreError>>> = vec![None; rows.len()];
        let mut ops = Vec::with_capacity(rows.len());
        // Position in `outcomes` of each op, and whether it carries the version guard.
        let mut index = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            if row.bins.is_empty() {
                // The client refuses a write row without a write for the *whole* batch;
                // keep that from sinking the other rows.
                outcomes[i] = Some(Err(StoreError::Permanent("the record has no bins".into())));
                continue;
            }
            let set = row.set.unwrap_or_else(|| default_set.to_owned());
            let key = match Key::new(self.settings.namespace.clone(), set, row.key) {
                Ok(key) => key,
                Err(e) => {
                    outcomes[i] = Some(Err(StoreError::Permanent(format!(
                        "bad key: {}",
                        one_line(&e)
                    ))));
                    continue;
                }
            };
            // `put_owned` is the one addition of the vendored aerospike-core: the crate's
            // `put(&bin)` deep-copies every value (vendor/README.md).
            let bin_ops: Vec<_> = row.bins.into_iter().map(operations::put_owned).collect();
            let guard = match (&self.settings.version_bin, row.version) {
                (Some(bin), Some(version)) => Some(version_guard(bin, version)),
                _ => None,
            };
            let guarded = guard.is_some();
            let op = if guard.is_none() && row.ttl.is_none() {
                BatchOperation::write(policy, key, bin_ops)
            } else {
                // The row's own TTL or filter: a policy of its own (the batch clones
                // each row's policy anyway).
                let mut own = policy.clone();
                if let Some(ttl) = row.ttl {
                    own.expiration = Expiration::Seconds(ttl);
                }
                own.filter_expression = guard;
                BatchOperation::write(&own, key, bin_ops)
            };
            ops.push(op);
            index.push((i, guarded));
        }

        if !ops.is_empty() {
            let bound = self.settings.timeout + TIMEOUT_MARGIN;
            match tokio::time::timeout(bound, self.client.batch(&self.batch_policy, &mut ops)).await
            {
                Ok(Ok(())) => {
                    let create_only = policy.record_exists_action == RecordExistsAction::CreateOnly;
                    for (op, &(i, guarded)) in ops.iter().zip(&index) {
                        outcomes[i] = Some(row_outcome(op, create_only, guarded));
                    }
                }
                Ok(Err(e)) => {
                    let reason = format!("batch write failed: {}", one_line(&e));
                    debug!(error = %reason, rows = ops.len(), "Aerospike batch failed");
                    for &(i, _) in &index {
                        outcomes[i] = Some(Err(StoreError::Transient(reason.clone())));
                    }
                }
                Err(_) => {
                    let reason = format!(
                        "batch write got no answer within {}",
                        humantime::format_duration(bound)
                    );
                    debug!(error = %reason, rows = ops.len(), "Aerospike batch timed out");
                    for &(i, _) in &index {
                        outcomes[i] = Some(Err(StoreError::Transient(reason.clone())));
                    }
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every row got an outcome: refused up front, or from the batch"))
            .collect()
    }

    /// Up to `limit` records of `set` (a scan), sorted by key: integer keys first in
    /// numeric order, then string keys.
    pub async fn list(&self, set: &str, limit: usize) -> Result<Vec<StoredRecordView>, StoreError> {
        let bound = self.settings.timeout.max(MIN_LIST_TIMEOUT);
        let scan = async {
            let mut policy = QueryPolicy::new();
            policy.max_records = u64::try_from(limit).unwrap_or(u64::MAX);
            policy.base_policy.total_timeout = millis(bound);
            let statement =
                Statement::new(self.settings.namespace.clone(), set.to_owned(), Bins::All);
            let recordset = self
                .client
                .query(&policy, PartitionFilter::all(), statement)
                .await
                .map_err(|e| {
                    StoreError::Transient(format!("scan of {set} failed: {}", one_line(&e)))
                })?;
            let mut stream = recordset.into_stream();
            let mut out = Vec::new();
            while out.len() < limit {
                let Some(item) = stream.next().await else {
                    break;
                };
                let record = item.map_err(|e| {
                    StoreError::Transient(format!("scan of {set} failed: {}", one_line(&e)))
                })?;
                out.push(StoredRecordView::of(&record, None));
            }
            // Stop the scan's workers if the limit cut it short.
            stream.as_ref().close();
            Ok(out)
        };
        let mut records = tokio::time::timeout(bound, scan).await.map_err(|_| {
            StoreError::Transient(format!(
                "scan of {set} got no answer within {}",
                humantime::format_duration(bound)
            ))
        })??;
        records.sort_by(|a, b| key_order(&a.key, &b.key));
        Ok(records)
    }

    /// Closes the client (bounded; a failure to say goodbye is only logged).
    pub async fn close(self) {
        match tokio::time::timeout(CLOSE_TIMEOUT, self.client.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => debug!(error = %one_line(&e), "closing the Aerospike client"),
            Err(_) => debug!("closing the Aerospike client timed out"),
        }
    }
}

/// One record to write.
struct Row {
    /// `None`: the batch's default set.
    set: Option<String>,
    key: Value,
    bins: Vec<Bin>,
    /// `None`: the policy's expiration.
    ttl: Option<u32>,
    /// The ordering guard's version (with `message.version`).
    version: Option<i64>,
}

impl Row {
    fn plain(key: Value, bins: Vec<Bin>) -> Row {
        Row {
            set: None,
            key,
            bins,
            ttl: None,
            version: None,
        }
    }
}

/// The ordering guard of a record of `version`: the stored record has no version bin,
/// or a lower version. The server evaluates it only against a record that exists (a new
/// one is simply created); a stored version bin that is not an integer makes the
/// comparison unknown, which filters the write out: such a record is never overwritten.
fn version_guard(bin: &str, version: i64) -> Expression {
    exp::or(vec![
        exp::not(exp::bin_exists(bin)),
        exp::lt(exp::int_bin(bin), exp::int_val(version)),
    ])
}

/// The outcome of one row after a completed batch call. `create_only`: the row was
/// written create-only, so KEY_EXISTS means its record is there; `guarded`: it carried
/// the version guard, so FILTERED_OUT means a newer record is there.
fn row_outcome(
    op: &BatchOperation,
    create_only: bool,
    guarded: bool,
) -> Result<Written, StoreError> {
    match op.result_code() {
        Some(ResultCode::Ok) => Ok(Written::Stored),
        Some(ResultCode::KeyExistsError) if create_only => Ok(Written::Existed),
        Some(ResultCode::FilteredOut) if guarded => Ok(Written::Superseded),
        Some(code) if PERMANENT_CODES.contains(&code) => Err(StoreError::Permanent(format!(
            "Aerospike refused the record: {code}"
        ))),
        Some(code) => Err(StoreError::Transient(format!("Aerospike: {code}"))),
        None => Err(StoreError::Transient(match op.error() {
            Some(e) => format!("Aerospike: {}", one_line(e)),
            None => "Aerospike gave no answer for this record".to_owned(),
        })),
    }
}

fn rejected_bins(m: &RejectedMessage, cut: Option<usize>) -> Vec<Bin> {
    let body = match cut {
        Some(n) if m.body.len() > n => &m.body[..n],
        _ => &m.body[..],
    };
    let body = match std::str::from_utf8(body) {
        Ok(text) => Value::String(text.to_owned()),
        // Cutting may split a UTF-8 sequence; keep the valid prefix as text then.
        Err(e) if cut.is_some() && e.error_len().is_none() => {
            Value::String(String::from_utf8_lossy(&body[..e.valid_up_to()]).into_owned())
        }
        Err(_) => Value::Blob(body.to_vec()),
    };
    let mut bins = vec![
        Bin::new("body", body),
        Bin::new("reason", Value::String(m.reason.clone())),
        Bin::new("attempts", Value::Int(i64::from(m.attempts))),
        Bin::new("nsq_ts", Value::Int(m.timestamp)),
        Bin::new("topic", Value::String(m.topic.clone())),
        Bin::new("channel", Value::String(m.channel.clone())),
    ];
    if cut.is_some() {
        bins.push(Bin::new(
            "body_len",
            Value::Int(i64::try_from(m.body.len()).unwrap_or(i64::MAX)),
        ));
    }
    bins
}

fn key_order(a: &serde_json::Value, b: &serde_json::Value) -> std::cmp::Ordering {
    use serde_json::Value as J;
    use std::cmp::Ordering;
    match (a, b) {
        (J::Number(x), J::Number(y)) => x
            .as_i64()
            .cmp(&y.as_i64())
            .then_with(|| x.to_string().cmp(&y.to_string())),
        (J::Number(_), _) => Ordering::Less,
        (_, J::Number(_)) => Ordering::Greater,
        (J::String(x), J::String(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &[u8]) -> RejectedMessage {
        RejectedMessage {
            msg_id: "0123456789abcdef".into(),
            body: Bytes::copy_from_slice(body),
            reason: "why".into(),
            attempts: 2,
            timestamp: 42,
            topic: "t".into(),
            channel: "c".into(),
        }
    }

    #[test]
    fn rejected_body_is_text_or_blob() {
        let bins = rejected_bins(&message(b"{x"), None);
        assert_eq!(bins[0], Bin::new("body", Value::String("{x".into())));
        assert_eq!(bins.len(), 6);
        let bins = rejected_bins(&message(b"\xff\x00"), None);
        assert_eq!(bins[0], Bin::new("body", Value::Blob(vec![0xff, 0])));
    }

    #[test]
    fn cut_body_keeps_whole_characters_and_the_length() {
        let body = "é".repeat(10); // 20 bytes
        let bins = rejected_bins(&message(body.as_bytes()), Some(5));
        assert_eq!(bins[0], Bin::new("body", Value::String("éé".into())));
        assert_eq!(bins.last().unwrap(), &Bin::new("body_len", Value::Int(20)));
    }

    #[test]
    fn keys_sort_numbers_first() {
        use serde_json::json;
        let mut keys = vec![json!("b"), json!(10), json!("a"), json!(2), json!(null)];
        keys.sort_by(key_order);
        assert_eq!(
            keys,
            vec![json!(2), json!(10), json!("a"), json!("b"), json!(null)]
        );
    }

    #[test]
    fn permanent_is_permanent() {
        assert!(StoreError::Permanent("x".into()).is_permanent());
        assert!(!StoreError::Transient("x".into()).is_permanent());
        assert!(
            !StoreError::Unavailable {
                hosts: "h".into(),
                reason: "r".into()
            }
            .is_permanent()
        );
    }
}
