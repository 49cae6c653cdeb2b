//! `x-msrv status`: a Nagios/Icinga plugin. One line on stdout, `X-MSRV <STATE> - text |
//! perfdata`, and the plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
//!
//! It only reads: the configuration (the few keys it needs, [`load_monitoring`]), the
//! metrics state the runs write (`metrics.json`, mode 0644), and the channel's depth from
//! nsqd's HTTP `/stats`; so it works for the monitoring system's own unprivileged user.
//! The state decides: the age of the last success against `--warning`/`--critical`
//! (2 × and 3 × `nsq.period` by default: one missed tick is normal jitter, two are a
//! trend, three an outage), and a backlog that grew over the last 3 runs (N or M too
//! small) is a WARNING.
//!
//! [`load_monitoring`]: crate::config::load_monitoring

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::config::{self, Instance, Location, MonitorSettings};
use crate::monitor::metrics::{self, MetricsState};
use crate::pipeline::outcome::Outcome;

/// The plugin's result, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    /// The plugin exit code.
    pub const fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    fn word(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// Default thresholds as multiples of `nsq.period`.
const WARNING_PERIODS: u32 = 2;
const CRITICAL_PERIODS: u32 = 3;
/// Bound on reading the backlog from nsqd.
const BACKLOG_TIMEOUT: Duration = Duration::from_secs(2);

/// The age limits of the last success; `None`: a multiple of `nsq.period`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// WARNING past this age (default 2 × `nsq.period`).
    pub warning: Option<Duration>,
    /// CRITICAL past this age (default 3 × `nsq.period`).
    pub critical: Option<Duration>,
}

/// What the plugin prints and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub state: State,
    /// The whole line, perfdata included.
    pub line: String,
}

impl Report {
    /// UNKNOWN, with why.
    pub fn unknown(instance: Option<&Instance>, text: impl std::fmt::Display) -> Report {
        Report {
            state: State::Unknown,
            line: format!("{} UNKNOWN - {text}", service(instance)),
        }
    }
}

/// The line's first word(s): `X-MSRV`, or `X-MSRV NAME` for an instance, so that the
/// checks of two instances on one host say which one they are about.
fn service(instance: Option<&Instance>) -> String {
    match instance {
        Some(instance) => format!("X-MSRV {instance}"),
        None => "X-MSRV".to_owned(),
    }
}

/// Runs the plugin: reads the configuration, the state and the backlog.
pub async fn check(location: &Location, args: &Thresholds) -> Report {
    let instance = location.instance.as_ref();
    let settings = match config::load_monitoring(location) {
        Ok(s) => s,
        Err(e) => {
            return Report::unknown(instance, format!("cannot read the configuration: {e}"));
        }
    };
    let state = match MetricsState::load(&settings.state_directory) {
        Ok(Some(state)) => state,
        Ok(None) => {
            return Report::unknown(
                instance,
                format!(
                    "no run recorded yet ({} does not exist)",
                    settings.state_directory.join(metrics::STATE_FILE).display()
                ),
            );
        }
        Err(e) => return Report::unknown(instance, e),
    };
    let timeout = settings.nsq.connect_timeout.min(BACKLOG_TIMEOUT);
    let backlog = nsq::backlog(&settings.nsq, timeout).await;
    evaluate(&settings, args, &state, backlog, SystemTime::now())
}

/// The verdict from what was read (pure, for the unit tests).
pub fn evaluate(
    settings: &MonitorSettings,
    args: &Thresholds,
    state: &MetricsState,
    backlog: Option<u64>,
    now: SystemTime,
) -> Report {
    let warning = args.warning.unwrap_or(settings.period * WARNING_PERIODS);
    let critical = args.critical.unwrap_or(settings.period * CRITICAL_PERIODS);
    let Some(last) = &state.last_run else {
        return Report::unknown(settings.instance.as_ref(), "no run recorded yet");
    };
    let now_s = metrics::unix_seconds(now);
    let mut text = String::new();
    let (mut verdict, age) = match state.last_success_timestamp {
        Some(at) => {
            let age = Duration::from_secs_f64((now_s - at).max(0.0));
            let verdict = if age > critical {
                State::Critical
            } else if age > warning {
                State::Warning
            } else {
                State::Ok
            };
            let _ = write!(
                text,
                "last success {} ago (warning {}, critical {})",
                short(age),
                short(warning),
                short(critical)
            );
            (verdict, Some(age))
        }
        None => {
            let _ = write!(
                text,
                "no successful run yet ({} failed)",
                state.runs_total.failure
            );
            (State::Critical, None)
        }
    };
    let last_age = Duration::from_secs_f64((now_s - last.timestamp).max(0.0));
    let _ = write!(
        text,
        "; last run {} ago: exit {}, stop_reason={}, stored={} invalid={} requeued={}",
        short(last_age),
        last.exit_code,
        last.stop_reason,
        last.messages[Outcome::Stored],
        last.messages[Outcome::Invalid],
        last.messages[Outcome::Requeued]
    );
    match backlog {
        Some(b) => {
            let _ = write!(text, "; backlog {b}");
        }
        None => text.push_str("; backlog unknown (nsqd /stats did not answer)"),
    }
    if let Some([a, b, c]) = state.growing_backlog() {
        verdict = verdict.max(State::Warning);
        let _ = write!(
            text,
            "; the backlog grew over the last 3 runs ({a} -> {b} -> {c}): nsq.max-messages \
             (N = {}) or nsq.period (M = {}) is too small",
            settings.max_messages,
            short(settings.period)
        );
    }
    let mut perf = String::new();
    if let Some(age) = age {
        let _ = write!(
            perf,
            "'last_success_age'={:.3}s;{};{};0; ",
            age.as_secs_f64(),
            trim(warning.as_secs_f64()),
            trim(critical.as_secs_f64())
        );
    }
    for outcome in [Outcome::Stored, Outcome::Invalid, Outcome::Requeued] {
        let _ = write!(perf, "'{outcome}'={};;;0; ", last.messages[outcome]);
    }
    if let Some(b) = backlog {
        let _ = write!(perf, "'backlog'={b};;;0;");
    }
    Report {
        state: verdict,
        line: format!(
            "{} {} - {text} | {}",
            service(settings.instance.as_ref()),
            verdict.word(),
            perf.trim_end()
        ),
    }
}

/// A duration as an operator reads it: `42s`, `2m`, `1h 30m`, `250ms`.
fn short(d: Duration) -> String {
    let d = if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    };
    humantime::format_duration(d).to_string()
}

/// A threshold in seconds without a needless fraction.
fn trim(secs: f64) -> String {
    let text = format!("{secs:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsq::{ConsumerOptions, NsqAddresses};

    fn settings() -> MonitorSettings {
        MonitorSettings {
            period: Duration::from_secs(60),
            max_messages: 1000,
            state_directory: "/nonexistent".into(),
            nsq: ConsumerOptions::new(NsqAddresses::Nsqd(vec![]), "t", "c", 1000),
            instance: None,
        }
    }

    fn args() -> Thresholds {
        Thresholds {
            warning: None,
            critical: None,
        }
    }

    fn state_at(success: SystemTime, depths: &[u64]) -> MetricsState {
        let mut state = MetricsState::default();
        for &d in depths {
            state.record(success, 0, None, Duration::ZERO, Some(d));
        }
        state
    }

    #[test]
    fn the_age_of_the_last_success_decides() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let state = state_at(t, &[0]);
        let at = |secs| {
            evaluate(
                &settings(),
                &args(),
                &state,
                Some(0),
                t + Duration::from_secs(secs),
            )
        };
        let ok = at(30);
        assert_eq!(ok.state, State::Ok);
        assert!(
            ok.line
                .starts_with("X-MSRV OK - last success 30s ago (warning 2m, critical 3m)"),
            "{}",
            ok.line
        );
        assert!(ok.line.ends_with("| 'last_success_age'=30.000s;120;180;0; 'stored'=0;;;0; 'invalid'=0;;;0; 'requeued'=0;;;0; 'backlog'=0;;;0;"), "{}", ok.line);
        assert_eq!(at(121).state, State::Warning);
        assert_eq!(at(181).state, State::Critical);
    }

    #[test]
    fn a_growing_backlog_warns_and_names_n_and_m() {
        let t = SystemTime::now();
        let report = evaluate(&settings(), &args(), &state_at(t, &[3, 5, 8]), Some(9), t);
        assert_eq!(report.state, State::Warning);
        assert!(
            report.line.contains(
                "(3 -> 5 -> 8): nsq.max-messages (N = 1000) or nsq.period (M = 1m) is too small"
            ),
            "{}",
            report.line
        );
    }

    #[test]
    fn no_success_yet_is_critical_and_no_run_unknown() {
        let mut state = MetricsState::default();
        assert_eq!(
            evaluate(&settings(), &args(), &state, None, SystemTime::now()).state,
            State::Unknown
        );
        state.record(SystemTime::now(), 69, None, Duration::ZERO, None);
        let report = evaluate(&settings(), &args(), &state, None, SystemTime::now());
        assert_eq!(report.state, State::Critical);
        assert!(
            report.line.contains("no successful run yet (1 failed)"),
            "{}",
            report.line
        );
    }

    #[test]
    fn an_instances_line_names_it() {
        let t = SystemTime::now();
        let mut settings = settings();
        settings.instance = Some(Instance::parse("orders").unwrap());
        let report = evaluate(&settings, &args(), &state_at(t, &[0]), Some(0), t);
        assert!(
            report.line.starts_with("X-MSRV orders OK - last success"),
            "{}",
            report.line
        );
        let unknown = Report::unknown(settings.instance.as_ref(), "why");
        assert_eq!(unknown.line, "X-MSRV orders UNKNOWN - why");
    }
}
