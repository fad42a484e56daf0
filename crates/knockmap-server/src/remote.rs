//! Many-host mode: `POST /api/v1/ingest` takes NDJSON events from remote sensors.
//!
//! The sensor is known by its bearer token alone, never by anything in the body. A batch is
//! validated whole before anything is stored, then goes through the same [`Ingestor`] as
//! local sources, so it is geolocated, stored idempotently in one transaction and announced
//! live.
//!
//! [`Ingestor`]: crate::Ingestor

use std::io::Read;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_ENCODING};
use axum::routing::post;
use futures_util::StreamExt;
use knockmap_parse::Event;
use knockmap_store::{Sensor, SensorHealth};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::ingest::Origin;
use crate::token::hash_token;

/// Largest request body, both as sent and after gzip decompression (so a small gzip bomb
/// cannot inflate past it).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Longest `source` fingerprint accepted.
const MAX_SOURCE_BYTES: usize = 256;

/// Longest version string a sensor may report.
const MAX_VERSION_BYTES: usize = 64;

/// The headers a sensor reports its health in: totals since its process started (lines
/// read, events parsed, sshd lines that matched no known form) and its version.
pub const HEALTH_HEADERS: [&str; 4] = [
    "x-knockmap-lines-read",
    "x-knockmap-events",
    "x-knockmap-unmatched",
    "x-knockmap-version",
];

/// The headers a sensor reports its disk spool in: bytes and batches waiting in it now, and
/// events dropped because it was full (since its process started).
pub const SPOOL_HEALTH_HEADERS: [&str; 3] = [
    "x-knockmap-spool-bytes",
    "x-knockmap-spool-batches",
    "x-knockmap-dropped-events",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/ingest", post(ingest))
}

async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    // Authenticate before reading a byte of the body.
    let sensor = authenticate(&state, &headers).await?;
    let gzip = gzip_encoded(&headers)?;
    let raw = read_limited(body, MAX_BODY_BYTES).await?;
    let events = tokio::task::spawn_blocking(move || {
        let text = if gzip {
            gunzip_limited(&raw, MAX_BODY_BYTES)?
        } else {
            raw
        };
        parse_batch(&text)
    })
    .await
    .map_err(|e| ApiError::BadRequest(format!("the batch could not be read: {e}")))??;
    let report = state.ingestor.ingest(&sensor.name, events).await?;
    // The batch is stored; failing to note the visit must not make the sensor resend it.
    if let Err(e) = state
        .store
        .touch_sensor(&sensor.name, &health(&headers))
        .await
    {
        tracing::warn!(sensor = %sensor.name, "recording the sensor's visit: {e}");
    }
    tracing::debug!(
        sensor = %sensor.name,
        accepted = report.accepted,
        duplicates = report.duplicates,
        "remote batch"
    );
    Ok(Json(
        json!({ "accepted": report.accepted, "duplicates": report.duplicates }),
    ))
}

/// The sensor whose token the `Authorization: Bearer` header carries.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Sensor, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "missing sensor token: send Authorization: Bearer <token> \
                 (create one on the server with `knockmap token create NAME`)"
                    .into(),
            )
        })?;
    state
        .store
        .sensor_for_token(&hash_token(token))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked sensor token".into()))
}

/// Whether the body is gzip-compressed; other encodings are refused.
fn gzip_encoded(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(false);
    };
    match value.to_str().map(str::trim) {
        Ok(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => Ok(true),
        Ok(e) if e.eq_ignore_ascii_case("identity") || e.is_empty() => Ok(false),
        _ => Err(ApiError::UnsupportedMediaType(
            "Content-Encoding must be gzip or absent".into(),
        )),
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the batch is over {} MiB (after decompression); send smaller batches",
        MAX_BODY_BYTES / (1024 * 1024)
    ))
}

/// Reads the whole body, refusing it as soon as it grows past `limit` bytes.
async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("reading the request body: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Decompresses a gzip body (concatenated members too), refusing it past `limit` bytes.
fn gunzip_limited(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(too_large());
    }
    Ok(out)
}

/// Parses an NDJSON batch: one event (the event contract plus `"source"`) per line; blank
/// lines are skipped. The first bad line refuses the whole batch, named by its number.
fn parse_batch(text: &[u8]) -> Result<Vec<(Event, Option<Origin>)>, ApiError> {
    let mut events = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let event = parse_line(line).map_err(|message| {
            ApiError::BadRequest(format!(
                "line {}: {message}; nothing from this batch was stored",
                index + 1
            ))
        })?;
        events.push(event);
    }
    Ok(events)
}

fn parse_line(line: &[u8]) -> Result<(Event, Option<Origin>), String> {
    let mut value: Value = serde_json::from_slice(line).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rfind(" at line ")
            .map_or(message.as_str(), |at| &message[..at]);
        format!("not valid JSON at column {}: {message}", e.column())
    })?;
    let object = value
        .as_object_mut()
        .ok_or("expected a JSON object (one event per line)")?;
    let source = match object.remove("source") {
        Some(Value::String(source)) if !source.is_empty() && source.len() <= MAX_SOURCE_BYTES => {
            source
        }
        Some(_) => {
            return Err(format!(
                "\"source\" must be a string of 1 to {MAX_SOURCE_BYTES} bytes"
            ));
        }
        None => {
            return Err(
                "missing \"source\": the fingerprint of the log the line was read \
                        from, which with \"offset\" identifies the line"
                    .into(),
            );
        }
    };
    let mut event: Event =
        serde_json::from_value(value).map_err(|e| format!("not a knockmap event: {e}"))?;
    if event.count == 0 {
        return Err("\"count\" must be at least 1".into());
    }
    event.ip = event.ip.map(|ip| ip.to_canonical());
    Ok((
        event,
        Some(Origin {
            fingerprint: source,
        }),
    ))
}

/// What the sensor reported about itself in the [`HEALTH_HEADERS`]; malformed values are
/// ignored.
fn health(headers: &HeaderMap) -> SensorHealth {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let number = |name: &str| text(name).and_then(|v| v.parse::<u64>().ok());
    SensorHealth {
        lines_read: number(HEALTH_HEADERS[0]),
        events: number(HEALTH_HEADERS[1]),
        unmatched: number(HEALTH_HEADERS[2]),
        spool_bytes: number(SPOOL_HEALTH_HEADERS[0]),
        spool_batches: number(SPOOL_HEALTH_HEADERS[1]),
        dropped_events: number(SPOOL_HEALTH_HEADERS[2]),
        version: text(HEALTH_HEADERS[3])
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= MAX_VERSION_BYTES
                    && v.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const GOOD: &str = r#"{"ts":"2026-11-21T19:16:01Z","kind":"failed","ip":"::ffff:203.0.113.7","port":22,"user":"root","count":1,"offset":0,"source":"abc"}"#;

    fn message(result: Result<Vec<(Event, Option<Origin>)>, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn a_batch_parses_with_its_sources_and_skips_blank_lines() {
        let text = format!("{GOOD}\n\n{GOOD}\r\n");
        let events = parse_batch(text.as_bytes()).expect("valid batch");
        assert_eq!(events.len(), 2);
        let (event, origin) = &events[0];
        assert_eq!(
            event.ip.map(|ip| ip.to_string()).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(event.offset, Some(0));
        assert_eq!(origin.as_ref().map(|o| o.fingerprint.as_str()), Some("abc"));
    }

    #[test]
    fn the_first_bad_line_is_named() {
        let bad_json = format!("{GOOD}\n{{\"ts\": oops}}\n{GOOD}");
        let m = message(parse_batch(bad_json.as_bytes()));
        assert!(m.starts_with("line 2: not valid JSON at column"), "{m}");
        let no_source = format!("{GOOD}\n{GOOD}\n{}", GOOD.replace(r#","source":"abc""#, ""));
        let m = message(parse_batch(no_source.as_bytes()));
        assert!(m.starts_with("line 3: missing \"source\""), "{m}");
        let bad_kind = GOOD.replace("failed", "exploded");
        let m = message(parse_batch(bad_kind.as_bytes()));
        assert!(m.starts_with("line 1: not a knockmap event"), "{m}");
        assert!(message(parse_batch(b"[1,2]")).contains("expected a JSON object"));
        let zero = GOOD.replace(r#""count":1"#, r#""count":0"#);
        assert!(message(parse_batch(zero.as_bytes())).contains("count"));
        let long_source = GOOD.replace("abc", &"a".repeat(300));
        assert!(message(parse_batch(long_source.as_bytes())).contains("\"source\" must be"));
    }

    #[test]
    fn gzip_bodies_inflate_only_up_to_the_limit() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&[b'\n'; 100_000]).expect("compress");
        let bomb = encoder.finish().expect("finish");
        assert!(bomb.len() < 1000);
        assert_eq!(
            gunzip_limited(&bomb, 100_000).map(|v| v.len()).ok(),
            Some(100_000)
        );
        assert!(matches!(
            gunzip_limited(&bomb, 99_999),
            Err(ApiError::PayloadTooLarge(_))
        ));
        assert!(matches!(
            gunzip_limited(b"not gzip", 100),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn health_headers_are_read_and_junk_is_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("x-knockmap-lines-read", "10".parse().expect("header"));
        headers.insert("x-knockmap-events", "many".parse().expect("header"));
        headers.insert("x-knockmap-version", "0.1.0".parse().expect("header"));
        let h = health(&headers);
        assert_eq!(
            (h.lines_read, h.events, h.unmatched),
            (Some(10), None, None)
        );
        assert_eq!(h.version.as_deref(), Some("0.1.0"));
        headers.insert("x-knockmap-version", "a b".parse().expect("header"));
        assert_eq!(health(&headers).version, None);
    }
}
