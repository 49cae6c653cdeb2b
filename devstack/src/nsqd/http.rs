//! nsqd's HTTP API (`nsqd/http.go`) and nsqlookupd's (`nsqlookupd/http.go`): the
//! endpoints, status codes and error bodies (`{"message":"MSG_TOO_BIG"}`) of the real ones.
//! The stand-in nsqd "registers" with its own nsqlookupd by sharing its state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::json;
use tokio::net::TcpListener;

use super::{Inner, VERSION, is_valid_name, parse_binary_mpub};

type Params = Query<HashMap<String, String>>;

fn err(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

fn ok_text() -> Response {
    (StatusCode::OK, "OK").into_response()
}

pub(crate) async fn serve_nsqd(listener: TcpListener, inner: Arc<Inner>) {
    let app = Router::new()
        .route("/ping", any(|| async { "OK" }))
        .route("/info", get(info))
        .route("/pub", post(publish))
        .route("/mpub", post(mpublish))
        .route("/stats", get(stats))
        .route("/topic/create", post(topic_create))
        .route("/topic/delete", post(topic_delete))
        .route("/channel/create", post(channel_create))
        .route("/channel/delete", post(channel_delete))
        .with_state(inner);
    let _ = axum::serve(listener, app).await;
}

pub(crate) async fn serve_lookupd(listener: TcpListener, inner: Arc<Inner>) {
    let app = Router::new()
        .route("/ping", any(|| async { "OK" }))
        .route(
            "/info",
            get(|| async { axum::Json(json!({ "version": VERSION })) }),
        )
        .route("/lookup", get(lookup))
        .route("/topics", get(topics))
        .route("/channels", get(channels))
        .route("/nodes", get(nodes))
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

async fn info(State(inner): State<Arc<Inner>>) -> Response {
    axum::Json(json!({
        "version": VERSION,
        "broadcast_address": broadcast(&inner),
        "hostname": hostname(),
        "http_port": inner.http_addr.port(),
        "tcp_port": inner.tcp_addr.port(),
        "start_time": inner.started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    }))
    .into_response()
}

/// The `topic` parameter, checked as nsqd's `getTopicFromQuery` does.
/// An HTTP error before it becomes a response (small, unlike `Response`).
type HttpErr = (StatusCode, &'static str);

fn respond(e: HttpErr) -> Response {
    err(e.0, e.1)
}

fn topic_param(q: &HashMap<String, String>) -> Result<String, HttpErr> {
    match q.get("topic") {
        None => Err((StatusCode::BAD_REQUEST, "MISSING_ARG_TOPIC")),
        Some(t) if !is_valid_name(t) => Err((StatusCode::BAD_REQUEST, "INVALID_TOPIC")),
        Some(t) => Ok(t.clone()),
    }
}

async fn publish(State(inner): State<Arc<Inner>>, Query(q): Params, body: Bytes) -> Response {
    let topic = match topic_param(&q) {
        Ok(t) => t,
        Err(e) => return respond(e),
    };
    if body.len() > inner.opts.max_msg_size {
        return err(StatusCode::PAYLOAD_TOO_LARGE, "MSG_TOO_BIG");
    }
    if body.is_empty() {
        return err(StatusCode::BAD_REQUEST, "MSG_EMPTY");
    }
    let defer = match q.get("defer") {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(ms) if ms >= 0 && ms as u128 <= inner.opts.max_req_timeout.as_millis() => {
                Some(Duration::from_millis(ms as u64))
            }
            _ => return err(StatusCode::BAD_REQUEST, "INVALID_DEFER"),
        },
    };
    inner.state().publish(&topic, body, defer);
    ok_text()
}

async fn mpublish(State(inner): State<Arc<Inner>>, Query(q): Params, body: Bytes) -> Response {
    let topic = match topic_param(&q) {
        Ok(t) => t,
        Err(e) => return respond(e),
    };
    if body.len() > inner.opts.max_body_size {
        return err(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_BIG");
    }
    let binary = matches!(q.get("binary").map(String::as_str), Some("true" | "1"));
    let msgs = if binary {
        match parse_binary_mpub(&body, inner.opts.max_msg_size) {
            Ok(m) => m,
            Err(e) if e.contains("too big") => {
                return err(StatusCode::PAYLOAD_TOO_LARGE, "MSG_TOO_BIG");
            }
            Err(_) => return err(StatusCode::BAD_REQUEST, "INVALID_BODY"),
        }
    } else {
        // Newline-separated; empty lines are skipped, as nsqd does.
        let mut msgs = Vec::new();
        for line in body.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            if line.len() > inner.opts.max_msg_size {
                return err(StatusCode::PAYLOAD_TOO_LARGE, "MSG_TOO_BIG");
            }
            msgs.push(body.slice_ref(line));
        }
        msgs
    };
    if msgs.is_empty() {
        return err(StatusCode::BAD_REQUEST, "MSG_EMPTY");
    }
    let mut st = inner.state();
    for m in msgs {
        st.publish(&topic, m, None);
    }
    ok_text()
}

async fn stats(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    let topics = inner.state().stats(
        q.get("topic").map(String::as_str),
        q.get("channel").map(String::as_str),
    );
    if q.get("format").map(String::as_str) == Some("json") {
        return axum::Json(json!({
            "version": VERSION,
            "health": "OK",
            "start_time": inner.started.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            "topics": topics,
            "producers": [],
        }))
        .into_response();
    }
    let mut text = format!("nsqd v{VERSION} (stand-in)\n\nHealth: OK\n");
    for t in topics {
        text.push_str(&format!(
            "\n[{:<15}] depth: {:<5} msgs: {:<8}\n",
            t.topic_name, t.depth, t.message_count
        ));
        for c in t.channels {
            text.push_str(&format!(
                "    [{:<15}] depth: {:<5} inflt: {:<4} def: {:<4} re-q: {:<5} timeout: {:<5} msgs: {:<8}\n",
                c.channel_name,
                c.depth,
                c.in_flight_count,
                c.deferred_count,
                c.requeue_count,
                c.timeout_count,
                c.message_count
            ));
        }
    }
    text.into_response()
}

async fn topic_create(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    match topic_param(&q) {
        Ok(t) => {
            inner.state().topic(&t);
            ok_text()
        }
        Err(e) => respond(e),
    }
}

async fn topic_delete(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    match topic_param(&q) {
        Ok(t) if inner.state().delete_topic(&t) => ok_text(),
        Ok(_) => err(StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND"),
        Err(e) => respond(e),
    }
}

fn channel_param(q: &HashMap<String, String>) -> Result<String, HttpErr> {
    match q.get("channel") {
        None => Err((StatusCode::BAD_REQUEST, "MISSING_ARG_CHANNEL")),
        Some(c) if !is_valid_name(c) => Err((StatusCode::BAD_REQUEST, "INVALID_CHANNEL")),
        Some(c) => Ok(c.clone()),
    }
}

async fn channel_create(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    match (topic_param(&q), channel_param(&q)) {
        (Ok(t), Ok(c)) => {
            inner.state().create_channel(&t, &c);
            ok_text()
        }
        (Err(e), _) | (_, Err(e)) => respond(e),
    }
}

async fn channel_delete(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    match (topic_param(&q), channel_param(&q)) {
        (Ok(t), Ok(c)) if inner.state().delete_channel(&t, &c) => ok_text(),
        (Ok(_), Ok(_)) => err(StatusCode::NOT_FOUND, "CHANNEL_NOT_FOUND"),
        (Err(e), _) | (_, Err(e)) => respond(e),
    }
}

fn producer(inner: &Inner) -> serde_json::Value {
    json!({
        "remote_address": inner.tcp_addr.to_string(),
        "hostname": hostname(),
        "broadcast_address": broadcast(inner),
        "tcp_port": inner.tcp_addr.port(),
        "http_port": inner.http_addr.port(),
        "version": VERSION,
    })
}

async fn lookup(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    let Some(topic) = q.get("topic") else {
        return err(StatusCode::BAD_REQUEST, "MISSING_ARG_TOPIC");
    };
    let st = inner.state();
    let Some(t) = st.stats(Some(topic), None).pop() else {
        return err(StatusCode::NOT_FOUND, "TOPIC_NOT_FOUND");
    };
    let channels: Vec<String> = t.channels.into_iter().map(|c| c.channel_name).collect();
    drop(st);
    axum::Json(json!({ "channels": channels, "producers": [producer(&inner)] })).into_response()
}

async fn topics(State(inner): State<Arc<Inner>>) -> Response {
    let topics: Vec<String> = inner
        .state()
        .stats(None, None)
        .into_iter()
        .map(|t| t.topic_name)
        .collect();
    axum::Json(json!({ "topics": topics })).into_response()
}

async fn channels(State(inner): State<Arc<Inner>>, Query(q): Params) -> Response {
    let Some(topic) = q.get("topic") else {
        return err(StatusCode::BAD_REQUEST, "MISSING_ARG_TOPIC");
    };
    let channels: Vec<String> = inner
        .state()
        .stats(Some(topic), None)
        .into_iter()
        .flat_map(|t| t.channels.into_iter().map(|c| c.channel_name))
        .collect();
    axum::Json(json!({ "channels": channels })).into_response()
}

async fn nodes(State(inner): State<Arc<Inner>>) -> Response {
    let topics: Vec<String> = inner
        .state()
        .stats(None, None)
        .into_iter()
        .map(|t| t.topic_name)
        .collect();
    let mut p = producer(&inner);
    p["tombstones"] = json!(vec![false; topics.len()]);
    p["topics"] = json!(topics);
    axum::Json(json!({ "producers": [p] })).into_response()
}
