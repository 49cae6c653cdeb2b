//! The subcommands: each turns settings into work and its result into an [`Exit`].

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::cli::{GeneratorArgs, RecordsArgs, StatusArgs};
use crate::config::{self, Settings};
use crate::exit::Exit;
use crate::metrics::MetricsState;
use crate::run::{self, RunError};
use crate::store::AerospikeSink;

/// `x-msrv run`: one batch, then the summary line and the exit code; with
/// `summary_json`, the summary also as one JSON object on stdout.
pub async fn run(settings: Arc<Settings>, shutdown: CancellationToken, summary_json: bool) -> Exit {
    let started = Instant::now();
    let result = run::run(Arc::clone(&settings), shutdown).await;
    let exit = report_run("run", &result, summary_json);
    write_metrics(&settings, exit, result.as_ref().ok(), started.elapsed()).await;
    exit
}

/// `x-msrv serve`: a batch every `nsq.period` until SIGTERM/SIGINT, each reported as a
/// run is (the summary line, with `summary_json` the JSON, the metrics), with the exit
/// code a run would have had in the metrics. Exits 0 once stopped cleanly.
pub async fn serve(
    settings: Arc<Settings>,
    shutdown: CancellationToken,
    summary_json: bool,
) -> Exit {
    let report = async |result: &Result<run::RunSummary, RunError>, elapsed: Duration| {
        let exit = report_run("batch", result, summary_json);
        write_metrics(&settings, exit, result.as_ref().ok(), elapsed).await;
        exit
    };
    crate::serve::serve(Arc::clone(&settings), shutdown, report).await;
    Exit::Ok
}

/// The summary line (and JSON) of a run (or a batch of `serve`), and its exit code.
fn report_run(what: &str, result: &Result<run::RunSummary, RunError>, summary_json: bool) -> Exit {
    match result {
        Ok(summary) => {
            // One line with every count in its text: `journalctl -u x-msrv` shows the
            // message, not structured fields, and the same line is what stderr shows.
            info!("{what} finished: {summary}");
            if summary_json {
                // For scripts and tests: stable field names, no log format to parse.
                match serde_json::to_string(&summary) {
                    Ok(line) => println!("{line}"),
                    Err(e) => error!(error = %e, "cannot write the summary as JSON"),
                }
            }
            if summary.is_temporary_failure() {
                Exit::TempFail
            } else {
                Exit::Ok
            }
        }
        Err(e) => {
            error!("{e}");
            match e {
                RunError::Nsq(_) | RunError::Store(_) => Exit::Unavailable,
            }
        }
    }
}

/// How long reading the backlog after a run may take: one `/stats` request per nsqd.
const BACKLOG_TIMEOUT: Duration = Duration::from_secs(2);

/// After a run, once its exit code is known: the metrics state (`metrics.json`) and, with
/// `metrics.textfile`, the Prometheus file. Every failure is a warning: monitoring must
/// never change what the run itself reports.
async fn write_metrics(
    settings: &Settings,
    exit: Exit,
    summary: Option<&run::RunSummary>,
    elapsed: Duration,
) {
    let dir = &settings.state_directory;
    let mut state = match MetricsState::load(dir) {
        Ok(state) => state.unwrap_or_default(),
        Err(e) => {
            warn!(error = %e, "cannot read the metrics state; the counters start again from zero");
            MetricsState::default()
        }
    };
    let timeout = settings.nsq.connect_timeout.min(BACKLOG_TIMEOUT);
    let backlog = nsq::backlog(&settings.nsq.consumer_options(), timeout).await;
    state.record(SystemTime::now(), exit.code(), summary, elapsed, backlog);
    if let Err(e) = state.save(dir) {
        warn!(dir = %dir.display(), error = %e, "cannot write the metrics state (see state-directory)");
    }
    if let Some(path) = &settings.metrics_textfile
        && let Err(e) = crate::metrics::write_atomically(path, state.render().as_bytes())
    {
        warn!(file = %path.display(), error = %e, "cannot write the metrics textfile (see metrics.textfile)");
    }
}

/// `x-msrv check`: the settings loaded (so config and schema are fine); now see that
/// every NSQ address and Aerospike answer, without taking a message.
pub async fn check(settings: &Settings) -> Exit {
    let mut ok = true;
    match nsq::probe(&settings.nsq.consumer_options()).await {
        Ok(found) => {
            for line in found {
                println!("nsq: {line}");
            }
        }
        Err(e) => {
            println!("nsq: FAILED: {e}");
            ok = false;
        }
    }
    match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => {
            println!(
                "aerospike: ok ({}, namespace {})",
                settings.aerospike.hosts.join(","),
                settings.aerospike.namespace
            );
            sink.close().await;
        }
        Err(e) => {
            println!("aerospike: FAILED: {e}");
            ok = false;
        }
    }
    if ok {
        println!("configuration, schema and connections OK");
        Exit::Ok
    } else {
        Exit::Unavailable
    }
}

/// `x-msrv records`: what a run stored, for operators without `aql` and for the demo.
pub async fn records(settings: &Settings, args: &RecordsArgs) -> Exit {
    let sink = match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => sink,
        Err(e) => {
            error!("cannot connect to Aerospike: {e}");
            return Exit::Unavailable;
        }
    };
    let set = if let Some(set) = &args.set {
        set
    } else if args.rejected {
        &settings.aerospike.rejected_set
    } else {
        &settings.aerospike.set
    };
    if let Some(key) = &args.key {
        let exit = record_by_key(&sink, set, key, args).await;
        sink.close().await;
        return exit;
    }
    let listed = sink.list(set, args.limit).await;
    sink.close().await;
    match listed {
        Ok(records) => {
            if !args.json {
                println!(
                    "{} record(s) in {}.{}{}",
                    records.len(),
                    settings.aerospike.namespace,
                    set,
                    if records.len() >= args.limit {
                        " (limit reached)"
                    } else {
                        ""
                    }
                );
            }
            for record in records {
                if args.json {
                    println!("{}", serde_json::to_string(&record).unwrap_or_default());
                } else {
                    println!("{record}");
                }
            }
            Exit::Ok
        }
        Err(e) => {
            error!("cannot list {set}: {e}");
            Exit::Unavailable
        }
    }
}

/// `x-msrv records --key K`: one record. K is an integer key when it parses as an i64
/// (the keys `message.key = "/id"` makes of integer ids), else a string key; with
/// `--string-key` always a string.
async fn record_by_key(sink: &AerospikeSink, set: &str, key: &str, args: &RecordsArgs) -> Exit {
    let (value, kind) = match key.parse::<i64>() {
        Ok(i) if !args.string_key => (aerospike::Value::Int(i), "integer"),
        _ => (aerospike::Value::String(key.to_owned()), "string"),
    };
    let namespace = &sink.settings().namespace;
    match sink.get_record(set, value).await {
        Ok(Some(record)) => {
            if args.json {
                println!("{}", serde_json::to_string(&record).unwrap_or_default());
            } else {
                println!("{record}");
            }
            Exit::Ok
        }
        Ok(None) => {
            let hint = if kind == "integer" {
                " (read as an integer key; --string-key reads it as a string)"
            } else {
                ""
            };
            error!("no record with the {kind} key {key:?} in {namespace}.{set}{hint}");
            Exit::NotFound
        }
        Err(e) => {
            error!("cannot read the key {key:?} in {namespace}.{set}: {e}");
            Exit::Unavailable
        }
    }
}

/// `x-msrv status`: the plugin's one line on stdout and its exit code (0-3). Its own
/// small runtime: the plugin runs without the signal handling of a run.
pub fn status(config_path: Option<&Path>, args: &StatusArgs) -> std::process::ExitCode {
    let report = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(crate::status::check(config_path, args)),
        Err(e) => crate::status::Report {
            state: crate::status::State::Unknown,
            line: format!("X-MSRV UNKNOWN - cannot start the async runtime: {e}"),
        },
    };
    println!("{}", report.line);
    std::process::ExitCode::from(report.state.code())
}

/// `x-msrv systemd-generator DIR…`: writes the timer drop-in that sets its period from
/// `nsq.period`. A generator must not fail the boot, so every error is reported on
/// stderr (systemd logs it) and the timer keeps its built-in period.
pub fn systemd_generator(config_path: Option<&Path>, args: &GeneratorArgs) -> Exit {
    let period = match config::load_period(config_path) {
        Ok(period) => period,
        Err(e) => {
            eprintln!("x-msrv-generator: keeping the timer's default period: {e}");
            return Exit::Ok;
        }
    };
    if let Err(e) = crate::generator::write_dropin(&args.normal_dir, period) {
        eprintln!("x-msrv-generator: cannot write the timer drop-in: {e}");
    }
    Exit::Ok
}
