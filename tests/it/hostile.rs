//! Hostile message bodies through the real `x-msrv` binary, judged by what the servers
//! hold afterwards.
//!
//! Each test publishes a list of named cases to the stand-in nsqd over its HTTP `/pub`
//! (so nsqd's own limits apply: an empty body, one past `--max-msg-size`), runs x-msrv
//! once with N = the number published, and then checks every case against Aerospike's
//! state: stored under its key with exactly the bins the documented rule gives, or kept
//! in the rejected set (keyed by its NSQ message id and timestamp) with its raw body and a reason that
//! says what is wrong. Nothing may be lost: every published body is accounted for exactly
//! once, the summary's counts agree with the records, and nsqd holds nothing queued, in
//! flight or deferred.
//!
//! - [`shipped_schema_hostile_bodies`]: the shipped `etc/message.schema.json` and the
//!   default key rule (`/id`), the configuration an operator starts from.
//! - [`open_schema_keys_and_bin_names`]: `test/hostile/open.schema.json` (an object with
//!   an `id`, nothing else), because the shipped schema refuses every hostile key and
//!   field name before the key and bin rules are reached.
//! - Ignored tests: product bugs, each asserting what should happen.
//! - [`regression_corpus_never_panics`]: every file of the fuzz corpus (`fuzz/corpus/`)
//!   through the record stage and the NSQ frame decoder, without the fuzzer.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::BytesMut;
use devstack::aerospike::StoredRecord;
use devstack::nsqd::NsqOptions;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use nsq::MessageId;
use nsq::frame::{self, Frame};
use x_msrv::pipeline::record::{RecordKey, RecordRules, SchemaValidator};
use x_msrv::pipeline::store::MAX_KEPT_BODY;

use crate::common::{self, CHANNEL, NAMESPACE, REJECTED, SET, SHIPPED_SCHEMA, Stack};

const OPEN_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test/hostile/open.schema.json");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus");
/// nsqd's `--max-msg-size` default; the stand-in must use the same for the size cases to
/// mean what they say (checked, not assumed).
const NSQD_DEFAULT_MAX_MSG_SIZE: usize = 1_048_576;
/// Open containers serde_json accepts: its `remaining_depth` starts at 128 and the
/// container that brings it to 0 fails with "recursion limit exceeded".
const SERDE_JSON_MAX_DEPTH: usize = 127;
/// Longest reason any rejection may carry. The product bounds schema reasons (3
/// violations of at most 200 bytes each); a hostile body must not make a huge reason.
const MAX_REASON_LEN: usize = 1024;
/// Bound on one x-msrv run here (the config's own timeout is shorter).
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// What must become of one published body.
#[derive(Debug, Clone)]
enum Expect {
    /// Stored under `key` with exactly these bins.
    Stored { key: Json, bins: Json },
    /// Kept in the rejected set with the whole raw body; the reason contains every
    /// fragment.
    Kept { reason: Vec<String> },
    /// Kept with the body cut to `MAX_KEPT_BODY` bytes and `body_len` the full length:
    /// the whole body does not fit in a record.
    KeptCut { reason: Vec<String> },
    /// nsqd refuses to take it: the HTTP status and nsqd's error message.
    Refused { status: u16, message: &'static str },
    /// Stored (under `key`) or kept, either way not lost. Only for inputs whose right
    /// outcome is a product bug asserted by an ignored test (`bug` names it).
    Accounted { key: Json, bug: &'static str },
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    body: Vec<u8>,
    expect: Expect,
}

/// Builds the case list; hands out a distinct record id per case so that every stored
/// record has its own key and every body is distinct.
struct Cases {
    list: Vec<Case>,
    next: i64,
}

impl Cases {
    fn new(first_id: i64) -> Self {
        Cases {
            list: Vec::new(),
            next: first_id,
        }
    }

    fn id(&mut self) -> i64 {
        self.next += 1;
        self.next
    }

    fn add(&mut self, name: &str, body: impl Into<Vec<u8>>, expect: Expect) {
        self.list.push(Case {
            name: name.to_owned(),
            body: body.into(),
            expect,
        });
    }

    fn stored(&mut self, name: &str, body: impl Into<Vec<u8>>, key: Json, bins: Json) {
        self.add(name, body, Expect::Stored { key, bins });
    }

    fn kept(&mut self, name: &str, body: impl Into<Vec<u8>>, reason: &[&str]) {
        let reason = reason.iter().map(|s| (*s).to_owned()).collect();
        self.add(name, body, Expect::Kept { reason });
    }

    /// `{"id": <id>, "msg": "m", "ext": [{"v": <value>}]}` with `value` as raw JSON text:
    /// a place where any JSON value passes the shipped schema.
    fn ext_value(&mut self, value: &str) -> (i64, Vec<u8>) {
        let id = self.id();
        let body = format!(r#"{{"id":{id},"msg":"m","ext":[{{"v":{value}}}]}}"#);
        (id, body.into_bytes())
    }
}

/// `{"id": id, "msg": "m", "ext": [{"v": v}]}` as bins.
fn ext_bins(id: i64, v: Json) -> Json {
    json!({"id": id, "msg": "m", "ext": [{"v": v}]})
}

fn shipped_schema() -> Json {
    serde_json::from_str(&std::fs::read_to_string(SHIPPED_SCHEMA).unwrap()).unwrap()
}

/// The shipped schema's `maxLength` of `msg`, so the boundary cases follow the file.
fn msg_max_length() -> usize {
    shipped_schema()["properties"]["msg"]["maxLength"]
        .as_u64()
        .expect("the shipped schema bounds msg with maxLength") as usize
}

/// `depth` nested arrays around `1`, as text and as the value it parses to.
fn nested_arrays(depth: usize) -> (String, Json) {
    let text = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let mut value = json!(1);
    for _ in 0..depth {
        value = json!([value]);
    }
    (text, value)
}

fn shipped_schema_cases() -> Cases {
    let mut c = Cases::new(1000);
    let max_len = msg_max_length();

    // --- Not JSON at all, or not UTF-8 ---
    c.kept(
        "not JSON",
        "hello, world",
        &["invalid JSON at line 1 column 1: expected value"],
    );
    c.kept(
        "truncated object",
        r#"{"id": 1, "msg": "m""#,
        &["invalid JSON at line 1 column 20: EOF while parsing an object"],
    );
    let id = c.id();
    c.kept(
        "UTF-8 BOM before a valid message",
        format!("\u{feff}{{\"id\":{id},\"msg\":\"m\"}}"),
        &["invalid JSON at line 1 column 1: expected value"],
    );
    let id = c.id();
    c.kept(
        "non-UTF-8 byte 0xff in a string",
        [format!(r#"{{"id":{id},"msg":""#).as_bytes(), b"\xff\"}"].concat(),
        &["invalid JSON at line 1", "invalid unicode code point"],
    );
    let id = c.id();
    c.kept(
        "Latin-1 text (0xe9) in a string",
        [format!(r#"{{"id":{id},"msg":"caf"#).as_bytes(), b"\xe9\"}"].concat(),
        &["invalid JSON at line 1", "invalid unicode code point"],
    );
    let id = c.id();
    c.kept(
        "overlong UTF-8 (0xc0 0xaf) in a string",
        [format!(r#"{{"id":{id},"msg":""#).as_bytes(), b"\xc0\xaf\"}"].concat(),
        &["invalid JSON at line 1", "invalid unicode code point"],
    );
    let id = c.id();
    let utf16: Vec<u8> = format!(r#"{{"id":{id},"msg":"m"}}"#)
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    c.kept(
        "UTF-16LE encoded message",
        utf16,
        &["invalid JSON at line 1 column 2: key must be a string"],
    );

    // --- NUL bytes ---
    let id = c.id();
    c.kept(
        "raw NUL byte inside a string",
        format!("{{\"id\":{id},\"msg\":\"a\0b\"}}"),
        &[
            "invalid JSON",
            "control character (\\u0000-\\u001F) found while parsing a string",
        ],
    );
    let id = c.id();
    c.kept(
        "NUL byte after the document",
        format!("{{\"id\":{id},\"msg\":\"m\"}}\0"),
        &["invalid JSON", "trailing characters"],
    );
    let id = c.id();
    c.stored(
        "escaped NUL (\\u0000) inside msg",
        format!(r#"{{"id":{id},"msg":"a\u0000b"}}"#),
        json!(id),
        json!({"id": id, "msg": "a\u{0}b"}),
    );
    let id = c.id();
    c.kept(
        "raw tab (a control character) inside a string",
        format!("{{\"id\":{id},\"msg\":\"a\tb\"}}"),
        &["invalid JSON", "control character"],
    );

    // --- Surrogates and escapes ---
    let id = c.id();
    c.kept(
        "lone leading surrogate \\ud800",
        format!(r#"{{"id":{id},"msg":"\ud800"}}"#),
        &["invalid JSON", "unexpected end of hex escape"],
    );
    let id = c.id();
    c.kept(
        "lone trailing surrogate \\udc00",
        format!(r#"{{"id":{id},"msg":"\udc00"}}"#),
        &["invalid JSON", "lone leading surrogate in hex escape"],
    );
    let id = c.id();
    c.kept(
        "leading surrogate followed by a BMP escape",
        format!(r#"{{"id":{id},"msg":"\ud800\u0041"}}"#),
        &["invalid JSON", "lone leading surrogate in hex escape"],
    );
    let id = c.id();
    c.stored(
        "surrogate pair \\ud83d\\ude00 (one emoji)",
        format!(r#"{{"id":{id},"msg":"\ud83d\ude00"}}"#),
        json!(id),
        json!({"id": id, "msg": "\u{1F600}"}),
    );
    let id = c.id();
    c.kept(
        "invalid escape \\x41",
        format!(r#"{{"id":{id},"msg":"\x41"}}"#),
        &["invalid JSON", "invalid escape"],
    );

    // --- Not numbers JSON has ---
    let (_, body) = c.ext_value("NaN");
    c.kept("NaN literal", body, &["invalid JSON", "expected value"]);
    let (_, body) = c.ext_value("Infinity");
    c.kept(
        "Infinity literal",
        body,
        &["invalid JSON", "expected value"],
    );
    let (_, body) = c.ext_value("-Infinity");
    c.kept(
        "-Infinity literal",
        body,
        &["invalid JSON", "invalid number"],
    );
    let (_, body) = c.ext_value("01");
    c.kept("leading zero 01", body, &["invalid JSON", "invalid number"]);
    let (_, body) = c.ext_value("+1");
    c.kept("leading plus +1", body, &["invalid JSON", "expected value"]);

    // --- More than one document, or junk around one ---
    let id = c.id();
    c.kept(
        "trailing data after the document",
        format!(r#"{{"id":{id},"msg":"m"}} x"#),
        &["invalid JSON", "trailing characters"],
    );
    let (a, b) = (c.id(), c.id());
    c.kept(
        "two documents back to back",
        format!(r#"{{"id":{a},"msg":"m"}}{{"id":{b},"msg":"m"}}"#),
        &["invalid JSON", "trailing characters"],
    );
    let (a, b) = (c.id(), c.id());
    c.kept(
        "two documents on two lines (an mpub body sent to /pub)",
        format!("{{\"id\":{a},\"msg\":\"m\"}}\n{{\"id\":{b},\"msg\":\"m\"}}"),
        &["invalid JSON at line 2 column 1: trailing characters"],
    );
    let id = c.id();
    c.stored(
        "trailing newline and whitespace (allowed by JSON)",
        format!("  {{\"id\":{id},\"msg\":\"m\"}}\r\n\t \n"),
        json!(id),
        json!({"id": id, "msg": "m"}),
    );
    let id = c.id();
    c.kept(
        "trailing comma",
        format!(r#"{{"id":{id},"msg":"m",}}"#),
        &["invalid JSON", "trailing comma"],
    );
    c.kept(
        "single-quoted keys",
        "{'id':1,'msg':'m'}",
        &["invalid JSON at line 1 column 2: key must be a string"],
    );
    let id = c.id();
    c.kept(
        "a comment",
        format!(r#"{{"id":{id} /* c */,"msg":"m"}}"#),
        &["invalid JSON", "expected `,` or `}`"],
    );

    // --- Nesting around serde_json's limit ---
    // The message (1), ext (2) and its object (3) are open around "v".
    let (text, value) = nested_arrays(SERDE_JSON_MAX_DEPTH - 3);
    let (id, body) = c.ext_value(&text);
    c.stored(
        "nesting at the parser's limit (127 levels)",
        body,
        json!(id),
        ext_bins(id, value),
    );
    let (text, _) = nested_arrays(SERDE_JSON_MAX_DEPTH - 2);
    let (_, body) = c.ext_value(&text);
    c.kept(
        "nesting one past the parser's limit (128 levels)",
        body,
        &["invalid JSON", "recursion limit exceeded"],
    );
    c.kept(
        "100 000 open brackets",
        "[".repeat(100_000),
        &[&format!(
            "invalid JSON at line 1 column {}: recursion limit exceeded",
            SERDE_JSON_MAX_DEPTH + 1
        )],
    );
    c.kept(
        "10 000 nested objects",
        format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)),
        &["invalid JSON", "recursion limit exceeded"],
    );

    // --- Top level not an object: the schema's root "type" ---
    for (name, body, shown) in [
        ("top-level array", "[1,2]", "[1,2]"),
        ("top-level string", r#""s""#, r#""s""#),
        ("top-level number", "42", "42"),
        ("top-level null", "null", "null"),
        ("top-level true", "true", "true"),
    ] {
        let want = format!(r#"schema: (root): {shown} is not of type "object""#);
        c.kept(name, body, &[&want]);
    }

    // --- Empty ---
    c.add(
        "empty body",
        "",
        Expect::Refused {
            status: 400,
            message: "MSG_EMPTY",
        },
    );
    c.kept(
        "whitespace only",
        " \n\t\r ",
        &["invalid JSON at line 2 column 3: EOF while parsing a value"],
    );

    // --- Numbers as values (inside ext, where the schema allows any value) ---
    let (id, body) = c.ext_value("9223372036854775807");
    c.stored(
        "integer i64::MAX",
        body,
        json!(id),
        ext_bins(id, json!(i64::MAX)),
    );
    let (id, body) = c.ext_value("-9223372036854775808");
    c.stored(
        "integer i64::MIN",
        body,
        json!(id),
        ext_bins(id, json!(i64::MIN)),
    );
    let (id, body) = c.ext_value("9223372036854775808");
    c.stored(
        "integer 2^63 (above i64): its decimal string",
        body,
        json!(id),
        ext_bins(id, json!("9223372036854775808")),
    );
    let (id, body) = c.ext_value("18446744073709551615");
    c.stored(
        "integer u64::MAX: its decimal string",
        body,
        json!(id),
        ext_bins(id, json!("18446744073709551615")),
    );
    let (id, body) = c.ext_value("18446744073709551616");
    c.stored(
        "integer 2^64 (above u64): a float",
        body,
        json!(id),
        ext_bins(id, json!(18_446_744_073_709_551_616.0_f64)),
    );
    let (_, body) = c.ext_value(&"9".repeat(400));
    c.kept(
        "integer of 400 digits",
        body,
        &["invalid JSON", "number out of range"],
    );
    let (_, body) = c.ext_value("1e400");
    c.kept("1e400", body, &["invalid JSON", "number out of range"]);
    let (id, body) = c.ext_value("1e-400");
    c.stored(
        "1e-400 (underflows to 0.0)",
        body,
        json!(id),
        ext_bins(id, json!(0.0)),
    );
    let (id, body) = c.ext_value("-0.0");
    c.stored(
        "-0.0 (sign kept)",
        body,
        json!(id),
        ext_bins(id, json!(-0.0)),
    );
    let (id, body) = c.ext_value("1.0");
    c.stored(
        "1.0 as a value (a float, not an integer)",
        body,
        json!(id),
        ext_bins(id, json!(1.0)),
    );
    let (id, body) = c.ext_value("0.1000000000000000055511151231257827021181583404541015625");
    c.stored(
        "a fraction with 55 digits",
        body,
        json!(id),
        ext_bins(id, json!(0.1)),
    );

    // --- The key (/id) under the shipped schema: "type": "integer", "minimum": 0 ---
    c.stored(
        "id i64::MAX",
        r#"{"id":9223372036854775807,"msg":"m"}"#,
        json!(i64::MAX),
        json!({"id": i64::MAX, "msg": "m"}),
    );
    c.stored(
        "id 0",
        r#"{"id":0,"msg":"m"}"#,
        json!(0),
        json!({"id": 0, "msg": "m"}),
    );
    c.kept(
        "id 2^63 (above i64)",
        r#"{"id":9223372036854775808,"msg":"m"}"#,
        &["key: /id is 9223372036854775808, above the largest Aerospike integer key (2^63-1)"],
    );
    c.kept(
        "id 2^64 (above u64)",
        r#"{"id":18446744073709551616,"msg":"m"}"#,
        &["key: /id is "],
    );
    let id = c.id();
    c.add(
        "id 1.0 (integer-valued float)",
        format!(r#"{{"id":{id}.0,"msg":"m"}}"#),
        Expect::Accounted {
            key: json!(id),
            bug: "integer_valued_float_ids_are_stored_under_their_integer",
        },
    );
    let id = c.id();
    c.add(
        "id 1e3 notation (integer-valued float)",
        format!(r#"{{"id":{}e3,"msg":"m"}}"#, id),
        Expect::Accounted {
            key: json!(id * 1000),
            bug: "integer_valued_float_ids_are_stored_under_their_integer",
        },
    );
    // id -0.0 is key 0, the same record as "id 0" above: it is checked on its own in
    // `integer_valued_float_ids_are_stored_under_their_integer`.
    c.kept(
        "id missing (schema: required)",
        r#"{"msg":"no id"}"#,
        &[r#"schema: (root): "id" is a required property"#],
    );
    c.kept(
        "id null",
        r#"{"id":null,"msg":"m"}"#,
        &[r#"schema: /id: null is not of type "integer""#],
    );
    c.kept(
        "id an object",
        r#"{"id":{"n":1},"msg":"m"}"#,
        &[r#"schema: /id: {"n":1} is not of type "integer""#],
    );
    c.kept(
        "id an array",
        r#"{"id":[1],"msg":"m"}"#,
        &[r#"schema: /id: [1] is not of type "integer""#],
    );
    c.kept(
        "id an empty string",
        r#"{"id":"","msg":"m"}"#,
        &[r#"schema: /id: "" is not of type "integer""#],
    );
    c.kept(
        "id a numeric string",
        r#"{"id":"7","msg":"m"}"#,
        &[r#"schema: /id: "7" is not of type "integer""#],
    );
    c.kept(
        "id a 100 KB string",
        format!(r#"{{"id":"{}","msg":"m"}}"#, "k".repeat(100 * 1024)),
        &[
            r#"schema: /id: "kkkk"#,
            "bytes left out",
            r#"is not of type "integer""#,
        ],
    );
    c.kept(
        "id 1.5 (schema: type integer)",
        r#"{"id":1.5,"msg":"m"}"#,
        &[r#"schema: /id: 1.5 is not of type "integer""#],
    );
    c.kept(
        "id -1 (schema: minimum)",
        r#"{"id":-1,"msg":"m"}"#,
        &["schema: /id: -1 is less than the minimum of 0"],
    );
    let (a, b) = (c.id(), c.id());
    c.stored(
        "duplicate id: the last one wins",
        format!(r#"{{"id":{a},"msg":"m","id":{b}}}"#),
        json!(b),
        json!({"id": b, "msg": "m"}),
    );
    let id = c.id();
    c.stored(
        "duplicate msg: the last one wins",
        format!(r#"{{"id":{id},"msg":"first","msg":"second"}}"#),
        json!(id),
        json!({"id": id, "msg": "second"}),
    );
    let id = c.id();
    c.kept(
        "duplicate msg: the last one is checked",
        format!(r#"{{"id":{id},"msg":"fine","msg":5}}"#),
        &[r#"schema: /msg: 5 is not of type "string""#],
    );

    // --- Every other keyword of the shipped schema ---
    let id = c.id();
    c.kept(
        "schema type: msg a number",
        format!(r#"{{"id":{id},"msg":12}}"#),
        &[r#"schema: /msg: 12 is not of type "string""#],
    );
    let id = c.id();
    c.kept(
        "schema type: ext an object",
        format!(r#"{{"id":{id},"msg":"m","ext":{{}}}}"#),
        &[r#"schema: /ext: {} is not of type "array""#],
    );
    let id = c.id();
    c.kept(
        "schema type: ext null (a top-level null is still checked)",
        format!(r#"{{"id":{id},"msg":"m","ext":null}}"#),
        &[r#"schema: /ext: null is not of type "array""#],
    );
    let id = c.id();
    c.kept(
        "schema required: msg missing",
        format!(r#"{{"id":{id}}}"#),
        &[r#"schema: (root): "msg" is a required property"#],
    );
    let id = c.id();
    c.stored(
        "schema maxLength: msg of exactly maxLength ASCII characters",
        format!(r#"{{"id":{id},"msg":"{}"}}"#, "a".repeat(max_len)),
        json!(id),
        json!({"id": id, "msg": "a".repeat(max_len)}),
    );
    let id = c.id();
    c.stored(
        "schema maxLength: maxLength two-byte characters (counts characters, not bytes)",
        format!(r#"{{"id":{id},"msg":"{}"}}"#, "é".repeat(max_len)),
        json!(id),
        json!({"id": id, "msg": "é".repeat(max_len)}),
    );
    let id = c.id();
    c.kept(
        "schema maxLength: msg one character too long",
        format!(r#"{{"id":{id},"msg":"{}"}}"#, "b".repeat(max_len + 1)),
        &[r#"schema: /msg: "bbbb"#, "bytes left out", "is longer than"],
    );
    let id = c.id();
    c.kept(
        "schema additionalProperties: one unknown field",
        format!(r#"{{"id":{id},"msg":"m","extra":1}}"#),
        &["schema: (root): Additional properties are not allowed ('extra' was unexpected)"],
    );
    let id = c.id();
    c.kept(
        "schema items: ext holding a number",
        format!(r#"{{"id":{id},"msg":"m","ext":[1]}}"#),
        &[r#"schema: /ext/0: 1 is not of type "object""#],
    );
    let id = c.id();
    c.kept(
        "schema minProperties: ext holding an empty object",
        format!(r#"{{"id":{id},"msg":"m","ext":[{{}}]}}"#),
        &["schema: /ext/0: {} has less than 1 property"],
    );
    let id = c.id();
    c.kept(
        "schema: 10 000 violations are summarised",
        format!(r#"{{"id":{id},"msg":"m","ext":[{}1]}}"#, "1,".repeat(9_999)),
        &[
            r#"schema: /ext/0: 1 is not of type "object"; /ext/1: "#,
            "; and 9997 more",
        ],
    );

    // --- Field names (bins) under the shipped schema: unknown fields are refused ---
    for (name, field) in [
        ("field name empty", String::new()),
        ("field name 15 bytes", "f".repeat(15)),
        ("field name 16 bytes", "f".repeat(16)),
        ("field name 15 bytes of UTF-8 (5 x €)", "€".repeat(5)),
        ("field name 16 bytes of UTF-8 (8 x é)", "é".repeat(8)),
        ("field name with a dot", "a.b".to_owned()),
        ("field name with a space", "a b".to_owned()),
    ] {
        let id = c.id();
        let want = format!("Additional properties are not allowed ('{field}' was unexpected)");
        c.kept(
            name,
            format!(r#"{{"id":{id},"msg":"m","{field}":1}}"#),
            &[&want],
        );
    }
    let id = c.id();
    c.kept(
        "field name with an escaped NUL",
        format!(r#"{{"id":{id},"msg":"m","a\u0000b":1}}"#),
        &["Additional properties are not allowed ('a\u{0}b' was unexpected)"],
    );
    let id = c.id();
    let fields: String = (0..300).map(|i| format!(r#","f{i:03}":{i}"#)).collect();
    c.kept(
        "300 unknown fields",
        format!(r#"{{"id":{id},"msg":"m"{fields}}}"#),
        &["schema: (root): Additional properties are not allowed ('f000', 'f001', "],
    );

    // --- Size ---
    let id = c.id();
    let items = vec![r#"{"k":1}"#; 10_000].join(",");
    c.stored(
        "ext of 10 000 objects",
        format!(r#"{{"id":{id},"msg":"m","ext":[{items}]}}"#),
        json!(id),
        json!({"id": id, "msg": "m", "ext": vec![json!({"k": 1}); 10_000]}),
    );
    let (id, body) = c.ext_value(&format!("[{}0]", "0,".repeat(9_999)));
    c.stored(
        "a list of 10 000 numbers",
        body,
        json!(id),
        ext_bins(id, json!(vec![0; 10_000])),
    );
    let s = "x".repeat(64 * 1024);
    let (id, body) = c.ext_value(&format!("\"{s}\""));
    c.stored("a 64 KiB string", body, json!(id), ext_bins(id, json!(s)));
    let id = c.id();
    let long_key = "k".repeat(1000);
    c.stored(
        "a 1000-byte map key (nested names are not bins)",
        format!(r#"{{"id":{id},"msg":"m","ext":[{{"{long_key}":null}}]}}"#),
        json!(id),
        json!({"id": id, "msg": "m", "ext": [{long_key: null}]}),
    );
    let (id, body) = c.ext_value(&format!("\"{}\"", "p".repeat(900_000)));
    c.stored(
        "a 900 KB message",
        body,
        json!(id),
        ext_bins(id, json!("p".repeat(900_000))),
    );
    // A valid message exactly at nsqd's limit: more than a 1 MiB record can hold.
    let id = c.id();
    let head = format!(r#"{{"id":{id},"msg":"m","ext":[{{"v":""#);
    let tail = r#""}]}"#;
    let pad = NSQD_DEFAULT_MAX_MSG_SIZE - head.len() - tail.len();
    c.add(
        "a valid message of exactly nsqd's max size (1 MiB)",
        format!("{head}{}{tail}", "q".repeat(pad)),
        Expect::KeptCut {
            reason: vec!["not storable: Aerospike refused the record: Record too big".into()],
        },
    );
    c.add(
        "1 MiB of non-JSON",
        "z".repeat(NSQD_DEFAULT_MAX_MSG_SIZE),
        Expect::KeptCut {
            reason: vec!["invalid JSON at line 1 column 1: expected value".into()],
        },
    );
    c.add(
        "one byte past nsqd's max size",
        "y".repeat(NSQD_DEFAULT_MAX_MSG_SIZE + 1),
        Expect::Refused {
            status: 413,
            message: "MSG_TOO_BIG",
        },
    );
    c
}

fn open_schema_cases() -> Cases {
    let mut c = Cases::new(5000);
    // --- Bin names: 1 to 15 bytes, counted in bytes ---
    let id = c.id();
    c.kept(
        "bin name empty",
        format!(r#"{{"id":{id},"":1}}"#),
        &[r#"bins: field name "" is 0 bytes; Aerospike bin names are 1 to 15 bytes"#],
    );
    for (name, field) in [
        ("bin name 1 byte", "a".to_owned()),
        ("bin name 15 bytes", "f".repeat(15)),
        ("bin name 15 bytes of UTF-8 (5 x €)", "€".repeat(5)),
        (
            "bin name 15 bytes of UTF-8 (5 x 2-byte + 5 x 1-byte)",
            "ééééé12345".to_owned(),
        ),
        ("bin name with a dot", "a.b".to_owned()),
        ("bin name with spaces", " a b ".to_owned()),
        ("bin name of punctuation", "$[]{}\\\"'".to_owned()),
    ] {
        let id = c.id();
        let body = json!({"id": id, field.clone(): "v"}).to_string();
        c.stored(name, body, json!(id), json!({"id": id, field: "v"}));
    }
    for (name, field, len) in [
        ("bin name 16 bytes", "g".repeat(16), 16),
        ("bin name 16 bytes of UTF-8 (8 x é)", "é".repeat(8), 16),
        (
            "bin name 16 bytes of UTF-8 (5 x € + 1)",
            format!("{}1", "€".repeat(5)),
            16,
        ),
        ("bin name 15 characters, 30 bytes", "é".repeat(15), 30),
    ] {
        let id = c.id();
        let body = json!({"id": id, field.clone(): "v"}).to_string();
        let want = format!("bins: field name {field:?} is {len} bytes");
        c.kept(name, body, &[&want]);
    }
    // Not lost; but its reason quotes the whole name: see the ignored
    // `a_huge_field_name_is_kept_with_a_bounded_reason`.
    let id = c.id();
    c.add(
        "bin name 1000 bytes",
        json!({"id": id, "h".repeat(1000): "v"}).to_string(),
        Expect::Accounted {
            key: json!(id),
            bug: "a_huge_field_name_is_kept_with_a_bounded_reason",
        },
    );
    let id = c.id();
    c.kept(
        "a good bin name and a 16-byte one: the whole message is refused",
        format!(r#"{{"id":{id},"ok":1,"sixteen_bytes___":2}}"#),
        &[r#"bins: field name "sixteen_bytes___" is 16 bytes"#],
    );
    let id = c.id();
    c.kept(
        "bin name with an escaped NUL: the server refuses it",
        format!(r#"{{"id":{id},"a\u0000b":1}}"#),
        &["not storable: Aerospike refused the record: Bin name"],
    );
    let id = c.id();
    let mut bins = serde_json::Map::new();
    bins.insert("id".into(), json!(id));
    let mut body = format!(r#"{{"id":{id}"#);
    for i in 0..300 {
        body.push_str(&format!(r#","f{i:03}":{i}"#));
        bins.insert(format!("f{i:03}"), json!(i));
    }
    body.push('}');
    c.stored("300 fields: 301 bins", body, json!(id), Json::Object(bins));
    let id = c.id();
    c.stored(
        "a top-level null field is left out, a nested one kept",
        format!(r#"{{"id":{id},"gone":null,"m":{{"kept":null}}}}"#),
        json!(id),
        json!({"id": id, "m": {"kept": null}}),
    );

    // --- The key rule itself (the open schema does not type id) ---
    c.kept(
        "key null",
        r#"{"id":null,"x":1}"#,
        &["key: /id is null; a key must be an integer or a string"],
    );
    c.kept(
        "key an object",
        r#"{"id":{"n":1},"x":2}"#,
        &["key: /id is an object; a key must be an integer or a string"],
    );
    c.kept(
        "key an array",
        r#"{"id":[1],"x":3}"#,
        &["key: /id is an array; a key must be an integer or a string"],
    );
    c.kept(
        "key a boolean",
        r#"{"id":true,"x":4}"#,
        &["key: /id is a boolean; a key must be an integer or a string"],
    );
    c.kept(
        "key a fraction",
        r#"{"id":1.5,"x":5}"#,
        &["key: /id is 1.5; a key must be an integer or a string"],
    );
    c.kept(
        "key missing",
        r#"{"x":6}"#,
        &[r#"schema: (root): "id" is a required property"#],
    );
    c.kept(
        "key 2^63 (above i64)",
        r#"{"id":9223372036854775808,"x":7}"#,
        &["key: /id is 9223372036854775808, above the largest Aerospike integer key"],
    );
    c.stored(
        "key an empty string",
        r#"{"id":"","x":8}"#,
        json!(""),
        json!({"id": "", "x": 8}),
    );
    c.stored(
        "key a numeric string (a string key, not the integer)",
        r#"{"id":"5001","x":9}"#,
        json!("5001"),
        json!({"id": "5001", "x": 9}),
    );
    let big = "K".repeat(100 * 1024);
    c.stored(
        "key a 100 KB string",
        format!(r#"{{"id":"{big}","x":10}}"#),
        json!(big),
        json!({"id": big, "x": 10}),
    );
    c.stored(
        "key a string with NUL and emoji",
        r#"{"id":"a\u0000\ud83d\ude00","x":11}"#,
        json!("a\u{0}\u{1F600}"),
        json!({"id": "a\u{0}\u{1F600}", "x": 11}),
    );
    c.stored(
        "key i64::MIN",
        r#"{"id":-9223372036854775808,"x":12}"#,
        json!(i64::MIN),
        json!({"id": i64::MIN, "x": 12}),
    );
    c.kept(
        "only the key and nulls: no bin but the key's",
        r#"{"id":null}"#,
        &["key: /id is null"],
    );
    c
}

/// The stand-ins (nsqd with its default `--max-msg-size`), a fresh topic and a place
/// for the config.
async fn start_stack() -> Stack {
    let nsq = NsqOptions::default();
    assert_eq!(
        nsq.max_msg_size, NSQD_DEFAULT_MAX_MSG_SIZE,
        "the stand-in nsqd's max message size is nsqd's default"
    );
    Stack::start_with(nsq).await
}

/// The config of a hostile run: `schema` (copied beside it), N = `n`, the default key
/// rule (no `message.key`), nsqd over TCP only, and timeouts long enough for 1 MiB
/// bodies.
fn hostile_config(stack: &Stack, topic: &str, schema: &str, n: usize) -> PathBuf {
    let file = stack
        .config_file(topic, n as u64)
        .set("timeout", "\"30s\"")
        .set("grace", "\"5s\"")
        .unset("nsq.nsqd-http")
        .set("nsq.connect-timeout", "\"5s\"")
        .set("aerospike.timeout", "\"5s\"");
    // config_file copied the shipped schema to where the config points; this run's
    // schema takes its place.
    std::fs::copy(schema, stack.dir.path().join("message.schema.json")).unwrap();
    file.write(&stack.dir.path().join("x-msrv.toml"))
}

/// `POST /pub?topic=` to nsqd's HTTP API: the status and the reply body.
async fn http_publish(addr: SocketAddr, topic: &str, body: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /pub?topic={topic} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).await.unwrap();
    let reply = String::from_utf8_lossy(&reply);
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP reply: {reply}"));
    let body = reply
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// A field of the `--summary-json` line.
fn summary(stdout: &str) -> Json {
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Json>(l).ok().filter(Json::is_object))
        .unwrap_or_else(|| panic!("no summary line in {stdout:?}"))
}

/// Equal as JSON, with floats compared bit for bit (so -0.0 is not 0.0) and integers
/// never equal to floats.
fn same_json(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (true, true) => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
            (false, false) => x == y,
            _ => false,
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A value for a failure message: cut, so a 1 MiB bin does not flood the output.
fn short(v: &impl std::fmt::Debug) -> String {
    let text = format!("{v:?}");
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}… ({} bytes)", &text[..i], text.len()),
        None => text,
    }
}

/// A raw body as the stand-in shows the `body` bin: a string when it is UTF-8, else the
/// blob as byte values.
fn body_json(body: &[u8]) -> Json {
    match std::str::from_utf8(body) {
        Ok(text) => json!(text),
        Err(_) => Json::Array(body.iter().map(|b| json!(b)).collect()),
    }
}

fn text(v: Option<&Json>) -> &str {
    v.and_then(Json::as_str).unwrap_or("")
}

/// Publishes every case, runs x-msrv once, and returns one line per failed check (empty
/// when all passed).
async fn run_cases(topic: &str, schema: &str, cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    let mut seen = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        if let Some(j) = seen.insert(case.body.clone(), i) {
            panic!(
                "cases {:?} and {:?} have the same body",
                cases[j].name, case.name
            );
        }
    }

    let stack = start_stack().await;
    // The channel first, so every message is queued on it from the start.
    stack.nsq.create_channel(topic, CHANNEL);
    let mut published = 0usize;
    for case in cases {
        let (status, reply) = http_publish(stack.nsq.http_addr(), topic, &case.body).await;
        match &case.expect {
            Expect::Refused {
                status: want,
                message,
            } => {
                if status != *want || !reply.contains(message) {
                    failures.push(format!(
                        "{}: nsqd answered {status} {reply:?}, expected {want} {message}",
                        case.name
                    ));
                }
            }
            _ if status == 200 => published += 1,
            _ => failures.push(format!(
                "{}: nsqd refused it: {status} {reply:?}",
                case.name
            )),
        }
    }
    assert!(failures.is_empty(), "publishing: {failures:#?}");
    // The list of cases and what each must become (shown with --nocapture).
    for case in cases {
        let outcome = match &case.expect {
            Expect::Stored { key, .. } => format!("stored, key {}", short(key)),
            Expect::Kept { reason } => format!("kept: {}", short(reason)),
            Expect::KeptCut { reason } => format!("kept, body cut: {}", short(reason)),
            Expect::Refused { status, message } => format!("refused by nsqd: {status} {message}"),
            Expect::Accounted { bug, .. } => format!("stored or kept (product bug: {bug})"),
        };
        eprintln!("{topic}: {}: {outcome}", case.name);
    }
    eprintln!("{topic}: {} cases, {published} published", cases.len());

    // nsqd's ids and timestamps, to find each case's rejected record by its key.
    let queued = stack.nsq.messages(topic, CHANNEL);
    assert_eq!(queued.len(), published, "nsqd queued every accepted body");
    let by_body: HashMap<&[u8], &devstack::nsqd::QueuedMessage> =
        queued.iter().map(|m| (&m.body[..], m)).collect();

    let config = hostile_config(&stack, topic, schema, published);
    let child = common::command(&config, &[])
        .spawn()
        .expect("x-msrv starts");
    let out = common::finish_within(child, RUN_LIMIT).await;
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(out.status.code(), Some(0), "exit status; stderr:\n{stderr}");
    let summary = summary(stdout);

    let mut stored: BTreeMap<String, StoredRecord> = BTreeMap::new();
    for r in stack.aero.records(NAMESPACE, SET) {
        let key = r.key.as_ref().expect("stored with send_key").to_string();
        stored.insert(key, r);
    }
    let mut rejected: BTreeMap<String, StoredRecord> = BTreeMap::new();
    for r in stack.aero.records(NAMESPACE, REJECTED) {
        let key = text(r.key.as_ref()).to_owned();
        rejected.insert(key, r);
    }
    let (stored_total, rejected_total) = (stored.len(), rejected.len());

    let mut want_stored = 0usize;
    let mut want_kept = 0usize;
    for case in cases {
        if matches!(case.expect, Expect::Refused { .. }) {
            continue;
        }
        let name = &case.name;
        let Some(msg) = by_body.get(&case.body[..]) else {
            failures.push(format!("{name}: not found among nsqd's messages"));
            continue;
        };
        // The rejected key: `<id>-<timestamp>` (the id alone is unique only per nsqd).
        let kept = rejected.remove(&format!("{}-{}", msg.id, msg.timestamp));
        // `bounded`: the reason must be at most MAX_REASON_LEN bytes (not asked of a
        // known bug's input).
        let check_kept = |failures: &mut Vec<String>, r: &StoredRecord, cut: bool, bounded| {
            let reason = text(r.bins.get("reason"));
            if bounded && reason.len() > MAX_REASON_LEN {
                failures.push(format!(
                    "{name}: reason of {} bytes: {}",
                    reason.len(),
                    short(&reason)
                ));
            }
            let (body, body_len) = if cut {
                (&case.body[..MAX_KEPT_BODY], Some(json!(case.body.len())))
            } else {
                (&case.body[..], None)
            };
            if r.bins.get("body") != Some(&body_json(body)) {
                failures.push(format!(
                    "{name}: kept body {} is not the {} published",
                    short(&r.bins.get("body")),
                    if cut { "cut body" } else { "body" }
                ));
            }
            if r.bins.get("body_len") != body_len.as_ref() {
                failures.push(format!(
                    "{name}: body_len {:?}, expected {body_len:?}",
                    r.bins.get("body_len")
                ));
            }
            let meta = [
                ("attempts", json!(1)),
                ("nsq_ts", json!(msg.timestamp)),
                ("topic", json!(topic)),
                ("channel", json!(CHANNEL)),
            ];
            for (bin, want) in meta {
                if r.bins.get(bin) != Some(&want) {
                    failures.push(format!(
                        "{name}: rejected bin {bin} is {:?}, expected {want}",
                        r.bins.get(bin)
                    ));
                }
            }
        };
        match &case.expect {
            Expect::Refused { .. } => unreachable!("skipped above"),
            Expect::Stored { key, bins } => {
                want_stored += 1;
                if let Some(r) = &kept {
                    failures.push(format!(
                        "{name}: kept as rejected: {:?}",
                        text(r.bins.get("reason"))
                    ));
                }
                match stored.remove(&key.to_string()) {
                    None => failures.push(format!("{name}: no record with key {}", short(key))),
                    Some(r) => {
                        let got = Json::Object(r.bins.clone().into_iter().collect());
                        if !same_json(&got, bins) {
                            failures.push(format!(
                                "{name}: bins {} expected {}",
                                short(&got),
                                short(bins)
                            ));
                        }
                    }
                }
            }
            Expect::Kept { reason } | Expect::KeptCut { reason } => {
                want_kept += 1;
                let cut = matches!(case.expect, Expect::KeptCut { .. });
                match &kept {
                    None => failures.push(format!("{name}: not in the rejected set")),
                    Some(r) => {
                        let got = text(r.bins.get("reason"));
                        for fragment in reason {
                            if !got.contains(fragment.as_str()) {
                                failures.push(format!(
                                    "{name}: reason {} lacks {fragment:?}",
                                    short(&got)
                                ));
                            }
                        }
                        check_kept(&mut failures, r, cut, true);
                    }
                }
            }
            Expect::Accounted { key, bug } => match &kept {
                Some(r) => {
                    want_kept += 1;
                    eprintln!(
                        "{name} (product bug, see {bug}): kept: {}",
                        short(&text(r.bins.get("reason")))
                    );
                    check_kept(&mut failures, r, false, false);
                }
                None => {
                    want_stored += 1;
                    if stored.remove(&key.to_string()).is_none() {
                        failures.push(format!("{name}: neither stored nor kept"));
                    }
                }
            },
        }
    }
    for (key, r) in &rejected {
        failures.push(format!(
            "rejected record {key} matches no case: {}",
            short(&r.bins.get("reason"))
        ));
    }
    for key in stored.keys() {
        failures.push(format!("stored record {} matches no case", short(key)));
    }

    // Every body once: the summary, the records and nsqd agree.
    let count = |field: &str| summary[field].as_u64();
    let want_summary = [
        ("received", published),
        ("stored", want_stored),
        ("invalid", want_kept),
        ("requeued", 0),
        ("returned", 0),
        ("over_limit", 0),
    ];
    for (field, want) in want_summary {
        if count(field) != Some(want as u64) {
            failures.push(format!(
                "summary {field} = {:?}, expected {want}",
                count(field)
            ));
        }
    }
    if summary["stop_reason"] != "done" {
        failures.push(format!("stop_reason {}", summary["stop_reason"]));
    }
    if stored_total + rejected_total != published {
        failures.push(format!(
            "{stored_total} stored + {rejected_total} kept != {published} published"
        ));
    }
    let ch = stack
        .nsq
        .channel_stats(topic, CHANNEL)
        .expect("the channel exists");
    let left = (
        ch.depth,
        ch.in_flight_count,
        ch.deferred_count,
        ch.requeue_count,
        ch.timeout_count,
    );
    if left != (0, 0, 0, 0, 0) || ch.message_count != published as u64 {
        failures.push(format!(
            "nsqd: (depth, in flight, deferred, requeued, timed out) = {left:?}, \
             message_count {} of {published}",
            ch.message_count
        ));
    }
    if !failures.is_empty() {
        eprintln!(
            "x-msrv stderr:\n{}",
            short(&stderr.lines().take(20).collect::<Vec<_>>())
        );
    }
    failures
}

#[tokio::test]
async fn shipped_schema_hostile_bodies() {
    let cases = shipped_schema_cases().list;
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let failures = run_cases("hostile", SHIPPED_SCHEMA, &cases).await;
    assert!(
        failures.is_empty(),
        "{} failed checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn open_schema_keys_and_bin_names() {
    let cases = open_schema_cases().list;
    let failures = run_cases("hostile-open", OPEN_SCHEMA, &cases).await;
    assert!(
        failures.is_empty(),
        "{} failed checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Was a product bug (fixed): the shipped schema's `"type": "integer"` accepts `1.0`, `1e3` and `-0.0`
/// (JSON Schema: a number with a zero fractional part is an integer) and the README says
/// the key is "a number or a string", but the key rule takes only what serde_json parsed
/// as an integer and keeps these messages as rejected ("key: /id is 1.0; a key must be an
/// integer or a string"). A producer that writes ids as floats (Python `float`, some JSON
/// encoders) has every message rejected although each passes the schema.
#[tokio::test]
async fn integer_valued_float_ids_are_stored_under_their_integer() {
    let cases = vec![
        Case {
            name: "id 7.0".into(),
            body: br#"{"id":7.0,"msg":"m"}"#.to_vec(),
            expect: Expect::Stored {
                key: json!(7),
                bins: json!({"id": 7.0, "msg": "m"}),
            },
        },
        Case {
            name: "id 8e3".into(),
            body: br#"{"id":8e3,"msg":"m"}"#.to_vec(),
            expect: Expect::Stored {
                key: json!(8000),
                bins: json!({"id": 8000.0, "msg": "m"}),
            },
        },
        Case {
            name: "id -0.0".into(),
            body: br#"{"id":-0.0,"msg":"m"}"#.to_vec(),
            expect: Expect::Stored {
                key: json!(0),
                bins: json!({"id": -0.0, "msg": "m"}),
            },
        },
    ];
    let failures = run_cases("float-ids", SHIPPED_SCHEMA, &cases).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Was a product bug (fixed): a schema violation's text is cut to 200 bytes, and jsonschema puts the
/// offending value *first* (`"bbbb…" is longer than 65536 characters`), so for any long
/// value the reason kept is the start of the value and "… (N more bytes)": the rule
/// that failed (`maxLength`, `type`) is cut away and the reason no longer says what is
/// wrong.
#[tokio::test]
async fn a_long_value_keeps_the_violated_rule_in_its_reason() {
    let max_len = msg_max_length();
    let cases = vec![
        Case {
            name: "msg one character too long".into(),
            body: format!(r#"{{"id":1,"msg":"{}"}}"#, "b".repeat(max_len + 1)).into_bytes(),
            expect: Expect::Kept {
                reason: vec![format!("is longer than {max_len} characters")],
            },
        },
        Case {
            name: "id a 100 KB string".into(),
            body: format!(r#"{{"id":"{}","msg":"m"}}"#, "k".repeat(100 * 1024)).into_bytes(),
            expect: Expect::Kept {
                reason: vec![r#"is not of type "integer""#.into()],
            },
        },
    ];
    let failures = run_cases("long-values", SHIPPED_SCHEMA, &cases).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Was a product bug (fixed): the bins rule's reason quotes a bad field name whole (`bins: field name
/// "hhhh…" is 1000 bytes`), unlike schema reasons, which are cut to 200 bytes for exactly
/// this reason. With a schema that allows other fields (any schema without
/// `additionalProperties: false`), a message with one huge field name gets a reason as
/// big as the name; near nsqd's 1 MiB limit the rejected record (reason + the body cut to
/// 64 KiB) is itself too big for Aerospike, the keep fails, and the message is requeued
/// instead of kept — on every run, forever.
#[tokio::test]
async fn a_huge_field_name_is_kept_with_a_bounded_reason() {
    let name_len = NSQD_DEFAULT_MAX_MSG_SIZE - 64;
    let cases = vec![
        Case {
            name: "field name of 1000 bytes".into(),
            body: json!({"id": 1, "h".repeat(1000): "v"})
                .to_string()
                .into_bytes(),
            expect: Expect::Kept {
                reason: vec!["bins: field name".into(), "is 1000 bytes".into()],
            },
        },
        Case {
            name: "field name of nearly 1 MiB".into(),
            body: json!({"id": 2, "n".repeat(name_len): "v"})
                .to_string()
                .into_bytes(),
            expect: Expect::KeptCut {
                reason: vec!["bins: field name".into(), format!("is {name_len} bytes")],
            },
        },
    ];
    let failures = run_cases("huge-names", OPEN_SCHEMA, &cases).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every file of the fuzz corpus through both fuzzed entry points, so `cargo test`
/// checks the regression corpus without the fuzzer: the record stage (shipped schema,
/// default key) and the NSQ frame decoder. Neither may panic; each answer must be
/// well-formed.
#[test]
fn regression_corpus_never_panics() {
    let rules = RecordRules::new(
        SchemaValidator::from_file(Path::new(SHIPPED_SCHEMA)).unwrap(),
        RecordKey::pointer("/id").unwrap(),
    );
    let mut files = Vec::new();
    for target in ["record", "frame"] {
        let dir = Path::new(CORPUS).join(target);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            files.push(entry.unwrap().path());
        }
    }
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    let id = MessageId(*b"0123456789abcdef");
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let name = path.display();
        match rules.to_record(&data, &id, 0) {
            Ok(record) => {
                assert!(
                    matches!(
                        record.key,
                        aerospike::Value::Int(_) | aerospike::Value::String(_)
                    ),
                    "{name}: key {:?}",
                    record.key
                );
                assert!(!record.bins.is_empty(), "{name}: a record without bins");
                for bin in &record.bins {
                    assert!(
                        (1..=15).contains(&bin.name.len()),
                        "{name}: bin name {:?}",
                        bin.name
                    );
                }
            }
            Err(rejection) => assert!(
                !rejection.to_string().is_empty() && rejection.to_string().len() <= MAX_REASON_LEN,
                "{name}: reason {rejection}"
            ),
        }
        decode_all(&data, &name.to_string());
    }
}

/// Decodes frames off `data` until it needs more bytes or fails; every frame taken must
/// shrink the buffer by its size, and a message frame's body must be what follows its
/// 26-byte header.
fn decode_all(data: &[u8], name: &str) {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match frame::decode(&mut buf) {
            Ok(None) => {
                assert_eq!(buf.len(), before, "{name}: bytes consumed without a frame");
                return;
            }
            Err(_) => return,
            Ok(Some(f)) => {
                let size = u32::from_be_bytes(data[data.len() - before..][..4].try_into().unwrap());
                assert_eq!(
                    before - buf.len(),
                    4 + size as usize,
                    "{name}: a frame of size {size} took the wrong number of bytes"
                );
                if let Frame::Message(m) = f {
                    assert_eq!(
                        m.body.len() + 26 + 4,
                        size as usize,
                        "{name}: message body length"
                    );
                }
            }
        }
    }
}
