//! Round trips through [`Encoder`] and [`Decoder`]: any `redundancy` erasures per stripe
//! are rebuilt exactly (PROTOCOL.md §5.4, §5.6), with every kernel.

use super::*;

/// splitmix64: a tiny deterministic generator for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

fn kernels() -> impl Iterator<Item = Kernel> {
    KernelKind::ALL.into_iter().filter_map(Kernel::new)
}

const BS: usize = 24;
const MAX_BLOCKS: usize = 64;
const MAX_FEC: usize = 64;

/// Encodes a random slice of `bytes` bytes (block size 24), erases up to `redundancy`
/// blocks per stripe at random, hands the decoder a random subset of FEC blocks that is
/// just large enough (shuffled, with a duplicate), and checks the slice comes back whole.
fn round_trip(kernel: Kernel, rng: &mut Rng, stripes: usize, redundancy: usize, bytes: usize) {
    let config = FecConfig::new(stripes, redundancy, BS).unwrap();
    let geometry = config.slice(bytes).unwrap();
    let mut original = [0u8; MAX_BLOCKS * BS];
    rng.fill(&mut original[..bytes]);
    let original = &original[..bytes];
    let mut fec = [0u8; MAX_FEC * BS];
    let fec = &mut fec[..config.fec_len()];
    Encoder::new(config, kernel)
        .encode_slice(original, fec)
        .unwrap();

    // Erase, per stripe, a random number (≤ redundancy) of random blocks.
    let mut received = [0xffu8; MAX_BLOCKS / 8];
    let mut erased_per_stripe = [0usize; 16];
    let mut slice = [0u8; MAX_BLOCKS * BS];
    slice[..bytes].copy_from_slice(original);
    for (stripe, erased) in erased_per_stripe[..stripes].iter_mut().enumerate() {
        let k = geometry.stripe_blocks(stripe);
        let mut columns: [usize; MAX_BLOCKS] = core::array::from_fn(|j| j);
        rng.shuffle(&mut columns[..k]);
        let erase = rng.below(redundancy.min(k) + 1);
        for &j in &columns[..erase] {
            let i = geometry.block_at(stripe, j);
            received[i / 8] &= !(1 << (i % 8));
            let start = i * BS;
            let end = (start + BS).min(bytes);
            rng.fill(&mut slice[start..end]); // garbage where the block is missing
        }
        *erased = erase;
    }

    // Offer, per stripe, `erased` distinct random rows, one of them twice.
    let mut blocks: [FecBlock<'_>; MAX_FEC + 16] = core::array::from_fn(|_| FecBlock {
        number: 0,
        payload: Default::default(),
    });
    let mut payloads = [[0u8; BS]; MAX_FEC + 16];
    let mut numbers = [0u16; MAX_FEC + 16];
    let mut n = 0;
    for (stripe, &erased) in erased_per_stripe[..stripes].iter().enumerate() {
        let mut rows: [usize; 16] = core::array::from_fn(|r| r);
        rng.shuffle(&mut rows[..redundancy]);
        for (pick, &r) in rows[..erased].iter().enumerate() {
            let b = geometry.fec_block(r, stripe).unwrap();
            let copies = if pick == 0 { 2 } else { 1 };
            for _ in 0..copies {
                let start = b as usize * BS;
                payloads[n].copy_from_slice(&fec[start..start + BS]);
                numbers[n] = b;
                n += 1;
            }
        }
    }
    for ((block, payload), &number) in blocks.iter_mut().zip(payloads.iter_mut()).zip(&numbers) {
        *block = FecBlock { number, payload };
    }
    rng.shuffle(&mut blocks[..n]);

    let mut decoder = Decoder::new(BS, kernel).unwrap();
    let recovered = decoder
        .decode_slice(&geometry, &mut slice, &received, &mut blocks[..n])
        .unwrap();
    let erased: usize = erased_per_stripe[..stripes].iter().sum();
    assert_eq!(recovered, erased);
    assert_eq!(
        &slice[..bytes],
        original,
        "{kernel:?} S={stripes} R={redundancy} bytes={bytes}"
    );
}

#[test]
fn any_redundancy_erasures_per_stripe_are_rebuilt() {
    let mut rng = Rng(7);
    for kernel in kernels() {
        for (stripes, redundancy) in [(1, 1), (1, 4), (2, 2), (4, 2), (8, 8), (3, 5)] {
            for bytes in [
                0,
                1,
                BS - 1,
                BS,
                BS + 1,
                5 * BS + 7,
                16 * BS,
                64 * BS - 3,
                64 * BS,
            ] {
                if stripes * redundancy <= MAX_FEC && bytes.div_ceil(BS).div_ceil(stripes) <= 128 {
                    for _ in 0..3 {
                        round_trip(kernel, &mut rng, stripes, redundancy, bytes);
                    }
                }
            }
        }
    }
}

/// PROTOCOL.md §5.4's example, decoded: D1 and D3 lost, rebuilt from both FEC rows.
#[test]
fn worked_example_of_protocol_5_4_decodes() {
    for kernel in kernels() {
        let d0 = [0x01, 0x02, 0x03, 0x04];
        let d2 = [0xff, 0x00, 0xaa, 0x55];
        let (mut d1, mut d3) = ([0u8; 4], [0u8; 4]);
        let mut f0 = [0x39, 0x64, 0xaf, 0x27];
        let mut f1 = [0x3d, 0xef, 0x65, 0xd5];
        let mut decoder = Decoder::new(4, kernel).unwrap();
        let n = decoder
            .decode_stripe(
                &mut [
                    Column::Present(&d0),
                    Column::Missing(&mut d1),
                    Column::Present(&d2),
                    Column::Missing(&mut d3),
                ],
                &mut [
                    FecRow {
                        row: 1,
                        payload: &mut f1,
                    },
                    FecRow {
                        row: 0,
                        payload: &mut f0,
                    },
                ],
            )
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(d1, [0x10, 0x20, 0x30, 0x40], "{kernel:?}");
        assert_eq!(d3, [0x00, 0x00, 0x00, 0x01], "{kernel:?}");
    }
}

/// The largest system there is: 128 columns, all missing, 128 FEC rows (a 128 × 128
/// inverse), with a short last column.
#[test]
fn a_full_stripe_is_rebuilt_from_128_fec_rows() {
    const B: usize = 20;
    let mut rng = Rng(9);
    let mut data = [[0u8; B]; 128];
    for d in data.iter_mut() {
        rng.fill(d);
    }
    data[127][13..].fill(0);
    for kernel in kernels() {
        let config = FecConfig::new(1, 128, B).unwrap();
        let sources: [&[u8]; 128] = core::array::from_fn(|j| {
            if j == 127 {
                &data[j][..13]
            } else {
                &data[j][..]
            }
        });
        let mut fec = [[0u8; B]; 128];
        let mut rows: [&mut [u8]; 128] = core::array::from_fn(|_| Default::default());
        for (r, f) in rows.iter_mut().zip(fec.iter_mut()) {
            *r = f;
        }
        Encoder::new(config, kernel)
            .encode_stripe(&sources, &mut rows)
            .unwrap();

        let mut out = [[0xa5u8; B]; 128];
        let mut columns: [Column<'_>; 128] = core::array::from_fn(|_| Column::Present(&[]));
        for (j, (c, o)) in columns.iter_mut().zip(out.iter_mut()).enumerate() {
            *c = Column::Missing(if j == 127 { &mut o[..13] } else { &mut o[..] });
        }
        let mut fec_rows: [FecRow<'_>; 128] = core::array::from_fn(|_| FecRow {
            row: 0,
            payload: Default::default(),
        });
        for (r, (fr, f)) in fec_rows.iter_mut().zip(fec.iter_mut()).enumerate() {
            *fr = FecRow { row: r, payload: f };
        }
        rng.shuffle(&mut fec_rows);
        let mut decoder = Decoder::new(B, kernel).unwrap();
        assert_eq!(decoder.decode_stripe(&mut columns, &mut fec_rows), Ok(128));
        assert_eq!(out[..127], data[..127], "{kernel:?}");
        assert_eq!(out[127][..13], data[127][..13]);
        assert_eq!(
            out[127][13..],
            [0xa5; B - 13],
            "bytes past a short column untouched"
        );
    }
}

#[test]
fn every_kernel_decodes_to_the_same_bytes_with_high_rows() {
    // Rows near 127 and columns near 127 use the far corner of the Cauchy matrix.
    const B: usize = 37;
    let mut rng = Rng(11);
    let mut data = [[0u8; B]; 128];
    for d in data.iter_mut() {
        rng.fill(d);
    }
    let config = FecConfig::new(1, 128, B).unwrap();
    let sources: [&[u8]; 128] = core::array::from_fn(|j| &data[j][..]);
    let mut fec = [[0u8; B]; 128];
    let mut rows: [&mut [u8]; 128] = core::array::from_fn(|_| Default::default());
    for (r, f) in rows.iter_mut().zip(fec.iter_mut()) {
        *r = f;
    }
    Encoder::new(config, Kernel::scalar())
        .encode_stripe(&sources, &mut rows)
        .unwrap();
    for kernel in kernels() {
        let mut out = [[0u8; B]; 3];
        let [o0, o1, o2] = &mut out;
        let mut columns: [Column<'_>; 128] =
            core::array::from_fn(|j| Column::Present(&data[j][..]));
        columns[0] = Column::Missing(o0);
        columns[100] = Column::Missing(o1);
        columns[127] = Column::Missing(o2);
        let (mut f125, mut f126, mut f127) = (fec[125], fec[126], fec[127]);
        let mut decoder = Decoder::new(B, kernel).unwrap();
        let n = decoder
            .decode_stripe(
                &mut columns,
                &mut [
                    FecRow {
                        row: 127,
                        payload: &mut f127,
                    },
                    FecRow {
                        row: 125,
                        payload: &mut f125,
                    },
                    FecRow {
                        row: 126,
                        payload: &mut f126,
                    },
                ],
            )
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(out, [data[0], data[100], data[127]], "{kernel:?}");
    }
}

#[test]
fn a_complete_stripe_needs_no_fec() {
    let mut decoder = Decoder::new(4, Kernel::detect()).unwrap();
    let d = [1u8; 4];
    assert_eq!(
        decoder.decode_stripe(&mut [Column::Present(&d)], &mut []),
        Ok(0)
    );
}

#[test]
fn too_few_distinct_rows_is_an_error_that_changes_nothing() {
    let mut decoder = Decoder::new(4, Kernel::detect()).unwrap();
    let d0 = [1u8; 4];
    let (mut d1, mut d2) = ([9u8; 4], [9u8; 4]);
    let (mut f0, mut f0_again) = ([5u8; 4], [5u8; 4]);
    let result = decoder.decode_stripe(
        &mut [
            Column::Present(&d0),
            Column::Missing(&mut d1),
            Column::Missing(&mut d2),
        ],
        &mut [
            FecRow {
                row: 0,
                payload: &mut f0,
            },
            FecRow {
                row: 0,
                payload: &mut f0_again,
            },
        ],
    );
    assert_eq!(
        result,
        Err(FecError::NotEnoughFec {
            stripe: 0,
            missing: 2,
            available: 1
        })
    );
    assert_eq!((d1, d2, f0, f0_again), ([9; 4], [9; 4], [5; 4], [5; 4]));
}

#[test]
fn stripe_arguments_are_checked() {
    let mut decoder = Decoder::new(4, Kernel::scalar()).unwrap();
    let long = [0u8; 5];
    let mut f = [0u8; 4];
    assert_eq!(
        decoder.decode_stripe(&mut [Column::Present(&long)], &mut []),
        Err(FecError::BlockTooLong { index: 0, len: 5 })
    );
    assert_eq!(
        decoder.decode_stripe(
            &mut [],
            &mut [FecRow {
                row: 128,
                payload: &mut f
            }]
        ),
        Err(FecError::FecRow { row: 128 })
    );
    let mut short = [0u8; 3];
    assert_eq!(
        decoder.decode_stripe(
            &mut [],
            &mut [FecRow {
                row: 0,
                payload: &mut short
            }]
        ),
        Err(FecError::FecPayloadLength { index: 0, len: 3 })
    );
    let mut columns: [Column<'_>; 129] = core::array::from_fn(|_| Column::Present(&[]));
    assert_eq!(
        decoder.decode_stripe(&mut columns, &mut []),
        Err(FecError::StripeTooLong { blocks: 129 })
    );
    assert_eq!(
        Decoder::new(0, Kernel::scalar()).map(|_| ()),
        Err(FecError::BlockSize { block_size: 0 })
    );
}

#[test]
fn slice_arguments_are_checked() {
    let mut decoder = Decoder::new(4, Kernel::scalar()).unwrap();
    let geometry = SliceGeometry::new(20, 4, 2).unwrap(); // 5 blocks
    let mut slice = [0u8; 20];
    let mut f = [0u8; 4];
    assert_eq!(
        decoder.decode_slice(&geometry, &mut slice[..19], &[0xff], &mut []),
        Err(FecError::SliceTooShort {
            bytes: 20,
            actual: 19
        })
    );
    assert_eq!(
        decoder.decode_slice(&geometry, &mut slice, &[], &mut []),
        Err(FecError::BitmapTooShort {
            expected: 1,
            actual: 0
        })
    );
    assert_eq!(
        decoder.decode_slice(
            &geometry,
            &mut slice,
            &[0xff],
            &mut [FecBlock {
                number: 256,
                payload: &mut f
            }]
        ),
        Err(FecError::FecRow { row: 128 })
    );
    // Block 3 (stripe 1) missing, only a FEC block of stripe 0 at hand.
    assert_eq!(
        decoder.decode_slice(
            &geometry,
            &mut slice,
            &[0b1_0111],
            &mut [FecBlock {
                number: 0,
                payload: &mut f
            }]
        ),
        Err(FecError::NotEnoughFec {
            stripe: 1,
            missing: 1,
            available: 0
        })
    );
    let other = SliceGeometry::new(20, 5, 2).unwrap();
    assert_eq!(
        decoder.decode_slice(&other, &mut slice, &[0xff], &mut []),
        Err(FecError::BlockSizeMismatch {
            decoder: 4,
            geometry: 5
        })
    );
    // Nothing missing: nothing to do, whatever FEC is offered.
    assert_eq!(
        decoder.decode_slice(
            &geometry,
            &mut slice,
            &[0b1_1111],
            &mut [FecBlock {
                number: 3,
                payload: &mut f
            }]
        ),
        Ok(0)
    );
}

// In-place decoding: FEC blocks stored in the cells of the missing data blocks.

/// Largest slice (cells) and FEC area the in-place tests build, on the stack.
const IN_PLACE_CAP: usize = 96 * 1024;

/// Encodes a random slice of `bytes` bytes (blocks of `bs`), then, in every stripe, puts
/// the FEC blocks of `erase(stripe)` random distinct rows below `redundancy` into as many
/// random cells of the stripe (`None`: a random count up to `redundancy`), and checks that
/// [`Decoder::decode_slice_in_place`] gives the slice back (a rebuilt short last block
/// followed by zeros, a present one with its cell's tail untouched) without touching the
/// bytes past the cells.
#[allow(clippy::too_many_arguments)]
fn in_place_round_trip(
    kernel: Kernel,
    rng: &mut Rng,
    stripes: usize,
    redundancy: usize,
    bs: usize,
    bytes: usize,
    erase: Option<usize>,
) {
    let config = FecConfig::new(stripes, redundancy, bs).unwrap();
    let geometry = config.slice(bytes).unwrap();
    let blocks = geometry.blocks();
    let cells_len = blocks * bs;
    assert!(cells_len + 8 <= IN_PLACE_CAP && config.fec_len() <= IN_PLACE_CAP);
    let mut original = [0u8; IN_PLACE_CAP];
    rng.fill(&mut original[..bytes]);
    let mut fec = [0u8; IN_PLACE_CAP];
    Encoder::new(config, Kernel::scalar())
        .encode_slice(&original[..bytes], &mut fec[..config.fec_len()])
        .unwrap();

    let mut cells = [0u8; IN_PLACE_CAP];
    cells[..bytes].copy_from_slice(&original[..bytes]);
    cells[cells_len..cells_len + 8].fill(0x5a); // past the cells: must stay
    let mut row_at = [None; 1024];
    let mut erased = 0;
    for stripe in 0..stripes {
        let k = geometry.stripe_blocks(stripe);
        let most = redundancy.min(k);
        let e = erase.map_or_else(|| rng.below(most + 1), |e| e.min(most));
        let mut columns: [usize; 128] = core::array::from_fn(|j| j);
        rng.shuffle(&mut columns[..k]);
        let mut rows: [usize; 128] = core::array::from_fn(|r| r);
        rng.shuffle(&mut rows[..redundancy]);
        for (&j, &r) in columns[..e].iter().zip(&rows[..e]) {
            let i = geometry.block_at(stripe, j);
            let b = usize::from(geometry.fec_block(r, stripe).unwrap());
            cells[i * bs..(i + 1) * bs].copy_from_slice(&fec[b * bs..(b + 1) * bs]);
            row_at[i] = Some(r as u8);
        }
        erased += e;
    }
    // A present short last block counts as zero-padded whatever follows it in its cell.
    let last_present = blocks > 0 && row_at[blocks - 1].is_none();
    let padding = if last_present { 0xee } else { 0 };
    if last_present {
        cells[bytes..cells_len].fill(padding);
    }

    let mut decoder = Decoder::new(bs, kernel).unwrap();
    let n = decoder
        .decode_slice_in_place(&geometry, &mut cells[..cells_len + 8], |i| row_at[i])
        .unwrap();
    // Assertion messages through core::fmt: no std, no allocation, even in tests.
    macro_rules! what {
        () => {
            format_args!("{kernel:?} S={stripes} R={redundancy} bs={bs} bytes={bytes}")
        };
    }
    assert_eq!(n, erased, "{}", what!());
    assert!(cells[..bytes] == original[..bytes], "{}", what!());
    assert!(
        cells[bytes..cells_len].iter().all(|&b| b == padding),
        "{}",
        what!()
    );
    assert_eq!(cells[cells_len..cells_len + 8], [0x5a; 8], "{}", what!());
}

#[test]
fn in_place_rebuilds_random_erasures_with_every_kernel() {
    let mut rng = Rng(21);
    for kernel in kernels() {
        for stripes in 1..=8 {
            for (k, redundancy) in [(1, 1), (3, 2), (5, 8), (17, 4), (40, 16), (128, 8)] {
                let bs = [24, 37, 64][rng.below(3)];
                let full = stripes * k * bs;
                for bytes in [full, full - 1 - rng.below(bs - 1), full - bs + 1] {
                    for erase in [None, Some(redundancy)] {
                        in_place_round_trip(
                            kernel, &mut rng, stripes, redundancy, bs, bytes, erase,
                        );
                    }
                }
            }
        }
        // Receiver-sized blocks: up to 11 erasures per stripe are copied next to the
        // matrix, more are solved in place.
        for stripes in 1..=3 {
            let full = stripes * 20 * 1456;
            for bytes in [full, full - 1 - rng.below(1455)] {
                for erase in [None, Some(11), Some(12), Some(16)] {
                    in_place_round_trip(kernel, &mut rng, stripes, 16, 1456, bytes, erase);
                }
            }
        }
    }
}

/// Both ways of step 3: copying the FEC blocks next to the matrix (e² + e·bs ≤ 16 KiB)
/// and solving in place through L·U (beyond), for small and large e, with e a multiple of
/// the kernel's eight-row groups or not.
#[test]
fn in_place_copies_or_solves_in_place_for_any_e() {
    let mut rng = Rng(22);
    for kernel in kernels() {
        // (stripes, redundancy, block size, bytes, erasures per stripe)
        for (stripes, redundancy, bs, bytes, erase) in [
            (8, 8, 1456, 32 * 1456, 4),           // copy
            (1, 11, 1456, 40 * 1456 - 3, 11),     // copy, the most at 1456 bytes
            (1, 12, 1456, 40 * 1456 - 3, 12),     // L·U, the fewest at 1456 bytes
            (2, 16, 1456, 2 * 15 * 1456 - 9, 13), // L·U, groups of 8 and 5
            (1, 5, 16384, 5 * 16384, 5),          // L·U already for e = 1
            (1, 64, 300, 100 * 300 - 7, 64),      // L·U, eight full groups
            (1, 128, 37, 128 * 37, 128),          // L·U, nothing present
            (1, 128, 100, 128 * 100 - 51, 120),   // L·U, short last block
            (1, 120, 64, 127 * 64 - 1, 96),       // copy, large e
        ] {
            in_place_round_trip(
                kernel,
                &mut rng,
                stripes,
                redundancy,
                bs,
                bytes,
                Some(erase),
            );
        }
        for e in 1..=5 {
            in_place_round_trip(kernel, &mut rng, 1, 5, 16384, 5 * 16384 - 1, Some(e));
        }
    }
}

#[test]
fn in_place_decoding_of_a_whole_slice_is_a_no_op() {
    let geometry = SliceGeometry::new(10 * 8 - 3, 8, 3).unwrap();
    let mut decoder = Decoder::new(8, Kernel::detect()).unwrap();
    let mut cells = [7u8; 80];
    assert_eq!(
        decoder.decode_slice_in_place(&geometry, &mut cells, |_| None),
        Ok(0)
    );
    assert_eq!(cells, [7; 80]);
    let empty = SliceGeometry::new(0, 8, 3).unwrap();
    assert_eq!(
        decoder.decode_slice_in_place(&empty, &mut [], |_| Some(0)),
        Ok(0)
    );
}

#[test]
fn in_place_arguments_are_checked_and_nothing_changes() {
    let mut decoder = Decoder::new(4, Kernel::detect()).unwrap();
    let geometry = SliceGeometry::new(18, 4, 2).unwrap(); // 5 blocks, the last one short
    let mut cells = [3u8; 20];
    assert_eq!(
        decoder.decode_slice_in_place(&geometry, &mut cells[..19], |_| None),
        Err(FecError::SliceTooShort {
            bytes: 20,
            actual: 19
        })
    );
    let other = SliceGeometry::new(20, 5, 2).unwrap();
    assert_eq!(
        decoder.decode_slice_in_place(&other, &mut cells, |_| None),
        Err(FecError::BlockSizeMismatch {
            decoder: 4,
            geometry: 5
        })
    );
    // Stripe 0 could be decoded, but stripe 1 holds row 128: nothing is touched.
    assert_eq!(
        decoder.decode_slice_in_place(&geometry, &mut cells, |i| match i {
            0 => Some(0),
            3 => Some(128),
            _ => None,
        }),
        Err(FecError::FecRow { row: 128 })
    );
    assert_eq!(
        decoder.decode_slice_in_place(&geometry, &mut cells, |i| (i == 1).then_some(255)),
        Err(FecError::FecRow { row: 255 })
    );
    // Stripe 1 is fine, stripe 0 holds row 2 twice.
    assert_eq!(
        decoder.decode_slice_in_place(&geometry, &mut cells, |i| match i {
            0 | 4 => Some(2),
            1 => Some(0),
            _ => None,
        }),
        Err(FecError::NotEnoughFec {
            stripe: 0,
            missing: 2,
            available: 1
        })
    );
    assert_eq!(cells, [3; 20]);
}

/// A `fec_row_at` that changes its answers is an error, never a panic.
#[test]
fn in_place_survives_an_inconsistent_row_map() {
    use core::cell::Cell;
    let geometry = SliceGeometry::new(16, 4, 1).unwrap();
    for kernel in kernels() {
        let mut decoder = Decoder::new(4, kernel).unwrap();
        for second in [Some(200), Some(1), None] {
            let calls = Cell::new(0);
            let mut cells = [9u8; 16];
            let result = decoder.decode_slice_in_place(&geometry, &mut cells, |i| {
                calls.set(calls.get() + 1);
                match (i, calls.get() <= 4) {
                    (0, _) => Some(1),
                    (2, true) => Some(0),
                    (2, false) => second,
                    _ => None,
                }
            });
            match second {
                Some(200) => assert_eq!(result, Err(FecError::FecRow { row: 200 })),
                Some(_) => assert!(matches!(result, Err(FecError::NotEnoughFec { .. }))),
                None => assert_eq!(result, Ok(1)),
            }
        }
    }
}
