//! The one MAC of authenticated transfers, HMAC-SHA-256 (RustCrypto's `hmac` and `sha2`;
//! SHA-256 runs on the CPU's SHA instructions where it has them), used three ways: to turn
//! a key file into the key (HKDF's extract step: the context as salt), to derive a
//! session's keys from it (one expand block per key), and to tag datagrams (truncated to
//! 16 bytes, as RFC 2104 allows).

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256's block: HMAC pads shorter keys with zeros to this, so padding them here gives
/// the standard HMAC without a fallible constructor.
const BLOCK: usize = 64;

fn keyed(key: &[u8]) -> HmacSha256 {
    let mut padded = [0u8; BLOCK];
    let n = key.len().min(BLOCK);
    padded[..n].copy_from_slice(&key[..n]);
    <HmacSha256 as KeyInit>::new(&padded.into())
}

/// HKDF-Extract(salt = `context`, input = `material`): 32 bytes.
pub(super) fn extract(context: &str, material: &[u8]) -> [u8; 32] {
    // Every context of this module is shorter than a block, so used as it is.
    const _: () = assert!(super::LONGEST_CONTEXT <= BLOCK);
    let mut mac = keyed(context.as_bytes());
    mac.update(material);
    mac.finalize().into_bytes().into()
}

/// One HKDF-Expand block: the key named `context` for `session` under `key`.
pub(super) fn expand(key: &[u8; 32], context: &str, session: u64) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(context.as_bytes());
    mac.update(&session.to_be_bytes());
    mac.update(&[1]);
    mac.finalize().into_bytes().into()
}

/// A direction's tagging key, with HMAC's inner and outer pads already hashed, so that a
/// datagram costs only its own bytes.
#[derive(Clone)]
pub(super) struct TagKey(HmacSha256);

impl TagKey {
    pub(super) fn new(key: &[u8; 32]) -> Self {
        TagKey(keyed(key))
    }

    /// The tag of `covered`, and of `reply_to` after it for a CONNECT_REPLY.
    pub(super) fn tag(&self, covered: &[u8], reply_to: Option<u64>) -> [u8; super::TAG_LEN] {
        let mut mac = self.0.clone();
        mac.update(covered);
        if let Some(nonce) = reply_to {
            mac.update(&nonce.to_be_bytes());
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; super::TAG_LEN];
        out.copy_from_slice(&full[..super::TAG_LEN]);
        out
    }
}
