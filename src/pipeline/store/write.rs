//! The write path: a batch of records, each into its own set with its own TTL, by
//! `aerospike.write`, guarded by its version when it has one (the ordering guard: a
//! filter expression, `the version bin is absent or lower than this version`, evaluated
//! by the server against the stored record in the same batch write; a row it filters
//! out answers FILTERED_OUT, which is [`Written::Superseded`]). One outcome per row.

use aerospike::expressions::{self as exp, Expression};
use aerospike::{
    BatchOperation, BatchWritePolicy, Bin, Expiration, Key, RecordExistsAction, ResultCode, Value,
    operations,
};
use tracing::debug;

use super::{AerospikeSink, StoreError, TIMEOUT_MARGIN, Written, one_line};
use crate::pipeline::record::Record;

/// Result codes that mean "this record can never be written as it is".
const PERMANENT_CODES: &[ResultCode] = &[
    ResultCode::ParameterError,
    ResultCode::BinTypeError,
    ResultCode::RecordTooBig,
    ResultCode::BinNameTooLong,
    ResultCode::KeyMismatch,
    ResultCode::InvalidEncoding,
];

impl AerospikeSink {
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

    /// Writes one batch of rows, by `policy`, each into its own set or `default_set`.
    pub(super) async fn write_rows(
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
            // `put(&bin)` copies each bin's name and value: the crate has no write
            // operation that takes them (what one would save: Cargo.toml).
            let bin_ops: Vec<_> = row.bins.iter().map(operations::put).collect();
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
            // Boxed: the client's batch future is large, and held inline it would make
            // every batch task as large, copied whole when the task is spawned and when
            // it ends (memcpy under `Session::batch` and tokio's `set_stage` in a profile).
            let call = Box::pin(self.client.batch(&self.batch_policy, &mut ops));
            match tokio::time::timeout(bound, call).await {
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
}

/// One record to write.
pub(super) struct Row {
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
    pub(super) fn plain(key: Value, bins: Vec<Bin>) -> Row {
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
pub(super) fn row_outcome(
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
