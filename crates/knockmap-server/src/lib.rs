//! knockmap's server: the HTTP API, the live websocket hub, the ingest path and the embedded
//! web page.
//!
//! Every event, whether read by a local source inside `knockmap serve` or posted by a remote
//! sensor to `POST /api/v1/ingest`, goes through one [`Ingestor`]: ids, geolocation, storage,
//! then the live hub.
#![forbid(unsafe_code)]

mod admin;
mod api;
mod assets;
mod enrich;
mod error;
mod ingest;
mod live;
mod local_source;
mod metrics;
mod parsed_log;
mod public;
mod remote;
mod session;
mod shodan;
mod state;
pub mod token;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use admin::{AdminAccess, AdminError, AdminToken};
pub use ingest::{IngestTotals, Ingestor, Origin};
pub use live::{BroadcastHub, LiveHub};
pub use local_source::{LOCAL_SENSOR, LocalSourceHandle, spawn_local_source};
pub use parsed_log::{LogInput, LogSpec, ParsedLine, ParsedLog, sleep_unless_stopped};
pub use public::PublicView;
pub use remote::{HEALTH_HEADERS, MAX_BODY_BYTES, SPOOL_HEALTH_HEADERS};
pub use session::hash_password;
pub use shodan::{ShodanConfig, ShodanError};
pub use state::{AppState, Location, Meta};

/// Builds the router: API, websocket and web page.
pub fn router(state: AppState) -> Router {
    api::routes()
        .merge(session::routes())
        .merge(enrich::routes())
        .merge(remote::routes())
        .merge(metrics::routes())
        .merge(live::routes())
        .merge(assets::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(assets::security_headers))
        // The map's answer for 100,000 addresses is megabytes of JSON; compressed at the
        // fastest level, for the server's sake, it is a fifth of that. zstd, which browsers
        // prefer, compresses several times faster than gzip; gzip is for the others.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .zstd(true)
                .quality(tower_http::compression::CompressionLevel::Fastest),
        )
}

/// Binds `addr` (port 0 picks a free port) and returns the listener with its real address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves `state` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A shared, type-erased store.
pub type SharedStore = Arc<dyn knockmap_store::Store>;
