//! The `x-msrv` binary.
fn main() {}
