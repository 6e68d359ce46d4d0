//! What leaves the sender next: queued controls go before the engine's data, and every
//! datagram is encoded, sealed under `--key-file` and paced by `--max-bitrate` (§3.11).

use super::{Control, Phase, PointToPoint, Sender};
use crate::extension::{SliceCheck, VERIFIED};
use crate::time::Instant;
use crate::transmit::Transmit;
use crate::wire::{ConnectReply, Hello, HelloKind, Reqack};
use core::net::{Ipv4Addr, SocketAddrV4};

/// Room for the longest control datagram: a REQACK with its bitmap and slice check, or a
/// CONNECT_REPLY with an identity naming a 255-byte stream.
const MAX_CONTROL_DATAGRAM: usize = 512;

impl Sender<'_> {
    /// The room [`poll_transmit`](Self::poll_transmit) needs for any datagram: a DATA block
    /// with its header, or a control message with the longest trailers, whichever is more.
    pub fn max_datagram_len(&self) -> usize {
        let trailer = if self.auth.is_some() {
            crate::auth::SENDER_TRAILER_LEN
        } else {
            0
        };
        (16 + usize::from(self.config.block_size)).max(MAX_CONTROL_DATAGRAM) + trailer
    }

    /// The next datagram: written into `buf` (at least
    /// [`max_datagram_len`](Self::max_datagram_len) bytes), with its
    /// destination. `None` when nothing may be sent now: wait for a datagram, input, or
    /// [`poll_timeout`](Self::poll_timeout). A shorter `buf` gets `None` too, and what was
    /// due stays due: nothing is dropped for want of room.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if self.is_closed() || buf.len() < self.max_datagram_len() {
            return None;
        }
        self.paced_until = None;
        self.reply_to = None;
        let (len, destination) = self.next_datagram(now, buf)?;
        let len = match self.auth.as_mut() {
            Some(auth) => auth.seal(self.reply_to.take(), buf, len)?,
            None => len,
        };
        if let Some(rate) = self.pacing.limiter.as_mut() {
            rate.consume(now, len);
        }
        Some(Transmit { destination, len })
    }

    /// Whether a datagram of `len` bytes may go now; if not, remembers until when it must
    /// wait, so that [`poll_timeout`](Self::poll_timeout) reports it even if asked after
    /// the bucket refilled (a caller must never sleep on a refusal without a deadline).
    fn paced(&mut self, now: Instant, len: usize) -> bool {
        let Some(rate) = self.pacing.limiter.as_mut() else {
            return true;
        };
        let at = rate.ready_at(now, len);
        if at <= now {
            return true;
        }
        self.paced_until = Some(at);
        false
    }

    fn next_datagram(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        while let Some(&control) = self.controls.front() {
            if !self.paced(now, 144) {
                return None;
            }
            self.controls.pop_front();
            self.reply_to = None;
            // A control that no longer applies (a reply to a receiver that left) is skipped.
            if let Some(datagram) = self.encode_control(now, control, buf) {
                return Some(datagram);
            }
        }
        if self.phase != Phase::Transferring {
            return None;
        }
        if !self.paced(now, usize::from(self.config.block_size) + 16) {
            return None;
        }
        self.engine(now, buf)
    }

    pub(super) fn encode_control(
        &mut self,
        now: Instant,
        control: Control,
        buf: &mut [u8],
    ) -> Option<(usize, SocketAddrV4)> {
        let rendezvous = SocketAddrV4::new(self.config.rendezvous, self.config.portbase);
        match control {
            Control::Hello(kind) => Some((self.encode_hello(kind, None, buf)?, rendezvous)),
            Control::Reply {
                to,
                client,
                verified,
                nonce,
            } => {
                self.reply_to = Some(nonce);
                // Held back by pacing, the reply may be older than the receiver's number:
                // say the number it holds now; to one that left since, say nothing.
                let client = match (client, self.participants.find(*to.ip())) {
                    (_, Some(current)) => Some(current),
                    (None, None) => None,
                    (Some(_), None) => return None,
                };
                let data_address = match self.config.pointopoint {
                    PointToPoint::Always => *to.ip(),
                    _ => self.config.data_group,
                };
                // Only a receiver of ours learns that we are: the reply goes to it alone.
                let verification = self.verification.as_ref().filter(|_| verified);
                let mut capabilities = self.capabilities;
                if verification.is_some() {
                    capabilities |= VERIFIED;
                }
                let reply = ConnectReply {
                    client_number: client,
                    block_size: u32::from(self.config.block_size),
                    capabilities,
                    data_address,
                };
                let len = reply.encode(buf).ok()?;
                match verification.map(|v| v.append_identity(buf, len)) {
                    // The identity did not fit the caller's buffer: plain udpcast rather
                    // than a promise the receiver would find broken.
                    Some(extended) if extended == len => {
                        let plain = ConnectReply {
                            capabilities: self.capabilities,
                            ..reply
                        };
                        Some((plain.encode(buf).ok()?, to))
                    }
                    Some(extended) => Some((extended, to)),
                    None => Some((len, to)),
                }
            }
            Control::Reqack => {
                if let Some(slowest) = self.round_slowest_us.take() {
                    self.answer_time_us = (9 * (self.answer_time_us + 9) + slowest) / 10;
                }
                let r = self.r.as_mut()?;
                r.start_round(now);
                let reqack = Reqack {
                    slice: r.number,
                    bytes: r.bytes,
                    rxmit: r.rxmit,
                    ready: &r.ready,
                };
                let len = reqack.encode(buf).ok()?;
                let len = match self.verification.as_ref().filter(|_| self.reqack_trailers) {
                    Some(v) => v.append_reqack(buf, len, r.check),
                    None => len,
                };
                Some((len, self.destination))
            }
        }
    }

    /// A HELLO; in async mode, where no receiver says who it is, it carries the identity
    /// for receivers of ours (udpcast's read only the first 28 bytes, §2.11), and a
    /// streaming hello also the `check` of the slice it announces (§3.10).
    pub(super) fn encode_hello(
        &self,
        kind: HelloKind,
        check: Option<SliceCheck>,
        buf: &mut [u8],
    ) -> Option<usize> {
        let hello = Hello {
            kind,
            capabilities: self.capabilities,
            data_address: self.announced_address(),
            block_size: self.config.block_size,
        };
        let len = hello.encode(buf).ok()?;
        match self.verification.as_ref() {
            Some(v) if self.config.asynchronous && kind == HelloKind::Streaming => {
                Some(v.append_streaming_hello(buf, len, check))
            }
            Some(v) if self.config.asynchronous => Some(v.append_identity(buf, len)),
            _ => Some(len),
        }
    }

    /// The data address HELLO announces: 0.0.0.0 under `--pointopoint` (§1.4 rule 3).
    fn announced_address(&self) -> Ipv4Addr {
        match self.config.pointopoint {
            PointToPoint::Always => Ipv4Addr::UNSPECIFIED,
            _ => self.config.data_group,
        }
    }
}
