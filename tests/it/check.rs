//! `x-msrv check --message`: the real binary with the shipped schema and the test
//! messages of `test/`, and no server at all. The config names a listening socket as
//! both nsqd and Aerospike, and each test checks that nothing connected to it.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::common::{self, ConfigFile, NAMESPACE, Outcome, SET, SHIPPED_SCHEMA, list, quoted};

/// Exit status when a message would be rejected (`EX_DATAERR`).
const DATA_ERROR: i32 = 65;
/// Exit status when a message file cannot be read (`EX_NOINPUT`).
const NO_INPUT: i32 = 66;

/// A test's directory, its config, and the socket its config names as every server.
struct Offline {
    dir: tempfile::TempDir,
    config: PathBuf,
    servers: TcpListener,
}

impl Offline {
    /// A config with the shipped schema and key `/id`, plus `overrides` (`key = value`).
    fn new(overrides: &[&str]) -> Offline {
        let dir = common::test_dir();
        let servers = TcpListener::bind("127.0.0.1:0").unwrap();
        servers.set_nonblocking(true).unwrap();
        let addr = servers.local_addr().unwrap();
        let config = ConfigFile::new(&dir.path().join("state"))
            .set("nsq.nsqd", list([addr]))
            .set("nsq.topic", quoted("t"))
            .set("message.schema", quoted(SHIPPED_SCHEMA))
            .set("message.key", quoted("/id"))
            .set("aerospike.hosts", list([addr]))
            .set("aerospike.namespace", quoted(NAMESPACE))
            .set("aerospike.set", quoted(SET))
            .overrides(overrides)
            .write(&dir.path().join("x-msrv.toml"));
        Offline {
            dir,
            config,
            servers,
        }
    }

    /// A file in the test's directory holding `text`.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `x-msrv check <args>` with `stdin` on its standard input.
    async fn check(&self, args: &[&str], stdin: &str) -> Outcome {
        let mut cmd = common::x_msrv(&self.config, &["check"]);
        cmd.args(args).stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("x-msrv starts");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        let out = common::finish(child).await;
        match self.servers.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("check --message connected to a server: {other:?}\n{out}"),
        }
        out
    }
}

/// The `n`-th line (from 1) of a file of test messages in `test/`.
fn test_message(file: &str, n: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .nth(n - 1)
        .unwrap()
        .to_owned()
}

fn read_test_file(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test")
            .join(file),
    )
    .unwrap()
}

#[tokio::test]
async fn a_valid_message_prints_its_record_an_invalid_one_its_rejection() {
    let offline = Offline::new(&[]);
    let valid = offline.file("valid.json", &test_message("valid.json", 1));
    let out = offline
        .check(&["--message", valid.to_str().unwrap()], "")
        .await;
    assert_eq!(out.code(), 0, "{out}");
    let label = valid.display();
    assert_eq!(
        out.stdout,
        format!(
            "{label}: would store key 0 (integer) in test.messages, TTL the namespace's \
             default-ttl, 3 bin(s):\n  \
             ext = [{{\"ext1\":\"xxx\"}},{{\"ext2\":42}}]\n  \
             id = 0\n  \
             msg = \"Some message-0\"\n\
             check: 1 message(s): 1 would be stored, 0 rejected\n"
        ),
        "{out}"
    );

    // `{ "id": "103", "msg": "id is a string" }`
    let invalid = offline.file("invalid.json", &test_message("invalid.json", 5));
    let out = offline
        .check(&["--message", invalid.to_str().unwrap()], "")
        .await;
    assert_eq!(out.code(), DATA_ERROR, "{out}");
    assert_eq!(
        out.stdout,
        format!(
            "{}: would be rejected: schema: /id: \"103\" is not of type \"integer\"\n\
             check: 1 message(s): 0 would be stored, 1 rejected\n",
            invalid.display()
        ),
        "{out}"
    );
}

#[tokio::test]
async fn stdin_is_one_message_per_line() {
    let offline = Offline::new(&[]);
    let out = offline
        .check(&["--message", "-"], &read_test_file("valid.json"))
        .await;
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stdout
            .contains("stdin:10: would store key 9 (integer) in test.messages"),
        "{out}"
    );
    assert!(
        out.stdout
            .ends_with("check: 10 message(s): 10 would be stored, 0 rejected\n"),
        "{out}"
    );

    // Every line of test/invalid.json is refused, each with its own reason; blank lines
    // are not messages.
    let input = format!("\n{}\n\n", read_test_file("invalid.json"));
    let out = offline.check(&["--message", "-", "--json"], &input).await;
    assert_eq!(out.code(), DATA_ERROR, "{out}");
    let lines = out.json_lines();
    assert_eq!(lines.len(), 11, "{out}");
    for line in &lines {
        assert_eq!(line["outcome"], "rejected", "{out}");
    }
    assert_eq!(lines[0]["message"], "stdin:2");
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON at line 1 column "),
        "{out}"
    );
    assert_eq!(
        lines[10]["reason"],
        "schema: /id: -1 is less than the minimum of 0"
    );
}

#[tokio::test]
async fn a_file_is_one_message_pretty_printed_or_not() {
    let offline = Offline::new(&["aerospike.ttl = \"1h\""]);
    let pretty = offline.file(
        "pretty.json",
        "{\n  \"id\": 42,\n  \"msg\": \"over\\nlines\",\n  \"ext\": [\n    {\"a\": 1}\n  ]\n}\n",
    );
    let lines = offline.file("lines.json", &read_test_file("valid.json"));
    let missing = offline.dir.path().join("missing.json");
    let out = offline
        .check(
            &[
                "--json",
                "--message",
                pretty.to_str().unwrap(),
                "--message",
                lines.to_str().unwrap(),
            ],
            "",
        )
        .await;
    assert_eq!(out.code(), DATA_ERROR, "{out}");
    let found = out.json_lines();
    assert_eq!(
        found[0],
        serde_json::json!({
            "message": pretty.display().to_string(),
            "outcome": "record",
            "key": 42,
            "namespace": NAMESPACE,
            "set": SET,
            "ttl": 3600,
            "version": null,
            "bins": {"id": 42, "msg": "over\nlines", "ext": [{"a": 1}]},
        }),
        "{out}"
    );
    assert!(
        found[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON at line 2 column 1: trailing characters"),
        "{out}"
    );

    // Readable, a file of lines is told to use `-`; a missing file is 66.
    let out = offline
        .check(&["--message", lines.to_str().unwrap()], "")
        .await;
    assert!(out.stdout.contains("--message - <"), "{out}");
    let out = offline
        .check(&["--message", missing.to_str().unwrap()], "")
        .await;
    assert_eq!(out.code(), NO_INPUT, "{out}");
    assert!(out.stderr.contains("cannot read the message file"), "{out}");
}

#[tokio::test]
async fn nsq_id_keys_are_synthesized_and_said_so() {
    let offline = Offline::new(&["message.key = \"nsq-id\""]);
    let out = offline
        .check(&["--message", "-"], &read_test_file("valid.json"))
        .await;
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stdout
            .starts_with("note: message.key is \"nsq-id\": the keys below are made of synthesized"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("stdin:2: would store key \"0000000000000001-"),
        "{out}"
    );
}
