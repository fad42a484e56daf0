//! Lookups against MaxMind's test databases and flat-schema databases built in the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::PathBuf;

use crate::test_support::{FlatRow, build_mmdb, fixture, flat_v4, flat_v6};
use crate::{GeoDb, GeoError, GeoInfo, Schema};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn open(names: &[&str]) -> GeoDb {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    GeoDb::open(&paths).unwrap()
}

/// Writes flat-schema files under their npm names in a temporary directory.
fn flat_dir(v4: bool, v6: bool) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    if v4 {
        let p = dir.path().join("dbip-city-ipv4.mmdb");
        std::fs::write(&p, flat_v4()).unwrap();
        paths.push(p);
    }
    if v6 {
        let p = dir.path().join("dbip-city-ipv6.mmdb");
        std::fs::write(&p, flat_v6()).unwrap();
        paths.push(p);
    }
    (dir, paths)
}

fn assert_close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("coordinate present");
    assert!((actual - expected).abs() < 1e-4, "{actual} != {expected}");
}

#[test]
fn london_from_geoip2_city() {
    let db = open(&["GeoIP2-City-Test.mmdb"]);
    let info = db.lookup(ip("81.2.69.142"));
    assert_eq!(info.country_code.as_deref(), Some("GB"));
    assert_eq!(info.country.as_deref(), Some("United Kingdom"));
    assert_eq!(info.city.as_deref(), Some("London"));
    assert_close(info.lat, 51.5142);
    assert_close(info.lon, -0.0931);
    assert_eq!((info.asn, info.org.as_deref()), (None, None));
}

#[test]
fn linkoping_from_geolite2_city() {
    let db = open(&["GeoLite2-City-Test.mmdb"]);
    let info = db.lookup(ip("89.160.20.112"));
    assert_eq!(info.country_code.as_deref(), Some("SE"));
    assert_eq!(info.country.as_deref(), Some("Sweden"));
    assert_eq!(info.city.as_deref(), Some("Linköping"));
    assert_close(info.lat, 58.4167);
    assert_close(info.lon, 15.6167);
}

#[test]
fn ipv6_country_level_answer() {
    let db = open(&["GeoLite2-City-Test.mmdb"]);
    let info = db.lookup(ip("2001:218::1"));
    assert_eq!(info.country_code.as_deref(), Some("JP"));
    assert_eq!(info.country.as_deref(), Some("Japan"));
    assert_eq!(info.city, None);
    assert_close(info.lat, 35.68536);
    assert_close(info.lon, 139.75309);
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let db = open(&["GeoIP2-City-Test.mmdb"]);
    let info = db.lookup(ip("::ffff:81.2.69.142"));
    assert_eq!(info.city.as_deref(), Some("London"));
}

#[test]
fn asn_lookups() {
    let db = open(&["GeoLite2-ASN-Test.mmdb"]);
    let telstra = db.lookup(ip("1.128.0.0"));
    assert_eq!(telstra.asn, Some(1221));
    assert_eq!(telstra.org.as_deref(), Some("Telstra Pty Ltd"));
    assert_eq!(telstra.country_code, None);
    let google = db.lookup(ip("1.0.0.1"));
    assert_eq!(google.asn, Some(15169));
    assert_eq!(google.org.as_deref(), Some("Google Inc."));
    let merit = db.lookup(ip("2600:6000::1"));
    assert_eq!(merit.asn, Some(237));
    assert_eq!(merit.org.as_deref(), Some("Merit Network Inc."));
    // An AS number without an organisation.
    let milton = db.lookup(ip("216.160.83.56"));
    assert_eq!((milton.asn, milton.org), (Some(209), None));
}

#[test]
fn city_and_asn_answers_are_merged() {
    let db = open(&["GeoLite2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"]);
    let info = db.lookup(ip("89.160.20.112"));
    assert_eq!(info.city.as_deref(), Some("Linköping"));
    assert_eq!(info.country_code.as_deref(), Some("SE"));
    assert_eq!(info.asn, Some(29518));
    assert_eq!(info.org.as_deref(), Some("Bredband2 AB"));
    // Only one side knows the address.
    let telstra = db.lookup(ip("1.128.0.0"));
    assert_eq!((telstra.asn, telstra.city), (Some(1221), None));
    let london = db.lookup(ip("81.2.69.142"));
    assert_eq!((london.asn, london.city.as_deref()), (None, Some("London")));
}

#[test]
fn country_database_then_city_database_fill_in() {
    let db = open(&["GeoLite2-Country-Test.mmdb", "GeoIP2-City-Test.mmdb"]);
    let info = db.lookup(ip("81.2.69.142"));
    assert_eq!(info.country_code.as_deref(), Some("GB"));
    assert_eq!(info.city.as_deref(), Some("London"));
    assert_close(info.lat, 51.5142);
}

#[test]
fn schemas_are_recognised() {
    let db = open(&[
        "GeoIP2-City-Test.mmdb",
        "GeoLite2-Country-Test.mmdb",
        "GeoLite2-ASN-Test.mmdb",
    ]);
    let schemas: Vec<Schema> = db.databases().map(|d| d.schema).collect();
    assert_eq!(schemas, [Schema::GeoIp2, Schema::GeoIp2, Schema::Asn]);
    let first = db.databases().next().unwrap();
    assert_eq!(first.database_type, "GeoIP2-City");
    assert_eq!(first.ip_version, 6);
    assert!(!db.needs_dbip_attribution());
}

#[test]
fn private_and_unknown_addresses_are_empty() {
    let db = open(&["GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"]);
    for addr in [
        "10.0.0.1",
        "192.168.1.10",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fd12::1",
        "::ffff:10.1.1.1",
        "8.8.8.8",     // public but not in the test data
        "2001:db8::1", // documentation range, not in the test data
    ] {
        assert!(db.lookup(ip(addr)).is_empty(), "{addr}");
    }
}

#[test]
fn empty_database_knows_nothing() {
    let db = GeoDb::empty();
    assert!(db.is_empty());
    assert!(db.lookup(ip("81.2.69.142")).is_empty());
    assert!(!db.needs_dbip_attribution());
    let none = GeoDb::open(&[]).unwrap();
    assert!(none.lookup(ip("81.2.69.142")).is_empty());
}

#[test]
fn non_mmdb_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.mmdb");
    std::fs::write(&path, b"this is not a MaxMind database\n").unwrap();
    let err = GeoDb::open(&[fixture("GeoIP2-City-Test.mmdb"), path.clone()]).unwrap_err();
    match &err {
        GeoError::Open { path: p, message } => {
            assert_eq!(p, &path);
            assert!(message.contains("not an MMDB"), "{message}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("notes.mmdb"), "{err}");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let path = PathBuf::from("/nonexistent/knockmap/GeoLite2-City.mmdb");
    let err = GeoDb::open(std::slice::from_ref(&path)).unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/knockmap/GeoLite2-City.mmdb"),
        "{err}"
    );
    assert!(err.to_string().contains("cannot read"), "{err}");
}

#[test]
fn database_of_another_schema_is_refused() {
    #[derive(serde::Serialize)]
    struct Other {
        is_anonymous_vpn: bool,
        user_type: &'static str,
    }
    let bytes = build_mmdb(
        "GeoIP2-Anonymous-IP",
        false,
        &[(
            "81.2.69.0/24",
            Other {
                is_anonymous_vpn: true,
                user_type: "hosting",
            },
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anon.mmdb");
    std::fs::write(&path, bytes).unwrap();
    let err = GeoDb::open(std::slice::from_ref(&path)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("anon.mmdb"), "{text}");
    assert!(text.contains("unsupported database"), "{text}");
    assert!(text.contains("GeoIP2-Anonymous-IP"), "{text}");

    let empty = build_mmdb::<FlatRow>("city ipv4", false, &[]);
    let path = dir.path().join("empty.mmdb");
    std::fs::write(&path, empty).unwrap();
    let err = GeoDb::open(std::slice::from_ref(&path)).unwrap_err();
    assert!(err.to_string().contains("empty.mmdb"), "{err}");
}

#[test]
fn flat_schema_ipv4_file() {
    let (_dir, paths) = flat_dir(true, false);
    let db = GeoDb::open(&paths).unwrap();
    assert_eq!(db.databases().next().unwrap().schema, Schema::Flat);
    let info = db.lookup(ip("89.160.20.112"));
    assert_eq!(info.country_code.as_deref(), Some("SE"));
    assert_eq!(info.country.as_deref(), Some("Sweden"));
    assert_eq!(info.city.as_deref(), Some("Linköping"));
    // Stored as MMDB float (f32), read back as the decimal that was written.
    assert_eq!((info.lat, info.lon), (Some(58.41), Some(15.62)));
    let us = db.lookup(ip("8.8.8.8"));
    assert_eq!(us.country.as_deref(), Some("United States"));
    assert_eq!(us.city.as_deref(), Some("Mountain View"));
    // "ZZ" and blank strings mean unknown.
    let unknown = db.lookup(ip("1.2.3.4"));
    assert_eq!(unknown.country_code, None);
    assert_eq!(unknown.city, None);
    // The IPv4-only file is never asked about IPv6.
    assert!(db.lookup(ip("2a01:4f8::1")).is_empty());
    assert!(db.needs_dbip_attribution());
}

#[test]
fn flat_schema_pair_answers_each_family_from_its_file() {
    // IPv6 file listed first: IPv4 must still be answered from the IPv4 file.
    let (_dir, mut paths) = flat_dir(true, true);
    paths.reverse();
    let db = GeoDb::open(&paths).unwrap();
    let v4 = db.lookup(ip("89.160.20.112"));
    assert_eq!(v4.city.as_deref(), Some("Linköping"));
    let v6 = db.lookup(ip("2a01:4f8:c0c:1234::2"));
    assert_eq!(v6.country_code.as_deref(), Some("DE"));
    assert_eq!(v6.country.as_deref(), Some("Germany"));
    assert_eq!(v6.city.as_deref(), Some("Gunzenhausen"));
    assert_close(v6.lat, 49.1);
}

#[test]
fn wrong_family_lookups_are_empty() {
    let (_dir, paths) = flat_dir(false, true);
    let db = GeoDb::open(&paths).unwrap();
    assert!(db.lookup(ip("89.160.20.112")).is_empty());
    assert!(db.lookup(ip("8.8.8.8")).is_empty());
}

#[test]
fn geo_info_serializes_without_absent_fields() {
    let db = open(&["GeoLite2-ASN-Test.mmdb"]);
    let json = serde_json::to_string(&db.lookup(ip("1.128.0.0"))).unwrap();
    assert_eq!(json, r#"{"asn":1221,"org":"Telstra Pty Ltd"}"#);
    assert_eq!(serde_json::to_string(&GeoInfo::default()).unwrap(), "{}");
}

#[test]
fn geo_db_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GeoDb>();
}

#[test]
fn replaced_file_makes_the_database_stale() {
    let (_dir, paths) = flat_dir(true, false);
    let db = GeoDb::open(&paths).unwrap();
    assert!(!db.is_stale());
    assert_eq!(db.paths(), paths);
    // A new download is renamed over the old file: different size.
    let bigger = build_mmdb(
        "city ipv4",
        false,
        &[(
            "81.2.69.0/24",
            FlatRow {
                country_code: "GB",
                state1: "England",
                state2: "",
                city: "London",
                postcode: "",
                latitude: 51.5,
                longitude: -0.1,
                timezone: "Europe/London",
            },
        )],
    );
    let tmp = paths[0].with_extension("new");
    std::fs::write(&tmp, bigger).unwrap();
    std::fs::rename(&tmp, &paths[0]).unwrap();
    assert!(db.is_stale());
    let reloaded = GeoDb::open(&db.paths()).unwrap();
    assert!(!reloaded.is_stale());
    assert_eq!(
        reloaded.lookup(ip("81.2.69.142")).city.as_deref(),
        Some("London")
    );
    std::fs::remove_file(&paths[0]).unwrap();
    assert!(reloaded.is_stale());
}
