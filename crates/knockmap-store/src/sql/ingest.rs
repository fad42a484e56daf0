//! Batch ingest in a handful of statements per batch, on every backend.
//!
//! The result is the one storing each event in turn would give: the events are inserted in
//! batch order with multi-row statements, the newly stored ones are folded per address in Rust
//! exactly as per-event upserts would fold them, each address is upserted once, and each
//! event's running total is derived from its address's total after the batch.
//!
//! Where the dialects differ: SQLite and PostgreSQL learn which events are new from
//! `INSERT … ON CONFLICT DO NOTHING RETURNING id`; MySQL has no `RETURNING`, so it first reads
//! which ids are already stored. PostgreSQL and MySQL lock address rows in address order, so
//! concurrent batches cannot deadlock on them; a transient failure (deadlock, busy database)
//! retries the whole batch.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use knockmap_geo::GeoInfo;
use knockmap_parse::Outcome;
use sqlx::AnyPool;
use sqlx::any::AnyArguments;
use sqlx::{Any, Row, Transaction, query::Query};

use super::backend::Backend;
use super::generation;
use super::rollup::{Contribution, Rollups};
use super::rows::{count, stored_flag};
use crate::model::{IngestReport, NewEvent, StoredEvent};
use crate::{Result, StoreError};

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

/// Most rows per multi-row statement. With 13 bound values per event and 16 per address, a
/// full statement stays well under SQLite's limit of 32766 bound parameters (and PostgreSQL's
/// and MySQL's of 65535).
pub(super) const MAX_ROWS: usize = 1024;

const EVENT_COLUMNS: usize = 13;
const IP_COLUMNS: usize = 16;

/// Attempts at a batch that keeps failing transiently.
const ATTEMPTS: u32 = 6;

const INSERT_EVENTS: &str = "INSERT INTO events (id, ts, sensor, host, pid, kind, ip, rhost, port,
                    user_name, method, invalid_user, count) VALUES ";

const UPSERT_IPS: &str = "INSERT INTO ips (ip, first_seen, last_seen, events, attempts, failures,
                    successes, probes, country_code, country, city, lat, lon, asn, org,
                    last_sensor) VALUES ";
/// What follows the address rows: add to an existing row. SQLite and PostgreSQL evaluate every
/// `SET` expression against the row as it was; MySQL assigns left to right, so there
/// `last_sensor` must come before `last_seen`, and it does everywhere.
fn upsert_ips_tail(b: Backend) -> String {
    if b == Backend::MySql {
        return "ON DUPLICATE KEY UPDATE
            first_seen = LEAST(first_seen, VALUES(first_seen)),
            last_sensor = IF(VALUES(last_seen) >= last_seen, VALUES(last_sensor), last_sensor),
            last_seen = GREATEST(last_seen, VALUES(last_seen)),
            events = events + VALUES(events),
            attempts = attempts + VALUES(attempts),
            failures = failures + VALUES(failures),
            successes = successes + VALUES(successes),
            probes = probes + VALUES(probes),
            country_code = COALESCE(VALUES(country_code), country_code),
            country = COALESCE(VALUES(country), country),
            city = COALESCE(VALUES(city), city),
            lat = COALESCE(VALUES(lat), lat),
            lon = COALESCE(VALUES(lon), lon),
            asn = COALESCE(VALUES(asn), asn),
            org = COALESCE(VALUES(org), org)"
            .into();
    }
    format!(
        " ON CONFLICT (ip) DO UPDATE SET
            first_seen = {first_seen},
            last_sensor = CASE WHEN excluded.last_seen >= ips.last_seen
                               THEN excluded.last_sensor ELSE ips.last_sensor END,
            last_seen = {last_seen},
            events = ips.events + excluded.events,
            attempts = ips.attempts + excluded.attempts,
            failures = ips.failures + excluded.failures,
            successes = ips.successes + excluded.successes,
            probes = ips.probes + excluded.probes,
            country_code = COALESCE(excluded.country_code, ips.country_code),
            country = COALESCE(excluded.country, ips.country),
            city = COALESCE(excluded.city, ips.city),
            lat = COALESCE(excluded.lat, ips.lat),
            lon = COALESCE(excluded.lon, ips.lon),
            asn = COALESCE(excluded.asn, ips.asn),
            org = COALESCE(excluded.org, ips.org)
         RETURNING ip, events",
        first_seen = b.least("ips.first_seen", "excluded.first_seen"),
        last_seen = b.greatest("ips.last_seen", "excluded.last_seen"),
    )
}

/// What a committed batch changed: the write counter's new value and the newly stored events,
/// in batch order. Absent when nothing was stored.
pub(super) type Committed<'e> = Option<(i64, Vec<&'e NewEvent>)>;

/// Stores `events` in one transaction; see [`crate::Store::ingest`].
pub(super) async fn ingest<'e>(
    pool: &AnyPool,
    backend: Backend,
    events: &'e [NewEvent],
) -> Result<(IngestReport, Committed<'e>)> {
    let mut attempt = 1;
    loop {
        match ingest_in_chunks(pool, backend, events, MAX_ROWS).await {
            Err(StoreError::Database(e)) if attempt < ATTEMPTS && retry(backend, &e) => {
                tracing::debug!(attempt, error = %e, "retrying a batch");
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Whether a failed batch may succeed when tried again.
fn retry(backend: Backend, error: &sqlx::Error) -> bool {
    // Without RETURNING, MySQL can meet an id a concurrent batch stored after it looked.
    let raced = backend == Backend::MySql
        && matches!(error, sqlx::Error::Database(db) if db.is_unique_violation());
    raced || backend.is_transient(error)
}

/// [`ingest`] with statements of at most `max_rows` rows, tried once.
async fn ingest_in_chunks<'e>(
    pool: &AnyPool,
    backend: Backend,
    events: &'e [NewEvent],
    max_rows: usize,
) -> Result<(IngestReport, Committed<'e>)> {
    let candidates = first_of_each_id(events);
    let mut tx = pool.begin().await?;
    let inserted = if backend.has_returning() {
        insert_events_returning(&mut tx, backend, &candidates, max_rows).await?
    } else {
        insert_new_events(&mut tx, backend, &candidates, max_rows).await?
    };
    let stored: Vec<&NewEvent> = candidates
        .into_iter()
        .filter(|new| inserted.contains(&new.id.0))
        .collect();
    let mut deltas = ip_deltas(&stored);
    if backend != Backend::Sqlite {
        // One lock order for every writer. (SQLite has one writer at a time, and keeps the
        // order per-event upserts would create the rows in.)
        deltas.sort_unstable_by(|a, b| a.ip.cmp(&b.ip));
    }
    let totals = upsert_ips(&mut tx, backend, &deltas, max_rows).await?;
    let ip_texts: Vec<Option<String>> = stored
        .iter()
        .map(|new| new.event.ip.map(|ip| ip.to_string()))
        .collect();
    let mut rollups = Rollups::default();
    for (new, ip) in stored.iter().zip(&ip_texts) {
        rollups.add(Contribution::of(new, ip.as_deref()));
    }
    rollups.write(&mut tx, backend, max_rows).await?;
    let report = report(events.len(), &stored, &deltas, &totals)?;
    let generation = if stored.is_empty() {
        None
    } else {
        Some(generation::advance(&mut tx, backend).await?)
    };
    tx.commit().await?;
    Ok((report, generation.map(|g| (g, stored))))
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

/// `head` followed by `rows` placeholder tuples of `columns` values and `tail`, in `b`'s
/// placeholder syntax.
pub(super) fn multi_row_sql(
    b: Backend,
    head: &str,
    columns: usize,
    rows: usize,
    tail: &str,
) -> String {
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
    b.sql(&sql).into_owned()
}

/// Inserts the events in order, skipping stored ids; returns the ids that were not stored
/// before.
async fn insert_events_returning(
    tx: &mut Transaction<'_, Any>,
    b: Backend,
    events: &[&NewEvent],
    max_rows: usize,
) -> Result<HashSet<[u8; 16]>> {
    let mut inserted = HashSet::with_capacity(events.len());
    for (size, chunk) in chunks(events, max_rows) {
        let tail = " ON CONFLICT (id) DO NOTHING RETURNING id";
        let sql = multi_row_sql(b, INSERT_EVENTS, EVENT_COLUMNS, size, tail);
        let query = chunk.iter().fold(sqlx::query(&sql), bind_event);
        for row in query.fetch_all(&mut **tx).await? {
            inserted.insert(event_id(&row)?);
        }
    }
    Ok(inserted)
}

/// [`insert_events_returning`] without `RETURNING`: reads which ids are stored already and
/// inserts the others.
async fn insert_new_events(
    tx: &mut Transaction<'_, Any>,
    b: Backend,
    events: &[&NewEvent],
    max_rows: usize,
) -> Result<HashSet<[u8; 16]>> {
    let mut stored = HashSet::new();
    for (size, chunk) in chunks(events, max_rows) {
        let sql = b
            .sql(&format!(
                "SELECT id FROM events WHERE id IN ({})",
                vec!["?"; size].join(",")
            ))
            .into_owned();
        let query = chunk
            .iter()
            .fold(sqlx::query(&sql), |q, new| q.bind(&new.id.0[..]));
        for row in query.fetch_all(&mut **tx).await? {
            stored.insert(event_id(&row)?);
        }
    }
    let new: Vec<&NewEvent> = events
        .iter()
        .copied()
        .filter(|e| !stored.contains(&e.id.0))
        .collect();
    for (size, chunk) in chunks(&new, max_rows) {
        let sql = multi_row_sql(b, INSERT_EVENTS, EVENT_COLUMNS, size, "");
        let query = chunk.iter().fold(sqlx::query(&sql), bind_event);
        query.execute(&mut **tx).await?;
    }
    Ok(new.iter().map(|e| e.id.0).collect())
}

/// `items` in statement-sized chunks (see [`statement_sizes`]), each with its size.
pub(super) fn chunks<T>(items: &[T], max_rows: usize) -> impl Iterator<Item = (usize, &[T])> {
    let mut rest = items;
    statement_sizes(items.len(), max_rows)
        .into_iter()
        .map(move |size| {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            (size, chunk)
        })
}

fn event_id(row: &sqlx::any::AnyRow) -> Result<[u8; 16]> {
    let id: Vec<u8> = row.try_get("id")?;
    id.as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("event id of {} bytes", id.len())))
}

pub(super) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

fn bind_event<'q>(query: AnyQuery<'q>, new: &&'q NewEvent) -> AnyQuery<'q> {
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
        .bind(e.invalid_user.map(stored_flag))
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
    tx: &mut Transaction<'_, Any>,
    b: Backend,
    deltas: &[IpDelta<'_>],
    max_rows: usize,
) -> Result<HashMap<String, u64>> {
    let mut totals = HashMap::with_capacity(deltas.len());
    let tail = upsert_ips_tail(b);
    for (size, chunk) in chunks(deltas, max_rows) {
        let sql = multi_row_sql(b, UPSERT_IPS, IP_COLUMNS, size, &tail);
        let query = chunk
            .iter()
            .fold(sqlx::query(&sql), bind_delta)
            .persistent(b.caches_optional_doubles());
        let rows = if b.has_returning() {
            query.fetch_all(&mut **tx).await?
        } else {
            query.execute(&mut **tx).await?;
            let sql = b
                .sql(&format!(
                    "SELECT ip, events FROM ips WHERE ip IN ({})",
                    vec!["?"; size].join(",")
                ))
                .into_owned();
            let query = chunk
                .iter()
                .fold(sqlx::query(&sql), |q, d| q.bind(d.ip.as_str()));
            query.fetch_all(&mut **tx).await?
        };
        for row in rows {
            totals.insert(
                super::rows::required_text(&row, "ip")?,
                count(&row, "events")?,
            );
        }
    }
    Ok(totals)
}

fn bind_delta<'q>(query: AnyQuery<'q>, d: &'q IpDelta<'_>) -> AnyQuery<'q> {
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
