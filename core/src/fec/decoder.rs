//! The receiver's side: rebuild a stripe's missing data blocks from the blocks that arrived
//! and as many FEC rows (PROTOCOL.md §5.6).
//!
//! With e data blocks missing at columns m_0 < … < m_{e−1} and e FEC rows r_0 … r_{e−1}:
//! 1. take the present data out of the FEC rows: `F_t ^= C[r_t][j] · D_j` for every
//!    present column j, leaving `F_t = Σ_u C[r_t][m_u] · D_{m_u}`;
//! 2. invert the e × e matrix `M[t][u] = C[r_t][m_u]` (Gauss–Jordan over GF(2^8); a Cauchy
//!    matrix, so always invertible);
//! 3. `D_{m_u} = Σ_t M⁻¹[u][t] · F_t`.
//!
//! Step 1 works in place in the caller's FEC buffers, so no block-sized scratch is needed;
//! the matrix lives inside the [`Decoder`] (16 KiB), not on the stack.
//!
//! Step 1, the matrix of step 2, and the two ways [`Decoder::decode_slice_in_place`] takes
//! through steps 2–3 are in `solve.rs`.

use super::cauchy::MAX_ROWS;
use super::error::FecError;
use super::geometry::{check_block_size, SliceGeometry};
use super::kernels::Kernel;
use super::solve::eliminate_present;
use super::MAX_STRIPE_BLOCKS;

/// One column of a stripe handed to [`Decoder::decode_stripe`].
#[derive(Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Column<'a> {
    /// A data block that arrived: at most one block long; a shorter one (a slice's last
    /// block) counts as zero-padded.
    Present(&'a [u8]),
    /// A data block that did not arrive: receives as many recovered bytes as it is long
    /// (a slice's short last block is truncated this way, §5.6 step 3).
    Missing(&'a mut [u8]),
}

/// A FEC block of one stripe, for [`Decoder::decode_stripe`].
#[derive(Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecRow<'a> {
    /// Its row r (below 128): FEC block number b of a slice with S stripes is row b div S.
    pub row: usize,
    /// Its payload, exactly one block. Overwritten by decoding if the row is used.
    pub payload: &'a mut [u8],
}

/// A FEC block of a slice as it came off the wire, for [`Decoder::decode_slice`].
#[derive(Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FecBlock<'a> {
    /// Its FEC block number b = r·S + s (the `block` field of the FEC header, §2.7).
    pub number: u16,
    /// Its payload, exactly one block. Overwritten by decoding if the block is used.
    pub payload: &'a mut [u8],
}

/// Rebuilds missing data blocks (see the module documentation). Holds the 128 × 128
/// matrix scratch, so a receiver keeps one and reuses it.
#[derive(Clone)]
pub struct Decoder {
    pub(super) kernel: Kernel,
    pub(super) block_size: usize,
    pub(super) matrix: [u8; MAX_ROWS * MAX_ROWS],
    pub(super) pivot: [u8; MAX_ROWS],
}

impl core::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decoder")
            .field("kernel", &self.kernel)
            .field("block_size", &self.block_size)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Decoder {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Decoder {{ kernel: {}, block_size: {} }}",
            self.kernel,
            self.block_size
        )
    }
}

/// A stripe's arguments after checking: which columns are present (full or short) and
/// missing, which FEC payloads are used for which row.
struct Plan<'c, 'f> {
    present: [&'c [u8]; MAX_STRIPE_BLOCKS],
    present_columns: [usize; MAX_STRIPE_BLOCKS],
    n_present: usize,
    missing: [&'c mut [u8]; MAX_STRIPE_BLOCKS],
    missing_columns: [usize; MAX_STRIPE_BLOCKS],
    n_missing: usize,
    fec: [&'f mut [u8]; MAX_ROWS],
    rows: [usize; MAX_ROWS],
    n_fec: usize,
}

impl<'c, 'f> Plan<'c, 'f> {
    fn new() -> Self {
        Plan {
            present: [&[]; MAX_STRIPE_BLOCKS],
            present_columns: [0; MAX_STRIPE_BLOCKS],
            n_present: 0,
            missing: core::array::from_fn(|_| Default::default()),
            missing_columns: [0; MAX_STRIPE_BLOCKS],
            n_missing: 0,
            fec: core::array::from_fn(|_| Default::default()),
            rows: [0; MAX_ROWS],
            n_fec: 0,
        }
    }

    /// Adds column `column`; callers add at most 128.
    fn column(&mut self, column: usize, data: Column<'c>) {
        match data {
            Column::Present(d) => {
                if let (Some(p), Some(c)) = (
                    self.present.get_mut(self.n_present),
                    self.present_columns.get_mut(self.n_present),
                ) {
                    *p = d;
                    *c = column;
                    self.n_present += 1;
                }
            }
            Column::Missing(d) => {
                if let (Some(m), Some(c)) = (
                    self.missing.get_mut(self.n_missing),
                    self.missing_columns.get_mut(self.n_missing),
                ) {
                    *m = d;
                    *c = column;
                    self.n_missing += 1;
                }
            }
        }
    }

    /// Offers a FEC payload of row `row` (< 128); taken only while more are needed and if
    /// no payload of that row was taken yet.
    fn offer_fec(&mut self, row: usize, payload: &'f mut [u8]) {
        if self.n_fec >= self.n_missing || self.rows[..self.n_fec].contains(&row) {
            return;
        }
        if let (Some(f), Some(r)) = (self.fec.get_mut(self.n_fec), self.rows.get_mut(self.n_fec)) {
            *f = payload;
            *r = row;
            self.n_fec += 1;
        }
    }
}

/// Distinct rows below 128 among `rows`, as a 128-bit set.
fn distinct_rows(rows: impl Iterator<Item = usize>) -> u32 {
    let mut seen = 0u128;
    for row in rows.filter(|&r| r < MAX_ROWS) {
        seen |= 1 << row;
    }
    seen.count_ones()
}

impl Decoder {
    /// A decoder for blocks of `block_size` bytes (1 ..= 65 535), computing with `kernel`.
    pub const fn new(block_size: usize, kernel: Kernel) -> Result<Self, FecError> {
        if let Err(e) = check_block_size(block_size) {
            return Err(e);
        }
        Ok(Decoder {
            kernel,
            block_size,
            matrix: [0; MAX_ROWS * MAX_ROWS],
            pivot: [0; MAX_ROWS],
        })
    }

    /// The block size it decodes.
    pub const fn block_size(&self) -> usize {
        self.block_size
    }

    /// The kernel it computes with.
    pub const fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Rebuilds the missing columns of one stripe in place and returns how many there were.
    ///
    /// `columns[j]` is column j of the stripe (at most 128, each at most one block). `fec`
    /// holds the FEC blocks received for the stripe, any order, duplicates allowed; the
    /// first payload of each distinct row is used until there are as many as missing
    /// columns, and the payloads used are overwritten with intermediate values. Fails,
    /// changing nothing, if an argument is out of range or there are fewer distinct rows
    /// than missing columns.
    pub fn decode_stripe(
        &mut self,
        columns: &mut [Column<'_>],
        fec: &mut [FecRow<'_>],
    ) -> Result<usize, FecError> {
        if columns.len() > MAX_STRIPE_BLOCKS {
            return Err(FecError::StripeTooLong {
                blocks: columns.len(),
            });
        }
        for (index, column) in columns.iter().enumerate() {
            let len = match column {
                Column::Present(d) => d.len(),
                Column::Missing(d) => d.len(),
            };
            if len > self.block_size {
                return Err(FecError::BlockTooLong { index, len });
            }
        }
        self.check_fec(fec.iter().map(|f| (f.row, f.payload.len())))?;
        let missing = columns
            .iter()
            .filter(|c| matches!(c, Column::Missing(_)))
            .count();
        let available = distinct_rows(fec.iter().map(|f| f.row)) as usize;
        if available < missing {
            return Err(FecError::NotEnoughFec {
                stripe: 0,
                missing,
                available,
            });
        }
        if missing == 0 {
            return Ok(0);
        }
        let mut plan = Plan::new();
        for (j, column) in columns.iter_mut().enumerate() {
            let column = match column {
                Column::Present(d) => Column::Present(d),
                Column::Missing(d) => Column::Missing(d),
            };
            plan.column(j, column);
        }
        for f in fec.iter_mut() {
            plan.offer_fec(f.row, &mut *f.payload);
        }
        self.recover(&mut plan)
    }

    /// Rebuilds every stripe of a slice that misses data blocks, in place, and returns how
    /// many blocks were rebuilt.
    ///
    /// `slice` holds the slice's blocks back to back (block i at `i × blockSize`; at least
    /// `geometry.bytes()` long, further bytes are not touched); `received` is the bitmap of
    /// data blocks that arrived (bit i in byte i / 8 under mask `1 << (i % 8)`, as on the
    /// wire); `fec` holds the slice's stored FEC blocks, any order, duplicates allowed (those
    /// of complete stripes are ignored). Payloads that are used are overwritten. Fails,
    /// changing nothing, if an argument does not fit the geometry or a stripe misses more
    /// blocks than it has distinct FEC rows.
    pub fn decode_slice(
        &mut self,
        geometry: &SliceGeometry,
        slice: &mut [u8],
        received: &[u8],
        fec: &mut [FecBlock<'_>],
    ) -> Result<usize, FecError> {
        if geometry.block_size() != self.block_size {
            return Err(FecError::BlockSizeMismatch {
                decoder: self.block_size,
                geometry: geometry.block_size(),
            });
        }
        let bytes = geometry.bytes();
        let Some(slice) = slice.get_mut(..bytes) else {
            return Err(FecError::SliceTooShort {
                bytes,
                actual: slice.len(),
            });
        };
        let blocks = geometry.blocks();
        if received.len() < blocks.div_ceil(8) {
            return Err(FecError::BitmapTooShort {
                expected: blocks.div_ceil(8),
                actual: received.len(),
            });
        }
        let present = |i: usize| received.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        self.check_fec(
            fec.iter()
                .map(|f| (geometry.fec_position(f.number).row, f.payload.len())),
        )?;
        let stripes = geometry.stripes();
        let missing_in = |stripe: usize| {
            (stripe..blocks)
                .step_by(stripes)
                .filter(|&i| !present(i))
                .count()
        };
        // Check every stripe before touching any, so that a failure changes nothing.
        for stripe in 0..stripes {
            let missing = missing_in(stripe);
            if missing == 0 {
                continue;
            }
            let available = distinct_rows(
                fec.iter()
                    .map(|f| geometry.fec_position(f.number))
                    .filter(|p| p.stripe == stripe)
                    .map(|p| p.row),
            ) as usize;
            if available < missing {
                return Err(FecError::NotEnoughFec {
                    stripe,
                    missing,
                    available,
                });
            }
        }
        let mut recovered = 0;
        for stripe in 0..stripes {
            if missing_in(stripe) == 0 {
                continue;
            }
            let mut plan = Plan::new();
            let stripe_blocks = slice
                .chunks_mut(self.block_size)
                .enumerate()
                .skip(stripe)
                .step_by(stripes);
            for (j, (i, block)) in stripe_blocks.enumerate() {
                let column = if present(i) {
                    Column::Present(&*block)
                } else {
                    Column::Missing(block)
                };
                plan.column(j, column);
            }
            for f in fec.iter_mut() {
                let position = geometry.fec_position(f.number);
                if position.stripe == stripe {
                    plan.offer_fec(position.row, &mut *f.payload);
                }
            }
            recovered += self.recover(&mut plan)?;
        }
        Ok(recovered)
    }

    /// Checks FEC rows (`row`, payload length): rows below 128, payloads one block long.
    fn check_fec(&self, fec: impl Iterator<Item = (usize, usize)>) -> Result<(), FecError> {
        for (index, (row, len)) in fec.enumerate() {
            if row >= MAX_ROWS {
                return Err(FecError::FecRow { row });
            }
            if len != self.block_size {
                return Err(FecError::FecPayloadLength { index, len });
            }
        }
        Ok(())
    }

    /// Steps 1–3 of the module documentation on a checked plan with as many FEC payloads as
    /// missing columns.
    fn recover(&mut self, plan: &mut Plan<'_, '_>) -> Result<usize, FecError> {
        let e = plan.n_missing;
        if e == 0 {
            return Ok(0);
        }
        if plan.n_fec != e {
            return Err(FecError::NotEnoughFec {
                stripe: 0,
                missing: e,
                available: plan.n_fec,
            });
        }
        let block_size = self.block_size;
        let kernel = self.kernel;
        let rows = &plan.rows[..e];
        let fec = &mut plan.fec[..e];

        // Step 1.
        eliminate_present(
            kernel,
            block_size,
            fec,
            rows,
            &plan.present[..plan.n_present],
            &plan.present_columns[..plan.n_present],
        );

        // Step 2.
        self.invert_system(rows, &plan.missing_columns[..e])?;

        // Step 3: D_{m_u} = Σ_t M⁻¹[u][t] · F_t; full slots in one pass, a short one (the
        // slice's last block) over its own length.
        let matrix = &self.matrix[..e * e];
        let mut sources = [&[][..]; MAX_ROWS];
        for (s, f) in sources.iter_mut().zip(fec.iter()) {
            *s = &**f;
        }
        let sources = &sources[..e];
        let missing = &mut plan.missing[..e];
        let mut full: [&mut [u8]; MAX_STRIPE_BLOCKS] = core::array::from_fn(|_| Default::default());
        let mut full_rows = [0usize; MAX_STRIPE_BLOCKS];
        let mut n_full = 0;
        for (u, d) in missing.iter_mut().enumerate() {
            if d.len() == block_size {
                full[n_full] = &mut **d;
                full_rows[n_full] = u;
                n_full += 1;
            } else {
                let len = d.len();
                kernel.dot(&mut [&mut **d], sources, len, false, |_, t| {
                    matrix[u * e + t]
                });
            }
        }
        kernel.dot(&mut full[..n_full], sources, block_size, false, |uu, t| {
            matrix[full_rows[uu] * e + t]
        });
        Ok(e)
    }

    /// Rebuilds every missing data block of a slice in the very cell that holds a FEC block
    /// for it, and returns how many blocks were rebuilt.
    ///
    /// This is the layout of a receiver that stores each FEC block it keeps in the cell of
    /// a data block of the same stripe that did not arrive (a stripe never needs more FEC
    /// blocks than it misses data blocks, PROTOCOL.md §4.6), so that a slice needs no
    /// memory beyond its own cells:
    ///
    /// * `slice` holds the slice's `geometry.blocks()` cells back to back, each a full
    ///   block long (cell i at `i × blockSize`; at least `blocks × blockSize` bytes, even
    ///   when the last block is short; further bytes are not touched);
    /// * `fec_row_at(i)` is `Some(r)` if cell i holds, instead of data block i, the FEC
    ///   block of row r (FEC block number `r × S + i mod S`) of block i's stripe, and
    ///   `None` if cell i holds data block i itself. It is asked about each cell below
    ///   `blocks` once to check the arguments and once more to decode, and must give the
    ///   same answers both times;
    /// * the FEC blocks of one stripe must have distinct rows below 128: then a stripe
    ///   holds exactly as many FEC blocks as it misses data blocks, which is what the code
    ///   needs to rebuild them (§5.6).
    ///
    /// Every cell holding a FEC block is overwritten with the data block it stands for, in
    /// full: a short last block comes out followed by the zeros it was padded with for
    /// the FEC computation (§5.5). A present short last block counts as zero-padded
    /// whatever its cell holds past its end, and is not changed. Cells of stripes holding
    /// no FEC block are only read.
    ///
    /// Fails, changing nothing, if `geometry` has another block size, `slice` is shorter
    /// than the cells, a row is 128 or more, or a stripe holds two FEC blocks of the same
    /// row ([`FecError::NotEnoughFec`]: fewer distinct rows than missing blocks). Only a
    /// `fec_row_at` that changes its answers between the two rounds can make it fail
    /// after some stripes were rebuilt.
    ///
    /// ```
    /// use udpcast_core::fec::{Decoder, Encoder, FecConfig, Kernel};
    ///
    /// let config = FecConfig::new(2, 1, 4).unwrap(); // 2 stripes, 1 FEC block each
    /// let kernel = Kernel::detect();
    /// let data = *b"abcdefghijklmn"; // 4 blocks, the last one short
    /// let mut fec = [0u8; 8];
    /// Encoder::new(config, kernel).encode_slice(&data, &mut fec).unwrap();
    ///
    /// // Blocks 1 (stripe 1) and 2 (stripe 0) are lost; each cell holds the FEC block of
    /// // row 0 of its stripe instead (FEC block numbers 1 and 0).
    /// let mut cells = [0u8; 16];
    /// cells[..14].copy_from_slice(&data);
    /// cells[4..8].copy_from_slice(&fec[4..8]);
    /// cells[8..12].copy_from_slice(&fec[..4]);
    /// let fec_row_at = |cell: usize| matches!(cell, 1 | 2).then_some(0);
    ///
    /// let geometry = config.slice(data.len()).unwrap();
    /// let mut decoder = Decoder::new(4, kernel).unwrap();
    /// let n = decoder.decode_slice_in_place(&geometry, &mut cells, fec_row_at).unwrap();
    /// assert_eq!((n, &cells[..14]), (2, &data[..]));
    /// ```
    pub fn decode_slice_in_place(
        &mut self,
        geometry: &SliceGeometry,
        slice: &mut [u8],
        fec_row_at: impl Fn(usize) -> Option<u8>,
    ) -> Result<usize, FecError> {
        if geometry.block_size() != self.block_size {
            return Err(FecError::BlockSizeMismatch {
                decoder: self.block_size,
                geometry: geometry.block_size(),
            });
        }
        let blocks = geometry.blocks();
        let cells_len = blocks.saturating_mul(self.block_size);
        let Some(slice) = slice.get_mut(..cells_len) else {
            return Err(FecError::SliceTooShort {
                bytes: cells_len,
                actual: slice.len(),
            });
        };
        let stripes = geometry.stripes();
        // Check every stripe before touching any, so that a failure changes nothing.
        let mut missing = 0;
        for stripe in 0..stripes.min(blocks) {
            missing += stripe_fec_rows(geometry, stripe, &fec_row_at)?;
        }
        if missing == 0 {
            return Ok(0);
        }
        let mut recovered = 0;
        for stripe in 0..stripes.min(blocks) {
            recovered += self.recover_in_place(geometry, slice, stripe, &fec_row_at)?;
        }
        Ok(recovered)
    }

    /// Steps 1–3 for stripe `stripe` of a slice laid out as
    /// [`decode_slice_in_place`](Self::decode_slice_in_place) describes; `slice` is exactly
    /// the slice's cells.
    fn recover_in_place(
        &mut self,
        geometry: &SliceGeometry,
        slice: &mut [u8],
        stripe: usize,
        fec_row_at: &impl Fn(usize) -> Option<u8>,
    ) -> Result<usize, FecError> {
        let block_size = self.block_size;
        let kernel = self.kernel;
        let mut present = [&[][..]; MAX_STRIPE_BLOCKS];
        let mut present_columns = [0usize; MAX_STRIPE_BLOCKS];
        let mut n_present = 0;
        // Cells holding FEC blocks: F_t of row rows[t] in the cell of missing column
        // missing_columns[t], which is where D_{m_t} goes.
        let mut cells: [&mut [u8]; MAX_STRIPE_BLOCKS] =
            core::array::from_fn(|_| Default::default());
        let mut rows = [0usize; MAX_STRIPE_BLOCKS];
        let mut missing_columns = [0usize; MAX_STRIPE_BLOCKS];
        let mut e = 0;
        let mut seen = 0u128;
        let stripe_cells = slice
            .chunks_exact_mut(block_size)
            .enumerate()
            .skip(stripe)
            .step_by(geometry.stripes());
        for (j, (i, cell)) in stripe_cells.enumerate() {
            if let Some(row) = fec_row_at(i) {
                // Checked before; only a `fec_row_at` that changed its mind fails here.
                let row = usize::from(row);
                if row >= MAX_ROWS {
                    return Err(FecError::FecRow { row });
                }
                seen |= 1 << row;
                let (Some(c), Some(r), Some(m)) = (
                    cells.get_mut(e),
                    rows.get_mut(e),
                    missing_columns.get_mut(e),
                ) else {
                    return Err(FecError::StripeTooLong { blocks: j + 1 });
                };
                (*c, *r, *m) = (cell, row, j);
                e += 1;
            } else {
                let (Some(p), Some(c)) = (
                    present.get_mut(n_present),
                    present_columns.get_mut(n_present),
                ) else {
                    return Err(FecError::StripeTooLong { blocks: j + 1 });
                };
                let cell: &[u8] = cell;
                *p = cell.get(..geometry.block_len(i)).unwrap_or(cell);
                *c = j;
                n_present += 1;
            }
        }
        if e == 0 {
            return Ok(0);
        }
        let available = seen.count_ones() as usize;
        if available != e {
            return Err(FecError::NotEnoughFec {
                stripe,
                missing: e,
                available,
            });
        }
        let cells = &mut cells[..e];
        let rows = &rows[..e];

        // Step 1: the FEC cells are full blocks, the present data as long as it is.
        eliminate_present(
            kernel,
            block_size,
            cells,
            rows,
            &present[..n_present],
            &present_columns[..n_present],
        );

        // Steps 2–3. When the e FEC blocks fit next to the e × e matrix in the scratch, copy
        // them there and compute every D from the copies in one multi-row pass, as
        // `decode_slice` does; otherwise solve in place through M = L·U.
        let missing_columns = &missing_columns[..e];
        if e * e + e * block_size <= self.matrix.len() {
            self.solve_staged(cells, rows, missing_columns)?;
        } else {
            self.solve_lu(cells, rows, missing_columns)?;
        }
        Ok(e)
    }
}

/// Checks the rows `fec_row_at` reports for the cells of stripe `stripe` (below 128,
/// distinct) and returns how many cells hold FEC blocks.
fn stripe_fec_rows(
    geometry: &SliceGeometry,
    stripe: usize,
    fec_row_at: &impl Fn(usize) -> Option<u8>,
) -> Result<usize, FecError> {
    let mut seen = 0u128;
    let mut missing = 0;
    for cell in (stripe..geometry.blocks()).step_by(geometry.stripes()) {
        if let Some(row) = fec_row_at(cell) {
            let row = usize::from(row);
            if row >= MAX_ROWS {
                return Err(FecError::FecRow { row });
            }
            seen |= 1 << row;
            missing += 1;
        }
    }
    let available = seen.count_ones() as usize;
    if available < missing {
        return Err(FecError::NotEnoughFec {
            stripe,
            missing,
            available,
        });
    }
    Ok(missing)
}
