//! One run: connect, take at most N messages in batches, stop, add up what happened.
//!
//! ```text
//!  connect Aerospike, subscribe ─► loop { Consumer::next ─► spawn Pipeline::process(batch) }
//!                                       until N settled, idle, timeout, signal, store
//!                                       failing, or NSQ gone
//!                                 ─► RDY 0, grace for batches in hand, CLS ─► RunSummary
//! ```
//!
//! # Layout
//! - `session`: connect, take a batch of at most N, pause, close.
//! - `summary`: [`RunSummary`], [`StopReason`], [`RunError`].
//! - [`serve`]: the long-lived mode, a session kept between batches.
//!
//! This module only schedules: what happens to each message is the [`batch`] stage's
//! business, and each batch task hands back a [`BatchReport`] that the loop adds up.
//!
//! [`BatchReport`]: crate::pipeline::batch::BatchReport
//! Batches run concurrently; each message is settled exactly when its own record's
//! outcome is known.
//!
//! [`batch`]: crate::pipeline::batch

pub mod serve;
mod session;
mod summary;

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::config::Settings;

pub(crate) use session::{Session, Start};
pub use summary::{RunError, RunSummary, StopReason};

/// Runs one batch. Returns when the run is over and every message it took is settled (or,
/// past the grace period, handed back to NSQ).
///
/// `shutdown` is cancelled by the caller on SIGTERM/SIGINT; it is honoured at every
/// moment, connecting included.
pub async fn run(
    settings: Arc<Settings>,
    shutdown: CancellationToken,
) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let deadline = tokio::time::sleep(settings.timeout);
    tokio::pin!(deadline);
    let mut session = match Session::open(&settings, &shutdown, deadline.as_mut()).await? {
        Start::Connected(session) => session,
        Start::Stopped(reason) => return Ok(RunSummary::stopped_before_start(reason, started)),
    };
    let summary = session
        .batch(&settings, &shutdown, deadline.as_mut(), started)
        .await;
    session.close(settings.grace).await;
    Ok(summary)
}
