//! Stand-in nsqd + nsqlookupd.
