//! The straightforward per-event ingest: two statements per event. Kept as the reference the
//! batch path must match.

use knockmap_parse::Outcome;
use sqlx::AnyPool;
use sqlx::{Any, Transaction};

use crate::Result;
use crate::model::{IngestReport, NewEvent, StoredEvent};
use crate::sql::rows::count;

/// Stores `events` one at a time, in one transaction.
pub(super) async fn ingest(pool: &AnyPool, events: &[NewEvent]) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    let mut tx = pool.begin().await?;
    for new in events {
        if !insert_event(&mut tx, new).await? {
            report.duplicates += 1;
            continue;
        }
        report.accepted += 1;
        let ip_events = match new.event.ip {
            Some(_) => Some(upsert_ip(&mut tx, new).await?),
            None => None,
        };
        let located = new.geo.lat.is_some() || new.geo.country_code.is_some();
        report.stored.push(StoredEvent {
            id: new.id.to_string(),
            sensor: new.sensor.clone(),
            event: new.event.clone(),
            outcome: new.event.outcome(),
            geo: located.then(|| new.geo.clone()),
            ip_events,
        });
    }
    tx.commit().await?;
    Ok(report)
}

/// Inserts one event; `false` when its id was already stored.
async fn insert_event(tx: &mut Transaction<'_, Any>, new: &NewEvent) -> Result<bool> {
    let query = sqlx::query(
        "INSERT INTO events (id, ts, sensor, host, pid, kind, ip, rhost, port, user_name, method,
                             invalid_user, count)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO NOTHING",
    );
    // The same values, bound the same way, as the batch path.
    let done = super::bind_event(query, &new).execute(&mut **tx).await?;
    Ok(done.rows_affected() == 1)
}

/// Adds one stored event to its address's totals; returns the address's new event total.
async fn upsert_ip(tx: &mut Transaction<'_, Any>, new: &NewEvent) -> Result<u64> {
    let e = &new.event;
    let n = i64::from(e.count);
    let share = |yes: bool| if yes { n } else { 0 };
    let outcome = e.outcome();
    let ts = e.ts.as_microsecond();
    let g = &new.geo;
    let row = sqlx::query(
        "INSERT INTO ips (ip, first_seen, last_seen, events, attempts, failures, successes, probes,
                          country_code, country, city, lat, lon, asn, org, last_sensor)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(ip) DO UPDATE SET
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
         RETURNING events",
    )
    .bind(e.ip.map(|ip| ip.to_string()))
    .bind(ts)
    .bind(ts)
    .bind(n)
    .bind(share(e.kind.is_attempt()))
    .bind(share(outcome == Outcome::Failure))
    .bind(share(outcome == Outcome::Success))
    .bind(share(outcome == Outcome::Probe))
    .bind(&g.country_code)
    .bind(&g.country)
    .bind(&g.city)
    .bind(g.lat)
    .bind(g.lon)
    .bind(g.asn.map(i64::from))
    .bind(&g.org)
    .bind(&new.sensor)
    .fetch_one(&mut **tx)
    .await?;
    count(&row, "events")
}
