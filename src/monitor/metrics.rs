//! What monitoring reads after each run: a small state file (`metrics.json` in the state
//! directory) and, with `metrics.textfile`, a Prometheus text file for node_exporter's
//! textfile collector.
//!
//! The state file is the source of truth: the counters that grow across runs
//! (`x_msrv_messages_total`, `x_msrv_runs_total`), the time of the last success, the last
//! run and the last few backlog samples are read back from it, never parsed out of the
//! previous `.prom` (which an operator may delete, or point elsewhere). `x-msrv status`
//! reads the same file, so it is written `0644` whatever the unit's `UMask=`: a monitoring
//! user only reads it. Both files are replaced atomically (a temporary file in the same
//! directory, fsync, rename), so a reader sees the old file or the new one, never half.
//! Nothing here changes a run's exit code: a failure to write is a warning.
//!
//! Over 500 lines with its tests: the state file and the Prometheus text it renders are
//! one format, kept in one place so a series cannot be added to one and not the other.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::Instance;
use crate::pipeline::outcome::{Counts, Outcome};
use crate::run::{RunSummary, StopReason};

/// The label an instance's samples carry (`consumer="orders"`). Not `instance`: Prometheus
/// sets that one on every scraped series (the node_exporter's address) and would rename
/// ours to `exported_instance`.
pub const INSTANCE_LABEL: &str = "consumer";

/// The state file's name in the state directory.
pub const STATE_FILE: &str = "metrics.json";

/// Backlog samples kept: enough for "growing over the last 3 runs", and a little more.
pub const BACKLOG_SAMPLES: usize = 5;

/// Readable by everyone: node_exporter runs as its own user, `x-msrv status` as the
/// monitoring system's; the unit's `UMask=0077` would make them `0600`.
const FILE_MODE: u32 = 0o644;

/// `stop_reason` of a run that could not start (NSQ or Aerospike unreachable, exit 69):
/// it has no summary, hence none of the run's own reasons.
pub const UNAVAILABLE: &str = "unavailable";

/// Every value of `x_msrv_last_run_stop_reason{reason}`: the run's stop reasons, then
/// [`UNAVAILABLE`].
pub const STOP_REASONS: [&str; 8] = [
    StopReason::Done.as_str(),
    StopReason::Idle.as_str(),
    StopReason::Timeout.as_str(),
    StopReason::Signal.as_str(),
    StopReason::ConsumerClosed.as_str(),
    StopReason::StoreUnavailable.as_str(),
    StopReason::NoProducers.as_str(),
    UNAVAILABLE,
];

/// What one run did, as monitoring sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// When it ended, Unix seconds.
    pub timestamp: f64,
    pub duration_seconds: f64,
    pub exit_code: u8,
    /// A [`STOP_REASONS`] word.
    pub stop_reason: String,
    /// Messages by outcome.
    pub messages: Counts,
}

/// Runs so far, by result (success: exit 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsTotal {
    pub success: u64,
    pub failure: u64,
}

/// The channel's backlog (depth, over every nsqd) read just after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacklogSample {
    /// Unix seconds.
    pub timestamp: u64,
    pub depth: u64,
}

/// The content of `metrics.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsState {
    pub last_run: Option<LastRun>,
    /// Unix seconds of the end of the last run that exited 0.
    pub last_success_timestamp: Option<f64>,
    /// Messages by outcome over every run.
    pub messages_total: Counts,
    pub runs_total: RunsTotal,
    /// Oldest first, at most [`BACKLOG_SAMPLES`].
    pub backlog: Vec<BacklogSample>,
}

/// What went wrong reading the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} does not parse: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl MetricsState {
    /// The state in `dir`; `Ok(None)` when no run has written it yet.
    pub fn load(dir: &Path) -> Result<Option<MetricsState>, StateError> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| StateError::Parse { path, source })
    }

    /// Adds a run that ended at `now` with `exit_code`: its summary (`None`: it could
    /// not start) and the backlog read after it (`None`: nsqd's `/stats` did not answer).
    pub fn record(
        &mut self,
        now: SystemTime,
        exit_code: u8,
        summary: Option<&RunSummary>,
        duration: Duration,
        backlog: Option<u64>,
    ) {
        let timestamp = unix_seconds(now);
        let messages = summary.map_or_else(Counts::default, |s| s.counts);
        self.messages_total.add(&messages);
        if exit_code == 0 {
            self.runs_total.success += 1;
            self.last_success_timestamp = Some(timestamp);
        } else {
            self.runs_total.failure += 1;
        }
        self.last_run = Some(LastRun {
            timestamp,
            duration_seconds: summary.map_or(duration, |s| s.duration).as_secs_f64(),
            exit_code,
            stop_reason: summary
                .map_or(UNAVAILABLE, |s| s.stop_reason.as_str())
                .to_owned(),
            messages,
        });
        if let Some(depth) = backlog {
            self.backlog.push(BacklogSample {
                timestamp: timestamp as u64,
                depth,
            });
            let extra = self.backlog.len().saturating_sub(BACKLOG_SAMPLES);
            self.backlog.drain(..extra);
        }
    }

    /// The backlog of the last 3 samples when each is larger than the one before: the
    /// runs do not keep up.
    pub fn growing_backlog(&self) -> Option<[u64; 3]> {
        let [.., a, b, c] = self.backlog.as_slice() else {
            return None;
        };
        (a.depth < b.depth && b.depth < c.depth).then_some([a.depth, b.depth, c.depth])
    }

    /// Writes `dir/metrics.json` atomically, mode 0644.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        write_atomically(&dir.join(STATE_FILE), text.as_bytes())
    }

    /// The Prometheus text exposition of this state. An instance's samples all carry
    /// [`INSTANCE_LABEL`]`="NAME"`, so two instances' files in node_exporter's textfile
    /// directory never export the same series (node_exporter refuses duplicates).
    pub fn render(&self, instance: Option<&Instance>) -> String {
        let last = self.last_run.as_ref();
        let mut w = Writer {
            text: String::new(),
            instance: instance.map(|i| format!("{INSTANCE_LABEL}=\"{i}\"")),
        };
        w.family(
            "x_msrv_last_run_timestamp_seconds",
            "gauge",
            "When the last run ended (Unix time).",
        );
        w.sample(
            "x_msrv_last_run_timestamp_seconds",
            "",
            last.map_or(0.0, |r| r.timestamp),
        );
        w.family(
            "x_msrv_last_success_timestamp_seconds",
            "gauge",
            "When the last successful run (exit 0) ended (Unix time); 0: none yet.",
        );
        w.sample(
            "x_msrv_last_success_timestamp_seconds",
            "",
            self.last_success_timestamp.unwrap_or(0.0),
        );
        w.family(
            "x_msrv_last_run_duration_seconds",
            "gauge",
            "How long the last run took.",
        );
        w.sample(
            "x_msrv_last_run_duration_seconds",
            "",
            last.map_or(0.0, |r| r.duration_seconds),
        );
        w.family(
            "x_msrv_last_run_messages",
            "gauge",
            "Messages of the last run by outcome.",
        );
        for outcome in Outcome::all() {
            let n = last.map_or(0, |r| r.messages[outcome]);
            w.sample(
                "x_msrv_last_run_messages",
                &format!("outcome=\"{outcome}\""),
                n as f64,
            );
        }
        w.family(
            "x_msrv_last_run_exit_code",
            "gauge",
            "Exit status of the last run (0 success, 69 unavailable, 75 temporary failure).",
        );
        w.sample(
            "x_msrv_last_run_exit_code",
            "",
            last.map_or(0.0, |r| f64::from(r.exit_code)),
        );
        w.family(
            "x_msrv_last_run_stop_reason",
            "gauge",
            "Why the last run stopped: 1 for its reason, 0 for the others.",
        );
        for reason in STOP_REASONS {
            let on = last.is_some_and(|r| r.stop_reason == reason);
            w.sample(
                "x_msrv_last_run_stop_reason",
                &format!("reason=\"{reason}\""),
                if on { 1.0 } else { 0.0 },
            );
        }
        if let Some(sample) = self.backlog.last() {
            w.family(
                "x_msrv_backlog_messages",
                "gauge",
                "Messages waiting in the channel (over every nsqd), read after the last run.",
            );
            w.sample("x_msrv_backlog_messages", "", sample.depth as f64);
        }
        w.family(
            "x_msrv_messages_total",
            "counter",
            "Messages over every run by outcome.",
        );
        for outcome in Outcome::all() {
            let n = self.messages_total[outcome];
            w.sample(
                "x_msrv_messages_total",
                &format!("outcome=\"{outcome}\""),
                n as f64,
            );
        }
        w.family(
            "x_msrv_runs_total",
            "counter",
            "Runs by result (success: exit 0).",
        );
        w.sample(
            "x_msrv_runs_total",
            "result=\"success\"",
            self.runs_total.success as f64,
        );
        w.sample(
            "x_msrv_runs_total",
            "result=\"failure\"",
            self.runs_total.failure as f64,
        );
        w.text
    }
}

/// Appends families and samples to the exposition text.
struct Writer {
    text: String,
    /// `consumer="NAME"` for an instance, put first on every sample.
    instance: Option<String>,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        let labels = match (&self.instance, labels) {
            (Some(instance), "") => instance.clone(),
            (Some(instance), labels) => format!("{instance},{labels}"),
            (None, labels) => labels.to_owned(),
        };
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{{{labels}}} {value}");
        }
    }
}

/// Seconds since the Unix epoch, with the fraction (Prometheus' timestamps are floats).
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes `path` the way node_exporter's documentation asks: a temporary file in the same
/// directory (so the rename stays on one file system), named so its collector, which
/// reads only `*.prom`, never picks it up; fsync; rename over the old file; fsync the
/// directory so the rename itself survives a crash.
pub fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The pid keeps two processes (two runs by hand) from sharing a temporary file.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Best effort: some file systems refuse to fsync a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(stored: u64, requeued: u64, reason: StopReason) -> RunSummary {
        let mut counts = Counts::default();
        counts[Outcome::Stored] = stored;
        counts[Outcome::Invalid] = 1;
        counts[Outcome::Requeued] = requeued;
        RunSummary {
            received: stored + requeued,
            counts,
            stop_reason: reason,
            duration: Duration::from_millis(250),
        }
    }

    #[test]
    fn counters_grow_and_a_failure_keeps_the_last_success() {
        let mut state = MetricsState::default();
        let t1 = UNIX_EPOCH + Duration::from_secs(1000);
        state.record(
            t1,
            0,
            Some(&summary(3, 0, StopReason::Idle)),
            Duration::ZERO,
            Some(4),
        );
        let t2 = UNIX_EPOCH + Duration::from_secs(1060);
        state.record(
            t2,
            75,
            Some(&summary(1, 2, StopReason::StoreUnavailable)),
            Duration::ZERO,
            None,
        );
        assert_eq!(state.last_success_timestamp, Some(1000.0));
        let last = state.last_run.as_ref().unwrap();
        assert_eq!((last.timestamp, last.exit_code), (1060.0, 75));
        assert_eq!(last.stop_reason, "store-unavailable");
        assert_eq!(state.messages_total[Outcome::Stored], 4);
        assert_eq!(state.messages_total[Outcome::Invalid], 2);
        assert_eq!(
            state.runs_total,
            RunsTotal {
                success: 1,
                failure: 1
            }
        );
        state.record(t2, 69, None, Duration::from_secs(2), None);
        let last = state.last_run.as_ref().unwrap();
        assert_eq!(
            (last.stop_reason.as_str(), last.duration_seconds),
            (UNAVAILABLE, 2.0)
        );
        assert_eq!(state.backlog.len(), 1);
    }

    #[test]
    fn a_backlog_is_growing_when_the_last_three_samples_rise() {
        let mut state = MetricsState::default();
        for depth in [9, 2, 5] {
            state.record(SystemTime::now(), 0, None, Duration::ZERO, Some(depth));
        }
        assert_eq!(state.growing_backlog(), None);
        state.record(SystemTime::now(), 0, None, Duration::ZERO, Some(7));
        assert_eq!(state.growing_backlog(), Some([2, 5, 7]));
        for depth in [8, 9, 10] {
            state.record(SystemTime::now(), 0, None, Duration::ZERO, Some(depth));
        }
        assert_eq!(state.backlog.len(), BACKLOG_SAMPLES);
        assert_eq!(state.growing_backlog(), Some([8, 9, 10]));
    }

    #[test]
    fn the_state_survives_a_save_and_a_load_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(MetricsState::load(dir.path()).unwrap(), None);
        let mut state = MetricsState::default();
        state.record(
            SystemTime::now(),
            0,
            Some(&summary(3, 0, StopReason::Done)),
            Duration::ZERO,
            Some(0),
        );
        state.save(dir.path()).unwrap();
        assert_eq!(MetricsState::load(dir.path()).unwrap(), Some(state));
        let mode = std::fs::metadata(dir.path().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn the_exposition_has_help_type_and_every_series() {
        let mut state = MetricsState::default();
        state.record(
            UNIX_EPOCH + Duration::from_secs(5),
            0,
            Some(&summary(3, 0, StopReason::Done)),
            Duration::ZERO,
            Some(2),
        );
        let text = state.render(None);
        assert!(
            text.contains("# TYPE x_msrv_runs_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("x_msrv_last_run_stop_reason{reason=\"done\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("x_msrv_last_run_stop_reason{reason=\"idle\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("x_msrv_last_run_messages{outcome=\"stored\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("x_msrv_last_success_timestamp_seconds 5\n"),
            "{text}"
        );
        assert!(text.contains("x_msrv_backlog_messages 2\n"), "{text}");
        assert_eq!(
            text.matches("# HELP ").count(),
            text.matches("# TYPE ").count()
        );
    }

    #[test]
    fn an_instances_samples_carry_its_label() {
        let mut state = MetricsState::default();
        state.record(
            UNIX_EPOCH + Duration::from_secs(5),
            0,
            Some(&summary(3, 0, StopReason::Done)),
            Duration::ZERO,
            Some(2),
        );
        let orders = Instance::parse("orders").unwrap();
        let text = state.render(Some(&orders));
        assert!(
            text.contains("x_msrv_last_success_timestamp_seconds{consumer=\"orders\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("x_msrv_messages_total{consumer=\"orders\",outcome=\"stored\"} 3\n"),
            "{text}"
        );
        let samples = text.lines().filter(|l| !l.starts_with('#'));
        for line in samples {
            assert!(line.contains("{consumer=\"orders\""), "{line}");
        }
        // The same families as the single consumer's, so HELP and TYPE agree across files.
        let families = |t: &str| {
            t.lines()
                .filter(|l| l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(families(&text), families(&state.render(None)));
    }
}
