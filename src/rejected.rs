//! `x-msrv rejected list|show|redrive|purge`: the rejected set as a dead-letter queue.
//!
//! Every invalid message is kept in `rejected.set` with its reason (see
//! [`crate::store::RejectedMessage`]). Once the schema or the producer is fixed, these
//! commands find the messages again, publish their original bodies back through nsqd
//! (`redrive`), or delete them for good (`purge`).
//!
//! # Why redrive is safe to interrupt and to run again
//! A batch of records is read, its bodies are published in one `POST /mpub`, and only
//! once nsqd answered `200 OK` are those records deleted. A SIGINT/SIGTERM is looked at
//! between batches, never inside one, so a signal loses nothing and publishes nothing
//! twice. Only a crash (SIGKILL, power) or a failure between a publish and its delete
//! leaves a published body's record in place: the next redrive publishes it again, at
//! most one batch of them. That is harmless: the data record's key comes from the
//! message (`message.key`), so storing it twice writes the same record again (not with
//! `message.key = "nsq-id"`: nsqd gives a published body a new id, so a second copy
//! is a second record).
//!
//! A record whose body was cut to [`MAX_KEPT_BODY`] bytes (bin `body_len`) does not
//! hold the message, only its start: it is never published, always kept and reported.
//!
//! # Selecting records
//! The filters (`--reason`, `--since`, `--topic`) are applied over a scan of the set's
//! small bins (the bodies are not read); the matches are sorted oldest first (nsqd's
//! timestamp), cut to `--limit`, and then handled in batches of `aerospike.batch-size`,
//! whose bodies are read by digest. Records written meanwhile are not part of the run.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error};

use crate::cli::{
    PurgeArgs, RedriveArgs, RejectedCommand, RejectedFilter, RejectedListArgs, RejectedShowArgs,
};
use crate::config::Settings;
use crate::exit::Exit;
use crate::store::{
    AerospikeSink, MAX_KEPT_BODY, RejectedBins, RejectedBody, RejectedRecord, StoreError,
};
use nsq::NsqAddresses;

/// Bound on one publish to nsqd (`/mpub` of a batch, or `/pub` of one body).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// Most body bytes in one `/mpub`: under nsqd's default `--max-body-size` (5 MiB) with
/// room for the framing. A smaller nsqd limit makes nsqd refuse the batch
/// (`BODY_TOO_BIG`), and its bodies are then published one by one.
const MAX_MPUB_BYTES: usize = 4 * 1024 * 1024;
/// A progress bar is drawn (on a terminal) from this many records on: below it the
/// command is over before a bar would tell anything.
const PROGRESS_MIN: usize = 1000;
/// How much of a body `rejected list` shows.
const PREVIEW_CHARS: usize = 120;

/// `println!` that does not panic when stdout is closed (`x-msrv rejected list | head`);
/// what could not be written is dropped, the command goes on with its work.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Writes `text` to stdout; `Err` once nobody reads it any more.
fn write_out(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// The filters of one command, with `--since` resolved against the time it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Filter {
    reason: Option<String>,
    since_ns: Option<i64>,
    topic: Option<String>,
}

impl Filter {
    fn new(args: &RejectedFilter, now: OffsetDateTime) -> Filter {
        Filter {
            reason: args.reason.clone(),
            since_ns: args.since.map(|s| s.cutoff_ns(now)),
            topic: args.topic.clone(),
        }
    }

    fn matches(&self, r: &RejectedRecord) -> bool {
        self.reason
            .as_ref()
            .is_none_or(|t| r.reason.contains(t.as_str()))
            && self.since_ns.is_none_or(|ns| r.nsq_ts >= ns)
            && self.topic.as_ref().is_none_or(|t| r.topic == *t)
    }
}

/// " matching reason "x", since ..., topic t" (empty without filters).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(reason) = &self.reason {
            parts.push(format!("reason containing {reason:?}"));
        }
        if let Some(ns) = self.since_ns {
            parts.push(format!("received since {}", time_of(ns)));
        }
        if let Some(topic) = &self.topic {
            parts.push(format!("topic {topic:?}"));
        }
        if parts.is_empty() {
            Ok(())
        } else {
            write!(f, " with {}", parts.join(", "))
        }
    }
}

/// nsqd's timestamp as an RFC 3339 UTC time.
fn time_of(ns: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ns} ns"))
}

/// The start of a body on one line: control characters and bytes that are not UTF-8
/// escaped, at most `max` characters, then `…` if there is more.
fn preview(body: &RejectedBody, max: usize) -> String {
    let escaped: String = match body {
        RejectedBody::Text(text) => text
            .chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .take(max + 1)
            .collect(),
        RejectedBody::Bytes(bytes) => bytes.escape_ascii().take(max + 1).map(char::from).collect(),
    };
    if escaped.chars().count() > max {
        let mut cut: String = escaped.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        escaped
    }
}

/// One record as `--json` prints it; the field names are part of the interface.
#[derive(Debug, serde::Serialize)]
struct RecordJson<'a> {
    key: &'a str,
    topic: &'a str,
    channel: &'a str,
    /// nsqd's timestamp, ns since the Unix epoch.
    nsq_ts: i64,
    /// The same as an RFC 3339 UTC time.
    time: String,
    attempts: i64,
    reason: &'a str,
    /// The kept body: its text when it is UTF-8 (`body_encoding` "utf8"), else base64
    /// ("base64"); `null` when the record has none ("none").
    body: Option<String>,
    body_encoding: &'static str,
    /// Length of the original body (more than the kept body's when `cut`).
    body_len: u64,
    /// Only the first 64 KiB of the body were kept: never redriven.
    cut: bool,
    generation: u32,
}

impl<'a> RecordJson<'a> {
    fn of(r: &'a RejectedRecord) -> Self {
        let (body, body_encoding) = match &r.body {
            Some(RejectedBody::Text(t)) => (Some(t.clone()), "utf8"),
            Some(RejectedBody::Bytes(b)) => (
                Some(base64::engine::general_purpose::STANDARD.encode(b)),
                "base64",
            ),
            None => (None, "none"),
        };
        let kept = r.body.as_ref().map_or(0, RejectedBody::len) as u64;
        RecordJson {
            key: &r.id,
            topic: &r.topic,
            channel: &r.channel,
            nsq_ts: r.nsq_ts,
            time: time_of(r.nsq_ts),
            attempts: r.attempts,
            reason: &r.reason,
            body,
            body_encoding,
            body_len: r.body_len.unwrap_or(kept),
            cut: r.is_cut(),
            generation: r.generation,
        }
    }
}

/// The size part of a listing line.
fn size_of(r: &RejectedRecord) -> String {
    let kept = r.body.as_ref().map_or(0, RejectedBody::len);
    match r.body_len {
        Some(full) => format!("{kept} of {full} bytes kept (cut: never redriven)"),
        None if r.body.is_none() => "no body".to_owned(),
        None => format!("{kept} bytes"),
    }
}

/// Lines on stdout that do not tear a progress bar on stderr.
struct Report {
    bar: ProgressBar,
}

impl Report {
    /// A bar for `total` records when stderr is a terminal and `total` is large; else
    /// one that draws nothing.
    fn new(total: usize, what: &'static str) -> Report {
        let bar = if total >= PROGRESS_MIN && std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} records ({rate}, {eta} left)",
            ) {
                // indicatif's own {per_sec} prints four decimals.
                let rate = |state: &ProgressState, w: &mut dyn fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                };
                bar.set_style(style.progress_chars("=> ").with_key("rate", rate));
            }
            bar.set_message(what);
            bar
        } else {
            ProgressBar::hidden()
        };
        Report { bar }
    }

    fn say(&self, line: impl fmt::Display) {
        self.bar.suspend(|| out!("{line}"));
    }

    fn fail(&self, line: impl fmt::Display) {
        self.bar.suspend(|| error!("{line}"));
    }

    fn advance(&self, n: usize) {
        self.bar.inc(n as u64);
    }

    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

/// `x-msrv rejected ...`.
pub async fn run(
    settings: &Settings,
    command: &RejectedCommand,
    shutdown: CancellationToken,
) -> Exit {
    if let RejectedCommand::Purge(args) = command {
        // Before any connection: refusing must change nothing and take no time.
        if !args.yes && !std::io::stdin().is_terminal() {
            error!(
                "rejected purge: refusing to delete without confirmation: standard input is \
                 not a terminal to ask on; add --yes"
            );
            return Exit::Usage;
        }
    }
    let sink = match AerospikeSink::connect(&settings.aerospike).await {
        Ok(sink) => sink,
        Err(e) => {
            error!("cannot connect to Aerospike: {e}");
            return Exit::Unavailable;
        }
    };
    let exit = match command {
        RejectedCommand::List(args) => list(&sink, args).await,
        RejectedCommand::Show(args) => show(&sink, args).await,
        RejectedCommand::Redrive(args) => redrive(settings, &sink, args, &shutdown).await,
        RejectedCommand::Purge(args) => purge(&sink, args, &shutdown).await,
    };
    sink.close().await;
    exit
}

/// The records matching `filter`, oldest first, at most `limit`; and how many matched.
async fn select(
    sink: &AerospikeSink,
    filter: &Filter,
    limit: Option<usize>,
) -> Result<(Vec<RejectedRecord>, usize), StoreError> {
    let mut found = Vec::new();
    sink.scan_rejected(RejectedBins::Meta, |r| {
        if filter.matches(&r) {
            found.push(r);
        }
        ControlFlow::Continue(())
    })
    .await?;
    found.sort_by(|a, b| a.nsq_ts.cmp(&b.nsq_ts).then_with(|| a.id.cmp(&b.id)));
    let matched = found.len();
    if let Some(limit) = limit {
        found.truncate(limit);
    }
    Ok((found, matched))
}

fn set_name(sink: &AerospikeSink) -> String {
    let s = sink.settings();
    format!("{}.{}", s.namespace, s.rejected_set)
}

/// `x-msrv rejected list`.
async fn list(sink: &AerospikeSink, args: &RejectedListArgs) -> Exit {
    let filter = Filter::new(&args.filter, OffsetDateTime::now_utc());
    let (chosen, matched) = match select(sink, &filter, Some(args.limit)).await {
        Ok(found) => found,
        Err(e) => {
            error!("cannot list the rejected messages: {e}");
            return Exit::Unavailable;
        }
    };
    if !args.json {
        let mut head = format!(
            "{matched} rejected message(s) in {}{filter}",
            set_name(sink)
        );
        if chosen.len() < matched {
            let _ = write!(head, "; the oldest {} (--limit)", chosen.len());
        }
        out!("{head}");
    }
    for batch in chosen.chunks(sink.settings().batch_size.max(1)) {
        let read = match sink.read_rejected(batch).await {
            Ok(read) => read,
            Err(e) => {
                error!("cannot read the rejected messages: {e}");
                return Exit::Unavailable;
            }
        };
        for (meta, full) in batch.iter().zip(read) {
            // Gone since the scan: listed without its body.
            let r = match full {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) => {
                    error!(key = %meta.id, "cannot read the body: {e}");
                    meta.clone()
                }
            };
            let mut text = String::new();
            if args.json {
                let _ = writeln!(
                    text,
                    "{}",
                    serde_json::to_string(&RecordJson::of(&r)).unwrap_or_default()
                );
            } else {
                let _ = writeln!(
                    text,
                    "{}  {}  topic={} channel={} attempts={}  {}",
                    r.id,
                    time_of(r.nsq_ts),
                    r.topic,
                    r.channel,
                    r.attempts,
                    size_of(&r)
                );
                let _ = writeln!(text, "    reason: {}", r.reason);
                if let Some(body) = &r.body {
                    let _ = writeln!(text, "    body:   {}", preview(body, PREVIEW_CHARS));
                }
            }
            if write_out(&text).is_err() {
                // The reader went away (`| head`): nothing more to show.
                return Exit::Ok;
            }
        }
    }
    Exit::Ok
}

/// `x-msrv rejected show ID`.
async fn show(sink: &AerospikeSink, args: &RejectedShowArgs) -> Exit {
    let r = match sink.get_rejected(&args.id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            error!(
                "no rejected message with key {:?} in {} (keys are listed by `x-msrv rejected list`)",
                args.id,
                set_name(sink)
            );
            return Exit::NotFound;
        }
        Err(e) => {
            error!("cannot read {:?} in {}: {e}", args.id, set_name(sink));
            return Exit::Unavailable;
        }
    };
    if args.json {
        out!(
            "{}",
            serde_json::to_string(&RecordJson::of(&r)).unwrap_or_default()
        );
        return Exit::Ok;
    }
    out!("key:        {}", r.id);
    out!("topic:      {}", r.topic);
    out!("channel:    {}", r.channel);
    out!("nsq_ts:     {} ({})", r.nsq_ts, time_of(r.nsq_ts));
    out!("attempts:   {}", r.attempts);
    out!("reason:     {}", r.reason);
    out!("generation: {}", r.generation);
    let kept = r.body.as_ref().map_or(0, RejectedBody::len);
    match r.body_len {
        Some(full) => out!(
            "body_len:   {full} bytes; only the first {kept} were kept (a record holds \
             at most {MAX_KEPT_BODY} of a body too big for it), so redrive never publishes it"
        ),
        None => out!("body_len:   {kept} bytes"),
    }
    match &r.body {
        Some(RejectedBody::Text(text)) => out!("body:\n{text}"),
        Some(RejectedBody::Bytes(bytes)) => out!(
            "body (not UTF-8; bytes other than printable ASCII as \\xNN):\n{}",
            bytes.escape_ascii()
        ),
        None => out!("body:       (none)"),
    }
    Exit::Ok
}

/// What a redrive or purge did, for its last lines and its exit status.
#[derive(Debug, Default)]
struct Tally {
    /// Published and deleted (redrive), or deleted (purge).
    done: usize,
    /// Gone between the scan and their batch (another command, or their TTL).
    gone: usize,
    /// Kept because something failed (reported one by one).
    failed: usize,
    /// Kept because their body is cut.
    cut: usize,
    /// Stopped by a signal.
    interrupted: bool,
    /// Stopped because nsqd or Aerospike failed.
    unavailable: bool,
}

impl Tally {
    fn exit(&self) -> Exit {
        if self.unavailable {
            Exit::Unavailable
        } else if self.interrupted {
            Exit::Interrupted
        } else if self.failed > 0 {
            Exit::TempFail
        } else {
            Exit::Ok
        }
    }
}

/// The HTTP address of the nsqd to publish `topic` to: with `nsq.nsqd` the first one
/// (its `nsq.nsqd-http`, else its TCP port + 1); with `nsq.lookupd` a producer of the
/// topic, else (a topic no nsqd has yet) one of `nsq.topic`.
async fn nsqd_for(
    http: &nsq::HttpClient,
    settings: &Settings,
    topic: &str,
) -> Result<String, String> {
    match &settings.nsq.addresses {
        NsqAddresses::Nsqd(_) => settings
            .nsq
            .consumer_options()
            .nsqd_addrs()
            .into_iter()
            .next()
            .map(|a| a.http)
            .filter(|http| !http.is_empty())
            .ok_or_else(|| "nsq.nsqd names no nsqd with an HTTP address".to_owned()),
        NsqAddresses::Lookupd(lookupds) => {
            let timeout = settings.nsq.connect_timeout;
            for wanted in [topic, settings.nsq.topic.as_str()] {
                let producers = nsq::lookup_producers(http, lookupds, wanted, timeout)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(p) = producers.into_iter().find(|p| !p.http.is_empty()) {
                    return Ok(p.http);
                }
            }
            Err(format!(
                "nsqlookupd {} knows no nsqd of topic {topic:?} nor of nsq.topic {:?}",
                lookupds.join(", "),
                settings.nsq.topic
            ))
        }
    }
}

/// Splits `items` into runs whose bodies add up to at most `max` bytes (a body larger
/// than `max` goes alone).
fn by_bytes<T>(items: Vec<(T, Bytes)>, max: usize) -> Vec<Vec<(T, Bytes)>> {
    let mut out: Vec<Vec<(T, Bytes)>> = Vec::new();
    let mut size = 0;
    for item in items {
        let len = item.1.len();
        match out.last_mut() {
            Some(run) if size + len <= max => run.push(item),
            _ => {
                out.push(vec![item]);
                size = 0;
            }
        }
        size += len;
    }
    out
}

/// `x-msrv rejected redrive`.
async fn redrive(
    settings: &Settings,
    sink: &AerospikeSink,
    args: &RedriveArgs,
    shutdown: &CancellationToken,
) -> Exit {
    let started = Instant::now();
    let filter = Filter::new(&args.filter, OffsetDateTime::now_utc());
    let (chosen, _) = match select(sink, &filter, args.limit).await {
        Ok(found) => found,
        Err(e) => {
            error!("cannot read the rejected messages: {e}");
            return Exit::Unavailable;
        }
    };
    let set = set_name(sink);
    let mut tally = Tally::default();
    let chosen_len = chosen.len();

    // By target topic (one /mpub carries one topic), oldest first within each.
    let mut groups: BTreeMap<String, Vec<RejectedRecord>> = BTreeMap::new();
    for r in chosen {
        if r.is_cut() {
            tally.cut += 1;
            out!("{}", cut_notice(&r));
            continue;
        }
        let topic = args.to_topic.clone().unwrap_or_else(|| r.topic.clone());
        if !nsq::is_valid_name(&topic) {
            tally.failed += 1;
            error!(
                "kept {}: its topic {topic:?} is not one nsqd accepts; give one with --to-topic",
                r.id
            );
            continue;
        }
        groups.entry(topic).or_default().push(r);
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let http = settings.nsq.consumer_options().http();
    let mut targets = BTreeMap::new();
    for topic in groups.keys() {
        match nsqd_for(&http, settings, topic).await {
            Ok(addr) => {
                targets.insert(topic.clone(), addr);
            }
            Err(e) => {
                error!("no nsqd to publish topic {topic:?} to, nothing published: {e}");
                return Exit::Unavailable;
            }
        }
    }
    let where_to: Vec<String> = targets
        .iter()
        .map(|(topic, addr)| format!("topic {topic} on nsqd {addr} ({})", groups[topic].len()))
        .collect();
    out!(
        "redrive{}: {total} message(s) of {set}{filter} to publish{}{}",
        if args.dry_run { " (dry run)" } else { "" },
        if where_to.is_empty() {
            String::new()
        } else {
            format!(" to {}", where_to.join(", "))
        },
        if tally.cut > 0 {
            format!("; {} with a cut body skipped", tally.cut)
        } else {
            String::new()
        }
    );

    let report = Report::new(total, if args.dry_run { "reading" } else { "redriving" });
    let batch_size = sink.settings().batch_size.max(1);
    'topics: for (topic, records) in &groups {
        let addr = &targets[topic];
        for batch in records.chunks(batch_size) {
            if shutdown.is_cancelled() {
                tally.interrupted = true;
                break 'topics;
            }
            let read_started = Instant::now();
            let read = match sink.read_rejected(batch).await {
                Ok(read) => read,
                Err(e) => {
                    report.fail(format!("cannot read the rejected messages: {e}"));
                    tally.unavailable = true;
                    break 'topics;
                }
            };
            let mut bodies: Vec<(RejectedRecord, Bytes)> = Vec::with_capacity(batch.len());
            for (meta, full) in batch.iter().zip(read) {
                match full {
                    Ok(None) => tally.gone += 1,
                    Ok(Some(r)) if r.is_cut() => {
                        tally.cut += 1;
                        report.say(cut_notice(&r));
                    }
                    Ok(Some(r)) => match &r.body {
                        Some(body) => {
                            let bytes = body.to_bytes();
                            bodies.push((r, bytes));
                        }
                        None => {
                            tally.failed += 1;
                            report.fail(format!("kept {}: the record has no body bin", r.id));
                        }
                    },
                    Err(e) => {
                        tally.failed += 1;
                        report.fail(format!("kept {}: cannot read it: {e}", meta.id));
                    }
                }
            }
            if args.dry_run {
                for (r, body) in &bodies {
                    report.say(format!(
                        "would publish {} ({} bytes) to topic {topic} on nsqd {addr}",
                        r.id,
                        body.len()
                    ));
                    tally.done += 1;
                }
                report.advance(batch.len());
                continue;
            }
            for run in by_bytes(bodies, MAX_MPUB_BYTES) {
                // Each run: publish, then delete what nsqd acknowledged; a signal is
                // looked at only between runs.
                if shutdown.is_cancelled() {
                    tally.interrupted = true;
                    break 'topics;
                }
                let publish_started = Instant::now();
                let (published, stop) =
                    publish_run(&http, addr, topic, run, &report, &mut tally).await;
                let delete_started = Instant::now();
                let refs: Vec<&RejectedRecord> = published.iter().collect();
                let deleted = sink.delete_rejected(&refs).await;
                debug!(
                    records = published.len(),
                    read_us = (publish_started - read_started).as_micros(),
                    publish_us = (delete_started - publish_started).as_micros(),
                    delete_us = delete_started.elapsed().as_micros(),
                    "batch redriven"
                );
                match deleted {
                    Ok(rows) => {
                        for (r, row) in published.iter().zip(rows) {
                            match row {
                                Ok(()) => tally.done += 1,
                                Err(e) => {
                                    tally.failed += 1;
                                    report.fail(format!(
                                        "published {} but could not delete its record ({e}): \
                                         a later redrive publishes it again (harmless, the \
                                         data record's key makes storing it idempotent)",
                                        r.id
                                    ));
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tally.failed += published.len();
                        report.fail(format!(
                            "published {} message(s) but could not delete their records \
                             ({e}): a later redrive publishes them again (harmless)",
                            published.len()
                        ));
                        tally.unavailable = true;
                    }
                }
                if stop || tally.unavailable {
                    tally.unavailable = true;
                    break 'topics;
                }
            }
            report.advance(batch.len());
        }
    }
    report.done();

    let remaining = chosen_len - tally.done - tally.gone;
    let secs = started.elapsed().as_secs_f64();
    if args.dry_run {
        out!(
            "dry run: would publish {} message(s); {} skipped (cut bodies); nothing was \
             published or deleted",
            tally.done,
            tally.cut
        );
        return if tally.failed > 0 {
            Exit::TempFail
        } else {
            Exit::Ok
        };
    }
    out!(
        "redrive: moved {} of {total} message(s) (published, then deleted) in {secs:.1} s; \
         {remaining} remain in {set} ({} with a cut body, {} failed){}",
        tally.done,
        tally.cut,
        tally.failed,
        if tally.gone > 0 {
            format!("; {} were already gone", tally.gone)
        } else {
            String::new()
        }
    );
    if tally.interrupted {
        out!(
            "redrive: interrupted by a signal after the batch in progress; run the same \
             command again to go on"
        );
    }
    tally.exit()
}

/// Why a cut body is skipped, for the operator.
fn cut_notice(r: &RejectedRecord) -> String {
    format!(
        "skipped {}: its body was {} bytes, too big for a record, and only the first {} \
         were kept, so the message itself is not in Aerospike and is never published; \
         the record is kept (`x-msrv rejected show {}`; `purge` it when done)",
        r.id,
        r.body_len.unwrap_or(0),
        r.body.as_ref().map_or(0, RejectedBody::len),
        r.id
    )
}

/// Publishes one run of bodies: one `/mpub`; if nsqd refuses it (a 4xx: a body too big,
/// a limit lower than ours), each body alone with `/pub`, so one bad body keeps only
/// itself back. Returns the records nsqd acknowledged, and whether to stop (nsqd could
/// not be reached: what it took is unknown, so nothing more is published).
async fn publish_run(
    http: &nsq::HttpClient,
    addr: &str,
    topic: &str,
    run: Vec<(RejectedRecord, Bytes)>,
    report: &Report,
    tally: &mut Tally,
) -> (Vec<RejectedRecord>, bool) {
    let bodies: Vec<Bytes> = run.iter().map(|(_, b)| b.clone()).collect();
    match nsq::publish_batch(http, addr, topic, &bodies, PUBLISH_TIMEOUT).await {
        Ok(()) => return (run.into_iter().map(|(r, _)| r).collect(), false),
        Err(e) if !e.refused => {
            tally.failed += run.len();
            report.fail(format!("{e}; {} message(s) kept, stopping", run.len()));
            return (Vec::new(), true);
        }
        Err(e) if run.len() == 1 => {
            tally.failed += 1;
            report.fail(format!("kept {}: {e}", run[0].0.id));
            return (Vec::new(), false);
        }
        Err(_) => {}
    }
    let mut published = Vec::with_capacity(run.len());
    let mut rest = run.into_iter();
    for (r, body) in rest.by_ref() {
        match nsq::publish_batch(
            http,
            addr,
            topic,
            std::slice::from_ref(&body),
            PUBLISH_TIMEOUT,
        )
        .await
        {
            Ok(()) => published.push(r),
            Err(e) if e.refused => {
                tally.failed += 1;
                report.fail(format!("kept {}: {e}", r.id));
            }
            Err(e) => {
                tally.failed += 1;
                report.fail(format!("kept {}: {e}; stopping", r.id));
                tally.failed += rest.len();
                return (published, true);
            }
        }
    }
    (published, false)
}

/// `x-msrv rejected purge`.
async fn purge(sink: &AerospikeSink, args: &PurgeArgs, shutdown: &CancellationToken) -> Exit {
    let filter = Filter::new(&args.filter, OffsetDateTime::now_utc());
    let (chosen, _) = match select(sink, &filter, args.limit).await {
        Ok(found) => found,
        Err(e) => {
            error!("cannot read the rejected messages: {e}");
            return Exit::Unavailable;
        }
    };
    let set = set_name(sink);
    if chosen.is_empty() {
        out!("purge: no rejected message in {set}{filter}; nothing deleted");
        return Exit::Ok;
    }
    if !args.yes {
        let question = format!(
            "Delete {} rejected message(s) from {set}{filter} for good? [y/N] ",
            chosen.len()
        );
        match confirm(question, shutdown).await {
            Some(true) => {}
            Some(false) => {
                out!("purge: not confirmed; nothing deleted");
                return Exit::Ok;
            }
            None => {
                out!("purge: interrupted; nothing deleted");
                return Exit::Interrupted;
            }
        }
    }
    let mut tally = Tally::default();
    let report = Report::new(chosen.len(), "purging");
    for batch in chosen.chunks(sink.settings().batch_size.max(1)) {
        if shutdown.is_cancelled() {
            tally.interrupted = true;
            break;
        }
        let refs: Vec<&RejectedRecord> = batch.iter().collect();
        match sink.delete_rejected(&refs).await {
            Ok(rows) => {
                for (r, row) in batch.iter().zip(rows) {
                    match row {
                        Ok(()) => tally.done += 1,
                        Err(e) => {
                            tally.failed += 1;
                            report.fail(format!("cannot delete {}: {e}", r.id));
                        }
                    }
                }
            }
            Err(e) => {
                report.fail(format!("cannot delete: {e}"));
                tally.unavailable = true;
                break;
            }
        }
        report.advance(batch.len());
    }
    report.done();
    out!(
        "purge: deleted {} of {} rejected message(s) from {set}{filter}{}",
        tally.done,
        chosen.len(),
        if tally.done < chosen.len() {
            format!("; {} remain", chosen.len() - tally.done)
        } else {
            String::new()
        }
    );
    if tally.interrupted {
        out!("purge: interrupted by a signal; run the same command again to go on");
    }
    tally.exit()
}

/// Asks `question` on stderr and reads the answer from stdin: `Some(true)` for y/yes,
/// `None` when a signal came first.
async fn confirm(question: String, shutdown: &CancellationToken) -> Option<bool> {
    // stdin is read on a blocking thread: the runtime has one thread, and it must stay
    // free to see a SIGINT while the operator thinks.
    let answer = tokio::task::spawn_blocking(move || {
        eprint!("{question}");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    tokio::select! {
        answer = answer => {
            let line = answer.ok()?.unwrap_or_default();
            Some(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
        }
        () = shutdown.cancelled() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reason: &str, nsq_ts: i64, topic: &str) -> RejectedRecord {
        let mut r = crate::store::RejectedRecord::for_tests("k-1");
        r.reason = reason.to_owned();
        r.nsq_ts = nsq_ts;
        r.topic = topic.to_owned();
        r
    }

    #[test]
    fn filters_combine() {
        let none = Filter::default();
        let r = record("schema: \"id\" is a required property", 100, "events");
        assert!(none.matches(&r));
        let f = Filter {
            reason: Some("required".into()),
            since_ns: Some(100),
            topic: Some("events".into()),
        };
        assert!(f.matches(&r));
        assert!(!f.matches(&record("invalid JSON", 100, "events")));
        assert!(!f.matches(&record("required", 99, "events")));
        assert!(!f.matches(&record("required", 100, "other")));
        assert!(
            !Filter {
                reason: Some("Required".into()),
                ..Filter::default()
            }
            .matches(&r)
        );
        assert_eq!(none.to_string(), "");
        assert!(
            f.to_string()
                .starts_with(" with reason containing \"required\", received since 1970")
        );
    }

    #[test]
    fn previews_are_one_escaped_line() {
        let text = RejectedBody::Text("a\nb\tc".into());
        assert_eq!(preview(&text, 10), "a\\nb\\tc");
        assert_eq!(preview(&RejectedBody::Text("abcdef".into()), 3), "abc…");
        assert_eq!(
            preview(&RejectedBody::Bytes(vec![0xff, b'a']), 10),
            "\\xffa"
        );
    }

    #[test]
    fn json_fields_are_stable() {
        let mut r = record("why", 1_000_000_000, "t");
        r.body = Some(RejectedBody::Bytes(vec![0xff, 0]));
        let v = serde_json::to_value(RecordJson::of(&r)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "attempts",
                "body",
                "body_encoding",
                "body_len",
                "channel",
                "cut",
                "generation",
                "key",
                "nsq_ts",
                "reason",
                "time",
                "topic"
            ]
        );
        assert_eq!(v["body"], "/wA=");
        assert_eq!(v["body_encoding"], "base64");
        assert_eq!(v["body_len"], 2);
        assert_eq!(v["time"], "1970-01-01T00:00:01Z");
        r.body = Some(RejectedBody::Text("x".repeat(10)));
        r.body_len = Some(100_000);
        let v = serde_json::to_value(RecordJson::of(&r)).unwrap();
        assert_eq!(
            (v["body_len"].as_u64(), v["cut"].as_bool()),
            (Some(100_000), Some(true))
        );
    }

    #[test]
    fn runs_stay_under_the_byte_cap() {
        let items: Vec<(usize, Bytes)> = [3, 3, 3, 9, 1]
            .iter()
            .enumerate()
            .map(|(i, &n)| (i, Bytes::from(vec![0; n])))
            .collect();
        let runs: Vec<Vec<usize>> = by_bytes(items, 6)
            .into_iter()
            .map(|run| run.into_iter().map(|(i, _)| i).collect())
            .collect();
        assert_eq!(runs, [vec![0, 1], vec![2], vec![3], vec![4]]);
    }
}
