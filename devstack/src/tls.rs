//! [`TestPki`]: a certificate authority, a server certificate for `localhost` /
//! `127.0.0.1` / `::1` and a client certificate, made fresh (ECDSA P-256, with rcgen)
//! and written as PEM files — the product reads its certificates from files by path, so
//! tests hand it paths too. [`TlsTerminator`]: a TLS-terminating proxy (what nginx or
//! stunnel are in front of an nsqlookupd, which has no TLS listener of its own) with a
//! `TestPki` server certificate, in front of any plain TCP server.
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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

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

/// Whether a [`TlsTerminator`] asks for a client certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientCerts {
    /// None asked (nginx's default).
    #[default]
    NotAsked,
    /// One signed by the PKI's CA, or the handshake fails (nginx's
    /// `ssl_verify_client on`).
    Required,
}

/// A TLS-terminating proxy on `127.0.0.1:0`: accepts TLS with a [`TestPki`]'s server
/// certificate and copies the decrypted bytes both ways to a plain TCP `backend`, one
/// backend connection per client connection, as nginx's `stream` proxy or stunnel do.
/// It knows nothing of HTTP: in front of the stand-in nsqlookupd it makes an
/// `https://` nsqlookupd. Dropping it stops it and closes every connection.
pub struct TlsTerminator {
    addr: SocketAddr,
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Counts {
    handshakes: AtomicU64,
    failed_handshakes: AtomicU64,
}

impl TlsTerminator {
    /// Starts one with `pki`'s server certificate (for `localhost`, `127.0.0.1`, `::1`)
    /// in front of `backend`.
    pub async fn start(
        pki: &TestPki,
        backend: SocketAddr,
        client_certs: ClientCerts,
    ) -> std::io::Result<TlsTerminator> {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(pki.server_config(client_certs)?));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            backend,
            Arc::clone(&counts),
        ));
        Ok(TlsTerminator { addr, counts, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT`, its address as an HTTPS base URL.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Connections whose TLS handshake completed (each then went to the backend).
    pub fn handshakes(&self) -> u64 {
        self.counts.handshakes.load(Ordering::Relaxed)
    }

    /// Connections whose TLS handshake failed (the client did not trust the certificate,
    /// spoke plain TCP, or had no client certificate when one was required).
    pub fn failed_handshakes(&self) -> u64 {
        self.counts.failed_handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        // The accept loop owns the connection tasks (a JoinSet): aborting it ends them.
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    backend: SocketAddr,
    counts: Arc<Counts>,
) {
    let mut conns = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        while conns.try_join_next().is_some() {}
        let (acceptor, counts) = (acceptor.clone(), Arc::clone(&counts));
        conns.spawn(async move {
            let mut tls = match acceptor.accept(client).await {
                Ok(tls) => tls,
                Err(e) => {
                    counts.failed_handshakes.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, "TLS terminator: handshake failed");
                    return;
                }
            };
            counts.handshakes.fetch_add(1, Ordering::Relaxed);
            let Ok(mut plain) = TcpStream::connect(backend).await else {
                // As a proxy whose backend is down: the client sees the connection close.
                return;
            };
            // Either side closing ends both; errors are the ends of connections.
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}

impl TestPki {
    /// A rustls server configuration (ring, TLS 1.2 and 1.3) with the server
    /// certificate, verifying client certificates against the CA when `client_certs`
    /// says so.
    pub fn server_config(
        &self,
        client_certs: ClientCerts,
    ) -> std::io::Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = CertificateDer::pem_file_iter(self.server_cert())
            .map_err(other)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(other)?;
        let key = PrivateKeyDer::from_pem_file(self.server_key()).map_err(other)?;
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(other)?;
        let builder = match client_certs {
            ClientCerts::NotAsked => builder.with_no_client_auth(),
            ClientCerts::Required => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(self.ca_cert()).map_err(other)? {
                    roots.add(cert.map_err(other)?).map_err(other)?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(other)?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder.with_single_cert(chain, key).map_err(other)
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

    /// Bytes go through both ways; a client that does not trust the CA, or has no
    /// client certificate when one is required, is refused in the handshake.
    #[tokio::test]
    async fn the_terminator_decrypts_to_its_backend() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let backend = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let backend_addr = backend.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = backend.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0; 5];
                    if conn.read_exact(&mut buf).await.is_ok() {
                        buf.reverse();
                        let _ = conn.write_all(&buf).await;
                    }
                });
            }
        });
        let pki = TestPki::generate().unwrap();
        let connect = |config: rustls::ClientConfig, addr: SocketAddr| async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await?;
            tls.write_all(b"hello").await?;
            let mut back = [0; 5];
            tls.read_exact(&mut back).await?;
            std::io::Result::Ok(back)
        };

        let open = TlsTerminator::start(&pki, backend_addr, ClientCerts::NotAsked)
            .await
            .unwrap();
        assert!(open.https_url().starts_with("https://127.0.0.1:"));
        let back = connect(pki.client_config(false).unwrap(), open.addr()).await;
        assert_eq!(&back.unwrap(), b"olleh");
        let stranger = TestPki::generate().unwrap();
        assert!(
            connect(stranger.client_config(false).unwrap(), open.addr())
                .await
                .is_err()
        );
        // The server's side of a failed handshake may end after the client's.
        async fn settled(t: &TlsTerminator, want: (u64, u64)) -> (u64, u64) {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while (t.handshakes(), t.failed_handshakes()) != want
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            (t.handshakes(), t.failed_handshakes())
        }
        assert_eq!(settled(&open, (1, 1)).await, (1, 1));

        let strict = TlsTerminator::start(&pki, backend_addr, ClientCerts::Required)
            .await
            .unwrap();
        assert!(
            connect(pki.client_config(false).unwrap(), strict.addr())
                .await
                .is_err()
        );
        let back = connect(pki.client_config(true).unwrap(), strict.addr()).await;
        assert_eq!(&back.unwrap(), b"olleh");
        assert_eq!(settled(&strict, (1, 1)).await, (1, 1));
    }
}
