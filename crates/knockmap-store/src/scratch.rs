//! Throwaway databases for tests and benchmarks (cargo feature `scratch`): an SQLite file in a
//! temporary directory, or a database of its own on a PostgreSQL or MariaDB/MySQL server,
//! dropped again when the [`ScratchDb`] is dropped.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyConnection, Connection};

use crate::{Backend, redact};

/// The server tests use when `KNOCKMAP_TEST_POSTGRES_URL` is not set: the local server of the
/// development machines (see DEVELOPERS.md).
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The server tests use when `KNOCKMAP_TEST_MYSQL_URL` is not set.
pub const DEFAULT_MYSQL: &str = "mysql://root@127.0.0.1:3306/test";

/// The environment variable naming the test server of `backend`, and its default.
pub fn test_server(backend: Backend) -> Option<(&'static str, String)> {
    let (variable, default) = match backend {
        Backend::Sqlite => return None,
        Backend::Postgres => ("KNOCKMAP_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        Backend::MySql => ("KNOCKMAP_TEST_MYSQL_URL", DEFAULT_MYSQL),
    };
    Some((
        variable,
        std::env::var(variable).unwrap_or_else(|_| default.to_string()),
    ))
}

/// A fresh, empty database, gone when this value is dropped.
pub struct ScratchDb {
    url: String,
    backend: Backend,
    /// The server URL to drop the database through, and the database's name.
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl ScratchDb {
    /// A fresh database of `backend`: for SQLite a file in a temporary directory, otherwise
    /// `<prefix>_<pid>_<n>` created on `server`. Fails with a readable reason (the server's
    /// password removed) when the server cannot be reached or refuses.
    pub async fn create(
        backend: Backend,
        server: Option<&str>,
        prefix: &str,
    ) -> Result<ScratchDb, String> {
        let Some(server) = server.filter(|_| backend != Backend::Sqlite) else {
            let dir = tempfile::Builder::new()
                .prefix(&format!("{prefix}-"))
                .tempdir()
                .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
            return Ok(ScratchDb {
                url: format!("sqlite://{}", dir.path().join("k.sqlite").display()),
                backend,
                server: None,
                _dir: Some(dir),
            });
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let fail = |e: sqlx::Error| {
            format!(
                "{} is not usable at {} ({e})",
                backend.name(),
                redact(server)
            )
        };
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(server).await.map_err(fail)?;
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::raw_sql(&sql).execute(&mut conn).await.map_err(fail)?;
        }
        Ok(ScratchDb {
            url: with_database(server, &name),
            backend,
            server: Some((server.to_string(), name)),
            _dir: None,
        })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name on its server (`None` for SQLite).
    pub fn name(&self) -> Option<&str> {
        self.server.as_ref().map(|(_, name)| name.as_str())
    }

    /// Which backend it is.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.server.take() else {
            return;
        };
        let force = if self.backend == Backend::Postgres {
            " WITH (FORCE)"
        } else {
            ""
        };
        let sql = format!("DROP DATABASE IF EXISTS {name}{force}");
        // Drop may run inside an async runtime (or while a test unwinds): use a thread with a
        // runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = AnyConnection::connect(&server).await?;
                sqlx::raw_sql(&sql).execute(&mut conn).await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the scratch database {name}");
        }
    }
}

/// `server` with its database name replaced by `name` (credentials and options kept).
pub fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

/// Says why a test that needs an outside service is skipped; under `KNOCKMAP_REQUIRE_ALL=1`
/// (CI) a skip is a failure instead.
pub fn skip(reason: &str) {
    if std::env::var("KNOCKMAP_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("KNOCKMAP_REQUIRE_ALL=1 and {reason}");
    }
    eprintln!("skipped: {reason}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_credentials_and_options() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/test?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306", "x"),
            "mysql://root@127.0.0.1:3306/x"
        );
    }
}
