//! The bytes under protocol V2: TCP, TLS over it, and snappy or deflate over either, as
//! IDENTIFY negotiated them. nsqd stacks them in this order (`clientV2.UpgradeTLS`, then
//! `UpgradeSnappy` / `UpgradeDeflate` over the TCP or TLS connection), and each upgrade
//! applies to both directions at once.
//!
//! The connection reads into a buffer and decodes frames from it, and writes whole
//! buffers under its writer lock; so compression works a buffer at a time too, with no
//! extra task: [`Reader::read_buf`] decompresses what arrived into the frame buffer, and
//! [`Writer::write_all`] compresses one buffer of commands and writes it. Every write is
//! flushed through the compressor (a snappy chunk per write; a deflate sync flush), as
//! nsqd needs to act on a command as soon as it arrives.
//!
//! Snappy is the framing format (golang/snappy's `NewReader`/`NewWriter`: a stream
//! identifier, then chunks with a masked CRC-32C). snap's `FrameDecoder` is a blocking
//! reader, so it is given only whole chunks: the bytes of a chunk still arriving stay in
//! [`Chunks`] until its last byte is there. Deflate is raw DEFLATE (Go `compress/flate`).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// How much is asked of the socket at a time below a decompressor.
const RAW_CHUNK: usize = 64 * 1024;
/// Room made in the frame buffer for one decompression step.
const INFLATE_STEP: usize = 64 * 1024;
/// The longest snappy chunk a framing-format reader takes (golang/snappy: the largest
/// compressed block, 76 490 bytes, plus its 4-byte checksum). A longer one is an error,
/// never buffered.
const MAX_SNAPPY_CHUNK: usize = 76_490 + 4;

/// Read buffer per connection: nsqd's own output buffer is 16 KiB, so this holds several
/// of its flushes.
pub(crate) const READ_BUFFER: usize = 64 * 1024;

/// Compression as IDENTIFY negotiates it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// Plain protocol V2.
    #[default]
    None,
    /// The snappy framing format.
    Snappy,
    /// Raw DEFLATE at this level (1-9; nsqd clamps it to its `--max-deflate-level`).
    Deflate(u8),
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Snappy => f.write_str("snappy"),
            Compression::Deflate(level) => write!(f, "deflate (level {level})"),
        }
    }
}

enum ReadIo {
    Tcp(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream>),
}

enum WriteIo {
    Tcp(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream>),
}

/// The reading side of a connection.
pub(crate) struct Reader {
    io: ReadIo,
    inflate: Option<Box<Inflate>>,
}

/// The writing side of a connection.
pub(crate) struct Writer {
    io: WriteIo,
    compress: Option<Box<Compress>>,
}

/// A TCP connection's two sides, not upgraded yet.
pub(crate) fn tcp(stream: TcpStream) -> (Reader, Writer) {
    let (rd, wr) = stream.into_split();
    (
        Reader {
            io: ReadIo::Tcp(rd),
            inflate: None,
        },
        Writer {
            io: WriteIo::Tcp(wr),
            compress: None,
        },
    )
}

/// The TCP connection under two sides that have not been upgraded, for the TLS
/// handshake; `None` if they were (or do not belong together).
pub(crate) fn into_tcp(rd: Reader, wr: Writer) -> Option<TcpStream> {
    match (rd.io, wr.io, rd.inflate.is_none() && wr.compress.is_none()) {
        (ReadIo::Tcp(r), WriteIo::Tcp(w), true) => r.reunite(w).ok(),
        _ => None,
    }
}

/// The two sides of a TLS connection.
pub(crate) fn tls(stream: TlsStream) -> (Reader, Writer) {
    let (rd, wr) = tokio::io::split(stream);
    (
        Reader {
            io: ReadIo::Tls(rd),
            inflate: None,
        },
        Writer {
            io: WriteIo::Tls(wr),
            compress: None,
        },
    )
}

/// Puts a compressor on both sides, after nsqd's IDENTIFY reply granted it. nsqd sends
/// its `OK` compressed right after the reply (or after the TLS `OK`), so the reader may
/// already hold the start of the compressed stream in `read_ahead`: those bytes go to
/// the decompressor, not to the frame decoder.
pub(crate) fn compress(
    rd: &mut Reader,
    wr: &mut Writer,
    how: Compression,
    read_ahead: &mut BytesMut,
) {
    if let (Some(mut inflate), Some(compress)) = (Inflate::new(how), Compress::new(how)) {
        inflate.raw_mut().extend_from_slice(read_ahead);
        read_ahead.clear();
        rd.inflate = Some(Box::new(inflate));
        wr.compress = Some(Box::new(compress));
    }
}

impl Reader {
    /// Appends what arrives to `buf`, decompressed; `Ok(0)` at the end of the stream.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let Some(inflate) = self.inflate.as_deref_mut() else {
            return self.io.read_buf(buf).await;
        };
        loop {
            let n = inflate.decode(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let raw = inflate.raw_mut();
            if raw.capacity() - raw.len() < RAW_CHUNK / 4 {
                raw.reserve(RAW_CHUNK);
            }
            if self.io.read_buf(raw).await? == 0 {
                return if inflate.raw_mut().is_empty() {
                    Ok(0)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed in the middle of a compressed chunk",
                    ))
                };
            }
        }
    }
}

impl Writer {
    /// Writes `data` whole (compressed, when negotiated) and flushes it to the socket.
    pub(crate) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self.compress.as_deref_mut() {
            None => self.io.write_all(data).await?,
            Some(c) => {
                let out = c.encode(data)?;
                self.io.write_all(out).await?;
            }
        }
        // TLS keeps what it could not write yet in its own buffer; TCP has nothing to do.
        self.io.flush().await
    }

    pub(crate) async fn shutdown(&mut self) -> io::Result<()> {
        self.io.shutdown().await
    }
}

/// Whole snappy chunks for snap's blocking `FrameDecoder`: it reads a chunk's header
/// and then the chunk with `read_exact`, so only bytes up to the end of the last
/// complete chunk are handed out; at that boundary it sees the end of input and
/// returns 0, to be called again when more has arrived.
#[derive(Default)]
struct Chunks {
    buf: BytesMut,
    /// `buf[..complete]` is whole chunks.
    complete: usize,
}

impl Chunks {
    /// Moves `complete` past every chunk that has fully arrived.
    fn mark_complete(&mut self) -> io::Result<()> {
        while let Some(header) = self.buf.get(self.complete..self.complete + 4) {
            let len = u32::from_le_bytes([header[1], header[2], header[3], 0]) as usize;
            if len > MAX_SNAPPY_CHUNK {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("snappy chunk of {len} bytes (at most {MAX_SNAPPY_CHUNK})"),
                ));
            }
            if self.buf.len() - self.complete < 4 + len {
                break;
            }
            self.complete += 4 + len;
        }
        Ok(())
    }
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out.len().min(self.complete);
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf.advance(n);
        self.complete -= n;
        Ok(n)
    }
}

/// A decompressor, with the room it decompresses into before the bytes join the frame
/// buffer (kept, so no step zeroes memory).
struct Inflate {
    codec: InflateCodec,
    room: Vec<u8>,
}

enum InflateCodec {
    Snappy(snap::read::FrameDecoder<Chunks>),
    Deflate {
        z: flate2::Decompress,
        raw: BytesMut,
    },
}

impl Inflate {
    fn new(how: Compression) -> Option<Inflate> {
        let codec = match how {
            Compression::None => return None,
            Compression::Snappy => {
                InflateCodec::Snappy(snap::read::FrameDecoder::new(Chunks::default()))
            }
            Compression::Deflate(_) => InflateCodec::Deflate {
                z: flate2::Decompress::new(false),
                raw: BytesMut::new(),
            },
        };
        Some(Inflate {
            codec,
            room: vec![0; INFLATE_STEP],
        })
    }

    /// Where bytes from the socket go.
    fn raw_mut(&mut self) -> &mut BytesMut {
        match &mut self.codec {
            InflateCodec::Snappy(d) => &mut d.get_mut().buf,
            InflateCodec::Deflate { raw, .. } => raw,
        }
    }

    /// Decompresses what can be from the raw bytes into `out`; the count appended.
    fn decode(&mut self, out: &mut BytesMut) -> io::Result<usize> {
        let room = &mut self.room[..];
        let mut total = 0;
        match &mut self.codec {
            InflateCodec::Snappy(d) => {
                d.get_mut().mark_complete()?;
                loop {
                    let n = d.read(room)?;
                    if n == 0 {
                        return Ok(total);
                    }
                    out.extend_from_slice(&room[..n]);
                    total += n;
                }
            }
            InflateCodec::Deflate { z, raw } => loop {
                let (in_before, out_before) = (z.total_in(), z.total_out());
                z.decompress(raw, room, flate2::FlushDecompress::None)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let consumed = (z.total_in() - in_before) as usize;
                let produced = (z.total_out() - out_before) as usize;
                raw.advance(consumed);
                out.extend_from_slice(&room[..produced]);
                total += produced;
                // A full room may leave output pending inside; otherwise what is left
                // (if anything) is the start of a block still arriving.
                if produced < room.len() && (raw.is_empty() || consumed == 0) {
                    return Ok(total);
                }
            },
        }
    }
}

// Boxed as a whole by `Writer`, so the snappy encoder's inline table costs nothing
// until compression is negotiated.
#[expect(clippy::large_enum_variant)]
enum Compress {
    Snappy(snap::write::FrameEncoder<Vec<u8>>),
    Deflate { z: flate2::Compress, out: Vec<u8> },
}

impl Compress {
    fn new(how: Compression) -> Option<Compress> {
        match how {
            Compression::None => None,
            Compression::Snappy => {
                Some(Compress::Snappy(snap::write::FrameEncoder::new(Vec::new())))
            }
            Compression::Deflate(level) => Some(Compress::Deflate {
                z: flate2::Compress::new(flate2::Compression::new(level.into()), false),
                out: Vec::new(),
            }),
        }
    }

    /// `data` compressed and flushed, ready to write.
    fn encode(&mut self, data: &[u8]) -> io::Result<&[u8]> {
        match self {
            Compress::Snappy(enc) => {
                enc.get_mut().clear();
                enc.write_all(data)?;
                enc.flush()?;
                Ok(enc.get_ref())
            }
            Compress::Deflate { z, out } => {
                out.clear();
                let mut input = data;
                loop {
                    // compress_vec writes into the spare capacity only.
                    out.reserve(input.len() + 64);
                    let before = z.total_in();
                    z.compress_vec(input, out, flate2::FlushCompress::Sync)
                        .map_err(io::Error::other)?;
                    input = &input[(z.total_in() - before) as usize..];
                    // Done once all is in and the flush had room to finish.
                    if input.is_empty() && out.len() < out.capacity() {
                        return Ok(out);
                    }
                }
            }
        }
    }
}

impl AsyncRead for ReadIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadIo::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ReadIo::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteIo::Tcp(w) => Pin::new(w).poll_write(cx, buf),
            WriteIo::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteIo::Tcp(w) => Pin::new(w).poll_flush(cx),
            WriteIo::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteIo::Tcp(w) => Pin::new(w).poll_shutdown(cx),
            WriteIo::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `compressed` through a decoder in pieces of `step` bytes, as a socket might
    /// hand them over.
    fn decode_in_steps(how: Compression, compressed: &[u8], step: usize) -> Vec<u8> {
        let mut inflate = Inflate::new(how).unwrap();
        let mut out = BytesMut::new();
        for piece in compressed.chunks(step) {
            inflate.raw_mut().extend_from_slice(piece);
            inflate.decode(&mut out).unwrap();
        }
        assert!(inflate.raw_mut().is_empty(), "bytes left undecoded");
        out.to_vec()
    }

    fn encoder(how: Compression) -> Compress {
        Compress::new(how).unwrap()
    }

    #[test]
    fn what_is_written_reads_back_whatever_the_pieces() {
        let writes: Vec<Vec<u8>> = vec![
            b"RDY 1000\n".to_vec(),
            (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect(),
            b"FIN 0123456789abcdef\n".repeat(500),
            Vec::new(),
            b"NOP\n".to_vec(),
        ];
        let plain: Vec<u8> = writes.concat();
        for how in [
            Compression::Snappy,
            Compression::Deflate(6),
            Compression::Deflate(1),
        ] {
            let mut enc = encoder(how);
            let mut stream = Vec::new();
            for w in &writes {
                stream.extend_from_slice(enc.encode(w).unwrap());
            }
            assert!(stream.len() < plain.len(), "{how}: not compressed");
            for step in [1, 7, 4096, stream.len()] {
                assert_eq!(
                    decode_in_steps(how, &stream, step),
                    plain,
                    "{how}, step {step}"
                );
            }
        }
    }

    #[test]
    fn each_write_is_complete_on_its_own() {
        // nsqd must be able to act on a command without waiting for the next write.
        for how in [Compression::Snappy, Compression::Deflate(6)] {
            let mut enc = encoder(how);
            let first = enc.encode(b"SUB t c\n").unwrap().to_vec();
            assert_eq!(
                decode_in_steps(how, &first, first.len()),
                b"SUB t c\n",
                "{how}"
            );
        }
    }

    #[test]
    fn a_snappy_chunk_longer_than_any_reader_takes_is_refused() {
        let mut chunks = Chunks::default();
        chunks.buf.extend_from_slice(&[0x00, 0xff, 0xff, 0x01]);
        let err = chunks.mark_complete().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_damaged_snappy_chunk_is_an_error() {
        let mut enc = encoder(Compression::Snappy);
        let mut stream = enc.encode(&b"x".repeat(1000)).unwrap().to_vec();
        let last = stream.len() - 1;
        stream[last] ^= 0xff;
        let mut inflate = Inflate::new(Compression::Snappy).unwrap();
        inflate.raw_mut().extend_from_slice(&stream);
        assert!(inflate.decode(&mut BytesMut::new()).is_err());
    }
}
