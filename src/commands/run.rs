//! `x-msrv run` (the default): one run of at most N messages, then the summary line, the
//! metrics and the exit code.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::commands::exit::Exit;
use crate::commands::report::{report_run, write_metrics};
use crate::config::Settings;

/// `x-msrv run`: one batch, then the summary line and the exit code; with
/// `summary_json`, the summary also as one JSON object on stdout.
pub async fn run(settings: Arc<Settings>, shutdown: CancellationToken, summary_json: bool) -> Exit {
    let started = Instant::now();
    let result = crate::run::run(Arc::clone(&settings), shutdown).await;
    let exit = report_run("run", result.as_ref(), summary_json);
    write_metrics(&settings, exit, result.as_ref().ok(), started.elapsed()).await;
    exit
}
