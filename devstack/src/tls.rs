//! [`TestPki`]: a certificate authority, a server certificate for `localhost` /
//! `127.0.0.1` / `::1` and a client certificate, made fresh (ECDSA P-256, with rcgen)
//! and written as PEM files — the product reads its certificates from files by path, so
//! tests hand it paths too.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use devstack::nsqd::{NsqOptions, NsqServer, TlsRequired};
//! let pki = devstack::tls::TestPki::generate()?;
//! let nsqd = NsqServer::start(NsqOptions {
//!     tls_required: TlsRequired::Yes,
//!     ..pki.nsqd_options()
//! })
//! .await?;
//! // clients trust pki.ca_cert(), and may present pki.client_cert() / pki.client_key()
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::nsqd::NsqOptions;

/// The common name of [`TestPki`]'s client certificate (nsqd sends it to the auth
/// service as `common_name`).
pub const CLIENT_COMMON_NAME: &str = "x-msrv-test-client";

const CA_FILE: &str = "ca.pem";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server.key";
const CLIENT_CERT_FILE: &str = "client.pem";
const CLIENT_KEY_FILE: &str = "client.key";

/// A throwaway PKI in a directory of PEM files: `ca.pem`, `server.pem` + `server.key`,
/// `client.pem` + `client.key`. From [`TestPki::generate`] the directory is temporary
/// and removed on drop.
pub struct TestPki {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    ca: Issuer<'static, KeyPair>,
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl TestPki {
    /// A fresh PKI in a new temporary directory.
    pub fn generate() -> std::io::Result<TestPki> {
        let temp = tempfile::Builder::new().prefix("x-msrv-pki-").tempdir()?;
        let mut pki = TestPki::generate_in(temp.path())?;
        pki._temp = Some(temp);
        Ok(pki)
    }

    /// A fresh PKI written into `dir` (created if missing), which stays.
    pub fn generate_in(dir: &Path) -> std::io::Result<TestPki> {
        std::fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate().map_err(other)?;
        let mut ca_params = CertificateParams::new(Vec::new()).map_err(other)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "x-msrv devstack test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(other)?;
        std::fs::write(dir.join(CA_FILE), ca_cert.pem())?;
        let pki = TestPki {
            dir: dir.to_owned(),
            _temp: None,
            ca: Issuer::new(ca_params, ca_key),
        };
        pki.issue(
            SERVER_CERT_FILE,
            SERVER_KEY_FILE,
            "localhost",
            &["localhost", "127.0.0.1", "::1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        pki.issue_client(CLIENT_CERT_FILE, CLIENT_KEY_FILE, CLIENT_COMMON_NAME)?;
        Ok(pki)
    }

    /// Another client certificate from the same CA, with this common name, written as
    /// `<name>.pem` and `<name>.key`; returns (certificate, key) paths.
    pub fn client_named(&self, common_name: &str) -> std::io::Result<(PathBuf, PathBuf)> {
        let (cert, key) = (format!("{common_name}.pem"), format!("{common_name}.key"));
        self.issue_client(&cert, &key, common_name)?;
        Ok((self.dir.join(cert), self.dir.join(key)))
    }

    fn issue_client(&self, cert: &str, key: &str, common_name: &str) -> std::io::Result<()> {
        self.issue(
            cert,
            key,
            common_name,
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn issue(
        &self,
        cert_file: &str,
        key_file: &str,
        common_name: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> std::io::Result<()> {
        let key = KeyPair::generate().map_err(other)?;
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .map_err(other)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.ca).map_err(other)?;
        std::fs::write(self.dir.join(cert_file), cert.pem())?;
        std::fs::write(self.dir.join(key_file), key.serialize_pem())?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(CA_FILE)
    }

    pub fn server_cert(&self) -> PathBuf {
        self.dir.join(SERVER_CERT_FILE)
    }

    pub fn server_key(&self) -> PathBuf {
        self.dir.join(SERVER_KEY_FILE)
    }

    pub fn client_cert(&self) -> PathBuf {
        self.dir.join(CLIENT_CERT_FILE)
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.join(CLIENT_KEY_FILE)
    }

    /// nsqd's defaults with `--tls-cert`, `--tls-key` and `--tls-root-ca-file` set to
    /// this PKI (TLS offered, not required, no client certificate asked).
    pub fn nsqd_options(&self) -> NsqOptions {
        NsqOptions {
            tls_cert: Some(self.server_cert()),
            tls_key: Some(self.server_key()),
            tls_root_ca_file: Some(self.ca_cert()),
            ..NsqOptions::default()
        }
    }

    /// A rustls client configuration (ring) that trusts this CA and, when asked,
    /// presents the client certificate.
    pub fn client_config(&self, with_client_cert: bool) -> std::io::Result<rustls::ClientConfig> {
        if with_client_cert {
            self.client_config_presenting(&self.client_cert(), &self.client_key())
        } else {
            Ok(self.trusting_ca()?.with_no_client_auth())
        }
    }

    /// As [`TestPki::client_config`], presenting another certificate (say one from
    /// [`TestPki::client_named`], or another PKI's).
    pub fn client_config_presenting(
        &self,
        cert: &Path,
        key: &Path,
    ) -> std::io::Result<rustls::ClientConfig> {
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(other)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(other)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(other)?;
        self.trusting_ca()?
            .with_client_auth_cert(chain, key)
            .map_err(other)
    }

    fn trusting_ca(
        &self,
    ) -> std::io::Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>>
    {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(self.ca_cert()).map_err(other)? {
            roots.add(cert.map_err(other)?).map_err(other)?;
        }
        Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_root_certificates(roots))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pki_is_written_as_pem_files() {
        let pki = TestPki::generate().unwrap();
        for f in [
            pki.ca_cert(),
            pki.server_cert(),
            pki.server_key(),
            pki.client_cert(),
            pki.client_key(),
        ] {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(text.starts_with("-----BEGIN "), "{} is PEM", f.display());
        }
        let (cert, _) = pki.client_named("reader-2").unwrap();
        assert!(cert.exists());
        assert!(pki.client_config(true).is_ok());
        let dir = pki.dir().to_owned();
        drop(pki);
        assert!(!dir.exists(), "the temporary directory goes with it");
    }
}
