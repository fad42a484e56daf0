//! A batch of events on its way to the server: NDJSON, gzipped when sent.

use std::io::Write as _;
use std::time::Instant;

/// Events read but not delivered (or spooled) yet.
#[derive(Debug, Default)]
pub struct Batch {
    ndjson: Vec<u8>,
    events: usize,
    first_event_at: Option<Instant>,
}

impl Batch {
    /// Adds an event: the event contract plus `"source"` (its file's fingerprint).
    pub fn push(
        &mut self,
        event: &knockmap_parse::Event,
        fingerprint: &str,
    ) -> serde_json::Result<()> {
        write_wire_event(&mut self.ndjson, event, fingerprint)?;
        self.events += 1;
        self.first_event_at.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// How many events it holds.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Size of its NDJSON.
    pub fn bytes(&self) -> usize {
        self.ndjson.len()
    }

    /// When its first event was read.
    pub fn first_event_at(&self) -> Option<Instant> {
        self.first_event_at
    }

    /// The gzipped NDJSON body.
    pub fn gzipped(&self) -> std::io::Result<Vec<u8>> {
        gzip(&self.ndjson)
    }

    /// Empties it for the next batch.
    pub fn clear(&mut self) {
        self.ndjson.clear();
        self.events = 0;
        self.first_event_at = None;
    }
}

/// Appends one NDJSON line: the event contract plus `"source"` (the file's fingerprint).
fn write_wire_event(
    out: &mut Vec<u8>,
    event: &knockmap_parse::Event,
    fingerprint: &str,
) -> serde_json::Result<()> {
    let mut value = serde_json::to_value(event)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("source".into(), fingerprint.into());
    }
    serde_json::to_writer(&mut *out, &value)?;
    out.push(b'\n');
    Ok(())
}

/// Gzips a body, fast rather than small.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn wire_events_carry_their_source_and_the_batch_counts_them() {
        let mut event =
            knockmap_parse::Event::new(jiff::Timestamp::UNIX_EPOCH, knockmap_parse::Kind::Probe);
        event.offset = Some(42);
        let mut batch = Batch::default();
        assert!(batch.first_event_at().is_none());
        batch.push(&event, "abc").expect("encode");
        event.offset = Some(99);
        batch.push(&event, "abc").expect("encode");
        assert_eq!(batch.events(), 2);
        assert!(batch.first_event_at().is_some());

        let mut ndjson = String::new();
        flate2::read::GzDecoder::new(batch.gzipped().expect("gzip").as_slice())
            .read_to_string(&mut ndjson)
            .expect("gunzip");
        assert_eq!(ndjson.len(), batch.bytes());
        let lines: Vec<serde_json::Value> = ndjson
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (lines[0]["source"].as_str(), lines[0]["offset"].as_u64()),
            (Some("abc"), Some(42))
        );
        assert_eq!(lines[1]["offset"], 99);

        batch.clear();
        assert_eq!((batch.events(), batch.bytes()), (0, 0));
        assert!(batch.first_event_at().is_none());
    }
}
