//! The second step: raw values → checked [`Settings`] and the stages' own objects. Every
//! check of a value lives in this folder, one file per section of the file, and every
//! error names its key.
//!
//! # Layout
//! - this file: the top-level keys (`timeout`, `grace`, `state-directory`) and the
//!   assembly of [`Settings`] from the sections, in the order their checks depend on
//!   each other.
//! - `nsq`: `[nsq]`'s addresses, names, limits and retry keys; `nsq_transport` its
//!   `tls*`, `compression`, `deflate-level` and `auth-secret*` keys (how the connection
//!   is secured and encoded, apart because they read files).
//! - `address`: `host:port` and HTTP addresses, for `[nsq]` and `[aerospike]`.
//! - `message`: `[message]`, the schema, key, layout and version rule.
//! - `aerospike`: `[aerospike]`, with `rejected.set` and the routing pointers.
//! - `rejected`: `rejected.topic`, the dead-letter topic.
//! - `metrics`: `metrics.textfile`.
//! - `secrets`: a secret given inline or read from a file (`aerospike.password*`,
//!   `nsq.auth-secret*`).

mod address;
mod aerospike;
mod message;
mod metrics;
mod nsq;
mod nsq_transport;
mod rejected;
mod secrets;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::ConfigError;
use super::raw::RawConfig;
use super::{Instance, Settings};

/// `state-directory` when neither it nor `$STATE_DIRECTORY` is set.
pub const DEFAULT_STATE_DIRECTORY: &str = "/var/lib/x-msrv";

pub(super) fn non_zero(key: &str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::invalid(key, "must be greater than zero"))
    } else {
        Ok(d)
    }
}

pub(super) fn check(
    raw: RawConfig,
    base_dir: &Path,
    instance: Option<&Instance>,
) -> Result<Settings, ConfigError> {
    let timeout = non_zero("timeout", raw.timeout)?;
    // A zero grace is allowed: everything in hand goes straight back to NSQ.
    let grace = raw.grace;
    let (nsq, retry) = nsq::check_nsq(raw.nsq, base_dir)?;
    aerospike::check_set_name("rejected.set", &raw.rejected.set)?;
    let routing = aerospike::check_routing(&raw.aerospike, &raw.rejected.set)?;
    let dead_letter_topic =
        rejected::check_dead_letter_topic(raw.rejected.topic, &nsq.consumer.topic)?;
    let mut aerospike = aerospike::check_aerospike(raw.aerospike, raw.rejected.set, base_dir)?;
    let (message, version_bin) =
        message::check_message(raw.message, base_dir, routing, aerospike.write)?;
    aerospike.version_bin = version_bin;
    let state_directory = check_state_directory(raw.state_directory, base_dir, instance)?;
    let metrics_textfile = metrics::check_metrics_textfile(raw.metrics.textfile, base_dir)?;
    Ok(Settings {
        timeout,
        grace,
        nsq,
        message: Arc::new(message),
        retry,
        aerospike,
        dead_letter_topic,
        state_directory,
        metrics_textfile,
        source: None,
        instance: instance.cloned(),
    })
}

/// `state-directory`, relative to the config's directory; unset: the default.
pub(super) fn check_state_directory(
    dir: Option<PathBuf>,
    base_dir: &Path,
    instance: Option<&Instance>,
) -> Result<PathBuf, ConfigError> {
    match dir {
        Some(dir) if dir.as_os_str().is_empty() => {
            Err(ConfigError::invalid("state-directory", "must not be empty"))
        }
        Some(dir) => Ok(base_dir.join(dir)),
        None => Ok(default_state_directory(
            std::env::var_os("STATE_DIRECTORY").as_deref(),
            instance,
        )),
    }
}

/// `state-directory` when unset: systemd's `$STATE_DIRECTORY` (the unit's
/// `StateDirectory=`; the first of several), else the packaged `/var/lib/x-msrv`, or an
/// instance's `/var/lib/x-msrv/NAME` (where `StateDirectory=x-msrv/%i` puts it, so
/// `x-msrv status --instance NAME`, run outside the unit, finds the same directory).
fn default_state_directory(
    from_systemd: Option<&std::ffi::OsStr>,
    instance: Option<&Instance>,
) -> PathBuf {
    from_systemd
        .and_then(|dirs| std::env::split_paths(dirs).find(|d| !d.as_os_str().is_empty()))
        .unwrap_or_else(|| match instance {
            Some(instance) => instance.default_state_directory(),
            None => PathBuf::from(DEFAULT_STATE_DIRECTORY),
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Instance, default_state_directory};

    use crate::config::Ttl;
    use crate::config::test_support::{MINIMAL, error, parse, with};
    use crate::pipeline::record::RecordKey;
    use nsq::NsqAddresses;

    #[test]
    fn defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.grace, Duration::from_secs(5));
        assert_eq!(
            s.nsq.consumer.addresses,
            NsqAddresses::Nsqd(vec!["127.0.0.1:4150".into()])
        );
        assert_eq!(s.nsq.consumer.topic, "t");
        assert_eq!(s.nsq.consumer.channel, "x-msrv");
        assert_eq!(s.nsq.consumer.max_in_flight, 2000);
        assert_eq!(s.nsq.consumer.max_in_flight_bytes, 32 * 1024 * 1024);
        assert_eq!(s.nsq.consumer.max_messages, 1000);
        assert_eq!(s.nsq.period, Duration::from_secs(60));
        assert_eq!(s.nsq.consumer.msg_timeout, None);
        assert_eq!(s.retry.requeue_delay, Duration::from_secs(5));
        assert_eq!(s.retry.max_requeue_delay, Duration::from_secs(900));
        assert_eq!(s.retry.max_attempts, 5);
        assert_eq!(s.nsq.consumer.connect_timeout, Duration::from_secs(5));
        assert_eq!(*s.message.key(), RecordKey::pointer("/id").unwrap());
        assert_eq!(s.aerospike.hosts, vec!["127.0.0.1:3000".to_owned()]);
        assert_eq!(s.aerospike.namespace, "test");
        assert_eq!(s.aerospike.set, "messages");
        assert_eq!(s.aerospike.rejected_set, "rejected");
        assert_eq!(s.aerospike.ttl, Ttl::NamespaceDefault);
        assert_eq!(s.aerospike.timeout, Duration::from_secs(1));
        assert_eq!(s.aerospike.batch_size, 250);
    }

    #[test]
    fn values_are_read() {
        let text = r#"
            timeout = "2m"
            grace = "0s"
            [nsq]
            lookupd = ["http://127.0.0.1:4161", "10.0.0.2:4161"]
            topic = "events"
            channel = "store#ephemeral"
            max-in-flight = 50
            max-messages = 7
            period = "10s"
            msg-timeout = "30s"
            requeue-delay = "1s"
            max-requeue-delay = "1m"
            max-attempts = 3
            connect-timeout = "250ms"
            [message]
            schema = "schema.json"
            key = "nsq-id"
            [aerospike]
            hosts = ["db1", "db2:3100"]
            namespace = "prod"
            set = "msgs"
            ttl = "30d"
            timeout = "2s"
            batch-size = 100
            user = "u"
            password = "secret"
            [rejected]
            set = "bad"
        "#;
        let s = parse(text).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(120));
        assert_eq!(s.grace, Duration::ZERO);
        assert!(matches!(s.nsq.consumer.addresses, NsqAddresses::Lookupd(ref l) if l.len() == 2));
        assert_eq!(s.nsq.consumer.channel, "store#ephemeral");
        assert_eq!(s.nsq.consumer.max_in_flight, 50);
        assert_eq!(s.nsq.consumer.max_messages, 7);
        assert_eq!(s.nsq.consumer.msg_timeout, Some(Duration::from_secs(30)));
        assert_eq!(s.retry.max_attempts, 3);
        assert_eq!(s.nsq.consumer.connect_timeout, Duration::from_millis(250));
        assert_eq!(*s.message.key(), RecordKey::NsqId);
        assert_eq!(s.aerospike.ttl, Ttl::Seconds(30 * 86_400));
        assert_eq!(s.aerospike.batch_size, 100);
        assert_eq!(s.aerospike.rejected_set, "bad");
        assert!(!format!("{:?}", s.aerospike).contains("secret"));
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("nsq", "max-messages = 0", "nsq.max-messages: "),
            ("nsq", r#"max-messages = "many""#, "nsq.max-messages: "),
            ("nsq", "max-messages = -1", "nsq.max-messages: "),
            ("nsq", "max-in-flight = 0", "nsq.max-in-flight: "),
            (
                "nsq",
                "max-in-flight-bytes = 0",
                "nsq.max-in-flight-bytes: ",
            ),
            (
                "nsq",
                r#"max-in-flight-bytes = "lots""#,
                "nsq.max-in-flight-bytes: ",
            ),
            ("nsq", r#"nsqd-http = ["a:1", "b:2"]"#, "nsq.nsqd-http: "),
            ("nsq", r#"nsqd-http = ["a"]"#, "nsq.nsqd-http: "),
            ("nsq", r#"period = "soon""#, "nsq.period: "),
            ("nsq", r#"period = "0s""#, "nsq.period: "),
            ("nsq", r#"msg-timeout = "20m""#, "nsq.msg-timeout: "),
            (
                "nsq",
                r#"max-requeue-delay = "2h""#,
                "nsq.max-requeue-delay: ",
            ),
            ("nsq", "max-attempts = 0", "nsq.max-attempts: "),
            ("nsq", "max-attempts = 70000", "nsq.max-attempts: "),
            ("nsq", r#"connect-timeout = "0s""#, "nsq.connect-timeout: "),
            ("nsq", r#"channel = "a b""#, "nsq.channel: "),
            ("message", r#"key = "id""#, "message.key: "),
            ("message", r#"key = "/a~2b""#, "message.key: "),
            ("aerospike", "hosts = []", "aerospike.hosts: "),
            ("aerospike", r#"hosts = ["db:port"]"#, "aerospike.hosts: "),
            ("aerospike", r#"namespace = """#, "aerospike.namespace: "),
            ("aerospike", r#"set = "a.b""#, "aerospike.set: "),
            ("aerospike", r#"ttl = "sometimes""#, "aerospike.ttl: "),
            ("aerospike", r#"ttl = "0s""#, "aerospike.ttl: "),
            // Aerospike refuses a TTL over ten years with PARAMETER_ERROR on every write.
            ("aerospike", r#"ttl = "3651d""#, "aerospike.ttl: "),
            ("aerospike", r#"ttl = "10y""#, "aerospike.ttl: "),
            ("aerospike", r#"write = "upsert""#, "aerospike.write: "),
            ("aerospike", r#"set-from = "kind""#, "aerospike.set-from: "),
            ("aerospike", r#"ttl-from = """#, "aerospike.ttl-from: "),
            ("message", r#"layout = "columns""#, "message.layout: "),
            ("message", r#"document-bin = "d""#, "message.document-bin: "),
            ("message", r#"index-bins = ["/id"]"#, "message.index-bins: "),
            ("message", r#"version = "ts""#, "message.version: "),
            ("message", r#"version-bin = "v""#, "message.version-bin: "),
            ("aerospike", r#"timeout = "0s""#, "aerospike.timeout: "),
            ("aerospike", "batch-size = 0", "aerospike.batch-size: "),
            ("aerospike", "batch-size = 100000", "aerospike.batch-size: "),
            ("aerospike", r#"user = "u""#, "aerospike.password: "),
            ("rejected", r#"set = "messages""#, "rejected.set: "),
            ("rejected", r#"set = """#, "rejected.set: "),
        ];
        for (section, line, want) in cases {
            let err = error(&with(section, line));
            assert!(
                err.starts_with(want),
                "[{section}] {line}: got {err:?}, want it to start with {want:?}"
            );
        }
    }

    #[test]
    fn top_level_bad_values_name_their_key() {
        let err = error(&format!("timeout = \"0s\"\n{MINIMAL}"));
        assert!(err.starts_with("timeout: "), "{err}");
        let err = error(&format!("grace = \"later\"\n{MINIMAL}"));
        assert!(err.starts_with("grace: "), "{err}");
    }

    #[test]
    fn the_state_directory_is_resolved_against_the_config() {
        let s = parse(&format!("state-directory = \"/srv/x\"\n{MINIMAL}")).unwrap();
        assert_eq!(s.state_directory, std::path::PathBuf::from("/srv/x"));
        let err = error(&format!("state-directory = \"\"\n{MINIMAL}"));
        assert!(err.starts_with("state-directory: "), "{err}");
    }

    #[test]
    fn the_default_state_directory_is_systemds_then_the_instances() {
        use std::ffi::OsStr;
        use std::path::PathBuf;
        let orders = Instance::parse("orders").unwrap();
        assert_eq!(
            default_state_directory(None, None),
            PathBuf::from("/var/lib/x-msrv")
        );
        assert_eq!(
            default_state_directory(None, Some(&orders)),
            PathBuf::from("/var/lib/x-msrv/orders")
        );
        // StateDirectory=x-msrv/%i passes the same directory; it wins when set.
        assert_eq!(
            default_state_directory(Some(OsStr::new("/srv/state")), Some(&orders)),
            PathBuf::from("/srv/state")
        );
    }
}
