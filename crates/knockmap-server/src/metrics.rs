//! `GET /metrics`: Prometheus (OpenMetrics) text.
//!
//! Built at each scrape from the ingest totals and the sensors' last reports in the
//! database, so several server processes on one database report the same sensors.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::AppState;
use crate::error::ApiError;

/// The content type of OpenMetrics text, which Prometheus reads.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Labels of a per-sensor series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SensorLabel {
    sensor: String,
}

/// Labels of the per-sensor version series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SensorVersion {
    sensor: String,
    version: String,
}

/// Labels of the build series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: String,
}

type PerSensor = Family<SensorLabel, Gauge<i64, std::sync::atomic::AtomicI64>>;
type Seconds = Family<SensorLabel, Gauge<f64, AtomicU64>>;

async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if state.public.is_some() {
        // Sensor health and versions are for the operator, not for a public page.
        return Err(ApiError::NotFound(
            "metrics are not served in public mode".into(),
        ));
    }
    let sensors = state.store.list_sensors().await?;
    let mut registry = Registry::with_prefix("knockmap");

    let build = Family::<Build, Gauge>::default();
    build
        .get_or_create(&Build {
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .set(1);
    registry.register("build_info", "knockmap's version", build);

    let totals = state.ingestor.totals();
    for (name, help, value) in [
        (
            "events_stored",
            "Events stored by this process",
            &totals.accepted,
        ),
        (
            "events_duplicate",
            "Events received again by this process and not stored twice",
            &totals.duplicates,
        ),
        (
            "batches_stored",
            "Batches stored by this process",
            &totals.batches,
        ),
    ] {
        let counter: Counter = Counter::default();
        counter.inc_by(value.load(Ordering::Relaxed));
        registry.register(name, help, counter);
    }

    let last_seen = Seconds::default();
    let lines = PerSensor::default();
    let events = PerSensor::default();
    let unmatched = PerSensor::default();
    let revoked = PerSensor::default();
    let spool_bytes = PerSensor::default();
    let spool_batches = PerSensor::default();
    let dropped = PerSensor::default();
    let versions = Family::<SensorVersion, Gauge>::default();
    for sensor in sensors {
        let label = SensorLabel {
            sensor: sensor.name.clone(),
        };
        if let Some(seen) = sensor.last_seen {
            last_seen
                .get_or_create(&label)
                .set(seen.as_microsecond() as f64 / 1e6);
        }
        let health = &sensor.health;
        for (family, value) in [
            (&lines, health.lines_read),
            (&events, health.events),
            (&unmatched, health.unmatched),
            (&spool_bytes, health.spool_bytes),
            (&spool_batches, health.spool_batches),
            (&dropped, health.dropped_events),
        ] {
            if let Some(value) = value {
                family
                    .get_or_create(&label)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            }
        }
        revoked
            .get_or_create(&label)
            .set(i64::from(sensor.revoked_at.is_some()));
        if let Some(version) = &health.version {
            versions
                .get_or_create(&SensorVersion {
                    sensor: sensor.name.clone(),
                    version: version.clone(),
                })
                .set(1);
        }
    }
    registry.register(
        "sensor_last_seen_timestamp_seconds",
        "When the sensor last sent a batch or a heartbeat (Unix time)",
        last_seen,
    );
    registry.register(
        "sensor_lines_read",
        "Log lines the sensor has read since it started, as it last reported",
        lines,
    );
    registry.register(
        "sensor_events",
        "Events the sensor has parsed since it started, as it last reported",
        events,
    );
    registry.register(
        "sensor_unmatched_lines",
        "sshd lines the sensor could not read since it started, as it last reported",
        unmatched,
    );
    registry.register(
        "sensor_spool_bytes",
        "Bytes waiting in the sensor's disk spool, as it last reported",
        spool_bytes,
    );
    registry.register(
        "sensor_spool_batches",
        "Batches waiting in the sensor's disk spool, as it last reported",
        spool_batches,
    );
    registry.register(
        "sensor_dropped_events",
        "Events the sensor dropped because its spool was full, since it started",
        dropped,
    );
    registry.register(
        "sensor_revoked",
        "1 if the sensor's token is revoked",
        revoked,
    );
    registry.register("sensor_info", "The sensor's knockmap version", versions);

    let mut body = String::new();
    encode(&mut body, &registry)
        .map_err(|e| ApiError::BadRequest(format!("encoding metrics: {e}")))?;
    Ok(([(CONTENT_TYPE, OPENMETRICS)], body))
}
