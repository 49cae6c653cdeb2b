//! Stand-in servers for x-msrv's tests and demo.
//!
//! # Layout
//! - [`nsq`]: nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP `/lookup`).
//! - [`aerospike`]: a single-node Aerospike server (info protocol + AS_MSG).

pub mod aerospike;
pub mod nsq;
