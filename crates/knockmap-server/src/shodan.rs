//! Shodan enrichment (`--shodan-key`): what Shodan knows about an attacker (open ports,
//! organisation, operating system, host names, service banners), fetched once when its page
//! is first opened, cached in the database with its date, and fetched again only when an
//! admin asks.
//!
//! Only addresses that have been seen are looked up, so the server cannot be used to query
//! Shodan for arbitrary addresses. A failed lookup (timeout, refused key, rate limit) is
//! answered as such and not cached: the next view tries again. Banners are attacker-controlled
//! text: they are stored and returned as JSON strings, and the page inserts them as text.

use std::net::IpAddr;
use std::time::Duration;

use jiff::Timestamp;
use knockmap_store::CachedLookup;
use serde::{Deserialize, Serialize};

/// The service name lookups are cached under.
pub const SERVICE: &str = "shodan";
/// Longest banner kept per service, in characters.
const MAX_BANNER_CHARS: usize = 4_000;
/// Most services kept per address.
const MAX_SERVICES: usize = 50;

/// How to reach Shodan.
#[derive(Clone)]
pub struct ShodanConfig {
    /// The API key.
    pub key: String,
    /// The API's base URL (`https://api.shodan.io`; another for a proxy or a test).
    pub base_url: String,
    /// How long one lookup may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for ShodanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShodanConfig")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Looks addresses up on Shodan.
#[derive(Debug, Clone)]
pub struct Shodan {
    config: ShodanConfig,
    client: reqwest::Client,
}

/// What Shodan's host answer is reduced to (the raw answer can be megabytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<String>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
    #[serde(default)]
    pub services: Vec<Service>,
}

/// One open port as Shodan saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The banner, cut to [`MAX_BANNER_CHARS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
}

/// The parts of Shodan's `/shodan/host/{ip}` answer that are kept.
#[derive(Debug, Deserialize)]
struct RawHost {
    org: Option<String>,
    isp: Option<String>,
    os: Option<String>,
    asn: Option<String>,
    #[serde(default)]
    hostnames: Vec<String>,
    #[serde(default)]
    ports: Vec<u16>,
    last_update: Option<String>,
    #[serde(default)]
    data: Vec<RawService>,
}

#[derive(Debug, Deserialize)]
struct RawService {
    port: Option<u16>,
    transport: Option<String>,
    product: Option<String>,
    version: Option<String>,
    data: Option<String>,
}

impl From<RawHost> for HostSummary {
    fn from(raw: RawHost) -> Self {
        let mut ports = raw.ports;
        ports.sort_unstable();
        ports.dedup();
        HostSummary {
            org: raw.org,
            isp: raw.isp,
            os: raw.os,
            asn: raw.asn,
            hostnames: raw.hostnames,
            ports,
            last_update: raw.last_update,
            services: raw
                .data
                .into_iter()
                .filter_map(|s| {
                    Some(Service {
                        port: s.port?,
                        transport: s.transport,
                        product: s.product,
                        version: s.version,
                        banner: s.data.map(|b| b.chars().take(MAX_BANNER_CHARS).collect()),
                    })
                })
                .take(MAX_SERVICES)
                .collect(),
        }
    }
}

/// A lookup that did not give an answer to cache.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShodanError {
    /// No answer in time.
    #[error("Shodan did not answer within {0} s")]
    Timeout(u64),
    /// The key was refused.
    #[error("Shodan refused the API key (HTTP {0}): check --shodan-key")]
    Refused(u16),
    /// Too many requests.
    #[error("Shodan's rate limit was reached (HTTP 429): try again later")]
    RateLimited,
    /// Anything else.
    #[error("Shodan lookup failed: {0}")]
    Failed(String),
}

impl Shodan {
    /// A client for `config`.
    pub fn new(config: ShodanConfig) -> Result<Shodan, ShodanError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("knockmap/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ShodanError::Failed(e.to_string()))?;
        Ok(Shodan { config, client })
    }

    /// Asks Shodan about `ip`: a lookup to cache (found, or not known to Shodan), or an error.
    pub async fn fetch(&self, ip: IpAddr) -> Result<CachedLookup, ShodanError> {
        let url = format!(
            "{}/shodan/host/{ip}",
            self.config.base_url.trim_end_matches('/')
        );
        let response = self
            .client
            .get(&url)
            .query(&[("key", self.config.key.as_str())])
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        match status {
            200 => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| self.transport_error(e))?;
                let raw: RawHost = serde_json::from_slice(&body).map_err(|e| {
                    ShodanError::Failed(format!("Shodan's answer is not a host: {e}"))
                })?;
                let summary = HostSummary::from(raw);
                Ok(CachedLookup {
                    fetched_at: Timestamp::now(),
                    status: "ok".into(),
                    body: serde_json::to_string(&summary)
                        .map_err(|e| ShodanError::Failed(e.to_string()))?,
                })
            }
            404 => Ok(CachedLookup {
                fetched_at: Timestamp::now(),
                status: "not_found".into(),
                body: "{}".into(),
            }),
            401 | 403 => Err(ShodanError::Refused(status)),
            429 => Err(ShodanError::RateLimited),
            other => Err(ShodanError::Failed(format!("HTTP {other}"))),
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> ShodanError {
        if e.is_timeout() {
            ShodanError::Timeout(self.config.timeout.as_secs().max(1))
        } else {
            // Without the URL: it holds the key.
            ShodanError::Failed(e.without_url().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_answer_is_reduced_and_banners_are_cut() {
        let raw: RawHost = serde_json::from_value(serde_json::json!({
            "ip_str": "203.0.113.7",
            "org": "Example <b>Org</b>",
            "os": null,
            "hostnames": ["scanner.example"],
            "ports": [22, 80, 22],
            "last_update": "2026-12-01T00:00:00.000000",
            "data": [
                {"port": 22, "transport": "tcp", "product": "OpenSSH", "version": "9.2",
                 "data": "SSH-2.0-OpenSSH_9.2\r\n<script>alert(1)</script>", "_shodan": {"id": "x"}},
                {"port": 80, "data": "x".repeat(10_000)},
                {"transport": "udp"}
            ],
            "vulns": ["CVE-0000-0000"]
        }))
        .expect("parse");
        let s = HostSummary::from(raw);
        assert_eq!(s.ports, [22, 80]);
        assert_eq!(s.org.as_deref(), Some("Example <b>Org</b>"));
        assert_eq!(s.services.len(), 2, "a service without a port is dropped");
        assert!(
            s.services[0]
                .banner
                .as_deref()
                .unwrap_or("")
                .contains("<script>")
        );
        assert_eq!(
            s.services[1].banner.as_deref().map(|b| b.chars().count()),
            Some(MAX_BANNER_CHARS)
        );
        let json = serde_json::to_string(&s).expect("json");
        assert!(!json.contains("_shodan") && !json.contains("vulns"));
    }

    #[test]
    fn the_key_is_never_shown() {
        let config = ShodanConfig {
            key: "secret-key".into(),
            base_url: "https://api.shodan.io".into(),
            timeout: Duration::from_secs(10),
        };
        assert!(!format!("{config:?}").contains("secret-key"));
    }
}
