//! Statistics and markers computed from a [`Digest`], with the same meaning as the SQL
//! statements in `queries.rs`: whole hours from the hourly aggregates, the window's partial
//! hours from raw events, and all time from the all-time totals.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use knockmap_parse::Outcome;

use super::super::rollup::HOUR_MICROS;
use super::super::rows::micros_to_ts;
use super::super::{KindTotals, Span, TOP_N};
use super::digest::{Digest, Id, IpHour, NONE, RawEvent, Tally, kind_at};
use crate::Result;
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
    /// The map: per-address sums only.
    AddressesOnly,
}

/// Adds up a window.
fn sum(d: &Digest, span: &Span, need: Need) -> Sums {
    let mut sums = Sums::new(d);
    let (from, to) = span.hours;
    if from < to {
        for (&h, hour) in d.hours.range(from..to) {
            if need == Need::AddressesOnly {
                for ip in &hour.ips {
                    sums.add_ip_hour(h, ip);
                }
                continue;
            }
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

fn by_events(a: &(u64, &str), b: &(u64, &str)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1))
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
    let tallies: Vec<Tally> = if all {
        d.addresses.iter().map(|a| a.total).collect()
    } else {
        sum(d, span, Need::AddressesOnly)
            .ips
            .into_iter()
            .map(|s| s.tally)
            .collect()
    };
    let mut located: Vec<(u64, &str, usize)> = Vec::new();
    let mut unlocated: Vec<(u64, &str, usize)> = Vec::new();
    for (i, (t, a)) in tallies.iter().zip(&d.addresses).enumerate() {
        if t.events() == 0 {
            continue;
        }
        let list = if a.located() {
            &mut located
        } else {
            &mut unlocated
        };
        list.push((t.events(), &a.ip, i));
    }
    // Most events first, then by address, as the SQL answer is sorted.
    located.sort_unstable_by(|a, b| by_events(&(a.0, a.1), &(b.0, b.1)));
    unlocated.sort_unstable_by(|a, b| by_events(&(a.0, a.1), &(b.0, b.1)));
    let mut out = Markers {
        markers: Vec::with_capacity(located.len()),
        unlocated: Vec::with_capacity(unlocated.len()),
    };
    for (events, ip, i) in located {
        let (t, a) = (&tallies[i], &d.addresses[i]);
        out.markers.push(Marker {
            ip: ip.to_string(),
            lat: a.lat.unwrap_or_default(),
            lon: a.lon.unwrap_or_default(),
            country_code: (a.country != NONE).then(|| d.countries.get(a.country).to_string()),
            events,
            failures: t.failures,
            successes: t.successes,
            probes: t.probes,
            last_seen: micros_to_ts(t.last_seen)?,
            sensor: (a.last_sensor != NONE).then(|| d.sensors.get(a.last_sensor).to_string()),
            starred: a.starred,
        });
    }
    for (events, ip, i) in unlocated {
        out.unlocated.push(Unlocated {
            ip: ip.to_string(),
            events,
            last_seen: micros_to_ts(tallies[i].last_seen)?,
        });
    }
    Ok(out)
}
