//! Scans and queries of a set by partition, as the 3.0 client sends them (a query
//! with `PID_ARRAY` / `DIGEST_ARRAY` fields): one record message per live record of the
//! set in the requested partitions, then a LAST message.
//!
//! Secondary-index queries (an `INDEX_RANGE` field) get INDEX_NOT_FOUND, the server's
//! answer when no index exists — the stand-in never has one.
//!
//! A filter expression (field 43) is parsed when the scan starts — a bad one fails it
//! with PARAMETER_ERROR (`get_query_filter_exp` in the server's `query.c`) — and a
//! record it does not match is skipped, not counted against `MAX_RECORDS`
//! (`basic_query_job_reduce_cb`: "sample-max checks post-filters").

use std::time::SystemTime;

use super::exp::Filter;
use super::msg::{self, AsMsg, MsgError, ReplyHeader, bits, field, rc};
use super::store::{DIGEST_SIZE, N_PARTITIONS, Store, now_cl_ms, partition_id};

/// Record messages are flushed in proto frames of about this size, as the server
/// streams a scan in chunks rather than one huge frame.
pub const FRAME_TARGET_BYTES: usize = 128 * 1024;

/// The reply bodies (each to be framed separately) for a scan/query message.
pub fn execute(m: &AsMsg, store: &Store, now: SystemTime) -> Result<Vec<Vec<u8>>, MsgError> {
    let fail = |code: u8| Ok(vec![msg::last_reply(code)]);
    let Some(ns) = m
        .field(field::NAMESPACE)
        .and_then(|n| std::str::from_utf8(n).ok())
    else {
        return fail(rc::PARAMETER);
    };
    if !store.namespaces.contains_key(ns) {
        return fail(rc::NAMESPACE);
    }
    if m.field(field::INDEX_RANGE).is_some() {
        return fail(rc::INDEX_NOT_FOUND);
    }
    if m.field(field::UDF_OP).is_some() || m.info2 & bits::INFO2_WRITE != 0 {
        // Aggregations and background (write) queries need UDFs / ops on the server.
        return fail(rc::UNSUPPORTED_FEATURE);
    }
    let filter = match m.field(field::FILTER_EXP).map(Filter::parse) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "scan filter expression refused");
            return fail(e.result_code());
        }
    };
    let now_ms = now_cl_ms(now);
    let set = m
        .field(field::SET)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .filter(|s| !s.is_empty());

    // Which partitions, and where to resume inside partially scanned ones.
    let mut wanted = vec![false; usize::from(N_PARTITIONS)];
    let mut resume: Vec<Option<[u8; DIGEST_SIZE]>> = vec![None; usize::from(N_PARTITIONS)];
    let mut any_selection = false;
    if let Some(pids) = m.field(field::PID_ARRAY) {
        any_selection = true;
        for pid in pids.chunks_exact(2) {
            let pid = u16::from_le_bytes([pid[0], pid[1]]) & (N_PARTITIONS - 1);
            wanted[usize::from(pid)] = true;
        }
    }
    if let Some(digests) = m.field(field::DIGEST_ARRAY) {
        any_selection = true;
        for d in digests.chunks_exact(DIGEST_SIZE) {
            let mut digest = [0u8; DIGEST_SIZE];
            digest.copy_from_slice(d);
            let pid = usize::from(partition_id(&digest));
            wanted[pid] = true;
            resume[pid] = Some(digest);
        }
    }
    if !any_selection {
        // An old-style scan without partitions covers the whole namespace.
        wanted.iter_mut().for_each(|w| *w = true);
    }
    let max_records = m
        .field(field::MAX_RECORDS)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(u64::MAX, u64::from_be_bytes);
    let no_bin_data = m.info1 & bits::INFO1_NOBINDATA != 0;
    let bin_filter: Vec<&[u8]> = m
        .ops
        .iter()
        .filter(|o| o.op == msg::op::READ && !o.name.is_empty())
        .map(|o| o.name.as_slice())
        .collect();

    let mut frames = Vec::new();
    let mut out = Vec::new();
    let mut sent = 0u64;
    for (digest, r) in store.live_records(ns, set.as_deref(), now) {
        let pid = usize::from(partition_id(digest));
        if !wanted[pid] || resume[pid].is_some_and(|after| *digest <= after) {
            continue;
        }
        if filter
            .as_ref()
            .is_some_and(|f| !f.matches(&r.filter_context(digest, now_ms)))
        {
            continue;
        }
        if sent >= max_records {
            break;
        }
        sent += 1;
        let key_field: Vec<u8>;
        let mut fields: Vec<(u8, &[u8])> = vec![
            (field::NAMESPACE, ns.as_bytes()),
            (field::DIGEST, digest.as_slice()),
        ];
        if !r.set.is_empty() {
            fields.push((field::SET, r.set.as_bytes()));
        }
        if let Some(k) = &r.key {
            key_field = [&[k.ptype][..], &k.data].concat();
            fields.push((field::KEY, &key_field));
        }
        let ops: Vec<msg::ReplyOp<'_>> = if no_bin_data {
            Vec::new()
        } else {
            r.bins
                .iter()
                .filter(|(n, _)| bin_filter.is_empty() || bin_filter.contains(&n.as_bytes()))
                .map(|(n, p)| super::reply_op(n, Some(p)))
                .collect()
        };
        msg::write_msg(
            &mut out,
            &ReplyHeader {
                generation: r.generation,
                void_time: r.void_time,
                ..ReplyHeader::default()
            },
            &fields,
            &ops,
        );
        if out.len() >= FRAME_TARGET_BYTES {
            frames.push(std::mem::take(&mut out));
        }
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
    frames.push(out);
    Ok(frames)
}
