//! The web page, built from `web/` at compile time and embedded in the binary.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

const INDEX_HTML: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/index.html"));
const BOOT_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/boot.js"));
const APP_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/app.js"));
const APP_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/app.css"));
const IP_HTML: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/ip.html"));
const IP_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/web/ip.js"));

/// No inline script or style, nothing from another origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Where each embedded file is served, with its type.
const PAGES: [(&str, &str, &[u8]); 7] = [
    ("/", HTML, INDEX_HTML),
    // Starts the request for the map's data before app.js has loaded.
    ("/boot.js", JS, BOOT_JS),
    ("/app.js", JS, APP_JS),
    ("/app.css", "text/css; charset=utf-8", APP_CSS),
    // The map of the latest N events: the map's page, which reads N from the URL.
    ("/recent/{n}", HTML, INDEX_HTML),
    // An attacker's page: the same document for every address (the script reads the
    // address from the URL), so nothing of the path is ever reflected into the page.
    ("/ip/{ip}", HTML, IP_HTML),
    ("/ip.js", JS, IP_JS),
];

pub(crate) fn routes() -> Router<AppState> {
    PAGES
        .into_iter()
        .fold(Router::new(), |router, (path, content_type, body)| {
            router.route(path, get(move || async move { asset(content_type, body) }))
        })
}

fn asset(content_type: &'static str, body: &'static [u8]) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// Adds the security headers to every answer.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
