//! The command layer: one file per subcommand, each turning settings into work and its
//! result (a [`RunSummary`](crate::run::RunSummary), a report, a typed error) into what
//! the user sees: lines on stdout, the log, and an [`Exit`] code. Only this layer knows
//! the exit codes and the terminal; the core below returns values.
//!
//! # Layout
//! - [`cli`]: the command line (one definition for `--help` and the man page test).
//! - [`exit`]: the documented exit codes.
//! - [`logging`]: journald under systemd, stderr otherwise.
//! - [`run`], [`serve`]: a timer run, and the long-lived mode with systemd's notify
//!   protocol; [`report`] is what both say after a run or batch (summary line, JSON,
//!   metrics).
//! - [`check`], [`records`], [`status`]: the operator's checks and reads.
//! - [`generator`]: `x-msrv systemd-generator`, the timer's period drop-in.
//! - [`completions`]: `x-msrv completions SHELL`, the packages' completion scripts.

pub mod check;
pub mod cli;
pub mod completions;
pub mod exit;
pub mod generator;
pub mod logging;
pub mod records;
pub mod rejected;
pub mod report;
pub mod run;
pub mod serve;
pub mod status;

pub use exit::Exit;
