//! nsqlookupd and nsqd's HTTP API over HTTPS (issue 11), end to end: the real binary
//! against the stand-ins over real sockets.
//!
//! nsqlookupd has no TLS listener of its own, so an `https://` nsqlookupd is one behind a
//! TLS-terminating proxy: here devstack's `TlsTerminator` in front of the stand-in's
//! plain nsqlookupd, as nginx or stunnel would be. HTTPS trusts what `nsq.tls` trusts,
//! so these runs have `nsq.tls` on, and the stand-in nsqd speaks TLS too. Plain
//! `http://` nsqlookupd is covered by `tests/it/run.rs` and `crates/nsq/tests/nsq_client.rs`.

use std::time::Duration;

use devstack::tls::{ClientCerts, TestPki};

use crate::common::{self, CHANNEL, NAMESPACE, REJECTED, SET, Stack, run};

/// EX_UNAVAILABLE: nsqlookupd (or nsqd) could not be reached.
const EXIT_UNAVAILABLE: i32 = 69;

/// A config for `topic` with N = `n` that finds nsqd through `lookupd` and trusts
/// `pki`'s CA for TLS to nsqd and for HTTPS; `extra` as for `Stack::config`.
fn lookupd_config(
    stack: &Stack,
    pki: &TestPki,
    topic: &str,
    n: u64,
    lookupd: &str,
    extra: &[&str],
) -> std::path::PathBuf {
    let keys = [
        format!("nsq.lookupd = [\"{lookupd}\"]"),
        "nsq.tls = true".to_owned(),
        format!("nsq.tls-ca-file = \"{}\"", pki.ca_cert().display()),
    ];
    let mut overrides: Vec<&str> = keys.iter().map(String::as_str).collect();
    overrides.extend_from_slice(extra);
    let cfg = stack.config(topic, n, &overrides);
    // Exactly one of nsqd and lookupd, and nsqd-http only with nsqd.
    let text: String = std::fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("nsq.nsqd"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&cfg, text).unwrap();
    cfg
}

#[tokio::test]
async fn a_run_through_an_https_lookupd_takes_exactly_n() {
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(pki.nsqd_options()).await;
    let proxy =
        common::tls_terminator(&pki, stack.nsq.lookupd_http_addr(), ClientCerts::NotAsked).await;
    stack.publish_valid("tls-lookup", 0..10);
    let cfg = lookupd_config(&stack, &pki, "tls-lookup", 6, &proxy.https_url(), &[]);

    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("received"), 6);
    assert_eq!(out.count("stored"), 6);
    assert_eq!(out.summary("stop_reason"), "done");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 6);
    let channel = stack.nsq.channel_stats("tls-lookup", CHANNEL).unwrap();
    assert_eq!(
        (
            channel.depth,
            channel.in_flight_count,
            channel.requeue_count
        ),
        (4, 0, 0),
        "exactly N taken, none requeued: {channel:?}"
    );
    assert!(proxy.handshakes() >= 1, "the lookup went through the proxy");
    assert_eq!(proxy.failed_handshakes(), 0);

    // `check` finds the nsqd the same way.
    let check = common::command(&cfg, &["check"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        stdout.contains(&format!("via nsqlookupd {}", proxy.https_url())),
        "{stdout}"
    );
}

#[tokio::test]
async fn an_https_lookupd_with_an_untrusted_certificate_is_unavailable() {
    let pki = TestPki::generate().unwrap();
    // The proxy's certificate comes from another CA than the one x-msrv trusts.
    let stranger = TestPki::generate().unwrap();
    let stack = Stack::start_with(pki.nsqd_options()).await;
    let proxy = common::tls_terminator(
        &stranger,
        stack.nsq.lookupd_http_addr(),
        ClientCerts::NotAsked,
    )
    .await;
    stack.publish_valid("tls-stranger", 0..3);
    let url = proxy.https_url();
    let cfg = lookupd_config(&stack, &pki, "tls-stranger", 3, &url, &[]);

    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), EXIT_UNAVAILABLE, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("nsqlookupd {url}")),
        "names the address: {}",
        out.stderr
    );
    // rustls says BadSignature rather than UnknownIssuer here: both test CAs have the
    // same name, so the issuer is found by name and its signature does not verify.
    assert!(
        out.stderr
            .contains("TLS handshake failed: invalid peer certificate")
            && out
                .stderr
                .contains("not signed by a trusted CA: check nsq.tls-ca-file"),
        "names the certificate problem: {}",
        out.stderr
    );
    assert_eq!(stack.depth("tls-stranger"), 0, "no channel was subscribed");
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 0);
    // The proxy's side of the failed handshake may end after x-msrv has exited.
    common::wait_until(
        "the proxy saw the handshake fail",
        Duration::from_secs(5),
        || proxy.failed_handshakes() >= 1,
    )
    .await;

    // https:// to the plain nsqlookupd: no TLS there at all.
    let plain = format!("https://{}", stack.nsq.lookupd_http_addr());
    let cfg = lookupd_config(&stack, &pki, "tls-stranger", 3, &plain, &[]);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), EXIT_UNAVAILABLE, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("nsqlookupd {plain}: TLS handshake failed"))
            && out.stderr.contains("is it an HTTPS listener?"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_proxy_that_wants_a_client_certificate_gets_nsq_tls_cert_file() {
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(pki.nsqd_options()).await;
    let proxy =
        common::tls_terminator(&pki, stack.nsq.lookupd_http_addr(), ClientCerts::Required).await;
    stack.publish_valid("tls-mutual", 0..2);

    let cfg = lookupd_config(&stack, &pki, "tls-mutual", 2, &proxy.https_url(), &[]);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), EXIT_UNAVAILABLE, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("check nsq.tls-cert-file and nsq.tls-key-file"),
        "{}",
        out.stderr
    );

    let cert = format!("nsq.tls-cert-file = \"{}\"", pki.client_cert().display());
    let key = format!("nsq.tls-key-file = \"{}\"", pki.client_key().display());
    let cfg = lookupd_config(
        &stack,
        &pki,
        "tls-mutual",
        2,
        &proxy.https_url(),
        &[&cert, &key],
    );
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.count("stored"), 2);
}

/// `nsq.nsqd-http` as `https://` (nsqd's `--https-address`, here a proxy in front of
/// each stand-in's HTTP port): the channel depths that split N between two nsqd are
/// read over HTTPS, and a dead letter is published over it.
#[tokio::test]
async fn https_nsqd_http_serves_depths_and_dead_letters() {
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(pki.nsqd_options()).await;
    let second = common::nsqd(pki.nsqd_options()).await;
    let proxies = [
        common::tls_terminator(&pki, stack.nsq.http_addr(), ClientCerts::NotAsked).await,
        common::tls_terminator(&pki, second.http_addr(), ClientCerts::NotAsked).await,
    ];
    let topic = "tls-http";
    let dead_topic = format!("{topic}.dead-letter");
    stack.nsq.create_channel(&dead_topic, "check");
    stack.publish_valid(topic, 0..3);
    second.publish(topic, common::valid_message(3));
    // Invalid (no "id"), with the rejected set failing: it can be neither stored nor
    // kept, so it goes to the dead-letter topic on the nsqd it came from.
    stack.nsq.publish(topic, r#"{"msg": "no id"}"#);
    stack.aero.fail_set(REJECTED, Some(9));

    let nsqd = format!(
        "nsq.nsqd = [\"{}\", \"{}\"]",
        stack.nsq.tcp_addr(),
        second.tcp_addr()
    );
    let nsqd_http = format!(
        "nsq.nsqd-http = [\"{}\", \"{}\"]",
        proxies[0].https_url(),
        proxies[1].https_url()
    );
    let ca = format!("nsq.tls-ca-file = \"{}\"", pki.ca_cert().display());
    let cfg = stack.config(
        topic,
        5,
        &[
            &nsqd,
            &nsqd_http,
            "nsq.tls = true",
            &ca,
            "nsq.max-attempts = 1",
        ],
    );
    // The exit status is the failing rejected set's (store unavailable), not HTTPS's.
    let out = run(&cfg, &[]).await;
    assert_eq!(out.count("received"), 5, "{}", out.stderr);
    assert_eq!(out.count("stored"), 4);
    assert_eq!(out.count("dead_lettered"), 1, "{}", out.stderr);
    let dead = stack.nsq.messages(&dead_topic, "check");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        proxies[0].handshakes() >= 2,
        "depth and dead letter over HTTPS"
    );
    assert!(proxies[1].handshakes() >= 1, "depth over HTTPS");
    assert!(proxies.iter().all(|p| p.failed_handshakes() == 0));
}
