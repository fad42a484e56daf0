//! The embedded SQLite backend (WAL mode).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_parse::{Event, Kind};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::model::*;
use crate::{Result, Store, StoreError};

mod ingest;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQL fragments classifying `kind` by outcome; kept next to [`Kind::outcome`]'s meaning.
const IS_ATTEMPT: &str = "kind IN ('failed','accepted')";
const IS_SUCCESS: &str = "kind = 'accepted'";
const IS_FAILURE: &str = "kind IN ('failed','invalid_user','pam_failure','max_attempts')";
const IS_PROBE: &str = "kind IN ('disconnect','probe','penalty')";

/// How many rows the top lists hold.
const TOP_N: i64 = 10;

/// A [`Store`] in an SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH` or `sqlite::memory:`)
    /// and applies migrations.
    pub async fn open(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // An in-memory database exists once per connection: keep exactly one.
        let max = if url.contains(":memory:") { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        MIGRATIONS.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(&self, events: &[NewEvent]) -> Result<IngestReport> {
        ingest::ingest(&self.pool, events).await
    }

    async fn stats(&self, window: &Window) -> Result<Stats> {
        let (lo, hi) = window.micros();
        let totals = sqlx::query(&format!(
            "SELECT COALESCE(SUM(count),0) AS events,
                    COALESCE(SUM(CASE WHEN {IS_ATTEMPT} THEN count END),0) AS attempts,
                    COALESCE(SUM(CASE WHEN {IS_SUCCESS} THEN count END),0) AS successes,
                    COALESCE(SUM(CASE WHEN {IS_FAILURE} THEN count END),0) AS failures,
                    COALESCE(SUM(CASE WHEN {IS_PROBE} THEN count END),0) AS probes,
                    COUNT(DISTINCT ip) AS unique_ips,
                    MAX(ts) AS last_ts
             FROM events WHERE ts >= ? AND ts < ?"
        ))
        .bind(lo)
        .bind(hi)
        .fetch_one(&self.pool)
        .await?;
        let places = sqlx::query(
            "SELECT COUNT(DISTINCT country_code) AS countries,
                    COALESCE(SUM(CASE WHEN lat IS NULL THEN 1 ELSE 0 END),0) AS unlocated
             FROM ips WHERE ip IN (SELECT ip FROM events WHERE ts >= ? AND ts < ?)",
        )
        .bind(lo)
        .bind(hi)
        .fetch_one(&self.pool)
        .await?;

        let top = |sql: String| {
            let pool = self.pool.clone();
            async move {
                let rows = sqlx::query(&sql)
                    .bind(lo)
                    .bind(hi)
                    .bind(TOP_N)
                    .fetch_all(&pool)
                    .await?;
                rows.iter().map(top_entry).collect::<Result<Vec<_>>>()
            }
        };
        let top_countries = top(
            "SELECT i.country_code AS key, MAX(i.country) AS name, SUM(e.count) AS n
             FROM events e JOIN ips i ON i.ip = e.ip
             WHERE e.ts >= ? AND e.ts < ? AND i.country_code IS NOT NULL
             GROUP BY i.country_code ORDER BY n DESC, key LIMIT ?"
                .into(),
        )
        .await?;
        let top_asns = top(
            "SELECT CAST(i.asn AS TEXT) AS key, MAX(i.org) AS name, SUM(e.count) AS n
             FROM events e JOIN ips i ON i.ip = e.ip
             WHERE e.ts >= ? AND e.ts < ? AND i.asn IS NOT NULL
             GROUP BY i.asn ORDER BY n DESC, key LIMIT ?"
                .into(),
        )
        .await?;
        let plain = |column: &str| {
            format!(
                "SELECT {column} AS key, NULL AS name, SUM(count) AS n FROM events
                 WHERE ts >= ? AND ts < ? AND {column} IS NOT NULL
                 GROUP BY {column} ORDER BY n DESC, key LIMIT ?"
            )
        };
        let top_users = top(plain("user")).await?;
        let top_ips = top(plain("ip")).await?;
        let top_sensors = top(plain("sensor")).await?;

        let series = sqlx::query(&format!(
            "SELECT (ts / 3600000000) AS hour,
                    SUM(count) AS events,
                    COALESCE(SUM(CASE WHEN {IS_ATTEMPT} THEN count END),0) AS attempts,
                    COALESCE(SUM(CASE WHEN {IS_SUCCESS} THEN count END),0) AS successes
             FROM events WHERE ts >= ? AND ts < ? GROUP BY hour ORDER BY hour"
        ))
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(SeriesPoint {
                hour: micros_to_ts(row.try_get::<i64, _>("hour")?.saturating_mul(3_600_000_000))?,
                events: count(row, "events")?,
                attempts: count(row, "attempts")?,
                successes: count(row, "successes")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

        Ok(Stats {
            events: count(&totals, "events")?,
            attempts: count(&totals, "attempts")?,
            successes: count(&totals, "successes")?,
            failures: count(&totals, "failures")?,
            probes: count(&totals, "probes")?,
            unique_ips: count(&totals, "unique_ips")?,
            countries: count(&places, "countries")?,
            unlocated_ips: count(&places, "unlocated")?,
            last_event: totals
                .try_get::<Option<i64>, _>("last_ts")?
                .map(micros_to_ts)
                .transpose()?,
            top_countries,
            top_asns,
            top_users,
            top_ips,
            top_sensors,
            series,
        })
    }

    async fn markers(&self, window: &Window) -> Result<Markers> {
        let rows = if window.is_all() {
            sqlx::query(
                "SELECT ip, lat, lon, country_code, events, failures, successes, probes,
                        last_seen, last_sensor FROM ips ORDER BY events DESC",
            )
            .fetch_all(&self.pool)
            .await?
        } else {
            let (lo, hi) = window.micros();
            sqlx::query(&format!(
                "SELECT e.ip AS ip, i.lat AS lat, i.lon AS lon, i.country_code AS country_code,
                        SUM(e.count) AS events,
                        COALESCE(SUM(CASE WHEN {IS_FAILURE} THEN e.count END),0) AS failures,
                        COALESCE(SUM(CASE WHEN {IS_SUCCESS} THEN e.count END),0) AS successes,
                        COALESCE(SUM(CASE WHEN {IS_PROBE} THEN e.count END),0) AS probes,
                        MAX(e.ts) AS last_seen, i.last_sensor AS last_sensor
                 FROM events e JOIN ips i ON i.ip = e.ip
                 WHERE e.ts >= ? AND e.ts < ?
                 GROUP BY e.ip ORDER BY events DESC"
            ))
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.pool)
            .await?
        };
        let mut markers = Markers::default();
        for row in &rows {
            let ip: String = row.try_get("ip")?;
            let events = count(row, "events")?;
            let last_seen = micros_to_ts(row.try_get("last_seen")?)?;
            match (
                row.try_get::<Option<f64>, _>("lat")?,
                row.try_get::<Option<f64>, _>("lon")?,
            ) {
                (Some(lat), Some(lon)) => markers.markers.push(Marker {
                    ip,
                    lat,
                    lon,
                    country_code: row.try_get("country_code")?,
                    events,
                    failures: count(row, "failures")?,
                    successes: count(row, "successes")?,
                    probes: count(row, "probes")?,
                    last_seen,
                    sensor: row.try_get("last_sensor")?,
                }),
                _ => markers.unlocated.push(Unlocated {
                    ip,
                    events,
                    last_seen,
                }),
            }
        }
        Ok(markers)
    }

    async fn ip_detail(&self, ip: &str, recent: u32) -> Result<Option<IpDetail>> {
        let Some(row) = sqlx::query("SELECT * FROM ips WHERE ip = ?")
            .bind(ip)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let by_kind = sqlx::query(
            "SELECT kind, SUM(count) AS n FROM events WHERE ip = ? GROUP BY kind ORDER BY kind",
        )
        .bind(ip)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<String, _>("kind")?, count(r, "n")?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
        let users = sqlx::query(
            "SELECT user, SUM(count) AS n FROM events WHERE ip = ? AND user IS NOT NULL
             GROUP BY user ORDER BY n DESC, user LIMIT 100",
        )
        .bind(ip)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(UserCount {
                user: r.try_get("user")?,
                count: count(r, "n")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let sensors = sqlx::query(
            "SELECT sensor, SUM(count) AS n FROM events WHERE ip = ?
             GROUP BY sensor ORDER BY n DESC, sensor",
        )
        .bind(ip)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(SensorCount {
                sensor: r.try_get("sensor")?,
                count: count(r, "n")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let hosts = sqlx::query(
            "SELECT DISTINCT host FROM events WHERE ip = ? AND host IS NOT NULL ORDER BY host",
        )
        .bind(ip)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<String, _>("host")?))
        .collect::<Result<Vec<_>>>()?;
        let recent = sqlx::query(&format!(
            "{EVENT_SELECT} WHERE e.ip = ? ORDER BY e.ts DESC, e.seq DESC LIMIT ?"
        ))
        .bind(ip)
        .bind(i64::from(recent))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(stored_event)
        .collect::<Result<Vec<_>>>()?;

        Ok(Some(IpDetail {
            ip: row.try_get("ip")?,
            geo: geo_columns(&row)?,
            events: count(&row, "events")?,
            attempts: count(&row, "attempts")?,
            failures: count(&row, "failures")?,
            successes: count(&row, "successes")?,
            probes: count(&row, "probes")?,
            by_kind,
            first_seen: micros_to_ts(row.try_get("first_seen")?)?,
            last_seen: micros_to_ts(row.try_get("last_seen")?)?,
            users,
            sensors,
            hosts,
            recent,
            starred: row.try_get::<i64, _>("starred")? != 0,
            note: row.try_get("note")?,
        }))
    }

    async fn recent(&self, window: &Window, limit: u32) -> Result<Vec<StoredEvent>> {
        let (lo, hi) = window.micros();
        sqlx::query(&format!(
            "{EVENT_SELECT} WHERE e.ts >= ? AND e.ts < ? ORDER BY e.ts DESC, e.seq DESC LIMIT ?"
        ))
        .bind(lo)
        .bind(hi)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(stored_event)
        .collect()
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_sensor(
        &self,
        name: &str,
        location: Option<(f64, f64)>,
        token_sha256: &[u8; 32],
    ) -> Result<Sensor> {
        let created = Timestamp::now();
        // One statement: a name is taken over only when its sensor is revoked.
        let done = sqlx::query(
            "INSERT INTO sensors (name, token_sha256, lat, lon, created) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(name) DO UPDATE SET
                token_sha256 = excluded.token_sha256, lat = excluded.lat, lon = excluded.lon,
                created = excluded.created, revoked_at = NULL, last_seen = NULL,
                lines_read = NULL, events = NULL, unmatched = NULL, version = NULL,
                spool_bytes = NULL, spool_batches = NULL, dropped_events = NULL
             WHERE sensors.revoked_at IS NOT NULL",
        )
        .bind(name)
        .bind(&token_sha256[..])
        .bind(location.map(|l| l.0))
        .bind(location.map(|l| l.1))
        .bind(created.as_microsecond())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::SensorExists(name.to_string()));
        }
        Ok(Sensor {
            name: name.to_string(),
            location,
            created: micros_to_ts(created.as_microsecond())?,
            revoked_at: None,
            last_seen: None,
            health: SensorHealth::default(),
        })
    }

    async fn list_sensors(&self) -> Result<Vec<Sensor>> {
        sqlx::query(&format!("{SENSOR_SELECT} ORDER BY name"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(sensor_row)
            .collect()
    }

    async fn revoke_sensor(&self, name: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE sensors SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL")
                .bind(Timestamp::now().as_microsecond())
                .bind(name)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sensor_for_token(&self, token_sha256: &[u8; 32]) -> Result<Option<Sensor>> {
        sqlx::query(&format!(
            "{SENSOR_SELECT} WHERE token_sha256 = ? AND revoked_at IS NULL"
        ))
        .bind(&token_sha256[..])
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(sensor_row)
        .transpose()
    }

    async fn touch_sensor(&self, name: &str, health: &SensorHealth) -> Result<()> {
        let as_i64 = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        sqlx::query(
            "UPDATE sensors SET last_seen = ?,
                lines_read = COALESCE(?, lines_read), events = COALESCE(?, events),
                unmatched = COALESCE(?, unmatched), version = COALESCE(?, version),
                spool_bytes = COALESCE(?, spool_bytes),
                spool_batches = COALESCE(?, spool_batches),
                dropped_events = COALESCE(?, dropped_events)
             WHERE name = ?",
        )
        .bind(Timestamp::now().as_microsecond())
        .bind(as_i64(health.lines_read))
        .bind(as_i64(health.events))
        .bind(as_i64(health.unmatched))
        .bind(&health.version)
        .bind(as_i64(health.spool_bytes))
        .bind(as_i64(health.spool_batches))
        .bind(as_i64(health.dropped_events))
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

const SENSOR_SELECT: &str = "SELECT name, lat, lon, created, revoked_at, last_seen, lines_read,
        events, unmatched, version, spool_bytes, spool_batches, dropped_events FROM sensors";

fn sensor_row(row: &SqliteRow) -> Result<Sensor> {
    let time = |column: &str| -> Result<Option<Timestamp>> {
        row.try_get::<Option<i64>, _>(column)?
            .map(micros_to_ts)
            .transpose()
    };
    let number = |column: &str| -> Result<Option<u64>> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .and_then(|n| u64::try_from(n).ok()))
    };
    let location = match (
        row.try_get::<Option<f64>, _>("lat")?,
        row.try_get::<Option<f64>, _>("lon")?,
    ) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        _ => None,
    };
    Ok(Sensor {
        name: row.try_get("name")?,
        location,
        created: micros_to_ts(row.try_get("created")?)?,
        revoked_at: time("revoked_at")?,
        last_seen: time("last_seen")?,
        health: SensorHealth {
            lines_read: number("lines_read")?,
            events: number("events")?,
            unmatched: number("unmatched")?,
            version: row.try_get("version")?,
            spool_bytes: number("spool_bytes")?,
            spool_batches: number("spool_batches")?,
            dropped_events: number("dropped_events")?,
        },
    })
}

const EVENT_SELECT: &str = "SELECT e.id, e.ts, e.sensor, e.host, e.pid, e.kind, e.ip, e.rhost,
        e.port, e.user, e.method, e.invalid_user, e.count, e.seq,
        i.country_code, i.country, i.city, i.lat, i.lon, i.asn, i.org
    FROM events e LEFT JOIN ips i ON i.ip = e.ip";

fn stored_event(row: &SqliteRow) -> Result<StoredEvent> {
    let kind_name: String = row.try_get("kind")?;
    let kind = Kind::from_name(&kind_name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind {kind_name:?}")))?;
    let ip = row
        .try_get::<Option<String>, _>("ip")?
        .map(|text| {
            text.parse()
                .map_err(|_| StoreError::Corrupt(format!("bad stored address {text:?}")))
        })
        .transpose()?;
    let id: Vec<u8> = row.try_get("id")?;
    let mut event = Event::new(micros_to_ts(row.try_get("ts")?)?, kind);
    event.host = row.try_get("host")?;
    event.pid = row
        .try_get::<Option<i64>, _>("pid")?
        .and_then(|p| u32::try_from(p).ok());
    event.ip = ip;
    event.rhost = row.try_get("rhost")?;
    event.port = row
        .try_get::<Option<i64>, _>("port")?
        .and_then(|p| u16::try_from(p).ok());
    event.user = row.try_get("user")?;
    event.method = row.try_get("method")?;
    event.invalid_user = row.try_get("invalid_user")?;
    event.count = u32::try_from(row.try_get::<i64, _>("count")?).unwrap_or(u32::MAX);
    let geo = geo_columns(row)?;
    let located = geo != GeoInfo::default();
    Ok(StoredEvent {
        id: id.iter().map(|b| format!("{b:02x}")).collect(),
        sensor: row.try_get("sensor")?,
        outcome: kind.outcome(),
        event,
        geo: located.then_some(geo),
        ip_events: None,
    })
}

fn geo_columns(row: &SqliteRow) -> Result<GeoInfo> {
    Ok(GeoInfo {
        country_code: row.try_get("country_code")?,
        country: row.try_get("country")?,
        city: row.try_get("city")?,
        lat: row.try_get("lat")?,
        lon: row.try_get("lon")?,
        asn: row
            .try_get::<Option<i64>, _>("asn")?
            .and_then(|a| u32::try_from(a).ok()),
        org: row.try_get("org")?,
    })
}

fn top_entry(row: &SqliteRow) -> Result<TopEntry> {
    Ok(TopEntry {
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        count: count(row, "n")?,
    })
}

/// Reads a non-negative count column.
fn count(row: &SqliteRow, column: &str) -> Result<u64> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {column}: {value}")))
}

fn micros_to_ts(micros: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(micros)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {micros}: {e}")))
}
