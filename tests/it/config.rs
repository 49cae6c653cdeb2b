//! The shipped configuration files, the demo config, the schema and the test messages
//! agree with each other and with the config loader.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nsq::MessageId;
use x_msrv::config::{self, ConfigError, Format, Location, Settings};
use x_msrv::pipeline::record::Rejection;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A shipped file, with the schema taken from etc/ instead of /etc/x-msrv (not installed
/// here) through the documented environment override.
fn shipped(name: &str) -> Settings {
    let path = repo().join("etc").join(name);
    let text = std::fs::read_to_string(&path).expect("read the shipped config");
    let format = Format::from_path(&path).expect("a known extension");
    let schema = repo().join("etc/message.schema.json");
    config::from_str_with_env(
        &text,
        format,
        path.parent().unwrap(),
        [("X_MSRV_MESSAGE__SCHEMA", schema.to_str().unwrap())],
    )
    .unwrap_or_else(|e| panic!("etc/{name}: {e}"))
}

#[test]
fn shipped_configs_are_the_same_in_every_format() {
    let toml = shipped("x-msrv.toml");
    let yaml = shipped("x-msrv.yaml");
    let json = shipped("x-msrv.json");
    // Settings holds a compiled schema, so compare the full debug rendering.
    assert_eq!(format!("{toml:?}"), format!("{yaml:?}"));
    assert_eq!(format!("{toml:?}"), format!("{json:?}"));
    assert_eq!(toml.nsq.consumer.topic, "x-msrv");
    assert_eq!(toml.nsq.consumer.max_messages, 1000);
}

#[test]
fn shipped_toml_mentions_every_key() {
    let text = std::fs::read_to_string(repo().join("etc/x-msrv.toml")).unwrap();
    for key in config::KEYS {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
        if !section.is_empty() {
            assert!(
                text.contains(&format!("[{section}]")),
                "no [{section}] section"
            );
        }
        assert!(
            text.lines()
                .any(|l| l.trim_start_matches('#').starts_with(&format!("{name} = "))),
            "etc/x-msrv.toml does not show {key}"
        );
    }
}

#[test]
fn demo_config_loads_from_anywhere() {
    // Relative schema path: resolved against test/, not the working directory.
    let settings = config::load(&Location::file(repo().join("test/demo.toml"))).unwrap();
    assert_eq!(
        settings.message.schema_path(),
        repo().join("test/../etc/message.schema.json")
    );
    assert_eq!(
        settings.source.as_deref(),
        Some(repo().join("test/demo.toml").as_path())
    );
    assert!(
        settings.timeout <= Duration::from_secs(10),
        "the demo run should be short"
    );
    // The demo keeps its state in the checkout, not in the machine's /var/lib/x-msrv.
    assert_eq!(
        settings.state_directory,
        repo().join("test/../target/demo/state")
    );
}

#[test]
fn send_test_messages_defaults_to_the_demo_topic() {
    let settings = config::load(&Location::file(repo().join("test/demo.toml"))).unwrap();
    let out = std::process::Command::new(repo().join("test/send-test-messages"))
        .arg("--help")
        .output()
        .expect("run test/send-test-messages --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains(&settings.nsq.consumer.topic), "{help}");
}

const NSQ_ID: MessageId = MessageId(*b"0a1b2c3d4e5f6a7b");

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_valid_test_message_is_accepted() {
    let settings = config::load(&Location::file(repo().join("test/demo.toml"))).unwrap();
    let valid = lines(&repo().join("test/valid.json"));
    assert_eq!(valid.len(), 10);
    let mut ids = Vec::new();
    for line in &valid {
        let prepared = settings
            .message
            .to_record(line.as_bytes(), &NSQ_ID, 0)
            .unwrap_or_else(|r| panic!("{line}: {r}"));
        ids.push(prepared.key);
    }
    let want: Vec<_> = (0..10).map(aerospike::Value::Int).collect();
    assert_eq!(ids, want);
}

#[test]
fn every_invalid_test_message_is_rejected_with_a_reason() {
    let settings = config::load(&Location::file(repo().join("test/demo.toml"))).unwrap();
    let invalid = lines(&repo().join("test/invalid.json"));
    let (mut broken, mut off_schema) = (0, 0);
    for line in &invalid {
        match settings.message.to_record(line.as_bytes(), &NSQ_ID, 0) {
            Ok(_) => panic!("accepted an invalid message: {line}"),
            Err(r @ Rejection::Json { .. }) => {
                assert!(
                    r.to_string().starts_with("invalid JSON at line 1 column "),
                    "{r}"
                );
                broken += 1;
            }
            Err(r @ Rejection::Schema(_)) => {
                assert!(r.to_string().starts_with("schema: "), "{r}");
                off_schema += 1;
            }
            Err(other) => panic!("{line}: unexpected rejection {other}"),
        }
    }
    // The file holds both kinds, as the demo promises.
    assert!(
        broken >= 2 && off_schema >= 2,
        "{broken} broken, {off_schema} off-schema"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = config::load(&Location::file(Path::new("/nonexistent/x-msrv.toml"))).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/x-msrv.toml"),
        "{err}"
    );
    let err = config::load(&Location::file(Path::new("x-msrv.ini"))).unwrap_err();
    assert!(matches!(err, ConfigError::Format { .. }), "{err}");
}

#[test]
fn load_period_reads_the_shipped_file_without_its_schema() {
    // /etc/x-msrv/message.schema.json does not exist here; the generator must not care.
    let period = config::load_period(&Location::file(repo().join("etc/x-msrv.toml"))).unwrap();
    assert_eq!(period, Duration::from_secs(60));
}

#[test]
fn load_monitoring_reads_the_shipped_file_without_its_schema() {
    // `x-msrv status` runs as a monitoring user: no schema, TLS or secret file is read.
    let m = config::load_monitoring(&Location::file(repo().join("etc/x-msrv.toml"))).unwrap();
    assert_eq!(m.period, Duration::from_secs(60));
    assert_eq!(m.max_messages, 1000);
    assert_eq!(
        (m.nsq.topic.as_str(), m.nsq.channel.as_str()),
        ("x-msrv", "x-msrv")
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("x.toml");
    std::fs::write(&bad, "[nsq]\nnsqd = [\"127.0.0.1:4150\"]\n").unwrap();
    let err = config::load_monitoring(&Location::file(&bad))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("nsq.topic: "), "{err}");
    std::fs::write(&bad, "[nsq]\ntopic = \"t\"\nbogus = 1\n").unwrap();
    let err = config::load_monitoring(&Location::file(&bad))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bogus"), "{err}");
}
