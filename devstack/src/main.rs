//! `x-msrv-devstack`: serves the stand-in NSQ and Aerospike servers on loopback.
fn main() {}
