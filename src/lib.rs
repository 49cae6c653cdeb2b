//! x-msrv: moves at most N JSON messages from NSQ into Aerospike per run.

pub mod cli;
pub mod commands;
pub mod config;
pub mod exit;
pub mod generator;
pub mod logging;
pub mod nsq;
pub mod run;
pub mod store;
pub mod validate;
