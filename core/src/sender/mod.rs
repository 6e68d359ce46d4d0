//! The sender: a sans-IO state machine that announces a transfer, admits receivers, and
//! sends the input stream to them in acknowledged slices (PROTOCOL.md §3).
//!
//! The caller passes datagrams ([`Sender::handle_datagram`]), key presses
//! ([`Sender::handle_key`]) and expired timers ([`Sender::handle_timeout`]) in, each with
//! the current time, and polls:
//! * [`Sender::poll_transmit`] — the next datagram to send from the sender's socket (port
//!   P+1), paced by `--max-bitrate`; `None` when nothing may go now;
//! * [`Sender::poll_event`] — connections, start, slice size, end;
//! * [`Sender::poll_timeout`] — when to call `handle_timeout` (or poll again) next;
//! * once [`Event::Started`] came: [`Sender::input_buffer`] / [`Sender::input_written`] /
//!   [`Sender::input_end`] — the input stream, written straight into the slice storage.
//!
//! The storage lent to [`Sender::new`] holds three slices (the one being acknowledged, the
//! one being sent, the one being filled) with their FEC blocks; see
//! [`Sender::storage_size`]. [`Sender::receiver_records`] reports what each receiver
//! acknowledged and asked for, and how it left.

mod authentication;
mod config;
mod event;
mod flight;
mod pacing;
mod participants;
mod record;
#[cfg(test)]
mod tests;
mod verification;

pub use config::{Duplex, FecParams, PointToPoint, SenderConfig};
pub use event::{Event, LeaveReason, SenderError};
pub use record::{DropReason, ReceiverRecord, ReceiverStatus};

use crate::extension::{Identity, SliceCheck, StreamCheck, VERIFIED};
use crate::fec::{Encoder, FecConfig, Kernel};
use crate::time::{Duration, Instant};
use crate::transmit::Transmit;
use crate::wire::{
    Capabilities, ConnectReply, Data, Fec, Hello, HelloKind, Message, Reqack, MAX_BLOCKS_PER_SLICE,
};
use authentication::SenderAuth;
use core::net::{Ipv4Addr, SocketAddrV4};
use flight::Flight;
use heapless::Deque;
use pacing::Pacing;
use participants::{Admission, Participants};
use verification::Verification;

/// The largest block under `--key-file` ([`crate::auth::MAX_BLOCK_SIZE`]).
pub const AUTH_MAX_BLOCK_SIZE: u16 = crate::auth::MAX_BLOCK_SIZE;

/// Room for the longest control datagram: a REQACK with its bitmap and slice check, or a
/// CONNECT_REPLY with an identity naming a 255-byte stream.
const MAX_CONTROL_DATAGRAM: usize = 512;
/// Slices the sender keeps: acknowledged one, transmitted one, one being filled.
const SLOTS: usize = 3;
/// Half-duplex slices never shrink below this (§3.5: hard-wired, `--min-slice-size` aside).
const MIN_SHRUNK_SLICE: u16 = 32;
/// The quiet period after which the start rules are looked at (§3.2).
const QUIET: Duration = Duration::from_secs(2);
/// Hello repetition for async and autostart when none was given (§3.1).
const DEFAULT_HELLO_INTERVAL: Duration = Duration::from_secs(1);
/// Without `--rexmit-hello-interval`, udpcast sends one HELLO; a udpcast receiver whose
/// CONNECT_REQ (or its reply) is lost then waits forever. We repeat the HELLO this often
/// while negotiating — every receiver answers a HELLO with a CONNECT_REQ, and a known one
/// gets its number back — without touching the start rules' quiet period.
const NEGOTIATION_HELLO_REPEAT: Duration = Duration::from_secs(1);
/// First estimate of the answer time; REQACKs are repeated after 1.1 times the estimate.
const INITIAL_ANSWER_TIME_US: u64 = 10_000;

/// Counters for progress lines and final statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderStats {
    /// Input bytes sent for the first time.
    pub bytes_sent: u64,
    /// Data and FEC blocks sent, first transmissions and retransmissions.
    pub blocks_sent: u64,
    /// Data blocks sent again.
    pub blocks_resent: u64,
    /// The current slice size in blocks.
    pub slice_size: u16,
    /// The client that answered last.
    pub last_answer_from: Option<u16>,
    /// Receivers connected.
    pub receivers: u16,
    /// The rate paced at (`--max-bitrate`, or what `--autorate` chose last), bit/s; 0 when
    /// unpaced.
    pub pacing_rate: u64,
    /// Authenticated transfers: datagrams dropped as unauthenticated, forged, of another
    /// session or replayed.
    pub auth_rejected: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Negotiating,
    Transferring,
    Finished,
    Failed,
}

/// The slice being filled from the input.
#[derive(Clone, Copy, Debug)]
struct Filling {
    slot: usize,
    len: usize,
}

#[derive(Clone, Copy, Debug)]
enum Control {
    Hello(HelloKind),
    Reply {
        to: SocketAddrV4,
        client: Option<u16>,
        /// The receiver announced the verified-transfers extension.
        verified: bool,
        /// Authenticated transfers: the nonce of the request answered.
        nonce: u64,
    },
    Reqack,
}

/// A udpcast sender. See the [module documentation](self) for how to drive it.
pub struct Sender<'s> {
    config: SenderConfig,
    storage: &'s mut [u8],
    slot_data: usize,
    phase: Phase,
    participants: Participants,
    controls: Deque<Control, 64>,
    events: Deque<Event, 32>,
    capabilities: Capabilities,
    // Negotiation.
    hello_interval: Option<Duration>,
    /// When to repeat the HELLO while negotiating without a hello interval.
    next_hello: Option<Instant>,
    hellos: u32,
    quiet_since: Instant,
    last_datagram: Instant,
    first_connected: Option<Instant>,
    // Transfer.
    destination: SocketAddrV4,
    slice_size: u16,
    max_slice_size: u16,
    doubling: bool,
    next_slice: u32,
    free: [bool; SLOTS],
    filling: Option<Filling>,
    input_ended: bool,
    end_formed: bool,
    x: Option<Flight>,
    r: Option<Flight>,
    /// Async without FEC sends its end REQACK twice (rxmit 0 and 1, §3.8).
    end_reqacks_left: u8,
    answer_time_us: u64,
    /// The slowest answer to the current REQACK round, in µs.
    round_slowest_us: Option<u64>,
    pacing: Pacing,
    /// When pacing allows the datagram it last refused.
    paced_until: Option<Instant>,
    fec: Option<Encoder>,
    /// Verified transfers, once the caller gave the stream's identity.
    verification: Option<Verification>,
    /// Whether REQACKs carry slice checks: some receiver announced the extension (or, in
    /// async mode, nobody can say, so they always do). Fixed at the start.
    reqack_trailers: bool,
    /// Authenticated transfers (`--key-file`).
    auth: Option<SenderAuth>,
    /// The nonce the datagram being encoded answers (a CONNECT_REPLY's), for sealing.
    reply_to: Option<u64>,
    stats: SenderStats,
}

impl<'s> Sender<'s> {
    /// Bytes of storage a sender with `config` needs: three slots of the largest slice
    /// plus its FEC blocks.
    pub fn storage_size(config: &SenderConfig) -> usize {
        SLOTS * slot_size(config)
    }

    /// A sender that announces itself at `now` (its first HELLO is ready to be polled).
    pub fn new(
        config: SenderConfig,
        storage: &'s mut [u8],
        now: Instant,
    ) -> Result<Self, SenderError> {
        let mut config = config;
        validate(&mut config)?;
        let needed = Self::storage_size(&config);
        if storage.len() < needed {
            return Err(SenderError::StorageTooSmall { needed });
        }
        let fec = match config.fec {
            Some(f) => {
                let fec_config = FecConfig::new(
                    usize::from(f.stripes),
                    usize::from(f.redundancy),
                    usize::from(config.block_size),
                )
                .map_err(|_| SenderError::InvalidConfig("--fec"))?;
                Some(Encoder::new(fec_config, Kernel::detect()))
            }
            None => None,
        };
        let hello_interval = match config.hello_interval.filter(|d| *d != Duration::ZERO) {
            Some(d) => Some(d),
            None if config.asynchronous || config.autostart != 0 => Some(DEFAULT_HELLO_INTERVAL),
            None => None,
        };
        let (slice_size, max_slice_size, doubling) = initial_slice_size(&config);
        let mut capabilities = Capabilities::SENDER;
        if config.asynchronous {
            capabilities |= Capabilities::ASYNC;
        }
        let mut sender = Sender {
            slot_data: usize::from(max_slice_size) * usize::from(config.block_size),
            config,
            storage,
            phase: Phase::Negotiating,
            participants: Participants::new(),
            controls: Deque::new(),
            events: Deque::new(),
            capabilities,
            hello_interval,
            next_hello: hello_interval
                .is_none()
                .then_some(now + NEGOTIATION_HELLO_REPEAT),
            hellos: 0,
            quiet_since: now,
            last_datagram: now,
            first_connected: None,
            destination: SocketAddrV4::new(config.data_group, config.portbase),
            slice_size,
            max_slice_size,
            doubling,
            next_slice: 0,
            free: [true; SLOTS],
            filling: None,
            input_ended: false,
            end_formed: false,
            x: None,
            r: None,
            end_reqacks_left: 0,
            answer_time_us: INITIAL_ANSWER_TIME_US,
            round_slowest_us: None,
            // Negotiation is paced by --max-bitrate alone; --autorate starts with the transfer.
            pacing: Pacing::new(config.max_bitrate, false, config.asynchronous, now),
            paced_until: None,
            fec,
            verification: None,
            reqack_trailers: false,
            auth: config.auth.map(|a| SenderAuth::new(a, config.encrypt)),
            reply_to: None,
            stats: SenderStats {
                slice_size,
                ..SenderStats::default()
            },
        };
        sender.control(Control::Hello(HelloKind::Hello));
        Ok(sender)
    }

    /// Uses `kernel` for FEC encoding instead of the one detected at start.
    pub fn set_fec_kernel(&mut self, kernel: Kernel) {
        if let Some(e) = self.fec.as_mut() {
            *e = Encoder::new(e.config(), kernel);
        }
    }

    /// Offers verified transfers (doc/verified-transfers.md) with this identity to the
    /// receivers that announce the extension; the others see plain udpcast. Only before the
    /// transfer starts.
    pub fn set_identity(&mut self, identity: Identity) {
        if self.phase == Phase::Negotiating {
            self.verification = Some(Verification::new(identity));
        }
    }

    /// The identity given to [`set_identity`](Self::set_identity).
    pub fn identity(&self) -> Option<&Identity> {
        self.verification.as_ref().map(|v| &v.identity)
    }

    /// Whether slices go out with their checks: some receiver speaks the extension (always
    /// in async mode, when an identity was given). Known once [`Event::Started`] came.
    pub fn verifies(&self) -> bool {
        self.reqack_trailers
    }

    /// The whole stream's digest, once the input ended and its last slice was formed.
    pub fn stream_check(&self) -> Option<StreamCheck> {
        self.verification
            .as_ref()
            .and_then(Verification::stream_check)
    }

    /// Counters so far.
    pub fn stats(&self) -> SenderStats {
        let mut stats = self.stats;
        stats.receivers = self.participants.count();
        stats.slice_size = self.slice_size;
        stats.pacing_rate = self.pacing.rate().unwrap_or(0);
        stats
    }

    /// Whether the sender is done, successfully or not.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Finished | Phase::Failed)
    }

    /// Whether everything was sent and acknowledged.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Whether the transfer started (the input should be fed).
    pub fn is_transferring(&self) -> bool {
        self.phase == Phase::Transferring
    }

    /// Receivers connected now.
    pub fn receivers(&self) -> u16 {
        self.participants.count()
    }

    /// Every receiver that connected, by client number, with its figures; one that left
    /// keeps its record (unless a newcomer takes its number before the start).
    pub fn receiver_records(&self) -> impl Iterator<Item = (u16, ReceiverRecord)> + '_ {
        self.participants.records().map(|(client, r)| (client, *r))
    }

    /// The operator pressed a key (or the keyboard input ended): start now (§3.2).
    pub fn handle_key(&mut self, now: Instant) {
        if self.phase == Phase::Negotiating {
            self.start(now);
        }
    }

    /// A datagram arrived from `from` on one of the sender's sockets.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, datagram: &[u8]) {
        if self.is_closed() {
            return;
        }
        let mut nonce = 0;
        let datagram = match self.auth.as_mut().map(|a| a.open(datagram)) {
            None => datagram,
            Some(Ok(opened)) if opened.first_contact => {
                self.first_contact(opened.message);
                return;
            }
            Some(Ok(opened)) => {
                nonce = opened.nonce;
                opened.message
            }
            Some(Err(reason)) => {
                self.stats.auth_rejected += 1;
                if self
                    .auth
                    .as_mut()
                    .is_some_and(|a| a.should_report(now, *from.ip()))
                {
                    self.event(Event::AuthRejected { from, reason });
                }
                return;
            }
        };
        let Ok(message) = Message::parse(datagram) else {
            return;
        };
        match self.phase {
            // An async sender hears nobody (§3.2 step 4): receivers' CONNECT_REQs (ours repeat
            // theirs every second) must not postpone its hellos and autostart for ever.
            Phase::Negotiating if !self.config.asynchronous => {
                self.last_datagram = now;
                self.quiet_since = now;
                self.negotiate(now, from, message, nonce);
            }
            Phase::Negotiating => {}
            Phase::Transferring => self.answer(now, from, message),
            _ => {}
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) (or poll transmits) next.
    pub fn poll_timeout(&mut self, _now: Instant) -> Option<Instant> {
        match self.phase {
            Phase::Negotiating => {
                let quiet = self.quiet_timeout().map(|d| self.quiet_since + d);
                let give_up = self.config.start_timeout.map(|t| self.last_datagram + t);
                let wake = earliest(earliest(quiet, give_up), self.next_hello);
                earliest(wake, self.paced_until)
            }
            Phase::Transferring => {
                // A REQACK already queued (held back by pacing) restarts the round when it
                // goes: until then the old deadline is no reason to wake. Async rounds never
                // time out (nobody is waited for): pacing alone says when to go on.
                let reqack = self
                    .r
                    .as_ref()
                    .filter(|_| !self.config.asynchronous)
                    .filter(|r| !self.reqack_queued() && !self.acknowledged(r))
                    .and_then(|r| r.reqack_at)
                    .map(|at| at + self.reqack_wait(self.r.as_ref()));
                earliest(reqack, self.paced_until)
            }
            _ => None,
        }
    }

    /// Time passed: repeat hellos, apply the start rules, repeat REQACKs, drop the silent.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Negotiating => self.negotiation_timeout(now),
            Phase::Transferring => self.reqack_timeout(now),
            _ => {}
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- input ----

    /// Room for input in the slice being filled (empty when no input is wanted now).
    pub fn input_buffer(&mut self) -> &mut [u8] {
        if self.phase != Phase::Transferring || self.input_ended {
            return &mut [];
        }
        if self.filling.is_none() {
            self.filling = self.take_slot().map(|slot| Filling { slot, len: 0 });
        }
        let Some(f) = self.filling else {
            return &mut [];
        };
        let target = usize::from(self.slice_size) * usize::from(self.config.block_size);
        let start = f.slot * slot_size(&self.config);
        let end = start + target.max(f.len).min(self.slot_data);
        self.storage.get_mut(start + f.len..end).unwrap_or(&mut [])
    }

    /// `n` bytes were written at the start of [`input_buffer`](Self::input_buffer).
    pub fn input_written(&mut self, n: usize) {
        if let Some(f) = self.filling.as_mut() {
            f.len = (f.len + n).min(self.slot_data);
        }
    }

    /// The input ended: what is buffered is the last of it.
    pub fn input_end(&mut self) {
        self.input_ended = true;
    }

    /// Whether the sender waits for input to go on (nothing else to send).
    pub fn wants_input(&self) -> bool {
        self.phase == Phase::Transferring && !self.input_ended && self.x.is_none()
    }

    // ---- output ----

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

    fn encode_control(
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
    fn encode_hello(
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

    // ---- negotiation (§3.2) ----

    /// An authentic receiver that has not heard us asks to connect: it gets a HELLO, which
    /// names our session, and must ask again under it (so no request recorded in an
    /// earlier run can make us wait for a receiver that is not there).
    fn first_contact(&mut self, message: &[u8]) {
        let asks = matches!(Message::parse(message), Ok(Message::ConnectReq(_)));
        let hello_queued = self.controls.iter().any(|c| matches!(c, Control::Hello(_)));
        if asks && self.phase == Phase::Negotiating && !self.config.asynchronous && !hello_queued {
            self.control(Control::Hello(HelloKind::Hello));
        }
    }

    fn negotiate(&mut self, now: Instant, from: SocketAddrV4, message: Message, nonce: u64) {
        match message {
            Message::ConnectReq(req) => {
                let limit = match self.config.pointopoint {
                    PointToPoint::Always => 1,
                    _ => crate::wire::MAX_CLIENTS,
                };
                let client = match self.participants.admit(from, req.capabilities, now, limit) {
                    Admission::New(client) => {
                        self.first_connected.get_or_insert(now);
                        let capabilities = req.capabilities | Capabilities::BIG_ENDIAN;
                        self.event(Event::Connected {
                            client,
                            address: from,
                            capabilities,
                        });
                        Some(client)
                    }
                    Admission::Known(client) => Some(client),
                    Admission::Refused => None,
                };
                self.control(Control::Reply {
                    to: from,
                    client,
                    verified: req.capabilities.contains(VERIFIED),
                    nonce,
                });
            }
            // GO starts the transfer whoever sends it (udpcast does not check, §3.2).
            Message::Go => self.start(now),
            Message::Disconnect => {
                if let Some(client) = self.participants.find(*from.ip()) {
                    self.remove(client, ReceiverStatus::Disconnected);
                }
            }
            _ => {}
        }
    }

    /// The quiet period after which `handle_timeout` looks at the start rules (§3.2 step 3).
    fn quiet_timeout(&self) -> Option<Duration> {
        if let Some(interval) = self.hello_interval {
            return Some(interval);
        }
        let counting = self.config.min_receivers != 0
            || self.config.min_wait.is_some()
            || self.config.max_wait.is_some();
        let waiting_for_more = counting && self.participants.count() >= 1;
        (waiting_for_more || self.config.start_timeout.is_some()).then_some(QUIET)
    }

    fn negotiation_timeout(&mut self, now: Instant) {
        if self.next_hello.is_some_and(|at| now >= at) {
            self.control(Control::Hello(HelloKind::Hello));
            self.next_hello = Some(now + NEGOTIATION_HELLO_REPEAT);
        }
        let quiet = self.quiet_timeout().map(|d| self.quiet_since + d);
        if quiet.is_some_and(|q| now >= q) {
            self.quiet_since = now;
            if self.hello_interval.is_some() {
                self.control(Control::Hello(HelloKind::Hello));
                self.hellos += 1;
                if self.config.autostart != 0 && self.hellos > self.config.autostart {
                    self.start(now);
                    return;
                }
            }
            if self.receiver_count_rule(now) {
                self.start(now);
                return;
            }
        }
        if self
            .config
            .start_timeout
            .is_some_and(|t| now >= self.last_datagram + t)
        {
            self.fail(SenderError::StartTimeout);
        }
    }

    /// §3.2: max-wait after the first receiver, else enough receivers (after min-wait).
    fn receiver_count_rule(&self, now: Instant) -> bool {
        let c = &self.config;
        if c.min_receivers == 0 && c.min_wait.is_none() && c.max_wait.is_none() {
            return false;
        }
        let Some(first) = self.first_connected else {
            return false;
        };
        if c.max_wait.is_some_and(|w| now >= first + w) {
            return true;
        }
        u32::from(self.participants.count()) >= c.min_receivers
            && c.min_wait.map_or(true, |w| now >= first + w)
    }

    fn start(&mut self, now: Instant) {
        let receivers = self.participants.count();
        if receivers == 0 && !self.config.asynchronous {
            self.fail(SenderError::NoParticipants);
            return;
        }
        let mut common = self.capabilities;
        for (_, p) in self.participants.iter() {
            common &= p.capabilities;
        }
        if !common.contains(Capabilities::BIG_ENDIAN) {
            self.fail(SenderError::IncompatiblePeer);
            return;
        }
        let port = self.config.portbase;
        let single = self
            .participants
            .iter()
            .next()
            .map(|(_, p)| *p.address.ip());
        let data = if self.config.broadcast {
            self.config.rendezvous
        } else {
            match (self.config.pointopoint, single) {
                (PointToPoint::Always, Some(ip)) => ip,
                (PointToPoint::Auto, Some(ip)) if receivers == 1 && !self.config.asynchronous => ip,
                _ => self.config.data_group,
            }
        };
        self.destination = SocketAddrV4::new(data, port);
        self.reqack_trailers = self.verification.is_some()
            && (self.config.asynchronous
                || self
                    .participants
                    .iter()
                    .any(|(_, p)| p.capabilities.contains(VERIFIED)));
        self.phase = Phase::Transferring;
        self.controls.clear();
        self.pacing = Pacing::new(
            self.config.max_bitrate,
            self.config.autorate,
            self.config.asynchronous,
            now,
        );
        self.event(Event::Started {
            capabilities: common,
            destination: self.destination,
            receivers,
        });
    }

    // ---- transfer (§3.6–§3.8) ----

    /// Runs the engine until it produces a datagram or has nothing to send now.
    fn engine(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        for _ in 0..8 {
            // 1. A slice every receiver holds is done.
            if self.r.as_ref().is_some_and(|r| self.acknowledged(r)) {
                self.release_r();
                continue;
            }
            // 2. A fully sent slice waits for acknowledgement.
            if self.r.is_none() && self.x.as_ref().is_some_and(Flight::fully_sent) {
                self.r = self.x.take();
                if self.first_reqack(now) {
                    return self.encode_control(now, Control::Reqack, buf);
                }
                continue;
            }
            // 4. Resend what was asked for.
            if let Some(r) = self.r.as_mut() {
                if r.need_rxmit {
                    if let Some(block) = r.next_resend() {
                        let (slot, number, bytes) = (r.slot, r.number, r.bytes);
                        self.stats.blocks_resent += 1;
                        return self.encode_data(slot, number, bytes, block, buf);
                    }
                }
            }
            // 5. Everyone answered: next round.
            if self.r.as_ref().is_some_and(|r| {
                r.nr_answered >= self.participants.count() && r.reqack_at.is_some()
            }) {
                return self.next_round(now, buf);
            }
            // 6. Form the next slice.
            if self.x.is_none() && !self.end_formed && (self.full_duplex() || self.r.is_none()) {
                if self.form_slice() {
                    continue;
                }
                return None; // waiting for input
            }
            // 7. Go on with the first transmission, but start a slice only once every
            //    receiver answered the previous slice's REQACK: a udpcast receiver that
            //    sees slice n+1 before anything of slice n (data and REQACK lost, or
            //    dropped by its socket buffer in a burst) gives up ("Dropped by server").
            //    X still overlaps R's retransmissions; the price is one round trip.
            if self.x.as_ref().is_some_and(|x| !x.fully_sent()) {
                if self.x.as_ref().is_some_and(|x| x.next == 0) && !self.previous_slice_seen() {
                    return None;
                }
                let sent = self.first_transmission(buf);
                if let (Some((len, _)), Some(x)) = (sent, self.x.as_mut()) {
                    x.first_pass.sent(now, len);
                }
                return sent;
            }
            // 8. The end.
            if self.end_formed && self.r.is_none() && self.x.is_none() {
                self.phase = Phase::Finished;
                self.event(Event::Finished);
            }
            return None;
        }
        None
    }

    /// Whether every receiver has answered a REQACK of the slice being acknowledged (so
    /// each has opened it), or there is none to wait for.
    fn previous_slice_seen(&self) -> bool {
        match self.r.as_ref() {
            None => true,
            Some(_) if self.config.asynchronous => true,
            Some(r) => {
                r.seen_by_all
                    || (r.reqack_at.is_some() && r.nr_answered >= self.participants.count())
            }
        }
    }

    fn acknowledged(&self, r: &Flight) -> bool {
        if self.config.asynchronous {
            return self.end_reqacks_left == 0 && r.reqack_at.is_some();
        }
        r.reqack_at.is_some() && r.nr_ready >= self.participants.count()
    }

    fn full_duplex(&self) -> bool {
        self.config.asynchronous || self.config.duplex == Duplex::Full
    }

    /// Releases R; in half duplex a clean slice grows the next ones (§3.5).
    fn release_r(&mut self) {
        let Some(r) = self.r.take() else { return };
        self.free[r.slot] = true;
        self.pacing.slice_done(&r);
        if !self.full_duplex() && self.doubling {
            let grown = self.slice_size.saturating_add(self.slice_size / 4);
            if grown >= self.max_slice_size {
                self.slice_size = self.max_slice_size;
                self.doubling = false;
            } else {
                self.slice_size = grown;
            }
            self.event(Event::SliceSize(self.slice_size));
        }
    }

    /// The first REQACK of R: in async mode only the end of a FEC-less stream gets one
    /// (twice), everything else counts as acknowledged once sent (§3.8, §3.9).
    fn first_reqack(&mut self, now: Instant) -> bool {
        let Some(r) = self.r.as_mut() else {
            return false;
        };
        if self.config.asynchronous {
            if r.bytes != 0 || self.fec.is_some() {
                // Verified async transfers send one REQACK per slice, for its check: a
                // receiver of ours verifies the slice then, and asks for nothing. Streaming
                // ones carry it on the slice's hello instead, where late joiners still
                // looking for the sender do not mistake it for another transfer's.
                if self.reqack_trailers && !self.config.streaming {
                    return true;
                }
                r.reqack_at = Some(now);
                return false;
            }
            self.end_reqacks_left = 1;
        }
        true
    }

    fn next_round(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        let half_duplex = !self.full_duplex();
        let r = self.r.as_mut()?;
        if self.config.asynchronous {
            // The end REQACK of an async transfer without FEC goes out twice (rxmit 0, 1).
            r.rxmit += 1;
            self.end_reqacks_left = self.end_reqacks_left.saturating_sub(1);
            return self.encode_control(now, Control::Reqack, buf);
        }
        // Only reached once everyone answered this round (§3.6 step 5).
        r.seen_by_all = true;
        r.rxmit += 1;
        if half_duplex {
            let (last, blocks) = (r.last_skipped, r.blocks);
            r.last_skipped = 0;
            self.shrink(last, blocks);
        }
        self.encode_control(now, Control::Reqack, buf)
    }

    /// Half duplex: losses near the end of a slice mean it was too long (§3.5).
    fn shrink(&mut self, last_skipped: u16, blocks: u16) {
        if last_skipped == 0 || last_skipped >= blocks {
            return;
        }
        self.doubling = false;
        let size = if last_skipped < self.slice_size / 2 {
            self.slice_size / 2
        } else {
            last_skipped
        };
        // Never past the largest slice: a slot holds no more, and input beyond it is lost.
        let size = size.max(MIN_SHRUNK_SLICE).min(self.max_slice_size);
        if size != self.slice_size {
            self.slice_size = size;
            self.event(Event::SliceSize(size));
        }
    }

    fn reqack_wait(&self, r: Option<&Flight>) -> Duration {
        let base = self.answer_time_us + self.answer_time_us / 10;
        let extra = if r.is_some_and(|r| r.rxmit > 10) {
            1_000_000
        } else {
            0
        };
        Duration::from_micros(base + extra)
    }

    fn reqack_queued(&self) -> bool {
        self.controls.iter().any(|c| matches!(c, Control::Reqack))
    }

    fn reqack_timeout(&mut self, now: Instant) {
        if self.reqack_queued() || self.config.asynchronous {
            return;
        }
        let wait = self.reqack_wait(self.r.as_ref());
        let Some(r) = self.r.as_ref() else { return };
        let Some(at) = r.reqack_at else { return };
        if now < at + wait {
            return;
        }
        let give_up_rounds = r.rxmit > self.config.retries_until_drop;
        let drop_timeout = self.config.drop_timeout;
        let mut silent = heapless::Vec::<(u16, DropReason), 1024>::new();
        for (client, p) in self.participants.iter() {
            if r.ready.contains(usize::from(client)) {
                continue;
            }
            let quiet_too_long = r.first_reqack_at.is_some_and(|f| now >= f + drop_timeout)
                && now >= p.last_heard + drop_timeout;
            let why = match (give_up_rounds, quiet_too_long) {
                (true, _) => DropReason::RetriesExhausted,
                (false, true) => DropReason::Silent,
                (false, false) => continue,
            };
            let _ = silent.push((client, why));
        }
        for (client, why) in silent {
            self.remove(client, ReceiverStatus::Dropped(why));
        }
        if self.is_closed() {
            return;
        }
        if let Some(r) = self.r.as_mut() {
            if r.nr_ready < self.participants.count() {
                r.rxmit += 1;
                self.control(Control::Reqack);
            }
        }
    }

    /// Cuts the next slice from the input (§3.4). Returns false if it must wait for input.
    fn form_slice(&mut self) -> bool {
        let bs = usize::from(self.config.block_size);
        let target = usize::from(self.slice_size) * bs;
        if self.filling.is_none() {
            self.filling = self.take_slot().map(|slot| Filling { slot, len: 0 });
        }
        let Some(filling) = self.filling else {
            return false;
        };
        if filling.len < target && !self.input_ended {
            return false;
        }
        // Whole blocks only, except a tail shorter than one block, which travels alone.
        let mut bytes = filling.len.min(target);
        if bytes > bs {
            bytes -= bytes % bs;
        }
        let leftover = filling.len - bytes;
        self.filling = None;
        if leftover > 0 {
            let Some(next) = self.take_slot() else {
                return false;
            };
            let size = slot_size(&self.config);
            let from = filling.slot * size + bytes;
            self.storage.copy_within(from..from + leftover, next * size);
            self.filling = Some(Filling {
                slot: next,
                len: leftover,
            });
        }
        let blocks = bytes.div_ceil(bs) as u16;
        let end = bytes == 0;
        let fec_blocks = match (self.config.fec, end) {
            // The synchronous end slice carries no FEC (§3.8); the async one does.
            (Some(_), true) if !self.config.asynchronous => 0,
            (Some(f), _) => f.stripes * f.redundancy,
            (None, _) => 0,
        };
        if let (Some(encoder), true) = (self.fec.as_ref(), fec_blocks != 0) {
            let size = slot_size(&self.config);
            let base = filling.slot * size;
            let (data, fec) = self.storage[base..base + size].split_at_mut(self.slot_data);
            let fec_len = encoder.config().fec_len();
            if encoder
                .encode_slice(&data[..bytes], &mut fec[..fec_len])
                .is_err()
            {
                fec[..fec_len].fill(0);
            }
        }
        self.end_formed = end;
        self.stats.bytes_sent += bytes as u64;
        let mut flight = Flight::new(
            filling.slot,
            self.next_slice,
            bytes as u32,
            blocks,
            fec_blocks,
        );
        if let Some(v) = self.verification.as_mut() {
            let base = filling.slot * slot_size(&self.config);
            flight.check = v.cut(self.next_slice, &self.storage[base..base + bytes]);
        }
        self.x = Some(flight);
        self.next_slice = self.next_slice.wrapping_add(1);
        true
    }

    fn take_slot(&mut self) -> Option<usize> {
        let slot = self.free.iter().position(|&f| f)?;
        self.free[slot] = false;
        Some(slot)
    }

    fn first_transmission(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        let streaming = self.config.streaming;
        let offset = u32::from(self.config.rehello_offset);
        let x = self.x.as_mut()?;
        // §3.10: the streaming hello precedes block max(0, blocks − offset) (for the empty
        // async end slice, FEC block 0).
        let hello_at = u32::from(x.blocks).saturating_sub(offset);
        if streaming && !x.streaming_hello_sent && x.next == hello_at {
            x.streaming_hello_sent = true;
            let check = x.check;
            let rendezvous = SocketAddrV4::new(self.config.rendezvous, self.config.portbase);
            return Some((
                self.encode_hello(HelloKind::Streaming, check, buf)?,
                rendezvous,
            ));
        }
        let packet = x.next;
        x.next += 1;
        let (slot, number, bytes, blocks) = (x.slot, x.number, x.bytes, x.blocks);
        if packet < u32::from(blocks) {
            self.encode_data(slot, number, bytes, packet as u16, buf)
        } else {
            self.encode_fec(
                slot,
                number,
                bytes,
                (packet - u32::from(blocks)) as u16,
                buf,
            )
        }
    }

    fn encode_data(
        &mut self,
        slot: usize,
        number: u32,
        bytes: u32,
        block: u16,
        buf: &mut [u8],
    ) -> Option<(usize, SocketAddrV4)> {
        let bs = usize::from(self.config.block_size);
        let base = slot * slot_size(&self.config);
        let start = usize::from(block) * bs;
        let end = (start + bs).min(bytes as usize);
        let data = Data {
            slice: number,
            block,
            bytes,
            payload: self.storage.get(base + start..base + end)?,
        };
        self.stats.blocks_sent += 1;
        Some((data.encode(buf).ok()?, self.destination))
    }

    fn encode_fec(
        &mut self,
        slot: usize,
        number: u32,
        bytes: u32,
        block: u16,
        buf: &mut [u8],
    ) -> Option<(usize, SocketAddrV4)> {
        let params = self.config.fec?;
        let bs = usize::from(self.config.block_size);
        let base = slot * slot_size(&self.config) + self.slot_data + usize::from(block) * bs;
        let fec = Fec {
            stripes: params.stripes,
            slice: number,
            block,
            bytes,
            payload: self.storage.get(base..base + bs)?,
        };
        self.stats.blocks_sent += 1;
        Some((fec.encode(buf).ok()?, self.destination))
    }

    /// An answer during the transfer (§3.7): only from participants, only for X or R.
    fn answer(&mut self, now: Instant, from: SocketAddrV4, message: Message) {
        let Some(client) = self.participants.find(*from.ip()) else {
            return;
        };
        self.participants.heard(client, now);
        let (slice, ok, received) = match message {
            Message::Ok(ok) => (ok.slice, true, None),
            Message::Retransmit(r) => (r.slice, false, Some(r.received)),
            Message::Disconnect => {
                self.remove(client, ReceiverStatus::Disconnected);
                return;
            }
            _ => return,
        };
        self.stats.last_answer_from = Some(client);
        // Answer time: only answers to R's latest round count (a RETRANSMIT names its
        // round; an OK may answer an earlier one, which only makes it look quicker). The
        // wait rises to the slowest answer at once, and when the next round starts moves
        // a tenth of the way toward that round's slowest (§3.6 step 10 averages every
        // answer, avg = 0.9·(avg + 9) + 0.1·t, so the quick receivers of a mixed room
        // pull it below the slow ones' and those fall into one-second rounds).
        let this_round = self.r.as_ref().is_some_and(|r| match message {
            Message::Retransmit(ref m) => (m.slice, m.rxmit) == (r.number, r.rxmit),
            _ => slice == r.number,
        });
        if let Some(at) = self
            .r
            .as_ref()
            .and_then(|r| r.reqack_at)
            .filter(|_| this_round)
        {
            let t = now.saturating_since(at).as_micros();
            self.answer_time_us = self.answer_time_us.max(t);
            self.round_slowest_us = Some(self.round_slowest_us.unwrap_or(0).max(t));
        }
        for flight in [self.x.as_mut(), self.r.as_mut()].into_iter().flatten() {
            if flight.number != slice {
                continue;
            }
            let Some(record) = self.participants.record_mut(client) else {
                continue;
            };
            let first_round = match message {
                Message::Retransmit(ref m) => m.rxmit == 0,
                _ => flight.rxmit == 0,
            };
            match received {
                None if ok => {
                    if first_round {
                        flight.first_pass.answered(now, 0);
                    }
                    if flight.ok(client) {
                        record.bytes_acknowledged += u64::from(flight.bytes);
                    }
                    // Only an answer to the end slice's REQACK says the receiver holds
                    // everything: an OK for an end slice not yet asked about (still
                    // waiting behind R) proves nothing.
                    if flight.is_end() && flight.reqack_at.is_some() {
                        record.status = ReceiverStatus::Complete;
                    }
                }
                Some(map) => {
                    let missing = flight.retransmit(client, map);
                    record.blocks_requested += missing;
                    if first_round {
                        flight.first_pass.answered(now, missing.min(1024) as u16);
                    }
                }
                None => {}
            }
        }
    }

    /// `client` leaves: disconnected or dropped, as `status` says.
    fn remove(&mut self, client: u16, status: ReceiverStatus) {
        let Some(p) = self.participants.remove(client) else {
            return;
        };
        if let Some(record) = self.participants.record_mut(client) {
            record.leave(status);
        }
        let reason = match status {
            ReceiverStatus::Dropped(_) => LeaveReason::Dropped,
            _ => LeaveReason::Disconnected,
        };
        for flight in [self.x.as_mut(), self.r.as_mut()].into_iter().flatten() {
            flight.forget(client);
        }
        self.event(Event::Left {
            client,
            address: *p.address.ip(),
            reason,
        });
        if self.phase == Phase::Transferring
            && self.participants.count() == 0
            && !self.config.asynchronous
        {
            // A receiver that acknowledged the end slice holds everything: the last one to
            // go (dropped before its own final OK, say) does not undo that delivery.
            let delivered = self
                .participants
                .records()
                .any(|(_, r)| r.status == ReceiverStatus::Complete);
            if delivered {
                self.phase = Phase::Finished;
                self.event(Event::Finished);
            } else {
                self.fail(SenderError::AllReceiversGone);
            }
        }
    }

    fn fail(&mut self, error: SenderError) {
        self.phase = Phase::Failed;
        self.event(Event::Failed(error));
    }

    fn control(&mut self, control: Control) {
        let _ = self.controls.push_back(control);
    }

    fn event(&mut self, event: Event) {
        if self.events.is_full() {
            self.events.pop_front();
        }
        let _ = self.events.push_back(event);
    }
}

/// Bytes of one storage slot: the largest slice and its FEC blocks.
fn slot_size(config: &SenderConfig) -> usize {
    let (_, max, _) = initial_slice_size(config);
    let bs = usize::from(config.block_size);
    let fec = config.fec.map_or(0, |f| {
        usize::from(f.stripes) * usize::from(f.redundancy) * bs
    });
    usize::from(max) * bs + fec
}

/// Checks what udpcast checks (§3.1) and what this implementation needs.
fn validate(config: &mut SenderConfig) -> Result<(), SenderError> {
    if config.block_size == 0 {
        return Err(SenderError::InvalidConfig("--blocksize must be positive"));
    }
    if config.auth.is_some() {
        config.block_size = config.block_size.min(AUTH_MAX_BLOCK_SIZE);
    } else if config.encrypt {
        return Err(SenderError::InvalidConfig("--encrypt needs --key-file"));
    }
    // udpcast rounds the block size down to a multiple of 4.
    config.block_size -= config.block_size % 4;
    if config.block_size == 0 {
        return Err(SenderError::InvalidConfig("--blocksize must be at least 4"));
    }
    if usize::from(config.min_slice_size) > MAX_BLOCKS_PER_SLICE
        || usize::from(config.max_slice_size) > MAX_BLOCKS_PER_SLICE
    {
        return Err(SenderError::InvalidConfig("slice sizes are at most 1024"));
    }
    if let Some(f) = config.fec {
        if f.stripes == 0
            || f.stripes > 256
            || f.redundancy == 0
            || f.redundancy > 128
            || f.stripe_size == 0
            || f.stripe_size > 128
        {
            return Err(SenderError::InvalidConfig(
                "--fec: stripes 1..256, redundancy 1..128, stripe size 1..128",
            ));
        }
    }
    if config.asynchronous {
        config.duplex = Duplex::Full;
    }
    Ok(())
}

/// The first slice size, the largest, and whether half-duplex doubling is on (§3.5).
fn initial_slice_size(config: &SenderConfig) -> (u16, u16, bool) {
    let min = config.min_slice_size.max(1);
    let mut max = config
        .max_slice_size
        .max(min)
        .min(MAX_BLOCKS_PER_SLICE as u16);
    if let Some(f) = config.fec {
        max = max.min(f.stripes.saturating_mul(128)).max(1);
    }
    let (initial, doubling) = match (config.slice_size, config.fec) {
        (Some(n), _) => (n, false),
        (None, Some(f)) => (f.stripes.saturating_mul(f.stripe_size), false),
        (None, None) if config.asynchronous => (1024, false),
        (None, None) if config.duplex == Duplex::Full => (112, false),
        (None, None) => (130, true),
    };
    (initial.clamp(min.min(max), max), max, doubling)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
