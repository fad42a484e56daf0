//! `knockmap sensor`: follow logs on this machine and ship their events to a server.
//!
//! Each source is followed on its own thread. Events are batched (up to `--batch-events`
//! events, or `--batch-ms` after the first event of a batch was read), gzipped and posted as
//! NDJSON to `POST /api/v1/ingest`. A source's read position is committed only after the
//! server answered 2xx, so delivery is at least once; the server derives event ids from the
//! source fingerprint and offset, so a resent batch is stored once.
//!
//! Connection errors, 5xx, 408 and 429 are retried with exponential backoff and jitter
//! (capped at 30 s), never skipping a batch. A 401 (unknown or revoked token) or another 4xx
//! stops the sensor with a clear message and a non-zero exit status, without committing: a
//! refused token is a configuration error an operator must see, and nothing read is lost.
//!
//! Not done yet: a disk spool. While the server is unreachable, reading stops at the pending
//! batch (the log on disk is the buffer); rotated files that disappear meanwhile are lost.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use knockmap_parse::Parsed;
use knockmap_server::{LogSpec, ParsedLog, sleep_unless_stopped};
use knockmap_source::StartAt;
use reqwest::StatusCode;

use crate::cli::{DataDirOption, SensorArgs};
use crate::paths;

/// How often an idle follower looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// A batch is sent once its NDJSON reaches this size, well under the server's limit.
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// An idle sensor posts an empty batch this often, so the server knows it is alive.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// First retry delay; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest a single request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Wait before retrying to open or read a source.
const READ_RETRY: Duration = Duration::from_secs(1);

/// Runs `knockmap sensor` until Ctrl-C or SIGTERM, or until the server refuses it.
pub fn run(args: SensorArgs) -> anyhow::Result<std::process::ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(args))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run_async(args: SensorArgs) -> anyhow::Result<()> {
    let shipper = Arc::new(Shipper::new(&args.server, &args.token)?);
    let state_dir = match &args.state_dir {
        Some(dir) => dir.clone(),
        None => paths::data_dir(&DataDirOption { data_dir: None })?.join("sensor"),
    };
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("cannot create the state directory {}", state_dir.display()))?;
    let tz = paths::timezone(args.timezone.as_deref())?;
    let batching = Batching {
        events: args.batch_events as usize,
        window: Duration::from_millis(args.batch_ms),
    };

    let mut sources = Vec::new();
    for spec in &args.source {
        for resolved in paths::resolve_source(spec)? {
            sources.push(LogSpec {
                checkpoint: Some(paths::prepare_checkpoint(&state_dir, &resolved.input)?),
                input: resolved.input,
                start: StartAt::Beginning,
                generic: resolved.generic,
                tz: tz.clone(),
            });
        }
    }
    if sources.is_empty() {
        bail!("nothing to follow: pass --source PATH");
    }

    // Check the server and the token before reading anything.
    let stop = Arc::new(AtomicBool::new(false));
    match shipper.ship(&gzip(b"")?, &stop).await {
        Ok(()) => tracing::info!(server = %shipper.endpoint, "the server accepted this sensor"),
        Err(Failure::Fatal(message)) => bail!("{message}"),
        Err(Failure::Stopped) => return Ok(()),
    }

    let runtime = tokio::runtime::Handle::current();
    let (fatal_tx, mut fatal_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut threads = Vec::new();
    for source in sources {
        let (shipper, stop, fatal_tx, runtime) = (
            shipper.clone(),
            stop.clone(),
            fatal_tx.clone(),
            runtime.clone(),
        );
        let name = format!("sensor {}", source.input);
        threads.push(std::thread::Builder::new().name(name).spawn(move || {
            if let Err(message) = follow(source, batching, &shipper, &runtime, &stop) {
                let _ = fatal_tx.send(message);
            }
        })?);
    }
    drop(fatal_tx);

    let fatal = tokio::select! {
        _ = crate::serve::shutdown_signal() => None,
        message = fatal_rx.recv() => message,
    };
    stop.store(true, Ordering::Relaxed);
    // Positions are committed only after a 2xx, so not waiting long for a request in flight
    // loses nothing: its lines are read again next time.
    let joined =
        tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| drop(t.join())));
    let _ = tokio::time::timeout(Duration::from_secs(5), joined).await;
    match fatal {
        Some(message) => bail!("{message}"),
        None => Ok(()),
    }
}

/// When a batch is sent.
#[derive(Debug, Clone, Copy)]
struct Batching {
    /// Most events in a batch.
    events: usize,
    /// Longest the first event of a batch waits.
    window: Duration,
}

/// Follows one source until stopped; `Err` carries a fatal message.
fn follow(
    source: LogSpec,
    batching: Batching,
    shipper: &Shipper,
    runtime: &tokio::runtime::Handle,
    stop: &AtomicBool,
) -> Result<(), String> {
    let Some(mut log) = ParsedLog::open(&source, stop, READ_RETRY) else {
        return Ok(());
    };
    let mut batch = Vec::new();
    let mut batch_events = 0usize;
    let mut first_event_at: Option<Instant> = None;
    let mut last_shipped = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let lines = match log.read(batching.events - batch_events) {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!("{e}");
                sleep_unless_stopped(stop, READ_RETRY);
                continue;
            }
        };
        shipper
            .health
            .lines_read
            .fetch_add(lines.len() as u64, Ordering::Relaxed);
        for line in &lines {
            match &line.parsed {
                Parsed::Event(event) => {
                    if let Err(e) = write_wire_event(&mut batch, event, &line.fingerprint) {
                        tracing::warn!("cannot encode an event: {e}");
                        continue;
                    }
                    batch_events += 1;
                    shipper.health.events.fetch_add(1, Ordering::Relaxed);
                    first_event_at.get_or_insert_with(Instant::now);
                }
                Parsed::Unmatched => {
                    shipper.health.unmatched.fetch_add(1, Ordering::Relaxed);
                }
                Parsed::Ignored | Parsed::NotSshd => {}
            }
        }
        let due = batch_events >= batching.events
            || batch.len() >= MAX_BATCH_BYTES
            || first_event_at.is_some_and(|t| t.elapsed() >= batching.window);
        let heartbeat = batch_events == 0 && last_shipped.elapsed() >= HEARTBEAT;
        if due || heartbeat {
            let body = gzip(&batch).map_err(|e| format!("compressing a batch: {e}"))?;
            match runtime.block_on(shipper.ship(&body, stop)) {
                Ok(()) => {}
                Err(Failure::Stopped) => return Ok(()),
                Err(Failure::Fatal(message)) => return Err(message),
            }
            commit(&mut log);
            batch.clear();
            batch_events = 0;
            first_event_at = None;
            last_shipped = Instant::now();
        } else if batch_events == 0 && !lines.is_empty() {
            // Lines without events: nothing waits to be shipped, so the position can move.
            commit(&mut log);
        }
        if lines.is_empty() && !due {
            let wait = first_event_at.map_or(POLL_INTERVAL, |t| {
                batching
                    .window
                    .saturating_sub(t.elapsed())
                    .min(POLL_INTERVAL)
            });
            sleep_unless_stopped(stop, wait);
        }
    }
    Ok(())
}

fn commit(log: &mut ParsedLog) {
    if let Err(e) = log.commit() {
        tracing::warn!("saving the read position: {e}");
    }
}

/// Appends one NDJSON line: the event contract plus `"source"` (the file's fingerprint).
fn write_wire_event(
    out: &mut Vec<u8>,
    event: &knockmap_parse::Event,
    fingerprint: &str,
) -> serde_json::Result<()> {
    let mut value = serde_json::to_value(event)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("source".into(), fingerprint.into());
    }
    serde_json::to_writer(&mut *out, &value)?;
    out.push(b'\n');
    Ok(())
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Totals since this process started, reported to the server with every batch.
#[derive(Debug, Default)]
struct Health {
    lines_read: AtomicU64,
    events: AtomicU64,
    unmatched: AtomicU64,
}

/// Why a batch was not delivered.
#[derive(Debug)]
enum Failure {
    /// A stop was requested while retrying.
    Stopped,
    /// The server refused the sensor or the batch for good.
    Fatal(String),
}

/// Posts batches to the server.
struct Shipper {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    token: String,
    health: Health,
}

impl Shipper {
    fn new(server: &str, token: &str) -> anyhow::Result<Shipper> {
        let endpoint = format!("{}/api/v1/ingest", server.trim_end_matches('/'));
        let endpoint = reqwest::Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .with_context(|| {
                format!("--server must be an http:// or https:// URL, got {server:?}")
            })?;
        let token = token.trim();
        if token.is_empty() {
            bail!("--token is empty: create one on the server with `knockmap token create NAME`");
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("knockmap-sensor/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTP client")?;
        Ok(Shipper {
            client,
            endpoint,
            token: token.to_string(),
            health: Health::default(),
        })
    }

    /// Posts one gzipped NDJSON batch until the server takes it, it refuses it for good, or
    /// a stop is requested.
    async fn ship(&self, body: &[u8], stop: &AtomicBool) -> Result<(), Failure> {
        let mut attempt = 0u32;
        loop {
            let outcome = self.post(body).await;
            let problem = match outcome {
                Ok((status, text)) if status.is_success() => {
                    tracing::debug!(answer = %text, "batch delivered");
                    return Ok(());
                }
                Ok((StatusCode::UNAUTHORIZED, text)) => {
                    return Err(Failure::Fatal(format!(
                        "the server refused this sensor's token (401: {}); create a new one \
                         on the server with `knockmap token create NAME` and pass it as \
                         KNOCKMAP_TOKEN",
                        error_message(&text)
                    )));
                }
                Ok((status, text))
                    if status.is_server_error()
                        || status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::REQUEST_TIMEOUT =>
                {
                    format!("the server answered {status}: {}", error_message(&text))
                }
                Ok((status, text)) => {
                    return Err(Failure::Fatal(format!(
                        "the server refused a batch ({status}: {}); is the server older than \
                         this sensor?",
                        error_message(&text)
                    )));
                }
                Err(e) => format!("cannot reach {}: {e}", self.endpoint),
            };
            let delay = backoff(attempt);
            attempt = attempt.saturating_add(1);
            tracing::warn!("{problem}; retrying in {:.1} s", delay.as_secs_f64());
            let deadline = Instant::now() + delay;
            while Instant::now() < deadline {
                if stop.load(Ordering::Relaxed) {
                    return Err(Failure::Stopped);
                }
                tokio::time::sleep(POLL_INTERVAL.min(deadline - Instant::now())).await;
            }
            if stop.load(Ordering::Relaxed) {
                return Err(Failure::Stopped);
            }
        }
    }

    async fn post(&self, body: &[u8]) -> reqwest::Result<(StatusCode, String)> {
        let count = |n: &AtomicU64| n.load(Ordering::Relaxed).to_string();
        let h = &self.health;
        let [lines_read, events, unmatched, version] = knockmap_server::HEALTH_HEADERS;
        let response = self
            .client
            .post(self.endpoint.clone())
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(lines_read, count(&h.lines_read))
            .header(events, count(&h.events))
            .header(unmatched, count(&h.unmatched))
            .header(version, env!("CARGO_PKG_VERSION"))
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status();
        Ok((status, response.text().await.unwrap_or_default()))
    }
}

/// The `error` of a JSON error answer, else the start of the answer, safe to print.
fn error_message(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    message.chars().filter(|c| !c.is_control()).collect()
}

/// The wait before retry number `attempt` (0-based): exponential from 250 ms, capped at
/// 30 s, with jitter (between half and all of it) so that many sensors do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let full = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_up_to_the_cap() {
        for attempt in 0..100 {
            let d = backoff(attempt);
            let full = FIRST_BACKOFF
                .saturating_mul(1 << attempt.min(16))
                .min(MAX_BACKOFF);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
        assert!(backoff(40) <= MAX_BACKOFF && backoff(40) >= MAX_BACKOFF / 2);
    }

    #[test]
    fn wire_events_carry_their_source() {
        let mut event =
            knockmap_parse::Event::new(jiff::Timestamp::UNIX_EPOCH, knockmap_parse::Kind::Probe);
        event.offset = Some(42);
        let mut out = Vec::new();
        write_wire_event(&mut out, &event, "abc").expect("encode");
        let value: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(
            (value["source"].as_str(), value["offset"].as_u64()),
            (Some("abc"), Some(42))
        );
        assert_eq!(out.last(), Some(&b'\n'));
    }

    #[test]
    fn server_urls_and_tokens_are_checked() {
        assert!(Shipper::new("http://127.0.0.1:5000/", "t").is_ok());
        assert_eq!(
            Shipper::new("https://k.example.org/base", "t")
                .map(|s| s.endpoint.to_string())
                .ok()
                .as_deref(),
            Some("https://k.example.org/base/api/v1/ingest")
        );
        assert!(Shipper::new("ftp://x", "t").is_err());
        assert!(Shipper::new("k.example.org", "t").is_err());
        assert!(Shipper::new("http://x", "  ").is_err());
    }

    #[test]
    fn error_messages_are_extracted_and_made_printable() {
        assert_eq!(error_message(r#"{"error":"bad\u001b[31m"}"#), "bad[31m");
        assert_eq!(error_message("plain"), "plain");
    }
}
