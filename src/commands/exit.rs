//! Process exit codes: what an operator (or systemd's `SuccessExitStatus=`) reads off a run.
//!
//! They follow `sysexits.h` where a code there fits, so they mean the same thing to
//! tools that already know those numbers.

use std::process::ExitCode;

/// One documented exit status. The numbers are part of the interface: the README, the man
/// page and the systemd unit refer to them, so never renumber one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The run ended cleanly: N messages handled, the timeout reached (an empty queue
    /// included), or a SIGTERM/SIGINT with every message in hand settled.
    Ok,
    /// A bug or an unexpected failure inside x-msrv.
    Internal,
    /// The command line was wrong (clap's own code).
    Usage,
    /// NSQ or Aerospike could not be reached at start (`EX_UNAVAILABLE`).
    Unavailable,
    /// Some messages could not be stored and went back to NSQ, or the NSQ connection
    /// was lost mid-run: nothing is lost, a later run will retry (`EX_TEMPFAIL`).
    TempFail,
    /// The configuration or the schema is invalid (`EX_CONFIG`).
    Config,
    /// The record asked for does not exist (`records --key`, `rejected show`), or a
    /// message file of `check --message` cannot be read (`EX_NOINPUT`).
    NotFound,
    /// `check --message`: the record stage would reject at least one of the messages
    /// (`EX_DATAERR`: the input data is wrong, the setup is fine).
    DataError,
    /// `rejected redrive`/`purge` stopped by SIGINT/SIGTERM before every record was
    /// handled: what was done is done, the rest is still there; run it again to go on
    /// (128 + SIGINT, what a shell reports for a command stopped by Ctrl-C).
    Interrupted,
}

impl Exit {
    /// The numeric status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Internal => 1,
            Exit::Usage => 2,
            Exit::Unavailable => 69,
            Exit::TempFail => 75,
            Exit::Config => 78,
            Exit::NotFound => 66,
            Exit::DataError => 65,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}
