//! The in-memory copy of the aggregates: per-address totals, the hourly rollups, the all-time
//! totals, and the raw events of a few hours that windows start or end inside.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use knockmap_parse::{Kind, Outcome};

use super::super::rollup::HOUR_MICROS;
use crate::model::NewEvent;

/// Index of an interned name or address; [`NONE`] for "absent".
pub type Id = u32;

/// The [`Id`] of an absent value.
pub const NONE: Id = Id::MAX;

/// Raw-event hours kept for window edges; older ones are dropped first.
const EDGE_HOURS: usize = 16;

/// Distinct strings, each numbered once.
#[derive(Debug, Default)]
pub struct Names<T> {
    list: Vec<T>,
    index: HashMap<T, Id>,
}

impl<T: Clone + Eq + Hash> Names<T> {
    /// The id of `name`, numbering it if new.
    pub fn intern(&mut self, name: &T) -> Id {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = Id::try_from(self.list.len()).unwrap_or(NONE - 1);
        self.list.push(name.clone());
        self.index.insert(name.clone(), id);
        id
    }

    /// The name numbered `id`.
    pub fn get(&self, id: Id) -> &T {
        &self.list[id as usize]
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }
}

/// Running totals of events by outcome, and the newest event's time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub failures: u64,
    pub successes: u64,
    pub probes: u64,
    pub last_seen: i64,
}

impl Tally {
    /// All events.
    pub fn events(&self) -> u64 {
        self.failures + self.successes + self.probes
    }

    /// Adds `n` events of `kind` at `ts`.
    pub fn add(&mut self, kind: Kind, n: u64, ts: i64) {
        if self.events() == 0 {
            self.last_seen = ts;
        }
        match kind.outcome() {
            Outcome::Failure => self.failures += n,
            Outcome::Success => self.successes += n,
            Outcome::Probe => self.probes += n,
        }
        self.last_seen = self.last_seen.max(ts);
    }
}

/// One remote address, as its `ips` row holds it.
#[derive(Debug, Clone)]
pub struct Address {
    pub ip: Box<str>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub country: Id,
    pub asn: Option<u32>,
    pub last_sensor: Id,
    pub starred: bool,
    /// All-time totals.
    pub total: Tally,
}

impl Address {
    /// Whether the map can place it.
    pub fn located(&self) -> bool {
        self.lat.is_some() && self.lon.is_some()
    }
}

/// One address's events in one hour (a `rollup_ip_hour` row). Counts of one address in one
/// hour fit 32 bits: sshd cannot log four billion lines an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHour {
    pub ip: Id,
    pub failures: u32,
    pub successes: u32,
    pub probes: u32,
    /// The newest event, in microseconds after the hour's start.
    pub last: u32,
    /// Whether any of these events had coordinates when stored.
    pub located: bool,
}

/// One hour of aggregates. Every list is sorted by its key.
#[derive(Debug, Clone, Default)]
pub struct Hour {
    /// (sensor, kind index) → events.
    pub kinds: Vec<((Id, u8), u64)>,
    /// Country (as stored with the events) → events.
    pub countries: Vec<(Id, u64)>,
    pub users: Vec<(Id, u64)>,
    pub asns: Vec<(u32, u64)>,
    pub ips: Vec<IpHour>,
}

/// A stored event, as the edges of a window need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEvent {
    pub ts: i64,
    pub sensor: Id,
    pub ip: Id,
    pub user: Id,
    pub count: u32,
    pub kind: u8,
}

/// The position of `kind` in [`Kind::ALL`].
pub fn kind_index(kind: Kind) -> u8 {
    Kind::ALL.iter().position(|&k| k == kind).unwrap_or(0) as u8
}

/// The kind at `index` of [`Kind::ALL`].
pub fn kind_at(index: u8) -> Kind {
    Kind::ALL[usize::from(index) % Kind::ALL.len()]
}

/// Adds `n` to `key`'s entry of a list sorted by key.
pub fn add_sorted<K: Ord + Copy>(list: &mut Vec<(K, u64)>, key: K, n: u64) {
    match list.binary_search_by_key(&key, |e| e.0) {
        Ok(at) => list[at].1 += n,
        Err(at) => list.insert(at, (key, n)),
    }
}

/// Sorts a list built in arbitrary order by key, adding up repeated keys.
pub fn settle<K: Ord + Copy>(list: &mut Vec<(K, u64)>) {
    list.sort_unstable_by_key(|e| e.0);
    list.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            true
        } else {
            false
        }
    });
}

/// Everything the unfiltered statistics and map need, as of one value of the write counter.
#[derive(Debug, Default)]
pub struct Digest {
    /// The write counter this copy corresponds to.
    pub generation: i64,
    pub sensors: Names<Box<str>>,
    pub users: Names<Box<str>>,
    pub countries: Names<Box<str>>,
    /// Each country's name, by country id.
    pub country_names: Vec<Option<Box<str>>>,
    /// Each network's organisation.
    pub orgs: HashMap<u32, Option<Box<str>>>,
    pub addresses: Vec<Address>,
    pub address_ids: HashMap<Box<str>, Id>,
    pub hours: BTreeMap<i64, Hour>,
    /// All-time totals (`total_*`), which outlive pruned hours.
    pub total_countries: HashMap<Id, u64>,
    pub total_users: HashMap<Id, u64>,
    pub total_asns: HashMap<u32, u64>,
    /// The raw events of whole hours, for windows that start or end inside them.
    pub edges: HashMap<i64, Arc<Vec<RawEvent>>>,
}

impl Digest {
    /// The id of a country code, recording its name when one is given.
    pub fn country(&mut self, code: &str, name: Option<&str>) -> Id {
        let id = self.countries.intern(&Box::from(code));
        if self.country_names.len() <= id as usize {
            self.country_names.resize(id as usize + 1, None);
        }
        if let Some(name) = name {
            self.country_names[id as usize] = Some(name.into());
        }
        id
    }

    /// Records a network's organisation when one is given.
    pub fn org(&mut self, asn: u32, org: Option<&str>) {
        let slot = self.orgs.entry(asn).or_default();
        if let Some(org) = org {
            *slot = Some(org.into());
        }
    }

    /// The id of an address, adding an empty one if it is new.
    pub fn address(&mut self, ip: &str) -> Id {
        if let Some(&id) = self.address_ids.get(ip) {
            return id;
        }
        let id = Id::try_from(self.addresses.len()).unwrap_or(NONE - 1);
        self.addresses.push(Address {
            ip: ip.into(),
            lat: None,
            lon: None,
            country: NONE,
            asn: None,
            last_sensor: NONE,
            starred: false,
            total: Tally::default(),
        });
        self.address_ids.insert(ip.into(), id);
        id
    }

    /// Adds newly stored events, as the ingest transaction added them to the tables.
    pub fn add_events(&mut self, events: &[NewEvent]) {
        for new in events {
            self.add_event(new);
        }
    }

    fn add_event(&mut self, new: &NewEvent) {
        let e = &new.event;
        let ts = e.ts.as_microsecond();
        let n = u64::from(e.count);
        let hour_of = ts.div_euclid(HOUR_MICROS);
        let sensor = self.sensors.intern(&Box::from(new.sensor.as_str()));
        let user = e
            .user
            .as_deref()
            .map_or(NONE, |u| self.users.intern(&u.into()));
        let geo = &new.geo;
        let country = geo
            .country_code
            .as_deref()
            .map_or(NONE, |cc| self.country(cc, geo.country.as_deref()));
        if let Some(asn) = geo.asn {
            self.org(asn, geo.org.as_deref());
        }
        let ip_text = e.ip.map(|ip| ip.to_string());
        let ip = ip_text.as_deref().map_or(NONE, |ip| self.address(ip));
        if ip != NONE {
            let a = &mut self.addresses[ip as usize];
            // As the `ips` upsert: the newest event names the sensor, places fill in.
            if a.total.events() == 0 || ts >= a.total.last_seen {
                a.last_sensor = sensor;
            }
            a.total.add(e.kind, n, ts);
            a.lat = geo.lat.or(a.lat);
            a.lon = geo.lon.or(a.lon);
            if country != NONE {
                a.country = country;
            }
            a.asn = geo.asn.or(a.asn);
        }

        let hour = self.hours.entry(hour_of).or_default();
        add_sorted(&mut hour.kinds, (sensor, kind_index(e.kind)), n);
        if country != NONE {
            add_sorted(&mut hour.countries, country, n);
            *self.total_countries.entry(country).or_default() += n;
        }
        if user != NONE {
            add_sorted(&mut hour.users, user, n);
            *self.total_users.entry(user).or_default() += n;
        }
        if let Some(asn) = geo.asn {
            add_sorted(&mut hour.asns, asn, n);
            *self.total_asns.entry(asn).or_default() += n;
        }
        if ip != NONE {
            let last = (ts - hour_of * HOUR_MICROS) as u32;
            let located = geo.lat.is_some() && geo.lon.is_some();
            let at = match hour.ips.binary_search_by_key(&ip, |h| h.ip) {
                Ok(at) => at,
                Err(at) => {
                    hour.ips.insert(
                        at,
                        IpHour {
                            ip,
                            failures: 0,
                            successes: 0,
                            probes: 0,
                            last,
                            located: false,
                        },
                    );
                    at
                }
            };
            let h = &mut hour.ips[at];
            let n32 = u32::try_from(n).unwrap_or(u32::MAX);
            match e.kind.outcome() {
                Outcome::Failure => h.failures = h.failures.saturating_add(n32),
                Outcome::Success => h.successes = h.successes.saturating_add(n32),
                Outcome::Probe => h.probes = h.probes.saturating_add(n32),
            }
            h.last = h.last.max(last);
            h.located |= located;
        }
        if let Some(raw) = self.edges.get_mut(&hour_of) {
            Arc::make_mut(raw).push(RawEvent {
                ts,
                sensor,
                ip,
                user,
                count: e.count,
                kind: kind_index(e.kind),
            });
        }
    }

    /// The newest event of an address in the last hour of `[from, to)` that has any.
    pub fn newest_in_hours(&self, from: i64, to: i64) -> Option<i64> {
        if from >= to {
            return None;
        }
        let (&hour, entries) = self
            .hours
            .range(from..to)
            .rev()
            .find(|(_, h)| !h.ips.is_empty())?;
        let last = entries.ips.iter().map(|h| h.last).max()?;
        Some(hour * HOUR_MICROS + i64::from(last))
    }

    /// Stars or unstars an address.
    pub fn set_starred(&mut self, ip: &str, starred: bool) {
        if let Some(&id) = self.address_ids.get(ip) {
            self.addresses[id as usize].starred = starred;
        }
    }

    /// Forgets raw events before `events_before` and hours before `hours_before`, as pruning
    /// deletes them from the tables.
    pub fn prune(&mut self, events_before: Option<i64>, hours_before: Option<i64>) {
        if let Some(before) = events_before {
            // Hours with any event before the cut-off now hold fewer raw events.
            let hour = before.div_euclid(HOUR_MICROS);
            self.edges.retain(|&h, _| h > hour);
        }
        if let Some(hour) = hours_before {
            self.hours = self.hours.split_off(&hour);
        }
    }

    /// Keeps the raw events of `hour` for window edges, making room by dropping the oldest
    /// hour not in `needed`.
    pub fn keep_edge(&mut self, hour: i64, events: Arc<Vec<RawEvent>>, needed: &[i64]) {
        if self.edges.len() >= EDGE_HOURS
            && let Some(&oldest) = self.edges.keys().filter(|h| !needed.contains(h)).min()
        {
            self.edges.remove(&oldest);
        }
        self.edges.insert(hour, events);
    }
}
