//! Line sources for knockmap: a file follower that survives rotation and restarts, a
//! follower of sshd's entries in the systemd journal ([`JournalFollower`]), and a reader for
//! compressed rotated logs (`.gz`) for backfill.
//!
//! Every [`Line`] carries the fingerprint of its file (a checksum of the file's first line)
//! and its byte offset. Together they identify the line: reading it again after a restart,
//! after the file was renamed by rotation, or from the compressed copy of that file gives the
//! same pair, so storing by that id makes shipping idempotent.
//!
//! ```no_run
//! use knockmap_source::{FileFollower, StartAt};
//!
//! # fn main() -> Result<(), knockmap_source::SourceError> {
//! let mut follower = FileFollower::new(
//!     "/var/log/auth.log",
//!     Some("/var/lib/knockmap/positions.json".into()),
//!     StartAt::End,
//! )?;
//! loop {
//!     let lines = follower.read_available(1000)?;
//!     for line in &lines {
//!         println!("{}@{}: {}", line.fingerprint, line.offset, String::from_utf8_lossy(&line.bytes));
//!     }
//!     follower.commit()?; // after the lines are stored
//!     if lines.len() < 1000 {
//!         // Wakes up on an append (inotify), or polls after a second.
//!         follower.wait(std::time::Duration::from_secs(1));
//!     }
//! }
//! # }
//! ```
#![forbid(unsafe_code)]

mod checkpoint;
mod fingerprint;
mod follower;
mod gz;
mod journal;
mod splitter;
mod watch;

use std::path::PathBuf;

pub use fingerprint::{FINGERPRINT_MAX_BYTES, fingerprint_bytes};
pub use follower::{DEFAULT_ROTATION_GRACE, FileFollower};
pub use gz::{GzLines, read_gz_lines};
pub use journal::{JournalConfig, JournalFollower, SSHD_IDENTIFIERS};
pub use splitter::MAX_LINE_BYTES;

/// One complete line read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes, without the trailing newline.
    pub bytes: Vec<u8>,
    /// Byte offset of the line's first byte in its file (for journal entries: the entry's
    /// sequence number).
    pub offset: u64,
    /// Fingerprint of the file the line came from (hex), stable across renames (for journal
    /// entries: `journald-` and the sequence number series).
    pub fingerprint: String,
}

/// Where to start in a file the follower has never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Read the file from its first byte (backfill).
    Beginning,
    /// Only read what is appended from now on (live).
    End,
}

/// Errors of a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// An I/O error on the followed file or the checkpoint file.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The checkpoint file exists but is not a checkpoint this version can read.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A program the source reads from (journalctl) could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
