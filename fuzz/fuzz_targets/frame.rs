//! Fuzz target: any bytes as what nsqd sent, through the NSQ frame decoder until it needs
//! more bytes or fails.
//!
//! Mirrors `decode_all` in `tests/it/hostile.rs` (which replays `fuzz/corpus/frame/` under
//! plain `cargo test`): no panic; "need more" consumes nothing; every frame taken
//! consumes exactly its 4-byte size prefix plus the size it declares, so the loop ends
//! (each frame consumes at least 8 bytes); a message frame's body is what follows its
//! 26-byte header.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use nsq::frame::{self, Frame};

/// The size prefix before every frame.
const SIZE_PREFIX: usize = 4;
/// Frame type (4), timestamp (8), attempts (2), message id (16).
const MESSAGE_HEADER: usize = 4 + 8 + 2 + 16;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match frame::decode(&mut buf) {
            Ok(None) => {
                assert_eq!(buf.len(), before, "bytes consumed without a frame");
                return;
            }
            Err(_) => return,
            Ok(Some(f)) => {
                let at = data.len() - before;
                let size = u32::from_be_bytes(
                    data[at..at + SIZE_PREFIX]
                        .try_into()
                        .expect("a decoded frame had its size prefix"),
                ) as usize;
                assert_eq!(
                    before - buf.len(),
                    SIZE_PREFIX + size,
                    "a frame of size {size} took the wrong number of bytes"
                );
                if let Frame::Message(m) = f {
                    assert_eq!(
                        SIZE_PREFIX + MESSAGE_HEADER + m.body.len(),
                        SIZE_PREFIX + size,
                        "message body length"
                    );
                }
            }
        }
    }
});
