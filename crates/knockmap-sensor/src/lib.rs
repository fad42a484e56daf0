//! knockmap's sensor: follows sshd logs on one machine and ships their events to a knockmap
//! server's `POST /api/v1/ingest`.
//!
//! Each source is followed on its own thread. Events are batched (up to
//! [`Batching::events`] events, or [`Batching::window`] after the first event of a batch was
//! read), gzipped and posted as NDJSON with the sensor's token and health headers.
//!
//! A batch the server cannot take now (no connection, a timeout, 5xx, 408, 429) goes to a
//! bounded disk [`spool`] in the state directory, and the source's read position moves on
//! only once the batch is delivered or durably spooled: reading goes on during an outage,
//! and files rotated away meanwhile are not lost. A drainer sends spooled batches oldest
//! first, with exponential backoff and jitter, deleting each once the server acknowledged
//! it; while any wait, new batches queue behind them. The server derives event ids from the
//! source fingerprint and offset, so a batch sent twice is stored once: delivery is at least
//! once, storage exactly once.
//!
//! A 401 (unknown or revoked token) or another 4xx stops the sensor with a clear message: a
//! refused token is a configuration error an operator must see. On stop, the batch in hand
//! is delivered or spooled before its position is committed.
#![forbid(unsafe_code)]

mod batch;
mod follow;
mod health;
mod outbox;
mod shipper;
pub mod spool;
#[cfg(test)]
mod test_http;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use knockmap_server::LogSpec;

pub use health::{Health, SPOOL_HEALTH_HEADERS};
pub use shipper::{PostError, Shipper};
pub use spool::{Spool, SpoolError, SpoolStats};

use outbox::Outbox;

/// The spool's default bound: 256 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// The default longest wait between retries.
pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Longest the first request, which checks the server and the token, may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a stop waits for the sources' threads to deliver or spool their batches.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// When a batch is sent.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Most events in a batch (at least 1).
    pub events: usize,
    /// Longest the first event of a batch waits.
    pub window: Duration,
}

/// Everything a sensor needs.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    /// The server's base URL (`http://` or `https://`).
    pub server: String,
    /// The sensor's token, from `knockmap token create NAME` on the server.
    pub token: String,
    /// The logs to follow, with their checkpoints.
    pub sources: Vec<LogSpec>,
    /// Where the spool lives (in `spool/`).
    pub state_dir: PathBuf,
    /// When batches are sent.
    pub batching: Batching,
    /// Most bytes the spool may hold before it drops its oldest batches.
    pub spool_max_bytes: u64,
    /// A PEM file of CA certificates trusted besides the usual roots.
    pub ca_file: Option<PathBuf>,
    /// Longest wait between retries.
    pub max_retry_delay: Duration,
}

/// Why the sensor stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The CA file cannot be used.
    #[error("the CA file {}: {problem}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The spool cannot be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The server refused the sensor or a batch for good.
    #[error("{0}")]
    Refused(String),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Runs the sensor until `shutdown` completes or the server refuses it. Call it inside a
/// multi-threaded tokio runtime.
pub async fn run(
    config: SensorConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SensorError> {
    if config.sources.is_empty() {
        return Err(SensorError::Config(
            "nothing to follow: pass --source PATH".into(),
        ));
    }
    if config.batching.events == 0 {
        return Err(SensorError::Config(
            "a batch must hold at least one event".into(),
        ));
    }
    let health = Arc::new(Health::default());
    let shipper = Shipper::new(
        &config.server,
        &config.token,
        config.ca_file.as_deref(),
        health.clone(),
    )?;
    let spool = Spool::open(&config.state_dir.join("spool"), config.spool_max_bytes)?;
    let outbox = Arc::new(Outbox::new(shipper, spool, health, config.max_retry_delay));

    // Check the server and the token before reading anything.
    let empty = batch::gzip(b"").map_err(|e| SensorError::Config(format!("gzip: {e}")))?;
    match outbox.shipper.post(&empty, Some(PROBE_TIMEOUT)).await {
        Ok(_) => {
            tracing::info!(server = %outbox.shipper.endpoint(), "the server accepted this sensor");
        }
        Err(PostError::Fatal(message) | PostError::Rejected(message)) => {
            return Err(SensorError::Refused(message));
        }
        Err(PostError::Retryable(problem)) => tracing::warn!(
            "{problem}; reading anyway: batches are spooled until the server answers"
        ),
    }

    let (fatal_tx, mut fatal_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut followers = Vec::new();
    for source in config.sources {
        let (outbox, fatal_tx) = (outbox.clone(), fatal_tx.clone());
        let batching = config.batching;
        let thread = std::thread::Builder::new()
            .name(format!("sensor {}", source.input))
            .spawn(move || {
                if let Err(message) = follow::follow(&source, batching, &outbox) {
                    let _ = fatal_tx.send(message);
                }
            })
            .map_err(SensorError::Thread)?;
        followers.push(thread);
    }
    let drainer = {
        let (outbox, fatal_tx) = (outbox.clone(), fatal_tx.clone());
        std::thread::Builder::new()
            .name("sensor spool".into())
            .spawn(move || {
                if let Err(message) = outbox.drain() {
                    let _ = fatal_tx.send(message);
                }
            })
            .map_err(SensorError::Thread)?
    };
    drop(fatal_tx);

    let fatal = tokio::select! {
        () = shutdown => None,
        message = fatal_rx.recv() => message,
    };
    outbox.stop.store(true, Ordering::Relaxed);
    // The followers deliver or spool the batch in hand; a spooled batch the drainer is
    // sending stays in the spool until acknowledged, so the drainer is not waited for long.
    let joined = tokio::task::spawn_blocking(move || {
        followers.into_iter().for_each(|t| drop(t.join()));
    });
    if tokio::time::timeout(STOP_WAIT, joined).await.is_err() {
        tracing::warn!("stopping without waiting longer; unsent lines are read again next time");
    }
    let drained = tokio::task::spawn_blocking(move || drop(drainer.join()));
    let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
    match fatal {
        Some(message) => Err(SensorError::Refused(message)),
        None => Ok(()),
    }
}
