//! The second step: raw values → checked [`Settings`] and the stages' own objects. Every
//! check of a value lives here, and every error names its key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::error::ConfigError;
use super::raw::{RawAerospike, RawConfig, RawMessage, RawNsq, Redacted};
use super::{NSQ_ID_KEY, NsqSettings, Settings};
use crate::batch::RetryPolicy;
use crate::record::{
    self, IndexBin, Layout, MAX_TTL, Pointer, RecordKey, RecordRules, Routing, SchemaValidator,
    VersionRule,
};
use crate::store::{AerospikeSettings, Ttl, WriteMode};
use nsq::tls::{Roots, TlsSetupError, TlsVersion, load_certificates, load_private_key};
use nsq::{Compression, NsqAddresses, Secret, TlsClient};

/// nsqd's smallest `msg_timeout` (IDENTIFY rejects less than 1 s).
const MIN_MSG_TIMEOUT: Duration = Duration::from_secs(1);
/// nsqd's default `--max-msg-timeout`; IDENTIFY asking for more is refused.
const MAX_MSG_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Aerospike's default `batch-max-requests`: a batch with more rows is refused whole.
const MAX_BATCH_SIZE: usize = 5000;
/// Aerospike's limit on namespace names.
const MAX_NAMESPACE_LEN: usize = 31;
/// `message.document-bin` and `message.version-bin` when unset.
const DEFAULT_DOCUMENT_BIN: &str = "doc";
const DEFAULT_VERSION_BIN: &str = "version";
/// `state-directory` when neither it nor `$STATE_DIRECTORY` is set.
pub const DEFAULT_STATE_DIRECTORY: &str = "/var/lib/x-msrv";

pub(super) fn non_zero(key: &str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::invalid(key, "must be greater than zero"))
    } else {
        Ok(d)
    }
}

pub(super) fn check(raw: RawConfig, base_dir: &Path) -> Result<Settings, ConfigError> {
    let timeout = non_zero("timeout", raw.timeout)?;
    // A zero grace is allowed: everything in hand goes straight back to NSQ.
    let grace = raw.grace;
    let (nsq, retry) = check_nsq(raw.nsq, base_dir)?;
    check_set_name("rejected.set", &raw.rejected.set)?;
    let routing = check_routing(&raw.aerospike, &raw.rejected.set)?;
    let dead_letter_topic = check_dead_letter_topic(raw.rejected.topic, &nsq.topic)?;
    let mut aerospike = check_aerospike(raw.aerospike, raw.rejected.set, base_dir)?;
    let (message, version_bin) = check_message(raw.message, base_dir, routing, aerospike.write)?;
    aerospike.version_bin = version_bin;
    let state_directory = check_state_directory(raw.state_directory, base_dir)?;
    let metrics_textfile = check_metrics_textfile(raw.metrics.textfile, base_dir)?;
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
    })
}

/// `state-directory`, relative to the config's directory; unset: the default.
pub(super) fn check_state_directory(
    dir: Option<PathBuf>,
    base_dir: &Path,
) -> Result<PathBuf, ConfigError> {
    match dir {
        Some(dir) if dir.as_os_str().is_empty() => {
            Err(ConfigError::invalid("state-directory", "must not be empty"))
        }
        Some(dir) => Ok(base_dir.join(dir)),
        None => Ok(default_state_directory()),
    }
}

/// `metrics.textfile`: empty is off (so `X_MSRV_METRICS__TEXTFILE=` turns it off); the
/// name must end in `.prom`, the only files node_exporter's textfile collector reads.
fn check_metrics_textfile(
    file: Option<PathBuf>,
    base_dir: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    const KEY: &str = "metrics.textfile";
    let Some(file) = file.filter(|f| !f.as_os_str().is_empty()) else {
        return Ok(None);
    };
    if file.extension().and_then(|e| e.to_str()) != Some("prom") {
        return Err(ConfigError::invalid(
            KEY,
            format!(
                "{}: node_exporter's textfile collector reads only *.prom files",
                file.display()
            ),
        ));
    }
    Ok(Some(base_dir.join(file)))
}

/// `state-directory` when unset: systemd's `$STATE_DIRECTORY` (the unit's
/// `StateDirectory=`; the first of several), else the packaged `/var/lib/x-msrv`.
fn default_state_directory() -> PathBuf {
    std::env::var_os("STATE_DIRECTORY")
        .and_then(|dirs| std::env::split_paths(&dirs).find(|d| !d.as_os_str().is_empty()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIRECTORY))
}

/// `rejected.topic`: unset gives `<nsq.topic>.dead-letter`, empty gives none.
fn check_dead_letter_topic(
    topic: Option<String>,
    consumed: &str,
) -> Result<Option<String>, ConfigError> {
    const KEY: &str = "rejected.topic";
    match topic {
        Some(t) if t.is_empty() => Ok(None),
        Some(t) => {
            if !nsq::is_valid_name(&t) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!("{t:?} is not a valid NSQ topic name (1-64 of [.a-zA-Z0-9_-])"),
                ));
            }
            if t == consumed {
                return Err(ConfigError::invalid(
                    KEY,
                    "must differ from nsq.topic (a dead letter would come straight back)",
                ));
            }
            Ok(Some(t))
        }
        None => {
            let t = format!("{}.dead-letter", consumed.trim_end_matches("#ephemeral"));
            if !nsq::is_valid_name(&t) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!(
                        "the default {t:?} is too long for NSQ (64 bytes): set rejected.topic, or \"\" for none"
                    ),
                ));
            }
            Ok(Some(t))
        }
    }
}

fn check_nsq(mut raw: RawNsq, base_dir: &Path) -> Result<(NsqSettings, RetryPolicy), ConfigError> {
    let tls = check_tls(&mut raw, base_dir)?;
    let compression = check_compression(&raw)?;
    let auth_secret = check_auth_secret(&mut raw, base_dir)?;
    let addresses = match (raw.nsqd.is_empty(), raw.lookupd.is_empty()) {
        (false, true) => {
            for addr in &raw.nsqd {
                check_host_port("nsq.nsqd", addr, false)?;
            }
            NsqAddresses::Nsqd(raw.nsqd)
        }
        (true, false) => {
            for addr in &raw.lookupd {
                check_http_addr("nsq.lookupd", addr, "host:4161")?;
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
    if raw.max_in_flight_bytes.as_u64() == 0 {
        return Err(ConfigError::invalid(
            "nsq.max-in-flight-bytes",
            "must be greater than zero (a size like \"32MiB\", or a number of bytes)",
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
    // nsqd takes 1 s up to its --max-heartbeat-interval (60 s unless raised; a larger
    // value is refused there, with E_BAD_BODY naming it).
    if raw.heartbeat_interval < Duration::from_secs(1) {
        return Err(ConfigError::invalid(
            "nsq.heartbeat-interval",
            "must be at least 1s (nsqd's lower limit)",
        ));
    }
    let nsqd_http = check_nsqd_http(raw.nsqd_http, &addresses)?;
    let nsq = NsqSettings {
        addresses,
        nsqd_http,
        topic,
        channel: raw.channel,
        max_in_flight: raw.max_in_flight,
        max_in_flight_bytes: raw.max_in_flight_bytes.as_u64(),
        max_messages: raw.max_messages,
        period,
        msg_timeout: raw.msg_timeout,
        connect_timeout,
        idle_timeout: (!raw.idle_timeout.is_zero()).then_some(raw.idle_timeout),
        heartbeat_interval: raw.heartbeat_interval,
        tls,
        compression,
        auth_secret,
    };
    let retry = RetryPolicy {
        requeue_delay: raw.requeue_delay,
        max_requeue_delay: raw.max_requeue_delay,
        max_attempts: raw.max_attempts,
    };
    Ok((nsq, retry))
}

/// `nsq.nsqd-http`: one HTTP address (`host:port`, `http://` or `https://` for nsqd's
/// `--https-address`) per `nsq.nsqd` address, or none at all.
fn check_nsqd_http(
    http: Vec<String>,
    addresses: &NsqAddresses,
) -> Result<Vec<String>, ConfigError> {
    const KEY: &str = "nsq.nsqd-http";
    if http.is_empty() {
        return Ok(http);
    }
    let NsqAddresses::Nsqd(tcp) = addresses else {
        return Err(ConfigError::invalid(
            KEY,
            "only with nsq.nsqd (with nsq.lookupd, nsqlookupd gives each nsqd's HTTP port)",
        ));
    };
    if http.len() != tcp.len() {
        return Err(ConfigError::invalid(
            KEY,
            format!(
                "{} address(es) for {} nsqd: give one per nsq.nsqd address, in the same order, or none",
                http.len(),
                tcp.len()
            ),
        ));
    }
    for addr in &http {
        check_http_addr(KEY, addr, "host:4151")?;
    }
    Ok(http)
}

/// An HTTP address: `host:port`, `http://host:port` or `https://host:port` (a trailing
/// `/` allowed), as `nsq::HttpClient` takes it; `example` shows the plain form.
fn check_http_addr(key: &str, addr: &str, example: &str) -> Result<(), ConfigError> {
    let hostport = match addr.split_once("://") {
        None => addr,
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest.trim_end_matches('/')
        }
        Some((scheme, _)) => {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "{addr:?}: {scheme}:// is not an HTTP address; use {example}, http://{example} or https://{example}"
                ),
            ));
        }
    };
    if hostport.contains('/') {
        return Err(ConfigError::invalid(
            key,
            format!("{addr:?}: no path, only the address (x-msrv adds /lookup, /stats, /pub)"),
        ));
    }
    match host_port_problem(hostport, false) {
        Some(why) => Err(ConfigError::invalid(key, format!("{addr:?}: {why}"))),
        None => Ok(()),
    }
}

/// `nsq.tls` and its files: read and built now, so a wrong path or a bad certificate is
/// a config error naming its key, before any connection.
fn check_tls(raw: &mut RawNsq, base_dir: &Path) -> Result<Option<Arc<TlsClient>>, ConfigError> {
    let min_version = TlsVersion::parse(&raw.tls_min_version)
        .map_err(|why| ConfigError::invalid("nsq.tls-min-version", why.to_string()))?;
    if !raw.tls {
        let set = [
            ("nsq.tls-ca-file", raw.tls_ca_file.is_some()),
            ("nsq.tls-cert-file", raw.tls_cert_file.is_some()),
            ("nsq.tls-key-file", raw.tls_key_file.is_some()),
            ("nsq.tls-server-name", raw.tls_server_name.is_some()),
        ];
        if let Some((key, _)) = set.iter().find(|(_, set)| *set) {
            return Err(ConfigError::invalid(
                key,
                "has no effect without nsq.tls = true (set it, or remove this key)",
            ));
        }
        return Ok(None);
    }
    let file = |key: &str, path: PathBuf| {
        if path.as_os_str().is_empty() {
            Err(ConfigError::invalid(key, "must not be empty"))
        } else {
            Ok(base_dir.join(path))
        }
    };
    let roots = match raw.tls_ca_file.take() {
        Some(path) => {
            let path = file("nsq.tls-ca-file", path)?;
            Roots::File(
                load_certificates(&path)
                    .map_err(|why| ConfigError::invalid("nsq.tls-ca-file", why.to_string()))?,
            )
        }
        None => Roots::System,
    };
    let identity = match (raw.tls_cert_file.take(), raw.tls_key_file.take()) {
        (Some(cert), Some(key)) => {
            let cert = file("nsq.tls-cert-file", cert)?;
            let key = file("nsq.tls-key-file", key)?;
            Some((
                load_certificates(&cert)
                    .map_err(|why| ConfigError::invalid("nsq.tls-cert-file", why.to_string()))?,
                load_private_key(&key)
                    .map_err(|why| ConfigError::invalid("nsq.tls-key-file", why.to_string()))?,
            ))
        }
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "nsq.tls-key-file",
                "missing (nsq.tls-cert-file is set; a client certificate needs its key)",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "nsq.tls-cert-file",
                "missing (nsq.tls-key-file is set; a key needs its certificate)",
            ));
        }
        (None, None) => None,
    };
    let roots_key = match roots {
        Roots::System => "nsq.tls",
        Roots::File(_) => "nsq.tls-ca-file",
    };
    let client = TlsClient::new(roots, identity, min_version, raw.tls_server_name.as_deref())
        .map_err(|e| {
            let key = match e {
                TlsSetupError::Roots(_) => roots_key,
                TlsSetupError::Identity(_) => "nsq.tls-cert-file",
                TlsSetupError::ServerName(_) => "nsq.tls-server-name",
            };
            ConfigError::invalid(key, e.to_string())
        })?;
    Ok(Some(Arc::new(client)))
}

/// nsqd's default `--max-deflate-level`, and what x-msrv asks for by default.
const DEFAULT_DEFLATE_LEVEL: u8 = 6;

fn check_compression(raw: &RawNsq) -> Result<Compression, ConfigError> {
    let compression = match raw.compression.as_str() {
        "none" => Compression::None,
        "snappy" => Compression::Snappy,
        "deflate" => {
            let level = raw.deflate_level.unwrap_or(DEFAULT_DEFLATE_LEVEL);
            if !(1..=9).contains(&level) {
                return Err(ConfigError::invalid(
                    "nsq.deflate-level",
                    format!("must be from 1 to 9, not {level}"),
                ));
            }
            Compression::Deflate(level)
        }
        other => {
            return Err(ConfigError::invalid(
                "nsq.compression",
                format!("{other:?}: expected \"none\", \"snappy\" or \"deflate\""),
            ));
        }
    };
    if raw.deflate_level.is_some() && !matches!(compression, Compression::Deflate(_)) {
        return Err(ConfigError::invalid(
            "nsq.deflate-level",
            "only with nsq.compression = \"deflate\"",
        ));
    }
    Ok(compression)
}

fn check_auth_secret(raw: &mut RawNsq, base_dir: &Path) -> Result<Option<Secret>, ConfigError> {
    const KEYS: SecretKeys = SecretKeys {
        inline: "nsq.auth-secret",
        file: "nsq.auth-secret-file",
    };
    let inline = raw.auth_secret.take().map(|Redacted(s)| s);
    if inline.as_deref() == Some("") {
        return Err(ConfigError::invalid(KEYS.inline, "must not be empty"));
    }
    Ok(KEYS
        .read(inline, raw.auth_secret_file.take(), base_dir)?
        .map(Secret::new))
}

/// Checks `host:port` (or `host` when `port_optional`); IPv6 as `[::1]:4150`.
fn check_host_port(key: &str, addr: &str, port_optional: bool) -> Result<(), ConfigError> {
    match host_port_problem(addr, port_optional) {
        Some(why) => Err(ConfigError::invalid(key, format!("{addr:?}: {why}"))),
        None => Ok(()),
    }
}

/// What is wrong with `host:port`, if anything (see [`check_host_port`]).
fn host_port_problem(addr: &str, port_optional: bool) -> Option<&'static str> {
    let (host, port) = match addr.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') || host.starts_with('[') => (host, Some(port)),
        _ => (addr, None),
    };
    if host.is_empty() {
        return Some("no host");
    }
    match port {
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => Some("the port must be a number from 1 to 65535"),
            Ok(_) => None,
        },
        None if port_optional => None,
        None => Some("expected host:port"),
    }
}

fn check_message(
    raw: RawMessage,
    base_dir: &Path,
    routing: Routing,
    write: WriteMode,
) -> Result<(RecordRules, Option<String>), ConfigError> {
    let key = if raw.key == NSQ_ID_KEY {
        RecordKey::NsqId
    } else {
        RecordKey::pointer(&raw.key).map_err(|why| ConfigError::invalid("message.key", why))?
    };
    let layout = check_layout(&raw)?;
    let version = match raw.version {
        None => {
            if raw.version_bin.is_some() {
                return Err(ConfigError::invalid(
                    "message.version-bin",
                    "only with message.version (the ordering guard)",
                ));
            }
            None
        }
        Some(text) => {
            const KEY: &str = "message.version";
            let pointer = Pointer::parse(&text).map_err(|why| ConfigError::invalid(KEY, why))?;
            if write == WriteMode::CreateOnly {
                return Err(ConfigError::invalid(
                    KEY,
                    "not with aerospike.write = \"create-only\" (a record is never overwritten there: nothing to guard)",
                ));
            }
            let bin = raw
                .version_bin
                .unwrap_or_else(|| DEFAULT_VERSION_BIN.to_owned());
            Some(
                VersionRule::new(pointer, bin, &layout)
                    .map_err(|why| ConfigError::invalid("message.version-bin", why))?,
            )
        }
    };
    let schema_path = if raw.schema.is_absolute() {
        raw.schema
    } else {
        base_dir.join(raw.schema)
    };
    let schema = SchemaValidator::from_file(&schema_path)
        .map_err(|e| ConfigError::invalid("message.schema", e.to_string()))?;
    let version_bin = version.as_ref().map(|v| v.bin().to_owned());
    let mut rules = RecordRules::new(schema, key)
        .with_routing(routing)
        .with_layout(layout);
    if let Some(version) = version {
        rules = rules.with_version(version);
    }
    Ok((rules, version_bin))
}

/// `message.layout` with `message.document-bin` and `message.index-bins`.
fn check_layout(raw: &RawMessage) -> Result<Layout, ConfigError> {
    match raw.layout.as_str() {
        "bins" => {
            if raw.document_bin.is_some() {
                return Err(ConfigError::invalid(
                    "message.document-bin",
                    "only with message.layout = \"document\"",
                ));
            }
            if !raw.index_bins.is_empty() {
                return Err(ConfigError::invalid(
                    "message.index-bins",
                    "only with message.layout = \"document\" (under \"bins\" every top-level field is a bin already)",
                ));
            }
            Ok(Layout::Bins)
        }
        "document" => {
            let bin = raw
                .document_bin
                .clone()
                .unwrap_or_else(|| DEFAULT_DOCUMENT_BIN.to_owned());
            record::check_bin_name(&bin)
                .map_err(|why| ConfigError::invalid("message.document-bin", why))?;
            const KEY: &str = "message.index-bins";
            let mut index: Vec<IndexBin> = Vec::with_capacity(raw.index_bins.len());
            for text in &raw.index_bins {
                let pointer = Pointer::parse(text).map_err(|why| ConfigError::invalid(KEY, why))?;
                let field = IndexBin::new(pointer).map_err(|why| ConfigError::invalid(KEY, why))?;
                if field.name == bin {
                    return Err(ConfigError::invalid(
                        KEY,
                        format!(
                            "{}: its bin {:?} is message.document-bin",
                            field.pointer, field.name
                        ),
                    ));
                }
                if let Some(other) = index.iter().find(|i| i.name == field.name) {
                    return Err(ConfigError::invalid(
                        KEY,
                        format!(
                            "{} and {} would both be bin {:?}",
                            other.pointer, field.pointer, field.name
                        ),
                    ));
                }
                index.push(field);
            }
            Ok(Layout::Document { bin, index })
        }
        other => Err(ConfigError::invalid(
            "message.layout",
            format!("{other:?}: expected \"bins\" or \"document\""),
        )),
    }
}

/// `aerospike.set-from` and `aerospike.ttl-from`.
fn check_routing(raw: &RawAerospike, rejected_set: &str) -> Result<Routing, ConfigError> {
    let pointer = |key: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| Pointer::parse(t).map_err(|why| ConfigError::invalid(key, why)))
            .transpose()
    };
    Ok(Routing {
        set_from: pointer("aerospike.set-from", &raw.set_from)?,
        ttl_from: pointer("aerospike.ttl-from", &raw.ttl_from)?,
        rejected_set: rejected_set.to_owned(),
    })
}

fn check_set_name(key: &str, set: &str) -> Result<(), ConfigError> {
    record::check_set_name(set).map_err(|why| ConfigError::invalid(key, why))
}

fn check_aerospike(
    raw: RawAerospike,
    rejected_set: String,
    base_dir: &Path,
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
    if raw.set == rejected_set {
        return Err(ConfigError::invalid(
            "rejected.set",
            format!(
                "must differ from aerospike.set ({:?}), or rejected messages would mix with stored ones",
                raw.set
            ),
        ));
    }
    let ttl = parse_ttl(&raw.ttl)?;
    let write = match raw.write.as_str() {
        "replace" => WriteMode::Replace,
        "update" => WriteMode::Update,
        "create-only" => WriteMode::CreateOnly,
        other => {
            return Err(ConfigError::invalid(
                "aerospike.write",
                format!("{other:?}: expected \"replace\", \"update\" or \"create-only\""),
            ));
        }
    };
    let timeout = non_zero("aerospike.timeout", raw.timeout)?;
    if raw.batch_size == 0 || raw.batch_size > MAX_BATCH_SIZE {
        return Err(ConfigError::invalid(
            "aerospike.batch-size",
            format!("must be between 1 and {MAX_BATCH_SIZE} (Aerospike's batch-max-requests)"),
        ));
    }
    let password = SecretKeys {
        inline: "aerospike.password",
        file: "aerospike.password-file",
    };
    match (
        &raw.user,
        password.given(&raw.password, &raw.password_file)?,
    ) {
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                password.inline,
                format!("missing (aerospike.user is set; or give {})", password.file),
            ));
        }
        (None, Some(key)) => {
            return Err(ConfigError::invalid(
                "aerospike.user",
                format!("missing ({key} is set)"),
            ));
        }
        _ => {}
    }
    let password = password.read(raw.password, raw.password_file, base_dir)?;
    Ok(AerospikeSettings {
        hosts: raw.hosts,
        namespace,
        set: raw.set,
        rejected_set,
        ttl,
        write,
        version_bin: None,
        timeout,
        batch_size: raw.batch_size,
        user: raw.user,
        password,
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
            // Aerospike counts whole seconds; 0 is its "namespace default" marker,
            // and the server refuses more than ten years (365-day years: humantime's
            // "10y" is 10 × 365.25 days, a little too long) with PARAMETER_ERROR.
            let secs = d.as_secs();
            if secs == 0 || secs > u64::from(MAX_TTL) {
                return Err(ConfigError::invalid(
                    KEY,
                    format!(
                        "{text:?}: a TTL is at least 1s and at most 3650d (Aerospike's limit, {MAX_TTL} s)"
                    ),
                ));
            }
            Ok(Ttl::Seconds(
                u32::try_from(secs).expect("checked just above"),
            ))
        }
    }
}

/// The two keys of one secret: written in the config (`inline`), or read from a file
/// (`file`), at most one of them. `aerospike.password` / `aerospike.password-file`, and
/// the same shape for `nsq.auth-secret` / `nsq.auth-secret-file`.
pub(super) struct SecretKeys {
    pub(super) inline: &'static str,
    pub(super) file: &'static str,
}

impl SecretKeys {
    /// Which of the two keys is set (`None`: neither); both is an error naming both.
    pub(super) fn given<T, U>(
        &self,
        inline: &Option<T>,
        file: &Option<U>,
    ) -> Result<Option<&'static str>, ConfigError> {
        match (inline.is_some(), file.is_some()) {
            (true, true) => Err(ConfigError::invalid(
                self.file,
                format!("give {} or {}, not both", self.inline, self.file),
            )),
            (true, false) => Ok(Some(self.inline)),
            (false, true) => Ok(Some(self.file)),
            (false, false) => Ok(None),
        }
    }

    /// The secret: the inline value, or the file's content (a relative path resolved
    /// against `base_dir`, like `message.schema`), read once here at start-up.
    pub(super) fn read(
        &self,
        inline: Option<String>,
        file: Option<PathBuf>,
        base_dir: &Path,
    ) -> Result<Option<String>, ConfigError> {
        self.given(&inline, &file)?;
        match file {
            None => Ok(inline),
            Some(path) if path.as_os_str().is_empty() => {
                Err(ConfigError::invalid(self.file, "must not be empty"))
            }
            Some(path) => read_secret_file(self.file, &base_dir.join(path)).map(Some),
        }
    }
}

/// Reads a secret from a file for the key `key`: the whole file, less its trailing
/// newlines (`\n` or `\r\n`, as `echo`, an editor or `systemd-creds` leave them); other
/// whitespace is kept, it may belong to the secret. Errors name the key and the path: a
/// file that cannot be read, is not UTF-8, or holds nothing but newlines.
pub(super) fn read_secret_file(key: &str, path: &Path) -> Result<String, ConfigError> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        let in_service = std::env::var_os("CREDENTIALS_DIRECTORY").is_some();
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => credential_hint(key, path, in_service),
            _ => None,
        };
        let hint = hint.map(|h| format!(" ({h})")).unwrap_or_default();
        ConfigError::invalid(key, format!("cannot read {shown}: {e}{hint}"))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError::invalid(key, format!("{shown}: not UTF-8 text")))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!("{shown}: the file is empty"),
        ));
    }
    Ok(secret.to_owned())
}

/// Where systemd puts a system service's credentials (`LoadCredential=` in the unit):
/// `/run/credentials/UNIT/NAME`, while the service runs.
const CREDENTIALS_ROOT: &str = "/run/credentials/";
/// Where `LoadCredential=NAME` (no path) finds a credential's source first.
const CREDSTORE: &str = "/etc/credstore";

/// What to do about a missing secret file under [`CREDENTIALS_ROOT`]. Inside the service
/// (`$CREDENTIALS_DIRECTORY` set), systemd found no source for that credential and
/// skipped it; outside (a command run by hand), the directory does not exist at all.
pub(super) fn credential_hint(key: &str, path: &Path, in_service: bool) -> Option<String> {
    let rest = path.to_str()?.strip_prefix(CREDENTIALS_ROOT)?;
    let (_unit, name) = rest.split_once('/')?;
    let source = format!("{CREDSTORE}/{name}");
    Some(if in_service {
        format!("systemd passed no credential {name:?}: install it as {source}")
    } else {
        format!(
            "that directory exists only while the service runs; by hand, as root, read the source: {}={source}",
            super::env::var_for(key)
        )
    })
}
