//! Stand-in servers for x-msrv's tests and demo; never part of the product.
//!
//! # Layout
//! - [`nsqd`]: nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API).
//! - [`aerospike`]: an Aerospike node or small cluster (info protocol + AS_MSG).

pub mod aerospike;
pub mod nsqd;
