//! Stand-in servers for x-msrv's tests and demo; never part of the product.
//!
//! # Layout
//! - [`nsqd`]: nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API).
//! - [`asd`]: a single-node Aerospike server (info protocol + AS_MSG), named after the
//!   real server's daemon.

pub mod nsqd;
