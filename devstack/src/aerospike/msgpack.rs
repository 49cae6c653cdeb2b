//! The server's reading of msgpack, as filter expressions need it: element types with
//! Aerospike's byte-type prefix inside strings (`msgpack_peek_type`), the getters the
//! expression parser uses, element skipping, and the ordering of two values
//! (`msgpack_cmp`). Modelled on the server's `cf/src/msgpack_in.c`.
//!
//! Why not `rmpv`: the server's rules differ from plain msgpack in ways a filter's
//! result depends on — str and bin headers are interchangeable and typed by their first
//! byte, a fixext-1 that is not a comparison marker is an error, integers of any width
//! compare by value, and an unordered map makes a comparison unknown.

use std::cmp::Ordering;

/// Element types as the server classifies them (`msgpack_type`). The declaration order is
/// the server's: values of different types compare by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MpType {
    Error,
    Nil,
    False,
    True,
    NegInt,
    Int,
    Str,
    List,
    Map,
    Bytes,
    Double,
    GeoJson,
    Ext,
    /// The client's "wildcard" comparison marker (ext type 0xff, value 0).
    Wildcard,
    /// The client's "infinity" comparison marker (ext type 0xff, value 1).
    Inf,
}

/// First byte of a string's payload inside msgpack (`AS_BYTES_STRING`).
pub const BYTES_STRING: u8 = 3;
/// First byte of a blob's payload (`AS_BYTES_BLOB`).
pub const BYTES_BLOB: u8 = 4;
/// First byte of an HLL's payload (`AS_BYTES_HLL`).
pub const BYTES_HLL: u8 = 18;
/// First byte of a GeoJSON payload (`AS_BYTES_GEOJSON`).
pub const BYTES_GEOJSON: u8 = 23;
/// Ext type of the non-storage comparison markers.
const CMP_EXT_TYPE: u8 = 0xff;
const CMP_WILDCARD: u8 = 0;
const CMP_INF: u8 = 1;
/// Map order flag in a map's leading ext element (`AS_PACKED_MAP_FLAG_K_ORDERED`).
const MAP_FLAG_K_ORDERED: u8 = 1;

/// The type of a str/bin payload: its first byte says string, GeoJSON or bytes; an
/// empty payload is bytes (`bytes_internal_to_type`).
fn bytes_type(prefix: Option<&u8>, len: usize) -> MpType {
    if len == 0 {
        return MpType::Bytes;
    }
    match prefix {
        Some(&BYTES_STRING) => MpType::Str,
        Some(&BYTES_GEOJSON) => MpType::GeoJson,
        Some(_) => MpType::Bytes,
        None => MpType::Error,
    }
}

/// A bounds-checked reader over msgpack bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn at(&self, i: usize) -> Option<&'a u8> {
        self.buf.get(self.pos + i)
    }

    fn be(&self, from: usize, width: usize) -> Option<u64> {
        let start = self.pos.checked_add(from)?;
        let bytes = self.buf.get(start..start.checked_add(width)?)?;
        Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// The type of the next element, without consuming it (`msgpack_peek_type`).
    pub fn peek_type(&self) -> MpType {
        let Some(&b) = self.at(0) else {
            return MpType::Error;
        };
        let str_type = |header: usize, len: Option<u64>| match len {
            Some(len) => bytes_type(self.at(header), len as usize),
            None => MpType::Error,
        };
        match b {
            0xc0 => MpType::Nil,
            0xc2 => MpType::False,
            0xc3 => MpType::True,
            0xd0..=0xd3 => match self.at(1) {
                Some(v) if v & 0x80 != 0 => MpType::NegInt,
                Some(_) => MpType::Int,
                None => MpType::Error,
            },
            0xcc..=0xcf => MpType::Int,
            0xca | 0xcb => MpType::Double,
            0xc4 | 0xd9 => str_type(2, self.be(1, 1)),
            0xc5 | 0xda => str_type(3, self.be(1, 2)),
            0xc6 | 0xdb => str_type(5, self.be(1, 4)),
            0xdc | 0xdd => MpType::List,
            0xde | 0xdf => MpType::Map,
            // A fixext-1 is only ever a comparison marker.
            0xd4 => match (self.at(1), self.at(2)) {
                (Some(&CMP_EXT_TYPE), Some(&CMP_WILDCARD)) => MpType::Wildcard,
                (Some(&CMP_EXT_TYPE), Some(&CMP_INF)) => MpType::Inf,
                _ => MpType::Error,
            },
            0xd5..=0xd8 | 0xc8 | 0xc9 => MpType::Ext,
            0xc7 => match (self.at(1), self.at(2), self.at(3)) {
                (Some(1), Some(&CMP_EXT_TYPE), Some(&CMP_WILDCARD)) => MpType::Wildcard,
                (Some(1), Some(&CMP_EXT_TYPE), Some(&CMP_INF)) => MpType::Inf,
                _ => MpType::Ext,
            },
            0x00..=0x7f => MpType::Int,
            0xe0..=0xff => MpType::NegInt,
            0xa0..=0xbf => str_type(1, Some(u64::from(b & 0x1f))),
            0x80..=0x8f => MpType::Map,
            0x90..=0x9f => MpType::List,
            // 0xc1 is never used.
            _ => MpType::Error,
        }
    }

    /// A list header's element count (`msgpack_get_list_ele_count`).
    pub fn list_count(&mut self) -> Option<u32> {
        let b = *self.at(0)?;
        let (header, count) = match b {
            0xdc => (3, self.be(1, 2)?),
            0xdd => (5, self.be(1, 4)?),
            0x90..=0x9f => (1, u64::from(b & 0x0f)),
            _ => return None,
        };
        self.take(header)?;
        u32::try_from(count).ok()
    }

    /// An integer of any encoding as the server's `msgpack_get_uint64` reads it: negative
    /// values sign-extended, so that `as i64` gives them back (`msgpack_get_int64`).
    pub fn uint64(&mut self) -> Option<u64> {
        let b = *self.at(0)?;
        let (width, signed) = match b {
            0xcc => (1, false),
            0xcd => (2, false),
            0xce => (4, false),
            0xcf => (8, false),
            0xd0 => (1, true),
            0xd1 => (2, true),
            0xd2 => (4, true),
            0xd3 => (8, true),
            0x00..=0x7f => {
                self.pos += 1;
                return Some(u64::from(b));
            }
            0xe0..=0xff => {
                self.pos += 1;
                return Some(i64::from(b as i8) as u64);
            }
            _ => return None,
        };
        let v = self.be(1, width)?;
        self.take(1 + width)?;
        if signed && width < 8 {
            // Sign-extend from the encoded width.
            let shift = 64 - 8 * width as u32;
            return Some((((v << shift) as i64) >> shift) as u64);
        }
        Some(v)
    }

    /// `msgpack_get_int64`: the same bits as [`Reader::uint64`].
    pub fn int64(&mut self) -> Option<i64> {
        self.uint64().map(|v| v as i64)
    }

    /// A float32 (widened) or float64 (`msgpack_get_double`).
    pub fn double(&mut self) -> Option<f64> {
        match *self.at(0)? {
            0xca => {
                let bits = self.be(1, 4)? as u32;
                self.take(5)?;
                Some(f64::from(f32::from_bits(bits)))
            }
            0xcb => {
                let bits = self.be(1, 8)?;
                self.take(9)?;
                Some(f64::from_bits(bits))
            }
            _ => None,
        }
    }

    /// `true`/`false` (`msgpack_get_bool`).
    pub fn boolean(&mut self) -> Option<bool> {
        match *self.at(0)? {
            0xc2 => {
                self.pos += 1;
                Some(false)
            }
            0xc3 => {
                self.pos += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// The payload of a str or bin element, prefix byte included (`msgpack_get_bin`).
    pub fn bin(&mut self) -> Option<&'a [u8]> {
        let b = *self.at(0)?;
        let (header, len) = match b {
            0xc4 | 0xd9 => (2, self.be(1, 1)?),
            0xc5 | 0xda => (3, self.be(1, 2)?),
            0xc6 | 0xdb => (5, self.be(1, 4)?),
            0xa0..=0xbf => (1, u64::from(b & 0x1f)),
            _ => return None,
        };
        let start = self.pos;
        self.take(header)?;
        match self.take(usize::try_from(len).ok()?) {
            Some(s) => Some(s),
            None => {
                self.pos = start;
                None
            }
        }
    }

    /// Skips one whole element (containers with their contents) and returns its bytes;
    /// `None` if it is truncated or uses the never-used byte 0xc1 (`msgpack_get_ele`,
    /// `msgpack_sz`).
    pub fn element(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        let r = self.skip(1);
        if r.is_none() {
            self.pos = start;
            return None;
        }
        Some(&self.buf[start..self.pos])
    }

    /// Skips `count` elements.
    fn skip(&mut self, mut count: u64) -> Option<()> {
        while count > 0 {
            count -= 1;
            let b = *self.at(0)?;
            let (header, payload, children): (usize, u64, u64) = match b {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, 0, 0),
                0x80..=0x8f => (1, 0, 2 * u64::from(b & 0x0f)),
                0x90..=0x9f => (1, 0, u64::from(b & 0x0f)),
                0xa0..=0xbf => (1, u64::from(b & 0x1f), 0),
                0xc4 | 0xd9 => (2, self.be(1, 1)?, 0),
                0xc5 | 0xda => (3, self.be(1, 2)?, 0),
                0xc6 | 0xdb => (5, self.be(1, 4)?, 0),
                0xc7 => (3, self.be(1, 1)?, 0),
                0xc8 => (4, self.be(1, 2)?, 0),
                0xc9 => (6, self.be(1, 4)?, 0),
                0xca => (5, 0, 0),
                0xcb => (9, 0, 0),
                0xcc | 0xd0 => (2, 0, 0),
                0xcd | 0xd1 => (3, 0, 0),
                0xce | 0xd2 => (5, 0, 0),
                0xcf | 0xd3 => (9, 0, 0),
                0xd4 => (3, 0, 0),
                0xd5 => (4, 0, 0),
                0xd6 => (6, 0, 0),
                0xd7 => (10, 0, 0),
                0xd8 => (18, 0, 0),
                0xdc => (3, 0, self.be(1, 2)?),
                0xdd => (5, 0, self.be(1, 4)?),
                0xde => (3, 0, 2 * self.be(1, 2)?),
                0xdf => (5, 0, 2 * self.be(1, 4)?),
                _ => return None,
            };
            self.take(header)?;
            self.take(usize::try_from(payload).ok()?)?;
            count = count.checked_add(children)?;
            // Every element takes at least one byte: a header claiming more elements
            // than bytes remain is truncated, whatever it nests.
            if count > (self.buf.len() - self.pos) as u64 {
                return None;
            }
        }
        Some(())
    }
}

/// One parsed element in a comparison walk (`parse_meta`).
struct CmpItem<'a> {
    ty: MpType,
    int: u64,
    double: f64,
    data: &'a [u8],
    /// Payload length for strings/ext; element count for containers (2 per map pair),
    /// after any leading order element is skipped.
    len: u64,
}

/// A pre-order walk over one msgpack value for [`compare`] (`msgpack_cmp_parse`).
struct CmpWalk<'a> {
    r: Reader<'a>,
    unordered_map: bool,
}

impl<'a> CmpWalk<'a> {
    /// The next element's header; `None` on malformed input.
    fn next(&mut self) -> Option<CmpItem<'a>> {
        // Unlike `peek_type`, the comparison reads any fixext-1 as an ext value.
        let ty = match (self.r.at(0), self.r.peek_type()) {
            (Some(0xd4), MpType::Error) => MpType::Ext,
            (_, t) => t,
        };
        let mut item = CmpItem {
            ty,
            int: 0,
            double: 0.0,
            data: &[],
            len: 0,
        };
        match ty {
            MpType::Error => return None,
            MpType::Nil | MpType::False | MpType::True => {
                self.r.take(1)?;
            }
            MpType::NegInt | MpType::Int => item.int = self.r.uint64()?,
            MpType::Double => item.double = self.r.double()?,
            MpType::Str | MpType::Bytes | MpType::GeoJson => {
                item.data = self.r.bin()?;
                item.len = item.data.len() as u64;
            }
            MpType::Wildcard | MpType::Inf => {
                self.r.element()?;
            }
            MpType::Ext => {
                let b = *self.r.at(0)?;
                let (header, len) = match b {
                    0xd4 => (2, 1),
                    0xd5 => (2, 2),
                    0xd6 => (2, 4),
                    0xd7 => (2, 8),
                    0xd8 => (2, 16),
                    0xc7 => (3, self.r.be(1, 1)?),
                    0xc8 => (4, self.r.be(1, 2)?),
                    _ => (6, self.r.be(1, 4)?),
                };
                self.r.take(header)?;
                item.data = self.r.take(usize::try_from(len).ok()?)?;
                item.len = len;
            }
            MpType::List => {
                item.len = u64::from(self.r.list_count()?);
                self.skip_order_element(&mut item, 1)?;
            }
            MpType::Map => {
                let b = *self.r.at(0)?;
                let (header, pairs) = match b {
                    0xde => (3, self.r.be(1, 2)?),
                    0xdf => (5, self.r.be(1, 4)?),
                    _ => (1, u64::from(b & 0x0f)),
                };
                self.r.take(header)?;
                item.len = 2 * pairs;
                self.skip_order_element(&mut item, 2)?;
            }
        }
        Some(item)
    }

    /// A container may start with an ext element carrying its order flags: skipped (it
    /// is metadata), and a map without the key-ordered flag is unordered
    /// (`cmp_parse_container`).
    fn skip_order_element(&mut self, item: &mut CmpItem<'a>, count: u64) -> Option<()> {
        if item.len == 0 {
            return Some(());
        }
        let ext_type = match *self.r.at(0)? {
            0xc7 => *self.r.at(2)?,
            0xc8 => *self.r.at(3)?,
            0xc9 => *self.r.at(5)?,
            0xd4..=0xd8 => *self.r.at(1)?,
            _ => {
                if item.ty == MpType::Map {
                    self.unordered_map = true;
                }
                return Some(());
            }
        };
        if item.ty == MpType::Map && ext_type & MAP_FLAG_K_ORDERED == 0 {
            self.unordered_map = true;
        }
        if ext_type == CMP_EXT_TYPE {
            return Some(());
        }
        self.r.skip(count)?;
        item.len = item.len.saturating_sub(count);
        Some(())
    }
}

/// Orders two msgpack values as the server's `msgpack_cmp` does: by type first, then by
/// value, lists element by element (a shorter prefix is less), maps by size and then
/// entry by entry, a wildcard equal to anything. `None` when either is malformed or an
/// unordered map took part — the server's expression compare then answers "unknown".
pub fn compare(a: &[u8], b: &[u8]) -> Option<Ordering> {
    let mut w0 = CmpWalk {
        r: Reader::new(a),
        unordered_map: false,
    };
    let mut w1 = CmpWalk {
        r: Reader::new(b),
        unordered_map: false,
    };
    // `min_count` grows as containers open: the walk compares both values in
    // pre-order and stops at the first difference (`msgpack_cmp_internal`).
    let mut min_count: u64 = 1;
    let mut end_result = Ordering::Equal;
    let mut i: u64 = 0;
    let result = loop {
        if i >= min_count {
            break end_result;
        }
        let (x, y) = (w0.next()?, w1.next()?);
        if x.ty == MpType::Wildcard || y.ty == MpType::Wildcard {
            break Ordering::Equal;
        }
        if x.ty != y.ty {
            break x.ty.cmp(&y.ty);
        }
        match x.ty {
            MpType::NegInt | MpType::Int if x.int != y.int => break x.int.cmp(&y.int),
            MpType::Ext | MpType::Str | MpType::Bytes | MpType::GeoJson => {
                let n = x.data.len().min(y.data.len());
                match x.data[..n].cmp(&y.data[..n]).then(x.len.cmp(&y.len)) {
                    Ordering::Equal => {}
                    o => break o,
                }
            }
            MpType::List => {
                if x.len == y.len {
                    min_count += x.len;
                } else {
                    // Compare the common prefix, then the shorter list is less.
                    end_result = x.len.cmp(&y.len);
                    min_count = x.len.min(y.len) + i + 1;
                }
            }
            MpType::Map => {
                if x.len != y.len {
                    break x.len.cmp(&y.len);
                }
                min_count += x.len;
            }
            // NaN compares neither greater nor less: the walk goes on.
            MpType::Double if x.double > y.double => break Ordering::Greater,
            MpType::Double if x.double < y.double => break Ordering::Less,
            _ => {}
        }
        i += 1;
    };
    if w0.unordered_map || w1.unordered_map {
        return None;
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_typed_by_their_prefix() {
        assert_eq!(Reader::new(&[0xa2, 3, b'a']).peek_type(), MpType::Str);
        assert_eq!(Reader::new(&[0xa2, 4, 1]).peek_type(), MpType::Bytes);
        assert_eq!(Reader::new(&[0xa0]).peek_type(), MpType::Bytes);
        assert_eq!(
            Reader::new(&[0xc4, 2, 23, b'{']).peek_type(),
            MpType::GeoJson
        );
        assert_eq!(Reader::new(&[0xd4, 1, 2]).peek_type(), MpType::Error);
        assert_eq!(Reader::new(&[0xd4, 0xff, 0]).peek_type(), MpType::Wildcard);
        assert_eq!(Reader::new(&[0xc1]).peek_type(), MpType::Error);
    }

    #[test]
    fn integers_of_every_width_read_back() {
        for (bytes, v) in [
            (&[0x05][..], 5i64),
            (&[0xff], -1),
            (&[0xd0, 0x80], -128),
            (&[0xd1, 0xff, 0xfe], -2),
            (&[0xcd, 0x01, 0x00], 256),
            (&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], -1),
        ] {
            let mut r = Reader::new(bytes);
            assert_eq!(r.int64(), Some(v), "{bytes:02x?}");
            assert!(r.at_end());
        }
        assert_eq!(Reader::new(&[0xcd, 0x01]).int64(), None, "truncated");
    }

    #[test]
    fn element_skips_nested_containers_and_rejects_truncation() {
        // [1, {"a": [2]}, "x"]
        let v = [0x93, 0x01, 0x81, 0xa2, 3, b'a', 0x91, 0x02, 0xa2, 3, b'x'];
        let mut r = Reader::new(&v);
        assert_eq!(r.element(), Some(&v[..]));
        assert!(r.at_end());
        assert_eq!(Reader::new(&v[..v.len() - 1]).element(), None);
        assert_eq!(Reader::new(&[0xdd, 0xff, 0xff, 0xff, 0xff]).element(), None);
    }

    #[test]
    fn lists_compare_by_type_then_value_then_length() {
        let list = |items: &[u8]| {
            let mut v = vec![0x90 | items.len() as u8];
            v.extend_from_slice(items);
            v
        };
        assert_eq!(
            compare(&list(&[1, 2]), &list(&[1, 2])),
            Some(Ordering::Equal)
        );
        assert_eq!(compare(&list(&[1]), &list(&[1, 2])), Some(Ordering::Less));
        assert_eq!(
            compare(&list(&[3]), &list(&[1, 2])),
            Some(Ordering::Greater)
        );
        // Width does not matter: 1 as a fixint equals 1 as a uint16.
        assert_eq!(
            compare(&[0x91, 0x01], &[0x91, 0xcd, 0x00, 0x01]),
            Some(Ordering::Equal)
        );
        // -1 (negative) sorts before 0 whatever the encoding.
        assert_eq!(compare(&[0x91, 0xff], &[0x91, 0x00]), Some(Ordering::Less));
        // nil < int < string.
        assert_eq!(compare(&[0xc0], &[0x01]), Some(Ordering::Less));
        assert_eq!(compare(&[0xa2, 3, b'a'], &[0x01]), Some(Ordering::Greater));
        assert_eq!(
            compare(&[0xd4, 0xff, 0], &[0x93, 1, 2, 3]),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn unordered_maps_make_a_comparison_unknown() {
        let unordered = [0x81, 0xa2, 3, b'a', 0x01];
        assert_eq!(compare(&unordered, &unordered), None);
        // Key-ordered: a leading ext pair with flag 1, then the entries.
        let ordered = [0x82, 0xc7, 0x00, 0x01, 0xc0, 0xa2, 3, b'a', 0x01];
        assert_eq!(compare(&ordered, &ordered), Some(Ordering::Equal));
        assert_eq!(compare(&[0x93], &[0x91, 0x01]), None, "truncated");
    }
}
