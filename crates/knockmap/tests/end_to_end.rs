//! End to end: the real `knockmap` binary following a real log file, answering over HTTP and a
//! websocket.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const CITY_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../knockmap-geo/tests/fixtures/GeoLite2-City-Test.mmdb"
);
#[path = "end_to_end/crash.rs"]
mod crash;
#[path = "end_to_end/import.rs"]
mod import;
#[path = "end_to_end/many_hosts.rs"]
mod many_hosts;
#[path = "end_to_end/openssh.rs"]
mod openssh;
#[path = "end_to_end/outage.rs"]
mod outage;

const HOSTILE_USER: &str = "<img src=x onerror=alert(1)>";

/// A `knockmap serve` process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(dir: &Path, log: &Path) -> Server {
        Server::start_with(dir, &["--source".as_ref(), log.as_os_str()])
    }

    /// Starts `knockmap serve` on `dir`'s database with extra arguments.
    fn start_with(dir: &Path, extra: &[&std::ffi::OsStr]) -> Server {
        Server::start_on(dir, "127.0.0.1:0", extra)
    }

    /// Starts `knockmap serve` on `dir`'s database, listening on `listen` (port 0: any).
    fn start_on(dir: &Path, listen: &str, extra: &[&std::ffi::OsStr]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_knockmap"))
            .args([
                "serve",
                "--listen",
                listen,
                "--no-geoip-download",
                "--home",
                "50.1,8.7",
            ])
            .arg("--db")
            .arg(format!("sqlite://{}", dir.join("k.sqlite").display()))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--geoip")
            .arg(CITY_DB)
            .args(extra)
            .env("KNOCKMAP_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start knockmap serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                if let Some(url) = line.strip_prefix("knockmap: listening on ") {
                    let _ = tx.send(url.trim_end_matches('/').to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server printed its address");
        Server { child, base }
    }

    fn stop(mut self) {
        // SIGTERM: a graceful stop that commits the checkpoint.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("GET");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).expect("JSON body"))
    }

    /// Polls `/api/v1/stats` until `events` reaches `n` (or fails after 10 s).
    async fn wait_for_events(&self, n: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, stats) = self.get("/api/v1/stats").await;
            if stats["events"].as_u64() == Some(n) || Instant::now() > deadline {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `knockmap sensor` shipping `log` to `server` with `token`, its state in `state`,
/// with extra arguments; its standard error is echoed with a `[sensor]` prefix.
fn spawn_sensor(state: &Path, server: &str, token: &str, log: &Path, extra: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["sensor", "--server", server])
        .args(extra)
        .arg("--source")
        .arg(log)
        .arg("--state-dir")
        .arg(state)
        .env("KNOCKMAP_TOKEN", token)
        .env("KNOCKMAP_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start knockmap sensor");
    let stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[sensor] {line}");
        }
    });
    child
}

fn append(log: &Path, lines: &[&str]) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .expect("open log");
    for line in lines {
        writeln!(file, "{line}").expect("append");
    }
}

fn temp_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("auth.log");
    (dir, log)
}

#[tokio::test]
async fn appended_lines_reach_the_websocket_within_a_second_and_every_endpoint() {
    let (dir, log) = temp_log();
    // History written before the server starts is backfilled.
    append(
        &log,
        &[
            "Nov 20 08:00:00 web-01 sshd[10]: Failed password for root from 175.16.199.0 port 4000 ssh2",
        ],
    );
    let server = Server::start(dir.path(), &log);
    assert_eq!(server.wait_for_events(1).await["events"], 1);

    let ws_url = format!("{}/api/v1/live", server.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("websocket");
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["meta"]["home"]["lat"], 50.1);
    // The answers say how many live batches were published when they were begun; the same
    // count in the hello tells the page that nothing was stored in between.
    let published = |path: &'static str| {
        let url = format!("{}{path}", server.base);
        async move {
            let answer = reqwest::get(url).await.expect("GET");
            answer
                .headers()
                .get("x-knockmap-published")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .expect("an x-knockmap-published header")
        }
    };
    let before = published("/api/v1/stats").await;
    assert!(before >= 1, "the backfilled line was published");
    assert_eq!(hello["published"], before, "{hello}");
    assert_eq!(published("/api/v1/markers?format=columns").await, before);

    let appended = Instant::now();
    append(
        &log,
        &[
            &format!(
                "2026-11-21T19:16:01.123456+00:00 web-01 sshd-session[1234]: Failed password for invalid user {HOSTILE_USER} from 81.2.69.142 port 51122 ssh2"
            ),
            "2026-11-21T19:16:02.000000+00:00 web-01 sshd-session[1235]: Accepted publickey for deploy from 89.160.20.112 port 40000 ssh2: ED25519 SHA256:abc",
            "2026-11-21T19:16:03.000000+00:00 web-01 sshd-session[1236]: Invalid user admin from 2001:db8::1 port 2222",
            "2026-11-21T19:16:04.000000+00:00 web-01 CRON[99]: pam_unix(cron:session): session opened for user root",
            "2026-11-21T19:16:05.000000+00:00 web-01 sshd-session[1237]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
        ],
    );
    let mut live = Vec::new();
    while live.len() < 3 {
        let frame = tokio::time::timeout(
            Duration::from_secs(1).saturating_sub(appended.elapsed()),
            next_json(&mut socket),
        )
        .await
        .expect("the events arrive on the websocket within 1 s of being appended");
        assert_eq!(frame["type"], "events");
        live.extend(
            frame["events"]
                .as_array()
                .expect("events array")
                .iter()
                .cloned(),
        );
    }
    assert!(published("/api/v1/markers").await > before);
    assert_eq!(
        live.len(),
        3,
        "only sshd lines about a remote address are events: {live:?}"
    );
    assert_eq!(live[0]["user"], HOSTILE_USER);
    assert_eq!(live[0]["geo"]["city"], "London");
    assert_eq!(live[0]["ip_events"], 1);
    assert_eq!(live[1]["kind"], "accepted");
    assert_eq!(live[1]["outcome"], "success");
    assert_eq!(live[2]["ip"], "2001:db8::1");
    assert!(
        live[2].get("geo").is_none(),
        "a documentation address has no location"
    );

    let (status, stats) = server.get("/api/v1/stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["events"], 4);
    assert_eq!(stats["attempts"], 3, "failed + accepted: {stats}");
    assert_eq!(stats["successes"], 1);
    assert_eq!(stats["unique_ips"], 4);
    assert_eq!(stats["countries"], 3, "CN, GB, SE: {stats}");
    assert_eq!(stats["unlocated_ips"], 1);
    assert_eq!(stats["last_event"], "2026-11-21T19:16:03Z");
    assert!(
        stats["top_users"]
            .as_array()
            .expect("top users")
            .iter()
            .any(|u| u["key"] == HOSTILE_USER)
    );

    let (_, markers) = server.get("/api/v1/markers").await;
    let located = markers["markers"].as_array().expect("markers");
    assert_eq!(located.len(), 3);
    let london = located
        .iter()
        .find(|m| m["ip"] == "81.2.69.142")
        .expect("London marker");
    assert_eq!(
        (london["lat"].as_f64(), london["failures"].as_u64()),
        (Some(51.5142), Some(1))
    );
    assert_eq!(markers["unlocated"][0]["ip"], "2001:db8::1");

    // The same answer in columns, as the map reads it: row for row the same addresses.
    let (status, columns) = server.get("/api/v1/markers?format=columns").await;
    assert_eq!(status, 200);
    let ips: Vec<&Value> = located.iter().map(|m| &m["ip"]).collect();
    let column_ips: Vec<&Value> = columns["markers"]["ip"]
        .as_array()
        .expect("ip column")
        .iter()
        .collect();
    assert_eq!(column_ips, ips);
    let row = column_ips
        .iter()
        .position(|ip| *ip == "81.2.69.142")
        .expect("London row");
    assert_eq!(columns["markers"]["lat"][row].as_f64(), Some(51.5142));
    assert_eq!(columns["markers"]["failures"][row], 1);
    let country = columns["markers"]["country"][row]
        .as_u64()
        .expect("country index");
    assert_eq!(columns["countries"][country as usize], "GB");
    assert_eq!(columns["unlocated"]["ip"][0], "2001:db8::1");
    assert_eq!(server.get("/api/v1/markers?format=xml").await.0, 400);

    let (_, window) = server
        .get("/api/v1/markers?since=2026-11-21T00:00:00Z")
        .await;
    assert_eq!(
        window["markers"].as_array().map(Vec::len),
        Some(2),
        "the window drops November 20th"
    );

    let (status, ip) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(status, 200);
    assert_eq!(ip["users"][0]["user"], HOSTILE_USER);
    assert_eq!(ip["geo"]["city"], "London");
    assert_eq!(ip["geo"]["country"], "United Kingdom");
    assert_eq!(ip["hosts"][0], "web-01");
    assert_eq!(
        ip["links"]["shodan"],
        "https://www.shodan.io/host/81.2.69.142"
    );
    assert_eq!(ip["recent"][0]["port"], 51122);

    let (_, recent) = server.get("/api/v1/recent?limit=2").await;
    assert_eq!(recent["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(recent["events"][0]["ip"], "2001:db8::1", "newest first");

    // Bad input: clear JSON errors with the right status.
    assert_eq!(server.get("/api/v1/ips/%3Cscript%3E").await.0, 400);
    assert_eq!(server.get("/api/v1/ips/192.0.2.99").await.0, 404);
    let (status, error) = server.get("/api/v1/stats?since=yesterday").await;
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("RFC 3339")
    );
    assert_eq!(server.get("/api/v1/recent?limit=0").await.0, 400);
    let (status, health) = server.get("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn start_at_end_skips_what_a_new_log_already_holds() {
    let (dir, log) = temp_log();
    let old =
        "Nov 21 19:16:01 web-01 sshd[1]: Failed password for root from 81.2.69.142 port 1 ssh2";
    append(&log, &[old, old]);
    let server = Server::start_with(
        dir.path(),
        &[
            "--source".as_ref(),
            log.as_os_str(),
            "--start-at".as_ref(),
            "end".as_ref(),
        ],
    );
    // The follower has taken its position once a later line arrives alone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    append(
        &log,
        &["Nov 21 19:16:02 web-01 sshd[2]: Invalid user new from 81.2.69.142 port 2"],
    );
    let stats = server.wait_for_events(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, again) = server.get("/api/v1/stats").await;
    assert_eq!(
        (stats["events"].as_u64(), again["events"].as_u64()),
        (Some(1), Some(1)),
        "{again}"
    );
    server.stop();
}

#[tokio::test]
async fn restarts_and_rereading_the_whole_log_count_nothing_twice() {
    let (dir, log) = temp_log();
    let lines: Vec<String> = (0..50)
        .map(|i| format!("Nov 21 10:00:{:02} web-01 sshd[{i}]: Failed password for root from 81.2.69.142 port {} ssh2", i % 60, 1000 + i))
        .collect();
    let line_refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    append(&log, &line_refs[..30]);

    let server = Server::start(dir.path(), &log);
    assert_eq!(server.wait_for_events(30).await["events"], 30);
    server.stop();

    // Lines written while the server is down are read on restart, once.
    append(&log, &line_refs[30..]);
    let server = Server::start(dir.path(), &log);
    assert_eq!(server.wait_for_events(50).await["events"], 50);
    server.stop();

    // Forget every read position: the whole file is read again, and nothing is stored twice.
    std::fs::remove_dir_all(dir.path().join("data/checkpoints")).expect("remove checkpoints");
    let server = Server::start(dir.path(), &log);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["events"], 50, "re-reading is a no-op: {stats}");
    let (_, ip) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(ip["events"], 50);
}

#[test]
fn parse_prints_contract_json_lines() {
    let (dir, log) = temp_log();
    append(
        &log,
        &[
            "Nov 21 19:16:01 web-01 sshd[1234]: Failed password for invalid user root from 6.6.6.6 port 22 from 203.0.113.7 port 51122 ssh2",
            "Nov 21 19:16:02 web-01 sshd[1234]: Server listening on 0.0.0.0 port 22.",
            "2026-11-21T19:16:03.500000+01:00 web-02 sshd-session[77]: Connection closed by authenticating user admin 2001:db8::7 port 4242 [preauth]",
        ],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["parse", "--year", "2026", "--timezone", "UTC", "--stats"])
        .arg(&log)
        .output()
        .expect("run knockmap parse");
    assert!(output.status.success());
    let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["ts"], "2026-11-21T19:16:01Z");
    assert_eq!(
        events[0]["ip"], "203.0.113.7",
        "the last ` from IP port N` wins"
    );
    assert_eq!(events[0]["user"], "root from 6.6.6.6 port 22");
    assert_eq!(events[0]["offset"], 0);
    assert_eq!(events[1]["ts"], "2026-11-21T18:16:03.5Z");
    assert_eq!(events[1]["kind"], "disconnect");
    assert!(events[1].get("pid").is_some() && events[1].get("rhost").is_none());
    let stats = String::from_utf8_lossy(&output.stderr);
    assert_eq!(summary_value(&stats, "sshd lines:"), Some(3), "{stats}");
    assert_eq!(summary_value(&stats, "events:"), Some(2), "{stats}");

    // --count classifies without printing events; --unmatched shows unknown sshd forms,
    // escaped so that a hostile line cannot drive the terminal.
    append(
        &log,
        &["Nov 21 19:16:09 web-01 sshd[9]: Some future message \x1b[31mred from 198.51.100.1"],
    );
    let count = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["parse", "--count"])
        .arg(&log)
        .output()
        .expect("run");
    assert!(count.status.success() && count.stdout.is_empty());
    let stats = String::from_utf8_lossy(&count.stderr);
    assert_eq!(
        summary_value(&stats, "unmatched sshd lines:"),
        Some(1),
        "{stats}"
    );
    let unmatched = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["parse", "--unmatched"])
        .arg(&log)
        .output()
        .expect("run");
    let printed = String::from_utf8_lossy(&unmatched.stdout);
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(
        printed.contains("Some future message \\u{1b}[31mred") && !printed.contains('\x1b'),
        "{printed}"
    );

    // --generic: any line with an address is a probe for it; sshd lines keep their kinds.
    let web_log = dir.path().join("access.log");
    std::fs::write(
        &web_log,
        "203.0.113.50 - - [21/Nov/2026:19:20:00 +0000] \"GET /wp-login.php HTTP/1.1\" 404 153\n\
         no address on this line\n",
    )
    .expect("write access log");
    let generic = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["parse", "--generic"])
        .arg(&web_log)
        .arg(&log)
        .output()
        .expect("run");
    let events: Vec<Value> = String::from_utf8_lossy(&generic.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(
        (events[0]["kind"].as_str(), events[0]["ip"].as_str()),
        (Some("probe"), Some("203.0.113.50"))
    );
    assert_eq!(events[1]["kind"], "failed");
    assert!(
        events
            .iter()
            .any(|e| e["ip"] == "198.51.100.1" && e["kind"] == "probe"),
        "{events:?}"
    );
    drop(dir);
}

/// The number after `label` in a `--stats` summary.
fn summary_value(summary: &str, label: &str) -> Option<u64> {
    summary
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.trim().parse().ok())
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).expect("JSON frame");
            }
            Some(Ok(_)) => continue,
            other => panic!("websocket ended: {other:?}"),
        }
    }
}

/// The raw body of a GET, with its status.
async fn get_text(server: &Server, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}{path}", server.base))
        .await
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn public_mode_shows_networks_and_nothing_more() {
    let (dir, log) = temp_log();
    let secret_user = "hunter2-typed-as-user";
    append(
        &log,
        &[
            &format!(
                "Nov 20 08:00:00 web-01 sshd[10]: Failed password for invalid user {secret_user} from 81.2.69.142 port 4000 ssh2"
            ),
            "Nov 20 08:00:01 web-01 sshd[11]: Failed password for root from 81.2.69.160 port 4001 ssh2",
            "Nov 20 08:00:02 web-01 sshd[12]: Invalid user oracle from 10.20.30.40 port 4002",
        ],
    );
    let server = Server::start_with(
        dir.path(),
        &["--source".as_ref(), log.as_os_str(), "--public".as_ref()],
    );
    assert_eq!(server.wait_for_events(3).await["events"], 3);

    // The live frame of a new event, anonymised like every answer.
    let ws_url = format!("{}/api/v1/live", server.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("websocket");
    let hello = next_json(&mut socket).await;
    assert_eq!(hello["meta"]["public"], true, "{hello}");
    append(
        &log,
        &[&format!(
            "Nov 20 08:00:03 web-01 sshd[13]: Failed password for invalid user {secret_user} from 81.2.69.142 port 4003 ssh2"
        )],
    );
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["type"], "events", "{frame}");
    assert_eq!(frame["events"][0]["ip"], "81.2.69.0/24", "{frame}");
    for hidden in ["id", "port", "pid", "host", "user", "method", "ip_events"] {
        assert!(
            frame["events"][0].get(hidden).is_none(),
            "{hidden}: {frame}"
        );
    }
    let mut bodies = vec![("live frame".to_string(), frame.to_string())];

    for path in [
        "/api/v1/stats",
        "/api/v1/markers",
        "/api/v1/markers?format=columns",
        "/api/v1/recent",
        "/api/v1/meta",
        "/api/v1/session",
    ] {
        let (status, body) = get_text(&server, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        bodies.push((path.to_string(), body));
    }
    for (what, body) in &bodies {
        for secret in [
            "81.2.69.142",
            "81.2.69.160",
            "10.20.30.40",
            secret_user,
            "web-01",
        ] {
            assert!(!body.contains(secret), "{secret} in {what}: {body}");
        }
    }
    let (_, markers) = server.get("/api/v1/markers").await;
    assert_eq!(markers["markers"][0]["ip"], "81.2.69.0/24", "{markers}");
    assert_eq!(
        markers["markers"][0]["events"], 3,
        "both addresses merged: {markers}"
    );
    assert_eq!(markers["unlocated"][0]["ip"], "10.20.30.0/24", "{markers}");
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["unique_ips"], 3, "{stats}");
    assert_eq!(stats["top_users"], serde_json::json!([]), "{stats}");
    // Nor can a visitor ask which names were tried by filtering on them.
    for path in [
        format!("/api/v1/stats?user={secret_user}"),
        "/api/v1/markers?user=root".into(),
    ] {
        let (status, body) = get_text(&server, &path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("hides user names"), "{body}");
    }

    // No address pages, no admin, no metrics.
    assert_eq!(get_text(&server, "/api/v1/ips/81.2.69.142").await.0, 404);
    assert_eq!(get_text(&server, "/metrics").await.0, 404);
    assert_eq!(get_text(&server, "/api/v1/sensors").await.0, 403);
    let star = reqwest::Client::new()
        .post(format!("{}/api/v1/ips/81.2.69.142/star", server.base))
        .bearer_auth("anything")
        .header("content-type", "application/json")
        .body(r#"{"starred": true}"#)
        .send()
        .await
        .expect("POST star");
    assert_eq!(star.status().as_u16(), 403);
    server.stop();

    // User names only when asked for.
    let server = Server::start_with(
        dir.path(),
        &["--public".as_ref(), "--public-show-users".as_ref()],
    );
    let (_, recent) = get_text(&server, "/api/v1/recent").await;
    assert!(recent.contains(secret_user), "{recent}");
    assert!(!recent.contains("81.2.69.142"), "{recent}");
    let (status, stats) = server
        .get(&format!("/api/v1/stats?user={secret_user}"))
        .await;
    assert_eq!(
        (status, &stats["events"]),
        (200, &serde_json::json!(2)),
        "{stats}"
    );
    server.stop();

    // Public mode has no admin: asking for both is refused with a reason.
    let output = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args([
            "serve",
            "--public",
            "--admin-password",
            "x",
            "--no-geoip-download",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run knockmap serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--public has no admin routes"), "{stderr}");
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it() {
    let (dir, log) = temp_log();
    append(
        &log,
        &[
            "Nov 20 08:00:00 web-01 sshd[10]: Failed password for root from 81.2.69.142 port 4000 ssh2",
        ],
    );
    let server = Server::start(dir.path(), &log);
    assert_eq!(server.wait_for_events(1).await["events"], 1);
    let path = "/api/v1/markers?format=columns";
    let plain = reqwest::get(format!("{}{path}", server.base))
        .await
        .expect("GET");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.expect("body");
    // The answer to a client that accepts `encodings`: its encoding and its body.
    let fetch = |encodings: &'static str| {
        let url = format!("{}{path}", server.base);
        async move {
            let answer = reqwest::Client::new()
                .get(url)
                .header("accept-encoding", encodings)
                .send()
                .await
                .expect("GET");
            let encoding = answer
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            (encoding, answer.bytes().await.expect("body"))
        }
    };
    let (encoding, gzipped) = fetch("gzip").await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut body)
        .expect("valid gzip");
    assert_eq!(body, plain, "the same answer");
    // Browsers also accept zstd, which is preferred: faster to compress.
    let (encoding, zstd) = fetch("gzip, deflate, br, zstd").await;
    assert_eq!(encoding.as_deref(), Some("zstd"));
    let body = zstd::decode_all(&zstd[..]).expect("valid zstd");
    assert_eq!(body, plain, "the same answer");
    server.stop();
}
