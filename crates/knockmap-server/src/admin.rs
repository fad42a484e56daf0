//! Admin access. Two credentials open the admin routes:
//! - a bearer token given to the server at start (`--admin-token`), for scripts: only its
//!   SHA-256 is kept in memory;
//! - a password (`--admin-password`, kept only as its argon2 hash), for people: signing in
//!   on the page opens a session (see [`crate::session`]).
//!
//! Without either, admin routes answer 403 and say how to enable them.

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, Method};

use crate::error::ApiError;
use crate::session::{AdminPassword, CSRF_HEADER, SESSION_COOKIE, Sessions};
use crate::token::hash_token;

/// The admin credential a server accepts as `Authorization: Bearer`.
#[derive(Clone)]
pub struct AdminToken {
    sha256: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// The credential for `token`; `None` for an empty one.
    pub fn new(token: &str) -> Option<AdminToken> {
        let token = token.trim();
        (!token.is_empty()).then(|| AdminToken {
            sha256: hash_token(token),
        })
    }

    /// Whether `token` is this credential. Compares digests, so the time taken says
    /// nothing about the token.
    fn accepts(&self, token: &str) -> bool {
        same_bytes(&hash_token(token.trim()), &self.sha256)
    }
}

/// Compares two byte strings in time that depends only on their length.
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A credential the server was started with is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// `--admin-token` was given but empty.
    #[error("--admin-token is empty")]
    EmptyToken,
    /// `--admin-password` was given but empty.
    #[error("--admin-password is empty")]
    EmptyPassword,
    /// `--admin-password` looked like an argon2 hash but is not a valid one.
    #[error("--admin-password starts like an argon2 hash ($argon2…) but is not one: {0}")]
    BadHash(String),
    /// Hashing the password failed.
    #[error("cannot hash the admin password: {0}")]
    Hashing(String),
}

/// Everything that decides who is an admin: the token, the password and the open sessions.
#[derive(Debug, Default)]
pub struct AdminAccess {
    token: Option<AdminToken>,
    password: Option<AdminPassword>,
    pub(crate) sessions: Sessions,
}

/// How a request proved it is an admin's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admin {
    /// By the bearer token.
    Token,
    /// By a session cookie; the session's CSRF token.
    Session { csrf: String },
}

impl AdminAccess {
    /// No admin access at all (the default).
    pub fn none() -> AdminAccess {
        AdminAccess::default()
    }

    /// Also accepts `token` as `Authorization: Bearer`.
    pub fn with_token(mut self, token: &str) -> Result<AdminAccess, AdminError> {
        self.token = Some(AdminToken::new(token).ok_or(AdminError::EmptyToken)?);
        Ok(self)
    }

    /// Also lets people sign in with this password: an argon2 hash in PHC form
    /// (`$argon2id$…`, as `knockmap hash-password` prints), or the password itself, which is
    /// hashed here and not kept.
    pub fn with_password(mut self, password: &str) -> Result<AdminAccess, AdminError> {
        self.password = Some(AdminPassword::new(password)?);
        Ok(self)
    }

    /// Whether any admin credential is configured.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.password.is_some()
    }

    /// The password people sign in with, when one is configured.
    pub(crate) fn password(&self) -> Option<&AdminPassword> {
        self.password.as_ref()
    }

    /// Who the request is, without judging whether it may do what it asks: `None` when it
    /// carries no valid credential.
    pub(crate) fn identify(&self, headers: &HeaderMap) -> Option<Admin> {
        if let Some(token) = bearer(headers) {
            return self
                .token
                .as_ref()
                .is_some_and(|t| t.accepts(token))
                .then_some(Admin::Token);
        }
        let id = session_cookie(headers)?;
        self.sessions
            .csrf_of(id)
            .map(|csrf| Admin::Session { csrf })
    }

    /// Lets the request through only when it is an admin's. A request that changes
    /// something with a session cookie must also carry the session's CSRF token in
    /// `X-CSRF-Token`: a cookie alone is sent by the browser whoever made the page.
    pub(crate) fn require(&self, headers: &HeaderMap, method: &Method) -> Result<Admin, ApiError> {
        if !self.enabled() {
            return Err(ApiError::Forbidden(
                "admin access is not enabled: start the server with --admin-password \
                 (or KNOCKMAP_ADMIN_PASSWORD) to sign in on the page, or --admin-token \
                 (or KNOCKMAP_ADMIN_TOKEN) for scripts"
                    .into(),
            ));
        }
        let has_bearer = bearer(headers).is_some();
        match self.identify(headers) {
            Some(Admin::Session { csrf }) if !is_safe(method) => {
                let given = headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if same_bytes(given.as_bytes(), csrf.as_bytes()) {
                    Ok(Admin::Session { csrf })
                } else {
                    Err(ApiError::Forbidden(format!(
                        "missing or wrong {CSRF_HEADER} header: reload the page and try again"
                    )))
                }
            }
            Some(admin) => Ok(admin),
            None if has_bearer => Err(ApiError::Unauthorized("wrong admin token".into())),
            None if session_cookie(headers).is_some() => Err(ApiError::Unauthorized(
                "the admin session has ended: sign in again".into(),
            )),
            None => Err(ApiError::Unauthorized(
                "admin only: sign in, or send Authorization: Bearer <admin token>".into(),
            )),
        }
    }
}

/// Methods that change nothing and need no CSRF token.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The session id in the `Cookie` headers, when there is one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        h
    }

    #[test]
    fn only_the_same_token_is_accepted() {
        let admin = AdminToken::new("s3cret").expect("token");
        assert!(admin.accepts("s3cret") && admin.accepts(" s3cret "));
        assert!(!admin.accepts("s3cre") && !admin.accepts(""));
        assert!(AdminToken::new("  ").is_none());
        assert_eq!(format!("{admin:?}"), "AdminToken(..)");
    }

    #[test]
    fn nothing_configured_is_forbidden_with_a_hint() {
        let access = AdminAccess::none();
        assert!(!access.enabled());
        let err = access
            .require(&headers(&[]), &Method::GET)
            .expect_err("forbidden");
        assert!(matches!(err, ApiError::Forbidden(m) if m.contains("--admin-password")));
        assert!(matches!(
            AdminAccess::none().with_token(" "),
            Err(AdminError::EmptyToken)
        ));
    }

    #[test]
    fn bearer_tokens_and_sessions_with_csrf() {
        let access = AdminAccess::none().with_token("tok").expect("token");
        let ok = headers(&[("authorization", "Bearer tok")]);
        assert_eq!(access.require(&ok, &Method::POST).ok(), Some(Admin::Token));
        let wrong = headers(&[("authorization", "bearer nope")]);
        assert!(matches!(
            access.require(&wrong, &Method::GET),
            Err(ApiError::Unauthorized(m)) if m == "wrong admin token"
        ));
        assert!(matches!(
            access.require(&headers(&[]), &Method::GET),
            Err(ApiError::Unauthorized(m)) if m.contains("sign in")
        ));

        let (id, csrf) = access.sessions.open().expect("session");
        let cookie = format!("theme=dark; {SESSION_COOKIE}={id}");
        let with_cookie = headers(&[("cookie", &cookie)]);
        assert!(access.require(&with_cookie, &Method::GET).is_ok());
        // Changing something needs the CSRF token too.
        assert!(matches!(
            access.require(&with_cookie, &Method::POST),
            Err(ApiError::Forbidden(m)) if m.contains(CSRF_HEADER)
        ));
        let bad_csrf = headers(&[("cookie", &cookie), (CSRF_HEADER, "0000")]);
        assert!(access.require(&bad_csrf, &Method::PUT).is_err());
        let good = headers(&[("cookie", &cookie), (CSRF_HEADER, &csrf)]);
        assert!(access.require(&good, &Method::PUT).is_ok());

        access.sessions.close(&id);
        assert!(matches!(
            access.require(&good, &Method::PUT),
            Err(ApiError::Unauthorized(m)) if m.contains("ended")
        ));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let h = headers(&[("cookie", "a=1"), ("cookie", "knockmap_session=abc; b=2")]);
        assert_eq!(session_cookie(&h), Some("abc"));
        assert_eq!(
            session_cookie(&headers(&[("cookie", "knockmap_session=")])),
            None
        );
        assert_eq!(
            session_cookie(&headers(&[("cookie", "xknockmap_session=abc")])),
            None
        );
    }
}
