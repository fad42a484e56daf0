//! The live hub: newly stored events fan out to every open page over a websocket.
//!
//! Fan-out uses a bounded broadcast channel: a client that cannot keep up misses frames (and is
//! told to resync) instead of holding back the others or growing memory without bound. Each
//! batch is turned into JSON once, by the first client that sends it; the others copy it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use knockmap_store::StoredEvent;
use serde_json::json;
use tokio::sync::broadcast;

use crate::AppState;
use crate::public::PublicView;

/// A batch of newly stored events, shared by every subscriber.
pub type Batch = Arc<[StoredEvent]>;

/// Where the ingest path announces stored events. One process uses [`BroadcastHub`]; several
/// servers sharing a database can swap in a hub that crosses processes.
/// A batch as every subscriber receives it: the events, and their JSON made once.
#[derive(Debug)]
pub struct SharedBatch {
    events: Batch,
    json: OnceLock<String>,
    public_json: OnceLock<String>,
}

impl SharedBatch {
    /// The batch to share.
    pub fn new(events: Batch) -> SharedBatch {
        SharedBatch {
            events,
            json: OnceLock::new(),
            public_json: OnceLock::new(),
        }
    }

    /// The events.
    pub fn events(&self) -> &[StoredEvent] {
        &self.events
    }

    /// The events as JSON array elements joined by commas (no brackets), anonymised in
    /// public mode; made on first use.
    fn json(&self, public: Option<&PublicView>) -> &str {
        fn joined<T: serde::Serialize>(items: impl Iterator<Item = T>) -> String {
            let mut out = String::new();
            for item in items {
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(&item).unwrap_or_else(|_| "null".into()));
            }
            out
        }
        match public {
            None => self.json.get_or_init(|| joined(self.events.iter())),
            Some(view) => self
                .public_json
                .get_or_init(|| joined(self.events.iter().map(|e| view.event(e)))),
        }
    }
}

pub trait LiveHub: Send + Sync + 'static {
    /// Announces a batch to every current subscriber. Never blocks.
    fn publish(&self, batch: Batch);
    /// A new subscription that sees batches published from now on.
    fn subscribe(&self) -> broadcast::Receiver<Arc<SharedBatch>>;
    /// How many batches have been published so far. Batches are stored before they are
    /// published, so an answer read from the store after this count was taken holds all
    /// their events: a page compares it with the count in its live hello to know whether
    /// anything was stored between its first answers and its subscription.
    fn published(&self) -> u64;
}

/// An in-process [`LiveHub`] over a bounded broadcast channel.
#[derive(Debug)]
pub struct BroadcastHub {
    sender: broadcast::Sender<Arc<SharedBatch>>,
    published: AtomicU64,
}

impl BroadcastHub {
    /// A hub keeping at most `capacity` batches for a slow subscriber.
    pub fn new(capacity: usize) -> BroadcastHub {
        BroadcastHub {
            sender: broadcast::channel(capacity).0,
            published: AtomicU64::new(0),
        }
    }
}

impl LiveHub for BroadcastHub {
    fn publish(&self, batch: Batch) {
        self.published.fetch_add(1, Ordering::SeqCst);
        // No subscribers is not an error: nobody has the page open.
        let _ = self.sender.send(Arc::new(SharedBatch::new(batch)));
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<SharedBatch>> {
        self.sender.subscribe()
    }

    fn published(&self) -> u64 {
        self.published.load(Ordering::SeqCst)
    }
}

/// Events sent in one frame at most; more wait for the next frame.
const MAX_FRAME_EVENTS: usize = 2000;
/// A client that takes longer than this to accept one frame is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames are sent at most this often, so bursts arrive batched.
const FRAME_INTERVAL: Duration = Duration::from_millis(50);

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/live", get(upgrade))
}

async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // Subscribe before the upgrade completes so nothing stored after the request is missed.
    let receiver = state.hub.subscribe();
    ws.on_upgrade(move |socket| client(socket, state, receiver))
}

async fn client(
    mut socket: WebSocket,
    state: AppState,
    mut receiver: broadcast::Receiver<Arc<SharedBatch>>,
) {
    let meta = match state.meta().await {
        Ok(meta) => meta,
        Err(e) => {
            tracing::warn!("reading sensors for the live hello: {e}");
            state.meta.as_ref().clone()
        }
    };
    // Taken after subscribing: every batch published from here on reaches this client.
    let published = state.hub.published();
    let hello = json!({ "type": "hello", "meta": meta, "published": published }).to_string();
    if send(&mut socket, hello).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                // Pings are answered by axum; anything else from the page is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            received = receiver.recv() => {
                let frames = match received {
                    Ok(first) => events_frames(first, &mut receiver, state.public.as_ref()),
                    Err(broadcast::error::RecvError::Lagged(missed)) => vec![resync_frame(missed)],
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                for frame in frames {
                    if send(&mut socket, frame).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(FRAME_INTERVAL).await;
            }
        }
    }
}

fn resync_frame(missed: u64) -> String {
    tracing::debug!(missed, "live client fell behind; asking it to resync");
    json!({ "type": "resync" }).to_string()
}

/// A frame holding `first` and the batches already waiting behind it, followed by a resync
/// frame if the client fell behind while they were collected.
fn events_frames(
    first: Arc<SharedBatch>,
    receiver: &mut broadcast::Receiver<Arc<SharedBatch>>,
    public: Option<&PublicView>,
) -> Vec<String> {
    let mut total = first.events().len();
    let mut batches = vec![first];
    let mut resync = None;
    while total < MAX_FRAME_EVENTS {
        match receiver.try_recv() {
            Ok(batch) => {
                total += batch.events().len();
                batches.push(batch);
            }
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                resync = Some(resync_frame(missed));
                break;
            }
            Err(_) => break,
        }
    }
    let parts: Vec<&str> = batches
        .iter()
        .map(|b| b.json(public))
        .filter(|json| !json.is_empty())
        .collect();
    let mut frame = String::with_capacity(40 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    frame.push_str(r#"{"type":"events","events":["#);
    frame.push_str(&parts.join(","));
    frame.push_str("]}");
    let mut frames = vec![frame];
    frames.extend(resync);
    frames
}

async fn send(socket: &mut WebSocket, text: String) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use knockmap_parse::{Event, Kind};

    use super::*;

    fn batch(n: usize) -> Batch {
        (0..n)
            .map(|i| StoredEvent {
                id: format!("{i:032x}"),
                sensor: "s".into(),
                event: Event::new(Timestamp::UNIX_EPOCH, Kind::Probe),
                outcome: Kind::Probe.outcome(),
                geo: None,
                ip_events: None,
            })
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn a_batch_is_serialised_once_and_anonymised_in_public_mode() {
        let hub = BroadcastHub::new(4);
        let (mut one, mut two) = (hub.subscribe(), hub.subscribe());
        let mut events = batch(2).to_vec();
        events[0].event.ip = "203.0.113.77".parse().ok();
        events[0].event.user = Some("<b>root</b>".into());
        hub.publish(events.into());
        let (a, b) = (
            one.try_recv().expect("first subscriber"),
            two.try_recv().expect("second subscriber"),
        );
        assert!(Arc::ptr_eq(&a, &b), "every subscriber shares the batch");
        let full = events_frames(a.clone(), &mut one, None);
        assert!(std::ptr::eq(a.json(None), b.json(None)), "made once");
        let frame: serde_json::Value = serde_json::from_str(&full[0]).expect("JSON");
        assert_eq!(frame["events"][0]["ip"], "203.0.113.77");
        assert_eq!(frame["events"][0]["user"], "<b>root</b>");
        let view = PublicView::default();
        let public = events_frames(b, &mut two, Some(&view));
        assert!(
            !public[0].contains("203.0.113.77") && !public[0].contains("root"),
            "{}",
            public[0]
        );
        let frame: serde_json::Value = serde_json::from_str(&public[0]).expect("JSON");
        assert_eq!(frame["events"][0]["ip"], "203.0.113.0/24");
        assert_eq!(frame["events"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_stalled_subscriber_never_holds_back_the_others() {
        let hub = BroadcastHub::new(4);
        let mut stalled = hub.subscribe();
        let mut reader = hub.subscribe();
        for _ in 0..100 {
            hub.publish(batch(1));
            // The reading client gets every batch although the other never reads.
            assert!(reader.try_recv().is_ok());
        }
        assert!(matches!(
            stalled.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(96))
        ));
    }

    #[test]
    fn waiting_batches_are_joined_into_one_frame_and_a_lag_asks_for_resync() {
        let hub = BroadcastHub::new(2);
        let mut receiver = hub.subscribe();
        hub.publish(batch(2));
        hub.publish(batch(3));
        let first = receiver.try_recv().expect("first batch");
        let frames = events_frames(first, &mut receiver, None);
        assert_eq!(frames.len(), 1);
        let frame: serde_json::Value = serde_json::from_str(&frames[0]).expect("JSON");
        assert_eq!(frame["events"].as_array().map(Vec::len), Some(5));

        for _ in 0..5 {
            hub.publish(batch(1));
        }
        let first = Arc::new(SharedBatch::new(batch(1)));
        let frames = events_frames(first, &mut receiver, None);
        assert_eq!(
            frames.last().map(String::as_str),
            Some(r#"{"type":"resync"}"#)
        );
    }
}
