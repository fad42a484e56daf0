//! The disk spool: batches the server could not take yet, kept durably and in order.
//!
//! Each batch is one file, `<sequence>.batch`, holding a small header and the gzipped NDJSON
//! body exactly as it is posted. A record is written to `<sequence>.tmp`, flushed to disk,
//! renamed into place and the directory flushed, so once [`Spool::push`] returns the batch
//! survives a crash and the source's read position may move past it.
//!
//! A record that a crash left torn (a `.tmp` file, a short file, a bad checksum) is detected,
//! reported and deleted, never sent and never fatal. Nothing is lost by that: a record is only
//! complete once `push` returned, and read positions are committed only after that.
//!
//! The spool is bounded: when a new batch does not fit, the oldest batches are dropped with a
//! loud warning and their events counted in [`SpoolStats::dropped_events`].

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `magic(8) events(8, LE) body length(8, LE) crc32(4, LE)`, then the body.
const MAGIC: &[u8; 8] = b"KMSPOOL1";
const HEADER_LEN: u64 = 28;
const RECORD_SUFFIX: &str = ".batch";
const TEMP_SUFFIX: &str = ".tmp";
/// Where batches the server refused for good are kept, inside the spool directory.
const REJECTED_DIR: &str = "rejected";

/// A spool operation that failed on the file system.
#[derive(Debug, thiserror::Error)]
#[error("spool: cannot {action} {}: {source}", path.display())]
pub struct SpoolError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl SpoolError {
    fn new(action: &'static str, path: &Path, source: std::io::Error) -> SpoolError {
        SpoolError {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How full the spool is, and what it had to drop since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Bytes of the spooled records on disk.
    pub bytes: u64,
    /// Spooled batches waiting to be sent.
    pub batches: u64,
    /// Events dropped because the spool was full.
    pub dropped_events: u64,
    /// Batches the server refused for good, set aside in `rejected/`.
    pub rejected_batches: u64,
}

/// One spooled batch, read back to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledBatch {
    /// Its place in the spool; pass it to [`Spool::remove`] once the server took it.
    pub seq: u64,
    /// How many events it holds.
    pub events: u64,
    /// The gzipped NDJSON body, as it is posted.
    pub body: Vec<u8>,
}

/// What [`Spool::push`] did with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The batch is on disk.
    Stored,
    /// The batch alone is larger than the whole spool may be (or only the batch being sent
    /// is left to drop): it was dropped and its events counted.
    DroppedNew,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    bytes: u64,
    events: u64,
}

/// A directory of spooled batches, oldest first. Not shared by itself: wrap it in a mutex.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    entries: VecDeque<Entry>,
    bytes: u64,
    next_seq: u64,
    dropped_events: u64,
    rejected_batches: u64,
    /// The batch last handed out by [`Spool::oldest`]: it may be on the wire, so making room
    /// drops others first (dropping it would count events the server may well store).
    leased: Option<u64>,
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, holding at most `max_bytes`. Torn
    /// records are deleted; if the spool is over `max_bytes`, the oldest batches are dropped.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        std::fs::create_dir_all(dir).map_err(|e| SpoolError::new("create", dir, e))?;
        let mut entries = Vec::new();
        let listing = std::fs::read_dir(dir).map_err(|e| SpoolError::new("list", dir, e))?;
        for item in listing {
            let item = item.map_err(|e| SpoolError::new("list", dir, e))?;
            let path = item.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(TEMP_SUFFIX) {
                tracing::warn!(file = %path.display(), "deleting a spool record a crash left half-written");
                remove_file(&path)?;
                continue;
            }
            let Some(seq) = name
                .strip_suffix(RECORD_SUFFIX)
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            match read_header(&path) {
                Ok(Some((events, bytes))) => entries.push(Entry { seq, bytes, events }),
                Ok(None) => {
                    tracing::warn!(file = %path.display(), "deleting a torn spool record");
                    remove_file(&path)?;
                }
                Err(e) => return Err(SpoolError::new("read", &path, e)),
            }
        }
        entries.sort_by_key(|e| e.seq);
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            bytes: entries.iter().map(|e| e.bytes).sum(),
            next_seq: entries.last().map_or(0, |e| e.seq + 1),
            entries: entries.into(),
            dropped_events: 0,
            rejected_batches: 0,
            leased: None,
        };
        if !spool.entries.is_empty() {
            tracing::info!(
                batches = spool.entries.len(),
                bytes = spool.bytes,
                "found spooled batches; they are sent first"
            );
        }
        spool.make_room(0)?;
        Ok(spool)
    }

    /// Whether no batch waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How full the spool is.
    pub fn stats(&self) -> SpoolStats {
        SpoolStats {
            bytes: self.bytes,
            batches: self.entries.len() as u64,
            dropped_events: self.dropped_events,
            rejected_batches: self.rejected_batches,
        }
    }

    /// Stores a gzipped batch of `events` events durably, after the ones already spooled;
    /// drops the oldest batches first if it does not fit.
    pub fn push(&mut self, body: &[u8], events: u64) -> Result<Pushed, SpoolError> {
        let record_bytes = HEADER_LEN + body.len() as u64;
        if !self.make_room(record_bytes)? {
            self.dropped_events += events;
            tracing::error!(
                events,
                dropped_events = self.dropped_events,
                max_bytes = self.max_bytes,
                "the spool is full and this batch does not fit: its events are DROPPED; \
                 raise --spool-max-bytes or bring the server back"
            );
            return Ok(Pushed::DroppedNew);
        }
        let seq = self.next_seq;
        let temp = self.dir.join(format!("{seq:020}{TEMP_SUFFIX}"));
        let path = self.record_path(seq);
        write_record(&temp, events, body).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            SpoolError::new("write", &temp, e)
        })?;
        std::fs::rename(&temp, &path).map_err(|e| SpoolError::new("rename", &temp, e))?;
        sync_dir(&self.dir)?;
        self.next_seq += 1;
        self.bytes += record_bytes;
        self.entries.push_back(Entry {
            seq,
            bytes: record_bytes,
            events,
        });
        Ok(Pushed::Stored)
    }

    /// The oldest batch, read back and checked; a record found damaged is deleted with a
    /// warning and the next one is tried.
    pub fn oldest(&mut self) -> Result<Option<SpooledBatch>, SpoolError> {
        while let Some(entry) = self.entries.front().copied() {
            let path = self.record_path(entry.seq);
            match read_record(&path) {
                Ok(Some((events, body))) => {
                    self.leased = Some(entry.seq);
                    return Ok(Some(SpooledBatch {
                        seq: entry.seq,
                        events,
                        body,
                    }));
                }
                Ok(None) => {
                    tracing::warn!(file = %path.display(), "deleting a damaged spool record");
                    remove_file(&path)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SpoolError::new("read", &path, e)),
            }
            self.forget(entry.seq);
        }
        Ok(None)
    }

    /// Deletes a batch the server acknowledged.
    pub fn remove(&mut self, seq: u64) -> Result<(), SpoolError> {
        if self.leased == Some(seq) {
            self.leased = None;
        }
        if self.forget(seq).is_some() {
            remove_file(&self.record_path(seq))?;
        }
        Ok(())
    }

    /// Sets aside a spooled batch the server refused for good: its record moves to
    /// `rejected/`, with the server's answer beside it in `<sequence>.reason`, where it stays
    /// for the operator (it no longer counts toward the spool's size). Returns the record's
    /// new path.
    pub fn reject(&mut self, seq: u64, reason: &str) -> Result<PathBuf, SpoolError> {
        let to = self.move_to_rejected(seq, &self.record_path(seq), reason)?;
        if self.leased == Some(seq) {
            self.leased = None;
        }
        self.forget(seq);
        Ok(to)
    }

    /// [`Spool::reject`] for a batch that was never spooled: it is written straight to
    /// `rejected/`, so it is not sent again only to be refused again.
    pub fn set_aside(
        &mut self,
        body: &[u8],
        events: u64,
        reason: &str,
    ) -> Result<PathBuf, SpoolError> {
        let seq = self.next_seq;
        let temp = self.dir.join(format!("{seq:020}{TEMP_SUFFIX}"));
        write_record(&temp, events, body).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            SpoolError::new("write", &temp, e)
        })?;
        self.next_seq += 1;
        self.move_to_rejected(seq, &temp, reason)
    }

    /// Moves the record at `from` to `rejected/` as batch `seq`, with its reason.
    fn move_to_rejected(
        &mut self,
        seq: u64,
        from: &Path,
        reason: &str,
    ) -> Result<PathBuf, SpoolError> {
        let dir = self.dir.join(REJECTED_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| SpoolError::new("create", &dir, e))?;
        let to = dir.join(format!("{seq:020}{RECORD_SUFFIX}"));
        let note = dir.join(format!("{seq:020}.reason"));
        std::fs::write(&note, format!("{reason}\n"))
            .map_err(|e| SpoolError::new("write", &note, e))?;
        std::fs::rename(from, &to).map_err(|e| SpoolError::new("move", from, e))?;
        sync_dir(&dir)?;
        sync_dir(&self.dir)?;
        self.rejected_batches += 1;
        Ok(to)
    }

    /// Drops the oldest batches (but not the leased one) until `needed` more bytes fit;
    /// whether they fit.
    fn make_room(&mut self, needed: u64) -> Result<bool, SpoolError> {
        while self.bytes + needed > self.max_bytes {
            let Some(victim) = self
                .entries
                .iter()
                .find(|e| Some(e.seq) != self.leased)
                .copied()
            else {
                return Ok(false);
            };
            remove_file(&self.record_path(victim.seq))?;
            self.forget(victim.seq);
            self.dropped_events += victim.events;
            tracing::error!(
                events = victim.events,
                dropped_events = self.dropped_events,
                max_bytes = self.max_bytes,
                "the spool is full: DROPPED its oldest batch; raise --spool-max-bytes or \
                 bring the server back"
            );
        }
        Ok(true)
    }

    fn forget(&mut self, seq: u64) -> Option<Entry> {
        let index = self.entries.iter().position(|e| e.seq == seq)?;
        let entry = self.entries.remove(index)?;
        self.bytes -= entry.bytes;
        Some(entry)
    }

    fn record_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{RECORD_SUFFIX}"))
    }
}

fn checksum(events: u64, body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&events.to_le_bytes());
    hasher.update(&(body.len() as u64).to_le_bytes());
    hasher.update(body);
    hasher.finalize()
}

fn write_record(path: &Path, events: u64, body: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&events.to_le_bytes());
    header.extend_from_slice(&(body.len() as u64).to_le_bytes());
    header.extend_from_slice(&checksum(events, body).to_le_bytes());
    file.write_all(&header)?;
    file.write_all(body)?;
    file.sync_all()
}

/// The header of a record whose size matches it: `(events, record bytes)`; `None` if torn.
fn read_header(path: &Path) -> std::io::Result<Option<(u64, u64)>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut header = [0u8; HEADER_LEN as usize];
    if size < HEADER_LEN {
        return Ok(None);
    }
    file.read_exact(&mut header)?;
    let Some((events, body_len, _)) = parse_header(&header) else {
        return Ok(None);
    };
    Ok((HEADER_LEN.checked_add(body_len) == Some(size)).then_some((events, size)))
}

/// A whole record, checked: `(events, body)`; `None` if damaged.
fn read_record(path: &Path) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let bytes = std::fs::read(path)?;
    let Some((header, body)) = bytes.split_at_checked(HEADER_LEN as usize) else {
        return Ok(None);
    };
    let Some((events, body_len, crc)) = parse_header(header) else {
        return Ok(None);
    };
    let intact = body.len() as u64 == body_len && checksum(events, body) == crc;
    Ok(intact.then(|| (events, body.to_vec())))
}

fn parse_header(header: &[u8]) -> Option<(u64, u64, u32)> {
    let (magic, rest) = header.split_first_chunk::<8>()?;
    let (events, rest) = rest.split_first_chunk::<8>()?;
    let (body_len, rest) = rest.split_first_chunk::<8>()?;
    let (crc, _) = rest.split_first_chunk::<4>()?;
    (magic == MAGIC).then(|| {
        (
            u64::from_le_bytes(*events),
            u64::from_le_bytes(*body_len),
            u32::from_le_bytes(*crc),
        )
    })
}

fn remove_file(path: &Path) -> Result<(), SpoolError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(SpoolError::new("delete", path, e))
        }
        _ => Ok(()),
    }
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SpoolError::new("sync", dir, e))
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
