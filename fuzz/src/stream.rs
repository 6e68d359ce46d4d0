//! The stream the harnesses send: every byte a function of its offset, so that any output
//! can be checked without keeping the input, and an independent CRC-32C to check the
//! digests core computes.

use udpcast_core::extension::StreamCheck;

/// The byte at `offset` of every harness's stream.
pub fn content(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8 ^ offset as u8
}

/// `len` bytes of the stream from `offset`.
pub fn content_range(offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| content(offset + i)).collect()
}

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// A running CRC-32C of bytes handed out, computed by the `crc` crate rather than core.
pub struct Crc32c {
    digest: crc::Digest<'static, u32>,
    bytes: u64,
}

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c {
            digest: CRC32C.digest(),
            bytes: 0,
        }
    }
}

impl Crc32c {
    /// Adds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
        self.bytes += data.len() as u64;
    }

    /// The digest so far, in the form core announces it.
    pub fn check(&self) -> StreamCheck {
        StreamCheck {
            bytes: self.bytes,
            crc32c: self.digest.clone().finalize(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use udpcast_core::extension::integrity::stream_checksum;

    #[test]
    fn the_oracle_crc_is_crc32c_as_core_computes_it() {
        let mut c = Crc32c::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.check().crc32c, 0xe306_9283);
        let data = content_range(77, 5000);
        let mut c = Crc32c::default();
        c.update(&data);
        assert_eq!(c.check(), stream_checksum(&data));
    }
}
