//! The remote address of each recent sshd process, for the messages that leave it out.
//!
//! Some pre-auth messages carry no address (`kex_exchange_identification: …`, `fatal: Read
//! from socket failed …`, `Disconnecting: Too many authentication failures`, …), but an earlier
//! line of the same sshd process usually did (`Connection from IP port P on …` at VERBOSE, or a
//! failure line). Each sshd process serves one connection, so (host, pid) names the peer.
//!
//! The table is direct-mapped and fixed in size: allocated once, never grown, a newer process
//! simply takes an older one's slot. An entry older than [`MAX_AGE_SECONDS`] (by the log's own
//! clock) is not used: the pid may have been reused since.

use std::net::IpAddr;

use jiff::Timestamp;

/// Number of slots (a power of two).
const SLOTS: usize = 512;

/// How long after the last line that named the address a message may still be tied to it:
/// longer than sshd's default `LoginGraceTime` (two minutes), which bounds the pre-auth phase.
pub const MAX_AGE_SECONDS: i64 = 600;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Hash of host and pid; 0 for an empty slot.
    key: u64,
    ip: IpAddr,
    port: Option<u16>,
    /// Unix seconds of the line that gave the address.
    at: i64,
    /// Whether the slot holds whatever came before a detached parser's first line: unknown
    /// until [`Pids::inherit`].
    inherited: bool,
}

const EMPTY: Slot = Slot {
    key: 0,
    ip: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    port: None,
    at: 0,
    inherited: false,
};

/// What [`Pids::find`] knows of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Its peer.
    Peer(IpAddr, Option<u16>),
    /// Nothing usable.
    Missing,
    /// Its slot is still the unknown state from before a detached parser's first line: the
    /// answer is [`Pids::lookup_key`] on that state, with this key.
    Inherited(u64),
}

/// The last remote address seen per (host, pid).
#[derive(Debug, Clone)]
pub struct Pids {
    slots: Box<[Slot]>,
}

impl Default for Pids {
    fn default() -> Self {
        Pids {
            slots: vec![EMPTY; SLOTS].into_boxed_slice(),
        }
    }
}

impl Pids {
    /// A table whose every slot is unknown: the state of a log read from a point whose past
    /// is not known yet (see [`Pids::inherit`]).
    pub fn detached() -> Pids {
        let unknown = Slot {
            inherited: true,
            ..EMPTY
        };
        Pids {
            slots: vec![unknown; SLOTS].into_boxed_slice(),
        }
    }

    /// Fills the slots still unknown with those of `before`, the state just before this
    /// table's first line.
    pub fn inherit(&mut self, before: &Pids) {
        for (slot, earlier) in self.slots.iter_mut().zip(before.slots.iter()) {
            if slot.inherited {
                *slot = *earlier;
            }
        }
    }

    /// Remembers that the process `pid` on `host` talks to `ip` (`port`), as of `at`.
    #[inline]
    pub fn record(
        &mut self,
        host: Option<&[u8]>,
        pid: u32,
        ip: IpAddr,
        port: Option<u16>,
        at: Timestamp,
    ) {
        let key = key(host, pid);
        if let Some(slot) = self.slots.get_mut(index(key)) {
            *slot = Slot {
                key,
                ip,
                port,
                at: at.as_second(),
                inherited: false,
            };
        }
    }

    /// The address of the process `pid` on `host`, if one was recorded no more than
    /// [`MAX_AGE_SECONDS`] before or after `at`; [`Lookup::Inherited`] when that depends on
    /// lines a detached table has not seen.
    #[inline]
    pub fn find(&self, host: Option<&[u8]>, pid: u32, at: Timestamp) -> Lookup {
        let key = key(host, pid);
        match self.slots.get(index(key)) {
            Some(slot) if slot.inherited => Lookup::Inherited(key),
            Some(slot) => match fresh(slot, key, at.as_second()) {
                Some((ip, port)) => Lookup::Peer(ip, port),
                None => Lookup::Missing,
            },
            None => Lookup::Missing,
        }
    }

    /// [`Pids::find`] by the key of an [`Lookup::Inherited`] answer, on a table that holds
    /// the state the answer depended on. Unix seconds for `at`.
    pub fn lookup_key(&self, key: u64, at: i64) -> Option<(IpAddr, Option<u16>)> {
        fresh(self.slots.get(index(key))?, key, at)
    }

    /// [`Pids::find`] for a table that is not detached.
    #[cfg(test)]
    pub fn lookup(
        &self,
        host: Option<&[u8]>,
        pid: u32,
        at: Timestamp,
    ) -> Option<(IpAddr, Option<u16>)> {
        match self.find(host, pid, at) {
            Lookup::Peer(ip, port) => Some((ip, port)),
            Lookup::Missing | Lookup::Inherited(_) => None,
        }
    }
}

/// The peer in `slot` if it is the process `key` and recent enough at `at` (Unix seconds).
#[inline]
fn fresh(slot: &Slot, key: u64, at: i64) -> Option<(IpAddr, Option<u16>)> {
    (!slot.inherited && slot.key == key && (at - slot.at).abs() <= MAX_AGE_SECONDS)
        .then_some((slot.ip, slot.port))
}

/// A 64-bit hash of host and pid, never 0: the host eight bytes at a time (the last, partial
/// word gathered with shifts), each word folded in with a multiply, then length and pid.
#[inline]
fn key(host: Option<&[u8]>, pid: u32) -> u64 {
    const MUL: u64 = 0x9E37_79B9_7F4A_7C15;
    let host = host.unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ host.len() as u64;
    let mut chunks = host.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(MUL)
            .rotate_left(29);
    }
    let tail = chunks
        .remainder()
        .iter()
        .enumerate()
        .fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i));
    h = (h ^ tail).wrapping_mul(MUL).rotate_left(29);
    h = (h ^ u64::from(pid)).wrapping_mul(MUL);
    h ^= h >> 32;
    h | 1
}

#[inline]
fn index(key: u64) -> usize {
    (key >> 23) as usize & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).expect("test time")
    }

    #[test]
    fn remembers_per_host_and_pid() {
        let mut p = Pids::default();
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        p.record(Some(b"web-01"), 42, ip, Some(22), ts(0));
        assert_eq!(p.lookup(Some(b"web-01"), 42, ts(5)), Some((ip, Some(22))));
        assert_eq!(p.lookup(Some(b"web-02"), 42, ts(5)), None);
        assert_eq!(p.lookup(Some(b"web-01"), 43, ts(5)), None);
        assert_eq!(p.lookup(None, 42, ts(5)), None);
        // Too old: the pid may have been reused.
        assert_eq!(p.lookup(Some(b"web-01"), 42, ts(MAX_AGE_SECONDS + 1)), None);
        let other: IpAddr = "2001:db8::1".parse().expect("ip");
        p.record(Some(b"web-01"), 42, other, None, ts(10));
        assert_eq!(p.lookup(Some(b"web-01"), 42, ts(11)), Some((other, None)));
    }
}
