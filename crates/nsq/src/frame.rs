//! The NSQ TCP protocol V2 wire format: commands this client writes and frames nsqd sends.
//!
//! Commands are text lines (`NAME arg arg\n`); IDENTIFY carries a 4-byte big-endian size
//! and a JSON body. Every frame from nsqd is `[u32 size][u32 type][data]`, where `size`
//! counts the type and the data; type 0 is a response (`OK`, `CLOSE_WAIT`,
//! `_heartbeat_`, the IDENTIFY JSON), 1 an error (`E_CODE description`), 2 a message
//! (`i64` ns timestamp, `u16` attempts, 16-byte ASCII id, body). All numbers are big-endian.
//!
//! Decoding works on a `BytesMut` read buffer and hands message bodies out as `Bytes`
//! slices of it, so a message costs no copy and no allocation of its own.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::{MessageId, NsqError, ServerError};

/// The protocol version magic a client sends first.
pub const MAGIC_V2: &[u8; 4] = b"  V2";

/// Frame types (nsqd `protocol_v2.go`: `frameTypeResponse` …).
const FRAME_TYPE_RESPONSE: u32 = 0;
const FRAME_TYPE_ERROR: u32 = 1;
const FRAME_TYPE_MESSAGE: u32 = 2;

/// Bytes before a message body: timestamp (8) + attempts (2) + id (16).
const MESSAGE_HEADER_LEN: usize = 26;

/// Largest frame accepted. nsqd's own `--max-msg-size` defaults to 1 MiB and operators
/// raise it rarely; anything far above that is a corrupt stream, not a message, and must
/// not make the client allocate gigabytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// The heartbeat nsqd sends as a response frame; the client answers `NOP`.
pub const HEARTBEAT: &[u8] = b"_heartbeat_";
/// nsqd's answer to `CLS`: it will send no more messages.
pub const CLOSE_WAIT: &[u8] = b"CLOSE_WAIT";

/// One frame received from nsqd.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// Type 0: `OK`, `CLOSE_WAIT`, `_heartbeat_`, or the IDENTIFY/AUTH JSON.
    Response(Bytes),
    /// Type 1: `E_CODE description`.
    Error(ServerError),
    /// Type 2: a message.
    Message(RawMessage),
}

/// A message as it came off the wire.
#[derive(Debug, PartialEq)]
pub struct RawMessage {
    /// When nsqd accepted the message, in ns since the Unix epoch.
    pub timestamp: i64,
    /// Deliveries so far, this one included.
    pub attempts: u16,
    /// nsqd's id of the message.
    pub id: MessageId,
    /// The body, a slice of the read buffer.
    pub body: Bytes,
}

/// Takes one complete frame off the front of `buf`, or returns `Ok(None)` when more bytes
/// are needed. Malformed input is an error: the connection cannot be resynchronised.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, NsqError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let size = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if size < 4 {
        return Err(NsqError::Protocol(format!(
            "frame size {size} is smaller than its type field"
        )));
    }
    if size > MAX_FRAME_LEN {
        return Err(NsqError::Protocol(format!(
            "frame size {size} exceeds {MAX_FRAME_LEN} bytes"
        )));
    }
    if buf.len() < 4 + size {
        buf.reserve(4 + size - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    let frame_type = buf.get_u32();
    let mut data = buf.split_to(size - 4);
    let frame = match frame_type {
        FRAME_TYPE_RESPONSE => Frame::Response(data.freeze()),
        FRAME_TYPE_ERROR => Frame::Error(ServerError::parse(&data)),
        FRAME_TYPE_MESSAGE => {
            if data.len() < MESSAGE_HEADER_LEN {
                return Err(NsqError::Protocol(format!(
                    "message frame of {} bytes is shorter than a message header",
                    data.len()
                )));
            }
            let timestamp = data.get_i64();
            let attempts = data.get_u16();
            let mut id = [0u8; 16];
            data.copy_to_slice(&mut id);
            Frame::Message(RawMessage {
                timestamp,
                attempts,
                id: MessageId(id),
                body: data.freeze(),
            })
        }
        other => return Err(NsqError::Protocol(format!("unknown frame type {other}"))),
    };
    Ok(Some(frame))
}

/// Appends `IDENTIFY` with its JSON body.
pub fn identify(out: &mut BytesMut, json: &[u8]) {
    out.put_slice(b"IDENTIFY\n");
    out.put_u32(json.len() as u32);
    out.put_slice(json);
}

/// Appends `AUTH` with the secret as its body.
pub fn auth(out: &mut BytesMut, secret: &[u8]) {
    out.put_slice(b"AUTH\n");
    out.put_u32(secret.len() as u32);
    out.put_slice(secret);
}

/// Appends `SUB <topic> <channel>`.
pub fn sub(out: &mut BytesMut, topic: &str, channel: &str) {
    out.put_slice(b"SUB ");
    out.put_slice(topic.as_bytes());
    out.put_u8(b' ');
    out.put_slice(channel.as_bytes());
    out.put_u8(b'\n');
}

/// Appends `RDY <count>`.
pub fn rdy(out: &mut BytesMut, count: u64) {
    out.put_slice(b"RDY ");
    put_decimal(out, count);
    out.put_u8(b'\n');
}

/// Appends `FIN <id>`.
pub fn fin(out: &mut BytesMut, id: &MessageId) {
    out.put_slice(b"FIN ");
    out.put_slice(&id.0);
    out.put_u8(b'\n');
}

/// Appends `REQ <id> <delay ms>`.
pub fn req(out: &mut BytesMut, id: &MessageId, delay: Duration) {
    out.put_slice(b"REQ ");
    out.put_slice(&id.0);
    out.put_u8(b' ');
    put_decimal(out, delay.as_millis().min(u128::from(u64::MAX)) as u64);
    out.put_u8(b'\n');
}

/// Appends `TOUCH <id>`.
pub fn touch(out: &mut BytesMut, id: &MessageId) {
    out.put_slice(b"TOUCH ");
    out.put_slice(&id.0);
    out.put_u8(b'\n');
}

/// Appends `NOP` (the answer to a heartbeat).
pub fn nop(out: &mut BytesMut) {
    out.put_slice(b"NOP\n");
}

/// Appends `CLS` (start closing: nsqd answers `CLOSE_WAIT` and sends nothing more).
pub fn cls(out: &mut BytesMut) {
    out.put_slice(b"CLS\n");
}

fn put_decimal(out: &mut BytesMut, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(frame_type: u32, data: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_u32(4 + data.len() as u32);
        b.put_u32(frame_type);
        b.put_slice(data);
        b
    }

    #[test]
    fn decodes_a_message_and_leaves_the_rest() {
        let mut data = BytesMut::new();
        data.put_i64(1_700_000_000_000_000_000);
        data.put_u16(3);
        data.put_slice(b"0123456789abcdef");
        data.put_slice(b"{\"id\":1}");
        let mut buf = frame(FRAME_TYPE_MESSAGE, &data);
        buf.put_slice(&frame(FRAME_TYPE_RESPONSE, b"OK"));

        let Some(Frame::Message(m)) = decode(&mut buf).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(m.timestamp, 1_700_000_000_000_000_000);
        assert_eq!(m.attempts, 3);
        assert_eq!(&m.id.0, b"0123456789abcdef");
        assert_eq!(&m.body[..], b"{\"id\":1}");
        assert_eq!(
            decode(&mut buf).unwrap(),
            Some(Frame::Response(Bytes::from_static(b"OK")))
        );
        assert_eq!(decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
    }

    #[test]
    fn waits_for_a_partial_frame() {
        let full = frame(FRAME_TYPE_RESPONSE, b"_heartbeat_");
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(decode(&mut buf).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn error_frames_keep_their_text_and_fatality() {
        let mut buf = frame(
            FRAME_TYPE_ERROR,
            b"E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight",
        );
        let Some(Frame::Error(e)) = decode(&mut buf).unwrap() else {
            panic!("not an error")
        };
        assert_eq!(e.code, "E_FIN_FAILED");
        assert!(!e.is_fatal());
        assert!(e.text.contains("not in flight"));
        let mut buf = frame(
            FRAME_TYPE_ERROR,
            b"E_INVALID RDY count 3000 out of range 0-2500",
        );
        let Some(Frame::Error(e)) = decode(&mut buf).unwrap() else {
            panic!("not an error")
        };
        assert!(e.is_fatal());
        assert_eq!(
            e.to_string(),
            "E_INVALID RDY count 3000 out of range 0-2500"
        );
    }

    #[test]
    fn rejects_malformed_frames() {
        let mut tiny = BytesMut::from(&[0u8, 0, 0, 2, 0, 0][..]);
        assert!(decode(&mut tiny).is_err());
        let mut huge = BytesMut::from(&[0xffu8, 0xff, 0xff, 0xff][..]);
        assert!(decode(&mut huge).is_err());
        let mut unknown = frame(7, b"x");
        assert!(decode(&mut unknown).is_err());
        let mut short_msg = frame(FRAME_TYPE_MESSAGE, b"too short");
        assert!(decode(&mut short_msg).is_err());
    }

    #[test]
    fn encodes_commands() {
        let id = MessageId(*b"0123456789abcdef");
        let mut out = BytesMut::new();
        rdy(&mut out, 0);
        rdy(&mut out, 2500);
        fin(&mut out, &id);
        req(&mut out, &id, Duration::from_secs(90));
        touch(&mut out, &id);
        nop(&mut out);
        cls(&mut out);
        sub(&mut out, "t", "c#ephemeral");
        assert_eq!(
            &out[..],
            b"RDY 0\nRDY 2500\nFIN 0123456789abcdef\nREQ 0123456789abcdef 90000\n\
              TOUCH 0123456789abcdef\nNOP\nCLS\nSUB t c#ephemeral\n"
        );
        let mut out = BytesMut::new();
        identify(&mut out, b"{}");
        assert_eq!(&out[..], b"IDENTIFY\n\x00\x00\x00\x02{}");
    }
}
