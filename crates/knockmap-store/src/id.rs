//! Event ids: the same log line always gets the same id.

use std::fmt;

use sha2::{Digest, Sha256};

/// A 128-bit event id derived from where the event's line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub [u8; 16]);

impl EventId {
    /// The id of the line at `offset` in the source with `fingerprint`, read by `sensor`.
    pub fn from_origin(sensor: &str, fingerprint: &str, offset: u64) -> EventId {
        let mut hasher = Sha256::new();
        for part in [sensor.as_bytes(), b"\0", fingerprint.as_bytes(), b"\0"] {
            hasher.update(part);
        }
        hasher.update(offset.to_be_bytes());
        EventId::from_digest(&hasher.finalize())
    }

    /// The id of an event that has no position in a source: derived from its content, so the
    /// same event sent twice is still stored once.
    pub fn from_content(sensor: &str, canonical_json: &[u8]) -> EventId {
        let mut hasher = Sha256::new();
        hasher.update(sensor.as_bytes());
        hasher.update(b"\0content\0");
        hasher.update(canonical_json);
        EventId::from_digest(&hasher.finalize())
    }

    fn from_digest(digest: &[u8]) -> EventId {
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        EventId(id)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_same_id_and_any_difference_changes_it() {
        let a = EventId::from_origin("web-01", "abc", 4096);
        assert_eq!(a, EventId::from_origin("web-01", "abc", 4096));
        assert_ne!(a, EventId::from_origin("web-01", "abc", 4097));
        assert_ne!(a, EventId::from_origin("web-02", "abc", 4096));
        assert_ne!(a, EventId::from_origin("web-01", "abd", 4096));
        assert_eq!(a.to_string().len(), 32);
    }
}
