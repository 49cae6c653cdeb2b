//! `[message]`: the schema file (read and compiled here), the record key, the layout of
//! a record's bins and the version rule; together a [`RecordRules`].

use std::path::Path;

use crate::config::NSQ_ID_KEY;
use crate::config::error::ConfigError;
use crate::config::raw::RawMessage;
use crate::pipeline::record::{
    self, IndexBin, Layout, Pointer, RecordKey, RecordRules, Routing, SchemaValidator, VersionRule,
};
use crate::pipeline::store::WriteMode;

/// `message.document-bin` and `message.version-bin` when unset.
const DEFAULT_DOCUMENT_BIN: &str = "doc";
const DEFAULT_VERSION_BIN: &str = "version";

pub(super) fn check_message(
    raw: RawMessage,
    base_dir: &Path,
    routing: Routing,
    write: WriteMode,
) -> Result<(RecordRules, Option<String>), ConfigError> {
    let key = if raw.key == NSQ_ID_KEY {
        RecordKey::NsqId
    } else {
        RecordKey::pointer(&raw.key).map_err(|why| ConfigError::invalid("message.key", why))?
    };
    let layout = check_layout(&raw)?;
    let version = match raw.version {
        None => {
            if raw.version_bin.is_some() {
                return Err(ConfigError::invalid(
                    "message.version-bin",
                    "only with message.version (the ordering guard)",
                ));
            }
            None
        }
        Some(text) => {
            const KEY: &str = "message.version";
            let pointer = Pointer::parse(&text).map_err(|why| ConfigError::invalid(KEY, why))?;
            if write == WriteMode::CreateOnly {
                return Err(ConfigError::invalid(
                    KEY,
                    "not with aerospike.write = \"create-only\" (a record is never overwritten there: nothing to guard)",
                ));
            }
            let bin = raw
                .version_bin
                .unwrap_or_else(|| DEFAULT_VERSION_BIN.to_owned());
            Some(
                VersionRule::new(pointer, bin, &layout)
                    .map_err(|why| ConfigError::invalid("message.version-bin", why))?,
            )
        }
    };
    let schema_path = if raw.schema.is_absolute() {
        raw.schema
    } else {
        base_dir.join(raw.schema)
    };
    let schema = SchemaValidator::from_file(&schema_path)
        .map_err(|e| ConfigError::invalid("message.schema", e.to_string()))?;
    let version_bin = version.as_ref().map(|v| v.bin().to_owned());
    let mut rules = RecordRules::new(schema, key)
        .with_routing(routing)
        .with_layout(layout);
    if let Some(version) = version {
        rules = rules.with_version(version);
    }
    Ok((rules, version_bin))
}

/// `message.layout` with `message.document-bin` and `message.index-bins`.
fn check_layout(raw: &RawMessage) -> Result<Layout, ConfigError> {
    match raw.layout.as_str() {
        "bins" => {
            if raw.document_bin.is_some() {
                return Err(ConfigError::invalid(
                    "message.document-bin",
                    "only with message.layout = \"document\"",
                ));
            }
            if !raw.index_bins.is_empty() {
                return Err(ConfigError::invalid(
                    "message.index-bins",
                    "only with message.layout = \"document\" (under \"bins\" every top-level field is a bin already)",
                ));
            }
            Ok(Layout::Bins)
        }
        "document" => {
            let bin = raw
                .document_bin
                .clone()
                .unwrap_or_else(|| DEFAULT_DOCUMENT_BIN.to_owned());
            record::check_bin_name(&bin)
                .map_err(|why| ConfigError::invalid("message.document-bin", why))?;
            const KEY: &str = "message.index-bins";
            let mut index: Vec<IndexBin> = Vec::with_capacity(raw.index_bins.len());
            for text in &raw.index_bins {
                let pointer = Pointer::parse(text).map_err(|why| ConfigError::invalid(KEY, why))?;
                let field = IndexBin::new(pointer).map_err(|why| ConfigError::invalid(KEY, why))?;
                if field.name == bin {
                    return Err(ConfigError::invalid(
                        KEY,
                        format!(
                            "{}: its bin {:?} is message.document-bin",
                            field.pointer, field.name
                        ),
                    ));
                }
                if let Some(other) = index.iter().find(|i| i.name == field.name) {
                    return Err(ConfigError::invalid(
                        KEY,
                        format!(
                            "{} and {} would both be bin {:?}",
                            other.pointer, field.pointer, field.name
                        ),
                    ));
                }
                index.push(field);
            }
            Ok(Layout::Document { bin, index })
        }
        other => Err(ConfigError::invalid(
            "message.layout",
            format!("{other:?}: expected \"bins\" or \"document\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, error, parse, schema_dir, with};
    use crate::config::{Format, WriteMode, from_str};

    #[test]
    fn relative_schema_resolves_against_the_base_dir() {
        let dir = schema_dir();
        let s = from_str(MINIMAL, Format::Toml, dir.path()).unwrap();
        assert_eq!(s.message.schema_path(), dir.path().join("schema.json"));
    }

    #[test]
    fn missing_or_broken_schema_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = from_str(MINIMAL, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("message.schema: "), "{err}");
        std::fs::write(dir.path().join("schema.json"), "{ not json").unwrap();
        let err = from_str(MINIMAL, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("message.schema: "), "{err}");
        std::fs::write(dir.path().join("schema.json"), r#"{"type": 12}"#).unwrap();
        let err = from_str(MINIMAL, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("message.schema: "), "{err}");
    }

    #[test]
    fn layouts_routing_and_write_modes() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.aerospike.write, WriteMode::Replace);
        assert_eq!(s.aerospike.version_bin, None);
        let s = parse(&with(
            "message",
            "layout = \"document\"\nindex-bins = [\"/id\", \"/meta/type\"]\nversion = \"/ts\"",
        ))
        .unwrap();
        assert_eq!(s.aerospike.version_bin.as_deref(), Some("version"));
        let s = parse(&with("aerospike", "write = \"create-only\"")).unwrap();
        assert_eq!(s.aerospike.write, WriteMode::CreateOnly);
        let s = parse(&with("aerospike", "write = \"update\"")).unwrap();
        assert_eq!(s.aerospike.write, WriteMode::Update);
        for (text, want) in [
            (
                with(
                    "message",
                    "layout = \"document\"\nindex-bins = [\"/customer_account_id\"]",
                ),
                "message.index-bins: /customer_account_id: its bin name \"customer_account_id\" is 19 bytes",
            ),
            (
                with(
                    "message",
                    "layout = \"document\"\nindex-bins = [\"/a/type\", \"/b/type\"]",
                ),
                "message.index-bins: /a/type and /b/type would both be bin \"type\"",
            ),
            (
                with("message", "layout = \"document\"\nindex-bins = [\"/doc\"]"),
                "message.index-bins: /doc: its bin \"doc\" is message.document-bin",
            ),
            (
                with(
                    "message",
                    "layout = \"document\"\nversion = \"/ts\"\nversion-bin = \"doc\"",
                ),
                "message.version-bin: \"doc\" is also message.document-bin",
            ),
            (
                with("message", "version = \"/ts\"").replace(
                    "[message]",
                    "[aerospike]\nwrite = \"create-only\"\n[message]",
                ),
                "message.version: not with aerospike.write = \"create-only\"",
            ),
            (
                with(
                    "message",
                    "version = \"/ts\"\nversion-bin = \"a_sixteen_bytes_\"",
                ),
                "message.version-bin: \"a_sixteen_bytes_\" is 16 bytes",
            ),
        ] {
            let err = error(&text);
            assert!(err.starts_with(want), "{text}\ngot {err}\nwant {want}");
        }
    }
}
