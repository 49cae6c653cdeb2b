//! Configuration: file → checked [`Settings`], before any connection is opened.
//!
//! # Sources, lowest priority first
//! 1. Built-in defaults (the serde defaults below; see [`KEYS`] and `etc/x-msrv.toml`).
//! 2. The file: `--config PATH`; else, with `--instance NAME`, the first of
//!    `/etc/x-msrv/NAME.{toml,yaml,yml,json}` that exists (see `instance`); else the first
//!    of [`DEFAULT_PATHS`] that exists. The format follows the extension (`.toml`,
//!    `.yaml`/`.yml`, `.json`).
//! 3. The environment: `X_MSRV_<SECTION>__<KEY>` (or `X_MSRV_<KEY>` for a top-level key),
//!    upper case, with `_` for the `-` of a kebab-case key: `X_MSRV_NSQ__MAX_MESSAGES=500`
//!    sets `nsq.max-messages`, `X_MSRV_TIMEOUT=10s` sets `timeout`. List keys take a
//!    comma-separated value (`X_MSRV_AEROSPIKE__HOSTS=a:3000,b:3000`). We map the names
//!    ourselves instead of using `config::Environment`, because its separator rules cannot
//!    express kebab-case keys; an `X_MSRV_` variable that names no key is an error, so a
//!    typo does not silently do nothing.
//!
//! Without a file and without any `X_MSRV_` variable, loading fails (there is no topic to
//! consume); with variables only, the defaults plus the environment are used.
//!
//! # Two steps
//! The raw, serde-checked structures (`raw`; `deny_unknown_fields`: an unknown key is an
//! error naming it) are turned into [`Settings`] by `check`: durations parsed, limits
//! checked non-zero, exactly one of `nsq.nsqd` / `nsq.lookupd`, the schema file read and
//! compiled, the record key parsed. Every error names its key (`nsq.max-messages: ...`).
//! What comes out is built objects of the stages themselves ([`RecordRules`],
//! [`RetryPolicy`], [`AerospikeSettings`], and [`NsqSettings`] for the consumer): the
//! configuration is read once at start-up and never visited per message.
//!
//! # Layout
//! - `raw`: the file's structures and their defaults.
//! - `env`: the `X_MSRV_` environment overrides.
//! - `instance`: [`Instance`] names, where an instance's file is, and the instances a
//!   directory holds (for the systemd generator).
//! - `error`: [`ConfigError`], and the `config` crate's errors reshaped to name the key.
//! - `check/`: raw values → [`Settings`], every check of a value, one file per section
//!   (`nsq`, `nsq_transport`, `message`, `aerospike`, `rejected`, `metrics`), with the
//!   top-level keys and the assembly in `check/mod.rs`, addresses in `check/address`
//!   and secrets in `check/secrets`. Each file's unit tests are at its bottom.
//! - `test_support` (tests only): the schema directory and minimal configuration the
//!   unit tests share.
//!
//! This file is over 500 lines with its tests: it holds [`Settings`] and the section
//! structs every stage reads, and the loaders (`load`, `load_period`,
//! `load_monitoring`) that share the file + environment merge; the checks are in
//! `check/`.
//!
//! # Relative paths
//! A relative `message.schema` (or `aerospike.password-file`) is resolved against the
//! directory of the configuration file (the working directory when there is no file), so
//! a config and its schema can be moved together, and `test/demo.toml` works from any
//! working directory.
//!
//! # Secrets
//! A secret is written in the config (`aerospike.password`) or read once, at start-up,
//! from a file named by its `-file` key (`aerospike.password-file`), never both:
//! `check::secrets::SecretKeys` and `read_secret_file` (trailing newlines trimmed, errors
//! naming the key and the path). Under systemd the file is a credential the unit loads
//! (`LoadCredential=`, readable by the service only), at
//! `/run/credentials/x-msrv.service/NAME`.

mod check;
mod env;
mod error;
mod instance;
mod raw;
#[cfg(test)]
mod test_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::outcome::RetryPolicy;
use crate::pipeline::record::RecordRules;
use nsq::{ConsumerOptions, NsqAddresses};

use env::{env_overrides, env_vars, value_for};
use error::{deserialize_error, syntax_error};

pub use crate::pipeline::store::{AerospikeSettings, Ttl, WriteMode};
pub use check::DEFAULT_STATE_DIRECTORY;
pub use error::ConfigError;
pub use instance::{CONFIG_DIR, Instance, InstanceError, instances};

/// Where the configuration is looked for when `--config` is not given, in this order.
pub const DEFAULT_PATHS: &[&str] = &[
    "/etc/x-msrv/x-msrv.toml",
    "/etc/x-msrv/x-msrv.yaml",
    "/etc/x-msrv/x-msrv.yml",
    "/etc/x-msrv/x-msrv.json",
];

/// Prefix of the environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "X_MSRV_";

/// Every configuration key, dotted. The docs test checks that the man page, the README
/// and `etc/x-msrv.toml` mention each one.
pub const KEYS: &[&str] = &[
    "timeout",
    "grace",
    "nsq.nsqd",
    "nsq.lookupd",
    "nsq.nsqd-http",
    "nsq.topic",
    "nsq.channel",
    "nsq.max-in-flight",
    "nsq.max-in-flight-bytes",
    "nsq.max-messages",
    "nsq.period",
    "nsq.msg-timeout",
    "nsq.requeue-delay",
    "nsq.max-requeue-delay",
    "nsq.max-attempts",
    "nsq.connect-timeout",
    "nsq.idle-timeout",
    "nsq.heartbeat-interval",
    "nsq.tls",
    "nsq.tls-ca-file",
    "nsq.tls-cert-file",
    "nsq.tls-key-file",
    "nsq.tls-server-name",
    "nsq.tls-min-version",
    "nsq.compression",
    "nsq.deflate-level",
    "nsq.auth-secret",
    "nsq.auth-secret-file",
    "message.schema",
    "message.key",
    "message.layout",
    "message.document-bin",
    "message.index-bins",
    "message.version",
    "message.version-bin",
    "aerospike.hosts",
    "aerospike.namespace",
    "aerospike.set",
    "aerospike.set-from",
    "aerospike.ttl-from",
    "aerospike.write",
    "aerospike.ttl",
    "aerospike.timeout",
    "aerospike.batch-size",
    "aerospike.user",
    "aerospike.password",
    "aerospike.password-file",
    "rejected.set",
    "rejected.topic",
    "state-directory",
    "metrics.textfile",
];

/// `message.key` value that keys records by the NSQ message id instead of a field.
pub const NSQ_ID_KEY: &str = "nsq-id";

/// Aerospike's default port, assumed when a host has none.
pub const AEROSPIKE_DEFAULT_PORT: u16 = 3000;

/// A configuration file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// The format named by a file's extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    fn file_format(self) -> config::FileFormat {
        match self {
            Format::Toml => config::FileFormat::Toml,
            Format::Yaml => config::FileFormat::Yaml,
            Format::Json => config::FileFormat::Json,
        }
    }
}

/// The checked configuration of one run: the stages' own objects, built once.
#[derive(Debug)]
pub struct Settings {
    /// Whole-run limit: after this long the run stops taking messages.
    pub timeout: Duration,
    /// After a stop: time to finish messages in hand before they are REQ'd, then CLS.
    pub grace: Duration,
    pub nsq: NsqSettings,
    /// `[message]`: the compiled schema and the key rule.
    pub message: Arc<RecordRules>,
    /// `nsq.requeue-delay`, `nsq.max-requeue-delay`, `nsq.max-attempts`.
    pub retry: RetryPolicy,
    /// `[aerospike]` and `rejected.set`.
    pub aerospike: AerospikeSettings,
    /// `rejected.topic`: the NSQ topic a message goes to when it can be neither stored
    /// nor kept in the rejected set (`None`: no such topic; it stays in NSQ).
    pub dead_letter_topic: Option<String>,
    /// `state-directory`: where the failed-write counts are kept between runs.
    pub state_directory: PathBuf,
    /// `metrics.textfile`: the Prometheus text file written after every run (`None`:
    /// none; the metrics state in `state_directory` is kept either way).
    pub metrics_textfile: Option<PathBuf>,
    /// The file the settings came from (`None`: defaults and environment only).
    pub source: Option<PathBuf>,
    /// `--instance`: which of several consumers on the host this is (`None`: the single
    /// consumer). It labels the metrics.
    pub instance: Option<Instance>,
}

/// Where the configuration is: what `--config` and `--instance` say.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// `--config PATH`: this file, whatever the instance.
    pub path: Option<PathBuf>,
    /// `--instance NAME`: `/etc/x-msrv/NAME.*` when there is no `--config`; the state
    /// directory's default and the metrics label either way.
    pub instance: Option<Instance>,
}

impl Location {
    /// The single consumer's default files ([`DEFAULT_PATHS`]).
    pub fn defaults() -> Location {
        Location::default()
    }

    /// One given file (`--config PATH`).
    pub fn file(path: impl Into<PathBuf>) -> Location {
        Location {
            path: Some(path.into()),
            instance: None,
        }
    }

    /// An instance's file in `/etc/x-msrv` (`--instance NAME`).
    pub fn instance(instance: Instance) -> Location {
        Location {
            path: None,
            instance: Some(instance),
        }
    }
}

/// `[nsq]`, checked (the retry keys are in [`Settings::retry`]).
#[derive(Debug, Clone)]
pub struct NsqSettings {
    /// The NSQ client's own options, as checked: the addresses (nsqd or nsqlookupd, and
    /// `nsq.nsqd-http`), topic, channel, N (`max_messages`), the in-flight bounds, the
    /// timeouts, TLS, compression and the AUTH secret.
    pub consumer: ConsumerOptions,
    /// M: the period between runs (the systemd generator) or batches (`serve`).
    pub period: Duration,
    /// A run with nothing in hand that receives nothing for this long stops; `None`
    /// (`0s`): only `timeout` ends a run that is not done.
    pub idle_timeout: Option<Duration>,
}

/// Loads the settings: the file `location` names (see [`locate`]); then the `X_MSRV_`
/// environment; then checks everything and compiles the schema.
pub fn load(location: &Location) -> Result<Settings, ConfigError> {
    let env = env_vars();
    let instance = location.instance.as_ref();
    let mut settings = match locate(location)? {
        Some(path) => {
            let (text, format) = read(&path)?;
            let base_dir = base_dir_of(&path);
            let file = (text.as_str(), format, path.display().to_string());
            let mut s = build(Some((file.0, file.1, &file.2)), &base_dir, env, instance)?;
            s.source = Some(path);
            s
        }
        None => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            build(None, &cwd, env, instance)?
        }
    };
    settings.instance = location.instance.clone();
    Ok(settings)
}

/// Parses a configuration text (no file, no environment): for unit tests and tools.
/// Relative paths resolve against `base_dir`.
pub fn from_str(text: &str, format: Format, base_dir: &Path) -> Result<Settings, ConfigError> {
    build(
        Some((text, format, "configuration")),
        base_dir,
        Vec::new(),
        None,
    )
}

/// Like [`from_str`], with the given environment variables applied on top (only the
/// `X_MSRV_` ones are looked at), so the override rules are testable without touching
/// the process environment.
pub fn from_str_with_env<I, K, V>(
    text: &str,
    format: Format,
    base_dir: &Path,
    env: I,
) -> Result<Settings, ConfigError>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let env = env.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    build(Some((text, format, "configuration")), base_dir, env, None)
}

/// Reads only `nsq.period` (with its environment override): the systemd generator runs
/// at boot and must not depend on the schema file or anything else being in place.
pub fn load_period(location: &Location) -> Result<Duration, ConfigError> {
    const KEY: &str = "nsq.period";
    let env = env_vars();
    let mut builder = config::Config::builder();
    let mut origin = String::from("defaults");
    if let Some(path) = locate(location)? {
        let (text, format) = read(&path)?;
        origin = path.display().to_string();
        builder = builder.add_source(config::File::from_str(&text, format.file_format()));
    }
    for (var, key, value) in env_overrides(&env)? {
        if key == KEY {
            builder = builder
                .set_override(KEY, value_for(&key, &value))
                .map_err(|e| ConfigError::Env {
                    var,
                    message: e.to_string(),
                })?;
        }
    }
    let cfg = builder.build().map_err(|e| syntax_error(&origin, e))?;
    let text = match cfg.get_string(KEY) {
        Ok(text) => text,
        Err(config::ConfigError::NotFound(_)) => {
            return Ok(raw::RawNsq::default().period);
        }
        Err(e) => return Err(ConfigError::invalid(KEY, e.to_string())),
    };
    let period = humantime::parse_duration(&text)
        .map_err(|e| ConfigError::invalid(KEY, format!("{text:?}: {e}")))?;
    check::non_zero(KEY, period)
}

/// The file to read: the one given (it must exist); else the instance's file in
/// [`CONFIG_DIR`], or the first default that exists; `None` when there is none but the
/// environment configures x-msrv.
pub fn locate(location: &Location) -> Result<Option<PathBuf>, ConfigError> {
    locate_in(location, Path::new(CONFIG_DIR))
}

/// [`locate`], with the instances' directory given (for the tests).
fn locate_in(location: &Location, dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = &location.path {
        return Ok(Some(path.clone()));
    }
    let found = match &location.instance {
        Some(instance) => instance.locate(dir),
        None => DEFAULT_PATHS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or_else(|| ConfigError::NotFound {
                tried: DEFAULT_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            }),
    };
    match found {
        Ok(path) => Ok(Some(path)),
        Err(_) if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with(ENV_PREFIX)) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn read(path: &Path) -> Result<(String, Format), ConfigError> {
    let format = Format::from_path(path).ok_or_else(|| ConfigError::Format {
        path: path.to_path_buf(),
    })?;
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((text, format))
}

fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn build(
    file: Option<(&str, Format, &str)>,
    base_dir: &Path,
    env: Vec<(String, String)>,
    instance: Option<&Instance>,
) -> Result<Settings, ConfigError> {
    check::check(raw_config(file, &env)?, base_dir, instance)
}

/// The file's text (with its format and a name for errors) and the `X_MSRV_` environment,
/// merged and deserialised: what serde checks (types, unknown keys), nothing more.
fn raw_config(
    file: Option<(&str, Format, &str)>,
    env: &[(String, String)],
) -> Result<raw::RawConfig, ConfigError> {
    let mut builder = config::Config::builder();
    let mut origin = "defaults";
    if let Some((text, format, name)) = file {
        origin = name;
        builder = builder.add_source(config::File::from_str(text, format.file_format()));
    }
    for (var, key, value) in env_overrides(env)? {
        builder = builder
            .set_override(key.as_str(), value_for(&key, &value))
            .map_err(|e| ConfigError::Env {
                var,
                message: e.to_string(),
            })?;
    }
    let cfg = builder.build().map_err(|e| syntax_error(origin, e))?;
    cfg.try_deserialize().map_err(deserialize_error)
}

/// What `x-msrv status` needs from the configuration: the period, N, where the state is
/// kept, and where to read the channel's backlog.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// `nsq.period` (M).
    pub period: Duration,
    /// `nsq.max-messages` (N).
    pub max_messages: u64,
    /// `state-directory`.
    pub state_directory: PathBuf,
    /// The nsqd (or nsqlookupd) addresses, topic and channel, for the backlog.
    pub nsq: ConsumerOptions,
    /// `--instance`.
    pub instance: Option<Instance>,
}

/// Reads the configuration for `x-msrv status`: the file and the environment, every key
/// checked by serde (an unknown key is still an error), but nothing else opened. The
/// schema, TLS files and the AUTH secret file are not read: a monitoring user may not
/// be allowed to read them, and status needs none of them.
pub fn load_monitoring(location: &Location) -> Result<MonitorSettings, ConfigError> {
    let env = env_vars();
    let instance = location.instance.as_ref();
    let (raw, base_dir) = match locate(location)? {
        Some(path) => {
            let (text, format) = read(&path)?;
            let name = path.display().to_string();
            (
                raw_config(Some((&text, format, &name)), &env)?,
                base_dir_of(&path),
            )
        }
        None => (
            raw_config(None, &env)?,
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        ),
    };
    let topic = raw
        .nsq
        .topic
        .clone()
        .ok_or_else(|| ConfigError::invalid("nsq.topic", "missing (required)"))?;
    let addresses = if raw.nsq.lookupd.is_empty() {
        NsqAddresses::Nsqd(raw.nsq.nsqd.clone())
    } else {
        NsqAddresses::Lookupd(raw.nsq.lookupd.clone())
    };
    let mut nsq = ConsumerOptions::new(addresses, &topic, &raw.nsq.channel, raw.nsq.max_messages);
    nsq.nsqd_http = raw.nsq.nsqd_http.clone();
    nsq.connect_timeout = raw.nsq.connect_timeout;
    Ok(MonitorSettings {
        period: check::non_zero("nsq.period", raw.nsq.period)?,
        max_messages: raw.nsq.max_messages,
        state_directory: check::check_state_directory(raw.state_directory, &base_dir, instance)?,
        nsq,
        instance: location.instance.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use std::path::PathBuf;

    use super::test_support::schema_dir;
    use super::{Format, Instance, Location, from_str, load_period, locate_in};

    #[test]
    fn yaml_and_json_are_read() {
        let dir = schema_dir();
        let yaml = "nsq:\n  nsqd: [\"127.0.0.1:4150\"]\n  topic: t\n  max-messages: 3\nmessage:\n  schema: schema.json\n";
        let s = from_str(yaml, Format::Yaml, dir.path()).unwrap();
        assert_eq!(s.nsq.consumer.max_messages, 3);
        let json = r#"{"nsq": {"nsqd": ["127.0.0.1:4150"], "topic": "t", "max-messages": 4}, "message": {"schema": "schema.json"}}"#;
        let s = from_str(json, Format::Json, dir.path()).unwrap();
        assert_eq!(s.nsq.consumer.max_messages, 4);
    }

    #[test]
    fn load_period_reads_only_the_period() {
        let dir = tempfile::tempdir().unwrap();
        // No schema file: the generator must not care.
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "[nsq]\nperiod = \"90s\"\nbogus = 1\n").unwrap();
        assert_eq!(
            load_period(&Location::file(&path)).unwrap(),
            Duration::from_secs(90)
        );
        std::fs::write(&path, "[nsq]\ntopic = \"t\"\n").unwrap();
        assert_eq!(
            load_period(&Location::file(&path)).unwrap(),
            Duration::from_secs(60)
        );
        std::fs::write(&path, "[nsq]\nperiod = \"often\"\n").unwrap();
        let err = load_period(&Location::file(&path)).unwrap_err().to_string();
        assert!(err.starts_with("nsq.period: "), "{err}");
    }

    #[test]
    fn config_is_located_by_path_then_instance() {
        let dir = tempfile::tempdir().unwrap();
        let orders = Instance::parse("orders").unwrap();
        std::fs::write(dir.path().join("orders.yaml"), "").unwrap();
        let by_instance = Location::instance(orders.clone());
        assert_eq!(
            locate_in(&by_instance, dir.path()).unwrap(),
            Some(dir.path().join("orders.yaml"))
        );
        // --config wins over the instance's file (the instance still names the state
        // directory and the metrics label).
        let both = Location {
            path: Some(PathBuf::from("/srv/o.toml")),
            instance: Some(orders),
        };
        assert_eq!(
            locate_in(&both, dir.path()).unwrap(),
            Some(PathBuf::from("/srv/o.toml"))
        );
        let events = Location::instance(Instance::parse("events").unwrap());
        if std::env::vars_os().all(|(k, _)| !k.to_string_lossy().starts_with("X_MSRV_")) {
            let err = locate_in(&events, dir.path()).unwrap_err().to_string();
            assert!(
                err.contains("events.toml") && err.contains("events.json"),
                "{err}"
            );
        }
    }
}
