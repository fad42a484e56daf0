//! Record layouts of the supported MMDB schemas.
//!
//! Only the fields knockmap uses are declared; the decoder skips the rest. Numbers are read
//! leniently (an MMDB `float`, `double`, integer, or numeric string all work) because
//! third-party writers do not agree on the types, and the `maxminddb` decoder is strict
//! about them.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

/// A GeoIP2 / GeoLite2 City or Country record (also DB-IP's official downloads).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GeoIp2Record<'a> {
    #[serde(borrow, default)]
    pub country: Option<CountryRecord<'a>>,
    #[serde(borrow, default)]
    pub registered_country: Option<CountryRecord<'a>>,
    #[serde(borrow, default)]
    pub city: Option<NamedRecord<'a>>,
    #[serde(default)]
    pub location: Option<LocationRecord>,
}

/// `country` / `registered_country` of a GeoIP2 record.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CountryRecord<'a> {
    #[serde(borrow, default)]
    pub iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    pub names: Option<Names<'a>>,
}

/// A GeoIP2 entity with localized names (`city`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct NamedRecord<'a> {
    #[serde(borrow, default)]
    pub names: Option<Names<'a>>,
}

/// The localized names of a GeoIP2 entity; only English is used.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Names<'a> {
    #[serde(borrow, default)]
    pub en: Option<&'a str>,
}

/// `location` of a GeoIP2 record.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LocationRecord {
    #[serde(default, deserialize_with = "lenient_f64")]
    pub latitude: Option<f64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub longitude: Option<f64>,
}

/// A record of the flat ip-location-db city schema:
/// `country_code, state1, state2, city, postcode, latitude, longitude, timezone`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FlatRecord<'a> {
    #[serde(borrow, default)]
    pub country_code: Option<&'a str>,
    #[serde(borrow, default)]
    pub city: Option<&'a str>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub latitude: Option<f64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub longitude: Option<f64>,
}

/// A GeoLite2-ASN (or DB-IP ASN Lite) record.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AsnRecord<'a> {
    #[serde(default, deserialize_with = "lenient_asn")]
    pub autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    pub autonomous_system_organization: Option<&'a str>,
}

/// Which top-level keys a record has: enough to tell the schemas apart.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Probe {
    #[serde(default)]
    country: Option<IgnoredAny>,
    #[serde(default)]
    registered_country: Option<IgnoredAny>,
    #[serde(default)]
    continent: Option<IgnoredAny>,
    #[serde(default)]
    location: Option<IgnoredAny>,
    #[serde(default)]
    country_code: Option<IgnoredAny>,
    #[serde(default)]
    latitude: Option<IgnoredAny>,
    #[serde(default)]
    autonomous_system_number: Option<IgnoredAny>,
}

/// The kind of record a [`Probe`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeKind {
    GeoIp2,
    Flat,
    Asn,
}

impl Probe {
    /// The schema this record belongs to, if any.
    pub fn kind(&self) -> Option<ProbeKind> {
        if self.autonomous_system_number.is_some() {
            Some(ProbeKind::Asn)
        } else if self.country.is_some()
            || self.registered_country.is_some()
            || self.continent.is_some()
            || self.location.is_some()
        {
            Some(ProbeKind::GeoIp2)
        } else if self.country_code.is_some() || self.latitude.is_some() {
            Some(ProbeKind::Flat)
        } else {
            None
        }
    }
}

/// `Some(s)` unless `s` is empty or blank.
pub(crate) fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Reads a number of any MMDB numeric type, or a numeric string, as `f64`; anything else,
/// and non-finite values, as `None`.
fn lenient_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v).filter(|v| v.is_finite()))
        }
        fn visit_f32<E: de::Error>(self, v: f32) -> Result<Self::Value, E> {
            // Through the shortest decimal form, so a stored 37.422_f32 reads as 37.422
            // rather than 37.422000885009766.
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    deserializer.deserialize_any(V)
}

/// Reads an AS number stored as any unsigned/signed integer type or as a string such as
/// `"AS1221"` or `"1221"`; out-of-range or other values as `None`.
fn lenient_asn<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an AS number")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            let digits = v
                .strip_prefix("AS")
                .or_else(|| v.strip_prefix("as"))
                .unwrap_or(v);
            Ok(digits.parse::<u32>().ok())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    deserializer.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::non_empty;

    #[test]
    fn blank_strings_are_absent() {
        assert_eq!(non_empty(Some("")), None);
        assert_eq!(non_empty(Some("  ")), None);
        assert_eq!(non_empty(None), None);
        assert_eq!(non_empty(Some(" Lund ")), Some("Lund"));
    }
}
