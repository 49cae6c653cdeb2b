//! [`ConfigError`], and turning the `config` crate's and serde's errors into ones that
//! start with the key at fault (`nsq.max-messages: ...`).

use std::path::PathBuf;

/// What can go wrong loading the configuration. Each message names the file, the key or
/// the environment variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No `--config` and none of the default files exists.
    #[error("no configuration file found (tried {}); give one with --config", tried.join(", "))]
    NotFound { tried: Vec<String> },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file's extension names no supported format.
    #[error("{path}: unsupported configuration format (use .toml, .yaml, .yml or .json)")]
    Format { path: PathBuf },
    /// The file is not valid TOML/YAML/JSON.
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// A key has a bad value, is unknown, or is missing.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    /// An `X_MSRV_` variable names no key.
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl ConfigError {
    pub(super) fn invalid(key: &str, message: impl std::fmt::Display) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_string(),
        }
    }
}

pub(super) fn syntax_error(origin: &str, e: config::ConfigError) -> ConfigError {
    let message = match e {
        config::ConfigError::FileParse { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    ConfigError::Syntax {
        origin: origin.to_owned(),
        message: message.trim_end().to_owned(),
    }
}

/// Turns the `config` crate's error into one that starts with the key at fault.
pub(super) fn deserialize_error(e: config::ConfigError) -> ConfigError {
    match e {
        config::ConfigError::Type {
            unexpected,
            expected,
            key,
            ..
        } => ConfigError::Invalid {
            key: key.unwrap_or_else(|| "(top level)".to_owned()),
            message: format!("invalid value: {unexpected}, expected {expected}"),
        },
        config::ConfigError::At { error, key, .. } => {
            let inner = match *error {
                config::ConfigError::Message(m) => m,
                other => other.to_string(),
            };
            keyed_message(key.as_deref(), &inner)
        }
        config::ConfigError::Message(m) => keyed_message(None, &m),
        config::ConfigError::NotFound(key) => ConfigError::invalid(&key, "missing"),
        other => ConfigError::Syntax {
            origin: "configuration".to_owned(),
            message: other.to_string(),
        },
    }
}

/// serde reports an unknown field in the parent's key (`nsq`); say which field, in
/// which section. Other messages belong to the key itself.
fn keyed_message(key: Option<&str>, message: &str) -> ConfigError {
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        let place = match key {
            Some(section) => format!("[{section}]"),
            None => "the top level".to_owned(),
        };
        let key = match key {
            Some(section) => format!("{section}.{field}"),
            None => field.to_owned(),
        };
        return ConfigError::Invalid {
            key,
            message: format!("unknown field `{field}` in {place}"),
        };
    }
    ConfigError::Invalid {
        key: key.unwrap_or("(top level)").to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, error, with};

    #[test]
    fn unknown_keys_are_errors() {
        let err = error(&with("aerospike", "hostz = []"));
        assert!(
            err.contains("unknown field `hostz` in [aerospike]"),
            "{err}"
        );
        assert!(err.starts_with("aerospike.hostz: "), "{err}");
        let err = error(&format!("timeoutt = \"1s\"\n{MINIMAL}"));
        assert!(err.contains("unknown field `timeoutt`"), "{err}");
        let err = error(&format!("{MINIMAL}\n[extra]\na = 1\n"));
        assert!(err.contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        let err = error("[nsq\n");
        assert!(err.starts_with("configuration: "), "{err}");
    }
}
