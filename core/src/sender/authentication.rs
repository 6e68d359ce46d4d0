//! A sender's side of authenticated transfers (`crate::auth`): its session's keys, the
//! first-contact keys receivers use before they heard it, and its datagram counter.

use crate::auth::{AuthError, Authentication, ReceiverTrailer, SessionKeys};
use crate::time::{Duration, Instant};
use core::net::Ipv4Addr;

/// How often the same address may be reported again for dropped datagrams.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

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
}

impl SenderAuth {
    pub(super) fn new(settings: Authentication) -> Self {
        SenderAuth {
            keys: SessionKeys::derive(&settings.key, settings.nonce),
            first_contact: SessionKeys::derive(&settings.key, 0),
            counter: 0,
            last_report: None,
        }
    }

    pub(super) fn open<'d>(&self, datagram: &'d [u8]) -> Result<Opened<'d>, AuthError> {
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
        Ok(Opened {
            message: &datagram[..trailer.message_len],
            nonce: trailer.nonce,
            first_contact,
        })
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
        self.keys.seal_from_sender(self.counter, reply_to, buf, len)
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
