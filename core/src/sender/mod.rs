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
mod negotiation;
mod output;
mod pacing;
mod participants;
mod record;
mod rounds;
#[cfg(test)]
mod tests;
mod transfer;
mod verification;

pub use config::{Duplex, FecParams, PointToPoint, SenderConfig};
pub use event::{Event, LeaveReason, SenderError};
pub use record::{DropReason, ReceiverRecord, ReceiverStatus};

use crate::extension::{Identity, StreamCheck};
use crate::fec::{Encoder, FecConfig, Kernel};
use crate::time::{earliest, Duration, Instant};
use crate::wire::{Capabilities, HelloKind, Message, MAX_BLOCKS_PER_SLICE};
use authentication::SenderAuth;
use core::net::SocketAddrV4;
use flight::Flight;
use heapless::Deque;
use pacing::Pacing;
use participants::Participants;
use verification::Verification;

/// The largest block under `--key-file` ([`crate::auth::MAX_BLOCK_SIZE`]).
pub const AUTH_MAX_BLOCK_SIZE: u16 = crate::auth::MAX_BLOCK_SIZE;

/// Slices the sender keeps: acknowledged one, transmitted one, one being filled.
const SLOTS: usize = 3;
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

    // ---- what every phase queues: failures, controls, events ----

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
