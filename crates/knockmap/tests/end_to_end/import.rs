//! `knockmap import`: rotated and compressed files backfilled oldest first, nothing stored
//! twice however often or in whatever form the same lines come back.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use knockmap_store::Backend;
use knockmap_store::scratch::{ScratchDb, skip, test_server};

use super::{CITY_DB, Server, append};

fn import(dir: &Path, files: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .arg("import")
        .args(files)
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("k.sqlite").display()))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--no-geoip-download", "--geoip", CITY_DB])
        .env("KNOCKMAP_LOG", "info")
        .output()
        .expect("run knockmap import")
}

/// The summary line, after checking the import succeeded.
fn summary(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "import failed: {stderr}");
    stderr
        .lines()
        .find(|l| l.starts_with("imported "))
        .unwrap_or_else(|| panic!("no summary in: {stderr}"))
        .to_string()
}

fn failed(n: u32) -> String {
    format!(
        "Nov 20 10:00:{n:02} web sshd[{n}]: Failed password for root from 81.2.69.{n} port 4{n:04} ssh2"
    )
}

fn gzip(from: &Path, to: &Path) {
    let data = std::fs::read(from).expect("read");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(to).expect("create gz"),
        flate2::Compression::default(),
    );
    encoder.write_all(&data).expect("compress");
    encoder.finish().expect("finish gz");
}

#[tokio::test]
async fn rotated_and_compressed_files_are_imported_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (live, one, two_gz) = (
        dir.path().join("auth.log"),
        dir.path().join("auth.log.1"),
        dir.path().join("auth.log.2.gz"),
    );
    let oldest = dir.path().join("oldest");
    append(&oldest, &[&failed(1), &failed(2), &failed(3)]);
    gzip(&oldest, &two_gz);
    append(
        &one,
        &[&failed(4), "Nov 20 10:00:05 web CRON[9]: noise", &failed(5)],
    );
    append(&live, &[&failed(6), &failed(7)]);

    // Named in no particular order.
    let first = summary(&import(dir.path(), &[&live, &two_gz, &one]));
    assert!(
        first.contains("imported 3 file(s): 8 lines, 7 events (7 new, 0 already stored)"),
        "{first}"
    );
    let again = summary(&import(dir.path(), &[&one, &live, &two_gz]));
    assert!(
        again.contains("7 events (0 new, 7 already stored)"),
        "{again}"
    );

    // Rotation: auth.log.1 is compressed to auth.log.2.gz, auth.log becomes auth.log.1, and a
    // new auth.log holds one new line. Only that line is new.
    gzip(&one, &two_gz);
    std::fs::rename(&live, &one).expect("rotate");
    append(&live, &[&failed(8)]);
    let rotated = summary(&import(dir.path(), &[&two_gz, &one, &live]));
    assert!(rotated.contains("(1 new, "), "{rotated}");

    let server = Server::start_with(dir.path(), &[]);
    let stats = server.wait_for_events(8).await;
    // 3 in the oldest archive are not in the newest files any more: 5 + 3 = 8 in all.
    assert_eq!(stats["events"], 8, "{stats}");
    server.stop();
}

#[tokio::test]
async fn lines_the_server_already_followed_are_not_imported_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("auth.log");
    append(&log, &[&failed(1), &failed(2)]);
    let server = Server::start(dir.path(), &log);
    let stats = server.wait_for_events(2).await;
    assert_eq!(stats["events"], 2, "{stats}");
    server.stop();

    append(&log, &[&failed(3)]);
    let line = summary(&import(dir.path(), &[&log]));
    assert!(
        line.contains("3 events (1 new, 2 already stored)"),
        "{line}"
    );
}

#[test]
fn missing_files_are_refused_before_anything_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("auth.log");
    append(&log, &[&failed(1)]);
    let output = import(dir.path(), &[&log, &dir.path().join("nope.log")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nope.log"), "{stderr}");
    assert!(
        !dir.path().join("k.sqlite").exists(),
        "nothing opened: {stderr}"
    );
}

/// Mapper-Server's schema, from its README.
const MAPPER_SCHEMA: &str = "
    CREATE TABLE attempts (
        id INT NOT NULL AUTO_INCREMENT,
        host VARCHAR(20) DEFAULT 'Anonymous',
        ip CHAR(15) NOT NULL,
        stamp DATETIME NOT NULL UNIQUE,
        success tinyint(4),
        PRIMARY KEY (id, stamp)
    );
    CREATE TABLE markers (
        ip CHAR(15) NOT NULL,
        starred tinyint(4),
        PRIMARY KEY (ip)
    );";

/// What an old Mapper-Server recorded: stamps are unique (its schema dropped same-second
/// attempts), hosts are sensor names or NULL, one address is garbage.
const MAPPER_ROWS: &str = "
    INSERT INTO attempts (host, ip, stamp, success) VALUES
        ('web-01', '81.2.69.142',   '2024-03-01 10:00:00', 0),
        ('web-01', '81.2.69.142',   '2024-03-01 10:00:01', NULL),
        ('db-02',  '89.160.20.112', '2024-03-01 10:00:02', 1),
        ('web-01', 'not-an-ip',     '2024-03-01 10:00:03', 0),
        (NULL,     '175.16.199.0',  '2024-03-01 10:00:04', 0),
        ('',       '175.16.199.0',  '2024-03-01 10:00:05', 0);
    INSERT INTO attempts (ip, stamp) VALUES ('2001:db8::1', '2024-03-01 10:00:06');
    INSERT INTO markers (ip, starred) VALUES
        ('81.2.69.142', 1), ('89.160.20.112', 0), ('175.16.199.0', NULL), ('192.0.2.200', 1);";

/// A fresh, empty database on the test MariaDB and a connection to it, or `None` (after saying
/// why) when MariaDB is not reachable.
async fn mapper_db() -> Option<(ScratchDb, sqlx::AnyConnection)> {
    use sqlx::Connection as _;
    let (variable, server) = test_server(Backend::MySql)?;
    match ScratchDb::create(Backend::MySql, Some(&server), "knockmap_mapper_test").await {
        Ok(db) => {
            let conn = sqlx::AnyConnection::connect(db.url())
                .await
                .expect("connect to the test database");
            Some((db, conn))
        }
        Err(reason) => {
            skip(&format!("{reason}; set {variable}"));
            None
        }
    }
}

fn import_mapper(dir: &Path, url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["import", "--from-mapper-server", url, "--timezone", "UTC"])
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("k.sqlite").display()))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--no-geoip-download", "--geoip", CITY_DB])
        .env("KNOCKMAP_LOG", "info")
        .output()
        .expect("run knockmap import")
}

/// Standard error of a successful import.
fn succeeded(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "import failed: {stderr}");
    eprintln!("{stderr}");
    stderr
}

#[tokio::test]
async fn mapper_server_database_is_migrated_once_with_its_stars() {
    let Some((db, mut conn)) = mapper_db().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");

    // A database without Mapper-Server's tables is refused before anything is stored.
    let refused = import_mapper(dir.path(), db.url());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is not a Mapper-Server log_mapper database: no table attempts",
            knockmap_store::redact(db.url())
        )),
        "{stderr}"
    );
    assert!(!dir.path().join("k.sqlite").exists(), "nothing opened");

    sqlx::raw_sql(MAPPER_SCHEMA)
        .execute(&mut conn)
        .await
        .expect("create Mapper-Server's tables");
    sqlx::raw_sql(MAPPER_ROWS)
        .execute(&mut conn)
        .await
        .expect("insert Mapper-Server's rows");

    let first = succeeded(&import_mapper(dir.path(), db.url()));
    assert!(
        first.contains(&format!(
            "imported Mapper-Server database {}: 7 rows, 6 events (6 new, 0 already stored), \
             1 skipped",
            db.name().unwrap_or_default()
        )),
        "{first}"
    );
    assert!(
        first.contains("skipped 1 row(s) whose address does not parse: id 4: \"not-an-ip\""),
        "{first}"
    );
    assert!(first.contains("starred 1 address(es)"), "{first}");
    assert!(
        first.contains("skipped 1 starred address(es) never seen in any event: 192.0.2.200"),
        "{first}"
    );

    // Again: every row is recognised, nothing is counted twice.
    let again = succeeded(&import_mapper(dir.path(), db.url()));
    assert!(
        again.contains("7 rows, 6 events (0 new, 6 already stored), 1 skipped"),
        "{again}"
    );

    let server = Server::start_with(dir.path(), &[]);
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["events"], 6, "{stats}");
    assert_eq!(stats["attempts"], 6, "failed + accepted: {stats}");
    assert_eq!(stats["successes"], 1, "{stats}");
    assert_eq!(stats["unique_ips"], 4, "{stats}");
    assert_eq!(stats["last_event"], "2024-03-01T10:00:06Z", "{stats}");
    let mut sensors: Vec<(String, u64)> = stats["top_sensors"]
        .as_array()
        .expect("top sensors")
        .iter()
        .map(|s| {
            let key = s["key"].as_str().unwrap_or_default().to_string();
            (key, s["count"].as_u64().unwrap_or_default())
        })
        .collect();
    sensors.sort();
    let expected = [
        ("Anonymous", 1),
        ("db-02", 1),
        ("mapper-server", 2),
        ("web-01", 2),
    ];
    assert_eq!(
        sensors,
        expected.map(|(s, n)| (s.to_string(), n)).to_vec(),
        "NULL and empty hosts are `mapper-server`: {stats}"
    );

    let (status, london) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(status, 200, "{london}");
    assert_eq!(london["starred"], true, "{london}");
    assert_eq!(london["geo"]["city"], "London", "geolocated: {london}");
    assert_eq!(
        (london["events"].as_u64(), london["failures"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(london["sensors"][0]["sensor"], "web-01", "{london}");
    assert_eq!(london["first_seen"], "2024-03-01T10:00:00Z", "{london}");
    let (_, accepted) = server.get("/api/v1/ips/89.160.20.112").await;
    assert_eq!(accepted["starred"], false, "starred = 0: {accepted}");
    assert_eq!(accepted["recent"][0]["kind"], "accepted", "{accepted}");
    assert_eq!(accepted["sensors"][0]["sensor"], "db-02", "{accepted}");
    let (_, unstarred) = server.get("/api/v1/ips/175.16.199.0").await;
    assert_eq!(unstarred["starred"], false, "starred NULL: {unstarred}");
    assert_eq!(server.get("/api/v1/ips/192.0.2.200").await.0, 404);
    server.stop();

    // More rows than one page (5,000): the new ones only are stored, each once, whatever
    // page boundary they fall on.
    let bulk: Vec<String> = (0..5000)
        .map(|i| {
            format!(
                "('bulk', '198.51.100.{}', DATE_ADD('2024-03-02', INTERVAL {i} SECOND), 0)",
                i % 256
            )
        })
        .collect();
    sqlx::raw_sql(&format!(
        "INSERT INTO attempts (host, ip, stamp, success) VALUES {}",
        bulk.join(",")
    ))
    .execute(&mut conn)
    .await
    .expect("insert many rows");
    let paged = succeeded(&import_mapper(dir.path(), db.url()));
    assert!(
        paged.contains("5007 rows, 5006 events (5000 new, 6 already stored), 1 skipped"),
        "{paged}"
    );
    let paged = succeeded(&import_mapper(dir.path(), db.url()));
    assert!(
        paged.contains("5007 rows, 5006 events (0 new, 5006 already stored), 1 skipped"),
        "{paged}"
    );
    drop(db);
}

#[test]
fn mapper_server_errors_name_the_server_but_never_the_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens on port 1.
    let output = import_mapper(
        dir.path(),
        "mysql://mapper:s3cret-pw@127.0.0.1:1/log_mapper",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "cannot connect to the Mapper-Server database mysql://…@127.0.0.1:1/log_mapper"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
    assert!(!dir.path().join("k.sqlite").exists(), "nothing opened");

    // Neither files nor a database: a usage error.
    let output = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .arg("import")
        .output()
        .expect("run knockmap import");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--from-mapper-server"), "{stderr}");
}
