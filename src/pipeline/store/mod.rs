//! The Aerospike sink: batch writes with one outcome per record, the rejected set, and
//! the operator's reads.
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
//!
//! # Layout
//! - this file: the settings, [`StoreError`], the sink itself (connect, close).
//! - `write`: the write path: a batch of records (per-record set, TTL, the version
//!   guard), one outcome per row.
//! - `rejected`: the rejected-record encoding ([`RejectedMessage`]) and its writes.
//! - `admin`: the operator's reads, scans and deletes (`records`, `rejected ...`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aerospike::{
    AuthMode, BatchPolicy, BatchWritePolicy, Client, ClientPolicy, Expiration, RecordExistsAction,
};
use tracing::debug;

mod admin;
mod rejected;
mod write;

pub use admin::{DIGEST_ID_PREFIX, RejectedBins, RejectedBody, RejectedRecord, StoredRecordView};
pub use rejected::{MAX_KEPT_BODY, RejectedMessage};

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
    /// Connects to the cluster (bounded: at least `MIN_CONNECT_TIMEOUT`, 5 s).
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

    /// Closes the client (bounded; a failure to say goodbye is only logged).
    pub async fn close(self) {
        match tokio::time::timeout(CLOSE_TIMEOUT, self.client.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => debug!(error = %one_line(&e), "closing the Aerospike client"),
            Err(_) => debug!("closing the Aerospike client timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
