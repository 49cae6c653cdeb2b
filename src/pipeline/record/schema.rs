//! The JSON Schema every message must match: compiled once at start-up, then asked
//! about each message.
//!
//! `$ref`s to local files resolve relative to the schema file (remote references are not
//! fetched: x-msrv is built without an HTTP client for them).

use std::fmt;
use std::path::{Path, PathBuf};

use super::Rejection;

/// How many schema violations a reason lists before it says "and N more".
const MAX_REPORTED_SCHEMA_ERRORS: usize = 3;
/// Longest text of one violation in a reason, in bytes. jsonschema's text quotes the
/// offending value whole: a 900 KB string over its `maxLength` made a 900 KB reason,
/// logged and stored beside the body (whose own copy is what keeps the value).
const MAX_VIOLATION_TEXT: usize = 200;

/// Why a schema file cannot be used (a configuration error).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} is not a valid JSON Schema: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A compiled JSON Schema.
pub struct SchemaValidator {
    path: PathBuf,
    validator: jsonschema::Validator,
}

impl fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaValidator")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SchemaValidator {
    /// Reads and compiles the schema at `path`.
    pub fn from_file(path: &Path) -> Result<Self, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let schema: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| SchemaError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        // The file's own URI as the base, so `{"$ref": "common.json"}` finds its sibling.
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let validator = jsonschema::options()
            .with_base_uri(format!("file://{}", absolute.display()))
            .build(&schema)
            .map_err(|e| SchemaError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(SchemaValidator {
            path: path.to_path_buf(),
            validator,
        })
    }

    /// Compiles a schema given as a value (tests, tools); local `$ref`s only.
    pub fn from_value(schema: &serde_json::Value) -> Result<Self, SchemaError> {
        let validator = jsonschema::validator_for(schema).map_err(|e| SchemaError::Invalid {
            path: PathBuf::from("(inline schema)"),
            message: e.to_string(),
        })?;
        Ok(SchemaValidator {
            path: PathBuf::from("(inline schema)"),
            validator,
        })
    }

    /// The file the schema came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parses `body` and checks it against the schema.
    pub fn check(&self, body: &[u8]) -> Result<serde_json::Value, Rejection> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| Rejection::from_json(&e))?;
        self.check_value(&value)?;
        Ok(value)
    }

    /// Checks an already parsed value against the schema.
    pub fn check_value(&self, value: &serde_json::Value) -> Result<(), Rejection> {
        if self.validator.is_valid(value) {
            return Ok(());
        }
        let mut reasons = Vec::new();
        let mut total = 0usize;
        for error in self.validator.iter_errors(value) {
            total += 1;
            if reasons.len() < MAX_REPORTED_SCHEMA_ERRORS {
                let at = error.instance_path().as_str();
                let at = if at.is_empty() { "(root)" } else { at };
                reasons.push(shorten(format!("{at}: {error}")));
            }
        }
        let mut reason = reasons.join("; ");
        if total > reasons.len() {
            reason.push_str(&format!("; and {} more", total - reasons.len()));
        }
        Err(Rejection::Schema(reason))
    }
}

/// `text` cut to about [`MAX_VIOLATION_TEXT`] bytes at character boundaries, keeping its
/// start and its end and saying how much was left out of the middle: jsonschema puts the
/// offending value first and the rule it broke last (`"bbbb…" is longer than 65536
/// characters`), so a long value must not push the rule out of the reason.
fn shorten(text: String) -> String {
    if text.len() <= MAX_VIOLATION_TEXT {
        return text;
    }
    let head = super::floor_boundary(&text, MAX_VIOLATION_TEXT / 2);
    let tail = super::ceil_boundary(&text, text.len() - MAX_VIOLATION_TEXT / 2);
    format!(
        "{}… ({} bytes left out) …{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}
