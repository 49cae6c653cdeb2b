//! Instances (`--instance NAME`), end to end: two consumers of two topics on one host,
//! each with its own N, state and metrics file, the series of both told apart by
//! `consumer="NAME"` when node_exporter reads the two files together; `status` checks
//! one; a bad or unknown name is refused before anything connects.

use std::path::Path;

use prometheus_parse::Scrape;
use tokio::process::Command;

use crate::common::{self, Stack, run};

/// A config of instance `name` for `topic`, N = `n`: its own state directory and
/// textfile, as README "Several topics on one host" asks.
fn instance_config(stack: &Stack, name: &str, topic: &str, n: u64) -> std::path::PathBuf {
    let dir = stack.dir.path();
    std::fs::create_dir_all(dir.join("node-exporter")).unwrap();
    let state = format!("state-directory = \"{}\"", dir.join(name).display());
    let textfile = format!(
        "metrics.textfile = \"{}\"",
        dir.join(format!("node-exporter/x-msrv-{name}.prom"))
            .display()
    );
    stack.config_as(
        name,
        topic,
        n,
        &[&state, &textfile, "nsq.idle-timeout = \"300ms\""],
    )
}

/// Every `.prom` file of the directory, as node_exporter's textfile collector reads
/// them: one exposition, in which no series may appear twice.
fn scrape_all(dir: &Path) -> Scrape {
    let mut lines = Vec::new();
    let mut families = std::collections::HashSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            // HELP/TYPE once per family, as the collector merges them.
            if line.starts_with('#') && !families.insert(line.to_owned()) {
                continue;
            }
            lines.push(line.to_owned());
        }
    }
    let mut series = std::collections::HashSet::new();
    for line in lines.iter().filter(|l| !l.starts_with('#')) {
        let (name_labels, _) = line.rsplit_once(' ').unwrap();
        assert!(
            series.insert(name_labels.to_owned()),
            "two samples of {name_labels}"
        );
    }
    Scrape::parse(lines.into_iter().map(Ok)).expect("the textfiles parse")
}

#[tokio::test]
async fn two_instances_take_their_own_n_from_their_own_topic_and_label_their_metrics() {
    let stack = Stack::start().await;
    stack.publish_valid("inst-orders", 0..10);
    stack.publish_valid("inst-events", 100..110);
    let orders = instance_config(&stack, "orders", "inst-orders", 3);
    let events = instance_config(&stack, "events", "inst-events", 5);

    let out = run(&orders, &["--instance", "orders"]).await;
    assert_eq!((out.code(), out.count("stored")), (0, 3), "{out}");
    let out = run(&events, &["--instance", "events"]).await;
    assert_eq!((out.code(), out.count("stored")), (0, 5), "{out}");
    assert_eq!(stack.depth("inst-orders"), 7);
    assert_eq!(stack.depth("inst-events"), 5);

    // Each its own state directory and metrics.json.
    for name in ["orders", "events"] {
        assert!(stack.dir.path().join(name).join("metrics.json").is_file());
    }
    let scrape = scrape_all(&stack.dir.path().join("node-exporter"));
    let stored = |consumer: &str| {
        scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "x_msrv_messages_total"
                    && s.labels.get("consumer") == Some(consumer)
                    && s.labels.get("outcome") == Some("stored")
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                ref other => panic!("{other:?}"),
            })
            .unwrap_or_else(|| panic!("no stored count for {consumer}"))
    };
    assert_eq!((stored("orders"), stored("events")), (3.0, 5.0));
    assert!(
        scrape
            .samples
            .iter()
            .all(|s| s.labels.get("consumer").is_some()),
        "a sample without its instance"
    );

    // status checks one instance, and says which.
    let out = run(&orders, &["--instance", "orders", "status"]).await;
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.starts_with("X-MSRV orders OK - "), "{out}");
    assert!(out.stdout.contains("stored=3 "), "{out}");
}

#[tokio::test]
async fn a_bad_or_unconfigured_instance_is_refused() {
    let _ = common::test_dir();
    for bad in ["a.b", "x-msrv", ""] {
        let out = Command::new(common::BIN)
            .args(["--instance", bad, "check"])
            .env_remove("STATE_DIRECTORY")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--instance {bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--instance"),
            "{out:?}"
        );
    }
    // No /etc/x-msrv/NAME.* (and no X_MSRV_ variable): a configuration error naming the
    // files it looked for.
    let mut cmd = Command::new(common::BIN);
    cmd.args(["--instance", "it-no-such-instance", "check"]);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("X_MSRV_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("/etc/x-msrv/it-no-such-instance.toml")
            && stderr.contains("/etc/x-msrv/it-no-such-instance.json"),
        "{stderr}"
    );
    common::assert_machine_state_untouched();
}
