//! The one ingest path: ids, geolocation, storage, live announcement.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use knockmap_geo::{GeoDb, GeoInfo};
use knockmap_parse::Event;
use knockmap_store::{EventId, IngestReport, NewEvent, StoreError};

use crate::SharedStore;
use crate::live::LiveHub;

/// Where an event's line came from: with the event's `offset` it makes the event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The fingerprint of the source file (stable across renames).
    pub fingerprint: String,
}

/// Turns parsed events into stored, located, announced events.
#[derive(Clone)]
pub struct Ingestor {
    store: SharedStore,
    geo: Arc<GeoDb>,
    hub: Arc<dyn LiveHub>,
    totals: Arc<IngestTotals>,
}

/// What an [`Ingestor`] has done since the process started (for `/metrics`).
#[derive(Debug, Default)]
pub struct IngestTotals {
    /// Events stored.
    pub accepted: AtomicU64,
    /// Events received again and not stored a second time.
    pub duplicates: AtomicU64,
    /// Batches stored.
    pub batches: AtomicU64,
}

impl Ingestor {
    /// An ingestor writing to `store`, locating with `geo` and announcing on `hub`.
    pub fn new(store: SharedStore, geo: Arc<GeoDb>, hub: Arc<dyn LiveHub>) -> Ingestor {
        Ingestor {
            store,
            geo,
            hub,
            totals: Arc::default(),
        }
    }

    /// Totals since the process started.
    pub fn totals(&self) -> &IngestTotals {
        &self.totals
    }

    /// Stores a batch from `sensor` atomically and announces what was new. Events already
    /// stored (same sensor, origin and offset) are counted as duplicates.
    pub async fn ingest(
        &self,
        sensor: &str,
        events: Vec<(Event, Option<Origin>)>,
    ) -> Result<IngestReport, StoreError> {
        let mut places: HashMap<IpAddr, GeoInfo> = HashMap::new();
        let batch: Vec<NewEvent> = events
            .into_iter()
            .map(|(event, origin)| {
                let id = match (&origin, event.offset) {
                    (Some(origin), Some(offset)) => {
                        EventId::from_origin(sensor, &origin.fingerprint, offset)
                    }
                    _ => EventId::from_content(
                        sensor,
                        serde_json::to_string(&event).unwrap_or_default().as_bytes(),
                    ),
                };
                let geo = event
                    .ip
                    .map(|ip| {
                        places
                            .entry(ip)
                            .or_insert_with(|| self.geo.lookup(ip))
                            .clone()
                    })
                    .unwrap_or_default();
                NewEvent {
                    id,
                    sensor: sensor.to_string(),
                    event,
                    geo,
                }
            })
            .collect();
        let mut report = self.store.ingest(&batch).await?;
        let totals = &self.totals;
        totals
            .accepted
            .fetch_add(report.accepted, Ordering::Relaxed);
        totals
            .duplicates
            .fetch_add(report.duplicates, Ordering::Relaxed);
        totals.batches.fetch_add(1, Ordering::Relaxed);
        let stored = std::mem::take(&mut report.stored);
        if !stored.is_empty() {
            self.hub.publish(stored.into());
        }
        Ok(report)
    }
}
