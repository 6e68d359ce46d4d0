//! The checksums of verified transfers (doc/verified-transfers.md §4): CRC-32C over each
//! slice's data bytes, and a streaming CRC-64/XZ over the whole stream, both from the `crc`
//! crate.

use super::{SliceCheck, StreamCheck};
use core::fmt;
use crc::{Crc, Digest, Table, CRC_32_ISCSI, CRC_64_XZ};

// Slice-by-16 tables (16 KiB + 32 KiB) keep the checksums far below the cost budget of
// issue #11 on hosts; bare-metal targets, where flash is scarce, use one 256-entry table.
#[cfg(not(target_os = "none"))]
type Lanes = Table<16>;
#[cfg(target_os = "none")]
type Lanes = Table<1>;

static SLICE_CRC: Crc<u32, Lanes> = Crc::<u32, Lanes>::new(&CRC_32_ISCSI);
static STREAM_CRC: Crc<u64, Lanes> = Crc::<u64, Lanes>::new(&CRC_64_XZ);

/// CRC-32C (Castagnoli, as iSCSI) of a slice's data bytes.
pub fn slice_checksum(data: &[u8]) -> u32 {
    SLICE_CRC.checksum(data)
}

/// A slice's checksum computed piece by piece (e.g. block by block, or across the wrap of
/// a ring buffer); equal to [`slice_checksum`] of the concatenation.
#[derive(Clone)]
pub struct SliceDigest {
    digest: Digest<'static, u32, Lanes>,
}

impl SliceDigest {
    /// An empty slice's digest.
    pub fn new() -> Self {
        SliceDigest {
            digest: SLICE_CRC.digest(),
        }
    }

    /// Appends `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The checksum of everything appended.
    pub fn finalize(self) -> u32 {
        self.digest.finalize()
    }
}

impl Default for SliceDigest {
    fn default() -> Self {
        SliceDigest::new()
    }
}

impl fmt::Debug for SliceDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SliceDigest").finish_non_exhaustive()
    }
}

/// The whole-stream digest, fed every data byte in order: CRC-64/XZ and the byte count.
#[derive(Clone)]
pub struct StreamDigest {
    digest: Digest<'static, u64, Lanes>,
    bytes: u64,
}

impl StreamDigest {
    /// The digest of an empty stream so far.
    pub fn new() -> Self {
        StreamDigest {
            digest: STREAM_CRC.digest(),
            bytes: 0,
        }
    }

    /// Appends `data` (the next bytes of the stream).
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
        // usize is at most 64 bits on every target, and a stream of 2^64 bytes is not sent.
        self.bytes = self.bytes.wrapping_add(data.len() as u64);
    }

    /// Bytes appended so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of everything appended.
    pub fn finalize(self) -> StreamCheck {
        StreamCheck {
            bytes: self.bytes,
            crc64: self.digest.finalize(),
        }
    }
}

impl Default for StreamDigest {
    fn default() -> Self {
        StreamDigest::new()
    }
}

impl fmt::Debug for StreamDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamDigest")
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// The CRC-64/XZ of a whole stream held in one piece; equal to a [`StreamDigest`] fed the
/// same bytes in any split.
pub fn stream_checksum(data: &[u8]) -> StreamCheck {
    let mut digest = StreamDigest::new();
    digest.update(data);
    digest.finalize()
}

/// Data that does not match the checksum announced for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IntegrityError {
    /// A slice whose length differs from the announced byte count.
    SliceLength {
        /// The slice.
        slice: u32,
        /// Bytes announced.
        expected: u32,
        /// Bytes held.
        actual: usize,
    },
    /// A slice whose CRC-32C differs: it must be asked for again in full.
    SliceChecksum {
        /// The slice.
        slice: u32,
        /// The announced checksum.
        expected: u32,
        /// The checksum of the bytes held.
        actual: u32,
    },
    /// A stream whose length or CRC-64 differs from the announced digest.
    Stream {
        /// The announced digest.
        expected: StreamCheck,
        /// The digest of the bytes received.
        actual: StreamCheck,
    },
}

impl fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IntegrityError::SliceLength {
                slice,
                expected,
                actual,
            } => write!(
                f,
                "slice {slice} holds {actual} bytes, {expected} announced"
            ),
            IntegrityError::SliceChecksum {
                slice,
                expected,
                actual,
            } => write!(
                f,
                "slice {slice} checksum {actual:08x} differs from {expected:08x}"
            ),
            IntegrityError::Stream { expected, actual } => write!(
                f,
                "stream of {} bytes with digest {:016x} differs from {} bytes with {:016x}",
                actual.bytes, actual.crc64, expected.bytes, expected.crc64
            ),
        }
    }
}

impl core::error::Error for IntegrityError {}

impl SliceCheck {
    /// The check the sender announces for slice `slice` holding `data`; `None` if `data`
    /// is longer than a slice's 32-bit byte count.
    pub fn of(slice: u32, data: &[u8]) -> Option<SliceCheck> {
        Some(SliceCheck {
            slice,
            bytes: u32::try_from(data.len()).ok()?,
            crc32c: slice_checksum(data),
        })
    }

    /// Whether `data` is the slice this check announces.
    pub fn verify(&self, data: &[u8]) -> Result<(), IntegrityError> {
        if u32::try_from(data.len()) != Ok(self.bytes) {
            return Err(IntegrityError::SliceLength {
                slice: self.slice,
                expected: self.bytes,
                actual: data.len(),
            });
        }
        let actual = slice_checksum(data);
        if actual != self.crc32c {
            return Err(IntegrityError::SliceChecksum {
                slice: self.slice,
                expected: self.crc32c,
                actual,
            });
        }
        Ok(())
    }
}

impl StreamCheck {
    /// Whether `actual` (the receiver's own digest) matches this announced digest.
    pub fn verify(&self, actual: StreamCheck) -> Result<(), IntegrityError> {
        if actual == *self {
            Ok(())
        } else {
            Err(IntegrityError::Stream {
                expected: *self,
                actual,
            })
        }
    }
}
