//! Log output: the systemd journal when systemd started us, stderr otherwise.
//!
//! On stderr, colour only when a terminal reads it and `NO_COLOR` is unset
//! (<https://no-color.org>): escape codes in cron mails, `2>file`, `docker logs` and CI
//! logs are noise that breaks `grep` (issue 20).
//!
//! Under systemd, stderr already reaches the journal, but only as plain text; writing to
//! journald directly keeps the fields (`msg_id`, `stored`, …) as journal fields that
//! `journalctl -u x-msrv -o verbose` shows and `journalctl FIELD=value` filters on.

use std::ffi::OsString;
use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::Instance;

/// The journal's SYSLOG_IDENTIFIER: `x-msrv`, or `x-msrv@NAME` for an instance (the name
/// of its units without the type).
fn syslog_identifier(instance: Option<&Instance>) -> String {
    match instance {
        Some(instance) => format!("x-msrv@{instance}"),
        None => "x-msrv".to_owned(),
    }
}

/// Installs the global subscriber. `verbose` is the count of `-v` flags; `RUST_LOG`, when
/// set, wins over it. An instance logs to the journal as `x-msrv@NAME` (SYSLOG_IDENTIFIER),
/// so the lines of two instances are told apart in `journalctl` output and by
/// `journalctl -t`, as well as by unit (`journalctl -u x-msrv@NAME`).
pub fn init(verbose: u8, instance: Option<&Instance>) {
    let default_level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // x-msrv's own lines and its NSQ client's (the `nsq-exact` crate, target
    // `nsq_exact`) at the chosen level; other crates' warnings only.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "x_msrv={default_level},nsq_exact={default_level},warn"
        ))
    });

    let journald = if stderr_is_journal() {
        // Falls back to stderr when the journal socket is missing (a container without
        // journald, say): a log that goes nowhere is worse than a plain one.
        tracing_journald::layer().ok()
    } else {
        None
    };
    let registry = tracing_subscriber::registry();
    match journald {
        Some(layer) => registry
            .with(
                layer
                    .with_syslog_identifier(syslog_identifier(instance))
                    .with_filter(filter),
            )
            .init(),
        None => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(use_colour(
                        std::io::stderr().is_terminal(),
                        std::env::var_os("NO_COLOR"),
                    ))
                    .with_target(false)
                    .with_filter(filter),
            )
            .init(),
    }
}

/// Whether stderr's log lines carry colour: only for a terminal, and not when `NO_COLOR`
/// is set to anything but the empty string (no-color.org: "present and not an empty
/// string"). tracing-subscriber's own `NO_COLOR` check ignores whether a terminal reads.
fn use_colour(stderr_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// True when systemd connected our stderr to the journal: it sets `JOURNAL_STREAM` to
/// `device:inode` of that stream (systemd.exec(5)). Comparing the pair (not just checking
/// the variable exists) avoids logging to the journal when a child of a service was
/// started with stderr redirected elsewhere.
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;

    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse() == Ok(meta.dev()) && ino.parse() == Ok(meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("".into())));
        assert!(!use_colour(true, Some("1".into())));
        assert!(!use_colour(false, None));
        assert!(!use_colour(false, Some("".into())));
    }

    #[test]
    fn an_instance_logs_under_its_unit_name() {
        assert_eq!(syslog_identifier(None), "x-msrv");
        let orders = Instance::parse("orders").unwrap();
        assert_eq!(syslog_identifier(Some(&orders)), "x-msrv@orders");
    }
}
