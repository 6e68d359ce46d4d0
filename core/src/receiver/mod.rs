//! The receiver: a sans-IO state machine that joins a udpcast sender and reassembles the
//! stream it sends (PROTOCOL.md §4).
//!
//! The caller owns every resource. It passes datagrams ([`Receiver::handle_datagram`]),
//! key presses ([`Receiver::handle_key`]) and expired timers ([`Receiver::handle_timeout`])
//! in, each with the current time, and after every such call polls, until they return
//! nothing:
//! * [`Receiver::poll_transmit`] — datagrams to send from the receiver's socket (port P);
//! * [`Receiver::poll_event`] — connected, started, finished, failed …;
//! * [`Receiver::output`] / [`Receiver::consume_output`] — the next in-order bytes of the
//!   stream, borrowed from the slice storage, to be written out;
//! * [`Receiver::poll_timeout`] — when to call `handle_timeout` next.
//!
//! Slices are kept in the storage the caller lends to [`Receiver::new`]: four slots, each of
//! `storage.len() / 4` bytes, so a host gives about 6 MB (four slices of 1024 blocks of 1456
//! bytes) and a small target gives less and refuses larger slices with a typed error.

mod authentication;
mod config;
mod discovery;
mod event;
mod slot;
#[cfg(test)]
mod tests;
mod transfer;
mod verification;
#[cfg(test)]
mod verification_tests;

pub use config::ReceiverConfig;
pub use event::{Connection, Event, NotVerifiedReason, ReceiverError};

use crate::extension::integrity::StreamDigest;
use crate::extension::{trailing_bytes, StreamName, Trailer, VERIFIED};
use crate::fec;
use crate::time::{earliest, Instant};
use crate::transmit::Transmit;
use crate::wire::{
    Bitmap1024, Capabilities, ConnectReq, Message, Reqack, Retransmit, SliceOk,
    MAX_BLOCKS_PER_SLICE,
};
use authentication::ReceiverAuth;
use core::net::SocketAddrV4;
use heapless::Deque;
use slot::{Slot, SlotState};
use verification::Verification;

/// Slices tracked at once, as udpcast's receiver does (PROTOCOL.md §6.3): the sender keeps
/// at most two in flight, which leaves two slots for complete slices not yet written out.
pub const SLOTS: usize = 4;

/// Storage for four slices of 1024 blocks of 1456 bytes: enough for anything a udpcast
/// sender sends with its default block size.
pub const FULL_STORAGE: usize = SLOTS * MAX_BLOCKS_PER_SLICE * 1456;

/// Counters of what a receiver saw, for progress lines and final statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverStats {
    /// Bytes of complete slices (whether or not already written out).
    pub bytes_received: u64,
    /// Bytes handed out through `consume_output`.
    pub bytes_output: u64,
    /// DATA blocks stored.
    pub data_blocks: u64,
    /// FEC blocks used to rebuild missing data blocks.
    pub fec_blocks_used: u64,
    /// RETRANSMIT requests sent.
    pub retransmit_requests: u64,
    /// Data blocks those requests asked the sender to resend: the blocks each lists as
    /// missing, so a block still missing after two rounds counts twice. Blocks FEC will
    /// rebuild are reported as received and not counted. What a sender's `--stats-json`
    /// shows per receiver is the same figure seen from the other end.
    pub blocks_requested: u64,
    /// Data blocks given up on (`--ignore-lost-data`), written as zeros.
    pub lost_blocks: u64,
    /// Datagrams from an address other than the sender's during the transfer.
    pub rogue_datagrams: u64,
    /// Datagrams that are not udpcast messages, or contradict the slice they claim.
    pub malformed_datagrams: u64,
    /// Verified transfers: slices that matched their checksum.
    pub slices_verified: u64,
    /// Verified transfers: complete slices that failed their checksum and were asked for
    /// again in full.
    pub slices_failed: u64,
    /// Verified transfers: slices written without a check (none arrived, or lost blocks
    /// were given up on); the whole-stream digest still decides.
    pub slices_unchecked: u64,
    /// Messages from the sender's address that belong to another session.
    pub other_session_messages: u64,
    /// Authenticated transfers: datagrams from a sender's port dropped because they were
    /// not authentic, of another session, or replayed.
    pub auth_rejected: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Looking for a sender: CONNECT_REQ sent, waiting for CONNECT_REPLY or HELLO.
    Discovering,
    /// Connected, waiting for the first data.
    Connected,
    /// Data flows.
    Receiving,
    /// The end of the stream arrived; answering stragglers until the exit-wait is over.
    Draining,
    Finished,
    Failed,
}

#[derive(Clone, Copy, Debug)]
struct Session {
    sender: SocketAddrV4,
    client_number: u16,
    block_size: usize,
    /// The most blocks a storage slot holds at this block size.
    slot_blocks: usize,
    streaming: bool,
}

#[derive(Clone, Debug)]
enum Pending {
    ConnectReq(SocketAddrV4),
    Go,
    Ok(u32),
    Retransmit {
        slice: u32,
        rxmit: u32,
        received: Bitmap1024,
    },
    Disconnect,
}

/// What to do with a packet for a given slice.
enum Admission {
    /// The slice is complete or already written: nothing to store (a REQACK gets OK).
    Done,
    /// Store into this slot.
    Slot(usize),
    /// No room until the caller writes out older slices: drop it, it will come again.
    NoRoom,
}

/// A udpcast receiver. See the [module documentation](self) for how to drive it.
pub struct Receiver<'s> {
    config: ReceiverConfig,
    storage: &'s mut [u8],
    phase: Phase,
    session: Option<Session>,
    /// The sender learnt from a HELLO while discovering: later CONNECT_REQs go to it.
    hello_from: Option<SocketAddrV4>,
    streaming_seen: bool,
    slots: [Slot; SLOTS],
    /// The slice `output()` serves; every older slice has been written out.
    next_output: u32,
    /// Bytes of that slice already consumed.
    output_pos: usize,
    /// A streaming receiver has not yet completed its first slice: it follows the newest
    /// slice until one completes (PROTOCOL.md §4.10).
    joining: bool,
    /// The zero-byte slice that ends the stream, once seen.
    end_slice: Option<u32>,
    /// The slice whose size is not a whole number of blocks: only the end may follow it.
    short_slice: Option<u32>,
    transmits: Deque<Pending, 16>,
    events: Deque<Event, 16>,
    /// Last datagram of any kind (start timeout) and from the sender (receive timeout).
    last_datagram: Instant,
    last_from_sender: Instant,
    next_connect_req: Option<Instant>,
    go_sent: bool,
    exit_at: Option<Instant>,
    fec_kernel: fec::Kernel,
    /// Rebuilds missing blocks from the FEC blocks a slot keeps in their cells; made at the
    /// first decoding, once the block size is known (it holds 16 KiB of matrix scratch, so
    /// it lives here rather than on the stack).
    fec_decoder: Option<fec::Decoder>,
    /// Verified transfers: set once a sender of ours announced the stream.
    verification: Option<Verification>,
    expected_name: Option<StreamName>,
    /// Digest of every byte handed out, for the end of a verified transfer.
    digest: StreamDigest,
    /// The first slice handed out: not 0 when we joined a stream late.
    first_output: Option<u32>,
    /// Authenticated transfers (`--key-file`).
    auth: Option<ReceiverAuth>,
    stats: ReceiverStats,
}

impl<'s> Receiver<'s> {
    /// A receiver that starts looking for a sender at `now`; unless passive, its first
    /// CONNECT_REQ is ready in [`poll_transmit`](Self::poll_transmit).
    pub fn new(config: ReceiverConfig, storage: &'s mut [u8], now: Instant) -> Self {
        let mut receiver = Receiver {
            config,
            storage,
            phase: Phase::Discovering,
            session: None,
            hello_from: None,
            streaming_seen: false,
            slots: [const { Slot::new() }; SLOTS],
            next_output: 0,
            output_pos: 0,
            joining: false,
            end_slice: None,
            short_slice: None,
            transmits: Deque::new(),
            events: Deque::new(),
            last_datagram: now,
            last_from_sender: now,
            next_connect_req: None,
            go_sent: false,
            exit_at: None,
            fec_kernel: fec::Kernel::detect(),
            fec_decoder: None,
            verification: None,
            expected_name: None,
            digest: StreamDigest::new(),
            first_output: None,
            auth: config.auth.map(ReceiverAuth::new),
            stats: ReceiverStats::default(),
        };
        if !config.passive {
            receiver.send_connect_req(now);
        }
        receiver
    }

    /// Uses `kernel` for FEC decoding instead of the one detected at start.
    pub fn set_fec_kernel(&mut self, kernel: fec::Kernel) {
        self.fec_kernel = kernel;
        // Made again with this kernel at the next decoding.
        self.fec_decoder = None;
    }

    /// Counters so far.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// The connection, once established.
    pub fn connection(&self) -> Option<Connection> {
        self.session.map(|s| self.describe(s))
    }

    /// Whether the receiver is done, successfully or not: nothing more will happen.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Finished | Phase::Failed)
    }

    /// Whether the whole stream arrived and was handed out.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// A datagram arrived on any of the receiver's sockets from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, datagram: &[u8]) {
        if self.is_closed() {
            return;
        }
        // Only senders speak from port P+1 (§1.7); everything else is other receivers.
        if from.port() != self.config.portbase.wrapping_add(1) {
            self.last_datagram = now;
            return;
        }
        let connected = self.session.is_some();
        let Some(auth) = self.auth.as_mut() else {
            if !connected && authentication::sealed_announcement(datagram) {
                self.fail(ReceiverError::KeyRequired);
            } else {
                self.handle_message(now, from, datagram);
            }
            return;
        };
        // Room for a deciphered block: only keyed receivers need it.
        let mut plain = [0u8; crate::auth::MAX_ENCIPHERED_MESSAGE];
        match auth.open(datagram, connected, &mut plain) {
            Ok(message) => self.handle_message(now, from, message),
            Err(reason) => {
                self.stats.auth_rejected += 1;
                if auth.first_refusal(reason) {
                    self.event(Event::AuthRejected { from, reason });
                }
            }
        }
    }

    /// A message from a sender's port, authentic if the transfer is authenticated.
    fn handle_message(&mut self, now: Instant, from: SocketAddrV4, datagram: &[u8]) {
        // A sender that is not heard authentically does not keep us waiting.
        self.last_datagram = now;
        let Ok(message) = Message::parse(datagram) else {
            self.stats.malformed_datagrams += 1;
            return;
        };
        let result = match self.session {
            None => self.discover(now, from, message, datagram),
            Some(session) if from != session.sender => {
                // §1.7: during the transfer only the sender's own address and port count.
                self.stats.rogue_datagrams += 1;
                Ok(())
            }
            Some(session) => {
                self.last_from_sender = now;
                self.transfer(now, session, message, datagram)
            }
        };
        if let Err(error) = result {
            self.fail(error);
        }
    }

    /// The operator pressed a key (or the keyboard input ended): start the transfer with
    /// GO, once, if we are connected and waiting for it (PROTOCOL.md §4.3).
    pub fn handle_key(&mut self, _now: Instant) {
        let waiting = self.phase == Phase::Connected && self.config.keyboard && !self.passive();
        if waiting && !self.go_sent {
            self.go_sent = true;
            self.queue(Pending::Go);
            self.event(Event::GoSent);
        }
    }

    /// The operator cancelled: tell the sender we leave (if connected) and stop.
    pub fn abort(&mut self) {
        if !self.is_closed() {
            self.leave();
            self.phase = Phase::Failed;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let start_deadline = self.config.start_timeout.map(|t| self.last_datagram + t);
        match self.phase {
            Phase::Discovering => earliest(start_deadline, self.next_connect_req),
            Phase::Connected => start_deadline,
            Phase::Receiving => self
                .config
                .receive_timeout
                .map(|t| self.last_from_sender + t),
            Phase::Draining => self.exit_at,
            Phase::Finished | Phase::Failed => None,
        }
    }

    /// Time passed: resend what is due, or give up on what took too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired = |deadline: Option<Instant>| deadline.is_some_and(|d| now >= d);
        let start_deadline = self.config.start_timeout.map(|t| self.last_datagram + t);
        match self.phase {
            Phase::Discovering => {
                if expired(start_deadline) {
                    let refused = self
                        .auth
                        .as_ref()
                        .filter(|a| !a.authentic_seen)
                        .and_then(|a| a.last_refusal);
                    self.fail(
                        refused.map_or(ReceiverError::NoSender, ReceiverError::NotAuthenticated),
                    );
                } else if expired(self.next_connect_req) {
                    self.send_connect_req(now);
                }
            }
            Phase::Connected if expired(start_deadline) => self.fail(ReceiverError::NotStarted),
            Phase::Receiving => {
                let deadline = self
                    .config
                    .receive_timeout
                    .map(|t| self.last_from_sender + t);
                if expired(deadline) {
                    self.fail(ReceiverError::ReceiveTimeout);
                }
            }
            Phase::Draining if expired(self.exit_at) => self.try_finish(),
            _ => {}
        }
    }

    /// The room [`poll_transmit`](Self::poll_transmit) needs for any datagram: the longest
    /// message (a RETRANSMIT), plus the trailer when the transfer is authenticated.
    /// Never more than [`MAX_RECEIVER_DATAGRAM`](crate::transmit::MAX_RECEIVER_DATAGRAM).
    pub fn max_datagram_len(&self) -> usize {
        let trailer = if self.auth.is_some() {
            crate::auth::RECEIVER_TRAILER_LEN
        } else {
            0
        };
        crate::wire::Retransmit::LEN + trailer
    }

    /// The next datagram to send: written into `buf` (at least
    /// [`max_datagram_len`](Self::max_datagram_len) bytes), with its
    /// destination. `None` when nothing is pending (or `buf` is too small).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        // Too short: the datagram stays queued rather than being lost.
        if buf.len() < self.max_datagram_len() {
            return None;
        }
        let pending = self.transmits.pop_front()?;
        let sender = self.session.map(|s| s.sender);
        let (destination, encoded) = match &pending {
            Pending::ConnectReq(to) => (
                Some(*to),
                ConnectReq {
                    capabilities: if self.config.verify {
                        Capabilities::RECEIVER | VERIFIED
                    } else {
                        Capabilities::RECEIVER
                    },
                    receive_buffer: self.config.receive_buffer,
                }
                .encode(buf),
            ),
            Pending::Go => (sender, Message::Go.encode(buf)),
            Pending::Disconnect => (sender, Message::Disconnect.encode(buf)),
            Pending::Ok(slice) => (sender, SliceOk { slice: *slice }.encode(buf)),
            Pending::Retransmit {
                slice,
                rxmit,
                received,
            } => (
                sender,
                Retransmit {
                    slice: *slice,
                    rxmit: *rxmit,
                    received,
                }
                .encode(buf),
            ),
        };
        let sealed = match (encoded, self.auth.as_mut()) {
            (Ok(len), Some(auth)) => auth.seal(buf, len).ok_or(()),
            (Ok(len), None) => Ok(len),
            (Err(_), _) => Err(()),
        };
        match (destination, sealed) {
            (Some(destination), Ok(len)) => Some(Transmit { destination, len }),
            (None, _) => self.poll_transmit(buf),
            (Some(_), Err(_)) => {
                let _ = self.transmits.push_front(pending);
                None
            }
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next in-order bytes of the stream, ready to be written out (empty if none).
    /// Call [`consume_output`](Self::consume_output) with how many were written.
    pub fn output(&self) -> &[u8] {
        let Some(session) = self.session else {
            return &[];
        };
        let index = slot_index(self.next_output);
        let slot = &self.slots[index];
        if self.joining || slot.state != SlotState::Complete || slot.slice != self.next_output {
            return &[];
        }
        if self.holds_output(index, slot.slice) {
            return &[];
        }
        let bytes = slot.bytes.unwrap_or(0) as usize;
        let region = slot_region(self.storage, &session, index);
        region.get(self.output_pos..bytes).unwrap_or(&[])
    }

    /// `written` bytes of [`output`](Self::output) were written out; once a slice is fully
    /// written its storage is reused.
    pub fn consume_output(&mut self, written: usize) {
        let available = self.output().len();
        let written = written.min(available);
        if written > 0 {
            self.first_output.get_or_insert(self.next_output);
        }
        self.output_pos += written;
        self.stats.bytes_output += written as u64;
        if written == available && available != 0 {
            let index = slot_index(self.next_output);
            // The slice is out: its checksum, computed when it was checked, extends the
            // whole stream's, so no byte is read twice.
            if let Some(v) = self.verification.as_ref() {
                let crc = v.crc_of(index, self.next_output).unwrap_or(0);
                self.digest
                    .add(crc, u64::from(self.slots[index].bytes.unwrap_or(0)));
            }
            self.slots[slot_index(self.next_output)].free();
            self.next_output = self.next_output.wrapping_add(1);
            self.output_pos = 0;
        }
        if self.phase == Phase::Draining && self.exit_at.is_none() {
            self.try_finish();
        }
    }

    fn fail(&mut self, error: ReceiverError) {
        self.leave();
        self.phase = Phase::Failed;
        self.event(Event::Failed(error));
    }

    /// A receiver that leaves says so: the sender relies on it when a final OK is lost.
    fn leave(&mut self) {
        if self.session.is_some() {
            self.queue(Pending::Disconnect);
        }
    }

    fn passive(&self) -> bool {
        self.config.passive
    }

    fn block_size(&self) -> usize {
        self.session.map_or(1, |s| s.block_size)
    }

    fn queue(&mut self, pending: Pending) {
        // A full queue means the caller stopped polling; the sender asks again anyway.
        let _ = self.transmits.push_back(pending);
    }

    fn event(&mut self, event: Event) {
        if self.events.is_full() {
            self.events.pop_front();
        }
        let _ = self.events.push_back(event);
    }
}

/// The extension trailer after a message's fixed part, for the messages that may carry one.
fn trailer_of<'d>(
    message: &Message,
    datagram: &'d [u8],
) -> Result<Option<Trailer<'d>>, crate::extension::TrailerError> {
    let fixed = match message {
        Message::ConnectReply(_) => crate::wire::ConnectReply::LEN,
        Message::Hello(_) => crate::wire::Hello::LEN,
        Message::Reqack(_) => Reqack::LEN,
        _ => return Ok(None),
    };
    Trailer::parse(trailing_bytes(datagram, fixed))
}

fn slot_index(slice: u32) -> usize {
    slice as usize % SLOTS
}

fn slot_range(session: &Session, index: usize) -> core::ops::Range<usize> {
    let len = session.slot_blocks * session.block_size;
    index * len..(index + 1) * len
}

fn slot_region<'a>(storage: &'a [u8], session: &Session, index: usize) -> &'a [u8] {
    storage.get(slot_range(session, index)).unwrap_or(&[])
}

fn slot_region_mut<'a>(storage: &'a mut [u8], session: &Session, index: usize) -> &'a mut [u8] {
    storage
        .get_mut(slot_range(session, index))
        .unwrap_or(&mut [])
}
