//! Where each block of a slice sits in the FEC code: stripes, columns and FEC block numbers
//! (PROTOCOL.md §5.2), and the limits that keep every index inside the code (§5.1).

use super::error::FecError;
use super::{MAX_BLOCK_SIZE, MAX_REDUNDANCY, MAX_STRIPES, MAX_STRIPE_BLOCKS};

// The FEC block number travels as a u16 (§2.7); the caps on stripes and redundancy
// already keep `stripes × redundancy` far below 65 536, so it can never overflow and needs
// no run-time check.
const _: () = assert!(MAX_STRIPES * MAX_REDUNDANCY <= u16::MAX as usize + 1);

/// Checks an interleave factor against 1 ..= [`MAX_STRIPES`].
pub(crate) const fn check_stripes(stripes: usize) -> Result<(), FecError> {
    if stripes == 0 || stripes > MAX_STRIPES {
        Err(FecError::Stripes { stripes })
    } else {
        Ok(())
    }
}

/// Checks a block size against 1 ..= [`MAX_BLOCK_SIZE`].
pub(crate) const fn check_block_size(block_size: usize) -> Result<(), FecError> {
    if block_size == 0 || block_size > MAX_BLOCK_SIZE {
        Err(FecError::BlockSize { block_size })
    } else {
        Ok(())
    }
}

/// The FEC parameters of a transfer, `--fec SxR` with a block size (§5.1), validated.
///
/// The stripe size (the `/C` part) is not needed here: it only decides how many blocks the
/// sender puts into a slice (§3.5), and [`SliceGeometry`] checks the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecConfig {
    stripes: usize,
    redundancy: usize,
    block_size: usize,
}

impl FecConfig {
    /// `stripes` (1 ..= 256) interleaved stripes with `redundancy` (0 ..= 128) FEC blocks
    /// each, for blocks of `block_size` (1 ..= 65 535) bytes.
    pub const fn new(
        stripes: usize,
        redundancy: usize,
        block_size: usize,
    ) -> Result<Self, FecError> {
        if let Err(e) = check_stripes(stripes) {
            return Err(e);
        }
        if redundancy > MAX_REDUNDANCY {
            return Err(FecError::Redundancy { redundancy });
        }
        if let Err(e) = check_block_size(block_size) {
            return Err(e);
        }
        Ok(FecConfig {
            stripes,
            redundancy,
            block_size,
        })
    }

    /// The interleave factor S.
    pub const fn stripes(&self) -> usize {
        self.stripes
    }

    /// FEC blocks per stripe.
    pub const fn redundancy(&self) -> usize {
        self.redundancy
    }

    /// Bytes per block.
    pub const fn block_size(&self) -> usize {
        self.block_size
    }

    /// FEC blocks sent per slice, `stripes × redundancy` (§5.1); always fits a u16.
    pub const fn fec_blocks(&self) -> usize {
        self.stripes * self.redundancy
    }

    /// Bytes of all FEC payloads of one slice: `stripes × redundancy × block_size`.
    pub const fn fec_len(&self) -> usize {
        self.fec_blocks() * self.block_size
    }

    /// The geometry of a slice of `bytes` bytes under this configuration.
    pub const fn slice(&self, bytes: usize) -> Result<SliceGeometry, FecError> {
        SliceGeometry::new(bytes, self.block_size, self.stripes)
    }
}

/// Position of a FEC block in its slice: FEC block number `b = row × S + stripe` (§5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecPosition {
    /// The row r = b div S (which coefficients the block was made with).
    pub row: usize,
    /// The stripe s = b mod S (which data blocks it covers).
    pub stripe: usize,
}

/// The FEC layout of one slice: its byte count, block size and interleave factor, checked
/// against the limits of §5.1.
///
/// Data block i belongs to stripe `i mod S` as column `i div S`; stripe s holds
/// `ceil((n − s) / S)` of the slice's n blocks (§5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SliceGeometry {
    bytes: usize,
    block_size: usize,
    stripes: usize,
    blocks: usize,
}

impl SliceGeometry {
    /// A slice of `bytes` bytes cut into blocks of `block_size` bytes (the last one may be
    /// short) and interleaved over `stripes` stripes. Fails if a stripe would get more than
    /// 128 data blocks.
    pub const fn new(bytes: usize, block_size: usize, stripes: usize) -> Result<Self, FecError> {
        if let Err(e) = check_stripes(stripes) {
            return Err(e);
        }
        if let Err(e) = check_block_size(block_size) {
            return Err(e);
        }
        let blocks = bytes.div_ceil(block_size);
        // Stripe 0 is always the longest one.
        let longest = blocks.div_ceil(stripes);
        if longest > MAX_STRIPE_BLOCKS {
            return Err(FecError::StripeTooLong { blocks: longest });
        }
        Ok(SliceGeometry {
            bytes,
            block_size,
            stripes,
            blocks,
        })
    }

    /// Bytes in the slice (the `bytes` field of its DATA and FEC headers).
    pub const fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes per block.
    pub const fn block_size(&self) -> usize {
        self.block_size
    }

    /// The interleave factor S.
    pub const fn stripes(&self) -> usize {
        self.stripes
    }

    /// Data blocks in the slice, n = ceil(bytes / block_size).
    pub const fn blocks(&self) -> usize {
        self.blocks
    }

    /// The stripe data block `block` belongs to, `block mod S`.
    pub const fn stripe_of(&self, block: usize) -> usize {
        block % self.stripes
    }

    /// The column of data block `block` within its stripe, `block div S`.
    pub const fn column_of(&self, block: usize) -> usize {
        block / self.stripes
    }

    /// The slice block index of column `column` of stripe `stripe`, `column × S + stripe`
    /// (not necessarily below [`blocks`](Self::blocks); saturates instead of overflowing).
    pub const fn block_at(&self, stripe: usize, column: usize) -> usize {
        column.saturating_mul(self.stripes).saturating_add(stripe)
    }

    /// Data blocks in stripe `stripe`, k_s = ceil((n − s) / S), 0 for s ≥ n.
    pub const fn stripe_blocks(&self, stripe: usize) -> usize {
        if stripe >= self.stripes {
            return 0;
        }
        self.blocks.saturating_sub(stripe).div_ceil(self.stripes)
    }

    /// Length of data block `block`: the block size, less for a short last block, 0 past
    /// the end of the slice.
    pub const fn block_len(&self, block: usize) -> usize {
        let start = block.saturating_mul(self.block_size);
        if start >= self.bytes {
            0
        } else if self.bytes - start < self.block_size {
            self.bytes - start
        } else {
            self.block_size
        }
    }

    /// FEC block number of row `row` of stripe `stripe`, `row × S + stripe`, or `None`
    /// unless `row < 128` and `stripe < S`.
    pub const fn fec_block(&self, row: usize, stripe: usize) -> Option<u16> {
        if row >= MAX_REDUNDANCY || stripe >= self.stripes {
            return None;
        }
        // At most 127 × 256 + 255 < 65 536 (see the assertion at the top).
        Some((row * self.stripes + stripe) as u16)
    }

    /// Row and stripe of FEC block number `number` (§5.2). The row may be 128 or more for
    /// a number no sender produces; the decoder rejects such rows.
    pub const fn fec_position(&self, number: u16) -> FecPosition {
        let number = number as usize;
        FecPosition {
            row: number / self.stripes,
            stripe: number % self.stripes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_block_i_is_column_i_div_s_of_stripe_i_mod_s() {
        let g = SliceGeometry::new(16 * 1456, 1456, 8).unwrap();
        assert_eq!(g.blocks(), 16);
        assert_eq!((g.stripe_of(0), g.column_of(0)), (0, 0));
        assert_eq!((g.stripe_of(9), g.column_of(9)), (1, 1));
        assert_eq!((g.stripe_of(15), g.column_of(15)), (7, 1));
        assert_eq!(g.block_at(7, 1), 15);
    }

    #[test]
    fn stripe_s_holds_ceil_n_minus_s_over_s_blocks() {
        // 10 blocks over 4 stripes: 3, 3, 2, 2.
        let g = SliceGeometry::new(9 * 100 + 1, 100, 4).unwrap();
        assert_eq!(g.blocks(), 10);
        let k: [usize; 5] = core::array::from_fn(|s| g.stripe_blocks(s));
        assert_eq!(k, [3, 3, 2, 2, 0]);
    }

    #[test]
    fn stripes_beyond_the_blocks_are_empty() {
        let g = SliceGeometry::new(992, 1456, 8).unwrap();
        assert_eq!(g.blocks(), 1);
        assert_eq!(g.stripe_blocks(0), 1);
        assert_eq!(g.stripe_blocks(1), 0);
        let end = SliceGeometry::new(0, 1456, 8).unwrap();
        assert_eq!(end.blocks(), 0);
        assert_eq!(end.stripe_blocks(0), 0);
    }

    #[test]
    fn only_the_last_block_may_be_short() {
        let g = SliceGeometry::new(2 * 1456 + 992, 1456, 8).unwrap();
        assert_eq!(g.block_len(0), 1456);
        assert_eq!(g.block_len(1), 1456);
        assert_eq!(g.block_len(2), 992);
        assert_eq!(g.block_len(3), 0);
        assert_eq!(g.block_len(usize::MAX), 0);
    }

    #[test]
    fn fec_block_number_is_row_times_stripes_plus_stripe() {
        let g = SliceGeometry::new(1456, 1456, 8).unwrap();
        assert_eq!(g.fec_block(0, 0), Some(0));
        assert_eq!(g.fec_block(1, 3), Some(11));
        assert_eq!(g.fec_position(11), FecPosition { row: 1, stripe: 3 });
        assert_eq!(g.fec_block(128, 0), None);
        assert_eq!(g.fec_block(0, 8), None);
        let widest = SliceGeometry::new(0, 1, 256).unwrap();
        assert_eq!(widest.fec_block(127, 255), Some(32767));
    }

    #[test]
    fn a_stripe_holds_at_most_128_blocks() {
        assert!(SliceGeometry::new(1024 * 1456, 1456, 8).is_ok());
        assert_eq!(
            SliceGeometry::new(1024 * 1456 + 1, 1456, 8),
            Err(FecError::StripeTooLong { blocks: 129 })
        );
        assert_eq!(
            SliceGeometry::new(129, 1, 1),
            Err(FecError::StripeTooLong { blocks: 129 })
        );
        assert_eq!(
            SliceGeometry::new(usize::MAX, 1, 256),
            Err(FecError::StripeTooLong {
                blocks: usize::MAX.div_ceil(256)
            })
        );
    }

    #[test]
    fn stripes_are_1_to_256() {
        assert_eq!(
            SliceGeometry::new(0, 1456, 0),
            Err(FecError::Stripes { stripes: 0 })
        );
        assert_eq!(
            FecConfig::new(257, 1, 1456),
            Err(FecError::Stripes { stripes: 257 })
        );
        assert!(FecConfig::new(256, 128, 1456).is_ok());
    }

    #[test]
    fn redundancy_is_at_most_128() {
        assert_eq!(
            FecConfig::new(8, 129, 1456),
            Err(FecError::Redundancy { redundancy: 129 })
        );
        assert_eq!(FecConfig::new(8, 0, 1456).unwrap().fec_blocks(), 0);
    }

    #[test]
    fn block_size_is_1_to_65535() {
        assert_eq!(
            FecConfig::new(8, 8, 0),
            Err(FecError::BlockSize { block_size: 0 })
        );
        assert_eq!(
            FecConfig::new(8, 8, 65536),
            Err(FecError::BlockSize { block_size: 65536 })
        );
        let c = FecConfig::new(8, 8, 65535).unwrap();
        assert_eq!(c.fec_len(), 64 * 65535);
    }
}
