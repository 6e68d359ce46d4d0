//! The checksums of verified transfers (doc/verified-transfers.md §4): CRC-32C over each
//! slice's data bytes, and the CRC-32C of the whole stream, which is not computed again
//! over the bytes but combined from the slices' checksums: every byte is read once.
//!
//! The `crc` crate computes CRC-32C everywhere; on x86-64 CPUs with SSE4.2 the `crc32`
//! instruction does it an order of magnitude faster (`crc32c_x86`), with the crate as the
//! reference it is tested against.

use super::{SliceCheck, StreamCheck};
use core::fmt;
use crc::{Crc, Table, CRC_32_ISCSI};

// Slice-by-16 tables (16 KiB) on hosts; bare-metal targets, where flash is scarce, and
// size-optimised builds use one 256-entry table.
#[cfg(not(any(target_os = "none", feature = "small-tables")))]
type Lanes = Table<16>;
#[cfg(any(target_os = "none", feature = "small-tables"))]
type Lanes = Table<1>;

static SLICE_CRC: Crc<u32, Lanes> = Crc::<u32, Lanes>::new(&CRC_32_ISCSI);

/// CRC-32C (Castagnoli, as iSCSI) of a slice's data bytes.
pub fn slice_checksum(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(sse42) = super::crc32c_x86::Sse42::detect() {
        return sse42.checksum(data);
    }
    portable_checksum(data)
}

/// [`slice_checksum`] by the `crc` crate's tables, whatever the CPU.
pub fn portable_checksum(data: &[u8]) -> u32 {
    SLICE_CRC.checksum(data)
}

/// The reflected CRC-32C polynomial.
const POLY: u32 = 0x82f6_3b78;
/// The polynomial 1 in the reflected representation (the top bit is x⁰).
const ONE: u32 = 1 << 31;

/// a·b modulo the CRC polynomial, both reflected.
fn multiply(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = ONE;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        bit >>= 1;
    }
    product
}

/// x^(8·bytes) modulo the polynomial: what appending `bytes` bytes does to a CRC register.
fn shift_by(bytes: u64) -> u32 {
    let mut result = ONE;
    // x⁸: appending one byte.
    let mut power = ONE >> 8;
    let mut n = bytes;
    while n != 0 {
        if n & 1 != 0 {
            result = multiply(result, power);
        }
        power = multiply(power, power);
        n >>= 1;
    }
    result
}

/// The CRC-32C of A followed by B, from the CRC-32C of A, that of B and B's length (the
/// initial value and final XOR of CRC-32C being equal, they cancel out).
pub fn crc32c_combine(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    multiply(crc_a, shift_by(len_b)) ^ crc_b
}

/// A slice's checksum computed piece by piece (e.g. block by block, or across the wrap of
/// a ring buffer); equal to [`slice_checksum`] of the concatenation.
#[derive(Clone, Debug, Default)]
pub struct SliceDigest {
    crc: u32,
}

impl SliceDigest {
    /// An empty slice's digest.
    pub fn new() -> Self {
        SliceDigest::default()
    }

    /// Appends `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.crc = crc32c_combine(self.crc, slice_checksum(data), data.len() as u64);
    }

    /// The checksum of everything appended.
    pub fn finalize(self) -> u32 {
        self.crc
    }
}

/// The whole-stream digest: the CRC-32C of every data byte in order and their count,
/// combined slice by slice from the slices' own checksums.
#[derive(Clone, Debug, Default)]
pub struct StreamDigest {
    crc: u32,
    bytes: u64,
}

impl StreamDigest {
    /// The digest of an empty stream so far.
    pub fn new() -> Self {
        StreamDigest::default()
    }

    /// Appends the next `bytes` bytes of the stream, whose CRC-32C is `crc32c`.
    pub fn add(&mut self, crc32c: u32, bytes: u64) {
        self.crc = crc32c_combine(self.crc, crc32c, bytes);
        self.bytes = self.bytes.wrapping_add(bytes);
    }

    /// Appends `data` (the next bytes of the stream).
    pub fn update(&mut self, data: &[u8]) {
        // usize is at most 64 bits on every target, and a stream of 2^64 bytes is not sent.
        self.add(slice_checksum(data), data.len() as u64);
    }

    /// Bytes appended so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of everything appended.
    pub fn finalize(self) -> StreamCheck {
        StreamCheck {
            bytes: self.bytes,
            crc32c: self.crc,
        }
    }
}

/// The digest of a whole stream held in one piece; equal to a [`StreamDigest`] fed the
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
                "stream of {} bytes with crc32c {:08x} differs from {} bytes with {:08x}",
                actual.bytes, actual.crc32c, expected.bytes, expected.crc32c
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
