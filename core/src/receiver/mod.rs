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
mod event;
mod slot;
#[cfg(test)]
mod tests;
mod verification;
#[cfg(test)]
mod verification_tests;

pub use config::ReceiverConfig;
pub use event::{Connection, Event, NotVerifiedReason, ReceiverError};

use crate::addressing;
use crate::extension::integrity::StreamDigest;
use crate::extension::{trailing_bytes, StreamName, Trailer, VERIFIED};
use crate::fec;
use crate::time::Instant;
use crate::transmit::Transmit;
use crate::wire::{
    Bitmap1024, Capabilities, ConnectReq, Message, Reqack, Retransmit, SliceOk,
    MAX_BLOCKS_PER_SLICE,
};
use authentication::ReceiverAuth;
use core::net::{Ipv4Addr, SocketAddrV4};
use heapless::Deque;
use slot::{Slot, SlotState, Stored};
use verification::{ReqackVerdict, Verification};

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

    // ---- discovery (PROTOCOL.md §4.2) ----

    fn discover(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        message: Message,
        datagram: &[u8],
    ) -> Result<(), ReceiverError> {
        let trailer = match trailer_of(&message, datagram) {
            // With verification off we are udpcast, which never looks past the fixed part.
            _ if !self.config.verify => Ok(None),
            // doc/verified-transfers.md §3: a version we do not speak is plain udpcast.
            Err(crate::extension::TrailerError::UnsupportedVersion(_)) => Ok(None),
            t => t,
        };
        let foreign = matches!(
            trailer_of(&message, datagram),
            Err(crate::extension::TrailerError::UnsupportedVersion(_))
        );
        match message {
            Message::ConnectReply(reply) => {
                let client = reply.client_number.ok_or(ReceiverError::Refused)?;
                let address = if reply.capabilities.contains(Capabilities::NEW_GEN) {
                    reply.data_address
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                self.connect(
                    now,
                    from,
                    client,
                    reply.block_size,
                    address,
                    self.config.passive,
                )?;
                let trailer = match trailer {
                    Err(e) if reply.capabilities.contains(VERIFIED) => {
                        return Err(ReceiverError::BadTrailer(e))
                    }
                    t => t.ok().flatten(),
                };
                let mut capabilities = reply.capabilities;
                if foreign {
                    capabilities.remove(VERIFIED);
                }
                self.identify(capabilities, trailer, false)
            }
            Message::Hello(hello) => {
                if hello.kind == crate::wire::HelloKind::Streaming {
                    self.streaming_seen = true;
                }
                let address = if hello.capabilities.contains(Capabilities::NEW_GEN) {
                    hello.data_address
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                let block_size = u32::from(hello.block_size);
                if self.config.passive || hello.capabilities.contains(Capabilities::ASYNC) {
                    // Authenticated, an asynchronous session is joined without any answer
                    // covering our nonce, so it may be a recording of an earlier run: only
                    // a receiver told to be passive takes that on.
                    if self.auth.is_some() && !self.config.passive {
                        return Err(ReceiverError::PassiveRequired);
                    }
                    self.connect(now, from, 0, block_size, address, true)?;
                    let trailer = trailer.map_err(ReceiverError::BadTrailer)?;
                    self.identify(hello.capabilities, trailer, true)?;
                    self.take_hello_trailer(trailer)
                } else {
                    self.hello_from = Some(from);
                    self.send_connect_req(now);
                    Ok(())
                }
            }
            // Authenticated, a REQACK before we joined may be a replay of an earlier run:
            // it is no reason to give up.
            Message::Reqack(_) if self.auth.is_some() => Ok(()),
            // A running transfer answers nobody's request: udpcast calls this a bad reply.
            Message::Reqack(_) => Err(ReceiverError::OtherTransferInProgress(message.opcode())),
            // Other receivers' requests, data of a transfer we are not part of, stray
            // receiver messages: none of our business.
            _ => Ok(()),
        }
    }

    fn connect(
        &mut self,
        now: Instant,
        sender: SocketAddrV4,
        client_number: u16,
        block_size: u32,
        data_address: Ipv4Addr,
        passive: bool,
    ) -> Result<(), ReceiverError> {
        let slot_bytes = self.storage.len() / SLOTS;
        let slot_blocks = match block_size {
            0 | 65_536.. => 0,
            size => (slot_bytes / size as usize).min(MAX_BLOCKS_PER_SLICE),
        };
        if slot_blocks == 0 {
            return Err(ReceiverError::UnsupportedBlockSize(block_size));
        }
        let session = Session {
            sender,
            client_number,
            block_size: block_size as usize,
            slot_blocks,
            streaming: self.streaming_seen,
        };
        self.session = Some(session);
        self.config.passive = passive;
        self.joining = session.streaming;
        self.phase = Phase::Connected;
        self.next_connect_req = None;
        self.last_datagram = now;
        self.last_from_sender = now;
        let mut connection = self.describe(session);
        connection.data_address = data_address;
        connection.join_group = addressing::data_group_to_join(
            data_address,
            self.config.own_address,
            self.config.rendezvous,
        );
        self.event(Event::Connected(connection));
        Ok(())
    }

    fn describe(&self, session: Session) -> Connection {
        Connection {
            client_number: session.client_number,
            sender: session.sender,
            data_address: Ipv4Addr::UNSPECIFIED,
            join_group: None,
            block_size: session.block_size as u32,
            passive: self.passive(),
            streaming: session.streaming,
            waits_for_key: self.config.keyboard && !self.passive(),
        }
    }

    fn send_connect_req(&mut self, now: Instant) {
        let to = self.hello_from.unwrap_or(SocketAddrV4::new(
            self.config.rendezvous,
            self.config.portbase.wrapping_add(1),
        ));
        self.queue(Pending::ConnectReq(to));
        self.next_connect_req = Some(now + self.config.connect_retry);
    }

    // ---- transfer (PROTOCOL.md §4.4–§4.7) ----

    fn transfer(
        &mut self,
        now: Instant,
        session: Session,
        message: Message,
        datagram: &[u8],
    ) -> Result<(), ReceiverError> {
        let is_data = matches!(
            message,
            Message::Data(_) | Message::Fec(_) | Message::Reqack(_)
        );
        if is_data && self.phase == Phase::Connected {
            self.phase = Phase::Receiving;
            self.event(Event::Started);
        }
        match message {
            Message::Data(data) => {
                // DATA never carries a zero byte count; one that does is not ours to trust.
                if data.bytes == 0 {
                    self.stats.malformed_datagrams += 1;
                    return Ok(());
                }
                let Admission::Slot(index) = self.admit(data.slice)? else {
                    return Ok(());
                };
                self.learn_bytes(now, index, data.bytes)?;
                let region = slot_region_mut(self.storage, &session, index);
                let stored = self.slots[index].add_data(
                    region,
                    session.block_size,
                    usize::from(data.block),
                    data.payload,
                );
                if stored == Stored::Kept {
                    self.stats.data_blocks += 1;
                }
                self.after_store(now, index, stored)
            }
            Message::Fec(fec) => {
                let Admission::Slot(index) = self.admit(fec.slice)? else {
                    return Ok(());
                };
                self.learn_bytes(now, index, fec.bytes)?;
                if self.slots[index].state == SlotState::Complete {
                    return Ok(());
                }
                let region = slot_region_mut(self.storage, &session, index);
                let stored = self.slots[index].add_fec(
                    region,
                    session.block_size,
                    fec.stripes,
                    fec.block,
                    fec.payload,
                );
                self.after_store(now, index, stored)
            }
            Message::Reqack(reqack) => {
                let trailer = match trailer_of(&message, datagram) {
                    _ if self.verification.is_none() => None,
                    Ok(trailer) => trailer,
                    Err(_) => {
                        self.stats.malformed_datagrams += 1;
                        return Ok(());
                    }
                };
                match self.take_reqack_trailer(&reqack, trailer) {
                    ReqackVerdict::Answer => self.answer(now, session, &reqack),
                    ReqackVerdict::Ignore => Ok(()),
                }
            }
            Message::Hello(hello) if hello.kind == crate::wire::HelloKind::Streaming => {
                match trailer_of(&message, datagram) {
                    _ if self.verification.is_none() => Ok(()),
                    Ok(trailer) => self.take_hello_trailer(trailer),
                    Err(_) => {
                        self.stats.malformed_datagrams += 1;
                        Ok(())
                    }
                }
            }
            // Repeated hellos and replies to our repeated requests.
            _ => Ok(()),
        }
    }

    fn after_store(
        &mut self,
        now: Instant,
        index: usize,
        stored: Stored,
    ) -> Result<(), ReceiverError> {
        match stored {
            Stored::Kept => {}
            Stored::Redundant => return Ok(()),
            Stored::Invalid => {
                self.stats.malformed_datagrams += 1;
                return Ok(());
            }
        }
        let block_size = self.block_size();
        if self.slots[index].state == SlotState::Open && self.slots[index].is_whole(block_size) {
            self.complete(now, index)?;
        }
        Ok(())
    }

    /// REQACK: the only message a receiver answers (§4.7).
    fn answer(
        &mut self,
        now: Instant,
        session: Session,
        reqack: &Reqack,
    ) -> Result<(), ReceiverError> {
        if reqack.ready.contains(usize::from(session.client_number)) {
            return Ok(());
        }
        let index = match self.admit(reqack.slice)? {
            Admission::Done => {
                let index = slot_index(reqack.slice);
                let slot = &self.slots[index];
                let held = slot.state == SlotState::Complete && slot.slice == reqack.slice;
                if held && !self.slice_passes(index)? {
                    self.ask_again(session, reqack, index);
                    return Ok(());
                }
                self.queue(Pending::Ok(reqack.slice));
                return Ok(());
            }
            // No room to even track the slice: stay silent, the sender asks again.
            Admission::NoRoom => return Ok(()),
            Admission::Slot(index) => index,
        };
        self.learn_bytes(now, index, reqack.bytes)?;
        if self.slots[index].state == SlotState::Complete && self.slice_passes(index)? {
            self.queue(Pending::Ok(reqack.slice));
        } else {
            self.ask_again(session, reqack, index);
        }
        Ok(())
    }

    /// RETRANSMIT for what slot `index` lacks: a passive receiver keeps quiet. A slice
    /// that failed its check lacks everything, so the sender resends all of it.
    fn ask_again(&mut self, session: Session, reqack: &Reqack, index: usize) {
        let slot = &self.slots[index];
        if slot.state == SlotState::Complete {
            // Held for its check (passive): nothing to ask.
            return;
        }
        // Cells holding FEC blocks will be rebuilt: report them as received, so the
        // sender resends only what FEC cannot make up for (udpcast asks for all).
        let mut received = slot.received.clone();
        let blocks = slot.blocks(session.block_size);
        for cell in 0..blocks {
            if slot.fec_row_at(cell).is_some() {
                received.insert(cell);
            }
        }
        self.stats.retransmit_requests += 1;
        let missing = (0..blocks).filter(|&cell| !received.contains(cell)).count();
        self.stats.blocks_requested += missing as u64;
        self.queue(Pending::Retransmit {
            slice: reqack.slice,
            rxmit: reqack.rxmit,
            received,
        });
    }

    /// Decides where a packet of `slice` goes, opening its slot if the slice is new
    /// (§4.4 slice arrival rules, §4.10 streaming join).
    fn admit(&mut self, slice: u32) -> Result<Admission, ReceiverError> {
        if self.joining {
            return Ok(self.admit_while_joining(slice));
        }
        if slice < self.next_output {
            return Ok(Admission::Done);
        }
        let index = slot_index(slice);
        let slot = &self.slots[index];
        if slot.state != SlotState::Free && slot.slice == slice {
            return Ok(match slot.state {
                SlotState::Complete => Admission::Done,
                _ => Admission::Slot(index),
            });
        }
        // A new slice. The sender never runs more than one slice ahead of the oldest one a
        // receiver lacks (§3.6): anything further means we fell behind for good.
        loop {
            let incomplete = self.first_incomplete();
            if slice <= incomplete.saturating_add(1) {
                break;
            }
            if !self.config.ignore_lost_data {
                return Err(ReceiverError::DroppedBySender { slice, incomplete });
            }
            self.give_up(incomplete)?;
        }
        if self.passive() {
            self.release_unchecked(|held| held.saturating_add(1) < slice);
        }
        if slice >= self.next_output.saturating_add(SLOTS as u32) {
            return Ok(Admission::NoRoom);
        }
        self.slots[index].open(slice);
        Ok(Admission::Slot(index))
    }

    /// Streaming join: follow the newest slice until one is complete; an incomplete one
    /// is abandoned as soon as a newer one starts, since nothing will complete it.
    fn admit_while_joining(&mut self, slice: u32) -> Admission {
        let current = self.next_output;
        let index = slot_index(current);
        let open = self.slots[index].state == SlotState::Open && self.slots[index].slice == current;
        if open && slice < current {
            return Admission::Done;
        }
        if !open || slice > current {
            self.slots[index].free();
            self.next_output = slice;
            self.slots[slot_index(slice)].open(slice);
        }
        Admission::Slot(slot_index(slice))
    }

    /// The oldest slice not yet complete.
    fn first_incomplete(&self) -> u32 {
        let mut slice = self.next_output;
        for _ in 0..SLOTS {
            let slot = &self.slots[slot_index(slice)];
            if slot.state != SlotState::Complete || slot.slice != slice {
                break;
            }
            slice = slice.wrapping_add(1);
        }
        slice
    }

    /// `--ignore-lost-data`: write `slice` with zeros where blocks are missing.
    fn give_up(&mut self, slice: u32) -> Result<(), ReceiverError> {
        let session = self
            .session
            .ok_or(ReceiverError::SliceSizeUnknown { slice })?;
        let index = slot_index(slice);
        let slot = &mut self.slots[index];
        if slot.state != SlotState::Open || slot.slice != slice || slot.bytes.is_none() {
            return Err(ReceiverError::SliceSizeUnknown { slice });
        }
        let region = slot_region_mut(self.storage, &session, index);
        let lost = slot.give_up_missing(region, session.block_size);
        self.stats.lost_blocks += lost as u64;
        self.event(Event::LostData {
            slice,
            blocks: lost as u16,
        });
        self.complete_slot(index);
        self.pass_unchecked(index);
        Ok(())
    }

    /// Records a slice's byte count, checking it against what we know (§4.4).
    fn learn_bytes(&mut self, now: Instant, index: usize, bytes: u32) -> Result<(), ReceiverError> {
        let block_size = self.block_size();
        let slot_blocks = self.session.map_or(0, |s| s.slot_blocks);
        let slice = self.slots[index].slice;
        match self.slots[index].bytes {
            Some(first) if first != bytes => {
                return Err(ReceiverError::ByteCountMismatch {
                    slice,
                    first,
                    second: bytes,
                })
            }
            Some(_) => return Ok(()),
            None => {}
        }
        let blocks = (bytes as usize).div_ceil(block_size);
        if blocks > slot_blocks {
            return Err(ReceiverError::SliceTooLarge {
                slice,
                blocks: blocks as u32,
                capacity: slot_blocks as u32,
            });
        }
        // Only the last data slice may end in a partial block; only the end follows it.
        if bytes as usize % block_size != 0 {
            let later_data = self.slots.iter().any(|s| {
                s.state != SlotState::Free && s.slice > slice && s.bytes.is_some_and(|b| b != 0)
            });
            if later_data {
                return Err(ReceiverError::BadBase { slice });
            }
            self.short_slice = Some(self.short_slice.map_or(slice, |s| s.min(slice)));
        }
        if let Some(short) = self.short_slice.filter(|&s| bytes != 0 && s < slice) {
            return Err(ReceiverError::BadBase { slice: short });
        }
        self.slots[index].bytes = Some(bytes);
        if bytes == 0 {
            self.end_slice = Some(slice);
            self.complete(now, index)?;
        }
        Ok(())
    }

    /// A slot holds every block (as data or FEC): decode, mark complete, maybe finish.
    fn complete(&mut self, now: Instant, index: usize) -> Result<(), ReceiverError> {
        if self.slots[index].needs_decoding() {
            self.decode(index);
        }
        self.complete_slot(index);
        // Checked now if its check came first; a failure empties the slot again.
        if self.has_check(index) {
            self.slice_passes(index)?;
        }
        self.check_end(now)
    }

    fn complete_slot(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.state = SlotState::Complete;
        self.stats.bytes_received += u64::from(slot.bytes.unwrap_or(0));
        self.joining = false;
    }

    /// Rebuilds the data blocks a slot holds FEC blocks for (PROTOCOL.md §5.6).
    fn decode(&mut self, index: usize) {
        let Some(session) = self.session else { return };
        let slot = &mut self.slots[index];
        let region = slot_region_mut(self.storage, &session, index);
        let used = slot.fec_blocks();
        let block_size = session.block_size;
        if self.fec_decoder.as_ref().map(fec::Decoder::block_size) != Some(block_size) {
            self.fec_decoder = fec::Decoder::new(block_size, self.fec_kernel).ok();
        }
        let bytes = slot.bytes.map_or(0, |b| b as usize);
        let geometry = fec::SliceGeometry::new(bytes, block_size, usize::from(slot.stripes()));
        if let (Some(decoder), Ok(geometry)) = (self.fec_decoder.as_mut(), geometry) {
            // Cannot fail: the slot keeps whole cells, at most 128 blocks per stripe, and per
            // stripe only distinct rows below 128, one per missing block (slot.rs). Were it to
            // fail, nothing would change and the slice would be written as it stands.
            let _ = decoder.decode_slice_in_place(&geometry, region, |cell| slot.fec_row_at(cell));
        }
        slot.mark_decoded(block_size);
        self.stats.fec_blocks_used += u64::from(used);
    }

    fn check_end(&mut self, now: Instant) -> Result<(), ReceiverError> {
        let Some(end) = self.end_slice else {
            return Ok(());
        };
        // An async sender never sends anything again: once its end marker is here, a slice
        // still incomplete is lost for good, and waiting for it would hang.
        while self.passive() && self.first_incomplete() < end {
            let incomplete = self.first_incomplete();
            if !self.config.ignore_lost_data {
                return Err(ReceiverError::DroppedBySender {
                    slice: end,
                    incomplete,
                });
            }
            self.give_up(incomplete)?;
        }
        if self.passive() {
            // Every check an async sender sends for the slices before its end came before
            // the end: one still missing never will.
            self.release_unchecked(|slice| slice < end);
        }
        if self.first_incomplete() > end && self.phase == Phase::Receiving {
            self.phase = Phase::Draining;
            self.exit_at = Some(now + self.config.exit_wait);
        }
        Ok(())
    }

    /// Leaves once the exit-wait is over and everything was written out (§4.8).
    fn try_finish(&mut self) {
        self.exit_at = None;
        if let Some(end) = self.end_slice {
            self.release_unchecked(|slice| slice < end);
        }
        if Some(self.next_output) == self.end_slice {
            if self.first_output.is_none() && self.next_output != 0 {
                self.fail(ReceiverError::JoinedAtEnd);
                return;
            }
            if let Err(error) = self.stream_verdict() {
                self.fail(error);
                return;
            }
            self.leave();
            self.phase = Phase::Finished;
            self.event(Event::Finished);
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

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
