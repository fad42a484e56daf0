//! Many hosts: sensor tokens through the CLI, `POST /api/v1/ingest`, and a real
//! `knockmap sensor` process shipping a log to a real `knockmap serve`.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Server, append, spawn_sensor};

/// Runs `knockmap token ARGS` on the database the test server of `dir` uses.
fn token_cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .arg("token")
        .args(args)
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("k.sqlite").display()))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("KNOCKMAP_LOG", "warn")
        .output()
        .expect("run knockmap token")
}

/// Creates a sensor and returns its token.
pub(super) fn create_token(dir: &Path, name: &str, location: Option<&str>) -> String {
    let mut args = vec!["create", name];
    if let Some(location) = location {
        args.extend(["--location", location]);
    }
    let output = token_cli(dir, &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One wire event (the event contract plus `source`) from London's test address.
fn wire_event(offset: u64) -> String {
    format!(
        r#"{{"ts":"2026-11-21T19:16:01Z","host":"edge","kind":"failed","ip":"81.2.69.142","port":{},"user":"root","method":"password","count":1,"offset":{offset},"source":"fp-test"}}"#,
        40000 + offset
    )
}

fn batch(offsets: impl IntoIterator<Item = u64>) -> Vec<u8> {
    offsets
        .into_iter()
        .map(|o| wire_event(o) + "\n")
        .collect::<String>()
        .into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

/// Posts a body to `/api/v1/ingest`; `gzipped` sets `Content-Encoding: gzip`.
async fn ingest(
    server: &Server,
    token: Option<&str>,
    body: Vec<u8>,
    gzipped: bool,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", server.base))
        .header("content-type", "application/x-ndjson")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.send().await.expect("POST /api/v1/ingest");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn tokens_are_created_listed_and_revoked_through_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let first = create_token(dir, "edge-1", Some("35.68,139.69"));
    assert_eq!(first.len(), 64, "{first}");
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));

    let again = token_cli(dir, &["create", "edge-1"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let bad = token_cli(dir, &["create", "no spaces\u{1b}[31m"]);
    assert!(!bad.status.success() && !stderr(&bad).contains('\u{1b}'));

    let list = token_cli(dir, &["list"]);
    assert!(list.status.success());
    let text = stdout(&list);
    let row = text
        .lines()
        .find(|l| l.starts_with("edge-1 "))
        .unwrap_or_else(|| panic!("edge-1 is listed: {text}"));
    assert!(row.contains("35.68,139.69"), "{text}");
    assert!(row.ends_with("-"), "never seen, not revoked: {text}");
    assert!(text.starts_with("NAME"), "{text}");

    assert!(token_cli(dir, &["revoke", "edge-1"]).status.success());
    let text = stdout(&token_cli(dir, &["list"]));
    let row = text
        .lines()
        .find(|l| l.starts_with("edge-1 "))
        .unwrap_or_else(|| panic!("edge-1 is still listed: {text}"));
    assert!(row.ends_with('Z'), "the revocation time is shown: {text}");
    let twice = token_cli(dir, &["revoke", "edge-1"]);
    assert!(!twice.status.success() && stderr(&twice).contains("no sensor named edge-1"));
    assert!(!token_cli(dir, &["revoke", "nobody"]).status.success());

    // A revoked name can be given a new token.
    let second = create_token(dir, "edge-1", None);
    assert_ne!(first, second);
}

#[tokio::test]
async fn remote_batches_are_authenticated_validated_and_stored_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir.path(), &[]);
    let token = create_token(dir.path(), "edge-1", Some("35.68,139.69"));

    // No token, a wrong token: 401 with a JSON error, nothing read.
    let (status, error) = ingest(&server, None, batch([0]), false).await;
    assert_eq!(status, 401);
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Bearer"),
        "{error}"
    );
    let wrong = "0".repeat(64);
    assert_eq!(
        ingest(&server, Some(&wrong), batch([0]), false).await.0,
        401
    );

    let (status, answer) = ingest(&server, Some(&token), batch([0, 100, 200]), false).await;
    assert_eq!(
        (
            status,
            answer["accepted"].as_u64(),
            answer["duplicates"].as_u64()
        ),
        (200, Some(3), Some(0)),
        "{answer}"
    );
    let stats = server.wait_for_events(3).await;
    assert_eq!(stats["events"], 3);
    assert_eq!(
        stats["top_sensors"][0]["key"], "edge-1",
        "the sensor is named by its token"
    );

    // The same batch again: every event is a duplicate.
    let (status, answer) = ingest(&server, Some(&token), batch([0, 100, 200]), false).await;
    assert_eq!(
        (
            status,
            answer["accepted"].as_u64(),
            answer["duplicates"].as_u64()
        ),
        (200, Some(0), Some(3))
    );

    // Gzip is accepted.
    let (status, answer) = ingest(&server, Some(&token), gzip(&batch([300, 400])), true).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(2)),
        "{answer}"
    );

    // A malformed second line refuses the whole batch, and says which line.
    let mut bad = batch([500]);
    bad.extend_from_slice(b"{\"ts\":\"2026-11-21T19:16:01Z\",\"kind\":\"failed\"\n");
    bad.extend(batch([600]));
    let (status, error) = ingest(&server, Some(&token), bad, false).await;
    assert_eq!(status, 400);
    let message = error["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("line 2:") && message.contains("nothing"),
        "{message}"
    );
    // A line without its source is refused too.
    let no_source = wire_event(700).replace(r#","source":"fp-test""#, "");
    let (status, error) = ingest(&server, Some(&token), no_source.into_bytes(), false).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("source"),
        "{error}"
    );

    // Over the limit, as sent or after decompression (a gzip bomb): 413.
    let huge = vec![b'\n'; 17 * 1024 * 1024];
    let (status, error) = ingest(&server, Some(&token), gzip(&huge), true).await;
    assert_eq!(status, 413, "{error}");
    let (status, _) = ingest(&server, Some(&token), huge, false).await;
    assert_eq!(status, 413);
    let (status, _) = ingest(&server, Some(&token), b"not gzip".to_vec(), true).await;
    assert_eq!(status, 400);

    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["events"], 5, "nothing from refused batches: {stats}");
    let (_, ip) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(ip["sensors"][0]["sensor"], "edge-1");
    assert_eq!(ip["geo"]["city"], "London", "remote events are geolocated");

    // The sensor's location is where its arcs land.
    let (_, meta) = server.get("/api/v1/meta").await;
    let sensors = meta["sensors"].as_array().expect("sensors");
    assert!(
        sensors
            .iter()
            .any(|s| s["name"] == "edge-1" && s["lat"] == 35.68 && s["lon"] == 139.69),
        "{meta}"
    );
    let list = stdout(&token_cli(dir.path(), &["list"]));
    let row = list
        .lines()
        .find(|l| l.starts_with("edge-1 "))
        .unwrap_or_default();
    assert_eq!(row.matches('Z').count(), 2, "created and last seen: {list}");

    // Revocation takes effect with the next request.
    assert!(
        token_cli(dir.path(), &["revoke", "edge-1"])
            .status
            .success()
    );
    let (status, _) = ingest(&server, Some(&token), batch([800]), false).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn stats_and_markers_narrow_to_a_sensor_and_a_country() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("auth.log");
    append(
        &log,
        &[
            "2026-11-21T10:00:00.000000+00:00 web-01 sshd-session[1]: Failed password for root from 175.16.199.0 port 4000 ssh2",
            "2026-11-21T10:00:01.000000+00:00 web-01 sshd-session[2]: Failed password for root from 81.2.69.142 port 4001 ssh2",
            "2026-11-21T10:00:02.000000+00:00 web-01 sshd-session[3]: Invalid user admin from 2001:db8::1 port 2222",
        ],
    );
    let server = Server::start(dir.path(), &log);
    let token = create_token(dir.path(), "edge-1", None);
    let (status, _) = ingest(&server, Some(&token), batch([0, 1, 2]), false).await;
    assert_eq!(status, 200);
    assert_eq!(server.wait_for_events(6).await["events"], 6);

    // One sensor: only what it read, counted and listed as such.
    let (status, stats) = server.get("/api/v1/stats?sensor=edge-1").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (&stats["events"], &stats["unique_ips"], &stats["countries"]),
        (&json!(3), &json!(1), &json!(1)),
        "{stats}"
    );
    assert_eq!(
        stats["top_sensors"],
        json!([{"key": "edge-1", "count": 3}]),
        "{stats}"
    );
    // One country, in any case: both sensors' events from the British address.
    let (_, stats) = server.get("/api/v1/stats?country=gb").await;
    assert_eq!(
        (&stats["events"], &stats["unique_ips"]),
        (&json!(4), &json!(1))
    );
    assert_eq!(stats["top_countries"][0]["key"], "GB", "{stats}");
    assert_eq!(
        stats["top_sensors"].as_array().map(Vec::len),
        Some(2),
        "{stats}"
    );
    // Both at once.
    let (_, stats) = server.get("/api/v1/stats?sensor=local&country=GB").await;
    assert_eq!(stats["events"], 1, "{stats}");
    assert_eq!(stats["last_event"], "2026-11-21T10:00:01Z", "{stats}");
    // A valid country nobody came from: zeros.
    let (status, stats) = server.get("/api/v1/stats?country=zz").await;
    assert_eq!(status, 200);
    assert_eq!(
        (&stats["events"], &stats["last_event"]),
        (&json!(0), &Value::Null)
    );
    assert_eq!(stats["top_ips"], json!([]), "{stats}");

    let (_, markers) = server.get("/api/v1/markers?country=CN").await;
    let located = markers["markers"].as_array().expect("markers");
    assert_eq!(located.len(), 1, "{markers}");
    assert_eq!(located[0]["ip"], "175.16.199.0");
    assert_eq!(markers["unlocated"], json!([]), "{markers}");
    let (_, markers) = server.get("/api/v1/markers?sensor=edge-1").await;
    assert_eq!(
        (
            &markers["markers"][0]["ip"],
            &markers["markers"][0]["events"]
        ),
        (&json!("81.2.69.142"), &json!(3)),
        "{markers}"
    );
    assert_eq!(markers["markers"].as_array().map(Vec::len), Some(1));
    let (_, markers) = server.get("/api/v1/markers?sensor=local").await;
    assert_eq!(markers["unlocated"][0]["ip"], "2001:db8::1", "{markers}");

    // Bad filters: 400 with a clear message.
    for (query, message) in [
        ("stats?country=GBR", "two-letter"),
        ("stats?country=", "country must not be empty"),
        ("stats?sensor=", "sensor must not be empty"),
        ("markers?country=1x", "two-letter"),
        ("markers?sensor=", "sensor must not be empty"),
    ] {
        let (status, error) = server.get(&format!("/api/v1/{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert!(
            error["error"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{query}: {error}"
        );
    }
    let long = "s".repeat(201);
    let (status, error) = server.get(&format!("/api/v1/stats?sensor={long}")).await;
    assert_eq!(status, 400, "{error}");

    // The latest events are not narrowed.
    let (status, recent) = server.get("/api/v1/recent?sensor=edge-1&country=CN").await;
    assert_eq!(status, 200);
    assert_eq!(
        recent["events"].as_array().map(Vec::len),
        Some(6),
        "{recent}"
    );
}

/// A `knockmap sensor` process, killed (SIGKILL) when dropped.
pub(super) struct Sensor {
    child: Child,
}

impl Sensor {
    pub(super) fn start(dir: &Path, server: &Server, token: &str, log: &Path) -> Sensor {
        let state = dir.join("sensor-state");
        let child = spawn_sensor(&state, &server.base, token, log, &["--batch-ms", "100"]);
        Sensor { child }
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn failed_lines(range: std::ops::Range<u32>) -> Vec<String> {
    range
        .map(|i| {
            format!(
                "2026-11-21T10:{:02}:{:02}.000000+00:00 edge-host sshd-session[{i}]: Failed password for root from 81.2.69.142 port {} ssh2",
                i / 60,
                i % 60,
                10000 + i
            )
        })
        .collect()
}

fn append_all(log: &Path, lines: &[String]) {
    append(log, &lines.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_sensor_ships_its_log_and_a_killed_sensor_resumes_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir.path(), &[]);
    let token = create_token(dir.path(), "edge-2", Some("-33.87,151.21"));
    let log = dir.path().join("auth.log");
    append_all(&log, &failed_lines(0..20));

    let sensor = Sensor::start(dir.path(), &server, &token, &log);
    let stats = server.wait_for_events(20).await;
    assert_eq!(stats["events"], 20, "{stats}");
    assert_eq!(stats["top_sensors"][0]["key"], "edge-2");

    // New lines, then SIGKILL while they may be in flight: no graceful checkpoint.
    let appended = Instant::now();
    append_all(&log, &failed_lines(20..40));
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(sensor);
    append_all(&log, &failed_lines(40..60));

    let sensor = Sensor::start(dir.path(), &server, &token, &log);
    append_all(&log, &failed_lines(60..80));
    let stats = server.wait_for_events(80).await;
    assert_eq!(stats["events"], 80, "{stats}");
    assert!(appended.elapsed() < Duration::from_secs(10));
    // Give a resend a chance to show up as a double count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["events"], 80, "every line exactly once: {stats}");
    let (_, ip) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(ip["events"], 80);
    assert_eq!(ip["sensors"][0]["sensor"], "edge-2");
    let (_, recent) = server.get("/api/v1/recent?limit=1000").await;
    let mut ports: Vec<u64> = recent["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["port"].as_u64())
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, (10000..10080).collect::<Vec<u64>>());
    drop(sensor);

    // A sensor that lost its read positions resends the whole log: a no-op on the server.
    std::fs::remove_dir_all(dir.path().join("sensor-state")).expect("remove sensor state");
    let _sensor = Sensor::start(dir.path(), &server, &token, &log);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, stats) = server.get("/api/v1/stats").await;
    assert_eq!(stats["events"], 80, "resending is a no-op: {stats}");
}

#[test]
fn a_sensor_with_a_refused_token_exits_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with(dir.path(), &[]);
    let log = dir.path().join("auth.log");
    append_all(&log, &failed_lines(0..1));
    let output = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["sensor", "--server", &server.base, "--token", "not-a-token"])
        .arg("--source")
        .arg(&log)
        .arg("--state-dir")
        .arg(dir.path().join("sensor-state"))
        .env("KNOCKMAP_LOG", "warn")
        .output()
        .expect("run knockmap sensor");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("refused this sensor's token"),
        "{}",
        stderr(&output)
    );
}

/// `GET /api/v1/sensors` with an optional bearer token.
async fn sensors_api(server: &Server, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}/api/v1/sensors", server.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET /api/v1/sensors");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn sensor_health_is_listed_for_the_admin_and_exported_as_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = create_token(dir.path(), "edge-1", Some("35.68,139.69"));
    let admin = "admin-secret-for-the-test";
    let server = Server::start_with(dir.path(), &["--admin-token".as_ref(), admin.as_ref()]);

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/ingest", server.base))
        .bearer_auth(&token)
        .header("x-knockmap-lines-read", "120")
        .header("x-knockmap-events", "2")
        .header("x-knockmap-unmatched", "1")
        .header("x-knockmap-version", "9.9.9")
        .header("x-knockmap-spool-bytes", "4096")
        .header("x-knockmap-dropped-events", "7")
        .body(batch([0, 1]))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 200);

    assert_eq!(sensors_api(&server, None).await.0, 401);
    assert_eq!(sensors_api(&server, Some("wrong")).await.0, 401);
    assert_eq!(
        sensors_api(&server, Some(&token)).await.0,
        401,
        "a sensor is not admin"
    );
    let (status, body) = sensors_api(&server, Some(admin)).await;
    assert_eq!(status, 200, "{body}");
    let sensor = &body["sensors"][0];
    assert_eq!(sensor["name"], "edge-1", "{body}");
    assert_eq!(sensor["health"]["lines_read"], 120, "{body}");
    assert_eq!(sensor["health"]["unmatched"], 1, "{body}");
    assert_eq!(sensor["health"]["version"], "9.9.9", "{body}");
    assert_eq!(sensor["health"]["spool_bytes"], 4096, "{body}");
    assert!(sensor["last_seen"].is_string(), "{body}");
    assert!(
        !body.to_string().contains("token"),
        "no token material: {body}"
    );

    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.expect("metrics text");
    for expected in [
        "knockmap_events_stored_total 2",
        r#"knockmap_sensor_lines_read{sensor="edge-1"} 120"#,
        r#"knockmap_sensor_unmatched_lines{sensor="edge-1"} 1"#,
        r#"knockmap_sensor_info{sensor="edge-1",version="9.9.9"} 1"#,
        r#"knockmap_sensor_revoked{sensor="edge-1"} 0"#,
        r#"knockmap_sensor_spool_bytes{sensor="edge-1"} 4096"#,
        r#"knockmap_sensor_dropped_events{sensor="edge-1"} 7"#,
        "knockmap_sensor_last_seen_timestamp_seconds{sensor=\"edge-1\"} 1",
        "# EOF",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    server.stop();

    // Without an admin token the admin API is off, and says how to turn it on.
    let server = Server::start_with(dir.path(), &[]);
    let (status, body) = sensors_api(&server, Some(admin)).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("--admin-token"),
        "{body}"
    );
    server.stop();
}

/// An admin request with a JSON body.
async fn admin_call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("admin request");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_admin_stars_and_annotates_an_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = create_token(dir.path(), "edge-1", None);
    let admin = "admin-secret-for-the-test";
    let server = Server::start_with(dir.path(), &["--admin-token".as_ref(), admin.as_ref()]);
    assert_eq!(
        ingest(&server, Some(&token), batch([0]), false).await.0,
        200
    );
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;
    let ip = "/api/v1/ips/81.2.69.142";

    let star = json!({ "starred": true });
    let star_path = format!("{ip}/star");
    assert_eq!(
        admin_call(&server, post.clone(), &star_path, None, star.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        admin_call(
            &server,
            post.clone(),
            &star_path,
            Some(&token),
            star.clone()
        )
        .await
        .0,
        401,
        "a sensor is not admin"
    );
    let (status, body) =
        admin_call(&server, post.clone(), &star_path, Some(admin), star.clone()).await;
    assert_eq!((status, &body["starred"]), (200, &json!(true)), "{body}");

    let hostile = "<img src=x onerror=alert(1)> \u{202e}evil";
    let note_path = format!("{ip}/note");
    let (status, body) = admin_call(
        &server,
        put.clone(),
        &note_path,
        Some(admin),
        json!({ "note": hostile }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = server.get(ip).await;
    assert_eq!(page["starred"], true, "{page}");
    assert_eq!(page["note"], hostile, "stored and returned exactly: {page}");
    let (_, markers) = server.get("/api/v1/markers").await;
    assert!(
        markers.to_string().contains("\"starred\":true"),
        "{markers}"
    );

    // Bad input: clear errors, nothing changed.
    let (status, body) = admin_call(
        &server,
        post.clone(),
        &star_path,
        Some(admin),
        json!({ "star": 1 }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = admin_call(
        &server,
        put.clone(),
        &note_path,
        Some(admin),
        json!({ "note": "x".repeat(10_001) }),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = admin_call(
        &server,
        post.clone(),
        "/api/v1/ips/192.0.2.77/star",
        Some(admin),
        star.clone(),
    )
    .await;
    assert_eq!(status, 404, "an address never seen: {body}");
    let (status, _) = admin_call(
        &server,
        post.clone(),
        "/api/v1/ips/not-an-ip/star",
        Some(admin),
        star,
    )
    .await;
    assert_eq!(status, 400);
    let (_, page) = server.get(ip).await;
    assert_eq!(page["note"], hostile, "{page}");

    // Clearing.
    let (status, _) = admin_call(
        &server,
        put,
        &note_path,
        Some(admin),
        json!({ "note": null }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = admin_call(
        &server,
        post,
        &star_path,
        Some(admin),
        json!({ "starred": false }),
    )
    .await;
    assert_eq!(status, 200);
    let (_, page) = server.get(ip).await;
    assert_eq!(
        (&page["starred"], &page["note"]),
        (&json!(false), &Value::Null),
        "{page}"
    );
    server.stop();
}

#[tokio::test]
async fn retention_prunes_old_raw_events_and_the_statistics_keep_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = create_token(dir.path(), "edge-1", None);
    let server = Server::start_with(dir.path(), &[]);
    // The wire events are dated 2026-11-21T19:16:01Z: older than an hour.
    assert_eq!(
        ingest(&server, Some(&token), batch(0..5), false).await.0,
        200
    );
    let (_, before) = server.get("/api/v1/stats").await;
    assert_eq!(before["events"], 5, "{before}");
    server.stop();

    let server = Server::start_with(dir.path(), &["--retain-events".as_ref(), "1h".as_ref()]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, recent) = server.get("/api/v1/recent?limit=100").await;
        if recent["events"].as_array().is_some_and(|e| e.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "raw events not pruned: {recent}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, after) = server.get("/api/v1/stats").await;
    for field in ["events", "attempts", "unique_ips", "top_users", "series"] {
        assert_eq!(after[field], before[field], "{field}: {after}");
    }
    let (_, ip) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(ip["events"], 5, "per-address totals stay: {ip}");
    server.stop();

    // A malformed age is refused before anything starts.
    let output = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .args(["serve", "--retain-events", "90", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run knockmap serve");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("expected an age such as 90d"),
        "{}",
        stderr(&output)
    );
}

/// A request with a session cookie and, when given, the CSRF header.
async fn session_call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body");
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_admin_signs_in_with_a_password_and_stars_with_a_csrf_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let password = "correct horse battery staple";
    let mut hasher = Command::new(env!("CARGO_BIN_EXE_knockmap"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("knockmap hash-password");
    writeln!(hasher.stdin.take().expect("stdin"), "{password}").expect("write password");
    let output = hasher.wait_with_output().expect("hash-password ends");
    assert!(output.status.success());
    let hash = stdout(&output).trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(password));

    let token = create_token(dir.path(), "edge-1", None);
    let server = Server::start_with(dir.path(), &["--admin-password".as_ref(), hash.as_ref()]);
    assert_eq!(
        ingest(&server, Some(&token), batch([0]), false).await.0,
        200
    );
    let (get, post, put, delete) = (
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    );
    let star_path = "/api/v1/ips/81.2.69.142/star";
    let star = Some(json!({ "starred": true }));

    let (status, _, body) =
        session_call(&server, get.clone(), "/api/v1/session", None, None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "admin": false, "sign_in": true, "csrf": null })
    );

    let wrong = Some(json!({ "password": "guess" }));
    let (status, headers, body) = session_call(
        &server,
        post.clone(),
        "/api/v1/session",
        None,
        None,
        wrong.clone(),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(headers.get("set-cookie").is_none());

    let right = Some(json!({ "password": password }));
    let (status, headers, body) = session_call(
        &server,
        post.clone(),
        "/api/v1/session",
        None,
        None,
        right.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let csrf = body["csrf"].as_str().expect("csrf token").to_string();
    let set_cookie = headers["set-cookie"].to_str().expect("cookie text");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    assert!(cookie.starts_with("knockmap_session=") && cookie.len() > 60);

    // Behind a TLS proxy the cookie is Secure.
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/session", server.base))
        .header("content-type", "application/json")
        .header("x-forwarded-proto", "https")
        .body(right.clone().expect("body").to_string());
    request = request.header("accept", "application/json");
    let response = request.send().await.expect("sign in over TLS");
    assert_eq!(response.status().as_u16(), 200);
    let secure = response.headers()["set-cookie"].to_str().expect("cookie");
    assert!(secure.contains("; Secure"), "{secure}");

    let (status, _, body) = session_call(
        &server,
        get.clone(),
        "/api/v1/session",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(
        body,
        json!({ "admin": true, "sign_in": true, "csrf": csrf }),
        "{status}"
    );

    // The cookie alone does not change anything: a page elsewhere could make the browser
    // send it.
    let (status, _, body) = session_call(
        &server,
        post.clone(),
        star_path,
        Some(&cookie),
        None,
        star.clone(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = session_call(
        &server,
        post.clone(),
        star_path,
        Some(&cookie),
        Some("not-the-token"),
        star.clone(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (_, page) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(page["starred"], false, "{page}");

    let (status, _, body) = session_call(
        &server,
        post.clone(),
        star_path,
        Some(&cookie),
        Some(&csrf),
        star.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = session_call(
        &server,
        put,
        "/api/v1/ips/81.2.69.142/note",
        Some(&cookie),
        Some(&csrf),
        Some(json!({ "note": "scanner <b>" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, page) = server.get("/api/v1/ips/81.2.69.142").await;
    assert_eq!(
        (&page["starred"], &page["note"]),
        (&json!(true), &json!("scanner <b>"))
    );
    let (status, _, _) = session_call(
        &server,
        get.clone(),
        "/api/v1/sensors",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "reading admin routes needs no CSRF token");

    // Signing out ends the session for good.
    let (status, headers, _) = session_call(
        &server,
        delete,
        "/api/v1/session",
        Some(&cookie),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        headers["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("Max-Age=0")
    );
    let (status, _, body) = session_call(
        &server,
        post.clone(),
        star_path,
        Some(&cookie),
        Some(&csrf),
        star,
    )
    .await;
    assert_eq!(status, 401, "{body}");

    // Guessing is limited: after ten failures a minute (one above) even the right password
    // waits.
    for _ in 0..9 {
        let (status, _, _) = session_call(
            &server,
            post.clone(),
            "/api/v1/session",
            None,
            None,
            wrong.clone(),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, headers, body) =
        session_call(&server, post.clone(), "/api/v1/session", None, None, right).await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert!(
        body["error"].as_str().unwrap_or("").contains("too many"),
        "{body}"
    );

    // Bad input: a clear error.
    let (status, _, body) = session_call(
        &server,
        post,
        "/api/v1/session",
        None,
        None,
        Some(json!({ "pass": "x" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    server.stop();
}
