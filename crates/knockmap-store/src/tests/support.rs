//! A fresh, empty database of each backend for one test.
//!
//! SQLite gets a file in a temporary directory. PostgreSQL and MariaDB/MySQL get a database of
//! their own on the server named by `KNOCKMAP_TEST_POSTGRES_URL` / `KNOCKMAP_TEST_MYSQL_URL`
//! (default: the local servers of the development machines, see DEVELOPERS.md), dropped again
//! when the test ends. When such a server cannot be reached the test is skipped with the reason
//! printed; under `KNOCKMAP_REQUIRE_ALL=1` (CI) that is a failure instead.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::AnyConnection;
use sqlx::Connection;

use crate::{Backend, SqlStore};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const DEFAULT_MYSQL: &str = "mysql://root@127.0.0.1:3306/test";

/// A test database that is dropped with this value.
pub struct TestDb {
    /// The URL the store was opened with.
    pub url: String,
    backend: Backend,
    /// The server URL to drop the database through, and the database's name.
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh database of `backend`, or `None` (after saying why) if its server is absent.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                Some(TestDb {
                    url: format!("sqlite://{}", dir.path().join("k.sqlite").display()),
                    backend,
                    server: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres | Backend::MySql => {
                let (variable, default) = match backend {
                    Backend::Postgres => ("KNOCKMAP_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
                    _ => ("KNOCKMAP_TEST_MYSQL_URL", DEFAULT_MYSQL),
                };
                let server = std::env::var(variable).unwrap_or_else(|_| default.to_string());
                sqlx::any::install_default_drivers();
                let mut conn = match AnyConnection::connect(&server).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        skip(&format!(
                            "{} is not reachable at {} ({e}); set {variable}",
                            backend.name(),
                            crate::redact(&server)
                        ));
                        return None;
                    }
                };
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "knockmap_test_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("drop an old test database");
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let url = with_database(&server, &name);
                Some(TestDb {
                    url,
                    backend,
                    server: Some((server, name)),
                    _dir: None,
                })
            }
        }
    }

    /// The store on this database (opened anew on every call).
    pub async fn open(&self) -> SqlStore {
        SqlStore::open(&self.url).await.expect("open the store")
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.server.take() else {
            return;
        };
        let backend = self.backend;
        let database = name.clone();
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let mut conn = AnyConnection::connect(&server).await?;
                let force = if backend == Backend::Postgres {
                    " WITH (FORCE)"
                } else {
                    ""
                };
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {database}{force}"))
                    .execute(&mut conn)
                    .await
                    .map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {name}");
        }
    }
}

/// `server` with its database name replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
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

fn skip(reason: &str) {
    if std::env::var("KNOCKMAP_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        panic!("KNOCKMAP_REQUIRE_ALL=1 and {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// Runs each named test (an `async fn(&TestDb)`) against every backend, as
/// `<backend>::<test>`.
macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::run(crate::Backend::Sqlite, super::$test).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::run(crate::Backend::Postgres, super::$test).await
            })*
        }
        mod mysql {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::run(crate::Backend::MySql, super::$test).await
            })*
        }
    };
}
pub(crate) use conformance;

#[test]
fn test_database_urls_keep_credentials_and_options() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/test?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306", "x"),
        "mysql://root@127.0.0.1:3306/x"
    );
}
