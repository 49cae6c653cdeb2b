//! TLS to nsqd: the client side of IDENTIFY's `tls_v1`, built once at start-up from the
//! configured files and shared by every connection (and by `check`).
//!
//! nsqd upgrades the very TCP connection it answered IDENTIFY on (`clientV2.UpgradeTLS`),
//! so the handshake here runs over that socket too (see `conn`); this module only holds
//! what the handshake needs: the roots that may sign nsqd's certificate, the client
//! certificate for `--tls-client-auth-policy=require-verify`, the lowest version, and the
//! name to verify.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

/// The lowest TLS version x-msrv accepts from nsqd. rustls implements 1.2 and 1.3 only;
/// nsqd's default `--tls-min-version` is 1.0, but any nsqd built with Go ≥ 1.13 offers 1.3.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    #[default]
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// Parses `1.2` / `1.3`, also spelt as nsqd's flag spells them (`tls1.2`).
    pub fn parse(s: &str) -> Result<TlsVersion, String> {
        match s.strip_prefix("tls").unwrap_or(s) {
            "1.2" => Ok(TlsVersion::Tls12),
            "1.3" => Ok(TlsVersion::Tls13),
            "1.0" | "1.1" => Err(format!(
                "{s:?} is not supported: rustls speaks TLS 1.2 and 1.3 only (use \"1.2\")"
            )),
            _ => Err(format!("{s:?} is not a TLS version (\"1.2\" or \"1.3\")")),
        }
    }

    fn versions(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static FROM_12: [&rustls::SupportedProtocolVersion; 2] =
            [&rustls::version::TLS13, &rustls::version::TLS12];
        static ONLY_13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self {
            TlsVersion::Tls12 => &FROM_12,
            TlsVersion::Tls13 => &ONLY_13,
        }
    }
}

/// Where the certificates that may sign nsqd's come from.
#[derive(Debug)]
pub enum Roots {
    /// The system's trust store (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`).
    System,
    /// The certificates of one PEM file (`nsq.tls-ca-file`).
    File(Vec<CertificateDer<'static>>),
}

/// What is wrong with the TLS settings, by the part it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    /// The trust anchors (the CA file, or the system's store).
    #[error("{0}")]
    Roots(String),
    /// The client certificate and key.
    #[error("{0}")]
    Identity(String),
    /// The name to verify.
    #[error("{0}")]
    ServerName(String),
}

/// Everything a TLS connection to nsqd needs, built once.
#[derive(Debug)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    /// The name nsqd's certificate must carry; `None`: the host of each nsqd address.
    server_name: Option<ServerName<'static>>,
    /// The roots, the client certificate and the lowest version as given, for HTTPS to
    /// nsqlookupd and nsqd (`http`).
    roots: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    min_version: TlsVersion,
}

impl TlsClient {
    /// Builds the client configuration. `identity`: a certificate chain and its key,
    /// presented when nsqd asks for one. Errors are for the operator: they say what is
    /// wrong, not where it was configured (the caller adds the key).
    pub fn new(
        roots: Roots,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
        min_version: TlsVersion,
        server_name: Option<&str>,
    ) -> Result<TlsClient, TlsSetupError> {
        let server_name = server_name
            .map(|name| {
                ServerName::try_from(name.to_owned()).map_err(|_| {
                    TlsSetupError::ServerName(format!(
                        "{name:?} is not a DNS name or an IP address"
                    ))
                })
            })
            .transpose()?;
        let roots = match roots {
            Roots::File(certs) => certs,
            Roots::System => system_roots().map_err(TlsSetupError::Roots)?,
        };
        let mut store = RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(roots.iter().cloned());
        if added == 0 {
            return Err(TlsSetupError::Roots(format!(
                "none of the {ignored} certificates is usable as a trust anchor"
            )));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(min_version.versions())
            .expect("ring offers TLS 1.2 and 1.3")
            .with_root_certificates(store);
        let config = match &identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| {
                    TlsSetupError::Identity(format!(
                        "the client certificate and key do not go together: {e}"
                    ))
                })?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsClient {
            config: Arc::new(config),
            server_name,
            roots,
            identity,
            min_version,
        })
    }

    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
    }

    /// The name to verify nsqd's certificate against: the configured one, else the host
    /// of its address (`host:port`, `[v6]:port`).
    pub(crate) fn server_name(&self, addr: &str) -> Result<ServerName<'static>, String> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_owned()).map_err(|_| {
            format!("{host:?} is not a DNS name or an IP address to verify the certificate against")
        })
    }

    /// The trust anchors, as loaded.
    pub fn roots(&self) -> &[CertificateDer<'static>] {
        &self.roots
    }

    /// The client certificate chain and key, if one is presented.
    pub fn identity(&self) -> Option<(&[CertificateDer<'static>], &PrivateKeyDer<'static>)> {
        self.identity.as_ref().map(|(c, k)| (c.as_slice(), k))
    }

    /// The lowest TLS version accepted (`nsq.tls-min-version`).
    pub fn min_version(&self) -> TlsVersion {
        self.min_version
    }
}

/// The system's trust store, as DER (`/etc/ssl/certs`, or `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`); an error when it holds nothing usable.
pub(crate) fn system_roots() -> Result<Vec<CertificateDer<'static>>, String> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(error = %e, "a system certificate could not be loaded");
    }
    if found.certs.is_empty() {
        return Err(match found.errors.first() {
            Some(e) => format!("no system trust store could be read ({e})"),
            None => "the system trust store holds no certificate".to_owned(),
        });
    }
    Ok(found.certs)
}

/// Every certificate of a PEM file, in order (a chain: the leaf first).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("{} holds no PEM private key", path.display())
        }
        e => pem_error(path, e),
    })
}

fn pem_error(path: &Path, e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => format!("cannot read {}: {io}", path.display()),
        e => format!("{} is not valid PEM: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_nsqd_spells_them() {
        assert_eq!(TlsVersion::parse("1.2"), Ok(TlsVersion::Tls12));
        assert_eq!(TlsVersion::parse("tls1.3"), Ok(TlsVersion::Tls13));
        assert!(
            TlsVersion::parse("1.0")
                .unwrap_err()
                .contains("1.2 and 1.3 only")
        );
        assert!(TlsVersion::parse("ssl3.0").is_err());
    }
}
