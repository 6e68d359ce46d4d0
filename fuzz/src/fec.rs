//! `fec_roundtrip`: the FEC code rebuilds exactly what was erased whenever a stripe has at
//! least as many distinct FEC rows as missing blocks, with every kernel, through each of
//! the decoder's three entry points; anything else is a typed [`FecError`] that changes
//! nothing (PROTOCOL.md §5; core/src/fec/).

use crate::input::Input;
use udpcast_core::fec::{
    Column, Decoder, Encoder, FecBlock, FecConfig, FecError, FecRow, Kernel, KernelKind,
    SliceGeometry,
};

/// Every kernel the CPU runs; the scalar one first, as the reference.
fn kernels() -> Vec<Kernel> {
    KernelKind::ALL
        .into_iter()
        .filter_map(Kernel::new)
        .collect()
}

/// Bytes for places that must not matter: distinct from any real data pattern.
fn garbage(i: usize) -> u8 {
    (i as u8).wrapping_mul(167) ^ 0x5a
}

/// Runs one input: its first byte picks the experiment.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    match input.u8() % 4 {
        0 | 1 => slice_round_trip(&mut input),
        2 => stripe_round_trip(&mut input),
        _ => refusals(&mut input),
    }
}

/// The data of a test slice: the input's bytes, then a pattern.
fn data_of(input: &mut Input<'_>, len: usize) -> Vec<u8> {
    let mut data: Vec<u8> = input.bytes(len).to_vec();
    let given = data.len();
    data.extend((given..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(7)));
    data
}

/// A slice of up to 64 blocks over 1–16 stripes with 0–8 FEC rows each; erasures and the
/// FEC blocks handed to the decoder come from the input.
fn slice_round_trip(input: &mut Input<'_>) {
    let stripes = 1 + input.below(16);
    let redundancy = input.below(9);
    let block_size = 4 * (1 + input.below(16));
    let bytes = input.below16(64 * block_size + 1);
    let config = FecConfig::new(stripes, redundancy, block_size).expect("valid parameters");
    let geometry = config.slice(bytes).expect("64 blocks fit any stripe count");
    let blocks = geometry.blocks();
    let original = data_of(input, bytes);

    let scalar = Kernel::scalar();
    let mut fec = vec![0u8; config.fec_len()];
    Encoder::new(config, scalar)
        .encode_slice(&original, &mut fec)
        .expect("a valid slice encodes");
    for kernel in kernels() {
        let mut other = vec![0xeeu8; config.fec_len()];
        Encoder::new(config, kernel)
            .encode_slice(&original, &mut other)
            .expect("a valid slice encodes");
        assert_eq!(
            other, fec,
            "{kernel:?} encodes differently from the scalar kernel"
        );
    }

    // Erasures: one bit per block; bits past the slice come from the input too, the
    // decoder must not look at them.
    let mask = data_of(input, 128);
    let erased = |i: usize| i < blocks && mask[i / 8] & (1 << (i % 8)) != 0;
    let mut received = [0u8; 128];
    for (i, byte) in received.iter_mut().enumerate() {
        *byte = !mask[i];
    }
    // FEC rows offered: one byte per stripe, bit r for row r.
    let offered: Vec<u8> = (0..stripes).map(|_| input.u8()).collect();
    let offers = |s: usize, r: usize| r < redundancy && offered[s] & (1 << r) != 0;
    let duplicate = input.bool();
    let rotate = input.u8();

    let missing: Vec<usize> = (0..stripes)
        .map(|s| (s..blocks).step_by(stripes).filter(|&i| erased(i)).count())
        .collect();
    let available: Vec<usize> = (0..stripes)
        .map(|s| (0..redundancy).filter(|&r| offers(s, r)).count())
        .collect();
    let repairable = missing.iter().zip(&available).all(|(m, a)| m <= a);
    let total_missing: usize = missing.iter().sum();

    let mut damaged = original.clone();
    for i in (0..blocks).filter(|&i| erased(i)) {
        let end = ((i + 1) * block_size).min(bytes);
        for (j, b) in damaged[i * block_size..end].iter_mut().enumerate() {
            *b = garbage(i + j);
        }
    }
    let mut numbers: Vec<u16> = (0..stripes)
        .flat_map(|s| {
            (0..redundancy)
                .filter(move |&r| offers(s, r))
                .map(move |r| (s, r))
        })
        .map(|(s, r)| geometry.fec_block(r, s).expect("row and stripe in range"))
        .collect();
    if duplicate && !numbers.is_empty() {
        numbers.push(numbers[0]);
    }
    if !numbers.is_empty() {
        let n = usize::from(rotate) % numbers.len();
        numbers.rotate_left(n);
    }

    for kernel in kernels() {
        let mut decoder = Decoder::new(block_size, kernel).expect("valid block size");
        let mut slice = damaged.clone();
        let mut payloads: Vec<Vec<u8>> = numbers
            .iter()
            .map(|&b| fec[usize::from(b) * block_size..][..block_size].to_vec())
            .collect();
        let before = payloads.clone();
        let mut fec_blocks: Vec<FecBlock<'_>> = numbers
            .iter()
            .zip(payloads.iter_mut())
            .map(|(&number, payload)| FecBlock { number, payload })
            .collect();
        let result = decoder.decode_slice(&geometry, &mut slice, &received, &mut fec_blocks);
        if repairable {
            assert_eq!(result, Ok(total_missing), "{kernel:?}");
            assert!(
                slice == original,
                "{kernel:?}: decoded slice differs from the original"
            );
        } else {
            assert!(
                matches!(result, Err(FecError::NotEnoughFec { .. })),
                "{kernel:?}: {result:?} with {missing:?} missing and {available:?} rows"
            );
            assert!(
                slice == damaged,
                "{kernel:?}: a refused decoding changed the slice"
            );
            drop(fec_blocks);
            assert!(
                payloads == before,
                "{kernel:?}: a refused decoding changed FEC payloads"
            );
        }
    }

    if repairable {
        in_place(input, &geometry, &original, &fec, &erased, &offers);
    }
}

/// The same slice decoded the way the receiver stores it: each FEC block in the cell of
/// a missing data block of its stripe.
fn in_place(
    input: &mut Input<'_>,
    geometry: &SliceGeometry,
    original: &[u8],
    fec: &[u8],
    erased: &dyn Fn(usize) -> bool,
    offers: &dyn Fn(usize, usize) -> bool,
) {
    let (blocks, block_size, stripes) =
        (geometry.blocks(), geometry.block_size(), geometry.stripes());
    let bytes = original.len();
    let mut cells = vec![0u8; blocks * block_size];
    cells[..bytes].copy_from_slice(original);
    // A present short last block: its padding may hold anything.
    let padding_garbage = input.bool();
    if padding_garbage && blocks > 0 && !erased(blocks - 1) {
        for (j, b) in cells[bytes..].iter_mut().enumerate() {
            *b = garbage(j);
        }
    }
    let mut expected = cells.clone();
    let mut rows = vec![None; blocks];
    for s in 0..stripes.min(blocks) {
        let mut stripe_rows: Vec<usize> = (0..128).filter(|&r| offers(s, r)).collect();
        if !stripe_rows.is_empty() {
            let n = input.below(stripe_rows.len());
            stripe_rows.rotate_left(n);
        }
        let mut next = stripe_rows.into_iter();
        for i in (s..blocks).step_by(stripes).filter(|&i| erased(i)) {
            let row = next.next().expect("repairable: a row per missing block");
            let number = geometry.fec_block(row, s).expect("in range");
            cells[i * block_size..][..block_size]
                .copy_from_slice(&fec[usize::from(number) * block_size..][..block_size]);
            rows[i] = Some(row as u8);
            // A rebuilt short last block comes out zero-padded.
            let start = i * block_size;
            let end = (start + block_size).min(bytes);
            expected[start..start + block_size].fill(0);
            expected[start..end].copy_from_slice(&original[start..end]);
        }
    }
    let missing = rows.iter().filter(|r| r.is_some()).count();
    for kernel in kernels() {
        let mut decoder = Decoder::new(block_size, kernel).expect("valid block size");
        let mut slice = cells.clone();
        let result =
            decoder.decode_slice_in_place(geometry, &mut slice, |i| rows.get(i).copied().flatten());
        assert_eq!(result, Ok(missing), "{kernel:?}");
        assert!(
            slice == expected,
            "{kernel:?}: in-place decoding differs from the original"
        );
    }
}

/// One stripe of 1–32 columns (the last may be short) through `encode_stripe` and
/// `decode_stripe`, with FEC rows in any order, duplicates allowed.
fn stripe_round_trip(input: &mut Input<'_>) {
    let k = 1 + input.below(32);
    let redundancy = input.below(9);
    let block_size = 1 + input.below(64);
    let last_len = input.below(block_size + 1);
    let config = FecConfig::new(1, redundancy, block_size).expect("valid parameters");
    let columns: Vec<Vec<u8>> = (0..k)
        .map(|j| data_of(input, if j + 1 == k { last_len } else { block_size }))
        .collect();
    let views: Vec<&[u8]> = columns.iter().map(Vec::as_slice).collect();
    let mut fec = vec![vec![0u8; block_size]; redundancy];
    {
        let mut rows: Vec<&mut [u8]> = fec.iter_mut().map(Vec::as_mut_slice).collect();
        Encoder::new(config, Kernel::scalar())
            .encode_stripe(&views, &mut rows)
            .expect("a valid stripe encodes");
    }
    for kernel in kernels() {
        let mut other = vec![vec![0x11u8; block_size]; redundancy];
        let mut rows: Vec<&mut [u8]> = other.iter_mut().map(Vec::as_mut_slice).collect();
        Encoder::new(config, kernel)
            .encode_stripe(&views, &mut rows)
            .expect("a valid stripe encodes");
        assert_eq!(other, fec, "{kernel:?} encodes the stripe differently");
    }
    let erased: Vec<bool> = (0..k).map(|_| input.bool()).collect();
    let chosen: Vec<usize> = (0..input.below(2 * redundancy + 1))
        .map(|_| input.below(redundancy.max(1)))
        .filter(|&r| r < redundancy)
        .collect();
    let mut distinct = chosen.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let missing = erased.iter().filter(|&&e| e).count();

    for kernel in kernels() {
        let mut decoder = Decoder::new(block_size, kernel).expect("valid block size");
        let mut holes: Vec<Vec<u8>> = columns
            .iter()
            .map(|c| (0..c.len()).map(garbage).collect())
            .collect();
        let mut payloads: Vec<Vec<u8>> = chosen.iter().map(|&r| fec[r].clone()).collect();
        let mut cols: Vec<Column<'_>> = columns
            .iter()
            .zip(holes.iter_mut())
            .zip(&erased)
            .map(|((c, h), &e)| {
                if e {
                    Column::Missing(h)
                } else {
                    Column::Present(c)
                }
            })
            .collect();
        let mut rows: Vec<FecRow<'_>> = chosen
            .iter()
            .zip(payloads.iter_mut())
            .map(|(&row, payload)| FecRow { row, payload })
            .collect();
        let result = decoder.decode_stripe(&mut cols, &mut rows);
        drop(cols);
        if missing <= distinct.len() {
            assert_eq!(result, Ok(missing), "{kernel:?}");
            for (j, e) in erased.iter().enumerate() {
                if *e {
                    assert_eq!(holes[j], columns[j], "{kernel:?}: column {j} not rebuilt");
                }
            }
        } else {
            assert_eq!(
                result,
                Err(FecError::NotEnoughFec {
                    stripe: 0,
                    missing,
                    available: distinct.len()
                }),
                "{kernel:?}"
            );
            for (j, e) in erased.iter().enumerate() {
                if *e {
                    assert!(holes[j].iter().enumerate().all(|(i, &b)| b == garbage(i)));
                }
            }
        }
    }
}

/// Arbitrary parameters and malformed arguments: each refused with its own error, and a
/// refused call changes nothing.
fn refusals(input: &mut Input<'_>) {
    let stripes = input.below16(300);
    let redundancy = input.below16(200);
    let block_size = input.u32() as usize % 70_000;
    let bytes = input.u32() as usize;
    let expected = if stripes == 0 || stripes > 256 {
        Err(FecError::Stripes { stripes })
    } else if redundancy > 128 {
        Err(FecError::Redundancy { redundancy })
    } else if block_size == 0 || block_size > 65_535 {
        Err(FecError::BlockSize { block_size })
    } else {
        Ok(())
    };
    let config = FecConfig::new(stripes, redundancy, block_size);
    assert_eq!(config.map(|_| ()), expected);
    assert_eq!(
        Decoder::new(block_size, Kernel::scalar())
            .map(|d| d.block_size())
            .ok(),
        (1..=65_535).contains(&block_size).then_some(block_size)
    );
    let geometry = SliceGeometry::new(bytes, block_size, stripes);
    let stripe_ok = (1..=256).contains(&stripes);
    let size_ok = (1..=65_535).contains(&block_size);
    match geometry {
        Ok(g) => {
            assert!(stripe_ok && size_ok);
            assert!(g.blocks().div_ceil(stripes) <= 128);
            assert_eq!(g.blocks(), bytes.div_ceil(block_size));
        }
        Err(FecError::Stripes { .. }) => assert!(!stripe_ok),
        Err(FecError::BlockSize { .. }) => assert!(stripe_ok && !size_ok),
        Err(FecError::StripeTooLong { blocks }) => {
            assert!(stripe_ok && size_ok && blocks > 128);
            assert_eq!(blocks, bytes.div_ceil(block_size).div_ceil(stripes));
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
    let len_a = input.below(200);
    let len_b = input.below(200);
    let mut dst = vec![1u8; len_a];
    let src = vec![2u8; len_b];
    for kernel in kernels() {
        let c = input.u8();
        let r1 = kernel.mul_acc(&mut dst, &src, c);
        let r2 = kernel.mul(&mut dst, &src, c);
        if len_a == len_b {
            assert_eq!((r1, r2), (Ok(()), Ok(())));
        } else {
            let e = Err(FecError::LengthMismatch {
                dst: len_a,
                src: len_b,
            });
            assert_eq!((r1, r2), (e, e));
            assert!(dst.iter().all(|&b| b == 1), "a refused multiply wrote");
        }
    }
    malformed_decoding(input);
}

/// A valid small slice whose decoding is given one bad argument.
fn malformed_decoding(input: &mut Input<'_>) {
    let stripes = 1 + input.below(8);
    let redundancy = 1 + input.below(4);
    let block_size = 4 * (1 + input.below(8));
    let bytes = 1 + input.below16(32 * block_size);
    let config = FecConfig::new(stripes, redundancy, block_size).expect("valid");
    let geometry = config.slice(bytes).expect("32 blocks fit");
    let blocks = geometry.blocks();
    let original = data_of(input, bytes);
    let mut fec = vec![0u8; config.fec_len()];
    let fault = input.u8() % 8;
    let wrong_len = input.below(config.fec_len() + 2);
    let encoder = Encoder::new(config, Kernel::scalar());
    if wrong_len != config.fec_len() && fault == 7 {
        let mut wrong = vec![0u8; wrong_len];
        assert_eq!(
            encoder.encode_slice(&original, &mut wrong),
            Err(FecError::OutputLength {
                expected: config.fec_len(),
                actual: wrong_len
            })
        );
        return;
    }
    encoder.encode_slice(&original, &mut fec).expect("valid");
    // Block 0 is erased; every FEC block is offered.
    let mut received = [0xffu8; 128];
    received[0] &= !1;
    let mut numbers: Vec<u16> = (0..config.fec_blocks() as u16).collect();
    let mut slice_len = bytes;
    let mut bitmap_len = 128;
    let mut decoder_size = block_size;
    let mut payload_len = block_size;
    let expected = match fault {
        0 => {
            slice_len = input.below(bytes);
            Err(FecError::SliceTooShort {
                bytes,
                actual: slice_len,
            })
        }
        1 => {
            bitmap_len = input.below(blocks.div_ceil(8));
            Err(FecError::BitmapTooShort {
                expected: blocks.div_ceil(8),
                actual: bitmap_len,
            })
        }
        2 => {
            let row = 128 + input.below(64);
            numbers.push((row * stripes) as u16);
            Err(FecError::FecRow { row })
        }
        3 => {
            payload_len = block_size + 1 + input.below(8);
            Err(FecError::FecPayloadLength {
                index: 0,
                len: payload_len,
            })
        }
        4 => {
            decoder_size = block_size + 4;
            Err(FecError::BlockSizeMismatch {
                decoder: decoder_size,
                geometry: block_size,
            })
        }
        5 => {
            // More erasures in stripe 0 than it has FEC rows.
            let stripe0 = geometry.stripe_blocks(0);
            for i in (0..blocks).step_by(stripes) {
                received[i / 8] &= !(1 << (i % 8));
            }
            if stripe0 <= redundancy {
                // Not enough blocks to over-erase: it must decode.
                Ok(stripe0)
            } else {
                Err(FecError::NotEnoughFec {
                    stripe: 0,
                    missing: stripe0,
                    available: redundancy,
                })
            }
        }
        _ => Ok(1),
    };
    let mut slice = original.clone();
    slice.truncate(slice_len);
    let damaged = slice.clone();
    let mut payloads: Vec<Vec<u8>> = numbers
        .iter()
        .map(|&b| {
            let mut p = fec
                .get(usize::from(b) * block_size..)
                .map_or(vec![], |f| f[..block_size].to_vec());
            p.resize(payload_len, 0);
            p
        })
        .collect();
    let mut decoder = Decoder::new(decoder_size, Kernel::scalar()).expect("valid");
    let mut fec_blocks: Vec<FecBlock<'_>> = numbers
        .iter()
        .zip(payloads.iter_mut())
        .map(|(&number, payload)| FecBlock { number, payload })
        .collect();
    let result = decoder.decode_slice(
        &geometry,
        &mut slice,
        &received[..bitmap_len],
        &mut fec_blocks,
    );
    assert_eq!(result, expected, "fault {fault}");
    match result {
        Ok(_) => assert!(slice == original, "fault {fault}: wrong decoding"),
        Err(_) => assert!(
            slice == damaged,
            "fault {fault}: a refused decoding changed the slice"
        ),
    }

    // In place, with rows from the input: never a panic, and a refusal changes nothing.
    let cells_len = input.below16(blocks * block_size + 3 * block_size);
    let mut cells: Vec<u8> = data_of(input, cells_len);
    let before = cells.clone();
    let table: Vec<u8> = data_of(input, blocks);
    let mut decoder = Decoder::new(block_size, Kernel::scalar()).expect("valid");
    let result = decoder.decode_slice_in_place(&geometry, &mut cells, |i| {
        table
            .get(i)
            .and_then(|&t| (t & 0x80 != 0).then_some(t & 0x7f | (t & 1) << 7))
    });
    if result.is_err() {
        assert!(
            cells == before,
            "a refused in-place decoding changed the cells"
        );
    }
}
