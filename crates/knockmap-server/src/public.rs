//! `--public`: the map for a homepage. Anonymised on the server, so that nothing reaches
//! the browser that the page does not show:
//! - addresses become their network: IPv4 /24 (`203.0.113.0/24`), IPv6 /48; the markers,
//!   the unlocated list and the top addresses of a network are merged into one;
//! - user names are left out unless `--public-show-users`;
//! - events keep only their time, sensor, kind, outcome, network, user (when shown), count
//!   and place: no event id, port, process id, logging host, peer host name or method;
//! - stars are not shown; an address's page, admin routes and `/metrics` do not exist.

use std::collections::HashMap;
use std::net::IpAddr;

use jiff::Timestamp;
use knockmap_geo::GeoInfo;
use knockmap_store::{Marker, Markers, Stats, StoredEvent, TopEntry, Unlocated};
use serde::Serialize;

/// What public mode shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicView {
    /// Whether user names are shown.
    pub show_users: bool,
}

/// An event as public mode shows it.
#[derive(Debug, Serialize)]
pub(crate) struct PublicEvent<'a> {
    ts: Timestamp,
    sensor: &'a str,
    kind: &'static str,
    outcome: knockmap_parse::Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<PublicGeo<'a>>,
}

/// The place of a network: country, city and coordinates (the dot the page draws), and its
/// autonomous system.
#[derive(Debug, Serialize)]
struct PublicGeo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    /// The network, which the page's network list shows and filters by.
    #[serde(skip_serializing_if = "Option::is_none")]
    asn: Option<u32>,
}

impl<'a> From<&'a GeoInfo> for PublicGeo<'a> {
    fn from(g: &'a GeoInfo) -> Self {
        PublicGeo {
            country_code: g.country_code.as_deref(),
            country: g.country.as_deref(),
            city: g.city.as_deref(),
            lat: g.lat,
            lon: g.lon,
            asn: g.asn,
        }
    }
}

/// The network an address is shown as: IPv4 /24, IPv6 /48. Text that is not an address
/// (it should not happen) is shown as nothing rather than as itself.
pub fn network(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
        Err(_) => "unknown".into(),
    }
}

impl PublicView {
    /// One event, anonymised.
    pub(crate) fn event<'a>(&self, e: &'a StoredEvent) -> PublicEvent<'a> {
        PublicEvent {
            ts: e.event.ts,
            sensor: &e.sensor,
            kind: e.event.kind.as_str(),
            outcome: e.outcome,
            ip: e.event.ip.map(|ip| network(&ip.to_string())),
            user: if self.show_users {
                e.event.user.as_deref()
            } else {
                None
            },
            count: e.event.count,
            geo: e.geo.as_ref().map(PublicGeo::from),
        }
    }

    /// Events, anonymised.
    pub(crate) fn events<'a>(&self, events: &'a [StoredEvent]) -> Vec<PublicEvent<'a>> {
        events.iter().map(|e| self.event(e)).collect()
    }

    /// The markers merged by network: counts summed, the place and sensor of the network's
    /// busiest address, the newest `last_seen`; no stars.
    pub(crate) fn markers(&self, m: Markers) -> Markers {
        let mut located: Vec<Marker> = Vec::new();
        let mut index: HashMap<String, (usize, u64)> = HashMap::new();
        for marker in m.markers {
            let net = network(&marker.ip);
            match index.get_mut(&net) {
                Some((i, busiest)) => {
                    let merged = &mut located[*i];
                    if marker.events > *busiest {
                        *busiest = marker.events;
                        merged.lat = marker.lat;
                        merged.lon = marker.lon;
                        merged.country_code = marker.country_code;
                        merged.sensor = marker.sensor;
                    }
                    merged.events += marker.events;
                    merged.failures += marker.failures;
                    merged.successes += marker.successes;
                    merged.probes += marker.probes;
                    merged.last_seen = merged.last_seen.max(marker.last_seen);
                }
                None => {
                    index.insert(net.clone(), (located.len(), marker.events));
                    located.push(Marker {
                        ip: net,
                        starred: false,
                        ..marker
                    });
                }
            }
        }
        located.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.ip.cmp(&b.ip)));
        let mut unlocated: Vec<Unlocated> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for u in m.unlocated {
            let net = network(&u.ip);
            match index.get(&net) {
                Some(&i) => {
                    unlocated[i].events += u.events;
                    unlocated[i].last_seen = unlocated[i].last_seen.max(u.last_seen);
                }
                None => {
                    index.insert(net.clone(), unlocated.len());
                    unlocated.push(Unlocated { ip: net, ..u });
                }
            }
        }
        unlocated.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.ip.cmp(&b.ip)));
        Markers {
            markers: located,
            unlocated,
        }
    }

    /// The statistics with the top addresses merged by network and the user names left out
    /// unless shown. Totals (unique addresses too) are counts and say nothing about anyone.
    pub(crate) fn stats(&self, mut s: Stats) -> Stats {
        let mut nets: Vec<TopEntry> = Vec::new();
        for entry in s.top_ips.drain(..) {
            let net = network(&entry.key);
            match nets.iter_mut().find(|e| e.key == net) {
                Some(e) => e.count += entry.count,
                None => nets.push(TopEntry {
                    key: net,
                    name: None,
                    count: entry.count,
                }),
            }
        }
        nets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        s.top_ips = nets;
        if !self.show_users {
            s.top_users.clear();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use knockmap_parse::{Event, Kind};

    use super::*;

    #[test]
    fn addresses_become_their_networks() {
        assert_eq!(network("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(network("::ffff:203.0.113.77"), "203.0.113.0/24");
        assert_eq!(network("2001:db8:1234:5678::1"), "2001:db8:1234::/48");
        assert_eq!(network("<script>"), "unknown");
    }

    fn marker(ip: &str, events: u64, lat: f64, starred: bool) -> Marker {
        Marker {
            ip: ip.into(),
            lat,
            lon: 0.0,
            country_code: Some("GB".into()),
            events,
            failures: events,
            successes: 0,
            probes: 0,
            last_seen: Timestamp::from_second(i64::try_from(events).unwrap_or(0))
                .unwrap_or_default(),
            sensor: Some(format!("s{events}")),
            starred,
        }
    }

    #[test]
    fn markers_of_one_network_merge_and_lose_their_stars() {
        let merged = PublicView::default().markers(Markers {
            markers: vec![
                marker("203.0.113.1", 2, 1.0, true),
                marker("203.0.113.2", 5, 2.0, false),
                marker("198.51.100.9", 3, 3.0, false),
            ],
            unlocated: vec![
                Unlocated {
                    ip: "10.0.0.1".into(),
                    events: 1,
                    last_seen: Timestamp::UNIX_EPOCH,
                },
                Unlocated {
                    ip: "10.0.0.2".into(),
                    events: 2,
                    last_seen: Timestamp::UNIX_EPOCH,
                },
            ],
        });
        let first = &merged.markers[0];
        assert_eq!(first.ip, "203.0.113.0/24");
        assert_eq!((first.events, first.failures), (7, 7));
        assert_eq!(first.lat, 2.0, "the busiest address's place");
        assert_eq!(first.sensor.as_deref(), Some("s5"));
        assert_eq!(first.last_seen.as_second(), 5);
        assert!(!first.starred);
        assert_eq!(merged.markers[1].ip, "198.51.100.0/24");
        assert_eq!(merged.unlocated.len(), 1);
        assert_eq!(
            (merged.unlocated[0].ip.as_str(), merged.unlocated[0].events),
            ("10.0.0.0/24", 3)
        );
        let text = serde_json::to_string(&merged).unwrap_or_default();
        for address in ["203.0.113.1", "203.0.113.2", "198.51.100.9", "10.0.0.1"] {
            assert!(!text.contains(address), "{address} in {text}");
        }
    }

    #[test]
    fn events_keep_only_what_the_page_shows() {
        let mut event = Event::new(Timestamp::UNIX_EPOCH, Kind::Failed);
        event.ip = "203.0.113.77".parse().ok();
        event.user = Some("<b>secret-user</b>".into());
        event.port = Some(50123);
        event.pid = Some(4242);
        event.host = Some("bastion.internal".into());
        event.rhost = Some("attacker.example".into());
        event.method = Some("password".into());
        let stored = StoredEvent {
            id: "00112233445566778899aabbccddeeff".into(),
            sensor: "edge-1".into(),
            outcome: Kind::Failed.outcome(),
            event,
            geo: Some(GeoInfo {
                country_code: Some("GB".into()),
                asn: Some(64500),
                org: Some("Example Org".into()),
                ..GeoInfo::default()
            }),
            ip_events: Some(12),
        };
        let hidden =
            serde_json::to_string(&PublicView::default().event(&stored)).unwrap_or_default();
        // The network's number stays: the page lists networks and filters live events by it.
        assert!(
            hidden.contains("203.0.113.0/24")
                && hidden.contains("edge-1")
                && hidden.contains(r#""asn":64500"#),
            "{hidden}"
        );
        for secret in [
            "203.0.113.77",
            "secret-user",
            "50123",
            "4242",
            "bastion",
            "attacker.example",
            "password",
            "0011223344",
            "Example Org",
            "ip_events",
        ] {
            assert!(!hidden.contains(secret), "{secret} in {hidden}");
        }
        let shown = serde_json::to_string(&PublicView { show_users: true }.event(&stored))
            .unwrap_or_default();
        assert!(shown.contains("<b>secret-user</b>"), "{shown}");
    }

    fn entry(key: &str, count: u64) -> TopEntry {
        TopEntry {
            key: key.into(),
            name: None,
            count,
        }
    }

    #[test]
    fn stats_merge_top_addresses_and_hide_users() {
        let s = Stats {
            events: 7,
            attempts: 7,
            successes: 0,
            failures: 7,
            probes: 0,
            unique_ips: 3,
            countries: 1,
            unlocated_ips: 0,
            last_event: None,
            top_countries: vec![entry("GB", 7)],
            top_asns: vec![],
            top_sensors: vec![entry("local", 7)],
            series: vec![],
            top_ips: vec![
                entry("203.0.113.1", 2),
                entry("198.51.100.1", 3),
                entry("203.0.113.2", 2),
            ],
            top_users: vec![entry("root", 7)],
        };
        let public = PublicView::default().stats(s.clone());
        assert_eq!(
            public
                .top_ips
                .iter()
                .map(|e| (e.key.as_str(), e.count))
                .collect::<Vec<_>>(),
            [("203.0.113.0/24", 4), ("198.51.100.0/24", 3)]
        );
        assert!(public.top_users.is_empty());
        assert_eq!(PublicView { show_users: true }.stats(s).top_users.len(), 1);
    }
}
