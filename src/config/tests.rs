//! Unit tests of loading and checking, from strings (no files but a schema).

use super::*;
use crate::pipeline::record::RecordKey;

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
    assert_eq!(s.nsq.max_in_flight, 2000);
    assert_eq!(s.nsq.max_in_flight_bytes, 32 * 1024 * 1024);
    assert_eq!(s.nsq.max_messages, 1000);
    assert_eq!(s.nsq.period, Duration::from_secs(60));
    assert_eq!(s.nsq.msg_timeout, None);
    assert_eq!(s.retry.requeue_delay, Duration::from_secs(5));
    assert_eq!(s.retry.max_requeue_delay, Duration::from_secs(900));
    assert_eq!(s.retry.max_attempts, 5);
    assert_eq!(s.nsq.connect_timeout, Duration::from_secs(5));
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
fn relative_schema_resolves_against_the_base_dir() {
    let dir = schema_dir();
    let s = from_str(MINIMAL, Format::Toml, dir.path()).unwrap();
    assert_eq!(s.message.schema_path(), dir.path().join("schema.json"));
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
    assert_eq!(s.retry.max_attempts, 3);
    assert_eq!(s.nsq.connect_timeout, Duration::from_millis(250));
    assert_eq!(*s.message.key(), RecordKey::NsqId);
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
fn lookupd_and_nsqd_http_take_http_and_https_addresses() {
    let lookupd = |addrs: &str| {
        MINIMAL.replace(
            r#"nsqd = ["127.0.0.1:4150"]"#,
            &format!("lookupd = [{addrs}]"),
        )
    };
    let s = parse(&lookupd(
        r#""https://lookupd.example:4161", "HTTPS://[::1]:4161/", "http://h:4161", "h:4161""#,
    ))
    .unwrap();
    assert_eq!(
        s.nsq.addresses,
        NsqAddresses::Lookupd(vec![
            "https://lookupd.example:4161".into(),
            "HTTPS://[::1]:4161/".into(),
            "http://h:4161".into(),
            "h:4161".into(),
        ])
    );
    let s = parse(&with("nsq", r#"nsqd-http = ["https://127.0.0.1:4152"]"#)).unwrap();
    assert_eq!(s.nsq.nsqd_http, ["https://127.0.0.1:4152"]);

    for (addr, want) in [
        (
            "ftp://h:4161",
            "nsq.lookupd: \"ftp://h:4161\": ftp:// is not an HTTP address; use host:4161, http://host:4161 or https://host:4161",
        ),
        (
            "https://h",
            "nsq.lookupd: \"https://h\": expected host:port",
        ),
        ("https://:4161", "nsq.lookupd: \"https://:4161\": no host"),
        (
            "https://h:4161/lookup",
            "nsq.lookupd: \"https://h:4161/lookup\": no path",
        ),
        (
            "http://h:0",
            "nsq.lookupd: \"http://h:0\": the port must be",
        ),
    ] {
        let err = error(&lookupd(&format!("{addr:?}")));
        assert!(err.starts_with(want), "{addr}: got {err:?}, want {want:?}");
    }
    let err = error(&with("nsq", r#"nsqd-http = ["tcp://h:4151"]"#));
    assert!(
        err.starts_with(
            "nsq.nsqd-http: \"tcp://h:4151\": tcp:// is not an HTTP address; use host:4151, "
        ),
        "{err}"
    );
    let err = error(&with("nsq", r#"nsqd-http = ["https://h"]"#));
    assert!(
        err.starts_with("nsq.nsqd-http: \"https://h\": expected host:port"),
        "{err}"
    );
}

#[test]
fn nsqd_http_pairs_with_nsqd_and_not_with_lookupd() {
    let s = parse(&with("nsq", r#"nsqd-http = ["127.0.0.1:4999"]"#)).unwrap();
    assert_eq!(s.nsq.nsqd_http, ["127.0.0.1:4999"]);
    assert_eq!(s.nsq.consumer_options().nsqd_http, ["127.0.0.1:4999"]);
    assert!(
        parse(MINIMAL).unwrap().nsq.nsqd_http.is_empty(),
        "default: TCP port + 1"
    );
    let lookupd = MINIMAL.replace(
        r#"nsqd = ["127.0.0.1:4150"]"#,
        "lookupd = [\"http://127.0.0.1:4161\"]\nnsqd-http = [\"127.0.0.1:4151\"]",
    );
    let err = error(&lookupd);
    assert!(
        err.starts_with("nsq.nsqd-http: only with nsq.nsqd"),
        "{err}"
    );
}

#[test]
fn max_in_flight_bytes_takes_a_size_or_a_number() {
    for (line, want) in [
        (r#"max-in-flight-bytes = "64MiB""#, 64 * 1024 * 1024),
        (r#"max-in-flight-bytes = "2 MB""#, 2_000_000),
        ("max-in-flight-bytes = 1000000", 1_000_000),
    ] {
        let s = parse(&with("nsq", line)).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(s.nsq.max_in_flight_bytes, want, "{line}");
        assert_eq!(s.nsq.consumer_options().max_in_flight_bytes, want);
    }
    let dir = schema_dir();
    let s = from_str_with_env(
        MINIMAL,
        Format::Toml,
        dir.path(),
        [("X_MSRV_NSQ__MAX_IN_FLIGHT_BYTES", "8MiB")],
    )
    .unwrap();
    assert_eq!(s.nsq.max_in_flight_bytes, 8 * 1024 * 1024);
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
    assert_eq!(s.retry.delay(0), Duration::from_secs(5));
    assert_eq!(s.retry.delay(1), Duration::from_secs(5));
    assert_eq!(s.retry.delay(2), Duration::from_secs(10));
    assert_eq!(s.retry.delay(3), Duration::from_secs(12));
    assert_eq!(s.retry.delay(u32::MAX), Duration::from_secs(12));
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

#[test]
fn the_dead_letter_topic_defaults_to_the_topic_and_can_be_turned_off() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(s.dead_letter_topic.as_deref(), Some("t.dead-letter"));
    let s = parse(&with("rejected", "topic = \"\"")).unwrap();
    assert_eq!(s.dead_letter_topic, None);
    let s = parse(&with("rejected", "topic = \"dlq\"")).unwrap();
    assert_eq!(s.dead_letter_topic.as_deref(), Some("dlq"));
    for (bad, says) in [
        ("a b", "not a valid NSQ topic name"),
        ("t", "must differ from nsq.topic"),
    ] {
        let err = error(&with("rejected", &format!("topic = \"{bad}\"")));
        assert!(
            err.starts_with("rejected.topic: ") && err.contains(says),
            "{err}"
        );
    }
    let long = MINIMAL.replace("topic = \"t\"", &format!("topic = \"{}\"", "t".repeat(60)));
    let err = error(&long);
    assert!(
        err.starts_with("rejected.topic: ") && err.contains("too long"),
        "{err}"
    );
}

#[test]
fn the_state_directory_is_resolved_against_the_config() {
    let s = parse(&format!("state-directory = \"/srv/x\"\n{MINIMAL}")).unwrap();
    assert_eq!(s.state_directory, std::path::PathBuf::from("/srv/x"));
    let err = error(&format!("state-directory = \"\"\n{MINIMAL}"));
    assert!(err.starts_with("state-directory: "), "{err}");
}

#[test]
fn the_metrics_textfile_is_off_by_default_and_a_prom_file() {
    assert_eq!(parse(MINIMAL).unwrap().metrics_textfile, None);
    let s = parse(&format!(
        "{MINIMAL}\n[metrics]\ntextfile = \"/var/lib/prometheus/node-exporter/x-msrv.prom\"\n"
    ))
    .unwrap();
    assert_eq!(
        s.metrics_textfile,
        Some(std::path::PathBuf::from(
            "/var/lib/prometheus/node-exporter/x-msrv.prom"
        ))
    );
    let off = parse(&format!("{MINIMAL}\n[metrics]\ntextfile = \"\"\n")).unwrap();
    assert_eq!(off.metrics_textfile, None);
    let err = error(&format!(
        "{MINIMAL}\n[metrics]\ntextfile = \"/srv/x-msrv.txt\"\n"
    ));
    assert!(
        err.starts_with("metrics.textfile: ") && err.contains("*.prom"),
        "{err}"
    );
    let err = error(&format!("{MINIMAL}\n[metrics]\nfile = \"a.prom\"\n"));
    assert!(err.contains("file"), "{err}");
}

#[test]
fn the_longest_ttl_is_aerospikes() {
    let s = parse(&with("aerospike", r#"ttl = "3650d""#)).unwrap();
    assert_eq!(
        s.aerospike.ttl,
        Ttl::Seconds(crate::pipeline::record::MAX_TTL)
    );
}

#[test]
fn layouts_routing_and_write_modes() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(s.aerospike.write, WriteMode::Replace);
    assert_eq!(s.aerospike.version_bin, None);
    let s = parse(&with(
        "message",
        "layout = \"document\"\nindex-bins = [\"/id\", \"/meta/type\"]\nversion = \"/ts\"",
    ))
    .unwrap();
    assert_eq!(s.aerospike.version_bin.as_deref(), Some("version"));
    let s = parse(&with("aerospike", "write = \"create-only\"")).unwrap();
    assert_eq!(s.aerospike.write, WriteMode::CreateOnly);
    let s = parse(&with("aerospike", "write = \"update\"")).unwrap();
    assert_eq!(s.aerospike.write, WriteMode::Update);
    for (text, want) in [
        (
            with(
                "message",
                "layout = \"document\"\nindex-bins = [\"/customer_account_id\"]",
            ),
            "message.index-bins: /customer_account_id: its bin name \"customer_account_id\" is 19 bytes",
        ),
        (
            with(
                "message",
                "layout = \"document\"\nindex-bins = [\"/a/type\", \"/b/type\"]",
            ),
            "message.index-bins: /a/type and /b/type would both be bin \"type\"",
        ),
        (
            with("message", "layout = \"document\"\nindex-bins = [\"/doc\"]"),
            "message.index-bins: /doc: its bin \"doc\" is message.document-bin",
        ),
        (
            with(
                "message",
                "layout = \"document\"\nversion = \"/ts\"\nversion-bin = \"doc\"",
            ),
            "message.version-bin: \"doc\" is also message.document-bin",
        ),
        (
            with("message", "version = \"/ts\"").replace(
                "[message]",
                "[aerospike]\nwrite = \"create-only\"\n[message]",
            ),
            "message.version: not with aerospike.write = \"create-only\"",
        ),
        (
            with(
                "message",
                "version = \"/ts\"\nversion-bin = \"a_sixteen_bytes_\"",
            ),
            "message.version-bin: \"a_sixteen_bytes_\" is 16 bytes",
        ),
    ] {
        let err = error(&text);
        assert!(err.starts_with(want), "{text}\ngot {err}\nwant {want}");
    }
}

/// A directory with the schema, a test PKI (`ca.pem`, `client.pem`, `client.key`) and
/// `secret` / `empty` secret files.
fn secured_dir() -> tempfile::TempDir {
    let dir = schema_dir();
    devstack::tls::TestPki::generate_in(dir.path()).unwrap();
    std::fs::write(dir.path().join("secret"), "s3cret\r\n").unwrap();
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    dir
}

fn parse_in(dir: &tempfile::TempDir, nsq_lines: &str) -> Result<Settings, ConfigError> {
    from_str(&with("nsq", nsq_lines), Format::Toml, dir.path())
}

#[test]
fn tls_compression_and_auth_keys_are_read() {
    let dir = secured_dir();
    let s = parse_in(&dir, "").unwrap();
    assert!(s.nsq.tls.is_none());
    assert_eq!(s.nsq.compression, Compression::None);
    assert!(s.nsq.auth_secret.is_none());
    assert_eq!(s.nsq.idle_timeout, Some(Duration::from_secs(2)));

    let s = parse_in(
        &dir,
        "tls = true\ntls-ca-file = \"ca.pem\"\ntls-cert-file = \"client.pem\"\ntls-key-file = \"client.key\"\ncompression = \"deflate\"\nauth-secret-file = \"secret\"\nidle-timeout = \"0s\"",
    )
    .unwrap();
    let tls = s.nsq.tls.as_ref().unwrap();
    assert_eq!(tls.roots().len(), 1);
    assert!(tls.identity().is_some());
    assert_eq!(
        s.nsq.compression,
        Compression::Deflate(6),
        "nsqd's default level"
    );
    assert_eq!(
        s.nsq.auth_secret.as_ref().map(|s| s.expose()),
        Some("s3cret"),
        "the trailing line break is not part of the secret"
    );
    assert_eq!(s.nsq.idle_timeout, None, "0s turns it off");
    let debug = format!("{s:?}");
    assert!(!debug.contains("s3cret"), "{debug}");

    let s = parse_in(&dir, "compression = \"snappy\"\nauth-secret = \"inline\"").unwrap();
    assert_eq!(s.nsq.compression, Compression::Snappy);
    assert_eq!(s.nsq.auth_secret.unwrap().expose(), "inline");
}

#[test]
fn tls_compression_and_auth_errors_name_their_keys() {
    let dir = secured_dir();
    let err = |lines: &str| parse_in(&dir, lines).unwrap_err().to_string();
    for (lines, key, says) in [
        (
            "tls-ca-file = \"ca.pem\"",
            "nsq.tls-ca-file",
            "without nsq.tls = true",
        ),
        (
            "tls-server-name = \"x\"",
            "nsq.tls-server-name",
            "without nsq.tls = true",
        ),
        (
            "tls = true\ntls-ca-file = \"missing.pem\"",
            "nsq.tls-ca-file",
            "missing.pem",
        ),
        (
            "tls = true\ntls-ca-file = \"secret\"",
            "nsq.tls-ca-file",
            "no PEM certificate",
        ),
        (
            "tls = true\ntls-ca-file = \"ca.pem\"\ntls-cert-file = \"client.pem\"",
            "nsq.tls-key-file",
            "missing",
        ),
        (
            "tls = true\ntls-ca-file = \"ca.pem\"\ntls-key-file = \"client.key\"",
            "nsq.tls-cert-file",
            "missing",
        ),
        (
            "tls = true\ntls-ca-file = \"ca.pem\"\ntls-cert-file = \"client.pem\"\ntls-key-file = \"ca.pem\"",
            "nsq.tls-key-file",
            "no PEM private key",
        ),
        (
            "tls = true\ntls-ca-file = \"ca.pem\"\ntls-server-name = \"not a name\"",
            "nsq.tls-server-name",
            "not a DNS name",
        ),
        (
            "tls-min-version = \"1.1\"",
            "nsq.tls-min-version",
            "1.2 and 1.3 only",
        ),
        ("compression = \"zstd\"", "nsq.compression", "\"zstd\""),
        (
            "compression = \"deflate\"\ndeflate-level = 10",
            "nsq.deflate-level",
            "1 to 9",
        ),
        ("deflate-level = 3", "nsq.deflate-level", "only with"),
        (
            "auth-secret = \"a\"\nauth-secret-file = \"secret\"",
            "nsq.auth-secret",
            "nsq.auth-secret-file",
        ),
        ("auth-secret = \"\"", "nsq.auth-secret", "must not be empty"),
        (
            "auth-secret-file = \"empty\"",
            "nsq.auth-secret-file",
            "is empty",
        ),
        (
            "auth-secret-file = \"nowhere\"",
            "nsq.auth-secret-file",
            "nowhere",
        ),
    ] {
        let e = err(lines);
        assert!(e.starts_with(key) && e.contains(says), "{lines:?}: {e}");
    }
}
/// MINIMAL with `aerospike.user` and `lines`, parsed in a directory holding the schema
/// and a file `name` with `content`.
fn with_secret_file(name: &str, content: &str, lines: &str) -> Result<Settings, ConfigError> {
    let dir = schema_dir();
    std::fs::write(dir.path().join(name), content).unwrap();
    let text = with("aerospike", &format!("user = \"u\"\n{lines}"));
    from_str(&text, Format::Toml, dir.path())
}

#[test]
fn the_password_file_is_read_less_its_trailing_newlines() {
    for (content, want) in [
        ("hunter2\n", "hunter2"),
        ("hunter2", "hunter2"),
        ("hunter2\r\n\n", "hunter2"),
        // Only newlines are trimmed: spaces may belong to the password.
        (" two words \n", " two words "),
    ] {
        let s = with_secret_file("pw", content, r#"password-file = "pw""#)
            .unwrap_or_else(|e| panic!("{content:?}: {e}"));
        assert_eq!(s.aerospike.user.as_deref(), Some("u"));
        assert_eq!(s.aerospike.password.as_deref(), Some(want), "{content:?}");
    }
}

#[test]
fn a_relative_password_file_resolves_against_the_config_directory() {
    let dir = schema_dir();
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/pw"), "from-file\n").unwrap();
    let text = with("aerospike", "user = \"u\"\npassword-file = \"secrets/pw\"");
    let s = from_str(&text, Format::Toml, dir.path()).unwrap();
    assert_eq!(s.aerospike.password.as_deref(), Some("from-file"));
    // An absolute path is taken as it is, from any base directory.
    let absolute = dir.path().join("secrets/pw");
    let text = with(
        "aerospike",
        &format!("user = \"u\"\npassword-file = \"{}\"", absolute.display()),
    );
    let elsewhere = schema_dir();
    let s = from_str(&text, Format::Toml, elsewhere.path()).unwrap();
    assert_eq!(s.aerospike.password.as_deref(), Some("from-file"));
}

#[test]
fn the_password_and_a_password_file_together_are_an_error_naming_both() {
    let err = with_secret_file("pw", "p\n", "password = \"p\"\npassword-file = \"pw\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("aerospike.password-file: ")
            && err.contains("aerospike.password or aerospike.password-file, not both"),
        "{err}"
    );
}

#[test]
fn a_bad_password_file_is_an_error_naming_the_key_and_the_path() {
    let dir = schema_dir();
    for (lines, says) in [
        (r#"password-file = "nope""#, "cannot read"),
        (r#"password-file = "pw""#, "the file is empty"),
        (r#"password-file = "bin""#, "not UTF-8"),
    ] {
        std::fs::write(dir.path().join("pw"), "\n\n").unwrap();
        std::fs::write(dir.path().join("bin"), b"\xff\xfe\n").unwrap();
        let text = with("aerospike", &format!("user = \"u\"\n{lines}"));
        let err = from_str(&text, Format::Toml, dir.path())
            .unwrap_err()
            .to_string();
        let file = lines.split('"').nth(1).unwrap();
        assert!(
            err.starts_with("aerospike.password-file: ")
                && err.contains(&dir.path().join(file).display().to_string())
                && err.contains(says),
            "{lines}: {err}"
        );
    }
    let err = error(&with("aerospike", "user = \"u\"\npassword-file = \"\""));
    assert!(
        err.starts_with("aerospike.password-file: must not be empty"),
        "{err}"
    );
}

#[test]
fn a_user_goes_with_a_password_from_either_key() {
    let err = error(&with("aerospike", r#"user = "u""#));
    assert!(
        err.starts_with("aerospike.password: missing") && err.contains("aerospike.password-file"),
        "{err}"
    );
    let dir = schema_dir();
    std::fs::write(dir.path().join("pw"), "p\n").unwrap();
    let text = with("aerospike", r#"password-file = "pw""#);
    let err = from_str(&text, Format::Toml, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("aerospike.user: missing (aerospike.password-file is set)"),
        "{err}"
    );
}

#[test]
fn the_password_file_can_come_from_the_environment() {
    let dir = schema_dir();
    std::fs::write(dir.path().join("pw"), "from-env\n").unwrap();
    let s = from_str_with_env(
        &with("aerospike", r#"user = "u""#),
        Format::Toml,
        dir.path(),
        [("X_MSRV_AEROSPIKE__PASSWORD_FILE", "pw")],
    )
    .unwrap();
    assert_eq!(s.aerospike.password.as_deref(), Some("from-env"));
}

#[test]
fn no_debug_print_shows_the_password() {
    let raw = raw::RawAerospike {
        user: Some("u".into()),
        password: Some("inline-secret".into()),
        password_file: Some("/run/credentials/x-msrv.service/aerospike-password".into()),
        ..raw::RawAerospike::default()
    };
    let shown = format!("{raw:?}");
    assert!(!shown.contains("inline-secret"), "{shown}");
    assert!(
        shown.contains("aerospike-password"),
        "the path is no secret: {shown}"
    );
    let s = with_secret_file("pw", "file-secret\n", r#"password-file = "pw""#).unwrap();
    assert_eq!(s.aerospike.password.as_deref(), Some("file-secret"));
    let shown = format!("{s:?}");
    assert!(!shown.contains("file-secret"), "{shown}");
}

#[test]
fn a_missing_credential_says_where_its_source_goes() {
    let path = Path::new("/run/credentials/x-msrv.service/aerospike-password");
    let key = "aerospike.password-file";
    let inside = check::credential_hint(key, path, true).unwrap();
    assert!(
        inside.contains("install it as /etc/credstore/aerospike-password"),
        "{inside}"
    );
    let outside = check::credential_hint(key, path, false).unwrap();
    assert!(
        outside.contains("X_MSRV_AEROSPIKE__PASSWORD_FILE=/etc/credstore/aerospike-password"),
        "{outside}"
    );
    assert_eq!(
        check::credential_hint(key, Path::new("/etc/x-msrv/pw"), false),
        None
    );
}

#[test]
fn every_key_has_the_variable_that_overrides_it() {
    for key in KEYS {
        let var = env::var_for(key);
        let found = env::env_overrides(&[(var.clone(), "x".to_owned())])
            .unwrap_or_else(|e| panic!("{key} -> {var}: {e}"));
        assert_eq!(found[0].1, *key, "{var}");
    }
    assert_eq!(
        env::var_for("aerospike.password-file"),
        "X_MSRV_AEROSPIKE__PASSWORD_FILE"
    );
}

#[test]
fn the_heartbeat_interval_is_asked_of_nsqd_within_its_limits() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(
        s.nsq.consumer_options().heartbeat_interval,
        Duration::from_secs(30),
        "nsqd's own default"
    );
    let s = parse(&with("nsq", "heartbeat-interval = \"5s\"")).unwrap();
    assert_eq!(
        s.nsq.consumer_options().heartbeat_interval,
        Duration::from_secs(5)
    );
    let e = error(&with("nsq", "heartbeat-interval = \"500ms\""));
    assert!(
        e.contains("nsq.heartbeat-interval") && e.contains("at least 1s"),
        "{e}"
    );
}
