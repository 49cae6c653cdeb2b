//! An NSQ consumer built for one rule: take **exactly N** messages, never one more.
//!
//! [`Consumer::connect`] subscribes to a topic's channel on one or more nsqd (given, or
//! found through nsqlookupd), hands out at most [`ConsumerOptions::max_messages`]
//! messages through [`Consumer::next`], and settles them with [`settle`] (FIN or REQ).
//! What it guarantees, and most clients do not (the crate's README says more):
//! - **Exact N.** nsqd never *sends* more than N: the `RDY` window never exceeds what is
//!   still wanted, and a lowered `RDY` is written ahead of the FINs that would reopen it.
//! - **A bound on the bytes in flight** ([`ConsumerOptions::max_in_flight_bytes`]).
//! - **N split by channel depth** over several nsqd, and shares moved from idle nsqd to
//!   busy ones, lowering before raising.
//! - **TLS, snappy or deflate, and AUTH**, negotiated in IDENTIFY and applied in nsqd's
//!   order; TLS asked for and not offered is an error, never a silent downgrade.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use nsq_exact::{Consumer, ConsumerOptions, NsqAddresses, Settle, settle};
//!
//! # async fn example() -> Result<(), nsq_exact::NsqError> {
//! let nsqd = NsqAddresses::Nsqd(vec!["127.0.0.1:4150".to_owned()]);
//! // At most 100 messages of topic "events", channel "archive".
//! let opts = ConsumerOptions::new(nsqd, "events", "archive", 100);
//! let mut consumer = Consumer::connect(opts).await?;
//! while let Some(msg) = consumer.next().await {
//!     let how = match std::str::from_utf8(&msg.body) {
//!         Ok(_) => Settle::Finish,
//!         Err(_) => Settle::Requeue(Duration::from_secs(10)),
//!     };
//!     settle(vec![(msg, how)]).await?;
//!     if consumer.stats().received == 100 {
//!         break;
//!     }
//! }
//! // RDY 0, requeue what was never taken, CLS, wait for CLOSE_WAIT.
//! consumer.close(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Why not an existing crate
//! The exact-N guarantee needs full control of `RDY`, and no maintained crate gives it:
//! - `nsq-client` 0.1.12 (2019) is dead: actix 0.7 on tokio 0.1, never sends `CLS`, and its
//!   `REQ` is unusable.
//! - `tokio-nsq` 0.14 (2023) has no way to set `RDY` (its rebalancer reopens the window on
//!   its own), treats a late `E_FIN_FAILED ...` as fatal because it compares the whole
//!   frame, never requeues a dropped message (the send is not awaited) and can panic in
//!   `finish()`.
//!
//! So this crate speaks TCP protocol V2 itself (IDENTIFY, AUTH, SUB, RDY, FIN, REQ, NOP,
//! CLS; [`frame`] also encodes TOUCH, which the consumer does not send) plus the
//! nsqlookupd HTTP `/lookup`, and negotiates in IDENTIFY what a secured nsqd needs: TLS
//! (rustls), snappy or deflate, and AUTH. None of these changes the accounting: they sit
//! under the frames (`transport`), and the exact-N rules below hold over any of them.
//!
//! # How "at most N" holds
//! nsqd's `RDY` is a *window*: it sends while the client's in-flight count is below `RDY`
//! (`client_v2.go`, `IsReadyForMessages`), and every FIN or REQ reopens a slot. So per
//! connection this client keeps `RDY ≤ in-flight + share`, where the shares of all
//! connections add up to at most the messages still wanted, and writes a lowered `RDY`
//! in the same write, *ahead of* the FINs that would reopen the window (nsqd handles a
//! connection's commands in order). With one nsqd, nsqd can then never send more than N.
//! An atomic counter still checks every arrival: a message past N (over-delivery, or one
//! already on the wire when a share moved between connections) is `REQ <id> 0` at once,
//! never handed out and never lost. Messages handed out and never settled are requeued
//! when dropped.
//!
//! # Layout
//! - [`frame`]: the wire format, encoding and decoding only.
//! - `id`: [`MessageId`] and [`message_key`]; `names`: valid topic and channel names.
//! - `options`: [`ConsumerOptions`] and the addresses of nsqd.
//! - `error`: [`NsqError`], [`NsqdTlsError`] and nsqd's [`ServerError`].
//! - `settle`: [`Settle`] (FIN or REQ) and [`MAX_REQ_DELAY`].
//! - `message`: [`Message`], its requeue when dropped unsettled, and [`settle`].
//! - `window`: the accounting of shares, in-flight counts and `RDY`, without I/O.
//! - `handshake`: IDENTIFY, the TLS upgrade, snappy/deflate, AUTH and SUB, in nsqd's
//!   order; what was [`Negotiated`].
//! - `conn`: one nsqd connection after its handshake (reader task, its own writes).
//! - `transport`: the bytes under the frames: TCP or TLS, snappy or deflate over either.
//! - [`tls`]: the TLS client configuration, built once from the configured files, and
//!   the one classification of failed handshakes ([`TlsFailure`]).
//! - `consumer`: [`Consumer`], owning the connections and writing the `RDY`s they do not.
//! - `lookupd`: producer discovery over nsqlookupd's HTTP API.
//! - `depth`: each nsqd's channel depth from its HTTP `/stats`, to split N by it.
//! - `publish`: nsqd's HTTP `/pub` and `/mpub`, failing with [`PublishError`].
//! - `http`: [`HttpClient`], the one HTTP(S) client of `lookupd`, `depth` and `publish`,
//!   failing with [`HttpError`].

#![warn(missing_docs)]

pub mod frame;
pub mod tls;

mod conn;
mod consumer;
mod depth;
mod error;
mod handshake;
mod http;
mod id;
mod lookupd;
mod message;
mod names;
mod options;
mod publish;
mod settle;
mod transport;
mod window;

pub use consumer::{Consumer, ConsumerStats};
pub use depth::backlog;
pub use error::{NsqError, NsqdTlsError, ServerError};
pub use handshake::{AuthIdentity, Negotiated};
pub use http::{HttpClient, HttpError};
pub use id::{MessageId, message_key};
pub use lookupd::lookup_producers;
pub use message::{Message, settle};
pub use names::is_valid_name;
pub use options::{
    ConsumerOptions, DEFAULT_MAX_IN_FLIGHT_BYTES, NsqAddresses, NsqdAddr, Secret, default_http_addr,
};
pub use publish::{PublishError, publish, publish_batch};
pub use settle::{MAX_REQ_DELAY, Settle};
pub use tls::{TlsClient, TlsFailure};
pub use transport::Compression;
pub use window::REBALANCE_IDLE;

/// Checks, without subscribing, that every nsqd the options name (or nsqlookupd lists)
/// accepts a connection and the handshake. One line per nsqd (`nsqd 127.0.0.1:4150 ok
/// (TLS 1.3, snappy, no AUTH, max_rdy_count 2500)`), for a configuration check.
pub async fn probe(opts: &ConsumerOptions) -> Result<Vec<String>, NsqError> {
    let (addrs, via) = match &opts.addresses {
        NsqAddresses::Nsqd(_) => (opts.nsqd_addrs(), String::new()),
        NsqAddresses::Lookupd(l) => (
            lookup_producers(&opts.http(), l, &opts.topic, opts.connect_timeout).await?,
            format!(" (via nsqlookupd {})", l.join(", ")),
        ),
    };
    if addrs.is_empty() {
        return Ok(vec![format!("no nsqd has topic {:?} yet{via}", opts.topic)]);
    }
    let mut lines = Vec::with_capacity(addrs.len());
    for addr in &addrs {
        let negotiated = handshake::probe(&addr.tcp, opts).await?;
        lines.push(format!("nsqd {} ok ({negotiated}){via}", addr.tcp));
    }
    Ok(lines)
}
