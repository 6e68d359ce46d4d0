//! Why a FEC operation was refused.
//!
//! The codec never panics on bad input: every limit of PROTOCOL.md §5.1 and every buffer
//! whose size does not fit the geometry is reported as one of these variants instead, and
//! nothing is written when an argument is rejected.

use core::fmt;

/// Why a FEC operation was refused (see each variant for the limit it enforces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FecError {
    /// The interleave factor must be 1 ..= [`MAX_STRIPES`](super::MAX_STRIPES).
    ///
    /// 0 has no meaning (every block number is taken modulo it); above 256 the C receiver's
    /// per-stripe tables overflow (PROTOCOL.md §5.1).
    Stripes {
        /// The rejected interleave factor.
        stripes: usize,
    },
    /// The redundancy (FEC rows per stripe) must be at most
    /// [`MAX_REDUNDANCY`](super::MAX_REDUNDANCY): a row number r selects the Cauchy point
    /// `0x80 ^ r`, which must stay in the upper half of the field (PROTOCOL.md §5.4).
    Redundancy {
        /// The rejected redundancy.
        redundancy: usize,
    },
    /// The block size must be 1 ..= [`MAX_BLOCK_SIZE`](super::MAX_BLOCK_SIZE).
    BlockSize {
        /// The rejected block size.
        block_size: usize,
    },
    /// A stripe would hold more than [`MAX_STRIPE_BLOCKS`](super::MAX_STRIPE_BLOCKS) data
    /// blocks: the column index j selects the Cauchy point `j`, which must stay in the lower
    /// half of the field (PROTOCOL.md §5.1, §5.4).
    StripeTooLong {
        /// Data blocks the stripe would hold.
        blocks: usize,
    },
    /// A data block is longer than the block size.
    BlockTooLong {
        /// Index of the block (in the slice, or the column in the stripe).
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A FEC payload is not exactly one block long (FEC blocks are always full, §2.7).
    FecPayloadLength {
        /// Position of the payload in the list that was passed in.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// An output buffer does not have the size the geometry requires.
    OutputLength {
        /// The required length in bytes (or entries, for lists of buffers).
        expected: usize,
        /// The length that was passed in.
        actual: usize,
    },
    /// The slice buffer is shorter than the slice's byte count (or, for
    /// [`Decoder::decode_slice_in_place`](super::Decoder::decode_slice_in_place), than its
    /// blocks' cells, every one a full block).
    SliceTooShort {
        /// The bytes the buffer must hold.
        bytes: usize,
        /// The buffer's length.
        actual: usize,
    },
    /// The bitmap of received blocks has fewer bits than the slice has blocks.
    BitmapTooShort {
        /// Bytes the bitmap needs (one bit per data block, §Notation).
        expected: usize,
        /// Bytes that were passed in.
        actual: usize,
    },
    /// Two slices that must have the same length do not.
    LengthMismatch {
        /// Length of the destination.
        dst: usize,
        /// Length of the source.
        src: usize,
    },
    /// A FEC row number is not below [`MAX_REDUNDANCY`](super::MAX_REDUNDANCY) (for a FEC
    /// block number b of a slice with S stripes, the row is b div S, §5.2).
    FecRow {
        /// The rejected row number.
        row: usize,
    },
    /// A stripe misses more data blocks than there are distinct FEC rows for it, so it
    /// cannot be rebuilt (§5.6).
    NotEnoughFec {
        /// The stripe (0 for the single stripe of a stripe-level call).
        stripe: usize,
        /// Data blocks missing in the stripe.
        missing: usize,
        /// Distinct FEC rows available for it.
        available: usize,
    },
    /// The decoding matrix was not invertible. Cannot happen for distinct rows and columns
    /// below 128 (every square sub-matrix of a Cauchy matrix is invertible, §5.4); kept so
    /// that even a broken invariant is an error rather than a panic.
    Singular,
    /// The decoder was built for another block size than the slice geometry uses.
    BlockSizeMismatch {
        /// The decoder's block size.
        decoder: usize,
        /// The geometry's block size.
        geometry: usize,
    },
}

impl fmt::Display for FecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FecError::Stripes { stripes } => {
                write!(f, "stripes must be 1..=256, got {stripes}")
            }
            FecError::Redundancy { redundancy } => {
                write!(f, "redundancy must be at most 128, got {redundancy}")
            }
            FecError::BlockSize { block_size } => {
                write!(f, "block size must be 1..=65535, got {block_size}")
            }
            FecError::StripeTooLong { blocks } => {
                write!(
                    f,
                    "a stripe holds at most 128 data blocks, this one {blocks}"
                )
            }
            FecError::BlockTooLong { index, len } => {
                write!(
                    f,
                    "data block {index} is {len} bytes, longer than the block size"
                )
            }
            FecError::FecPayloadLength { index, len } => {
                write!(f, "FEC payload {index} is {len} bytes, not one full block")
            }
            FecError::OutputLength { expected, actual } => {
                write!(f, "output must be {expected} long, got {actual}")
            }
            FecError::SliceTooShort { bytes, actual } => {
                write!(
                    f,
                    "slice buffer of {actual} bytes cannot hold the slice's {bytes}"
                )
            }
            FecError::BitmapTooShort { expected, actual } => {
                write!(f, "block bitmap needs {expected} bytes, got {actual}")
            }
            FecError::LengthMismatch { dst, src } => {
                write!(f, "destination of {dst} bytes but source of {src}")
            }
            FecError::FecRow { row } => {
                write!(f, "FEC row {row} is out of range (rows are below 128)")
            }
            FecError::NotEnoughFec {
                stripe,
                missing,
                available,
            } => write!(
                f,
                "stripe {stripe} misses {missing} data blocks but has only {available} FEC rows"
            ),
            FecError::Singular => f.write_str("decoding matrix is singular"),
            FecError::BlockSizeMismatch { decoder, geometry } => write!(
                f,
                "decoder block size {decoder} differs from the slice's block size {geometry}"
            ),
        }
    }
}

impl core::error::Error for FecError {}
