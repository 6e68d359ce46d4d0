//! The encoding coefficients: a Cauchy matrix stacked under the identity (PROTOCOL.md §5.4).
//!
//! Row r (a FEC block) and column j (a data block of the stripe) meet in
//! `C[r][j] = 1 / (x_r + y_j)` with `x_r = 0x80 ^ r` and `y_j = j`. Rows and columns are
//! below 128, so every x lies in the upper half of the field and every y in the lower half:
//! the points are all distinct, no denominator is 0, and every square sub-matrix is
//! invertible. That is why any k of a stripe's k + redundancy blocks rebuild it, and why
//! both the stripe length and the redundancy are capped at 128 (§5.1).

use super::gf256::INV;

/// The most rows (FEC blocks per stripe) the coefficient matrix has.
pub const MAX_ROWS: usize = 128;
/// The most columns (data blocks per stripe) the coefficient matrix has.
pub const MAX_COLUMNS: usize = 128;

/// The coefficient `C[row][column] = inv(0x80 ^ row ^ column)` with which data block
/// `column` of a stripe enters FEC row `row`, or `None` unless both are below 128.
pub const fn coefficient(row: u8, column: u8) -> Option<u8> {
    if (row as usize) < MAX_ROWS && (column as usize) < MAX_COLUMNS {
        Some(coefficient_unchecked(row as usize, column as usize))
    } else {
        None
    }
}

/// [`coefficient`] for callers that already checked both indices are below 128. Out of
/// range indices give a wrong coefficient, never a panic: the index is masked to the table.
#[inline(always)]
pub(crate) const fn coefficient_unchecked(row: usize, column: usize) -> u8 {
    INV[(0x80 ^ row ^ column) & 0xff]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fec::gf256::{inv, mul};

    #[test]
    fn inverses_of_the_upper_points_match_protocol_5_4() {
        let expected = [
            0x1b, 0x54, 0xa1, 0x1d, 0x7c, 0xcc, 0xe4, 0xb0, 0x49, 0x31, 0x27, 0x2d, 0x53, 0x69,
            0x02, 0xf5,
        ];
        for (i, &e) in expected.iter().enumerate() {
            assert_eq!(inv(0x80 + i as u8), Some(e), "inv({:#x})", 0x80 + i);
        }
    }

    #[test]
    fn first_rows_match_protocol_5_4() {
        let rows: [[u8; 8]; 3] = [
            [0x1b, 0x54, 0xa1, 0x1d, 0x7c, 0xcc, 0xe4, 0xb0],
            [0x54, 0x1b, 0x1d, 0xa1, 0xcc, 0x7c, 0xb0, 0xe4],
            [0xa1, 0x1d, 0x1b, 0x54, 0xe4, 0xb0, 0x7c, 0xcc],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                assert_eq!(coefficient(r as u8, j as u8), Some(c), "C[{r}][{j}]");
            }
        }
    }

    #[test]
    fn every_coefficient_is_the_inverse_of_x_plus_y() {
        for r in 0..128u8 {
            for j in 0..128u8 {
                let c = coefficient(r, j).unwrap();
                assert_ne!(c, 0);
                assert_eq!(mul(c, 0x80 ^ r ^ j), 1);
            }
        }
    }

    #[test]
    fn indices_from_128_have_no_coefficient() {
        assert_eq!(coefficient(128, 0), None);
        assert_eq!(coefficient(0, 128), None);
        assert_eq!(coefficient(255, 255), None);
    }
}
