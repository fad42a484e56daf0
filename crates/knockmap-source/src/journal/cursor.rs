//! Journal cursors: the stable line identity derived from one, and the committed cursor kept
//! in a checkpoint file.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::SourceError;
use crate::checkpoint::write_atomically;

/// Version written to the journal checkpoint file.
const FORMAT_VERSION: u32 = 1;

/// Prefix of the fingerprint of journal lines, keeping them apart from file fingerprints.
const FINGERPRINT_PREFIX: &str = "journald-";

/// The identity of the entry a cursor names: a fingerprint from the cursor's sequence number
/// series (`s=`) and an offset from its sequence number in that series (`i=`, hex).
///
/// Both are assigned by journald when the entry is written and are part of every cursor that
/// names the entry, so reading the entry again gives the same pair. `None` when the cursor
/// lacks either part.
pub(crate) fn identity(cursor: &str) -> Option<(String, u64)> {
    let mut series = None;
    let mut seqnum = None;
    for part in cursor.split(';') {
        if let Some(s) = part.strip_prefix("s=") {
            series = Some(s);
        } else if let Some(i) = part.strip_prefix("i=") {
            seqnum = Some(i);
        }
    }
    let series = series.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let seqnum = u64::from_str_radix(seqnum?, 16).ok()?;
    Some((
        format!("{FINGERPRINT_PREFIX}{}", series.to_ascii_lowercase()),
        seqnum,
    ))
}

#[derive(Debug, Serialize, Deserialize)]
struct CursorFile {
    version: u32,
    /// Cursor of the last committed entry.
    cursor: String,
    /// When it was written (informational).
    updated: jiff::Timestamp,
}

/// Reads the committed cursor; a missing file is `None`. A temporary file left by an
/// interrupted write is removed (the rename never happened, so the old file is current).
pub(crate) fn load(path: &Path) -> Result<Option<String>, SourceError> {
    let tmp = crate::checkpoint::temp_path(path);
    if tmp.exists() {
        tracing::warn!(path = %tmp.display(), "removing checkpoint left by an interrupted write");
        let _ = fs::remove_file(&tmp);
    }
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SourceError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let bad = |message: String| SourceError::Checkpoint {
        path: path.to_owned(),
        message,
    };
    let file: CursorFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if file.version != FORMAT_VERSION {
        return Err(bad(format!(
            "unsupported journal checkpoint version {}",
            file.version
        )));
    }
    Ok(Some(file.cursor))
}

/// Writes `cursor` to `path` atomically.
pub(crate) fn save(path: &Path, cursor: &str) -> Result<(), SourceError> {
    let file = CursorFile {
        version: FORMAT_VERSION,
        cursor: cursor.to_owned(),
        updated: jiff::Timestamp::now(),
    };
    let err = |message: String| SourceError::Checkpoint {
        path: path.to_owned(),
        message,
    };
    let mut json = serde_json::to_vec_pretty(&file).map_err(|e| err(e.to_string()))?;
    json.push(b'\n');
    write_atomically(path, &json).map_err(|source| SourceError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_comes_from_series_and_seqnum() {
        let cursor = "s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8764e9a9d1d0c1b5ca0a9f3;m=5b5b1d9;t=5f1e0b1b4c6b8;x=8bd35a4e2b3c1d0f";
        assert_eq!(
            identity(cursor),
            Some((
                "journald-739ad463348b4ceca5a9e69c95a3c93f".to_owned(),
                0x4ece7
            ))
        );
        // Field order does not matter; case of the series does not either.
        assert_eq!(
            identity("i=10;s=ABCDEF"),
            Some(("journald-abcdef".to_owned(), 16))
        );
        for bad in ["", "s=abc", "i=1", "s=;i=1", "s=xyz;i=1", "s=ab;i=zz"] {
            assert_eq!(identity(bad), None, "{bad}");
        }
    }

    #[test]
    fn cursor_round_trip_and_bad_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("journald.json");
        assert_eq!(load(&path)?, None);
        save(&path, "s=ab;i=1")?;
        assert_eq!(load(&path)?.as_deref(), Some("s=ab;i=1"));
        fs::write(
            &path,
            b"{\"version\":9,\"cursor\":\"x\",\"updated\":\"2026-01-01T00:00:00Z\"}",
        )?;
        assert!(matches!(load(&path), Err(SourceError::Checkpoint { .. })));
        fs::write(&path, b"not json")?;
        assert!(matches!(load(&path), Err(SourceError::Checkpoint { .. })));
        Ok(())
    }
}
