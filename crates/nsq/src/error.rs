//! [`NsqError`], what went wrong consuming from nsqd; [`NsqdTlsError`], why TLS to nsqd
//! failed, in an operator's words; and [`ServerError`], an error frame nsqd sent. Publishing has its own error ([`PublishError`](crate::PublishError)): a
//! failed publish ends nothing but itself.

use std::time::Duration;

use crate::http::HttpError;
use crate::tls::{InvalidServerName, TlsFailure, rustls_error};

/// Error codes after which nsqd keeps the connection open (`protocol_v2.go` wraps every
/// other error in a `FatalClientErr` and closes). They arrive with text after the code
/// (`E_FIN_FAILED FIN 0a1b... failed ID not in flight`), so match the code, not the frame.
const NON_FATAL_ERRORS: [&str; 3] = ["E_FIN_FAILED", "E_REQ_FAILED", "E_TOUCH_FAILED"];

/// What went wrong talking to NSQ.
#[derive(Debug, thiserror::Error)]
pub enum NsqError {
    /// The TCP connection to nsqd could not be made.
    #[error("cannot connect to nsqd {addr}: {source}")]
    Connect {
        /// nsqd's TCP address.
        addr: String,
        /// Why the connection failed.
        source: std::io::Error,
    },
    /// Connecting, IDENTIFY, the upgrades, AUTH and SUB took longer than
    /// [`ConsumerOptions::connect_timeout`](crate::ConsumerOptions::connect_timeout).
    #[error("nsqd {addr} did not complete the handshake within {after:?}")]
    ConnectTimeout {
        /// nsqd's TCP address.
        addr: String,
        /// The bound that ran out.
        after: Duration,
    },
    /// nsqd answered a command with an error frame.
    #[error("nsqd {addr} refused {command}: {error}")]
    Refused {
        /// nsqd's TCP address.
        addr: String,
        /// The command refused (`IDENTIFY`, `SUB`, ...; `a command` after the handshake).
        command: &'static str,
        /// nsqd's error frame.
        error: ServerError,
    },
    /// TLS to nsqd could not be set up.
    #[error("nsqd {addr}: {reason}")]
    Tls {
        /// nsqd's TCP address.
        addr: String,
        /// What failed, with the likely fix.
        reason: NsqdTlsError,
    },
    /// nsqd requires AUTH (it runs with `--auth-http-address`) and no secret is set.
    #[error(
        "nsqd {addr}: nsqd requires AUTH (it runs with --auth-http-address) and no secret is configured"
    )]
    AuthRequired {
        /// nsqd's TCP address.
        addr: String,
    },
    /// nsqd closed the connection.
    #[error("nsqd {addr} closed the connection")]
    Closed {
        /// nsqd's TCP address.
        addr: String,
    },
    /// Reading from or writing to nsqd failed.
    #[error("nsqd {addr}: {source}")]
    Io {
        /// nsqd's TCP address.
        addr: String,
        /// The failed read or write.
        source: std::io::Error,
    },
    /// nsqd sent something protocol V2 does not allow at this point.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// No nsqlookupd answered (the first one's error).
    #[error("nsqlookupd {addr}: {reason}")]
    Lookupd {
        /// nsqlookupd's HTTP address, as configured.
        addr: String,
        /// What failed.
        reason: HttpError,
    },
    /// The options cannot work (N = 0, an invalid topic name, no nsqd).
    #[error("invalid consumer options: {0}")]
    Options(String),
}

impl NsqError {
    /// A failed read or write on the connection to `addr`.
    pub(crate) fn io(addr: &str, source: std::io::Error) -> NsqError {
        NsqError::Io {
            addr: addr.to_owned(),
            source,
        }
    }
}

/// Why TLS to nsqd could not be set up, in an operator's words with the likely fix.
#[derive(Debug, thiserror::Error)]
pub enum NsqdTlsError {
    /// No name to verify nsqd's certificate against.
    #[error(transparent)]
    ServerName(#[from] InvalidServerName),
    /// The handshake failed.
    #[error("TLS handshake failed: {source}{}", nsqd_hint(*failure))]
    Handshake {
        /// The error of the TLS stream.
        source: std::io::Error,
        /// Its classification ([`TlsFailure::Other`] when it is not a rustls error).
        failure: TlsFailure,
    },
    /// nsqd runs with `--tls-required` and TLS is off.
    #[error("nsqd requires TLS (--tls-required) and nsq.tls is off; it answered SUB with {0}")]
    Required(ServerError),
    /// TLS is on and nsqd does not offer it.
    #[error(
        "nsqd does not offer TLS (it needs --tls-cert and --tls-key); refusing to go on without it"
    )]
    NotOffered,
}

impl NsqdTlsError {
    /// A failed handshake (or the alert that ends one), classified.
    pub(crate) fn handshake(source: std::io::Error) -> NsqdTlsError {
        let failure = rustls_error(&source).map_or(TlsFailure::Other, TlsFailure::of);
        NsqdTlsError::Handshake { source, failure }
    }
}

/// The likely fix for a failed TLS handshake with nsqd, after the error.
fn nsqd_hint(failure: TlsFailure) -> &'static str {
    match failure {
        TlsFailure::UntrustedCertificate => {
            " (nsqd's certificate is not signed by a trusted CA: check nsq.tls-ca-file)"
        }
        TlsFailure::WrongName => {
            " (the certificate is for another name: check nsq.tls-server-name)"
        }
        TlsFailure::ClientCertificateRefused => {
            " (nsqd wants a client certificate it trusts: check nsq.tls-cert-file and nsq.tls-key-file)"
        }
        TlsFailure::NoCommonVersion => {
            " (no TLS version in common: check nsq.tls-min-version and nsqd's --tls-min-version)"
        }
        TlsFailure::NotTls | TlsFailure::Other => "",
    }
}

/// An error frame: `E_CODE` and the rest of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The code, `E_INVALID`, `E_BAD_TOPIC`, `E_FIN_FAILED`, ...
    pub code: String,
    /// The description after the code (may be empty).
    pub text: String,
}

impl ServerError {
    /// An error frame's data, `E_CODE description...`.
    pub(crate) fn parse(data: &[u8]) -> ServerError {
        let s = String::from_utf8_lossy(data);
        let (code, text) = s.split_once(' ').unwrap_or((&s, ""));
        ServerError {
            code: code.to_owned(),
            text: text.to_owned(),
        }
    }

    /// Whether nsqd keeps the connection open after this error.
    pub fn is_fatal(&self) -> bool {
        !NON_FATAL_ERRORS.contains(&self.code.as_str())
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.text.is_empty() {
            f.write_str(&self.code)
        } else {
            write!(f, "{} {}", self.code, self.text)
        }
    }
}
