//! Environment overrides: `X_MSRV_<SECTION>__<KEY>` → the dotted key, checked against
//! [`KEYS`] so a typo is an error instead of silently doing nothing.

use super::error::ConfigError;
use super::{ENV_PREFIX, KEYS};

/// Keys whose value is a list: their environment override is split on commas.
const LIST_KEYS: &[&str] = &[
    "nsq.nsqd",
    "nsq.lookupd",
    "nsq.nsqd-http",
    "aerospike.hosts",
    "message.index-bins",
];

pub(super) fn env_vars() -> Vec<(String, String)> {
    // Non-UTF-8 variables cannot be ours (every key is ASCII); skip them.
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The `X_MSRV_` variables as (variable, dotted key, value); an unknown key is an error.
pub(super) fn env_overrides(
    env: &[(String, String)],
) -> Result<Vec<(String, String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = rest
            .split("__")
            .map(|part| part.to_ascii_lowercase().replace('_', "-"))
            .collect::<Vec<_>>()
            .join(".");
        if !KEYS.contains(&key.as_str()) {
            return Err(ConfigError::Env {
                var: var.clone(),
                message: format!(
                    "names no configuration key (expected {ENV_PREFIX}<SECTION>__<KEY>, e.g. {ENV_PREFIX}NSQ__MAX_MESSAGES)"
                ),
            });
        }
        out.push((var.clone(), key, value.clone()));
    }
    // Deterministic order, whatever order the environment lists them in.
    out.sort();
    Ok(out)
}

/// The variable that overrides `key`: `nsq.max-messages` → `X_MSRV_NSQ__MAX_MESSAGES`
/// (the inverse of the mapping in [`env_overrides`]).
pub(super) fn var_for(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__")
            .replace('-', "_")
            .to_ascii_uppercase()
    )
}

pub(super) fn value_for(key: &str, value: &str) -> config::Value {
    if LIST_KEYS.contains(&key) {
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        config::Value::from(items)
    } else {
        config::Value::from(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::config::test_support::{MINIMAL, schema_dir};
    use crate::config::{Format, KEYS, from_str_with_env};

    #[test]
    fn env_overrides_apply() {
        let dir = schema_dir();
        let env = [
            ("X_MSRV_NSQ__MAX_MESSAGES", "500"),
            ("X_MSRV_TIMEOUT", "10s"),
            ("X_MSRV_AEROSPIKE__HOSTS", "a:3000, b:3001"),
            ("X_MSRV_NSQ__TOPIC", "other"),
            ("PATH", "/usr/bin"),
        ];
        let s = from_str_with_env(MINIMAL, Format::Toml, dir.path(), env).unwrap();
        assert_eq!(s.nsq.consumer.max_messages, 500);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(
            s.aerospike.hosts,
            vec!["a:3000".to_owned(), "b:3001".to_owned()]
        );
        assert_eq!(s.nsq.consumer.topic, "other");
    }

    #[test]
    fn env_override_errors_name_the_key_or_variable() {
        let dir = schema_dir();
        let err = from_str_with_env(
            MINIMAL,
            Format::Toml,
            dir.path(),
            [("X_MSRV_NSQ__MAX_MESSAGES", "lots")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("nsq.max-messages: "), "{err}");
        let err = from_str_with_env(
            MINIMAL,
            Format::Toml,
            dir.path(),
            [("X_MSRV_NSQ__NOPE", "1")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("X_MSRV_NSQ__NOPE"), "{err}");
    }

    #[test]
    fn every_key_has_the_variable_that_overrides_it() {
        for key in KEYS {
            let var = var_for(key);
            let found = env_overrides(&[(var.clone(), "x".to_owned())])
                .unwrap_or_else(|e| panic!("{key} -> {var}: {e}"));
            assert_eq!(found[0].1, *key, "{var}");
        }
        assert_eq!(
            var_for("aerospike.password-file"),
            "X_MSRV_AEROSPIKE__PASSWORD_FILE"
        );
    }
}
