//! The error type of this crate.

use std::path::PathBuf;

/// Errors opening or fetching geolocation databases.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be opened, is not an MMDB database, or has a schema this crate
    /// does not understand.
    #[error("{path}: {message}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing a local file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP request failed (connection, status, or body).
    #[error("download from {url} failed: {message}")]
    Download {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The package registry answered with metadata this crate cannot use.
    #[error("package registry metadata from {url}: {message}")]
    Registry {
        /// The metadata URL.
        url: String,
        /// What is missing or wrong.
        message: String,
    },
    /// A downloaded file does not match its published checksum; it was discarded.
    #[error("integrity check failed for {url}: expected {expected}, got {actual}; file discarded")]
    Integrity {
        /// The URL downloaded.
        url: String,
        /// The published checksum (SRI form, e.g. `sha512-…`).
        expected: String,
        /// The checksum of what was received, in the same form.
        actual: String,
    },
    /// A downloaded archive is damaged or lacks an expected file.
    #[error("archive {url}: {message}")]
    Archive {
        /// Where the archive came from.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl GeoError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> GeoError {
        GeoError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn download(url: &str, message: impl std::fmt::Display) -> GeoError {
        GeoError::Download {
            url: url.to_owned(),
            message: message.to_string(),
        }
    }
}
