//! Properties of the FEC codec on arbitrary inputs: encoding then erasing up to
//! `redundancy` blocks per stripe always decodes back (PROTOCOL.md §5.4, §5.6), every
//! kernel gives the same bytes, and nonsense arguments are errors, never panics.

use proptest::prelude::*;
use udpcast_core::fec::{
    Column, Decoder, Encoder, FecBlock, FecConfig, FecError, FecRow, Kernel, KernelKind,
    SliceGeometry,
};

fn kernels() -> Vec<Kernel> {
    KernelKind::ALL
        .into_iter()
        .filter_map(Kernel::new)
        .collect()
}

/// A FEC configuration, a slice that fits it and an erasure seed.
fn slice_case() -> impl Strategy<Value = (usize, usize, usize, Vec<u8>, u64)> {
    (1usize..=9, 1usize..=6, 1usize..=70).prop_flat_map(|(stripes, redundancy, block_size)| {
        let max_bytes = (stripes * 12 * block_size).min(4000);
        (
            Just(stripes),
            Just(redundancy),
            Just(block_size),
            proptest::collection::vec(any::<u8>(), 0..=max_bytes),
            any::<u64>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn up_to_redundancy_erasures_per_stripe_decode_back(
        (stripes, redundancy, block_size, data, seed) in slice_case()
    ) {
        let config = FecConfig::new(stripes, redundancy, block_size).unwrap();
        let geometry = config.slice(data.len()).unwrap();
        let mut reference: Option<Vec<u8>> = None;
        for kernel in kernels() {
            let mut fec = vec![0u8; config.fec_len()];
            Encoder::new(config, kernel).encode_slice(&data, &mut fec).unwrap();
            prop_assert_eq!(reference.get_or_insert_with(|| fec.clone()), &fec);

            // Erase, per stripe, the first `redundancy` blocks the seed picks.
            let mut received = vec![0xffu8; geometry.blocks().div_ceil(8)];
            let mut slice = data.clone();
            let mut state = seed;
            let mut fec_blocks = Vec::new();
            let mut payloads: Vec<&mut [u8]> = fec.chunks_exact_mut(block_size).collect();
            let mut numbers = Vec::new();
            for stripe in 0..stripes {
                let mut erased = 0;
                for j in 0..geometry.stripe_blocks(stripe) {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if erased < redundancy && (state >> 62) != 0 {
                        let i = geometry.block_at(stripe, j);
                        received[i / 8] &= !(1 << (i % 8));
                        let end = ((i + 1) * block_size).min(slice.len());
                        slice[i * block_size..end].fill(0xcc);
                        erased += 1;
                    }
                }
                for r in (0..redundancy).rev().take(erased) {
                    numbers.push(geometry.fec_block(r, stripe).unwrap());
                }
            }
            for (b, payload) in payloads.iter_mut().enumerate() {
                if numbers.contains(&(b as u16)) {
                    fec_blocks.push(FecBlock { number: b as u16, payload });
                }
            }
            let mut decoder = Decoder::new(block_size, kernel).unwrap();
            decoder.decode_slice(&geometry, &mut slice, &received, &mut fec_blocks).unwrap();
            prop_assert_eq!(&slice, &data, "{:?}", kernel);
        }
    }

    #[test]
    fn arbitrary_stripe_arguments_never_panic(
        block_size in 0usize..40,
        columns in proptest::collection::vec((any::<bool>(), 0usize..45), 0..140),
        rows in proptest::collection::vec((0usize..140, 0usize..45), 0..140),
    ) {
        let Ok(mut decoder) = Decoder::new(block_size, Kernel::detect()) else {
            prop_assert_eq!(block_size, 0);
            return Ok(());
        };
        let mut column_bufs: Vec<Vec<u8>> = columns.iter().map(|&(_, len)| vec![1; len]).collect();
        let mut cols: Vec<Column<'_>> = columns
            .iter()
            .zip(column_bufs.iter_mut())
            .map(|(&(present, _), buf)| if present { Column::Present(buf) } else { Column::Missing(buf) })
            .collect();
        let mut row_bufs: Vec<Vec<u8>> = rows.iter().map(|&(_, len)| vec![2; len]).collect();
        let mut fec: Vec<FecRow<'_>> = rows
            .iter()
            .zip(row_bufs.iter_mut())
            .map(|(&(row, _), payload)| FecRow { row, payload })
            .collect();
        let _ = decoder.decode_stripe(&mut cols, &mut fec);
    }

    #[test]
    fn arbitrary_slice_arguments_never_panic(
        bytes in 0usize..3000,
        block_size in 1usize..100,
        stripes in 1usize..300,
        slice_len in 0usize..3000,
        received in proptest::collection::vec(any::<u8>(), 0..40),
        fec in proptest::collection::vec((any::<u16>(), 0usize..110), 0..60),
    ) {
        let Ok(geometry) = SliceGeometry::new(bytes, block_size, stripes) else {
            return Ok(());
        };
        let mut decoder = Decoder::new(block_size, Kernel::detect()).unwrap();
        let mut slice = vec![0u8; slice_len];
        let mut payloads: Vec<Vec<u8>> = fec.iter().map(|&(_, len)| vec![3; len]).collect();
        let mut blocks: Vec<FecBlock<'_>> = fec
            .iter()
            .zip(payloads.iter_mut())
            .map(|(&(number, _), payload)| FecBlock { number, payload })
            .collect();
        let _ = decoder.decode_slice(&geometry, &mut slice, &received, &mut blocks);
    }

    #[test]
    fn arbitrary_encoder_arguments_never_panic(
        stripes in 0usize..300,
        redundancy in 0usize..140,
        block_size in 0usize..50,
        slice_len in 0usize..5000,
        fec_len in 0usize..5000,
    ) {
        let Ok(config) = FecConfig::new(stripes, redundancy, block_size) else {
            return Ok(());
        };
        let slice = vec![7u8; slice_len];
        let mut fec = vec![0u8; fec_len];
        let result = Encoder::new(config, Kernel::detect()).encode_slice(&slice, &mut fec);
        if fec_len != config.fec_len() {
            prop_assert!(result.is_err());
        }
        if let Err(e) = result {
            let expected = matches!(e, FecError::OutputLength { .. } | FecError::StripeTooLong { .. });
            prop_assert!(expected, "unexpected error {e}");
        }
    }
}
