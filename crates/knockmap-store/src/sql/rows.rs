//! Reading columns back the same way on every backend. Each driver reports its own column
//! types (MySQL gives TEXT as a blob, PostgreSQL has no unsigned integers), so values are read
//! as the few kinds they all share and converted here.

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Kind};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::model::{Sensor, SensorHealth, StoredEvent, TopEntry};
use crate::{Result, StoreError};

/// A non-negative count column.
pub fn count(row: &AnyRow, column: &str) -> Result<u64> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {column}: {value}")))
}

/// A nullable non-negative integer column (negative values read as absent).
pub fn number(row: &AnyRow, column: &str) -> Result<Option<u64>> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .and_then(|n| u64::try_from(n).ok()))
}

/// A nullable text column, whether the driver reports it as text or as bytes.
pub fn text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    match row.try_get::<Option<String>, _>(column) {
        Ok(value) => Ok(value),
        Err(sqlx::Error::ColumnDecode { .. }) => row
            .try_get::<Option<Vec<u8>>, _>(column)?
            .map(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| StoreError::Corrupt(format!("{column} is not UTF-8")))
            })
            .transpose(),
        Err(e) => Err(e.into()),
    }
}

/// A text column that is never null.
pub fn required_text(row: &AnyRow, column: &str) -> Result<String> {
    text(row, column)?.ok_or_else(|| StoreError::Corrupt(format!("{column} is null")))
}

/// A nullable 0/1 flag column.
pub fn flag(row: &AnyRow, column: &str) -> Result<Option<bool>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(|n| n != 0))
}

/// A nullable time column (microseconds since the epoch).
pub fn time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(micros_to_ts)
        .transpose()
}

/// A time column that is never null.
pub fn required_time(row: &AnyRow, column: &str) -> Result<Timestamp> {
    micros_to_ts(row.try_get(column)?)
}

/// A timestamp from microseconds since the epoch.
pub fn micros_to_ts(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {micros}: {e}")))
}

/// A flag as stored: 0 or 1.
pub fn stored_flag(flag: bool) -> i64 {
    i64::from(flag)
}

/// The columns a [`Sensor`] is read from.
pub const SENSOR_COLUMNS: &str = "name, lat, lon, created, revoked_at, last_seen, lines_read,
        events, unmatched, version, spool_bytes, spool_batches, dropped_events";

/// A sensor row selected with [`SENSOR_COLUMNS`].
pub fn sensor(row: &AnyRow) -> Result<Sensor> {
    let location = match (
        row.try_get::<Option<f64>, _>("lat")?,
        row.try_get::<Option<f64>, _>("lon")?,
    ) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        _ => None,
    };
    Ok(Sensor {
        name: required_text(row, "name")?,
        location,
        created: required_time(row, "created")?,
        revoked_at: time(row, "revoked_at")?,
        last_seen: time(row, "last_seen")?,
        health: SensorHealth {
            lines_read: number(row, "lines_read")?,
            events: number(row, "events")?,
            unmatched: number(row, "unmatched")?,
            version: text(row, "version")?,
            spool_bytes: number(row, "spool_bytes")?,
            spool_batches: number(row, "spool_batches")?,
            dropped_events: number(row, "dropped_events")?,
        },
    })
}

/// A `kind` column.
pub fn kind(row: &AnyRow) -> Result<Kind> {
    let name = required_text(row, "kind")?;
    Kind::from_name(&name).ok_or_else(|| StoreError::Corrupt(format!("unknown kind {name:?}")))
}

/// The event columns (alias `e`) and its address's place (alias `i`), for [`stored_event`].
pub const EVENT_SELECT: &str = "SELECT e.id, e.ts, e.sensor, e.host, e.pid, e.kind, e.ip,
        e.rhost, e.port, e.user_name, e.method, e.invalid_user, e.count, e.seq,
        i.country_code, i.country, i.city, i.lat, i.lon, i.asn, i.org
    FROM events e LEFT JOIN ips i ON i.ip = e.ip";

/// An event row selected with [`EVENT_SELECT`].
pub fn stored_event(row: &AnyRow) -> Result<StoredEvent> {
    let kind_name = required_text(row, "kind")?;
    let kind = Kind::from_name(&kind_name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind {kind_name:?}")))?;
    let ip = text(row, "ip")?
        .map(|text| {
            text.parse()
                .map_err(|_| StoreError::Corrupt(format!("bad stored address {text:?}")))
        })
        .transpose()?;
    let id: Vec<u8> = row.try_get("id")?;
    let mut event = Event::new(required_time(row, "ts")?, kind);
    event.host = text(row, "host")?;
    event.pid = number(row, "pid")?.and_then(|p| u32::try_from(p).ok());
    event.ip = ip;
    event.rhost = text(row, "rhost")?;
    event.port = number(row, "port")?.and_then(|p| u16::try_from(p).ok());
    event.user = text(row, "user_name")?;
    event.method = text(row, "method")?;
    event.invalid_user = flag(row, "invalid_user")?;
    event.count = u32::try_from(count(row, "count")?).unwrap_or(u32::MAX);
    let geo = geo(row)?;
    let located = geo != GeoInfo::default();
    Ok(StoredEvent {
        id: id.iter().map(|b| format!("{b:02x}")).collect(),
        sensor: required_text(row, "sensor")?,
        outcome: kind.outcome(),
        event,
        geo: located.then_some(geo),
        ip_events: None,
    })
}

/// The place columns of an `ips` row.
pub fn geo(row: &AnyRow) -> Result<GeoInfo> {
    Ok(GeoInfo {
        country_code: text(row, "country_code")?,
        country: text(row, "country")?,
        city: text(row, "city")?,
        lat: row.try_get("lat")?,
        lon: row.try_get("lon")?,
        asn: number(row, "asn")?.and_then(|a| u32::try_from(a).ok()),
        org: text(row, "org")?,
    })
}

/// A top-list row: `k`, `name`, `n`.
pub fn top_entry(row: &AnyRow) -> Result<TopEntry> {
    Ok(TopEntry {
        key: required_text(row, "k")?,
        name: text(row, "name")?,
        count: count(row, "n")?,
    })
}
