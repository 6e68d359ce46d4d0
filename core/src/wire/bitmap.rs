//! The 1024-bit sets carried by REQACK (clients that are ready) and RETRANSMIT (blocks
//! received), PROTOCOL.md §2.8, §2.10.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// A set of numbers `0..1024` stored as 128 bytes, least significant bit first: number `n`
/// lives in byte `n / 8` under mask `1 << (n % 8)` (PROTOCOL.md, notation).
///
/// 1024 is both the most blocks a slice may hold and the most clients a sender admits,
/// so one type serves as block bitmap and client set.
#[derive(Clone, PartialEq, Eq, Hash, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Bitmap1024([u8; Bitmap1024::BYTES]);

impl Bitmap1024 {
    /// How many numbers the set can hold.
    pub const BITS: usize = 1024;
    /// Its size on the wire.
    pub const BYTES: usize = Self::BITS / 8;

    /// The empty set.
    pub const fn new() -> Self {
        Bitmap1024([0; Self::BYTES])
    }

    /// The set `0..n` (every number below `n`; `n` is clamped to 1024).
    pub fn first_n(n: usize) -> Self {
        let mut set = Self::new();
        let n = n.min(Self::BITS);
        let (full, rest) = (n / 8, n % 8);
        for byte in &mut set.0[..full] {
            *byte = 0xff;
        }
        if rest != 0 {
            set.0[full] = (1u8 << rest) - 1;
        }
        set
    }

    /// The set whose wire form is `bytes`.
    pub const fn from_bytes(bytes: [u8; Self::BYTES]) -> Self {
        Bitmap1024(bytes)
    }

    /// The wire form.
    pub const fn as_bytes(&self) -> &[u8; Self::BYTES] {
        &self.0
    }

    /// Whether `n` is in the set; numbers of 1024 and above never are.
    pub fn contains(&self, n: usize) -> bool {
        match self.0.get(n / 8) {
            Some(byte) => byte & (1 << (n % 8)) != 0,
            None => false,
        }
    }

    /// Adds `n`; returns whether it was newly added. Numbers of 1024 and above cannot be
    /// held and are not added (returns `false`).
    pub fn insert(&mut self, n: usize) -> bool {
        match self.0.get_mut(n / 8) {
            Some(byte) => {
                let mask = 1 << (n % 8);
                let added = *byte & mask == 0;
                *byte |= mask;
                added
            }
            None => false,
        }
    }

    /// Removes `n`; returns whether it was present.
    pub fn remove(&mut self, n: usize) -> bool {
        match self.0.get_mut(n / 8) {
            Some(byte) => {
                let mask = 1 << (n % 8);
                let present = *byte & mask != 0;
                *byte &= !mask;
                present
            }
            None => false,
        }
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.0 = [0; Self::BYTES];
    }

    /// How many numbers are in the set.
    pub fn len(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// Adds every number of `other`.
    pub fn union_with(&mut self, other: &Bitmap1024) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }

    /// Adds every number that `other` lacks. This is how a sender turns a RETRANSMIT's
    /// "blocks received" map into blocks to send again (PROTOCOL.md §2.10).
    pub fn union_with_complement_of(&mut self, other: &Bitmap1024) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= !b;
        }
    }

    /// The numbers in the set, in increasing order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { set: self, next: 0 }
    }
}

impl Default for Bitmap1024 {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Bitmap1024 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Bitmap1024 {
    type Item = usize;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The numbers of a [`Bitmap1024`], in increasing order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    set: &'a Bitmap1024,
    next: usize,
}

impl Iterator for Iter<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        while self.next < Bitmap1024::BITS {
            let byte = self.set.0[self.next / 8] >> (self.next % 8);
            if byte == 0 {
                // Nothing more in this byte: jump to the next one.
                self.next = (self.next / 8 + 1) * 8;
                continue;
            }
            let n = self.next + byte.trailing_zeros() as usize;
            self.next = n + 1;
            return Some(n);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Bitmap1024;

    #[test]
    fn bit_n_lives_in_byte_n_div_8_under_mask_1_shl_n_mod_8() {
        let mut set = Bitmap1024::new();
        set.insert(2);
        set.insert(53);
        set.insert(1023);
        assert_eq!(set.as_bytes()[0], 0x04);
        assert_eq!(set.as_bytes()[6], 0x20);
        assert_eq!(set.as_bytes()[127], 0x80);
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn retransmit_example_of_protocol_2_10_lists_the_missing_blocks() {
        // Capture 09 #131: 112 blocks, map bytes fb ff ff ff ff ff df ff 7b bf ff ff ff ff.
        let mut bytes = [0u8; 128];
        bytes[..14].copy_from_slice(&[
            0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff, 0x7b, 0xbf, 0xff, 0xff, 0xff, 0xff,
        ]);
        let received = Bitmap1024::from_bytes(bytes);
        let mut missing = Bitmap1024::new();
        missing.union_with_complement_of(&received);
        let mut expected = [2usize, 53, 66, 71, 78].into_iter();
        for n in missing.iter().take_while(|&n| n < 112) {
            assert_eq!(Some(n), expected.next());
        }
        assert_eq!(expected.next(), None);
    }

    #[test]
    fn numbers_beyond_1024_are_refused_not_panicked_on() {
        let mut set = Bitmap1024::new();
        assert!(!set.insert(1024));
        assert!(!set.insert(usize::MAX));
        assert!(!set.contains(5000));
        assert!(!set.remove(1024));
        assert!(set.is_empty());
    }

    #[test]
    fn first_n_holds_exactly_the_numbers_below_n() {
        for n in [0, 1, 7, 8, 9, 112, 1023, 1024, 2000] {
            let set = Bitmap1024::first_n(n);
            assert_eq!(set.len(), n.min(1024));
            assert!(set.iter().all(|i| i < n));
        }
    }

    #[test]
    fn iter_yields_members_in_increasing_order() {
        let mut set = Bitmap1024::new();
        for n in [1000, 0, 9, 8, 255, 256] {
            set.insert(n);
        }
        let mut it = set.iter();
        for n in [0, 8, 9, 255, 256, 1000] {
            assert_eq!(it.next(), Some(n));
        }
        assert_eq!(it.next(), None);
    }
}
