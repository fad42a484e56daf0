//! Batch ingest for SQLite in a handful of statements per batch.
//!
//! The result is the one storing each event in turn would give: the events are inserted in
//! batch order with multi-row `INSERT … RETURNING id`, the newly stored ones are folded per
//! address in Rust exactly as per-event upserts would fold them, each address is upserted once,
//! and each event's running total is derived from its address's total after the batch.

use std::collections::{HashMap, HashSet};

use knockmap_geo::GeoInfo;
use knockmap_parse::Outcome;
use sqlx::sqlite::{SqliteArguments, SqlitePool};
use sqlx::{Row, Sqlite, Transaction, query::Query};

use super::count;
use crate::model::{IngestReport, NewEvent, StoredEvent};
use crate::{Result, StoreError};

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

/// Most rows per multi-row statement. With 13 bound values per event and 16 per address, a
/// full statement stays well under SQLite's limit of 32766 bound parameters.
const MAX_ROWS: usize = 1024;

const EVENT_COLUMNS: usize = 13;
const IP_COLUMNS: usize = 16;

const INSERT_EVENTS: &str = "INSERT INTO events (id, ts, sensor, host, pid, kind, ip, rhost, port,
                    user, method, invalid_user, count) VALUES ";
const INSERT_EVENTS_TAIL: &str = " ON CONFLICT(id) DO NOTHING RETURNING id";

const UPSERT_IPS: &str = "INSERT INTO ips (ip, first_seen, last_seen, events, attempts, failures,
                    successes, probes, country_code, country, city, lat, lon, asn, org,
                    last_sensor) VALUES ";
// `last_sensor` reads the old `last_seen`: SQLite evaluates every SET expression against the
// row as it was before the update.
const UPSERT_IPS_TAIL: &str = " ON CONFLICT(ip) DO UPDATE SET
            first_seen = MIN(first_seen, excluded.first_seen),
            last_sensor = CASE WHEN excluded.last_seen >= last_seen
                               THEN excluded.last_sensor ELSE last_sensor END,
            last_seen = MAX(last_seen, excluded.last_seen),
            events = events + excluded.events,
            attempts = attempts + excluded.attempts,
            failures = failures + excluded.failures,
            successes = successes + excluded.successes,
            probes = probes + excluded.probes,
            country_code = COALESCE(excluded.country_code, country_code),
            country = COALESCE(excluded.country, country),
            city = COALESCE(excluded.city, city),
            lat = COALESCE(excluded.lat, lat),
            lon = COALESCE(excluded.lon, lon),
            asn = COALESCE(excluded.asn, asn),
            org = COALESCE(excluded.org, org)
         RETURNING ip, events";

/// Stores `events` in one transaction; see [`crate::Store::ingest`].
pub(super) async fn ingest(pool: &SqlitePool, events: &[NewEvent]) -> Result<IngestReport> {
    ingest_in_chunks(pool, events, MAX_ROWS).await
}

/// [`ingest`] with statements of at most `max_rows` rows.
async fn ingest_in_chunks(
    pool: &SqlitePool,
    events: &[NewEvent],
    max_rows: usize,
) -> Result<IngestReport> {
    let candidates = first_of_each_id(events);
    let mut tx = pool.begin().await?;
    let inserted = insert_events(&mut tx, &candidates, max_rows).await?;
    let stored: Vec<&NewEvent> = candidates
        .into_iter()
        .filter(|new| inserted.contains(&new.id.0))
        .collect();
    let deltas = ip_deltas(&stored);
    let totals = upsert_ips(&mut tx, &deltas, max_rows).await?;
    let report = report(events.len(), &stored, &deltas, &totals)?;
    tx.commit().await?;
    Ok(report)
}

/// The events whose id does not occur earlier in the batch, in batch order. A repeated id can
/// never be stored: its first occurrence either is stored or was stored before.
fn first_of_each_id(events: &[NewEvent]) -> Vec<&NewEvent> {
    let mut seen = HashSet::with_capacity(events.len());
    events.iter().filter(|new| seen.insert(new.id.0)).collect()
}

/// Splits `len` rows into statement sizes: full statements of `max_rows`, then the remainder
/// in descending powers of two, so only a few distinct statement texts are ever prepared.
fn statement_sizes(len: usize, max_rows: usize) -> Vec<usize> {
    let mut sizes = vec![max_rows; len / max_rows];
    let remainder = len % max_rows;
    let mut bit = remainder.checked_next_power_of_two().unwrap_or(0);
    while bit > 0 {
        if remainder & bit != 0 {
            sizes.push(bit);
        }
        bit >>= 1;
    }
    sizes
}

/// `head` followed by `rows` placeholder tuples of `columns` values and `tail`.
fn multi_row_sql(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let tuple = format!("({})", vec!["?"; columns].join(","));
    let mut sql = String::with_capacity(head.len() + rows * (tuple.len() + 1) + tail.len());
    sql.push_str(head);
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str(&tuple);
    }
    sql.push_str(tail);
    sql
}

/// Inserts the events in order; returns the ids that were not stored before.
async fn insert_events(
    tx: &mut Transaction<'_, Sqlite>,
    events: &[&NewEvent],
    max_rows: usize,
) -> Result<HashSet<[u8; 16]>> {
    let mut inserted = HashSet::with_capacity(events.len());
    let mut rest = events;
    for size in statement_sizes(events.len(), max_rows) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let sql = multi_row_sql(INSERT_EVENTS, EVENT_COLUMNS, size, INSERT_EVENTS_TAIL);
        let query = chunk.iter().fold(sqlx::query(&sql), bind_event);
        for row in query.fetch_all(&mut **tx).await? {
            let id: &[u8] = row.try_get("id")?;
            let id = id
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("event id of {} bytes", id.len())))?;
            inserted.insert(id);
        }
    }
    Ok(inserted)
}

type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

fn bind_event<'q>(query: SqliteQuery<'q>, new: &&'q NewEvent) -> SqliteQuery<'q> {
    let e = &new.event;
    query
        .bind(&new.id.0[..])
        .bind(e.ts.as_microsecond())
        .bind(&new.sensor)
        .bind(&e.host)
        .bind(e.pid.map(i64::from))
        .bind(e.kind.as_str())
        .bind(e.ip.map(|ip| ip.to_string()))
        .bind(&e.rhost)
        .bind(e.port.map(i64::from))
        .bind(&e.user)
        .bind(&e.method)
        .bind(e.invalid_user)
        .bind(i64::from(e.count))
}

/// What one address's newly stored events add to its `ips` row, folded in batch order the way
/// successive per-event upserts would fold them.
#[derive(Debug)]
struct IpDelta<'a> {
    ip: String,
    first_seen: i64,
    last_seen: i64,
    /// The sensor of the last event in batch order at `last_seen`.
    last_sensor: &'a str,
    events: i64,
    attempts: i64,
    failures: i64,
    successes: i64,
    probes: i64,
    geo: LatestGeo<'a>,
}

impl<'a> IpDelta<'a> {
    fn new(ip: String, new: &'a NewEvent) -> IpDelta<'a> {
        let ts = new.event.ts.as_microsecond();
        IpDelta {
            ip,
            first_seen: ts,
            last_seen: ts,
            last_sensor: &new.sensor,
            events: 0,
            attempts: 0,
            failures: 0,
            successes: 0,
            probes: 0,
            geo: LatestGeo::default(),
        }
    }

    fn add(&mut self, new: &'a NewEvent) {
        let e = &new.event;
        let ts = e.ts.as_microsecond();
        self.first_seen = self.first_seen.min(ts);
        if ts >= self.last_seen {
            self.last_seen = ts;
            self.last_sensor = &new.sensor;
        }
        let n = i64::from(e.count);
        let share = |yes: bool| if yes { n } else { 0 };
        let outcome = e.outcome();
        self.events += n;
        self.attempts += share(e.kind.is_attempt());
        self.failures += share(outcome == Outcome::Failure);
        self.successes += share(outcome == Outcome::Success);
        self.probes += share(outcome == Outcome::Probe);
        self.geo.update(&new.geo);
    }
}

/// Each geo column's latest non-null value, as `COALESCE(excluded.x, x)` keeps it.
#[derive(Debug, Default)]
struct LatestGeo<'a> {
    country_code: Option<&'a str>,
    country: Option<&'a str>,
    city: Option<&'a str>,
    lat: Option<f64>,
    lon: Option<f64>,
    asn: Option<u32>,
    org: Option<&'a str>,
}

impl<'a> LatestGeo<'a> {
    fn update(&mut self, g: &'a GeoInfo) {
        self.country_code = g.country_code.as_deref().or(self.country_code);
        self.country = g.country.as_deref().or(self.country);
        self.city = g.city.as_deref().or(self.city);
        self.lat = g.lat.or(self.lat);
        self.lon = g.lon.or(self.lon);
        self.asn = g.asn.or(self.asn);
        self.org = g.org.as_deref().or(self.org);
    }
}

/// The stored events' contributions per address, in order of each address's first event (the
/// order per-event upserts would create their rows in).
fn ip_deltas<'a>(stored: &[&'a NewEvent]) -> Vec<IpDelta<'a>> {
    let mut deltas: Vec<IpDelta<'a>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for new in stored {
        let Some(ip) = new.event.ip else { continue };
        let ip = ip.to_string();
        let at = match index.get(&ip) {
            Some(&at) => at,
            None => {
                index.insert(ip.clone(), deltas.len());
                deltas.push(IpDelta::new(ip, new));
                deltas.len() - 1
            }
        };
        deltas[at].add(new);
    }
    deltas
}

/// Adds each delta to its address's row; returns each address's event total after the batch.
async fn upsert_ips(
    tx: &mut Transaction<'_, Sqlite>,
    deltas: &[IpDelta<'_>],
    max_rows: usize,
) -> Result<HashMap<String, u64>> {
    let mut totals = HashMap::with_capacity(deltas.len());
    let mut rest = deltas;
    for size in statement_sizes(deltas.len(), max_rows) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let sql = multi_row_sql(UPSERT_IPS, IP_COLUMNS, size, UPSERT_IPS_TAIL);
        let query = chunk.iter().fold(sqlx::query(&sql), bind_delta);
        for row in query.fetch_all(&mut **tx).await? {
            totals.insert(row.try_get("ip")?, count(&row, "events")?);
        }
    }
    Ok(totals)
}

fn bind_delta<'q>(query: SqliteQuery<'q>, d: &'q IpDelta<'_>) -> SqliteQuery<'q> {
    let g = &d.geo;
    query
        .bind(&d.ip)
        .bind(d.first_seen)
        .bind(d.last_seen)
        .bind(d.events)
        .bind(d.attempts)
        .bind(d.failures)
        .bind(d.successes)
        .bind(d.probes)
        .bind(g.country_code)
        .bind(g.country)
        .bind(g.city)
        .bind(g.lat)
        .bind(g.lon)
        .bind(g.asn.map(i64::from))
        .bind(g.org)
        .bind(d.last_sensor)
}

/// The report of a batch of `batch_len` events of which `stored` were newly stored. Each
/// event's `ip_events` is its address's total before the batch plus the counts of that
/// address's stored events up to and including it.
fn report(
    batch_len: usize,
    stored: &[&NewEvent],
    deltas: &[IpDelta<'_>],
    totals: &HashMap<String, u64>,
) -> Result<IngestReport> {
    let mut running = running_totals(deltas, totals)?;
    let stored = stored
        .iter()
        .map(|new| {
            let ip_events = match new.event.ip {
                Some(ip) => Some(advance(&mut running, &ip.to_string(), new.event.count)?),
                None => None,
            };
            Ok(stored_event(new, ip_events))
        })
        .collect::<Result<Vec<_>>>()?;
    let accepted = stored.len() as u64;
    Ok(IngestReport {
        accepted,
        duplicates: batch_len as u64 - accepted,
        stored,
    })
}

/// Each address's event total before the batch.
fn running_totals<'a>(
    deltas: &'a [IpDelta<'_>],
    totals: &HashMap<String, u64>,
) -> Result<HashMap<&'a str, u64>> {
    deltas
        .iter()
        .map(|d| {
            let after = totals
                .get(&d.ip)
                .ok_or_else(|| StoreError::Corrupt(format!("no total returned for {}", d.ip)))?;
            let before = u64::try_from(d.events)
                .ok()
                .and_then(|added| after.checked_sub(added))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "{} has {after} events after adding {}",
                        d.ip, d.events
                    ))
                })?;
            Ok((d.ip.as_str(), before))
        })
        .collect()
}

/// Adds `count` to `ip`'s running total and returns the new total.
fn advance(running: &mut HashMap<&str, u64>, ip: &str, count: u32) -> Result<u64> {
    let total = running
        .get_mut(ip)
        .ok_or_else(|| StoreError::Corrupt(format!("no running total for {ip}")))?;
    *total += u64::from(count);
    Ok(*total)
}

fn stored_event(new: &NewEvent, ip_events: Option<u64>) -> StoredEvent {
    let located = new.geo.lat.is_some() || new.geo.country_code.is_some();
    StoredEvent {
        id: new.id.to_string(),
        sensor: new.sensor.clone(),
        event: new.event.clone(),
        outcome: new.event.outcome(),
        geo: located.then(|| new.geo.clone()),
        ip_events,
    }
}
