//! Crashes: a real `knockmap sensor` and its `knockmap serve` are killed with SIGKILL at
//! random moments (at least 20 kills) while 200,000 lines are written, with a rename rotation
//! every 20,000 lines; afterwards the database holds exactly one event per line.

use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::many_hosts::create_token;
use super::outage::start_server;
use super::{Server, spawn_sensor};

const LINES: u64 = 200_000;
const ROTATE_EVERY: u64 = 20_000;
const MIN_KILLS: u32 = 20;

/// Line `i`: a failed login from an address of its own (10.a.b.c), so every line is one
/// event and one address, and a line stored twice or lost shows in the counts.
fn line(i: u64) -> String {
    format!(
        "2026-11-21T10:{:02}:{:02}.{:06}+00:00 crash-host sshd[{}]: Failed password for root from 10.{}.{}.{} port 22 ssh2\n",
        (i / 3600) % 60,
        (i / 60) % 60,
        i % 1_000_000,
        1000 + i % 30_000,
        (i >> 16) & 255,
        (i >> 8) & 255,
        i & 255
    )
}

/// Writes every line at a steady pace, rotating `auth.log` → `auth.log.1` → `auth.log.2` …
/// (logrotate's numbering, nothing deleted) every [`ROTATE_EVERY`] lines.
fn writer(dir: &Path, written: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let log = dir.join("auth.log");
        let mut file = std::fs::File::create(&log).expect("create log");
        // Lines still written to the renamed file, as a busy syslogd does before it reopens.
        let mut late = 0;
        for i in 0..LINES {
            if i > 0 && i % ROTATE_EVERY == 0 {
                let generation = i / ROTATE_EVERY;
                for n in (1..generation).rev() {
                    let _ = std::fs::rename(
                        dir.join(format!("auth.log.{n}")),
                        dir.join(format!("auth.log.{}", n + 1)),
                    );
                }
                std::fs::rename(&log, dir.join("auth.log.1")).expect("rotate");
                late = 5;
            }
            if late > 0 {
                late -= 1;
                if late == 0 {
                    file = std::fs::File::create(&log).expect("new log");
                }
            }
            file.write_all(line(i).as_bytes()).expect("write");
            written.store(i + 1, Ordering::Relaxed);
            if i % 500 == 499 {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })
}

/// A `knockmap sensor` with large batches and quick retries.
fn start_sensor(dir: &Path, server: &str, token: &str) -> Child {
    let extra = [
        "--batch-ms",
        "200",
        "--batch-events",
        "2000",
        "--retry-max-secs",
        "1",
    ];
    let (state, log) = (dir.join("sensor-state"), dir.join("auth.log"));
    spawn_sensor(&state, server, token, &log, &extra)
}

/// SIGKILL, and reap.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A small deterministic generator (the seed is printed, so a failure can be replayed).
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

async fn events(server: &Server) -> Option<(u64, u64)> {
    let response = reqwest::get(format!("{}/api/v1/stats", server.base))
        .await
        .ok()?;
    let body = response.bytes().await.ok()?;
    let stats: serde_json::Value = serde_json::from_slice(&body).ok()?;
    Some((stats["events"].as_u64()?, stats["unique_ips"].as_u64()?))
}

#[tokio::test]
async fn killed_sensors_and_servers_lose_nothing_and_store_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = std::env::var("KNOCKMAP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("crash test seed: {seed} (KNOCKMAP_CRASH_SEED replays it)");
    let mut random = Random(seed);

    let token = create_token(dir.path(), "crash", None);
    let mut server = start_server(dir.path(), "127.0.0.1:0");
    let listen = server.base.trim_start_matches("http://").to_string();
    let base = server.base.clone();
    let written = Arc::new(AtomicU64::new(0));
    let writing = writer(dir.path(), written.clone());
    let mut sensor = start_sensor(dir.path(), &base, &token);

    let started = Instant::now();
    let (mut sensor_kills, mut server_kills) = (0u32, 0u32);
    while sensor_kills + server_kills < MIN_KILLS || !writing.is_finished() {
        tokio::time::sleep(Duration::from_millis(300 + random.below(1200))).await;
        if random.below(2) == 0 {
            kill(&mut sensor);
            sensor_kills += 1;
            tokio::time::sleep(Duration::from_millis(random.below(500))).await;
            sensor = start_sensor(dir.path(), &base, &token);
        } else {
            kill(&mut server.child);
            server_kills += 1;
            tokio::time::sleep(Duration::from_millis(random.below(500))).await;
            server = start_server(dir.path(), &listen);
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "still killing after 4 minutes"
        );
    }
    writing.join().expect("writer");
    assert_eq!(written.load(Ordering::Relaxed), LINES);
    eprintln!(
        "{sensor_kills} sensor and {server_kills} server kills in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let deadline = Instant::now() + Duration::from_secs(240);
    let mut last = None;
    while Instant::now() < deadline {
        last = events(&server).await;
        if last == Some((LINES, LINES)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        last,
        Some((LINES, LINES)),
        "(events, distinct addresses) after {sensor_kills} sensor and {server_kills} server kills"
    );
    // Nothing more arrives later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events(&server).await, Some((LINES, LINES)));
    kill(&mut sensor);
    server.stop();
}
