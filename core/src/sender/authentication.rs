//! A sender's side of authenticated transfers (`crate::auth`): its session's keys, the
//! first-contact keys receivers use before they heard it, its datagram counter, and the
//! counters each receiver used.

use crate::auth::{AuthError, Authentication, ReceiverTrailer, ReplayWindow, SessionKeys};
use crate::time::{Duration, Instant};
use crate::wire::MAX_CLIENTS;
use core::net::Ipv4Addr;

/// How often the same address may be reported again for dropped datagrams.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Receivers whose counters are remembered: as many as may take part. Entries outlive a
/// receiver's departure, so that its CONNECT_REQ replayed cannot bring it back; only past
/// this many receivers in one session is the oldest forgotten.
const REMEMBERED_RECEIVERS: usize = MAX_CLIENTS;

/// An authentic receiver datagram, stripped of its trailer.
pub(super) struct Opened<'d> {
    pub(super) message: &'d [u8],
    /// The receiver's nonce, which the CONNECT_REPLY to it must cover.
    pub(super) nonce: u64,
    /// Sealed with the first-contact keys: the receiver has not heard us yet. Such a
    /// datagram only earns it a HELLO (which names our session), never a place.
    pub(super) first_contact: bool,
}

pub(super) struct SenderAuth {
    keys: SessionKeys,
    first_contact: SessionKeys,
    counter: u64,
    last_report: Option<(Ipv4Addr, Instant)>,
    /// Each receiver's nonce and the counters of its datagrams under our session.
    windows: heapless::Vec<(u64, ReplayWindow), REMEMBERED_RECEIVERS>,
    /// The entry to forget next when `windows` is full.
    oldest: usize,
    /// `--encrypt`: blocks are enciphered.
    encrypt: bool,
}

impl SenderAuth {
    pub(super) fn new(settings: Authentication, encrypt: bool) -> Self {
        SenderAuth {
            keys: SessionKeys::derive(&settings.key, settings.nonce),
            first_contact: SessionKeys::derive(&settings.key, 0),
            counter: 0,
            last_report: None,
            windows: heapless::Vec::new(),
            oldest: 0,
            encrypt,
        }
    }

    pub(super) fn open<'d>(&mut self, datagram: &'d [u8]) -> Result<Opened<'d>, AuthError> {
        let trailer = ReceiverTrailer::parse(datagram)?;
        let first_contact = trailer.session == 0;
        let keys = if first_contact {
            &self.first_contact
        } else if trailer.session == self.keys.session() {
            &self.keys
        } else {
            return Err(AuthError::OtherSession);
        };
        keys.verify_from_receiver(datagram, &trailer)?;
        // First contact only earns a HELLO, however often it comes: no window needed.
        if !first_contact && !self.accept(trailer.nonce, trailer.counter) {
            return Err(AuthError::Replayed);
        }
        Ok(Opened {
            message: &datagram[..trailer.message_len],
            nonce: trailer.nonce,
            first_contact,
        })
    }

    /// Whether `counter` is new for the receiver with `nonce` (remembering it if so).
    fn accept(&mut self, nonce: u64, counter: u64) -> bool {
        if let Some((_, window)) = self.windows.iter_mut().find(|(n, _)| *n == nonce) {
            return window.accept(counter);
        }
        let mut window = ReplayWindow::new();
        window.accept(counter);
        if let Err(entry) = self.windows.push((nonce, window)) {
            self.windows[self.oldest] = entry;
            self.oldest = (self.oldest + 1) % REMEMBERED_RECEIVERS;
        }
        true
    }

    /// Seals the `len` bytes at the start of `buf`; `reply_to` is the nonce a
    /// CONNECT_REPLY answers.
    pub(super) fn seal(
        &mut self,
        reply_to: Option<u64>,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        self.counter += 1;
        if self.encrypt {
            self.keys
                .seal_enciphered_from_sender(self.counter, reply_to, buf, len)
        } else {
            self.keys.seal_from_sender(self.counter, reply_to, buf, len)
        }
    }

    /// Whether a drop from `from` is worth an event: a new address, or a while since.
    pub(super) fn should_report(&mut self, now: Instant, from: Ipv4Addr) -> bool {
        let report = match self.last_report {
            Some((address, at)) => address != from || now >= at + REPORT_INTERVAL,
            None => true,
        };
        if report {
            self.last_report = Some((from, now));
        }
        report
    }
}
