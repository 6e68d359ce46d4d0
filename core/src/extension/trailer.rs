//! The extension trailer: a versioned header followed by typed, length-prefixed records,
//! appended after the fixed part of a message (doc/verified-transfers.md §3).

use super::{
    TrailerEncodeError, TrailerError, TrailerPart, HEADER_LEN, MAGIC, MAX_NAME_LEN,
    RECORD_HEADER_LEN, VERSION,
};
use core::fmt;
use zerocopy::byteorder::big_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct HeaderLayout {
    magic: [u8; 4],
    version: u8,
    flags: u8,
    records_len: U16,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RecordHeaderLayout {
    kind: u8,
    reserved: u8,
    len: U16,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct SliceCheckLayout {
    slice: U32,
    bytes: U32,
    crc32c: U32,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct StreamCheckLayout {
    bytes: U64,
    crc32c: U32,
}

const _: () = assert!(core::mem::size_of::<HeaderLayout>() == HEADER_LEN);
const _: () = assert!(core::mem::size_of::<RecordHeaderLayout>() == RECORD_HEADER_LEN);

/// The bytes of `datagram` after the fixed part of its message (`fixed_len`, e.g.
/// [`Reqack::LEN`](crate::wire::Reqack::LEN)); empty if there are none.
pub fn trailing_bytes(datagram: &[u8], fixed_len: usize) -> &[u8] {
    datagram.get(fixed_len..).unwrap_or(&[])
}

/// What a record holds. The numbers are the record's kind byte on the wire and are never
/// reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordKind {
    /// 1: the sender's random session id (u64).
    Session,
    /// 2: the stream's name (UTF-8, 1–255 bytes).
    StreamName,
    /// 3: the stream's total size in bytes (u64), when the sender knows it.
    TotalSize,
    /// 4: one slice's checksum.
    SliceCheck,
    /// 5: the whole stream's digest.
    StreamDigest,
    /// Any other kind byte: a later field, skipped by this version.
    Unknown(u8),
}

impl RecordKind {
    /// The kind byte `byte` stands for.
    pub const fn from_u8(byte: u8) -> RecordKind {
        match byte {
            1 => RecordKind::Session,
            2 => RecordKind::StreamName,
            3 => RecordKind::TotalSize,
            4 => RecordKind::SliceCheck,
            5 => RecordKind::StreamDigest,
            other => RecordKind::Unknown(other),
        }
    }

    /// The kind byte on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            RecordKind::Session => 1,
            RecordKind::StreamName => 2,
            RecordKind::TotalSize => 3,
            RecordKind::SliceCheck => 4,
            RecordKind::StreamDigest => 5,
            RecordKind::Unknown(other) => other,
        }
    }

    /// The value length of a fixed-size kind; `None` for names and unknown kinds.
    const fn fixed_len(self) -> Option<usize> {
        match self {
            RecordKind::Session | RecordKind::TotalSize => Some(8),
            RecordKind::SliceCheck => Some(core::mem::size_of::<SliceCheckLayout>()),
            RecordKind::StreamDigest => Some(core::mem::size_of::<StreamCheckLayout>()),
            RecordKind::StreamName | RecordKind::Unknown(_) => None,
        }
    }

    /// A bit per known kind, for duplicate detection; 0 for unknown kinds.
    const fn seen_bit(self) -> u8 {
        match self {
            RecordKind::Unknown(_) => 0,
            known => 1 << known.to_u8(),
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordKind::Session => f.write_str("session"),
            RecordKind::StreamName => f.write_str("stream-name"),
            RecordKind::TotalSize => f.write_str("total-size"),
            RecordKind::SliceCheck => f.write_str("slice-check"),
            RecordKind::StreamDigest => f.write_str("stream-digest"),
            RecordKind::Unknown(k) => write!(f, "unknown ({k})"),
        }
    }
}

/// The checksum of one slice: CRC-32C over its `bytes` data bytes
/// ([`integrity::slice_checksum`](super::integrity::slice_checksum)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SliceCheck {
    /// The slice number (as in the REQACK that carries it).
    pub slice: u32,
    /// The slice's byte count (as in the REQACK that carries it).
    pub bytes: u32,
    /// CRC-32C (Castagnoli, iSCSI) of the slice's data bytes.
    pub crc32c: u32,
}

/// The digest of the whole stream: CRC-32C over every data byte in order
/// ([`integrity::StreamDigest`](super::integrity::StreamDigest)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StreamCheck {
    /// The stream's length in bytes.
    pub bytes: u64,
    /// CRC-32C of the stream.
    pub crc32c: u32,
}

/// One record of a trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Record<'a> {
    /// The sender's session id.
    Session(u64),
    /// The stream's name.
    StreamName(&'a str),
    /// The stream's total size in bytes.
    TotalSize(u64),
    /// One slice's checksum.
    SliceCheck(SliceCheck),
    /// The whole stream's digest.
    StreamDigest(StreamCheck),
    /// A record of a kind this version does not know, kept as bytes.
    Unknown {
        /// Its kind byte (never one of the known kinds).
        kind: u8,
        /// Its value.
        value: &'a [u8],
    },
}

impl Record<'_> {
    /// The record's kind.
    pub const fn kind(&self) -> RecordKind {
        match self {
            Record::Session(_) => RecordKind::Session,
            Record::StreamName(_) => RecordKind::StreamName,
            Record::TotalSize(_) => RecordKind::TotalSize,
            Record::SliceCheck(_) => RecordKind::SliceCheck,
            Record::StreamDigest(_) => RecordKind::StreamDigest,
            Record::Unknown { kind, .. } => RecordKind::Unknown(*kind),
        }
    }
}

/// A stream name as the extension accepts it: 1–255 bytes of UTF-8 without control
/// characters (names are printed on terminals, so escape sequences are refused).
pub(super) fn check_name(bytes: &[u8]) -> Result<&str, TrailerError> {
    if bytes.is_empty() {
        return Err(TrailerError::EmptyName);
    }
    if bytes.len() > MAX_NAME_LEN {
        return Err(TrailerError::NameTooLong(bytes.len()));
    }
    let name = core::str::from_utf8(bytes).map_err(|_| TrailerError::NameNotUtf8)?;
    if name.chars().any(char::is_control) {
        return Err(TrailerError::NameHasControlCharacter);
    }
    Ok(name)
}

/// The first record of `bytes` and the bytes after it, or `None` at the end.
fn next_record(bytes: &[u8]) -> Result<Option<(Record<'_>, &[u8])>, TrailerError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let (header, rest) =
        RecordHeaderLayout::ref_from_prefix(bytes).map_err(|_| TrailerError::Truncated {
            part: TrailerPart::RecordHeader,
            len: bytes.len(),
            needed: RECORD_HEADER_LEN,
        })?;
    let kind = RecordKind::from_u8(header.kind);
    let len = usize::from(header.len.get());
    let (value, rest) = rest.split_at_checked(len).ok_or(TrailerError::Truncated {
        part: TrailerPart::RecordValue(kind),
        len: rest.len(),
        needed: len,
    })?;
    if let Some(expected) = kind.fixed_len() {
        if len != expected {
            return Err(TrailerError::BadRecordLength {
                kind,
                len,
                expected,
            });
        }
    }
    let bad_len = TrailerError::BadRecordLength {
        kind,
        len,
        expected: len,
    };
    let record = match kind {
        RecordKind::Session => {
            Record::Session(U64::read_from_bytes(value).map_err(|_| bad_len)?.get())
        }
        RecordKind::TotalSize => {
            Record::TotalSize(U64::read_from_bytes(value).map_err(|_| bad_len)?.get())
        }
        RecordKind::StreamName => Record::StreamName(check_name(value)?),
        RecordKind::SliceCheck => {
            let layout = SliceCheckLayout::ref_from_bytes(value).map_err(|_| bad_len)?;
            Record::SliceCheck(SliceCheck {
                slice: layout.slice.get(),
                bytes: layout.bytes.get(),
                crc32c: layout.crc32c.get(),
            })
        }
        RecordKind::StreamDigest => {
            let layout = StreamCheckLayout::ref_from_bytes(value).map_err(|_| bad_len)?;
            Record::StreamDigest(StreamCheck {
                bytes: layout.bytes.get(),
                crc32c: layout.crc32c.get(),
            })
        }
        RecordKind::Unknown(kind) => Record::Unknown { kind, value },
    };
    Ok(Some((record, rest)))
}

/// A parsed, fully validated trailer, borrowing from the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Trailer<'a> {
    records: &'a [u8],
    session: Option<u64>,
    name: Option<&'a str>,
    total_size: Option<u64>,
    slice_check: Option<SliceCheck>,
    stream_check: Option<StreamCheck>,
}

impl<'a> Trailer<'a> {
    /// The trailer in `trailing` (the bytes after a message's fixed part, see
    /// [`trailing_bytes`]).
    ///
    /// `Ok(None)` when they do not start with [`MAGIC`]: no trailer (a udpcast peer's
    /// message, or one of ours without extension data). Bytes after the records the header
    /// announces are ignored, as udpcast ignores trailing bytes (PROTOCOL.md §2.11). Every
    /// record is checked here, so [`Trailer::records`] cannot fail.
    pub fn parse(trailing: &'a [u8]) -> Result<Option<Self>, TrailerError> {
        if trailing.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Ok(None);
        }
        let (header, rest) =
            HeaderLayout::ref_from_prefix(trailing).map_err(|_| TrailerError::Truncated {
                part: TrailerPart::Header,
                len: trailing.len(),
                needed: HEADER_LEN,
            })?;
        if header.version != VERSION {
            return Err(TrailerError::UnsupportedVersion(header.version));
        }
        let declared = usize::from(header.records_len.get());
        let records = rest
            .get(..declared)
            .ok_or(TrailerError::RecordsBeyondDatagram {
                declared,
                available: rest.len(),
            })?;
        let mut trailer = Trailer {
            records,
            session: None,
            name: None,
            total_size: None,
            slice_check: None,
            stream_check: None,
        };
        let mut seen = 0u8;
        let mut remaining = records;
        while let Some((record, rest)) = next_record(remaining)? {
            let bit = record.kind().seen_bit();
            if seen & bit != 0 {
                return Err(TrailerError::DuplicateRecord(record.kind()));
            }
            seen |= bit;
            match record {
                Record::Session(id) => trailer.session = Some(id),
                Record::StreamName(name) => trailer.name = Some(name),
                Record::TotalSize(size) => trailer.total_size = Some(size),
                Record::SliceCheck(check) => trailer.slice_check = Some(check),
                Record::StreamDigest(check) => trailer.stream_check = Some(check),
                Record::Unknown { .. } => {}
            }
            remaining = rest;
        }
        Ok(Some(trailer))
    }

    /// Bytes of the trailer on the wire: its header and the records it announces.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.records.len()
    }

    /// The session id, if the trailer carries one.
    pub fn session(&self) -> Option<u64> {
        self.session
    }

    /// The stream name, if the trailer carries one.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// The stream's total size, if the trailer carries it.
    pub fn total_size(&self) -> Option<u64> {
        self.total_size
    }

    /// The slice checksum, if the trailer carries one.
    pub fn slice_check(&self) -> Option<SliceCheck> {
        self.slice_check
    }

    /// The whole-stream digest, if the trailer carries it.
    pub fn stream_check(&self) -> Option<StreamCheck> {
        self.stream_check
    }

    /// Every record in wire order, unknown kinds included.
    pub fn records(&self) -> Records<'a> {
        Records {
            remaining: self.records,
        }
    }
}

/// The records of a [`Trailer`], in wire order.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    remaining: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        // The trailer was validated by `Trailer::parse`; should a record still fail, the
        // iteration ends instead of panicking.
        match next_record(self.remaining) {
            Ok(Some((record, rest))) => {
                self.remaining = rest;
                Some(record)
            }
            Ok(None) | Err(_) => {
                self.remaining = &[];
                None
            }
        }
    }
}

/// Writes a trailer into a caller's buffer: the header, then one record per
/// [`TrailerWriter::push`], then [`TrailerWriter::finish`] fills in the length.
#[derive(Debug)]
pub struct TrailerWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    seen: u8,
}

impl<'b> TrailerWriter<'b> {
    /// Starts a trailer at the beginning of `buf` (typically the bytes right after the
    /// encoded message).
    pub fn new(buf: &'b mut [u8]) -> Result<Self, TrailerEncodeError> {
        let header = HeaderLayout {
            magic: MAGIC,
            version: VERSION,
            flags: 0,
            records_len: U16::ZERO,
        };
        header
            .write_to_prefix(buf)
            .map_err(|_| TrailerEncodeError::BufferTooSmall {
                needed: HEADER_LEN,
                available: buf.len(),
            })?;
        Ok(TrailerWriter {
            buf,
            len: HEADER_LEN,
            seen: 0,
        })
    }

    /// Appends `record`.
    pub fn push(&mut self, record: &Record<'_>) -> Result<&mut Self, TrailerEncodeError> {
        let kind = record.kind();
        if let Record::Unknown { kind, .. } = *record {
            if !matches!(RecordKind::from_u8(kind), RecordKind::Unknown(_)) {
                return Err(TrailerEncodeError::KnownKindAsUnknown(kind));
            }
        }
        if self.seen & kind.seen_bit() != 0 {
            return Err(TrailerEncodeError::Duplicate(kind));
        }
        let mut scratch = [0u8; 16];
        let value: &[u8] = match *record {
            Record::Session(id) | Record::TotalSize(id) => {
                scratch[..8].copy_from_slice(&id.to_be_bytes());
                &scratch[..8]
            }
            Record::StreamName(name) => {
                check_name(name.as_bytes()).map_err(TrailerEncodeError::BadName)?;
                name.as_bytes()
            }
            Record::SliceCheck(check) => {
                let layout = SliceCheckLayout {
                    slice: U32::new(check.slice),
                    bytes: U32::new(check.bytes),
                    crc32c: U32::new(check.crc32c),
                };
                let bytes = layout.as_bytes();
                scratch[..bytes.len()].copy_from_slice(bytes);
                &scratch[..bytes.len()]
            }
            Record::StreamDigest(check) => {
                let layout = StreamCheckLayout {
                    bytes: U64::new(check.bytes),
                    crc32c: U32::new(check.crc32c),
                };
                let bytes = layout.as_bytes();
                scratch[..bytes.len()].copy_from_slice(bytes);
                &scratch[..bytes.len()]
            }
            Record::Unknown { value, .. } => value,
        };
        let value_len =
            u16::try_from(value.len()).map_err(|_| TrailerEncodeError::TooLong(value.len()))?;
        let end = self.len + RECORD_HEADER_LEN + value.len();
        if end - HEADER_LEN > usize::from(u16::MAX) {
            return Err(TrailerEncodeError::TooLong(end - HEADER_LEN));
        }
        let available = self.buf.len();
        let slot = self
            .buf
            .get_mut(self.len..end)
            .ok_or(TrailerEncodeError::BufferTooSmall {
                needed: end,
                available,
            })?;
        let (head, tail) = slot.split_at_mut(RECORD_HEADER_LEN);
        let header = RecordHeaderLayout {
            kind: kind.to_u8(),
            reserved: 0,
            len: U16::new(value_len),
        };
        head.copy_from_slice(header.as_bytes());
        tail.copy_from_slice(value);
        self.len = end;
        self.seen |= kind.seen_bit();
        Ok(self)
    }

    /// Writes the records' length into the header; returns the trailer's whole length.
    pub fn finish(self) -> usize {
        // `push` keeps the records within u16::MAX bytes.
        let records_len = u16::try_from(self.len - HEADER_LEN).unwrap_or(u16::MAX);
        if let Some(field) = self.buf.get_mut(6..HEADER_LEN) {
            field.copy_from_slice(&records_len.to_be_bytes());
        }
        self.len
    }
}
