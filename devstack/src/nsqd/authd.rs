//! [`AuthServer`]: a stand-in for the auth HTTP services nsqd's `--auth-http-address`
//! points to, answering as pynsqauthd (nsqauth-contrib) does: `GET /auth` with
//! `secret`, `remote_ip`, `tls` and `common_name`; a known secret gets `200` and
//! `{"ttl", "identity", "identity_url", "authorizations": [{"topic", "channels",
//! "permissions"}]}`, an unknown one `403 {"message":"NOT_AUTHORIZED"}`; `GET /ping`
//! answers `OK`. Each test configures its secrets, and every request is recorded so a
//! test can check what nsqd sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One authorization, as the auth service sends it: topic and channel regexps (Go RE2
/// syntax, unanchored) and `subscribe` / `publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    pub topic: String,
    pub channels: Vec<String>,
    pub permissions: Vec<String>,
}

impl Authorization {
    /// Subscribing to channels matching `channels` of topics matching `topic`.
    pub fn subscribe(topic: &str, channels: &[&str]) -> Authorization {
        Authorization {
            topic: topic.into(),
            channels: channels.iter().map(|c| (*c).into()).collect(),
            permissions: vec!["subscribe".into()],
        }
    }

    /// Publishing to topics matching `topic`. nsqd matches a publish's empty channel
    /// name against the channel regexps, so this carries `.*`.
    pub fn publish(topic: &str) -> Authorization {
        Authorization {
            topic: topic.into(),
            channels: vec![".*".into()],
            permissions: vec!["publish".into()],
        }
    }
}

/// A `200` answer: who the secret belongs to and what it may do, for `ttl` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthGrant {
    pub ttl: i64,
    pub identity: String,
    pub identity_url: String,
    pub authorizations: Vec<Authorization>,
}

impl AuthGrant {
    /// `identity` with these authorizations for an hour (pynsqauthd's default ttl).
    pub fn new(identity: &str, authorizations: Vec<Authorization>) -> AuthGrant {
        AuthGrant {
            ttl: 3600,
            identity: identity.into(),
            identity_url: String::new(),
            authorizations,
        }
    }

    pub fn ttl(mut self, seconds: i64) -> AuthGrant {
        self.ttl = seconds;
        self
    }

    pub fn identity_url(mut self, url: &str) -> AuthGrant {
        self.identity_url = url.into();
        self
    }
}

/// What the server answers for one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthAnswer {
    Grant(AuthGrant),
    /// Any status and body, for answers nsqd must refuse (a bad ttl, a 500, not JSON).
    Raw {
        status: u16,
        body: String,
    },
}

/// One request the server got, its query parameters decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub path: String,
    /// The query string as it came, encoding included.
    pub raw_query: String,
    pub secret: Option<String>,
    pub remote_ip: Option<String>,
    pub tls: Option<String>,
    pub common_name: Option<String>,
    /// The `Accept` header (nsqd sends `application/vnd.nsq; version=1.0`).
    pub accept: Option<String>,
}

#[derive(Default)]
struct Book {
    answers: HashMap<String, AuthAnswer>,
    requests: Vec<AuthRequest>,
}

type Shared = Arc<Mutex<Book>>;

fn lock(book: &Shared) -> MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running auth HTTP service. Dropping it stops it.
pub struct AuthServer {
    addr: SocketAddr,
    book: Shared,
    task: JoinHandle<()>,
}

impl AuthServer {
    /// Serves on a free loopback port, knowing no secret yet.
    pub async fn start() -> std::io::Result<AuthServer> {
        AuthServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<AuthServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let book = Shared::default();
        let app = Router::new()
            .route("/ping", get(|| async { "OK" }))
            .route("/auth", get(auth))
            .with_state(Arc::clone(&book));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(AuthServer { addr, book, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for nsqd's `--auth-http-address` ([`super::NsqOptions::auth_http_addresses`]).
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// From now on `secret` gets this grant.
    pub fn grant(&self, secret: &str, grant: AuthGrant) {
        self.answer(secret, AuthAnswer::Grant(grant));
    }

    pub fn answer(&self, secret: &str, answer: AuthAnswer) {
        lock(&self.book).answers.insert(secret.into(), answer);
    }

    /// From now on `secret` is unknown (403).
    pub fn revoke(&self, secret: &str) {
        lock(&self.book).answers.remove(secret);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<AuthRequest> {
        lock(&self.book).requests.clone()
    }

    pub async fn shutdown(mut self) {
        self.task.abort();
        // Cancelled on purpose: the JoinError says so and nothing else.
        let _ = (&mut self.task).await;
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `application/x-www-form-urlencoded` decoding of one query value (`+` is a space).
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| form_decode(k) == name)
        .map(|(_, v)| form_decode(v))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body,
    )
        .into_response()
}

async fn auth(
    State(book): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    let request = AuthRequest {
        path: "/auth".into(),
        secret: query_param(&query, "secret"),
        remote_ip: query_param(&query, "remote_ip"),
        tls: query_param(&query, "tls"),
        common_name: query_param(&query, "common_name"),
        accept: headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        raw_query: query,
    };
    let mut book = lock(&book);
    let answer = match (&request.secret, &request.remote_ip, &request.tls) {
        // tornado's get_argument: a missing argument is a 400.
        (None, _, _) | (_, None, _) | (_, _, None) => json_response(
            StatusCode::BAD_REQUEST,
            r#"{"message":"MISSING_ARGUMENT"}"#.into(),
        ),
        (Some(secret), _, _) => match book.answers.get(secret) {
            Some(AuthAnswer::Grant(g)) => json_response(
                StatusCode::OK,
                serde_json::to_string(g).expect("a grant serialises"),
            ),
            Some(AuthAnswer::Raw { status, body }) => json_response(
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body.clone(),
            ),
            None => json_response(
                StatusCode::FORBIDDEN,
                r#"{"message":"NOT_AUTHORIZED"}"#.into(),
            ),
        },
    };
    book.requests.push(request);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode_as_forms_do() {
        let q = "common_name=my+client&remote_ip=127.0.0.1&secret=a%2Bb%FF&tls=true";
        assert_eq!(query_param(q, "common_name").as_deref(), Some("my client"));
        assert_eq!(query_param(q, "secret").as_deref(), Some("a+b\u{fffd}"));
        assert_eq!(query_param(q, "tls").as_deref(), Some("true"));
        assert_eq!(query_param(q, "nothing"), None);
        assert_eq!(form_decode("100%"), "100%");
    }
}
