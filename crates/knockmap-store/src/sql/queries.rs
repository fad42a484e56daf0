//! The fixed statements of the store, rendered once for a backend.

use super::backend::Backend;
use super::rollup::HOUR_MICROS;
use super::rows::{EVENT_SELECT, SENSOR_COLUMNS};
use super::{IS_FAILURE, IS_PROBE, IS_SUCCESS};

/// Every fixed statement, in the backend's dialect.
#[derive(Debug, Clone)]
pub struct Queries {
    /// The windowed statements, one set per [`Narrowing`] (see [`Queries::windowed`]).
    windowed: Vec<Windowed>,
    /// `unique_ips, countries, unlocated` for all time, from the per-address rows.
    pub places_all: String,
    /// `ts` of the newest raw event in `[?, ?)`: one step down the time index.
    pub newest_raw: String,
    /// The top lists of the "all" window, from the all-time totals.
    pub top_all: [String; 4],
    pub markers_all: String,
    pub ip_row: String,
    pub ip_kinds: String,
    pub ip_users: String,
    pub ip_sensors: String,
    pub ip_hosts: String,
    pub ip_recent: String,
    pub recent: String,
    /// Deletes up to `?` (2nd) events with `ts < ?` (1st).
    pub prune_events: String,
    /// The same for each rollup table, by `hour`.
    pub prune_rollups: Vec<String>,
    pub set_starred: String,
    pub set_note: String,
    pub has_ip: String,
    pub lookup: String,
    pub save_lookup: String,
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
        Queries {
            windowed: Narrowing::all()
                .map(|narrowing| Windowed::new(b, narrowing))
                .collect(),
            newest_raw: sql(
                "SELECT ts FROM events WHERE ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            ),
            places_all: format!(
                "SELECT COUNT(*) AS unique_ips, COUNT(DISTINCT country_code) AS countries,
                        {unlocated} AS unlocated FROM ips",
                unlocated = b.sum("CASE WHEN lat IS NULL THEN 1 ELSE 0 END"),
            ),
            top_all: [
                "SELECT country_code AS k, country AS name, events AS n FROM total_countries
                 ORDER BY n DESC, k LIMIT ?"
                    .into(),
                format!(
                    "SELECT {asn} AS k, org AS name, events AS n FROM total_asns
                     ORDER BY n DESC, k LIMIT ?",
                    asn = b.text("asn"),
                ),
                "SELECT user_name AS k, NULL AS name, events AS n FROM total_users
                 ORDER BY n DESC, k LIMIT ?"
                    .into(),
                "SELECT ip AS k, NULL AS name, events AS n FROM ips ORDER BY n DESC, k LIMIT ?"
                    .into(),
            ]
            .map(|text| sql(&text)),
            markers_all: sql(
                "SELECT ip, lat, lon, country_code, events, failures, successes, probes,
                        last_seen, last_sensor, starred FROM ips",
            ),
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
            prune_events: sql(&b.delete_limited("events", "seq", "ts")),
            prune_rollups: [
                "rollup_hour",
                "rollup_country_hour",
                "rollup_user_hour",
                "rollup_asn_hour",
                "rollup_ip_hour",
            ]
            .iter()
            .map(|table| sql(&b.delete_limited(table, "hour", "hour")))
            .collect(),
            set_starred: sql("UPDATE ips SET starred = ? WHERE ip = ?"),
            set_note: sql("UPDATE ips SET note = ? WHERE ip = ?"),
            has_ip: sql("SELECT 1 AS seen FROM ips WHERE ip = ?"),
            lookup: sql(
                "SELECT fetched_at, status, body FROM lookups WHERE ip = ? AND service = ?",
            ),
            save_lookup: sql(&format!(
                "INSERT INTO lookups (ip, service, fetched_at, status, body) VALUES (?, ?, ?, ?, ?){}",
                b.upsert_tail(
                    "lookups",
                    &["ip", "service"],
                    &[],
                    &["fetched_at", "status", "body"],
                    &[]
                )
            )),
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

impl Queries {
    /// The windowed statements for `narrowing`.
    pub fn windowed(&self, narrowing: Narrowing) -> &Windowed {
        &self.windowed[narrowing.index()]
    }
}

/// The statements that answer a time window (statistics and the map) for one [`Narrowing`].
///
/// Each binds, in this order: the rollups' hour range, the two raw-event ranges at the
/// window's edges (see `Span`), the values of the narrowing (sensor, then country code), and
/// for the top lists their length.
#[derive(Debug, Clone)]
pub struct Windowed {
    /// `hour, kind, n`: totals and the series.
    pub by_hour_kind: String,
    /// `unique_ips, unlocated`.
    pub places: String,
    /// `countries`.
    pub countries: String,
    /// `last_ts`, the newest event.
    pub last_event: String,
    /// Top lists: `k, name, n`, most first.
    pub top_countries: String,
    pub top_asns: String,
    pub top_users: String,
    pub top_ips: String,
    pub top_sensors: String,
    /// Per-address aggregates with the address's place.
    pub markers: String,
}

/// One part of a filter that raw events are compared with, besides their time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The sensor that read the event (binds the sensor name).
    Sensor,
    /// The country its address is located in (binds the country code).
    Country,
    /// The autonomous system of its address (binds the ASN).
    Asn,
    /// The user name it names (binds the name, as stored).
    User,
}

impl Part {
    /// Every part, in the order their conditions are written and their values bound.
    pub const ALL: [Part; 4] = [Part::Sensor, Part::Country, Part::Asn, Part::User];

    /// The condition on the raw events (alias `e`). An address's country and network are
    /// where it is located now (`ips`); events without an address match neither.
    fn condition(self) -> &'static str {
        match self {
            Part::Sensor => " AND e.sensor = ?",
            Part::Country => " AND e.ip IN (SELECT ip FROM ips WHERE country_code = ?)",
            Part::Asn => " AND e.ip IN (SELECT ip FROM ips WHERE asn = ?)",
            Part::User => " AND e.user_name = ?",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Which parts of a filter are set: the shape of a filtered request, which picks its set of
/// statements. The rollups have no sensor × country, network, address or user dimensions,
/// so a narrowed set is bound with an empty hour range and answers from the raw events alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Narrowing(u8);

impl Narrowing {
    /// Every event. The rollups answer the window's whole hours.
    pub const NONE: Narrowing = Narrowing(0);

    /// Every narrowing, in the order of [`Queries::windowed`]'s sets.
    fn all() -> impl Iterator<Item = Narrowing> {
        (0..1u8 << Part::ALL.len()).map(Narrowing)
    }

    /// The narrowing of the parts for which `set` says true.
    pub fn of(set: impl Fn(Part) -> bool) -> Narrowing {
        Narrowing(
            Part::ALL
                .into_iter()
                .filter(|&part| set(part))
                .fold(0, |bits, part| bits | part.bit()),
        )
    }

    /// Whether `part` is compared (and bound).
    pub fn has(self, part: Part) -> bool {
        self.0 & part.bit() != 0
    }

    /// The index of this narrowing's set of statements.
    fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The conditions appended to the raw events' time condition, in [`Part::ALL`] order.
    fn predicate(self) -> String {
        Part::ALL
            .into_iter()
            .filter(|&part| self.has(part))
            .map(Part::condition)
            .collect()
    }
}

impl Windowed {
    /// The statements for `b`, with the raw events narrowed by `narrowing`.
    fn new(b: Backend, narrowing: Narrowing) -> Windowed {
        let sql = |text: &str| b.sql(text).into_owned();
        // Every statement binds the rollups' hour range, then the two raw-event ranges at the
        // window's edges (see `Span`), then what the narrowing compares with.
        let edges = format!(
            "((e.ts >= ? AND e.ts < ?) OR (e.ts >= ? AND e.ts < ?)){}",
            narrowing.predicate()
        );
        let hours = "hour >= ? AND hour < ?";
        let hour_of_ts = b.div("e.ts", &HOUR_MICROS.to_string());
        let top = |rolled: String, raw: String| {
            sql(&format!(
                "SELECT k, MAX(name) AS name, {n} AS n FROM ({rolled} UNION ALL {raw}) t
                 GROUP BY k ORDER BY n DESC, k LIMIT ?",
                n = b.sum("n"),
            ))
        };
        let share = |condition: &str, column: &str| {
            b.sum(&format!("CASE WHEN {condition} THEN {column} END"))
        };
        let marker_columns = "i.ip AS ip, i.lat AS lat, i.lon AS lon,
                i.country_code AS country_code, i.last_sensor AS last_sensor,
                i.starred AS starred";
        Windowed {
            by_hour_kind: sql(&format!(
                "SELECT hour, kind, {n} AS n FROM (
                    SELECT hour, kind, SUM(events) AS n FROM rollup_hour WHERE {hours}
                    GROUP BY hour, kind
                    UNION ALL
                    SELECT {hour_of_ts} AS hour, e.kind AS kind, SUM(e.count) AS n
                    FROM events e WHERE {edges} GROUP BY {hour_of_ts}, e.kind
                 ) t GROUP BY hour, kind ORDER BY hour, kind",
                n = b.sum("n"),
            )),
            places: sql(&format!(
                "SELECT COUNT(DISTINCT ip) AS unique_ips,
                        COUNT(DISTINCT CASE WHEN located = 0 THEN ip END) AS unlocated
                 FROM (
                    SELECT ip, located FROM rollup_ip_hour WHERE {hours}
                    UNION ALL
                    SELECT e.ip AS ip, CASE WHEN i.lat IS NULL THEN 0 ELSE 1 END AS located
                    FROM events e JOIN ips i ON i.ip = e.ip WHERE {edges}
                 ) t"
            )),
            countries: sql(&format!(
                "SELECT COUNT(DISTINCT k) AS countries FROM (
                    SELECT country_code AS k FROM rollup_country_hour WHERE {hours}
                    UNION ALL
                    SELECT i.country_code AS k FROM events e JOIN ips i ON i.ip = e.ip
                    WHERE {edges} AND i.country_code IS NOT NULL
                 ) t"
            )),
            last_event: sql(&format!(
                "SELECT MAX(m) AS last_ts FROM (
                    SELECT MAX(last_seen) AS m FROM rollup_ip_hour WHERE hour = (
                        SELECT MAX(hour) FROM rollup_ip_hour WHERE {hours})
                    UNION ALL
                    SELECT MAX(ts) AS m FROM events e WHERE {edges}
                 ) t"
            )),
            top_countries: top(
                format!(
                    "SELECT country_code AS k, MAX(country) AS name, SUM(events) AS n
                     FROM rollup_country_hour WHERE {hours} GROUP BY country_code"
                ),
                format!(
                    "SELECT i.country_code AS k, MAX(i.country) AS name, SUM(e.count) AS n
                     FROM events e JOIN ips i ON i.ip = e.ip
                     WHERE {edges} AND i.country_code IS NOT NULL GROUP BY i.country_code"
                ),
            ),
            top_asns: top(
                format!(
                    "SELECT {asn} AS k, MAX(org) AS name, SUM(events) AS n
                     FROM rollup_asn_hour WHERE {hours} GROUP BY asn",
                    asn = b.text("asn"),
                ),
                format!(
                    "SELECT {asn} AS k, MAX(i.org) AS name, SUM(e.count) AS n
                     FROM events e JOIN ips i ON i.ip = e.ip
                     WHERE {edges} AND i.asn IS NOT NULL GROUP BY i.asn",
                    asn = b.text("i.asn"),
                ),
            ),
            top_users: top(
                format!(
                    "SELECT MAX(user_name) AS k, NULL AS name, SUM(events) AS n
                     FROM rollup_user_hour WHERE {hours} GROUP BY user_key"
                ),
                format!(
                    "SELECT e.user_name AS k, NULL AS name, SUM(e.count) AS n FROM events e
                     WHERE {edges} AND e.user_name IS NOT NULL GROUP BY e.user_name"
                ),
            ),
            top_ips: top(
                format!(
                    "SELECT ip AS k, NULL AS name, SUM(events) AS n
                     FROM rollup_ip_hour WHERE {hours} GROUP BY ip"
                ),
                format!(
                    "SELECT e.ip AS k, NULL AS name, SUM(e.count) AS n FROM events e
                     WHERE {edges} AND e.ip IS NOT NULL GROUP BY e.ip"
                ),
            ),
            top_sensors: top(
                format!(
                    "SELECT sensor AS k, NULL AS name, SUM(events) AS n
                     FROM rollup_hour WHERE {hours} GROUP BY sensor"
                ),
                format!(
                    "SELECT e.sensor AS k, NULL AS name, SUM(e.count) AS n FROM events e
                     WHERE {edges} GROUP BY e.sensor"
                ),
            ),
            markers: sql(&format!(
                "SELECT {marker_columns}, {events} AS events, {failures} AS failures,
                        {successes} AS successes, {probes} AS probes, MAX(t.last_seen) AS last_seen
                 FROM (
                    SELECT ip, SUM(events) AS events, SUM(failures) AS failures,
                           SUM(successes) AS successes, SUM(probes) AS probes,
                           MAX(last_seen) AS last_seen
                    FROM rollup_ip_hour WHERE {hours} GROUP BY ip
                    UNION ALL
                    SELECT e.ip AS ip, SUM(e.count) AS events,
                           {raw_failures} AS failures, {raw_successes} AS successes,
                           {raw_probes} AS probes, MAX(e.ts) AS last_seen
                    FROM events e WHERE {edges} AND e.ip IS NOT NULL GROUP BY e.ip
                 ) t JOIN ips i ON i.ip = t.ip
                 GROUP BY i.ip",
                events = b.sum("t.events"),
                failures = b.sum("t.failures"),
                successes = b.sum("t.successes"),
                probes = b.sum("t.probes"),
                raw_failures = share(&IS_FAILURE.replace("kind", "e.kind"), "e.count"),
                raw_successes = share(&IS_SUCCESS.replace("kind", "e.kind"), "e.count"),
                raw_probes = share(&IS_PROBE.replace("kind", "e.kind"), "e.count"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(w: &Windowed) -> [&str; 10] {
        [
            &w.by_hour_kind,
            &w.places,
            &w.countries,
            &w.last_event,
            &w.markers,
            &w.top_countries,
            &w.top_asns,
            &w.top_users,
            &w.top_ips,
            &w.top_sensors,
        ]
    }

    #[test]
    fn a_narrowing_binds_its_values_after_the_span_and_before_a_top_lists_length() {
        let q = Queries::new(Backend::Sqlite);
        for narrowing in Narrowing::all() {
            let extra = Part::ALL.iter().filter(|&&p| narrowing.has(p)).count();
            for (i, sql) in statements(q.windowed(narrowing)).into_iter().enumerate() {
                let length = usize::from(i >= 5);
                assert_eq!(sql.matches('?').count(), 6 + extra + length, "{sql}");
            }
        }
        let q = Queries::new(Backend::Postgres);
        for sql in statements(q.windowed(Narrowing::of(|_| true))) {
            assert!(sql.contains("e.ts < $6)) AND e.sensor = $7 AND"), "{sql}");
            assert!(sql.contains("country_code = $8) AND"), "{sql}");
            assert!(sql.contains("asn = $9) AND e.user_name = $10"), "{sql}");
        }
        let user_only = Narrowing::of(|p| p == Part::User);
        for sql in statements(q.windowed(user_only)) {
            assert!(sql.contains("e.ts < $6)) AND e.user_name = $7"), "{sql}");
        }
        for sql in statements(q.windowed(Narrowing::NONE)) {
            assert!(
                !sql.contains("e.sensor = $")
                    && !sql.contains("e.ip IN")
                    && !sql.contains("e.user_name = $"),
                "{sql}"
            );
        }
    }
}
