//! nsqd's side of AUTH (`internal/auth/authorizations.go`, `client_v2.go` `QueryAuthd`,
//! `IsAuthorized`): the request to the auth HTTP service, the checks on its answer, and
//! how an authorization's topic and channel regexps allow a command.
//!
//! The request is `GET http://<addr>/auth?common_name=..&remote_ip=..&secret=..&tls=..`
//! (the parameters in Go's `url.Values.Encode` order and escaping), or
//! `<url>?<same>` when the address is a full URL; every address is tried, starting at
//! a random one, until one answers. Only a `200` whose JSON decodes is an answer.

use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::Value;

/// What nsqd asks the auth service about one connection.
pub(crate) struct AuthQuery<'a> {
    pub remote_ip: &'a str,
    pub tls: bool,
    pub common_name: &'a str,
    pub secret: &'a [u8],
}

/// One authorization of an auth answer (`auth.Authorization`), regexps compiled.
#[derive(Debug, Clone)]
struct Authorization {
    topic: Regex,
    channels: Vec<Regex>,
    permissions: Vec<String>,
}

impl Authorization {
    /// `Authorization.IsAllowed`: a channel needs `subscribe`, no channel (a publish)
    /// needs `publish`; the topic regexp must match (unanchored, as Go's `MatchString`),
    /// and so must one of the channel regexps — for a publish, against the empty
    /// channel name, so an authorization without channels allows no publish.
    fn is_allowed(&self, topic: &str, channel: &str) -> bool {
        let needed = if channel.is_empty() {
            "publish"
        } else {
            "subscribe"
        };
        self.permissions.iter().any(|p| p == needed)
            && self.topic.is_match(topic)
            && self.channels.iter().any(|c| c.is_match(channel))
    }
}

/// nsqd's `auth.State`: one answer of the auth service, valid for its ttl.
#[derive(Debug, Clone)]
pub(crate) struct AuthState {
    pub identity: String,
    pub identity_url: String,
    authorizations: Vec<Authorization>,
    expires: Instant,
}

impl AuthState {
    /// `len(Authorizations)`: the AUTH reply's `permission_count`.
    pub(crate) fn permission_count(&self) -> usize {
        self.authorizations.len()
    }

    /// `HasAuthorizations`.
    pub(crate) fn has_authorizations(&self) -> bool {
        !self.authorizations.is_empty()
    }

    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        self.expires < now
    }

    /// `State.IsAllowed`: any authorization allows it.
    pub(crate) fn is_allowed(&self, topic: &str, channel: &str) -> bool {
        self.authorizations
            .iter()
            .any(|a| a.is_allowed(topic, channel))
    }
}

/// Go's `url.QueryEscape`: unreserved bytes as they are, space as `+`, the rest `%XX`.
fn query_escape(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The URL nsqd asks (`QueryAuthd`).
pub(crate) fn endpoint(authd: &str, q: &AuthQuery<'_>) -> String {
    // url.Values.Encode sorts by key.
    let query = format!(
        "common_name={}&remote_ip={}&secret={}&tls={}",
        query_escape(q.common_name.as_bytes()),
        query_escape(q.remote_ip.as_bytes()),
        query_escape(q.secret),
        q.tls
    );
    if authd.contains("://") {
        format!("{authd}?{query}")
    } else {
        format!("http://{authd}/auth?{query}")
    }
}

/// `QueryAnyAuthd`: each address in turn from a random start; the errors of all, or
/// the first answer.
pub(crate) async fn query_any(
    addresses: &[String],
    q: &AuthQuery<'_>,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<AuthState, String> {
    let n = addresses.len();
    let start = usize::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    )
    .unwrap_or(0);
    let mut errors: Vec<String> = Vec::new();
    for i in 0..n {
        let authd = &addresses[(start + i) % n];
        let url = endpoint(authd, q);
        let got =
            tokio::task::spawn_blocking(move || get_v1(&url, connect_timeout, request_timeout))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .and_then(|body| parse_state(&body, Instant::now()));
        match got {
            Ok(state) => return Ok(state),
            Err(e) => errors.push(format!("failed to auth against {authd} - {e}")),
        }
    }
    Err(errors.join("; "))
}

/// `http_api.Client.GETV1` (blocking): nsqd's headers, the body of a `200`, anything
/// else an error. A `403` is not retried over HTTPS as nsqd's client tries (the
/// stand-in has no HTTPS client; either way the AUTH fails unless the answer points to
/// a real HTTPS port).
fn get_v1(url: &str, connect: Duration, request: Duration) -> Result<Vec<u8>, String> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_connect(Some(connect))
            .timeout_global(Some(request))
            .http_status_as_error(false)
            .user_agent("Go-http-client/1.1")
            .build(),
    );
    let mut resp = agent
        .get(url)
        .header("Accept", "application/vnd.nsq; version=1.0")
        .call()
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!(
            "got response {status} {:?}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(body)
}

/// Go's JSON decoding into a struct: object keys matched case-insensitively, `null`
/// leaves the zero value, a value of the wrong type is an error.
fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name)
        .or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn string_field(obj: &serde_json::Map<String, Value>, name: &str) -> Result<String, String> {
    match field(obj, name) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(format!(
            "json: cannot unmarshal {v} into field {name} of type string"
        )),
    }
}

fn strings_field(obj: &serde_json::Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    match field(obj, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Null => Ok(String::new()),
                Value::String(s) => Ok(s.clone()),
                v => Err(format!(
                    "json: cannot unmarshal {v} into field {name} of type string"
                )),
            })
            .collect(),
        Some(v) => Err(format!(
            "json: cannot unmarshal {v} into field {name} of type []string"
        )),
    }
}

/// Go's `regexp.Compile` (RE2 syntax; the regex crate's is RE2's).
fn compile(what: &str, re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("unable to compile {what} {re:?} {e}"))
}

/// The auth service's answer as `QueryAuthd` decodes and checks it: permissions only
/// `subscribe`/`publish`, every regexp compiles, `ttl` > 0.
pub(crate) fn parse_state(body: &[u8], now: Instant) -> Result<AuthState, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let empty = serde_json::Map::new();
    let obj = match &value {
        Value::Object(o) => o,
        Value::Null => &empty,
        v => {
            return Err(format!(
                "json: cannot unmarshal {v} into Go value of type auth.State"
            ));
        }
    };
    let ttl = match field(obj, "ttl") {
        None => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| format!("json: cannot unmarshal {v} into field ttl of type int"))?,
    };
    let identity = string_field(obj, "identity")?;
    let identity_url = string_field(obj, "identity_url")?;
    let raw = match field(obj, "authorizations") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(v) => {
            return Err(format!(
                "json: cannot unmarshal {v} into field authorizations"
            ));
        }
    };
    let mut authorizations = Vec::with_capacity(raw.len());
    for a in &raw {
        let a = match a {
            Value::Object(o) => o,
            Value::Null => &empty,
            v => {
                return Err(format!(
                    "json: cannot unmarshal {v} into auth.Authorization"
                ));
            }
        };
        let permissions = strings_field(a, "permissions")?;
        if let Some(p) = permissions
            .iter()
            .find(|p| !matches!(p.as_str(), "subscribe" | "publish"))
        {
            return Err(format!("unknown permission {p}"));
        }
        let topic = compile("topic", &string_field(a, "topic")?)?;
        let channels = strings_field(a, "channels")?
            .iter()
            .map(|c| compile("channel", c))
            .collect::<Result<Vec<_>, _>>()?;
        authorizations.push(Authorization {
            topic,
            channels,
            permissions,
        });
    }
    if ttl <= 0 {
        return Err(format!("invalid TTL {ttl} (must be >0)"));
    }
    Ok(AuthState {
        identity,
        identity_url,
        authorizations,
        expires: now + Duration::from_secs(ttl as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(json: &str) -> Result<AuthState, String> {
        parse_state(json.as_bytes(), Instant::now())
    }

    #[test]
    fn the_query_is_encoded_as_go_encodes_url_values() {
        let q = AuthQuery {
            remote_ip: "127.0.0.1",
            tls: true,
            common_name: "my client",
            secret: b"a+b/c=\xff",
        };
        assert_eq!(
            endpoint("127.0.0.1:4181", &q),
            "http://127.0.0.1:4181/auth?common_name=my+client&remote_ip=127.0.0.1&secret=a%2Bb%2Fc%3D%FF&tls=true"
        );
        assert!(endpoint("http://h:1/check", &q).starts_with("http://h:1/check?common_name="));
    }

    #[test]
    fn answers_are_checked_as_nsqd_checks_them() {
        let s = state(
            r#"{"TTL": 60, "identity": "me", "authorizations": [
                {"topic": "^orders$", "channels": ["^x-", "archive"], "permissions": ["subscribe"]},
                {"topic": "events", "channels": [".*"], "permissions": ["publish"]}]}"#,
        )
        .unwrap();
        assert_eq!((s.identity.as_str(), s.permission_count()), ("me", 2));
        assert!(s.is_allowed("orders", "x-msrv"));
        assert!(
            s.is_allowed("orders", "my-archive-1"),
            "unanchored, as Go's MatchString"
        );
        assert!(!s.is_allowed("orders", "other"));
        assert!(!s.is_allowed("orders", ""), "no publish permission");
        assert!(
            s.is_allowed("all-events", ""),
            "publish: a channel regexp matches \"\""
        );
        assert!(!s.is_allowed("events", "c"), "no subscribe permission");

        let no_channels =
            state(r#"{"ttl":1,"authorizations":[{"topic":".*","permissions":["publish"]}]}"#)
                .unwrap();
        assert!(
            !no_channels.is_allowed("t", ""),
            "publish needs a channel regexp too"
        );

        for bad in [
            r#"{"ttl": 0}"#,
            r#"null"#,
            r#"{"ttl": 1.5}"#,
            r#"{"ttl": "60"}"#,
            r#"[]"#,
            r#"{"ttl": 60, "authorizations": [{"topic": "(", "permissions": []}]}"#,
            r#"{"ttl": 60, "authorizations": [{"topic": "t", "channels": ["["]}]}"#,
            r#"{"ttl": 60, "authorizations": [{"topic": "t", "permissions": ["read"]}]}"#,
            r#"not json"#,
        ] {
            assert!(state(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn an_answer_expires_after_its_ttl() {
        let now = Instant::now();
        let s = parse_state(br#"{"ttl": 2}"#, now).unwrap();
        assert!(!s.is_expired(now + Duration::from_secs(1)));
        assert!(s.is_expired(now + Duration::from_secs(3)));
        assert!(!s.has_authorizations());
    }
}
