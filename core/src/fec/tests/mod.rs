//! Round trips through [`Encoder`] and [`Decoder`]: any `redundancy` erasures per stripe
//! are rebuilt exactly (PROTOCOL.md §5.4, §5.6), with every kernel. This module holds the
//! test data generator and sizes the groups share.

mod arguments;
mod in_place;
mod round_trips;

use super::*;

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

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

fn kernels() -> impl Iterator<Item = Kernel> {
    KernelKind::ALL.into_iter().filter_map(Kernel::new)
}

const BS: usize = 24;
const MAX_BLOCKS: usize = 64;
const MAX_FEC: usize = 64;
