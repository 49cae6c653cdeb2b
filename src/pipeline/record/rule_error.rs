//! [`RuleError`]: why a rule of the record stage cannot be built from the configuration
//! (a JSON pointer, a bin or set name, the version rule). The configuration check puts
//! the key in front (`message.key: ...`); a message naming a bad set gets the same text
//! in its rejection.

use crate::pipeline::record::Pointer;
use crate::pipeline::record::bins::MAX_BIN_NAME_LEN;
use crate::pipeline::record::route::MAX_SET_LEN;

/// A rule the record stage refuses, worded for the operator who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `message.key` is neither `nsq-id` nor a JSON pointer.
    #[error("{0:?} is neither \"nsq-id\" nor a JSON pointer like \"/id\" (it must start with '/')")]
    NotAKey(String),
    /// A JSON pointer that does not start with `/` (the empty pointer included).
    #[error("{0:?} is not a JSON pointer like \"/id\" (it must start with '/')")]
    NotAPointer(String),
    /// A `~` in a JSON pointer not followed by `0` or `1`.
    #[error("{0:?}: in a JSON pointer '~' must be followed by 0 or 1")]
    BadEscape(String),
    /// An empty bin name, or one longer than Aerospike allows.
    #[error("{0:?} is {len} bytes; Aerospike bin names are 1 to {MAX_BIN_NAME_LEN} bytes", len = .0.len())]
    BinName(String),
    /// The bin an index field would get is not a valid name.
    #[error("{pointer}: its bin name {reason}")]
    IndexBinName {
        pointer: Pointer,
        reason: Box<RuleError>,
    },
    /// A set name Aerospike would refuse (quoted, cut to a readable length).
    #[error("{0:?}: a set name is 1-{MAX_SET_LEN} bytes without '.', ':' or ';'")]
    SetName(String),
    /// The version's bin is the document bin.
    #[error("{0:?} is also message.document-bin; give the version a bin of its own")]
    VersionIsDocumentBin(String),
    /// The version's bin is the index bin of another field.
    #[error("{bin:?} is also the index bin of {of} (message.index-bins)")]
    VersionIsIndexBin { bin: String, of: Pointer },
}
