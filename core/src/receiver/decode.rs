//! Rebuilding a slice's missing data blocks in place (PROTOCOL.md §5.6).
//!
//! The receiver keeps each FEC block in the cell of a missing data block of its stripe
//! (see `slot`), so the FEC payloads F and the blocks to rebuild D share memory. Instead of
//! inverting the e × e matrix M and then computing D = M⁻¹·F into separate buffers, the
//! same Gauss–Jordan row operations that turn M into the identity are applied to the F
//! blocks themselves: the same e² multiply-accumulates, and no block-sized scratch.

use crate::fec::{cauchy, gf256, Kernel};

/// The most columns (and so erasures) of one stripe.
const MAX_E: usize = cauchy::MAX_COLUMNS;

/// Matrix scratch for [`decode_slice_in_place`]: 16 KiB, kept by the receiver so that it
/// lives neither on a small target's stack nor on a heap.
pub(crate) struct Scratch {
    matrix: [[u8; MAX_E]; MAX_E],
    /// The cell each matrix row's FEC block occupies (rows get swapped while pivoting).
    row_cell: [u16; MAX_E],
    /// Per erasure u: its cell (column m_u of the stripe sits at cell m_u·S + s).
    missing_cell: [u16; MAX_E],
    row_of: [u8; MAX_E],
}

impl Scratch {
    pub(crate) const fn new() -> Self {
        Scratch {
            matrix: [[0; MAX_E]; MAX_E],
            row_cell: [0; MAX_E],
            missing_cell: [0; MAX_E],
            row_of: [0; MAX_E],
        }
    }
}

/// Rebuilds, for every stripe of a slice of `blocks` blocks and `stripes` stripes, the data
/// blocks whose cells hold FEC blocks (`fec_row_at(cell)` gives the row held there). Every
/// other cell must hold its data block, zero-padded to `block_size`; the slot guarantees a
/// stripe holds exactly as many FEC blocks as it misses data blocks when it is whole.
pub(crate) fn decode_slice_in_place(
    kernel: Kernel,
    scratch: &mut Scratch,
    region: &mut [u8],
    block_size: usize,
    blocks: usize,
    stripes: usize,
    fec_row_at: impl Fn(usize) -> Option<u8>,
) {
    if stripes == 0 || region.len() < blocks * block_size {
        return;
    }
    for s in 0..stripes.min(blocks) {
        let mut e = 0;
        for cell in (s..blocks).step_by(stripes) {
            if let Some(row) = fec_row_at(cell) {
                if e == MAX_E {
                    return;
                }
                scratch.missing_cell[e] = cell as u16;
                scratch.row_cell[e] = cell as u16;
                scratch.row_of[e] = row;
                e += 1;
            }
        }
        if e != 0 {
            decode_stripe(kernel, scratch, region, block_size, blocks, stripes, s, e);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn decode_stripe(
    kernel: Kernel,
    scratch: &mut Scratch,
    region: &mut [u8],
    block_size: usize,
    blocks: usize,
    stripes: usize,
    s: usize,
    e: usize,
) {
    let column = |cell: usize| (cell / stripes) as u8;
    let coefficient = |row: u8, col: u8| cauchy::coefficient(row, col).unwrap_or(0);

    // 1. Take the present data out of each FEC block: F_t ^= C[r_t][j]·D_j.
    for cell in (s..blocks).step_by(stripes) {
        if scratch.missing_cell[..e].contains(&(cell as u16)) {
            continue;
        }
        for t in 0..e {
            let c = coefficient(scratch.row_of[t], column(cell));
            let (dst, src) = cell_pair(region, block_size, usize::from(scratch.row_cell[t]), cell);
            kernel.mul_acc_prefix(dst, src, c);
        }
    }

    // 2. M[t][u] = C[r_t][m_u], reduced to the identity; every row operation is repeated
    //    on the FEC blocks, which thereby become the missing data blocks.
    for t in 0..e {
        for u in 0..e {
            scratch.matrix[t][u] = coefficient(
                scratch.row_of[t],
                column(usize::from(scratch.missing_cell[u])),
            );
        }
    }
    for u in 0..e {
        // Every square sub-matrix of a Cauchy matrix is invertible, so a pivot exists.
        let Some(pivot) = (u..e).find(|&t| scratch.matrix[t][u] != 0) else {
            return;
        };
        scratch.matrix.swap(u, pivot);
        scratch.row_cell.swap(u, pivot);
        let scale = gf256::inv(scratch.matrix[u][u]).unwrap_or(1);
        for x in &mut scratch.matrix[u][..e] {
            *x = gf256::mul(*x, scale);
        }
        scale_in_place(
            kernel,
            cell_mut(region, block_size, usize::from(scratch.row_cell[u])),
            scale,
        );
        for t in 0..e {
            let c = scratch.matrix[t][u];
            if t == u || c == 0 {
                continue;
            }
            let pivot_row = scratch.matrix[u];
            for (x, p) in scratch.matrix[t][..e].iter_mut().zip(&pivot_row[..e]) {
                *x ^= gf256::mul(c, *p);
            }
            let (dst, src) = cell_pair(
                region,
                block_size,
                usize::from(scratch.row_cell[t]),
                usize::from(scratch.row_cell[u]),
            );
            kernel.mul_acc_prefix(dst, src, c);
        }
    }

    // 3. Row u now holds D_{m_u} but sits in cell row_cell[u]: move each into its own cell.
    for u in 0..e {
        while scratch.row_cell[u] != scratch.missing_cell[u] {
            let Some(v) = (u + 1..e).find(|&v| scratch.row_cell[v] == scratch.missing_cell[u])
            else {
                return;
            };
            let (a, b) = cells_mut(
                region,
                block_size,
                usize::from(scratch.row_cell[u]),
                usize::from(scratch.row_cell[v]),
            );
            a.swap_with_slice(b);
            scratch.row_cell.swap(u, v);
        }
    }
}

/// `block *= c` without a second block of memory: the kernels read and write different
/// buffers, so go through a small copy.
fn scale_in_place(kernel: Kernel, block: &mut [u8], c: u8) {
    let mut copy = [0u8; 256];
    for chunk in block.chunks_mut(copy.len()) {
        let copy = &mut copy[..chunk.len()];
        copy.copy_from_slice(chunk);
        kernel.mul_prefix(chunk, copy, c);
    }
}

fn cell_mut(region: &mut [u8], block_size: usize, cell: usize) -> &mut [u8] {
    region
        .get_mut(cell * block_size..(cell + 1) * block_size)
        .unwrap_or(&mut [])
}

/// Two distinct cells, both writable (`a != b`).
fn cells_mut(region: &mut [u8], block_size: usize, a: usize, b: usize) -> (&mut [u8], &mut [u8]) {
    let (low, high, swapped) = if a < b { (a, b, false) } else { (b, a, true) };
    let (head, tail) = region.split_at_mut((high * block_size).min(region.len()));
    let low_cell = head
        .get_mut(low * block_size..(low + 1) * block_size)
        .unwrap_or(&mut []);
    let high_cell = tail.get_mut(..block_size).unwrap_or(&mut []);
    if swapped {
        (high_cell, low_cell)
    } else {
        (low_cell, high_cell)
    }
}

/// Cell `dst` to write and cell `src` to read (`dst != src`).
fn cell_pair(region: &mut [u8], block_size: usize, dst: usize, src: usize) -> (&mut [u8], &[u8]) {
    let (d, s) = cells_mut(region, block_size, dst, src);
    (d, s)
}
