//! English country names for ISO 3166-1 alpha-2 codes (for databases that only store a code).

/// Common short names where the ISO 3166 English short name is long or formal
/// ("United Kingdom of Great Britain and Northern Ireland"). They follow the names the
/// GeoIP2 databases use, so that the same country reads the same whichever database
/// answered. Also codes in use by geolocation databases but not assigned by ISO (XK).
const SHORT_NAMES: &[(&str, &str)] = &[
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("CD", "DR Congo"),
    ("CG", "Congo Republic"),
    ("CI", "Ivory Coast"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("MF", "Saint Martin"),
    ("NL", "Netherlands"),
    ("PS", "Palestine"),
    ("RU", "Russia"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VA", "Vatican City"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("VN", "Vietnam"),
    ("XK", "Kosovo"),
];

/// The English name of the country with ISO 3166-1 alpha-2 code `code` (any case), or
/// `None` for an unknown code.
///
/// ```
/// assert_eq!(knockmap_geo::country_name("se"), Some("Sweden"));
/// assert_eq!(knockmap_geo::country_name("GB"), Some("United Kingdom"));
/// assert_eq!(knockmap_geo::country_name("ZZ"), None);
/// ```
pub fn country_name(code: &str) -> Option<&'static str> {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let upper = code.to_ascii_uppercase();
    if let Some((_, name)) = SHORT_NAMES.iter().find(|(c, _)| *c == upper) {
        return Some(name);
    }
    rust_iso3166::from_alpha2(&upper).map(|country| country.name)
}

#[cfg(test)]
mod tests {
    use super::country_name;

    #[test]
    fn names_from_codes() {
        assert_eq!(country_name("DE"), Some("Germany"));
        assert_eq!(country_name("de"), Some("Germany"));
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_name("RU"), Some("Russia"));
        assert_eq!(country_name("CN"), Some("China"));
        assert_eq!(country_name("XK"), Some("Kosovo"));
    }

    #[test]
    fn unknown_codes() {
        assert_eq!(country_name(""), None);
        assert_eq!(country_name("ZZ"), None);
        assert_eq!(country_name("GBR"), None);
        assert_eq!(country_name("1A"), None);
        assert_eq!(country_name("é"), None);
    }

    #[test]
    fn short_names_are_sorted_and_unique() {
        for pair in super::SHORT_NAMES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?}", pair);
        }
    }
}
