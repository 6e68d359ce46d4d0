//! A receiver's side of authenticated transfers (`crate::auth`): which session's keys it
//! checks the sender's datagrams with, and the counters it has seen.

use crate::auth::{AuthError, Authentication, ReplayWindow, SenderTrailer, SessionKeys};
use crate::extension::Trailer;
use crate::wire::{Message, Opcode};

/// What an authenticating receiver knows.
pub(super) struct ReceiverAuth {
    settings: Authentication,
    /// Keys of the session last announced to us by an authentic datagram (session 0, the
    /// first-contact keys, before that). Once connected, only this session is accepted.
    keys: SessionKeys,
    window: ReplayWindow,
    counter: u64,
    /// Some datagram from the sender's port verified.
    pub(super) authentic_seen: bool,
    /// The last reason a datagram was refused, for the error when nothing authentic came.
    pub(super) last_refusal: Option<AuthError>,
    /// Reasons already reported as an event (one event per kind, not one per datagram).
    reported: [bool; 4],
}

impl ReceiverAuth {
    pub(super) fn new(settings: Authentication) -> Self {
        ReceiverAuth {
            keys: SessionKeys::derive(&settings.key, 0),
            settings,
            window: ReplayWindow::new(),
            counter: 0,
            authentic_seen: false,
            last_refusal: None,
            reported: [false; 4],
        }
    }

    /// The message inside `datagram` if it is authentic, of the session we are in (when
    /// `connected`) and new; before we are connected any authentic session is taken as the
    /// one to answer, since only a CONNECT_REPLY covering our nonce can connect us. An
    /// enciphered block (`--encrypt`) is deciphered into `plain`.
    pub(super) fn open<'d>(
        &mut self,
        datagram: &'d [u8],
        connected: bool,
        plain: &'d mut [u8],
    ) -> Result<&'d [u8], AuthError> {
        let trailer = SenderTrailer::parse(datagram)?;
        if trailer.session != self.keys.session() {
            // Only an announcement (or the reply to us) may name the session to answer:
            // replayed data of an earlier run must not pull us over to it.
            if connected || trailer.session == 0 || !announces_session(datagram) {
                return Err(AuthError::OtherSession);
            }
            let candidate = SessionKeys::derive(&self.settings.key, trailer.session);
            candidate.verify_from_sender(datagram, &trailer, self.settings.nonce)?;
            // Nothing changes for a datagram that is refused after all.
            let mut window = ReplayWindow::new();
            if !window.accept(trailer.counter) {
                return Err(AuthError::Replayed);
            }
            self.keys = candidate;
            self.window = window;
        } else {
            self.keys
                .verify_from_sender(datagram, &trailer, self.settings.nonce)?;
            if !self.window.accept(trailer.counter) {
                return Err(AuthError::Replayed);
            }
        }
        self.authentic_seen = true;
        if trailer.enciphered {
            // Our senders encipher only blocks that fit: anything else is refused as a
            // forgery would be, though its tag held.
            return self
                .keys
                .decipher(datagram, &trailer, plain)
                .ok_or(AuthError::BadTag);
        }
        Ok(&datagram[..trailer.message_len])
    }

    /// Whether a refusal for `reason` is the first of its kind (and so worth an event).
    pub(super) fn first_refusal(&mut self, reason: AuthError) -> bool {
        self.last_refusal = Some(reason);
        let kind = match reason {
            AuthError::Unauthenticated => 0,
            AuthError::BadTag => 1,
            AuthError::OtherSession => 2,
            AuthError::Replayed => 3,
        };
        !core::mem::replace(&mut self.reported[kind], true)
    }

    /// Seals the `len` bytes of message at the start of `buf` for the sender.
    pub(super) fn seal(&mut self, buf: &mut [u8], len: usize) -> Option<usize> {
        self.counter += 1;
        self.keys
            .seal_from_receiver(self.settings.nonce, self.counter, buf, len)
    }
}

/// Whether `datagram`, to a receiver without a key, is an announcement sealed for
/// authenticated transfers: a HELLO or CONNECT_REPLY (with or without its extension data)
/// followed by exactly a sender's trailer. Such a sender never admits us, so we say why
/// instead of waiting. The exact fit keeps a stream name that happens to hold the magic
/// from being taken for a trailer.
pub(super) fn sealed_announcement(datagram: &[u8]) -> bool {
    let Ok(trailer) = SenderTrailer::parse(datagram) else {
        return false;
    };
    let message = &datagram[..trailer.message_len];
    if !announces_session(message) {
        return false;
    }
    let Ok(parsed) = Message::parse(message) else {
        return false;
    };
    match message.get(parsed.encoded_len()..) {
        Some([]) => true,
        Some(rest) => matches!(Trailer::parse(rest), Ok(Some(t)) if t.encoded_len() == rest.len()),
        None => false,
    }
}

/// Whether the message is a HELLO of any kind or a CONNECT_REPLY.
fn announces_session(datagram: &[u8]) -> bool {
    let opcode = match datagram {
        [high, low, ..] => Opcode::from_u16(u16::from_be_bytes([*high, *low])),
        _ => None,
    };
    matches!(
        opcode,
        Some(Opcode::Hello | Opcode::HelloNew | Opcode::HelloStreaming | Opcode::ConnectReply)
    )
}
