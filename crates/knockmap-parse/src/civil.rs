//! Proleptic Gregorian calendar arithmetic on plain integers, and a fast reader for the common
//! RFC 3339 spellings. Used where going through jiff for every line would cost more than the
//! rest of the parse; every result is built with jiff's own `Timestamp::new`, so it is the same
//! instant jiff would give.

use jiff::Timestamp;

/// 9999-12-31T23:59:59Z in seconds since the epoch: the end of the range written by hand.
pub const MAX_FAST_SECOND: i64 = 253_402_300_799;

/// Days since 1970-01-01 for a civil date (`month` 1..=12, `day` 1..=31, not validated).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both fit: day is 1..=31, month 1..=12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A civil date-time read from the fast RFC 3339 path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// 1..=9998.
    pub year: i16,
    /// 1..=12.
    pub month: i8,
    /// 1..=31, valid for the month.
    pub day: i8,
    /// 0..=23.
    pub hour: i8,
    /// 0..=59.
    pub minute: i8,
    /// 0..=59.
    pub second: i8,
    /// 0..=999_999_999.
    pub nanos: i32,
}

impl Civil {
    /// Seconds since the epoch of this date-time read as UTC.
    pub fn utc_seconds(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month as u32, self.day as u32);
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

/// What the fast path made of an RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fast {
    /// An instant (the text had `Z` or a numeric offset).
    Instant(Timestamp),
    /// A civil time with no offset: to be read in the local zone.
    Local(Civil),
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.f{1,9}][Z|±HH:MM|±HHMM]`, years 1..=9998, seconds up to 59.
/// `None` for anything else (leap seconds, other separators, `-00:00`, zone annotations…):
/// the caller then asks jiff, which knows every spelling.
pub fn fast_rfc3339(s: &[u8]) -> Option<Fast> {
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || s[10] != b'T' {
        return None;
    }
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    let year = num(&s[0..4])?;
    let month = num(&s[5..7])?;
    let day = num(&s[8..10])?;
    let (hour, minute, second) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    if !(1..=9998).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    if day > days_in_month(i64::from(year), month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        for i in 0..9 {
            nanos = nanos * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |b| u32::from(b - b'0'));
        }
        rest = &frac[n..];
    }
    // All in range by the checks above.
    let civil = Civil {
        year: year as i16,
        month: month as i8,
        day: day as i8,
        hour: hour as i8,
        minute: minute as i8,
        second: second as i8,
        nanos: nanos as i32,
    };
    let offset = match rest {
        [] => return Some(Fast::Local(civil)),
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let (h, m) = (num(&[*h1, *h2])?, num(&[*m1, *m2])?);
            if h > 23 || m > 59 || (*sign == b'-' && h == 0 && m == 0) {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let ts = Timestamp::new(civil.utc_seconds() - offset, civil.nanos).ok()?;
    Some(Fast::Instant(ts))
}

/// A run of ASCII digits as a number (at most four digits here).
fn num(s: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_days() {
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn agrees_with_jiff() {
        for s in [
            "2026-11-21T19:16:01.123456+01:00",
            "2026-11-21T19:16:01Z",
            "2024-02-29T23:59:59.999999999-0530",
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59.5Z",
        ] {
            let want: Timestamp = s.parse().expect("jiff parses");
            assert_eq!(fast_rfc3339(s.as_bytes()), Some(Fast::Instant(want)), "{s}");
        }
        for s in [
            "2026-02-29T00:00:00Z",
            "2026-11-21T19:16:60Z",
            "2026-11-21T19:16:01-00:00",
            "2026-11-21 19:16:01Z",
            "2026-11-21T19:16:01+01",
            "2026-11-21T19:16:01.Z",
        ] {
            assert!(
                !matches!(fast_rfc3339(s.as_bytes()), Some(Fast::Instant(_))),
                "{s}"
            );
        }
        assert!(matches!(
            fast_rfc3339(b"2026-11-21T19:16:01"),
            Some(Fast::Local(_))
        ));
    }
}
