//! What the binary's end-to-end tests share: the stand-ins, a config file, running
//! `x-msrv` and reading its summary. `mod common;` in each test file (Cargo builds
//! `tests/common/mod.rs` into none of its own).
#![allow(dead_code)] // each test file uses a part

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use devstack::nsqd::{NsqOptions, NsqServer};
use tokio::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_x-msrv");
pub const NAMESPACE: &str = "test";
pub const SET: &str = "messages";
pub const REJECTED: &str = "rejected";
pub const CHANNEL: &str = "x-msrv";
/// Upper bound for one x-msrv run in these tests (each sets a much shorter timeout).
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

pub struct Stack {
    pub nsq: NsqServer,
    pub aero: AerospikeServer,
    pub dir: tempfile::TempDir,
}

pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .expect("x-msrv exited, not killed by a signal")
    }
    /// A field of the run's summary, e.g. `summary("stored")`, from the JSON line that
    /// `--summary-json` prints on stdout.
    pub fn summary(&self, field: &str) -> String {
        summary_field(&self.stdout, field)
            .unwrap_or_else(|| panic!("no summary {field} in:\n{}\n{}", self.stdout, self.stderr))
    }
    pub fn count(&self, field: &str) -> u64 {
        self.summary(field).parse().unwrap()
    }
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(NsqOptions::default()).await
    }

    pub async fn start_with(nsq: NsqOptions) -> Stack {
        Stack {
            nsq: NsqServer::start(nsq).await.expect("stand-in nsqd"),
            aero: AerospikeServer::start(AerospikeOptions::default())
                .await
                .expect("stand-in aerospike"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes a config for `topic` with N = `n`. `overrides` are `key = value` TOML lines
    /// (dotted keys) that replace or add to the defaults below.
    pub fn config(&self, topic: &str, n: u64, overrides: &[&str]) -> PathBuf {
        self.config_as(topic, topic, n, overrides)
    }

    /// As [`Stack::config`], written as `<name>.toml`: for a second config of a topic.
    pub fn config_as(&self, name: &str, topic: &str, n: u64, overrides: &[&str]) -> PathBuf {
        let schema = self.dir.path().join("message.schema.json");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/etc/message.schema.json"),
            &schema,
        )
        .unwrap();
        let mut keys: Vec<(String, String)> = [
            ("timeout", "\"5s\"".to_owned()),
            ("grace", "\"3s\"".to_owned()),
            (
                "state-directory",
                format!("\"{}\"", self.dir.path().join("state").display()),
            ),
            ("nsq.nsqd", format!("[\"{}\"]", self.nsq.tcp_addr())),
            ("nsq.nsqd-http", format!("[\"{}\"]", self.nsq.http_addr())),
            ("nsq.topic", format!("\"{topic}\"")),
            ("nsq.channel", format!("\"{CHANNEL}\"")),
            ("nsq.max-messages", n.to_string()),
            ("nsq.connect-timeout", "\"3s\"".to_owned()),
            ("message.schema", format!("\"{}\"", schema.display())),
            ("aerospike.hosts", format!("[\"{}\"]", self.aero.addr())),
            ("aerospike.namespace", format!("\"{NAMESPACE}\"")),
            ("aerospike.set", format!("\"{SET}\"")),
            ("aerospike.timeout", "\"2s\"".to_owned()),
            ("rejected.set", format!("\"{REJECTED}\"")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for line in overrides {
            let (k, v) = line.split_once('=').expect("override is key = value");
            let (k, v) = (k.trim().to_owned(), v.trim().to_owned());
            match keys.iter_mut().find(|(key, _)| *key == k) {
                Some(entry) => entry.1 = v,
                None => keys.push((k, v)),
            }
        }
        // Top-level keys first: in TOML a bare key after a dotted one is still top level,
        // but keeping them first reads like the shipped file.
        keys.sort_by_key(|(k, _)| k.contains('.'));
        let text: String = keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn publish_valid(&self, topic: &str, ids: std::ops::Range<u64>) {
        for id in ids {
            self.nsq.publish(topic, valid_message(id));
        }
    }

    pub fn depth(&self, topic: &str) -> u64 {
        self.nsq
            .channel_stats(topic, CHANNEL)
            .map_or(0, |c| c.depth)
    }
}

pub fn valid_message(id: u64) -> String {
    format!(
        r#"{{ "id": {id}, "msg": "Some message-{id}", "ext": [ {{"ext1": "xxx"}}, {{"ext2": 42}} ] }}"#
    )
}

/// A field of the summary JSON line in a run's stdout, as text (strings unquoted).
pub fn summary_field(stdout: &str, field: &str) -> Option<String> {
    let summary: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())?;
    match summary.get(field)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

pub fn command(config: &PathBuf, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .arg("--summary-json")
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "x_msrv=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

pub async fn run(config: &PathBuf, args: &[&str]) -> Outcome {
    let child = command(config, args).spawn().expect("x-msrv starts");
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("x-msrv finished in time")
        .unwrap();
    Outcome {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}
