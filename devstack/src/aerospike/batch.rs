//! Batch index commands: one AS_MSG carrying many record rows, answered with one
//! message per row (the row index in the transaction-ttl slot, its own result code)
//! and a final message flagged LAST.
//!
//! Row layout (the crate's `set_batch_operate`, the server's `as_batch_*`):
//! `index(4) digest(20) type(1)`; type REPEAT reuses the previous row's header;
//! otherwise INFO adds `info1 info2 info3`, INFO4 adds one byte, GEN a u16 generation,
//! TTL a u32 record TTL, then `n_fields(2) n_ops(2)` and fields and ops as in a normal
//! message. Rows without the INFO bit are the older read-only layout (`info1` only).

use std::time::SystemTime;

use super::msg::{self, Cursor, Field, MsgError, Op, ReplyHeader, bits, field};
use super::store::{Command, Store};

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

/// Executes every row of a batch field and returns the reply messages (no proto
/// header), ending with the LAST message.
pub fn execute(
    batch_field: &[u8],
    store: &mut Store,
    now: SystemTime,
) -> Result<Vec<u8>, MsgError> {
    let mut c = Cursor::new(batch_field);
    let count = c.u32()?;
    let _flags = c.u8()?;
    let mut prev: Option<RowHeader> = None;
    let mut out = Vec::new();
    for _ in 0..count {
        let index = c.u32()?;
        let digest = c.take(DIGEST_SIZE)?;
        let rtype = c.u8()?;
        let header = if rtype & BATCH_MSG_REPEAT != 0 {
            // A repeated header never carries a per-row user key (the client only
            // repeats identical headers), so reusing the fields is exact.
            prev.clone().ok_or(MsgError::Truncated {
                needed: 0,
                offset: 0,
                len: 0,
            })?
        } else {
            read_row_header(&mut c, rtype)?
        };
        let cmd = Command {
            info1: header.info1,
            info2: header.info2,
            info3: header.info3,
            generation: header.generation,
            record_ttl: header.record_ttl,
            namespace: msg::find_field(&header.fields, field::NAMESPACE).unwrap_or_default(),
            set: msg::find_field(&header.fields, field::SET).unwrap_or_default(),
            digest: Some(digest),
            key: msg::find_field(&header.fields, field::KEY),
            ops: &header.ops,
        };
        let outcome = store.execute(&cmd, now);
        let reply_ops: Vec<msg::ReplyOp<'_>> = outcome
            .bins
            .iter()
            .map(|(name, p)| super::reply_op(name, p.as_ref()))
            .collect();
        msg::write_msg(
            &mut out,
            &ReplyHeader {
                info3: 0,
                result_code: outcome.result_code,
                generation: outcome.generation,
                void_time: outcome.void_time,
                transaction_ttl: index,
            },
            &[],
            &reply_ops,
        );
        prev = Some(header);
    }
    msg::write_msg(
        &mut out,
        &ReplyHeader {
            info3: bits::INFO3_LAST,
            ..ReplyHeader::default()
        },
        &[],
        &[],
    );
    Ok(out)
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
