//! Stand-in servers for x-msrv's tests and demo; never part of the product.
//!
//! # Layout
//! - [`nsqd`]: nsqd (TCP protocol V2 + HTTP API) and nsqlookupd (HTTP API), with an
//!   auth HTTP service for nsqd's AUTH.
//! - [`aerospike`]: an Aerospike node or small cluster (info protocol + AS_MSG).
//! - [`tls`]: a throwaway PKI (CA, server and client certificates as PEM files) for
//!   TLS tests.

pub mod aerospike;
pub mod nsqd;
pub mod tls;
