//! The field GF(2^8) of udpcast's FEC (PROTOCOL.md §5.3): bytes, addition is XOR,
//! reduction polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), generator α = 0x02.
//!
//! Every table is computed by `const fn` at compile time, so there is no run-time
//! initialisation and nothing mutable: the tables live in read-only memory (flash on a
//! microcontroller), about 9 KiB in all.

/// The reduction polynomial, including the x^8 term (§5.3).
pub const POLYNOMIAL: u16 = 0x11D;

/// `a · b` by shift-and-add ("Russian peasant"). Independent of the log/exp tables, so the
/// tables can be checked against it; also what the tables are built from.
const fn mul_slow(a: u8, b: u8) -> u8 {
    let mut a = a as u16;
    let mut b = b;
    let mut product = 0u16;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        a <<= 1;
        if a & 0x100 != 0 {
            a ^= POLYNOMIAL;
        }
        b >>= 1;
    }
    product as u8
}

/// `EXP[i] = α^i` for i in 0..510: the period is 255, and the doubled length lets
/// `mul` index with `log a + log b` (at most 508) without a modulo.
const EXP: [u8; 510] = {
    let mut table = [0u8; 510];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 510 {
        table[i] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLYNOMIAL;
        }
        i += 1;
    }
    table
};

/// `LOG[α^i] = i` for i in 0..255; `LOG[0]` is unused (0 has no logarithm).
const LOG: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        table[EXP[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// `INV[a] = a^-1` for a ≠ 0; `INV[0] = 0` (never used for a Cauchy coefficient: the
/// points `0x80 ^ r` and `j` differ whenever r, j < 128, §5.4).
pub(crate) const INV: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut a = 1;
    while a < 256 {
        table[a] = EXP[(255 - LOG[a] as usize) % 255];
        a += 1;
    }
    table
};

/// Split-nibble product tables, one 32-byte entry per coefficient c:
/// bytes 0..16 are `c · x` for x = 0x0..0xF, bytes 16..32 are `c · (x << 4)`.
/// Since multiplication by c is linear over GF(2), `c · b = lo[b & 15] ^ hi[b >> 4]`;
/// this is the trick the SIMD kernels use with byte shuffles (16-entry lookups), and the
/// scalar kernel expands one entry to a 256-byte row. Aligned so that each entry is one
/// aligned 32-byte line.
pub(crate) static NIBBLES: NibbleTables = NibbleTables({
    let mut table = [[0u8; 32]; 256];
    let mut c = 0;
    while c < 256 {
        let mut x = 0;
        while x < 16 {
            table[c][x] = mul_slow(c as u8, x as u8);
            table[c][16 + x] = mul_slow(c as u8, (x as u8) << 4);
            x += 1;
        }
        c += 1;
    }
    table
});

/// The split-nibble tables of every coefficient (see [`NIBBLES`]).
#[repr(C, align(32))]
pub(crate) struct NibbleTables(pub(crate) [[u8; 32]; 256]);

/// `α^i`, the generator raised to `i` (taken modulo 255).
pub const fn exp(i: u8) -> u8 {
    EXP[i as usize]
}

/// The discrete logarithm of `a` to base α, or `None` for 0.
pub const fn log(a: u8) -> Option<u8> {
    if a == 0 {
        None
    } else {
        Some(LOG[a as usize])
    }
}

/// The product `a · b`.
pub const fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// The multiplicative inverse of `a`, or `None` for 0.
pub const fn inv(a: u8) -> Option<u8> {
    if a == 0 {
        None
    } else {
        Some(INV[a as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_table_starts_as_in_protocol_5_3() {
        let expected = [
            0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1d, 0x3a, 0x74, 0xe8, 0xcd, 0x87,
            0x13, 0x26,
        ];
        for (i, &e) in expected.iter().enumerate() {
            assert_eq!(exp(i as u8), e, "exp[{i}]");
        }
    }

    #[test]
    fn check_values_of_protocol_5_3() {
        assert_eq!(log(0x80), Some(7));
        assert_eq!(log(0x81), Some(112));
        assert_eq!(inv(0x02), Some(0x8e));
        assert_eq!(inv(0xff), Some(0xfd));
        assert_eq!(mul(0x53, 0xca), 0x8f);
    }

    #[test]
    fn zero_has_no_log_and_no_inverse() {
        assert_eq!(log(0), None);
        assert_eq!(inv(0), None);
    }

    #[test]
    fn alpha_generates_every_nonzero_element_once() {
        let mut seen = [false; 256];
        for i in 0..255u8 {
            let x = exp(i);
            assert!(!seen[x as usize], "α^{i} repeats");
            seen[x as usize] = true;
            assert_eq!(log(x), Some(i));
        }
        assert!(!seen[0]);
    }

    #[test]
    fn table_product_matches_shift_and_add_for_all_pairs() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), mul_slow(a, b), "{a:#x}·{b:#x}");
            }
        }
    }

    #[test]
    fn inverse_times_element_is_one() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a).unwrap()), 1, "{a:#x}");
        }
    }

    #[test]
    fn nibble_tables_reproduce_every_product() {
        for c in 0..=255u8 {
            let t = &NIBBLES.0[c as usize];
            for b in 0..=255u8 {
                assert_eq!(
                    t[(b & 15) as usize] ^ t[16 + (b >> 4) as usize],
                    mul(c, b),
                    "{c:#x}·{b:#x}"
                );
            }
        }
    }
}
