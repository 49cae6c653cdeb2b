//! Fuzz target: any bytes as a message body through the record stage (parse, schema,
//! key, bins) with the shipped schema and the default key rule, as a run builds it.
//!
//! The checks are `tests/it/hostile.rs::regression_corpus_never_panics`'s, which replays
//! `fuzz/corpus/record/` under plain `cargo test`: no panic; a record has an Int or
//! String key and at least one bin, each named with 1..=15 bytes (Aerospike's limit);
//! a rejection has a reason a human can read and that fits in the kept record.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use aerospike::Value;
use libfuzzer_sys::fuzz_target;
use nsq::MessageId;
use x_msrv::pipeline::record::{RecordKey, RecordRules, SchemaValidator};

const SHIPPED_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../etc/message.schema.json");
/// The regression test's bound on a reason (`MAX_REASON_LEN` there): the product keeps
/// schema reasons to 3 violations of at most 200 bytes each.
const MAX_REASON_LEN: usize = 1024;
/// Aerospike's longest bin name.
const MAX_BIN_NAME: usize = 15;

/// Compiled once: compiling the schema per input would be most of the time spent.
fn rules() -> &'static RecordRules {
    static RULES: OnceLock<RecordRules> = OnceLock::new();
    RULES.get_or_init(|| {
        RecordRules::new(
            // The fuzzer cannot start without the schema we ship; a panic names it.
            SchemaValidator::from_file(Path::new(SHIPPED_SCHEMA))
                .unwrap_or_else(|e| panic!("{SHIPPED_SCHEMA}: {e}")),
            // A constant, valid JSON pointer.
            RecordKey::pointer("/id").expect("\"/id\" is a JSON pointer"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    match rules().to_record(data, &MessageId(*b"0123456789abcdef"), 0) {
        Ok(record) => {
            assert!(
                matches!(record.key, Value::Int(_) | Value::String(_)),
                "key {:?}",
                record.key
            );
            assert!(!record.bins.is_empty(), "a record without bins");
            for bin in &record.bins {
                assert!(
                    (1..=MAX_BIN_NAME).contains(&bin.name.len()),
                    "bin name {:?}",
                    bin.name
                );
            }
        }
        Err(rejection) => {
            let reason = rejection.to_string();
            assert!(
                !reason.is_empty() && reason.len() <= MAX_REASON_LEN,
                "reason of {} bytes: {reason}",
                reason.len()
            );
        }
    }
});
