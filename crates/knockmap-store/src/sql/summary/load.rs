//! Reading a [`Digest`] from the tables, in one snapshot with the write counter.

use std::sync::Arc;

use futures_util::TryStreamExt;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

use super::super::backend::Backend;
use super::super::generation;
use super::super::rollup::HOUR_MICROS;
use super::super::rows::{flag, number, required_text, text};
use super::digest::{Digest, Id, IpHour, NONE, RawEvent, Tally, kind_index, settle};
use crate::{Result, StoreError};

/// A read-only transaction that sees one snapshot of the database throughout.
async fn snapshot(pool: &AnyPool, b: Backend) -> Result<Transaction<'static, Any>> {
    let mut tx = pool.begin().await?;
    if b == Backend::Postgres {
        // PostgreSQL gives each statement its own snapshot unless told otherwise; SQLite's
        // WAL readers and MySQL's default isolation keep the first one.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

fn kind_of(row: &AnyRow) -> Result<u8> {
    let name = required_text(row, "kind")?;
    knockmap_parse::Kind::from_name(&name)
        .map(kind_index)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind {name:?}")))
}

fn small(row: &AnyRow, column: &str) -> Result<u32> {
    let n: i64 = row.try_get(column)?;
    u32::try_from(n).or(Ok(if n < 0 { 0 } else { u32::MAX }))
}

fn big(row: &AnyRow, column: &str) -> Result<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
}

/// Calls `f` on each row of `sql`, as the rows arrive.
async fn each_row(
    tx: &mut Transaction<'static, Any>,
    sql: &str,
    mut f: impl FnMut(&AnyRow) -> Result<()>,
) -> Result<()> {
    let mut rows = sqlx::query(sql).fetch(&mut **tx);
    while let Some(row) = rows.try_next().await? {
        f(&row)?;
    }
    Ok(())
}

/// Reads everything the digest holds.
pub async fn digest(pool: &AnyPool, b: Backend) -> Result<Digest> {
    let mut tx = snapshot(pool, b).await?;
    let mut d = Digest {
        generation: generation::read(&mut *tx).await?,
        ..Digest::default()
    };

    let sql = "SELECT ip, lat, lon, country_code, country, asn, org, last_sensor, starred,
                      failures, successes, probes, last_seen FROM ips";
    each_row(&mut tx, sql, |row| {
        let id = d.address(&required_text(row, "ip")?);
        let country = match text(row, "country_code")? {
            Some(cc) => d.country(&cc, text(row, "country")?.as_deref()),
            None => NONE,
        };
        let asn = number(row, "asn")?.and_then(|a| u32::try_from(a).ok());
        if let Some(asn) = asn {
            d.org(asn, text(row, "org")?.as_deref());
        }
        let last_sensor = match text(row, "last_sensor")? {
            Some(s) => d.sensors.intern(&s.into_boxed_str()),
            None => NONE,
        };
        let a = &mut d.addresses[id as usize];
        a.lat = row.try_get("lat")?;
        a.lon = row.try_get("lon")?;
        a.country = country;
        a.asn = asn;
        a.last_sensor = last_sensor;
        a.starred = flag(row, "starred")?.unwrap_or(false);
        a.total = Tally {
            failures: big(row, "failures")?,
            successes: big(row, "successes")?,
            probes: big(row, "probes")?,
            last_seen: row.try_get("last_seen")?,
        };
        Ok(())
    })
    .await?;

    let sql = "SELECT hour, sensor, kind, events FROM rollup_hour";
    each_row(&mut tx, sql, |row| {
        let sensor = d
            .sensors
            .intern(&required_text(row, "sensor")?.into_boxed_str());
        let kind = kind_of(row)?;
        let hour = d.hours.entry(row.try_get("hour")?).or_default();
        hour.kinds.push(((sensor, kind), big(row, "events")?));
        Ok(())
    })
    .await?;

    let sql = "SELECT hour, country_code, country, events FROM rollup_country_hour";
    each_row(&mut tx, sql, |row| {
        let name = text(row, "country")?;
        let country = d.country(&required_text(row, "country_code")?, name.as_deref());
        let hour = d.hours.entry(row.try_get("hour")?).or_default();
        hour.countries.push((country, big(row, "events")?));
        Ok(())
    })
    .await?;

    let sql = "SELECT hour, user_name, events FROM rollup_user_hour";
    each_row(&mut tx, sql, |row| {
        let user = d
            .users
            .intern(&required_text(row, "user_name")?.into_boxed_str());
        let hour = d.hours.entry(row.try_get("hour")?).or_default();
        hour.users.push((user, big(row, "events")?));
        Ok(())
    })
    .await?;

    let sql = "SELECT hour, asn, org, events FROM rollup_asn_hour";
    each_row(&mut tx, sql, |row| {
        let asn = u32::try_from(row.try_get::<i64, _>("asn")?).unwrap_or(u32::MAX);
        d.org(asn, text(row, "org")?.as_deref());
        let hour = d.hours.entry(row.try_get("hour")?).or_default();
        hour.asns.push((asn, big(row, "events")?));
        Ok(())
    })
    .await?;

    let sql = "SELECT hour, ip, failures, successes, probes, last_seen, located
               FROM rollup_ip_hour";
    each_row(&mut tx, sql, |row| {
        let ip = d.address(&required_text(row, "ip")?);
        let hour_of: i64 = row.try_get("hour")?;
        let last_seen: i64 = row.try_get("last_seen")?;
        let entry = IpHour {
            ip,
            failures: small(row, "failures")?,
            successes: small(row, "successes")?,
            probes: small(row, "probes")?,
            last: (last_seen - hour_of * HOUR_MICROS).clamp(0, HOUR_MICROS - 1) as u32,
            located: flag(row, "located")?.unwrap_or(false),
        };
        d.hours.entry(hour_of).or_default().ips.push(entry);
        Ok(())
    })
    .await?;

    let sql = "SELECT country_code, country, events FROM total_countries";
    each_row(&mut tx, sql, |row| {
        let name = text(row, "country")?;
        let country = d.country(&required_text(row, "country_code")?, name.as_deref());
        d.total_countries.insert(country, big(row, "events")?);
        Ok(())
    })
    .await?;
    each_row(
        &mut tx,
        "SELECT user_name, events FROM total_users",
        |row| {
            let user = d
                .users
                .intern(&required_text(row, "user_name")?.into_boxed_str());
            *d.total_users.entry(user).or_default() += big(row, "events")?;
            Ok(())
        },
    )
    .await?;
    each_row(&mut tx, "SELECT asn, org, events FROM total_asns", |row| {
        let asn = u32::try_from(row.try_get::<i64, _>("asn")?).unwrap_or(u32::MAX);
        d.org(asn, text(row, "org")?.as_deref());
        d.total_asns.insert(asn, big(row, "events")?);
        Ok(())
    })
    .await?;
    tx.commit().await?;

    for hour in d.hours.values_mut() {
        settle(&mut hour.kinds);
        settle(&mut hour.countries);
        settle(&mut hour.users);
        settle(&mut hour.asns);
        hour.ips.sort_unstable_by_key(|h| h.ip);
        hour.ips.shrink_to_fit();
    }
    Ok(d)
}

/// A raw event as read, before its names are numbered.
pub struct RawRow {
    ts: i64,
    sensor: String,
    kind: u8,
    ip: Option<String>,
    user: Option<String>,
    count: u32,
}

/// The raw events of one hour, read in one snapshot with the write counter.
pub struct EdgeHour {
    pub generation: i64,
    pub events: Vec<RawRow>,
}

/// Reads the raw events of `hour`.
pub async fn edge_hour(pool: &AnyPool, b: Backend, hour: i64) -> Result<EdgeHour> {
    let mut tx = snapshot(pool, b).await?;
    let generation = generation::read(&mut *tx).await?;
    let sql =
        b.sql("SELECT ts, sensor, kind, ip, user_name, count FROM events WHERE ts >= ? AND ts < ?");
    let mut events = Vec::new();
    let mut rows = sqlx::query(&sql)
        .bind(hour.saturating_mul(HOUR_MICROS))
        .bind(hour.saturating_add(1).saturating_mul(HOUR_MICROS))
        .fetch(&mut *tx);
    while let Some(row) = rows.try_next().await? {
        events.push(RawRow {
            ts: row.try_get("ts")?,
            sensor: required_text(&row, "sensor")?,
            kind: kind_of(&row)?,
            ip: text(&row, "ip")?,
            user: text(&row, "user_name")?,
            count: small(&row, "count")?,
        });
    }
    drop(rows);
    tx.commit().await?;
    Ok(EdgeHour { generation, events })
}

impl EdgeHour {
    /// The events numbered against `d`'s names.
    pub fn numbered(self, d: &mut Digest) -> Arc<Vec<RawEvent>> {
        let id = |d: &mut Digest, ip: Option<&str>| -> Id { ip.map_or(NONE, |ip| d.address(ip)) };
        let events = self
            .events
            .into_iter()
            .map(|r| RawEvent {
                ts: r.ts,
                sensor: d.sensors.intern(&r.sensor.into_boxed_str()),
                ip: id(d, r.ip.as_deref()),
                user: r.user.map_or(NONE, |u| d.users.intern(&u.into_boxed_str())),
                count: r.count,
                kind: r.kind,
            })
            .collect();
        Arc::new(events)
    }
}
