//! Opening MMDB files, telling their schemas apart, and answering lookups.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use maxminddb::{MaxMindDbError, Reader, WithinOptions};

use crate::GeoInfo;
use crate::countries::country_name;
use crate::error::GeoError;
use crate::schema::{AsnRecord, FlatRecord, GeoIp2Record, Probe, ProbeKind, non_empty};

/// How many records [`classify`] looks at before giving up on a database.
const PROBE_RECORDS: usize = 64;

/// The record layout of an opened database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// GeoIP2 / GeoLite2 City or Country (MaxMind, DB-IP official downloads):
    /// `country.iso_code`, `country.names.en`, `city.names.en`, `location.latitude`, ….
    GeoIp2,
    /// The flat ip-location-db schema: `country_code`, `city`, `latitude`, `longitude`, ….
    Flat,
    /// GeoLite2-ASN layout: `autonomous_system_number`, `autonomous_system_organization`.
    Asn,
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Schema::GeoIp2 => "GeoIP2 city/country",
            Schema::Flat => "ip-location-db city",
            Schema::Asn => "ASN",
        })
    }
}

/// What is known about one opened database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its record layout.
    pub schema: Schema,
    /// `database_type` from its metadata (e.g. `GeoLite2-City`, `DBIP-City-Lite`).
    pub database_type: String,
    /// `ip_version` from its metadata: 4 (IPv4 only) or 6.
    pub ip_version: u16,
    /// When it was built, in seconds since the Unix epoch.
    pub build_epoch: u64,
    /// Whether its data comes from DB-IP (CC BY 4.0, attribution required).
    pub dbip: bool,
    /// Size and modification time of the file when it was opened (for [`GeoDb::is_stale`]).
    pub file_stamp: Option<(u64, SystemTime)>,
}

pub(crate) struct Database {
    pub(crate) info: DatabaseInfo,
    reader: Reader<Vec<u8>>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A set of opened MMDB databases answering city and ASN questions.
///
/// Cheap to share between threads (`Send + Sync`); wrap it in an `Arc` and swap the `Arc`
/// to reload.
#[derive(Debug, Default)]
pub struct GeoDb {
    dbs: Vec<Database>,
}

impl GeoDb {
    /// Opens each file and sorts it by its schema (city, ASN) from its metadata.
    ///
    /// Fails, naming the file, when one cannot be read, is not an MMDB database, or has none
    /// of the supported schemas. Earlier files take precedence when two answer the same
    /// field.
    pub fn open(paths: &[PathBuf]) -> Result<GeoDb, GeoError> {
        let mut dbs = Vec::with_capacity(paths.len());
        for path in paths {
            let db = open_one(path)?;
            tracing::info!(
                path = %db.info.path.display(),
                schema = %db.info.schema,
                database_type = %db.info.database_type,
                ip_version = db.info.ip_version,
                "opened geolocation database"
            );
            dbs.push(db);
        }
        Ok(GeoDb { dbs })
    }

    /// A database that knows nothing (every lookup is empty).
    pub fn empty() -> GeoDb {
        GeoDb { dbs: Vec::new() }
    }

    /// Whether no database is open.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// The opened databases, in precedence order.
    pub fn databases(&self) -> impl Iterator<Item = &DatabaseInfo> {
        self.dbs.iter().map(|db| &db.info)
    }

    /// The files this database was opened from, in precedence order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.dbs.iter().map(|db| db.info.path.clone()).collect()
    }

    /// Whether any file changed (size or modification time; e.g. replaced by a new download)
    /// or disappeared since it was opened. To hot-reload, poll this and swap in
    /// `GeoDb::open(&old.paths())` when it is true and the open succeeds.
    pub fn is_stale(&self) -> bool {
        self.dbs
            .iter()
            .any(|db| file_stamp(&db.info.path) != db.info.file_stamp)
    }

    /// Looks an address up in every database and merges the answers.
    ///
    /// IPv4-mapped IPv6 addresses are looked up as IPv4. Private, loopback, link-local and
    /// other non-routable addresses, and addresses no database knows, give an empty
    /// [`GeoInfo`]. A database that fails on one lookup (damaged record, wrong address
    /// family) is skipped for that lookup.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let ip = ip.to_canonical();
        let mut info = GeoInfo::default();
        if !is_global(ip) || self.dbs.is_empty() {
            return info;
        }
        // IPv4-only files first for IPv4 (the flat packages ship one file per family, and an
        // IPv6 file may hold nothing or a mapped copy for IPv4); IPv6 never asks an IPv4 file.
        let ipv4_files = self
            .dbs
            .iter()
            .filter(|db| ip.is_ipv4() && db.info.ip_version == 4);
        let other_files = self.dbs.iter().filter(|db| db.info.ip_version != 4);
        for db in ipv4_files.chain(other_files) {
            if let Err(e) = db.fill(ip, &mut info) {
                tracing::debug!(%ip, path = %db.info.path.display(), error = %e, "geolocation lookup failed");
            }
        }
        if info.country.is_none() {
            info.country = info
                .country_code
                .as_deref()
                .and_then(country_name)
                .map(str::to_owned);
        }
        info
    }

    /// Whether DB-IP data is in use (its licence requires the attribution link on the page).
    pub fn needs_dbip_attribution(&self) -> bool {
        self.dbs.iter().any(|db| db.info.dbip)
    }
}

impl Database {
    /// Adds what this database knows about `ip` to the fields of `info` still empty.
    fn fill(&self, ip: IpAddr, info: &mut GeoInfo) -> Result<(), MaxMindDbError> {
        let found = self.reader.lookup(ip)?;
        if !found.has_data() {
            return Ok(());
        }
        match self.info.schema {
            Schema::GeoIp2 => {
                let Some(rec) = found.decode::<GeoIp2Record<'_>>()? else {
                    return Ok(());
                };
                let country = rec
                    .country
                    .as_ref()
                    .filter(|c| non_empty(c.iso_code).is_some())
                    .or(rec.registered_country.as_ref());
                if let Some(country) = country {
                    let name = country.names.as_ref().and_then(|n| non_empty(n.en));
                    set_country(info, non_empty(country.iso_code), name);
                }
                let city = rec.city.as_ref().and_then(|c| c.names.as_ref());
                set_city(info, city.and_then(|n| non_empty(n.en)));
                if let Some(loc) = &rec.location {
                    set_location(info, loc.latitude, loc.longitude);
                }
            }
            Schema::Flat => {
                let Some(rec) = found.decode::<FlatRecord<'_>>()? else {
                    return Ok(());
                };
                set_country(info, non_empty(rec.country_code), None);
                set_city(info, non_empty(rec.city));
                set_location(info, rec.latitude, rec.longitude);
            }
            Schema::Asn => {
                let Some(rec) = found.decode::<AsnRecord<'_>>()? else {
                    return Ok(());
                };
                if info.asn.is_none() && rec.autonomous_system_number.is_some() {
                    info.asn = rec.autonomous_system_number;
                    info.org = non_empty(rec.autonomous_system_organization).map(str::to_owned);
                }
            }
        }
        Ok(())
    }
}

fn set_country(info: &mut GeoInfo, code: Option<&str>, name: Option<&str>) {
    // "ZZ" is the user-assigned "unknown" code some databases use.
    let code = code.filter(|c| !c.eq_ignore_ascii_case("ZZ"));
    if info.country_code.is_some() || code.is_none() && name.is_none() {
        return;
    }
    info.country_code = code.map(str::to_ascii_uppercase);
    info.country = name
        .map(str::to_owned)
        .or_else(|| code.and_then(country_name).map(str::to_owned));
}

fn set_city(info: &mut GeoInfo, city: Option<&str>) {
    if info.city.is_none() {
        info.city = city.map(str::to_owned);
    }
}

fn set_location(info: &mut GeoInfo, lat: Option<f64>, lon: Option<f64>) {
    if info.lat.is_some() || info.lon.is_some() {
        return;
    }
    if let (Some(lat), Some(lon)) = (lat, lon)
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
    {
        info.lat = Some(lat);
        info.lon = Some(lon);
    }
}

/// Size and modification time of a file, if it can be read.
fn file_stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Opens one file and tells its schema (also used to check downloads before keeping them).
pub(crate) fn open_one(path: &Path) -> Result<Database, GeoError> {
    let open_err = |message: String| GeoError::Open {
        path: path.to_owned(),
        message,
    };
    let reader = Reader::open_readfile(path).map_err(|e| match e {
        MaxMindDbError::Io(io) => open_err(format!("cannot read: {io}")),
        other => open_err(format!("not an MMDB database: {other}")),
    })?;
    let meta = reader.metadata();
    let database_type = meta.database_type.clone();
    let schema = classify(&reader).map_err(|message| {
        open_err(format!(
            "unsupported database (type {database_type:?}): {message}; expected a GeoIP2/GeoLite2 \
             City or Country, an ip-location-db city, or an ASN database"
        ))
    })?;
    let dbip = is_dbip(path, &database_type, meta.description.values());
    let file_stamp = file_stamp(path);
    Ok(Database {
        info: DatabaseInfo {
            path: path.to_owned(),
            schema,
            database_type,
            ip_version: meta.ip_version,
            build_epoch: meta.build_epoch,
            dbip,
            file_stamp,
        },
        reader,
    })
}

/// Tells the schema of a database from the first records that hold data.
fn classify<S: AsRef<[u8]>>(reader: &Reader<S>) -> Result<Schema, String> {
    let networks = reader
        .networks(WithinOptions::default())
        .map_err(|e| e.to_string())?;
    let mut seen = 0;
    for item in networks.take(PROBE_RECORDS) {
        let found = item.map_err(|e| e.to_string())?;
        let Some(probe) = found.decode::<Probe>().map_err(|e| e.to_string())? else {
            continue;
        };
        seen += 1;
        match probe.kind() {
            Some(ProbeKind::GeoIp2) => return Ok(Schema::GeoIp2),
            Some(ProbeKind::Flat) => return Ok(Schema::Flat),
            Some(ProbeKind::Asn) => return Ok(Schema::Asn),
            None => {}
        }
    }
    if seen == 0 {
        Err("it holds no records".to_owned())
    } else {
        Err(format!(
            "none of its first {seen} records has a known field \
             (country, location, country_code, latitude, autonomous_system_number)"
        ))
    }
}

/// Whether a database holds DB-IP data, from its type, description or file name, or a
/// `DBIP-LICENSE` file beside it (as in the ip-location-db packages).
fn is_dbip<'a>(
    path: &Path,
    database_type: &str,
    description: impl Iterator<Item = &'a String>,
) -> bool {
    let mentions = |s: &str| {
        let s = s.to_ascii_lowercase();
        s.contains("dbip") || s.contains("db-ip")
    };
    mentions(database_type)
        || description.into_iter().any(|d| mentions(d))
        || path
            .file_name()
            .is_some_and(|n| mentions(&n.to_string_lossy()))
        || path
            .parent()
            .is_some_and(|dir| dir.join("DBIP-LICENSE").is_file())
}

/// Whether an address can be on the public internet (so a database may know it).
fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // "this network"
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b))) // shared address space (CGNAT)
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0) // site-local (deprecated)
}

#[cfg(test)]
mod lookup_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_routable_addresses() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "100.64.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:192.168.0.1",
        ] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert!(!is_global(ip.to_canonical()), "{ip}");
        }
        for ip in [
            "81.2.69.142",
            "8.8.8.8",
            "100.128.0.1",
            "2001:218::1",
            "2a02:cf40::1",
        ] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert!(is_global(ip), "{ip}");
        }
    }

    #[test]
    fn location_must_be_in_range() {
        let mut info = GeoInfo::default();
        set_location(&mut info, Some(91.0), Some(0.0));
        assert_eq!((info.lat, info.lon), (None, None));
        set_location(&mut info, Some(10.0), None);
        assert_eq!((info.lat, info.lon), (None, None));
        set_location(&mut info, Some(-33.9), Some(151.2));
        assert_eq!((info.lat, info.lon), (Some(-33.9), Some(151.2)));
        set_location(&mut info, Some(1.0), Some(2.0));
        assert_eq!((info.lat, info.lon), (Some(-33.9), Some(151.2)));
    }

    #[test]
    fn unknown_country_code_is_ignored() {
        let mut info = GeoInfo::default();
        set_country(&mut info, Some("ZZ"), None);
        assert_eq!(info, GeoInfo::default());
        set_country(&mut info, Some("se"), None);
        assert_eq!(info.country_code.as_deref(), Some("SE"));
        assert_eq!(info.country.as_deref(), Some("Sweden"));
    }
}
