//! Persisted read positions: a JSON map from file fingerprint to committed byte offset,
//! written atomically (temporary file in the same directory, fsync, rename, fsync directory).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SourceError;

/// Version written to the checkpoint file.
const FORMAT_VERSION: u32 = 1;

/// Entries kept at most; the least recently updated are dropped first. Each rotation adds one.
const MAX_ENTRIES: usize = 1000;

/// The position of one file identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    /// Byte offset just after the last committed line.
    pub offset: u64,
    /// Path the file was last read under (informational: rotated files keep their entry).
    pub path: PathBuf,
    /// When the offset last changed (informational).
    pub updated: jiff::Timestamp,
    /// Fingerprint of the file's first line. Equal to the entry's key unless `generation` > 0.
    pub first_line: String,
    /// How many times content with this first line was seen afresh (truncation, re-creation).
    #[serde(default)]
    pub generation: u32,
    /// Checksum of the bytes just before `offset`, to notice a changed body on resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Device and inode of the file when the offset was recorded: another inode continues
    /// the position only with more than its first line as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<(u64, u64)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointFile {
    version: u32,
    files: BTreeMap<String, CheckpointEntry>,
}

/// In-memory checkpoint map, optionally backed by a file.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    path: Option<PathBuf>,
    entries: BTreeMap<String, CheckpointEntry>,
    /// What the file holds: the last committed entries plus identities persisted since.
    saved: BTreeMap<String, CheckpointEntry>,
    dirty: bool,
}

impl Checkpoints {
    /// Loads `path` (a missing file is an empty map). A leftover temporary file from an
    /// interrupted write is removed: the rename never happened, so the old file is current.
    pub(crate) fn load(path: Option<PathBuf>) -> Result<Checkpoints, SourceError> {
        let mut entries = BTreeMap::new();
        if let Some(path) = &path {
            let tmp = temp_path(path);
            if tmp.exists() {
                tracing::warn!(path = %tmp.display(), "removing checkpoint left by an interrupted write");
                let _ = fs::remove_file(&tmp);
            }
            match fs::read(path) {
                Ok(bytes) => {
                    let file: CheckpointFile =
                        serde_json::from_slice(&bytes).map_err(|e| SourceError::Checkpoint {
                            path: path.clone(),
                            message: e.to_string(),
                        })?;
                    if file.version != FORMAT_VERSION {
                        return Err(SourceError::Checkpoint {
                            path: path.clone(),
                            message: format!("unsupported checkpoint version {}", file.version),
                        });
                    }
                    entries = file.files;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SourceError::Io {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        Ok(Checkpoints {
            path,
            saved: entries.clone(),
            entries,
            dirty: false,
        })
    }

    /// The entry for an exact fingerprint.
    pub(crate) fn get(&self, fingerprint: &str) -> Option<&CheckpointEntry> {
        self.entries.get(fingerprint)
    }

    /// The newest generation known for a first-line fingerprint, with its key.
    pub(crate) fn latest(&self, first_line: &str) -> Option<(&str, &CheckpointEntry)> {
        self.entries
            .iter()
            .filter(|(_, e)| e.first_line == first_line)
            .max_by_key(|(_, e)| e.generation)
            .map(|(k, e)| (k.as_str(), e))
    }

    /// Every generation recorded for a first-line fingerprint, with its key.
    pub(crate) fn generations<'a>(
        &'a self,
        first_line: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a CheckpointEntry)> + 'a {
        self.entries
            .iter()
            .filter(move |(_, e)| e.first_line == first_line)
            .map(|(k, e)| (k.as_str(), e))
    }

    /// Whether any entry was read under `path` (the path was followed before).
    pub(crate) fn knows_path(&self, path: &Path) -> bool {
        self.entries.values().any(|e| e.path == path)
    }

    /// Records a position (in memory; [`Checkpoints::save`] persists it).
    pub(crate) fn set(&mut self, fingerprint: &str, entry: CheckpointEntry) {
        if self.entries.get(fingerprint) != Some(&entry) {
            self.entries.insert(fingerprint.to_owned(), entry);
            self.dirty = true;
        }
    }

    /// Writes the map if it changed since the last save.
    pub(crate) fn save(&mut self) -> Result<(), SourceError> {
        if self.path.is_none() || !self.dirty {
            return Ok(());
        }
        self.prune();
        self.write(&self.entries)?;
        self.saved = self.entries.clone();
        self.dirty = false;
        Ok(())
    }

    /// Persists the entry of `fingerprint` at once if the file does not know it yet, leaving
    /// the committed positions of the other entries as they are.
    ///
    /// For a new identity at offset 0: lines returned under it but not committed must get
    /// the same id after a restart, which the follower could not reconstruct when the
    /// identity depended on files seen only before the restart.
    pub(crate) fn persist_identity(&mut self, fingerprint: &str) -> Result<(), SourceError> {
        if self.path.is_none() || self.saved.contains_key(fingerprint) {
            return Ok(());
        }
        let Some(entry) = self.entries.get(fingerprint) else {
            return Ok(());
        };
        let mut saved = self.saved.clone();
        saved.insert(fingerprint.to_owned(), entry.clone());
        self.write(&saved)?;
        self.saved = saved;
        Ok(())
    }

    fn write(&self, entries: &BTreeMap<String, CheckpointEntry>) -> Result<(), SourceError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = CheckpointFile {
            version: FORMAT_VERSION,
            files: entries.clone(),
        };
        let mut json = serde_json::to_vec_pretty(&file).map_err(|e| SourceError::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        json.push(b'\n');
        write_atomically(path, &json).map_err(|source| SourceError::Io {
            path: path.clone(),
            source,
        })
    }

    fn prune(&mut self) {
        if self.entries.len() <= MAX_ENTRIES {
            return;
        }
        let mut by_age: Vec<(jiff::Timestamp, String)> = self
            .entries
            .iter()
            .map(|(k, e)| (e.updated, k.clone()))
            .collect();
        by_age.sort();
        let excess = self.entries.len() - MAX_ENTRIES;
        for (_, key) in by_age.into_iter().take(excess) {
            self.entries.remove(&key);
        }
    }
}

pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` so that a reader sees either the old or the new content, never a
/// mix, even across a crash: temporary file in the same directory, fsync, rename, fsync dir.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: u64, first_line: &str, generation: u32) -> CheckpointEntry {
        CheckpointEntry {
            offset,
            path: PathBuf::from("/var/log/auth.log"),
            updated: jiff::Timestamp::UNIX_EPOCH,
            first_line: first_line.to_owned(),
            generation,
            check: None,
            inode: None,
        }
    }

    #[test]
    fn round_trip_and_atomic_content() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("positions.json");
        let mut cp = Checkpoints::load(Some(path.clone()))?;
        cp.set("aa", entry(42, "aa", 0));
        cp.set("bb", entry(7, "aa", 1));
        cp.save()?;

        let text = fs::read_to_string(&path)?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(json["version"], 1);
        assert_eq!(json["files"]["aa"]["offset"], 42);
        assert_eq!(json["files"]["aa"]["path"], "/var/log/auth.log");
        assert_eq!(json["files"]["aa"]["updated"], "1970-01-01T00:00:00Z");
        assert!(!temp_path(&path).exists(), "temporary file renamed away");

        let cp = Checkpoints::load(Some(path))?;
        assert_eq!(cp.get("aa").map(|e| e.offset), Some(42));
        assert_eq!(cp.latest("aa").map(|(k, _)| k), Some("bb"));
        Ok(())
    }

    #[test]
    fn interrupted_write_keeps_old_content() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("positions.json");
        let mut cp = Checkpoints::load(Some(path.clone()))?;
        cp.set("aa", entry(1, "aa", 0));
        cp.save()?;
        fs::write(temp_path(&path), b"{\"version\":1,\"fi")?;
        let cp = Checkpoints::load(Some(path.clone()))?;
        assert_eq!(cp.get("aa").map(|e| e.offset), Some(1));
        assert!(!temp_path(&path).exists());
        Ok(())
    }

    #[test]
    fn corrupt_checkpoint_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("positions.json");
        fs::write(&path, b"not json")?;
        assert!(matches!(
            Checkpoints::load(Some(path)),
            Err(SourceError::Checkpoint { .. })
        ));
        Ok(())
    }

    #[test]
    fn unchanged_map_is_not_rewritten() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("positions.json");
        let mut cp = Checkpoints::load(Some(path.clone()))?;
        cp.save()?;
        assert!(!path.exists());
        cp.set("aa", entry(1, "aa", 0));
        cp.save()?;
        fs::remove_file(&path)?;
        cp.set("aa", entry(1, "aa", 0));
        cp.save()?;
        assert!(!path.exists());
        Ok(())
    }
}
