//! The fuzz input as a stream of small fields, and the writer that makes seeds in the same
//! format.
//!
//! Every field is read from the front; past the end of the input every field reads as
//! zero, so any byte string is a valid script and the fuzzer's mutations (flips, inserts,
//! splices) shift fields around instead of being rejected. Multi-byte fields are
//! big-endian, like the wire format, so that the fuzzer's integer mutations land on them.

/// Reads fields from the front of a fuzz input.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Input { bytes }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// The next eight bytes, big-endian.
    pub fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }

    /// A byte's lowest bit.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    /// A byte reduced to `0..n` (`n` at most 256; 0 for `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        let b = usize::from(self.u8());
        b.checked_rem(n).unwrap_or(0)
    }

    /// Two bytes reduced to `0..n` (0 for `n == 0`).
    pub fn below16(&mut self, n: usize) -> usize {
        let v = usize::from(self.u16());
        v.checked_rem(n).unwrap_or(0)
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        taken
    }

    /// A length byte followed by that many bytes.
    pub fn short_bytes(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8());
        self.bytes(n)
    }

    /// A 16-bit length followed by that many bytes.
    pub fn long_bytes(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.bytes(n)
    }

    /// Flips, overwrites, cuts or extends a datagram as the input says.
    pub fn mutate(&mut self, datagram: &mut Vec<u8>) {
        for _ in 0..1 + self.below(4) {
            let at = self.below16(datagram.len().max(1));
            match self.u8() % 4 {
                0 => {
                    if let Some(b) = datagram.get_mut(at) {
                        *b ^= 1 << self.below(8);
                    }
                }
                1 => {
                    let v = self.u8();
                    if let Some(b) = datagram.get_mut(at) {
                        *b = v;
                    }
                }
                2 => datagram.truncate(at),
                _ => datagram.extend_from_slice(self.short_bytes()),
            }
        }
    }
}

/// Writes fields in the format [`Input`] reads: used to make seed corpora.
#[derive(Clone, Debug, Default)]
pub struct Script {
    bytes: Vec<u8>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Script::default()
    }

    /// The script's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    /// Two bytes, big-endian.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Four bytes, big-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Eight bytes, big-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Raw bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(v);
        self
    }

    /// A length byte and the bytes (at most 255).
    pub fn short_bytes(&mut self, v: &[u8]) -> &mut Self {
        let v = &v[..v.len().min(255)];
        self.u8(v.len() as u8).bytes(v)
    }

    /// A 16-bit length and the bytes (at most 65 535).
    pub fn long_bytes(&mut self, v: &[u8]) -> &mut Self {
        let v = &v[..v.len().min(65_535)];
        self.u16(v.len() as u16).bytes(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_as_written_and_as_zero_past_the_end() {
        let mut s = Script::new();
        s.u8(7)
            .u16(0x1234)
            .u32(0xdead_beef)
            .u64(42)
            .short_bytes(b"abc");
        let bytes = s.into_bytes();
        let mut i = Input::new(&bytes);
        assert_eq!(i.u8(), 7);
        assert_eq!(i.u16(), 0x1234);
        assert_eq!(i.u32(), 0xdead_beef);
        assert_eq!(i.u64(), 42);
        assert_eq!(i.short_bytes(), b"abc");
        assert!(i.is_empty());
        assert_eq!((i.u8(), i.u32(), i.below(5)), (0, 0, 0));
        assert_eq!(i.bytes(10), b"");
    }
}
