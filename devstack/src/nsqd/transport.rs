//! The byte streams under a protocol V2 connection and the upgrades IDENTIFY
//! negotiates, as `client_v2.go` stacks them: `UpgradeTLS` wraps the TCP connection,
//! then `UpgradeSnappy` / `UpgradeDeflate` wrap the TCP or TLS connection with a
//! decompressing reader and a compressing writer.
//!
//! The reading half ([`ConnRead`]) belongs to the command loop, the writing half
//! ([`Sink`]) to the writer task; a TLS upgrade joins them again for the handshake.
//! Each upgrade starts a new buffered reader, so bytes the old one had read ahead are
//! lost, as they are when nsqd replaces `client.Reader` (clients wait for the answer
//! before they upgrade, so none are there).
//!
//! Compression: snappy is the framing format (golang/snappy `NewReader`/`NewWriter`,
//! stream identifier first, masked CRC-32C per chunk), deflate is raw DEFLATE (Go
//! `compress/flate`) at the negotiated level; nsqd flushes the compressor (a deflate
//! sync flush) every time it flushes its output buffer, and so does the stand-in.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

pub(crate) type TlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// How much a decompressing reader asks of the stream below at a time.
const READ_CHUNK: usize = 16 * 1024;
/// The largest snappy chunk golang/snappy's and snap's readers take
/// (`maxEncodedLenOfMaxBlockSize`); a longer one is an error, not buffered.
const MAX_SNAPPY_CHUNK: usize = 76_490;

/// The connection's reading side, upgraded in place.
pub(crate) enum ConnRead {
    Plain(OwnedReadHalf),
    Tls(ReadHalf<TlsStream>),
    Snappy(Box<SnappyRead<ConnRead>>),
    Deflate(Box<InflateRead<ConnRead>>),
    /// While an upgrade swaps the reader (reads as end of stream).
    Gone,
}

impl AsyncRead for ConnRead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ConnRead::Plain(r) => Pin::new(r).poll_read(cx, buf),
            ConnRead::Tls(r) => Pin::new(r).poll_read(cx, buf),
            ConnRead::Snappy(r) => Pin::new(r.as_mut()).poll_read(cx, buf),
            ConnRead::Deflate(r) => Pin::new(r.as_mut()).poll_read(cx, buf),
            ConnRead::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl ConnRead {
    /// Whether it is the bare TCP stream (no upgrade yet).
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self, ConnRead::Plain(_))
    }

    /// Whether a compression upgrade already wraps it.
    pub(crate) fn is_compressed(&self) -> bool {
        matches!(self, ConnRead::Snappy(_) | ConnRead::Deflate(_))
    }
}

/// The connection's writing side below the compressor.
pub(crate) enum ConnWrite {
    Plain(OwnedWriteHalf),
    Tls(WriteHalf<TlsStream>),
}

/// A compressor between nsqd's output buffer and the connection.
pub(crate) enum Encoder {
    // Boxed: snap's encoder carries its 2 KiB hash table inline.
    Snappy(Box<snap::write::FrameEncoder<Vec<u8>>>),
    Deflate(flate2::write::DeflateEncoder<Vec<u8>>),
}

impl Encoder {
    /// golang/snappy's writer: the stream identifier comes with the first write.
    pub(crate) fn snappy() -> Encoder {
        Encoder::Snappy(Box::new(snap::write::FrameEncoder::new(Vec::new())))
    }

    /// `flate.NewWriter(conn, level)`: raw DEFLATE, no zlib header.
    pub(crate) fn deflate(level: u32) -> Encoder {
        Encoder::Deflate(flate2::write::DeflateEncoder::new(
            Vec::new(),
            flate2::Compression::new(level),
        ))
    }

    /// Compresses `data` and flushes (nsqd's `Flush`: the buffered writer, then the
    /// flate writer's sync flush), giving back the bytes for the wire.
    fn encode(&mut self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoder::Snappy(e) => {
                e.write_all(data)?;
                e.flush()?;
                Ok(std::mem::take(e.get_mut()))
            }
            Encoder::Deflate(e) => {
                e.write_all(data)?;
                e.flush()?;
                Ok(std::mem::take(e.get_mut()))
            }
        }
    }
}

/// The writer task's end of the connection: what it writes is compressed (once
/// negotiated), written and flushed through TLS (once upgraded).
pub(crate) struct Sink {
    io: Option<ConnWrite>,
    encoder: Option<Encoder>,
}

impl Sink {
    pub(crate) fn new(io: OwnedWriteHalf) -> Sink {
        Sink {
            io: Some(ConnWrite::Plain(io)),
            encoder: None,
        }
    }

    /// Writes one flush worth of frames.
    pub(crate) async fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let compressed;
        let out = match &mut self.encoder {
            Some(e) => {
                compressed = e.encode(data)?;
                &compressed[..]
            }
            None => data,
        };
        match self.io.as_mut() {
            Some(ConnWrite::Plain(w)) => w.write_all(out).await,
            Some(ConnWrite::Tls(w)) => {
                w.write_all(out).await?;
                // tokio-rustls holds records until flushed.
                w.flush().await
            }
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    /// Gives the bare TCP half to a TLS upgrade; `None` once it is TLS already.
    pub(crate) fn take_plain(&mut self) -> Option<OwnedWriteHalf> {
        match self.io.take() {
            Some(ConnWrite::Plain(w)) => Some(w),
            other => {
                self.io = other;
                None
            }
        }
    }

    pub(crate) fn set_io(&mut self, io: ConnWrite) {
        self.io = Some(io);
    }

    pub(crate) fn compress(&mut self, encoder: Encoder) {
        self.encoder = Some(encoder);
    }

    /// Ends the connection's writing side. A plain connection gets a FIN; a TLS one is
    /// dropped without `close_notify`, since nsqd closes the TCP connection under its
    /// `tls.Conn` (`clientV2` embeds the raw `net.Conn`).
    pub(crate) async fn close(mut self) {
        if let Some(ConnWrite::Plain(mut w)) = self.io.take() {
            let _ = w.shutdown().await;
        }
    }
}

/// Whole snappy chunks for [`snap::read::FrameDecoder`], which reads only from what
/// has fully arrived: an empty feed reads as "nothing yet".
#[derive(Default)]
struct Feed(VecDeque<u8>);

impl Read for Feed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// golang/snappy's `Reader` over the stream: snap's frame decoder (stream identifier
/// first, checksums checked, reserved chunk types refused) fed one complete chunk at a
/// time, since it is a blocking reader.
pub(crate) struct SnappyRead<R> {
    inner: R,
    decoder: snap::read::FrameDecoder<Feed>,
    pending: Vec<u8>,
    scratch: Box<[u8]>,
    eof: bool,
}

impl<R> SnappyRead<R> {
    pub(crate) fn new(inner: R) -> SnappyRead<R> {
        SnappyRead {
            inner,
            decoder: snap::read::FrameDecoder::new(Feed::default()),
            pending: Vec::new(),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            eof: false,
        }
    }

    /// The length of the next chunk once it has fully arrived. An oversized header is
    /// handed over alone, so the decoder refuses it instead of this buffering it.
    fn complete_chunk(&self) -> Option<usize> {
        let h = self.pending.get(..4)?;
        let len = usize::from(h[1]) | usize::from(h[2]) << 8 | usize::from(h[3]) << 16;
        if len > MAX_SNAPPY_CHUNK {
            return Some(4);
        }
        (self.pending.len() >= 4 + len).then_some(4 + len)
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for SnappyRead<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let n = this.decoder.read(buf.initialize_unfilled())?;
            if n > 0 {
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some(len) = this.complete_chunk() {
                this.decoder.get_mut().0.extend(this.pending.drain(..len));
                continue;
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                this.eof = true;
            } else {
                this.pending.extend_from_slice(rb.filled());
            }
        }
    }
}

/// `flate.NewReader` over the stream: raw DEFLATE, read incrementally.
pub(crate) struct InflateRead<R> {
    inner: R,
    inflate: flate2::Decompress,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
}

impl<R> InflateRead<R> {
    pub(crate) fn new(inner: R) -> InflateRead<R> {
        InflateRead {
            inner,
            inflate: flate2::Decompress::new(false),
            input: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for InflateRead<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            if buf.remaining() == 0 || this.done {
                return Poll::Ready(Ok(()));
            }
            // Decode what is here first, even with no new input: the inflater may hold
            // output a smaller read could not take, and more input may never come
            // before the client hears back.
            let (in_before, out_before) = (this.inflate.total_in(), this.inflate.total_out());
            let status = this
                .inflate
                .decompress(
                    &this.input[this.start..this.end],
                    buf.initialize_unfilled(),
                    flate2::FlushDecompress::None,
                )
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            let consumed = (this.inflate.total_in() - in_before) as usize;
            let produced = (this.inflate.total_out() - out_before) as usize;
            this.start += consumed;
            buf.advance(produced);
            // A final block ends the stream: what follows reads as EOF, as in Go.
            this.done = status == flate2::Status::StreamEnd;
            if produced > 0 || this.done {
                return Poll::Ready(Ok(()));
            }
            if this.start < this.end {
                if consumed == 0 {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "deflate stream makes no progress",
                    )));
                }
                continue;
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.input);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            this.start = 0;
            this.end = rb.filled().len();
            this.eof = this.end == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A stream delivered a few bytes at a time, as a socket may deliver it.
    struct Trickle(VecDeque<u8>, usize);

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self.1.min(self.0.len()).min(buf.remaining());
            let chunk: Vec<u8> = self.0.drain(..n).collect();
            buf.put_slice(&chunk);
            Poll::Ready(Ok(()))
        }
    }

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    /// What an encoder sends for `data` in flushes of `piece` bytes.
    fn wire(mut enc: Encoder, data: &[u8], piece: usize) -> Vec<u8> {
        data.chunks(piece)
            .flat_map(|p| enc.encode(p).unwrap())
            .collect()
    }

    async fn read_all(mut r: impl AsyncRead + Unpin) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn snappy_stream_reads_back_in_any_pieces() {
        let data = sample();
        let bytes = wire(Encoder::snappy(), &data, 70_000);
        assert!(
            bytes.starts_with(b"\xff\x06\x00\x00sNaPpY"),
            "stream identifier first"
        );
        for trickle in [1, 7, 4096] {
            let r = SnappyRead::new(Trickle(bytes.iter().copied().collect(), trickle));
            assert_eq!(read_all(r).await.unwrap(), data, "pieces of {trickle}");
        }
    }

    #[tokio::test]
    async fn snappy_stream_without_identifier_or_with_a_bad_checksum_fails() {
        let bytes = wire(Encoder::snappy(), b"IDENTIFY\n", 100);
        let r = SnappyRead::new(Trickle(bytes[10..].iter().copied().collect(), 100));
        assert!(read_all(r).await.is_err(), "no stream identifier");
        let mut bad = bytes.clone();
        bad[14] ^= 1; // inside the first chunk's checksum
        let r = SnappyRead::new(Trickle(bad.into_iter().collect(), 100));
        assert!(read_all(r).await.is_err(), "checksum mismatch");
        let mut huge = bytes[..10].to_vec();
        huge.extend([0x00, 0xff, 0xff, 0xff]);
        let r = SnappyRead::new(Trickle(huge.into_iter().collect(), 100));
        assert!(
            read_all(r).await.is_err(),
            "a chunk past the largest is refused"
        );
    }

    /// Everything at once, then nothing more (and no wake-up): a client waiting for an
    /// answer before it sends again.
    struct ThenSilence(Option<Vec<u8>>);

    impl AsyncRead for ThenSilence {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            match self.0.as_mut() {
                Some(data) => {
                    let n = data.len().min(buf.remaining());
                    buf.put_slice(&data[..n]);
                    data.drain(..n);
                    if data.is_empty() {
                        self.0 = None;
                    }
                    Poll::Ready(Ok(()))
                }
                None => Poll::Pending,
            }
        }
    }

    /// Reads all of `data` in small reads without ever getting `Pending`.
    fn drains_without_more_input(mut r: impl AsyncRead + Unpin, data: &[u8]) {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut got = Vec::new();
        while got.len() < data.len() {
            let mut small = [0u8; 100];
            let mut rb = ReadBuf::new(&mut small);
            match Pin::new(&mut r).poll_read(&mut cx, &mut rb) {
                Poll::Ready(Ok(())) => got.extend_from_slice(rb.filled()),
                other => panic!(
                    "stalled after {} of {} bytes: {other:?}",
                    got.len(),
                    data.len()
                ),
            }
        }
        assert!(got == data);
    }

    #[test]
    fn decoders_hand_out_what_they_hold_before_reading_more() {
        let data = sample();
        let deflated = wire(Encoder::deflate(6), &data, data.len());
        drains_without_more_input(InflateRead::new(ThenSilence(Some(deflated))), &data);
        let snappy = wire(Encoder::snappy(), &data, data.len());
        drains_without_more_input(SnappyRead::new(ThenSilence(Some(snappy))), &data);
    }

    #[tokio::test]
    async fn deflate_stream_reads_back_in_any_pieces() {
        let data = sample();
        let bytes = wire(Encoder::deflate(6), &data, 3000);
        // Every flush ends in a sync marker: an empty stored block.
        assert!(bytes.ends_with(&[0, 0, 0xff, 0xff]));
        for trickle in [1, 5, 16 * 1024] {
            let r = InflateRead::new(Trickle(bytes.iter().copied().collect(), trickle));
            assert_eq!(read_all(r).await.unwrap(), data, "pieces of {trickle}");
        }
        let r = InflateRead::new(Trickle([0xff; 8].into_iter().collect(), 8));
        assert!(read_all(r).await.is_err(), "not deflate");
    }
}
