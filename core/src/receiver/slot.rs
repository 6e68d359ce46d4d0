//! One slice being received: which data blocks arrived, which FEC blocks stand in for the
//! missing ones, and when the slice is whole (PROTOCOL.md §4.4–§4.6).
//!
//! The slice's bytes live in a region of the caller's storage, one block-sized cell per data
//! block. A FEC block is kept in the cell of a data block of its stripe that is still
//! missing: a stripe never holds more FEC blocks than it misses data blocks (§4.6), so a
//! slice needs no memory beyond its own blocks, and decoding rebuilds the missing blocks in
//! the very cells that held the FEC blocks.

use crate::wire::{Bitmap1024, MAX_BLOCKS_PER_SLICE};

/// Marks a cell that holds no FEC block.
const NO_FEC: u8 = u8::MAX;
/// udpcast's receiver keeps a table of 256 stripes (PROTOCOL.md §5.1).
pub(crate) const MAX_STRIPES: usize = 256;
/// The Cauchy code of §5.4 has 128 rows and 128 columns.
const MAX_FEC_DIMENSION: usize = 128;

/// What became of a DATA or FEC block offered to a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Kept; it counts toward completing the slice.
    Kept,
    /// Already held, or no longer needed.
    Redundant,
    /// Inconsistent with the slice (wrong length, block beyond the slice, other stripe
    /// count): dropped so it cannot corrupt the image.
    Invalid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotState {
    Free,
    Open,
    Complete,
}

pub(crate) struct Slot {
    pub(crate) state: SlotState,
    pub(crate) slice: u32,
    /// The slice's byte count, once any DATA, FEC or REQACK told it.
    pub(crate) bytes: Option<u32>,
    /// Data blocks that arrived (what a RETRANSMIT reports).
    pub(crate) received: Bitmap1024,
    data_count: u16,
    fec_count: u16,
    /// The slice's stripe count, fixed by its first FEC block; 0 before.
    stripes: u16,
    /// Per cell: the FEC row held there, or `NO_FEC`.
    fec_row: [u8; MAX_BLOCKS_PER_SLICE],
    /// Per stripe: data blocks still missing and FEC blocks held (valid once `stripes` is set).
    missing: [u8; MAX_STRIPES],
    held: [u8; MAX_STRIPES],
}

impl Slot {
    pub(crate) const fn new() -> Self {
        Slot {
            state: SlotState::Free,
            slice: 0,
            bytes: None,
            received: Bitmap1024::new(),
            data_count: 0,
            fec_count: 0,
            stripes: 0,
            fec_row: [NO_FEC; MAX_BLOCKS_PER_SLICE],
            missing: [0; MAX_STRIPES],
            held: [0; MAX_STRIPES],
        }
    }

    pub(crate) fn open(&mut self, slice: u32) {
        *self = Slot::new();
        self.state = SlotState::Open;
        self.slice = slice;
    }

    pub(crate) fn free(&mut self) {
        self.state = SlotState::Free;
    }

    /// Blocks in the slice: `ceil(bytes / block_size)`, 0 while unknown.
    pub(crate) fn blocks(&self, block_size: usize) -> usize {
        self.bytes.map_or(0, |b| (b as usize).div_ceil(block_size))
    }

    /// Whether every block is held, as data or as FEC that can rebuild it.
    pub(crate) fn is_whole(&self, block_size: usize) -> bool {
        self.bytes.is_some()
            && usize::from(self.data_count) + usize::from(self.fec_count) == self.blocks(block_size)
    }

    /// Whether some held FEC block must be decoded before the slice can be written.
    pub(crate) fn needs_decoding(&self) -> bool {
        self.fec_count != 0
    }

    /// FEC blocks held.
    pub(crate) fn fec_blocks(&self) -> u16 {
        self.fec_count
    }

    /// Offers a DATA block. `region` is the slot's storage (at least `blocks × block_size`).
    pub(crate) fn add_data(
        &mut self,
        region: &mut [u8],
        block_size: usize,
        block: usize,
        payload: &[u8],
    ) -> Stored {
        let Some(bytes) = self.bytes else {
            return Stored::Invalid;
        };
        let blocks = self.blocks(block_size);
        let start = block * block_size;
        // §2.6: every block is full but a slice's last, which is not padded.
        if block >= blocks || payload.len() != (bytes as usize - start).min(block_size) {
            return Stored::Invalid;
        }
        if self.received.contains(block) {
            return Stored::Redundant;
        }
        if self.stripes != 0 {
            self.make_room_for_data(region, block_size, block, blocks);
        }
        let Some(cell) = region.get_mut(start..start + block_size) else {
            return Stored::Invalid;
        };
        let (data, padding) = cell.split_at_mut(payload.len());
        data.copy_from_slice(payload);
        // The short last block is zero-padded for the FEC computation (§5.5).
        padding.fill(0);
        self.received.insert(block);
        self.data_count += 1;
        Stored::Kept
    }

    /// A data block of stripe `s` arrived: the stripe misses one block less, so it may now
    /// hold one FEC block too many (release one), and the arriving block's cell may hold a
    /// FEC block that must move to another missing cell of the stripe.
    fn make_room_for_data(
        &mut self,
        region: &mut [u8],
        block_size: usize,
        block: usize,
        blocks: usize,
    ) {
        let stripes = usize::from(self.stripes);
        let s = block % stripes;
        self.missing[s] = self.missing[s].saturating_sub(1);
        let surplus = self.held[s] > self.missing[s];
        let row_here = self.fec_row[block];
        if surplus {
            // Drop the FEC block in this cell if there is one, else any of the stripe.
            let victim = if row_here != NO_FEC {
                Some(block)
            } else {
                (s..blocks)
                    .step_by(stripes)
                    .find(|&c| self.fec_row[c] != NO_FEC)
            };
            if let Some(cell) = victim {
                self.fec_row[cell] = NO_FEC;
                self.held[s] -= 1;
                self.fec_count -= 1;
            }
        } else if row_here != NO_FEC {
            let free = (s..blocks)
                .step_by(stripes)
                .find(|&c| c != block && !self.received.contains(c) && self.fec_row[c] == NO_FEC);
            if let Some(cell) = free {
                region.copy_within(
                    block * block_size..(block + 1) * block_size,
                    cell * block_size,
                );
                self.fec_row[cell] = row_here;
            }
            self.fec_row[block] = NO_FEC;
        }
    }

    /// Offers a FEC block with the slice's stripe count and its block number `r·S + s`.
    pub(crate) fn add_fec(
        &mut self,
        region: &mut [u8],
        block_size: usize,
        stripes: u16,
        fec_block: u16,
        payload: &[u8],
    ) -> Stored {
        let blocks = self.blocks(block_size);
        if blocks == 0 || payload.len() != block_size {
            return Stored::Invalid;
        }
        if self.stripes == 0 {
            if !self.fix_stripes(stripes, blocks) {
                return Stored::Invalid;
            }
        } else if self.stripes != stripes {
            // udpcast prints "Interleave mismatch" and ignores the block (§4.6).
            return Stored::Invalid;
        }
        let stripes = usize::from(stripes);
        let (s, row) = (
            usize::from(fec_block) % stripes,
            usize::from(fec_block) / stripes,
        );
        if row >= MAX_FEC_DIMENSION {
            return Stored::Invalid;
        }
        if self.held[s] >= self.missing[s] {
            return Stored::Redundant;
        }
        let mut free = None;
        for cell in (s..blocks).step_by(stripes) {
            if usize::from(self.fec_row[cell]) == row {
                return Stored::Redundant;
            }
            if free.is_none() && !self.received.contains(cell) && self.fec_row[cell] == NO_FEC {
                free = Some(cell);
            }
        }
        let Some(cell) = free else {
            return Stored::Redundant;
        };
        let Some(dst) = region.get_mut(cell * block_size..(cell + 1) * block_size) else {
            return Stored::Invalid;
        };
        dst.copy_from_slice(payload);
        self.fec_row[cell] = row as u8;
        self.held[s] += 1;
        self.fec_count += 1;
        Stored::Kept
    }

    /// Fixes the stripe count from the first FEC block and counts each stripe's missing data
    /// blocks. Refuses counts the code cannot serve (§5.1): over 256 stripes, or a stripe of
    /// more than 128 data blocks.
    fn fix_stripes(&mut self, stripes: u16, blocks: usize) -> bool {
        let s_count = usize::from(stripes);
        if s_count == 0 || s_count > MAX_STRIPES || blocks.div_ceil(s_count) > MAX_FEC_DIMENSION {
            return false;
        }
        self.stripes = stripes;
        for s in 0..s_count {
            let missing = (s..blocks)
                .step_by(s_count)
                .filter(|&c| !self.received.contains(c))
                .count();
            self.missing[s] = missing as u8;
            self.held[s] = 0;
        }
        true
    }

    /// The FEC row held in cell `cell`, if any.
    pub(crate) fn fec_row_at(&self, cell: usize) -> Option<u8> {
        match self.fec_row.get(cell) {
            Some(&row) if row != NO_FEC => Some(row),
            _ => None,
        }
    }

    /// The slice's stripe count (0 when no FEC block arrived).
    pub(crate) fn stripes(&self) -> u16 {
        self.stripes
    }

    /// After decoding: every cell holds data.
    pub(crate) fn mark_decoded(&mut self, block_size: usize) {
        let blocks = self.blocks(block_size);
        self.received = Bitmap1024::first_n(blocks);
        self.data_count = blocks as u16;
        self.fec_count = 0;
        self.fec_row = [NO_FEC; MAX_BLOCKS_PER_SLICE];
        self.held = [0; MAX_STRIPES];
        self.missing = [0; MAX_STRIPES];
    }

    /// Gives up on the blocks still missing (`--ignore-lost-data`): zero-fills every cell that
    /// holds neither data nor a FEC block, and drops the FEC blocks of stripes that cannot be
    /// decoded, zero-filling their cells too. Returns how many data blocks are lost.
    pub(crate) fn give_up_missing(&mut self, region: &mut [u8], block_size: usize) -> usize {
        let blocks = self.blocks(block_size);
        let mut lost = 0;
        let stripes = usize::from(self.stripes.max(1));
        for s in 0..stripes.min(blocks) {
            let decodable = self.stripes != 0 && self.held[s] == self.missing[s];
            for cell in (s..blocks).step_by(stripes) {
                if self.received.contains(cell) || (decodable && self.fec_row[cell] != NO_FEC) {
                    continue;
                }
                if self.fec_row[cell] != NO_FEC {
                    self.fec_row[cell] = NO_FEC;
                    self.held[s] -= 1;
                    self.fec_count -= 1;
                }
                if let Some(dst) = region.get_mut(cell * block_size..(cell + 1) * block_size) {
                    dst.fill(0);
                }
                // The zeros now stand for the block: count them as data so the slice is whole.
                self.received.insert(cell);
                self.data_count += 1;
                if self.stripes != 0 {
                    self.missing[s] = self.missing[s].saturating_sub(1);
                }
                lost += 1;
            }
        }
        lost
    }
}
