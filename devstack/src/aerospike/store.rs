//! Namespaces, sets and records, and the single-record command semantics the server
//! applies to them (existence actions, generation checks, TTL, bin ops).
//!
//! One place executes a record command so that single commands and batch rows behave
//! identically, as they do on the real server (batch rows are sub-transactions there).
//!
//! Why one file of ~750 lines (a sixth of it tests): that single execution path — the
//! existence actions, generation checks, TTL and bin operations of one record — is
//! what this rule keeps together.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::exp::{Filter, RecordContext, RecordKey};
use super::msg::{Op, bits, op, rc};
use super::particle::{Particle, ptype};

pub use super::msg::{BIN_NAME_MAX_LEN, CITRUSLEAF_EPOCH_UNIX_SECS, DIGEST_SIZE};
/// Record TTL meaning "never expire".
pub const TTL_NEVER_EXPIRE: u32 = u32::MAX;
/// Record TTL meaning "do not change the record's TTL" (server 5.1+).
pub const TTL_DONT_UPDATE: u32 = u32::MAX - 1;
/// The server rejects TTLs above ten years (`MAX_ALLOWED_TTL`).
pub const MAX_ALLOWED_TTL: u32 = 10 * 365 * 24 * 60 * 60;
/// Partitions per namespace.
pub const N_PARTITIONS: u16 = 4096;
/// Generations are 16 bits on the server and wrap to 1, skipping 0.
const MAX_GENERATION: u32 = 0xFFFF;
/// `sizeof(as_flat_record)`: magic, flags, digest, last-update time, generation.
const FLAT_RECORD_HEADER: usize = 35;
/// The end mark the storage engines count against the limit.
const FLAT_END_MARK: usize = 4;
/// A stored void time, present when the record expires.
const FLAT_VOID_TIME: usize = 4;
/// Width of an integer user key's value.
const INTEGER_SIZE: usize = 8;

/// Store-wide limits and defaults.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Records larger than this fail with RECORD_TOO_BIG (13).
    pub max_record_size: usize,
    /// TTL applied when a write says 0 ("namespace default"); 0 = never expire.
    pub default_ttl: u32,
    /// Whether non-zero TTLs are accepted (false mimics `nsup-period 0` without
    /// `allow-ttl-without-nsup`: the server answers FORBIDDEN (22)).
    pub allow_ttl: bool,
}

/// A user key as sent with `send_key`: its particle type and bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct UserKey {
    pub ptype: u8,
    pub data: Vec<u8>,
}

/// A stored record.
#[derive(Debug, Clone)]
pub struct Record {
    pub set: String,
    pub key: Option<UserKey>,
    /// Bins in the order they were first written, as the server keeps them.
    pub bins: Vec<(String, Particle)>,
    pub generation: u32,
    /// Seconds since the Citrusleaf epoch; 0 = never expires.
    pub void_time: u32,
    /// When the record was last written, in milliseconds since the Citrusleaf epoch
    /// (the server's `last_update_time`, read by filter expressions).
    pub last_update_ms: u64,
}

impl Record {
    fn bin(&self, name: &str) -> Option<&Particle> {
        self.bins.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    /// What a filter expression sees of the record.
    pub fn filter_context<'a>(
        &'a self,
        digest: &'a [u8; DIGEST_SIZE],
        now_ms: u64,
    ) -> RecordContext<'a> {
        RecordContext {
            digest,
            set: &self.set,
            key: self.key.as_ref().map(|k| RecordKey {
                ptype: k.ptype,
                data: &k.data,
            }),
            bins: &self.bins,
            void_time: self.void_time,
            last_update_ms: self.last_update_ms,
            flat_size: self.flat_size(),
            now_ms,
        }
    }

    /// The size the server's storage would give the record (`as_flat_record_size`
    /// plus the end mark), which is what `max-record-size` limits.
    fn flat_size(&self) -> usize {
        let mut size = FLAT_RECORD_HEADER + FLAT_END_MARK;
        if self.void_time != 0 {
            size += FLAT_VOID_TIME;
        }
        if !self.set.is_empty() {
            size += 1 + self.set.len();
        }
        if let Some(k) = &self.key {
            let key_size = 1 + k.data.len();
            size += uintvar_size(key_size) + key_size;
        }
        if !self.bins.is_empty() {
            size += uintvar_size(self.bins.len());
        }
        size + self
            .bins
            .iter()
            .map(|(n, p)| 1 + n.len() + p.flat_size())
            .sum::<usize>()
    }
}

/// Bytes of a LEB128-style unsigned varint.
fn uintvar_size(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// One namespace: records by digest (ordered, so scans resume by digest).
#[derive(Debug, Default)]
pub struct Namespace {
    pub records: BTreeMap<[u8; DIGEST_SIZE], Record>,
}

/// All namespaces of the node.
#[derive(Debug)]
pub struct Store {
    pub config: StoreConfig,
    pub namespaces: BTreeMap<String, Namespace>,
}

/// A command's filter expression: the wire bytes of its own field 43, parsed only if
/// the record it addresses exists (as the server parses it in `handle_meta_filter`), or
/// the batch message's filter, parsed once for all rows (`as_batch_queue_task`).
#[derive(Debug, Clone, Copy)]
pub enum FilterExp<'a> {
    Wire(&'a [u8]),
    Parsed(&'a Filter),
}

/// A record command, from a single AS_MSG or a batch row.
#[derive(Debug, Clone, Copy)]
pub struct Command<'a> {
    pub info1: u8,
    pub info2: u8,
    pub info3: u8,
    pub generation: u32,
    pub record_ttl: u32,
    pub namespace: &'a [u8],
    pub set: &'a [u8],
    pub digest: Option<&'a [u8]>,
    pub key: Option<&'a [u8]>,
    pub ops: &'a [Op],
    /// The message carries a multi-record-transaction id (field MRT_ID).
    pub in_transaction: bool,
    /// The filter expression that must hold for an existing record.
    pub filter: Option<FilterExp<'a>>,
}

/// What a record command produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub result_code: u8,
    pub generation: u32,
    pub void_time: u32,
    /// Bins to return: name and value (`None` = NULL, for RESPOND_ALL_OPS).
    pub bins: Vec<(String, Option<Particle>)>,
}

impl Outcome {
    fn error(code: u8) -> Outcome {
        Outcome {
            result_code: code,
            ..Outcome::default()
        }
    }
}

/// Seconds since the Citrusleaf epoch.
pub fn now_cl(now: SystemTime) -> u32 {
    let unix = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(unix.saturating_sub(CITRUSLEAF_EPOCH_UNIX_SECS)).unwrap_or(u32::MAX)
}

/// Milliseconds since the Citrusleaf epoch.
pub fn now_cl_ms(now: SystemTime) -> u64 {
    let unix_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    unix_ms.saturating_sub(CITRUSLEAF_EPOCH_UNIX_SECS * 1000)
}

/// Applies a command's filter to the existing, live record it addresses
/// (`handle_meta_filter` then `read_and_filter_bins` in the server's `rw_utils.c`): a
/// filter that does not hold — false or unknown — is FILTERED_OUT; one that does not
/// parse is PARAMETER_ERROR, or UNSUPPORTED_FEATURE for ops the stand-in does not run.
fn check_filter(
    cmd: &Command<'_>,
    digest: &[u8; DIGEST_SIZE],
    record: &Record,
    now_ms: u64,
) -> Result<(), u8> {
    let parsed;
    let filter = match cmd.filter {
        None => return Ok(()),
        Some(FilterExp::Parsed(f)) => f,
        Some(FilterExp::Wire(bytes)) => {
            parsed = Filter::parse(bytes).map_err(|e| {
                tracing::debug!(error = %e, "filter expression refused");
                e.result_code()
            })?;
            &parsed
        }
    };
    if filter.matches(&record.filter_context(digest, now_ms)) {
        Ok(())
    } else {
        Err(rc::FILTERED_OUT)
    }
}

/// The partition a digest falls in (the same rule as the clients': the low 12 bits of
/// the first two bytes, little-endian).
pub fn partition_id(digest: &[u8; DIGEST_SIZE]) -> u16 {
    u16::from_le_bytes([digest[0], digest[1]]) & (N_PARTITIONS - 1)
}

fn is_live(r: &Record, now: u32) -> bool {
    r.void_time == 0 || r.void_time > now
}

impl Store {
    pub fn new(config: StoreConfig, namespaces: &[String]) -> Store {
        Store {
            config,
            namespaces: namespaces
                .iter()
                .map(|n| (n.clone(), Namespace::default()))
                .collect(),
        }
    }

    /// Live records of a set (all sets when `set` is None), in digest order.
    pub fn live_records<'s>(
        &'s self,
        namespace: &str,
        set: Option<&'s str>,
        now: SystemTime,
    ) -> impl Iterator<Item = (&'s [u8; DIGEST_SIZE], &'s Record)> + 's {
        let now = now_cl(now);
        self.namespaces
            .get(namespace)
            .into_iter()
            .flat_map(|ns| ns.records.iter())
            .filter(move |(_, r)| is_live(r, now) && set.is_none_or(|s| r.set == s))
    }

    /// Removes every record of a set (or of the namespace when `set` is None).
    pub fn truncate(&mut self, namespace: &str, set: Option<&str>) -> bool {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return false;
        };
        ns.records.retain(|_, r| set.is_some_and(|s| r.set != s));
        true
    }

    /// Executes one record command.
    pub fn execute(&mut self, cmd: &Command<'_>, now: SystemTime) -> Outcome {
        let now_ms = now_cl_ms(now);
        let now = now_cl(now);
        let config = self.config.clone();
        let Some(ns) = std::str::from_utf8(cmd.namespace)
            .ok()
            .and_then(|n| self.namespaces.get_mut(n))
        else {
            return Outcome::error(rc::NAMESPACE);
        };
        if cmd.in_transaction {
            // Transactions need strong consistency, an Enterprise feature
            // (`mrt_allow_read`/`mrt_allow_write` in `mrt_utils_ce.c`).
            return Outcome::error(rc::ENTERPRISE_ONLY);
        }
        let Some(digest) = cmd
            .digest
            .and_then(|d| <[u8; DIGEST_SIZE]>::try_from(d).ok())
        else {
            return Outcome::error(rc::PARAMETER);
        };
        // An expired record is gone as far as every command can tell.
        if ns.records.get(&digest).is_some_and(|r| !is_live(r, now)) {
            ns.records.remove(&digest);
        }
        let clock = Clock {
            secs: now,
            ms: now_ms,
        };
        if cmd.info2 & bits::INFO2_WRITE != 0 {
            write(&config, ns, digest, cmd, clock)
        } else if cmd.info1 & bits::INFO1_READ != 0 {
            read(&digest, ns.records.get(&digest), cmd, now_ms)
        } else {
            Outcome::error(rc::PARAMETER)
        }
    }
}

/// Now, as the record commands need it.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// Seconds since the Citrusleaf epoch (void times).
    secs: u32,
    /// Milliseconds since the Citrusleaf epoch (last-update times).
    ms: u64,
}

fn read(
    digest: &[u8; DIGEST_SIZE],
    record: Option<&Record>,
    cmd: &Command<'_>,
    now_ms: u64,
) -> Outcome {
    let Some(r) = record else {
        return Outcome::error(rc::NOT_FOUND);
    };
    // Errors still carry the record's metadata, as the server's replies do.
    let fail = |code| Outcome {
        result_code: code,
        generation: r.generation,
        void_time: r.void_time,
        bins: Vec::new(),
    };
    if !cmd.set.is_empty() && cmd.set != r.set.as_bytes() {
        return fail(rc::PARAMETER);
    }
    // `read_local`: the filter, then the key check.
    if let Err(code) = check_filter(cmd, digest, r, now_ms) {
        return fail(code);
    }
    if let (Some(stored), Some(sent)) = (&r.key, cmd.key)
        && !key_matches(stored, sent)
    {
        return fail(rc::KEY_MISMATCH);
    }
    let mut out = fail(rc::OK);
    if cmd.info1 & bits::INFO1_NOBINDATA != 0 {
        return out;
    }
    if cmd.info1 & bits::INFO1_GET_ALL != 0 {
        out.bins = all_bins(r);
        return out;
    }
    if cmd.ops.is_empty() {
        return fail(rc::PARAMETER);
    }
    let respond_all = cmd.info2 & bits::INFO2_RESPOND_ALL_OPS != 0;
    for o in cmd.ops {
        if o.name.len() > BIN_NAME_MAX_LEN {
            return fail(rc::BIN_NAME);
        }
        match o.op {
            op::READ => {
                let name = String::from_utf8_lossy(&o.name).into_owned();
                match r.bin(&name) {
                    Some(p) => out.bins.push((name, Some(p.clone()))),
                    None if respond_all => out.bins.push((name, None)),
                    None => {}
                }
            }
            // Reads of CDT/bit/HLL/expression results need the server's engines.
            _ => return fail(rc::UNSUPPORTED_FEATURE),
        }
    }
    out
}

fn all_bins(r: &Record) -> Vec<(String, Option<Particle>)> {
    r.bins
        .iter()
        .map(|(n, p)| (n.clone(), Some(p.clone())))
        .collect()
}

fn next_generation(g: u32) -> u32 {
    if g >= MAX_GENERATION { 1 } else { g + 1 }
}

/// The void time a write gives a record, or the error the server answers
/// (`is_valid_ttl`, `is_ttl_disallowed` in the server's `rw_utils.h`).
fn new_void_time(
    config: &StoreConfig,
    record_ttl: u32,
    existing: Option<u32>,
    now: u32,
) -> Result<u32, u8> {
    let ttl = match record_ttl {
        TTL_NEVER_EXPIRE => return Ok(0),
        TTL_DONT_UPDATE => match existing {
            Some(v) => return Ok(v),
            None => config.default_ttl,
        },
        t if t > MAX_ALLOWED_TTL => return Err(rc::PARAMETER),
        0 => config.default_ttl,
        t => t,
    };
    if ttl != 0 && !config.allow_ttl {
        return Err(rc::FORBIDDEN);
    }
    Ok(if ttl == 0 { 0 } else { now.saturating_add(ttl) })
}

/// Message-level checks the server makes before touching the record
/// (`write_master_policies`): op count, bin names, replace compatibility, read flags.
fn check_write_policies(cmd: &Command<'_>) -> Result<(), u8> {
    if cmd.ops.is_empty() {
        return Err(rc::PARAMETER);
    }
    let replace = cmd.info3 & (bits::INFO3_CREATE_OR_REPLACE | bits::INFO3_REPLACE_ONLY) != 0;
    let get_all = cmd.info1 & bits::INFO1_GET_ALL != 0;
    let respond_all = cmd.info2 & bits::INFO2_RESPOND_ALL_OPS != 0;
    let mut has_read = false;
    let mut has_read_all = false;
    let mut has_response_op = false;
    for o in cmd.ops {
        if o.op == op::TOUCH {
            if replace {
                return Err(rc::PARAMETER);
            }
            continue;
        }
        if o.name.len() > BIN_NAME_MAX_LEN || o.name.contains(&0) {
            return Err(rc::BIN_NAME);
        }
        let is_read_all = o.op == op::READ && o.name.is_empty() && get_all;
        match o.op {
            op::WRITE if o.ptype == ptype::NULL && replace => return Err(rc::PARAMETER),
            op::INCR
            | op::APPEND
            | op::PREPEND
            | op::DELETE_ALL
            | op::CDT_MODIFY
            | op::BITS_MODIFY
            | op::HLL_MODIFY
                if replace =>
            {
                return Err(rc::PARAMETER);
            }
            op::READ if is_read_all => {
                if respond_all || has_read_all {
                    return Err(rc::PARAMETER);
                }
                has_read = true;
                has_read_all = true;
            }
            op::READ | op::CDT_READ | op::BITS_READ | op::HLL_READ | op::EXP_READ => {
                has_read = true;
                has_response_op = true;
            }
            op::CDT_MODIFY | op::HLL_MODIFY => has_response_op = true,
            _ => {}
        }
    }
    if has_read && cmd.info1 & bits::INFO1_READ == 0 {
        return Err(rc::PARAMETER);
    }
    if (has_read_all && has_response_op) || (get_all && !has_read_all) {
        return Err(rc::PARAMETER);
    }
    Ok(())
}

fn write(
    config: &StoreConfig,
    ns: &mut Namespace,
    digest: [u8; DIGEST_SIZE],
    cmd: &Command<'_>,
    clock: Clock,
) -> Outcome {
    let now = clock.secs;
    let is_delete = cmd.info2 & bits::INFO2_DELETE != 0;
    if !is_delete && let Err(code) = check_write_policies(cmd) {
        return Outcome::error(code);
    }
    let existing = ns.records.get(&digest);
    let exists = existing.is_some();
    // Failures after the record lookup report its generation and void time.
    let fail = |code| Outcome {
        result_code: code,
        generation: existing.map_or(0, |r| r.generation),
        void_time: existing.map_or(0, |r| r.void_time),
        bins: Vec::new(),
    };

    // Order of checks as in the server's write_master/delete_master.
    let must_not_create = is_delete
        || cmd.info3 & (bits::INFO3_UPDATE_ONLY | bits::INFO3_REPLACE_ONLY) != 0
        || cmd.ops.iter().any(|o| o.op == op::TOUCH);
    if must_not_create && !exists {
        return Outcome::error(rc::NOT_FOUND);
    }
    if cmd.info2 & bits::INFO2_CREATE_ONLY != 0 && exists {
        return fail(rc::RECORD_EXISTS);
    }
    // A record being created has generation 0 for these checks.
    let current_generation = existing.map_or(0, |r| r.generation);
    if cmd.info2 & bits::INFO2_GENERATION != 0 && cmd.generation != current_generation {
        return fail(rc::GENERATION);
    }
    if cmd.info2 & bits::INFO2_GENERATION_GT != 0 && cmd.generation <= current_generation {
        return fail(rc::GENERATION);
    }
    if let Some(r) = existing {
        if r.set.as_bytes() != cmd.set && !(is_delete && cmd.set.is_empty()) {
            return fail(rc::PARAMETER);
        }
        // Only an existing record is filtered; a write that creates one never parses
        // the filter (`write_master`: `! record_created && as_record_is_live(r)`;
        // `drop_master` runs only on a found record). Then the key check.
        if let Err(code) = check_filter(cmd, &digest, r, clock.ms) {
            return fail(code);
        }
        if let (Some(stored), Some(sent)) = (&r.key, cmd.key)
            && !key_matches(stored, sent)
        {
            return fail(rc::KEY_MISMATCH);
        }
    }

    if is_delete {
        ns.records.remove(&digest);
        return Outcome::default();
    }

    let new_key = match (existing.and_then(|r| r.key.clone()), cmd.key) {
        (Some(k), _) => Some(k),
        (None, Some(sent)) => match parse_user_key(sent) {
            Some(k) => Some(k),
            // The server refuses a key it cannot store (`get_msg_key`).
            None => return fail(rc::UNSUPPORTED_FEATURE),
        },
        (None, None) => None,
    };
    let void_time = match new_void_time(config, cmd.record_ttl, existing.map(|r| r.void_time), now)
    {
        Ok(v) => v,
        Err(code) => return fail(code),
    };

    let replace = cmd.info3 & (bits::INFO3_CREATE_OR_REPLACE | bits::INFO3_REPLACE_ONLY) != 0;
    let mut rec = match existing {
        Some(r) => r.clone(),
        None => Record {
            set: String::from_utf8_lossy(cmd.set).into_owned(),
            key: None,
            bins: Vec::new(),
            generation: 0,
            void_time: 0,
            last_update_ms: 0,
        },
    };
    rec.key = new_key;
    if replace {
        rec.bins.clear();
    }

    let respond_all = cmd.info2 & bits::INFO2_RESPOND_ALL_OPS != 0;
    let mut replies = Vec::new();
    for o in cmd.ops {
        // Names were validated above; the server treats them as bytes.
        let name = String::from_utf8_lossy(&o.name).into_owned();
        match o.op {
            op::TOUCH => continue,
            op::READ if o.name.is_empty() => {
                replies.extend(all_bins(&rec));
                continue;
            }
            op::READ => {
                match rec.bin(&name) {
                    Some(p) => replies.push((name, Some(p.clone()))),
                    None if respond_all => replies.push((name, None)),
                    None => {}
                }
                continue;
            }
            op::DELETE_ALL => rec.bins.clear(),
            op::WRITE | op::INCR | op::APPEND | op::PREPEND => {
                let value = match Particle::decode(o.ptype, &o.data) {
                    Ok(v) => v,
                    Err(_) => return fail(rc::PARAMETER),
                };
                if let Err(code) = apply_bin_op(&mut rec, o.op, name.clone(), value) {
                    return fail(code);
                }
            }
            // CDT, bit, HLL and expression ops need the server's engines; the stand-in
            // refuses them rather than pretend (see the README).
            op::CDT_READ
            | op::CDT_MODIFY
            | op::BITS_READ
            | op::BITS_MODIFY
            | op::HLL_READ
            | op::HLL_MODIFY
            | op::EXP_READ
            | op::EXP_MODIFY => return fail(rc::UNSUPPORTED_FEATURE),
            _ => return fail(rc::PARAMETER),
        }
        if respond_all {
            replies.push((name, None));
        }
    }

    if rec.bins.is_empty() {
        // The write removed every bin: the record is deleted — or, when there was
        // nothing before, the server answers NOT_FOUND and creates nothing.
        if !exists {
            return Outcome::error(rc::NOT_FOUND);
        }
        ns.records.remove(&digest);
        return Outcome {
            result_code: rc::OK,
            generation: 0,
            void_time: 0,
            bins: replies,
        };
    }
    rec.void_time = void_time;
    if rec.flat_size() > config.max_record_size {
        return fail(rc::RECORD_TOO_BIG);
    }
    rec.generation = next_generation(rec.generation);
    rec.last_update_ms = clock.ms;
    let out = Outcome {
        result_code: rc::OK,
        generation: rec.generation,
        void_time: rec.void_time,
        bins: replies,
    };
    ns.records.insert(digest, rec);
    out
}

/// A user key field: particle type byte then value; integers must be 8 bytes.
fn parse_user_key(sent: &[u8]) -> Option<UserKey> {
    let (&kt, data) = sent.split_first()?;
    if kt == ptype::INTEGER && data.len() != INTEGER_SIZE {
        return None;
    }
    Some(UserKey {
        ptype: kt,
        data: data.to_vec(),
    })
}

fn key_matches(stored: &UserKey, sent: &[u8]) -> bool {
    sent.split_first()
        .is_some_and(|(&t, d)| t == stored.ptype && d == stored.data.as_slice())
}

/// Applies WRITE/INCR/APPEND/PREPEND to one bin (`as_bin_particle_*_from_client`).
fn apply_bin_op(
    rec: &mut Record,
    opcode: u8,
    name: String,
    value: Option<Particle>,
) -> Result<(), u8> {
    let pos = rec.bins.iter().position(|(n, _)| *n == name);
    let Some(value) = value else {
        // NULL: WRITE deletes the bin; modify ops have no NULL particle to apply.
        if opcode != op::WRITE {
            return Err(rc::PARAMETER);
        }
        if let Some(i) = pos {
            rec.bins.remove(i);
        }
        return Ok(());
    };
    let new = match pos.map(|i| &rec.bins[i].1) {
        // WRITE replaces; every modify op on a missing bin creates it from the value,
        // whatever its type, as the server does.
        old if opcode == op::WRITE || old.is_none() => value,
        Some(old) => match (opcode, old, value) {
            (op::INCR, Particle::Int(a), Particle::Int(b)) => Particle::Int(a.wrapping_add(b)),
            (op::INCR, Particle::Float(a), Particle::Float(b)) => Particle::Float(a + b),
            (op::APPEND, Particle::Str(a), Particle::Str(b)) => {
                Particle::Str([&a[..], &b].concat())
            }
            (op::APPEND, Particle::Blob(a), Particle::Blob(b)) => {
                Particle::Blob([&a[..], &b].concat())
            }
            (op::PREPEND, Particle::Str(a), Particle::Str(b)) => {
                Particle::Str([&b[..], a].concat())
            }
            (op::PREPEND, Particle::Blob(a), Particle::Blob(b)) => {
                Particle::Blob([&b[..], a].concat())
            }
            _ => return Err(rc::BIN_INCOMPATIBLE_TYPE),
        },
        None => unreachable!("handled by the first arm"),
    };
    match pos {
        Some(i) => rec.bins[i].1 = new,
        None => rec.bins.push((name, new)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::new(
            StoreConfig {
                max_record_size: 1024,
                default_ttl: 0,
                allow_ttl: true,
            },
            &["test".to_owned()],
        )
    }

    fn write_op(name: &str, v: i64) -> Op {
        Op {
            op: op::WRITE,
            ptype: ptype::INTEGER,
            name: name.as_bytes().to_vec(),
            data: v.to_be_bytes().to_vec(),
        }
    }

    fn cmd<'a>(ops: &'a [Op], info2: u8, info3: u8) -> Command<'a> {
        Command {
            info1: 0,
            info2: bits::INFO2_WRITE | info2,
            info3,
            generation: 0,
            record_ttl: 0,
            namespace: b"test",
            set: b"s",
            digest: Some(&[1; DIGEST_SIZE]),
            key: None,
            ops,
            in_transaction: false,
            filter: None,
        }
    }

    #[test]
    fn create_only_twice_is_key_exists() {
        let mut s = store();
        let ops = [write_op("a", 1)];
        let now = SystemTime::now();
        assert_eq!(
            s.execute(&cmd(&ops, bits::INFO2_CREATE_ONLY, 0), now)
                .result_code,
            rc::OK
        );
        assert_eq!(
            s.execute(&cmd(&ops, bits::INFO2_CREATE_ONLY, 0), now)
                .result_code,
            rc::RECORD_EXISTS
        );
    }

    #[test]
    fn sixteen_byte_bin_name_is_rejected() {
        let mut s = store();
        let ops = [write_op("abcdefghijklmnop", 1)];
        let o = s.execute(&cmd(&ops, 0, 0), SystemTime::now());
        assert_eq!(o.result_code, rc::BIN_NAME);
        assert!(s.namespaces["test"].records.is_empty());
    }

    #[test]
    fn generation_increments_and_is_checked() {
        let mut s = store();
        let ops = [write_op("a", 1)];
        let now = SystemTime::now();
        assert_eq!(s.execute(&cmd(&ops, 0, 0), now).generation, 1);
        assert_eq!(s.execute(&cmd(&ops, 0, 0), now).generation, 2);
        let mut c = cmd(&ops, bits::INFO2_GENERATION, 0);
        c.generation = 1;
        assert_eq!(s.execute(&c, now).result_code, rc::GENERATION);
        c.generation = 2;
        assert_eq!(s.execute(&c, now).result_code, rc::OK);
    }

    #[test]
    fn transactions_are_enterprise_only() {
        let mut s = store();
        let ops = [write_op("a", 1)];
        let mut c = cmd(&ops, 0, 0);
        c.in_transaction = true;
        assert_eq!(
            s.execute(&c, SystemTime::now()).result_code,
            rc::ENTERPRISE_ONLY
        );
    }

    #[test]
    fn creating_with_only_bin_deletes_is_not_found() {
        let mut s = store();
        let ops = [Op {
            op: op::WRITE,
            ptype: ptype::NULL,
            name: b"a".to_vec(),
            data: Vec::new(),
        }];
        let o = s.execute(&cmd(&ops, 0, 0), SystemTime::now());
        assert_eq!(o.result_code, rc::NOT_FOUND);
        assert!(s.namespaces["test"].records.is_empty());
    }

    #[test]
    fn generation_check_on_a_new_record_compares_with_zero() {
        let mut s = store();
        let ops = [write_op("a", 1)];
        let mut c = cmd(&ops, bits::INFO2_GENERATION, 0);
        c.generation = 3;
        let now = SystemTime::now();
        assert_eq!(s.execute(&c, now).result_code, rc::GENERATION);
        c.generation = 0;
        assert_eq!(s.execute(&c, now).result_code, rc::OK);
    }

    #[test]
    fn partition_id_uses_low_twelve_bits() {
        let mut d = [0u8; DIGEST_SIZE];
        d[0] = 0xFF;
        d[1] = 0xFF;
        assert_eq!(partition_id(&d), 4095);
    }
}
