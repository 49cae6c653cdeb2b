//! `rejected redrive --dry-run`'s verdict: each selected body run through this
//! configuration's record stage (what `x-msrv check --message` does), so an operator who
//! fixed the schema sees how many would now be stored before sending them.

use time::OffsetDateTime;

use crate::pipeline::record::{RecordRules, synthetic_id};

/// What a dry run adds: each body judged by the record stage of this configuration.
pub(super) struct DryRun<'a> {
    rules: &'a RecordRules,
    /// nsqd's timestamp for the bodies (only `message.key = "nsq-id"` reads it; nsqd
    /// gives a published body a new id and timestamp anyway).
    now_ns: i64,
    /// Bodies judged so far: the number of the next synthesized NSQ id.
    judged: u64,
    /// Bodies the record stage turned into a record.
    pub(super) would_store: usize,
}

impl<'a> DryRun<'a> {
    pub(super) fn new(rules: &'a RecordRules) -> Self {
        let now_ns = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(0);
        DryRun {
            rules,
            now_ns,
            judged: 0,
            would_store: 0,
        }
    }

    /// What the record stage says of `body` now, for the body's line.
    pub(super) fn judge(&mut self, body: &[u8]) -> String {
        let id = synthetic_id(self.judged);
        self.judged += 1;
        match self.rules.to_record(body, &id, self.now_ns) {
            Ok(_) => {
                self.would_store += 1;
                "it would now be stored".to_owned()
            }
            Err(rejection) => format!("it would be rejected again: {rejection}"),
        }
    }
}
