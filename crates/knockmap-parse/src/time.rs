//! Turning log timestamps into UTC instants, including the year inference that BSD syslog
//! (`Nov  1 12:34:56`, no year, no zone) needs.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Resolves year-less, zone-less timestamps against the parse options.
///
/// Consecutive log lines nearly always share their minute, so the instant of the last minute
/// resolved is kept and a line in the same minute costs an addition instead of a zone lookup.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: TimeZone,
    year: Option<i16>,
    anchor: Timestamp,
    anchor_year: i16,
    limit: Timestamp,
    /// Last year-less minute resolved: its key and the instant of its second 0.
    bsd: Option<(u32, Minute)>,
    /// Last zone-less civil minute resolved (with a year): its key and instant.
    civil: Option<(u64, Minute)>,
    /// Last RFC 3339 minute with an offset resolved by the fast reader.
    iso: Option<IsoMinute>,
}

/// An RFC 3339 minute with an offset: its text up to the minute, the offset text, and the
/// instant of its second 0. A line of the same minute and offset only has its seconds read.
#[derive(Debug, Clone, Copy)]
struct IsoMinute {
    /// `YYYY-MM-DDThh:mm`.
    prefix: [u8; 16],
    /// `Z`, `+hh:mm`, `-hhmm`, … (up to six bytes), and its length.
    offset: [u8; 6],
    offset_len: u8,
    /// Unix seconds of second 0.
    start: i64,
}

/// `:ss[.f{1,9}]` after the minute of an RFC 3339 text, as the fast reader takes them: the
/// second (at most 59), the nanoseconds and what follows (the offset).
#[inline]
fn iso_seconds(s: &[u8]) -> Option<(i64, i32, &[u8])> {
    let [b':', s1, s2, rest @ ..] = s else {
        return None;
    };
    let (t, u) = (s1.wrapping_sub(b'0'), s2.wrapping_sub(b'0'));
    if t > 5 || u > 9 {
        return None;
    }
    let second = i64::from(t * 10 + u);
    let Some(frac) = rest.strip_prefix(b".") else {
        return Some((second, 0, rest));
    };
    let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    let mut nanos = 0i32;
    for &b in &frac[..n] {
        nanos = nanos * 10 + i32::from(b - b'0');
    }
    for _ in n..9 {
        nanos *= 10;
    }
    Some((second, nanos, &frac[n..]))
}

/// A resolved minute: the instant of its second 0, whether the year came from inference
/// (then each second still has to be checked against the limit), and whether the zone keeps
/// one offset through the minute (true of every real transition; else no shortcut is taken).
#[derive(Debug, Clone, Copy)]
struct Minute {
    start: Option<Timestamp>,
    inferred: bool,
    uniform: bool,
}

/// A wall-clock time without a year, as BSD syslog writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yearless {
    /// 1..=12.
    pub month: i8,
    /// 1..=31.
    pub day: i8,
    /// 0..=23.
    pub hour: i8,
    /// 0..=59.
    pub minute: i8,
    /// 0..=59 (60 is clamped to 59).
    pub second: i8,
    /// Sub-second part, when the line had one.
    pub nanos: i32,
}

impl Yearless {
    fn minute_key(&self) -> u32 {
        u32::from_le_bytes([
            self.month as u8,
            self.day as u8,
            self.hour as u8,
            self.minute as u8,
        ])
    }
}

impl Clock {
    /// A clock reading year-less times in `tz`, with the year forced to `year` when set, else
    /// inferred so the time is at or before `anchor` + 1 day.
    pub fn new(tz: TimeZone, year: Option<i16>, anchor: Timestamp) -> Clock {
        let anchor_year = tz.to_datetime(anchor).year();
        let limit = anchor
            .checked_add(SignedDuration::from_hours(24))
            .unwrap_or(anchor);
        Clock {
            tz,
            year,
            anchor,
            anchor_year,
            limit,
            bsd: None,
            civil: None,
            iso: None,
        }
    }

    /// Moves the anchor that year inference works from.
    pub fn set_anchor(&mut self, anchor: Timestamp) {
        if anchor != self.anchor {
            *self = Clock::new(self.tz.clone(), self.year, anchor);
        }
    }

    /// The zone for times written without one.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// The anchor: the time given to lines that carry none.
    pub fn anchor(&self) -> Timestamp {
        self.anchor
    }

    /// The instant for a year-less time, or `None` if no year makes it valid.
    ///
    /// With a forced year that cannot hold the date (Feb 29 in a common year) the year is
    /// inferred instead.
    pub fn resolve(&mut self, t: Yearless) -> Option<Timestamp> {
        let key = t.minute_key();
        let minute = match self.bsd {
            Some((k, m)) if k == key => m,
            _ => {
                let m = self.resolve_minute(t);
                self.bsd = Some((key, m));
                m
            }
        };
        if !minute.uniform {
            return self.resolve_slow(t);
        }
        let ts = add_seconds(minute.start?, t.second.min(59), t.nanos)?;
        if minute.inferred && ts > self.limit {
            // The minute straddles the limit: this second belongs to an earlier year.
            return self.resolve_slow(t);
        }
        Some(ts)
    }

    /// The instant of an RFC 3339 text with an offset in the minute last remembered with
    /// [`Clock::iso_remember`], as `civil::fast_rfc3339` reads it; `None` for anything else.
    #[inline]
    pub fn iso_cached(&self, s: &[u8]) -> Option<Timestamp> {
        let m = self.iso.as_ref()?;
        let (prefix, rest) = s.split_first_chunk::<16>()?;
        if *prefix != m.prefix {
            return None;
        }
        let (second, nanos, offset) = iso_seconds(rest)?;
        if offset != &m.offset[..usize::from(m.offset_len)] {
            return None;
        }
        Timestamp::new(m.start + second, nanos).ok()
    }

    /// Remembers the minute of `s`, which `civil::fast_rfc3339` read as the instant `ts`.
    pub fn iso_remember(&mut self, s: &[u8], ts: Timestamp) {
        let Some((prefix, rest)) = s.split_first_chunk::<16>() else {
            return;
        };
        let Some((second, _, offset)) = iso_seconds(rest) else {
            return;
        };
        let start = ts.as_second() - second;
        // Before 1970 a fraction would move the whole second (jiff keeps one sign).
        if offset.is_empty() || offset.len() > 6 || start < 0 {
            return;
        }
        let mut m = IsoMinute {
            prefix: *prefix,
            offset: [0; 6],
            offset_len: offset.len() as u8,
            start,
        };
        m.offset[..offset.len()].copy_from_slice(offset);
        self.iso = Some(m);
    }

    /// The instant for a zone-less civil time, read in the clock's zone.
    pub fn local(&mut self, c: crate::civil::Civil) -> Option<Timestamp> {
        let key = u64::from_le_bytes([
            c.year as u8,
            (c.year >> 8) as u8,
            c.month as u8,
            c.day as u8,
            c.hour as u8,
            c.minute as u8,
            0,
            0,
        ]);
        let minute = match self.civil {
            Some((k, m)) if k == key => m,
            _ => {
                let start = DateTime::new(c.year, c.month, c.day, c.hour, c.minute, 0, 0)
                    .ok()
                    .and_then(|dt| self.tz.to_timestamp(dt).ok());
                let m = Minute {
                    start,
                    inferred: false,
                    uniform: start.is_none_or(|s| self.uniform(s)),
                };
                self.civil = Some((key, m));
                m
            }
        };
        if !minute.uniform {
            let dt = DateTime::new(c.year, c.month, c.day, c.hour, c.minute, c.second, c.nanos);
            return self.tz.to_timestamp(dt.ok()?).ok();
        }
        add_seconds(minute.start?, c.second, c.nanos)
    }

    /// Second 0 of the minute of `t`, with the year chosen as [`Clock::resolve`] does.
    fn resolve_minute(&self, t: Yearless) -> Minute {
        let t0 = Yearless {
            second: 0,
            nanos: 0,
            ..t
        };
        let (start, inferred) = match self.year.and_then(|y| self.at(y, t0)) {
            Some(start) => (Some(start), false),
            None => (self.infer(t0), true),
        };
        Minute {
            start,
            inferred,
            uniform: start.is_none_or(|s| self.uniform(s)),
        }
    }

    /// Whether the zone's offset at `start` still holds 59 seconds later.
    fn uniform(&self, start: Timestamp) -> bool {
        let Ok(end) = start.checked_add(SignedDuration::from_secs(59)) else {
            return false;
        };
        self.tz.to_offset(start) == self.tz.to_offset(end)
    }

    /// The uncached path, second by second.
    fn resolve_slow(&self, t: Yearless) -> Option<Timestamp> {
        if let Some(y) = self.year
            && let Some(ts) = self.at(y, t)
        {
            return Some(ts);
        }
        self.infer(t)
    }

    /// Newest year first: the year after the anchor's (the anchor's zone may lag UTC), then
    /// back. Eight years back always reaches a leap year for Feb 29.
    fn infer(&self, t: Yearless) -> Option<Timestamp> {
        let newest = self.anchor_year.saturating_add(1);
        let oldest = self.anchor_year.saturating_sub(8);
        (oldest..=newest)
            .rev()
            .find_map(|y| self.at(y, t).filter(|ts| *ts <= self.limit))
    }

    fn at(&self, year: i16, t: Yearless) -> Option<Timestamp> {
        let dt = DateTime::new(
            year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second.min(59),
            t.nanos,
        )
        .ok()?;
        self.tz.to_timestamp(dt).ok()
    }
}

/// `start` plus whole seconds and nanoseconds (both non-negative).
fn add_seconds(start: Timestamp, second: i8, nanos: i32) -> Option<Timestamp> {
    Timestamp::new(start.as_second() + i64::from(second), nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn t(month: i8, day: i8, hour: i8, minute: i8, second: i8) -> Yearless {
        Yearless {
            month,
            day,
            hour,
            minute,
            second,
            nanos: 0,
        }
    }

    #[test]
    fn december_line_read_in_january_is_last_year() {
        let mut c = Clock::new(TimeZone::UTC, None, ts("2026-01-02T00:00:00Z"));
        assert_eq!(
            c.resolve(t(12, 31, 23, 59, 59)),
            Some(ts("2025-12-31T23:59:59Z"))
        );
        assert_eq!(
            c.resolve(t(1, 1, 10, 0, 0)),
            Some(ts("2026-01-01T10:00:00Z"))
        );
    }

    #[test]
    fn up_to_one_day_in_the_future_is_allowed() {
        let mut c = Clock::new(TimeZone::UTC, None, ts("2026-03-10T12:00:00Z"));
        assert_eq!(
            c.resolve(t(3, 11, 11, 0, 0)),
            Some(ts("2026-03-11T11:00:00Z"))
        );
        assert_eq!(
            c.resolve(t(3, 11, 13, 0, 0)),
            Some(ts("2025-03-11T13:00:00Z"))
        );
    }

    #[test]
    fn feb_29_goes_back_to_a_leap_year() {
        let mut c = Clock::new(TimeZone::UTC, None, ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            c.resolve(t(2, 29, 8, 0, 0)),
            Some(ts("2024-02-29T08:00:00Z"))
        );
        let mut forced = Clock::new(TimeZone::UTC, Some(2026), ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            forced.resolve(t(2, 29, 8, 0, 0)),
            Some(ts("2024-02-29T08:00:00Z"))
        );
    }

    #[test]
    fn forced_year_and_zone() {
        let tz = TimeZone::fixed(jiff::tz::offset(1));
        let mut c = Clock::new(tz, Some(2020), ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            c.resolve(t(11, 1, 12, 34, 56)),
            Some(ts("2020-11-01T11:34:56Z"))
        );
    }

    #[test]
    fn cached_minutes_agree_with_the_slow_path() {
        let mut c = Clock::new(
            TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC),
            None,
            ts("2026-03-29T01:00:30Z"),
        );
        for (month, day, hour, minute) in [(3, 29, 2, 59), (3, 29, 3, 0), (10, 25, 2, 30)] {
            for second in [0, 1, 29, 30, 31, 59] {
                let y = t(month, day, hour, minute, second);
                assert_eq!(c.resolve(y), c.resolve_slow(y), "{y:?}");
            }
        }
    }

    #[test]
    fn minute_straddling_the_limit() {
        let mut c = Clock::new(TimeZone::UTC, None, ts("2026-03-10T12:00:30Z"));
        assert_eq!(
            c.resolve(t(3, 11, 12, 0, 10)),
            Some(ts("2026-03-11T12:00:10Z"))
        );
        assert_eq!(
            c.resolve(t(3, 11, 12, 0, 40)),
            Some(ts("2025-03-11T12:00:40Z"))
        );
    }

    #[test]
    fn impossible_date() {
        let mut c = Clock::new(TimeZone::UTC, None, ts("2026-06-01T00:00:00Z"));
        assert_eq!(c.resolve(t(4, 31, 0, 0, 0)), None);
    }
}
