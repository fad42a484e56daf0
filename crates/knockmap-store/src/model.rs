//! What goes into the store and what comes out of it. The read models serialize to the JSON of
//! the HTTP API (`docs/api.md`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Outcome};
use serde::Serialize;

use crate::EventId;

/// An event ready to be stored: its id, the sensor that read it, and where its address is.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The event id (see [`EventId`]).
    pub id: EventId,
    /// The sensor that read the line.
    pub sensor: String,
    /// The parsed event.
    pub event: Event,
    /// The location of `event.ip`, empty when unknown.
    pub geo: GeoInfo,
}

/// What [`crate::Store::ingest`] did with a batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Events newly stored.
    pub accepted: u64,
    /// Events that were already stored and were skipped.
    pub duplicates: u64,
    /// The newly stored events, in batch order, each with its address's total event count
    /// after this batch.
    #[serde(skip)]
    pub stored: Vec<StoredEvent>,
}

/// A time window; `None` ends are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub since: Option<Timestamp>,
    /// Exclusive end.
    pub until: Option<Timestamp>,
}

impl Window {
    /// Whether the window is unbounded on both ends.
    pub fn is_all(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// Bounds in microseconds, open ends replaced by the extremes.
    pub(crate) fn micros(&self) -> (i64, i64) {
        (
            self.since.map_or(i64::MIN, |t| t.as_microsecond()),
            self.until.map_or(i64::MAX, |t| t.as_microsecond()),
        )
    }
}

/// Narrows statistics and the map to the events of one sensor, of addresses in one country
/// or one network (ASN), and/or that tried one user name; every part set must hold. Empty
/// fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only events this sensor read.
    pub sensor: Option<String>,
    /// Only events from addresses located in this country (ISO 3166-1 alpha-2 code, as
    /// stored).
    pub country: Option<String>,
    /// Only events from addresses in this autonomous system.
    pub asn: Option<u32>,
    /// Only events that name this user (compared byte for byte, as stored).
    pub user: Option<String>,
}

impl Filter {
    /// Whether the filter lets every event through.
    pub fn is_none(&self) -> bool {
        self.sensor.is_none() && self.country.is_none() && self.asn.is_none() && self.user.is_none()
    }
}

/// One row of a top list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopEntry {
    /// What is counted (country code, ASN, user name, address, sensor).
    pub key: String,
    /// A readable name for the key where there is one (country or organisation name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Events, weighted by their count.
    pub count: u64,
}

/// One hour of the series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Start of the hour, UTC.
    pub hour: Timestamp,
    /// Events in the hour.
    pub events: u64,
    /// Login attempts (`failed` + `accepted`) in the hour.
    pub attempts: u64,
    /// Successful logins in the hour.
    pub successes: u64,
}

/// The statistics of a window (`GET /api/v1/stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Events, weighted by count.
    pub events: u64,
    /// Login attempts: `failed` + `accepted`, weighted by count.
    pub attempts: u64,
    /// Successful logins.
    pub successes: u64,
    /// Events with a failure outcome.
    pub failures: u64,
    /// Events with a probe outcome.
    pub probes: u64,
    /// Distinct remote addresses.
    pub unique_ips: u64,
    /// Distinct countries of those addresses.
    pub countries: u64,
    /// Distinct addresses without a known location.
    pub unlocated_ips: u64,
    /// Time of the newest event.
    pub last_event: Option<Timestamp>,
    /// Countries by events.
    pub top_countries: Vec<TopEntry>,
    /// Networks by events.
    pub top_asns: Vec<TopEntry>,
    /// User names by events.
    pub top_users: Vec<TopEntry>,
    /// Addresses by events.
    pub top_ips: Vec<TopEntry>,
    /// Sensors by events.
    pub top_sensors: Vec<TopEntry>,
    /// Hourly series, oldest first (hours without events are absent).
    pub series: Vec<SeriesPoint>,
}

/// One located address on the map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    /// The address.
    pub ip: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Country code, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Events in the window.
    pub events: u64,
    /// Failures in the window.
    pub failures: u64,
    /// Successes in the window.
    pub successes: u64,
    /// Probes in the window.
    pub probes: u64,
    /// Newest event in the window.
    pub last_seen: Timestamp,
    /// The sensor that saw it last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// Starred by an admin.
    pub starred: bool,
}

/// An address without a location.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unlocated {
    /// The address.
    pub ip: String,
    /// Events in the window.
    pub events: u64,
    /// Newest event in the window.
    pub last_seen: Timestamp,
}

/// The map's data (`GET /api/v1/markers`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Markers {
    /// Located addresses.
    pub markers: Vec<Marker>,
    /// Addresses without a location: counted and listed, not dropped.
    pub unlocated: Vec<Unlocated>,
}

/// A user name tried by an address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserCount {
    /// The user name, exactly as logged.
    pub user: String,
    /// Events naming it.
    pub count: u64,
}

/// A sensor hit by an address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorCount {
    /// The sensor name.
    pub sensor: String,
    /// Events it saw from the address.
    pub count: u64,
}

/// Everything known about one address (`GET /api/v1/ips/{ip}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpDetail {
    /// The address.
    pub ip: String,
    /// Where it is, as far as known.
    pub geo: GeoInfo,
    /// Events, weighted by count.
    pub events: u64,
    /// Login attempts.
    pub attempts: u64,
    /// Failures.
    pub failures: u64,
    /// Successes.
    pub successes: u64,
    /// Probes.
    pub probes: u64,
    /// Events by kind.
    pub by_kind: BTreeMap<String, u64>,
    /// First event.
    pub first_seen: Timestamp,
    /// Newest event.
    pub last_seen: Timestamp,
    /// User names tried, most tried first.
    pub users: Vec<UserCount>,
    /// Sensors hit.
    pub sensors: Vec<SensorCount>,
    /// Host names of the machines that logged it.
    pub hosts: Vec<String>,
    /// Latest events, newest first.
    pub recent: Vec<StoredEvent>,
    /// Starred by an admin.
    pub starred: bool,
    /// An admin's note.
    pub note: Option<String>,
}

/// What an outside service said about an address, as cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedLookup {
    /// When the service answered.
    pub fetched_at: Timestamp,
    /// `ok` (the address is known to the service) or `not_found`.
    pub status: String,
    /// The answer (JSON), as the caller reduced it.
    pub body: String,
}

/// A stored event as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// The event id, hex.
    pub id: String,
    /// The sensor that read it.
    pub sensor: String,
    /// The event itself.
    #[serde(flatten)]
    pub event: Event,
    /// Its outcome.
    pub outcome: Outcome,
    /// Where its address is, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoInfo>,
    /// The address's total events after this one was stored (live frames only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_events: Option<u64>,
}

/// What a sensor last reported about itself: totals since its process started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SensorHealth {
    /// Log lines read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines_read: Option<u64>,
    /// Events parsed from them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// sshd lines that matched no known form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<u64>,
    /// The sensor's knockmap version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Bytes waiting in the sensor's disk spool (undelivered batches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spool_bytes: Option<u64>,
    /// Batches waiting in the sensor's disk spool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spool_batches: Option<u64>,
    /// Events the sensor dropped because its spool was full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_events: Option<u64>,
}

/// A remote sensor known to the server (its token is never stored, only the token's hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensor {
    /// The sensor's name: every event it sends is stored under it.
    pub name: String,
    /// Where its arcs land on the map.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<(f64, f64)>,
    /// When its token was created.
    pub created: Timestamp,
    /// When its token was revoked; a revoked sensor is refused.
    pub revoked_at: Option<Timestamp>,
    /// When it last sent a batch (or a heartbeat).
    pub last_seen: Option<Timestamp>,
    /// What it last reported about itself.
    pub health: SensorHealth,
}

/// What [`crate::Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Raw events deleted.
    pub events: u64,
    /// Rows of hourly aggregates deleted.
    pub rollup_rows: u64,
}
