//! CRC-32C with the SSE4.2 `crc32` instruction, which computes exactly this polynomial
//! (Castagnoli) eight bytes at a time: checksumming a slice then costs a few percent of
//! the copy the transfer makes anyway, where the table method of the `crc` crate (which
//! remains the portable path and the reference in the tests) costs more than the copy.
//!
//! Three independent lanes run side by side, since one instruction takes three cycles to
//! give its result but a new one can start every cycle; the lanes are then joined with
//! [`super::crc32c_combine`]. Calling a `#[target_feature]` function on a CPU without
//! the feature is undefined behaviour, so the only way in is through [`Sse42`], a token
//! made after run-time detection succeeded.
#![allow(unsafe_code)]

use core::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};

cpufeatures::new!(cpuid_sse42, "sse4.2");

/// Proof that the running CPU has SSE4.2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sse42(());

impl Sse42 {
    pub(crate) fn detect() -> Option<Self> {
        cpuid_sse42::get().then_some(Sse42(()))
    }

    /// The CRC-32C of `data` (initial value and final XOR of CRC-32/ISCSI included).
    pub(crate) fn checksum(self, data: &[u8]) -> u32 {
        // SAFETY: a `Sse42` exists only if the CPU has SSE4.2 (see `detect`).
        unsafe { checksum_sse42(data) }
    }
}

/// Bytes per lane below which one lane is faster than three and a combination.
const LANE_MIN: usize = 256;

#[target_feature(enable = "sse4.2")]
unsafe fn checksum_sse42(data: &[u8]) -> u32 {
    let lane = data.len() / 3 / 8 * 8;
    if lane < LANE_MIN {
        return !update(!0, data);
    }
    let (a, rest) = data.split_at(lane);
    let (b, rest) = rest.split_at(lane);
    let (c, tail) = rest.split_at(lane);
    let (mut ra, mut rb, mut rc) = (!0u32 as u64, !0u32 as u64, !0u32 as u64);
    for ((wa, wb), wc) in a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .zip(c.chunks_exact(8))
    {
        ra = _mm_crc32_u64(ra, word(wa));
        rb = _mm_crc32_u64(rb, word(wb));
        rc = _mm_crc32_u64(rc, word(wc));
    }
    let crc_a = !(ra as u32);
    let crc_b = !(rb as u32);
    let crc_c = !(update(rc as u32, tail));
    let ab = super::crc32c_combine(crc_a, crc_b, lane as u64);
    super::crc32c_combine(ab, crc_c, (lane + tail.len()) as u64)
}

/// Runs the CRC register `crc` (no inversion) over `data`.
#[target_feature(enable = "sse4.2")]
unsafe fn update(crc: u32, data: &[u8]) -> u32 {
    let mut r = crc as u64;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        r = _mm_crc32_u64(r, word(w));
    }
    let mut r = r as u32;
    for &byte in words.remainder() {
        r = _mm_crc32_u8(r, byte);
    }
    r
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}
