//! The HTTP client of nsqlookupd's `/lookup` (`lookupd`) and nsqd's `/stats` (`depth`),
//! `/pub` and `/mpub` (`publish`): one constructor for their `ureq` agents, plain HTTP
//! for `host:port` and `http://` addresses, HTTPS (rustls with ring) for `https://`.
//!
//! nsqlookupd has no TLS listener of its own; an `https://` nsqlookupd is one behind a
//! TLS-terminating proxy (nginx, stunnel, ...). nsqd has one (`--https-address`). What
//! HTTPS trusts follows `nsq.tls`, so one set of CA options covers nsqd and whatever is
//! in front of nsqlookupd:
//! - `nsq.tls` on: the same trust anchors as TLS to nsqd (`nsq.tls-ca-file`, else the
//!   system's store), the same client certificate (`nsq.tls-cert-file`/`-key-file`) and
//!   the same lowest version (`nsq.tls-min-version`).
//! - `nsq.tls` off: the system's trust store, read on the first `https://` request.
//!
//! Every failure is an [`HttpError`], a failed handshake classified by [`TlsFailure`] and
//! worded here for an HTTPS address.
//!
//! `nsq.tls-server-name` is not used: it names nsqd's TCP certificate, while an HTTPS
//! certificate is checked against the host of its URL (ureq sets the name from the URL),
//! so an address whose certificate carries a DNS name is written with that name.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

use crate::tls::{self, RootsError, TlsClient, TlsFailure, TlsVersion};

/// What went wrong with a request to nsqlookupd or nsqd's HTTP API.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// An `https://` address and no trust anchor (TLS off and the system's store
    /// unreadable).
    #[error(transparent)]
    Roots(#[from] RootsError),
    /// The client key cannot be handed to the HTTPS client.
    #[error("the client key is of a kind HTTPS does not support")]
    UnsupportedKey,
    /// The client key could not be read back for the HTTPS client.
    #[error("the client key: {0}")]
    Key(ureq::Error),
    /// The TLS handshake failed; the text says the likely fix.
    #[error("TLS handshake failed: {source}{}", https_hint(*failure, *tls_configured))]
    Tls {
        /// rustls' error.
        source: rustls::Error,
        /// Its classification.
        failure: TlsFailure,
        /// Whether TLS options were given (the fix for an untrusted certificate differs).
        tls_configured: bool,
    },
    /// No answer (connection refused, timed out, ...).
    #[error(transparent)]
    Request(ureq::Error),
    /// An answer other than the one expected, with its status and text.
    #[error("HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The answer's text (or nsqd's `message`), trimmed.
        body: String,
    },
    /// An answer that could not be parsed.
    #[error("unreadable {what} answer: {source}")]
    Unreadable {
        /// The endpoint, `/lookup` or `/stats`.
        what: &'static str,
        /// What is wrong with it.
        source: serde_json::Error,
    },
    /// The blocking thread that made the request failed.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

impl HttpError {
    /// A 4xx status: the request is at fault and the same request would be refused again.
    pub fn is_client_error(&self) -> bool {
        matches!(self, HttpError::Status { status, .. } if (400..500).contains(status))
    }
}

/// The likely fix for a failed HTTPS handshake, after the error.
fn https_hint(failure: TlsFailure, tls_configured: bool) -> &'static str {
    match failure {
        TlsFailure::UntrustedCertificate if tls_configured => {
            " (the server's certificate is not signed by a trusted CA: check nsq.tls-ca-file)"
        }
        TlsFailure::UntrustedCertificate => {
            " (the server's certificate is not signed by a CA of the system's trust store; for a private CA set nsq.tls and nsq.tls-ca-file)"
        }
        TlsFailure::WrongName => {
            " (the certificate is not for the host of the address; write the address with a name the certificate carries)"
        }
        TlsFailure::ClientCertificateRefused => {
            " (the server wants a client certificate it trusts: check nsq.tls-cert-file and nsq.tls-key-file)"
        }
        TlsFailure::NoCommonVersion => " (no TLS version in common: check nsq.tls-min-version)",
        TlsFailure::NotTls => " (is it an HTTPS listener? use http:// for plain HTTP)",
        TlsFailure::Other => "",
    }
}

/// How this client reaches nsqlookupd and nsqd's HTTP API: plain HTTP, or HTTPS trusting what
/// `nsq.tls` trusts (see the module doc). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct HttpClient {
    /// TLS to nsqd, when `nsq.tls` is on.
    tls: Option<Arc<TlsClient>>,
}

/// The system's trust store for `https://` with `nsq.tls` off, read once per process (the
/// store is the process's anyway), and only when an `https://` address is asked.
static SYSTEM_ROOTS: OnceLock<Result<Arc<Vec<Certificate<'static>>>, RootsError>> = OnceLock::new();

impl HttpClient {
    /// A client; `tls`: the TLS options of the nsqd connections, which HTTPS then
    /// trusts and presents too.
    pub fn new(tls: Option<Arc<TlsClient>>) -> HttpClient {
        HttpClient { tls }
    }

    /// An agent for one request to `url`: the whole request (connect, TLS handshake,
    /// answer) bounded by `timeout`; `status_as_error: false` returns a 4xx/5xx as a
    /// response for the caller to read. Fails only when `url` is `https://` and no trust
    /// anchor can be had (`nsq.tls` off and the system's store unreadable).
    pub(crate) fn agent(
        &self,
        url: &str,
        timeout: Duration,
        status_as_error: bool,
    ) -> Result<ureq::Agent, HttpError> {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(status_as_error)
            .tls_config(self.tls_config(is_https(url))?)
            .build();
        Ok(config.into())
    }

    fn tls_config(&self, https: bool) -> Result<TlsConfig, HttpError> {
        let min_version = self
            .tls
            .as_ref()
            .map(|t| t.min_version())
            .unwrap_or_default();
        let roots = match &self.tls {
            Some(t) => RootCerts::Specific(Arc::new(t.roots().iter().map(certificate).collect())),
            None if https => RootCerts::Specific(system_roots()?),
            // Plain HTTP never reads the system's store (it works exactly as without
            // TLS support). Roots are still set: a redirect to https:// then fails its
            // handshake ("UnknownIssuer") instead of ureq panicking for lack of any.
            None => RootCerts::Specific(Arc::new(Vec::new())),
        };
        let client_cert = match self.tls.as_ref().and_then(|t| t.identity()) {
            Some((chain, key)) => Some(ClientCert::new_with_certs(
                &chain.iter().map(certificate).collect::<Vec<_>>(),
                private_key(key)?,
            )),
            None => None,
        };
        Ok(TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            // Always given: without it ureq would take rustls' process default, else
            // panic (ureq's own `ring` default is off, see Cargo.toml).
            .unversioned_rustls_crypto_provider(crypto_provider(min_version))
            .root_certs(roots)
            .client_cert(client_cert)
            .build())
    }

    /// `e` as an [`HttpError`]: a failed TLS handshake classified, with the likely fix.
    pub(crate) fn error(&self, e: ureq::Error) -> HttpError {
        let rustls_error = match &e {
            ureq::Error::Rustls(r) => Some(r),
            ureq::Error::Io(io) => tls::rustls_error(io),
            _ => None,
        };
        match rustls_error {
            Some(r) => HttpError::Tls {
                source: r.clone(),
                failure: TlsFailure::of(r),
                tls_configured: self.tls.is_some(),
            },
            None => HttpError::Request(e),
        }
    }
}

/// The base URL of an address as configured: `host:port` is plain HTTP, `http://...` and
/// `https://...` as given (a trailing `/` dropped).
pub(crate) fn base_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.trim_end_matches('/').to_owned()
    } else {
        format!("http://{addr}")
    }
}

fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// ring, as for TLS to nsqd, offering TLS 1.2 only when `nsq.tls-min-version` allows it:
/// ureq asks rustls for every version, and rustls offers a version only when the
/// provider has a cipher suite of it.
fn crypto_provider(min_version: TlsVersion) -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    if min_version == TlsVersion::Tls13 {
        provider
            .cipher_suites
            .retain(|suite| suite.version() == &rustls::version::TLS13);
    }
    Arc::new(provider)
}

fn system_roots() -> Result<Arc<Vec<Certificate<'static>>>, RootsError> {
    SYSTEM_ROOTS
        .get_or_init(|| {
            tls::system_roots().map(|roots| Arc::new(roots.iter().map(certificate).collect()))
        })
        .clone()
}

fn certificate(der: &CertificateDer<'_>) -> Certificate<'static> {
    Certificate::from_der(der).to_owned()
}

/// ureq's key from rustls'. ureq builds a DER key only with its kind, whose type it does
/// not export (`ureq::tls::cert::KeyKind` is in a private module), so the key goes
/// through PEM, whose label carries the kind, in memory.
fn private_key(key: &PrivateKeyDer<'_>) -> Result<PrivateKey<'static>, HttpError> {
    const PEM_LINE: usize = 64;
    let label = match key {
        PrivateKeyDer::Pkcs8(_) => "PRIVATE KEY",
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => return Err(HttpError::UnsupportedKey),
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(key.secret_der());
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(PEM_LINE) {
        // Base64 is ASCII, so any chunk of it is UTF-8.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    PrivateKey::from_pem(pem.as_bytes()).map_err(HttpError::Key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_base_urls() {
        assert_eq!(base_url("127.0.0.1:4161"), "http://127.0.0.1:4161");
        assert_eq!(base_url("http://h:4161/"), "http://h:4161");
        assert_eq!(base_url("https://h:4161"), "https://h:4161");
        assert!(is_https("HTTPS://h/lookup"));
        assert!(!is_https("http://h/lookup"));
        assert!(!is_https("h:4161"));
    }

    #[test]
    fn a_key_keeps_its_kind_and_bytes_through_pem() {
        // Not a real key: ureq keeps the DER as given, and the round trip must too.
        let der: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for (key, kind) in [
            (PrivateKeyDer::Pkcs8(der.clone().into()), "Pkcs8"),
            (PrivateKeyDer::Pkcs1(der.clone().into()), "Pkcs1"),
            (PrivateKeyDer::Sec1(der.clone().into()), "Sec1"),
        ] {
            let converted = private_key(&key).unwrap();
            assert_eq!(converted.der(), der.as_slice());
            assert_eq!(format!("{:?}", converted.kind()), kind);
        }
    }

    #[test]
    fn tls_1_3_only_leaves_no_tls_1_2_suite() {
        let all = crypto_provider(TlsVersion::Tls12);
        assert!(
            all.cipher_suites
                .iter()
                .any(|s| s.version() == &rustls::version::TLS12)
        );
        let only_13 = crypto_provider(TlsVersion::Tls13);
        assert!(!only_13.cipher_suites.is_empty());
        assert!(
            only_13
                .cipher_suites
                .iter()
                .all(|s| s.version() == &rustls::version::TLS13)
        );
    }

    #[test]
    fn plain_http_needs_no_trust_store() {
        // SYSTEM_ROOTS is not touched for http:// without nsq.tls.
        let agent =
            HttpClient::default().agent("http://127.0.0.1:1/x", Duration::from_secs(1), true);
        assert!(agent.is_ok());
        assert!(SYSTEM_ROOTS.get().is_none());
    }
}
