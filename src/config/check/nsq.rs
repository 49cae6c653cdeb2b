//! `[nsq]`: where to consume from (exactly one of `nsq.nsqd` / `nsq.lookupd`), the topic
//! and channel, the flow limits, and the retry keys (which become a [`RetryPolicy`]).
//! The keys that secure and encode the connection are in `nsq_transport`.

use std::path::Path;
use std::time::Duration;

use super::address::{check_host_port, check_http_addr};
use super::non_zero;
use super::nsq_transport::{check_auth_secret, check_compression, check_tls};
use crate::config::NsqSettings;
use crate::config::error::ConfigError;
use crate::config::raw::RawNsq;
use crate::pipeline::outcome::RetryPolicy;
use nsq::{self, ConsumerOptions, NsqAddresses};

/// nsqd's smallest `msg_timeout` (IDENTIFY rejects less than 1 s).
const MIN_MSG_TIMEOUT: Duration = Duration::from_secs(1);
/// nsqd's default `--max-msg-timeout`; IDENTIFY asking for more is refused.
const MAX_MSG_TIMEOUT: Duration = Duration::from_secs(15 * 60);

pub(super) fn check_nsq(
    mut raw: RawNsq,
    base_dir: &Path,
) -> Result<(NsqSettings, RetryPolicy), ConfigError> {
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
    let mut consumer = ConsumerOptions::new(addresses, &topic, &raw.channel, raw.max_messages);
    consumer.nsqd_http = nsqd_http;
    consumer.max_in_flight = raw.max_in_flight;
    consumer.max_in_flight_bytes = raw.max_in_flight_bytes.as_u64();
    consumer.msg_timeout = raw.msg_timeout;
    consumer.connect_timeout = connect_timeout;
    consumer.heartbeat_interval = raw.heartbeat_interval;
    consumer.tls = tls;
    consumer.compression = compression;
    consumer.auth_secret = auth_secret;
    let nsq = NsqSettings {
        consumer,
        period,
        idle_timeout: (!raw.idle_timeout.is_zero()).then_some(raw.idle_timeout),
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::test_support::{MINIMAL, error, parse, schema_dir, with};
    use crate::config::{Format, from_str_with_env};

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
    fn nsqd_http_pairs_with_nsqd_and_not_with_lookupd() {
        let s = parse(&with("nsq", r#"nsqd-http = ["127.0.0.1:4999"]"#)).unwrap();
        assert_eq!(s.nsq.consumer.nsqd_http, ["127.0.0.1:4999"]);
        assert_eq!(s.nsq.consumer.nsqd_http, ["127.0.0.1:4999"]);
        assert!(
            parse(MINIMAL).unwrap().nsq.consumer.nsqd_http.is_empty(),
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
            assert_eq!(s.nsq.consumer.max_in_flight_bytes, want, "{line}");
            assert_eq!(s.nsq.consumer.max_in_flight_bytes, want);
        }
        let dir = schema_dir();
        let s = from_str_with_env(
            MINIMAL,
            Format::Toml,
            dir.path(),
            [("X_MSRV_NSQ__MAX_IN_FLIGHT_BYTES", "8MiB")],
        )
        .unwrap();
        assert_eq!(s.nsq.consumer.max_in_flight_bytes, 8 * 1024 * 1024);
    }

    #[test]
    fn topic_is_required() {
        let err = error(&MINIMAL.replace(r#"topic = "t""#, ""));
        assert!(err.starts_with("nsq.topic: missing"), "{err}");
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
    fn the_heartbeat_interval_is_asked_of_nsqd_within_its_limits() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(
            s.nsq.consumer.heartbeat_interval,
            Duration::from_secs(30),
            "nsqd's own default"
        );
        let s = parse(&with("nsq", "heartbeat-interval = \"5s\"")).unwrap();
        assert_eq!(s.nsq.consumer.heartbeat_interval, Duration::from_secs(5));
        let e = error(&with("nsq", "heartbeat-interval = \"500ms\""));
        assert!(
            e.contains("nsq.heartbeat-interval") && e.contains("at least 1s"),
            "{e}"
        );
    }
}
