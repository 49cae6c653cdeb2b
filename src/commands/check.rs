//! `x-msrv check`: the configuration and the schema load, and NSQ and Aerospike answer.
//! `x-msrv check --message FILE|-`: what messages would become, with no server at all.
//!
//! # How messages are read
//! A file is one message: its whole content, as a producer publishing the file would
//! send it, so a pretty-printed message spread over several lines is one message. `-`
//! reads standard input one message per line (what `nsq_to_file` writes and what
//! `test/valid.json` holds), blank lines skipped: nsqd refuses an empty message. A file
//! of one message per line is therefore checked with `--message - < FILE`; given as a
//! file it is one body with trailing characters, and the rejection says so.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aerospike::Value;
use serde_json::json;
use tracing::error;

use crate::commands::cli::CheckArgs;
use crate::commands::exit::Exit;
use crate::config::Settings;
use crate::pipeline::record::{Record, RecordKey, Rejection, bins, synthetic_id};
use crate::pipeline::store::{AerospikeSettings, AerospikeSink, Ttl};

/// `x-msrv check`: the settings loaded (so config and schema are fine); now see that
/// every NSQ address and Aerospike answer, without taking a message.
pub async fn check(settings: &Settings) -> Exit {
    let mut ok = true;
    match nsq::probe(&settings.nsq.consumer).await {
        Ok(found) => {
            for line in found {
                println!("nsq: {line}");
            }
        }
        Err(e) => {
            println!("nsq: FAILED: {e}");
            ok = false;
        }
    }
    match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => {
            println!(
                "aerospike: ok ({}, namespace {})",
                settings.aerospike.hosts.join(","),
                settings.aerospike.namespace
            );
            sink.close().await;
        }
        Err(e) => {
            println!("aerospike: FAILED: {e}");
            ok = false;
        }
    }
    if ok {
        println!("configuration, schema and connections OK");
        Exit::Ok
    } else {
        Exit::Unavailable
    }
}

/// The argument of `--message` that means standard input.
const STDIN: &str = "-";

/// What `check --message` found, for its last line and its exit status.
#[derive(Debug, Default)]
struct Checked {
    stored: usize,
    rejected: usize,
    /// Files (or standard input) that could not be read.
    unreadable: usize,
}

impl Checked {
    /// A file that cannot be read is the first thing to fix (66, `EX_NOINPUT`): the
    /// messages it holds were not even looked at; then any rejection (65).
    fn exit(&self) -> Exit {
        if self.unreadable > 0 {
            Exit::NotFound
        } else if self.rejected > 0 {
            Exit::DataError
        } else {
            Exit::Ok
        }
    }
}

/// `x-msrv check --message FILE|-`: each message through the record stage of `settings`
/// (schema, key, layout, set/TTL routing, version rule), its record or its rejection
/// printed. Opens no connection: this runs before the async runtime exists.
pub fn check_messages(settings: &Settings, args: &CheckArgs) -> Exit {
    if args
        .message
        .iter()
        .filter(|p| p.as_os_str() == STDIN)
        .count()
        > 1
    {
        error!("check: --message - can be given once (standard input is read once)");
        return Exit::Usage;
    }
    let mut checker = Checker {
        settings,
        json: args.json,
        now_ns: now_ns(),
        next_id: 0,
        checked: Checked::default(),
        out: std::io::stdout().lock(),
    };
    if matches!(settings.message.key(), RecordKey::NsqId) && !args.json {
        checker.say(
            "note: message.key is \"nsq-id\": the keys below are made of synthesized NSQ ids \
             and timestamps; nsqd gives each published message its own",
        );
    }
    for source in &args.message {
        if source.as_os_str() == STDIN {
            checker.check_lines(std::io::stdin().lock());
        } else {
            checker.check_file(source);
        }
    }
    let c = &checker.checked;
    if !args.json {
        let summary = format!(
            "check: {} message(s): {} would be stored, {} rejected{}",
            c.stored + c.rejected,
            c.stored,
            c.rejected,
            if c.unreadable > 0 {
                format!("; {} input(s) could not be read", c.unreadable)
            } else {
                String::new()
            }
        );
        checker.say(&summary);
    }
    checker.checked.exit()
}

/// One `check --message` under way.
struct Checker<'a, W: Write> {
    settings: &'a Settings,
    json: bool,
    /// nsqd's timestamp for every message, ns: only `message.key = "nsq-id"` reads it.
    now_ns: i64,
    /// The number of the next synthesized NSQ id.
    next_id: u64,
    checked: Checked,
    out: W,
}

impl<W: Write> Checker<'_, W> {
    /// One message per line of `input`; blank lines skipped.
    fn check_lines(&mut self, input: impl BufRead) {
        for (number, line) in input.split(b'\n').enumerate() {
            match line {
                Ok(line) if line.iter().all(u8::is_ascii_whitespace) => {}
                Ok(line) => self.check_one(&format!("stdin:{}", number + 1), &line, false),
                Err(e) => {
                    error!(line = number + 1, error = %e, "cannot read standard input");
                    self.checked.unreadable += 1;
                    return;
                }
            }
        }
    }

    /// The whole file as one message.
    fn check_file(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(body) => self.check_one(&path.display().to_string(), &body, true),
            Err(e) => {
                error!(path = %path.display(), error = %e, "cannot read the message file");
                self.checked.unreadable += 1;
            }
        }
    }

    fn check_one(&mut self, label: &str, body: &[u8], whole_file: bool) {
        let id = synthetic_id(self.next_id);
        self.next_id += 1;
        let result = self.settings.message.to_record(body, &id, self.now_ns);
        match &result {
            Ok(_) => self.checked.stored += 1,
            Err(_) => self.checked.rejected += 1,
        }
        let text = if self.json {
            as_json(label, &result, &self.settings.aerospike).to_string()
        } else {
            let mut text = readable(label, &result, &self.settings.aerospike);
            if whole_file && is_several_messages(&result) {
                text.push_str(&format!(
                    "\n  (a file is one message; to check one message per line: \
                     x-msrv check --message - < {label})"
                ));
            }
            text
        };
        self.say(&text);
    }

    /// A line on stdout; one that cannot be written (nobody reads any more) is dropped.
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }
}

/// Whether a rejection looks like a file of one message per line read as one message:
/// the JSON ends and more follows on a later line.
fn is_several_messages(result: &Result<Record, Rejection>) -> bool {
    matches!(result, Err(Rejection::Json { line, message, .. })
        if *line > 1 && message.starts_with("trailing characters"))
}

/// The readable form: a head line with key, set, TTL (and version), then a bin a line;
/// or the rejection on one line.
fn readable(label: &str, result: &Result<Record, Rejection>, aero: &AerospikeSettings) -> String {
    let record = match result {
        Ok(record) => record,
        Err(rejection) => return format!("{label}: would be rejected: {rejection}"),
    };
    let (key, kind) = match &record.key {
        Value::Int(i) => (i.to_string(), "integer"),
        other => (bins::to_json(other).to_string(), "string"),
    };
    let set = record.set.as_deref().unwrap_or(&aero.set);
    let ttl = match (record.ttl, aero.ttl) {
        (Some(s), _) => format!("TTL {s} s (from the message)"),
        (None, Ttl::Seconds(s)) => format!("TTL {s} s"),
        (None, Ttl::Never) => "never expires".to_owned(),
        (None, Ttl::NamespaceDefault) => "TTL the namespace's default-ttl".to_owned(),
    };
    let version = record
        .version
        .map(|v| format!(", version {v}"))
        .unwrap_or_default();
    let mut text = format!(
        "{label}: would store key {key} ({kind}) in {}.{set}, {ttl}{version}, {} bin(s):",
        aero.namespace,
        record.bins.len()
    );
    for bin in &record.bins {
        text.push_str(&format!("\n  {} = {}", bin.name, bins::to_json(&bin.value)));
    }
    text
}

/// The `--json` form: one object a message.
fn as_json(
    label: &str,
    result: &Result<Record, Rejection>,
    aero: &AerospikeSettings,
) -> serde_json::Value {
    let record = match result {
        Ok(record) => record,
        Err(rejection) => {
            return json!({"message": label, "outcome": "rejected", "reason": rejection.to_string()});
        }
    };
    let ttl = match (record.ttl, aero.ttl) {
        (Some(s), _) | (None, Ttl::Seconds(s)) => json!(s),
        (None, Ttl::Never) => json!("never"),
        (None, Ttl::NamespaceDefault) => json!("default"),
    };
    let bins: serde_json::Map<String, serde_json::Value> = record
        .bins
        .iter()
        .map(|b| (b.name.clone(), bins::to_json(&b.value)))
        .collect();
    json!({
        "message": label,
        "outcome": "record",
        "key": bins::to_json(&record.key),
        "namespace": aero.namespace,
        "set": record.set.as_deref().unwrap_or(&aero.set),
        "ttl": ttl,
        "version": record.version,
        "bins": bins,
    })
}

/// Now as nsqd stamps a message: ns since the Unix epoch.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Format, from_str};

    /// Settings with the shipped schema's shape, routing by `/type` and `/expires`, a
    /// version from `/v`, and `extra` lines in `[message]`.
    fn settings(extra: &str) -> (tempfile::TempDir, Settings) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("schema.json"),
            r#"{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}"#,
        )
        .unwrap();
        let text = format!(
            r#"
            [nsq]
            nsqd = ["127.0.0.1:4150"]
            topic = "t"
            [message]
            schema = "schema.json"
            {extra}
            [aerospike]
            hosts = ["127.0.0.1:3000"]
            namespace = "ns"
            set = "msgs"
            set-from = "/type"
            ttl-from = "/expires"
            ttl = "1h"
            "#
        );
        let settings = from_str(&text, Format::Toml, dir.path()).unwrap();
        (dir, settings)
    }

    fn run(settings: &Settings, json: bool, input: &str) -> (String, Checked) {
        let mut out = Vec::new();
        let mut checker = Checker {
            settings,
            json,
            now_ns: 1_796_000_000_000_000_000,
            next_id: 0,
            checked: Checked::default(),
            out: &mut out,
        };
        checker.check_lines(input.as_bytes());
        let checked = std::mem::take(&mut checker.checked);
        (String::from_utf8(out).unwrap(), checked)
    }

    #[test]
    fn a_record_and_a_rejection() {
        let (_dir, settings) = settings(r#"key = "/id""#);
        let (out, checked) = run(
            &settings,
            false,
            "{\"id\": 7, \"msg\": \"m\", \"type\": \"orders\"}\n\n  \n{\"id\": \"x\"}\n",
        );
        assert_eq!(
            out,
            "stdin:1: would store key 7 (integer) in ns.orders, TTL 3600 s, 3 bin(s):\n  \
             id = 7\n  msg = \"m\"\n  type = \"orders\"\n\
             stdin:4: would be rejected: schema: /id: \"x\" is not of type \"integer\"\n"
        );
        assert_eq!((checked.stored, checked.rejected), (1, 1));
        assert_eq!(checked.exit(), Exit::DataError);
    }

    #[test]
    fn json_lines_for_scripts() {
        let (_dir, settings) = settings(r#"key = "nsq-id""#);
        let (out, checked) = run(&settings, true, "{\"id\": 1, \"expires\": 60}\nnope\n");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            json!({
                "message": "stdin:1", "outcome": "record",
                "key": "0000000000000000-1796000000000000000",
                "namespace": "ns", "set": "msgs", "ttl": 60, "version": null,
                "bins": {"id": 1, "expires": 60}
            })
        );
        assert_eq!(lines[1]["outcome"], "rejected");
        assert!(
            lines[1]["reason"]
                .as_str()
                .unwrap()
                .starts_with("invalid JSON at line 1 column 2"),
            "{out}"
        );
        assert_eq!(checked.exit(), Exit::DataError);
    }

    #[test]
    fn every_message_stored_is_success() {
        let (_dir, settings) = settings(r#"key = "/id""#);
        let (_, checked) = run(&settings, false, "{\"id\": 1}\r\n{\"id\": 2}");
        assert_eq!((checked.stored, checked.rejected), (2, 0));
        assert_eq!(checked.exit(), Exit::Ok);
        let unreadable = Checked {
            rejected: 1,
            unreadable: 1,
            ..Checked::default()
        };
        assert_eq!(unreadable.exit(), Exit::NotFound);
    }

    #[test]
    fn a_file_of_lines_is_told_how_to_check_them() {
        let (dir, settings) = settings(r#"key = "/id""#);
        let file = dir.path().join("lines.json");
        std::fs::write(&file, "{\"id\": 1}\n{\"id\": 2}\n").unwrap();
        let pretty = dir.path().join("pretty.json");
        std::fs::write(&pretty, "{\n  \"id\": 3,\n  \"msg\": \"m\"\n}\n").unwrap();
        let mut out = Vec::new();
        let mut checker = Checker {
            settings: &settings,
            json: false,
            now_ns: 0,
            next_id: 0,
            checked: Checked::default(),
            out: &mut out,
        };
        checker.check_file(&file);
        checker.check_file(&pretty);
        let (stored, rejected) = (checker.checked.stored, checker.checked.rejected);
        let out = String::from_utf8(out).unwrap();
        assert_eq!((stored, rejected), (1, 1), "{out}");
        assert!(
            out.contains("trailing characters") && out.contains("--message - <"),
            "{out}"
        );
        assert!(out.contains("would store key 3 (integer)"), "{out}");
    }
}
