//! How many messages each nsqd holds for our channel, read from its HTTP `/stats`, so
//! that N is split by what each nsqd actually has instead of evenly.
//!
//! An even split makes a run whose share sits on an nsqd with nothing wait
//! [`REBALANCE_IDLE`](crate::REBALANCE_IDLE) before the share moves (N = 1 over two
//! nsqd, the message on the second: 0.5 s instead of milliseconds). The depths are read
//! once per run, after SUB (so the channel exists) and before the first `RDY`; what the
//! topic itself still holds counts too, since it is on its way to the channel. Reading them is best effort: an nsqd whose `/stats` does not
//! answer in time makes the split even again, and the idle rebalancing stays the
//! fallback either way.

use std::time::Duration;

use serde::Deserialize;

use crate::http::{HttpClient, HttpError, base_url};

/// Why one nsqd's depth could not be read (logged; the split is then even).
#[derive(Debug, thiserror::Error)]
enum DepthError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("/stats has no channel {channel:?} of topic {topic:?}")]
    NoChannel { topic: String, channel: String },
}

#[derive(Debug, Deserialize)]
struct Stats {
    #[serde(default)]
    topics: Vec<TopicStats>,
}

#[derive(Debug, Deserialize)]
struct TopicStats {
    topic_name: String,
    /// Messages still in the topic's own queue, not yet copied to its channels.
    #[serde(default)]
    depth: u64,
    #[serde(default)]
    channels: Vec<ChannelStats>,
}

#[derive(Debug, Deserialize)]
struct ChannelStats {
    channel_name: String,
    /// Messages queued (memory + disk), not in flight, not deferred.
    depth: u64,
}

/// The depth of `topic`/`channel` on each nsqd, by its HTTP address; `None` for one
/// that could not be read within `timeout`. The requests run at the same time.
pub(crate) async fn channel_depths(
    http: &HttpClient,
    http_addrs: &[String],
    topic: &str,
    channel: &str,
    timeout: Duration,
) -> Vec<Option<u64>> {
    let asks = http_addrs.iter().map(|addr| {
        let (addr, topic, channel) = (addr.clone(), topic.to_owned(), channel.to_owned());
        let http = http.clone();
        async move {
            // ureq is blocking: one short request per nsqd and run, on a blocking thread.
            let read = tokio::task::spawn_blocking(move || {
                read_depth(&http, &addr, &topic, &channel, timeout).map_err(|e| (addr, e))
            });
            match read.await {
                Ok(Ok(depth)) => Some(depth),
                Ok(Err((addr, e))) => {
                    tracing::debug!(nsqd_http = %addr, error = %e, "cannot read the channel depth; N is split evenly");
                    None
                }
                Err(_) => None,
            }
        }
    });
    futures::future::join_all(asks).await
}

/// The channel's backlog over every nsqd (`nsq.nsqd`, or the producers nsqlookupd
/// lists): the sum of their depths, for monitoring. `None` when no nsqd's `/stats`
/// answered within `timeout` (an nsqd that did not answer adds nothing).
pub async fn backlog(opts: &crate::ConsumerOptions, timeout: Duration) -> Option<u64> {
    let http = opts.http();
    let addrs: Vec<String> = match &opts.addresses {
        crate::NsqAddresses::Nsqd(_) => opts.nsqd_addrs().into_iter().map(|a| a.http).collect(),
        crate::NsqAddresses::Lookupd(lookupds) => {
            crate::lookup_producers(&http, lookupds, &opts.topic, timeout)
                .await
                .ok()?
                .into_iter()
                .map(|a| a.http)
                .collect()
        }
    };
    channel_depths(&http, &addrs, &opts.topic, &opts.channel, timeout)
        .await
        .into_iter()
        .flatten()
        .reduce(|a, b| a + b)
}

fn read_depth(
    http: &HttpClient,
    addr: &str,
    topic: &str,
    channel: &str,
    timeout: Duration,
) -> Result<u64, DepthError> {
    let url = format!(
        "{}/stats?format=json&topic={}&channel={}&include_clients=false",
        base_url(addr),
        crate::names::query_escape(topic),
        crate::names::query_escape(channel)
    );
    let agent = http.agent(&url, timeout, true)?;
    let body = agent
        .get(&url)
        .call()
        .map_err(|e| http.error(e))?
        .body_mut()
        .read_to_string()
        .map_err(|e| http.error(e))?;
    parse_depth(&body, topic, channel)
}

fn parse_depth(body: &str, topic: &str, channel: &str) -> Result<u64, DepthError> {
    let stats: Stats = serde_json::from_str(body).map_err(|source| HttpError::Unreadable {
        what: "/stats",
        source,
    })?;
    // The topic's own depth counts too: nsqd copies a topic's queue to a channel that
    // SUB just created asynchronously (its messagePump), so right after SUB some of what
    // the channel will hold may still be waiting in the topic.
    stats
        .topics
        .iter()
        .filter(|t| t.topic_name == topic)
        .find_map(|t| {
            t.channels
                .iter()
                .find(|c| c.channel_name == channel)
                .map(|c| c.depth + t.depth)
        })
        .ok_or_else(|| DepthError::NoChannel {
            topic: topic.to_owned(),
            channel: channel.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_depth_of_our_channel_is_read() {
        // Trimmed from nsqd 1.3.0's /stats?format=json.
        let body = r#"{"version":"1.3.0","health":"OK","start_time":1,"topics":[
            {"topic_name":"t","depth":7,"backend_depth":0,"message_count":9,"paused":false,
             "channels":[{"channel_name":"other","depth":1,"in_flight_count":0},
                         {"channel_name":"x-msrv","depth":5,"backend_depth":2,"in_flight_count":3}]}],
            "producers":[]}"#;
        assert_eq!(
            parse_depth(body, "t", "x-msrv").ok(),
            Some(5 + 7),
            "channel + topic"
        );
        assert!(parse_depth(body, "t", "missing").is_err());
        assert!(parse_depth(body, "u", "x-msrv").is_err());
        assert!(parse_depth("<html>", "t", "x-msrv").is_err());
    }
}
