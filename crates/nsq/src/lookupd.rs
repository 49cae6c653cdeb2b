//! Producer discovery: asks nsqlookupd's HTTP API (port 4161; 4160 is its TCP port for
//! nsqd) which nsqd hold a topic, over HTTP or, for an `https://` address, HTTPS
//! (`http`).

use std::time::Duration;

use serde::Deserialize;

use crate::http::{HttpClient, HttpError, base_url};
use crate::{NsqError, NsqdAddr, default_http_addr};

#[derive(Debug, Deserialize)]
struct Producer {
    broadcast_address: String,
    tcp_port: u16,
    /// When absent, [`default_http_addr`] of the TCP address is assumed.
    http_port: Option<u16>,
}

#[derive(Debug, Deserialize)]
struct Lookup {
    #[serde(default)]
    producers: Vec<Producer>,
}

/// nsqlookupd before 1.0 wrapped every answer as `{"status_code":…,"data":{…}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LookupReply {
    // First: `Current` would also match a legacy answer (every field is optional).
    Legacy { data: Lookup },
    Current(Lookup),
}

/// The TCP and HTTP `host:port` of every nsqd that nsqlookupd lists for `topic`, over
/// all the given nsqlookupd (duplicates removed). A topic nsqlookupd does not know yet
/// has no producers, which is not an error. Fails only when no nsqlookupd answered.
pub async fn lookup_producers(
    http: &HttpClient,
    lookupds: &[String],
    topic: &str,
    timeout: Duration,
) -> Result<Vec<NsqdAddr>, NsqError> {
    let mut producers = Vec::new();
    let mut answered = 0;
    let mut first_err = None;
    for addr in lookupds {
        let (a, t, h) = (addr.clone(), topic.to_owned(), http.clone());
        // ureq is blocking; it is one request per run, so a blocking thread is cheap.
        let answer = tokio::task::spawn_blocking(move || lookup_one(&h, &a, &t, timeout))
            .await
            .unwrap_or_else(|e| {
                Err(NsqError::Lookupd {
                    addr: addr.clone(),
                    reason: HttpError::Task(e),
                })
            });
        match answer {
            Ok(found) => {
                answered += 1;
                for p in found {
                    if !producers.contains(&p) {
                        producers.push(p);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "nsqlookupd query failed");
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) if answered == 0 => Err(e),
        _ => Ok(producers),
    }
}

fn lookup_one(
    http: &HttpClient,
    addr: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<NsqdAddr>, NsqError> {
    let url = format!(
        "{}/lookup?topic={}",
        base_url(addr),
        crate::names::query_escape(topic)
    );
    let err = |reason: HttpError| NsqError::Lookupd {
        addr: addr.to_owned(),
        reason,
    };
    let agent = http.agent(&url, timeout, false).map_err(err)?;
    let mut resp = agent
        .get(&url)
        .header("Accept", "application/vnd.nsq; version=1.0")
        .call()
        .map_err(|e| err(http.error(e)))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| err(http.error(e)))?;
    if status == 404 && body.contains("TOPIC_NOT_FOUND") {
        return Ok(Vec::new());
    }
    if status != 200 {
        return Err(err(HttpError::Status {
            status,
            body: body.trim().to_owned(),
        }));
    }
    parse_lookup(&body).map_err(err)
}

fn parse_lookup(body: &str) -> Result<Vec<NsqdAddr>, HttpError> {
    let reply: LookupReply =
        serde_json::from_str(body).map_err(|source| HttpError::Unreadable {
            what: "/lookup",
            source,
        })?;
    let lookup = match reply {
        LookupReply::Current(l) => l,
        LookupReply::Legacy { data } => data,
    };
    Ok(lookup
        .producers
        .into_iter()
        .map(|p| {
            let host = if p.broadcast_address.contains(':') {
                format!("[{}]", p.broadcast_address)
            } else {
                p.broadcast_address
            };
            let tcp = format!("{host}:{}", p.tcp_port);
            let http = match p.http_port {
                Some(port) => format!("{host}:{port}"),
                None => default_http_addr(&tcp).unwrap_or_default(),
            };
            NsqdAddr { tcp, http }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_current_and_legacy_answers() {
        let current = r#"{"channels":["c"],"producers":[{"remote_address":"127.0.0.1:51234","hostname":"h","broadcast_address":"10.0.0.5","tcp_port":4150,"http_port":4151,"version":"1.3.0"},{"broadcast_address":"::1","tcp_port":4152,"http_port":4153}]}"#;
        let tcp = |v: Vec<NsqdAddr>| v.into_iter().map(|a| a.tcp).collect::<Vec<_>>();
        let http = |v: Vec<NsqdAddr>| v.into_iter().map(|a| a.http).collect::<Vec<_>>();
        assert_eq!(
            tcp(parse_lookup(current).unwrap()),
            ["10.0.0.5:4150", "[::1]:4152"]
        );
        assert_eq!(
            http(parse_lookup(current).unwrap()),
            ["10.0.0.5:4151", "[::1]:4153"]
        );
        let legacy = r#"{"status_code":200,"status_txt":"OK","data":{"channels":[],"producers":[{"broadcast_address":"n1","tcp_port":4150}]}}"#;
        assert_eq!(tcp(parse_lookup(legacy).unwrap()), ["n1:4150"]);
        assert_eq!(http(parse_lookup(legacy).unwrap()), ["n1:4151"]);
        assert!(parse_lookup("<html>").is_err());
    }
}
