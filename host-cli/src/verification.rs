//! What both programs print about a verified transfer (doc/verified-transfers.md): the
//! stream's identity, the whole-stream digest, and the optional SHA-256 of `--sha256`.
//! Core decides what is verified; this only words it.

use crate::progress::grouped;
use sha2::{Digest, Sha256};
use udpcast_core::extension::{Identity, StreamCheck};

/// `Stream "disk.img", 268 435 456 bytes, session 0123456789abcdef`.
pub fn identity_line(identity: &Identity) -> String {
    let size = identity
        .total_size
        .map_or(String::from("size unknown"), |s| {
            format!("{} bytes", grouped(s))
        });
    format!(
        "Stream \"{}\", {size}, session {:016x}",
        identity.name, identity.session
    )
}

/// `N bytes, crc32c 89abcdef`: the digest both sides print, to compare by eye.
pub fn digest_text(check: &StreamCheck) -> String {
    format!(
        "{} bytes, crc32c {:08x}",
        grouped(check.bytes),
        check.crc32c
    )
}

/// A session id for a new run: random enough that two runs on one LAN never share one.
pub fn new_session_id() -> u64 {
    let mut id = [0u8; 8];
    // SAFETY: `id` is a writable buffer of the length passed; getrandom writes at most that.
    let n = unsafe { libc::getrandom(id.as_mut_ptr().cast(), id.len(), 0) };
    if n == id.len() as isize {
        return u64::from_ne_bytes(id);
    }
    // No getrandom (very old kernel): time and process id still differ between runs.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ (u64::from(std::process::id()) << 32)
}

/// `--sha256`: a SHA-256 of the stream as it passes, printed like `sha256sum` prints it.
pub struct StreamSha256(Option<Sha256>);

impl StreamSha256 {
    /// Hashes only if `enabled`, so the default run pays nothing.
    pub fn new(enabled: bool) -> Self {
        StreamSha256(enabled.then(Sha256::new))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = self.0.as_mut() {
            h.update(bytes);
        }
    }

    /// `sha256 <64 hex digits>`, if enabled.
    pub fn line(&mut self) -> Option<String> {
        let digest = self.0.take()?.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Some(format!("sha256 {hex}"))
    }
}
