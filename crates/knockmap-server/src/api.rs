//! The JSON API (`docs/api.md`).

use std::net::IpAddr;

use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use jiff::Timestamp;
use knockmap_store::{Filter, IpDetail, MarkerColumns, Window};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

/// How many recent events an address's page shows.
const IP_RECENT_EVENTS: u32 = 50;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/meta", get(meta))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/markers", get(markers))
        .route("/api/v1/recent", get(recent))
        .route("/api/v1/ips/{ip}", get(ip_detail))
        .route("/api/v1/ips/{ip}/star", post(star))
        .route("/api/v1/ips/{ip}/note", put(note))
        .route("/api/v1/sensors", get(sensors))
        .route("/healthz", get(healthz))
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
}

/// The live hub's count of published batches when an answer was begun (see
/// [`crate::live::LiveHub::published`]).
const PUBLISHED: &str = "x-knockmap-published";

/// Longest sensor name a filter may give, in bytes.
const MAX_SENSOR_BYTES: usize = 200;
/// Longest user name a filter may give, in bytes (sshd logs longer ones, but a link to
/// them would not fit in a URL).
const MAX_USER_BYTES: usize = 4096;

/// Query parameters shared by the windowed endpoints.
#[derive(Debug, Default, Deserialize)]
struct Filters {
    since: Option<String>,
    until: Option<String>,
    limit: Option<String>,
    sensor: Option<String>,
    country: Option<String>,
    asn: Option<String>,
    user: Option<String>,
    format: Option<String>,
}

impl Filters {
    /// The `sensor`, `country`, `asn` and `user` narrowing of `stats` and `markers`.
    fn filter(&self) -> Result<Filter, ApiError> {
        Ok(Filter {
            sensor: self.sensor.as_deref().map(sensor_name).transpose()?,
            country: self.country.as_deref().map(country_code).transpose()?,
            asn: self.asn.as_deref().map(asn_number).transpose()?,
            user: self.user.as_deref().map(user_name).transpose()?,
        })
    }

    /// [`Filters::filter`] as `state` allows it: a map that hides user names does not
    /// filter by them either, or a visitor could ask which names were tried.
    fn filter_for(&self, state: &AppState) -> Result<Filter, ApiError> {
        let filter = self.filter()?;
        if filter.user.is_some() && state.public.as_ref().is_some_and(|p| !p.show_users) {
            return Err(ApiError::Forbidden(
                "this public map hides user names, so it cannot filter by them".into(),
            ));
        }
        Ok(filter)
    }

    fn window(&self) -> Result<Window, ApiError> {
        let parse = |name: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|text| {
                    text.parse::<Timestamp>().map_err(|_| {
                        ApiError::BadRequest(format!(
                            "{name} must be an RFC 3339 time such as 2026-11-21T19:00:00Z, got {text:?}"
                        ))
                    })
                })
                .transpose()
        };
        let window = Window {
            since: parse("since", &self.since)?,
            until: parse("until", &self.until)?,
        };
        if let (Some(since), Some(until)) = (window.since, window.until)
            && since > until
        {
            return Err(ApiError::BadRequest("since must not be after until".into()));
        }
        Ok(window)
    }
}

/// A sensor name to filter by: not empty, at most [`MAX_SENSOR_BYTES`].
fn sensor_name(name: &str) -> Result<String, ApiError> {
    exact_name("sensor", name, MAX_SENSOR_BYTES)
}

/// A user name to filter by: not empty, at most [`MAX_USER_BYTES`], kept exactly.
fn user_name(name: &str) -> Result<String, ApiError> {
    exact_name("user", name, MAX_USER_BYTES)
}

/// The value of the parameter `field`, compared exactly: not empty, at most `max` bytes.
fn exact_name(field: &str, name: &str, max: usize) -> Result<String, ApiError> {
    if name.is_empty() {
        return Err(ApiError::BadRequest(format!("{field} must not be empty")));
    }
    if name.len() > max {
        return Err(ApiError::BadRequest(format!(
            "{field} must be at most {max} bytes long, got {} bytes",
            name.len()
        )));
    }
    Ok(name.to_string())
}

/// An autonomous system number to filter by: decimal, with or without `AS` in front.
fn asn_number(text: &str) -> Result<u32, ApiError> {
    let digits = text
        .strip_prefix("AS")
        .or_else(|| text.strip_prefix("as"))
        .unwrap_or(text);
    match digits.parse::<u32>() {
        Ok(asn) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok(asn),
        _ => Err(ApiError::BadRequest(format!(
            "asn must be an autonomous system number such as 64500 or AS64500, got {:?}",
            text.chars().take(20).collect::<String>()
        ))),
    }
}

/// A country code to filter by: two ASCII letters in any case, returned in upper case as
/// codes are stored.
fn country_code(code: &str) -> Result<String, ApiError> {
    if code.is_empty() {
        return Err(ApiError::BadRequest("country must not be empty".into()));
    }
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::BadRequest(format!(
            "country must be a two-letter country code such as GB, got {:?}",
            code.chars().take(20).collect::<String>()
        )));
    }
    Ok(code.to_ascii_uppercase())
}

fn filters(
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Filters, ApiError> {
    query
        .map(|Query(f)| f)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

async fn meta(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.meta().await?))
}

async fn stats(
    State(state): State<AppState>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let filters = filters(query)?;
    let (window, filter) = (filters.window()?, filters.filter_for(&state)?);
    let published = published(&state);
    let stats = state.store.stats(&window, &filter).await?;
    Ok((
        published,
        Json(match &state.public {
            Some(public) => public.stats(stats),
            None => stats,
        }),
    ))
}

/// The [`PUBLISHED`] header, read before the store is asked (see
/// [`crate::live::LiveHub::published`]).
fn published(state: &AppState) -> [(&'static str, String); 1] {
    [(PUBLISHED, state.hub.published().to_string())]
}

/// JSON already written out, as an answer.
fn json_text(json: Vec<u8>) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

async fn markers(
    State(state): State<AppState>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let filters = filters(query)?;
    let (window, filter) = (filters.window()?, filters.filter_for(&state)?);
    let columns = match filters.format.as_deref() {
        None | Some("objects") => false,
        Some("columns") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format must be objects or columns, got {:?}",
                other.chars().take(20).collect::<String>()
            )));
        }
    };
    let published = published(&state);
    let answer = if let Some(public) = &state.public {
        let markers = public.markers(state.store.markers(&window, &filter).await?);
        if columns {
            json_text(MarkerColumns::from(&markers).to_json())
        } else {
            Json(markers).into_response()
        }
    } else if columns {
        json_text(
            state
                .store
                .marker_columns(&window, &filter)
                .await?
                .to_json(),
        )
    } else {
        Json(state.store.markers(&window, &filter).await?).into_response()
    };
    Ok((published, answer))
}

/// The latest events; `sensor` and `country` do not narrow them (they are not checked
/// either), so one query string can serve every panel of the page.
async fn recent(
    State(state): State<AppState>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let filters = filters(query)?;
    let window = filters.window()?;
    let limit = match filters.limit.as_deref() {
        None => 100,
        Some(text) => match text.parse::<u32>() {
            Ok(n @ 1..=1000) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit must be a whole number from 1 to 1000, got {text:?}"
                )));
            }
        },
    };
    let events = state.store.recent(&window, limit).await?;
    Ok(Json(match &state.public {
        Some(public) => json!({ "events": public.events(&events) }),
        None => json!({ "events": events }),
    }))
}

/// An address's detail plus the links to outside lookups.
#[derive(Serialize)]
struct IpPage {
    #[serde(flatten)]
    detail: IpDetail,
    links: Links,
}

/// Links to outside reputation services for one address (an address is only digits, hex
/// letters, dots and colons, so it needs no escaping in a URL).
#[derive(Serialize)]
struct Links {
    shodan: String,
    censys: String,
    talos: String,
    abuseipdb: String,
    greynoise: String,
    /// Registration data (whois) through the RDAP bootstrap service.
    rdap: String,
}

impl Links {
    fn for_ip(ip: IpAddr) -> Links {
        Links {
            shodan: format!("https://www.shodan.io/host/{ip}"),
            censys: format!("https://search.censys.io/hosts/{ip}"),
            talos: format!("https://talosintelligence.com/reputation_center/lookup?search={ip}"),
            abuseipdb: format!("https://www.abuseipdb.com/check/{ip}"),
            greynoise: format!("https://viz.greynoise.io/ip/{ip}"),
            rdap: format!("https://rdap.org/ip/{ip}"),
        }
    }
}

/// Parses an address from a URL path segment into canonical form (IPv4-mapped → IPv4).
pub(crate) fn canonical_ip(text: &str) -> Result<IpAddr, ApiError> {
    let ip: IpAddr = text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "not an IP address: {:?}",
            text.chars().take(100).collect::<String>()
        ))
    })?;
    Ok(ip.to_canonical())
}

async fn ip_detail(
    State(state): State<AppState>,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<impl IntoResponse, ApiError> {
    if state.public.is_some() {
        return Err(ApiError::NotFound(
            "an address's page is not shown in public mode".into(),
        ));
    }
    let Path(text) = path.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ip = canonical_ip(&text)?;
    let detail = state
        .store
        .ip_detail(&ip.to_string(), IP_RECENT_EVENTS)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{ip} has not been seen")))?;
    Ok(Json(IpPage {
        detail,
        links: Links::for_ip(ip),
    }))
}

/// Longest note an admin can keep on an address, in characters.
const MAX_NOTE_CHARS: usize = 10_000;

/// `POST /api/v1/ips/{ip}/star` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StarBody {
    starred: bool,
}

/// `PUT /api/v1/ips/{ip}/note` body; a null or empty note clears it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: Option<String>,
}

/// Stars or unstars an address (admin only).
async fn star(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Json<StarBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.admin.require(&headers, &Method::POST)?;
    let ip = admin_target(path)?;
    let Json(StarBody { starred }) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if !state.store.set_starred(&ip.to_string(), starred).await? {
        return Err(ApiError::NotFound(format!("{ip} has not been seen")));
    }
    Ok(Json(json!({ "ip": ip, "starred": starred })))
}

/// Sets or clears an address's note (admin only).
async fn note(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    body: Result<Json<NoteBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.admin.require(&headers, &Method::PUT)?;
    let ip = admin_target(path)?;
    let Json(NoteBody { note }) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let note = note.filter(|n| !n.is_empty());
    if let Some(text) = &note
        && text.chars().count() > MAX_NOTE_CHARS
    {
        return Err(ApiError::BadRequest(format!(
            "a note holds at most {MAX_NOTE_CHARS} characters"
        )));
    }
    if !state
        .store
        .set_note(&ip.to_string(), note.as_deref())
        .await?
    {
        return Err(ApiError::NotFound(format!("{ip} has not been seen")));
    }
    Ok(Json(json!({ "ip": ip, "note": note })))
}

/// The address an admin action names.
fn admin_target(
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<IpAddr, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    canonical_ip(&text)
}

/// Every registered sensor with its last report (admin only: it names the hosts).
async fn sensors(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.admin.require(&headers, &Method::GET)?;
    let sensors = state.store.list_sensors().await?;
    Ok(Json(json!({ "sensors": sensors })))
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::warn!("health check: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unavailable" })),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_become_ipv4_and_garbage_is_a_bad_request() {
        assert_eq!(canonical_ip("::ffff:1.2.3.4").ok(), "1.2.3.4".parse().ok());
        assert_eq!(
            canonical_ip("2001:db8:0::1").ok().map(|i| i.to_string()),
            Some("2001:db8::1".into())
        );
        assert!(matches!(
            canonical_ip("<script>"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn windows_reject_bad_times_and_inverted_ranges() {
        let f = Filters {
            since: Some("yesterday".into()),
            ..Filters::default()
        };
        assert!(matches!(f.window(), Err(ApiError::BadRequest(m)) if m.contains("RFC 3339")));
        let f = Filters {
            since: Some("2026-11-21T00:00:00Z".into()),
            until: Some("2026-11-20T00:00:00Z".into()),
            ..Filters::default()
        };
        assert!(f.window().is_err());
    }

    #[test]
    fn filters_take_a_sensor_and_a_country_in_any_case() {
        let f = Filters {
            sensor: Some("edge-1".into()),
            country: Some("gB".into()),
            ..Filters::default()
        };
        assert_eq!(
            f.filter().ok(),
            Some(Filter {
                sensor: Some("edge-1".into()),
                country: Some("GB".into()),
                ..Filter::default()
            })
        );
        assert_eq!(Filters::default().filter().ok(), Some(Filter::default()));
    }

    #[test]
    fn filters_reject_empty_values_long_sensors_and_bad_country_codes() {
        let bad = |sensor: Option<&str>, country: Option<&str>| {
            let f = Filters {
                sensor: sensor.map(str::to_string),
                country: country.map(str::to_string),
                ..Filters::default()
            };
            match f.filter() {
                Err(ApiError::BadRequest(message)) => message,
                other => panic!("{sensor:?} {country:?}: {other:?}"),
            }
        };
        assert!(bad(Some(""), None).contains("sensor must not be empty"));
        let long = "s".repeat(MAX_SENSOR_BYTES + 1);
        assert!(bad(Some(&long), None).contains("at most 200 bytes"));
        assert!(
            Filters {
                sensor: Some("s".repeat(MAX_SENSOR_BYTES)),
                ..Filters::default()
            }
            .filter()
            .is_ok()
        );
        assert!(bad(None, Some("")).contains("country must not be empty"));
        for code in ["G", "GBR", "G1", "é1", "Gé", "gb "] {
            assert!(bad(None, Some(code)).contains("two-letter"), "{code:?}");
        }
    }

    #[test]
    fn filters_take_an_asn_with_or_without_as_and_a_user_name_exactly() {
        let f = |asn: &str, user: &str| {
            Filters {
                asn: Some(asn.into()),
                user: Some(user.into()),
                ..Filters::default()
            }
            .filter()
        };
        for asn in ["64500", "AS64500", "as64500"] {
            let got = f(asn, " root\u{202e} <b>").ok();
            assert_eq!(got.as_ref().and_then(|f| f.asn), Some(64_500), "{asn}");
            assert_eq!(
                got.and_then(|f| f.user).as_deref(),
                Some(" root\u{202e} <b>")
            );
        }
        for asn in ["", "AS", "-1", "+5", "4294967296", "64500x", "AS 1", "１２"] {
            match f(asn, "root") {
                Err(ApiError::BadRequest(m)) => assert!(m.contains("autonomous system"), "{m}"),
                other => panic!("{asn:?}: {other:?}"),
            }
        }
        assert!(
            matches!(f("1", ""), Err(ApiError::BadRequest(m)) if m.contains("user must not be empty"))
        );
        let long = "u".repeat(MAX_USER_BYTES + 1);
        assert!(
            matches!(f("1", &long), Err(ApiError::BadRequest(m)) if m.contains("at most 4096 bytes"))
        );
        assert!(f("1", &long[1..]).is_ok());
    }
}
