//! Posting batches to the server's `POST /api/v1/ingest`, over HTTP or HTTPS (rustls).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::SensorError;
use crate::health::Health;

/// Longest a single request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// First retry delay; it doubles up to the configured longest wait.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Why a batch was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// Worth trying again later: no connection, a timeout, 5xx, 408, 429.
    Retryable(String),
    /// The server refused this batch for good (400, 413, 415, 422) but takes others: the
    /// batch is set aside in the spool's `rejected/` directory and the sensor goes on.
    Rejected(String),
    /// The server refused the sensor for good (401, 403, other 4xx): it stops.
    Fatal(String),
}

/// Posts gzipped NDJSON batches with the sensor's token and health headers.
#[derive(Debug)]
pub struct Shipper {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    token: String,
    health: Arc<Health>,
}

impl Shipper {
    /// Checks the server URL and the token and sets up the client; `ca_file` is a PEM file
    /// of CA certificates trusted in addition to the usual roots.
    pub fn new(
        server: &str,
        token: &str,
        ca_file: Option<&Path>,
        health: Arc<Health>,
    ) -> Result<Shipper, SensorError> {
        let endpoint = format!("{}/api/v1/ingest", server.trim_end_matches('/'));
        let endpoint = reqwest::Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                SensorError::Config(format!(
                    "the server must be an http:// or https:// URL, got {server:?}"
                ))
            })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(SensorError::Config(
                "the token is empty: create one on the server with `knockmap token create NAME`"
                    .into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("knockmap-sensor/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            for certificate in load_ca_file(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(|e| match ca_file {
            Some(path) => ca_error(path, format!("not a usable CA certificate ({e})")),
            None => SensorError::Config(format!("setting up the HTTP client: {e}")),
        })?;
        Ok(Shipper {
            client,
            endpoint,
            token: token.to_string(),
            health,
        })
    }

    /// Where batches go.
    pub fn endpoint(&self) -> &reqwest::Url {
        &self.endpoint
    }

    /// Posts one gzipped NDJSON batch once; `timeout` shortens the usual limit. `Ok` holds
    /// the server's answer.
    pub async fn post(&self, body: &[u8], timeout: Option<Duration>) -> Result<String, PostError> {
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .header(reqwest::header::CONTENT_ENCODING, "gzip");
        for (name, value) in self.health.headers() {
            request = request.header(name, value);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request.body(body.to_vec()).send().await.map_err(|e| {
            PostError::Retryable(format!("cannot reach {}: {}", self.endpoint, chain(&e)))
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        classify(status, &text).map(|()| text)
    }
}

/// What an answer means for the batch.
fn classify(status: StatusCode, text: &str) -> Result<(), PostError> {
    if status.is_success() {
        Ok(())
    } else if status == StatusCode::UNAUTHORIZED {
        Err(PostError::Fatal(format!(
            "the server refused this sensor's token (401: {}); create a new one on the \
             server with `knockmap token create NAME` and pass it as KNOCKMAP_TOKEN",
            error_message(text)
        )))
    } else if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(PostError::Retryable(format!(
            "the server answered {status}: {}",
            error_message(text)
        )))
    } else if [
        StatusCode::BAD_REQUEST,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::UNPROCESSABLE_ENTITY,
    ]
    .contains(&status)
    {
        Err(PostError::Rejected(format!(
            "the server refused a batch ({status}: {}); is the server older than this sensor?",
            error_message(text)
        )))
    } else {
        Err(PostError::Fatal(format!(
            "the server refused this sensor ({status}: {}); check --server",
            error_message(text)
        )))
    }
}

/// The certificates of a PEM file.
fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, SensorError> {
    let pem = std::fs::read(path).map_err(|e| ca_error(path, format!("cannot read it: {e}")))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| ca_error(path, format!("not a PEM certificate file ({e})")))?;
    if certificates.is_empty() {
        return Err(ca_error(
            path,
            "no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certificates)
}

fn ca_error(path: &Path, problem: String) -> SensorError {
    SensorError::CaFile {
        path: path.to_path_buf(),
        problem,
    }
}

/// An error with its causes, which for TLS failures say what was wrong with the certificate.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
/// `max`, with jitter (between half and all of it) so that many sensors do not retry in step.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    let full = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(max);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

#[cfg(test)]
#[path = "shipper_tests.rs"]
mod tests;
