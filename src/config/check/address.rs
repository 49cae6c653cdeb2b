//! Addresses in the configuration: `host:port` (`nsq.nsqd`, `aerospike.hosts`) and HTTP
//! addresses (`nsq.lookupd`, `nsq.nsqd-http`), checked the same way wherever they occur.

use crate::config::error::ConfigError;

/// An HTTP address: `host:port`, `http://host:port` or `https://host:port` (a trailing
/// `/` allowed), as `nsq::HttpClient` takes it; `example` shows the plain form.
pub(super) fn check_http_addr(key: &str, addr: &str, example: &str) -> Result<(), ConfigError> {
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

/// Checks `host:port` (or `host` when `port_optional`); IPv6 as `[::1]:4150`.
pub(super) fn check_host_port(
    key: &str,
    addr: &str,
    port_optional: bool,
) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, error, parse, with};
    use nsq::NsqAddresses;

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
            s.nsq.consumer.addresses,
            NsqAddresses::Lookupd(vec![
                "https://lookupd.example:4161".into(),
                "HTTPS://[::1]:4161/".into(),
                "http://h:4161".into(),
                "h:4161".into(),
            ])
        );
        let s = parse(&with("nsq", r#"nsqd-http = ["https://127.0.0.1:4152"]"#)).unwrap();
        assert_eq!(s.nsq.consumer.nsqd_http, ["https://127.0.0.1:4152"]);
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
}
