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
