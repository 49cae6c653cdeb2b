//! The wire codec: the 8-byte proto header, the 22-byte AS_MSG header, fields and ops.
//!
//! Layout as read from the `aerospike` crate's `commands/buffer.rs` (the encoder the
//! clients use) and the server's `as/include/base/proto.h`: every message starts with
//! `version(1)=2 | type(1) | size(6, big-endian)`; an AS_MSG body starts with
//! `header_sz(1)=22 info1 info2 info3 info4 result_code generation(4) record_ttl(4)
//! transaction_ttl(4) n_fields(2) n_ops(2)`, then `n_fields` fields
//! (`size(4) type(1) data`, size counting the type byte) and `n_ops` ops
//! (`size(4) op(1) particle_type(1) version(1) name_len(1) name data`, size counting
//! the 4 bytes after it).

/// Seconds from the Unix epoch to the Citrusleaf epoch (2010-01-01T00:00:00Z); void
/// times on the wire count from there.
pub const CITRUSLEAF_EPOCH_UNIX_SECS: u64 = 1_262_304_000;
/// RIPEMD-160 digest width.
pub const DIGEST_SIZE: usize = 20;
/// Longest bin name the server accepts (`AS_BIN_NAME_MAX_SZ` - 1).
pub const BIN_NAME_MAX_LEN: usize = 15;
/// Protocol version in every proto header.
pub const PROTO_VERSION: u8 = 2;
/// Proto type: info request/response (text lines).
pub const PROTO_TYPE_INFO: u8 = 1;
/// Proto type: security/admin (login); only sent by clients configured with a user.
pub const PROTO_TYPE_ADMIN: u8 = 2;
/// Proto type: an AS_MSG data command.
pub const PROTO_TYPE_AS_MSG: u8 = 3;
/// Proto type: a zlib-compressed AS_MSG.
pub const PROTO_TYPE_COMPRESSED: u8 = 4;
/// Bytes in the proto header.
pub const PROTO_HEADER_SIZE: usize = 8;
/// Bytes in the AS_MSG header (its own first byte says so).
pub const MSG_HEADER_SIZE: usize = 22;
/// The largest body the stand-in accepts; the server's limit for a proto is 128 MiB
/// (`PROTO_SIZE_MAX`), anything bigger is a broken or hostile peer.
pub const MAX_PROTO_BODY: u64 = 128 * 1024 * 1024;
/// The proto size field is 48 bits wide.
const PROTO_SIZE_MASK: u64 = 0x0000_FFFF_FFFF_FFFF;
/// Bytes before an op's name: size(4) op(1) particle(1) version(1) name_len(1).
const OP_HEADER_SIZE: usize = 8;
/// Bytes of an op's size field counted in its header (op, particle, version, name_len).
const OP_SIZE_OVERHEAD: usize = 4;

/// Header bits (`proto.h`: `AS_MSG_INFO1_*`, `AS_MSG_INFO2_*`, `AS_MSG_INFO3_*`).
pub mod bits {
    pub const INFO1_READ: u8 = 1;
    pub const INFO1_GET_ALL: u8 = 1 << 1;
    pub const INFO1_BATCH: u8 = 1 << 3;
    pub const INFO1_NOBINDATA: u8 = 1 << 5;
    pub const INFO1_COMPRESS_RESPONSE: u8 = 1 << 7;
    pub const INFO2_WRITE: u8 = 1;
    pub const INFO2_DELETE: u8 = 1 << 1;
    pub const INFO2_GENERATION: u8 = 1 << 2;
    pub const INFO2_GENERATION_GT: u8 = 1 << 3;
    pub const INFO2_DURABLE_DELETE: u8 = 1 << 4;
    pub const INFO2_CREATE_ONLY: u8 = 1 << 5;
    pub const INFO2_RESPOND_ALL_OPS: u8 = 1 << 7;
    pub const INFO3_LAST: u8 = 1;
    pub const INFO3_PARTITION_DONE: u8 = 1 << 2;
    pub const INFO3_UPDATE_ONLY: u8 = 1 << 3;
    pub const INFO3_CREATE_OR_REPLACE: u8 = 1 << 4;
    pub const INFO3_REPLACE_ONLY: u8 = 1 << 5;
}

/// Field types (`proto.h`: `AS_MSG_FIELD_TYPE_*`).
pub mod field {
    pub const NAMESPACE: u8 = 0;
    pub const SET: u8 = 1;
    pub const KEY: u8 = 2;
    pub const DIGEST: u8 = 4;
    pub const MRT_ID: u8 = 5;
    pub const SOCKET_TIMEOUT: u8 = 9;
    pub const PID_ARRAY: u8 = 11;
    pub const DIGEST_ARRAY: u8 = 12;
    pub const MAX_RECORDS: u8 = 13;
    pub const INDEX_NAME: u8 = 21;
    pub const INDEX_RANGE: u8 = 22;
    pub const UDF_FILENAME: u8 = 30;
    pub const UDF_OP: u8 = 33;
    pub const BATCH_INDEX: u8 = 41;
    pub const BATCH_INDEX_WITH_SET: u8 = 42;
    pub const FILTER_EXP: u8 = 43;
}

/// Op types (`proto.h`: `AS_MSG_OP_*`).
pub mod op {
    pub const READ: u8 = 1;
    pub const WRITE: u8 = 2;
    pub const CDT_READ: u8 = 3;
    pub const CDT_MODIFY: u8 = 4;
    pub const INCR: u8 = 5;
    pub const EXP_READ: u8 = 7;
    pub const EXP_MODIFY: u8 = 8;
    pub const APPEND: u8 = 9;
    pub const PREPEND: u8 = 10;
    pub const TOUCH: u8 = 11;
    pub const BITS_READ: u8 = 12;
    pub const BITS_MODIFY: u8 = 13;
    pub const DELETE_ALL: u8 = 14;
    pub const HLL_READ: u8 = 15;
    pub const HLL_MODIFY: u8 = 16;
}

/// Result codes (`proto.h`: `AS_ERR_*`; the crate's `result_code.rs`).
pub mod rc {
    pub const OK: u8 = 0;
    pub const UNKNOWN: u8 = 1;
    pub const NOT_FOUND: u8 = 2;
    pub const GENERATION: u8 = 3;
    pub const PARAMETER: u8 = 4;
    pub const RECORD_EXISTS: u8 = 5;
    pub const TIMEOUT: u8 = 9;
    pub const BIN_INCOMPATIBLE_TYPE: u8 = 12;
    pub const RECORD_TOO_BIG: u8 = 13;
    pub const FILTERED_OUT: u8 = 27;
    pub const UNSUPPORTED_FEATURE: u8 = 16;
    pub const KEY_MISMATCH: u8 = 19;
    pub const NAMESPACE: u8 = 20;
    pub const BIN_NAME: u8 = 21;
    pub const FORBIDDEN: u8 = 22;
    pub const ENTERPRISE_ONLY: u8 = 25;
    pub const SECURITY_NOT_SUPPORTED: u8 = 51;
    pub const INDEX_NOT_FOUND: u8 = 201;
}

/// A malformed message: the server answers PARAMETER_ERROR or drops the connection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MsgError {
    #[error("message truncated: needed {needed} bytes at offset {offset}, have {len}")]
    Truncated {
        needed: usize,
        offset: usize,
        len: usize,
    },
    #[error("AS_MSG header size {0}, expected 22")]
    HeaderSize(u8),
    #[error("proto version {0}, expected 2")]
    Version(u8),
    #[error("proto body of {0} bytes exceeds the limit")]
    TooLarge(u64),
    #[error("batch REPEAT row with no row before it")]
    RepeatWithoutRow,
}

/// The 8-byte proto header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtoHeader {
    pub ptype: u8,
    pub size: u64,
}

impl ProtoHeader {
    /// Parses and sanity-checks a received header.
    pub fn parse(b: [u8; PROTO_HEADER_SIZE]) -> Result<ProtoHeader, MsgError> {
        if b[0] != PROTO_VERSION {
            return Err(MsgError::Version(b[0]));
        }
        let size = u64::from_be_bytes(b) & PROTO_SIZE_MASK;
        if size > MAX_PROTO_BODY {
            return Err(MsgError::TooLarge(size));
        }
        Ok(ProtoHeader { ptype: b[1], size })
    }

    /// Encodes a header for a body of `size` bytes.
    pub fn encode(ptype: u8, size: usize) -> [u8; PROTO_HEADER_SIZE] {
        let mut b = (size as u64 & PROTO_SIZE_MASK).to_be_bytes();
        b[0] = PROTO_VERSION;
        b[1] = ptype;
        b
    }
}

/// A bounds-checked reader over a message body.
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], MsgError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let Some(end) = end else {
            return Err(MsgError::Truncated {
                needed: n,
                offset: self.pos,
                len: self.buf.len(),
            });
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, MsgError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, MsgError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, MsgError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// One field of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub ftype: u8,
    pub data: Vec<u8>,
}

/// One op of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub op: u8,
    pub ptype: u8,
    pub name: Vec<u8>,
    pub data: Vec<u8>,
}

/// Reads `n_fields` fields then `n_ops` ops.
pub fn read_fields_ops(
    c: &mut Cursor<'_>,
    n_fields: u16,
    n_ops: u16,
) -> Result<(Vec<Field>, Vec<Op>), MsgError> {
    let mut fields = Vec::with_capacity(usize::from(n_fields));
    for _ in 0..n_fields {
        let size = c.u32()? as usize;
        // The size counts the type byte; a zero size is malformed.
        let body = c.take(size)?;
        let Some((&ftype, data)) = body.split_first() else {
            return Err(MsgError::Truncated {
                needed: 1,
                offset: c.pos,
                len: c.buf.len(),
            });
        };
        fields.push(Field {
            ftype,
            data: data.to_vec(),
        });
    }
    let mut ops = Vec::with_capacity(usize::from(n_ops));
    for _ in 0..n_ops {
        let size = c.u32()? as usize;
        let body = c.take(size)?;
        let mut oc = Cursor::new(body);
        let op = oc.u8()?;
        let ptype = oc.u8()?;
        let _version = oc.u8()?;
        let name_len = oc.u8()?;
        let name = oc.take(usize::from(name_len))?.to_vec();
        let data = body[oc.pos..].to_vec();
        ops.push(Op {
            op,
            ptype,
            name,
            data,
        });
    }
    Ok((fields, ops))
}

/// A parsed AS_MSG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsMsg {
    pub info1: u8,
    pub info2: u8,
    pub info3: u8,
    pub info4: u8,
    pub result_code: u8,
    pub generation: u32,
    pub record_ttl: u32,
    pub transaction_ttl: u32,
    pub fields: Vec<Field>,
    pub ops: Vec<Op>,
}

impl AsMsg {
    /// Parses an AS_MSG body (after the proto header).
    pub fn parse(body: &[u8]) -> Result<AsMsg, MsgError> {
        let mut c = Cursor::new(body);
        let header_sz = c.u8()?;
        if usize::from(header_sz) != MSG_HEADER_SIZE {
            return Err(MsgError::HeaderSize(header_sz));
        }
        let info1 = c.u8()?;
        let info2 = c.u8()?;
        let info3 = c.u8()?;
        let info4 = c.u8()?;
        let result_code = c.u8()?;
        let generation = c.u32()?;
        let record_ttl = c.u32()?;
        let transaction_ttl = c.u32()?;
        let n_fields = c.u16()?;
        let n_ops = c.u16()?;
        let (fields, ops) = read_fields_ops(&mut c, n_fields, n_ops)?;
        Ok(AsMsg {
            info1,
            info2,
            info3,
            info4,
            result_code,
            generation,
            record_ttl,
            transaction_ttl,
            fields,
            ops,
        })
    }

    /// The first field of a type.
    pub fn field(&self, ftype: u8) -> Option<&[u8]> {
        find_field(&self.fields, ftype)
    }
}

/// The first field of a type in a list.
pub fn find_field(fields: &[Field], ftype: u8) -> Option<&[u8]> {
    fields
        .iter()
        .find(|f| f.ftype == ftype)
        .map(|f| f.data.as_slice())
}

/// The header of an AS_MSG the stand-in sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyHeader {
    pub info3: u8,
    pub result_code: u8,
    pub generation: u32,
    /// Void time in seconds since the Citrusleaf epoch (2010-01-01), 0 = never expires.
    pub void_time: u32,
    /// The batch row index in batch replies, 0 otherwise.
    pub transaction_ttl: u32,
}

/// An op in a reply: a bin name and its value (`None` = NULL particle).
pub struct ReplyOp<'a> {
    pub name: &'a [u8],
    pub ptype: u8,
    pub data: Vec<u8>,
}

/// A reply of one message carrying only a result code, flagged LAST so that the
/// single-record, batch and scan parsers of the clients all stop at it (an error answer,
/// or a batch's closing trailer).
pub fn last_reply(code: u8) -> Vec<u8> {
    let mut out = Vec::new();
    write_msg(
        &mut out,
        &ReplyHeader {
            info3: bits::INFO3_LAST,
            result_code: code,
            ..ReplyHeader::default()
        },
        &[],
        &[],
    );
    out
}

/// Appends one AS_MSG (without proto header) to `out`.
pub fn write_msg(out: &mut Vec<u8>, h: &ReplyHeader, fields: &[(u8, &[u8])], ops: &[ReplyOp<'_>]) {
    out.push(MSG_HEADER_SIZE as u8);
    out.push(0); // info1
    out.push(0); // info2
    out.push(h.info3);
    out.push(0); // info4
    out.push(h.result_code);
    out.extend_from_slice(&h.generation.to_be_bytes());
    out.extend_from_slice(&h.void_time.to_be_bytes());
    out.extend_from_slice(&h.transaction_ttl.to_be_bytes());
    out.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    out.extend_from_slice(&(ops.len() as u16).to_be_bytes());
    for (ftype, data) in fields {
        out.extend_from_slice(&((data.len() + 1) as u32).to_be_bytes());
        out.push(*ftype);
        out.extend_from_slice(data);
    }
    for o in ops {
        let size = OP_SIZE_OVERHEAD + o.name.len() + o.data.len();
        out.extend_from_slice(&(size as u32).to_be_bytes());
        out.push(op::READ);
        out.push(o.ptype);
        out.push(0); // version
        out.push(o.name.len() as u8);
        out.extend_from_slice(o.name);
        out.extend_from_slice(&o.data);
    }
}

/// Wraps AS_MSG bytes into a proto frame.
pub fn frame(ptype: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROTO_HEADER_SIZE + body.len());
    out.extend_from_slice(&ProtoHeader::encode(ptype, body.len()));
    out.extend_from_slice(body);
    out
}

/// Bytes an op occupies on the wire (used to size frames).
pub fn op_wire_size(name_len: usize, data_len: usize) -> usize {
    OP_HEADER_SIZE + name_len + data_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_header_round_trips() {
        let h = ProtoHeader::encode(PROTO_TYPE_AS_MSG, 300);
        assert_eq!(
            ProtoHeader::parse(h).unwrap(),
            ProtoHeader {
                ptype: PROTO_TYPE_AS_MSG,
                size: 300
            }
        );
    }

    #[test]
    fn wrong_version_is_rejected() {
        let mut h = ProtoHeader::encode(PROTO_TYPE_INFO, 1);
        h[0] = 1;
        assert_eq!(ProtoHeader::parse(h), Err(MsgError::Version(1)));
    }

    #[test]
    fn message_round_trips_through_writer_and_parser() {
        let mut out = Vec::new();
        let h = ReplyHeader {
            generation: 7,
            void_time: 9,
            ..ReplyHeader::default()
        };
        write_msg(
            &mut out,
            &h,
            &[(field::NAMESPACE, b"test")],
            &[ReplyOp {
                name: b"a",
                ptype: 1,
                data: 5i64.to_be_bytes().to_vec(),
            }],
        );
        let m = AsMsg::parse(&out).unwrap();
        assert_eq!(m.generation, 7);
        assert_eq!(m.record_ttl, 9);
        assert_eq!(m.field(field::NAMESPACE), Some(&b"test"[..]));
        assert_eq!(m.ops[0].name, b"a");
        assert_eq!(m.ops[0].data, 5i64.to_be_bytes());
    }

    #[test]
    fn truncated_field_is_an_error() {
        let mut out = Vec::new();
        write_msg(
            &mut out,
            &ReplyHeader::default(),
            &[(field::SET, b"abc")],
            &[],
        );
        out.truncate(out.len() - 1);
        assert!(matches!(
            AsMsg::parse(&out),
            Err(MsgError::Truncated { .. })
        ));
    }
}
