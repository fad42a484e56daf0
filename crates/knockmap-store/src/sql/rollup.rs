//! The hourly aggregates (`rollup_*` tables): folded from each batch's newly stored events and
//! added to the stored rows in the batch's transaction, so they always agree with `events`.

use std::collections::BTreeMap;

use knockmap_parse::{Kind, Outcome};
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::ingest::{AnyQuery, chunks, multi_row_sql};
use super::rows;
use crate::Result;
use crate::model::NewEvent;

/// Microseconds in an hour: `hour` columns are `ts` divided by this.
pub const HOUR_MICROS: i64 = 3_600_000_000;

/// What one stored event contributes, whatever it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Contribution<'a> {
    pub ts: i64,
    pub sensor: &'a str,
    pub kind: Kind,
    pub ip: Option<&'a str>,
    pub user: Option<&'a str>,
    pub count: i64,
    pub country_code: Option<&'a str>,
    pub country: Option<&'a str>,
    pub asn: Option<u32>,
    pub org: Option<&'a str>,
}

impl<'a> Contribution<'a> {
    /// The contribution of an event being ingested; `ip` is its address as text.
    pub fn of(new: &'a NewEvent, ip: Option<&'a str>) -> Contribution<'a> {
        Contribution {
            ts: new.event.ts.as_microsecond(),
            sensor: &new.sensor,
            kind: new.event.kind,
            ip,
            user: new.event.user.as_deref(),
            count: i64::from(new.event.count),
            country_code: new.geo.country_code.as_deref(),
            country: new.geo.country.as_deref(),
            asn: new.geo.asn,
            org: new.geo.org.as_deref(),
        }
    }
}

/// The key of a user name in `rollup_user_hour`: long names cannot be keys on every backend.
pub fn user_key(user: &str) -> [u8; 16] {
    let digest = Sha256::digest(user.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

#[derive(Debug, Default)]
struct IpHour {
    events: i64,
    failures: i64,
    successes: i64,
    probes: i64,
    last_seen: i64,
}

/// A `rollup_hour` key: hour, sensor, country code (`""` when unknown), kind.
type HourKey<'a> = (i64, &'a str, &'a str, &'static str);

/// A batch's additions to every rollup table, keyed (and so written) in key order: one lock
/// order for all writers.
#[derive(Debug, Default)]
pub struct Rollups<'a> {
    /// Events and the country's name.
    hours: BTreeMap<HourKey<'a>, (i64, Option<&'a str>)>,
    users: BTreeMap<(i64, [u8; 16]), (&'a str, i64)>,
    asns: BTreeMap<(i64, u32), (Option<&'a str>, i64)>,
    ips: BTreeMap<(i64, &'a str), IpHour>,
}

impl<'a> Rollups<'a> {
    /// Adds one stored event.
    pub fn add(&mut self, c: Contribution<'a>) {
        let hour = c.ts.div_euclid(HOUR_MICROS);
        let n = c.count;
        let key = (
            hour,
            c.sensor,
            c.country_code.unwrap_or(""),
            c.kind.as_str(),
        );
        let slot = self.hours.entry(key).or_insert((0, None));
        slot.0 += n;
        slot.1 = c.country.or(slot.1);
        if let Some(user) = c.user {
            self.users
                .entry((hour, user_key(user)))
                .or_insert((user, 0))
                .1 += n;
        }
        if let Some(asn) = c.asn {
            let slot = self.asns.entry((hour, asn)).or_insert((None, 0));
            slot.0 = c.org.or(slot.0);
            slot.1 += n;
        }
        if let Some(ip) = c.ip {
            let slot = self.ips.entry((hour, ip)).or_insert_with(|| IpHour {
                last_seen: c.ts,
                ..IpHour::default()
            });
            let share = |yes: bool| if yes { n } else { 0 };
            let outcome = c.kind.outcome();
            slot.events += n;
            slot.failures += share(outcome == Outcome::Failure);
            slot.successes += share(outcome == Outcome::Success);
            slot.probes += share(outcome == Outcome::Probe);
            slot.last_seen = slot.last_seen.max(c.ts);
        }
    }

    /// Adds everything to the stored rollups.
    pub async fn write(
        &self,
        tx: &mut Transaction<'_, Any>,
        b: Backend,
        max_rows: usize,
    ) -> Result<()> {
        let hours: Vec<_> = self.hours.iter().collect();
        let sql = |table: &str, columns: &[&str], rows: usize, tail: &str| {
            let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
            multi_row_sql(b, &head, columns.len(), rows, tail)
        };
        let columns = [
            "hour",
            "sensor",
            "country_code",
            "kind",
            "events",
            "country",
        ];
        let tail = b.upsert_tail(
            "rollup_hour",
            &["hour", "sensor", "country_code", "kind"],
            &["events"],
            &["country"],
            &[],
        );
        for (size, chunk) in chunks(&hours, max_rows) {
            let text = sql("rollup_hour", &columns, size, &tail);
            let query = chunk.iter().fold(
                sqlx::query(&text),
                |q: AnyQuery<'_>, ((hour, sensor, cc, kind), (n, country))| {
                    q.bind(*hour)
                        .bind(*sensor)
                        .bind(*cc)
                        .bind(*kind)
                        .bind(*n)
                        .bind(*country)
                },
            );
            query.execute(&mut **tx).await?;
        }

        let users: Vec<_> = self.users.iter().collect();
        let columns = ["hour", "user_key", "user_name", "events"];
        let tail = b.upsert_tail(
            "rollup_user_hour",
            &["hour", "user_key"],
            &["events"],
            &[],
            &[],
        );
        for (size, chunk) in chunks(&users, max_rows) {
            let text = sql("rollup_user_hour", &columns, size, &tail);
            let query = chunk.iter().fold(
                sqlx::query(&text),
                |q: AnyQuery<'_>, ((hour, key), (user, n))| {
                    q.bind(*hour).bind(&key[..]).bind(*user).bind(*n)
                },
            );
            query.execute(&mut **tx).await?;
        }

        let asns: Vec<_> = self.asns.iter().collect();
        let columns = ["hour", "asn", "org", "events"];
        let tail = b.upsert_tail(
            "rollup_asn_hour",
            &["hour", "asn"],
            &["events"],
            &["org"],
            &[],
        );
        for (size, chunk) in chunks(&asns, max_rows) {
            let text = sql("rollup_asn_hour", &columns, size, &tail);
            let query = chunk.iter().fold(
                sqlx::query(&text),
                |q: AnyQuery<'_>, ((hour, asn), (org, n))| {
                    q.bind(*hour).bind(i64::from(*asn)).bind(*org).bind(*n)
                },
            );
            query.execute(&mut **tx).await?;
        }

        let ips: Vec<_> = self.ips.iter().collect();
        let columns = [
            "hour",
            "ip",
            "events",
            "failures",
            "successes",
            "probes",
            "last_seen",
        ];
        let tail = b.upsert_tail(
            "rollup_ip_hour",
            &["hour", "ip"],
            &["events", "failures", "successes", "probes"],
            &[],
            &["last_seen"],
        );
        for (size, chunk) in chunks(&ips, max_rows) {
            let text = sql("rollup_ip_hour", &columns, size, &tail);
            let query =
                chunk
                    .iter()
                    .fold(sqlx::query(&text), |q: AnyQuery<'_>, ((hour, ip), h)| {
                        q.bind(*hour)
                            .bind(*ip)
                            .bind(h.events)
                            .bind(h.failures)
                            .bind(h.successes)
                            .bind(h.probes)
                            .bind(h.last_seen)
                    });
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// Events per page when folding stored events into empty rollups.
const BACKFILL_PAGE: i64 = 20_000;

/// Fills the rollups from the stored events when they are empty but events exist: a database
/// from before the rollups. One transaction, so an interrupted fill is redone in full.
pub async fn backfill(pool: &sqlx::AnyPool, b: Backend) -> Result<()> {
    let has_rollups = sqlx::query("SELECT 1 AS one FROM rollup_hour LIMIT 1")
        .fetch_optional(pool)
        .await?
        .is_some();
    let has_events = sqlx::query("SELECT 1 AS one FROM events LIMIT 1")
        .fetch_optional(pool)
        .await?
        .is_some();
    if has_rollups || !has_events {
        return Ok(());
    }
    tracing::info!("folding stored events into the hourly aggregates (once)");
    let page_sql = b.sql(
        "SELECT e.seq, e.ts, e.sensor, e.kind, e.ip, e.user_name, e.count,
                i.country_code, i.country, i.asn, i.org
         FROM events e LEFT JOIN ips i ON i.ip = e.ip
         WHERE e.seq > ? ORDER BY e.seq LIMIT ?",
    );
    let mut tx = pool.begin().await?;
    let mut after = i64::MIN;
    loop {
        let page = sqlx::query(&page_sql)
            .bind(after)
            .bind(BACKFILL_PAGE)
            .fetch_all(&mut *tx)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.try_get("seq")?;
        let mut owned = Vec::with_capacity(page.len());
        for row in &page {
            let kind_name = rows::required_text(row, "kind")?;
            let kind = Kind::from_name(&kind_name)
                .ok_or_else(|| crate::StoreError::Corrupt(format!("unknown kind {kind_name:?}")))?;
            owned.push((
                row.try_get::<i64, _>("ts")?,
                rows::required_text(row, "sensor")?,
                kind,
                rows::text(row, "ip")?,
                rows::text(row, "user_name")?,
                row.try_get::<i64, _>("count")?,
                rows::text(row, "country_code")?,
                rows::text(row, "country")?,
                rows::number(row, "asn")?.and_then(|a| u32::try_from(a).ok()),
                rows::text(row, "org")?,
            ));
        }
        let mut rollups = Rollups::default();
        for (ts, sensor, kind, ip, user, count, cc, country, asn, org) in &owned {
            rollups.add(Contribution {
                ts: *ts,
                sensor,
                kind: *kind,
                ip: ip.as_deref(),
                user: user.as_deref(),
                count: *count,
                country_code: cc.as_deref(),
                country: country.as_deref(),
                asn: *asn,
                org: org.as_deref(),
            });
        }
        rollups.write(&mut tx, b, super::ingest::MAX_ROWS).await?;
    }
    tx.commit().await?;
    Ok(())
}
