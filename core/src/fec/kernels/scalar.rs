//! The portable kernel: the reference every SIMD kernel is tested against, and the one
//! used on targets without SIMD (e.g. Cortex-M).
//!
//! Multiplication by a fixed coefficient c is linear over GF(2), so `c · b` is the XOR of
//! `c · (b & 0x0F)` and `c · (b & 0xF0)`: two 16-entry tables per coefficient (see
//! `gf256::NIBBLES`) instead of a 64 KiB product table. For longer runs the two halves are
//! first expanded into a 256-byte row, so that each byte then costs one lookup.

use core::ops::Range;

use crate::fec::gf256::NIBBLES;

/// Below this length building the 256-byte row costs more than it saves.
const ROW_THRESHOLD: usize = 64;

/// The full product row `c · x` for every byte x, built from the nibble tables.
fn product_row(c: u8) -> [u8; 256] {
    let t = &NIBBLES.0[c as usize];
    let mut row = [0u8; 256];
    for (x, r) in row.iter_mut().enumerate() {
        *r = t[x & 15] ^ t[16 + (x >> 4)];
    }
    row
}

/// `dst ^= c · src` over the common length of both slices.
pub(crate) fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    match c {
        0 => {}
        1 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d ^= *s;
            }
        }
        _ if dst.len().min(src.len()) >= ROW_THRESHOLD => {
            let row = product_row(c);
            for (d, s) in dst.iter_mut().zip(src) {
                *d ^= row[*s as usize];
            }
        }
        _ => {
            let t = &NIBBLES.0[c as usize];
            for (d, s) in dst.iter_mut().zip(src) {
                *d ^= t[(*s & 15) as usize] ^ t[16 + (*s >> 4) as usize];
            }
        }
    }
}

/// `dst = c · src` over the common length of both slices.
pub(crate) fn mul(dst: &mut [u8], src: &[u8], c: u8) {
    match c {
        0 => {
            let n = dst.len().min(src.len());
            if let Some(d) = dst.get_mut(..n) {
                d.fill(0);
            }
        }
        1 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        _ if dst.len().min(src.len()) >= ROW_THRESHOLD => {
            let row = product_row(c);
            for (d, s) in dst.iter_mut().zip(src) {
                *d = row[*s as usize];
            }
        }
        _ => {
            let t = &NIBBLES.0[c as usize];
            for (d, s) in dst.iter_mut().zip(src) {
                *d = t[(*s & 15) as usize] ^ t[16 + (*s >> 4) as usize];
            }
        }
    }
}

/// `buf = c · buf` in place.
pub(crate) fn scale(buf: &mut [u8], c: u8) {
    match c {
        0 => buf.fill(0),
        1 => {}
        _ if buf.len() >= ROW_THRESHOLD => {
            let row = product_row(c);
            for b in buf.iter_mut() {
                *b = row[*b as usize];
            }
        }
        _ => {
            let t = &NIBBLES.0[c as usize];
            for b in buf.iter_mut() {
                *b = t[(*b & 15) as usize] ^ t[16 + (*b >> 4) as usize];
            }
        }
    }
}

/// `dsts[t][range] (^)= Σ_j coefs[j][t] · srcs[j][range]` for R destination rows; the
/// destinations are overwritten unless `accumulate`. Slices that do not cover `range` are
/// left alone (callers guarantee there are none).
pub(crate) fn dot_range<const R: usize>(
    dsts: &mut [&mut [u8]; R],
    srcs: &[&[u8]],
    coefs: &[[u8; R]],
    range: Range<usize>,
    accumulate: bool,
) {
    if !accumulate {
        for d in dsts.iter_mut() {
            if let Some(d) = d.get_mut(range.clone()) {
                d.fill(0);
            }
        }
    }
    // Source-major: each source block is read from memory once and stays in L1 while it
    // is folded into every destination row.
    for (s, cj) in srcs.iter().zip(coefs) {
        let Some(s) = s.get(range.clone()) else {
            continue;
        };
        for (d, &c) in dsts.iter_mut().zip(cj) {
            if let Some(d) = d.get_mut(range.clone()) {
                mul_acc(d, s, c);
            }
        }
    }
}
