//! knockmap's event store: one [`Store`] trait, one implementation per SQL backend.
//!
//! Events are written once: each carries an [`EventId`] derived from where its line came from,
//! and writing an id that is already stored is a no-op. Per-address totals are maintained on
//! ingest so that the map never has to scan raw events.
#![forbid(unsafe_code)]

mod columns;
mod id;
mod model;
#[cfg(any(test, feature = "scratch"))]
pub mod scratch;
mod sql;
#[cfg(test)]
mod tests;

use async_trait::async_trait;

pub use columns::{Located, LocatedRow, MarkerColumns, TextColumn, UnlocatedColumns};
pub use id::EventId;
pub use model::{
    CachedLookup, Filter, IngestReport, IpDetail, Marker, Markers, NewEvent, Pruned, Sensor,
    SensorCount, SensorHealth, SeriesPoint, Stats, StoredEvent, TopEntry, Unlocated, UserCount,
    Window,
};
pub use sql::{Backend, SqlStore};

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is malformed or names a backend this build does not have.
    #[error("unsupported database URL {url:?}: {reason}")]
    Url {
        /// The URL as given (credentials are never included).
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema migrations failed (for example: the database is newer than this
    /// binary).
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was last written by a newer knockmap: its schema has migrations this
    /// binary does not know, and using it could lose data.
    #[error(
        "the database schema is newer than this knockmap (it has migration {found}, this \
         binary knows up to {known}); upgrade knockmap or use another database"
    )]
    NewerSchema {
        /// A migration version found in the database that this binary does not have.
        found: i64,
        /// The newest migration version this binary has.
        known: i64,
    },
    /// A sensor of that name exists and is not revoked.
    #[error("a sensor named {0:?} already exists; revoke it first to give the name a new token")]
    SensorExists(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the server needs from a database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch of events atomically. Events whose id is already stored are counted as
    /// duplicates and change nothing.
    async fn ingest(&self, events: &[NewEvent]) -> Result<IngestReport>;

    /// Totals, top lists and the hourly series for a time window, of the events `filter`
    /// lets through.
    async fn stats(&self, window: &Window, filter: &Filter) -> Result<Stats>;

    /// Per-address aggregates for the map, for a time window, of the events `filter` lets
    /// through.
    async fn markers(&self, window: &Window, filter: &Filter) -> Result<Markers>;

    /// [`Store::markers`] laid out in columns, as the map loads them.
    async fn marker_columns(&self, window: &Window, filter: &Filter) -> Result<MarkerColumns> {
        Ok(MarkerColumns::from(&self.markers(window, filter).await?))
    }

    /// Loads the in-memory summary that answers unfiltered statistics and markers, and keeps
    /// it current from then on. Until it is loaded (and whenever it lags the database) the
    /// database answers them. A server calls this once at start; tools that only write need
    /// not.
    async fn load_summary(&self) -> Result<()>;

    /// Everything known about one address, or `None` if it was never seen.
    async fn ip_detail(&self, ip: &str, recent: u32) -> Result<Option<IpDetail>>;

    /// The latest events, newest first.
    async fn recent(&self, window: &Window, limit: u32) -> Result<Vec<StoredEvent>>;

    /// Stars or unstars an address. Returns `false` when the address was never seen.
    async fn set_starred(&self, ip: &str, starred: bool) -> Result<bool>;

    /// Sets an address's note (an empty or absent note clears it). Returns `false` when the
    /// address was never seen.
    async fn set_note(&self, ip: &str, note: Option<&str>) -> Result<bool>;

    /// Whether the address has been seen.
    async fn has_ip(&self, ip: &str) -> Result<bool>;

    /// What `service` last said about `ip`, if it was asked.
    async fn lookup(&self, ip: &str, service: &str) -> Result<Option<CachedLookup>>;

    /// Caches what `service` said about `ip`, replacing an earlier answer.
    async fn save_lookup(&self, ip: &str, service: &str, lookup: &CachedLookup) -> Result<()>;

    /// Deletes raw events older than `events_before` and hourly aggregates of hours that end
    /// before `rollups_before`. Per-address totals, stars and notes stay. Works in small
    /// transactions so that ingest and queries go on meanwhile.
    async fn prune(
        &self,
        events_before: Option<jiff::Timestamp>,
        rollups_before: Option<jiff::Timestamp>,
    ) -> Result<Pruned>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Registers a sensor with the SHA-256 of its token and an optional `(lat, lon)`.
    /// Fails with [`StoreError::SensorExists`] if the name is taken by a sensor that is not
    /// revoked; a revoked sensor's name is given the new token (its events stay).
    async fn create_sensor(
        &self,
        name: &str,
        location: Option<(f64, f64)>,
        token_sha256: &[u8; 32],
    ) -> Result<Sensor>;

    /// Every sensor, revoked ones too, by name.
    async fn list_sensors(&self) -> Result<Vec<Sensor>>;

    /// Revokes a sensor's token, effective for the next request. Returns `false` when no
    /// sensor of that name exists or it is already revoked.
    async fn revoke_sensor(&self, name: &str) -> Result<bool>;

    /// The sensor whose token has this SHA-256, unless it is revoked.
    async fn sensor_for_token(&self, token_sha256: &[u8; 32]) -> Result<Option<Sensor>>;

    /// Records that a sensor was just heard from, with what it reported (fields it did not
    /// report keep their previous values).
    async fn touch_sensor(&self, name: &str, health: &SensorHealth) -> Result<()>;
}

/// Opens the store named by a database URL (`sqlite://PATH`, `sqlite::memory:`,
/// `postgres://…`, `mysql://…`), creating an SQLite database and applying migrations as needed.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(SqlStore::open(url).await?))
}

/// The URL without any password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}://…@{}", &url[..start], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn redact_hides_credentials() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://…@db/x");
        assert_eq!(redact("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused_clearly() {
        let err = open("redis://localhost").await.err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("expected a sqlite://"));
    }
}
