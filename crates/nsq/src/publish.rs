//! Publishing through nsqd's HTTP API: one message with `POST /pub` (the dead-letter
//! topic), many with `POST /mpub?binary=true` ([`publish_batch`], `x-msrv rejected
//! redrive`).
//!
//! HTTP rather than `PUB` on a consumer connection: the answer to `/pub` is its own
//! (a consumer connection interleaves responses with messages and heartbeats), and a
//! failed publish ends nothing but itself (a failed `PUB` is a fatal error that closes
//! the connection, and the messages in flight on it with it).

use std::time::Duration;

use bytes::Bytes;

use crate::NsqError;
use crate::http::{HttpClient, base_url};

/// Publishes `body` to `topic` on the nsqd whose HTTP address is `http_addr`; `Ok` once
/// nsqd answered `200 OK` (the message is in its topic).
pub async fn publish(
    http: &HttpClient,
    http_addr: &str,
    topic: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(), NsqError> {
    let url = format!(
        "{}/pub?topic={}",
        base_url(http_addr),
        crate::query_escape(topic)
    );
    let http = http.clone();
    // ureq is blocking: a rare request (a message that can be neither stored nor kept),
    // on a blocking thread.
    let sent = tokio::task::spawn_blocking(move || post(&http, &url, &body, timeout)).await;
    match sent {
        Ok(result) => result.map_err(|reason| NsqError::Publish {
            addr: http_addr.to_owned(),
            topic: topic.to_owned(),
            reason,
        }),
        Err(e) => Err(NsqError::Publish {
            addr: http_addr.to_owned(),
            topic: topic.to_owned(),
            reason: e.to_string(),
        }),
    }
}

fn post(http: &HttpClient, url: &str, body: &[u8], timeout: Duration) -> Result<(), String> {
    post_status(http, url, body, timeout).map_err(|(_, reason)| reason)
}

/// Like [`post`], with the HTTP status of a refusal (`None`: no answer at all).
fn post_status(
    http: &HttpClient,
    url: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<(), (Option<u16>, String)> {
    let agent = http
        .agent(url, timeout, false)
        .map_err(|reason| (None, reason))?;
    let mut response = agent
        .post(url)
        .send(body)
        .map_err(|e| (None, http.describe(&e)))?;
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    if status == 200 {
        Ok(())
    } else {
        // nsqd answers errors as {"message":"MSG_TOO_BIG"} (or plain text before 1.0).
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or(text);
        Err((
            Some(status.as_u16()),
            format!("HTTP {}: {}", status.as_u16(), message.trim()),
        ))
    }
}

/// A publish nsqd did not acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot publish to topic {topic:?} on nsqd {addr}: {reason}")]
pub struct PublishError {
    pub addr: String,
    pub topic: String,
    pub reason: String,
    /// nsqd answered with a 4xx status (`MSG_TOO_BIG`, `BODY_TOO_BIG`, `BAD_MESSAGE`,
    /// `BAD_TOPIC`, ...): the request is at fault, the same request would be refused
    /// again, but nsqd is there. Otherwise nsqd could not be reached or failed (5xx),
    /// and whether it took the messages is unknown.
    pub refused: bool,
}

/// The body of `POST /mpub?binary=true`: the number of messages, then each message's
/// size and bytes, all sizes as big-endian u32 (nsqd's `readMPUB`).
pub fn mpub_body(bodies: &[Bytes]) -> Vec<u8> {
    let len = 4 + bodies.iter().map(|b| 4 + b.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(
        &u32::try_from(bodies.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for body in bodies {
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// Publishes every body of `bodies` to `topic` in one `POST /mpub?binary=true`; `Ok`
/// once nsqd answered `200 OK` (nsqd puts the whole batch in the topic, or none of it).
/// The bodies together must stay under nsqd's `--max-body-size` (5 MiB by default) and
/// each under `--max-msg-size` (1 MiB), or nsqd refuses the whole batch.
pub async fn publish_batch(
    http: &HttpClient,
    http_addr: &str,
    topic: &str,
    bodies: &[Bytes],
    timeout: Duration,
) -> Result<(), PublishError> {
    let url = format!(
        "{}/mpub?topic={}&binary=true",
        base_url(http_addr),
        crate::query_escape(topic)
    );
    let payload = mpub_body(bodies);
    let http = http.clone();
    let sent =
        tokio::task::spawn_blocking(move || post_status(&http, &url, &payload, timeout)).await;
    let failure = |reason: String, refused: bool| PublishError {
        addr: http_addr.to_owned(),
        topic: topic.to_owned(),
        reason,
        refused,
    };
    match sent {
        Ok(Ok(())) => Ok(()),
        Ok(Err((status, reason))) => Err(failure(
            reason,
            status.is_some_and(|s| (400..500).contains(&s)),
        )),
        Err(e) => Err(failure(e.to_string(), false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpub_body_is_count_then_sized_messages() {
        let body = mpub_body(&[Bytes::from_static(b"ab"), Bytes::from_static(b"")]);
        assert_eq!(body, [0, 0, 0, 2, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0]);
        assert_eq!(mpub_body(&[]), [0, 0, 0, 0]);
    }
}
