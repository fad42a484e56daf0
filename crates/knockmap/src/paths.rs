//! Where knockmap keeps things, and opening what the options name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use knockmap_geo::GeoDb;

use crate::cli::{DataDirOption, GeoOptions};

/// The data directory: `--data-dir`, else the platform's (`~/.local/share/knockmap`).
pub fn data_dir(option: &DataDirOption) -> anyhow::Result<PathBuf> {
    let dir = match &option.data_dir {
        Some(dir) => dir.clone(),
        None => directories::ProjectDirs::from("", "", "knockmap")
            .context("cannot find a home directory for the data directory; pass --data-dir")?
            .data_dir()
            .to_path_buf(),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}

/// The default database URL: an SQLite file in the data directory.
pub fn default_db_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("knockmap.sqlite").display())
}

/// The time zone for timestamps written without one.
pub fn timezone(name: Option<&str>) -> anyhow::Result<TimeZone> {
    match name {
        None => Ok(TimeZone::system()),
        Some(name) => TimeZone::get(name).with_context(|| {
            format!("unknown time zone {name:?} (expected an IANA name such as Europe/Berlin)")
        }),
    }
}

/// Opens the geolocation databases the options name; without any, the default DB-IP Lite
/// City database in the data directory, downloaded first unless downloads are off.
///
/// A failed download is not fatal: knockmap runs without locations and says so.
pub async fn open_geo(options: &GeoOptions, data_dir: &Path) -> anyhow::Result<Arc<GeoDb>> {
    if !options.paths.is_empty() {
        let geo = GeoDb::open(&options.paths).context("opening --geoip databases")?;
        log_databases(&geo);
        return Ok(Arc::new(geo));
    }
    let paths = if options.no_geoip_download {
        knockmap_geo::existing_default(data_dir)
    } else {
        tracing::info!("looking for the geolocation database (downloaded once, about 64 MB)");
        match knockmap_geo::ensure_default(data_dir).await {
            Ok(paths) => Some(paths),
            Err(e) => {
                tracing::warn!(
                    "could not get a geolocation database: {e}; running without locations (pass --geoip PATH)"
                );
                None
            }
        }
    };
    let Some(paths) = paths else {
        tracing::warn!("no geolocation database: addresses will be listed without a location");
        return Ok(Arc::new(GeoDb::empty()));
    };
    let geo = GeoDb::open(&paths).context("opening the downloaded geolocation database")?;
    log_databases(&geo);
    Ok(Arc::new(geo))
}

fn log_databases(geo: &GeoDb) {
    for db in geo.databases() {
        tracing::info!(path = %db.path.display(), schema = %db.schema, "geolocation database");
    }
}

/// A `--source` resolved to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file to follow.
    pub path: PathBuf,
    /// Whether any line with an IP address counts (`generic:PATH`).
    pub generic: bool,
}

/// Resolves a `--source` spec; `None` when `auto` finds no log on this machine.
pub fn resolve_source(spec: &str) -> anyhow::Result<Option<SourceFile>> {
    if let Some(path) = spec.strip_prefix("generic:") {
        if path.is_empty() {
            bail!("--source generic: needs a path, as in generic:/var/log/nginx/access.log");
        }
        return Ok(Some(SourceFile {
            path: path.into(),
            generic: true,
        }));
    }
    let file = |path: &str| {
        Some(SourceFile {
            path: path.into(),
            generic: false,
        })
    };
    match spec {
        "auto" => {
            for candidate in ["/var/log/auth.log", "/var/log/secure"] {
                if Path::new(candidate).exists() {
                    tracing::info!("--source auto: following {candidate}");
                    return Ok(file(candidate));
                }
            }
            tracing::warn!(
                "--source auto: found neither /var/log/auth.log nor /var/log/secure; \
                 serving what is stored (journald is not supported yet: install rsyslog, \
                 or pass a file path)"
            );
            Ok(None)
        }
        "journald" => bail!("--source journald is not supported yet: pass a file path"),
        "-" => bail!("--source - (standard input) is not supported by serve yet: pass a file path"),
        path => Ok(file(path)),
    }
}

/// Where the read position of a followed file is kept.
fn checkpoint_path(data_dir: &Path, source: &Path) -> PathBuf {
    use sha2::Digest;
    use std::os::unix::ffi::OsStrExt;
    // A stable, filesystem-safe name per followed path.
    let absolute = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    let digest = sha2::Sha256::digest(absolute.as_os_str().as_bytes());
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name: String = absolute
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect()
        })
        .unwrap_or_default();
    data_dir
        .join("checkpoints")
        .join(format!("{name}-{hash}.json"))
}

/// Creates the checkpoint directory and returns the checkpoint file for `source`.
pub fn prepare_checkpoint(data_dir: &Path, source: &Path) -> anyhow::Result<PathBuf> {
    let path = checkpoint_path(data_dir, source);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the checkpoint directory {}", dir.display()))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_specs() {
        let plain = resolve_source("/var/log/x.log")
            .expect("path")
            .expect("some");
        assert_eq!(
            plain,
            SourceFile {
                path: "/var/log/x.log".into(),
                generic: false
            }
        );
        let generic = resolve_source("generic:/var/log/nginx/access.log")
            .expect("generic")
            .expect("some");
        assert!(generic.generic && generic.path == Path::new("/var/log/nginx/access.log"));
        assert!(resolve_source("generic:").is_err());
        assert!(resolve_source("journald").is_err());
    }

    #[test]
    fn checkpoint_names_are_stable_and_distinct() {
        let dir = Path::new("/data");
        let a = checkpoint_path(dir, Path::new("/var/log/auth.log"));
        assert_eq!(a, checkpoint_path(dir, Path::new("/var/log/auth.log")));
        assert_ne!(a, checkpoint_path(dir, Path::new("/var/log/secure")));
        assert!(a.starts_with("/data/checkpoints") && a.to_string_lossy().contains("auth.log-"));
    }
}
