//! Bin values ("particles") as the server stores them, and their decoding to JSON.
//!
//! Scalars are kept typed because the server does arithmetic on them (INCR, APPEND);
//! lists and maps are kept as the client's msgpack bytes because the stand-in does not
//! run CDT operations — it only has to hand them back byte for byte and let tests look
//! inside them (via `rmpv`).

use serde_json::Value as Json;

/// Particle type numbers on the wire (`as_particle_type` in the server's
/// `as/include/base/datamodel.h`; the crate's `particle_type.rs`).
pub mod ptype {
    /// No value: writing it deletes the bin.
    pub const NULL: u8 = 0;
    /// Big-endian i64.
    pub const INTEGER: u8 = 1;
    /// Big-endian IEEE-754 f64.
    pub const FLOAT: u8 = 2;
    /// UTF-8 bytes, no terminator.
    pub const STRING: u8 = 3;
    /// Raw bytes.
    pub const BLOB: u8 = 4;
    /// One byte, 0 or 1.
    pub const BOOL: u8 = 17;
    /// HyperLogLog sketch.
    pub const HLL: u8 = 18;
    /// msgpack map.
    pub const MAP: u8 = 19;
    /// msgpack array.
    pub const LIST: u8 = 20;
    /// GeoJSON text (the server also stores cell ids; the client only sends text).
    pub const GEOJSON: u8 = 23;
}

/// Width of an INTEGER or FLOAT particle on the wire.
const NUMBER_SIZE: usize = 8;
/// Integer widths the server accepts from the wire (`integer_from_wire`), unsigned
/// below 8 bytes.
const INTEGER_WIRE_SIZES: [usize; 4] = [1, 2, 4, 8];
/// The length prefix of variable-size particles in the flat format.
const FLAT_LENGTH_SIZE: usize = 4;

/// Prefix byte that Aerospike's msgpack dialect puts in front of a string's bytes
/// inside lists and maps (the particle type of the element).
const CDT_STRING_PREFIX: u8 = ptype::STRING;
/// Same for blobs.
const CDT_BLOB_PREFIX: u8 = ptype::BLOB;

/// A stored bin value.
#[derive(Debug, Clone, PartialEq)]
pub enum Particle {
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    Blob(Vec<u8>),
    Bool(bool),
    /// msgpack bytes exactly as the client sent them.
    List(Vec<u8>),
    /// msgpack bytes exactly as the client sent them.
    Map(Vec<u8>),
    GeoJson(Vec<u8>),
    Hll(Vec<u8>),
}

/// Why a value from the wire is not a valid particle; maps to PARAMETER_ERROR.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParticleError {
    #[error("particle type {ptype} with {len} bytes is malformed")]
    Malformed { ptype: u8, len: usize },
    #[error("particle type {0} is not supported")]
    Unsupported(u8),
}

impl Particle {
    /// Decodes a wire value. `Ok(None)` is the NULL particle (a bin delete).
    pub fn decode(ptype: u8, data: &[u8]) -> Result<Option<Particle>, ParticleError> {
        let malformed = || ParticleError::Malformed {
            ptype,
            len: data.len(),
        };
        Ok(Some(match ptype {
            ptype::NULL => return Ok(None),
            ptype::INTEGER => {
                if !INTEGER_WIRE_SIZES.contains(&data.len()) {
                    return Err(malformed());
                }
                // Shorter integers are unsigned and zero-extended, as on the server.
                let mut b = [0u8; NUMBER_SIZE];
                b[NUMBER_SIZE - data.len()..].copy_from_slice(data);
                Particle::Int(i64::from_be_bytes(b))
            }
            ptype::FLOAT => {
                let b: [u8; NUMBER_SIZE] = data.try_into().map_err(|_| malformed())?;
                Particle::Float(f64::from_be_bytes(b))
            }
            ptype::STRING => Particle::Str(data.to_vec()),
            ptype::BLOB => Particle::Blob(data.to_vec()),
            ptype::BOOL => match data {
                [b] => Particle::Bool(*b != 0),
                _ => return Err(malformed()),
            },
            ptype::LIST | ptype::MAP => {
                // The server rejects msgpack it cannot parse; so does the stand-in.
                let mut cursor = data;
                let value = rmpv::decode::read_value(&mut cursor).map_err(|_| malformed())?;
                let shape_ok = match ptype {
                    ptype::LIST => value.is_array(),
                    _ => value.is_map(),
                };
                if !shape_ok || !cursor.is_empty() {
                    return Err(malformed());
                }
                if ptype == ptype::LIST {
                    Particle::List(data.to_vec())
                } else {
                    Particle::Map(data.to_vec())
                }
            }
            ptype::GEOJSON => Particle::GeoJson(data.to_vec()),
            ptype::HLL => Particle::Hll(data.to_vec()),
            other => return Err(ParticleError::Unsupported(other)),
        }))
    }

    /// The wire particle type.
    pub fn ptype(&self) -> u8 {
        match self {
            Particle::Int(_) => ptype::INTEGER,
            Particle::Float(_) => ptype::FLOAT,
            Particle::Str(_) => ptype::STRING,
            Particle::Blob(_) => ptype::BLOB,
            Particle::Bool(_) => ptype::BOOL,
            Particle::List(_) => ptype::LIST,
            Particle::Map(_) => ptype::MAP,
            Particle::GeoJson(_) => ptype::GEOJSON,
            Particle::Hll(_) => ptype::HLL,
        }
    }

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Particle::Int(i) => i.to_be_bytes().to_vec(),
            Particle::Float(f) => f.to_be_bytes().to_vec(),
            Particle::Bool(b) => vec![u8::from(*b)],
            Particle::Str(b)
            | Particle::Blob(b)
            | Particle::List(b)
            | Particle::Map(b)
            | Particle::GeoJson(b)
            | Particle::Hll(b) => b.clone(),
        }
    }

    /// Bytes the value occupies in the server's flat (storage) format, which is what
    /// the record-size limit counts: a type byte, then for integers a length byte and
    /// the significant bytes, for floats 8 bytes, for bools 1, and for everything
    /// else a u32 length and the bytes.
    pub fn flat_size(&self) -> usize {
        match self {
            Particle::Int(i) => {
                let u = *i as u64;
                let width = if u > u64::from(u32::MAX) {
                    8
                } else if u > u64::from(u16::MAX) {
                    4
                } else if u > u64::from(u8::MAX) {
                    2
                } else {
                    1
                };
                2 + width
            }
            Particle::Float(_) => 1 + NUMBER_SIZE,
            Particle::Bool(_) => 2,
            Particle::Str(b)
            | Particle::Blob(b)
            | Particle::List(b)
            | Particle::Map(b)
            | Particle::GeoJson(b)
            | Particle::Hll(b) => 1 + FLAT_LENGTH_SIZE + b.len(),
        }
    }

    /// A JSON view for tests and inspection: lists and maps decoded, blobs as arrays of
    /// byte values, strings lossily as UTF-8.
    pub fn to_json(&self) -> Json {
        match self {
            Particle::Int(i) => Json::from(*i),
            Particle::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Particle::Str(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
            Particle::GeoJson(b) => {
                Json::String(String::from_utf8_lossy(geojson_text(b)).into_owned())
            }
            Particle::Blob(b) | Particle::Hll(b) => bytes_json(b),
            Particle::Bool(b) => Json::Bool(*b),
            Particle::List(b) | Particle::Map(b) => {
                let mut cursor = b.as_slice();
                rmpv::decode::read_value(&mut cursor).map_or(Json::Null, |v| msgpack_to_json(&v))
            }
        }
    }
}

/// Bytes before the text of a GeoJSON particle: flags(1) and a cell count(2), then
/// that many 8-byte cell ids (clients send zero cells).
const GEOJSON_HEADER: usize = 3;
/// Width of one cell id in a GeoJSON particle.
const GEOJSON_CELL_SIZE: usize = 8;

/// The JSON text of a GeoJSON particle, past its header and cell ids.
fn geojson_text(b: &[u8]) -> &[u8] {
    let cells = b
        .get(1..GEOJSON_HEADER)
        .map_or(0, |c| usize::from(u16::from_be_bytes([c[0], c[1]])));
    b.get(GEOJSON_HEADER + cells * GEOJSON_CELL_SIZE..)
        .unwrap_or_default()
}

fn bytes_json(b: &[u8]) -> Json {
    Json::Array(b.iter().map(|x| Json::from(*x)).collect())
}

/// Converts Aerospike-flavoured msgpack (strings and blobs carry a type prefix byte,
/// ordered maps start with an ext "map order" pair) to JSON.
pub fn msgpack_to_json(v: &rmpv::Value) -> Json {
    use rmpv::Value as M;
    match v {
        M::Nil => Json::Null,
        M::Boolean(b) => Json::Bool(*b),
        M::Integer(i) => i
            .as_i64()
            .map(Json::from)
            .or_else(|| i.as_u64().map(Json::from))
            .unwrap_or(Json::Null),
        M::F32(f) => serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number),
        M::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        M::String(s) => cdt_bytes_json(s.as_bytes()),
        M::Binary(b) => cdt_bytes_json(b),
        M::Array(items) => Json::Array(items.iter().map(msgpack_to_json).collect()),
        M::Map(pairs) => {
            let mut out = serde_json::Map::new();
            for (k, val) in pairs {
                // The map-order marker is an ext key; it is metadata, not an entry.
                if matches!(k, M::Ext(..)) {
                    continue;
                }
                let key = match msgpack_to_json(k) {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, msgpack_to_json(val));
            }
            Json::Object(out)
        }
        M::Ext(_, b) => bytes_json(b),
    }
}

fn cdt_bytes_json(b: &[u8]) -> Json {
    match b.split_first() {
        Some((&CDT_STRING_PREFIX, rest)) => {
            Json::String(String::from_utf8_lossy(rest).into_owned())
        }
        Some((&CDT_BLOB_PREFIX, rest)) => bytes_json(rest),
        // Raw msgpack strings (other clients' "raw string" mode).
        _ => Json::String(String::from_utf8_lossy(b).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_big_endian() {
        let p = Particle::decode(ptype::INTEGER, &(-5i64).to_be_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(p, Particle::Int(-5));
        assert_eq!(p.encode(), (-5i64).to_be_bytes().to_vec());
    }

    #[test]
    fn short_integers_are_unsigned_and_odd_widths_malformed() {
        assert_eq!(
            Particle::decode(ptype::INTEGER, &[0xFF, 0xFF]).unwrap(),
            Some(Particle::Int(0xFFFF))
        );
        assert!(Particle::decode(ptype::INTEGER, &[1, 2, 3]).is_err());
    }

    #[test]
    fn null_is_a_delete() {
        assert_eq!(Particle::decode(ptype::NULL, &[]).unwrap(), None);
    }

    #[test]
    fn list_with_prefixed_strings_decodes_to_json() {
        // ["ab", 7] in Aerospike msgpack: fixarray(2), fixstr(3) 0x03 'a' 'b', 7
        let bytes = [0x92, 0xa3, 0x03, b'a', b'b', 0x07];
        let p = Particle::decode(ptype::LIST, &bytes).unwrap().unwrap();
        assert_eq!(p.to_json(), serde_json::json!(["ab", 7]));
    }

    #[test]
    fn geojson_json_view_skips_the_header() {
        let mut b = vec![0, 0, 0];
        b.extend_from_slice(br#"{"type":"Point"}"#);
        let p = Particle::decode(ptype::GEOJSON, &b).unwrap().unwrap();
        assert_eq!(p.to_json(), serde_json::json!(r#"{"type":"Point"}"#));
    }

    #[test]
    fn garbage_list_is_rejected() {
        assert!(Particle::decode(ptype::LIST, &[0x92, 0x01]).is_err());
        assert!(Particle::decode(ptype::LIST, &[0x01]).is_err());
    }
}
