//! API errors: one JSON shape, the right status, never a 500 for bad input.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request carries no valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The credentials are valid but not enough, or the feature is off (403).
    #[error("{0}")]
    Forbidden(String),
    /// The request body is over the limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request body is in an encoding the server does not read (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The thing asked for does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// Too many tries: wait the given seconds (429 with `Retry-After`).
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// The server cannot do it now (503).
    #[error("{0}")]
    Unavailable(String),
    /// An outside service failed (502).
    #[error("{0}")]
    Upstream(String),
    /// The database failed (500, logged; the message does not leak internals).
    #[error("database error")]
    Store(#[from] knockmap_store::StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Store(e) => {
                tracing::error!("store: {e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let retry_after = match &self {
            ApiError::TooManyRequests(_, seconds) => Some(*seconds),
            _ => None,
        };
        let mut response = (status, Json(json!({ "error": self.to_string() }))).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
