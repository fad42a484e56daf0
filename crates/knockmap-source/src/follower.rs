//! Following one log file by path through appends, rotation, truncation and restarts.
//!
//! Polling is the only source of truth: every [`FileFollower::read_available`] call compares
//! the path with the open handle (device and inode), checks the open file for truncation and
//! reads what was appended. [`FileFollower::wait`] only shortens the time between polls.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::checkpoint::{CheckpointEntry, Checkpoints};
use crate::fingerprint::{fingerprint_file, generation_fingerprint, read_full_at, tail_check};
use crate::splitter::{MAX_LINE_BYTES, Splitter};
use crate::watch::{DirWatch, Wake};
use crate::{Line, SourceError, StartAt};

/// How long a rotated-away (renamed or deleted) file keeps being read after it stopped
/// growing. Writers such as rsyslog keep appending to the old file until they reopen.
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(10);

/// Bytes read from a file per system call.
const READ_CHUNK: usize = 64 * 1024;

/// After watching the directory failed (it does not exist yet, no inotify watches left),
/// [`FileFollower::wait`] sleeps and tries again after this long.
const WATCH_RETRY: Duration = Duration::from_secs(5);

/// How a file whose identity is not settled yet gets its starting position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fresh {
    /// Resume the checkpoint of its first line if it still matches the file; a first line
    /// never seen starts as given.
    Open(StartAt),
    /// The content from offset 0 is new (the file was truncated or its first line replaced),
    /// even if its first line was seen before.
    Truncated,
    /// A new file appeared at the path while following. It continues a known position only
    /// when it holds more than the first line of that content (copied back in place): a file
    /// deleted and re-created with the same first line is new.
    Replaced,
}

#[derive(Debug)]
struct Identity {
    /// The fingerprint given to lines (first-line fingerprint, or derived for generation > 0).
    fingerprint: String,
    first_line: String,
    generation: u32,
}

/// One open file: the path's current file or a rotated one being drained.
#[derive(Debug)]
struct Tracked {
    file: File,
    dev: u64,
    ino: u64,
    /// `None` until the file's first line is complete.
    id: Option<Identity>,
    mode: Fresh,
    splitter: Splitter,
    last_growth: Instant,
}

enum Polled {
    /// The file has no complete first line yet.
    Pending,
    /// Lines were read; `eof` when everything available was consumed.
    Read { eof: bool },
}

/// Follows one log file by path.
///
/// Lines are identified by the fingerprint of their file's first line and their byte offset,
/// which stay the same when the file is renamed and when the follower restarts from its
/// checkpoint.
///
/// - **Rotation by rename**: when the path names another file (device/inode changed) or
///   disappears, the old handle is kept and read first, until it has been idle for the
///   rotation grace ([`DEFAULT_ROTATION_GRACE`]); the new file is read from its beginning.
/// - **Truncation** (copytruncate): when the file is shorter than what was read, or its first
///   line changed, reading restarts at offset 0 and that content is treated as new. If the new
///   first line equals the old one, the lines get a derived fingerprint (a new *generation*)
///   so their ids do not collide with the lines read before the truncation. Lines written
///   between logrotate's copy and its truncation are lost; that is inherent to copytruncate.
/// - **Missing file**: not an error; the path is polled until it appears, then read from the
///   beginning. The same holds after the file is deleted.
/// - **Identity is content**: a new inode whose first line and the bytes before the recorded
///   position match a known file (the same content copied back in place) continues at that
///   position instead of being read twice. A file re-created with the same first line but a
///   different body is detected by that check (or by being shorter) and read from 0 under a
///   new generation.
/// - **Restarts**: lines returned but not committed are returned again with the same ids.
///   Only the file at the path is resumed; the unread tail of a file rotated away while the
///   follower was stopped is not read.
/// - **Partial lines** are held back until their newline arrives; lines longer than
///   [`crate::MAX_LINE_BYTES`] are skipped and counted ([`FileFollower::oversized_lines`]).
pub struct FileFollower {
    path: PathBuf,
    checkpoints: Checkpoints,
    current: Option<Tracked>,
    draining: Vec<Tracked>,
    rotation_grace: Duration,
    oversized: u64,
    scratch: Vec<u8>,
    /// Set up by the first [`FileFollower::wait`].
    watch: Option<DirWatch>,
    /// When watching may be tried again after it failed.
    watch_retry_at: Option<Instant>,
}

impl fmt::Debug for FileFollower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileFollower")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint())
            .field("position", &self.position())
            .field("draining", &self.draining.len())
            .field("oversized", &self.oversized)
            .finish_non_exhaustive()
    }
}

impl FileFollower {
    /// Starts following `path`. With `checkpoint`, positions are persisted there by
    /// [`FileFollower::commit`] and resumed on the next start.
    ///
    /// A file whose first line has a checkpoint resumes there (when the file still holds the
    /// committed content); any other file present now starts at `start` ([`StartAt::End`]
    /// means its current size, moved back to the start of an incomplete last line), except
    /// that a new file at a path the checkpoint already followed (rotated while stopped) is
    /// read from its beginning. A file that does not exist yet, or whose first line is
    /// incomplete, is read from the beginning once it has one.
    ///
    /// Fails when the checkpoint cannot be read or parsed, or the file exists but cannot be
    /// opened.
    pub fn new(
        path: impl Into<PathBuf>,
        checkpoint: Option<PathBuf>,
        start: StartAt,
    ) -> Result<FileFollower, SourceError> {
        let mut follower = FileFollower {
            path: path.into(),
            checkpoints: Checkpoints::load(checkpoint)?,
            current: None,
            draining: Vec::new(),
            rotation_grace: DEFAULT_ROTATION_GRACE,
            oversized: 0,
            scratch: vec![0; READ_CHUNK],
            watch: None,
            watch_retry_at: None,
        };
        // Rotated files first: the file at the path must not take over their identity.
        follower.resume_rotated();
        follower.open_current(Fresh::Open(start))?;
        if let Some(current) = &mut follower.current {
            // Less than one line existed at start: all of it is new.
            current.mode = Fresh::Open(StartAt::Beginning);
        }
        Ok(follower)
    }

    /// Sets how long a rotated-away file keeps being read after it stopped growing.
    pub fn with_rotation_grace(mut self, grace: Duration) -> FileFollower {
        self.rotation_grace = grace;
        self
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fingerprint of the file now at the path, once its first line is complete.
    pub fn fingerprint(&self) -> Option<&str> {
        self.current
            .as_ref()
            .and_then(|t| t.id.as_ref())
            .map(|id| id.fingerprint.as_str())
    }

    /// Offset after the last line returned from the file now at the path.
    pub fn position(&self) -> Option<u64> {
        self.current
            .as_ref()
            .filter(|t| t.id.is_some())
            .map(|t| t.splitter.position())
    }

    /// Lines skipped because they were longer than [`crate::MAX_LINE_BYTES`].
    pub fn oversized_lines(&self) -> u64 {
        self.oversized
    }

    /// Returns the complete lines available now (at most `max_lines`), without blocking.
    ///
    /// Lines of a rotated-away file come before those of the new file at the path. An empty
    /// result means nothing new (or the file does not exist yet).
    pub fn read_available(&mut self, max_lines: usize) -> Result<Vec<Line>, SourceError> {
        let mut out = Vec::new();
        if max_lines == 0 {
            return Ok(out);
        }
        if let Some(watch) = &self.watch {
            // This read covers every change reported so far.
            watch.clear();
        }
        self.check_path()?;

        let mut i = 0;
        while i < self.draining.len() && out.len() < max_lines {
            let taken = self.taken_fingerprints(Some(i));
            let t = &mut self.draining[i];
            let polled = poll_file(
                t,
                &taken,
                &self.path,
                &mut self.checkpoints,
                &mut self.scratch,
                max_lines,
                &mut out,
            );
            self.oversized += t.splitter.take_oversized();
            let done = match polled {
                Ok(Polled::Read { eof: false }) => false,
                Ok(Polled::Read { eof: true } | Polled::Pending) => {
                    t.last_growth.elapsed() >= self.rotation_grace
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "stopped reading a rotated file");
                    true
                }
            };
            if done {
                self.draining.remove(i);
            } else {
                i += 1;
            }
        }

        if out.len() < max_lines {
            self.settle_current()?;
            let taken = self.taken_fingerprints(None);
            if let Some(t) = &mut self.current {
                let polled = poll_file(
                    t,
                    &taken,
                    &self.path,
                    &mut self.checkpoints,
                    &mut self.scratch,
                    max_lines,
                    &mut out,
                );
                self.oversized += t.splitter.take_oversized();
                polled.map_err(|source| SourceError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            }
        }
        Ok(out)
    }

    /// Persists the position after every line returned so far (call once they are stored).
    ///
    /// Without a checkpoint path this does nothing; when nothing moved since the last commit
    /// the file is not rewritten.
    pub fn commit(&mut self) -> Result<(), SourceError> {
        self.checkpoints.save()
    }

    /// Blocks until the followed file or its directory changes, or `timeout` passes, then
    /// returns whether a change was seen. Call [`FileFollower::read_available`] afterwards
    /// either way: a timeout is the polling safety net.
    ///
    /// Returns at once when the file already holds bytes not read yet (call it after a read
    /// that returned fewer than `max_lines`). The directory is watched with inotify from the
    /// first call on; when that is not possible (no such directory, no watches left, another
    /// platform) this sleeps for `timeout` and retries watching later.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if self.watch.is_none() && self.watch_retry_at.is_none_or(|at| Instant::now() >= at) {
            match DirWatch::new(&self.path) {
                Ok(watch) => self.watch = Some(watch),
                Err(e) => {
                    tracing::debug!(path = %self.path.display(), error = %e, "cannot watch; polling");
                    self.watch_retry_at = Some(Instant::now() + WATCH_RETRY);
                }
            }
        }
        // Checked after the watch exists, so a change between the two is not missed.
        if self.has_unread() {
            return true;
        }
        let wake = match &self.watch {
            Some(watch) => watch.wait_until(deadline),
            None => Wake::Broken,
        };
        match wake {
            Wake::Changed => true,
            Wake::Timeout => false,
            Wake::Broken => {
                self.watch = None;
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                false
            }
        }
    }

    /// Whether a read now could find something: a file grew or shrank past what was read,
    /// or the path names another file (or none) than the one open.
    fn has_unread(&self) -> bool {
        let moved = |t: &Tracked| {
            t.id.is_some() && t.file.metadata().is_ok_and(|m| m.len() != t.splitter.fed())
        };
        if self.draining.iter().any(moved) {
            return true;
        }
        match (fs::metadata(&self.path), &self.current) {
            (Ok(meta), Some(t)) => t.dev != meta.dev() || t.ino != meta.ino() || moved(t),
            (Ok(_), None) => true,
            (Err(_), current) => current.is_some(),
        }
    }

    /// Queues for draining the files next to the path (`auth.log.1`, `auth.log-20261121`)
    /// that the checkpoint was reading under this path and that still hold the committed
    /// content: they were rotated away while the follower was stopped or before it committed
    /// their last lines, and the writer may still append to them. Like any rotated file they
    /// are dropped after the rotation grace without growth. Compressed files are left to
    /// backfill.
    fn resume_rotated(&mut self) {
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let sibling = entry.file_name();
            let bytes = sibling.as_encoded_bytes();
            if sibling == name
                || !bytes.starts_with(name.as_encoded_bytes())
                || [&b".gz"[..], b".tmp", b".json"]
                    .iter()
                    .any(|ext| bytes.ends_with(ext))
            {
                continue;
            }
            match self.resumable(&entry.path()) {
                Ok(Some((updated, tracked))) => found.push((updated, tracked)),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(path = %entry.path().display(), error = %e, "not resuming a rotated file");
                }
            }
        }
        // Oldest first, so that lines come in the order they were written.
        found.sort_by_key(|(updated, _)| *updated);
        for (_, tracked) in found {
            let key = tracked.id.as_ref().map(|id| &id.fingerprint);
            if self
                .draining
                .iter()
                .any(|d| d.id.as_ref().map(|id| &id.fingerprint) == key)
            {
                continue;
            }
            tracing::info!(path = %self.path.display(), "resuming a file rotated while stopped");
            self.draining.push(tracked);
        }
    }

    /// The rotated file at `sibling` as a file to drain, if the checkpoint read it under this
    /// path and the file still holds what was committed.
    fn resumable(&self, sibling: &Path) -> io::Result<Option<(jiff::Timestamp, Tracked)>> {
        let file = File::open(sibling)?;
        let meta = file.metadata()?;
        let inode = (meta.dev(), meta.ino());
        let path_file = File::open(&self.path).ok();
        let path_inode = path_file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| (m.dev(), m.ino()));
        if !meta.is_file() || path_inode == Some(inode) {
            return Ok(None);
        }
        let Some(first_line) = fingerprint_file(&file)? else {
            return Ok(None);
        };
        let head = first_line_len(&file)?;
        let mut best: Option<((bool, u64, u32), &str, &CheckpointEntry)> = None;
        for (key, entry) in self.checkpoints.generations(&first_line) {
            // An entry recorded for this inode is the strongest evidence, then the longest
            // verified prefix (an entry at offset 0 matches any file). An entry of another
            // inode (a copy made by copytruncate) needs at least its first line as evidence; a
            // key already resumed for another file is not reused.
            let own = entry.inode == Some(inode);
            let rank = (own, entry.offset, entry.generation);
            let foreign = !own && entry.inode.is_some() && entry.offset < head;
            let claimed = self
                .draining
                .iter()
                .any(|d| d.id.as_ref().is_some_and(|id| id.fingerprint == key));
            // The file the entry was recorded for is at the path and still holds it.
            let kept_at_path = match &path_file {
                Some(f) if entry.inode.is_some() && entry.inode == path_inode => {
                    still_holds(f, entry)?
                }
                _ => false,
            };
            if best.is_none_or(|(b, _, _)| rank > b)
                && !foreign
                && !kept_at_path
                && !claimed
                && entry.path == self.path
                && entry.offset <= meta.len()
                && (entry.check.is_none() || tail_check(&file, entry.offset)? == entry.check)
            {
                best = Some((rank, key, entry));
            }
        }
        let best = best.map(|(_, key, entry)| (key, entry));
        let Some((key, entry)) = best else {
            return Ok(None);
        };
        Ok(Some((
            entry.updated,
            Tracked {
                file,
                dev: meta.dev(),
                ino: meta.ino(),
                id: Some(Identity {
                    fingerprint: key.to_owned(),
                    first_line: entry.first_line.clone(),
                    generation: entry.generation,
                }),
                mode: Fresh::Open(StartAt::Beginning),
                splitter: Splitter::at(entry.offset, false),
                last_growth: Instant::now(),
            },
        )))
    }

    /// Fingerprints of the open files other than draining file `except` (or the current file
    /// when `None`) that are still linked or not read to their end; empty when that file
    /// already has its identity.
    fn taken_fingerprints(&self, except: Option<usize>) -> Vec<String> {
        let settled = match except {
            Some(i) => self.draining.get(i).is_none_or(|t| t.id.is_some()),
            None => self.current.as_ref().is_none_or(|t| t.id.is_some()),
        };
        if settled {
            return Vec::new();
        }
        let current = self.current.iter().filter(|_| except.is_some());
        let draining = self
            .draining
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                // An unlinked file that was read to its end may have been replaced by a copy of
                // itself; one with unread bytes (deleted and re-created) still has lines to give.
                Some(*i) != except
                    && t.file
                        .metadata()
                        .is_ok_and(|m| m.nlink() > 0 || m.len() > t.splitter.position())
            })
            .map(|(_, t)| t);
        current
            .chain(draining)
            .filter_map(|t| t.id.as_ref().map(|id| id.fingerprint.clone()))
            .collect()
    }

    /// Notices a replaced or vanished path and opens the new file.
    fn check_path(&mut self) -> Result<(), SourceError> {
        match fs::metadata(&self.path) {
            Ok(meta) => {
                if let Some(t) = &self.current {
                    if t.dev == meta.dev() && t.ino == meta.ino() {
                        return Ok(());
                    }
                    tracing::info!(path = %self.path.display(), "file rotated");
                }
                self.retire_current();
                self.open_current(Fresh::Replaced)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.current.is_some() {
                    tracing::info!(path = %self.path.display(), "file removed or renamed");
                }
                self.retire_current();
                Ok(())
            }
            Err(source) => Err(SourceError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Moves the current file to the draining list, where it is read until it has been idle
    /// for the rotation grace.
    fn retire_current(&mut self) {
        if let Some(mut t) = self.current.take() {
            t.last_growth = Instant::now();
            self.draining.push(t);
        }
    }

    fn open_current(&mut self, mode: Fresh) -> Result<(), SourceError> {
        let io_err = |source| SourceError::Io {
            path: self.path.clone(),
            source,
        };
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(e)),
        };
        let meta = file.metadata().map_err(io_err)?;
        self.current = Some(Tracked {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            id: None,
            mode,
            splitter: Splitter::at(0, false),
            last_growth: Instant::now(),
        });
        self.settle_current()
    }

    /// Gives the current file its identity if its first line is complete now.
    fn settle_current(&mut self) -> Result<(), SourceError> {
        let Some(t) = &mut self.current else {
            return Ok(());
        };
        if t.id.is_some() {
            return Ok(());
        }
        let taken = self.taken_fingerprints(None);
        let Some(t) = &mut self.current else {
            return Ok(());
        };
        let settled =
            establish(&mut self.checkpoints, &taken, &self.path, t).map_err(|source| {
                SourceError::Io {
                    path: self.path.clone(),
                    source,
                }
            })?;
        if settled {
            // The same content at a new inode (copied back in place): the new handle replaces
            // the old one, which must not deliver lines under the same fingerprint.
            let fingerprint = t.id.as_ref().map(|id| id.fingerprint.clone());
            self.draining
                .retain(|d| d.id.as_ref().map(|id| &id.fingerprint) != fingerprint.as_ref());
        }
        Ok(())
    }
}

/// Settles the identity and start position of a file whose first line is complete.
/// Returns `false` while it is not.
///
/// `taken` holds the fingerprints of the other files still open and linked: a file that
/// merely starts like one of them (same first line, same bytes up to its position) is new
/// content, not that file copied in place, and gets a new generation.
fn establish(
    cp: &mut Checkpoints,
    taken: &[String],
    path: &Path,
    t: &mut Tracked,
) -> io::Result<bool> {
    if t.id.is_some() {
        return Ok(true);
    }
    let Some(first_line) = fingerprint_file(&t.file)? else {
        return Ok(false);
    };
    let size = t.file.metadata()?.len();
    let (generation, offset, skipping) = match same_inode(cp, taken, &first_line, t, size)? {
        Some((generation, offset)) => (generation, offset, false),
        None => by_content(cp, taken, path, &first_line, t, size)?,
    };
    let fingerprint = generation_fingerprint(&first_line, generation);
    tracing::debug!(path = %path.display(), %fingerprint, generation, offset, "following file");
    let new_generation = generation > 0 && cp.get(&fingerprint).is_none();
    t.splitter = Splitter::at(offset, skipping);
    t.id = Some(Identity {
        fingerprint: fingerprint.clone(),
        first_line,
        generation,
    });
    record(cp, path, t)?;
    if new_generation && let Err(e) = cp.persist_identity(&fingerprint) {
        // Only ids after a crash before the next commit are at stake; that commit reports it.
        tracing::warn!(path = %path.display(), error = %e, "cannot persist a new file identity");
    }
    Ok(true)
}

/// The newest generation recorded for this very file (device and inode) whose committed
/// bytes it still holds: `(generation, offset)`. Content after a truncation is new even on
/// the same inode. A file that appeared while following can only have the inode of a file
/// gone since (inode reuse), so it needs more than its first line as evidence.
fn same_inode(
    cp: &Checkpoints,
    taken: &[String],
    first_line: &str,
    t: &Tracked,
    size: u64,
) -> io::Result<Option<(u32, u64)>> {
    if t.mode == Fresh::Truncated {
        return Ok(None);
    }
    let inode = Some((t.dev, t.ino));
    let min_offset = match t.mode {
        Fresh::Replaced => first_line_len(&t.file)? + 1,
        _ => 0,
    };
    let mut best: Option<(u32, u64)> = None;
    for (key, e) in cp.generations(first_line) {
        if e.inode != inode
            || e.offset > size
            || e.offset < min_offset
            || taken.iter().any(|k| k == key)
            || best.is_some_and(|(generation, _)| generation > e.generation)
        {
            continue;
        }
        if e.check.is_none() || tail_check(&t.file, e.offset)? == e.check {
            best = Some((e.generation, e.offset));
        }
    }
    Ok(best)
}

/// `(generation, offset, skipping)` for a file no entry names by its inode: the newest
/// generation of its first line if the file holds its committed content (another inode only
/// with more than the first line as evidence), else a new generation from offset 0.
fn by_content(
    cp: &Checkpoints,
    taken: &[String],
    path: &Path,
    first_line: &str,
    t: &Tracked,
    size: u64,
) -> io::Result<(u32, u64, bool)> {
    let inode = (t.dev, t.ino);
    let latest = cp.latest(first_line).map(|(_, e)| {
        let mode = match t.mode {
            Fresh::Open(_) if e.inode.is_some_and(|known| known != inode) => Fresh::Replaced,
            mode => mode,
        };
        (mode, e.generation, e.offset, e.check.clone())
    });
    Ok(match (t.mode, latest) {
        (Fresh::Open(_) | Fresh::Replaced, Some((mode, generation, offset, check)))
            if offset <= size
                && (mode != Fresh::Replaced || offset > first_line_len(&t.file)?)
                && !taken.contains(&generation_fingerprint(first_line, generation))
                && (check.is_none() || tail_check(&t.file, offset)? == check) =>
        {
            (generation, offset, false)
        }
        (_, Some((_, generation, _, _))) => (generation.saturating_add(1), 0, false),
        // A new file where a followed one used to be appeared while we were not running:
        // all of it is new.
        (Fresh::Open(StartAt::End), None) if !cp.knows_path(path) => {
            let (offset, skipping) = line_boundary(&t.file, size)?;
            (0, offset, skipping)
        }
        (_, None) => (0, 0, false),
    })
}

/// Whether `file` still holds what `entry` recorded: the same first line and the same bytes
/// before the offset.
fn still_holds(file: &File, entry: &CheckpointEntry) -> io::Result<bool> {
    if fingerprint_file(file)?.as_deref() != Some(entry.first_line.as_str()) {
        return Ok(false);
    }
    Ok(entry.check.is_none() || tail_check(file, entry.offset)? == entry.check)
}

/// Length of the file's first line with its newline (or of the fingerprinted head).
fn first_line_len(file: &File) -> io::Result<u64> {
    let mut head = vec![0u8; crate::FINGERPRINT_MAX_BYTES];
    let filled = read_full_at(file, &mut head, 0)?;
    Ok(memchr::memchr(b'\n', &head[..filled]).map_or(filled, |newline| newline + 1) as u64)
}

/// The start of the line that contains `size` (or `size` itself after a newline). When no
/// newline is found within the longest allowed line, the file ends inside an oversized line:
/// start there, skipping to its end.
fn line_boundary(file: &File, size: u64) -> io::Result<(u64, bool)> {
    let back = size.min(MAX_LINE_BYTES as u64 + 1);
    let from = size - back;
    let mut buf = vec![0u8; usize::try_from(back).unwrap_or(MAX_LINE_BYTES + 1)];
    let filled = read_full_at(file, &mut buf, from)?;
    Ok(match memchr::memrchr(b'\n', &buf[..filled]) {
        Some(newline) => (from + newline as u64 + 1, false),
        None if from == 0 => (0, false),
        None => (size, true),
    })
}

/// Stores the position of a file in the in-memory checkpoint map if it moved.
fn record(cp: &mut Checkpoints, path: &Path, t: &Tracked) -> io::Result<()> {
    let Some(id) = &t.id else {
        return Ok(());
    };
    let offset = t.splitter.position();
    if cp.get(&id.fingerprint).is_some_and(|e| e.offset == offset) {
        return Ok(());
    }
    cp.set(
        &id.fingerprint,
        CheckpointEntry {
            offset,
            path: path.to_owned(),
            updated: jiff::Timestamp::now(),
            first_line: id.first_line.clone(),
            generation: id.generation,
            check: tail_check(&t.file, offset)?,
            inode: Some((t.dev, t.ino)),
        },
    );
    Ok(())
}

/// Reads the complete lines available in one file into `out` (up to `max` in total),
/// starting over if the file was truncated.
fn poll_file(
    t: &mut Tracked,
    taken: &[String],
    path: &Path,
    cp: &mut Checkpoints,
    scratch: &mut [u8],
    max: usize,
    out: &mut Vec<Line>,
) -> io::Result<Polled> {
    if !establish(cp, taken, path, t)? {
        return Ok(Polled::Pending);
    }
    if changed_under(t)? {
        tracing::info!(path = %path.display(), "file truncated; reading from the start");
        t.id = None;
        t.mode = Fresh::Truncated;
        t.splitter = Splitter::at(0, false);
        if !establish(cp, taken, path, t)? {
            return Ok(Polled::Pending);
        }
    }
    let Some(id) = &t.id else {
        return Ok(Polled::Pending);
    };

    let mut grew = false;
    let eof = loop {
        while out.len() < max {
            match t.splitter.next_line() {
                Some((offset, bytes)) => out.push(Line {
                    bytes,
                    offset,
                    fingerprint: id.fingerprint.clone(),
                }),
                None => break,
            }
        }
        if out.len() >= max {
            break false;
        }
        let n = read_full_at(&t.file, scratch, t.splitter.fed())?;
        if n == 0 {
            break true;
        }
        t.splitter.feed(&scratch[..n]);
        grew = true;
    };
    if grew {
        t.last_growth = Instant::now();
    }
    record(cp, path, t)?;
    Ok(Polled::Read { eof })
}

/// Whether the open file no longer holds what was read: shorter than the read position, or a
/// different first line.
fn changed_under(t: &Tracked) -> io::Result<bool> {
    let Some(id) = &t.id else {
        return Ok(false);
    };
    if t.file.metadata()?.len() < t.splitter.fed() {
        return Ok(true);
    }
    Ok(fingerprint_file(&t.file)?.as_deref() != Some(id.first_line.as_str()))
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;
