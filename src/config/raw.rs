//! The configuration file's structures as written, with their defaults: what serde
//! checks (types, unknown keys) and nothing more. `check` turns them into settings.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::AEROSPIKE_DEFAULT_PORT;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawConfig {
    /// Whole-run limit: after this long the run stops taking messages.
    #[serde(default = "defaults::timeout", with = "humantime_serde")]
    pub(super) timeout: Duration,
    /// After a stop, how long messages in hand may take to finish before they go back.
    #[serde(default = "defaults::grace", with = "humantime_serde")]
    pub(super) grace: Duration,
    /// `[nsq]`: where and what to consume.
    #[serde(default)]
    pub(super) nsq: RawNsq,
    /// `[message]`: how a message is checked and keyed.
    #[serde(default)]
    pub(super) message: RawMessage,
    /// `[aerospike]`: where records go.
    #[serde(default)]
    pub(super) aerospike: RawAerospike,
    /// `[rejected]`: where invalid messages are kept.
    #[serde(default)]
    pub(super) rejected: RawRejected,
    /// `[metrics]`: the Prometheus textfile written after every run.
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    /// Where x-msrv keeps its own state between runs (the failed-write counts); unset:
    /// `$STATE_DIRECTORY` (systemd's `StateDirectory=`), else `/var/lib/x-msrv`.
    #[serde(default)]
    pub(super) state_directory: Option<PathBuf>,
}

/// `[nsq]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub(super) struct RawNsq {
    /// nsqd TCP addresses (`host:4150`); exactly one of `nsqd` and `lookupd`.
    pub(super) nsqd: Vec<String>,
    /// nsqlookupd HTTP addresses (`http://host:4161`; `https://` for one behind a
    /// TLS-terminating proxy).
    pub(super) lookupd: Vec<String>,
    /// The HTTP addresses of the `nsqd` (same order, `https://` for `--https-address`),
    /// for their channel depths; empty: each TCP port + 1.
    pub(super) nsqd_http: Vec<String>,
    /// Topic to consume (required).
    pub(super) topic: Option<String>,
    /// Channel to consume.
    pub(super) channel: String,
    /// Most messages in flight at once, over all nsqd connections.
    pub(super) max_in_flight: u32,
    /// Most message body bytes in flight at once (`"32MiB"`, or a number of bytes).
    pub(super) max_in_flight_bytes: bytesize::ByteSize,
    /// N: most messages one run takes.
    pub(super) max_messages: u64,
    /// M: the systemd timer's period.
    #[serde(with = "humantime_serde")]
    pub(super) period: Duration,
    /// Asked of nsqd in IDENTIFY; unset keeps nsqd's own.
    #[serde(with = "humantime_serde")]
    pub(super) msg_timeout: Option<Duration>,
    /// REQ delay after a failed store, multiplied by the attempt count.
    #[serde(with = "humantime_serde")]
    pub(super) requeue_delay: Duration,
    /// Cap of the REQ delay.
    #[serde(with = "humantime_serde")]
    pub(super) max_requeue_delay: Duration,
    /// After this many failed writes of a message (x-msrv's own count), give it up.
    pub(super) max_attempts: u32,
    /// Bound on connecting (and the handshake) to each nsqd or nsqlookupd.
    #[serde(with = "humantime_serde")]
    pub(super) connect_timeout: Duration,
    /// A run with nothing in hand that receives nothing for this long stops; `0s`: never.
    #[serde(with = "humantime_serde")]
    pub(super) idle_timeout: Duration,
    /// How often nsqd sends heartbeats (IDENTIFY `heartbeat_interval`).
    #[serde(with = "humantime_serde")]
    pub(super) heartbeat_interval: Duration,
    /// TLS to nsqd (IDENTIFY `tls_v1`), off by default.
    pub(super) tls: bool,
    /// PEM file of the CAs that may sign nsqd's certificate; unset: the system's.
    pub(super) tls_ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) and its key, for nsqd's `require-verify`.
    pub(super) tls_cert_file: Option<PathBuf>,
    pub(super) tls_key_file: Option<PathBuf>,
    /// The name nsqd's certificate must carry; unset: the host of each address.
    pub(super) tls_server_name: Option<String>,
    /// `1.2` or `1.3`.
    pub(super) tls_min_version: String,
    /// `none`, `snappy` or `deflate`.
    pub(super) compression: String,
    /// 1-9, with `compression = "deflate"` only; unset: 6.
    pub(super) deflate_level: Option<u8>,
    /// nsqd's AUTH secret, inline (better: the file, or the environment).
    pub(super) auth_secret: Option<Redacted>,
    /// A file holding nsqd's AUTH secret.
    pub(super) auth_secret_file: Option<PathBuf>,
}

/// A secret as written in the file: read like a string, never shown by `Debug`.
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct Redacted(pub(super) String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"..\"")
    }
}

impl Default for RawNsq {
    fn default() -> Self {
        RawNsq {
            nsqd: Vec::new(),
            lookupd: Vec::new(),
            nsqd_http: Vec::new(),
            topic: None,
            channel: "x-msrv".to_owned(),
            max_in_flight: 2000,
            max_in_flight_bytes: bytesize::ByteSize::b(nsq::DEFAULT_MAX_IN_FLIGHT_BYTES),
            max_messages: 1000,
            period: Duration::from_secs(60),
            msg_timeout: None,
            requeue_delay: Duration::from_secs(5),
            max_requeue_delay: Duration::from_secs(15 * 60),
            max_attempts: 5,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(2),
            heartbeat_interval: Duration::from_secs(30),
            tls: false,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_server_name: None,
            tls_min_version: "1.2".to_owned(),
            compression: "none".to_owned(),
            deflate_level: None,
            auth_secret: None,
            auth_secret_file: None,
        }
    }
}

/// `[message]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub(super) struct RawMessage {
    /// JSON Schema file every message must match; relative to the config file's directory.
    pub(super) schema: PathBuf,
    /// Record key: a JSON pointer into the message (`/id`), or `nsq-id`.
    pub(super) key: String,
    /// `bins` (a bin per top-level field) or `document` (the message in one map bin).
    pub(super) layout: String,
    /// The map bin of the `document` layout; unset: `doc`.
    pub(super) document_bin: Option<String>,
    /// Fields copied to bins of their own under `document` (JSON pointers).
    pub(super) index_bins: Vec<String>,
    /// The ordering guard: a JSON pointer to an integer that grows.
    pub(super) version: Option<String>,
    /// The bin that keeps the version; unset: `version`.
    pub(super) version_bin: Option<String>,
}

impl Default for RawMessage {
    fn default() -> Self {
        RawMessage {
            schema: PathBuf::from("/etc/x-msrv/message.schema.json"),
            key: "/id".to_owned(),
            layout: "bins".to_owned(),
            document_bin: None,
            index_bins: Vec::new(),
            version: None,
            version_bin: None,
        }
    }
}

/// `[aerospike]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub(super) struct RawAerospike {
    /// Seed hosts, `host:port` (port 3000 when left out).
    pub(super) hosts: Vec<String>,
    /// Namespace.
    pub(super) namespace: String,
    /// Set of the stored messages.
    pub(super) set: String,
    /// A JSON pointer to the field naming a message's set (else `set`).
    pub(super) set_from: Option<String>,
    /// A JSON pointer to the field giving a message's TTL (else `ttl`).
    pub(super) ttl_from: Option<String>,
    /// `replace`, `update` or `create-only`.
    pub(super) write: String,
    /// Record TTL: `default` (the namespace's), `never`, or a duration.
    pub(super) ttl: String,
    /// Bound on every Aerospike call.
    #[serde(with = "humantime_serde")]
    pub(super) timeout: Duration,
    /// Most records per batch write.
    pub(super) batch_size: usize,
    /// User, for a cluster with security enabled.
    pub(super) user: Option<String>,
    /// Its password, written here (see `password_file` to keep it out of this file).
    pub(super) password: Option<String>,
    /// A file holding the password (a systemd credential); relative to the config
    /// file's directory. Not with `password`.
    pub(super) password_file: Option<PathBuf>,
}

// Hand-written so that a debug print of the raw config never shows the password.
impl fmt::Debug for RawAerospike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawAerospike")
            .field("hosts", &self.hosts)
            .field("namespace", &self.namespace)
            .field("set", &self.set)
            .field("set_from", &self.set_from)
            .field("ttl_from", &self.ttl_from)
            .field("write", &self.write)
            .field("user", &self.user)
            .field("password_file", &self.password_file)
            .finish_non_exhaustive()
    }
}

impl Default for RawAerospike {
    fn default() -> Self {
        RawAerospike {
            hosts: vec![format!("127.0.0.1:{AEROSPIKE_DEFAULT_PORT}")],
            namespace: "test".to_owned(),
            set: "messages".to_owned(),
            set_from: None,
            ttl_from: None,
            write: "replace".to_owned(),
            ttl: "default".to_owned(),
            timeout: Duration::from_secs(1),
            batch_size: 250,
            user: None,
            password: None,
            password_file: None,
        }
    }
}

/// `[rejected]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub(super) struct RawRejected {
    /// Aerospike set (in `aerospike.namespace`) where invalid messages are kept.
    pub(super) set: String,
    /// NSQ topic for messages that cannot be kept in the rejected set either; unset:
    /// `<nsq.topic>.dead-letter`; empty: none.
    pub(super) topic: Option<String>,
}

impl Default for RawRejected {
    fn default() -> Self {
        RawRejected {
            set: "rejected".to_owned(),
            topic: None,
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub(super) struct RawMetrics {
    /// The `.prom` file for node_exporter's textfile collector; unset or empty: none.
    pub(super) textfile: Option<PathBuf>,
}

pub(super) mod defaults {
    use std::time::Duration;

    pub fn timeout() -> Duration {
        Duration::from_secs(30)
    }

    pub fn grace() -> Duration {
        Duration::from_secs(5)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::schema_dir;
    use crate::config::{Format, KEYS, from_str};

    #[test]
    fn every_key_is_listed() {
        // KEYS is what the docs test checks; keep it in step with the structs by parsing
        // a file that sets every key.
        let text = r#"
            timeout = "1s"
            grace = "1s"
            state-directory = "state"
            [nsq]
            nsqd = ["127.0.0.1:4150"]
            nsqd-http = ["127.0.0.1:4151"]
            topic = "t"
            channel = "c"
            max-in-flight = 1
            max-in-flight-bytes = "1MiB"
            max-messages = 1
            period = "1s"
            msg-timeout = "1s"
            requeue-delay = "1s"
            max-requeue-delay = "1s"
            max-attempts = 1
            connect-timeout = "1s"
            idle-timeout = "1s"
            heartbeat-interval = "5s"
            tls = true
            tls-ca-file = "ca.pem"
            tls-cert-file = "client.pem"
            tls-key-file = "client.key"
            tls-server-name = "nsqd.example"
            tls-min-version = "1.3"
            compression = "deflate"
            deflate-level = 1
            auth-secret-file = "secret"
            [message]
            schema = "schema.json"
            key = "/id"
            layout = "document"
            document-bin = "d"
            index-bins = ["/id"]
            version = "/v"
            version-bin = "ver"
            [aerospike]
            hosts = ["h"]
            namespace = "n"
            set = "s"
            set-from = "/kind"
            ttl-from = "/expires"
            write = "update"
            ttl = "never"
            timeout = "1s"
            batch-size = 1
            user = "u"
            password-file = "secret"
            [rejected]
            set = "r"
            topic = "t.dead"
            [metrics]
            textfile = "x-msrv.prom"
        "#;
        let dir = schema_dir();
        devstack::tls::TestPki::generate_in(dir.path()).unwrap();
        std::fs::write(dir.path().join("secret"), "p\n").unwrap();
        from_str(text, Format::Toml, dir.path()).unwrap();
        let mut section = String::new();
        let mut found = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = format!("{name}.");
            } else if let Some((key, _)) = line.split_once(" = ") {
                found.push(format!("{section}{key}"));
            }
        }
        // The other one of each pair that may not be given together.
        found.push("nsq.lookupd".to_owned());
        found.push("nsq.auth-secret".to_owned());
        found.push("aerospike.password".to_owned());
        found.sort();
        let mut keys: Vec<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
        keys.sort();
        assert_eq!(found, keys);
    }
}
