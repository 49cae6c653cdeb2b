//! How a message's fields become a record's bins: `message.layout`.
//!
//! | Layout     | Bins                                                                 |
//! |------------|----------------------------------------------------------------------|
//! | `bins`     | one bin per top-level field ([`bins::to_bins`]); a field name longer than 15 bytes cannot be stored |
//! | `document` | the whole message as one map bin (`message.document-bin`), any field names; plus one bin per `message.index-bins` pointer, named after its last token, holding a copy of that field (absent or null: no such bin) |
//!
//! With `message.version`, one more bin (`message.version-bin`) holds the message's
//! version, read back by the ordering guard's filter expression ([`Record::version`]).

use crate::pipeline::record::RuleError;
use aerospike::Bin;

use super::bins::{self, BinsError, MAX_BIN_NAME_LEN};
use super::pointer::Pointer;

/// `message.layout`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One bin per top-level field.
    Bins,
    /// The whole message in one map bin, plus copies of some fields as bins of their own.
    Document {
        /// `message.document-bin`.
        bin: String,
        /// `message.index-bins`.
        index: Vec<IndexBin>,
    },
}

/// A field copied to a bin of its own, for a secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexBin {
    pub pointer: Pointer,
    /// The pointer's last token (checked at start-up: 1 to 15 bytes).
    pub name: String,
}

impl IndexBin {
    /// An index bin for `pointer`, named after its last token; refused when that name is
    /// not a valid bin name.
    pub fn new(pointer: Pointer) -> Result<IndexBin, RuleError> {
        let name = pointer.last_token();
        if let Err(why) = check_bin_name(&name) {
            return Err(RuleError::IndexBinName {
                pointer,
                reason: Box::new(why),
            });
        }
        Ok(IndexBin { pointer, name })
    }
}

/// `Ok` when `name` can be a bin name, else why not.
pub fn check_bin_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty() || name.len() > MAX_BIN_NAME_LEN {
        return Err(RuleError::BinName(name.to_owned()));
    }
    Ok(())
}

impl Layout {
    /// The bins of one (parsed, valid) message.
    pub fn to_bins(&self, message: serde_json::Value) -> Result<Vec<Bin>, BinsError> {
        match self {
            Layout::Bins => bins::to_bins(message),
            Layout::Document { bin, index } => {
                if !message.is_object() {
                    return Err(BinsError::NotAnObject(super::pointer::json_type(&message)));
                }
                let mut out = Vec::with_capacity(1 + index.len());
                for field in index {
                    match field.pointer.get(&message) {
                        None | Some(serde_json::Value::Null) => {}
                        Some(value) => {
                            out.push(Bin::new(field.name.clone(), bins::to_value(value.clone())))
                        }
                    }
                }
                out.push(Bin::new(bin.clone(), bins::to_value(message)));
                Ok(out)
            }
        }
    }

    /// The name of every bin this layout may write besides the message's own fields
    /// (for the start-up checks of other bin names against them).
    pub fn fixed_bins(&self) -> Vec<&str> {
        match self {
            Layout::Bins => Vec::new(),
            Layout::Document { bin, index } => std::iter::once(bin.as_str())
                .chain(index.iter().map(|i| i.name.as_str()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerospike::{IndexMap, Value};
    use serde_json::json;

    fn document(index: &[&str]) -> Layout {
        Layout::Document {
            bin: "doc".into(),
            index: index
                .iter()
                .map(|p| IndexBin::new(Pointer::parse(p).unwrap()).unwrap())
                .collect(),
        }
    }

    #[test]
    fn a_document_takes_any_field_name() {
        let bins = document(&[])
            .to_bins(json!({"customer_account_id": 7}))
            .unwrap();
        let mut map = IndexMap::new();
        map.insert(Value::String("customer_account_id".into()), Value::Int(7));
        assert_eq!(bins, vec![Bin::new("doc", Value::OrderedMap(map))]);
        // The same message is refused as bins.
        assert!(matches!(
            Layout::Bins.to_bins(json!({"customer_account_id": 7})),
            Err(BinsError::BadBinName { len: 19, .. })
        ));
    }

    #[test]
    fn index_bins_copy_their_fields_and_skip_absent_ones() {
        let layout = document(&["/id", "/meta/type", "/gone", "/nothing"]);
        let bins = layout
            .to_bins(json!({"id": 1, "meta": {"type": "t"}, "nothing": null}))
            .unwrap();
        let names: Vec<_> = bins.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["id", "type", "doc"]);
        assert_eq!(bins[0].value, Value::Int(1));
        assert_eq!(bins[1].value, Value::String("t".into()));
        assert_eq!(
            layout.fixed_bins(),
            ["doc", "id", "type", "gone", "nothing"]
        );
    }

    #[test]
    fn a_document_must_be_an_object() {
        assert_eq!(
            document(&[]).to_bins(json!([1])),
            Err(BinsError::NotAnObject("an array"))
        );
        // An empty object is an empty map: storable.
        assert!(document(&[]).to_bins(json!({})).is_ok());
    }

    #[test]
    fn index_bin_names_are_checked() {
        assert!(IndexBin::new(Pointer::parse("/a_sixteen_bytes_").unwrap()).is_err());
        assert!(IndexBin::new(Pointer::parse("/x/").unwrap()).is_err());
        assert!(IndexBin::new(Pointer::parse("/x/fifteen_bytes__").unwrap()).is_ok());
        assert_eq!(
            IndexBin::new(Pointer::parse("/x/a~1b").unwrap())
                .unwrap()
                .name,
            "a/b"
        );
    }
}
