//! Terminal output: records as listing lines or JSON lines ([`RecordJson`]), bodies as
//! one-line previews, and the [`Report`] that prints lines and errors without tearing a
//! progress bar. stdout may be closed early (`| head`): nothing here panics on it.

use std::fmt;
use std::io::IsTerminal;

use base64::Engine as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::error;

use crate::pipeline::store::{RejectedBody, RejectedRecord};

/// A progress bar is drawn (on a terminal) from this many records on: below it the
/// command is over before a bar would tell anything.
const PROGRESS_MIN: usize = 1000;

/// `println!` that does not panic when stdout is closed (`x-msrv rejected list | head`);
/// what could not be written is dropped, the command goes on with its work.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(super) use out;

/// Writes `text` to stdout; `Err` once nobody reads it any more.
pub(super) fn write_out(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// nsqd's timestamp as an RFC 3339 UTC time.
pub(super) fn time_of(ns: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ns} ns"))
}

/// The start of a body on one line: control characters and bytes that are not UTF-8
/// escaped, at most `max` characters, then `…` if there is more.
pub(super) fn preview(body: &RejectedBody, max: usize) -> String {
    let escaped: String = match body {
        RejectedBody::Text(text) => text
            .chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .take(max + 1)
            .collect(),
        RejectedBody::Bytes(bytes) => bytes.escape_ascii().take(max + 1).map(char::from).collect(),
    };
    if escaped.chars().count() > max {
        let mut cut: String = escaped.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        escaped
    }
}

/// One record as `--json` prints it; the field names are part of the interface.
#[derive(Debug, serde::Serialize)]
pub(super) struct RecordJson<'a> {
    key: &'a str,
    topic: &'a str,
    channel: &'a str,
    /// nsqd's timestamp, ns since the Unix epoch.
    nsq_ts: i64,
    /// The same as an RFC 3339 UTC time.
    time: String,
    attempts: i64,
    reason: &'a str,
    /// The kept body: its text when it is UTF-8 (`body_encoding` "utf8"), else base64
    /// ("base64"); `null` when the record has none ("none").
    body: Option<String>,
    body_encoding: &'static str,
    /// Length of the original body (more than the kept body's when `cut`).
    body_len: u64,
    /// Only the first 64 KiB of the body were kept: never redriven.
    cut: bool,
    generation: u32,
}

impl<'a> RecordJson<'a> {
    pub(super) fn of(r: &'a RejectedRecord) -> Self {
        let (body, body_encoding) = match &r.body {
            Some(RejectedBody::Text(t)) => (Some(t.clone()), "utf8"),
            Some(RejectedBody::Bytes(b)) => (
                Some(base64::engine::general_purpose::STANDARD.encode(b)),
                "base64",
            ),
            None => (None, "none"),
        };
        let kept = r.body.as_ref().map_or(0, RejectedBody::len) as u64;
        RecordJson {
            key: &r.id,
            topic: &r.topic,
            channel: &r.channel,
            nsq_ts: r.nsq_ts,
            time: time_of(r.nsq_ts),
            attempts: r.attempts,
            reason: &r.reason,
            body,
            body_encoding,
            body_len: r.body_len.unwrap_or(kept),
            cut: r.is_cut(),
            generation: r.generation,
        }
    }
}

/// The size part of a listing line.
pub(super) fn size_of(r: &RejectedRecord) -> String {
    let kept = r.body.as_ref().map_or(0, RejectedBody::len);
    match r.body_len {
        Some(full) => format!("{kept} of {full} bytes kept (cut: never redriven)"),
        None if r.body.is_none() => "no body".to_owned(),
        None => format!("{kept} bytes"),
    }
}

/// Lines on stdout that do not tear a progress bar on stderr.
pub(super) struct Report {
    bar: ProgressBar,
}

impl Report {
    /// A bar for `total` records when stderr is a terminal and `total` is large; else
    /// one that draws nothing.
    pub(super) fn new(total: usize, what: &'static str) -> Report {
        let bar = if total >= PROGRESS_MIN && std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} records ({rate}, {eta} left)",
            ) {
                // indicatif's own {per_sec} prints four decimals.
                let rate = |state: &ProgressState, w: &mut dyn fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                };
                bar.set_style(style.progress_chars("=> ").with_key("rate", rate));
            }
            bar.set_message(what);
            bar
        } else {
            ProgressBar::hidden()
        };
        Report { bar }
    }

    pub(super) fn say(&self, line: impl fmt::Display) {
        self.bar.suspend(|| out!("{line}"));
    }

    pub(super) fn fail(&self, line: impl fmt::Display) {
        self.bar.suspend(|| error!("{line}"));
    }

    pub(super) fn advance(&self, n: usize) {
        self.bar.inc(n as u64);
    }

    pub(super) fn done(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::rejected::test_record as record;

    #[test]
    fn previews_are_one_escaped_line() {
        let text = RejectedBody::Text("a\nb\tc".into());
        assert_eq!(preview(&text, 10), "a\\nb\\tc");
        assert_eq!(preview(&RejectedBody::Text("abcdef".into()), 3), "abc…");
        assert_eq!(
            preview(&RejectedBody::Bytes(vec![0xff, b'a']), 10),
            "\\xffa"
        );
    }

    #[test]
    fn json_fields_are_stable() {
        let mut r = record("why", 1_000_000_000, "t");
        r.body = Some(RejectedBody::Bytes(vec![0xff, 0]));
        let v = serde_json::to_value(RecordJson::of(&r)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "attempts",
                "body",
                "body_encoding",
                "body_len",
                "channel",
                "cut",
                "generation",
                "key",
                "nsq_ts",
                "reason",
                "time",
                "topic"
            ]
        );
        assert_eq!(v["body"], "/wA=");
        assert_eq!(v["body_encoding"], "base64");
        assert_eq!(v["body_len"], 2);
        assert_eq!(v["time"], "1970-01-01T00:00:01Z");
        r.body = Some(RejectedBody::Text("x".repeat(10)));
        r.body_len = Some(100_000);
        let v = serde_json::to_value(RecordJson::of(&r)).unwrap();
        assert_eq!(
            (v["body_len"].as_u64(), v["cut"].as_bool()),
            (Some(100_000), Some(true))
        );
    }
}
