//! Waking a follower when its file's directory changes (inotify on Linux), so appends are
//! noticed within milliseconds instead of at the next poll.
//!
//! The directory is watched rather than the file: that one watch also reports the file being
//! created, renamed away, deleted and re-created. Notifications only say "look now"; the
//! follower's polling stays the source of truth and the fallback when watching fails.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Instant;

use notify::{Event, RecursiveMode, Watcher};

/// Why [`DirWatch::wait_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Something relevant changed in the directory.
    Changed,
    /// The deadline passed without a relevant change.
    Timeout,
    /// The watcher stopped delivering; the caller should drop it and fall back to sleeping.
    Broken,
}

/// A non-recursive watch on the directory of one followed path.
pub(crate) struct DirWatch {
    /// Kept alive for as long as events are wanted; dropping it stops its thread.
    _watcher: notify::RecommendedWatcher,
    events: Receiver<notify::Result<Event>>,
    dir: PathBuf,
    /// File name of the followed path; rotated names start with it (`auth.log.1`).
    name: OsString,
}

impl std::fmt::Debug for DirWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirWatch")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl DirWatch {
    /// Watches the directory that holds `path`. Fails when the directory does not exist or
    /// the system refuses another watch (for example `fs.inotify.max_user_watches`).
    pub(crate) fn new(path: &Path) -> notify::Result<DirWatch> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            // The receiver is gone only when the follower was dropped.
            let _ = tx.send(event);
        })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        Ok(DirWatch {
            _watcher: watcher,
            events: rx,
            dir,
            name: path.file_name().unwrap_or_default().to_os_string(),
        })
    }

    /// Drops the notifications received so far: a read that follows covers them.
    pub(crate) fn clear(&self) {
        while self.events.try_recv().is_ok() {}
    }

    /// Blocks until a relevant change is reported or `deadline` passes.
    pub(crate) fn wait_until(&self, deadline: Instant) -> Wake {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Ok(event)) if self.relevant(&event) => return Wake::Changed,
                Ok(Ok(_)) => {}
                // An overflowed queue or a watch error: something may have been missed.
                Ok(Err(_)) => return Wake::Changed,
                Err(RecvTimeoutError::Timeout) => return Wake::Timeout,
                Err(RecvTimeoutError::Disconnected) => return Wake::Broken,
            }
        }
    }

    /// Whether an event may concern the followed file or one rotated from it. Other files in
    /// a busy directory such as `/var/log` do not wake the follower.
    fn relevant(&self, event: &Event) -> bool {
        event.need_rescan()
            || event.paths.is_empty()
            || event.paths.iter().any(|p| {
                // The directory itself (deleted, moved) counts too: look now.
                *p == self.dir
                    || p.file_name().is_none_or(|name| {
                        name.as_encoded_bytes()
                            .starts_with(self.name.as_encoded_bytes())
                    })
            })
    }
}
