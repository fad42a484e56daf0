//! Turning log timestamps into UTC instants, including the year inference that BSD syslog
//! (`Nov  1 12:34:56`, no year, no zone) needs.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Resolves year-less, zone-less timestamps against the parse options.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: TimeZone,
    year: Option<i16>,
    anchor_year: i16,
    limit: Timestamp,
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
            anchor_year,
            limit,
        }
    }

    /// The zone for times written without one.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// The instant for a year-less time, or `None` if no year makes it valid.
    ///
    /// With a forced year that cannot hold the date (Feb 29 in a common year) the year is
    /// inferred instead.
    pub fn resolve(&self, t: Yearless) -> Option<Timestamp> {
        if let Some(y) = self.year
            && let Some(ts) = self.at(y, t)
        {
            return Some(ts);
        }
        // Newest first: the year after the anchor's (the anchor's zone may lag UTC), then back.
        // Eight years back always reaches a leap year for Feb 29.
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
        let c = Clock::new(TimeZone::UTC, None, ts("2026-01-02T00:00:00Z"));
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
        let c = Clock::new(TimeZone::UTC, None, ts("2026-03-10T12:00:00Z"));
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
        let c = Clock::new(TimeZone::UTC, None, ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            c.resolve(t(2, 29, 8, 0, 0)),
            Some(ts("2024-02-29T08:00:00Z"))
        );
        let forced = Clock::new(TimeZone::UTC, Some(2026), ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            forced.resolve(t(2, 29, 8, 0, 0)),
            Some(ts("2024-02-29T08:00:00Z"))
        );
    }

    #[test]
    fn forced_year_and_zone() {
        let tz = TimeZone::fixed(jiff::tz::offset(1));
        let c = Clock::new(tz, Some(2020), ts("2026-06-01T00:00:00Z"));
        assert_eq!(
            c.resolve(t(11, 1, 12, 34, 56)),
            Some(ts("2020-11-01T11:34:56Z"))
        );
    }

    #[test]
    fn impossible_date() {
        let c = Clock::new(TimeZone::UTC, None, ts("2026-06-01T00:00:00Z"));
        assert_eq!(c.resolve(t(4, 31, 0, 0, 0)), None);
    }
}
