//! `x-msrv-devstack`: serves the stand-in nsqd, nsqlookupd and Aerospike on loopback, on
//! their standard ports unless told otherwise, until SIGTERM or SIGINT.
//!
//! Once every listener is bound it prints one line on stdout,
//! `ready nsqd-tcp=ADDR nsqd-http=ADDR lookupd-http=ADDR aerospike=ADDR`, which scripts
//! wait for (the demo, the Python checks, the systemd test).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use devstack::nsqd::{NsqOptions, NsqServer, TlsClientAuthPolicy, TlsMinVersion, TlsRequired};
use devstack::tls::TestPki;
use tokio::signal::unix::{SignalKind, signal};

/// Stand-in nsqd + nsqlookupd + single-node Aerospike for x-msrv's tests and demo.
/// Not a production server: state lives in memory and is gone at exit.
#[derive(Debug, Parser)]
#[command(name = "x-msrv-devstack", version, about)]
struct Args {
    /// nsqd TCP (protocol V2) listen address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4150")]
    nsqd_tcp: SocketAddr,
    /// nsqd HTTP API listen address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4151")]
    nsqd_http: SocketAddr,
    /// nsqlookupd HTTP API listen address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4161")]
    lookupd_http: SocketAddr,
    /// Aerospike listen address
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    aerospike: SocketAddr,
    /// Aerospike namespaces served (repeat or comma-separate)
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        default_value = "test"
    )]
    namespace: Vec<String>,
    /// nsqd's default message timeout (its --msg-timeout)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    msg_timeout: Duration,
    /// nsqd TLS certificate, PEM (its --tls-cert)
    #[arg(long, value_name = "PATH")]
    tls_cert: Option<PathBuf>,
    /// nsqd TLS key, PEM (its --tls-key)
    #[arg(long, value_name = "PATH")]
    tls_key: Option<PathBuf>,
    /// CA certificates client certificates are verified against (nsqd --tls-root-ca-file)
    #[arg(long, value_name = "PATH")]
    tls_root_ca_file: Option<PathBuf>,
    /// 'require' or 'require-verify' (nsqd --tls-client-auth-policy; implies TLS required)
    #[arg(long, value_name = "POLICY", default_value = "")]
    tls_client_auth_policy: TlsClientAuthPolicy,
    /// true, false or tcp-https (nsqd --tls-required)
    #[arg(long, value_name = "WHEN", default_value = "false")]
    tls_required: TlsRequired,
    /// tls1.0 .. tls1.3 (nsqd --tls-min-version; rustls speaks 1.2 and 1.3 only)
    #[arg(long, value_name = "VERSION", default_value = "tls1.0")]
    tls_min_version: TlsMinVersion,
    /// Write a fresh test PKI (ca.pem, server.pem/.key, client.pem/.key) into DIR and
    /// serve TLS with it; --tls-* paths given as well win
    #[arg(long, value_name = "DIR")]
    tls_test_pki: Option<PathBuf>,
    /// Auth HTTP service nsqd asks on AUTH, host:port or URL (repeat for more)
    #[arg(long, value_name = "ADDR")]
    auth_http_address: Vec<String>,
    /// Whether IDENTIFY may negotiate snappy (nsqd --snappy)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    snappy: bool,
    /// Whether IDENTIFY may negotiate deflate (nsqd --deflate)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    deflate: bool,
    /// Highest deflate level a client may negotiate, 1-9 (nsqd --max-deflate-level)
    #[arg(long, value_name = "N", default_value_t = 6)]
    max_deflate_level: i64,
    /// Answer every Aerospike data command this much later (fault injection: a slow server)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    aerospike_delay: Option<Duration>,
    /// Log more (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Accepts `250ms`, `2s`, `1m`, or a bare number of milliseconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (try 250ms, 2s, 1m)"))?;
    match unit {
        "" | "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("unknown unit in {s:?} (use ms, s or m)")),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let level = ["info", "debug", "trace"][usize::from(args.verbose.min(2))];
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(format!("devstack={level},warn"))
            }),
        )
        .with_writer(std::io::stderr)
        .init();

    match serve(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("x-msrv-devstack: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let pki = args
        .tls_test_pki
        .as_deref()
        .map(TestPki::generate_in)
        .transpose()
        .map_err(|e| std::io::Error::new(e.kind(), format!("--tls-test-pki: {e}")))?;
    let nsq = NsqServer::start(NsqOptions {
        tcp_addr: args.nsqd_tcp,
        http_addr: args.nsqd_http,
        lookupd_http_addr: args.lookupd_http,
        msg_timeout: args.msg_timeout,
        tls_cert: args.tls_cert.or(pki.as_ref().map(TestPki::server_cert)),
        tls_key: args.tls_key.or(pki.as_ref().map(TestPki::server_key)),
        tls_root_ca_file: args.tls_root_ca_file.or(pki.as_ref().map(TestPki::ca_cert)),
        tls_client_auth_policy: args.tls_client_auth_policy,
        tls_required: args.tls_required,
        tls_min_version: args.tls_min_version,
        auth_http_addresses: args.auth_http_address,
        snappy: args.snappy,
        deflate: args.deflate,
        max_deflate_level: args.max_deflate_level,
        ..NsqOptions::default()
    })
    .await
    .map_err(|e| std::io::Error::new(e.kind(), format!("nsqd/nsqlookupd: {e}")))?;
    let aerospike = AerospikeServer::start(AerospikeOptions {
        addr: args.aerospike,
        namespaces: args.namespace.clone(),
        ..AerospikeOptions::default()
    })
    .await
    .map_err(|e| std::io::Error::new(e.kind(), format!("aerospike {}: {e}", args.aerospike)))?;
    aerospike.set_delay(args.aerospike_delay);

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "ready nsqd-tcp={} nsqd-http={} lookupd-http={} aerospike={}",
        nsq.tcp_addr(),
        nsq.http_addr(),
        nsq.lookupd_http_addr(),
        aerospike.addr()
    )?;
    out.flush()?;
    drop(out);

    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
    }
    nsq.shutdown().await;
    aerospike.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("40"), Ok(Duration::from_millis(40)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("s").is_err());
    }
}
