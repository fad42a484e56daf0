//! A fresh, empty database of each backend for one test.
//!
//! SQLite gets a file in a temporary directory. PostgreSQL and MariaDB/MySQL get a database of
//! their own on the server named by `KNOCKMAP_TEST_POSTGRES_URL` / `KNOCKMAP_TEST_MYSQL_URL`
//! (default: the local servers of the development machines, see DEVELOPERS.md), dropped again
//! when the test ends. When such a server cannot be reached the test is skipped with the reason
//! printed; under `KNOCKMAP_REQUIRE_ALL=1` (CI) that is a failure instead.

use crate::scratch::{ScratchDb, skip, test_server};
use crate::{Backend, SqlStore};

/// A test database that is dropped with this value.
pub struct TestDb {
    /// The URL the store is opened with.
    pub url: String,
    db: ScratchDb,
}

impl TestDb {
    /// A fresh database of `backend`, or `None` (after saying why) if its server is absent.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let server = test_server(backend);
        let server_url = server.as_ref().map(|(_, url)| url.as_str());
        match ScratchDb::create(backend, server_url, "knockmap_test").await {
            Ok(db) => Some(TestDb {
                url: db.url().to_string(),
                db,
            }),
            Err(reason) => {
                let variable = server.map_or("", |(variable, _)| variable);
                skip(&format!("{reason}; set {variable}"));
                None
            }
        }
    }

    /// The store on this database (opened anew on every call).
    pub async fn open(&self) -> SqlStore {
        SqlStore::open(&self.url).await.expect("open the store")
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn maybe<T>(&mut self, percent: u64, make: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        self.chance(percent).then(|| make(self))
    }
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
