//! Counting a log in pieces, on several threads, with exactly the result of one parser reading
//! it in order.
//!
//! A line's class depends on earlier lines in two ways only: an address-less message takes
//! its peer from the table of recent sshd processes ([`crate::pids`]), and `last message
//! repeated` repeats the previous event line. The clock keeps no state that changes a result
//! (its caches only save work). So a parser that starts in the middle of a log —
//! *detached* — classifies every line it can decide, and for the others writes down what the
//! answer depends on:
//!
//! - a lookup in a process slot it has not written itself is *deferred*: the line counts as
//!   ignored for now, with its key, time and kind kept;
//! - a repeat line before the piece has decided the previous line (or right after a deferred
//!   one) cannot be settled cheaply: the whole piece is marked for a redo.
//!
//! [`crate::Parser::attach`] then takes the state after all earlier lines, settles the
//! deferred lookups against it, and merges it in, so the detached parser ends in the exact
//! state a parser that had read everything in order would be in.

use crate::event::Kind;

/// What a detached parser has left to settle.
#[derive(Debug, Clone, Default)]
pub(crate) struct Detached {
    /// Lookups in process slots the piece had not written yet, in line order.
    pub deferred: Vec<Deferred>,
    /// What the previous-line buffer holds, as far as the piece knows.
    pub prev: Prev,
    /// A line's class depends on the past in a way that corrections cannot express.
    pub redo: bool,
}

/// An address-less message whose peer is in the unknown state before the piece.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deferred {
    /// The process key ([`crate::pids::Lookup::Inherited`]).
    pub key: u64,
    /// The line's time, Unix seconds.
    pub at: i64,
    /// The kind of event the line is when the peer is known.
    pub kind: Kind,
}

/// The previous-line buffer of a detached parser.
#[derive(Debug, Clone, Default)]
pub(crate) enum Prev {
    /// No line has set it yet: it is whatever came before the piece.
    #[default]
    Inherited,
    /// Set by a line of the piece, and exact.
    Known,
    /// Set by a line with a deferred lookup: that line if the lookup finds a peer, else
    /// empty.
    Deferred {
        /// The line.
        line: Vec<u8>,
        /// Its entry in [`Detached::deferred`].
        index: usize,
    },
}

/// What [`crate::Parser::attach`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Attach {
    /// The classes given were exact, except for one line per kind listed here: each was
    /// given as [`crate::Class::Ignored`] and is an event of that kind. The parser is now in
    /// the state of one that read every line in order.
    Corrected(Vec<Kind>),
    /// The piece's classes depend on the past in a way that corrections cannot express (a
    /// `last message repeated` line near its start): classify its lines again with a clone of
    /// the parser that was passed to `attach`, and use those classes instead.
    Redo,
}
