//! The Aerospike stand-in at the byte level: info answers a client depends on and
//! result codes for requests the official clients refuse to send (unknown namespace,
//! 16-byte bin names). Messages are built here by hand, independently of the
//! stand-in's own codec.

use std::time::Duration;

use base64::Engine as _;
use devstack::aerospike::{AerospikeOptions, AerospikeServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(20);
const INFO: u8 = 1;
const AS_MSG: u8 = 3;
const INFO1_READ: u8 = 1;
const INFO1_GET_ALL: u8 = 2;
const INFO2_WRITE: u8 = 1;
const FIELD_NAMESPACE: u8 = 0;
const FIELD_SET: u8 = 1;
const FIELD_DIGEST: u8 = 4;
const OP_WRITE: u8 = 2;
const PARTICLE_INTEGER: u8 = 1;

async fn server() -> AerospikeServer {
    AerospikeServer::start(AerospikeOptions::default())
        .await
        .expect("start")
}

async fn roundtrip(sock: &mut TcpStream, ptype: u8, body: &[u8]) -> (u8, Vec<u8>) {
    let mut frame = (body.len() as u64).to_be_bytes();
    frame[0] = 2;
    frame[1] = ptype;
    let io = async {
        sock.write_all(&frame).await?;
        sock.write_all(body).await?;
        let mut hdr = [0u8; 8];
        sock.read_exact(&mut hdr).await?;
        let size = u64::from_be_bytes(hdr) & 0x0000_FFFF_FFFF_FFFF;
        let mut reply = vec![0u8; size as usize];
        sock.read_exact(&mut reply).await?;
        Ok::<_, std::io::Error>((hdr[1], reply))
    };
    tokio::time::timeout(DEADLINE, io)
        .await
        .expect("answer in time")
        .expect("socket io")
}

async fn info(server: &AerospikeServer, request: &str) -> String {
    let mut sock = TcpStream::connect(server.addr()).await.expect("connect");
    let (ptype, body) = roundtrip(&mut sock, INFO, request.as_bytes()).await;
    assert_eq!(ptype, INFO);
    String::from_utf8(body).expect("utf-8 info reply")
}

fn value<'a>(reply: &'a str, command: &str) -> &'a str {
    reply
        .lines()
        .find_map(|l| l.strip_prefix(command).and_then(|r| r.strip_prefix('\t')))
        .unwrap_or_else(|| panic!("no line for {command} in {reply:?}"))
}

#[tokio::test]
async fn info_answers_what_clients_parse() {
    let s = server().await;
    let port = s.addr().port();
    let reply = info(
        &s,
        "node\ncluster-name\nbuild\npartition-generation\npeers-clear-std\nreplicas\nnamespaces\n",
    )
    .await;
    assert_eq!(value(&reply, "node"), "BB9020011AC4202");
    assert_eq!(value(&reply, "cluster-name"), "null");
    assert_eq!(value(&reply, "build"), "7.2.0.0");
    assert_eq!(value(&reply, "partition-generation"), "1");
    assert_eq!(value(&reply, "peers-clear-std"), format!("1,{port},[]"));
    assert_eq!(value(&reply, "namespaces"), "test");

    let replicas = value(&reply, "replicas");
    assert!(
        !replicas.ends_with(';'),
        "no trailing separator: {replicas}"
    );
    let (ns, rest) = replicas.split_once(':').expect("ns:...");
    assert_eq!(ns, "test");
    let parts: Vec<&str> = rest.split(',').collect();
    assert_eq!(&parts[..2], &["0", "1"], "regime 0, one replica");
    let bitmap = base64::engine::general_purpose::STANDARD
        .decode(parts[2])
        .expect("base64 bitmap");
    assert_eq!(bitmap.len(), 512);
    assert!(bitmap.iter().all(|b| *b == 0xFF), "every partition owned");
}

#[tokio::test]
async fn info_errors_look_like_the_server() {
    let s = server().await;
    let reply = info(&s, "no-such-command\nnamespace/nope\nnamespace/test\n").await;
    assert_eq!(
        value(&reply, "no-such-command"),
        "ERROR:4:unrecognized command"
    );
    assert_eq!(
        value(&reply, "namespace/nope"),
        "ERROR:20:namespace not found on node"
    );
    assert!(value(&reply, "namespace/test").contains("replication-factor=1"));
    // A bare request is the node summary.
    let summary = info(&s, "").await;
    assert_eq!(value(&summary, "node"), "BB9020011AC4202");
    assert!(value(&summary, "features").contains("pscans"));
}

/// An AS_MSG write of one integer bin; returns (result code, generation).
async fn raw_write(s: &AerospikeServer, ns: &str, bin: &str) -> (u8, u32) {
    let mut body = vec![22, 0, INFO2_WRITE, 0, 0, 0];
    body.extend_from_slice(&0u32.to_be_bytes()); // generation
    body.extend_from_slice(&0u32.to_be_bytes()); // record ttl
    body.extend_from_slice(&1000u32.to_be_bytes()); // transaction ttl
    body.extend_from_slice(&3u16.to_be_bytes()); // fields
    body.extend_from_slice(&1u16.to_be_bytes()); // ops
    for (ftype, data) in [
        (FIELD_NAMESPACE, ns.as_bytes()),
        (FIELD_SET, b"wire".as_slice()),
        (FIELD_DIGEST, &[7u8; 20]),
    ] {
        body.extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
        body.push(ftype);
        body.extend_from_slice(data);
    }
    let value = 5i64.to_be_bytes();
    body.extend_from_slice(&((4 + bin.len() + value.len()) as u32).to_be_bytes());
    body.extend_from_slice(&[OP_WRITE, PARTICLE_INTEGER, 0, bin.len() as u8]);
    body.extend_from_slice(bin.as_bytes());
    body.extend_from_slice(&value);

    let mut sock = TcpStream::connect(s.addr()).await.expect("connect");
    let (ptype, reply) = roundtrip(&mut sock, AS_MSG, &body).await;
    assert_eq!(ptype, AS_MSG);
    assert_eq!(reply[0], 22, "reply header size");
    let generation = u32::from_be_bytes(reply[6..10].try_into().expect("4 bytes"));
    (reply[5], generation)
}

#[tokio::test]
async fn unknown_namespace_and_long_bin_name_get_server_codes() {
    let s = server().await;
    assert_eq!(
        raw_write(&s, "nope", "a").await.0,
        20,
        "NAMESPACE_NOT_FOUND"
    );
    assert_eq!(
        raw_write(&s, "test", "abcdefghijklmnop").await.0,
        21,
        "BIN_NAME_TOO_LONG"
    );
    assert_eq!(s.record_count("test", "wire"), 0);
    assert_eq!(raw_write(&s, "test", "abcdefghijklmno").await, (0, 1));
    assert_eq!(raw_write(&s, "test", "abcdefghijklmno").await, (0, 2));
    assert_eq!(s.record_count("test", "wire"), 1);
    assert_eq!(s.command_count(), 4);
}

#[tokio::test]
async fn read_without_ops_or_get_all_is_a_parameter_error() {
    let s = server().await;
    assert_eq!(raw_write(&s, "test", "a").await.0, 0);
    let read = |info1: u8| {
        let mut body = vec![22, info1, 0, 0, 0, 0];
        body.extend_from_slice(&[0u8; 12]);
        body.extend_from_slice(&2u16.to_be_bytes());
        body.extend_from_slice(&0u16.to_be_bytes());
        for (ftype, data) in [
            (FIELD_NAMESPACE, b"test".as_slice()),
            (FIELD_DIGEST, &[7u8; 20]),
        ] {
            body.extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
            body.push(ftype);
            body.extend_from_slice(data);
        }
        body
    };
    let mut sock = TcpStream::connect(s.addr()).await.expect("connect");
    let (_, reply) = roundtrip(&mut sock, AS_MSG, &read(INFO1_READ)).await;
    assert_eq!(reply[5], 4, "PARAMETER_ERROR");
    let (_, reply) = roundtrip(&mut sock, AS_MSG, &read(INFO1_READ | INFO1_GET_ALL)).await;
    assert_eq!(reply[5], 0);
    let n_ops = u16::from_be_bytes([reply[20], reply[21]]);
    assert_eq!(n_ops, 1, "one bin comes back");
}

#[tokio::test]
async fn compressed_request_gets_a_compressed_reply() {
    use std::io::{Read as _, Write as _};
    const COMPRESSED: u8 = 4;
    const INFO1_COMPRESS_RESPONSE: u8 = 0x80;
    let s = server().await;
    // A write with a long string, so the reply to the read below is big enough to be
    // compressed.
    let long = "x".repeat(1000);
    let mut body = vec![22, INFO1_COMPRESS_RESPONSE, INFO2_WRITE, 0, 0, 0];
    body.extend_from_slice(&[0u8; 12]);
    body.extend_from_slice(&2u16.to_be_bytes());
    body.extend_from_slice(&1u16.to_be_bytes());
    for (ftype, data) in [
        (FIELD_NAMESPACE, b"test".as_slice()),
        (FIELD_DIGEST, &[9u8; 20]),
    ] {
        body.extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
        body.push(ftype);
        body.extend_from_slice(data);
    }
    body.extend_from_slice(&((4 + 1 + long.len()) as u32).to_be_bytes());
    body.extend_from_slice(&[OP_WRITE, 3, 0, 1, b's']);
    body.extend_from_slice(long.as_bytes());

    // Compressed frame: u64 size of the whole inner frame, then zlib of that frame.
    let mut inner = (body.len() as u64).to_be_bytes().to_vec();
    inner[0] = 2;
    inner[1] = AS_MSG;
    inner.extend_from_slice(&body);
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&inner).expect("zlib");
    let mut zipped = (inner.len() as u64).to_be_bytes().to_vec();
    zipped.extend_from_slice(&enc.finish().expect("zlib"));

    let mut sock = TcpStream::connect(s.addr()).await.expect("connect");
    let (ptype, reply) = roundtrip(&mut sock, COMPRESSED, &zipped).await;
    // A write reply is tiny: sent plain even though compression was asked for.
    assert_eq!(ptype, AS_MSG);
    assert_eq!(reply[5], 0, "write succeeded");
    assert_eq!(s.record_count("test", ""), 1);

    // Read it back asking for a compressed reply.
    let mut read = vec![
        22,
        INFO1_READ | INFO1_GET_ALL | INFO1_COMPRESS_RESPONSE,
        0,
        0,
        0,
        0,
    ];
    read.extend_from_slice(&[0u8; 12]);
    read.extend_from_slice(&2u16.to_be_bytes());
    read.extend_from_slice(&0u16.to_be_bytes());
    for (ftype, data) in [
        (FIELD_NAMESPACE, b"test".as_slice()),
        (FIELD_DIGEST, &[9u8; 20]),
    ] {
        read.extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
        read.push(ftype);
        read.extend_from_slice(data);
    }
    let (ptype, reply) = roundtrip(&mut sock, AS_MSG, &read).await;
    assert_eq!(ptype, COMPRESSED);
    let declared = u64::from_be_bytes(reply[..8].try_into().expect("8 bytes")) as usize;
    let mut frame = Vec::new();
    flate2::read::ZlibDecoder::new(&reply[8..])
        .read_to_end(&mut frame)
        .expect("zlib reply");
    assert_eq!(frame.len(), declared);
    assert_eq!(frame[1], AS_MSG, "inner frame is a plain AS_MSG");
    let msg = &frame[8..];
    assert_eq!(msg[5], 0);
    assert!(
        msg.windows(long.len()).any(|w| w == long.as_bytes()),
        "the bin value is inside"
    );
}

const FIELD_FILTER_EXP: u8 = 43;
const FIELD_BATCH_INDEX: u8 = 41;
const INFO1_BATCH: u8 = 8;
const INFO3_LAST: u8 = 1;
const BATCH_MSG_INFO: u8 = 2;
const BATCH_REPORT_ALL_ERRORS: u8 = 4;
const RC_OK: u8 = 0;
const RC_NOT_FOUND: u8 = 2;
const RC_PARAMETER: u8 = 4;
const RC_FILTERED_OUT: u8 = 27;
/// Filter expressions as msgpack: `true`, `false`, op code 200 (no such op), and
/// `eq(int_bin("a"), 5)`.
const EXP_TRUE: &[u8] = &[0xc3];
const EXP_FALSE: &[u8] = &[0xc2];
const EXP_BAD_OP: &[u8] = &[0x91, 0xcc, 200];
const EXP_A_IS_5: &[u8] = &[0x93, 0x01, 0x93, 0x51, 0x02, 0xa1, b'a', 0x05];

fn field(ftype: u8, data: &[u8]) -> Vec<u8> {
    let mut f = (data.len() as u32 + 1).to_be_bytes().to_vec();
    f.push(ftype);
    f.extend_from_slice(data);
    f
}

/// An AS_MSG body: header, then encoded fields and ops.
fn as_msg(info: [u8; 3], fields: &[Vec<u8>], ops: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![22, info[0], info[1], info[2], 0, 0];
    body.extend_from_slice(&[0u8; 8]); // generation, record ttl
    body.extend_from_slice(&1000u32.to_be_bytes()); // transaction ttl
    body.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    body.extend_from_slice(&(ops.len() as u16).to_be_bytes());
    fields
        .iter()
        .chain(ops)
        .for_each(|b| body.extend_from_slice(b));
    body
}

/// Sends a batch and reads proto frames until a message flagged LAST; returns every message's
/// (transaction-ttl slot = batch row index, result code).
async fn batch_reply(sock: &mut TcpStream, body: &[u8]) -> Vec<(u32, u8)> {
    let mut frame = (body.len() as u64).to_be_bytes();
    frame[0] = 2;
    frame[1] = AS_MSG;
    let io = async {
        sock.write_all(&frame).await?;
        sock.write_all(body).await?;
        let mut out = Vec::new();
        loop {
            let mut hdr = [0u8; 8];
            sock.read_exact(&mut hdr).await?;
            let size = u64::from_be_bytes(hdr) & 0x0000_FFFF_FFFF_FFFF;
            let mut data = vec![0u8; size as usize];
            sock.read_exact(&mut data).await?;
            let mut pos = 0;
            while pos < data.len() {
                let m = &data[pos..pos + 22];
                let index = u32::from_be_bytes(m[14..18].try_into().expect("4 bytes"));
                out.push((index, m[5]));
                let n = u16::from_be_bytes([m[18], m[19]]) + u16::from_be_bytes([m[20], m[21]]);
                pos += 22;
                for _ in 0..n {
                    let len = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("4"));
                    pos += 4 + len as usize;
                }
                if m[3] & INFO3_LAST != 0 {
                    return Ok::<_, std::io::Error>(out);
                }
            }
        }
    };
    tokio::time::timeout(DEADLINE, io)
        .await
        .expect("answer in time")
        .expect("socket io")
}

/// A batch read of whole records of set "wire": each row its digest and maybe its own
/// filter; the message maybe a filter of its own.
fn batch_read(batch_filter: Option<&[u8]>, rows: &[([u8; 20], Option<&[u8]>)]) -> Vec<u8> {
    let mut batch = (rows.len() as u32).to_be_bytes().to_vec();
    batch.push(BATCH_REPORT_ALL_ERRORS);
    for (i, (digest, filter)) in rows.iter().enumerate() {
        batch.extend_from_slice(&(i as u32).to_be_bytes());
        batch.extend_from_slice(digest);
        batch.push(BATCH_MSG_INFO);
        batch.extend_from_slice(&[INFO1_READ | INFO1_GET_ALL, 0, 0]);
        batch.extend_from_slice(&(2 + u16::from(filter.is_some())).to_be_bytes());
        batch.extend_from_slice(&0u16.to_be_bytes());
        batch.extend(field(FIELD_NAMESPACE, b"test"));
        batch.extend(field(FIELD_SET, b"wire"));
        if let Some(f) = filter {
            batch.extend(field(FIELD_FILTER_EXP, f));
        }
    }
    let mut fields: Vec<Vec<u8>> = batch_filter
        .map(|f| field(FIELD_FILTER_EXP, f))
        .into_iter()
        .collect();
    fields.push(field(FIELD_BATCH_INDEX, &batch));
    as_msg([INFO1_BATCH | INFO1_READ, 0, 0], &fields, &[])
}

#[tokio::test]
async fn filters_of_a_batch_and_of_its_rows() {
    let s = server().await;
    let mut sock = TcpStream::connect(s.addr()).await.expect("connect");
    let (d1, d2, missing) = ([1u8; 20], [2u8; 20], [3u8; 20]);
    let five = {
        let mut op = (4 + 1 + 8u32).to_be_bytes().to_vec();
        op.extend_from_slice(&[OP_WRITE, PARTICLE_INTEGER, 0, 1, b'a']);
        op.extend_from_slice(&5i64.to_be_bytes());
        op
    };
    for d in [d1, d2] {
        let put = as_msg(
            [0, INFO2_WRITE, 0],
            &[
                field(FIELD_NAMESPACE, b"test"),
                field(FIELD_SET, b"wire"),
                field(FIELD_DIGEST, &d),
            ],
            std::slice::from_ref(&five),
        );
        assert_eq!(roundtrip(&mut sock, AS_MSG, &put).await.1[5], RC_OK);
    }

    // A row without a filter of its own takes the batch's; a row's own replaces it.
    let reply = batch_reply(
        &mut sock,
        &batch_read(
            Some(EXP_FALSE),
            &[
                (d1, None),
                (d2, Some(EXP_TRUE)),
                (d1, Some(EXP_BAD_OP)),
                (missing, Some(EXP_BAD_OP)),
                (d2, Some(EXP_A_IS_5)),
            ],
        ),
    )
    .await;
    assert_eq!(
        reply,
        vec![
            (0, RC_FILTERED_OUT),
            (1, RC_OK),
            (2, RC_PARAMETER),
            (3, RC_NOT_FOUND), // no record: the filter is never parsed
            (4, RC_OK),
            (0, RC_OK), // the trailer
        ]
    );
    // A bad batch filter fails the whole batch before any row, with one message.
    let reply = batch_reply(&mut sock, &batch_read(Some(EXP_BAD_OP), &[(d1, None)])).await;
    assert_eq!(reply, vec![(0, RC_PARAMETER)]);
    let reply = batch_reply(
        &mut sock,
        &batch_read(Some(EXP_A_IS_5), &[(d1, None), (d2, None)]),
    )
    .await;
    assert_eq!(reply, vec![(0, RC_OK), (1, RC_OK), (0, RC_OK)]);

    // Single reads: an empty field 43 is a malformed expression.
    let read = |digest: &[u8], filter: &[u8]| {
        as_msg(
            [INFO1_READ | INFO1_GET_ALL, 0, 0],
            &[
                field(FIELD_NAMESPACE, b"test"),
                field(FIELD_DIGEST, digest),
                field(FIELD_FILTER_EXP, filter),
            ],
            &[],
        )
    };
    for (digest, filter, code) in [
        (&d1, &[][..], RC_PARAMETER),
        (&d1, EXP_FALSE, RC_FILTERED_OUT),
        (&d1, EXP_A_IS_5, RC_OK),
        (&missing, &[][..], RC_NOT_FOUND),
    ] {
        let (_, reply) = roundtrip(&mut sock, AS_MSG, &read(digest, filter)).await;
        assert_eq!(reply[5], code, "filter {filter:02x?}");
    }
    assert_eq!(s.record_count("test", "wire"), 2);
}
