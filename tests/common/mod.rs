//! The one harness of the integration tests: starting the stand-ins (devstack's nsqd with
//! its nsqlookupd, Aerospike, an Aerospike cluster), writing x-msrv config files, running
//! the `x-msrv` binary and reading its summary. Every test starts servers and runs through
//! these helpers, so each gets its own ports, temporary directory and state directory,
//! and nothing a test does touches the machine outside the checkout, temporary
//! directories and caches.
//!
//! Why one harness: copies of it drifted, and one that set no `state-directory` made
//! `make test` write into `/var/lib/x-msrv` of the machine it ran on (issue 19). A config
//! written here always names a state directory inside the test's temporary directory
//! ([`ConfigFile::new`]), and every run awaited here, and every test as its [`Stack`] is
//! dropped, checks that the machine's own state directory was not created
//! ([`assert_machine_state_untouched`]).
//!
//! A module of `tests/it` (the integration tests' one binary) and of `tests/faults.rs`
//! (the fault suite, its own target for its own main); Cargo builds `tests/common/` into
//! no target of its own.
#![allow(dead_code)] // each test target uses a part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use devstack::aerospike::{
    AerospikeCluster, AerospikeClusterOptions, AerospikeOptions, AerospikeServer,
};
use devstack::nsqd::{AuthServer, NsqOptions, NsqServer};
use devstack::tls::{ClientCerts, TestPki, TlsTerminator};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_x-msrv");
pub const NAMESPACE: &str = "test";
pub const SET: &str = "messages";
pub const REJECTED: &str = "rejected";
pub const CHANNEL: &str = "x-msrv";
/// The shipped schema, `etc/message.schema.json` of the checkout.
pub const SHIPPED_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/message.schema.json");
/// Upper bound for one x-msrv run in these tests (each sets a much shorter timeout).
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// x-msrv's state directory when neither `state-directory` nor `$STATE_DIRECTORY` is set
/// (`config::DEFAULT_STATE_DIRECTORY`; written out, not imported, so that this check does
/// not move with the library). No test may create it.
pub const MACHINE_STATE_DIRECTORY: &str = "/var/lib/x-msrv";

/// Whether [`MACHINE_STATE_DIRECTORY`] existed before this test process ran x-msrv
/// (forced by [`x_msrv`] before the first run starts). Only a directory that was not
/// there can be blamed on a test.
static MACHINE_STATE_EXISTED: LazyLock<bool> =
    LazyLock::new(|| Path::new(MACHINE_STATE_DIRECTORY).exists());

/// Fails if a run of this process created the machine's state directory: a config was
/// written without `state-directory` (the defect of issue 19).
pub fn assert_machine_state_untouched() {
    assert!(
        *MACHINE_STATE_EXISTED || !Path::new(MACHINE_STATE_DIRECTORY).exists(),
        "an x-msrv run of this test process created {MACHINE_STATE_DIRECTORY}: every config \
         a test writes must set state-directory (tests/common: ConfigFile::new); remove the \
         directory before running the tests again"
    );
}

// The stand-ins (and the TLS proxy in front of one). Each listens on ports of its own
// (port 0), so tests run side by side.

/// A stand-in nsqd (with its nsqlookupd).
pub async fn nsqd(options: NsqOptions) -> NsqServer {
    NsqServer::start(options).await.expect("stand-in nsqd")
}

/// A stand-in Aerospike node.
pub async fn aerospike(options: AerospikeOptions) -> AerospikeServer {
    AerospikeServer::start(options)
        .await
        .expect("stand-in aerospike")
}

/// A stand-in Aerospike cluster.
pub async fn aerospike_cluster(options: AerospikeClusterOptions) -> AerospikeCluster {
    AerospikeCluster::start(options)
        .await
        .expect("stand-in aerospike")
}

/// A stand-in nsqd auth server (`--auth-http-address`).
pub async fn auth_server() -> AuthServer {
    AuthServer::start().await.expect("stand-in auth server")
}

/// A TLS-terminating proxy in front of `backend` (an nsqlookupd or nsqd HTTP port), with
/// `pki`'s server certificate.
pub async fn tls_terminator(
    pki: &TestPki,
    backend: SocketAddr,
    client_certs: ClientCerts,
) -> TlsTerminator {
    TlsTerminator::start(pki, backend, client_certs)
        .await
        .expect("TLS-terminating proxy")
}

/// A fresh temporary directory: a test's config files, schemas and state.
pub fn test_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// One nsqd, one Aerospike node and a temporary directory of the test's own.
pub struct Stack {
    pub nsq: NsqServer,
    pub aero: AerospikeServer,
    pub dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(NsqOptions::default()).await
    }

    pub async fn start_with(nsq: NsqOptions) -> Stack {
        Self::start_with_both(nsq, AerospikeOptions::default()).await
    }

    pub async fn start_with_both(nsq: NsqOptions, aero: AerospikeOptions) -> Stack {
        Stack {
            nsq: nsqd(nsq).await,
            aero: aerospike(aero).await,
            dir: test_dir(),
        }
    }

    /// The state directory of this test's runs (inside its temporary directory).
    pub fn state_directory(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The default config of these tests for `topic` with N = `n`, against this stack
    /// and with the shipped schema (copied beside the config), to add to or change.
    pub fn config_file(&self, topic: &str, n: u64) -> ConfigFile {
        let schema = self.dir.path().join("message.schema.json");
        std::fs::copy(SHIPPED_SCHEMA, &schema).unwrap();
        ConfigFile::new(&self.state_directory())
            .set("timeout", "\"5s\"")
            .set("grace", "\"3s\"")
            .set("nsq.nsqd", list([self.nsq.tcp_addr()]))
            .set("nsq.nsqd-http", list([self.nsq.http_addr()]))
            .set("nsq.topic", quoted(topic))
            .set("nsq.channel", quoted(CHANNEL))
            .set("nsq.max-messages", n.to_string())
            .set("nsq.connect-timeout", "\"3s\"")
            .set("message.schema", quoted(schema.display()))
            .set("aerospike.hosts", list([self.aero.addr()]))
            .set("aerospike.namespace", quoted(NAMESPACE))
            .set("aerospike.set", quoted(SET))
            .set("aerospike.timeout", "\"2s\"")
            .set("rejected.set", quoted(REJECTED))
    }

    /// Writes a config for `topic` with N = `n`. `overrides` are `key = value` TOML lines
    /// (dotted keys) that replace or add to the defaults of [`Stack::config_file`].
    pub fn config(&self, topic: &str, n: u64, overrides: &[&str]) -> PathBuf {
        self.config_as(topic, topic, n, overrides)
    }

    /// As [`Stack::config`], written as `<name>.toml`: for a second config of a topic.
    pub fn config_as(&self, name: &str, topic: &str, n: u64, overrides: &[&str]) -> PathBuf {
        self.config_file(topic, n)
            .overrides(overrides)
            .write(&self.dir.path().join(format!("{name}.toml")))
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

/// At the end of each test (its stack dropped): whatever ran, whether through
/// [`finish`] or a child of its own (`serve`, signals), left `/var/lib/x-msrv` alone.
impl Drop for Stack {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_machine_state_untouched();
        }
    }
}

/// An x-msrv config file as `key = value` TOML lines with dotted keys. It always has a
/// `state-directory`, given when it is made: a run of x-msrv without one would keep its
/// state in the machine's `/var/lib/x-msrv`.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    keys: Vec<(String, String)>,
}

impl ConfigFile {
    pub fn new(state_directory: &Path) -> ConfigFile {
        ConfigFile {
            keys: vec![(
                "state-directory".to_owned(),
                quoted(state_directory.display()),
            )],
        }
    }

    /// Sets `key` (dotted) to `value` (TOML text): replaces it where it is, or adds it.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> ConfigFile {
        let value = value.into();
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.keys.push((key.to_owned(), value)),
        }
        self
    }

    /// Leaves `key` out (the product's default applies).
    pub fn unset(mut self, key: &str) -> ConfigFile {
        assert_ne!(
            key, "state-directory",
            "a test config keeps its state directory"
        );
        self.keys.retain(|(k, _)| k != key);
        self
    }

    /// Leaves out every key that starts with `prefix`.
    pub fn unset_prefix(mut self, prefix: &str) -> ConfigFile {
        assert!(!"state-directory".starts_with(prefix));
        self.keys.retain(|(k, _)| !k.starts_with(prefix));
        self
    }

    /// [`ConfigFile::set`] for each `key = value` line.
    pub fn overrides(self, lines: impl IntoIterator<Item = impl AsRef<str>>) -> ConfigFile {
        lines.into_iter().fold(self, |file, line| {
            let (k, v) = line
                .as_ref()
                .split_once('=')
                .expect("override is key = value");
            file.set(k.trim(), v.trim())
        })
    }

    /// The file's text.
    pub fn text(&self) -> String {
        // Top-level keys first: in TOML a bare key after a dotted one is still top level,
        // but keeping them first reads like the shipped file.
        let mut keys: Vec<&(String, String)> = self.keys.iter().collect();
        keys.sort_by_key(|(k, _)| k.contains('.'));
        keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
    }

    /// Writes the file at `path` and returns the path.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.text()).unwrap();
        path.to_owned()
    }
}

/// A TOML string.
pub fn quoted(text: impl std::fmt::Display) -> String {
    format!("\"{text}\"")
}

/// A TOML array of strings.
pub fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let quoted: Vec<String> = items.into_iter().map(quoted).collect();
    format!("[{}]", quoted.join(", "))
}

pub fn valid_message(id: u64) -> String {
    format!(
        r#"{{ "id": {id}, "msg": "Some message-{id}", "ext": [ {{"ext1": "xxx"}}, {{"ext2": 42}} ] }}"#
    )
}

/// What one x-msrv run left: its exit status and output.
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
    /// The stdout lines parsed as JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }
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

/// `x-msrv --config <config> <args>`, its output piped, killed if dropped. The
/// environment is the test's minus what would change where x-msrv logs
/// (`JOURNAL_STREAM`) or keeps its state (`STATE_DIRECTORY`: a config of these tests
/// names its own); `RUST_LOG` is `x_msrv=info,nsq_exact=info` (set another with `.env`).
pub fn x_msrv(config: &Path, args: &[&str]) -> Command {
    LazyLock::force(&MACHINE_STATE_EXISTED);
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("JOURNAL_STREAM")
        .env_remove("STATE_DIRECTORY")
        .env("RUST_LOG", "x_msrv=info,nsq_exact=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// [`x_msrv`] with `--summary-json` before `args`.
pub fn command(config: &Path, args: &[&str]) -> Command {
    let mut cmd = x_msrv(config, &["--summary-json"]);
    cmd.args(args);
    cmd
}

/// Runs `x-msrv --summary-json` to its end (at most [`RUN_LIMIT`]).
pub async fn run(config: &Path, args: &[&str]) -> Outcome {
    finish(command(config, args).spawn().expect("x-msrv starts")).await
}

/// Runs `x-msrv` (no `--summary-json`) to its end (at most [`RUN_LIMIT`]).
pub async fn run_plain(config: &Path, args: &[&str]) -> Outcome {
    finish(x_msrv(config, args).spawn().expect("x-msrv starts")).await
}

/// Waits for a started x-msrv to end (at most [`RUN_LIMIT`]).
pub async fn finish(child: Child) -> Outcome {
    finish_within(child, RUN_LIMIT).await
}

/// Waits for a started x-msrv to end, at most `limit`; then checks that it left the
/// machine's state directory alone.
pub async fn finish_within(child: Child, limit: Duration) -> Outcome {
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .expect("x-msrv finished in time")
        .unwrap();
    assert_machine_state_untouched();
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

/// `kill -<name> <pid>`, which must succeed.
pub fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}
