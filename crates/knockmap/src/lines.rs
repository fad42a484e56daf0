//! Reading a byte stream as lines, with read-ahead: a reader thread fills blocks while the
//! caller parses the previous one, and lines are handed out in place (no copy per line).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use jiff::Timestamp;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// When a log file was last written, the anchor for the year of timestamps that lack one;
/// now if the file system does not say.
pub fn written_at(file: &File) -> Timestamp {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| Timestamp::try_from(t).ok())
        .unwrap_or_else(Timestamp::now)
}

/// The content of `path` read through `reader`: decompressed when the name ends in `.gz`
/// (all gzip members, as logrotate and concatenation write them).
pub fn decompressed(path: &Path, reader: impl Read + Send + 'static) -> Box<dyn Read + Send> {
    if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    }
}

/// Size of one block read ahead.
const BLOCK: usize = 1 << 20;
/// Blocks in flight between the reader thread and the parser.
const BLOCKS_AHEAD: usize = 4;
/// A line longer than this is skipped and counted (the parser ignores lines over 64 KiB).
const MAX_LINE: usize = 1 << 20;

/// Splits a reader into lines (without their `\n`), each with its byte offset.
pub struct LineReader {
    blocks: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    /// The start of a line that continues in the next block.
    carry: Vec<u8>,
    /// Whether the line being carried is too long and is being skipped.
    skipping: bool,
    /// Offset in the stream of the next block's first byte.
    next_block: u64,
    /// Lines longer than [`MAX_LINE`], skipped.
    pub oversized: u64,
}

impl LineReader {
    /// A line reader over `reader`, reading ahead on its own thread.
    pub fn new(reader: impl Read + Send + 'static) -> LineReader {
        LineReader::with_block_size(reader, BLOCK)
    }

    fn with_block_size(mut reader: impl Read + Send + 'static, block: usize) -> LineReader {
        let (send, blocks) = sync_channel(BLOCKS_AHEAD);
        let (recycle, reuse) = sync_channel::<Vec<u8>>(BLOCKS_AHEAD + 2);
        // The thread ends after its current read once this reader (the receiver) is gone.
        std::thread::spawn(move || {
            loop {
                let mut buf = reuse
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(block));
                buf.clear();
                // Reads into the spare capacity, which need not be zeroed first.
                let n = (&mut reader).take(block as u64).read_to_end(&mut buf);
                let stop = !matches!(n, Ok(n) if n > 0);
                let sent = send.send(n.map(|_| buf));
                if stop || sent.is_err() {
                    return;
                }
            }
        });
        LineReader {
            blocks,
            recycle,
            carry: Vec::new(),
            skipping: false,
            next_block: 0,
            oversized: 0,
        }
    }

    /// Calls `each(line, offset)` for every line; a last line without `\n` counts too.
    pub fn for_each(
        &mut self,
        mut each: impl FnMut(&[u8], u64) -> io::Result<()>,
    ) -> io::Result<()> {
        loop {
            let block = match self.blocks.recv() {
                Ok(Ok(block)) if !block.is_empty() => block,
                Ok(Err(e)) => return Err(e),
                // End of the stream (or the reader thread is gone).
                _ => break,
            };
            let base = self.next_block;
            self.next_block += block.len() as u64;
            let mut rest = &block[..];
            if !self.carry.is_empty() || self.skipping {
                // Finish the line that started in an earlier block.
                match memchr::memchr(b'\n', rest) {
                    Some(i) => {
                        if self.skipping {
                        } else if self.carry.len() + i > MAX_LINE {
                            self.oversized += 1;
                        } else {
                            self.carry.extend_from_slice(&rest[..i]);
                            let offset = base - (self.carry.len() - i) as u64;
                            each(&self.carry, offset)?;
                        }
                        self.carry.clear();
                        self.skipping = false;
                        rest = &rest[i + 1..];
                    }
                    None => {
                        self.hold(rest);
                        let _ = self.recycle.try_send(block);
                        continue;
                    }
                }
            }
            let mut start = 0;
            while let Some(i) = memchr::memchr(b'\n', &rest[start..]) {
                let offset = base + (block.len() - rest.len() + start) as u64;
                each(&rest[start..start + i], offset)?;
                start += i + 1;
            }
            self.hold(&rest[start..]);
            let _ = self.recycle.try_send(block);
        }
        if !self.carry.is_empty() && !self.skipping {
            let offset = self.next_block - self.carry.len() as u64;
            each(&self.carry, offset)?;
        }
        self.carry.clear();
        Ok(())
    }

    /// Keeps the unfinished end of a block for the next one, skipping over-long lines.
    fn hold(&mut self, partial: &[u8]) {
        if self.skipping || partial.is_empty() {
            return;
        }
        if self.carry.len() + partial.len() > MAX_LINE {
            self.oversized += 1;
            self.skipping = true;
            self.carry.clear();
        } else {
            self.carry.extend_from_slice(partial);
        }
    }
}

/// Splits a reader into chunks of whole lines, for work spread over threads: each chunk ends
/// with `\n` (the last one may not) and no line is cut between two chunks.
pub struct ChunkReader<R> {
    reader: R,
    /// Bytes read per call.
    size: usize,
    /// The start of a line that continues in the next read.
    carry: Vec<u8>,
    /// Whether a line longer than [`MAX_LINE`] is being skipped up to its end.
    skipping: bool,
    /// Whether the reader is at its end.
    done: bool,
    /// Lines longer than [`MAX_LINE`] that never made it into a chunk.
    pub oversized: u64,
}

impl<R: Read> ChunkReader<R> {
    /// Chunks of about `size` bytes from `reader`.
    pub fn new(reader: R, size: usize) -> ChunkReader<R> {
        ChunkReader {
            reader,
            size,
            carry: Vec::new(),
            skipping: false,
            done: false,
            oversized: 0,
        }
    }

    /// The next chunk, in `buf` (whose old content is dropped); `false` at the end.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        buf.append(&mut self.carry);
        while !self.done {
            let start = buf.len();
            buf.reserve(self.size);
            // Reads into the spare capacity, which need not be zeroed first.
            let n = (&mut self.reader).take(self.size as u64).read_to_end(buf)?;
            if n == 0 {
                self.done = true;
                break;
            }
            // Only the new bytes can hold a newline: the older ones did not.
            let mut scan = start;
            if self.skipping {
                let Some(i) = memchr::memchr(b'\n', &buf[start..]) else {
                    buf.truncate(start);
                    continue;
                };
                buf.drain(..start + i + 1);
                self.skipping = false;
                scan = 0;
            }
            if let Some(i) = memchr::memrchr(b'\n', &buf[scan..]) {
                self.carry.extend_from_slice(&buf[scan + i + 1..]);
                buf.truncate(scan + i + 1);
                break;
            }
            if buf.len() > MAX_LINE {
                self.oversized += 1;
                self.skipping = true;
                buf.clear();
            }
        }
        Ok(!buf.is_empty())
    }
}

/// Calls `each(line)` for the lines of a chunk from [`ChunkReader`] that are no longer than
/// the line reader's limit, and returns how many longer ones it skipped.
pub fn for_each_line(chunk: &[u8], mut each: impl FnMut(&[u8])) -> u64 {
    let mut oversized = 0;
    let mut rest = chunk;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        if line.len() > MAX_LINE {
            oversized += 1;
        } else {
            each(line);
        }
        rest = next;
    }
    oversized
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &'static [u8], block: usize) -> (Vec<(String, u64)>, u64) {
        let mut reader = LineReader::with_block_size(input, block);
        let mut lines = Vec::new();
        reader
            .for_each(|line, offset| {
                lines.push((String::from_utf8_lossy(line).into_owned(), offset));
                Ok(())
            })
            .expect("reading a slice cannot fail");
        (lines, reader.oversized)
    }

    #[test]
    fn lines_and_offsets_across_block_boundaries() {
        let input = b"alpha\nbeta\n\ngamma";
        for block in [1, 2, 3, 5, 6, 7, 8, 64] {
            let (lines, oversized) = collect(input, block);
            let expected = [("alpha", 0), ("beta", 6), ("", 11), ("gamma", 12)];
            let expected: Vec<(String, u64)> =
                expected.iter().map(|(l, o)| (l.to_string(), *o)).collect();
            assert_eq!((lines, oversized), (expected, 0), "block {block}");
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_is_skipped_and_counted() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend_from_slice(b"\nnext\n");
        let input: &'static [u8] = input.leak();
        for block in [4096, BLOCK] {
            let (lines, oversized) = collect(input, block);
            let next_offset = (3 + MAX_LINE + 10 + 1) as u64;
            assert_eq!(
                lines,
                vec![("ok".to_string(), 0), ("next".to_string(), next_offset)]
            );
            assert_eq!(oversized, 1, "block {block}");
        }
    }

    fn chunked(input: &[u8], size: usize) -> (Vec<Vec<u8>>, u64) {
        let mut reader = ChunkReader::new(input, size);
        let (mut lines, mut oversized) = (Vec::new(), 0);
        let mut buf = Vec::new();
        while reader
            .next_into(&mut buf)
            .expect("reading a slice cannot fail")
        {
            assert!(buf.ends_with(b"\n") || !input.ends_with(b"\n"), "{buf:?}");
            oversized += for_each_line(&buf, |l| lines.push(l.to_vec()));
        }
        (lines, oversized + reader.oversized)
    }

    #[test]
    fn chunks_hold_whole_lines_whatever_the_read_size() {
        let mut input = b"alpha\nbeta\n\ngamma\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 3));
        input.extend_from_slice(b"\ndelta\nlast");
        let (reference, oversized) = collect(input.clone().leak(), 7);
        for size in [1, 2, 3, 5, 7, 64, MAX_LINE / 2, MAX_LINE + 1, 4 * MAX_LINE] {
            let (lines, n) = chunked(&input, size);
            let lines: Vec<String> = lines
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            let expected: Vec<String> = reference.iter().map(|(l, _)| l.clone()).collect();
            assert_eq!((lines, n), (expected, oversized), "size {size}");
        }
    }
}
