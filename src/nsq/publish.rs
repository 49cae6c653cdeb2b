//! Publishing one message through nsqd's HTTP `POST /pub` (the dead-letter topic).
//!
//! HTTP rather than `PUB` on a consumer connection: the answer to `/pub` is its own
//! (a consumer connection interleaves responses with messages and heartbeats), and a
//! failed publish ends nothing but itself (a failed `PUB` is a fatal error that closes
//! the connection, and the messages in flight on it with it).

use std::time::Duration;

use bytes::Bytes;

use super::NsqError;

/// Publishes `body` to `topic` on the nsqd whose HTTP address is `http_addr`; `Ok` once
/// nsqd answered `200 OK` (the message is in its topic).
pub async fn publish(
    http_addr: &str,
    topic: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(), NsqError> {
    let url = format!(
        "http://{http_addr}/pub?topic={}",
        super::query_escape(topic)
    );
    // ureq is blocking: a rare request (a message that can be neither stored nor kept),
    // on a blocking thread.
    let sent = tokio::task::spawn_blocking(move || post(&url, &body, timeout)).await;
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

fn post(url: &str, body: &[u8], timeout: Duration) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.post(url).send(body).map_err(|e| e.to_string())?;
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
        Err(format!("HTTP {}: {}", status.as_u16(), message.trim()))
    }
}
