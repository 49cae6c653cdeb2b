//! Log output: the systemd journal when systemd started us, stderr otherwise.
//!
//! Under systemd, stderr already reaches the journal, but only as plain text; writing to
//! journald directly keeps the fields (`msg_id`, `stored`, …) as journal fields that
//! `journalctl -u x-msrv -o verbose` shows and `journalctl FIELD=value` filters on.

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
                    .with_target(false)
                    .with_filter(filter),
            )
            .init(),
    }
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
    fn an_instance_logs_under_its_unit_name() {
        assert_eq!(syslog_identifier(None), "x-msrv");
        let orders = Instance::parse("orders").unwrap();
        assert_eq!(syslog_identifier(Some(&orders)), "x-msrv@orders");
    }
}
