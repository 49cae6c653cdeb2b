//! What `run` and each batch of `serve` report once over: the summary line (and, with
//! `--summary-json`, the JSON), the exit code a timer run has, and the metrics.

use std::time::{Duration, SystemTime};

use tracing::{error, info, warn};

use crate::commands::exit::Exit;
use crate::config::Settings;
use crate::monitor::metrics::{self, MetricsState};
use crate::run::{RunError, RunSummary};

/// The summary line (and JSON) of a run (or a batch of `serve`), and its exit code.
pub fn report_run(what: &str, result: Result<&RunSummary, &RunError>, summary_json: bool) -> Exit {
    match result {
        Ok(summary) => {
            // One line with every count in its text: `journalctl -u x-msrv` shows the
            // message, not structured fields, and the same line is what stderr shows.
            info!("{what} finished: {summary}");
            if summary_json {
                // For scripts and tests: stable field names, no log format to parse.
                match serde_json::to_string(summary) {
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
pub async fn write_metrics(
    settings: &Settings,
    exit: Exit,
    summary: Option<&RunSummary>,
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
    let timeout = settings.nsq.consumer.connect_timeout.min(BACKLOG_TIMEOUT);
    let backlog = nsq::backlog(&settings.nsq.consumer, timeout).await;
    state.record(SystemTime::now(), exit.code(), summary, elapsed, backlog);
    if let Err(e) = state.save(dir) {
        warn!(dir = %dir.display(), error = %e, "cannot write the metrics state (see state-directory)");
    }
    if let Some(path) = &settings.metrics_textfile
        && let Err(e) =
            metrics::write_atomically(path, state.render(settings.instance.as_ref()).as_bytes())
    {
        warn!(file = %path.display(), error = %e, "cannot write the metrics textfile (see metrics.textfile)");
    }
}
