//! TLS to nsqd: the client side of IDENTIFY's `tls_v1`, built once at start-up from the
//! configured files and shared by every connection (and by `check`).
//!
//! nsqd upgrades the very TCP connection it answered IDENTIFY on (`clientV2.UpgradeTLS`),
//! so the handshake here runs over that socket too (see `conn`); this module only holds
//! what the handshake needs: the roots that may sign nsqd's certificate, the client
//! certificate for `--tls-client-auth-policy=require-verify`, the lowest version, and the
//! name to verify.
//!
//! It also classifies a failed handshake ([`TlsFailure`]) once, for both sides that do
//! one: TLS to nsqd (worded in `error`'s `NsqdTlsError`) and HTTPS (in `http`'s
//! `HttpError`), each for its own user.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

/// The lowest TLS version accepted from nsqd. rustls implements 1.2 and 1.3 only;
/// nsqd's default `--tls-min-version` is 1.0, but any nsqd built with Go ≥ 1.13 offers 1.3.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 or 1.3.
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// A TLS version [`TlsVersion::parse`] does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsVersionError {
    /// TLS 1.0 or 1.1: nsqd may offer them, rustls does not.
    #[error("{0:?} is not supported: rustls speaks TLS 1.2 and 1.3 only (use \"1.2\")")]
    Unsupported(String),
    /// Not a TLS version.
    #[error("{0:?} is not a TLS version (\"1.2\" or \"1.3\")")]
    Unknown(String),
}

impl TlsVersion {
    /// Parses `1.2` / `1.3`, also spelt as nsqd's flag spells them (`tls1.2`).
    pub fn parse(s: &str) -> Result<TlsVersion, TlsVersionError> {
        match s.strip_prefix("tls").unwrap_or(s) {
            "1.2" => Ok(TlsVersion::Tls12),
            "1.3" => Ok(TlsVersion::Tls13),
            "1.0" | "1.1" => Err(TlsVersionError::Unsupported(s.to_owned())),
            _ => Err(TlsVersionError::Unknown(s.to_owned())),
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
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsSetupError {
    /// The trust anchors (the CA file, or the system's store).
    #[error(transparent)]
    Roots(#[from] RootsError),
    /// The client certificate and key do not go together.
    #[error("the client certificate and key do not go together: {0}")]
    Identity(rustls::Error),
    /// The name to verify.
    #[error(transparent)]
    ServerName(#[from] InvalidServerName),
}

/// No trust anchor to verify a server's certificate with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RootsError {
    /// The system's trust store could not be read.
    #[error("no system trust store could be read ({0})")]
    SystemUnreadable(Arc<rustls_native_certs::Error>),
    /// The system's trust store is empty.
    #[error("the system trust store holds no certificate")]
    SystemEmpty,
    /// None of the certificates given can be a trust anchor.
    #[error("none of the {ignored} certificates is usable as a trust anchor")]
    NoneUsable {
        /// How many certificates were given (and ignored).
        ignored: usize,
    },
}

/// A name a certificate cannot be verified against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidServerName {
    /// The configured name.
    #[error("{0:?} is not a DNS name or an IP address")]
    Configured(String),
    /// The host of an nsqd address, when no name is configured.
    #[error("{0:?} is not a DNS name or an IP address to verify the certificate against")]
    Host(String),
}

/// A PEM file that does not give what it should.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file is not PEM.
    #[error("{} is not valid PEM: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: rustls::pki_types::pem::Error,
    },
    /// The file holds no certificate.
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no private key.
    #[error("{} holds no PEM private key", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
}

/// Why a TLS handshake failed, as far as it has a likely fix; the one classification of
/// rustls' errors, worded by each side for its own user (nsqd's TCP TLS in
/// [`NsqdTlsError`](crate::NsqdTlsError), HTTPS in [`HttpError`](crate::HttpError)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server's certificate is not signed by a trusted CA (also `BadSignature`:
    /// signed by another CA under the name of a trusted one).
    UntrustedCertificate,
    /// The server's certificate is for another name.
    WrongName,
    /// The server wants a client certificate it trusts.
    ClientCertificateRefused,
    /// No TLS version in common.
    NoCommonVersion,
    /// What came back is not TLS (a plain listener).
    NotTls,
    /// Anything else.
    Other,
}

impl TlsFailure {
    /// Classifies a rustls error.
    pub fn of(e: &rustls::Error) -> TlsFailure {
        use rustls::{AlertDescription as Alert, CertificateError as Cert, Error};
        match e {
            Error::InvalidCertificate(Cert::UnknownIssuer | Cert::BadSignature) => {
                TlsFailure::UntrustedCertificate
            }
            Error::InvalidCertificate(
                Cert::NotValidForName | Cert::NotValidForNameContext { .. },
            ) => TlsFailure::WrongName,
            Error::AlertReceived(
                Alert::CertificateRequired | Alert::BadCertificate | Alert::UnknownCA,
            ) => TlsFailure::ClientCertificateRefused,
            Error::AlertReceived(Alert::ProtocolVersion) => TlsFailure::NoCommonVersion,
            Error::InvalidMessage(_) => TlsFailure::NotTls,
            _ => TlsFailure::Other,
        }
    }
}

/// The rustls error inside an I/O error of a TLS stream, if that is what it is.
pub(crate) fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
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

/// Two clients are equal when they were built from the same certificates, key, names
/// and version: what a long-lived consumer compares on a configuration reload to know
/// whether its connections must be made again (the same paths may hold renewed files).
/// The rustls configuration is built from exactly these, so it is not compared.
impl PartialEq for TlsClient {
    fn eq(&self, other: &TlsClient) -> bool {
        self.server_name == other.server_name
            && self.roots == other.roots
            && self.identity == other.identity
            && self.min_version == other.min_version
    }
}

impl Eq for TlsClient {}

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
                ServerName::try_from(name.to_owned())
                    .map_err(|_| InvalidServerName::Configured(name.to_owned()))
            })
            .transpose()?;
        let roots = match roots {
            Roots::File(certs) => certs,
            Roots::System => system_roots()?,
        };
        let mut store = RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(roots.iter().cloned());
        if added == 0 {
            return Err(RootsError::NoneUsable { ignored }.into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(min_version.versions())
            .expect("ring offers TLS 1.2 and 1.3")
            .with_root_certificates(store);
        let config = match &identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(TlsSetupError::Identity)?,
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
    pub(crate) fn server_name(&self, addr: &str) -> Result<ServerName<'static>, InvalidServerName> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_owned()).map_err(|_| InvalidServerName::Host(host.to_owned()))
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
pub(crate) fn system_roots() -> Result<Vec<CertificateDer<'static>>, RootsError> {
    let mut found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(error = %e, "a system certificate could not be loaded");
    }
    if found.certs.is_empty() {
        return Err(match found.errors.drain(..).next() {
            Some(e) => RootsError::SystemUnreadable(Arc::new(e)),
            None => RootsError::SystemEmpty,
        });
    }
    Ok(found.certs)
}

/// Every certificate of a PEM file, in order (a chain: the leaf first).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => PemError::NoPrivateKey {
            path: path.to_owned(),
        },
        e => pem_error(path, e),
    })
}

fn pem_error(path: &Path, e: rustls::pki_types::pem::Error) -> PemError {
    let path = path.to_owned();
    match e {
        rustls::pki_types::pem::Error::Io(source) => PemError::Read { path, source },
        source => PemError::Invalid { path, source },
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
                .to_string()
                .contains("1.2 and 1.3 only")
        );
        assert!(TlsVersion::parse("ssl3.0").is_err());
    }
}
