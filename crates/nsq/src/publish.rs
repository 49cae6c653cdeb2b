//! Publishing through nsqd's HTTP API: one message with `POST /pub` ([`publish`]; x-msrv's
//! dead-letter topic), many with `POST /mpub?binary=true` ([`publish_batch`]; `x-msrv
//! rejected redrive`). Both fail with the one [`PublishError`].
//!
//! HTTP rather than `PUB` on a consumer connection: the answer to `/pub` is its own
//! (a consumer connection interleaves responses with messages and heartbeats), and a
//! failed publish ends nothing but itself (a failed `PUB` is a fatal error that closes
//! the connection, and the messages in flight on it with it).

use std::time::Duration;

use bytes::Bytes;

use crate::http::{HttpClient, HttpError, base_url};
use crate::names::query_escape;

/// A publish nsqd did not acknowledge.
#[derive(Debug, thiserror::Error)]
#[error("cannot publish to topic {topic:?} on nsqd {addr}: {reason}")]
pub struct PublishError {
    /// nsqd's HTTP address.
    pub addr: String,
    /// The topic published to.
    pub topic: String,
    /// What failed.
    pub reason: HttpError,
    /// nsqd answered with a 4xx status (`MSG_TOO_BIG`, `BODY_TOO_BIG`, `BAD_MESSAGE`,
    /// `BAD_TOPIC`, ...): the request is at fault, the same request would be refused
    /// again, but nsqd is there. Otherwise nsqd could not be reached or failed (5xx),
    /// and whether it took the messages is unknown. (Always
    /// [`reason.is_client_error()`](HttpError::is_client_error), kept as a field for
    /// callers that match on it.)
    pub refused: bool,
}

impl PublishError {
    fn new(addr: &str, topic: &str, reason: HttpError) -> PublishError {
        PublishError {
            addr: addr.to_owned(),
            topic: topic.to_owned(),
            refused: reason.is_client_error(),
            reason,
        }
    }
}

/// Publishes `body` to `topic` on the nsqd whose HTTP address is `http_addr`; `Ok` once
/// nsqd answered `200 OK` (the message is in its topic).
pub async fn publish(
    http: &HttpClient,
    http_addr: &str,
    topic: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(), PublishError> {
    let url = format!("{}/pub?topic={}", base_url(http_addr), query_escape(topic));
    let http = http.clone();
    // ureq is blocking: a rare request (for x-msrv, a message that can be neither stored
    // nor kept), on a blocking thread.
    let sent = tokio::task::spawn_blocking(move || post(&http, &url, &body, timeout)).await;
    sent.map_err(HttpError::Task)
        .and_then(|result| result)
        .map_err(|reason| PublishError::new(http_addr, topic, reason))
}

/// Posts `body` to `url`; `Ok` on `200 OK`, else the status and nsqd's message.
fn post(http: &HttpClient, url: &str, body: &[u8], timeout: Duration) -> Result<(), HttpError> {
    let agent = http.agent(url, timeout, false)?;
    let mut response = agent.post(url).send(body).map_err(|e| http.error(e))?;
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
        Err(HttpError::Status {
            status: status.as_u16(),
            body: message.trim().to_owned(),
        })
    }
}

/// The body of `POST /mpub?binary=true`: the number of messages, then each message's
/// size and bytes, all sizes as big-endian u32 (nsqd's `readMPUB`).
pub(crate) fn mpub_body(bodies: &[Bytes]) -> Vec<u8> {
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
        query_escape(topic)
    );
    let payload = mpub_body(bodies);
    let http = http.clone();
    let sent = tokio::task::spawn_blocking(move || post(&http, &url, &payload, timeout)).await;
    sent.map_err(HttpError::Task)
        .and_then(|result| result)
        .map_err(|reason| PublishError::new(http_addr, topic, reason))
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
