//! `x-msrv rejected redrive`: publishes the selected records' bodies back to nsqd and
//! deletes the records nsqd took. The steps, in order: select the records and group
//! them by target topic ([`group_by_topic`]), find an nsqd for each topic, then batch by
//! batch read the bodies ([`Redrive::read_bodies`]), publish them in runs under
//! [`MAX_MPUB_BYTES`] ([`Redrive::publish_run`]) and delete what nsqd acknowledged
//! ([`Redrive::publish_and_delete`]).
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
//! A record whose body was cut (bin `body_len`) is never published: it is always kept
//! and reported.
//!
//! Just over 500 lines with its tests: the steps below share one `Redrive` state (the
//! sink, the HTTP client, the report and tally), and are read best in one place.
//!
//! # The dry run
//! `--dry-run` reads the bodies and publishes and deletes nothing. It also runs each
//! body through this configuration's record stage (what `x-msrv check --message`
//! does), so an operator who fixed the schema sees how many would now be stored before
//! sending them: the answer is this configuration's, which is the consumer's of these
//! messages when the redrive goes back to the topic this configuration reads.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error};

use super::dry_run::DryRun;
use super::filter::{Filter, select};
use super::nsqd::{NoNsqd, nsqd_for};
use super::output::{Report, out};
use super::{Tally, set_name};
use crate::commands::cli::RedriveArgs;
use crate::commands::exit::Exit;
use crate::config::Settings;
use crate::pipeline::store::{AerospikeSink, RejectedBody, RejectedRecord};
use nsq;

/// Bound on one publish to nsqd (`/mpub` of a batch, or `/pub` of one body).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// Most body bytes in one `/mpub`: under nsqd's default `--max-body-size` (5 MiB) with
/// room for the framing. A smaller nsqd limit makes nsqd refuse the batch
/// (`BODY_TOO_BIG`), and its bodies are then published one by one.
const MAX_MPUB_BYTES: usize = 4 * 1024 * 1024;

/// The records to publish by target topic (one `/mpub` carries one topic), oldest first
/// within each.
type Groups = BTreeMap<String, Vec<RejectedRecord>>;

/// `x-msrv rejected redrive`.
pub(super) async fn redrive(
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
    let groups = group_by_topic(chosen, args, &mut tally);
    let total: usize = groups.values().map(Vec::len).sum();
    let http = settings.nsq.consumer.http();
    let targets = match find_nsqds(&http, settings, &groups).await {
        Ok(targets) => targets,
        Err((topic, e)) => {
            error!("no nsqd to publish topic {topic:?} to, nothing published: {e}");
            return Exit::Unavailable;
        }
    };
    announce(args, &set, &filter, total, &groups, &targets, tally.cut);

    let mut redrive = Redrive {
        sink,
        http,
        shutdown,
        report: Report::new(total, if args.dry_run { "reading" } else { "redriving" }),
        tally,
        dry_run: args.dry_run.then(|| DryRun::new(&settings.message)),
    };
    redrive.move_all(&groups, &targets).await;
    redrive.report.done();
    summarize(
        &redrive.tally,
        redrive.dry_run.as_ref(),
        chosen_len,
        total,
        &set,
        started,
    )
}

/// The chosen records by the topic they go to (`--to-topic`, else their own). A record
/// with a cut body, or whose topic nsqd would refuse, is reported and kept.
fn group_by_topic(chosen: Vec<RejectedRecord>, args: &RedriveArgs, tally: &mut Tally) -> Groups {
    let mut groups = Groups::new();
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
    groups
}

/// The HTTP address of the nsqd for each topic; the first topic without one stops the
/// redrive before anything is published.
async fn find_nsqds(
    http: &nsq::HttpClient,
    settings: &Settings,
    groups: &Groups,
) -> Result<BTreeMap<String, String>, (String, NoNsqd)> {
    let mut targets = BTreeMap::new();
    for topic in groups.keys() {
        match nsqd_for(http, settings, topic).await {
            Ok(addr) => {
                targets.insert(topic.clone(), addr);
            }
            Err(e) => return Err((topic.clone(), e)),
        }
    }
    Ok(targets)
}

/// The first line: how many messages go where.
fn announce(
    args: &RedriveArgs,
    set: &str,
    filter: &Filter,
    total: usize,
    groups: &Groups,
    targets: &BTreeMap<String, String>,
    cut: usize,
) {
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
        if cut > 0 {
            format!("; {cut} with a cut body skipped")
        } else {
            String::new()
        }
    );
}

/// One redrive under way: what its steps share.
struct Redrive<'a> {
    sink: &'a AerospikeSink,
    http: nsq::HttpClient,
    shutdown: &'a CancellationToken,
    report: Report,
    tally: Tally,
    /// `--dry-run`: read and report, publish and delete nothing.
    dry_run: Option<DryRun<'a>>,
}

impl Redrive<'_> {
    /// Topic by topic, batch by batch, until all are done or a step stops the redrive
    /// (a signal, or nsqd or Aerospike failing; `tally` says which).
    async fn move_all(&mut self, groups: &Groups, targets: &BTreeMap<String, String>) {
        let batch_size = self.sink.settings().batch_size.max(1);
        for (topic, records) in groups {
            let addr = &targets[topic];
            for batch in records.chunks(batch_size) {
                if self.move_batch(topic, addr, batch).await.is_break() {
                    return;
                }
            }
        }
    }

    /// One batch: its bodies read, then published and deleted run by run. A signal is
    /// looked at before the batch and between its runs, never inside a run.
    async fn move_batch(
        &mut self,
        topic: &str,
        addr: &str,
        batch: &[RejectedRecord],
    ) -> ControlFlow<()> {
        self.stop_if_signalled()?;
        let read_started = Instant::now();
        let bodies = self.read_bodies(batch).await?;
        if let Some(dry_run) = &mut self.dry_run {
            for (r, body) in &bodies {
                let verdict = dry_run.judge(body);
                self.report.say(format!(
                    "would publish {} ({} bytes) to topic {topic} on nsqd {addr}; {verdict}",
                    r.id,
                    body.len()
                ));
                self.tally.done += 1;
            }
            self.report.advance(batch.len());
            return ControlFlow::Continue(());
        }
        for run in by_bytes(bodies, MAX_MPUB_BYTES) {
            // Each run: publish, then delete what nsqd acknowledged; a signal is
            // looked at only between runs.
            self.stop_if_signalled()?;
            self.publish_and_delete(topic, addr, run, read_started)
                .await?;
        }
        self.report.advance(batch.len());
        ControlFlow::Continue(())
    }

    /// Stops (as interrupted) once a signal came.
    fn stop_if_signalled(&mut self) -> ControlFlow<()> {
        if self.shutdown.is_cancelled() {
            self.tally.interrupted = true;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// The batch's records that can be published, with their bodies. A record gone
    /// since the scan is counted; one with a cut body, no body or that cannot be read
    /// is reported and kept. Stops (as unavailable) when Aerospike cannot be read.
    async fn read_bodies(
        &mut self,
        batch: &[RejectedRecord],
    ) -> ControlFlow<(), Vec<(RejectedRecord, Bytes)>> {
        let read = match self.sink.read_rejected(batch).await {
            Ok(read) => read,
            Err(e) => {
                self.report
                    .fail(format!("cannot read the rejected messages: {e}"));
                self.tally.unavailable = true;
                return ControlFlow::Break(());
            }
        };
        let mut bodies: Vec<(RejectedRecord, Bytes)> = Vec::with_capacity(batch.len());
        for (meta, full) in batch.iter().zip(read) {
            match full {
                Ok(None) => self.tally.gone += 1,
                Ok(Some(r)) if r.is_cut() => {
                    self.tally.cut += 1;
                    self.report.say(cut_notice(&r));
                }
                Ok(Some(r)) => match &r.body {
                    Some(body) => {
                        let bytes = body.to_bytes();
                        bodies.push((r, bytes));
                    }
                    None => {
                        self.tally.failed += 1;
                        self.report
                            .fail(format!("kept {}: the record has no body bin", r.id));
                    }
                },
                Err(e) => {
                    self.tally.failed += 1;
                    self.report
                        .fail(format!("kept {}: cannot read it: {e}", meta.id));
                }
            }
        }
        ControlFlow::Continue(bodies)
    }

    /// Publishes one run, then deletes the records nsqd acknowledged. Stops (as
    /// unavailable) when nsqd could not be reached or the delete failed as a whole.
    async fn publish_and_delete(
        &mut self,
        topic: &str,
        addr: &str,
        run: Vec<(RejectedRecord, Bytes)>,
        read_started: Instant,
    ) -> ControlFlow<()> {
        let publish_started = Instant::now();
        let (published, stop) = self.publish_run(addr, topic, run).await;
        let delete_started = Instant::now();
        let refs: Vec<&RejectedRecord> = published.iter().collect();
        let deleted = self.sink.delete_rejected(&refs).await;
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
                        Ok(()) => self.tally.done += 1,
                        Err(e) => {
                            self.tally.failed += 1;
                            self.report.fail(format!(
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
                self.tally.failed += published.len();
                self.report.fail(format!(
                    "published {} message(s) but could not delete their records \
                     ({e}): a later redrive publishes them again (harmless)",
                    published.len()
                ));
                self.tally.unavailable = true;
            }
        }
        if stop || self.tally.unavailable {
            self.tally.unavailable = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// Publishes one run of bodies: one `/mpub`; if nsqd refuses it (a 4xx: a body too big,
    /// a limit lower than ours), each body alone with `/pub`, so one bad body keeps only
    /// itself back. Returns the records nsqd acknowledged, and whether to stop (nsqd could
    /// not be reached: what it took is unknown, so nothing more is published).
    async fn publish_run(
        &mut self,
        addr: &str,
        topic: &str,
        run: Vec<(RejectedRecord, Bytes)>,
    ) -> (Vec<RejectedRecord>, bool) {
        let bodies: Vec<Bytes> = run.iter().map(|(_, b)| b.clone()).collect();
        match nsq::publish_batch(&self.http, addr, topic, &bodies, PUBLISH_TIMEOUT).await {
            Ok(()) => return (run.into_iter().map(|(r, _)| r).collect(), false),
            Err(e) if !e.refused => {
                self.tally.failed += run.len();
                self.report
                    .fail(format!("{e}; {} message(s) kept, stopping", run.len()));
                return (Vec::new(), true);
            }
            Err(e) if run.len() == 1 => {
                self.tally.failed += 1;
                self.report.fail(format!("kept {}: {e}", run[0].0.id));
                return (Vec::new(), false);
            }
            Err(_) => {}
        }
        let mut published = Vec::with_capacity(run.len());
        let mut rest = run.into_iter();
        for (r, body) in rest.by_ref() {
            match nsq::publish_batch(
                &self.http,
                addr,
                topic,
                std::slice::from_ref(&body),
                PUBLISH_TIMEOUT,
            )
            .await
            {
                Ok(()) => published.push(r),
                Err(e) if e.refused => {
                    self.tally.failed += 1;
                    self.report.fail(format!("kept {}: {e}", r.id));
                }
                Err(e) => {
                    self.tally.failed += 1;
                    self.report.fail(format!("kept {}: {e}; stopping", r.id));
                    self.tally.failed += rest.len();
                    return (published, true);
                }
            }
        }
        (published, false)
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

/// The last lines, and the exit status: how many moved, how many remain and why.
fn summarize(
    tally: &Tally,
    dry_run: Option<&DryRun>,
    chosen_len: usize,
    total: usize,
    set: &str,
    started: Instant,
) -> Exit {
    let remaining = chosen_len - tally.done - tally.gone;
    let secs = started.elapsed().as_secs_f64();
    if let Some(dry_run) = dry_run {
        out!(
            "dry run: would publish {} message(s), of which this configuration would now \
             store {} and reject {} again; {} skipped (cut bodies); nothing was published \
             or deleted",
            tally.done,
            dry_run.would_store,
            tally.done - dry_run.would_store,
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

#[cfg(test)]
mod tests {
    use super::*;

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
