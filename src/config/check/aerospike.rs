//! `[aerospike]`: the hosts, namespace and sets (with `rejected.set`, which must differ
//! from `aerospike.set`), the routing pointers, the write mode, TTL, timeout, batch size
//! and the credentials; together [`AerospikeSettings`] and the [`Routing`] of records.

use std::path::Path;

use super::address::check_host_port;
use super::non_zero;
use super::secrets::SecretKeys;
use crate::config::error::ConfigError;
use crate::config::raw::RawAerospike;
use crate::pipeline::record::{self, MAX_TTL, Pointer, Routing};
use crate::pipeline::store::{AerospikeSettings, Ttl, WriteMode};

/// Aerospike's default `batch-max-requests`: a batch with more rows is refused whole.
const MAX_BATCH_SIZE: usize = 5000;
/// Aerospike's limit on namespace names.
const MAX_NAMESPACE_LEN: usize = 31;

/// `aerospike.set-from` and `aerospike.ttl-from`.
pub(super) fn check_routing(
    raw: &RawAerospike,
    rejected_set: &str,
) -> Result<Routing, ConfigError> {
    let pointer = |key: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| Pointer::parse(t).map_err(|why| ConfigError::invalid(key, why)))
            .transpose()
    };
    Ok(Routing {
        set_from: pointer("aerospike.set-from", &raw.set_from)?,
        ttl_from: pointer("aerospike.ttl-from", &raw.ttl_from)?,
        rejected_set: rejected_set.to_owned(),
    })
}

pub(super) fn check_set_name(key: &str, set: &str) -> Result<(), ConfigError> {
    record::check_set_name(set).map_err(|why| ConfigError::invalid(key, why))
}

pub(super) fn check_aerospike(
    raw: RawAerospike,
    rejected_set: String,
    base_dir: &Path,
) -> Result<AerospikeSettings, ConfigError> {
    if raw.hosts.is_empty() {
        return Err(ConfigError::invalid(
            "aerospike.hosts",
            "at least one host is required",
        ));
    }
    for host in &raw.hosts {
        check_host_port("aerospike.hosts", host, true)?;
    }
    let namespace = raw.namespace;
    if namespace.is_empty()
        || namespace.len() > MAX_NAMESPACE_LEN
        || namespace.contains(['.', ':', ';'])
    {
        return Err(ConfigError::invalid(
            "aerospike.namespace",
            format!(
                "{namespace:?}: a namespace name is 1-{MAX_NAMESPACE_LEN} bytes without '.', ':' or ';'"
            ),
        ));
    }
    check_set_name("aerospike.set", &raw.set)?;
    if raw.set == rejected_set {
        return Err(ConfigError::invalid(
            "rejected.set",
            format!(
                "must differ from aerospike.set ({:?}), or rejected messages would mix with stored ones",
                raw.set
            ),
        ));
    }
    let ttl = parse_ttl(&raw.ttl)?;
    let write = match raw.write.as_str() {
        "replace" => WriteMode::Replace,
        "update" => WriteMode::Update,
        "create-only" => WriteMode::CreateOnly,
        other => {
            return Err(ConfigError::invalid(
                "aerospike.write",
                format!("{other:?}: expected \"replace\", \"update\" or \"create-only\""),
            ));
        }
    };
    let timeout = non_zero("aerospike.timeout", raw.timeout)?;
    if raw.batch_size == 0 || raw.batch_size > MAX_BATCH_SIZE {
        return Err(ConfigError::invalid(
            "aerospike.batch-size",
            format!("must be between 1 and {MAX_BATCH_SIZE} (Aerospike's batch-max-requests)"),
        ));
    }
    let password = SecretKeys {
        inline: "aerospike.password",
        file: "aerospike.password-file",
    };
    match (
        &raw.user,
        password.given(&raw.password, &raw.password_file)?,
    ) {
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                password.inline,
                format!("missing (aerospike.user is set; or give {})", password.file),
            ));
        }
        (None, Some(key)) => {
            return Err(ConfigError::invalid(
                "aerospike.user",
                format!("missing ({key} is set)"),
            ));
        }
        _ => {}
    }
    let password = password.read(raw.password, raw.password_file, base_dir)?;
    Ok(AerospikeSettings {
        hosts: raw.hosts,
        namespace,
        set: raw.set,
        rejected_set,
        ttl,
        write,
        version_bin: None,
        timeout,
        batch_size: raw.batch_size,
        user: raw.user,
        password,
    })
}

fn parse_ttl(text: &str) -> Result<Ttl, ConfigError> {
    const KEY: &str = "aerospike.ttl";
    match text {
        "default" => Ok(Ttl::NamespaceDefault),
        "never" => Ok(Ttl::Never),
        _ => {
            let d = humantime::parse_duration(text).map_err(|e| {
                ConfigError::invalid(
                    KEY,
                    format!(
                        "{text:?}: expected \"default\", \"never\" or a duration like \"30d\" ({e})"
                    ),
                )
            })?;
            // Aerospike counts whole seconds; 0 is its "namespace default" marker,
            // and the server refuses more than ten years (365-day years: humantime's
            // "10y" is 10 × 365.25 days, a little too long) with PARAMETER_ERROR.
            let secs = d.as_secs();
            if secs == 0 || secs > u64::from(MAX_TTL) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!(
                        "{text:?}: a TTL is at least 1s and at most 3650d (Aerospike's limit, {MAX_TTL} s)"
                    ),
                ));
            }
            Ok(Ttl::Seconds(
                u32::try_from(secs).expect("checked just above"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{error, parse, schema_dir, with};
    use crate::config::{Format, Ttl, from_str};

    #[test]
    fn ttl_never() {
        let s = parse(&with("aerospike", r#"ttl = "never""#)).unwrap();
        assert_eq!(s.aerospike.ttl, Ttl::Never);
    }

    #[test]
    fn the_longest_ttl_is_aerospikes() {
        let s = parse(&with("aerospike", r#"ttl = "3650d""#)).unwrap();
        assert_eq!(
            s.aerospike.ttl,
            Ttl::Seconds(crate::pipeline::record::MAX_TTL)
        );
    }

    #[test]
    fn a_user_goes_with_a_password_from_either_key() {
        let err = error(&with("aerospike", r#"user = "u""#));
        assert!(
            err.starts_with("aerospike.password: missing")
                && err.contains("aerospike.password-file"),
            "{err}"
        );
        let dir = schema_dir();
        std::fs::write(dir.path().join("pw"), "p\n").unwrap();
        let text = with("aerospike", r#"password-file = "pw""#);
        let err = from_str(&text, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("aerospike.user: missing (aerospike.password-file is set)"),
            "{err}"
        );
    }
}
