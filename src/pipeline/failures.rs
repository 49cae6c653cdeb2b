//! x-msrv's own count of failed writes per message, kept across runs in a small file of
//! the state directory.
//!
//! nsqd's `attempts` counts every delivery, including x-msrv's own hand-backs (a
//! message returned at a stop, one past N, one dropped by a failed task), so it cannot
//! say how often a message's write actually failed: a message returned by three runs
//! that stopped early and failed once would count four. `nsq.max-attempts` counts the
//! failures themselves, recorded here: a failed write adds one, any final outcome
//! (stored, kept, given up, dead-lettered) removes the message.
//!
//! The file (`failures`, one line per message: id, nsqd timestamp, count, Unix time of
//! the last failure) is read at start and replaced atomically at the end of a run.
//! Messages are told apart by id *and* nsqd's timestamp, since ids repeat between nsqd
//! instances. Entries whose last failure is older than [`FORGET_AFTER`] are dropped (the
//! message has long been settled elsewhere). The count is per host: several hosts on
//! one channel each count their own, so a message is given up after at most
//! `max-attempts` failures on each. A run that cannot write the file (killed, or the
//! directory not writable) loses only its own increments: counts only ever err low,
//! never high.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nsq::MessageId;

/// The file's name in the state directory.
pub const FILE_NAME: &str = "failures";

/// A failure older than this is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(14 * 24 * 3600);

/// Which message: nsqd's id and its timestamp (ns since the epoch).
type Key = (MessageId, i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    failures: u32,
    /// Unix seconds of the last failure.
    last: u64,
}

/// Failed writes per message; shared by a run's batches.
#[derive(Debug)]
pub struct FailureLog {
    /// Where it is saved; `None`: this run only.
    path: Option<PathBuf>,
    entries: Mutex<HashMap<Key, Entry>>,
    /// The entries as read, to tell whether anything changed.
    loaded: HashMap<Key, Entry>,
}

impl FailureLog {
    /// Counts kept for this run only.
    pub fn in_memory() -> FailureLog {
        FailureLog {
            path: None,
            entries: Mutex::new(HashMap::new()),
            loaded: HashMap::new(),
        }
    }

    /// Reads `dir/failures` (absent: no failures yet). An unreadable file is an error;
    /// a line that does not parse is skipped with a warning, never fatal.
    pub fn load(dir: &Path) -> std::io::Result<FailureLog> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let oldest = now_secs().saturating_sub(FORGET_AFTER.as_secs());
        let mut entries = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            match parse_line(line) {
                Some((key, entry)) if entry.last >= oldest => {
                    entries.insert(key, entry);
                }
                Some(_) => {}
                None => {
                    tracing::warn!(file = %path.display(), line = n + 1, "skipping a line that does not parse")
                }
            }
        }
        Ok(FailureLog {
            path: Some(path),
            loaded: entries.clone(),
            entries: Mutex::new(entries),
        })
    }

    /// Records one more failed write of a message; returns its failures so far.
    pub fn failed(&self, id: &MessageId, timestamp: i64) -> u32 {
        let mut entries = self.lock();
        let entry = entries.entry((*id, timestamp)).or_insert(Entry {
            failures: 0,
            last: 0,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now_secs();
        entry.failures
    }

    /// A message that reached a final outcome: its failures no longer matter.
    pub fn forget(&self, id: &MessageId, timestamp: i64) {
        let mut entries = self.lock();
        if !entries.is_empty() {
            entries.remove(&(*id, timestamp));
        }
    }

    /// Messages with failures on record.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the file if anything changed (creating the directory if need be): a
    /// temporary file in the same directory, then a rename over the old one, so a reader
    /// never sees half of it.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let entries = self.lock().clone();
        if entries == self.loaded {
            return Ok(());
        }
        let mut text = String::new();
        for ((id, timestamp), e) in &entries {
            let _ = writeln!(text, "{id} {timestamp} {} {}", e.failures, e.last);
        }
        if let Some(dir) = path.parent() {
            // The package's unit has systemd create it (StateDirectory=); a run by hand
            // as another user may be the first.
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding it leaves plain counts behind, nothing half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn parse_line(line: &str) -> Option<(Key, Entry)> {
    let mut fields = line.split(' ');
    let id: [u8; 16] = fields.next()?.as_bytes().try_into().ok()?;
    let timestamp = fields.next()?.parse().ok()?;
    let failures = fields.next()?.parse().ok()?;
    let last = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(((MessageId(id), timestamp), Entry { failures, last }))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> MessageId {
        let mut id = *b"0000000000000000";
        id[15] = b'0' + n;
        MessageId(id)
    }

    #[test]
    fn failures_count_up_and_are_forgotten_at_the_end() {
        let log = FailureLog::in_memory();
        assert_eq!(log.failed(&id(1), 7), 1);
        assert_eq!(log.failed(&id(1), 7), 2);
        assert_eq!(log.failed(&id(1), 8), 1, "same id, another message");
        log.forget(&id(1), 7);
        assert_eq!(log.failed(&id(1), 7), 1);
    }

    #[test]
    fn counts_survive_a_save_and_a_load() {
        let dir = tempfile::tempdir().unwrap();
        let log = FailureLog::load(dir.path()).unwrap();
        assert!(log.is_empty());
        log.failed(&id(1), 7);
        log.failed(&id(1), 7);
        log.failed(&id(2), 9);
        log.save().unwrap();

        let again = FailureLog::load(dir.path()).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(again.failed(&id(1), 7), 3);
        again.forget(&id(2), 9);
        again.save().unwrap();
        let third = FailureLog::load(dir.path()).unwrap();
        assert_eq!(third.len(), 1);
        assert!(!dir.path().join("failures.tmp").exists());
    }

    #[test]
    fn old_and_broken_lines_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let now = now_secs();
        let old = now - FORGET_AFTER.as_secs() - 10;
        std::fs::write(
            dir.path().join(FILE_NAME),
            format!(
                "0000000000000001 7 2 {now}\n0000000000000002 7 4 {old}\nnot a line\n000001 7 1 {now}\n"
            ),
        )
        .unwrap();
        let log = FailureLog::load(dir.path()).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log.failed(&id(1), 7), 3);
    }

    #[test]
    fn an_unchanged_log_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let log = FailureLog::load(dir.path()).unwrap();
        log.forget(&id(1), 7);
        log.save().unwrap();
        assert!(!dir.path().join(FILE_NAME).exists());
    }
}
