//! x-msrv: moves at most N JSON messages from NSQ into Aerospike per run (a systemd
//! timer tick), or per period of one long-lived process (`x-msrv serve`).
//!
//! # Layout
//! In the order a message meets them; data flows one way, `nsq → record → store →
//! outcome → settle`, and the configuration is read only at start-up. Each folder
//! imports only the ones listed before it (`config` excepted: it builds the stages'
//! own settings, so it sits above `pipeline`).
//! - [`nsq`] (the `nsq-exact` crate, `crates/nsq/`): the NSQ client: connections, the at-most-N `RDY` window, [`nsq::Message`],
//!   and settling (FIN/REQ).
//! - [`pipeline`], the message path:
//!   - [`pipeline::record`]: a message body → a record (JSON, schema, key, set, TTL,
//!     bins) or a rejection with its reason;
//!   - [`pipeline::store`]: the Aerospike sink: batch writes with one result per
//!     record, the rejected set, the admin reads;
//!   - [`pipeline::outcome`]: what becomes of each message after its writes (a pure
//!     function), and [`pipeline::outcome::Counts`] by [`pipeline::outcome::Outcome`];
//!   - [`pipeline::batch`]: one batch through record → store → outcome → settle;
//!   - [`pipeline::failures`]: x-msrv's own count of failed writes per message, kept
//!     between runs in the state directory.
//! - [`config`]: file and environment → checked [`config::Settings`], before any
//!   connection (start-up only).
//! - [`run`]: a session (connect, batches of at most N, stop, close) summed into a
//!   [`run::RunSummary`]; [`run::serve`] keeps a session between periods.
//! - [`monitor`]: after each run, the metrics state and the Prometheus textfile
//!   ([`monitor::metrics`]); the Nagios/Icinga verdict that reads them
//!   ([`monitor::status`]).
//! - [`commands`]: the command layer: the command line, one file per subcommand
//!   (`run`, `serve`, `check`, `records`, `rejected`, `status`, the systemd generator),
//!   logging, and the exit codes. Only this layer prints to the terminal or names an
//!   exit code; everything above returns values.

pub mod commands;
pub mod config;
pub mod monitor;
pub mod pipeline;
pub mod run;
