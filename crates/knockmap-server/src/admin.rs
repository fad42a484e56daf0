//! Admin access: a bearer token given to the server at start (`--admin-token`).
//!
//! Only the token's SHA-256 is kept in memory. Without an admin token, admin routes answer
//! 403 and say how to enable them.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::AppState;
use crate::error::ApiError;
use crate::token::hash_token;

/// The admin credential a server accepts.
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
        let given = hash_token(token.trim());
        given
            .iter()
            .zip(self.sha256.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// Lets the request through only with the admin token in `Authorization: Bearer`.
pub(crate) fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(admin) = &state.admin else {
        return Err(ApiError::Forbidden(
            "admin access is not enabled: start the server with --admin-token \
             (or KNOCKMAP_ADMIN_TOKEN)"
                .into(),
        ));
    };
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        });
    match token {
        Some(token) if admin.accepts(token) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("wrong admin token".into())),
        None => Err(ApiError::Unauthorized(
            "admin only: send Authorization: Bearer <admin token>".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_is_accepted() {
        let admin = AdminToken::new("s3cret").expect("token");
        assert!(admin.accepts("s3cret") && admin.accepts(" s3cret "));
        assert!(!admin.accepts("s3cre") && !admin.accepts(""));
        assert!(AdminToken::new("  ").is_none());
        assert_eq!(format!("{admin:?}"), "AdminToken(..)");
    }
}
