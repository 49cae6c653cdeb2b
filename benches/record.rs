//! The record stage alone: a message body → a `Record` (JSON parse, schema, key, bins),
//! per layout of `make bench`. `cargo bench --bench record`; criterion prints the time
//! per message and its spread.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nsq::MessageId;
use x_msrv::pipeline::record::{RecordKey, RecordRules, SchemaValidator};

fn rules() -> RecordRules {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/etc/message.schema.json");
    let schema =
        SchemaValidator::from_file(std::path::Path::new(path)).expect("the shipped schema");
    RecordRules::new(schema, RecordKey::pointer("/id").expect("a pointer"))
}

fn layouts() -> Vec<(&'static str, String)> {
    let small = r#"{"id":7,"msg":"Some message-7","ext":[{"ext1":"xxx"},{"ext2":42}]}"#.to_owned();
    let test_file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/test/valid.json"))
            .expect("test/valid.json")
            .lines()
            .next()
            .expect("a message")
            .to_owned();
    let head = r#"{"id":7,"msg":""#;
    let tail = r#"","ext":[{"ext1":"xxx"},{"ext2":42}]}"#;
    let one_kib = format!("{head}{}{tail}", "x".repeat(1024 - head.len() - tail.len()));
    vec![
        ("small", small),
        ("test-file", test_file),
        ("1KiB", one_kib),
    ]
}

fn to_record(c: &mut Criterion) {
    let rules = rules();
    let id = MessageId(*b"0123456789abcdef");
    let mut group = c.benchmark_group("to_record");
    group.throughput(Throughput::Elements(1));
    for (name, body) in layouts() {
        rules
            .to_record(body.as_bytes(), &id, 0)
            .expect("a valid message");
        group.bench_function(name, |b| {
            b.iter(|| rules.to_record(body.as_bytes(), &id, 0))
        });
    }
    group.finish();
}

criterion_group!(benches, to_record);
criterion_main!(benches);
