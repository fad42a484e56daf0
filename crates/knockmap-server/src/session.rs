//! Signing in on the page with the admin password.
//!
//! `POST /api/v1/session` checks the password against its argon2 hash and opens a session:
//! a random id in a cookie (HttpOnly, SameSite=Strict, Secure when the request came over
//! TLS through a proxy) and a random CSRF token that the page sends back in `X-CSRF-Token`
//! with every request that changes something. `GET` tells the page whether it is signed in;
//! `DELETE` signs out. Sessions live in memory for [`SESSION_LIFETIME`]: a restart signs
//! everyone out. Failed sign-ins are limited to [`MAX_FAILURES`] a minute.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::admin::{Admin, AdminError, session_cookie};
use crate::error::ApiError;
use crate::token::{generate_token, hash_token};

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "knockmap_session";
/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session stays open.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Open sessions at most; the oldest is closed to make room.
const MAX_SESSIONS: usize = 256;
/// Failed sign-ins allowed per [`FAILURE_WINDOW`], from anywhere.
pub const MAX_FAILURES: usize = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Longest password accepted, in bytes (argon2 hashes any length; this bounds the work).
const MAX_PASSWORD_BYTES: usize = 1024;

/// The admin password, as an argon2 hash in PHC form.
#[derive(Clone)]
pub struct AdminPassword {
    phc: String,
}

impl std::fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminPassword(..)")
    }
}

impl AdminPassword {
    /// From a PHC argon2 hash (`$argon2id$…`) or a password to hash.
    pub fn new(given: &str) -> Result<AdminPassword, AdminError> {
        if given.is_empty() {
            return Err(AdminError::EmptyPassword);
        }
        if given.starts_with("$argon2") {
            let bad = |e: &dyn std::fmt::Display| AdminError::BadHash(e.to_string());
            let hash = PasswordHash::new(given).map_err(|e| bad(&e))?;
            argon2::Algorithm::try_from(hash.algorithm).map_err(|e| bad(&e))?;
            argon2::Params::try_from(&hash).map_err(|e| bad(&e))?;
            if hash.salt.is_none() || hash.hash.is_none() {
                return Err(bad(&"it has no salt or no hash"));
            }
            return Ok(AdminPassword {
                phc: given.to_string(),
            });
        }
        Ok(AdminPassword {
            phc: hash_password(given)?,
        })
    }

    /// Whether `password` is the admin password. Slow on purpose (argon2): call it off the
    /// async workers.
    pub fn verify(&self, password: &str) -> bool {
        PasswordHash::new(&self.phc).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    }
}

/// The argon2id hash of `password` with a fresh random salt, in PHC form.
pub fn hash_password(password: &str) -> Result<String, AdminError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AdminError::Hashing(e.to_string()))
}

/// Open sessions, keyed by the SHA-256 of their id (the id itself is only in the cookie).
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<VecDeque<Instant>>,
}

#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    expires: Instant,
}

impl Sessions {
    /// Opens a session: its id and CSRF token.
    pub(crate) fn open(&self) -> Result<(String, String), ApiError> {
        let random = || {
            generate_token().map_err(|e| {
                tracing::error!("{e}");
                ApiError::Unavailable("cannot open a session now".into())
            })
        };
        let (id, csrf) = (random()?, random()?);
        let now = Instant::now();
        let mut open = lock(&self.open);
        open.retain(|_, s| s.expires > now);
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(key, _)| *key)
        {
            open.remove(&oldest);
        }
        open.insert(
            hash_token(&id),
            Session {
                csrf: csrf.clone(),
                expires: now + SESSION_LIFETIME,
            },
        );
        Ok((id, csrf))
    }

    /// The CSRF token of the open session `id`.
    pub(crate) fn csrf_of(&self, id: &str) -> Option<String> {
        let key = hash_token(id);
        let mut open = lock(&self.open);
        match open.get(&key) {
            Some(s) if s.expires > Instant::now() => Some(s.csrf.clone()),
            Some(_) => {
                open.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Closes the session `id`.
    pub(crate) fn close(&self, id: &str) {
        lock(&self.open).remove(&hash_token(id));
    }

    /// Whether another sign-in may be tried now; `Err` with the seconds to wait.
    fn may_try(&self) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = lock(&self.failures);
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
        {
            failures.pop_front();
        }
        match failures.front() {
            Some(first) if failures.len() >= MAX_FAILURES => {
                let wait = FAILURE_WINDOW.saturating_sub(now.duration_since(*first));
                Err(wait.as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    fn failed(&self) {
        lock(&self.failures).push_back(Instant::now());
    }
}

/// Locks a mutex, going on with the data if a thread panicked while holding it (the maps
/// stay consistent: every change is one insert or remove).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/session",
        get(status).post(sign_in).delete(sign_out),
    )
}

/// `POST /api/v1/session` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    password: String,
}

/// Whether this browser is signed in, and whether signing in is possible at all.
async fn status(State(state): State<AppState>, headers: HeaderMap) -> Json<serde_json::Value> {
    let admin = state.admin.identify(&headers);
    let csrf = match &admin {
        Some(Admin::Session { csrf }) => Some(csrf.as_str()),
        _ => None,
    };
    answer(admin.is_some(), state.admin.password().is_some(), csrf)
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Some(password) = state.admin.password().cloned() else {
        return Err(ApiError::Forbidden(
            "signing in is not enabled: start the server with --admin-password \
             (or KNOCKMAP_ADMIN_PASSWORD)"
                .into(),
        ));
    };
    let Json(SignIn { password: given }) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if given.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a password has at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let sessions = &state.admin.sessions;
    sessions.may_try().map_err(|wait| {
        ApiError::TooManyRequests(
            format!("too many failed sign-ins: try again in {wait} s"),
            wait,
        )
    })?;
    let matches = tokio::task::spawn_blocking(move || password.verify(&given))
        .await
        .unwrap_or(false);
    if !matches {
        sessions.failed();
        tracing::warn!("failed admin sign-in");
        return Err(ApiError::Unauthorized("wrong password".into()));
    }
    let (id, csrf) = sessions.open()?;
    let mut response = with_cookie(
        answer(true, true, Some(&csrf)),
        &id,
        SESSION_LIFETIME.as_secs(),
        &headers,
    )?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    state.admin.require(&headers, &Method::DELETE)?;
    if let Some(id) = session_cookie(&headers) {
        state.admin.sessions.close(id);
    }
    // An empty cookie that expires at once clears the browser's.
    with_cookie(
        answer(false, state.admin.password().is_some(), None),
        "",
        0,
        &headers,
    )
}

/// What `GET`, `POST` and `DELETE /api/v1/session` answer.
fn answer(admin: bool, sign_in: bool, csrf: Option<&str>) -> Json<serde_json::Value> {
    Json(json!({ "admin": admin, "sign_in": sign_in, "csrf": csrf }))
}

/// `body` with the session cookie set to `value` for `max_age` seconds.
fn with_cookie(
    body: Json<serde_json::Value>,
    value: &str,
    max_age: u64,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if over_tls(headers) { "; Secure" } else { "" }
    );
    let cookie =
        HeaderValue::from_str(&cookie).map_err(|_| ApiError::Unavailable("bad cookie".into()))?;
    let mut response = body.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Whether the request reached the proxy in front of knockmap over TLS (knockmap itself
/// speaks plain HTTP): `X-Forwarded-Proto: https` or `Forwarded: proto=https`.
fn over_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split([';', ','])
                .any(|part| part.trim().eq_ignore_ascii_case("proto=https"))
        });
    forwarded_proto || forwarded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_as_argon2_hashes_and_hashes_are_taken_as_given() {
        let password = AdminPassword::new("correct horse").expect("hash");
        assert!(password.phc.starts_with("$argon2id$"));
        assert!(!password.phc.contains("correct horse"));
        assert!(password.verify("correct horse"));
        assert!(!password.verify("correct horse "));
        let again = AdminPassword::new(&password.phc).expect("phc");
        assert!(again.verify("correct horse"));
        assert!(matches!(
            AdminPassword::new("$argon2id$nonsense"),
            Err(AdminError::BadHash(_))
        ));
        assert!(matches!(
            AdminPassword::new(""),
            Err(AdminError::EmptyPassword)
        ));
        assert_eq!(format!("{password:?}"), "AdminPassword(..)");
    }

    #[test]
    fn failed_sign_ins_are_limited() {
        let sessions = Sessions::default();
        for _ in 0..MAX_FAILURES {
            assert!(sessions.may_try().is_ok());
            sessions.failed();
        }
        let wait = sessions.may_try().expect_err("limited");
        assert!((1..=60).contains(&wait), "{wait}");
    }

    #[test]
    fn sessions_are_bounded() {
        let sessions = Sessions::default();
        let first = sessions.open().expect("session").0;
        for _ in 0..MAX_SESSIONS {
            sessions.open().expect("session");
        }
        assert_eq!(lock(&sessions.open).len(), MAX_SESSIONS);
        assert!(sessions.csrf_of(&first).is_none(), "the oldest made room");
    }

    #[test]
    fn tls_is_read_from_the_proxy_headers() {
        let mut h = HeaderMap::new();
        assert!(!over_tls(&h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(over_tls(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::FORWARDED,
            HeaderValue::from_static("for=192.0.2.60;proto=https;by=203.0.113.43"),
        );
        assert!(over_tls(&h));
    }
}
