//! Live fan-out benchmark: many websocket clients on one `knockmap serve` while lines are
//! appended to the log it follows.
//!
//! ```text
//! cargo build --release --locked --bin knockmap --example fanout_bench
//! target/release/examples/fanout_bench [--clients 1000] [--rate 1000] [--seconds 60]
//!     [--bin target/release/knockmap] [--geoip PATH]
//! ```
//!
//! Starts the server on a fresh SQLite database following a fresh log, opens `--clients`
//! websocket clients, then appends `--rate` failed-login lines a second for `--seconds`, each
//! with its sequence number in the user name. Every client counts the events it receives;
//! one client in 20 also reads each event's sequence number and takes the time from the
//! line's append (after its write returned) to the frame's arrival. Server CPU (user +
//! system) and peak RSS come from `/proc`. Prints one JSON object.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Args {
    clients: usize,
    rate: u64,
    seconds: u64,
    bin: PathBuf,
    geoip: PathBuf,
}

fn args() -> BoxResult<Args> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut a = Args {
        clients: 1000,
        rate: 1000,
        seconds: 60,
        bin: root.join("target/release/knockmap"),
        geoip: root.join("crates/knockmap-geo/tests/fixtures/GeoLite2-City-Test.mmdb"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--clients" => a.clients = value.parse()?,
            "--rate" => a.rate = value.parse()?,
            "--seconds" => a.seconds = value.parse()?,
            "--bin" => a.bin = value.into(),
            "--geoip" => a.geoip = value.into(),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    Ok(a)
}

/// CPU seconds (user + system) a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of a process in MiB.
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * sorted.len() as f64) as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "")?;
    let mut server = Command::new(&a.bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-geoip-download",
            "--home",
            "50.1,8.7",
        ])
        .arg("--db")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("k.sqlite").display()
        ))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--geoip")
        .arg(&a.geoip)
        .arg("--source")
        .arg(&log)
        .env("KNOCKMAP_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = server.id();
    let stderr = server.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(url) = line.strip_prefix("knockmap: listening on ") {
                let _ = tx.send(url.trim_end_matches('/').to_string());
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(60))?;
    let ws_url = format!("{}/api/v1/live", base.replacen("http", "ws", 1));

    let total = a.rate * a.seconds;
    let start = Instant::now();
    // When each line was appended, in µs since `start` (0: not yet).
    let appended: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let mut clients = Vec::with_capacity(a.clients);
    for i in 0..a.clients {
        let (socket, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        let appended = appended.clone();
        let sampled = i % 20 == 0;
        clients.push(tokio::spawn(async move {
            let (_, mut read) = socket.split();
            let mut events = 0u64;
            let mut latencies = Vec::new();
            while let Some(Ok(message)) = read.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let now = start.elapsed().as_micros() as u64;
                let text = text.as_str();
                if !text.starts_with(r#"{"type":"events""#) {
                    continue;
                }
                for part in text.split(r#""user":"u"#).skip(1) {
                    events += 1;
                    if sampled
                        && let Some(seq) =
                            part.split('"').next().and_then(|n| n.parse::<usize>().ok())
                        && let Some(at) = appended.get(seq)
                    {
                        let at = at.load(Ordering::Relaxed);
                        if at > 0 {
                            latencies.push(now.saturating_sub(at));
                        }
                    }
                }
                if events >= total {
                    break;
                }
            }
            (events, latencies)
        }));
    }
    let cpu_before = cpu_seconds(pid);
    let mut peak_rss = rss_mib(pid);
    let mut file = std::fs::OpenOptions::new().append(true).open(&log)?;
    let tick = Duration::from_millis(10);
    let per_tick = (a.rate / 100).max(1);
    let begun = Instant::now();
    let mut seq = 0u64;
    let mut next = begun;
    while seq < total {
        let mut lines = String::new();
        let first = seq;
        for _ in 0..per_tick.min(total - seq) {
            lines.push_str(&format!(
                "Dec  7 12:00:00 web-01 sshd[{}]: Failed password for invalid user u{seq} from 81.2.69.{} port {} ssh2\n",
                1000 + seq % 50_000,
                140 + seq % 20,
                1024 + seq % 60_000,
            ));
            seq += 1;
        }
        file.write_all(lines.as_bytes())?;
        let at = start.elapsed().as_micros() as u64;
        for s in first..seq {
            appended[s as usize].store(at, Ordering::Relaxed);
        }
        if seq.is_multiple_of(a.rate) {
            peak_rss = peak_rss.max(rss_mib(pid));
        }
        next += tick;
        tokio::time::sleep_until(next.into()).await;
    }
    let writing = begun.elapsed().as_secs_f64();
    // Let the last frames arrive.
    let mut received = Vec::new();
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for client in clients {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, client).await {
            Ok(Ok((events, mut l))) => {
                received.push(events);
                latencies.append(&mut l);
            }
            _ => received.push(0),
        }
    }
    let cpu = cpu_seconds(pid) - cpu_before;
    peak_rss = peak_rss.max(rss_mib(pid));
    let _ = server.kill();
    let _ = server.wait();
    latencies.sort_unstable();
    let complete = received.iter().filter(|&&n| n == total).count();
    println!(
        "{}",
        serde_json::json!({
            "clients": a.clients,
            "rate_per_s": a.rate,
            "seconds": a.seconds,
            "events": total,
            "clients_with_every_event": complete,
            "fewest_events_received": received.iter().min(),
            "latency_ms": {
                "samples": latencies.len(),
                "p50": percentile(&latencies, 50.0),
                "p95": percentile(&latencies, 95.0),
                "p99": percentile(&latencies, 99.0),
                "max": percentile(&latencies, 100.0),
            },
            "server_cpu_percent_of_one_core": 100.0 * cpu / writing,
            "server_peak_rss_mib": peak_rss,
        })
    );
    Ok(())
}
