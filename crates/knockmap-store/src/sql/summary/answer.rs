//! Statistics and markers computed from a [`Digest`], with the same meaning as the SQL
//! statements in `queries.rs`: whole hours from the hourly aggregates, the window's partial
//! hours from raw events, and all time from the all-time totals.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use knockmap_parse::Outcome;

use super::super::rollup::HOUR_MICROS;
use super::super::rows::micros_to_ts;
use super::super::{KindTotals, Span, TOP_N};
use super::digest::{Address, Digest, Id, IpHour, NONE, RawEvent, Tally, kind_at};
use crate::Result;
use crate::columns::{Located, LocatedRow, MarkerColumns};
use crate::model::{Marker, Markers, SeriesPoint, Stats, TopEntry, Unlocated};

/// The hours whose raw events a span's edges need.
pub fn edge_hours(span: &Span) -> Vec<i64> {
    let mut hours = Vec::new();
    for &(from, to) in &span.edges {
        if from < to {
            let first = from.div_euclid(HOUR_MICROS);
            let last = (to - 1).div_euclid(HOUR_MICROS);
            hours.extend(first..=last);
        }
    }
    hours.sort_unstable();
    hours.dedup();
    hours
}

/// One address's events in the window.
#[derive(Debug, Clone, Copy, Default)]
struct IpSum {
    tally: Tally,
    /// Counted as without a place (see the `places` statement).
    unlocated: bool,
}

/// Everything a window adds up to.
struct Sums {
    totals: KindTotals,
    /// hour → (events, attempts, successes).
    series: BTreeMap<i64, (u64, u64, u64)>,
    sensors: Vec<u64>,
    countries: Vec<u64>,
    users: Vec<u64>,
    asns: BTreeMap<u32, u64>,
    ips: Vec<IpSum>,
}

impl Sums {
    fn new(d: &Digest) -> Sums {
        Sums {
            totals: KindTotals::default(),
            series: BTreeMap::new(),
            sensors: vec![0; d.sensors.len()],
            countries: vec![0; d.countries.len()],
            users: vec![0; d.users.len()],
            asns: BTreeMap::new(),
            ips: vec![IpSum::default(); d.addresses.len()],
        }
    }

    fn add_kind(&mut self, hour: i64, sensor: Id, kind: u8, n: u64) {
        let kind = kind_at(kind);
        self.totals.add(kind, n);
        let point = self.series.entry(hour).or_default();
        point.0 += n;
        if kind.is_attempt() {
            point.1 += n;
        }
        if kind.outcome() == Outcome::Success {
            point.2 += n;
        }
        if let Some(slot) = self.sensors.get_mut(sensor as usize) {
            *slot += n;
        }
    }

    fn add_ip_hour(&mut self, hour: i64, h: &IpHour) {
        let Some(sum) = self.ips.get_mut(h.ip as usize) else {
            return;
        };
        let last = hour * HOUR_MICROS + i64::from(h.last);
        let t = &mut sum.tally;
        t.last_seen = if t.events() == 0 {
            last
        } else {
            t.last_seen.max(last)
        };
        t.failures += u64::from(h.failures);
        t.successes += u64::from(h.successes);
        t.probes += u64::from(h.probes);
        sum.unlocated |= !h.located;
    }

    /// Adds one raw event; addresses are attributed as they are now, as the SQL joins do.
    fn add_raw(&mut self, d: &Digest, e: &RawEvent, all_dimensions: bool) {
        let n = u64::from(e.count);
        self.add_kind(e.ts.div_euclid(HOUR_MICROS), e.sensor, e.kind, n);
        if !all_dimensions {
            return;
        }
        if let Some(slot) = self.users.get_mut(e.user as usize) {
            *slot += n;
        }
        let Some(address) = d.addresses.get(e.ip as usize) else {
            return;
        };
        if let Some(slot) = self.countries.get_mut(address.country as usize) {
            *slot += n;
        }
        if let Some(asn) = address.asn {
            *self.asns.entry(asn).or_default() += n;
        }
        let sum = &mut self.ips[e.ip as usize];
        sum.tally.add(kind_at(e.kind), n, e.ts);
        sum.unlocated |= address.lat.is_none();
    }
}

/// What a window's sums are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Statistics of a bounded window: everything.
    Everything,
    /// Statistics of all time: totals, series and sensors (the all-time totals answer the
    /// rest).
    KindsOnly,
}

/// Adds up a window.
fn sum(d: &Digest, span: &Span, need: Need) -> Sums {
    let mut sums = Sums::new(d);
    let (from, to) = span.hours;
    if from < to {
        for (&h, hour) in d.hours.range(from..to) {
            for &((sensor, kind), n) in &hour.kinds {
                sums.add_kind(h, sensor, kind, n);
            }
            if need == Need::KindsOnly {
                continue;
            }
            for &(country, n) in &hour.countries {
                sums.countries[country as usize] += n;
            }
            for &(user, n) in &hour.users {
                sums.users[user as usize] += n;
            }
            for &(asn, n) in &hour.asns {
                *sums.asns.entry(asn).or_default() += n;
            }
            for ip in &hour.ips {
                sums.add_ip_hour(h, ip);
            }
        }
    }
    for &(lo, hi) in &span.edges {
        if lo >= hi {
            continue;
        }
        for hour in lo.div_euclid(HOUR_MICROS)..=(hi - 1).div_euclid(HOUR_MICROS) {
            for e in d.edges.get(&hour).map(|v| v.as_slice()).unwrap_or_default() {
                if (lo..hi).contains(&e.ts) {
                    sums.add_raw(d, e, need != Need::KindsOnly);
                }
            }
        }
    }
    sums
}

/// The `TOP_N` largest of `(count, id)` pairs, by count, then by key.
fn top<T: Copy>(
    counts: impl Iterator<Item = (u64, T)>,
    key: impl Fn(T) -> String,
    name: impl Fn(T) -> Option<String>,
) -> Vec<TopEntry> {
    let mut entries: Vec<(u64, T)> = counts.filter(|(n, _)| *n > 0).collect();
    let order = |a: &(u64, T), b: &(u64, T)| b.0.cmp(&a.0).then_with(|| key(a.1).cmp(&key(b.1)));
    let n = TOP_N as usize;
    if entries.len() > n {
        // Only candidates that can make the list: at least the n-th largest count.
        let mut counts: Vec<u64> = entries.iter().map(|e| e.0).collect();
        let (_, &mut nth, _) = counts.select_nth_unstable_by(n - 1, |a, b| b.cmp(a));
        entries.retain(|e| e.0 >= nth);
    }
    entries.sort_by(order);
    entries.truncate(n);
    entries
        .into_iter()
        .map(|(count, id)| TopEntry {
            key: key(id),
            name: name(id),
            count,
        })
        .collect()
}

/// [`crate::Store::stats`] from the digest; `newest_raw` is the newest raw event of the window,
/// which the database finds with one index step.
pub fn stats(d: &Digest, span: &Span, all: bool, newest_raw: Option<i64>) -> Result<Stats> {
    let sums = sum(
        d,
        span,
        if all {
            Need::KindsOnly
        } else {
            Need::Everything
        },
    );
    // As the `last_event` statement: the raw events, and the newest hour of the aggregates
    // for hours whose raw events were pruned.
    let last_event = newest_raw
        .max(d.newest_in_hours(span.hours.0, span.hours.1))
        .map(micros_to_ts)
        .transpose()?;
    let series = sums
        .series
        .iter()
        .map(|(&hour, &(events, attempts, successes))| {
            Ok(SeriesPoint {
                hour: micros_to_ts(hour.saturating_mul(HOUR_MICROS))?,
                events,
                attempts,
                successes,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let country_key = |id: Id| d.countries.get(id).to_string();
    let country_name = |id: Id| {
        d.country_names
            .get(id as usize)
            .cloned()
            .flatten()
            .map(String::from)
    };
    let org = |asn: u32| d.orgs.get(&asn).cloned().flatten().map(String::from);
    let user = |id: Id| d.users.get(id).to_string();
    let ip = |id: Id| d.addresses[id as usize].ip.to_string();
    let ids = |v: &[u64]| {
        v.iter()
            .enumerate()
            .map(|(i, &n)| (n, i as Id))
            .collect::<Vec<_>>()
    };
    let (unique_ips, countries, unlocated_ips, top_countries, top_asns, top_users, top_ips);
    if all {
        let live = || d.addresses.iter().filter(|a| a.total.events() > 0);
        unique_ips = live().count() as u64;
        let mut seen = vec![false; d.countries.len()];
        for a in live().filter(|a| a.country != NONE) {
            seen[a.country as usize] = true;
        }
        countries = seen.iter().filter(|&&s| s).count() as u64;
        unlocated_ips = live().filter(|a| a.lat.is_none()).count() as u64;
        top_countries = top(
            d.total_countries.iter().map(|(&c, &n)| (n, c)),
            country_key,
            country_name,
        );
        top_asns = top(
            d.total_asns.iter().map(|(&a, &n)| (n, a)),
            |a| a.to_string(),
            org,
        );
        top_users = top(d.total_users.iter().map(|(&u, &n)| (n, u)), user, |_| None);
        top_ips = top(
            d.addresses
                .iter()
                .enumerate()
                .map(|(i, a)| (a.total.events(), i as Id)),
            ip,
            |_| None,
        );
    } else {
        let seen = || sums.ips.iter().filter(|s| s.tally.events() > 0);
        unique_ips = seen().count() as u64;
        unlocated_ips = seen().filter(|s| s.unlocated).count() as u64;
        countries = sums.countries.iter().filter(|&&n| n > 0).count() as u64;
        top_countries = top(ids(&sums.countries).into_iter(), country_key, country_name);
        top_asns = top(
            sums.asns.iter().map(|(&a, &n)| (n, a)),
            |a| a.to_string(),
            org,
        );
        top_users = top(ids(&sums.users).into_iter(), user, |_| None);
        top_ips = top(
            sums.ips
                .iter()
                .enumerate()
                .map(|(i, s)| (s.tally.events(), i as Id)),
            ip,
            |_| None,
        );
    }
    let top_sensors = top(
        ids(&sums.sensors).into_iter(),
        |id| d.sensors.get(id).to_string(),
        |_| None,
    );
    let t = &sums.totals;
    Ok(Stats {
        events: t.events,
        attempts: t.attempts,
        successes: t.successes,
        failures: t.failures,
        probes: t.probes,
        unique_ips,
        countries,
        unlocated_ips,
        last_event,
        top_countries,
        top_asns,
        top_users,
        top_ips,
        top_sensors,
        series,
    })
}

/// [`crate::Store::markers`] from the digest.
pub fn markers(d: &Digest, span: &Span, all: bool) -> Result<Markers> {
    let (located, unlocated) = ordered_rows(d, span, all);
    let mut out = Markers {
        markers: Vec::with_capacity(located.len()),
        unlocated: Vec::with_capacity(unlocated.len()),
    };
    for r in located {
        out.markers.push(Marker {
            ip: r.ip.to_string(),
            lat: r.lat,
            lon: r.lon,
            country_code: (r.country != NONE).then(|| d.countries.get(r.country).to_string()),
            events: r.events,
            failures: r.tally.failures,
            successes: r.tally.successes,
            probes: r.tally.probes,
            last_seen: micros_to_ts(r.tally.last_seen)?,
            sensor: (r.sensor != NONE).then(|| d.sensors.get(r.sensor).to_string()),
            starred: r.starred,
        });
    }
    for r in unlocated {
        out.unlocated.push(Unlocated {
            ip: r.ip.to_string(),
            events: r.events,
            last_seen: micros_to_ts(r.tally.last_seen)?,
        });
    }
    Ok(out)
}

/// [`crate::Store::marker_columns`] from the digest: what [`markers`] answers, with no
/// allocation per address.
pub fn marker_columns(d: &Digest, span: &Span, all: bool) -> MarkerColumns {
    let (located, unlocated) = ordered_rows(d, span, all);
    let mut countries = Numbering::new(d.countries.len());
    let mut sensors = Numbering::new(d.sensors.len());
    let mut out = MarkerColumns {
        markers: Located::with_capacity(located.len()),
        ..MarkerColumns::default()
    };
    for r in &located {
        out.markers.push(LocatedRow {
            ip: r.ip,
            lat: r.lat,
            lon: r.lon,
            country: countries.number(r.country),
            failures: r.tally.failures,
            successes: r.tally.successes,
            probes: r.tally.probes,
            last_seen: r.tally.last_seen.div_euclid(MICROS_PER_SECOND),
            sensor: sensors.number(r.sensor),
            starred: r.starred,
        });
    }
    for r in &unlocated {
        let last_seen = r.tally.last_seen.div_euclid(MICROS_PER_SECOND);
        out.unlocated.push(r.ip, r.events, last_seen);
    }
    out.countries = countries.names(|id| d.countries.get(id).to_string());
    out.sensors = sensors.names(|id| d.sensors.get(id).to_string());
    out
}

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Digest ids numbered anew in order of first use, as the columns number names.
struct Numbering {
    by_id: Vec<i32>,
    used: Vec<Id>,
}

impl Numbering {
    fn new(ids: usize) -> Numbering {
        Numbering {
            by_id: vec![-1; ids],
            used: Vec::new(),
        }
    }

    fn number(&mut self, id: Id) -> i32 {
        let Some(slot) = self.by_id.get_mut(id as usize) else {
            return -1;
        };
        if *slot < 0 {
            *slot = self.used.len() as i32;
            self.used.push(id);
        }
        *slot
    }

    fn names(&self, name: impl Fn(Id) -> String) -> Vec<String> {
        self.used.iter().map(|&id| name(id)).collect()
    }
}

/// Each address's events in the span: what [`sum`] adds up for the addresses, alone and in
/// an accumulator that fits two to a cache line, for the map's millions of address-hours.
fn address_sums(d: &Digest, span: &Span) -> Vec<Tally> {
    let empty = Tally {
        last_seen: i64::MIN,
        ..Tally::default()
    };
    let mut sums = vec![empty; d.addresses.len()];
    let (from, to) = span.hours;
    if from < to {
        for (&h, hour) in d.hours.range(from..to) {
            let start = h * HOUR_MICROS;
            for ip in &hour.ips {
                let Some(t) = sums.get_mut(ip.ip as usize) else {
                    continue;
                };
                t.failures += u64::from(ip.failures);
                t.successes += u64::from(ip.successes);
                t.probes += u64::from(ip.probes);
                t.last_seen = t.last_seen.max(start + i64::from(ip.last));
            }
        }
    }
    for &(lo, hi) in &span.edges {
        if lo >= hi {
            continue;
        }
        for hour in lo.div_euclid(HOUR_MICROS)..=(hi - 1).div_euclid(HOUR_MICROS) {
            for e in d.edges.get(&hour).map(|v| v.as_slice()).unwrap_or_default() {
                if (lo..hi).contains(&e.ts)
                    && let Some(t) = sums.get_mut(e.ip as usize)
                {
                    t.add(kind_at(e.kind), u64::from(e.count), e.ts);
                }
            }
        }
    }
    sums
}

/// The addresses with events in the span, located and not, each in the map's order.
fn ordered_rows<'a>(d: &'a Digest, span: &Span, all: bool) -> (Vec<Row<'a>>, Vec<Row<'a>>) {
    let window = (!all).then(|| address_sums(d, span));
    // Everything a row needs, gathered in address order: reading the addresses in the map's
    // order instead would miss the cache on each of them.
    let mut located = Vec::with_capacity(d.addresses.len());
    let mut unlocated = Vec::new();
    for (i, a) in d.addresses.iter().enumerate() {
        let tally = match &window {
            Some(sums) => sums[i],
            None => a.total,
        };
        if tally.events() == 0 {
            continue;
        }
        let row = Row::new(tally, a);
        if a.located() {
            located.push(row);
        } else {
            unlocated.push(row);
        }
    }
    // Most events first, then by address, as the SQL answer is sorted.
    located.sort_unstable_by(Row::cmp);
    unlocated.sort_unstable_by(Row::cmp);
    (located, unlocated)
}

/// One address on its way to the map, in the map's order: most events first, then by
/// address text. The first 16 bytes of the text, as a big-endian number, order all but long
/// IPv6 addresses without comparing strings.
struct Row<'a> {
    events: u64,
    prefix: u128,
    ip: &'a str,
    tally: Tally,
    lat: f64,
    lon: f64,
    country: Id,
    sensor: Id,
    starred: bool,
}

impl<'a> Row<'a> {
    fn new(tally: Tally, a: &'a Address) -> Row<'a> {
        let mut head = [0u8; 16];
        let n = a.ip.len().min(16);
        head[..n].copy_from_slice(&a.ip.as_bytes()[..n]);
        Row {
            events: tally.events(),
            prefix: u128::from_be_bytes(head),
            ip: &a.ip,
            tally,
            lat: a.lat.unwrap_or_default(),
            lon: a.lon.unwrap_or_default(),
            country: a.country,
            sensor: a.last_sensor,
            starred: a.starred,
        }
    }

    fn cmp(&self, other: &Row) -> Ordering {
        other
            .events
            .cmp(&self.events)
            .then(self.prefix.cmp(&other.prefix))
            .then_with(|| self.ip.cmp(other.ip))
    }
}
