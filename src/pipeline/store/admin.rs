//! Reading and removing single records, for the operator's commands: `records --key`
//! (one record of any set) and the rejected set as a dead-letter queue (`x-msrv
//! rejected list|show|redrive|purge`).
//!
//! Filters (reason, time, topic) are applied here in the client, over a scan of the
//! whole set: filter expressions would do it in the server, but the stand-in Aerospike
//! does not implement them, and the rejected set is meant to stay small. A scan for
//! redrive or purge reads only the small bins ([`RejectedBins::Meta`], no body), and the
//! bodies are then read in batches of `aerospike.batch-size` by their digests: memory
//! stays bounded by the matched records' keys, and no scan is held open while nsqd is
//! being published to (a scan left unread is timed out by the server).
//!
//! A little over 500 lines with its tests: the reads of one record, of the rejected set
//! and the listing share their bounded-call and conversion helpers here, and splitting
//! them would only export those helpers to a second file.

use std::fmt;
use std::ops::ControlFlow;

use aerospike::{
    BatchDeletePolicy, BatchOperation, BatchPolicy, BatchReadPolicy, Bins, Key, PartitionFilter,
    QueryPolicy, ReadPolicy, Record, ResultCode, Statement, Value,
};
use bytes::Bytes;
use futures::StreamExt;

use super::{AerospikeSink, MIN_LIST_TIMEOUT, StoreError, TIMEOUT_MARGIN, millis, one_line};
use crate::pipeline::record::bins;

/// The bins of a rejected record other than `body`: enough to filter and to list.
const META_BINS: &[&str] = &[
    "topic", "channel", "nsq_ts", "attempts", "reason", "body_len",
];

/// Prefix of the id of a record that has no stored user key (x-msrv always stores its
/// keys; a record written by another tool may lack one): its digest in hex.
pub const DIGEST_ID_PREFIX: &str = "digest:";

/// Which bins a scan of the rejected set reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectedBins {
    /// Everything, the body included.
    All,
    /// Everything but the body (it can be 1 MiB a record).
    Meta,
}

/// A rejected message's body as kept: text when it was UTF-8, else the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectedBody {
    Text(String),
    Bytes(Vec<u8>),
}

impl RejectedBody {
    /// The bytes as they would be published.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            RejectedBody::Text(s) => Bytes::copy_from_slice(s.as_bytes()),
            RejectedBody::Bytes(b) => Bytes::copy_from_slice(b),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            RejectedBody::Text(s) => s.len(),
            RejectedBody::Bytes(b) => b.len(),
        }
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One record of the rejected set (see [`super::RejectedMessage`] for how it is
/// written). Bins a record lacks (written by another tool) read as empty or zero.
#[derive(Debug, Clone)]
pub struct RejectedRecord {
    /// Where the record is: its digest, and its user key when stored.
    key: Key,
    /// The record key as listed and as `rejected show` takes it: `<nsq id>-<nsq_ts>`
    /// (or [`DIGEST_ID_PREFIX`] + the digest in hex when no key was stored).
    pub id: String,
    pub topic: String,
    pub channel: String,
    /// nsqd's timestamp of the message, ns since the Unix epoch.
    pub nsq_ts: i64,
    /// nsqd's delivery count when the message was kept.
    pub attempts: i64,
    pub reason: String,
    /// `None` when the body was not read ([`RejectedBins::Meta`]) or is missing.
    pub body: Option<RejectedBody>,
    /// The full length of the original body when `body` holds only its first
    /// [`super::MAX_KEPT_BODY`] bytes (the bin `body_len`, present only then). Such a
    /// body is not the message and is never published again.
    pub body_len: Option<u64>,
    /// How many times the record was written.
    pub generation: u32,
}

impl RejectedRecord {
    /// True when the kept body is only the start of the message's.
    pub fn is_cut(&self) -> bool {
        self.body_len.is_some()
    }

    /// An empty record under the string key `id`, for tests of the commands.
    #[cfg(test)]
    pub(crate) fn for_tests(id: &str) -> RejectedRecord {
        let key = Key::new("test", "rejected", Value::String(id.to_owned()))
            .expect("a string is a valid key");
        RejectedRecord::from_record(key, &Record::new(None, Default::default(), None, 1, 0))
    }

    fn from_record(key: Key, record: &Record) -> RejectedRecord {
        let text = |name: &str| match record.bins.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Nil) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let int = |name: &str| match record.bins.get(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        };
        let body = match record.bins.get("body") {
            Some(Value::String(s)) => Some(RejectedBody::Text(s.clone())),
            Some(Value::Blob(b)) => Some(RejectedBody::Bytes(b.clone())),
            _ => None,
        };
        RejectedRecord {
            id: id_of(&key),
            topic: text("topic"),
            channel: text("channel"),
            nsq_ts: int("nsq_ts").unwrap_or(0),
            attempts: int("attempts").unwrap_or(0),
            reason: text("reason"),
            body,
            body_len: int("body_len").map(|n| u64::try_from(n).unwrap_or(0)),
            generation: record.generation,
            key,
        }
    }
}

/// The id a record is listed under.
fn id_of(key: &Key) -> String {
    match key.user_key() {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Int(i)) => i.to_string(),
        _ => {
            let hex: String = key.digest().iter().map(|b| format!("{b:02x}")).collect();
            format!("{DIGEST_ID_PREFIX}{hex}")
        }
    }
}

/// A digest given as [`DIGEST_ID_PREFIX`] + 40 hex digits.
fn parse_digest_id(id: &str) -> Option<[u8; 20]> {
    let hex = id.strip_prefix(DIGEST_ID_PREFIX)?;
    if hex.len() != 40 || !hex.is_ascii() {
        return None;
    }
    let mut digest = [0u8; 20];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(digest)
}

fn is_not_found(e: &aerospike::Error) -> bool {
    e.server_result_code() == Some(ResultCode::KeyNotFoundError)
}

impl AerospikeSink {
    /// A policy for single reads: retried (a read changes nothing), bounded.
    fn read_policy(&self) -> ReadPolicy {
        let mut policy = ReadPolicy::default();
        policy.base_policy.total_timeout = millis(self.settings.timeout);
        policy
    }

    /// A policy for the batch reads and deletes of the operator's commands: both may be
    /// retried (deleting a record twice leaves it deleted), unlike the run's writes.
    fn admin_batch_policy(&self) -> BatchPolicy {
        let mut policy = BatchPolicy::default();
        policy.base_policy.total_timeout = millis(self.settings.timeout);
        policy.base_policy.socket_timeout = millis(self.settings.timeout);
        policy
    }

    /// The record of `set` under `key` (an Int or String user key); `None` when there
    /// is none.
    pub async fn get_record(
        &self,
        set: &str,
        key: Value,
    ) -> Result<Option<StoredRecordView>, StoreError> {
        let key = Key::new(self.settings.namespace.clone(), set.to_owned(), key)
            .map_err(|e| StoreError::Permanent(format!("bad key: {}", one_line(&e))))?;
        Ok(self
            .read_one(set, &key)
            .await?
            .map(|record| StoredRecordView::of(&record, Some(&key))))
    }

    /// One record, all its bins, bounded by `aerospike.timeout`; `None` when there is
    /// none.
    async fn read_one(&self, set: &str, key: &Key) -> Result<Option<Record>, StoreError> {
        let bound = self.settings.timeout + TIMEOUT_MARGIN;
        let policy = self.read_policy();
        let read = self.client.get(&policy, key, Bins::All);
        match tokio::time::timeout(bound, read).await {
            Ok(Ok(record)) => Ok(Some(record)),
            Ok(Err(e)) if is_not_found(&e) => Ok(None),
            Ok(Err(e)) => Err(StoreError::Transient(format!(
                "read of {set} failed: {}",
                one_line(&e)
            ))),
            Err(_) => Err(StoreError::Transient(format!(
                "read of {set} got no answer within {}",
                humantime::format_duration(bound)
            ))),
        }
    }

    /// The record of `rejected.set` listed as `id` (see [`RejectedRecord::id`]).
    pub async fn get_rejected(&self, id: &str) -> Result<Option<RejectedRecord>, StoreError> {
        let set = &self.settings.rejected_set;
        let key = match parse_digest_id(id) {
            Some(digest) => Key::with_digest(self.settings.namespace.clone(), set, None, digest),
            None => Key::new(
                self.settings.namespace.clone(),
                set.clone(),
                Value::String(id.to_owned()),
            )
            .map_err(|e| StoreError::Permanent(format!("bad key: {}", one_line(&e))))?,
        };
        let Some(record) = self.read_one(set, &key).await? else {
            return Ok(None);
        };
        // A digest read returns no user key; the record has it when it was sent.
        let key = match (&record.key, key.user_key()) {
            (Some(found), None) if found.user_key().is_some() => found.clone(),
            _ => key,
        };
        Ok(Some(RejectedRecord::from_record(key, &record)))
    }

    /// Scans `rejected.set`, handing each record to `visit` until it answers
    /// `Break` or the set is read. No bound on the whole scan (the set may be large):
    /// each record must come within `aerospike.timeout` (at least 10 s).
    pub async fn scan_rejected(
        &self,
        bins: RejectedBins,
        mut visit: impl FnMut(RejectedRecord) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let set = &self.settings.rejected_set;
        let idle = self.settings.timeout.max(MIN_LIST_TIMEOUT);
        let failed = |e: &aerospike::Error| {
            StoreError::Transient(format!("scan of {set} failed: {}", one_line(e)))
        };
        let silent = || {
            StoreError::Transient(format!(
                "scan of {set} got no answer within {}",
                humantime::format_duration(idle)
            ))
        };
        let mut policy = QueryPolicy::new();
        policy.base_policy.total_timeout = 0;
        policy.base_policy.socket_timeout = millis(idle);
        let selection = match bins {
            RejectedBins::All => Bins::All,
            RejectedBins::Meta => Bins::Some(META_BINS.iter().map(|&b| b.to_owned()).collect()),
        };
        let statement = Statement::new(self.settings.namespace.clone(), set.clone(), selection);
        let query = self
            .client
            .query(&policy, PartitionFilter::all(), statement);
        let recordset = tokio::time::timeout(idle, query)
            .await
            .map_err(|_| silent())?
            .map_err(|e| failed(&e))?;
        let mut stream = recordset.into_stream();
        let outcome = loop {
            let item = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => break Ok(()),
                Err(_) => break Err(silent()),
            };
            let record = match item {
                Ok(record) => record,
                Err(e) => break Err(failed(&e)),
            };
            let Some(key) = record.key.clone() else {
                continue;
            };
            if visit(RejectedRecord::from_record(key, &record)).is_break() {
                break Ok(());
            }
        };
        // Stop the scan's workers if it was cut short.
        stream.as_ref().close();
        outcome
    }

    /// Reads every bin of each record again (by its digest), in order: `Ok(None)` for
    /// one that is gone by now. A failure of the whole call is an `Err`.
    pub async fn read_rejected(
        &self,
        records: &[RejectedRecord],
    ) -> Result<Vec<Result<Option<RejectedRecord>, StoreError>>, StoreError> {
        let policy = BatchReadPolicy::default();
        let mut ops: Vec<BatchOperation> = records
            .iter()
            .map(|r| BatchOperation::read(&policy, r.key.clone(), Bins::All))
            .collect();
        self.run_batch(&mut ops, "read").await?;
        Ok(ops
            .iter_mut()
            .zip(records)
            .map(|(op, asked)| match op.result_code() {
                Some(ResultCode::Ok) => Ok(op
                    .take_record()
                    .map(|r| RejectedRecord::from_record(asked.key.clone(), &r))),
                Some(ResultCode::KeyNotFoundError) => Ok(None),
                _ => Err(super::write::row_outcome(op, false, false)
                    .err()
                    .unwrap_or_else(|| {
                        StoreError::Transient("Aerospike gave no answer for this record".into())
                    })),
            })
            .collect())
    }

    /// Deletes each record (by its digest), in order. A record already gone counts as
    /// deleted. A failure of the whole call is an `Err`.
    pub async fn delete_rejected(
        &self,
        records: &[&RejectedRecord],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let policy = BatchDeletePolicy::default();
        let mut ops: Vec<BatchOperation> = records
            .iter()
            .map(|r| BatchOperation::delete(&policy, r.key.clone()))
            .collect();
        self.run_batch(&mut ops, "delete").await?;
        Ok(ops
            .iter()
            .map(|op| match op.result_code() {
                Some(ResultCode::KeyNotFoundError) => Ok(()),
                _ => super::write::row_outcome(op, false, false).map(|_| ()),
            })
            .collect())
    }

    async fn run_batch(&self, ops: &mut [BatchOperation], what: &str) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let set = &self.settings.rejected_set;
        let bound = self.settings.timeout + TIMEOUT_MARGIN;
        let policy = self.admin_batch_policy();
        match tokio::time::timeout(bound, self.client.batch(&policy, ops)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Transient(format!(
                "batch {what} in {set} failed: {}",
                one_line(&e)
            ))),
            Err(_) => Err(StoreError::Transient(format!(
                "batch {what} in {set} got no answer within {}",
                humantime::format_duration(bound)
            ))),
        }
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

impl AerospikeSink {
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

    #[test]
    fn an_id_is_the_user_key_or_the_digest() {
        let key = Key::new("test", "rejected", Value::String("abc-1".into())).unwrap();
        assert_eq!(id_of(&key), "abc-1");
        let bare = Key::with_digest("test", "rejected", None, key.digest());
        let id = id_of(&bare);
        assert!(id.starts_with(DIGEST_ID_PREFIX), "{id}");
        assert_eq!(parse_digest_id(&id), Some(key.digest()));
        assert_eq!(parse_digest_id("digest:12"), None);
        assert_eq!(parse_digest_id("abc-1"), None);
    }

    #[test]
    fn a_record_reads_leniently() {
        let key = Key::new("test", "rejected", Value::String("k".into())).unwrap();
        let mut record = Record::new(None, Default::default(), None, 3, 0);
        record.bins.insert("body".into(), Value::Blob(vec![0xff]));
        record.bins.insert("nsq_ts".into(), Value::Int(42));
        record.bins.insert("body_len".into(), Value::Int(100_000));
        let r = RejectedRecord::from_record(key, &record);
        assert_eq!(r.body, Some(RejectedBody::Bytes(vec![0xff])));
        assert_eq!((r.nsq_ts, r.attempts, r.generation), (42, 0, 3));
        assert!(r.is_cut());
        assert_eq!(r.topic, "");
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
}
