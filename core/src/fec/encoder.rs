//! The sender's side: a slice's data blocks in, its `stripes × redundancy` FEC payloads out
//! (PROTOCOL.md §5.2, §5.4, §5.5).

use super::cauchy::{coefficient_unchecked, MAX_COLUMNS};
use super::error::FecError;
use super::geometry::FecConfig;
use super::kernels::Kernel;
use super::{MAX_REDUNDANCY, MAX_STRIPE_BLOCKS};

/// Computes FEC payloads for one FEC configuration with one kernel.
///
/// Row r of a stripe is `FEC_r = Σ_j C[r][j] · D_j` over the stripe's data blocks D_j,
/// each zero-padded to the block size (§5.4, §5.5). The data and output buffers belong to
/// the caller; nothing is allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Encoder {
    config: FecConfig,
    kernel: Kernel,
}

impl Encoder {
    /// An encoder for `config`, computing with `kernel`.
    pub const fn new(config: FecConfig, kernel: Kernel) -> Self {
        Encoder { config, kernel }
    }

    /// The configuration it encodes for.
    pub const fn config(&self) -> FecConfig {
        self.config
    }

    /// The kernel it computes with.
    pub const fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Encodes a whole slice.
    ///
    /// `slice` is the slice's bytes, its blocks back to back (the last one may be short, it
    /// is zero-padded for the computation only, §5.5). `fec` receives every FEC payload of
    /// the slice in wire order: FEC block b = r·S + s at bytes `b·blockSize ..
    /// (b+1)·blockSize`, so its length must be [`FecConfig::fec_len`]. Stripes without data
    /// blocks (slices shorter than S blocks, the zero-byte end slice) get all-zero payloads:
    /// udpcast sends stale buffer contents there, which no receiver ever uses (§5.5).
    ///
    /// Fails, writing nothing, if `fec` has the wrong length or a stripe would hold more
    /// than 128 blocks.
    pub fn encode_slice(&self, slice: &[u8], fec: &mut [u8]) -> Result<(), FecError> {
        let geometry = self.config.slice(slice.len())?;
        if fec.len() != self.config.fec_len() {
            return Err(FecError::OutputLength {
                expected: self.config.fec_len(),
                actual: fec.len(),
            });
        }
        let stripes = self.config.stripes();
        let block_size = self.config.block_size();
        for stripe in 0..stripes {
            let mut data = [&[][..]; MAX_STRIPE_BLOCKS];
            let mut k = 0;
            for (d, block) in data
                .iter_mut()
                .zip(slice.chunks(block_size).skip(stripe).step_by(stripes))
            {
                *d = block;
                k += 1;
            }
            debug_assert_eq!(k, geometry.stripe_blocks(stripe));
            let mut rows: [&mut [u8]; MAX_REDUNDANCY] =
                core::array::from_fn(|_| Default::default());
            let mut r = 0;
            for (row, payload) in rows.iter_mut().zip(
                fec.chunks_exact_mut(block_size)
                    .skip(stripe)
                    .step_by(stripes),
            ) {
                *row = payload;
                r += 1;
            }
            self.encode_columns(&data[..k], &mut rows[..r]);
        }
        Ok(())
    }

    /// Encodes one stripe: `data[j]` is column j of the stripe (at most 128 blocks, each at
    /// most one block long; shorter ones count as zero-padded) and `rows[r]` receives FEC
    /// row r, so there must be exactly `redundancy` rows of exactly one block each.
    ///
    /// This is the entry point for callers that keep blocks in their own layout; it gives
    /// the same bytes as [`encode_slice`](Self::encode_slice) for the same stripe.
    pub fn encode_stripe(&self, data: &[&[u8]], rows: &mut [&mut [u8]]) -> Result<(), FecError> {
        let block_size = self.config.block_size();
        if data.len() > MAX_STRIPE_BLOCKS {
            return Err(FecError::StripeTooLong { blocks: data.len() });
        }
        if let Some((index, d)) = data.iter().enumerate().find(|(_, d)| d.len() > block_size) {
            return Err(FecError::BlockTooLong {
                index,
                len: d.len(),
            });
        }
        if rows.len() != self.config.redundancy() {
            return Err(FecError::OutputLength {
                expected: self.config.redundancy(),
                actual: rows.len(),
            });
        }
        if let Some(row) = rows.iter().find(|r| r.len() != block_size) {
            return Err(FecError::OutputLength {
                expected: block_size,
                actual: row.len(),
            });
        }
        self.encode_columns(data, rows);
        Ok(())
    }

    /// The computation behind both entry points, on checked arguments: at most 128
    /// columns of at most one block, rows of exactly one block, row t = FEC row t.
    fn encode_columns(&self, data: &[&[u8]], rows: &mut [&mut [u8]]) {
        let block_size = self.config.block_size();
        // Full blocks go through one multi-row dot product; a short block (only ever the
        // last block of a slice) is added afterwards over its own length, which is the
        // same as zero-padding it.
        let mut full = [&[][..]; MAX_COLUMNS];
        let mut full_columns = [0usize; MAX_COLUMNS];
        let mut n_full = 0;
        for (j, d) in data
            .iter()
            .enumerate()
            .filter(|(_, d)| d.len() == block_size)
        {
            if let (Some(f), Some(c)) = (full.get_mut(n_full), full_columns.get_mut(n_full)) {
                *f = d;
                *c = j;
                n_full += 1;
            }
        }
        let (full, full_columns) = (&full[..n_full], &full_columns[..n_full]);
        self.kernel.dot(rows, full, block_size, false, |t, jj| {
            coefficient_unchecked(t, full_columns.get(jj).copied().unwrap_or(0))
        });
        for (j, d) in data
            .iter()
            .enumerate()
            .filter(|(_, d)| d.len() < block_size)
        {
            self.kernel.dot(rows, &[d], d.len(), true, |t, _| {
                coefficient_unchecked(t, j)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoder(stripes: usize, redundancy: usize, block_size: usize, kernel: Kernel) -> Encoder {
        Encoder::new(
            FecConfig::new(stripes, redundancy, block_size).unwrap(),
            kernel,
        )
    }

    fn kernels() -> impl Iterator<Item = Kernel> {
        super::super::KernelKind::ALL
            .into_iter()
            .filter_map(Kernel::new)
    }

    /// PROTOCOL.md §5.4: k = 4, r = 2, 4-byte blocks.
    #[test]
    fn worked_example_of_protocol_5_4() {
        let data: [&[u8]; 4] = [
            &[0x01, 0x02, 0x03, 0x04],
            &[0x10, 0x20, 0x30, 0x40],
            &[0xff, 0x00, 0xaa, 0x55],
            &[0x00, 0x00, 0x00, 0x01],
        ];
        for kernel in kernels() {
            let (mut r0, mut r1) = ([0u8; 4], [0u8; 4]);
            encoder(1, 2, 4, kernel)
                .encode_stripe(&data, &mut [&mut r0[..], &mut r1[..]])
                .unwrap();
            assert_eq!(r0, [0x39, 0x64, 0xaf, 0x27], "{kernel:?}");
            assert_eq!(r1, [0x3d, 0xef, 0x65, 0xd5], "{kernel:?}");

            // The same blocks as one slice with a single stripe.
            let mut slice = [0u8; 16];
            for (chunk, d) in slice.chunks_mut(4).zip(data) {
                chunk.copy_from_slice(d);
            }
            let mut fec = [0u8; 8];
            encoder(1, 2, 4, kernel)
                .encode_slice(&slice, &mut fec)
                .unwrap();
            assert_eq!(fec, [0x39, 0x64, 0xaf, 0x27, 0x3d, 0xef, 0x65, 0xd5]);
        }
    }

    #[test]
    fn interleaved_slice_matches_stripe_by_stripe() {
        // 2 stripes, 5 blocks of 3 bytes, the last one 2 bytes long:
        // stripe 0 = blocks 0, 2, 4 (short), stripe 1 = blocks 1, 3.
        let slice: [u8; 14] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        for kernel in kernels() {
            let enc = encoder(2, 2, 3, kernel);
            let mut fec = [0u8; 2 * 2 * 3];
            enc.encode_slice(&slice, &mut fec).unwrap();
            let b = |i: usize| &slice[i * 3..(i * 3 + 3).min(14)];
            let (mut s0r0, mut s0r1, mut s1r0, mut s1r1) = ([0u8; 3], [0u8; 3], [0u8; 3], [0u8; 3]);
            enc.encode_stripe(&[b(0), b(2), b(4)], &mut [&mut s0r0, &mut s0r1])
                .unwrap();
            enc.encode_stripe(&[b(1), b(3)], &mut [&mut s1r0, &mut s1r1])
                .unwrap();
            // Wire order: b = r·S + s.
            assert_eq!(&fec[0..3], &s0r0);
            assert_eq!(&fec[3..6], &s1r0);
            assert_eq!(&fec[6..9], &s0r1);
            assert_eq!(&fec[9..12], &s1r1);
            // Zero-padding the short block gives the same.
            let padded = [slice[12], slice[13], 0];
            let mut p0 = [0u8; 3];
            let mut p1 = [0u8; 3];
            enc.encode_stripe(&[b(0), b(2), &padded], &mut [&mut p0, &mut p1])
                .unwrap();
            assert_eq!((p0, p1), (s0r0, s0r1));
        }
    }

    #[test]
    fn empty_stripes_get_zero_payloads() {
        let enc = encoder(8, 2, 4, Kernel::detect());
        let mut fec = [0xeeu8; 8 * 2 * 4];
        enc.encode_slice(&[1, 2, 3], &mut fec).unwrap();
        for b in 0..16 {
            let payload = &fec[b * 4..b * 4 + 4];
            if b % 8 == 0 {
                assert_ne!(payload, [0; 4], "stripe 0 has data");
            } else {
                assert_eq!(payload, [0; 4], "FEC block {b}");
            }
        }
        enc.encode_slice(&[], &mut fec).unwrap();
        assert!(fec.iter().all(|&b| b == 0));
    }

    #[test]
    fn single_data_block_rows_are_coefficient_multiples() {
        // With one column, FEC row r = C[r][0] · D_0.
        let enc = encoder(1, 3, 2, Kernel::scalar());
        let mut rows = [[0u8; 2]; 3];
        let [a, b, c] = &mut rows;
        enc.encode_stripe(&[&[1, 2]], &mut [a, b, c]).unwrap();
        for (r, row) in rows.iter().enumerate() {
            let c = coefficient_unchecked(r, 0);
            assert_eq!(row, &[c, crate::fec::gf256::mul(c, 2)]);
        }
    }

    #[test]
    fn wrong_output_length_is_an_error() {
        let enc = encoder(8, 8, 1456, Kernel::scalar());
        let mut fec = [0u8; 100];
        assert_eq!(
            enc.encode_slice(&[0; 10], &mut fec),
            Err(FecError::OutputLength {
                expected: 64 * 1456,
                actual: 100
            })
        );
    }

    #[test]
    fn stripe_arguments_are_checked() {
        let enc = encoder(1, 1, 4, Kernel::scalar());
        let mut row = [0u8; 4];
        let long = [0u8; 5];
        assert_eq!(
            enc.encode_stripe(&[&long], &mut [&mut row]),
            Err(FecError::BlockTooLong { index: 0, len: 5 })
        );
        let many = [&[0u8; 4][..]; 129];
        assert_eq!(
            enc.encode_stripe(&many, &mut [&mut row]),
            Err(FecError::StripeTooLong { blocks: 129 })
        );
        assert_eq!(
            enc.encode_stripe(&[], &mut []),
            Err(FecError::OutputLength {
                expected: 1,
                actual: 0
            })
        );
        let mut short = [0u8; 3];
        assert_eq!(
            enc.encode_stripe(&[], &mut [&mut short]),
            Err(FecError::OutputLength {
                expected: 4,
                actual: 3
            })
        );
    }

    #[test]
    fn slices_with_stripes_over_128_blocks_are_refused() {
        let enc = encoder(1, 1, 1, Kernel::scalar());
        let mut fec = [0u8; 1];
        assert_eq!(
            enc.encode_slice(&[0; 129], &mut fec),
            Err(FecError::StripeTooLong { blocks: 129 })
        );
    }
}
