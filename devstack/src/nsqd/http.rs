//! nsqd's HTTP API (`nsqd/http.go`) and nsqlookupd's (`nsqlookupd/http.go`): the
//! routes and methods, status codes, error bodies (`{"message":"MSG_TOO_BIG"}`) and
//! headers of the real ones (`internal/http_api`: the `V1` and `PlainText` decorators).
//!
//! Why one file of ~650 lines: it is a route table, one handler per route of both
//! servers, each short, sharing the same request parsing and error shaping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;

use super::tcp::read_mpub;
use super::{Inner, VERSION, is_valid_name};

/// The header nsqd's `V1` responses carry.
const NSQ_CONTENT_TYPE: &str = "nsq; version=1.0";
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// An error answer: status and nsqd's upper-case message.
type HttpErr = (StatusCode, &'static str);

fn v1_headers(json: bool) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "X-NSQ-Content-Type",
        HeaderValue::from_static(NSQ_CONTENT_TYPE),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if json {
            JSON_CONTENT_TYPE
        } else {
            // Go's `http.DetectContentType` for nsqd's text answers.
            TEXT_CONTENT_TYPE
        }),
    );
    h
}

/// `RespondV1` with an error: `{"message": ...}`.
fn v1_err((status, message): HttpErr) -> Response {
    (
        status,
        v1_headers(true),
        serde_json::to_vec(&json!({ "message": message })).expect("JSON serialises"),
    )
        .into_response()
}

/// `RespondV1` with a string (`OK`) or nothing.
fn v1_text(text: &'static str) -> Response {
    let mut h = v1_headers(false);
    if text.is_empty() {
        h.remove(header::CONTENT_TYPE);
    }
    (StatusCode::OK, h, text).into_response()
}

/// `RespondV1` with a JSON document.
fn v1_json(data: &impl Serialize) -> Response {
    (
        StatusCode::OK,
        v1_headers(true),
        serde_json::to_vec(data).expect("JSON serialises"),
    )
        .into_response()
}

fn v1(result: Result<Response, HttpErr>) -> Response {
    result.unwrap_or_else(v1_err)
}

/// The query as Go's `url.ParseQuery` sees it: `None` if it does not parse, and the
/// first value wins when a key repeats.
struct Params(Vec<(String, String)>);

type RawParams = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn params(raw: RawParams) -> Result<Params, HttpErr> {
    raw.map(|Query(q)| Params(q))
        .map_err(|_| (StatusCode::BAD_REQUEST, "INVALID_REQUEST"))
}

impl Params {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// nsqd's `boolParams`: true/1/false/0; anything else (or absent) is `default`.
    fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            _ => default,
        }
    }

    /// `getTopicFromQuery`: the topic must be present and valid.
    fn topic(&self) -> Result<String, HttpErr> {
        match self.get("topic") {
            None => Err((StatusCode::BAD_REQUEST, "MISSING_ARG_TOPIC")),
            Some(t) if !is_valid_name(t) => Err((StatusCode::BAD_REQUEST, "INVALID_TOPIC")),
            Some(t) => Ok(t.to_owned()),
        }
    }

    /// `reqParams.Get("topic")` without a name check (delete, pause, lookupd).
    fn topic_unchecked(&self) -> Result<String, HttpErr> {
        self.get("topic")
            .map(str::to_owned)
            .ok_or((StatusCode::BAD_REQUEST, "MISSING_ARG_TOPIC"))
    }

    /// `http_api.GetTopicChannelArgs`.
    fn topic_channel(&self) -> Result<(String, String), HttpErr> {
        let topic = self
            .get("topic")
            .ok_or((StatusCode::BAD_REQUEST, "MISSING_ARG_TOPIC"))?;
        if !is_valid_name(topic) {
            return Err((StatusCode::BAD_REQUEST, "INVALID_ARG_TOPIC"));
        }
        let channel = self
            .get("channel")
            .ok_or((StatusCode::BAD_REQUEST, "MISSING_ARG_CHANNEL"))?;
        if !is_valid_name(channel) {
            return Err((StatusCode::BAD_REQUEST, "INVALID_ARG_CHANNEL"));
        }
        Ok((topic.to_owned(), channel.to_owned()))
    }
}

async fn not_found() -> Response {
    v1_err((StatusCode::NOT_FOUND, "NOT_FOUND"))
}

async fn method_not_allowed() -> Response {
    v1_err((StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"))
}

/// `PlainText` `/ping`: `OK` without nsqd's V1 header.
async fn ping() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)],
        "OK",
    )
        .into_response()
}

// GET routes get an explicit HEAD: axum would answer HEAD itself, nsqd's router (no
// HEAD handlers registered) says 405.
/// Serves nsqd's HTTP API until `stop` changes (or its sender goes): then the
/// listener closes, idle connections close and requests in progress finish.
pub(crate) async fn serve_nsqd(
    listener: TcpListener,
    inner: Arc<Inner>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/ping", get(ping).head(method_not_allowed))
        .route("/info", get(info).head(method_not_allowed))
        .route("/pub", post(publish))
        .route("/mpub", post(mpublish))
        .route("/stats", get(stats).head(method_not_allowed))
        .route("/topic/create", post(topic_create))
        .route("/topic/delete", post(topic_delete))
        .route("/topic/empty", post(topic_empty))
        .route("/topic/pause", post(topic_pause))
        .route("/topic/unpause", post(topic_unpause))
        .route("/channel/create", post(channel_create))
        .route("/channel/delete", post(channel_delete))
        .route("/channel/empty", post(channel_empty))
        .route("/channel/pause", post(channel_pause))
        .route("/channel/unpause", post(channel_unpause))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // nsqd applies its own limits (MSG_TOO_BIG, BODY_TOO_BIG), not axum's 2 MB.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&inner),
            tls_required,
        ))
        .with_state(inner);
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await;
}

/// `httpServer.ServeHTTP` with `--tls-required=true`: the plain HTTP server answers
/// every request, unknown routes included, with 403 and where HTTPS is. The stand-in
/// has no HTTPS listener, like an nsqd without `--https-address`: port 0.
async fn tls_required(
    State(inner): State<Arc<Inner>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if inner.opts.tls_required != super::TlsRequired::Yes {
        return next.run(req).await;
    }
    (
        StatusCode::FORBIDDEN,
        v1_headers(true),
        // nsqd's literal format string, spaces included.
        r#"{"message": "TLS_REQUIRED", "https_port": 0}"#,
    )
        .into_response()
}

pub(crate) async fn serve_lookupd(listener: TcpListener, inner: Arc<Inner>) {
    let app = Router::new()
        .route("/ping", get(ping).head(method_not_allowed))
        .route(
            "/info",
            get(|| async { v1_json(&json!({ "version": VERSION })) }).head(method_not_allowed),
        )
        .route("/lookup", get(lookup).head(method_not_allowed))
        .route("/topics", get(topics).head(method_not_allowed))
        .route("/channels", get(channels).head(method_not_allowed))
        .route("/nodes", get(nodes).head(method_not_allowed))
        .route("/topic/create", post(lookupd_topic_create))
        .route("/topic/delete", post(lookupd_topic_delete))
        .route("/channel/create", post(lookupd_channel_create))
        .route("/channel/delete", post(lookupd_channel_delete))
        .route("/topic/tombstone", post(lookupd_tombstone))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(inner);
    let _ = axum::serve(listener, app).await;
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "localhost".into(), |h| h.trim().into())
}

fn broadcast(inner: &Inner) -> String {
    inner
        .opts
        .broadcast_address
        .clone()
        .unwrap_or_else(|| inner.tcp_addr.ip().to_string())
}

/// Go's `time.Duration` in JSON: nanoseconds.
fn go_duration(d: Duration) -> u64 {
    d.as_nanos() as u64
}

async fn info(State(inner): State<Arc<Inner>>) -> Response {
    v1_json(&json!({
        "version": VERSION,
        "broadcast_address": broadcast(&inner),
        "hostname": hostname(),
        "http_port": inner.http_addr.port(),
        "tcp_port": inner.tcp_addr.port(),
        "start_time": inner.start_time(),
        "max_heartbeat_interval": go_duration(inner.opts.max_heartbeat_interval),
        "max_output_buffer_size": inner.opts.max_output_buffer_size,
        "max_output_buffer_timeout": go_duration(inner.opts.max_output_buffer_timeout),
        "max_deflate_level": inner.opts.max_deflate_level,
    }))
}

/// The declared body size, if any.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn publish(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    raw: RawParams,
    body: Bytes,
) -> Response {
    v1((|| {
        let max = inner.opts.max_msg_size;
        // Size first, then emptiness, then the topic: nsqd's order.
        if content_length(&headers).is_some_and(|n| n > max as u64) || body.len() > max {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "MSG_TOO_BIG"));
        }
        if body.is_empty() {
            return Err((StatusCode::BAD_REQUEST, "MSG_EMPTY"));
        }
        let q = params(raw)?;
        let topic = q.topic()?;
        inner.state().topic(&topic);
        let defer = match q.get("defer") {
            None => None,
            // Go's `strconv.ParseInt(s, 10, 64)`: an optional sign, then digits.
            Some(d) => match d.parse::<i64>() {
                Ok(ms)
                    if ms >= 0
                        && u128::from(ms.unsigned_abs())
                            <= inner.opts.max_req_timeout.as_millis() =>
                {
                    Some(Duration::from_millis(ms as u64))
                }
                _ => return Err((StatusCode::BAD_REQUEST, "INVALID_DEFER")),
            },
        };
        inner.state().publish(&topic, body.clone(), defer);
        Ok(v1_text("OK"))
    })())
}

async fn mpublish(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    raw: RawParams,
    body: Bytes,
) -> Response {
    let opts = &inner.opts;
    if content_length(&headers).is_some_and(|n| n > opts.max_body_size as u64) {
        return v1_err((StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_BIG"));
    }
    let q = match params(raw).and_then(|q| q.topic().map(|t| (q, t))) {
        Ok(x) => x,
        Err(e) => return v1_err(e),
    };
    let (q, topic) = q;
    inner.state().topic(&topic);
    // Text mode is the default; an unrecognised `binary` value counts as true.
    let binary = q.get("binary").is_some_and(|v| !matches!(v, "false" | "0"));
    let msgs = if binary {
        let mut rd: &[u8] = &body;
        match read_mpub(&mut rd, opts.max_msg_size, opts.max_body_size).await {
            Ok(m) => m,
            // nsqd answers 413 with the protocol code minus its `E_`.
            Err(e) => {
                return v1_err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    e.code.strip_prefix("E_").unwrap_or(e.code),
                ));
            }
        }
    } else {
        // nsqd reads at most max_body_size + 1 bytes and fails when it got that many.
        let read_max = opts.max_body_size + 1;
        let limited = body.slice(..body.len().min(read_max));
        let mut msgs = Vec::new();
        let mut total = 0;
        let mut rest = &limited[..];
        while !rest.is_empty() || total == 0 {
            let (block, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..=i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            total += block.len();
            if total == read_max {
                return v1_err((StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_BIG"));
            }
            let line = block.strip_suffix(b"\n").unwrap_or(block);
            rest = next;
            // Empty lines are skipped, as nsqd has done since 0.2.22.
            if line.is_empty() {
                if rest.is_empty() {
                    break;
                }
                continue;
            }
            if line.len() > opts.max_msg_size {
                return v1_err((StatusCode::PAYLOAD_TOO_LARGE, "MSG_TOO_BIG"));
            }
            msgs.push(limited.slice_ref(line));
        }
        msgs
    };
    let mut st = inner.state();
    for m in msgs {
        st.publish(&topic, m, None);
    }
    v1_text("OK")
}

async fn stats(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    let q = match params(raw) {
        Ok(q) => q,
        Err(e) => return v1_err(e),
    };
    let (topic, channel) = (q.get("topic"), q.get("channel"));
    // nsqd treats an empty `topic=` as no filter.
    let topic = topic.filter(|t| !t.is_empty());
    let channel = channel.filter(|c| !c.is_empty());
    let s = inner.stats(
        topic,
        channel,
        q.flag("include_clients", true),
        q.flag("include_mem", true),
    );
    if q.get("format") == Some("json") {
        return v1_json(&s);
    }
    let mut text = format!(
        "nsqd v{VERSION} (stand-in)\nstart_time {}\n\nHealth: {}\n",
        s.start_time, s.health
    );
    if let Some(m) = &s.memory {
        text.push_str("\nMemory:\n");
        for (k, v) in [
            ("heap_objects", m.heap_objects),
            ("heap_idle_bytes", m.heap_idle_bytes),
            ("heap_in_use_bytes", m.heap_in_use_bytes),
            ("heap_released_bytes", m.heap_released_bytes),
            ("gc_pause_usec_100", m.gc_pause_usec_100),
            ("gc_pause_usec_99", m.gc_pause_usec_99),
            ("gc_pause_usec_95", m.gc_pause_usec_95),
            ("next_gc_bytes", m.next_gc_bytes),
            ("gc_total_runs", u64::from(m.gc_total_runs)),
        ] {
            text.push_str(&format!("   {k:<25}\t{v}\n"));
        }
    }
    let topics = s.topics.unwrap_or_default();
    if topics.is_empty() {
        text.push_str("\nTopics: None\n");
    } else {
        text.push_str("\nTopics:");
    }
    for t in topics {
        text.push_str(&format!(
            "\n{}[{:<15}] depth: {:<5} be-depth: {:<5} msgs: {:<8} e2e%: \n",
            if t.paused { "*P " } else { "   " },
            t.topic_name,
            t.depth,
            t.backend_depth,
            t.message_count
        ));
        for c in t.channels {
            text.push_str(&format!(
                "{}[{:<25}] depth: {:<5} be-depth: {:<5} inflt: {:<4} def: {:<4} re-q: {:<5} timeout: {:<5} msgs: {:<8} e2e%: \n",
                if c.paused { "   *P " } else { "      " },
                c.channel_name,
                c.depth,
                c.backend_depth,
                c.in_flight_count,
                c.deferred_count,
                c.requeue_count,
                c.timeout_count,
                c.message_count
            ));
            for cl in c.clients.unwrap_or_default() {
                text.push_str(&format!(
                    "        [V2 {}:{} {}] state: {} inflt: {:<4} rdy: {:<4} fin: {:<8} re-q: {:<8} msgs: {:<8}\n",
                    cl.hostname,
                    cl.remote_address.rsplit(':').next().unwrap_or_default(),
                    cl.user_agent,
                    cl.state,
                    cl.in_flight_count,
                    cl.ready_count,
                    cl.finish_count,
                    cl.requeue_count,
                    cl.message_count
                ));
            }
        }
    }
    match s.producers {
        Some(p) if !p.is_empty() => {
            text.push_str("\nProducers:\n");
            for cl in p {
                let total: u64 = cl.pub_counts.iter().map(|c| c.count).sum();
                text.push_str(&format!(
                    "   [V2 {}:{} {}] msgs: {:<8}\n",
                    cl.hostname,
                    cl.remote_address.rsplit(':').next().unwrap_or_default(),
                    cl.user_agent,
                    total
                ));
            }
        }
        _ => text.push_str("\nProducers: None\n"),
    }
    (StatusCode::OK, v1_headers(false), text).into_response()
}

async fn topic_create(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1(params(raw).and_then(|q| q.topic()).map(|t| {
        inner.state().topic(&t);
        v1_text("")
    }))
}

async fn topic_delete(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let topic = params(raw)?.topic_unchecked()?;
        let clients = inner
            .state()
            .delete_topic(&topic)
            .ok_or((StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND"))?;
        inner.close_clients(&clients);
        Ok(v1_text(""))
    })())
}

async fn topic_empty(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let topic = params(raw)?.topic()?;
        if !inner.state().empty_topic(&topic) {
            return Err((StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND"));
        }
        Ok(v1_text(""))
    })())
}

fn pause_topic(inner: &Inner, raw: RawParams, paused: bool) -> Response {
    v1((|| {
        let topic = params(raw)?.topic_unchecked()?;
        if !inner.state().pause_topic(&topic, paused) {
            return Err((StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND"));
        }
        Ok(v1_text(""))
    })())
}

async fn topic_pause(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    pause_topic(&inner, raw, true)
}

async fn topic_unpause(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    pause_topic(&inner, raw, false)
}

/// `getExistingTopicFromQuery`: valid topic and channel names, and an existing topic.
fn existing_topic(inner: &Inner, raw: RawParams) -> Result<(String, String), HttpErr> {
    let (topic, channel) = params(raw)?.topic_channel()?;
    if !inner.state().topics.contains_key(&topic) {
        return Err((StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND"));
    }
    Ok((topic, channel))
}

const CHANNEL_NOT_FOUND: HttpErr = (StatusCode::NOT_FOUND, "CHANNEL_NOT_FOUND");

async fn channel_create(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1(existing_topic(&inner, raw).map(|(t, c)| {
        inner.state().create_channel(&t, &c);
        v1_text("")
    }))
}

async fn channel_delete(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let (t, c) = existing_topic(&inner, raw)?;
        let clients = inner
            .state()
            .delete_channel(&t, &c)
            .ok_or(CHANNEL_NOT_FOUND)?;
        inner.close_clients(&clients);
        Ok(v1_text(""))
    })())
}

async fn channel_empty(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let (t, c) = existing_topic(&inner, raw)?;
        if !inner.state().empty_channel(&t, &c) {
            return Err(CHANNEL_NOT_FOUND);
        }
        Ok(v1_text(""))
    })())
}

fn pause_channel(inner: &Inner, raw: RawParams, paused: bool) -> Response {
    v1((|| {
        let (t, c) = existing_topic(inner, raw)?;
        if !inner.state().pause_channel(&t, &c, paused) {
            return Err(CHANNEL_NOT_FOUND);
        }
        Ok(v1_text(""))
    })())
}

async fn channel_pause(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    pause_channel(&inner, raw, true)
}

async fn channel_unpause(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    pause_channel(&inner, raw, false)
}

/// nsqlookupd's `PeerInfo` of the stand-in nsqd.
fn peer_info(inner: &Inner) -> serde_json::Value {
    json!({
        "remote_address": inner.tcp_addr.to_string(),
        "hostname": hostname(),
        "broadcast_address": broadcast(inner),
        "tcp_port": inner.tcp_addr.port(),
        "http_port": inner.http_addr.port(),
        "version": VERSION,
    })
}

async fn lookup(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let topic = params(raw)?.topic_unchecked()?;
        let reg = inner.registry();
        if !reg.has_topic(&topic) {
            return Err((StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND"));
        }
        let producers = if reg.nsqd_produces(&topic, Instant::now()) {
            vec![peer_info(&inner)]
        } else {
            Vec::new()
        };
        Ok(v1_json(&json!({
            "channels": reg.channels(&topic),
            "producers": producers,
        })))
    })())
}

async fn topics(State(inner): State<Arc<Inner>>) -> Response {
    v1_json(&json!({ "topics": inner.registry().topics() }))
}

async fn channels(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let topic = params(raw)?.topic_unchecked()?;
        Ok(v1_json(
            &json!({ "channels": inner.registry().channels(&topic) }),
        ))
    })())
}

async fn nodes(State(inner): State<Arc<Inner>>) -> Response {
    let (topics, tombstones): (Vec<String>, Vec<bool>) = inner
        .registry()
        .nsqd_topics(Instant::now())
        .into_iter()
        .unzip();
    let mut p = peer_info(&inner);
    p["tombstones"] = json!(tombstones);
    p["topics"] = json!(topics);
    v1_json(&json!({ "producers": [p] }))
}

async fn lookupd_topic_create(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let topic = params(raw)?.topic_unchecked()?;
        if !is_valid_name(&topic) {
            return Err((StatusCode::BAD_REQUEST, "INVALID_ARG_TOPIC"));
        }
        inner.registry().add_topic(&topic);
        Ok(v1_text(""))
    })())
}

async fn lookupd_topic_delete(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let topic = params(raw)?.topic_unchecked()?;
        inner.registry().remove_topic(&topic);
        Ok(v1_text(""))
    })())
}

async fn lookupd_channel_create(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let (t, c) = params(raw)?.topic_channel()?;
        inner.registry().add_channel(&t, &c);
        Ok(v1_text(""))
    })())
}

async fn lookupd_channel_delete(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let (t, c) = params(raw)?.topic_channel()?;
        if !inner.registry().remove_channel(&t, &c) {
            return Err(CHANNEL_NOT_FOUND);
        }
        Ok(v1_text(""))
    })())
}

async fn lookupd_tombstone(State(inner): State<Arc<Inner>>, raw: RawParams) -> Response {
    v1((|| {
        let q = params(raw)?;
        let topic = q.topic_unchecked()?;
        let node = q
            .get("node")
            .ok_or((StatusCode::BAD_REQUEST, "MISSING_ARG_NODE"))?;
        // The node is named `broadcast_address:http_port`.
        if node == format!("{}:{}", broadcast(&inner), inner.http_addr.port()) {
            inner.registry().tombstone(&topic, Instant::now());
        }
        Ok(v1_text(""))
    })())
}
