//! Authenticated transfers (issue #14, README "Authenticated transfers"): between our
//! programs that hold the same pre-shared key, every datagram in both directions ends in a
//! trailer with a MAC over everything before it, keyed per session and per direction.
//!
//! The MAC is HMAC-SHA-256 cut to 16 bytes (`mac.rs`); the keys come from HKDF-style
//! derivation over the pre-shared key and the sender's random session id. Nothing here is
//! cryptography of our own: it only lays out bytes for the `hmac`, `sha2` and `chacha20`
//! crates and compares tags with `constant_time_eq`.
//!
//! Wire format (appended after the udpcast message and any verified-transfers trailer):
//!
//! ```text
//! sender → receivers (36 bytes):  "UCA1" | session u64 | counter u64 | tag[16]
//! receiver → sender  (44 bytes):  "UCA1" | session u64 | nonce u64 | counter u64 | tag[16]
//! ```
//!
//! A sender's trailer starts with "UCE1" instead when the block before it is enciphered
//! (`--encrypt`, [`encryption`]).
//!
//! All integers are big-endian. `tag` = HMAC-SHA-256(direction key, every byte before the
//! tag)[..16]; a CONNECT_REPLY's tag also covers the nonce of the receiver it answers, which
//! is how a receiver knows the reply (and so the session) is fresh rather than replayed
//! from an earlier run. A receiver that has not yet heard the sender uses session 0.
//!
//! The state machines decide what to seal and what to accept; this module only seals and
//! checks bytes. It never panics and never allocates.

pub mod encryption;
mod mac;
mod replay;
#[cfg(test)]
mod tests;

pub use encryption::MAX_ENCIPHERED_MESSAGE;
pub use replay::ReplayWindow;

use crate::wire::Opcode;
use core::fmt;

/// The first four bytes of every authentication trailer.
pub const MAGIC: [u8; 4] = *b"UCA1";

/// The first four bytes of a sender's trailer after an enciphered block (`--encrypt`).
pub const ENCIPHERED_MAGIC: [u8; 4] = *b"UCE1";

/// Bytes of a tag.
pub const TAG_LEN: usize = 16;

/// Bytes a sender's trailer adds to each of its datagrams (so to each DATA block).
pub const SENDER_TRAILER_LEN: usize = 4 + 8 + 8 + TAG_LEN;

/// The largest block an authenticated sender sends: udpcast's 1456 less the trailer, so an
/// authenticated DATA datagram is no longer than a plain one.
pub const MAX_BLOCK_SIZE: u16 = crate::wire::DEFAULT_BLOCK_SIZE - SENDER_TRAILER_LEN as u16;

/// Bytes a receiver's trailer adds to each of its datagrams.
pub const RECEIVER_TRAILER_LEN: usize = 4 + 8 + 8 + 8 + TAG_LEN;

/// The shortest key file accepted: 16 bytes, 128 bits if they are random.
pub const MIN_KEY_MATERIAL: usize = 16;

const KEY_FILE_CONTEXT: &str = "udpcast-rs 2026-12 authenticated transfers: key file";
const TO_RECEIVERS_CONTEXT: &str =
    "udpcast-rs 2026-12 authenticated transfers: sender to receivers";
const TO_SENDER_CONTEXT: &str = "udpcast-rs 2026-12 authenticated transfers: receivers to sender";
const BLOCKS_CONTEXT: &str = "udpcast-rs 2026-12 authenticated transfers: block encryption";
/// The longest context: each is HMAC's key or part of its message, and fits a block.
const LONGEST_CONTEXT: usize = KEY_FILE_CONTEXT.len();

/// The key both ends were given (`--key-file`), as 32 bytes derived from the file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PreSharedKey([u8; 32]);

impl PreSharedKey {
    /// The key made from a key file's bytes, taken exactly as they are (a trailing newline
    /// is part of the key, on every host alike).
    pub fn from_key_material(material: &[u8]) -> Result<Self, KeyError> {
        if material.len() < MIN_KEY_MATERIAL {
            return Err(KeyError::TooShort(material.len()));
        }
        Ok(PreSharedKey(mac::extract(KEY_FILE_CONTEXT, material)))
    }
}

impl fmt::Debug for PreSharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreSharedKey(..)")
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for PreSharedKey {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "PreSharedKey(..)")
    }
}

/// A key file that cannot be a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_MATERIAL`] bytes (how many there were).
    TooShort(usize),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooShort(n) => write!(
                f,
                "the key file holds {n} bytes, at least {MIN_KEY_MATERIAL} are needed \
                 (make one with: head -c 32 /dev/urandom > FILE)"
            ),
        }
    }
}

/// How a state machine authenticates: the key, and the random value only this run uses
/// (a sender's session id, a receiver's nonce). Core has no random source: the caller
/// draws it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Authentication {
    /// The pre-shared key.
    pub key: PreSharedKey,
    /// Sender: the session id (the verified-transfers identity carries the same one).
    /// Receiver: its nonce, which the CONNECT_REPLY it accepts must cover.
    pub nonce: u64,
}

/// Why a datagram was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AuthError {
    /// No authentication trailer: a udpcast peer, or one of ours without `--key-file`.
    Unauthenticated,
    /// The tag does not match: another key, or a forgery.
    BadTag,
    /// Authentic, but of another session (an earlier run, replayed).
    OtherSession,
    /// Authentic and of this session, but already seen or too old.
    Replayed,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthError::Unauthenticated => {
                "unauthenticated (udpcast, or udpcast-rs without --key-file)"
            }
            AuthError::BadTag => "forged, or sealed with another key",
            AuthError::OtherSession => {
                "of another session (an earlier run replayed, or one not joined)"
            }
            AuthError::Replayed => "replays of this session",
        })
    }
}

/// The keys of one session: one per direction, and the one of enciphered blocks.
#[derive(Clone)]
pub struct SessionKeys {
    session: u64,
    to_receivers: mac::TagKey,
    to_sender: mac::TagKey,
    blocks: [u8; 32],
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl SessionKeys {
    /// The keys of `session` under `key`.
    pub fn derive(key: &PreSharedKey, session: u64) -> Self {
        let tag_key = |context| mac::TagKey::new(&mac::expand(&key.0, context, session));
        SessionKeys {
            session,
            to_receivers: tag_key(TO_RECEIVERS_CONTEXT),
            to_sender: tag_key(TO_SENDER_CONTEXT),
            blocks: mac::expand(&key.0, BLOCKS_CONTEXT, session),
        }
    }

    /// The session these keys belong to.
    pub fn session(&self) -> u64 {
        self.session
    }

    /// [`seal_from_sender`](Self::seal_from_sender) for `--encrypt`: a DATA or FEC block is
    /// enciphered first and the trailer says so; other messages are sealed as they are.
    pub fn seal_enciphered_from_sender(
        &self,
        counter: u64,
        reply_to: Option<u64>,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let message = buf.get_mut(..len)?;
        if !encryption::carries_block(message) {
            return self.seal_from_sender(counter, reply_to, buf, len);
        }
        encryption::apply_keystream(&self.blocks, counter, message);
        let fields = [self.session, counter];
        seal(
            &self.to_receivers,
            &ENCIPHERED_MAGIC,
            &fields,
            reply_to,
            buf,
            len,
        )
    }

    /// The message of a verified sender datagram whose block is enciphered, deciphered into
    /// `out`; `None` if it is not a DATA or FEC message or does not fit `out` (no sender of
    /// ours seals such a datagram).
    pub fn decipher<'o>(
        &self,
        datagram: &[u8],
        trailer: &SenderTrailer,
        out: &'o mut [u8],
    ) -> Option<&'o [u8]> {
        let message = datagram.get(..trailer.message_len)?;
        let plain = out.get_mut(..message.len())?;
        if !encryption::carries_block(message) {
            return None;
        }
        plain.copy_from_slice(message);
        encryption::apply_keystream(&self.blocks, trailer.counter, plain);
        Some(plain)
    }

    /// Appends the sender's trailer to the `len` bytes of message at the start of `buf`;
    /// `reply_to` is the nonce of the receiver a CONNECT_REPLY answers. The new length, or
    /// `None` if `buf` has no room.
    pub fn seal_from_sender(
        &self,
        counter: u64,
        reply_to: Option<u64>,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let fields = [self.session, counter];
        seal(&self.to_receivers, &MAGIC, &fields, reply_to, buf, len)
    }

    /// Checks a sender's datagram (whose trailer [`SenderTrailer::parse`] read) against
    /// these keys; `receiver_nonce` is our own nonce, which a CONNECT_REPLY must cover.
    pub fn verify_from_sender(
        &self,
        datagram: &[u8],
        trailer: &SenderTrailer,
        receiver_nonce: u64,
    ) -> Result<(), AuthError> {
        let reply_to = (opcode(datagram) == Some(Opcode::ConnectReply)).then_some(receiver_nonce);
        verify(&self.to_receivers, datagram, reply_to)?;
        self.same_session(trailer.session)
    }

    /// Appends a receiver's trailer (its `nonce`) to the `len` bytes at the start of `buf`.
    pub fn seal_from_receiver(
        &self,
        nonce: u64,
        counter: u64,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let fields = [self.session, nonce, counter];
        seal(&self.to_sender, &MAGIC, &fields, None, buf, len)
    }

    /// Checks a receiver's datagram against these keys.
    pub fn verify_from_receiver(
        &self,
        datagram: &[u8],
        trailer: &ReceiverTrailer,
    ) -> Result<(), AuthError> {
        verify(&self.to_sender, datagram, None)?;
        self.same_session(trailer.session)
    }

    fn same_session(&self, claimed: u64) -> Result<(), AuthError> {
        if claimed == self.session {
            Ok(())
        } else {
            Err(AuthError::OtherSession)
        }
    }
}

/// What a sender's trailer says, read before any key is chosen (a receiver learns the
/// session from it). Nothing in it is to be trusted until verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderTrailer {
    /// Bytes of the message before the trailer.
    pub message_len: usize,
    /// The session it claims.
    pub session: u64,
    /// Its counter: every datagram of a session has a new one.
    pub counter: u64,
    /// The block before it is enciphered (`--encrypt`).
    pub enciphered: bool,
}

impl SenderTrailer {
    /// The trailer at the end of `datagram`, if there is one.
    pub fn parse(datagram: &[u8]) -> Result<Self, AuthError> {
        let (message_len, t) = split_trailer(datagram, SENDER_TRAILER_LEN)?;
        let enciphered = match &t[..4] {
            m if m == MAGIC => false,
            m if m == ENCIPHERED_MAGIC => true,
            _ => return Err(AuthError::Unauthenticated),
        };
        Ok(SenderTrailer {
            message_len,
            session: be_u64(&t[4..12]),
            counter: be_u64(&t[12..20]),
            enciphered,
        })
    }
}

/// What a receiver's trailer says, before verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverTrailer {
    /// Bytes of the message before the trailer.
    pub message_len: usize,
    /// The session it answers (0 before the receiver heard the sender).
    pub session: u64,
    /// The receiver's nonce.
    pub nonce: u64,
    /// Its counter.
    pub counter: u64,
}

impl ReceiverTrailer {
    /// The trailer at the end of `datagram`, if there is one.
    pub fn parse(datagram: &[u8]) -> Result<Self, AuthError> {
        let (message_len, t) = split_trailer(datagram, RECEIVER_TRAILER_LEN)?;
        if t[..4] != MAGIC {
            return Err(AuthError::Unauthenticated);
        }
        Ok(ReceiverTrailer {
            message_len,
            session: be_u64(&t[4..12]),
            nonce: be_u64(&t[12..20]),
            counter: be_u64(&t[20..28]),
        })
    }
}

/// Where a trailer of `len` bytes would start in `datagram`, and its bytes.
fn split_trailer(datagram: &[u8], len: usize) -> Result<(usize, &[u8]), AuthError> {
    let at = datagram
        .len()
        .checked_sub(len)
        .ok_or(AuthError::Unauthenticated)?;
    Ok((at, &datagram[at..]))
}

/// Writes `magic`, `fields` and the tag after the `len` bytes of message in `buf`.
fn seal(
    key: &mac::TagKey,
    magic: &[u8; 4],
    fields: &[u64],
    reply_to: Option<u64>,
    buf: &mut [u8],
    len: usize,
) -> Option<usize> {
    let at = len.checked_add(MAGIC.len() + 8 * fields.len())?;
    let end = at.checked_add(TAG_LEN)?;
    let out = buf.get_mut(..end)?;
    out[len..len + MAGIC.len()].copy_from_slice(magic);
    for (i, field) in fields.iter().enumerate() {
        let start = len + MAGIC.len() + 8 * i;
        out[start..start + 8].copy_from_slice(&field.to_be_bytes());
    }
    let tag = key.tag(&out[..at], reply_to);
    out[at..].copy_from_slice(&tag);
    Some(end)
}

/// Whether the tag at the end of `datagram` is the one `key` gives.
fn verify(key: &mac::TagKey, datagram: &[u8], reply_to: Option<u64>) -> Result<(), AuthError> {
    let (covered, given) = split_tag(datagram).ok_or(AuthError::Unauthenticated)?;
    let expected = key.tag(covered, reply_to);
    if constant_time_eq::constant_time_eq_16(&expected, given) {
        Ok(())
    } else {
        Err(AuthError::BadTag)
    }
}

fn split_tag(datagram: &[u8]) -> Option<(&[u8], &[u8; TAG_LEN])> {
    let at = datagram.len().checked_sub(TAG_LEN)?;
    let (covered, tag) = datagram.split_at(at);
    Some((covered, tag.try_into().ok()?))
}

fn opcode(datagram: &[u8]) -> Option<Opcode> {
    match datagram {
        [high, low, ..] => Opcode::from_u16(u16::from_be_bytes([*high, *low])),
        _ => None,
    }
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(bytes);
    u64::from_be_bytes(b)
}
