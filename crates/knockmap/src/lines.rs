//! Reading a byte stream as lines in place: one large buffer, no copy per line.

use std::io::{self, Read};

/// Buffer size; lines longer than this are skipped and counted (the parser ignores lines over
/// 64 KiB anyway).
const BUFFER: usize = 1 << 20;

/// Splits a reader into lines (without their `\n`), each with its byte offset.
pub struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    /// Start of unread data in `buf`.
    start: usize,
    /// End of valid data in `buf`.
    end: usize,
    /// Offset in the stream of `buf[0]`.
    base: u64,
    eof: bool,
    /// Lines longer than the buffer, skipped.
    pub oversized: u64,
}

impl<R: Read> LineReader<R> {
    /// A line reader over `reader`.
    pub fn new(reader: R) -> LineReader<R> {
        LineReader {
            reader,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            oversized: 0,
        }
    }

    /// Calls `each(line, offset)` for every line; a last line without `\n` counts too.
    pub fn for_each(
        &mut self,
        mut each: impl FnMut(&[u8], u64) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut skipping = false;
        loop {
            let chunk = &self.buf[self.start..self.end];
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    if skipping {
                        skipping = false;
                    } else {
                        each(&chunk[..i], self.base + self.start as u64)?;
                    }
                    self.start += i + 1;
                }
                None if self.eof => {
                    if !chunk.is_empty() && !skipping {
                        let (line, offset) = (chunk, self.base + self.start as u64);
                        each(line, offset)?;
                    }
                    return Ok(());
                }
                None => {
                    if self.start == 0 && self.end == self.buf.len() {
                        // A whole buffer without a newline: skip to the next one.
                        if !skipping {
                            self.oversized += 1;
                            skipping = true;
                        }
                        self.base += self.end as u64;
                        self.end = 0;
                    }
                    self.refill()?;
                }
            }
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        // Move the partial line to the front, then read after it.
        self.buf.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        self.end -= self.start;
        self.start = 0;
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], buffer: usize) -> (Vec<(String, u64)>, u64) {
        let mut reader = LineReader::new(input);
        reader.buf = vec![0; buffer];
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
    fn lines_and_offsets_across_buffer_boundaries() {
        let input = b"alpha\nbeta\n\ngamma";
        for buffer in [6, 7, 8, 64] {
            let (lines, oversized) = collect(input, buffer);
            let expected = [("alpha", 0), ("beta", 6), ("", 11), ("gamma", 12)];
            let expected: Vec<(String, u64)> =
                expected.iter().map(|(l, o)| (l.to_string(), *o)).collect();
            assert_eq!((lines, oversized), (expected, 0), "buffer {buffer}");
        }
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_skipped_and_counted() {
        let (lines, oversized) = collect(b"ok\nxxxxxxxxxxxxxxxxxxxxxxxx\nnext\n", 8);
        assert_eq!(lines, vec![("ok".to_string(), 0), ("next".to_string(), 28)]);
        assert_eq!(oversized, 1);
    }
}
