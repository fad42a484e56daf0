//! The outside lookups of an attacker's page: `GET /api/v1/ips/{ip}/shodan` (cached, fetched
//! once) and `POST /api/v1/ips/{ip}/shodan` (admin: fetch again). See [`crate::shodan`].

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::routing::get;
use axum::{Json, Router};
use knockmap_store::CachedLookup;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::canonical_ip;
use crate::error::ApiError;
use crate::shodan::{SERVICE, Shodan};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/ips/{ip}/shodan", get(cached).post(refresh))
}

type IpPath = Result<Path<String>, axum::extract::rejection::PathRejection>;

/// The Shodan client, or why there is none.
fn client(state: &AppState) -> Result<&Shodan, ApiError> {
    if state.public.is_some() {
        return Err(ApiError::NotFound(
            "an address's page is not shown in public mode".into(),
        ));
    }
    state.shodan.as_deref().ok_or_else(|| {
        ApiError::NotFound(
            "Shodan lookups are not enabled: start the server with --shodan-key \
             (or KNOCKMAP_SHODAN_KEY)"
                .into(),
        )
    })
}

/// The address of the path, if it has been seen.
async fn seen_ip(state: &AppState, path: IpPath) -> Result<IpAddr, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ip = canonical_ip(&text)?;
    if !state.store.has_ip(&ip.to_string()).await? {
        return Err(ApiError::NotFound(format!("{ip} has not been seen")));
    }
    Ok(ip)
}

async fn cached(State(state): State<AppState>, path: IpPath) -> Result<Json<Value>, ApiError> {
    let shodan = client(&state)?;
    let ip = seen_ip(&state, path).await?;
    if let Some(lookup) = state.store.lookup(&ip.to_string(), SERVICE).await? {
        return Ok(Json(answer(&lookup)));
    }
    fetch(&state, shodan, ip).await
}

async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: IpPath,
) -> Result<Json<Value>, ApiError> {
    let shodan = client(&state)?;
    state.admin.require(&headers, &Method::POST)?;
    let ip = seen_ip(&state, path).await?;
    fetch(&state, shodan, ip).await
}

/// Asks Shodan and caches a found or not-found answer; a failure is answered with 502.
async fn fetch(state: &AppState, shodan: &Shodan, ip: IpAddr) -> Result<Json<Value>, ApiError> {
    let lookup = shodan
        .fetch(ip)
        .await
        .map_err(|e| ApiError::Upstream(e.to_string()))?;
    state
        .store
        .save_lookup(&ip.to_string(), SERVICE, &lookup)
        .await?;
    Ok(Json(answer(&lookup)))
}

fn answer(lookup: &CachedLookup) -> Value {
    json!({
        "service": SERVICE,
        "status": lookup.status,
        "fetched_at": lookup.fetched_at,
        "host": serde_json::from_str::<Value>(&lookup.body).unwrap_or(Value::Null),
    })
}
