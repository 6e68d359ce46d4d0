//! Why trailing bytes are not a well-formed extension trailer, or a trailer cannot be
//! written.

use super::RecordKind;
use core::fmt;

/// The piece of a trailer that was cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TrailerPart {
    /// The 8-byte trailer header.
    Header,
    /// A 4-byte record header.
    RecordHeader,
    /// A record's value.
    RecordValue(RecordKind),
}

impl fmt::Display for TrailerPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrailerPart::Header => f.write_str("trailer header"),
            TrailerPart::RecordHeader => f.write_str("record header"),
            TrailerPart::RecordValue(kind) => write!(f, "{kind} record"),
        }
    }
}

/// Trailing bytes that start with the extension's magic but are not a well-formed trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TrailerError {
    /// The trailer ends inside one of its parts.
    Truncated {
        /// The part cut short.
        part: TrailerPart,
        /// Bytes left for it.
        len: usize,
        /// Bytes it needs.
        needed: usize,
    },
    /// A trailer version this code does not speak.
    UnsupportedVersion(u8),
    /// The header announces more record bytes than follow it.
    RecordsBeyondDatagram {
        /// Record bytes the header announces.
        declared: usize,
        /// Bytes after the header.
        available: usize,
    },
    /// A fixed-size record whose value has another length.
    BadRecordLength {
        /// The record.
        kind: RecordKind,
        /// Its value's length on the wire.
        len: usize,
        /// The length its kind has.
        expected: usize,
    },
    /// A known record kind appears twice.
    DuplicateRecord(RecordKind),
    /// A stream name of zero bytes.
    EmptyName,
    /// A stream name longer than [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes.
    NameTooLong(usize),
    /// A stream name that is not UTF-8.
    NameNotUtf8,
    /// A stream name holding a control character (it is printed on terminals).
    NameHasControlCharacter,
}

impl fmt::Display for TrailerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TrailerError::Truncated { part, len, needed } => {
                write!(f, "{part} of {len} bytes is truncated (needs {needed})")
            }
            TrailerError::UnsupportedVersion(v) => {
                write!(f, "extension trailer version {v} is not supported")
            }
            TrailerError::RecordsBeyondDatagram {
                declared,
                available,
            } => write!(
                f,
                "trailer announces {declared} record bytes, only {available} follow"
            ),
            TrailerError::BadRecordLength {
                kind,
                len,
                expected,
            } => write!(f, "{kind} record of {len} bytes (must be {expected})"),
            TrailerError::DuplicateRecord(kind) => write!(f, "{kind} record appears twice"),
            TrailerError::EmptyName => f.write_str("empty stream name"),
            TrailerError::NameTooLong(len) => write!(
                f,
                "stream name of {len} bytes (at most {})",
                super::MAX_NAME_LEN
            ),
            TrailerError::NameNotUtf8 => f.write_str("stream name is not UTF-8"),
            TrailerError::NameHasControlCharacter => {
                f.write_str("stream name holds a control character")
            }
        }
    }
}

impl core::error::Error for TrailerError {}

/// A trailer that cannot be written as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TrailerEncodeError {
    /// The caller's buffer is too small.
    BufferTooSmall {
        /// Bytes the trailer needs so far.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// A record value longer than its 16-bit length field, or records longer than the
    /// header's 16-bit length field.
    TooLong(usize),
    /// A stream name the parser would refuse (empty, too long or with a control character).
    BadName(TrailerError),
    /// An unknown-kind record whose kind number is one of the known kinds.
    KnownKindAsUnknown(u8),
    /// A known record kind pushed twice (the parser refuses duplicates).
    Duplicate(RecordKind),
}

impl fmt::Display for TrailerEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TrailerEncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, trailer needs {needed}")
            }
            TrailerEncodeError::TooLong(n) => write!(f, "{n} bytes exceed a 16-bit length"),
            TrailerEncodeError::BadName(e) => write!(f, "bad stream name: {e}"),
            TrailerEncodeError::KnownKindAsUnknown(k) => {
                write!(f, "record kind {k} is known and must be written typed")
            }
            TrailerEncodeError::Duplicate(kind) => write!(f, "{kind} record pushed twice"),
        }
    }
}

impl core::error::Error for TrailerEncodeError {}
