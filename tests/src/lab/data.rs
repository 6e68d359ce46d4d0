//! Test data and waiting: deterministic pseudo-random files, SHA-256 digests, and polling
//! a condition until it holds.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::POLL;

/// A small deterministic generator (SplitMix64): test inputs must be the same on every run
/// and machine, and need no statistical quality.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Puts `items` in an order the seed decides (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, (self.next_u64() % (i as u64 + 1)) as usize);
        }
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// `len` pseudo-random bytes determined by `seed` (the same as [`write_random_file`] writes).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut buf = vec![0; len];
    SplitMix64(seed).fill(&mut buf);
    buf
}

/// Writes `len` pseudo-random bytes determined by `seed` to `path`.
pub fn write_random_file(path: &Path, len: u64, seed: u64) -> io::Result<()> {
    let mut rng = SplitMix64(seed);
    let mut out = io::BufWriter::new(File::create(path)?);
    // A multiple of 8, so that chunking does not change the byte stream.
    let mut buf = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

/// SHA-256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SHA-256 of the file at `path`, lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Polls `condition` every 10 ms until it holds (true) or `within` has passed (false).
pub fn wait_until(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn random_stream_is_deterministic_and_chunking_independent() {
        let a = random_bytes(1000, 5);
        assert_eq!(a, random_bytes(1000, 5));
        assert_ne!(a, random_bytes(1000, 6));
        assert_eq!(&random_bytes(13, 5)[..], &a[..13]);
        let dir = std::env::temp_dir().join(format!("udpcast-lab-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.bin");
        let len = (1 << 16) + 1003;
        write_random_file(&path, len as u64, 5).unwrap();
        let written = fs::read(&path).unwrap();
        assert_eq!(written, random_bytes(len, 5));
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&written));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
