//! Encode and decode throughput of the FEC codec, per kernel, for full slices of the
//! configurations udpcast users pick (`--fec SxR/C`, block size 1456). Throughput is data
//! bytes of the slice per second; decoding erases `redundancy` data blocks in every stripe
//! (the worst case the code handles), `decode_in_place` the same with the FEC blocks kept in
//! the cells of the missing blocks, as the receiver does. Run:
//! `cargo bench -p udpcast-core --bench fec` (add `-- decode` or `-- in_place` to filter).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use udpcast_core::fec::{Decoder, Encoder, FecBlock, FecConfig, Kernel, KernelKind};

const BLOCK_SIZE: usize = 1456;

/// (stripes, redundancy, stripesize)
const CONFIGS: [(usize, usize, usize); 3] = [(8, 8, 128), (4, 2, 32), (16, 4, 64)];

fn kernels() -> impl Iterator<Item = Kernel> {
    KernelKind::ALL.into_iter().filter_map(Kernel::new)
}

/// Deterministic pseudo-random bytes (splitmix64).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

fn name((s, r, c): (usize, usize, usize)) -> String {
    format!("{s}x{r}/{c}")
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (stripes, redundancy, stripesize) in CONFIGS {
        let config = FecConfig::new(stripes, redundancy, BLOCK_SIZE).unwrap();
        let slice = random_bytes(stripes * stripesize * BLOCK_SIZE, 1);
        let mut fec = vec![0u8; config.fec_len()];
        group.throughput(Throughput::Bytes(slice.len() as u64));
        for kernel in kernels() {
            let encoder = Encoder::new(config, kernel);
            group.bench_function(
                BenchmarkId::new(name((stripes, redundancy, stripesize)), kernel.kind()),
                |b| b.iter(|| encoder.encode_slice(black_box(&slice), &mut fec).unwrap()),
            );
        }
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (stripes, redundancy, stripesize) in CONFIGS {
        let config = FecConfig::new(stripes, redundancy, BLOCK_SIZE).unwrap();
        let original = random_bytes(stripes * stripesize * BLOCK_SIZE, 2);
        let geometry = config.slice(original.len()).unwrap();
        let mut fec = vec![0u8; config.fec_len()];
        Encoder::new(config, Kernel::detect())
            .encode_slice(&original, &mut fec)
            .unwrap();
        // Erase `redundancy` blocks of every stripe, spread over it (columns 0, 1·step, …).
        let blocks = geometry.blocks();
        let mut received = vec![0xffu8; blocks.div_ceil(8)];
        let step = stripesize / redundancy;
        for stripe in 0..stripes {
            for e in 0..redundancy {
                let i = geometry.block_at(stripe, e * step + e % step.max(1));
                received[i / 8] &= !(1 << (i % 8));
            }
        }
        let mut slice = original.clone();
        let mut work = fec.clone();
        group.throughput(Throughput::Bytes(original.len() as u64));
        for kernel in kernels() {
            let mut decoder = Decoder::new(BLOCK_SIZE, kernel).unwrap();
            group.bench_function(
                BenchmarkId::new(name((stripes, redundancy, stripesize)), kernel.kind()),
                |b| {
                    b.iter(|| {
                        // Decoding consumes the FEC payloads; restoring them (a few % of
                        // the slice) is part of the measured time.
                        work.copy_from_slice(&fec);
                        let mut fec_blocks: Vec<FecBlock<'_>> = work
                            .chunks_exact_mut(BLOCK_SIZE)
                            .enumerate()
                            .map(|(b, payload)| FecBlock {
                                number: b as u16,
                                payload,
                            })
                            .collect();
                        decoder
                            .decode_slice(&geometry, &mut slice, &received, &mut fec_blocks)
                            .unwrap()
                    })
                },
            );
            assert_eq!(slice, original, "{kernel:?} decoded wrongly");
        }
    }
    group.finish();
}

/// Decoding as a receiver does it: each FEC block kept in the cell of a missing data block
/// of its stripe, rebuilt in place (`Decoder::decode_slice_in_place`); same erasures as
/// `decode`.
fn decode_in_place(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_in_place");
    for (stripes, redundancy, stripesize) in CONFIGS {
        let config = FecConfig::new(stripes, redundancy, BLOCK_SIZE).unwrap();
        let original = random_bytes(stripes * stripesize * BLOCK_SIZE, 2);
        let geometry = config.slice(original.len()).unwrap();
        let mut fec = vec![0u8; config.fec_len()];
        Encoder::new(config, Kernel::detect())
            .encode_slice(&original, &mut fec)
            .unwrap();
        // Erase the same blocks as `decode`, and put FEC row e of the stripe in the cell of
        // its e-th erased block.
        let mut row_at = vec![None; geometry.blocks()];
        let mut fec_cells = Vec::new();
        let step = stripesize / redundancy;
        for stripe in 0..stripes {
            for e in 0..redundancy {
                let i = geometry.block_at(stripe, e * step + e % step.max(1));
                let b = usize::from(geometry.fec_block(e, stripe).unwrap());
                row_at[i] = Some(e as u8);
                fec_cells.push((i, &fec[b * BLOCK_SIZE..(b + 1) * BLOCK_SIZE]));
            }
        }
        let mut cells = original.clone();
        group.throughput(Throughput::Bytes(original.len() as u64));
        for kernel in kernels() {
            let mut decoder = Decoder::new(BLOCK_SIZE, kernel).unwrap();
            group.bench_function(
                BenchmarkId::new(name((stripes, redundancy, stripesize)), kernel.kind()),
                |b| {
                    b.iter(|| {
                        // Decoding turns the FEC cells into data; putting the FEC blocks
                        // back (as much copying as `decode` does) is part of the time.
                        for &(i, payload) in &fec_cells {
                            cells[i * BLOCK_SIZE..(i + 1) * BLOCK_SIZE].copy_from_slice(payload);
                        }
                        decoder
                            .decode_slice_in_place(&geometry, black_box(&mut cells), |i| row_at[i])
                            .unwrap()
                    })
                },
            );
            assert_eq!(cells, original, "{kernel:?} decoded wrongly");
        }
    }
    group.finish();
}

criterion_group!(benches, encode, decode, decode_in_place);
criterion_main!(benches);
