//! The map's data in columns (`GET /api/v1/markers?format=columns`): one array per field
//! instead of one object per address, with countries and sensors as indexes into name lists.
//! For 100,000 addresses this is about a third of the JSON of [`Markers`], and it is built
//! without an allocation per address: the addresses' text shares one buffer.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::model::Markers;

/// The markers of a window as columns. Row `i` of every column of `markers` is one address,
/// in the order of [`Markers::markers`] (most events first, then by address); likewise
/// `unlocated`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarkerColumns {
    /// Always `"columns"`, so a reader can tell this layout from the object layout.
    pub format: &'static str,
    /// Country codes that `markers.country` points into.
    pub countries: Vec<String>,
    /// Sensor names that `markers.sensor` points into.
    pub sensors: Vec<String>,
    /// Located addresses.
    pub markers: Located,
    /// Addresses without a location.
    pub unlocated: UnlocatedColumns,
}

impl MarkerColumns {
    /// The JSON text, written into a buffer sized for it up front: growing a buffer of
    /// megabytes step by step copies it several times over.
    pub fn to_json(&self) -> Vec<u8> {
        let rows = self.markers.ip.len() + self.unlocated.ip.len();
        let mut out = Vec::with_capacity(4096 + rows * 96);
        // Writing into a `Vec` cannot fail, and every field serializes.
        serde_json::to_writer(&mut out, self).unwrap_or_default();
        out
    }
}

impl Default for MarkerColumns {
    fn default() -> MarkerColumns {
        MarkerColumns {
            format: "columns",
            countries: Vec::new(),
            sensors: Vec::new(),
            markers: Located::default(),
            unlocated: UnlocatedColumns::default(),
        }
    }
}

/// The columns of located addresses.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Located {
    /// The addresses.
    pub ip: TextColumn,
    /// Latitudes.
    pub lat: Vec<f64>,
    /// Longitudes.
    pub lon: Vec<f64>,
    /// Index into `countries`, `-1` when unknown.
    pub country: Vec<i32>,
    /// Failures in the window.
    pub failures: Vec<u64>,
    /// Successes in the window.
    pub successes: Vec<u64>,
    /// Probes in the window.
    pub probes: Vec<u64>,
    /// Newest event in the window, in Unix seconds.
    pub last_seen: Vec<i64>,
    /// Index into `sensors` of the sensor that saw it last, `-1` when unknown.
    pub sensor: Vec<i32>,
    /// Rows starred by an admin (few, so listed rather than a column).
    pub starred: Vec<u32>,
}

/// One row of [`Located`], its names already numbered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocatedRow<'a> {
    /// The address.
    pub ip: &'a str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Index into `countries`, `-1` when unknown.
    pub country: i32,
    /// Failures in the window.
    pub failures: u64,
    /// Successes in the window.
    pub successes: u64,
    /// Probes in the window.
    pub probes: u64,
    /// Newest event in the window, in Unix seconds.
    pub last_seen: i64,
    /// Index into `sensors`, `-1` when unknown.
    pub sensor: i32,
    /// Starred by an admin.
    pub starred: bool,
}

impl Located {
    /// Empty columns with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Located {
        let mut ip = TextColumn::default();
        ip.reserve(rows, 16);
        Located {
            ip,
            lat: Vec::with_capacity(rows),
            lon: Vec::with_capacity(rows),
            country: Vec::with_capacity(rows),
            failures: Vec::with_capacity(rows),
            successes: Vec::with_capacity(rows),
            probes: Vec::with_capacity(rows),
            last_seen: Vec::with_capacity(rows),
            sensor: Vec::with_capacity(rows),
            starred: Vec::new(),
        }
    }

    /// Appends one row.
    pub fn push(&mut self, row: LocatedRow<'_>) {
        if row.starred {
            // Rows number far below `u32::MAX`: a map holds at most millions of addresses.
            self.starred
                .push(u32::try_from(self.ip.len()).unwrap_or(u32::MAX));
        }
        self.ip.push(row.ip);
        self.lat.push(row.lat);
        self.lon.push(row.lon);
        self.country.push(row.country);
        self.failures.push(row.failures);
        self.successes.push(row.successes);
        self.probes.push(row.probes);
        self.last_seen.push(row.last_seen);
        self.sensor.push(row.sensor);
    }
}

/// The columns of addresses without a location.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct UnlocatedColumns {
    /// The addresses.
    pub ip: TextColumn,
    /// Events in the window.
    pub events: Vec<u64>,
    /// Newest event in the window, in Unix seconds.
    pub last_seen: Vec<i64>,
}

impl UnlocatedColumns {
    /// Appends one row; `last_seen` in Unix seconds.
    pub fn push(&mut self, ip: &str, events: u64, last_seen: i64) {
        self.ip.push(ip);
        self.events.push(events);
        self.last_seen.push(last_seen);
    }
}

/// A column of short strings kept in one buffer; serializes as an array of strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextColumn {
    text: String,
    ends: Vec<usize>,
}

impl TextColumn {
    /// Appends one string.
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.text[start..end])
    }

    /// Room for `rows` more strings of about `bytes_each` bytes.
    pub fn reserve(&mut self, rows: usize, bytes_each: usize) {
        self.text.reserve(rows * bytes_each);
        self.ends.reserve(rows);
    }
}

impl Serialize for TextColumn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for s in self.iter() {
            seq.serialize_element(s)?;
        }
        seq.end()
    }
}

/// Names numbered in order of first appearance.
#[derive(Default)]
struct Dictionary<'a> {
    names: Vec<&'a str>,
    index: HashMap<&'a str, i32>,
}

impl<'a> Dictionary<'a> {
    fn index_of(&mut self, name: Option<&'a str>) -> i32 {
        let Some(name) = name else {
            return -1;
        };
        *self.index.entry(name).or_insert_with(|| {
            self.names.push(name);
            // Countries and sensors number far below `i32::MAX`.
            i32::try_from(self.names.len() - 1).unwrap_or(i32::MAX)
        })
    }

    fn into_names(self) -> Vec<String> {
        self.names.into_iter().map(str::to_owned).collect()
    }
}

impl From<&Markers> for MarkerColumns {
    fn from(markers: &Markers) -> MarkerColumns {
        let mut countries = Dictionary::default();
        let mut sensors = Dictionary::default();
        let mut located = Located::with_capacity(markers.markers.len());
        for m in &markers.markers {
            located.push(LocatedRow {
                ip: &m.ip,
                lat: m.lat,
                lon: m.lon,
                country: countries.index_of(m.country_code.as_deref()),
                failures: m.failures,
                successes: m.successes,
                probes: m.probes,
                last_seen: m.last_seen.as_second(),
                sensor: sensors.index_of(m.sensor.as_deref()),
                starred: m.starred,
            });
        }
        let mut unlocated = UnlocatedColumns::default();
        for u in &markers.unlocated {
            unlocated.push(&u.ip, u.events, u.last_seen.as_second());
        }
        MarkerColumns {
            countries: countries.into_names(),
            sensors: sensors.into_names(),
            markers: located,
            unlocated,
            ..MarkerColumns::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::{Value, json};

    use super::*;
    use crate::model::{Marker, Unlocated};

    fn marker(ip: &str, country: Option<&str>, sensor: Option<&str>, starred: bool) -> Marker {
        Marker {
            ip: ip.into(),
            lat: 51.5,
            lon: -0.125,
            country_code: country.map(Into::into),
            events: 7,
            failures: 4,
            successes: 1,
            probes: 2,
            last_seen: Timestamp::from_second(1_700_000_000).expect("time"),
            sensor: sensor.map(Into::into),
            starred,
        }
    }

    #[test]
    fn rows_keep_their_order_and_names_are_numbered_once() {
        let hostile = "<script>alert(1)</script>\"\u{202e}";
        let markers = Markers {
            markers: vec![
                marker("192.0.2.1", Some("GB"), Some(hostile), false),
                marker("192.0.2.2", None, Some("web"), true),
                marker("2001:db8::1", Some("GB"), None, false),
            ],
            unlocated: vec![Unlocated {
                ip: "10.0.0.1".into(),
                events: 3,
                last_seen: Timestamp::from_second(1_700_000_100).expect("time"),
            }],
        };
        let columns = MarkerColumns::from(&markers);
        let text = String::from_utf8(columns.to_json()).expect("UTF-8");
        assert_eq!(text, serde_json::to_string(&columns).expect("JSON"));
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            value,
            json!({
                "format": "columns",
                "countries": ["GB"],
                "sensors": [hostile, "web"],
                "markers": {
                    "ip": ["192.0.2.1", "192.0.2.2", "2001:db8::1"],
                    "lat": [51.5, 51.5, 51.5],
                    "lon": [-0.125, -0.125, -0.125],
                    "country": [0, -1, 0],
                    "failures": [4, 4, 4],
                    "successes": [1, 1, 1],
                    "probes": [2, 2, 2],
                    "last_seen": [1_700_000_000, 1_700_000_000, 1_700_000_000],
                    "sensor": [0, 1, -1],
                    "starred": [1],
                },
                "unlocated": {"ip": ["10.0.0.1"], "events": [3], "last_seen": [1_700_000_100]},
            })
        );
    }

    #[test]
    fn no_markers_is_empty_columns() {
        let value = serde_json::to_value(MarkerColumns::from(&Markers::default())).expect("JSON");
        assert_eq!(value["format"], "columns");
        assert_eq!(value["markers"]["ip"], json!([]));
        assert_eq!(value["countries"], json!([]));
        assert_eq!(value["unlocated"]["events"], json!([]));
    }

    #[test]
    fn a_text_column_gives_back_what_was_pushed() {
        let mut column = TextColumn::default();
        for s in ["", "a", "2001:db8::1", "", "é\u{0}"] {
            column.push(s);
        }
        assert_eq!(
            column.iter().collect::<Vec<_>>(),
            ["", "a", "2001:db8::1", "", "é\u{0}"]
        );
        assert_eq!(column.len(), 5);
    }
}
