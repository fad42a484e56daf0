//! `knockmap import`: rotated and compressed files backfilled oldest first, nothing stored
//! twice however often or in whatever form the same lines come back.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

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
