//! In-place decoding: FEC blocks stored in the cells of the missing data blocks.

use super::*;

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
