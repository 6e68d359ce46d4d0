//! `--encrypt`: the blocks of DATA and FEC datagrams enciphered with ChaCha20 (RFC 8439,
//! RustCrypto's `chacha20` crate) before the tag is computed, so the tag covers the
//! ciphertext (encrypt-then-MAC) and a receiver deciphers only what verified.
//!
//! The key is a third key of the session, derived like the direction keys; the 96-bit
//! nonce is four zero bytes and the datagram's counter, which no other datagram of the
//! session shares (a block sent again gets a new counter, so new ciphertext). Only blocks
//! are enciphered: the headers, the control messages and the verified-transfers data
//! (stream name and size, checksums) stay readable, as the protocol needs them.

use crate::wire::{Opcode, BLOCK_HEADER_LEN};
use chacha20::cipher::{KeyIvInit, StreamCipher};

/// The longest message a receiver deciphers: a DATA or FEC header and the largest block an
/// authenticated sender sends.
pub const MAX_ENCIPHERED_MESSAGE: usize = BLOCK_HEADER_LEN + super::MAX_BLOCK_SIZE as usize;

/// Whether `message` carries a block to encipher: a DATA or FEC message.
pub(super) fn carries_block(message: &[u8]) -> bool {
    matches!(super::opcode(message), Some(Opcode::Data | Opcode::Fec))
        && message.len() > BLOCK_HEADER_LEN
}

/// Enciphers or deciphers (the same operation) the block of `message` for `counter`.
pub(super) fn apply_keystream(key: &[u8; 32], counter: u64, message: &mut [u8]) {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    let mut cipher = chacha20::ChaCha20::new(key.into(), &nonce.into());
    if let Some(block) = message.get_mut(BLOCK_HEADER_LEN..) {
        cipher.apply_keystream(block);
    }
}
