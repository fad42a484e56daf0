//! Reading rotated, compressed logs (`auth.log.2.gz`) for backfill.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::fingerprint::{FINGERPRINT_MAX_BYTES, fingerprint_bytes};
use crate::splitter::Splitter;
use crate::{Line, SourceError};

const READ_CHUNK: usize = 64 * 1024;

/// Opens a gzip file (all members, as written by `gzip` or concatenated) and iterates over its
/// lines.
///
/// Offsets are positions in the decompressed content and the fingerprint is that of the
/// decompressed first line, so a line gets the same `(fingerprint, offset)` as when it was
/// read live from the uncompressed file before rotation: shipping both stores it once. A final
/// line without a newline is returned too (the archive is complete). Lines longer than
/// [`crate::MAX_LINE_BYTES`] are skipped and counted.
///
/// ```no_run
/// # fn main() -> Result<(), knockmap_source::SourceError> {
/// for line in knockmap_source::read_gz_lines("/var/log/auth.log.2.gz")? {
///     let line = line?;
///     println!("{}", String::from_utf8_lossy(&line.bytes));
/// }
/// # Ok(())
/// # }
/// ```
pub fn read_gz_lines(path: impl AsRef<Path>) -> Result<GzLines, SourceError> {
    let path = path.as_ref().to_owned();
    let io_err = |source| SourceError::Io {
        path: path.clone(),
        source,
    };
    let file = File::open(&path).map_err(io_err)?;
    let mut reader = MultiGzDecoder::new(BufReader::new(file));
    let mut head = Vec::with_capacity(FINGERPRINT_MAX_BYTES);
    let mut scratch = vec![0u8; READ_CHUNK];
    let mut eof = false;
    while memchr::memchr(b'\n', &head).is_none() && head.len() < FINGERPRINT_MAX_BYTES {
        let n = read_some(&mut reader, &mut scratch).map_err(io_err)?;
        if n == 0 {
            eof = true;
            break;
        }
        head.extend_from_slice(&scratch[..n]);
    }
    let mut splitter = Splitter::at(0, false);
    splitter.feed(&head);
    Ok(GzLines {
        fingerprint: fingerprint_bytes(&head, true).unwrap_or_default(),
        path,
        reader,
        splitter,
        scratch,
        eof,
        done: false,
        oversized: 0,
    })
}

/// Iterator over the lines of a gzip file; see [`read_gz_lines`].
pub struct GzLines {
    path: PathBuf,
    reader: MultiGzDecoder<BufReader<File>>,
    splitter: Splitter,
    fingerprint: String,
    scratch: Vec<u8>,
    eof: bool,
    done: bool,
    oversized: u64,
}

impl std::fmt::Debug for GzLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzLines")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .field("position", &self.splitter.position())
            .finish_non_exhaustive()
    }
}

impl GzLines {
    /// Fingerprint of the decompressed content (empty for an empty archive, which has no
    /// lines). Compare it with a checkpoint to skip archives that were already read live.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Lines skipped so far because they were longer than [`crate::MAX_LINE_BYTES`].
    pub fn oversized_lines(&self) -> u64 {
        self.oversized
    }

    fn line(&self, (offset, bytes): (u64, Vec<u8>)) -> Line {
        Line {
            bytes,
            offset,
            fingerprint: self.fingerprint.clone(),
        }
    }
}

impl Iterator for GzLines {
    type Item = Result<Line, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let next = self.splitter.next_line();
            self.oversized += self.splitter.take_oversized();
            if let Some(line) = next {
                return Some(Ok(self.line(line)));
            }
            if self.eof {
                self.done = true;
                return self.splitter.finish().map(|line| Ok(self.line(line)));
            }
            match read_some(&mut self.reader, &mut self.scratch) {
                Ok(0) => self.eof = true,
                Ok(n) => self.splitter.feed(&self.scratch[..n]),
                Err(source) => {
                    self.done = true;
                    return Some(Err(SourceError::Io {
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
        }
    }
}

fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data)?;
        enc.finish()
    }

    #[test]
    fn multi_member_lines_match_the_plain_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("auth.log.2.gz");
        let mut bytes = gzip(b"first line\nsec")?;
        bytes.extend(gzip(b"ond line\nlast")?);
        std::fs::write(&path, bytes)?;

        let lines = read_gz_lines(&path)?.collect::<Result<Vec<_>, _>>()?;
        let got: Vec<(u64, &[u8])> = lines.iter().map(|l| (l.offset, &l.bytes[..])).collect();
        assert_eq!(
            got,
            vec![
                (0, &b"first line"[..]),
                (11, &b"second line"[..]),
                (23, &b"last"[..])
            ]
        );
        let expected = fingerprint_bytes(b"first line\n", false);
        assert!(
            lines
                .iter()
                .all(|l| Some(&l.fingerprint) == expected.as_ref())
        );
        Ok(())
    }

    #[test]
    fn oversized_lines_are_skipped() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("big.gz");
        let mut data = b"a\n".to_vec();
        data.extend(vec![b'x'; crate::MAX_LINE_BYTES * 3]);
        data.extend(b"\nb\n");
        std::fs::write(&path, gzip(&data)?)?;
        let mut it = read_gz_lines(&path)?;
        let lines = it.by_ref().collect::<Result<Vec<_>, _>>()?;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].bytes, b"b");
        assert_eq!(it.oversized_lines(), 1);
        Ok(())
    }

    #[test]
    fn corrupt_archive_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("bad.gz");
        std::fs::write(&path, b"definitely not gzip")?;
        let result = read_gz_lines(&path).and_then(|it| it.collect::<Result<Vec<_>, _>>());
        assert!(result.is_err());
        Ok(())
    }
}
