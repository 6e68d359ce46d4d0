//! Slices encoded, erased and decoded: random erasures, the worked example, the largest
//! system, every kernel alike.

use super::*;

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
