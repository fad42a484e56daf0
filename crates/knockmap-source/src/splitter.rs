//! Incremental, bounded line splitting over a byte stream with absolute offsets.

/// Longest line content (without the newline) that is returned; longer lines are skipped.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Splits fed bytes into complete lines, remembering the offset of each.
///
/// Memory stays bounded by about [`MAX_LINE_BYTES`] plus one fed chunk: a line that grows past
/// the limit is dropped and the rest of it is discarded up to its newline.
#[derive(Debug)]
pub(crate) struct Splitter {
    /// Pending bytes; `buf[head..]` starts at offset `start`.
    buf: Vec<u8>,
    head: usize,
    /// Bytes of `buf[head..]` already known to hold no newline.
    scanned: usize,
    /// Offset of the first byte not yet consumed as a line (the resume position).
    start: u64,
    /// Offset just after the last fed byte.
    fed: u64,
    /// Discarding an oversized line until its newline.
    skipping: bool,
    /// Oversized lines seen and not yet collected by [`Splitter::take_oversized`].
    oversized: u64,
}

impl Splitter {
    /// A splitter whose next line starts at `offset`. With `skipping`, the bytes from `offset`
    /// up to the next newline belong to an oversized line and are discarded.
    pub(crate) fn at(offset: u64, skipping: bool) -> Splitter {
        Splitter {
            buf: Vec::new(),
            head: 0,
            scanned: 0,
            start: offset,
            fed: offset,
            skipping,
            oversized: 0,
        }
    }

    /// Offset of the first byte after the last consumed line (or skipped oversized line);
    /// everything before it has been delivered.
    pub(crate) fn position(&self) -> u64 {
        self.start
    }

    /// Offset just after the last fed byte: where the next read continues.
    pub(crate) fn fed(&self) -> u64 {
        self.fed
    }

    /// Bytes held for a line that is not complete yet.
    #[cfg(test)]
    pub(crate) fn pending_len(&self) -> usize {
        self.buf.len() - self.head
    }

    /// Number of oversized lines found since the last call.
    pub(crate) fn take_oversized(&mut self) -> u64 {
        std::mem::take(&mut self.oversized)
    }

    /// Appends the next bytes of the stream. Call [`Splitter::next_line`] until it returns
    /// `None` before feeding again, which keeps the buffer bounded.
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) {
        if self.skipping {
            match memchr::memchr(b'\n', chunk) {
                Some(newline) => {
                    self.skipping = false;
                    self.fed += newline as u64 + 1;
                    self.start = self.fed;
                    chunk = &chunk[newline + 1..];
                }
                None => {
                    self.fed += chunk.len() as u64;
                    return;
                }
            }
        }
        if self.head > 0 {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        self.buf.extend_from_slice(chunk);
        self.fed += chunk.len() as u64;
    }

    /// The next complete line as `(offset, bytes without the newline)`, if one is buffered.
    pub(crate) fn next_line(&mut self) -> Option<(u64, Vec<u8>)> {
        loop {
            let pending = &self.buf[self.head..];
            match memchr::memchr(b'\n', &pending[self.scanned..]) {
                Some(found) => {
                    let len = self.scanned + found;
                    let offset = self.start;
                    let line = (len <= MAX_LINE_BYTES).then(|| pending[..len].to_vec());
                    self.head += len + 1;
                    self.start += len as u64 + 1;
                    self.scanned = 0;
                    match line {
                        Some(line) => return Some((offset, line)),
                        None => self.oversized += 1,
                    }
                }
                None => {
                    self.scanned = pending.len();
                    if pending.len() > MAX_LINE_BYTES {
                        self.oversized += 1;
                        self.skipping = true;
                        self.buf.clear();
                        self.head = 0;
                        self.scanned = 0;
                    }
                    if self.head == self.buf.len() {
                        self.buf.clear();
                        self.head = 0;
                    }
                    return None;
                }
            }
        }
    }

    /// Takes the bytes after the last complete line, as a final line without a newline.
    /// Used at the end of a finished stream (a `.gz` archive); `None` when nothing is left.
    pub(crate) fn finish(&mut self) -> Option<(u64, Vec<u8>)> {
        let pending = &self.buf[self.head..];
        if self.skipping || pending.is_empty() {
            return None;
        }
        let line = (self.start, pending.to_vec());
        self.start = self.fed;
        self.buf.clear();
        self.head = 0;
        self.scanned = 0;
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut Splitter) -> Vec<(u64, Vec<u8>)> {
        std::iter::from_fn(|| s.next_line()).collect()
    }

    #[test]
    fn splits_across_chunks_with_offsets() {
        let mut s = Splitter::at(100, false);
        s.feed(b"ab\ncd");
        assert_eq!(drain(&mut s), vec![(100, b"ab".to_vec())]);
        assert_eq!(s.position(), 103);
        s.feed(b"e\n\nf");
        assert_eq!(
            drain(&mut s),
            vec![(103, b"cde".to_vec()), (107, Vec::new())]
        );
        assert_eq!(s.position(), 108);
        assert_eq!(s.fed(), 109);
        assert_eq!(s.pending_len(), 1);
    }

    #[test]
    fn oversized_lines_are_skipped_and_counted() {
        let mut s = Splitter::at(0, false);
        let big = vec![b'x'; MAX_LINE_BYTES + 10];
        s.feed(b"ok\n");
        s.feed(&big[..40_000]);
        assert_eq!(drain(&mut s), vec![(0, b"ok".to_vec())]);
        s.feed(&big[40_000..]);
        assert_eq!(drain(&mut s), vec![]);
        assert!(s.pending_len() == 0, "buffer released");
        s.feed(b"tail\nnext\n");
        assert_eq!(
            drain(&mut s),
            vec![(3 + big.len() as u64 + 5, b"next".to_vec())]
        );
        assert_eq!(s.take_oversized(), 1);

        // A line exactly at the limit is kept; one byte more is not (even in one chunk).
        let mut s = Splitter::at(0, false);
        let mut exact = vec![b'y'; MAX_LINE_BYTES];
        exact.push(b'\n');
        s.feed(&exact);
        assert_eq!(drain(&mut s).len(), 1);
        let mut over = vec![b'z'; MAX_LINE_BYTES + 1];
        over.push(b'\n');
        s.feed(&over);
        assert_eq!(drain(&mut s), vec![]);
        assert_eq!(s.take_oversized(), 1);
        assert_eq!(s.position(), (exact.len() + over.len()) as u64);
    }

    #[test]
    fn finish_returns_unterminated_tail() {
        let mut s = Splitter::at(0, false);
        s.feed(b"a\nlast");
        assert_eq!(drain(&mut s).len(), 1);
        assert_eq!(s.finish(), Some((2, b"last".to_vec())));
        assert_eq!(s.finish(), None);
    }
}
