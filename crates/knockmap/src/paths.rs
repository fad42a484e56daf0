//! Where knockmap keeps things, and opening what the options name.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use knockmap_geo::GeoDb;
use knockmap_server::LogInput;
use knockmap_source::JournalConfig;

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

/// Opens the database at `url`, or the default SQLite file in `data_dir`.
pub async fn open_store(
    url: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<std::sync::Arc<dyn knockmap_store::Store>> {
    let url = url.map_or_else(|| default_db_url(data_dir), str::to_string);
    let shown = knockmap_store::redact(&url);
    let store = knockmap_store::open(&url)
        .await
        .with_context(|| format!("opening the database {shown}"))?;
    tracing::info!(db = %shown, "database ready");
    Ok(store)
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

/// A `--source` resolved to one log to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSource {
    /// What to follow.
    pub input: LogInput,
    /// Whether any line with an IP address counts (`generic:PATH`).
    pub generic: bool,
}

/// Resolves a `--source` spec to the logs it names: one file, the files a glob matches
/// (`/var/log/remote/*/auth.log`), sshd's entries in the systemd journal (`journald`), or
/// what `auto` finds (nothing when this machine has no log it knows).
pub fn resolve_source(spec: &str) -> anyhow::Result<Vec<ResolvedSource>> {
    let (generic, spec) = match spec.strip_prefix("generic:") {
        Some("") => {
            bail!("--source generic: needs a path, as in generic:/var/log/nginx/access.log")
        }
        Some(path) => (true, path),
        None => (false, spec),
    };
    let file = |path: &Path| ResolvedSource {
        input: LogInput::File(path.to_path_buf()),
        generic,
    };
    match spec {
        "auto" if !generic => {
            let found = auto_source(
                &[Path::new("/var/log/auth.log"), Path::new("/var/log/secure")],
                &[Path::new("/run/log/journal"), Path::new("/var/log/journal")],
                std::env::var_os("PATH").as_deref(),
            );
            match &found {
                Some(LogInput::Journald(_)) => tracing::info!(
                    "--source auto: no /var/log/auth.log or /var/log/secure; \
                     following sshd in the systemd journal (journalctl)"
                ),
                Some(input) => tracing::info!("--source auto: following {input}"),
                None => tracing::warn!(
                    "--source auto: found neither /var/log/auth.log, /var/log/secure nor a \
                     systemd journal with journalctl; serving what is stored (pass a file path)"
                ),
            }
            Ok(found
                .into_iter()
                .map(|input| ResolvedSource { input, generic })
                .collect())
        }
        "journald" if !generic => Ok(vec![ResolvedSource {
            input: LogInput::Journald(JournalConfig::default()),
            generic,
        }]),
        "-" => bail!("--source - (standard input) is not supported yet: pass a file path"),
        path if path.contains(['*', '?', '[']) => {
            glob_files(path).map(|paths| paths.iter().map(|p| file(p)).collect())
        }
        path => Ok(vec![file(Path::new(path))]),
    }
}

/// What `--source auto` follows: the first of `files` that exists, else the journal when
/// one of `journals` (journald's directories) holds anything and a `journalctl` program is
/// on `path`
/// (a `PATH` value). Debian 12 and later keep sshd's log only in the journal unless rsyslog
/// is installed; a machine with journalctl but no journald (a container) has neither.
fn auto_source(files: &[&Path], journals: &[&Path], path: Option<&OsStr>) -> Option<LogInput> {
    if let Some(found) = files.iter().find(|f| f.exists()) {
        return Some(LogInput::File(found.to_path_buf()));
    }
    let holds_journal = |dir: &&Path| dir.read_dir().is_ok_and(|mut d| d.next().is_some());
    if !journals.iter().any(holds_journal) {
        return None;
    }
    let config = JournalConfig::default();
    let on_path = std::env::split_paths(path?).any(|dir| is_executable(&dir.join(&config.program)));
    on_path.then_some(LogInput::Journald(config))
}

/// Whether `path` is a file someone may execute.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The files a glob pattern matches now, sorted; an error when it matches none (a pattern
/// is followed only for the files that exist when the program starts).
fn glob_files(pattern: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in glob::glob(pattern).with_context(|| format!("--source {pattern}: bad pattern"))? {
        let path = entry.with_context(|| format!("--source {pattern}"))?;
        if path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        bail!("--source {pattern}: no file matches");
    }
    paths.sort();
    Ok(paths)
}

/// Where the read position of a followed log is kept.
fn checkpoint_path(data_dir: &Path, source: &LogInput) -> PathBuf {
    match source {
        LogInput::File(path) => file_checkpoint_path(data_dir, path),
        // One journal per machine: its cursor has one place.
        LogInput::Journald(_) => data_dir.join("checkpoints").join("journald.json"),
    }
}

/// Where the read position of a followed file is kept.
fn file_checkpoint_path(data_dir: &Path, source: &Path) -> PathBuf {
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
pub fn prepare_checkpoint(data_dir: &Path, source: &LogInput) -> anyhow::Result<PathBuf> {
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
        let file = |p: &str, generic| ResolvedSource {
            input: LogInput::File(p.into()),
            generic,
        };
        assert_eq!(
            resolve_source("/var/log/x.log").expect("path"),
            vec![file("/var/log/x.log", false)]
        );
        assert_eq!(
            resolve_source("generic:/var/log/nginx/access.log").expect("generic"),
            vec![file("/var/log/nginx/access.log", true)]
        );
        assert!(resolve_source("generic:").is_err());
        assert_eq!(
            resolve_source("journald").expect("journald"),
            vec![ResolvedSource {
                input: LogInput::Journald(JournalConfig::default()),
                generic: false
            }]
        );
        assert_eq!(
            resolve_source("generic:journald").expect("a file named journald"),
            vec![file("journald", true)]
        );
    }

    #[test]
    fn auto_prefers_files_then_the_journal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = dir.path().join("auth.log");
        let secure = dir.path().join("secure");
        let bin = dir.path().join("bin");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&bin).expect("mkdir");
        std::fs::create_dir(&empty).expect("mkdir");
        let journalctl = bin.join("journalctl");
        std::fs::write(&journalctl, "#!/bin/sh\n").expect("write");
        let path = std::env::join_paths([&empty, &bin]).expect("PATH");
        let files = [auth.as_path(), secure.as_path()];
        let journal = Some(LogInput::Journald(JournalConfig::default()));
        let journals = [dir.path().join("run-log-journal")];
        let journals = [journals[0].as_path()];
        let auto_source =
            |files: &[&Path], path: Option<&OsStr>| auto_source(files, &journals, path);

        // No journal, or an empty journal directory: journalctl would follow nothing.
        std::fs::set_permissions(&journalctl, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        assert_eq!(auto_source(&files, Some(&path)), None);
        std::fs::create_dir(journals[0]).expect("mkdir journal");
        assert_eq!(auto_source(&files, Some(&path)), None);
        std::fs::create_dir(journals[0].join("machine-id")).expect("mkdir journal files");
        std::fs::set_permissions(&journalctl, std::fs::Permissions::from_mode(0o644))
            .expect("chmod");

        // Not executable: not a program.
        assert_eq!(auto_source(&files, Some(&path)), None);
        std::fs::set_permissions(&journalctl, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        assert_eq!(auto_source(&files, Some(&path)), journal);
        assert_eq!(auto_source(&files, Some(empty.as_os_str())), None);
        assert_eq!(auto_source(&files, None), None);
        std::fs::write(&secure, "").expect("write");
        assert_eq!(
            auto_source(&files, Some(&path)),
            Some(LogInput::File(secure.clone()))
        );
        std::fs::write(&auth, "").expect("write");
        assert_eq!(
            auto_source(&files, Some(&path)),
            Some(LogInput::File(auth.clone()))
        );
    }

    #[test]
    fn globs_name_every_matching_file_and_refuse_to_match_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        for host in ["b", "a"] {
            std::fs::create_dir(dir.path().join(host)).expect("mkdir");
            std::fs::write(dir.path().join(host).join("auth.log"), "").expect("write");
        }
        let pattern = format!("{}/*/auth.log", dir.path().display());
        let found = resolve_source(&pattern).expect("glob");
        let expected: Vec<ResolvedSource> = ["a", "b"]
            .iter()
            .map(|h| ResolvedSource {
                input: LogInput::File(dir.path().join(h).join("auth.log")),
                generic: false,
            })
            .collect();
        assert_eq!(found, expected);
        let generic = resolve_source(&format!("generic:{pattern}")).expect("generic glob");
        assert!(generic.iter().all(|s| s.generic) && generic.len() == 2);
        let none = resolve_source(&format!("{}/*/secure", dir.path().display()));
        assert!(
            none.expect_err("no match")
                .to_string()
                .contains("no file matches")
        );
    }

    #[test]
    fn checkpoint_names_are_stable_and_distinct() {
        let dir = Path::new("/data");
        let file = |p: &str| LogInput::File(p.into());
        let a = checkpoint_path(dir, &file("/var/log/auth.log"));
        assert_eq!(a, checkpoint_path(dir, &file("/var/log/auth.log")));
        assert_ne!(a, checkpoint_path(dir, &file("/var/log/secure")));
        assert!(a.starts_with("/data/checkpoints") && a.to_string_lossy().contains("auth.log-"));
        let journal = LogInput::Journald(JournalConfig::default());
        let j = checkpoint_path(dir, &journal);
        assert_eq!(j, Path::new("/data/checkpoints/journald.json"));
        // A file that happens to be named journald.json does not share it.
        assert_ne!(
            j,
            checkpoint_path(dir, &file("/data/checkpoints/journald.json"))
        );
    }
}
