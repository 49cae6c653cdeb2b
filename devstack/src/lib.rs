//! Stand-in servers for x-msrv's tests and demo; never part of the product.
//!
//! # Layout
//! - [`nsqd`]: nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API).
//! - [`aerospike`]: a single-node Aerospike server (info protocol + AS_MSG).

pub mod aerospike;
pub mod nsqd;
