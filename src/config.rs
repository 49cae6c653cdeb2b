//! Configuration: file → checked [`Settings`], before any connection is opened.
//!
//! # Sources, lowest priority first
//! 1. Built-in defaults (the serde defaults below; see [`KEYS`] and `etc/x-msrv.toml`).
//! 2. The file: `--config PATH`, or else the first of [`DEFAULT_PATHS`] that exists. The
//!    format follows the extension (`.toml`, `.yaml`/`.yml`, `.json`).
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
//! The raw, serde-checked structures (`deny_unknown_fields`: an unknown key is an error
//! naming it) are turned into [`Settings`]: durations parsed, limits checked non-zero,
//! exactly one of `nsq.nsqd` / `nsq.lookupd`, the schema file read and compiled, the
//! record key parsed. Every error names its key (`nsq.max-messages: ...`).
//!
//! # Relative paths
//! A relative `message.schema` is resolved against the directory of the configuration
//! file (the working directory when there is no file), so a config and its schema can
//! be moved together, and `test/demo.toml` works from any working directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::nsq::{self, NsqAddresses};
use crate::validate::{Prepared, RecordKey, Rejection, SchemaValidator};

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
    "nsq.topic",
    "nsq.channel",
    "nsq.max-in-flight",
    "nsq.max-messages",
    "nsq.period",
    "nsq.msg-timeout",
    "nsq.requeue-delay",
    "nsq.max-requeue-delay",
    "nsq.max-attempts",
    "nsq.connect-timeout",
    "message.schema",
    "message.key",
    "aerospike.hosts",
    "aerospike.namespace",
    "aerospike.set",
    "aerospike.ttl",
    "aerospike.timeout",
    "aerospike.batch-size",
    "aerospike.user",
    "aerospike.password",
    "rejected.set",
];

/// Keys whose value is a list: their environment override is split on commas.
const LIST_KEYS: &[&str] = &["nsq.nsqd", "nsq.lookupd", "aerospike.hosts"];

/// `message.key` value that keys records by the NSQ message id instead of a field.
pub const NSQ_ID_KEY: &str = "nsq-id";

/// nsqd's smallest `msg_timeout` (IDENTIFY rejects less than 1 s).
const MIN_MSG_TIMEOUT: Duration = Duration::from_secs(1);
/// nsqd's default `--max-msg-timeout`; IDENTIFY asking for more is refused.
const MAX_MSG_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Aerospike's default `batch-max-requests`: a batch with more rows is refused whole.
const MAX_BATCH_SIZE: usize = 5000;
/// Aerospike's limits on names (namespace 31 bytes, set 63 bytes).
const MAX_NAMESPACE_LEN: usize = 31;
const MAX_SET_LEN: usize = 63;
/// Aerospike's default port, assumed when a host has none.
pub const AEROSPIKE_DEFAULT_PORT: u16 = 3000;

/// What can go wrong loading the configuration. Each message names the file, the key or
/// the environment variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No `--config` and none of the default files exists.
    #[error("no configuration file found (tried {}); give one with --config", tried.join(", "))]
    NotFound { tried: Vec<String> },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file's extension names no supported format.
    #[error("{path}: unsupported configuration format (use .toml, .yaml, .yml or .json)")]
    Format { path: PathBuf },
    /// The file is not valid TOML/YAML/JSON.
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// A key has a bad value, is unknown, or is missing.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    /// An `X_MSRV_` variable names no key.
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

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

// ---------------------------------------------------------------------------------------
// Raw structures: what the file may contain.
// ---------------------------------------------------------------------------------------

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    /// Whole-run limit: after this long the run stops taking messages.
    #[serde(default = "defaults::timeout", with = "humantime_serde")]
    timeout: Duration,
    /// After a stop, how long messages in hand may take to finish before they go back.
    #[serde(default = "defaults::grace", with = "humantime_serde")]
    grace: Duration,
    /// `[nsq]`: where and what to consume.
    #[serde(default)]
    nsq: RawNsq,
    /// `[message]`: how a message is checked and keyed.
    #[serde(default)]
    message: RawMessage,
    /// `[aerospike]`: where records go.
    #[serde(default)]
    aerospike: RawAerospike,
    /// `[rejected]`: where invalid messages are kept.
    #[serde(default)]
    rejected: RawRejected,
}

/// `[nsq]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
struct RawNsq {
    /// nsqd TCP addresses (`host:4150`); exactly one of `nsqd` and `lookupd`.
    nsqd: Vec<String>,
    /// nsqlookupd HTTP addresses (`http://host:4161`).
    lookupd: Vec<String>,
    /// Topic to consume (required).
    topic: Option<String>,
    /// Channel to consume.
    channel: String,
    /// Most messages in flight at once, over all nsqd connections.
    max_in_flight: u32,
    /// N: most messages one run takes.
    max_messages: u64,
    /// M: the systemd timer's period.
    #[serde(with = "humantime_serde")]
    period: Duration,
    /// Asked of nsqd in IDENTIFY; unset keeps nsqd's own.
    #[serde(with = "humantime_serde")]
    msg_timeout: Option<Duration>,
    /// REQ delay after a failed store, multiplied by the attempt count.
    #[serde(with = "humantime_serde")]
    requeue_delay: Duration,
    /// Cap of the REQ delay.
    #[serde(with = "humantime_serde")]
    max_requeue_delay: Duration,
    /// After this many deliveries with a failed store, keep the message as rejected.
    max_attempts: u32,
    /// Bound on connecting (and the handshake) to each nsqd or nsqlookupd.
    #[serde(with = "humantime_serde")]
    connect_timeout: Duration,
}

impl Default for RawNsq {
    fn default() -> Self {
        RawNsq {
            nsqd: Vec::new(),
            lookupd: Vec::new(),
            topic: None,
            channel: "x-msrv".to_owned(),
            max_in_flight: 1000,
            max_messages: 1000,
            period: Duration::from_secs(60),
            msg_timeout: None,
            requeue_delay: Duration::from_secs(5),
            max_requeue_delay: Duration::from_secs(15 * 60),
            max_attempts: 5,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// `[message]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
struct RawMessage {
    /// JSON Schema file every message must match; relative to the config file's directory.
    schema: PathBuf,
    /// Record key: a JSON pointer into the message (`/id`), or `nsq-id`.
    key: String,
}

impl Default for RawMessage {
    fn default() -> Self {
        RawMessage {
            schema: PathBuf::from("/etc/x-msrv/message.schema.json"),
            key: "/id".to_owned(),
        }
    }
}

/// `[aerospike]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
struct RawAerospike {
    /// Seed hosts, `host:port` (port 3000 when left out).
    hosts: Vec<String>,
    /// Namespace.
    namespace: String,
    /// Set of the stored messages.
    set: String,
    /// Record TTL: `default` (the namespace's), `never`, or a duration.
    ttl: String,
    /// Bound on every Aerospike call.
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    /// Most records per batch write.
    batch_size: usize,
    /// User, for a cluster with security enabled.
    user: Option<String>,
    /// Its password.
    password: Option<String>,
}

// Hand-written so that a debug print of the raw config never shows the password.
impl fmt::Debug for RawAerospike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawAerospike")
            .field("hosts", &self.hosts)
            .field("namespace", &self.namespace)
            .field("set", &self.set)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Default for RawAerospike {
    fn default() -> Self {
        RawAerospike {
            hosts: vec![format!("127.0.0.1:{AEROSPIKE_DEFAULT_PORT}")],
            namespace: "test".to_owned(),
            set: "messages".to_owned(),
            ttl: "default".to_owned(),
            timeout: Duration::from_secs(1),
            batch_size: 500,
            user: None,
            password: None,
        }
    }
}

/// `[rejected]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
struct RawRejected {
    /// Aerospike set (in `aerospike.namespace`) where invalid messages are kept.
    set: String,
}

impl Default for RawRejected {
    fn default() -> Self {
        RawRejected {
            set: "rejected".to_owned(),
        }
    }
}

mod defaults {
    use std::time::Duration;

    pub fn timeout() -> Duration {
        Duration::from_secs(30)
    }

    pub fn grace() -> Duration {
        Duration::from_secs(5)
    }
}

// ---------------------------------------------------------------------------------------
// Checked settings: what the program uses.
// ---------------------------------------------------------------------------------------

/// The checked configuration of one run.
#[derive(Debug)]
pub struct Settings {
    /// Whole-run limit: after this long the run stops taking messages.
    pub timeout: Duration,
    /// After a stop: time to finish messages in hand before they are REQ'd, then CLS.
    pub grace: Duration,
    pub nsq: NsqSettings,
    pub message: MessageSettings,
    pub aerospike: AerospikeSettings,
    pub rejected: RejectedSettings,
    /// The file the settings came from (`None`: defaults and environment only).
    pub source: Option<PathBuf>,
}

/// `[nsq]`, checked.
#[derive(Debug, Clone)]
pub struct NsqSettings {
    /// nsqd TCP addresses, or nsqlookupd HTTP addresses (exactly one kind).
    pub addresses: NsqAddresses,
    pub topic: String,
    pub channel: String,
    /// Most messages in flight at once over all connections (the sum of their RDY).
    pub max_in_flight: u32,
    /// N: most messages one run takes.
    pub max_messages: u64,
    /// M: the timer period (used only by the systemd generator).
    pub period: Duration,
    /// Asked of nsqd in IDENTIFY; `None` keeps nsqd's `--msg-timeout`.
    pub msg_timeout: Option<Duration>,
    /// REQ delay after a failed store, times the attempt count …
    pub requeue_delay: Duration,
    /// … capped by this.
    pub max_requeue_delay: Duration,
    /// A message whose store failed on its `max_attempts`-th delivery is kept as rejected.
    pub max_attempts: u32,
    /// Bound on connecting and the handshake, per nsqd or nsqlookupd.
    pub connect_timeout: Duration,
}

/// `[message]`, checked: the compiled schema and the key rule.
#[derive(Debug)]
pub struct MessageSettings {
    /// The schema file, resolved to a full path.
    pub schema_path: PathBuf,
    /// The compiled schema.
    pub validator: SchemaValidator,
    /// Where a record's key comes from.
    pub key: RecordKey,
}

/// How long stored records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The namespace's `default-ttl`.
    NamespaceDefault,
    /// Never expire.
    Never,
    /// Expire this long after the write (whole seconds).
    Seconds(u32),
}

/// `[aerospike]`, checked; also what [`crate::store::AerospikeSink`] needs.
#[derive(Clone)]
pub struct AerospikeSettings {
    /// Seed hosts as `host:port`.
    pub hosts: Vec<String>,
    pub namespace: String,
    /// Set of the stored messages.
    pub set: String,
    /// Set of the rejected messages (a copy of `rejected.set`, so the sink has all it
    /// needs from this one struct).
    pub rejected_set: String,
    pub ttl: Ttl,
    /// Bound on every call (also enforced around the client: it can hang, its issue #159).
    pub timeout: Duration,
    /// Most records per batch write.
    pub batch_size: usize,
    pub user: Option<String>,
    pub password: Option<String>,
}

// Hand-written so the password never reaches a log line.
impl fmt::Debug for AerospikeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AerospikeSettings")
            .field("hosts", &self.hosts)
            .field("namespace", &self.namespace)
            .field("set", &self.set)
            .field("rejected_set", &self.rejected_set)
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .field("batch_size", &self.batch_size)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `[rejected]`, checked.
#[derive(Debug, Clone)]
pub struct RejectedSettings {
    /// Aerospike set (in `aerospike.namespace`) of the invalid messages.
    pub set: String,
}

impl Settings {
    /// The REQ delay after a failed store on delivery `attempts`: `requeue-delay ×
    /// attempts`, capped by `max-requeue-delay` (and nsqd's 1 h limit).
    pub fn requeue_delay(&self, attempts: u16) -> Duration {
        let factor = u32::from(attempts.max(1));
        self.nsq
            .requeue_delay
            .saturating_mul(factor)
            .min(self.nsq.max_requeue_delay)
            .min(nsq::MAX_REQ_DELAY)
    }

    /// Everything between a message body and a record: parse, schema, key, bins.
    pub fn prepare(&self, body: &[u8], nsq_id: &[u8; 16]) -> Result<Prepared, Rejection> {
        self.message.prepare(body, nsq_id)
    }
}

// ---------------------------------------------------------------------------------------
// Loading.
// ---------------------------------------------------------------------------------------

/// Loads the settings: `path`, or the first of [`DEFAULT_PATHS`]; then the `X_MSRV_`
/// environment; then checks everything and compiles the schema.
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
    let env = env_vars();
    match locate(path)? {
        Some(path) => {
            let (text, format) = read(&path)?;
            let base_dir = base_dir_of(&path);
            build(
                Some((&text, format, &path.display().to_string())),
                &base_dir,
                env,
            )
            .map(|mut s| {
                s.source = Some(path);
                s
            })
        }
        None => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            build(None, &cwd, env)
        }
    }
}

/// Parses a configuration text (no file, no environment): for unit tests and tools.
/// Relative paths resolve against `base_dir`.
pub fn from_str(text: &str, format: Format, base_dir: &Path) -> Result<Settings, ConfigError> {
    build(Some((text, format, "configuration")), base_dir, Vec::new())
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
    build(Some((text, format, "configuration")), base_dir, env)
}

/// Reads only `nsq.period` (with its environment override): the systemd generator runs
/// at boot and must not depend on the schema file or anything else being in place.
pub fn load_period(path: Option<&Path>) -> Result<Duration, ConfigError> {
    const KEY: &str = "nsq.period";
    let env = env_vars();
    let mut builder = config::Config::builder();
    let mut origin = String::from("defaults");
    if let Some(path) = locate(path)? {
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
            return Ok(RawNsq::default().period);
        }
        Err(e) => return Err(ConfigError::invalid(KEY, e.to_string())),
    };
    let period = humantime::parse_duration(&text)
        .map_err(|e| ConfigError::invalid(KEY, format!("{text:?}: {e}")))?;
    non_zero(KEY, period)
}

/// The file to read: the one given (it must exist), or the first default that exists;
/// `None` when there is none but the environment configures x-msrv.
fn locate(path: Option<&Path>) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = path {
        return Ok(Some(path.to_path_buf()));
    }
    if let Some(found) = DEFAULT_PATHS.iter().map(PathBuf::from).find(|p| p.exists()) {
        return Ok(Some(found));
    }
    if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with(ENV_PREFIX)) {
        return Ok(None);
    }
    Err(ConfigError::NotFound {
        tried: DEFAULT_PATHS.iter().map(|p| (*p).to_owned()).collect(),
    })
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

fn env_vars() -> Vec<(String, String)> {
    // Non-UTF-8 variables cannot be ours (every key is ASCII); skip them.
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The `X_MSRV_` variables as (variable, dotted key, value); an unknown key is an error.
fn env_overrides(env: &[(String, String)]) -> Result<Vec<(String, String, String)>, ConfigError> {
    let mut out = Vec::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = rest
            .split("__")
            .map(|part| part.to_ascii_lowercase().replace('_', "-"))
            .collect::<Vec<_>>()
            .join(".");
        if !KEYS.contains(&key.as_str()) {
            return Err(ConfigError::Env {
                var: var.clone(),
                message: format!(
                    "names no configuration key (expected {ENV_PREFIX}<SECTION>__<KEY>, e.g. {ENV_PREFIX}NSQ__MAX_MESSAGES)"
                ),
            });
        }
        out.push((var.clone(), key, value.clone()));
    }
    // Deterministic order, whatever order the environment lists them in.
    out.sort();
    Ok(out)
}

fn value_for(key: &str, value: &str) -> config::Value {
    if LIST_KEYS.contains(&key) {
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        config::Value::from(items)
    } else {
        config::Value::from(value)
    }
}

fn syntax_error(origin: &str, e: config::ConfigError) -> ConfigError {
    let message = match e {
        config::ConfigError::FileParse { cause, .. } => cause.to_string(),
        other => other.to_string(),
    };
    ConfigError::Syntax {
        origin: origin.to_owned(),
        message: message.trim_end().to_owned(),
    }
}

fn build(
    file: Option<(&str, Format, &str)>,
    base_dir: &Path,
    env: Vec<(String, String)>,
) -> Result<Settings, ConfigError> {
    let mut builder = config::Config::builder();
    let mut origin = "defaults";
    if let Some((text, format, name)) = file {
        origin = name;
        builder = builder.add_source(config::File::from_str(text, format.file_format()));
    }
    for (var, key, value) in env_overrides(&env)? {
        builder = builder
            .set_override(key.as_str(), value_for(&key, &value))
            .map_err(|e| ConfigError::Env {
                var,
                message: e.to_string(),
            })?;
    }
    let cfg = builder.build().map_err(|e| syntax_error(origin, e))?;
    let raw: RawConfig = cfg.try_deserialize().map_err(deserialize_error)?;
    check(raw, base_dir)
}

/// Turns the `config` crate's error into one that starts with the key at fault.
fn deserialize_error(e: config::ConfigError) -> ConfigError {
    match e {
        config::ConfigError::Type {
            unexpected,
            expected,
            key,
            ..
        } => ConfigError::Invalid {
            key: key.unwrap_or_else(|| "(top level)".to_owned()),
            message: format!("invalid value: {unexpected}, expected {expected}"),
        },
        config::ConfigError::At { error, key, .. } => {
            let inner = match *error {
                config::ConfigError::Message(m) => m,
                other => other.to_string(),
            };
            keyed_message(key.as_deref(), &inner)
        }
        config::ConfigError::Message(m) => keyed_message(None, &m),
        config::ConfigError::NotFound(key) => ConfigError::invalid(&key, "missing"),
        other => ConfigError::Syntax {
            origin: "configuration".to_owned(),
            message: other.to_string(),
        },
    }
}

/// serde reports an unknown field in the parent's key (`nsq`); say which field, in
/// which section. Other messages belong to the key itself.
fn keyed_message(key: Option<&str>, message: &str) -> ConfigError {
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        let place = match key {
            Some(section) => format!("[{section}]"),
            None => "the top level".to_owned(),
        };
        let key = match key {
            Some(section) => format!("{section}.{field}"),
            None => field.to_owned(),
        };
        return ConfigError::Invalid {
            key,
            message: format!("unknown field `{field}` in {place}"),
        };
    }
    ConfigError::Invalid {
        key: key.unwrap_or("(top level)").to_owned(),
        message: message.to_owned(),
    }
}

fn non_zero(key: &str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::invalid(key, "must be greater than zero"))
    } else {
        Ok(d)
    }
}

fn check(raw: RawConfig, base_dir: &Path) -> Result<Settings, ConfigError> {
    let timeout = non_zero("timeout", raw.timeout)?;
    // A zero grace is allowed: everything in hand goes straight back to NSQ.
    let grace = raw.grace;
    let nsq = check_nsq(raw.nsq)?;
    let message = check_message(raw.message, base_dir)?;
    let rejected = check_rejected(raw.rejected)?;
    let aerospike = check_aerospike(raw.aerospike, &rejected)?;
    Ok(Settings {
        timeout,
        grace,
        nsq,
        message,
        aerospike,
        rejected,
        source: None,
    })
}

fn check_nsq(raw: RawNsq) -> Result<NsqSettings, ConfigError> {
    let addresses = match (raw.nsqd.is_empty(), raw.lookupd.is_empty()) {
        (false, true) => {
            for addr in &raw.nsqd {
                check_host_port("nsq.nsqd", addr, false)?;
            }
            NsqAddresses::Nsqd(raw.nsqd)
        }
        (true, false) => {
            for addr in &raw.lookupd {
                let hostport = addr
                    .strip_prefix("http://")
                    .unwrap_or(addr)
                    .trim_end_matches('/');
                if addr.starts_with("https://") {
                    return Err(ConfigError::invalid(
                        "nsq.lookupd",
                        format!("{addr:?}: https is not supported; use http://host:4161"),
                    ));
                }
                check_host_port("nsq.lookupd", hostport, false)?;
            }
            NsqAddresses::Lookupd(raw.lookupd)
        }
        (false, false) => {
            return Err(ConfigError::invalid(
                "nsq.nsqd",
                "give either nsq.nsqd or nsq.lookupd, not both",
            ));
        }
        (true, true) => {
            return Err(ConfigError::invalid(
                "nsq.nsqd",
                "one of nsq.nsqd (nsqd TCP addresses) or nsq.lookupd (nsqlookupd HTTP addresses) is required",
            ));
        }
    };
    let topic = raw
        .topic
        .ok_or_else(|| ConfigError::invalid("nsq.topic", "missing (required)"))?;
    if !nsq::is_valid_name(&topic) {
        return Err(ConfigError::invalid(
            "nsq.topic",
            format!(
                "{topic:?} is not a valid NSQ topic name (1-64 of [.a-zA-Z0-9_-], optional #ephemeral)"
            ),
        ));
    }
    if !nsq::is_valid_name(&raw.channel) {
        return Err(ConfigError::invalid(
            "nsq.channel",
            format!(
                "{:?} is not a valid NSQ channel name (1-64 of [.a-zA-Z0-9_-], optional #ephemeral)",
                raw.channel
            ),
        ));
    }
    if raw.max_in_flight == 0 {
        return Err(ConfigError::invalid(
            "nsq.max-in-flight",
            "must be greater than zero",
        ));
    }
    if raw.max_messages == 0 {
        return Err(ConfigError::invalid(
            "nsq.max-messages",
            "must be greater than zero",
        ));
    }
    let period = non_zero("nsq.period", raw.period)?;
    if let Some(t) = raw.msg_timeout
        && !(MIN_MSG_TIMEOUT..=MAX_MSG_TIMEOUT).contains(&t)
    {
        return Err(ConfigError::invalid(
            "nsq.msg-timeout",
            format!(
                "must be between 1s and 15m (nsqd's limits), not {}",
                humantime::format_duration(t)
            ),
        ));
    }
    if raw.max_requeue_delay > nsq::MAX_REQ_DELAY {
        return Err(ConfigError::invalid(
            "nsq.max-requeue-delay",
            "must be at most 1h (nsqd's --max-req-timeout)",
        ));
    }
    if raw.max_attempts == 0 || raw.max_attempts > u32::from(u16::MAX) {
        return Err(ConfigError::invalid(
            "nsq.max-attempts",
            format!("must be between 1 and {}", u16::MAX),
        ));
    }
    let connect_timeout = non_zero("nsq.connect-timeout", raw.connect_timeout)?;
    Ok(NsqSettings {
        addresses,
        topic,
        channel: raw.channel,
        max_in_flight: raw.max_in_flight,
        max_messages: raw.max_messages,
        period,
        msg_timeout: raw.msg_timeout,
        requeue_delay: raw.requeue_delay,
        max_requeue_delay: raw.max_requeue_delay,
        max_attempts: raw.max_attempts,
        connect_timeout,
    })
}

/// Checks `host:port` (or `host` when `port_optional`); IPv6 as `[::1]:4150`.
fn check_host_port(key: &str, addr: &str, port_optional: bool) -> Result<(), ConfigError> {
    let bad = |why: &str| ConfigError::invalid(key, format!("{addr:?}: {why}"));
    let (host, port) = match addr.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') || host.starts_with('[') => (host, Some(port)),
        _ => (addr, None),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    match port {
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(bad("the port must be a number from 1 to 65535")),
            Ok(_) => Ok(()),
        },
        None if port_optional => Ok(()),
        None => Err(bad("expected host:port")),
    }
}

fn check_message(raw: RawMessage, base_dir: &Path) -> Result<MessageSettings, ConfigError> {
    let key = if raw.key == NSQ_ID_KEY {
        RecordKey::NsqId
    } else {
        RecordKey::pointer(&raw.key).map_err(|why| ConfigError::invalid("message.key", why))?
    };
    let schema_path = if raw.schema.is_absolute() {
        raw.schema
    } else {
        base_dir.join(raw.schema)
    };
    let validator = SchemaValidator::from_file(&schema_path)
        .map_err(|e| ConfigError::invalid("message.schema", e.to_string()))?;
    Ok(MessageSettings {
        schema_path,
        validator,
        key,
    })
}

fn check_rejected(raw: RawRejected) -> Result<RejectedSettings, ConfigError> {
    check_set_name("rejected.set", &raw.set)?;
    Ok(RejectedSettings { set: raw.set })
}

fn check_set_name(key: &str, set: &str) -> Result<(), ConfigError> {
    if set.is_empty() || set.len() > MAX_SET_LEN || set.contains(['.', ':', ';']) {
        return Err(ConfigError::invalid(
            key,
            format!("{set:?}: a set name is 1-{MAX_SET_LEN} bytes without '.', ':' or ';'"),
        ));
    }
    Ok(())
}

fn check_aerospike(
    raw: RawAerospike,
    rejected: &RejectedSettings,
) -> Result<AerospikeSettings, ConfigError> {
    if raw.hosts.is_empty() {
        return Err(ConfigError::invalid(
            "aerospike.hosts",
            "at least one host is required",
        ));
    }
    for host in &raw.hosts {
        check_host_port("aerospike.hosts", host, true)?;
    }
    let namespace = raw.namespace;
    if namespace.is_empty()
        || namespace.len() > MAX_NAMESPACE_LEN
        || namespace.contains(['.', ':', ';'])
    {
        return Err(ConfigError::invalid(
            "aerospike.namespace",
            format!(
                "{namespace:?}: a namespace name is 1-{MAX_NAMESPACE_LEN} bytes without '.', ':' or ';'"
            ),
        ));
    }
    check_set_name("aerospike.set", &raw.set)?;
    if raw.set == rejected.set {
        return Err(ConfigError::invalid(
            "rejected.set",
            format!(
                "must differ from aerospike.set ({:?}), or rejected messages would mix with stored ones",
                raw.set
            ),
        ));
    }
    let ttl = parse_ttl(&raw.ttl)?;
    let timeout = non_zero("aerospike.timeout", raw.timeout)?;
    if raw.batch_size == 0 || raw.batch_size > MAX_BATCH_SIZE {
        return Err(ConfigError::invalid(
            "aerospike.batch-size",
            format!("must be between 1 and {MAX_BATCH_SIZE} (Aerospike's batch-max-requests)"),
        ));
    }
    match (&raw.user, &raw.password) {
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "aerospike.password",
                "missing (aerospike.user is set)",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "aerospike.user",
                "missing (aerospike.password is set)",
            ));
        }
        _ => {}
    }
    Ok(AerospikeSettings {
        hosts: raw.hosts,
        namespace,
        set: raw.set,
        rejected_set: rejected.set.clone(),
        ttl,
        timeout,
        batch_size: raw.batch_size,
        user: raw.user,
        password: raw.password,
    })
}

fn parse_ttl(text: &str) -> Result<Ttl, ConfigError> {
    const KEY: &str = "aerospike.ttl";
    match text {
        "default" => Ok(Ttl::NamespaceDefault),
        "never" => Ok(Ttl::Never),
        _ => {
            let d = humantime::parse_duration(text).map_err(|e| {
                ConfigError::invalid(
                    KEY,
                    format!(
                        "{text:?}: expected \"default\", \"never\" or a duration like \"30d\" ({e})"
                    ),
                )
            })?;
            // Aerospike counts whole seconds; 0 and u32::MAX and u32::MAX - 1 are the
            // special "default", "never" and "don't update" markers.
            let secs = d.as_secs();
            if secs == 0 || secs >= u64::from(u32::MAX - 1) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!("{text:?}: a TTL is at least 1s and less than 136 years"),
                ));
            }
            Ok(Ttl::Seconds(
                u32::try_from(secs).expect("checked just above"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema file in a temporary directory, so the tests do not depend on /etc.
    fn schema_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(
            dir.path().join("schema.json"),
            r#"{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}"#,
        )
        .expect("write the schema");
        dir
    }

    const MINIMAL: &str = r#"
        [nsq]
        nsqd = ["127.0.0.1:4150"]
        topic = "t"
        [message]
        schema = "schema.json"
    "#;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        let dir = schema_dir();
        from_str(text, Format::Toml, dir.path())
    }

    fn error(text: &str) -> String {
        parse(text)
            .expect_err("the configuration is invalid")
            .to_string()
    }

    /// MINIMAL with `line` added to the section `[section]`.
    fn with(section: &str, line: &str) -> String {
        let header = format!("[{section}]");
        if MINIMAL.contains(&header) {
            MINIMAL.replace(&header, &format!("{header}\n{line}"))
        } else {
            format!("{MINIMAL}\n{header}\n{line}\n")
        }
    }

    #[test]
    fn defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.grace, Duration::from_secs(5));
        assert_eq!(
            s.nsq.addresses,
            NsqAddresses::Nsqd(vec!["127.0.0.1:4150".into()])
        );
        assert_eq!(s.nsq.topic, "t");
        assert_eq!(s.nsq.channel, "x-msrv");
        assert_eq!(s.nsq.max_in_flight, 1000);
        assert_eq!(s.nsq.max_messages, 1000);
        assert_eq!(s.nsq.period, Duration::from_secs(60));
        assert_eq!(s.nsq.msg_timeout, None);
        assert_eq!(s.nsq.requeue_delay, Duration::from_secs(5));
        assert_eq!(s.nsq.max_requeue_delay, Duration::from_secs(900));
        assert_eq!(s.nsq.max_attempts, 5);
        assert_eq!(s.nsq.connect_timeout, Duration::from_secs(5));
        assert_eq!(s.message.key, RecordKey::Pointer("/id".into()));
        assert_eq!(s.aerospike.hosts, vec!["127.0.0.1:3000".to_owned()]);
        assert_eq!(s.aerospike.namespace, "test");
        assert_eq!(s.aerospike.set, "messages");
        assert_eq!(s.aerospike.rejected_set, "rejected");
        assert_eq!(s.aerospike.ttl, Ttl::NamespaceDefault);
        assert_eq!(s.aerospike.timeout, Duration::from_secs(1));
        assert_eq!(s.aerospike.batch_size, 500);
        assert_eq!(s.rejected.set, "rejected");
    }

    #[test]
    fn relative_schema_resolves_against_the_base_dir() {
        let dir = schema_dir();
        let s = from_str(MINIMAL, Format::Toml, dir.path()).unwrap();
        assert_eq!(s.message.schema_path, dir.path().join("schema.json"));
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
        assert!(matches!(s.nsq.addresses, NsqAddresses::Lookupd(ref l) if l.len() == 2));
        assert_eq!(s.nsq.channel, "store#ephemeral");
        assert_eq!(s.nsq.max_in_flight, 50);
        assert_eq!(s.nsq.max_messages, 7);
        assert_eq!(s.nsq.msg_timeout, Some(Duration::from_secs(30)));
        assert_eq!(s.nsq.max_attempts, 3);
        assert_eq!(s.nsq.connect_timeout, Duration::from_millis(250));
        assert_eq!(s.message.key, RecordKey::NsqId);
        assert_eq!(s.aerospike.ttl, Ttl::Seconds(30 * 86_400));
        assert_eq!(s.aerospike.batch_size, 100);
        assert_eq!(s.aerospike.rejected_set, "bad");
        assert!(!format!("{:?}", s.aerospike).contains("secret"));
    }

    #[test]
    fn ttl_never() {
        let s = parse(&with("aerospike", r#"ttl = "never""#)).unwrap();
        assert_eq!(s.aerospike.ttl, Ttl::Never);
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("nsq", "max-messages = 0", "nsq.max-messages: "),
            ("nsq", r#"max-messages = "many""#, "nsq.max-messages: "),
            ("nsq", "max-messages = -1", "nsq.max-messages: "),
            ("nsq", "max-in-flight = 0", "nsq.max-in-flight: "),
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
    fn unknown_keys_are_errors() {
        let err = error(&with("aerospike", "hostz = []"));
        assert!(
            err.contains("unknown field `hostz` in [aerospike]"),
            "{err}"
        );
        assert!(err.starts_with("aerospike.hostz: "), "{err}");
        let err = error(&format!("timeoutt = \"1s\"\n{MINIMAL}"));
        assert!(err.contains("unknown field `timeoutt`"), "{err}");
        let err = error(&format!("{MINIMAL}\n[extra]\na = 1\n"));
        assert!(err.contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn exactly_one_of_nsqd_and_lookupd() {
        let both = with("nsq", r#"lookupd = ["http://127.0.0.1:4161"]"#);
        let err = error(&both);
        assert!(
            err.starts_with("nsq.nsqd: ") && err.contains("not both"),
            "{err}"
        );
        let neither = MINIMAL.replace(r#"nsqd = ["127.0.0.1:4150"]"#, "");
        let err = error(&neither);
        assert!(
            err.starts_with("nsq.nsqd: ") && err.contains("required"),
            "{err}"
        );
    }

    #[test]
    fn topic_is_required() {
        let err = error(&MINIMAL.replace(r#"topic = "t""#, ""));
        assert!(err.starts_with("nsq.topic: missing"), "{err}");
    }

    #[test]
    fn missing_or_broken_schema_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = from_str(MINIMAL, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("message.schema: "), "{err}");
        std::fs::write(dir.path().join("schema.json"), "{ not json").unwrap();
        let err = from_str(MINIMAL, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("message.schema: "), "{err}");
        std::fs::write(dir.path().join("schema.json"), r#"{"type": 12}"#).unwrap();
        let err = from_str(MINIMAL, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("message.schema: "), "{err}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        let err = error("[nsq\n");
        assert!(err.starts_with("configuration: "), "{err}");
    }

    #[test]
    fn env_overrides_apply() {
        let dir = schema_dir();
        let env = [
            ("X_MSRV_NSQ__MAX_MESSAGES", "500"),
            ("X_MSRV_TIMEOUT", "10s"),
            ("X_MSRV_AEROSPIKE__HOSTS", "a:3000, b:3001"),
            ("X_MSRV_NSQ__TOPIC", "other"),
            ("PATH", "/usr/bin"),
        ];
        let s = from_str_with_env(MINIMAL, Format::Toml, dir.path(), env).unwrap();
        assert_eq!(s.nsq.max_messages, 500);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(
            s.aerospike.hosts,
            vec!["a:3000".to_owned(), "b:3001".to_owned()]
        );
        assert_eq!(s.nsq.topic, "other");
    }

    #[test]
    fn env_override_errors_name_the_key_or_variable() {
        let dir = schema_dir();
        let err = from_str_with_env(
            MINIMAL,
            Format::Toml,
            dir.path(),
            [("X_MSRV_NSQ__MAX_MESSAGES", "lots")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("nsq.max-messages: "), "{err}");
        let err = from_str_with_env(
            MINIMAL,
            Format::Toml,
            dir.path(),
            [("X_MSRV_NSQ__NOPE", "1")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("X_MSRV_NSQ__NOPE"), "{err}");
    }

    #[test]
    fn requeue_delay_grows_and_is_capped() {
        let s = parse(&with(
            "nsq",
            "requeue-delay = \"5s\"\nmax-requeue-delay = \"12s\"",
        ))
        .unwrap();
        assert_eq!(s.requeue_delay(0), Duration::from_secs(5));
        assert_eq!(s.requeue_delay(1), Duration::from_secs(5));
        assert_eq!(s.requeue_delay(2), Duration::from_secs(10));
        assert_eq!(s.requeue_delay(3), Duration::from_secs(12));
        assert_eq!(s.requeue_delay(u16::MAX), Duration::from_secs(12));
    }

    #[test]
    fn yaml_and_json_are_read() {
        let dir = schema_dir();
        let yaml = "nsq:\n  nsqd: [\"127.0.0.1:4150\"]\n  topic: t\n  max-messages: 3\nmessage:\n  schema: schema.json\n";
        let s = from_str(yaml, Format::Yaml, dir.path()).unwrap();
        assert_eq!(s.nsq.max_messages, 3);
        let json = r#"{"nsq": {"nsqd": ["127.0.0.1:4150"], "topic": "t", "max-messages": 4}, "message": {"schema": "schema.json"}}"#;
        let s = from_str(json, Format::Json, dir.path()).unwrap();
        assert_eq!(s.nsq.max_messages, 4);
    }

    #[test]
    fn load_period_reads_only_the_period() {
        let dir = tempfile::tempdir().unwrap();
        // No schema file: the generator must not care.
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "[nsq]\nperiod = \"90s\"\nbogus = 1\n").unwrap();
        assert_eq!(load_period(Some(&path)).unwrap(), Duration::from_secs(90));
        std::fs::write(&path, "[nsq]\ntopic = \"t\"\n").unwrap();
        assert_eq!(load_period(Some(&path)).unwrap(), Duration::from_secs(60));
        std::fs::write(&path, "[nsq]\nperiod = \"often\"\n").unwrap();
        let err = load_period(Some(&path)).unwrap_err().to_string();
        assert!(err.starts_with("nsq.period: "), "{err}");
    }

    #[test]
    fn every_key_is_listed() {
        // KEYS is what the docs test checks; keep it in step with the structs by parsing
        // a file that sets every key.
        let text = r#"
            timeout = "1s"
            grace = "1s"
            [nsq]
            nsqd = ["127.0.0.1:4150"]
            topic = "t"
            channel = "c"
            max-in-flight = 1
            max-messages = 1
            period = "1s"
            msg-timeout = "1s"
            requeue-delay = "1s"
            max-requeue-delay = "1s"
            max-attempts = 1
            connect-timeout = "1s"
            [message]
            schema = "schema.json"
            key = "/id"
            [aerospike]
            hosts = ["h"]
            namespace = "n"
            set = "s"
            ttl = "never"
            timeout = "1s"
            batch-size = 1
            user = "u"
            password = "p"
            [rejected]
            set = "r"
        "#;
        parse(text).unwrap();
        let mut section = String::new();
        let mut found = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = format!("{name}.");
            } else if let Some((key, _)) = line.split_once(" = ") {
                found.push(format!("{section}{key}"));
            }
        }
        found.push("nsq.lookupd".to_owned());
        found.sort();
        let mut keys: Vec<String> = KEYS.iter().map(|k| (*k).to_owned()).collect();
        keys.sort();
        assert_eq!(found, keys);
    }
}
