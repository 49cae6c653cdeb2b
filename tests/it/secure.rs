//! A secured nsqd, end to end: TLS (with and without a client certificate), snappy and
//! deflate, and AUTH against an auth service — the real binary against the stand-in
//! nsqd started as `nsqd --tls-required --tls-cert ... --auth-http-address ...` would be.
//! The evidence is nsqd's own `/stats` (the client's `tls`, `snappy`, `deflate`,
//! `authed` while it is connected; depth, requeues and in-flight after), the records,
//! and the exit code with the error text.

use std::path::PathBuf;
use std::time::Duration;

use devstack::nsqd::{
    AuthGrant, AuthServer, Authorization, ClientStats, NsqOptions, TlsClientAuthPolicy, TlsRequired,
};
use devstack::tls::TestPki;

use crate::common::*;

/// `key = "path"` for a config override.
fn path_key(key: &str, path: &std::path::Path) -> String {
    format!("{key} = \"{}\"", path.display())
}

/// The config keys that trust `pki`'s CA.
fn tls_keys(pki: &TestPki) -> Vec<String> {
    vec![
        "nsq.tls = true".into(),
        path_key("nsq.tls-ca-file", &pki.ca_cert()),
    ]
}

/// Messages of `topic` still queued, whether or not x-msrv's channel exists yet (nsqd
/// keeps them in the topic until a channel is made).
fn queued(stack: &Stack, topic: &str) -> u64 {
    let stats = stack.nsq.stats();
    let t = stats
        .topics
        .iter()
        .flatten()
        .find(|t| t.topic_name == topic)
        .expect("the topic exists");
    t.depth + t.channels.iter().map(|c| c.depth).sum::<u64>()
}

fn refs(keys: &[String]) -> Vec<&str> {
    keys.iter().map(String::as_str).collect()
}

/// Takes exactly 37 of 100 messages, then runs again with N above what is left and,
/// while that run waits for more, reads how nsqd sees the connection.
async fn exact_n_then_client_stats(stack: &Stack, topic: &str, keys: &[String]) -> ClientStats {
    stack.publish_valid(topic, 0..100);
    let out = run(&stack.config(topic, 37, &refs(keys)), &[]).await;
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.summary("stop_reason"), "done");
    assert_eq!(out.count("received"), 37);
    assert_eq!(out.count("stored"), 37);
    assert_eq!(out.count("over_limit"), 0);
    assert_eq!(stack.depth(topic), 63);
    let ch = stack.nsq.channel_stats(topic, CHANNEL).unwrap();
    assert_eq!((ch.in_flight_count, ch.requeue_count), (0, 0));

    let mut more = keys.to_vec();
    more.push("timeout = \"2s\"".into());
    let cfg = stack.config_as(&format!("{topic}-more"), topic, 1000, &refs(&more));
    let child = command(&cfg, &[]).spawn().unwrap();
    let mut seen = None;
    wait_until("x-msrv subscribed", Duration::from_secs(10), || {
        seen = stack
            .nsq
            .channel_stats(topic, CHANNEL)
            .and_then(|c| c.clients)
            .and_then(|mut clients| clients.pop());
        seen.is_some()
    })
    .await;
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 100);
    assert_eq!(stack.depth(topic), 0);
    seen.unwrap()
}

#[tokio::test]
async fn exact_n_over_tls() {
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(NsqOptions {
        tls_required: TlsRequired::Yes,
        ..pki.nsqd_options()
    })
    .await;
    let client = exact_n_then_client_stats(&stack, "over-tls", &tls_keys(&pki)).await;
    assert!(client.tls, "{client:?}");
    assert!(client.tls_version.starts_with("TLS"), "{client:?}");
    assert!(!client.snappy && !client.deflate, "{client:?}");
}

#[tokio::test]
async fn exact_n_over_tls_and_snappy() {
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(NsqOptions {
        tls_required: TlsRequired::Yes,
        ..pki.nsqd_options()
    })
    .await;
    let mut keys = tls_keys(&pki);
    keys.push("nsq.compression = \"snappy\"".into());
    let client = exact_n_then_client_stats(&stack, "over-tls-snappy", &keys).await;
    assert!(client.tls && client.snappy && !client.deflate, "{client:?}");
}

#[tokio::test]
async fn exact_n_over_deflate() {
    let stack = Stack::start().await;
    let keys = vec![
        "nsq.compression = \"deflate\"".to_owned(),
        "nsq.deflate-level = 3".to_owned(),
    ];
    let client = exact_n_then_client_stats(&stack, "over-deflate", &keys).await;
    assert!(
        client.deflate && !client.snappy && !client.tls,
        "{client:?}"
    );
}

#[tokio::test]
async fn a_client_certificate_required_and_presented() {
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(NsqOptions {
        tls_client_auth_policy: TlsClientAuthPolicy::RequireVerify,
        ..pki.nsqd_options()
    })
    .await;
    stack.publish_valid("mtls", 0..10);

    let without = run(&stack.config("mtls", 10, &refs(&tls_keys(&pki))), &[]).await;
    assert_eq!(without.code(), 69, "{}", without.stderr);
    assert!(
        without.stderr.contains("TLS handshake failed")
            && without.stderr.contains("nsq.tls-cert-file"),
        "{}",
        without.stderr
    );
    assert_eq!(queued(&stack, "mtls"), 10, "nothing taken");

    let mut keys = tls_keys(&pki);
    keys.push(path_key("nsq.tls-cert-file", &pki.client_cert()));
    keys.push(path_key("nsq.tls-key-file", &pki.client_key()));
    let with = run(&stack.config("mtls", 10, &refs(&keys)), &[]).await;
    assert_eq!(with.code(), 0, "{}", with.stderr);
    assert_eq!(with.count("stored"), 10);
    assert_eq!(stack.depth("mtls"), 0);
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_is_refused() {
    let pki = TestPki::generate().unwrap();
    let other = TestPki::generate().unwrap();
    let stack = Stack::start_with(pki.nsqd_options()).await;
    stack.publish_valid("wrong-ca", 0..5);
    let out = run(&stack.config("wrong-ca", 5, &refs(&tls_keys(&other))), &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("not signed by a trusted CA") && out.stderr.contains("nsq.tls-ca-file"),
        "{}",
        out.stderr
    );
    assert_eq!(queued(&stack, "wrong-ca"), 5);
    assert_eq!(stack.aero.record_count(NAMESPACE, SET), 0);
}

#[tokio::test]
async fn tls_is_never_given_up_silently() {
    // nsqd requires TLS and x-msrv has it off: refused, saying so.
    let pki = TestPki::generate().unwrap();
    let stack = Stack::start_with(NsqOptions {
        tls_required: TlsRequired::Yes,
        ..pki.nsqd_options()
    })
    .await;
    stack.publish_valid("needs-tls", 0..3);
    let out = run(&stack.config("needs-tls", 3, &[]), &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("requires TLS") && out.stderr.contains("nsq.tls is off"),
        "{}",
        out.stderr
    );

    // x-msrv asks for TLS and nsqd has none: refused, not downgraded.
    let plain = Stack::start().await;
    plain.publish_valid("no-tls", 0..3);
    let out = run(&plain.config("no-tls", 3, &refs(&tls_keys(&pki))), &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(out.stderr.contains("does not offer TLS"), "{}", out.stderr);
    assert_eq!(queued(&plain, "no-tls"), 3);
}

/// A stack whose nsqd asks `auth` about every secret, with x-msrv's secret in a file.
async fn auth_stack(auth: &AuthServer) -> (Stack, PathBuf) {
    let stack = Stack::start_with(NsqOptions {
        auth_http_addresses: vec![auth.address()],
        ..NsqOptions::default()
    })
    .await;
    let secret = stack.dir.path().join("nsq-auth-secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    (stack, secret)
}

#[tokio::test]
async fn auth_accepted() {
    let auth = auth_server().await;
    auth.grant(
        "s3cret",
        AuthGrant::new(
            "x-msrv-reader",
            vec![Authorization::subscribe("authed", &[CHANNEL])],
        ),
    );
    let (stack, secret) = auth_stack(&auth).await;
    let keys = vec![path_key("nsq.auth-secret-file", &secret)];
    let client = exact_n_then_client_stats(&stack, "authed", &keys).await;
    assert!(client.authed, "{client:?}");
    assert_eq!(client.auth_identity, "x-msrv-reader");
    // The file's trailing newline is not part of the secret.
    assert!(
        auth.requests()
            .iter()
            .all(|r| r.secret.as_deref() == Some("s3cret")),
        "{:?}",
        auth.requests()
    );
}

#[tokio::test]
async fn auth_refused_and_a_channel_outside_the_grant() {
    let auth = auth_server().await;
    auth.grant(
        "s3cret",
        AuthGrant::new(
            "x-msrv-reader",
            vec![Authorization::subscribe("guarded", &["other"])],
        ),
    );
    let (stack, secret) = auth_stack(&auth).await;
    stack.publish_valid("guarded", 0..4);

    // The identity may read another channel only: SUB refused with nsqd's text.
    let cfg = stack.config("guarded", 4, &[&path_key("nsq.auth-secret-file", &secret)]);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("E_UNAUTHORIZED AUTH failed for SUB on \"guarded\" \"x-msrv\""),
        "{}",
        out.stderr
    );

    // A secret the auth service does not know.
    let wrong = stack.dir.path().join("wrong-secret");
    std::fs::write(&wrong, "nope").unwrap();
    let cfg = stack.config("guarded", 4, &[&path_key("nsq.auth-secret-file", &wrong)]);
    let out = run(&cfg, &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(
        out.stderr.contains("refused AUTH: E_AUTH_FAILED"),
        "{}",
        out.stderr
    );

    // No secret at all.
    let out = run(&stack.config("guarded", 4, &[]), &[]).await;
    assert_eq!(out.code(), 69, "{}", out.stderr);
    assert!(out.stderr.contains("requires AUTH"), "{}", out.stderr);

    assert_eq!(queued(&stack, "guarded"), 4, "nothing taken");
}

#[tokio::test]
async fn check_reports_what_was_negotiated() {
    let pki = TestPki::generate().unwrap();
    let auth = auth_server().await;
    auth.grant(
        "s3cret",
        AuthGrant::new(
            "x-msrv-reader",
            vec![Authorization::subscribe("checked", &[CHANNEL])],
        ),
    );
    let stack = Stack::start_with(NsqOptions {
        tls_required: TlsRequired::Yes,
        auth_http_addresses: vec![auth.address()],
        ..pki.nsqd_options()
    })
    .await;
    let mut keys = tls_keys(&pki);
    keys.push("nsq.compression = \"snappy\"".into());
    keys.push("nsq.auth-secret = \"s3cret\"".into());
    let cfg = stack.config("checked", 1, &refs(&keys));
    let out = command(&cfg, &["check"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("TLS 1.3"), "{stdout}");
    assert!(stdout.contains("snappy"), "{stdout}");
    assert!(
        stdout.contains("AUTH as \"x-msrv-reader\" (1 permissions)"),
        "{stdout}"
    );

    keys[2] = "nsq.compression = \"deflate\"".into();
    let cfg = stack.config("checked", 1, &refs(&keys));
    let out = command(&cfg, &["check"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TLS 1.3, deflate (level 6)"), "{stdout}");
}
