//! Finding the nsqd to publish a redriven topic to: the configured nsqd, or a producer
//! of the topic that nsqlookupd knows.

use crate::config::Settings;
use nsq::{self, NsqAddresses, NsqError};

/// Why no nsqd was found to publish a topic to.
#[derive(Debug, thiserror::Error)]
pub(super) enum NoNsqd {
    /// `nsq.nsqd` is set, but its first nsqd has no HTTP address.
    #[error("nsq.nsqd names no nsqd with an HTTP address")]
    NoHttpAddress,
    /// nsqlookupd could not be asked.
    #[error(transparent)]
    Lookup(#[from] NsqError),
    /// nsqlookupd knows no nsqd with an HTTP address, neither of the topic nor of
    /// `nsq.topic`.
    #[error(
        "nsqlookupd {} knows no nsqd of topic {topic:?} nor of nsq.topic {consumed:?}",
        lookupds.join(", ")
    )]
    NoProducer {
        lookupds: Vec<String>,
        topic: String,
        consumed: String,
    },
}

/// The HTTP address of the nsqd to publish `topic` to: with `nsq.nsqd` the first one
/// (its `nsq.nsqd-http`, else its TCP port + 1); with `nsq.lookupd` a producer of the
/// topic, else (a topic no nsqd has yet) one of `nsq.topic`.
pub(super) async fn nsqd_for(
    http: &nsq::HttpClient,
    settings: &Settings,
    topic: &str,
) -> Result<String, NoNsqd> {
    match &settings.nsq.consumer.addresses {
        NsqAddresses::Nsqd(_) => settings
            .nsq
            .consumer
            .nsqd_addrs()
            .into_iter()
            .next()
            .map(|a| a.http)
            .filter(|http| !http.is_empty())
            .ok_or(NoNsqd::NoHttpAddress),
        NsqAddresses::Lookupd(lookupds) => {
            let timeout = settings.nsq.consumer.connect_timeout;
            for wanted in [topic, settings.nsq.consumer.topic.as_str()] {
                let producers = nsq::lookup_producers(http, lookupds, wanted, timeout).await?;
                if let Some(p) = producers.into_iter().find(|p| !p.http.is_empty()) {
                    return Ok(p.http);
                }
            }
            Err(NoNsqd::NoProducer {
                lookupds: lookupds.clone(),
                topic: topic.to_owned(),
                consumed: settings.nsq.consumer.topic.clone(),
            })
        }
    }
}
