//! x-msrv: moves at most N JSON messages from NSQ into Aerospike per run.
//!
//! # Layout
//! In the order a message meets them; data flows one way, `nsq → record → store →
//! settle`, and the configuration is read only at start-up.
//! - [`config`]: file and environment → checked [`config::Settings`], before any
//!   connection (start-up only).
//! - [`nsq`] (`crates/nsq`, the `nsq-exact` crate): the consumer: connections, the
//!   at-most-N `RDY` window, [`nsq::Message`], and settling (FIN/REQ).
//! - [`record`]: a message body → a [`record::Record`] (JSON, schema, key, bins) or a
//!   [`record::Rejection`].
//! - [`store`]: the Aerospike sink: batch writes with one result per record, the
//!   rejected set, listing.
//! - [`batch`]: one batch through record → store → settle; each message's
//!   [`batch::Outcome`] decided by a pure function; a [`batch::BatchReport`] back.
//! - [`failures`]: x-msrv's own count of failed writes per message, kept between runs
//!   in the state directory (nsqd's `attempts` also counts x-msrv's own hand-backs).
//! - [`metrics`]: after each run, the metrics state (`metrics.json` in the state
//!   directory) and the Prometheus textfile (`metrics.textfile`); [`status`] is the
//!   Nagios/Icinga plugin that reads them.
//! - [`run`]: one run: connect, schedule batches, watch the stop signals, sum the
//!   reports into a [`run::RunSummary`].
//! - [`commands`]: the subcommands (`run`, `check`, `records`, the generator) and their
//!   exit codes ([`exit`]); [`cli`] is the command line, [`logging`] journald/stderr,
//!   [`generator`] the systemd timer drop-in.
//! - [`rejected`]: `x-msrv rejected list|show|redrive|purge`, the rejected set as a
//!   dead-letter queue.

pub mod batch;
pub mod cli;
pub mod commands;
pub mod config;
pub mod exit;
pub mod failures;
pub mod generator;
pub mod logging;
pub mod metrics;
pub mod record;
pub mod rejected;
pub mod run;
pub mod serve;
pub mod status;
pub mod store;
