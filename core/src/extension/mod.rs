//! The verified-transfers extension (issue #11, `doc/verified-transfers.md`): stream identity
//! and end-to-end integrity carried only where udpcast 20120424 never looks.
//!
//! This module holds the wire format of the extension — a versioned *trailer* of typed
//! records appended to fixed-size messages, whose trailing bytes udpcast ignores
//! (PROTOCOL.md §2.11) — the stream [`Identity`] and the checksums it carries
//! ([`integrity`]). The sender and receiver state machines decide when they are sent and
//! what a receiver does with them.
//!
//! Parsing never panics: every malformed trailer gets a typed [`TrailerError`].

#[cfg(target_arch = "x86_64")]
mod crc32c_x86;
mod error;
mod identity;
pub mod integrity;
mod trailer;

pub use error::{TrailerEncodeError, TrailerError, TrailerPart};
pub use identity::{Identity, StreamName};
pub use integrity::crc32c_combine;
pub use trailer::{
    trailing_bytes, Record, RecordKind, Records, SliceCheck, StreamCheck, Trailer, TrailerWriter,
};

use crate::wire::Capabilities;

/// The capability bit of the extension: bit 30, which no udpcast version defines or sets
/// (PROTOCOL.md §2.12 lists bits 0–5 only). Our receivers set it in CONNECT_REQ; our sender
/// sets it only in the CONNECT_REPLY to a receiver that announced it, never in a HELLO.
pub const VERIFIED: Capabilities = Capabilities::from_bits_retain(0x4000_0000);

/// The first four bytes of every trailer: `UCXT`.
pub const MAGIC: [u8; 4] = *b"UCXT";

/// The trailer format version this code writes and reads. Another value is refused with
/// [`TrailerError::UnsupportedVersion`]; new record kinds do not change it (readers skip
/// kinds they do not know).
pub const VERSION: u8 = 1;

/// Size of the trailer header: magic, version, flags, length of the records.
pub const HEADER_LEN: usize = 8;

/// Size of a record header: kind, reserved, length of the value.
pub const RECORD_HEADER_LEN: usize = 4;

/// The longest stream name, in UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 255;

#[cfg(test)]
mod tests;
