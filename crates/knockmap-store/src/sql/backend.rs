//! What differs between the SQL backends: URL schemes, connection setup, migrations and the
//! few places where their SQL dialects disagree. Everything else is shared SQL text.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::{Result, StoreError};

#[cfg(feature = "sqlite")]
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
#[cfg(feature = "postgres")]
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
#[cfg(feature = "mysql")]
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/mysql");

/// One of the supported databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (`sqlite://PATH`, `sqlite::memory:`).
    Sqlite,
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MariaDB or MySQL (`mysql://`, `mariadb://`).
    MySql,
}

impl Backend {
    /// The backend a database URL names, if this build includes it.
    pub fn from_url(url: &str) -> Result<Backend> {
        let scheme = url.split(':').next().unwrap_or_default();
        let backend = match scheme {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            _ => {
                return Err(StoreError::Url {
                    url: crate::redact(url),
                    reason: "expected a sqlite://, postgres:// or mysql:// URL".into(),
                });
            }
        };
        if !backend.compiled_in() {
            return Err(StoreError::Url {
                url: crate::redact(url),
                reason: format!(
                    "this knockmap was built without the {} backend (cargo feature `{}`)",
                    backend.name(),
                    backend.feature()
                ),
            });
        }
        Ok(backend)
    }

    /// The backend's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MariaDB/MySQL",
        }
    }

    fn feature(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    fn compiled_in(self) -> bool {
        match self {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::MySql => cfg!(feature = "mysql"),
        }
    }

    /// This backend's migrations.
    pub fn migrator(self) -> &'static Migrator {
        match self {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            #[cfg(feature = "postgres")]
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            #[cfg(feature = "mysql")]
            Backend::MySql => &MYSQL_MIGRATIONS,
            #[allow(unreachable_patterns)]
            _ => unreachable!("from_url refuses backends that are not compiled in"),
        }
    }

    /// A connection pool for `url`, with each connection set up for knockmap.
    pub async fn connect(self, url: &str) -> Result<AnyPool> {
        sqlx::any::install_default_drivers();
        let pool = match self {
            Backend::Sqlite => {
                // An in-memory database lives as long as its one connection: keep exactly one,
                // forever.
                let memory = url.contains(":memory:") || url.contains("mode=memory");
                let options = if memory {
                    AnyPoolOptions::new()
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    AnyPoolOptions::new().max_connections(4)
                };
                options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets the dashboard read while sensors write; a writer waits
                            // for another instead of failing with SQLITE_BUSY. Each batch
                            // touches random pages of the address and id indexes: a 64 MiB page
                            // cache keeps them in memory, and checkpointing every 64 MiB of WAL
                            // (instead of 4 MiB) copies a page rewritten by many batches once.
                            // The WAL file is cut back to 64 MiB after a checkpoint.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;
                                 PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;
                                 PRAGMA journal_size_limit = 67108864;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&sqlite_url(url))
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?
            }
            Backend::MySql => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // Exact, case-sensitive comparisons and UTC, whatever the server's
                            // defaults.
                            conn.execute(
                                "SET NAMES utf8mb4 COLLATE utf8mb4_bin, time_zone = '+00:00'",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
        };
        Ok(pool)
    }

    /// `sql` with its `?` placeholders in this backend's syntax (`$1, $2, …` on PostgreSQL).
    /// Question marks inside single-quoted literals are left alone.
    pub fn sql<'a>(self, sql: &'a str) -> Cow<'a, str> {
        if self != Backend::Postgres || !sql.contains('?') {
            return Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len() + sql.len() / 4);
        let mut n = 0;
        let mut quoted = false;
        for c in sql.chars() {
            match c {
                '\'' => {
                    quoted = !quoted;
                    out.push(c);
                }
                '?' if !quoted => {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                _ => out.push(c),
            }
        }
        Cow::Owned(out)
    }

    /// `SUM(expr)`, zero when there are no rows, as a 64-bit integer (PostgreSQL and MySQL
    /// widen integer sums to NUMERIC/DECIMAL).
    pub fn sum(self, expr: &str) -> String {
        self.int(&format!("COALESCE(SUM({expr}),0)"))
    }

    /// `expr` cast to a 64-bit integer.
    pub fn int(self, expr: &str) -> String {
        match self {
            Backend::Sqlite => expr.to_string(),
            Backend::Postgres => format!("CAST({expr} AS BIGINT)"),
            Backend::MySql => format!("CAST({expr} AS SIGNED)"),
        }
    }

    /// `expr` as text.
    pub fn text(self, expr: &str) -> String {
        match self {
            Backend::MySql => format!("CAST({expr} AS CHAR)"),
            _ => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// Integer division.
    pub fn div(self, a: &str, b: &str) -> String {
        match self {
            Backend::MySql => format!("({a} DIV {b})"),
            _ => format!("({a} / {b})"),
        }
    }

    /// The smaller of two values.
    pub fn least(self, a: &str, b: &str) -> String {
        match self {
            Backend::Sqlite => format!("MIN({a}, {b})"),
            _ => format!("LEAST({a}, {b})"),
        }
    }

    /// The larger of two values.
    pub fn greatest(self, a: &str, b: &str) -> String {
        match self {
            Backend::Sqlite => format!("MAX({a}, {b})"),
            _ => format!("GREATEST({a}, {b})"),
        }
    }

    /// What follows a multi-row `INSERT` into `table` to merge rows whose `key` exists:
    /// columns in `add` are summed, those in `latest` take the new value unless it is NULL,
    /// those in `greatest` keep the larger value.
    pub fn upsert_tail(
        self,
        table: &str,
        key: &[&str],
        add: &[&str],
        latest: &[&str],
        greatest: &[&str],
    ) -> String {
        let mysql = self == Backend::MySql;
        let new = |c: &str| {
            if mysql {
                format!("VALUES({c})")
            } else {
                format!("excluded.{c}")
            }
        };
        let old = |c: &str| {
            if mysql {
                c.to_string()
            } else {
                format!("{table}.{c}")
            }
        };
        let mut set = Vec::new();
        set.extend(add.iter().map(|c| format!("{c} = {} + {}", old(c), new(c))));
        set.extend(
            latest
                .iter()
                .map(|c| format!("{c} = COALESCE({}, {})", new(c), old(c))),
        );
        set.extend(
            greatest
                .iter()
                .map(|c| format!("{c} = {}", self.greatest(&old(c), &new(c)))),
        );
        if mysql {
            format!(" ON DUPLICATE KEY UPDATE {}", set.join(", "))
        } else {
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                key.join(", "),
                set.join(", ")
            )
        }
    }

    /// A `DELETE` of at most `?` (second placeholder) rows of `table` whose `column < ?`
    /// (first placeholder); `step_key` is a column the rows are picked by.
    pub fn delete_limited(self, table: &str, step_key: &str, column: &str) -> String {
        match self {
            // MySQL allows LIMIT on DELETE but not in an IN subquery.
            Backend::MySql => format!("DELETE FROM {table} WHERE {column} < ? LIMIT ?"),
            _ => format!(
                "DELETE FROM {table} WHERE {step_key} IN
                    (SELECT {step_key} FROM {table} WHERE {column} < ? LIMIT ?)"
            ),
        }
    }

    /// Whether a statement that binds optional doubles (coordinates) may stay prepared.
    /// sqlx's Any driver declares a NULL double as `real` to PostgreSQL, and a statement
    /// prepared that way refuses a coordinate later; on PostgreSQL such statements are
    /// prepared afresh each time.
    pub fn caches_optional_doubles(self) -> bool {
        self != Backend::Postgres
    }

    /// Whether `INSERT … RETURNING` exists (not in MySQL).
    pub fn has_returning(self) -> bool {
        self != Backend::MySql
    }

    /// Whether an error is worth retrying the whole transaction for: a deadlock, a
    /// serialization failure, a lock timeout, or a busy SQLite database.
    pub fn is_transient(self, error: &sqlx::Error) -> bool {
        let sqlx::Error::Database(db) = error else {
            return false;
        };
        let code = db.code().unwrap_or_default();
        match self {
            // SQLITE_BUSY, SQLITE_LOCKED and their extended codes.
            Backend::Sqlite => code
                .parse::<u32>()
                .is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6),
            // serialization_failure, deadlock_detected.
            Backend::Postgres => matches!(&*code, "40001" | "40P01"),
            // ER_LOCK_DEADLOCK has SQLSTATE 40001; ER_LOCK_WAIT_TIMEOUT only the generic HY000.
            Backend::MySql => code == "40001" || db.message().starts_with("Lock wait timeout"),
        }
    }
}

/// An SQLite URL that creates the file when it is missing (unless a mode is given).
fn sqlite_url(url: &str) -> Cow<'_, str> {
    if url.contains(":memory:") || url.contains("mode=") {
        Cow::Borrowed(url)
    } else if url.contains('?') {
        Cow::Owned(format!("{url}&mode=rwc"))
    } else {
        Cow::Owned(format!("{url}?mode=rwc"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered_outside_literals() {
        assert_eq!(
            Backend::Postgres.sql("SELECT '?' , ? FROM t WHERE a = ? AND b IN (?,?)"),
            "SELECT '?' , $1 FROM t WHERE a = $2 AND b IN ($3,$4)"
        );
        assert_eq!(Backend::Sqlite.sql("a = ?"), "a = ?");
        assert_eq!(Backend::MySql.sql("a = ?"), "a = ?");
    }

    /// Runs in `scripts/test.sh`'s build without the PostgreSQL backend.
    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_backend_left_out_of_the_build_is_refused_clearly() {
        let error = Backend::from_url("postgres://knockmap:secret@db/knockmap")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("built without the PostgreSQL backend (cargo feature `postgres`)"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
        assert!(Backend::from_url("sqlite::memory:").is_ok());
    }

    #[test]
    fn sqlite_files_are_created_unless_a_mode_is_given() {
        assert_eq!(
            sqlite_url("sqlite:///tmp/a.db"),
            "sqlite:///tmp/a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite:///tmp/a.db?cache=shared"),
            "sqlite:///tmp/a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite:///tmp/a.db?mode=ro"),
            "sqlite:///tmp/a.db?mode=ro"
        );
        assert_eq!(sqlite_url("sqlite::memory:"), "sqlite::memory:");
    }
}
