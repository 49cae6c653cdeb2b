//! `x-msrv rejected list` and `x-msrv rejected show ID`: the commands that only read.

use std::fmt::Write as _;

use time::OffsetDateTime;
use tracing::error;

use super::filter::{Filter, select};
use super::output::{RecordJson, out, preview, size_of, time_of, write_out};
use super::set_name;
use crate::commands::cli::{RejectedListArgs, RejectedShowArgs};
use crate::commands::exit::Exit;
use crate::pipeline::store::{AerospikeSink, MAX_KEPT_BODY, RejectedBody};

/// How much of a body `rejected list` shows.
const PREVIEW_CHARS: usize = 120;

/// `x-msrv rejected list`.
pub(super) async fn list(sink: &AerospikeSink, args: &RejectedListArgs) -> Exit {
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
pub(super) async fn show(sink: &AerospikeSink, args: &RejectedShowArgs) -> Exit {
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
