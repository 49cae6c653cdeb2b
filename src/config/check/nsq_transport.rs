//! `[nsq]`'s transport keys: `nsq.tls` and its files, `nsq.compression` with
//! `nsq.deflate-level`, and `nsq.auth-secret` / `nsq.auth-secret-file`. Apart from the
//! rest of `[nsq]` because they read files (certificates, keys, the secret) and build
//! the objects the handshake uses, so a bad one is a config error before any connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::secrets::SecretKeys;
use crate::config::error::ConfigError;
use crate::config::raw::{RawNsq, Redacted};
use nsq::tls::{Roots, TlsSetupError, TlsVersion, load_certificates, load_private_key};
use nsq::{Compression, Secret, TlsClient};

/// `nsq.tls` and its files: read and built now, so a wrong path or a bad certificate is
/// a config error naming its key, before any connection.
pub(super) fn check_tls(
    raw: &mut RawNsq,
    base_dir: &Path,
) -> Result<Option<Arc<TlsClient>>, ConfigError> {
    let min_version = TlsVersion::parse(&raw.tls_min_version)
        .map_err(|why| ConfigError::invalid("nsq.tls-min-version", why.to_string()))?;
    if !raw.tls {
        let set = [
            ("nsq.tls-ca-file", raw.tls_ca_file.is_some()),
            ("nsq.tls-cert-file", raw.tls_cert_file.is_some()),
            ("nsq.tls-key-file", raw.tls_key_file.is_some()),
            ("nsq.tls-server-name", raw.tls_server_name.is_some()),
        ];
        if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
            return Err(ConfigError::invalid(
                key,
                "has no effect without nsq.tls = true (set it, or remove this key)",
            ));
        }
        return Ok(None);
    }
    let file = |key: &str, path: PathBuf| {
        if path.as_os_str().is_empty() {
            Err(ConfigError::invalid(key, "must not be empty"))
        } else {
            Ok(base_dir.join(path))
        }
    };
    let roots = match raw.tls_ca_file.take() {
        Some(path) => {
            let path = file("nsq.tls-ca-file", path)?;
            Roots::File(
                load_certificates(&path)
                    .map_err(|why| ConfigError::invalid("nsq.tls-ca-file", why.to_string()))?,
            )
        }
        None => Roots::System,
    };
    let identity = match (raw.tls_cert_file.take(), raw.tls_key_file.take()) {
        (Some(cert), Some(key)) => {
            let cert = file("nsq.tls-cert-file", cert)?;
            let key = file("nsq.tls-key-file", key)?;
            Some((
                load_certificates(&cert)
                    .map_err(|why| ConfigError::invalid("nsq.tls-cert-file", why.to_string()))?,
                load_private_key(&key)
                    .map_err(|why| ConfigError::invalid("nsq.tls-key-file", why.to_string()))?,
            ))
        }
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "nsq.tls-key-file",
                "missing (nsq.tls-cert-file is set; a client certificate needs its key)",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "nsq.tls-cert-file",
                "missing (nsq.tls-key-file is set; a key needs its certificate)",
            ));
        }
        (None, None) => None,
    };
    let roots_key = match roots {
        Roots::System => "nsq.tls",
        Roots::File(_) => "nsq.tls-ca-file",
    };
    let client = TlsClient::new(roots, identity, min_version, raw.tls_server_name.as_deref())
        .map_err(|e| {
            let key = match e {
                TlsSetupError::Roots(_) => roots_key,
                TlsSetupError::Identity(_) => "nsq.tls-cert-file",
                TlsSetupError::ServerName(_) => "nsq.tls-server-name",
            };
            ConfigError::invalid(key, e.to_string())
        })?;
    Ok(Some(Arc::new(client)))
}

/// nsqd's default `--max-deflate-level`, and what x-msrv asks for by default.
const DEFAULT_DEFLATE_LEVEL: u8 = 6;

pub(super) fn check_compression(raw: &RawNsq) -> Result<Compression, ConfigError> {
    let compression = match raw.compression.as_str() {
        "none" => Compression::None,
        "snappy" => Compression::Snappy,
        "deflate" => {
            let level = raw.deflate_level.unwrap_or(DEFAULT_DEFLATE_LEVEL);
            if !(1..=9).contains(&level) {
                return Err(ConfigError::invalid(
                    "nsq.deflate-level",
                    format!("must be from 1 to 9, not {level}"),
                ));
            }
            Compression::Deflate(level)
        }
        other => {
            return Err(ConfigError::invalid(
                "nsq.compression",
                format!("{other:?}: expected \"none\", \"snappy\" or \"deflate\""),
            ));
        }
    };
    if raw.deflate_level.is_some() && !matches!(compression, Compression::Deflate(_)) {
        return Err(ConfigError::invalid(
            "nsq.deflate-level",
            "only with nsq.compression = \"deflate\"",
        ));
    }
    Ok(compression)
}

pub(super) fn check_auth_secret(
    raw: &mut RawNsq,
    base_dir: &Path,
) -> Result<Option<Secret>, ConfigError> {
    const KEYS: SecretKeys = SecretKeys {
        inline: "nsq.auth-secret",
        file: "nsq.auth-secret-file",
    };
    let inline = raw.auth_secret.take().map(|Redacted(s)| s);
    if inline.as_deref() == Some("") {
        return Err(ConfigError::invalid(KEYS.inline, "must not be empty"));
    }
    Ok(KEYS
        .read(inline, raw.auth_secret_file.take(), base_dir)?
        .map(Secret::new))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::test_support::{schema_dir, with};
    use crate::config::{ConfigError, Format, Settings, from_str};
    use nsq::Compression;

    /// A directory with the schema, a test PKI (`ca.pem`, `client.pem`, `client.key`) and
    /// `secret` / `empty` secret files.
    fn secured_dir() -> tempfile::TempDir {
        let dir = schema_dir();
        devstack::tls::TestPki::generate_in(dir.path()).unwrap();
        std::fs::write(dir.path().join("secret"), "s3cret\r\n").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        dir
    }

    fn parse_in(dir: &tempfile::TempDir, nsq_lines: &str) -> Result<Settings, ConfigError> {
        from_str(&with("nsq", nsq_lines), Format::Toml, dir.path())
    }

    #[test]
    fn tls_compression_and_auth_keys_are_read() {
        let dir = secured_dir();
        let s = parse_in(&dir, "").unwrap();
        assert!(s.nsq.consumer.tls.is_none());
        assert_eq!(s.nsq.consumer.compression, Compression::None);
        assert!(s.nsq.consumer.auth_secret.is_none());
        assert_eq!(s.nsq.idle_timeout, Some(Duration::from_secs(2)));
        let s = parse_in(
            &dir,
            "tls = true\ntls-ca-file = \"ca.pem\"\ntls-cert-file = \"client.pem\"\ntls-key-file = \"client.key\"\ncompression = \"deflate\"\nauth-secret-file = \"secret\"\nidle-timeout = \"0s\"",
        )
        .unwrap();
        let tls = s.nsq.consumer.tls.as_ref().unwrap();
        assert_eq!(tls.roots().len(), 1);
        assert!(tls.identity().is_some());
        assert_eq!(
            s.nsq.consumer.compression,
            Compression::Deflate(6),
            "nsqd's default level"
        );
        assert_eq!(
            s.nsq.consumer.auth_secret.as_ref().map(|s| s.expose()),
            Some("s3cret"),
            "the trailing line break is not part of the secret"
        );
        assert_eq!(s.nsq.idle_timeout, None, "0s turns it off");
        let debug = format!("{s:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let s = parse_in(&dir, "compression = \"snappy\"\nauth-secret = \"inline\"").unwrap();
        assert_eq!(s.nsq.consumer.compression, Compression::Snappy);
        assert_eq!(s.nsq.consumer.auth_secret.unwrap().expose(), "inline");
    }

    #[test]
    fn tls_compression_and_auth_errors_name_their_keys() {
        let dir = secured_dir();
        let err = |lines: &str| parse_in(&dir, lines).unwrap_err().to_string();
        for (lines, key, says) in [
            (
                "tls-ca-file = \"ca.pem\"",
                "nsq.tls-ca-file",
                "without nsq.tls = true",
            ),
            (
                "tls-server-name = \"x\"",
                "nsq.tls-server-name",
                "without nsq.tls = true",
            ),
            (
                "tls = true\ntls-ca-file = \"missing.pem\"",
                "nsq.tls-ca-file",
                "missing.pem",
            ),
            (
                "tls = true\ntls-ca-file = \"secret\"",
                "nsq.tls-ca-file",
                "no PEM certificate",
            ),
            (
                "tls = true\ntls-ca-file = \"ca.pem\"\ntls-cert-file = \"client.pem\"",
                "nsq.tls-key-file",
                "missing",
            ),
            (
                "tls = true\ntls-ca-file = \"ca.pem\"\ntls-key-file = \"client.key\"",
                "nsq.tls-cert-file",
                "missing",
            ),
            (
                "tls = true\ntls-ca-file = \"ca.pem\"\ntls-cert-file = \"client.pem\"\ntls-key-file = \"ca.pem\"",
                "nsq.tls-key-file",
                "no PEM private key",
            ),
            (
                "tls = true\ntls-ca-file = \"ca.pem\"\ntls-server-name = \"not a name\"",
                "nsq.tls-server-name",
                "not a DNS name",
            ),
            (
                "tls-min-version = \"1.1\"",
                "nsq.tls-min-version",
                "1.2 and 1.3 only",
            ),
            ("compression = \"zstd\"", "nsq.compression", "\"zstd\""),
            (
                "compression = \"deflate\"\ndeflate-level = 10",
                "nsq.deflate-level",
                "1 to 9",
            ),
            ("deflate-level = 3", "nsq.deflate-level", "only with"),
            (
                "auth-secret = \"a\"\nauth-secret-file = \"secret\"",
                "nsq.auth-secret",
                "nsq.auth-secret-file",
            ),
            ("auth-secret = \"\"", "nsq.auth-secret", "must not be empty"),
            (
                "auth-secret-file = \"empty\"",
                "nsq.auth-secret-file",
                "is empty",
            ),
            (
                "auth-secret-file = \"nowhere\"",
                "nsq.auth-secret-file",
                "nowhere",
            ),
        ] {
            let e = err(lines);
            assert!(e.starts_with(key) && e.contains(says), "{lines:?}: {e}");
        }
    }
}
