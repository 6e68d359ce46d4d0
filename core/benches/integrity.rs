//! Throughput of the verified-transfers checksums over one full slice (1024 blocks of
//! 1456 bytes): the CRC-32C every slice gets on both sides, by the SSE4.2 instruction where
//! the CPU has it and by the `crc` crate's tables otherwise, and the cost of folding a
//! slice's checksum into the whole-stream digest. Run:
//! `cargo bench -p udpcast-core --bench integrity`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use udpcast_core::extension::integrity::{portable_checksum, slice_checksum, StreamDigest};

const SLICE: usize = 1024 * 1456;

fn checksums(c: &mut Criterion) {
    let data: Vec<u8> = (0..SLICE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut group = c.benchmark_group("crc32c");
    group.throughput(Throughput::Bytes(SLICE as u64));
    group.bench_function("slice_checksum", |b| {
        b.iter(|| slice_checksum(black_box(&data)))
    });
    group.bench_function("crc_crate_tables", |b| {
        b.iter(|| portable_checksum(black_box(&data)))
    });
    group.finish();
    c.bench_function("stream_digest_add_per_slice", |b| {
        let mut digest = StreamDigest::new();
        b.iter(|| digest.add(black_box(0x1234_5678), black_box(SLICE as u64)))
    });
}

criterion_group!(benches, checksums);
criterion_main!(benches);
