//! The SSSE3 kernel: 16 bytes per shuffle pair, 64 bytes per loop turn.

use core::arch::x86_64::{
    _mm_and_si128, _mm_loadu_si128, _mm_set1_epi8, _mm_setzero_si128, _mm_shuffle_epi8,
    _mm_srli_epi16, _mm_storeu_si128, _mm_xor_si128,
};

use super::{dot_args_fit, Ssse3Token};
use crate::fec::gf256::NIBBLES;
use crate::fec::kernels::scalar;

impl Ssse3Token {
    /// `dst ^= c · src` over the common length.
    pub(crate) fn mul_acc(self, dst: &mut [u8], src: &[u8], c: u8) {
        // SAFETY: the token exists only if the CPU has SSSE3.
        unsafe { mul_into(dst, src, c, true) }
    }

    /// `dst = c · src` over the common length.
    pub(crate) fn mul(self, dst: &mut [u8], src: &[u8], c: u8) {
        // SAFETY: the token exists only if the CPU has SSSE3.
        unsafe { mul_into(dst, src, c, false) }
    }

    /// `dsts[t][..len] (^)= Σ_j coefs[j][t] · srcs[j][..len]`; does nothing if a slice is
    /// shorter than `len` or the coefficient rows do not match the sources.
    pub(crate) fn dot<const R: usize>(
        self,
        dsts: &mut [&mut [u8]; R],
        srcs: &[&[u8]],
        coefs: &[[u8; R]],
        len: usize,
        accumulate: bool,
    ) {
        if dot_args_fit(dsts, srcs, coefs, len) {
            // SAFETY: the token exists only if the CPU has SSSE3, and the lengths were
            // just checked.
            unsafe { dot(dsts, srcs, coefs, len, accumulate) }
        }
    }
}

/// `dst = c · src` or `dst ^= c · src` over the common length.
///
/// # Safety
/// The CPU must support SSSE3.
#[target_feature(enable = "ssse3")]
unsafe fn mul_into(dst: &mut [u8], src: &[u8], c: u8, accumulate: bool) {
    let t = &NIBBLES.0[c as usize];
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let mut dst_chunks = dst.chunks_exact_mut(16);
    let mut src_chunks = src.chunks_exact(16);
    // SAFETY: SSSE3 is enabled for this function (caller's contract). Each load or store
    // covers exactly the 16 bytes of one `chunks_exact` chunk, and the unaligned forms
    // are used, so every access is in bounds whatever the alignment.
    unsafe {
        let lo = _mm_loadu_si128(t.as_ptr().cast());
        let hi = _mm_loadu_si128(t.as_ptr().add(16).cast());
        let mask = _mm_set1_epi8(0x0f);
        for (d, s) in (&mut dst_chunks).zip(&mut src_chunks) {
            let v = _mm_loadu_si128(s.as_ptr().cast());
            let l = _mm_and_si128(v, mask);
            let h = _mm_and_si128(_mm_srli_epi16::<4>(v), mask);
            let mut p = _mm_xor_si128(_mm_shuffle_epi8(lo, l), _mm_shuffle_epi8(hi, h));
            if accumulate {
                p = _mm_xor_si128(p, _mm_loadu_si128(d.as_ptr().cast()));
            }
            _mm_storeu_si128(d.as_mut_ptr().cast(), p);
        }
    }
    let (dst, src) = (dst_chunks.into_remainder(), src_chunks.remainder());
    if accumulate {
        scalar::mul_acc(dst, src, c);
    } else {
        scalar::mul(dst, src, c);
    }
}

/// The register-blocked dot product: for each 16-byte column, the R accumulators stay in
/// registers while every source is folded in, so each source byte is loaded once per R
/// rows and each destination byte is stored once.
///
/// # Safety
/// The CPU must support SSSE3; every `dsts[t]` and `srcs[j]` must hold at least `len`
/// bytes and `coefs` must have one row per source.
#[target_feature(enable = "ssse3")]
unsafe fn dot<const R: usize>(
    dsts: &mut [&mut [u8]; R],
    srcs: &[&[u8]],
    coefs: &[[u8; R]],
    len: usize,
    accumulate: bool,
) {
    let mut off = 0;
    // SAFETY: SSSE3 is enabled for this function. Every load or store touches bytes
    // `off..off + 16` of a slice that holds at least `len ≥ off + 16` bytes (contract);
    // table loads read 16 bytes inside one 32-byte `NIBBLES` entry.
    unsafe {
        let mask = _mm_set1_epi8(0x0f);
        while off + 16 <= len {
            let mut acc = [_mm_setzero_si128(); R];
            if accumulate {
                for (a, d) in acc.iter_mut().zip(dsts.iter()) {
                    *a = _mm_loadu_si128(d.as_ptr().add(off).cast());
                }
            }
            for (s, cj) in srcs.iter().zip(coefs) {
                let v = _mm_loadu_si128(s.as_ptr().add(off).cast());
                let l = _mm_and_si128(v, mask);
                let h = _mm_and_si128(_mm_srli_epi16::<4>(v), mask);
                for (a, &c) in acc.iter_mut().zip(cj) {
                    let t = NIBBLES.0[c as usize].as_ptr();
                    let lo = _mm_loadu_si128(t.cast());
                    let hi = _mm_loadu_si128(t.add(16).cast());
                    let p = _mm_xor_si128(_mm_shuffle_epi8(lo, l), _mm_shuffle_epi8(hi, h));
                    *a = _mm_xor_si128(*a, p);
                }
            }
            for (a, d) in acc.iter().zip(dsts.iter_mut()) {
                _mm_storeu_si128(d.as_mut_ptr().add(off).cast(), *a);
            }
            off += 16;
        }
    }
    if off < len {
        scalar::dot_range(dsts, srcs, coefs, off..len, accumulate);
    }
}
