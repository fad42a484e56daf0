//! Following sshd's entries in the systemd journal through `journalctl -o json --follow`.
//!
//! journalctl runs as a child process; a thread reads its output into a channel, so reading
//! never blocks. Each entry's `__CURSOR` gives the line its identity and is what the
//! checkpoint keeps: a restarted follower passes `--after-cursor` and continues with the
//! entry after the last committed one.

mod cursor;
mod process;

use std::path::PathBuf;
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::{Line, SourceError, StartAt};
use process::{Msg, Resume, Running};

/// The `SYSLOG_IDENTIFIER`s sshd writes under: the listener, and since OpenSSH 9.8 and 10.0
/// the per-connection session and authentication processes.
pub const SSHD_IDENTIFIERS: [&str; 3] = ["sshd", "sshd-session", "sshd-auth"];

/// How journalctl is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    /// The journalctl program: a path, or a name looked up on `PATH`.
    pub program: PathBuf,
    /// Entries with any of these `SYSLOG_IDENTIFIER`s are read.
    pub identifiers: Vec<String>,
    /// For a journal never read before with [`StartAt::Beginning`]: where to start instead of
    /// the first entry (any `journalctl --since` value, such as `-7d` or `2026-01-01`).
    pub since: Option<String>,
    /// The wait before restarting journalctl after it exited or failed to start; doubled on
    /// each failure in a row up to `max_restart_delay`.
    pub restart_delay: Duration,
    /// The longest wait between restarts.
    pub max_restart_delay: Duration,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig {
            program: PathBuf::from("journalctl"),
            identifiers: SSHD_IDENTIFIERS.map(String::from).to_vec(),
            since: None,
            restart_delay: Duration::from_secs(1),
            max_restart_delay: Duration::from_secs(60),
        }
    }
}

/// The one field read from an entry here; the parser reads the rest.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "__CURSOR")]
    cursor: Option<String>,
}

/// Follows journal entries of sshd, with the same shape as [`crate::FileFollower`].
///
/// - **Identity**: a line's fingerprint and offset come from its cursor's sequence number
///   series and number, which journald assigns once per entry: reading the entry again, in
///   this process or after a restart, gives the same pair.
/// - **Start**: after the checkpoint's cursor when there is one; otherwise, for
///   [`StartAt::Beginning`], at [`JournalConfig::since`] or the first entry of the journal,
///   and for [`StartAt::End`], at the entries written from now on.
/// - **Restarts**: entries returned but not committed are returned again by the next
///   follower. If journalctl exits or cannot be started, that is logged and it is started
///   again (with backoff) after the last entry read, so nothing is lost or repeated.
/// - **Bad lines**: output that is not a JSON object with a usable `__CURSOR` is skipped with
///   a warning and counted ([`JournalFollower::skipped_lines`]).
#[derive(Debug)]
pub struct JournalFollower {
    config: JournalConfig,
    checkpoint: Option<PathBuf>,
    start: StartAt,
    /// Cursor of the last entry returned (or the committed one before any).
    read: Option<String>,
    /// Cursor in the checkpoint file.
    committed: Option<String>,
    /// When the first journalctl started, to restart from there before any entry was read.
    first_spawn: jiff::Timestamp,
    running: Option<Running>,
    /// A message taken off the channel by [`JournalFollower::wait`].
    pending: Option<Msg>,
    next_restart: Instant,
    delay: Duration,
    restarts: u64,
    skipped: u64,
}

impl JournalFollower {
    /// Starts journalctl as `config` says, resuming after the cursor in `checkpoint` when it
    /// has one, else starting at `start`.
    ///
    /// Fails when the checkpoint cannot be read or journalctl cannot be started.
    pub fn new(
        config: JournalConfig,
        checkpoint: Option<PathBuf>,
        start: StartAt,
    ) -> Result<JournalFollower, SourceError> {
        let committed = match &checkpoint {
            Some(path) => cursor::load(path)?,
            None => None,
        };
        let mut follower = JournalFollower {
            delay: config.restart_delay,
            config,
            checkpoint,
            start,
            read: committed.clone(),
            committed,
            first_spawn: jiff::Timestamp::now(),
            running: None,
            pending: None,
            next_restart: Instant::now(),
            restarts: 0,
            skipped: 0,
        };
        let from = follower.resume_point(true);
        follower.running = Some(Running::spawn(&follower.config, &from)?);
        tracing::debug!(?from, "following the journal");
        Ok(follower)
    }

    /// Cursor of the last entry returned, if any (or the committed one before any).
    pub fn cursor(&self) -> Option<&str> {
        self.read.as_deref()
    }

    /// Lines skipped: not JSON, without a usable cursor, or too long.
    pub fn skipped_lines(&self) -> u64 {
        self.skipped
    }

    /// How many times journalctl was started again after it exited or failed to start.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Returns the entries available now (at most `max_lines`), without blocking. Starts
    /// journalctl again when it is not running and its restart is due.
    pub fn read_available(&mut self, max_lines: usize) -> Result<Vec<Line>, SourceError> {
        let mut out = Vec::new();
        if max_lines == 0 {
            return Ok(out);
        }
        self.restart_if_due();
        while out.len() < max_lines {
            let msg = match self.pending.take() {
                Some(msg) => msg,
                None => {
                    let Some(running) = &self.running else {
                        break;
                    };
                    match running.rx.try_recv() {
                        Ok(msg) => msg,
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => Msg::End(None),
                    }
                }
            };
            match msg {
                Msg::Line(bytes) => {
                    if let Some(line) = self.accept(bytes) {
                        out.push(line);
                    }
                }
                Msg::Oversized(n) => {
                    tracing::warn!(lines = n, "skipping over-long journal entries");
                    self.skipped += n;
                }
                Msg::End(error) => {
                    self.ended(error);
                    break;
                }
            }
        }
        if !out.is_empty() {
            self.delay = self.config.restart_delay;
        }
        Ok(out)
    }

    /// Waits up to `timeout` for output (or for a due restart). Returns whether
    /// [`JournalFollower::read_available`] may have something to do now.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        if self.pending.is_some() {
            return true;
        }
        match &self.running {
            Some(running) => match running.rx.recv_timeout(timeout) {
                Ok(msg) => {
                    self.pending = Some(msg);
                    true
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => {
                    self.pending = Some(Msg::End(None));
                    true
                }
            },
            None => {
                let left = self.next_restart.saturating_duration_since(Instant::now());
                std::thread::sleep(left.min(timeout));
                left <= timeout
            }
        }
    }

    /// Persists the cursor of the last entry returned (call once the entries are stored).
    ///
    /// Without a checkpoint path, or when nothing was read since the last commit, this does
    /// nothing.
    pub fn commit(&mut self) -> Result<(), SourceError> {
        let (Some(path), Some(read)) = (&self.checkpoint, &self.read) else {
            return Ok(());
        };
        if self.committed.as_ref() == Some(read) {
            return Ok(());
        }
        cursor::save(path, read)?;
        self.committed = Some(read.clone());
        Ok(())
    }

    /// Where journalctl starts: after the last entry read, else where the follower was
    /// told to start. A restart before any entry was read starts at the first start's time
    /// rather than "now", so entries written in between are not lost.
    fn resume_point(&self, first: bool) -> Resume {
        if let Some(cursor) = &self.read {
            return Resume::AfterCursor(cursor.clone());
        }
        match (self.start, &self.config.since) {
            (StartAt::Beginning, Some(since)) => Resume::Since(since.clone()),
            (StartAt::Beginning, None) => Resume::Beginning,
            (StartAt::End, _) if first => Resume::End,
            (StartAt::End, _) => Resume::Since(format!("@{}", self.first_spawn.as_second())),
        }
    }

    /// Turns one output line into a [`Line`], or skips it.
    fn accept(&mut self, bytes: Vec<u8>) -> Option<Line> {
        let cursor = match serde_json::from_slice::<Entry>(&bytes) {
            Ok(Entry {
                cursor: Some(cursor),
            }) => cursor,
            Ok(Entry { cursor: None }) => {
                self.skip("a journal entry without __CURSOR");
                return None;
            }
            Err(e) => {
                self.skip(&format!("journalctl output that is not a JSON entry ({e})"));
                return None;
            }
        };
        let identity = cursor::identity(&cursor);
        // The cursor is a valid place to resume even when it gives no identity.
        self.read = Some(cursor);
        let Some((fingerprint, offset)) = identity else {
            self.skip("a journal entry whose __CURSOR has no s= and i= parts");
            return None;
        };
        Some(Line {
            bytes,
            offset,
            fingerprint,
        })
    }

    fn skip(&mut self, what: &str) {
        self.skipped += 1;
        tracing::warn!(skipped = self.skipped, "skipping {what}");
    }

    /// journalctl's output ended: reports how it exited and schedules the restart.
    fn ended(&mut self, error: Option<std::io::Error>) {
        let Some(running) = self.running.take() else {
            return;
        };
        let status = running.stop();
        let program = self.config.program.display();
        match (error, status) {
            (Some(e), _) => tracing::error!("reading the output of {program}: {e}"),
            (None, Ok(status)) => tracing::error!("{program} exited ({status})"),
            (None, Err(e)) => tracing::error!("{program} ended and could not be waited for: {e}"),
        }
        self.schedule_restart();
    }

    fn schedule_restart(&mut self) {
        tracing::warn!(
            "starting {} again in {:?}",
            self.config.program.display(),
            self.delay
        );
        self.next_restart = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(self.config.max_restart_delay);
    }

    fn restart_if_due(&mut self) {
        if self.running.is_some() || Instant::now() < self.next_restart {
            return;
        }
        self.restarts += 1;
        let from = self.resume_point(false);
        match Running::spawn(&self.config, &from) {
            Ok(running) => {
                tracing::info!(?from, "journalctl started again");
                self.running = Some(running);
            }
            Err(e) => {
                tracing::error!("{e}");
                self.schedule_restart();
            }
        }
    }
}

#[cfg(test)]
mod tests;
