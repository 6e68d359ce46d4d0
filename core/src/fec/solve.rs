//! The linear algebra over GF(2^8) that solves a stripe's recovery system, kept apart from
//! the decoder's API and argument checks in `decoder.rs` so that the arithmetic reads on its
//! own: step 1 (the present data out of the FEC rows), the Cauchy matrix M filled, inverted
//! or factored as L·U, and steps 2–3 of the in-place decoder.
//!
//! [`Decoder::decode_slice_in_place`] serves a receiver that keeps each FEC block in the
//! cell of a missing data block of its stripe, so that F_t and the D_{m_u} to rebuild share
//! memory and step 3 must not write a D while an F it needs is still to be read. Step 1 is
//! the same; steps 2–3 take one of two ways, both through the multi-row kernel on whole
//! blocks:
//! * if the e FEC blocks fit in the matrix scratch next to M⁻¹ (e² + e·blockSize ≤ 16 KiB,
//!   so e ≤ 11 for 1456-byte blocks: the usual redundancies), they are copied there and
//!   step 3 reads the copies, as [`Decoder::decode_slice`] reads its FEC buffers;
//! * otherwise M is factored as L·U and step 3 becomes two triangular solves, L·Y = F top
//!   down and U·D = Y bottom up, each overwriting a cell only once nothing still to come
//!   needs its old value: the same e² multiply-adds, eight rows at a time against the rows
//!   already solved, plus e blocks scaled by the diagonal of U, and no copy at all. (The
//!   factoring also costs a third of inverting.)
//!
//! Where the copy fits it is 3–10 % faster with the SIMD kernels (the same with the scalar
//! one); solving in place is what lets any e go without block-sized scratch.

use super::cauchy::{coefficient_unchecked, MAX_ROWS};
use super::decoder::Decoder;
use super::error::FecError;
use super::gf256;
use super::kernels::{Kernel, ROW_GROUP};
use super::MAX_STRIPE_BLOCKS;

impl Decoder {
    /// Steps 2–3 with a copy: inverts M, copies every F_t (the `cells`, full blocks) into
    /// the scratch after the matrix, and overwrites the cells with
    /// `D_{m_u} = Σ_t M⁻¹[u][t] · F_t`. Needs `e² + e × blockSize` bytes of scratch.
    pub(super) fn solve_staged(
        &mut self,
        cells: &mut [&mut [u8]],
        rows: &[usize],
        columns: &[usize],
    ) -> Result<(), FecError> {
        let e = rows.len();
        let block_size = self.block_size;
        let kernel = self.kernel;
        self.invert_system(rows, columns)?;
        let Some((inverse, stage)) = self.matrix.split_at_mut_checked(e * e) else {
            return Err(FecError::Singular);
        };
        let Some(stage) = stage.get_mut(..e * block_size) else {
            // The caller checked it fits.
            return Err(FecError::Singular);
        };
        let mut sources = [&[][..]; MAX_ROWS];
        for ((s, staged), f) in sources
            .iter_mut()
            .zip(stage.chunks_exact_mut(block_size))
            .zip(cells.iter())
        {
            staged.copy_from_slice(f);
            *s = staged;
        }
        kernel.dot(cells, &sources[..e], block_size, false, |u, t| {
            inverse[u * e + t]
        });
        Ok(())
    }

    /// Steps 2–3 in place, with no scratch beyond the matrix: factors M = L·U (L unit lower
    /// triangular, U upper; no pivoting, see [`invert`](Self::invert)), then solves
    /// L·Y = F top down and U·D = Y bottom up in the `cells` (full blocks, F_t in cell t).
    pub(super) fn solve_lu(
        &mut self,
        cells: &mut [&mut [u8]],
        rows: &[usize],
        columns: &[usize],
    ) -> Result<(), FecError> {
        let e = rows.len();
        let block_size = self.block_size;
        let kernel = self.kernel;
        self.fill_matrix(rows, columns)?;
        self.factor_lu(e)?;
        let lu = &self.matrix[..e * e];

        // Step 3 as two triangular solves that each overwrite a cell only with values that
        // nothing later reads from it: L·Y = F top down, then U·D = Y bottom up. Rows go
        // eight at a time through the multi-row kernel against every row already solved,
        // then one by one inside the group.
        let mut start = 0;
        while start < e {
            let end = (start + ROW_GROUP).min(e);
            let (solved, rest) = cells.split_at_mut(start);
            let group = rest.get_mut(..end - start).unwrap_or_default();
            // Y_t = F_t + Σ_{s<t} L[t][s] · Y_s.
            let mut sources = [&[][..]; MAX_ROWS];
            for (s, c) in sources.iter_mut().zip(solved.iter()) {
                *s = &**c;
            }
            kernel.dot(group, &sources[..start], block_size, true, |t, s| {
                lu[(start + t) * e + s]
            });
            for t in 1..group.len() {
                let (before, current) = group.split_at_mut(t);
                let mut sources = [&[][..]; ROW_GROUP];
                for (s, c) in sources.iter_mut().zip(before.iter()) {
                    *s = &**c;
                }
                kernel.dot(
                    &mut current[..1],
                    &sources[..t],
                    block_size,
                    true,
                    |_, s| lu[(start + t) * e + start + s],
                );
            }
            start = end;
        }
        let mut end = e;
        while end > 0 {
            let start = end.saturating_sub(ROW_GROUP);
            let (head, solved) = cells.split_at_mut(end);
            let group = head.get_mut(start..).unwrap_or_default();
            // D_t = (Y_t + Σ_{s>t} U[t][s] · D_s) / U[t][t].
            let mut sources = [&[][..]; MAX_ROWS];
            for (s, c) in sources.iter_mut().zip(solved.iter()) {
                *s = &**c;
            }
            kernel.dot(group, &sources[..e - end], block_size, true, |t, s| {
                lu[(start + t) * e + end + s]
            });
            for t in (0..group.len()).rev() {
                let (current, after) = group.split_at_mut(t + 1);
                let mut sources = [&[][..]; ROW_GROUP];
                for (s, c) in sources.iter_mut().zip(after.iter()) {
                    *s = &**c;
                }
                let Some(current) = current.get_mut(t) else {
                    continue;
                };
                let row = (start + t) * e;
                kernel.dot(
                    core::slice::from_mut(current),
                    &sources[..after.len()],
                    block_size,
                    true,
                    |_, s| lu[row + start + t + 1 + s],
                );
                let diagonal = lu[row + start + t];
                kernel.scale(current, gf256::inv(diagonal).unwrap_or(0));
            }
            end = start;
        }
        Ok(())
    }

    /// Fills the start of `self.matrix` with `M[t][u] = C[rows[t]][columns[u]]` (e × e,
    /// e = `rows.len()` = `columns.len()`, all below 128).
    fn fill_matrix(&mut self, rows: &[usize], columns: &[usize]) -> Result<(), FecError> {
        let e = rows.len();
        if columns.len() != e || e > MAX_ROWS {
            return Err(FecError::Singular);
        }
        if e == 0 {
            return Ok(());
        }
        for (m_row, &row) in self.matrix.chunks_exact_mut(e).zip(rows) {
            for (m, &column) in m_row.iter_mut().zip(columns) {
                *m = coefficient_unchecked(row, column);
            }
        }
        Ok(())
    }

    /// Step 2: fills the matrix (see [`fill_matrix`](Self::fill_matrix)) and inverts it.
    pub(super) fn invert_system(
        &mut self,
        rows: &[usize],
        columns: &[usize],
    ) -> Result<(), FecError> {
        self.fill_matrix(rows, columns)?;
        self.invert(rows.len())
    }

    /// Factors the e × e matrix at the start of `self.matrix` in place as L·U (Doolittle):
    /// U on and above the diagonal, the multipliers of L (whose diagonal is 1) below it.
    /// No pivot search, for the reason [`invert`](Self::invert) gives.
    fn factor_lu(&mut self, e: usize) -> Result<(), FecError> {
        let kernel = self.kernel;
        let Some(m) = self.matrix.get_mut(..e * e) else {
            return Err(FecError::Singular);
        };
        for k in 0..e {
            let (upper, lower) = m.split_at_mut((k + 1) * e);
            let row_k = upper.get(k * e..).unwrap_or_default();
            let Some(inverse) = row_k.get(k).and_then(|&p| gf256::inv(p)) else {
                return Err(FecError::Singular);
            };
            let tail_k = row_k.get(k + 1..).unwrap_or_default();
            for row in lower.chunks_exact_mut(e) {
                let Some((l, tail)) = row.get_mut(k..).and_then(|r| r.split_first_mut()) else {
                    continue;
                };
                *l = gf256::mul(*l, inverse);
                if *l != 0 {
                    kernel.mul_acc_prefix(tail, tail_k, *l);
                }
            }
        }
        Ok(())
    }

    /// Inverts the e × e matrix at the start of `self.matrix` in place (Gauss–Jordan).
    ///
    /// No pivot search: every leading principal minor of a Cauchy matrix is itself a
    /// Cauchy determinant and non-zero, so the diagonal never becomes 0 with distinct rows
    /// and columns. A zero pivot is still reported rather than trusted.
    fn invert(&mut self, e: usize) -> Result<(), FecError> {
        let kernel = self.kernel;
        let Some(m) = self.matrix.get_mut(..e * e) else {
            return Err(FecError::Singular);
        };
        let pivot = &mut self.pivot[..e];
        for k in 0..e {
            let (above, rest) = m.split_at_mut(k * e);
            let (row_k, below) = rest.split_at_mut(e);
            let Some(inverse) = gf256::inv(row_k[k]) else {
                return Err(FecError::Singular);
            };
            // Row k ← row k / pivot, with the pivot column replaced by the identity
            // column, so that the inverse builds up in the same storage.
            row_k[k] = 1;
            pivot.copy_from_slice(row_k);
            kernel.mul_prefix(row_k, pivot, inverse);
            for row in above.chunks_exact_mut(e).chain(below.chunks_exact_mut(e)) {
                let factor = row[k];
                if factor != 0 {
                    row[k] = 0;
                    kernel.mul_acc_prefix(row, row_k, factor);
                }
            }
        }
        Ok(())
    }
}

/// Step 1: `fec[t] ^= Σ_j C[rows[t]][columns[j]] · present[j]` (rows and columns below 128,
/// every `fec[t]` one block long); full blocks in one multi-row pass, a short one (the
/// slice's last block) over its own length, which is the same as zero-padded.
pub(super) fn eliminate_present(
    kernel: Kernel,
    block_size: usize,
    fec: &mut [&mut [u8]],
    rows: &[usize],
    present: &[&[u8]],
    columns: &[usize],
) {
    let mut full = [&[][..]; MAX_STRIPE_BLOCKS];
    let mut full_columns = [0usize; MAX_STRIPE_BLOCKS];
    let mut n_full = 0;
    for (d, &j) in present.iter().zip(columns) {
        if d.len() == block_size {
            if let (Some(f), Some(c)) = (full.get_mut(n_full), full_columns.get_mut(n_full)) {
                *f = d;
                *c = j;
                n_full += 1;
            }
        } else {
            kernel.dot(fec, &[d], d.len(), true, |t, _| {
                coefficient_unchecked(rows.get(t).copied().unwrap_or(0), j)
            });
        }
    }
    let full_columns = &full_columns[..n_full];
    kernel.dot(fec, &full[..n_full], block_size, true, |t, jj| {
        coefficient_unchecked(
            rows.get(t).copied().unwrap_or(0),
            full_columns.get(jj).copied().unwrap_or(0),
        )
    });
}
