//! A server outage: a real `knockmap sensor` keeps reading and spools to disk while its
//! `knockmap serve` is down for 30 s, through a log rotation whose old file is deleted before
//! the server is back; afterwards every line is stored exactly once and the spool is empty.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::many_hosts::{create_token, failed_lines};
use super::{Server, append, spawn_sensor};

const OUTAGE: Duration = Duration::from_secs(30);

/// Starts `knockmap serve` on `dir`'s database, listening on `listen` (port 0: any).
pub(super) fn start_server(dir: &Path, listen: &str) -> Server {
    Server::start_on(dir, listen, &[])
}

/// A `knockmap sensor` process that retries at least every 2 s, killed when dropped.
struct Sensor(Child);

impl Sensor {
    fn start(state: &Path, server: &str, token: &str, log: &Path) -> Sensor {
        let extra = [
            "--batch-ms",
            "100",
            "--batch-events",
            "50",
            "--retry-max-secs",
            "2",
        ];
        let child = spawn_sensor(state, server, token, log, &extra);
        Sensor(child)
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Appends one line every 20 ms to `log` until stopped; returns how many it wrote.
fn steady_writer(log: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    let written = Arc::new(AtomicU32::new(0));
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let i = written.load(Ordering::Relaxed);
            let line = failed_lines(i..i + 1).remove(0);
            append(&log, &[&line]);
            written.store(i + 1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20));
        }
        written.load(Ordering::Relaxed)
    })
}

fn spool_files(state: &Path) -> Vec<String> {
    std::fs::read_dir(state.join("spool"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_outage_is_spooled_through_a_rotation_and_everything_is_stored_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, state) = (dir.path().join("auth.log"), dir.path().join("sensor-state"));
    let server = start_server(dir.path(), "127.0.0.1:0");
    let listen = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let token = create_token(dir.path(), "edge-outage", None);

    let stop_writing = Arc::new(AtomicBool::new(false));
    let writer = steady_writer(log.clone(), stop_writing.clone());
    let _sensor = Sensor::start(&state, &server.base, &token, &log);
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.get("/api/v1/stats").await.1["events"].as_u64() < Some(10) {
        assert!(
            Instant::now() < deadline,
            "the sensor ships before the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The server dies without a word.
    drop(server);
    let down = Instant::now();
    tokio::time::sleep(OUTAGE / 3).await;
    let spooled = spool_files(&state);
    assert!(
        !spooled.is_empty(),
        "the sensor goes on reading and spools during the outage"
    );
    // Rotation: the old file is read to its end and then deleted before the server is back.
    let rotated = dir.path().join("auth.log.1");
    std::fs::rename(&log, &rotated).expect("rotate");
    tokio::time::sleep(OUTAGE / 3).await;
    std::fs::remove_file(&rotated).expect("delete the rotated file");
    tokio::time::sleep(OUTAGE.saturating_sub(down.elapsed())).await;

    let server = start_server(dir.path(), &listen);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_writing.store(true, Ordering::Relaxed);
    let written = u64::from(writer.join().expect("writer"));
    assert!(written > 1000, "a steady stream: {written} lines");

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stats = server.get("/api/v1/stats").await.1;
    while stats["events"].as_u64() != Some(written) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stats = server.get("/api/v1/stats").await.1;
    }
    assert_eq!(stats["events"].as_u64(), Some(written), "{stats}");
    while !spool_files(&state).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        spool_files(&state),
        Vec::<String>::new(),
        "the spool drained"
    );

    // Nothing arrives twice later, and every line is there by its own port.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["events"].as_u64(), Some(written), "{stats}");
    let (_, ip) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(ip["events"].as_u64(), Some(written), "{ip}");
}

#[tokio::test]
async fn a_stopped_sensor_spools_the_batch_in_hand_before_it_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, state) = (dir.path().join("auth.log"), dir.path().join("sensor-state"));
    let server = start_server(dir.path(), "127.0.0.1:0");
    let listen = server.base.trim_start_matches("http://").to_string();
    let token = create_token(dir.path(), "edge-stop", None);
    append(&log, &[&failed_lines(0..1)[0]]);
    // A batch is only sent when full or a minute old: what is read stays in hand.
    let extra = [
        "--batch-ms",
        "60000",
        "--batch-events",
        "100000",
        "--retry-max-secs",
        "1",
    ];
    let mut sensor = spawn_sensor(&state, &server.base, &token, &log, &extra);
    // The server goes away while the sensor holds lines it has not sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(server);
    let lines = failed_lines(1..40);
    append(&log, &lines.iter().map(String::as_str).collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_millis(700)).await;

    let stopped = Instant::now();
    let _ = Command::new("kill").arg(sensor.id().to_string()).status();
    let status = sensor.wait().expect("the sensor exits");
    assert!(status.success(), "a graceful stop: {status}");
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "stopped in {:?}",
        stopped.elapsed()
    );
    assert!(
        !spool_files(&state).is_empty(),
        "the batch in hand is in the spool"
    );
    // The log is gone (rotated away and deleted): the lines survive only in the spool.
    std::fs::remove_file(&log).expect("delete the log");
    append(
        &log,
        &[
            "2026-11-21T11:00:00.000000+00:00 edge-host sshd[1]: Invalid user z from 81.2.69.142 port 9",
        ],
    );

    let server = start_server(dir.path(), &listen);
    let _sensor = Sensor::start(&state, &server.base, &token, &log);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut stats = server.get("/api/v1/stats").await.1;
    while stats["events"].as_u64() != Some(41) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stats = server.get("/api/v1/stats").await.1;
    }
    assert_eq!(stats["events"].as_u64(), Some(41), "{stats}");
    server.stop();
}
