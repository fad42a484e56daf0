//! `knockmap import --from-mapper-server URL`: migrate from Mapper-Server.
//!
//! Mapper-Server (Flask + MariaDB) kept one row per login attempt in `attempts` (the sensor's
//! configured `host` name, the address, a local `stamp` without a zone, `success` 1 for an
//! accepted login) and the starred addresses in `markers`. Each `attempts` row becomes one
//! `accepted` or `failed` event under the sensor named by its `host`, geolocated and stored by
//! the same ingest path as every other event. Its id is derived from the row's place in the old
//! database (`mapper-server:<database>` and the row id), so importing the same database again
//! stores nothing twice. Rows are read in pages by id; rows that cannot become an event (an
//! address or a time that does not parse) are counted and reported, never fatal.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::tz::TimeZone;
use knockmap_parse::{Event, Kind};
use knockmap_server::{Ingestor, Origin};
use knockmap_store::Store;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

/// Rows read (and events stored) per page.
const PAGE_ROWS: i64 = 5_000;

/// How long connecting to the old server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The sensor name of rows whose `host` is NULL or empty.
pub const DEFAULT_SENSOR: &str = "mapper-server";

/// How many examples of each kind of skipped row the summary shows.
const EXAMPLES: usize = 5;

/// One page of `attempts`, in id order after a given id. The Any driver decodes neither
/// DATETIME nor TINYINT: the stamp is read as text, `success` and `id` as BIGINT.
const PAGE_QUERY: &str = "SELECT CAST(id AS SIGNED) AS id, host, ip, \
     DATE_FORMAT(stamp, '%Y-%m-%d %H:%i:%s') AS stamp, CAST(success AS SIGNED) AS success \
     FROM attempts WHERE id > ? ORDER BY id LIMIT ?";

/// The columns the import reads, per table.
const COLUMNS: [(&str, &[&str]); 2] = [
    ("attempts", &["id", "host", "ip", "stamp", "success"]),
    ("markers", &["ip", "starred"]),
];

/// A connected, checked Mapper-Server database.
pub struct Source {
    conn: AnyConnection,
    /// The URL without its password, for messages.
    shown: String,
    /// The database's name: part of every event id.
    database: String,
    /// Whether the database has a `markers` table (stars).
    has_markers: bool,
    /// Rows in `attempts` when the import started.
    rows: u64,
}

impl Source {
    /// Connects to the database at `url` and checks that it is a Mapper-Server `log_mapper`
    /// database. Errors name the URL without its password.
    pub async fn connect(url: &str) -> anyhow::Result<Source> {
        let shown = knockmap_store::redact(url);
        if !(url.starts_with("mysql://") || url.starts_with("mariadb://")) {
            bail!(
                "--from-mapper-server {shown}: expected a MariaDB/MySQL URL such as \
                 mysql://USER:PASSWORD@HOST/log_mapper"
            );
        }
        sqlx::any::install_default_drivers();
        let mut conn =
            match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => bail!(
                    "cannot connect to the Mapper-Server database {shown}: {}",
                    scrub(&e.to_string(), url)
                ),
                Err(_) => bail!(
                    "cannot connect to the Mapper-Server database {shown}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ),
            };
        let failed = |what: &str, e: sqlx::Error| {
            anyhow::anyhow!("{what} {shown}: {}", scrub(&e.to_string(), url))
        };
        let database: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| failed("querying", e))?;
        let Some(database) = database.filter(|d| !d.is_empty()) else {
            bail!(
                "{shown} names no database: add it to the URL, as in \
                 mysql://USER:PASSWORD@HOST/log_mapper"
            );
        };
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT LOWER(table_name), LOWER(column_name) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND LOWER(table_name) IN ('attempts', 'markers')",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| failed("reading the tables of", e))?;
        let has = |table: &str, column: Option<&str>| {
            found
                .iter()
                .any(|(t, c)| t == table && column.is_none_or(|column| c == column))
        };
        let not_mapper = format!("{shown} is not a Mapper-Server log_mapper database");
        for (table, columns) in COLUMNS {
            if !has(table, None) {
                if table == "markers" {
                    // Stars are a later addition to some installations: import the attempts.
                    tracing::warn!("{shown} has no table markers: no stars to import");
                    continue;
                }
                bail!("{not_mapper}: no table {table}");
            }
            if let Some(column) = columns.iter().find(|c| !has(table, Some(c))) {
                bail!("{not_mapper}: table {table} has no column {column}");
            }
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attempts")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| failed("counting the attempts of", e))?;
        tracing::info!(source = %shown, rows, "reading the Mapper-Server database");
        Ok(Source {
            conn,
            shown,
            database,
            has_markers: has("markers", None),
            rows: u64::try_from(rows).unwrap_or(0),
        })
    }
}

/// Why a row was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Skip {
    /// `ip` is not an IP address.
    Address,
    /// `stamp` is not a time (MariaDB's zero date, for one).
    Time,
}

impl Skip {
    fn reason(self) -> &'static str {
        match self {
            Skip::Address => "whose address does not parse",
            Skip::Time => "whose time does not parse",
        }
    }
}

/// Rows skipped, by reason, with a few examples (row id and the offending value).
#[derive(Debug, Default)]
struct Skipped {
    by_reason: BTreeMap<Skip, (u64, Vec<(i64, String)>)>,
}

impl Skipped {
    fn add(&mut self, reason: Skip, id: i64, value: Option<&str>) {
        let (count, examples) = self.by_reason.entry(reason).or_default();
        *count += 1;
        if examples.len() < EXAMPLES {
            // Debug formatting escapes control characters: the value may be hostile.
            let value = value.map_or_else(|| "NULL".to_string(), |v| format!("{v:?}"));
            examples.push((id, value));
        }
    }

    fn total(&self) -> u64 {
        self.by_reason.values().map(|(count, _)| count).sum()
    }
}

/// One `attempts` row as read.
struct Attempt {
    id: i64,
    host: Option<String>,
    ip: Option<String>,
    stamp: Option<String>,
    success: Option<i64>,
}

impl Attempt {
    fn from_row(row: &AnyRow) -> Result<Attempt, sqlx::Error> {
        Ok(Attempt {
            id: row.try_get("id")?,
            host: row.try_get("host")?,
            ip: row.try_get("ip")?,
            stamp: row.try_get("stamp")?,
            success: row.try_get("success")?,
        })
    }

    /// The sensor the row's events are stored under, and the event, or why it is skipped.
    fn to_event(&self, tz: &TimeZone) -> Result<(String, Event), Skip> {
        let ip = parse_ip(self.ip.as_deref()).ok_or(Skip::Address)?;
        let ts = self
            .stamp
            .as_deref()
            .and_then(|stamp| stamp.trim().parse::<jiff::civil::DateTime>().ok())
            .and_then(|local| tz.to_timestamp(local).ok())
            .ok_or(Skip::Time)?;
        let kind = if self.success == Some(1) {
            Kind::Accepted
        } else {
            Kind::Failed
        };
        let host = self
            .host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty());
        let mut event = Event::new(ts, kind);
        event.ip = Some(ip);
        event.host = host.map(str::to_string);
        // With the origin, the row id makes the event id (it is not stored as such).
        event.offset = Some(self.id as u64);
        Ok((host.unwrap_or(DEFAULT_SENSOR).to_string(), event))
    }
}

/// An address as Mapper-Server stored it (CHAR(15), maybe padded), in canonical form.
fn parse_ip(text: Option<&str>) -> Option<IpAddr> {
    text?
        .trim()
        .parse::<IpAddr>()
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Imports every row of `attempts`, then stars the starred `markers`.
pub async fn import(
    mut source: Source,
    ingestor: &Ingestor,
    store: &dyn Store,
    tz: &TimeZone,
    bar: bool,
) -> anyhow::Result<()> {
    let shown = source.shown.clone();
    let origin = Origin {
        fingerprint: format!("mapper-server:{}", source.database),
    };
    let started = Instant::now();
    let mut progress = RowProgress::new(source.rows, bar);
    let mut skipped = Skipped::default();
    let (mut read, mut events, mut stored, mut duplicates) = (0u64, 0u64, 0u64, 0u64);
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(PAGE_QUERY)
            .bind(after)
            .bind(PAGE_ROWS)
            .fetch_all(&mut source.conn)
            .await
            .with_context(|| format!("reading the attempts of {shown}"))?;
        // Events by sensor: one ingest (one transaction) per sensor and page.
        let mut batches: BTreeMap<String, Vec<(Event, Option<Origin>)>> = BTreeMap::new();
        for row in &rows {
            let attempt = Attempt::from_row(row)
                .with_context(|| format!("decoding a row of the attempts of {shown}"))?;
            after = after.max(attempt.id);
            match attempt.to_event(tz) {
                Ok((sensor, event)) => {
                    batches
                        .entry(sensor)
                        .or_default()
                        .push((event, Some(origin.clone())));
                    events += 1;
                }
                Err(reason) => {
                    let value = match reason {
                        Skip::Address => attempt.ip.as_deref(),
                        Skip::Time => attempt.stamp.as_deref(),
                    };
                    skipped.add(reason, attempt.id, value);
                }
            }
        }
        for (sensor, batch) in batches {
            let report = ingestor
                .ingest(&sensor, batch)
                .await
                .context("storing events")?;
            stored += report.accepted;
            duplicates += report.duplicates;
        }
        read += rows.len() as u64;
        progress.update(read, stored);
        if (rows.len() as i64) < PAGE_ROWS {
            break;
        }
    }
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "imported Mapper-Server database {}: {read} rows, {events} events ({stored} new, \
         {duplicates} already stored), {} skipped, in {seconds:.1} s ({:.0} events/s)",
        source.database,
        skipped.total(),
        events as f64 / seconds.max(1e-9),
    );
    for (reason, (count, examples)) in &skipped.by_reason {
        let examples: Vec<String> = examples
            .iter()
            .map(|(id, value)| format!("id {id}: {value}"))
            .collect();
        eprintln!(
            "skipped {count} row(s) {}: {}{}",
            reason.reason(),
            examples.join(", "),
            if *count > examples.len() as u64 {
                ", …"
            } else {
                ""
            }
        );
    }
    if source.has_markers {
        import_stars(&mut source, store).await?;
    }
    let _ = source.conn.close().await;
    Ok(())
}

/// Stars every address `markers` has starred; those never seen are reported and skipped.
async fn import_stars(source: &mut Source, store: &dyn Store) -> anyhow::Result<()> {
    let shown = &source.shown;
    let starred: Vec<Option<String>> =
        sqlx::query_scalar("SELECT ip FROM markers WHERE starred = 1 ORDER BY ip")
            .fetch_all(&mut source.conn)
            .await
            .with_context(|| format!("reading the markers of {shown}"))?;
    let (mut done, mut unseen, mut unparsed) = (0u64, Vec::new(), Vec::new());
    for text in starred {
        let Some(ip) = parse_ip(text.as_deref()) else {
            unparsed.push(format!("{:?}", text.unwrap_or_default()));
            continue;
        };
        if store
            .set_starred(&ip.to_string(), true)
            .await
            .context("storing a star")?
        {
            done += 1;
        } else {
            unseen.push(ip.to_string());
        }
    }
    eprintln!(
        "starred {done} address(es) from the markers of {}",
        source.database
    );
    if !unseen.is_empty() {
        eprintln!(
            "skipped {} starred address(es) never seen in any event: {}",
            unseen.len(),
            unseen.join(", ")
        );
    }
    if !unparsed.is_empty() {
        eprintln!(
            "skipped {} starred address(es) that do not parse: {}",
            unparsed.len(),
            unparsed.join(", ")
        );
    }
    Ok(())
}

/// `text` without the password of `url` (a driver's message could quote it).
fn scrub(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    match password {
        Some(password) => text.replace(password, "…"),
        None => text.to_string(),
    }
}

/// How often a plain progress line is printed.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Rows read so far: a bar on a terminal, a plain line every few seconds otherwise.
struct RowProgress {
    bar: Option<ProgressBar>,
    total: u64,
    last_log: Instant,
}

impl RowProgress {
    fn new(total: u64, bar: bool) -> RowProgress {
        let bar = (bar && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} rows {msg} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        RowProgress {
            bar,
            total,
            last_log: Instant::now(),
        }
    }

    fn update(&mut self, read: u64, stored: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(read);
                bar.set_message(format!("{stored} stored"));
            }
            None if self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = Instant::now();
                let percent = 100.0 * read as f64 / self.total.max(1) as f64;
                tracing::info!(
                    "import: {percent:.0}% ({read} of {} rows), {stored} events stored",
                    self.total
                );
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(host: Option<&str>, ip: &str, stamp: &str, success: Option<i64>) -> Attempt {
        Attempt {
            id: 7,
            host: host.map(str::to_string),
            ip: Some(ip.to_string()),
            stamp: Some(stamp.to_string()),
            success,
        }
    }

    #[test]
    fn rows_become_events_in_the_given_zone() {
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let (sensor, event) = attempt(Some("web-01"), "81.2.69.142 ", "2024-03-01 10:00:00", None)
            .to_event(&berlin)
            .expect("event");
        assert_eq!(sensor, "web-01");
        assert_eq!(event.kind, Kind::Failed);
        assert_eq!(event.ts.to_string(), "2024-03-01T09:00:00Z");
        assert_eq!(event.ip, "81.2.69.142".parse().ok());
        assert_eq!((event.count, event.offset), (1, Some(7)));

        let (sensor, event) = attempt(Some(" "), "::ffff:1.2.3.4", "2024-07-01 10:00:00", Some(1))
            .to_event(&berlin)
            .expect("event");
        assert_eq!((sensor.as_str(), event.host), (DEFAULT_SENSOR, None));
        assert_eq!(event.kind, Kind::Accepted);
        assert_eq!(event.ip, "1.2.3.4".parse().ok(), "canonical form");
        assert_eq!(event.ts.to_string(), "2024-07-01T08:00:00Z");

        let utc = TimeZone::UTC;
        let row = |ip, stamp| attempt(None, ip, stamp, Some(0)).to_event(&utc).map(|_| ());
        assert_eq!(row("not-an-ip", "2024-03-01 10:00:00"), Err(Skip::Address));
        assert_eq!(row("1.2.3.4", "0000-00-00 00:00:00"), Err(Skip::Time));
    }

    #[test]
    fn passwords_are_scrubbed() {
        let url = "mysql://mapper:s3cret@db/log_mapper";
        assert_eq!(
            scrub("Access denied (s3cret)", url),
            "Access denied (…)".to_string()
        );
        assert_eq!(scrub("refused", "mysql://root@db/x"), "refused");
    }
}
