//! Forward error correction, bit-identical to udpcast's (PROTOCOL.md §5).
//!
//! udpcast protects each slice with a systematic Reed–Solomon-style erasure code over
//! GF(2^8): the data blocks are sent as they are, and each of the slice's `S` interleaved
//! stripes gets `redundancy` extra FEC blocks, every one a GF(2^8) linear combination of
//! the stripe's data blocks with Cauchy coefficients. Any k of a stripe's k + redundancy
//! blocks rebuild it.
//!
//! * [`gf256`]: the field (polynomial 0x11D), compile-time tables;
//! * [`cauchy`]: the coefficients `C[r][j] = inv(0x80 ^ r ^ j)`;
//! * [`FecConfig`], [`SliceGeometry`]: stripes, columns, FEC block numbers, limits;
//! * [`Encoder`]: a slice (or one stripe) → its FEC payloads;
//! * [`Decoder`]: a stripe or slice with erasures + FEC payloads → the missing blocks, also
//!   in place for a receiver that keeps each FEC block in the cell of a missing block;
//! * [`Kernel`]: the byte-slice multiply kernels (scalar, SSSE3, AVX2) both run on.
//!
//! Nothing allocates and nothing panics on bad input: every limit is a [`FecError`].
//!
//! ```
//! use udpcast_core::fec::{Decoder, Encoder, FecBlock, FecConfig, Kernel};
//!
//! let config = FecConfig::new(2, 1, 4).unwrap(); // 2 stripes, 1 FEC block each, 4-byte blocks
//! let kernel = Kernel::detect();
//! let slice = *b"abcdefghijklmn"; // 4 blocks, the last one short
//! let mut fec = [0u8; 2 * 1 * 4];
//! Encoder::new(config, kernel).encode_slice(&slice, &mut fec).unwrap();
//!
//! // Blocks 1 (stripe 1) and 2 (stripe 0) are lost.
//! let mut received = slice;
//! received[4..12].fill(0);
//! let (fec0, fec1) = fec.split_at_mut(4);
//! let mut blocks = [FecBlock { number: 0, payload: fec0 }, FecBlock { number: 1, payload: fec1 }];
//! let geometry = config.slice(slice.len()).unwrap();
//! let mut decoder = Decoder::new(4, kernel).unwrap();
//! let n = decoder.decode_slice(&geometry, &mut received, &[0b1001], &mut blocks).unwrap();
//! assert_eq!((n, received), (2, slice));
//! ```

pub mod cauchy;
mod decoder;
mod encoder;
mod error;
mod geometry;
pub mod gf256;
mod kernels;
mod solve;

pub use decoder::{Column, Decoder, FecBlock, FecRow};
pub use encoder::Encoder;
pub use error::FecError;
pub use geometry::{FecConfig, FecPosition, SliceGeometry};
pub use kernels::{Kernel, KernelKind};

/// Most stripes (interleave factor) of a slice: the size of the C receiver's per-stripe
/// tables (PROTOCOL.md §5.1).
pub const MAX_STRIPES: usize = 256;
/// Most FEC rows per stripe: rows index the upper half of the field's Cauchy points (§5.4).
pub const MAX_REDUNDANCY: usize = cauchy::MAX_ROWS;
/// Most data blocks per stripe: columns index the lower half of the Cauchy points (§5.4);
/// udpcast's encoder asserts the same limit (§5.1).
pub const MAX_STRIPE_BLOCKS: usize = cauchy::MAX_COLUMNS;
/// Largest block size: sizes stay within a u16, as every UDP payload does.
pub const MAX_BLOCK_SIZE: usize = u16::MAX as usize;

#[cfg(test)]
mod tests;
