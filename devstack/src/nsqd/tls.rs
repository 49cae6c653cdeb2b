//! nsqd's TLS settings: the server configuration `buildTLSConfig` (`nsqd/nsqd.go`) makes
//! from `--tls-cert`, `--tls-key`, `--tls-root-ca-file`, `--tls-client-auth-policy` and
//! `--tls-min-version`, and what a TLS connection shows in `/stats` and to the auth
//! service (`client_v2.go` `Stats`, `QueryAuthd`: the client certificate's common name).
//!
//! rustls stands in for Go's crypto/tls. It speaks TLS 1.2 and 1.3 only, so a minimum
//! of TLS 1.0 or 1.1 (nsqd's default is 1.0) accepts the same clients as 1.2 here; a
//! client that can only speak 1.0/1.1 is refused where nsqd would accept it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConnection, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};

use super::NsqOptions;

/// `--tls-client-auth-policy`: what nsqd asks of a client's certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsClientAuthPolicy {
    /// No policy given: nsqd does not ask for a client certificate (`tls.NoClientCert`).
    #[default]
    None,
    /// `require`: a certificate must be presented, but it is not verified
    /// (`tls.RequireAnyClientCert`; the handshake still proves its key).
    Require,
    /// `require-verify`: a certificate that chains to `--tls-root-ca-file`
    /// (`tls.RequireAndVerifyClientCert`).
    RequireVerify,
}

/// `--tls-required`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsRequired {
    /// `false`: TLS is offered (when configured), never demanded.
    #[default]
    No,
    /// `tcp-https`: TCP commands need TLS first; the plain HTTP API still answers.
    ExceptHttp,
    /// `true`: TCP commands need TLS first, and the plain HTTP API answers every request
    /// with 403 `TLS_REQUIRED` (nsqd would point to its HTTPS port).
    Yes,
}

/// `--tls-min-version`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsMinVersion {
    /// nsqd's default. rustls has no TLS 1.0/1.1: as [`TlsMinVersion::Tls12`] here.
    #[default]
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl std::str::FromStr for TlsMinVersion {
    type Err = String;

    /// nsqd's flag values (case-insensitive).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "tls1.0" => Ok(TlsMinVersion::Tls10),
            "tls1.1" => Ok(TlsMinVersion::Tls11),
            "tls1.2" => Ok(TlsMinVersion::Tls12),
            "tls1.3" => Ok(TlsMinVersion::Tls13),
            _ => Err(format!("unknown tlsVersionOption {s:?}")),
        }
    }
}

impl std::str::FromStr for TlsRequired {
    type Err = String;

    /// nsqd's `tlsRequiredOption.Set`: `tcp-https`, or a Go boolean.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "tcp-https" => Ok(TlsRequired::ExceptHttp),
            "1" | "t" | "true" => Ok(TlsRequired::Yes),
            "0" | "f" | "false" => Ok(TlsRequired::No),
            _ => Err(format!("invalid --tls-required {s:?}")),
        }
    }
}

impl std::str::FromStr for TlsClientAuthPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" => Ok(TlsClientAuthPolicy::None),
            "require" => Ok(TlsClientAuthPolicy::Require),
            "require-verify" => Ok(TlsClientAuthPolicy::RequireVerify),
            // nsqd takes any other value as "no client certificate" (and, being set,
            // as TLS required); the stand-in refuses it rather than guess.
            _ => Err(format!(
                "--tls-client-auth-policy {s:?}: 'require' or 'require-verify'"
            )),
        }
    }
}

/// An error building the TLS configuration (the text follows `failed to build TLS
/// config - `).
#[derive(Debug)]
pub(crate) struct TlsConfigError(String);

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(e: impl fmt::Display) -> TlsConfigError {
    TlsConfigError(e.to_string())
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `buildTLSConfig`: `None` when neither certificate nor key is given.
pub(crate) fn server_config(
    opts: &NsqOptions,
) -> Result<Option<Arc<ServerConfig>>, TlsConfigError> {
    let (cert, key) = match (&opts.tls_cert, &opts.tls_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        // Go's LoadX509KeyPair fails opening the empty path.
        (None, Some(_)) => return Err(err("open : no such file or directory (--tls-cert)")),
        (Some(_), None) => return Err(err("open : no such file or directory (--tls-key)")),
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| err(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(err("tls: failed to find any PEM data in certificate input"));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| err(format!("{}: {e}", key.display())))?;
    let provider = provider();
    // nsqd reads the CA file whenever it is set, whatever the policy.
    let roots = opts
        .tls_root_ca_file
        .as_deref()
        .map(root_store)
        .transpose()?;
    let verifier: Arc<dyn ClientCertVerifier> = match opts.tls_client_auth_policy {
        TlsClientAuthPolicy::None => WebPkiClientVerifier::no_client_auth(),
        TlsClientAuthPolicy::Require => Arc::new(AnyClientCert {
            hints: roots
                .as_ref()
                .map(RootCertStore::subjects)
                .unwrap_or_default(),
            algorithms: provider.signature_verification_algorithms,
        }),
        TlsClientAuthPolicy::RequireVerify => {
            let Some(roots) = roots else {
                // Go would verify against the system roots; a test always names its CA.
                return Err(err(
                    "require-verify needs --tls-root-ca-file in the stand-in (nsqd would use the system roots)",
                ));
            };
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(err)?
        }
    };
    let versions: &[&'static rustls::SupportedProtocolVersion] =
        if opts.tls_min_version == TlsMinVersion::Tls13 {
            &[&rustls::version::TLS13]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(err)?;
    Ok(Some(Arc::new(config)))
}

/// `x509.CertPool.AppendCertsFromPEM` of the CA file: at least one certificate.
fn root_store(path: &Path) -> Result<RootCertStore, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(err("failed to append certificate to pool"));
    }
    Ok(roots)
}

/// `tls.RequireAnyClientCert`: a certificate must come, any certificate; its
/// signature over the handshake is still checked, as Go does.
#[derive(Debug)]
struct AnyClientCert {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What nsqd reads off an upgraded connection: `/stats` `tls_version` and
/// `tls_cipher_suite`, and the common name it sends the auth service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsInfo {
    pub version: String,
    pub cipher_suite: String,
    /// `PeerCertificates[0].Subject.CommonName`, empty without a client certificate.
    pub common_name: String,
}

impl TlsInfo {
    pub(crate) fn of(conn: &ServerConnection) -> TlsInfo {
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS1.2".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS1.3".to_owned(),
            Some(v) => format!("Unknown {}", u16::from(v)),
            None => String::new(),
        };
        let cipher_suite = conn
            .negotiated_cipher_suite()
            .map(|s| go_cipher_suite_name(u16::from(s.suite())))
            .unwrap_or_default();
        let common_name = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| common_name(c))
            .unwrap_or_default();
        TlsInfo {
            version,
            cipher_suite,
            common_name,
        }
    }
}

/// nsqd's `prettyConnectionState.GetCipherSuite`: names for a fixed list of TLS 1.2
/// suites (of which rustls offers only the two AES-128-GCM ones), `Unknown <n>` for the
/// rest — every TLS 1.3 suite included.
fn go_cipher_suite_name(id: u16) -> String {
    match id {
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
        _ => format!("Unknown {id}"),
    }
}

/// One DER TLV: tag, contents, and the bytes after it.
fn der_next(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |l, &d| (l << 8) | usize::from(d));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Go's `Subject.CommonName`: the last commonName (2.5.4.3) attribute of the subject.
/// A few lines of DER walking instead of an X.509 parser crate.
fn common_name(cert: &[u8]) -> Option<String> {
    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const CN_OID: &[u8] = &[0x55, 0x04, 0x03];
    let (_, cert, _) = der_next(cert).filter(|t| t.0 == SEQUENCE)?;
    let (_, mut tbs, _) = der_next(cert).filter(|t| t.0 == SEQUENCE)?;
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = der_next(tbs)?.2;
    }
    for _ in 0..4 {
        tbs = der_next(tbs)?.2;
    }
    let (_, mut rdns, _) = der_next(tbs).filter(|t| t.0 == SEQUENCE)?;
    let mut cn = None;
    while !rdns.is_empty() {
        let (tag, mut set, rest) = der_next(rdns)?;
        rdns = rest;
        if tag != SET {
            return None;
        }
        while !set.is_empty() {
            let (_, atv, rest) = der_next(set)?;
            set = rest;
            let (oid_tag, oid, value) = der_next(atv)?;
            if oid_tag != 0x06 || oid != CN_OID {
                continue;
            }
            let (vtag, v, _) = der_next(value)?;
            cn = Some(match vtag {
                // BMPString: UTF-16 big-endian.
                0x1e => String::from_utf16_lossy(
                    &v.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect::<Vec<_>>(),
                ),
                // UTF8String, PrintableString, IA5String, T61String, NumericString.
                _ => String::from_utf8_lossy(v).into_owned(),
            });
        }
    }
    cn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_is_read_from_the_subject() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "x-msrv");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "reader-1");
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(common_name(cert.der()).as_deref(), Some("reader-1"));

        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(common_name(cert.der()), None, "no CN attribute");
        assert_eq!(common_name(b"\x30\x03\x02"), None, "truncated DER");
    }

    #[test]
    fn cipher_suites_are_named_as_nsqd_names_them() {
        assert_eq!(
            go_cipher_suite_name(0xc02f),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(go_cipher_suite_name(0x1301), "Unknown 4865");
    }

    #[test]
    fn flag_values_parse_as_nsqd_parses_them() {
        assert_eq!("TLS1.3".parse(), Ok(TlsMinVersion::Tls13));
        assert!("ssl3.0".parse::<TlsMinVersion>().is_err());
        assert_eq!("tcp-https".parse(), Ok(TlsRequired::ExceptHttp));
        assert_eq!("true".parse(), Ok(TlsRequired::Yes));
        assert_eq!("F".parse(), Ok(TlsRequired::No));
        assert_eq!(
            "require-verify".parse(),
            Ok(TlsClientAuthPolicy::RequireVerify)
        );
    }
}
