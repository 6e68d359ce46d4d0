//! Every kernel against the field's own multiplication, and every SIMD kernel byte for byte
//! against the scalar one: all lengths 0..=1456, all source/destination offsets 0..32 and
//! all 256 coefficients.

use super::{Kernel, KernelKind};
use crate::fec::gf256::mul;

/// The longest block of the default configuration (a full Ethernet frame's payload).
const MAX_LEN: usize = 1456;
/// Offsets up to a whole AVX2 register, so every misalignment is met.
const OFFSETS: usize = 32;

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

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

fn simd_kernels() -> impl Iterator<Item = Kernel> {
    KernelKind::ALL
        .into_iter()
        .filter(|&k| k != KernelKind::Scalar)
        .filter_map(Kernel::new)
}

fn all_kernels() -> impl Iterator<Item = Kernel> {
    KernelKind::ALL.into_iter().filter_map(Kernel::new)
}

/// Random source and destination buffers, long enough for every length and offset.
struct Buffers {
    src: [u8; MAX_LEN + OFFSETS],
    dst: [u8; MAX_LEN + OFFSETS],
}

impl Buffers {
    fn new(rng: &mut Rng) -> Self {
        let mut b = Buffers {
            src: [0; MAX_LEN + OFFSETS],
            dst: [0; MAX_LEN + OFFSETS],
        };
        rng.fill(&mut b.src);
        rng.fill(&mut b.dst);
        b
    }
}

/// Runs `mul` and `mul_acc` of `kernel` and of the scalar kernel on the same data at the
/// given offsets and checks they agree byte for byte, also around the destination. With
/// `exact`, also checks the scalar results against `gf256::mul` byte by byte.
#[allow(clippy::too_many_arguments)]
fn compare(
    kernel: Kernel,
    b: &Buffers,
    len: usize,
    src_off: usize,
    dst_off: usize,
    c: u8,
    exact: bool,
) {
    let src = &b.src[src_off..src_off + len];
    let dst = b.dst;
    let range = dst_off..dst_off + len;
    let scalar = Kernel::scalar();

    let (mut expected, mut got) = (dst, dst);
    scalar
        .mul_acc(&mut expected[range.clone()], src, c)
        .unwrap();
    kernel.mul_acc(&mut got[range.clone()], src, c).unwrap();
    assert!(
        expected == got,
        "{kernel:?} mul_acc len {len} offsets {src_off}/{dst_off} c {c:#x}"
    );
    if exact {
        for ((&e, &d), &s) in expected[range.clone()]
            .iter()
            .zip(&dst[range.clone()])
            .zip(src)
        {
            assert_eq!(e, d ^ mul(c, s), "scalar mul_acc, c {c:#x}");
        }
        assert_eq!(expected[..dst_off], dst[..dst_off]);
        assert_eq!(expected[dst_off + len..], dst[dst_off + len..]);
    }

    let (mut expected, mut got) = (dst, dst);
    scalar.mul(&mut expected[range.clone()], src, c).unwrap();
    kernel.mul(&mut got[range.clone()], src, c).unwrap();
    assert!(
        expected == got,
        "{kernel:?} mul len {len} offsets {src_off}/{dst_off} c {c:#x}"
    );
    if exact {
        for (&e, &s) in expected[range].iter().zip(src) {
            assert_eq!(e, mul(c, s), "scalar mul, c {c:#x}");
        }
        assert_eq!(expected[..dst_off], dst[..dst_off]);
        assert_eq!(expected[dst_off + len..], dst[dst_off + len..]);
    }
}

#[test]
fn simd_matches_scalar_for_every_length() {
    let mut rng = Rng(1);
    for kernel in simd_kernels() {
        for len in 0..=MAX_LEN {
            let buffers = Buffers::new(&mut rng);
            // Walk through every (src, dst) offset pair and every coefficient as the length
            // grows, plus the two special coefficients 0 and 1.
            let src_off = len % OFFSETS;
            let dst_off = (len / OFFSETS) % OFFSETS;
            for c in [(len * 167 % 256) as u8, 0, 1] {
                compare(kernel, &buffers, len, src_off, dst_off, c, false);
            }
        }
    }
}

#[test]
fn simd_matches_scalar_for_every_coefficient_and_offset_pair() {
    let mut rng = Rng(2);
    for kernel in simd_kernels() {
        for c in 0..=255u8 {
            let buffers = Buffers::new(&mut rng);
            for src_off in 0..OFFSETS {
                for dst_off in 0..OFFSETS {
                    // 64 + 16 + 3: the wide loop, the 16-byte step and a byte tail.
                    compare(kernel, &buffers, 83, src_off, dst_off, c, false);
                }
            }
        }
    }
}

#[test]
fn scalar_matches_field_multiplication() {
    let mut rng = Rng(3);
    for len in [0, 1, 15, 63, 64, 65, 200, MAX_LEN] {
        for c in 0..=255u8 {
            let buffers = Buffers::new(&mut rng);
            compare(Kernel::scalar(), &buffers, len, len % 7, len % 5, c, true);
        }
    }
}

#[test]
fn scale_in_place_matches_field_multiplication() {
    let mut rng = Rng(5);
    let b = Buffers::new(&mut rng);
    for kernel in all_kernels() {
        for len in [
            0, 1, 15, 16, 31, 33, 63, 64, 65, 511, 512, 513, 1100, MAX_LEN,
        ] {
            for c in 0..=255u8 {
                let mut buf = b.dst;
                kernel.scale(&mut buf[1..1 + len], c);
                assert_eq!(buf[0], b.dst[0]);
                assert_eq!(buf[1 + len..], b.dst[1 + len..]);
                for (&got, &was) in buf[1..1 + len].iter().zip(&b.dst[1..1 + len]) {
                    assert_eq!(got, mul(c, was), "{kernel:?} scale len {len} c {c:#x}");
                }
            }
        }
    }
}

#[test]
fn length_mismatch_is_an_error_and_writes_nothing() {
    for kernel in all_kernels() {
        let mut dst = [7u8; 10];
        let src = [1u8; 11];
        let err = super::FecError::LengthMismatch { dst: 10, src: 11 };
        assert_eq!(kernel.mul_acc(&mut dst, &src, 3), Err(err));
        assert_eq!(kernel.mul(&mut dst, &src, 3), Err(err));
        assert_eq!(dst, [7; 10]);
    }
}

/// `dot` of a kernel against a plain per-byte evaluation.
fn check_dot(kernel: Kernel, rng: &mut Rng, rows: usize, srcs: usize, len: usize, acc: bool) {
    const MAX_ROWS: usize = 20;
    const MAX_SRCS: usize = 140;
    const LEN: usize = 200;
    let mut src_buf = [[0u8; LEN + 1]; MAX_SRCS];
    let mut dst_buf = [[0u8; LEN + 3]; MAX_ROWS];
    for s in src_buf.iter_mut() {
        rng.fill(s);
    }
    for d in dst_buf.iter_mut() {
        rng.fill(d);
    }
    let seed = rng.next();
    let coef = |t: usize, j: usize| (seed.wrapping_mul(t as u64 * 131 + j as u64 + 1) >> 40) as u8;
    let before = dst_buf;
    // Odd offsets: sources start at byte 1, destinations at byte 3.
    let sources: [&[u8]; MAX_SRCS] = core::array::from_fn(|j| &src_buf[j][1..]);
    let mut dests: [&mut [u8]; MAX_ROWS] = core::array::from_fn(|_| Default::default());
    for (d, buf) in dests.iter_mut().zip(dst_buf.iter_mut()) {
        *d = &mut buf[3..];
    }
    kernel.dot(&mut dests[..rows], &sources[..srcs], len, acc, coef);
    for t in 0..rows {
        for x in 0..LEN {
            let got = dst_buf[t][3 + x];
            let old = before[t][3 + x];
            if x >= len {
                assert_eq!(got, old, "byte {x} past len changed");
                continue;
            }
            let mut want = if acc { old } else { 0 };
            for (j, src) in src_buf[..srcs].iter().enumerate() {
                want ^= mul(coef(t, j), src[1 + x]);
            }
            assert_eq!(
                got, want,
                "{kernel:?} rows {rows} srcs {srcs} len {len} acc {acc}: row {t} byte {x}"
            );
        }
    }
    for t in rows..MAX_ROWS {
        assert_eq!(
            dst_buf[t], before[t],
            "row {t} beyond the destinations changed"
        );
    }
}

#[test]
fn dot_matches_per_byte_evaluation() {
    let mut rng = Rng(4);
    for kernel in all_kernels() {
        for rows in [1, 2, 3, 5, 7, 8, 9, 16, 17] {
            for srcs in [0, 1, 2, 5, 33] {
                for len in [0, 1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 200] {
                    for acc in [false, true] {
                        check_dot(kernel, &mut rng, rows, srcs, len, acc);
                    }
                }
            }
        }
        // More sources than one pass takes.
        check_dot(kernel, &mut rng, 3, 140, 70, false);
        check_dot(kernel, &mut rng, 9, 129, 33, true);
    }
}

#[test]
fn detect_picks_the_best_available_kernel() {
    let best = Kernel::detect();
    for kernel in all_kernels() {
        assert!(kernel.kind() as usize <= best.kind() as usize);
    }
    assert_eq!(Kernel::new(KernelKind::Scalar), Some(Kernel::scalar()));
    assert_eq!(Kernel::default(), best);
}
