//! File identity: a checksum of the first line, so a file keeps its identity when it is
//! renamed by log rotation and a new file at the same path gets a new one.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

/// At most this many leading bytes of a file are hashed for its fingerprint.
///
/// A first line longer than this is identified by its first `FINGERPRINT_MAX_BYTES` bytes, so
/// a file never waits for an endless first line.
pub const FINGERPRINT_MAX_BYTES: usize = 1024;

/// Hex digits kept from the SHA-256 digest (128 bits).
const FINGERPRINT_HEX_LEN: usize = 32;

/// Bytes before a position that are hashed to verify a checkpoint still matches the file.
pub(crate) const CHECK_BYTES: u64 = 64;

/// Fingerprint of a file whose first bytes are `head` (at most [`FINGERPRINT_MAX_BYTES`] are
/// looked at).
///
/// Returns `None` while the first line is incomplete: no newline in `head` and fewer than
/// [`FINGERPRINT_MAX_BYTES`] bytes. With `complete` (the whole content is known, as for a
/// finished `.gz` file) a file without any newline is identified by all of its bytes, and an
/// empty one has no fingerprint.
pub fn fingerprint_bytes(head: &[u8], complete: bool) -> Option<String> {
    let head = &head[..head.len().min(FINGERPRINT_MAX_BYTES)];
    let first_line = match memchr::memchr(b'\n', head) {
        Some(newline) => &head[..newline],
        None if head.len() >= FINGERPRINT_MAX_BYTES => head,
        None if complete && !head.is_empty() => head,
        None => return None,
    };
    Some(short_hex(&Sha256::digest(first_line)))
}

/// Fingerprint of an open file, read with positioned reads (the handle's cursor is untouched).
pub(crate) fn fingerprint_file(file: &File) -> io::Result<Option<String>> {
    let mut head = vec![0u8; FINGERPRINT_MAX_BYTES];
    let filled = read_full_at(file, &mut head, 0)?;
    Ok(fingerprint_bytes(&head[..filled], false))
}

/// The fingerprint used for content that reused a first line already seen with a different
/// body (a file truncated or re-created with the same first line). Generation 0 is the plain
/// first-line fingerprint.
pub(crate) fn generation_fingerprint(first_line: &str, generation: u32) -> String {
    if generation == 0 {
        return first_line.to_owned();
    }
    let mut hasher = Sha256::new();
    hasher.update(first_line.as_bytes());
    hasher.update(b"/");
    hasher.update(generation.to_string().as_bytes());
    short_hex(&hasher.finalize())
}

/// Checksum of the up to [`CHECK_BYTES`] bytes just before `offset`; stored with a checkpoint
/// so that a file whose body changed under the same first line is not resumed mid-way.
pub(crate) fn tail_check(file: &File, offset: u64) -> io::Result<Option<String>> {
    let start = offset.saturating_sub(CHECK_BYTES);
    let want = usize::try_from(offset - start).unwrap_or(0);
    let mut buf = vec![0u8; want];
    let filled = read_full_at(file, &mut buf, start)?;
    if filled < want {
        // The file is shorter than `offset`: it cannot match any check.
        return Ok(None);
    }
    Ok(Some(short_hex(&Sha256::digest(&buf))[..16].to_owned()))
}

/// Reads until `buf` is full or end of file; returns the number of bytes read.
pub(crate) fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn short_hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(FINGERPRINT_HEX_LEN);
    for byte in digest.iter().take(FINGERPRINT_HEX_LEN / 2) {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_first_line_has_no_fingerprint() {
        assert_eq!(fingerprint_bytes(b"", false), None);
        assert_eq!(fingerprint_bytes(b"Nov 21 sshd[1]: partial", false), None);
        assert_eq!(fingerprint_bytes(b"", true), None);
    }

    #[test]
    fn fingerprint_covers_only_the_first_line() {
        let a = fingerprint_bytes(b"first\nsecond\n", false);
        let b = fingerprint_bytes(b"first\nother", false);
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, fingerprint_bytes(b"First\n", false));
        assert_eq!(a.as_deref().map(str::len), Some(FINGERPRINT_HEX_LEN));
    }

    #[test]
    fn long_first_line_is_cut_at_the_limit() {
        let mut long = vec![b'x'; FINGERPRINT_MAX_BYTES - 1];
        assert_eq!(fingerprint_bytes(&long, false), None);
        long.push(b'x');
        let at_limit = fingerprint_bytes(&long, false);
        assert!(at_limit.is_some());
        long.extend_from_slice(b"more\n");
        assert_eq!(fingerprint_bytes(&long, false), at_limit);
    }

    #[test]
    fn generations_differ() {
        let raw = "0123456789abcdef0123456789abcdef";
        assert_eq!(generation_fingerprint(raw, 0), raw);
        let one = generation_fingerprint(raw, 1);
        assert_ne!(one, raw);
        assert_ne!(one, generation_fingerprint(raw, 2));
        assert_eq!(one.len(), FINGERPRINT_HEX_LEN);
    }
}
