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
    /// Whether the address has coordinates.
    pub located: bool,
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
            located: new.geo.lat.is_some() && new.geo.lon.is_some(),
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
    located: bool,
}

/// A batch's additions to every aggregate table, keyed (and so written) in key order: one
/// lock order for all writers.
#[derive(Debug, Default)]
pub struct Rollups<'a> {
    /// (hour, sensor, kind) → events.
    hours: BTreeMap<(i64, &'a str, &'static str), i64>,
    /// (hour, country code) → (country name, events).
    countries: BTreeMap<(i64, &'a str), (Option<&'a str>, i64)>,
    /// (hour, user key) → (user name, events).
    users: BTreeMap<(i64, [u8; 16]), (&'a str, i64)>,
    /// (hour, ASN) → (organisation, events).
    asns: BTreeMap<(i64, u32), (Option<&'a str>, i64)>,
    /// (hour, address) → totals.
    ips: BTreeMap<(i64, &'a str), IpHour>,
    total_countries: BTreeMap<&'a str, (Option<&'a str>, i64)>,
    total_users: BTreeMap<[u8; 16], (&'a str, i64)>,
    total_asns: BTreeMap<u32, (Option<&'a str>, i64)>,
}

/// Adds `n` to a named counter, keeping the latest name that is known.
fn add_named<K: Ord, N: Copy>(
    map: &mut BTreeMap<K, (N, i64)>,
    key: K,
    name: N,
    n: i64,
    prefer: fn(N, N) -> N,
) {
    let slot = map.entry(key).or_insert((name, 0));
    slot.0 = prefer(name, slot.0);
    slot.1 += n;
}

fn latest<'a>(new: Option<&'a str>, old: Option<&'a str>) -> Option<&'a str> {
    new.or(old)
}

fn same<'a>(new: &'a str, _old: &'a str) -> &'a str {
    new
}

impl<'a> Rollups<'a> {
    /// Adds one stored event.
    pub fn add(&mut self, c: Contribution<'a>) {
        let hour = c.ts.div_euclid(HOUR_MICROS);
        let n = c.count;
        *self
            .hours
            .entry((hour, c.sensor, c.kind.as_str()))
            .or_default() += n;
        if let Some(cc) = c.country_code {
            add_named(&mut self.countries, (hour, cc), c.country, n, latest);
            add_named(&mut self.total_countries, cc, c.country, n, latest);
        }
        if let Some(user) = c.user {
            let key = user_key(user);
            add_named(&mut self.users, (hour, key), user, n, same);
            add_named(&mut self.total_users, key, user, n, same);
        }
        if let Some(asn) = c.asn {
            add_named(&mut self.asns, (hour, asn), c.org, n, latest);
            add_named(&mut self.total_asns, asn, c.org, n, latest);
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
            slot.located |= c.located;
        }
    }

    /// Adds everything to the stored aggregates.
    pub async fn write(
        &self,
        tx: &mut Transaction<'_, Any>,
        b: Backend,
        max_rows: usize,
    ) -> Result<()> {
        let up = Upsert { b, max_rows };
        let hours: Vec<_> = self.hours.iter().collect();
        up.run(
            tx,
            "rollup_hour",
            &["hour", "sensor", "kind"],
            &["events"],
            &[],
            &[],
            &hours,
            |q, ((hour, sensor, kind), n)| q.bind(*hour).bind(*sensor).bind(*kind).bind(**n),
        )
        .await?;
        let countries: Vec<_> = self.countries.iter().collect();
        up.run(
            tx,
            "rollup_country_hour",
            &["hour", "country_code"],
            &["events"],
            &["country"],
            &[],
            &countries,
            |q, ((hour, cc), (name, n))| q.bind(*hour).bind(*cc).bind(*n).bind(*name),
        )
        .await?;
        let users: Vec<_> = self.users.iter().collect();
        up.run(
            tx,
            "rollup_user_hour",
            &["hour", "user_key"],
            &["events"],
            &[],
            &["user_name"],
            &users,
            |q, ((hour, key), (user, n))| q.bind(*hour).bind(&key[..]).bind(*n).bind(*user),
        )
        .await?;
        let asns: Vec<_> = self.asns.iter().collect();
        up.run(
            tx,
            "rollup_asn_hour",
            &["hour", "asn"],
            &["events"],
            &["org"],
            &[],
            &asns,
            |q, ((hour, asn), (org, n))| q.bind(*hour).bind(i64::from(*asn)).bind(*n).bind(*org),
        )
        .await?;
        let ips: Vec<_> = self.ips.iter().collect();
        up.run(
            tx,
            "rollup_ip_hour",
            &["hour", "ip"],
            &["events", "failures", "successes", "probes"],
            &[],
            &["last_seen", "located"],
            &ips,
            |q, ((hour, ip), h)| {
                q.bind(*hour)
                    .bind(*ip)
                    .bind(h.events)
                    .bind(h.failures)
                    .bind(h.successes)
                    .bind(h.probes)
                    .bind(h.last_seen)
                    .bind(rows::stored_flag(h.located))
            },
        )
        .await?;
        let countries: Vec<_> = self.total_countries.iter().collect();
        up.run(
            tx,
            "total_countries",
            &["country_code"],
            &["events"],
            &["country"],
            &[],
            &countries,
            |q, (cc, (name, n))| q.bind(**cc).bind(*n).bind(*name),
        )
        .await?;
        let users: Vec<_> = self.total_users.iter().collect();
        up.run(
            tx,
            "total_users",
            &["user_key"],
            &["events"],
            &[],
            &["user_name"],
            &users,
            |q, (key, (user, n))| q.bind(&key[..]).bind(*n).bind(*user),
        )
        .await?;
        let asns: Vec<_> = self.total_asns.iter().collect();
        up.run(
            tx,
            "total_asns",
            &["asn"],
            &["events"],
            &["org"],
            &[],
            &asns,
            |q, (asn, (org, n))| q.bind(i64::from(**asn)).bind(*n).bind(*org),
        )
        .await
    }
}

/// Multi-row upserts into one aggregate table.
struct Upsert {
    b: Backend,
    max_rows: usize,
}

impl Upsert {
    /// Upserts `rows`: each binds its `key` columns, then the `add` columns, then the `latest`
    /// columns (new value unless NULL), then the `keep` columns (set on insert only; for
    /// names that are a function of the key).
    #[allow(clippy::too_many_arguments)]
    async fn run<T>(
        &self,
        tx: &mut Transaction<'_, Any>,
        table: &str,
        key: &[&str],
        add: &[&str],
        latest: &[&str],
        keep: &[&str],
        rows: &[T],
        bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
    ) -> Result<()> {
        let columns: Vec<&str> = [key, add, latest, keep].concat();
        let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        // Only the per-address hours keep a newest time and whether it was ever located.
        let greatest: &[&str] = if columns.contains(&"last_seen") {
            &["last_seen", "located"]
        } else {
            &[]
        };
        let tail = self.b.upsert_tail(table, key, add, latest, greatest);
        for (size, chunk) in chunks(rows, self.max_rows) {
            let sql = multi_row_sql(self.b, &head, columns.len(), size, &tail);
            let query = chunk.iter().fold(sqlx::query(&sql), &bind);
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
                i.country_code, i.country, i.asn, i.org, i.lat, i.lon
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
                row.try_get::<Option<f64>, _>("lat")?.is_some()
                    && row.try_get::<Option<f64>, _>("lon")?.is_some(),
            ));
        }
        let mut rollups = Rollups::default();
        for (ts, sensor, kind, ip, user, count, cc, country, asn, org, located) in &owned {
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
                located: *located,
            });
        }
        rollups.write(&mut tx, b, super::ingest::MAX_ROWS).await?;
    }
    tx.commit().await?;
    Ok(())
}
