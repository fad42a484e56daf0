//! The fixed statements of the store, rendered once for a backend.

use super::backend::Backend;
use super::rows::{EVENT_SELECT, SENSOR_COLUMNS};
use super::{IS_ATTEMPT, IS_FAILURE, IS_PROBE, IS_SUCCESS};

/// Every fixed statement, in the backend's dialect.
#[derive(Debug, Clone)]
pub struct Queries {
    pub stats_totals: String,
    pub stats_places: String,
    pub top_countries: String,
    pub top_asns: String,
    pub top_users: String,
    pub top_ips: String,
    pub top_sensors: String,
    pub series: String,
    pub markers_all: String,
    pub markers_window: String,
    pub ip_row: String,
    pub ip_kinds: String,
    pub ip_users: String,
    pub ip_sensors: String,
    pub ip_hosts: String,
    pub ip_recent: String,
    pub recent: String,
    pub set_starred: String,
    pub set_note: String,
    pub ping: String,
    pub renew_sensor: String,
    pub insert_sensor: String,
    pub list_sensors: String,
    pub revoke_sensor: String,
    pub sensor_for_token: String,
    pub touch_sensor: String,
}

impl Queries {
    /// The statements for `b`.
    pub fn new(b: Backend) -> Queries {
        let sql = |text: &str| b.sql(text).into_owned();
        let top_place = |key: &str, name: &str| {
            sql(&format!(
                "SELECT {key} AS k, MAX({name}) AS name, {n} AS n
                 FROM events e JOIN ips i ON i.ip = e.ip
                 WHERE e.ts >= ? AND e.ts < ? AND {key} IS NOT NULL
                 GROUP BY {key} ORDER BY n DESC, k LIMIT ?",
                n = b.sum("e.count"),
            ))
        };
        let top_column = |column: &str| {
            sql(&format!(
                "SELECT {column} AS k, NULL AS name, {n} AS n FROM events
                 WHERE ts >= ? AND ts < ? AND {column} IS NOT NULL
                 GROUP BY {column} ORDER BY n DESC, k LIMIT ?",
                n = b.sum("count"),
            ))
        };
        let share = |condition: &str, column: &str| {
            b.sum(&format!("CASE WHEN {condition} THEN {column} END"))
        };
        Queries {
            stats_totals: sql(&format!(
                "SELECT {events} AS events, {attempts} AS attempts, {successes} AS successes,
                        {failures} AS failures, {probes} AS probes,
                        COUNT(DISTINCT ip) AS unique_ips, MAX(ts) AS last_ts
                 FROM events WHERE ts >= ? AND ts < ?",
                events = b.sum("count"),
                attempts = share(IS_ATTEMPT, "count"),
                successes = share(IS_SUCCESS, "count"),
                failures = share(IS_FAILURE, "count"),
                probes = share(IS_PROBE, "count"),
            )),
            stats_places: sql(&format!(
                "SELECT COUNT(DISTINCT country_code) AS countries, {unlocated} AS unlocated
                 FROM ips WHERE ip IN (SELECT ip FROM events WHERE ts >= ? AND ts < ?)",
                unlocated = b.sum("CASE WHEN lat IS NULL THEN 1 ELSE 0 END"),
            )),
            top_countries: top_place("i.country_code", "i.country"),
            top_asns: top_place(&b.text("i.asn"), "i.org"),
            top_users: top_column("user_name"),
            top_ips: top_column("ip"),
            top_sensors: top_column("sensor"),
            series: sql(&format!(
                "SELECT {hour} AS hour, {events} AS events, {attempts} AS attempts,
                        {successes} AS successes
                 FROM events WHERE ts >= ? AND ts < ? GROUP BY {hour} ORDER BY hour",
                hour = b.div("ts", "3600000000"),
                events = b.sum("count"),
                attempts = share(IS_ATTEMPT, "count"),
                successes = share(IS_SUCCESS, "count"),
            )),
            markers_all: sql(
                "SELECT ip, lat, lon, country_code, events, failures, successes, probes,
                        last_seen, last_sensor, starred FROM ips ORDER BY events DESC, ip",
            ),
            markers_window: sql(&format!(
                "SELECT i.ip AS ip, i.lat AS lat, i.lon AS lon, i.country_code AS country_code,
                        {events} AS events, {failures} AS failures, {successes} AS successes,
                        {probes} AS probes, MAX(e.ts) AS last_seen,
                        i.last_sensor AS last_sensor, i.starred AS starred
                 FROM events e JOIN ips i ON i.ip = e.ip
                 WHERE e.ts >= ? AND e.ts < ?
                 GROUP BY i.ip ORDER BY events DESC, ip",
                events = b.sum("e.count"),
                failures = share(IS_FAILURE, "e.count"),
                successes = share(IS_SUCCESS, "e.count"),
                probes = share(IS_PROBE, "e.count"),
            )),
            ip_row: sql("SELECT * FROM ips WHERE ip = ?"),
            ip_kinds: sql(&format!(
                "SELECT kind, {n} AS n FROM events WHERE ip = ? GROUP BY kind ORDER BY kind",
                n = b.sum("count"),
            )),
            ip_users: sql(&format!(
                "SELECT user_name, {n} AS n FROM events WHERE ip = ? AND user_name IS NOT NULL
                 GROUP BY user_name ORDER BY n DESC, user_name LIMIT 100",
                n = b.sum("count"),
            )),
            ip_sensors: sql(&format!(
                "SELECT sensor, {n} AS n FROM events WHERE ip = ?
                 GROUP BY sensor ORDER BY n DESC, sensor",
                n = b.sum("count"),
            )),
            ip_hosts: sql(
                "SELECT DISTINCT host FROM events WHERE ip = ? AND host IS NOT NULL ORDER BY host",
            ),
            ip_recent: sql(&format!(
                "{EVENT_SELECT} WHERE e.ip = ? ORDER BY e.ts DESC, e.seq DESC LIMIT ?"
            )),
            recent: sql(&format!(
                "{EVENT_SELECT} WHERE e.ts >= ? AND e.ts < ? ORDER BY e.ts DESC, e.seq DESC LIMIT ?"
            )),
            set_starred: sql("UPDATE ips SET starred = ? WHERE ip = ?"),
            set_note: sql("UPDATE ips SET note = ? WHERE ip = ?"),
            ping: "SELECT 1".into(),
            // A name is taken over only when its sensor is revoked.
            renew_sensor: sql(
                "UPDATE sensors SET token_sha256 = ?, lat = ?, lon = ?, created = ?,
                    revoked_at = NULL, last_seen = NULL, lines_read = NULL, events = NULL,
                    unmatched = NULL, version = NULL, spool_bytes = NULL,
                    spool_batches = NULL, dropped_events = NULL
                 WHERE name = ? AND revoked_at IS NOT NULL",
            ),
            insert_sensor: sql(
                "INSERT INTO sensors (token_sha256, lat, lon, created, name) VALUES (?, ?, ?, ?, ?)",
            ),
            list_sensors: format!("SELECT {SENSOR_COLUMNS} FROM sensors ORDER BY name"),
            revoke_sensor: sql(
                "UPDATE sensors SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            ),
            sensor_for_token: sql(&format!(
                "SELECT {SENSOR_COLUMNS} FROM sensors WHERE token_sha256 = ? AND revoked_at IS NULL"
            )),
            touch_sensor: sql("UPDATE sensors SET last_seen = ?,
                    lines_read = COALESCE(?, lines_read), events = COALESCE(?, events),
                    unmatched = COALESCE(?, unmatched), version = COALESCE(?, version),
                    spool_bytes = COALESCE(?, spool_bytes),
                    spool_batches = COALESCE(?, spool_batches),
                    dropped_events = COALESCE(?, dropped_events)
                 WHERE name = ?"),
        }
    }
}
