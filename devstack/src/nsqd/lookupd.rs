//! nsqlookupd's registration database (`nsqlookupd/registration_db.go`) with the one
//! producer it can know: the stand-in nsqd of the same process.
//!
//! Real nsqd tells nsqlookupd about each topic and channel it creates or deletes
//! (REGISTER / UNREGISTER over TCP); here the nsqd's state hands the registry its new
//! list of topics and channels after each such change, which has the same outcome:
//! registrations outlive the nsqd's topics (only the producer is removed, and only
//! `#ephemeral` registrations vanish), as with the real pair.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// nsqlookupd `--tombstone-lifetime` default: a tombstoned producer is left out of
/// `/lookup` this long.
pub(crate) const TOMBSTONE_LIFETIME: Duration = Duration::from_secs(45);

/// A registration key: `("topic", name, "")`, `("channel", topic, channel)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Reg {
    pub category: &'static str,
    pub key: String,
    pub sub_key: String,
}

impl Reg {
    fn topic(t: &str) -> Reg {
        Reg {
            category: "topic",
            key: t.to_owned(),
            sub_key: String::new(),
        }
    }

    fn channel(t: &str, c: &str) -> Reg {
        Reg {
            category: "channel",
            key: t.to_owned(),
            sub_key: c.to_owned(),
        }
    }
}

/// Whether the stand-in nsqd is a producer of a registration, and since when it is
/// tombstoned there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Producers {
    pub nsqd: bool,
    pub tombstoned_at: Option<Instant>,
}

impl Producers {
    pub fn is_tombstoned(&self, now: Instant) -> bool {
        self.tombstoned_at
            .is_some_and(|at| now.duration_since(at) < TOMBSTONE_LIFETIME)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub regs: BTreeMap<Reg, Producers>,
    /// The nsqd topics/channels last told to the registry: `(topic, None)` and
    /// `(topic, Some(channel))`.
    known: BTreeSet<(String, Option<String>)>,
}

impl Registry {
    /// Catches up with the nsqd's current topics and channels, as its REGISTER and
    /// UNREGISTER commands would have.
    pub fn sync(&mut self, current: BTreeSet<(String, Option<String>)>) {
        let gone: Vec<_> = self.known.difference(&current).cloned().collect();
        let new: Vec<_> = current.difference(&self.known).cloned().collect();
        for (topic, channel) in gone {
            self.unregister(&topic, channel.as_deref());
        }
        for (topic, channel) in new {
            if let Some(c) = &channel {
                self.regs.entry(Reg::channel(&topic, c)).or_default().nsqd = true;
            }
            self.regs.entry(Reg::topic(&topic)).or_default().nsqd = true;
        }
        self.known = current;
    }

    /// `lookup_protocol_v1.go` UNREGISTER: the producer leaves; an `#ephemeral`
    /// registration without producers goes.
    fn unregister(&mut self, topic: &str, channel: Option<&str>) {
        let drop_if_ephemeral = |regs: &mut BTreeMap<Reg, Producers>, r: Reg, name: &str| {
            if let Some(p) = regs.get_mut(&r) {
                p.nsqd = false;
                if name.ends_with("#ephemeral") {
                    regs.remove(&r);
                }
            }
        };
        match channel {
            Some(c) => drop_if_ephemeral(&mut self.regs, Reg::channel(topic, c), c),
            None => {
                for (r, p) in self.regs.iter_mut() {
                    if r.category == "channel" && r.key == topic {
                        p.nsqd = false;
                    }
                }
                drop_if_ephemeral(&mut self.regs, Reg::topic(topic), topic);
            }
        }
    }

    /// The nsqd's connection to nsqlookupd closed (it exited): nsqlookupd removes it
    /// as producer of every registration but keeps the registrations, ephemeral ones
    /// included (`lookup_protocol_v1.go` at the end of `IOLoop`); its tombstones go
    /// with it. It registers everything again when it reconnects.
    pub fn producer_gone(&mut self) {
        for p in self.regs.values_mut() {
            *p = Producers::default();
        }
        self.known.clear();
    }

    pub fn has_topic(&self, topic: &str) -> bool {
        self.regs.contains_key(&Reg::topic(topic))
    }

    pub fn topics(&self) -> Vec<String> {
        self.regs
            .keys()
            .filter(|r| r.category == "topic")
            .map(|r| r.key.clone())
            .collect()
    }

    pub fn channels(&self, topic: &str) -> Vec<String> {
        self.regs
            .keys()
            .filter(|r| r.category == "channel" && r.key == topic)
            .map(|r| r.sub_key.clone())
            .collect()
    }

    /// Whether `/lookup?topic=` lists the nsqd: it produces the topic and is not
    /// tombstoned.
    pub fn nsqd_produces(&self, topic: &str, now: Instant) -> bool {
        self.regs
            .get(&Reg::topic(topic))
            .is_some_and(|p| p.nsqd && !p.is_tombstoned(now))
    }

    /// The topics the nsqd produces, with their tombstone flags (for `/nodes`).
    pub fn nsqd_topics(&self, now: Instant) -> Vec<(String, bool)> {
        self.regs
            .iter()
            .filter(|(r, p)| r.category == "topic" && p.nsqd)
            .map(|(r, p)| (r.key.clone(), p.is_tombstoned(now)))
            .collect()
    }

    /// nsqlookupd `/topic/create`: a registration without producers.
    pub fn add_topic(&mut self, topic: &str) {
        self.regs.entry(Reg::topic(topic)).or_default();
    }

    /// nsqlookupd `/channel/create`: registers the channel and its topic.
    pub fn add_channel(&mut self, topic: &str, channel: &str) {
        self.regs.entry(Reg::channel(topic, channel)).or_default();
        self.regs.entry(Reg::topic(topic)).or_default();
    }

    /// nsqlookupd `/topic/delete`: the topic's and its channels' registrations go.
    pub fn remove_topic(&mut self, topic: &str) {
        self.regs
            .retain(|r, _| !(r.key == topic && (r.category == "topic" || r.category == "channel")));
    }

    /// nsqlookupd `/channel/delete`; `false` if it was not registered.
    pub fn remove_channel(&mut self, topic: &str, channel: &str) -> bool {
        self.regs.remove(&Reg::channel(topic, channel)).is_some()
    }

    /// nsqlookupd `/topic/tombstone`: the nsqd is left out of `/lookup` for a while.
    pub fn tombstone(&mut self, topic: &str, now: Instant) {
        if let Some(p) = self.regs.get_mut(&Reg::topic(topic))
            && p.nsqd
        {
            p.tombstoned_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(&str, Option<&str>)]) -> BTreeSet<(String, Option<String>)> {
        items
            .iter()
            .map(|(t, c)| ((*t).to_owned(), c.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn registrations_outlive_the_nsqd_topic_unless_ephemeral() {
        let mut r = Registry::default();
        r.sync(set(&[
            ("t", None),
            ("t", Some("c")),
            ("e#ephemeral", None),
            ("e#ephemeral", Some("c#ephemeral")),
        ]));
        let now = Instant::now();
        assert!(r.nsqd_produces("t", now));
        assert_eq!(r.channels("e#ephemeral"), vec!["c#ephemeral"]);
        r.sync(BTreeSet::new());
        assert!(r.has_topic("t"), "nsqlookupd keeps the registration");
        assert!(!r.nsqd_produces("t", now), "but without the producer");
        assert_eq!(r.channels("t"), vec!["c"]);
        assert!(!r.has_topic("e#ephemeral"));
        assert!(r.channels("e#ephemeral").is_empty());
    }

    #[test]
    fn a_tombstone_hides_the_producer_for_its_lifetime() {
        let mut r = Registry::default();
        r.sync(set(&[("t", None)]));
        let now = Instant::now();
        r.tombstone("t", now);
        assert!(!r.nsqd_produces("t", now));
        assert!(r.nsqd_produces("t", now + TOMBSTONE_LIFETIME));
    }
}
