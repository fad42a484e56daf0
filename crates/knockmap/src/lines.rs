//! Reading a byte stream as lines, with read-ahead: a reader thread fills blocks while the
//! caller parses the previous one, and lines are handed out in place (no copy per line).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

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
                buf.resize(block, 0);
                let n = loop {
                    match reader.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                let stop = !matches!(n, Ok(n) if n > 0);
                let sent = send.send(n.map(|n| {
                    buf.truncate(n);
                    buf
                }));
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
}
