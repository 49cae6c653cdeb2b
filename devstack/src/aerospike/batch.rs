//! Batch index commands: one AS_MSG carrying many record rows, answered with one
//! message per row (the row index in the transaction-ttl slot, its own result code)
//! and a final message flagged LAST.
//!
//! Row layout (the crate's `set_batch_operate`, the server's `as_batch_*`):
//! `index(4) digest(20) type(1)`; type REPEAT reuses the previous row's header;
//! otherwise INFO adds `info1 info2 info3`, INFO4 adds one byte, GEN a u16 generation,
//! TTL a u32 record TTL, then `n_fields(2) n_ops(2)` and fields and ops as in a normal
//! message. Rows without the INFO bit are the older read-only layout (`info1` only).
//!
//! Batch-level endings follow the server's `as/src/base/batch.c`: an unknown namespace
//! ends the batch with PARAMETER_ERROR; without the REPORT_ALL_ERRORS flag the first
//! row error other than NOT_FOUND/FILTERED_OUT ends it with that row's code
//! (`as_batch_reserve`).
//!
//! Filter expressions: a row's own field 43 is its filter (parsed when the row runs, a
//! bad one failing only that row); a row without one uses the batch message's field
//! 43, which the caller parses once before any row runs (`as_batch_queue_task`: a bad
//! one fails the whole batch). The two are never combined (`handle_meta_filter`).

use std::sync::Arc;
use std::time::SystemTime;

use super::exp::Filter;
use super::msg::{self, Cursor, Field, MsgError, Op, ReplyHeader, field, rc};
use super::store::{Command, FilterExp, Outcome, Store};

/// Row type bits (`BATCH_MSG_*`).
const BATCH_MSG_REPEAT: u8 = 0x1;
const BATCH_MSG_INFO: u8 = 0x2;
const BATCH_MSG_GEN: u8 = 0x4;
const BATCH_MSG_TTL: u8 = 0x8;
const BATCH_MSG_INFO4: u8 = 0x10;
/// Width of a record digest in a row.
const DIGEST_SIZE: usize = 20;

/// A row's header: everything except its index and digest.
#[derive(Debug, Clone, Default)]
struct RowHeader {
    info1: u8,
    info2: u8,
    info3: u8,
    generation: u32,
    record_ttl: u32,
    fields: Vec<Field>,
    ops: Vec<Op>,
}

/// Batch flag: report every row's error in its row and keep going (clients set it
/// for `respond_all_keys`, the default).
const REPORT_ALL_ERRORS: u8 = 0x4;
/// Batch flag: without REPORT_ALL_ERRORS, still send the buffer holding the failed
/// row before ending the batch with its code.
const REPORT_ERROR_REC: u8 = 0x8;
/// The server fills reply buffers of this size and sends each as one proto frame
/// (`BATCH_BLOCK_SIZE`).
const BATCH_BLOCK_SIZE: usize = 128 * 1024;
/// Row results that never end a batch early.
const BENIGN_ROW_CODES: [u8; 3] = [rc::OK, rc::NOT_FOUND, rc::FILTERED_OUT];

/// One row of a batch: its index in the request, digest and (possibly shared) header.
#[derive(Debug)]
struct Row {
    index: u32,
    digest: Vec<u8>,
    header: Arc<RowHeader>,
}

/// A parsed batch field. Parsing stops at the first malformed row (or a REPEAT with
/// nothing to repeat); the rows before it still run, then the batch ends with
/// PARAMETER_ERROR — the server also dispatches rows as it parses them.
#[derive(Debug)]
pub struct Batch {
    report_all: bool,
    report_rec: bool,
    rows: Vec<Row>,
    malformed: bool,
}

impl Batch {
    /// Parses a batch index field (41 or 42).
    pub fn parse(batch_field: &[u8]) -> Batch {
        let mut c = Cursor::new(batch_field);
        let mut batch = Batch {
            report_all: false,
            report_rec: false,
            rows: Vec::new(),
            malformed: false,
        };
        let (Ok(count), Ok(flags)) = (c.u32(), c.u8()) else {
            batch.malformed = true;
            return batch;
        };
        batch.report_all = flags & REPORT_ALL_ERRORS != 0;
        batch.report_rec = flags & REPORT_ERROR_REC != 0;
        if count == 0 {
            batch.malformed = true;
            return batch;
        }
        for _ in 0..count {
            match read_row(&mut c, batch.rows.last().map(|r| &r.header)) {
                Ok(row) => batch.rows.push(row),
                Err(e) => {
                    tracing::debug!(error = %e, "malformed batch row");
                    batch.malformed = true;
                    break;
                }
            }
        }
        batch
    }

    /// The set named by each row (`""` for none), for fault injection by set.
    pub fn sets(&self) -> impl Iterator<Item = &[u8]> {
        self.rows
            .iter()
            .map(|r| msg::find_field(&r.header.fields, field::SET).unwrap_or_default())
    }

    /// Each row's record digest.
    pub fn digests(&self) -> impl Iterator<Item = &[u8]> {
        self.rows.iter().map(|r| r.digest.as_slice())
    }

    /// Executes every row and returns the reply bodies, one proto frame each: blocks
    /// of row messages, then a trailer flagged LAST carrying the batch's result code
    /// (as the server's `as_batch_send_trailer`).
    ///
    /// `row_fault` may fail a row by its set and digest: the row answers that code without being
    /// executed, like a per-record failure on the server (`as_batch_add_error`), and
    /// counts as a row error for the REPORT_ALL_ERRORS rules.
    ///
    /// `batch_filter` is the batch message's parsed filter, for rows without their own.
    pub fn execute(
        &self,
        store: &mut Store,
        now: SystemTime,
        batch_filter: Option<&Filter>,
        row_fault: impl Fn(&[u8], &[u8]) -> Option<u8>,
    ) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let mut block = Vec::new();
        // The code that ends the batch early, and whether the block holding the failed
        // row is still sent.
        let mut batch_code = rc::OK;
        let mut send_failed_block = false;
        for row in &self.rows {
            let header = &row.header;
            let namespace = msg::find_field(&header.fields, field::NAMESPACE).unwrap_or_default();
            if !std::str::from_utf8(namespace).is_ok_and(|n| store.namespaces.contains_key(n)) {
                // The server stops dispatching at an unknown namespace and terminates
                // the batch with PARAMETER_ERROR (`as_batch_queue_task`), not per-row
                // codes.
                return vec![msg::last_reply(rc::PARAMETER)];
            }
            let set = msg::find_field(&header.fields, field::SET).unwrap_or_default();
            let outcome = match row_fault(set, &row.digest) {
                Some(code) => Outcome {
                    result_code: code,
                    ..Outcome::default()
                },
                None => store.execute(
                    &Command {
                        info1: header.info1,
                        info2: header.info2,
                        info3: header.info3,
                        generation: header.generation,
                        record_ttl: header.record_ttl,
                        namespace,
                        set,
                        digest: Some(&row.digest),
                        key: msg::find_field(&header.fields, field::KEY),
                        ops: &header.ops,
                        in_transaction: msg::find_field(&header.fields, field::MRT_ID).is_some(),
                        filter: msg::find_field(&header.fields, field::FILTER_EXP)
                            .map(FilterExp::Wire)
                            .or(batch_filter.map(FilterExp::Parsed)),
                    },
                    now,
                ),
            };
            let reply_ops: Vec<msg::ReplyOp<'_>> = outcome
                .bins
                .iter()
                .map(|(name, p)| super::reply_op(name, p.as_ref()))
                .collect();
            if batch_code == rc::OK || send_failed_block {
                msg::write_msg(
                    &mut block,
                    &ReplyHeader {
                        info3: 0,
                        result_code: outcome.result_code,
                        generation: outcome.generation,
                        void_time: outcome.void_time,
                        transaction_ttl: row.index,
                    },
                    &[],
                    &reply_ops,
                );
            }
            if !self.report_all
                && batch_code == rc::OK
                && !BENIGN_ROW_CODES.contains(&outcome.result_code)
            {
                batch_code = outcome.result_code;
                send_failed_block = self.report_rec;
                if !self.report_rec {
                    block.clear();
                }
            }
            if block.len() >= BATCH_BLOCK_SIZE {
                if batch_code == rc::OK || send_failed_block {
                    frames.push(std::mem::take(&mut block));
                }
                // After the failed row's block, nothing more is sent.
                send_failed_block = false;
                block.clear();
            }
        }
        if self.malformed {
            return vec![msg::last_reply(rc::PARAMETER)];
        }
        if !block.is_empty() && (batch_code == rc::OK || send_failed_block) {
            frames.push(block);
        }
        frames.push(msg::last_reply(batch_code));
        frames
    }
}

/// Executes every row of a batch field (no fault injection).
#[cfg(test)]
fn execute(batch_field: &[u8], store: &mut Store, now: SystemTime) -> Vec<Vec<u8>> {
    Batch::parse(batch_field).execute(store, now, None, |_, _| None)
}

/// Reads one row; a REPEAT row shares `prev`'s header.
fn read_row(c: &mut Cursor<'_>, prev: Option<&Arc<RowHeader>>) -> Result<Row, MsgError> {
    let index = c.u32()?;
    let digest = c.take(DIGEST_SIZE)?.to_vec();
    let rtype = c.u8()?;
    let header = if rtype & BATCH_MSG_REPEAT != 0 {
        // A repeat on the first row is garbage; the server stops there.
        Arc::clone(prev.ok_or(MsgError::RepeatWithoutRow)?)
    } else {
        Arc::new(read_row_header(c, rtype)?)
    };
    Ok(Row {
        index,
        digest,
        header,
    })
}

fn read_row_header(c: &mut Cursor<'_>, rtype: u8) -> Result<RowHeader, MsgError> {
    let mut h = RowHeader::default();
    if rtype & BATCH_MSG_INFO != 0 {
        h.info1 = c.u8()?;
        h.info2 = c.u8()?;
        h.info3 = c.u8()?;
    } else {
        h.info1 = c.u8()?;
    }
    if rtype & BATCH_MSG_INFO4 != 0 {
        let _info4 = c.u8()?;
    }
    if rtype & BATCH_MSG_GEN != 0 {
        h.generation = u32::from(c.u16()?);
    }
    if rtype & BATCH_MSG_TTL != 0 {
        h.record_ttl = c.u32()?;
    }
    let n_fields = c.u16()?;
    let n_ops = c.u16()?;
    let (fields, ops) = msg::read_fields_ops(c, n_fields, n_ops)?;
    h.fields = fields;
    h.ops = ops;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aerospike::msg::bits;
    use crate::aerospike::store::StoreConfig;

    fn store() -> Store {
        Store::new(
            StoreConfig {
                max_record_size: 1 << 20,
                default_ttl: 0,
                allow_ttl: true,
            },
            &["test".to_owned()],
        )
    }

    /// A full write row (one int bin) followed by a REPEAT row for another digest.
    fn write_then_repeat(ns: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&2u32.to_be_bytes());
        b.push(REPORT_ALL_ERRORS);
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&[1u8; DIGEST_SIZE]);
        b.push(BATCH_MSG_INFO | BATCH_MSG_GEN | BATCH_MSG_TTL);
        b.extend_from_slice(&[0, bits::INFO2_WRITE, 0]);
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(&2u16.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        for (t, d) in [(field::NAMESPACE, ns), (field::SET, b"s".as_slice())] {
            b.extend_from_slice(&(d.len() as u32 + 1).to_be_bytes());
            b.push(t);
            b.extend_from_slice(d);
        }
        b.extend_from_slice(&(4 + 1 + 8u32).to_be_bytes());
        b.extend_from_slice(&[msg::op::WRITE, 1, 0, 1, b'a']);
        b.extend_from_slice(&7i64.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&[2u8; DIGEST_SIZE]);
        b.push(BATCH_MSG_REPEAT);
        b
    }

    fn codes(frames: &[Vec<u8>]) -> Vec<(u8, u32, bool)> {
        let mut out = Vec::new();
        for f in frames {
            let mut c = Cursor::new(f);
            while !c.is_empty() {
                let h = c.take(msg::MSG_HEADER_SIZE).unwrap();
                let n_fields = u16::from_be_bytes([h[18], h[19]]);
                let n_ops = u16::from_be_bytes([h[20], h[21]]);
                msg::read_fields_ops(&mut c, n_fields, n_ops).unwrap();
                let index = u32::from_be_bytes([h[14], h[15], h[16], h[17]]);
                out.push((h[5], index, h[3] & bits::INFO3_LAST != 0));
            }
        }
        out
    }

    #[test]
    fn repeat_rows_reuse_the_previous_header() {
        let mut s = store();
        let frames = execute(&write_then_repeat(b"test"), &mut s, SystemTime::now());
        assert_eq!(
            codes(&frames),
            vec![(rc::OK, 0, false), (rc::OK, 1, false), (rc::OK, 0, true)]
        );
        assert_eq!(s.namespaces["test"].records.len(), 2);
    }

    #[test]
    fn unknown_namespace_ends_the_batch_with_parameter_error() {
        let mut s = store();
        let frames = execute(&write_then_repeat(b"nope"), &mut s, SystemTime::now());
        assert_eq!(codes(&frames), vec![(rc::PARAMETER, 0, true)]);
    }
}
