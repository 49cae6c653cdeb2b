//! The integration tests, one test binary: one module per part of x-msrv, all sharing
//! the harness in `tests/common` (the stand-ins, config files, running the binary).
//!
//! One binary rather than one per file: on the 2-core machines this project is built on,
//! each test binary is a link of its own, and these modules linked eleven times over was
//! most of the cost of a test build after a change to the library (`cargo test --no-run`
//! after `touch src/lib.rs`, measured in issue 19).
//!
//! Run one module with `cargo test --test it MODULE::` (e.g. `cargo test --test it
//! hostile::`). Two targets stay on their own: `tests/faults.rs` (its own main, the
//! fault table and `--long` mode of `make faults`; it uses the same harness) and
//! `tests/nsq_client.rs` (the NSQ client's socket tests, bound for the client's crate).

#[path = "../common/mod.rs"]
mod common;

mod check;
mod cli;
mod config;
mod docs;
mod hostile;
mod https;
mod instances;
mod monitoring;
mod rejected;
mod run;
mod secure;
mod serve;
mod store;
mod write;
