//! The [`Store`] over SQL: one implementation for SQLite, PostgreSQL and MariaDB/MySQL. The
//! SQL text is shared; [`Backend`] supplies what the dialects write differently.

use std::borrow::Cow;
use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::AnyPool;
use sqlx::Row;

use knockmap_parse::{Kind, Outcome};

use crate::model::*;
use crate::{MarkerColumns, Result, Store, StoreError};

mod backend;
mod generation;
mod ingest;
mod nul;
mod queries;
mod rollup;
pub(crate) mod rows;
mod summary;

pub use backend::Backend;
use queries::{Narrowing, Part, Queries, Windowed};
use rows::{
    count, flag, micros_to_ts, required_text, required_time, stored_event, stored_flag, text, time,
    top_entry,
};
use summary::{Change, Digest, Lookup, Summary};

/// SQL fragments classifying `kind` by outcome; kept next to [`knockmap_parse::Kind::outcome`]'s
/// meaning.
const IS_SUCCESS: &str = "kind = 'accepted'";
const IS_FAILURE: &str = "kind IN ('failed','invalid_user','pam_failure','max_attempts')";
const IS_PROBE: &str = "kind IN ('disconnect','probe','penalty')";

/// Rows deleted per statement when pruning.
const PRUNE_STEP: i64 = 10_000;

/// How many rows the top lists hold.
const TOP_N: i64 = 10;

/// A [`Store`] in an SQL database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    sql: Queries,
    summary: std::sync::Arc<Summary>,
}

impl SqlStore {
    /// Connects to the database at `url` (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`,
    /// `mysql://…`), creating an SQLite file if needed, and applies the backend's migrations.
    /// A database whose schema is newer than this binary is refused.
    pub async fn open(url: &str) -> Result<SqlStore> {
        let backend = Backend::from_url(url)?;
        let pool = backend.connect(url).await?;
        let migrator = backend.migrator();
        if let Err(error) = migrator.run(&pool).await {
            return Err(match error {
                sqlx::migrate::MigrateError::VersionMissing(found) => StoreError::NewerSchema {
                    found,
                    known: migrator.iter().map(|m| m.version).max().unwrap_or(0),
                },
                other => other.into(),
            });
        }
        rollup::backfill(&pool, backend).await?;
        Ok(SqlStore {
            pool,
            backend,
            sql: Queries::new(backend),
            summary: Default::default(),
        })
    }

    /// The connection pool, for tests that reach under the store.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs a bounded `DELETE` (binding `bound`, then the step size) until it deletes fewer
    /// rows than a step; returns the rows deleted.
    async fn delete_in_steps(&self, sql: &str, bound: i64) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(sql)
                .bind(bound)
                .bind(PRUNE_STEP)
                .execute(&self.pool)
                .await?;
            deleted += done.rows_affected();
            if done.rows_affected() < PRUNE_STEP as u64 {
                return Ok(deleted);
            }
        }
    }

    /// [`Store::stats`] answered by SQL statements. Unfiltered windows read the hourly
    /// rollups for their whole hours (all time: the running totals); filtered ones read the
    /// raw events of the whole window.
    pub(crate) async fn stats_from_sql(&self, window: &Window, filter: &Filter) -> Result<Stats> {
        let scope = Scope::of(window, filter);
        let sql = self.sql.windowed(scope.narrowing());
        let all = scope.reads_totals(window);
        let (totals, series) = self.totals_and_series(&scope, &sql.by_hour_kind).await?;
        let (unique_ips, countries, unlocated_ips) = self.places(&scope, sql, all).await?;
        let last_event = self.newest_event(window, &scope, &sql.last_event).await?;
        let [top_countries, top_asns, top_users, top_ips, top_sensors] =
            self.top_lists(&scope, sql, all).await?;
        Ok(Stats {
            events: totals.events,
            attempts: totals.attempts,
            successes: totals.successes,
            failures: totals.failures,
            probes: totals.probes,
            unique_ips,
            countries,
            unlocated_ips,
            last_event,
            top_countries,
            top_asns,
            top_users,
            top_ips,
            top_sensors,
            series,
        })
    }

    /// Event totals and the hourly series of a scope, from `by_hour_kind`.
    async fn totals_and_series(
        &self,
        scope: &Scope<'_>,
        by_hour_kind: &str,
    ) -> Result<(KindTotals, Vec<SeriesPoint>)> {
        let mut totals = KindTotals::default();
        let mut series: Vec<SeriesPoint> = Vec::new();
        let rows = scope
            .bind(sqlx::query(by_hour_kind))
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            let hour: i64 = row.try_get("hour")?;
            let kind = rows::kind(row)?;
            let n = count(row, "n")?;
            totals.add(kind, n);
            let start = micros_to_ts(hour.saturating_mul(rollup::HOUR_MICROS))?;
            if series.last().is_none_or(|p| p.hour != start) {
                series.push(SeriesPoint {
                    hour: start,
                    events: 0,
                    attempts: 0,
                    successes: 0,
                });
            }
            if let Some(point) = series.last_mut() {
                point.events += n;
                if kind.is_attempt() {
                    point.attempts += n;
                }
                if kind.outcome() == Outcome::Success {
                    point.successes += n;
                }
            }
        }
        Ok((totals, series))
    }

    /// `(unique_ips, countries, unlocated_ips)` of a scope; `all` reads the per-address rows.
    async fn places(
        &self,
        scope: &Scope<'_>,
        sql: &Windowed,
        all: bool,
    ) -> Result<(u64, u64, u64)> {
        if all {
            let row = sqlx::query(&self.sql.places_all)
                .fetch_one(&self.pool)
                .await?;
            return Ok((
                count(&row, "unique_ips")?,
                count(&row, "countries")?,
                count(&row, "unlocated")?,
            ));
        }
        let row = scope
            .bind(sqlx::query(&sql.places))
            .fetch_one(&self.pool)
            .await?;
        let countries = scope
            .bind(sqlx::query(&sql.countries))
            .fetch_one(&self.pool)
            .await?;
        Ok((
            count(&row, "unique_ips")?,
            count(&countries, "countries")?,
            count(&row, "unlocated")?,
        ))
    }

    /// The newest event of a scope: from the raw events of the whole window (an index
    /// lookup), and from the rollups for hours whose raw events were pruned.
    async fn newest_event(
        &self,
        window: &Window,
        scope: &Scope<'_>,
        last_event: &str,
    ) -> Result<Option<Timestamp>> {
        let (lo, hi) = window.micros();
        let span = Span {
            hours: scope.span.hours,
            edges: [(lo, hi), (0, 0)],
        };
        let row = scope
            .bind_filter(span.bind(sqlx::query(last_event)))
            .fetch_one(&self.pool)
            .await?;
        time(&row, "last_ts")
    }

    /// The five top lists of a scope (countries, networks, users, addresses, sensors); `all`
    /// reads the all-time totals for the first four.
    async fn top_lists(
        &self,
        scope: &Scope<'_>,
        sql: &Windowed,
        all: bool,
    ) -> Result<[Vec<TopEntry>; 5]> {
        let mut tops = Vec::with_capacity(5);
        let windowed = [
            &sql.top_countries,
            &sql.top_asns,
            &sql.top_users,
            &sql.top_ips,
            &sql.top_sensors,
        ];
        for (i, windowed) in windowed.into_iter().enumerate() {
            // Sensors are few, their hours are cheap: they have no all-time statement.
            let query = match self.sql.top_all.get(i) {
                Some(total) if all => sqlx::query(total),
                _ => scope.bind(sqlx::query(windowed)),
            };
            let rows = query.bind(TOP_N).fetch_all(&self.pool).await?;
            tops.push(rows.iter().map(top_entry).collect::<Result<Vec<_>>>()?);
        }
        <[Vec<TopEntry>; 5]>::try_from(tops).map_err(|_| StoreError::Corrupt("top lists".into()))
    }

    /// [`Store::markers`] answered by SQL statements: from the per-address rows for all time
    /// unfiltered, else as [`SqlStore::stats_from_sql`] reads a window.
    pub(crate) async fn markers_from_sql(
        &self,
        window: &Window,
        filter: &Filter,
    ) -> Result<Markers> {
        let scope = Scope::of(window, filter);
        let rows = if scope.reads_totals(window) {
            sqlx::query(&self.sql.markers_all)
                .fetch_all(&self.pool)
                .await?
        } else {
            scope
                .bind(sqlx::query(&self.sql.windowed(scope.narrowing()).markers))
                .fetch_all(&self.pool)
                .await?
        };
        let mut markers = Markers::default();
        for row in &rows {
            let ip = required_text(row, "ip")?;
            let events = count(row, "events")?;
            let last_seen = required_time(row, "last_seen")?;
            match (
                row.try_get::<Option<f64>, _>("lat")?,
                row.try_get::<Option<f64>, _>("lon")?,
            ) {
                (Some(lat), Some(lon)) => markers.markers.push(Marker {
                    ip,
                    lat,
                    lon,
                    country_code: text(row, "country_code")?,
                    events,
                    failures: count(row, "failures")?,
                    successes: count(row, "successes")?,
                    probes: count(row, "probes")?,
                    last_seen,
                    sensor: text(row, "last_sensor")?,
                    starred: flag(row, "starred")?.unwrap_or(false),
                }),
                _ => markers.unlocated.push(Unlocated {
                    ip,
                    events,
                    last_seen,
                }),
            }
        }
        // Most events first, then by address; sorted here, where it is cheaper than in SQL
        // and the same on every backend.
        markers
            .markers
            .sort_unstable_by(|a, b| b.events.cmp(&a.events).then_with(|| a.ip.cmp(&b.ip)));
        markers
            .unlocated
            .sort_unstable_by(|a, b| b.events.cmp(&a.events).then_with(|| a.ip.cmp(&b.ip)));
        Ok(markers)
    }

    /// Answers from the in-memory summary when it is current (after reading the raw events
    /// of the window's partial hours it lacks); `None` when the SQL statements must answer.
    async fn ask_summary<T>(
        &self,
        window: &Window,
        answer: impl FnOnce(&Digest, &Span) -> Result<T>,
    ) -> Result<Option<T>> {
        if !self.summary.enabled() {
            return Ok(None);
        }
        let span = Span::of(window);
        let generation = generation::current(&self.pool).await?;
        let edges = summary::answer::edge_hours(&span);
        let missing = self.summary.missing_edges(&edges);
        if !missing.is_empty() {
            self.summary
                .load_edges(&self.pool, self.backend, &missing, &edges)
                .await?;
        }
        match self
            .summary
            .answer(generation, &edges, |d| answer(d, &span))
        {
            Lookup::Answered(result) => result.map(Some),
            Lookup::Unavailable { reload } => {
                if reload {
                    self.reload_summary_in_background();
                }
                Ok(None)
            }
        }
    }

    /// The answers from the summary alone (`None` when it cannot answer), for tests.
    #[cfg(test)]
    pub(crate) async fn summary_answers(
        &self,
        window: &Window,
    ) -> Result<Option<(Stats, Markers, MarkerColumns)>> {
        let newest_raw = self.newest_raw_event(window).await?;
        let all = window.is_all();
        self.ask_summary(window, |d, span| {
            Ok((
                summary::answer::stats(d, span, all, newest_raw)?,
                summary::answer::markers(d, span, all)?,
                summary::answer::marker_columns(d, span, all),
            ))
        })
        .await
    }

    /// Loads the summary again without holding up the query that found it behind.
    fn reload_summary_in_background(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            tracing::info!("the database changed under the statistics summary: reloading it");
            if let Err(error) = store.summary.load(&store.pool, store.backend).await {
                tracing::warn!(%error, "reloading the statistics summary failed");
            }
        });
    }

    /// The newest raw event in the window (one step down the time index).
    async fn newest_raw_event(&self, window: &Window) -> Result<Option<i64>> {
        let (lo, hi) = window.micros();
        let row = sqlx::query(&self.sql.newest_raw)
            .bind(lo)
            .bind(hi)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("ts")).transpose()?)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// How a window is answered: its whole hours from the hourly rollups, the partial hours at
/// its two edges from the raw events. Statements bind the hour range, then both edge ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    /// Rollup hours `[from, to)`.
    hours: (i64, i64),
    /// Raw event time ranges `[from, to)` in microseconds; empty ranges match nothing.
    edges: [(i64, i64); 2],
}

impl Span {
    fn of(window: &Window) -> Span {
        const H: i64 = rollup::HOUR_MICROS;
        let since = window.since.map(|t| t.as_microsecond());
        let until = window.until.map(|t| t.as_microsecond());
        let first = since.map_or(i64::MIN, |lo| {
            lo.div_euclid(H) + i64::from(lo.rem_euclid(H) != 0)
        });
        let end = until.map_or(i64::MAX, |hi| hi.div_euclid(H));
        if first >= end {
            // No whole hour inside: all from raw events.
            return Span::raw(window);
        }
        Span {
            hours: (first, end),
            edges: [
                since.map_or((0, 0), |lo| (lo, first * H)),
                until.map_or((0, 0), |hi| (end * H, hi)),
            ],
        }
    }

    /// The whole window from the raw events, no hour from the rollups.
    fn raw(window: &Window) -> Span {
        Span {
            hours: (0, 0),
            edges: [window.micros(), (0, 0)],
        }
    }

    fn bind<'q>(&self, query: ingest::AnyQuery<'q>) -> ingest::AnyQuery<'q> {
        let [(a, b), (c, d)] = self.edges;
        query
            .bind(self.hours.0)
            .bind(self.hours.1)
            .bind(a)
            .bind(b)
            .bind(c)
            .bind(d)
    }
}

/// What a windowed statement ([`queries::Windowed`]) binds: the span, then the values of the
/// filter (sensor name, country code, ASN, user name), each only when set.
#[derive(Debug)]
struct Scope<'f> {
    span: Span,
    sensor: Option<&'f str>,
    /// Upper case, as codes are stored.
    country: Option<String>,
    asn: Option<i64>,
    /// NULs escaped, as names are stored.
    user: Option<Cow<'f, str>>,
}

impl<'f> Scope<'f> {
    /// The scope of `filter` in `window`. The rollups have no sensor × country (nor
    /// per-sensor user or address) dimensions, so a filtered window is read from the raw
    /// events alone. Empty filter values do not filter.
    fn of(window: &Window, filter: &'f Filter) -> Scope<'f> {
        let sensor = filter.sensor.as_deref().filter(|s| !s.is_empty());
        let country = filter
            .country
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::to_ascii_uppercase);
        let asn = filter.asn.map(i64::from);
        let user = filter
            .user
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(nul::escaped);
        let mut scope = Scope {
            span: Span::raw(window),
            sensor,
            country,
            asn,
            user,
        };
        if scope.narrowing() == Narrowing::NONE {
            scope.span = Span::of(window);
        }
        scope
    }

    /// Which statements answer this scope.
    fn narrowing(&self) -> Narrowing {
        Narrowing::of(|part| match part {
            Part::Sensor => self.sensor.is_some(),
            Part::Country => self.country.is_some(),
            Part::Asn => self.asn.is_some(),
            Part::User => self.user.is_some(),
        })
    }

    /// Whether the all-time running totals answer `window`: they count every event, so only
    /// an unfiltered request for all time may read them.
    fn reads_totals(&self, window: &Window) -> bool {
        window.is_all() && self.narrowing() == Narrowing::NONE
    }

    /// Binds the span, then the filter's values.
    fn bind<'q>(&'q self, query: ingest::AnyQuery<'q>) -> ingest::AnyQuery<'q> {
        self.bind_filter(self.span.bind(query))
    }

    /// Binds the filter's values alone (after a span bound by the caller), in the order of
    /// [`Part::ALL`].
    fn bind_filter<'q>(&'q self, mut query: ingest::AnyQuery<'q>) -> ingest::AnyQuery<'q> {
        if let Some(sensor) = self.sensor {
            query = query.bind(sensor);
        }
        if let Some(country) = &self.country {
            query = query.bind(country.as_str());
        }
        if let Some(asn) = self.asn {
            query = query.bind(asn);
        }
        if let Some(user) = &self.user {
            query = query.bind(user.as_ref());
        }
        query
    }
}

/// Event totals split by outcome.
#[derive(Debug, Default)]
struct KindTotals {
    events: u64,
    attempts: u64,
    successes: u64,
    failures: u64,
    probes: u64,
}

impl KindTotals {
    fn add(&mut self, kind: Kind, n: u64) {
        self.events += n;
        if kind.is_attempt() {
            self.attempts += n;
        }
        match kind.outcome() {
            Outcome::Success => self.successes += n,
            Outcome::Failure => self.failures += n,
            Outcome::Probe => self.probes += n,
        }
    }
}

/// A count or size as the databases store it (a signed 64-bit integer).
fn stored_count(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

#[async_trait]
impl Store for SqlStore {
    async fn ingest(&self, events: &[NewEvent]) -> Result<IngestReport> {
        let events = nul::escaped_events(events);
        let (report, committed) = ingest::ingest(&self.pool, self.backend, &events).await?;
        if let Some((generation, stored)) = committed
            && self.summary.enabled()
        {
            let stored = stored.into_iter().cloned().collect();
            self.summary.apply(generation, Change::Events(stored));
        }
        Ok(report)
    }

    async fn stats(&self, window: &Window, filter: &Filter) -> Result<Stats> {
        if filter.is_none() && self.summary.enabled() {
            let newest_raw = self.newest_raw_event(window).await?;
            let all = window.is_all();
            let answer = |d: &Digest, span: &Span| summary::answer::stats(d, span, all, newest_raw);
            if let Some(stats) = self.ask_summary(window, answer).await? {
                return Ok(stats);
            }
        }
        self.stats_from_sql(window, filter).await
    }

    async fn markers(&self, window: &Window, filter: &Filter) -> Result<Markers> {
        if filter.is_none() {
            let all = window.is_all();
            let answer = |d: &Digest, span: &Span| summary::answer::markers(d, span, all);
            if let Some(markers) = self.ask_summary(window, answer).await? {
                return Ok(markers);
            }
        }
        self.markers_from_sql(window, filter).await
    }

    async fn marker_columns(&self, window: &Window, filter: &Filter) -> Result<MarkerColumns> {
        if filter.is_none() {
            let all = window.is_all();
            let answer =
                |d: &Digest, span: &Span| Ok(summary::answer::marker_columns(d, span, all));
            if let Some(columns) = self.ask_summary(window, answer).await? {
                return Ok(columns);
            }
        }
        Ok(MarkerColumns::from(
            &self.markers_from_sql(window, filter).await?,
        ))
    }

    async fn load_summary(&self) -> Result<()> {
        self.summary.load(&self.pool, self.backend).await
    }

    async fn ip_detail(&self, ip: &str, recent: u32) -> Result<Option<IpDetail>> {
        let q = &self.sql;
        let Some(row) = sqlx::query(&q.ip_row)
            .bind(ip)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let by_ip = |sql| sqlx::query(sql).bind(ip);
        let by_kind = by_ip(q.ip_kinds.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((required_text(r, "kind")?, count(r, "n")?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        let users = by_ip(q.ip_users.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(UserCount {
                    user: required_text(r, "user_name")?,
                    count: count(r, "n")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let sensors = by_ip(q.ip_sensors.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(SensorCount {
                    sensor: required_text(r, "sensor")?,
                    count: count(r, "n")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let hosts = by_ip(q.ip_hosts.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| required_text(r, "host"))
            .collect::<Result<Vec<_>>>()?;
        let recent = by_ip(q.ip_recent.as_str())
            .bind(i64::from(recent))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(stored_event)
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(IpDetail {
            ip: required_text(&row, "ip")?,
            geo: rows::geo(&row)?,
            events: count(&row, "events")?,
            attempts: count(&row, "attempts")?,
            failures: count(&row, "failures")?,
            successes: count(&row, "successes")?,
            probes: count(&row, "probes")?,
            by_kind,
            first_seen: required_time(&row, "first_seen")?,
            last_seen: required_time(&row, "last_seen")?,
            users,
            sensors,
            hosts,
            recent,
            starred: flag(&row, "starred")?.unwrap_or(false),
            note: text(&row, "note")?,
        }))
    }

    async fn recent(&self, window: &Window, limit: u32) -> Result<Vec<StoredEvent>> {
        let (lo, hi) = window.micros();
        sqlx::query(&self.sql.recent)
            .bind(lo)
            .bind(hi)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(stored_event)
            .collect()
    }

    async fn set_starred(&self, ip: &str, starred: bool) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&self.sql.set_starred)
            .bind(stored_flag(starred))
            .bind(ip)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let generation = generation::advance(&mut tx, self.backend).await?;
        tx.commit().await?;
        self.summary
            .apply(generation, Change::Star(ip.to_string(), starred));
        Ok(true)
    }

    async fn set_note(&self, ip: &str, note: Option<&str>) -> Result<bool> {
        let done = sqlx::query(&self.sql.set_note)
            .bind(
                note.filter(|n| !n.is_empty())
                    .map(|n| nul::escaped(n).into_owned()),
            )
            .bind(ip)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn has_ip(&self, ip: &str) -> Result<bool> {
        Ok(sqlx::query(&self.sql.has_ip)
            .bind(ip)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    async fn lookup(&self, ip: &str, service: &str) -> Result<Option<CachedLookup>> {
        sqlx::query(&self.sql.lookup)
            .bind(ip)
            .bind(service)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                Ok(CachedLookup {
                    fetched_at: required_time(&row, "fetched_at")?,
                    status: required_text(&row, "status")?,
                    body: required_text(&row, "body")?,
                })
            })
            .transpose()
    }

    async fn save_lookup(&self, ip: &str, service: &str, lookup: &CachedLookup) -> Result<()> {
        sqlx::query(&self.sql.save_lookup)
            .bind(ip)
            .bind(service)
            .bind(lookup.fetched_at.as_microsecond())
            .bind(lookup.status.as_str())
            .bind(nul::escaped(&lookup.body).into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune(
        &self,
        events_before: Option<Timestamp>,
        rollups_before: Option<Timestamp>,
    ) -> Result<Pruned> {
        let mut pruned = Pruned::default();
        if let Some(before) = events_before {
            pruned.events = self
                .delete_in_steps(&self.sql.prune_events, before.as_microsecond())
                .await?;
        }
        if let Some(before) = rollups_before {
            // Only hours that ended before the cut-off.
            let hour = before.as_microsecond().div_euclid(rollup::HOUR_MICROS);
            for sql in &self.sql.prune_rollups {
                pruned.rollup_rows += self.delete_in_steps(sql, hour).await?;
            }
        }
        self.summary.prune(
            events_before.map(|t| t.as_microsecond()),
            rollups_before.map(|t| t.as_microsecond().div_euclid(rollup::HOUR_MICROS)),
        );
        Ok(pruned)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query(&self.sql.ping).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_sensor(
        &self,
        name: &str,
        location: Option<(f64, f64)>,
        token_sha256: &[u8; 32],
    ) -> Result<Sensor> {
        let created = micros_to_ts(Timestamp::now().as_microsecond())?;
        let bind = |sql| {
            sqlx::query(sql)
                .persistent(self.backend.caches_optional_doubles())
                .bind(&token_sha256[..])
                .bind(location.map(|l| l.0))
                .bind(location.map(|l| l.1))
                .bind(created.as_microsecond())
                .bind(name)
        };
        // A revoked sensor's name takes the new token; otherwise the name must be new. Two
        // creations racing for a new name: the second insert fails on the primary key.
        let renewed = bind(self.sql.renew_sensor.as_str())
            .execute(&self.pool)
            .await?;
        if renewed.rows_affected() == 0 {
            match bind(self.sql.insert_sensor.as_str())
                .execute(&self.pool)
                .await
            {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(StoreError::SensorExists(name.to_string()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Sensor {
            name: name.to_string(),
            location,
            created,
            revoked_at: None,
            last_seen: None,
            health: SensorHealth::default(),
        })
    }

    async fn list_sensors(&self) -> Result<Vec<Sensor>> {
        sqlx::query(&self.sql.list_sensors)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::sensor)
            .collect()
    }

    async fn revoke_sensor(&self, name: &str) -> Result<bool> {
        let done = sqlx::query(&self.sql.revoke_sensor)
            .bind(Timestamp::now().as_microsecond())
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sensor_for_token(&self, token_sha256: &[u8; 32]) -> Result<Option<Sensor>> {
        sqlx::query(&self.sql.sensor_for_token)
            .bind(token_sha256.to_vec())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::sensor)
            .transpose()
    }

    async fn touch_sensor(&self, name: &str, health: &SensorHealth) -> Result<()> {
        sqlx::query(&self.sql.touch_sensor)
            .bind(Timestamp::now().as_microsecond())
            .bind(stored_count(health.lines_read))
            .bind(stored_count(health.events))
            .bind(stored_count(health.unmatched))
            .bind(health.version.clone())
            .bind(stored_count(health.spool_bytes))
            .bind(stored_count(health.spool_batches))
            .bind(stored_count(health.dropped_events))
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
