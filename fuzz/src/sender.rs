//! `sender`: a [`Sender`] driven by a script of receivers' datagrams (CONNECT_REQ, OK,
//! RETRANSMIT, DISCONNECT, GO, raw and mutated ones from up to eight clients), input,
//! the input's end, key presses and timeouts, read from the fuzz input (PROTOCOL.md §3).
//!
//! The input fed is the stream of [`content`], so every datagram the sender sends can be
//! checked as it goes:
//! * it parses, and goes where it should (HELLO to the rendezvous, CONNECT_REPLY to the
//!   client that asked, slices to the data destination the start announced);
//! * slices appear in order, each with one byte count in all its DATA, FEC and REQACK,
//!   never beyond the input fed; only the last data slice may end in a partial block, and
//!   the zero-byte end slice comes only after the input ended and was all cut;
//! * DATA carries the input's bytes at its place, FEC the payload the scalar encoder
//!   computes, a REQACK trailer the slice's right check and, at the end, the stream's
//!   right digest (computed independently);
//! * at `Finished`: the input ended, every byte fed went out in some DATA block, and in
//!   synchronous mode every receiver still connected had acknowledged every slice;
//! * `handle_timeout(now)` followed by polling leaves no deadline at or before `now`, and
//!   no single instant produces an endless stream of datagrams.

use crate::input::Input;
use crate::stream::{content, content_range, Crc32c};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::extension::{
    trailing_bytes, Identity, SliceCheck, StreamName, Trailer, VERIFIED,
};
use udpcast_core::fec::{Encoder, FecConfig, Kernel};
use udpcast_core::sender::{Duplex, Event, FecParams, PointToPoint, Sender, SenderConfig};
use udpcast_core::time::{Duration, Instant};
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReq, HelloKind, Message, Reqack, Retransmit, SliceOk,
    SIGNAL_LEN,
};

/// Our sender.
pub const ME: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
const BCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);
const GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);
/// Receivers the script speaks for.
pub const CLIENTS: usize = 8;
const START: Instant = Instant(1_000_000);
/// The most storage a run may ask for.
const MAX_STORAGE: usize = 8 << 20;
/// The most datagrams one instant may produce: far more than two slices and their
/// retransmissions, so more means the sender never stops.
const MAX_BURST: usize = 20_000;
/// The most input one run feeds: enough for several of udpcast's largest slices, and no
/// more than 2048 blocks, so that a run takes milliseconds even with 4-byte blocks.
const MAX_INPUT: u64 = 128 * 1024;
const MAX_INPUT_BLOCKS: u64 = 2048;

/// Client `i`'s address (the ninth and later: addresses from the input).
pub fn client_address(i: usize) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 11 + i as u8), 9000)
}

/// The action numbers of the script (the byte that starts each action, modulo 16).
pub mod op {
    /// CONNECT_REQ from a client.
    pub const CONNECT: u8 = 0;
    /// OK from a client.
    pub const OK: u8 = 1;
    /// RETRANSMIT from a client.
    pub const RETRANSMIT: u8 = 2;
    /// DISCONNECT from a client.
    pub const DISCONNECT: u8 = 3;
    /// GO from a client.
    pub const GO: u8 = 4;
    /// Raw bytes from a client.
    pub const RAW: u8 = 5;
    /// Input bytes.
    pub const INPUT: u8 = 6;
    /// The input ends.
    pub const INPUT_END: u8 = 7;
    /// Up to 255 ms pass.
    pub const TIME_SMALL: u8 = 8;
    /// The clock jumps to the sender's deadline.
    pub const TIME_JUMP: u8 = 9;
    /// A key press.
    pub const KEY: u8 = 10;
    /// A client message, mutated.
    pub const MUTATED: u8 = 11;
    /// Every connected client answers the last REQACK.
    pub const ANSWER_ALL: u8 = 12;
    /// Up to 655 s pass.
    pub const TIME_BIG: u8 = 13;
    /// Input until a total is fed (as far as there is room), then maybe its end.
    pub const INPUT_UNTIL: u8 = 14;
}

#[derive(Clone, Debug)]
struct SliceSeen {
    offset: u64,
    bytes: u32,
    sent: Bitmap1024,
    fec: Option<Vec<u8>>,
}

struct Harness<'s> {
    tx: Sender<'s>,
    now: Instant,
    config: SenderConfig,
    identity: Option<Identity>,
    fed: u64,
    input_ended: bool,
    /// Client number of each scripted client, once connected; and the reverse.
    numbers: [Option<u16>; CLIENTS],
    connected: BTreeSet<u16>,
    /// Client numbers by IP address, as the sender knows its receivers (§3.2).
    by_ip: BTreeMap<Ipv4Addr, u16>,
    slices: Vec<SliceSeen>,
    last_reqack: Option<(u32, u32)>,
    oks: BTreeSet<(u16, u32)>,
    destination: Option<SocketAddrV4>,
    transferring: bool,
    closed_event: bool,
    finished_event: bool,
}

/// How a run ended, for tests of the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The sender finished.
    pub finished: bool,
    /// Bytes fed.
    pub fed: u64,
    /// Slices seen, the end included.
    pub slices: usize,
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) -> Outcome {
    let mut input = Input::new(data);
    let nothing = Outcome {
        finished: false,
        fed: 0,
        slices: 0,
    };
    let (config, identity) = setup(&mut input);
    let needed = Sender::storage_size(&config);
    if needed > MAX_STORAGE {
        return nothing;
    }
    let mut storage = vec![0u8; needed];
    let Ok(mut tx) = Sender::new(config, &mut storage, START) else {
        return nothing;
    };
    if let Some(identity) = identity {
        tx.set_identity(identity);
    }
    let mut config = config;
    // What Sender::new makes of it (§3.1).
    config.block_size -= config.block_size % 4;
    if config.asynchronous {
        config.duplex = Duplex::Full;
    }
    let mut h = Harness {
        tx,
        now: START,
        config,
        identity,
        fed: 0,
        input_ended: false,
        numbers: [None; CLIENTS],
        connected: BTreeSet::new(),
        by_ip: BTreeMap::new(),
        slices: Vec::new(),
        last_reqack: None,
        oks: BTreeSet::new(),
        destination: None,
        transferring: false,
        closed_event: false,
        finished_event: false,
    };
    h.drain();
    while !input.is_empty() {
        h.step(&mut input);
    }
    Outcome {
        finished: h.finished_event,
        fed: h.fed,
        slices: h.slices.len(),
    }
}

fn setup(input: &mut Input<'_>) -> (SenderConfig, Option<Identity>) {
    let flags = input.u8();
    let flags2 = input.u8();
    let big = flags2 & 128 != 0;
    let mut c = SenderConfig::new(ME, BCAST, GROUP);
    c.asynchronous = flags & 1 != 0;
    c.duplex = if flags & 2 != 0 {
        Duplex::Half
    } else {
        Duplex::Full
    };
    c.streaming = flags & 16 != 0;
    c.broadcast = flags & 64 != 0;
    c.keyboard = flags & 128 != 0;
    c.pointopoint = match flags2 & 3 {
        1 => PointToPoint::Always,
        2 => PointToPoint::Never,
        _ => PointToPoint::Auto,
    };
    if big {
        c.block_size = input.u16();
        c.max_slice_size = input.u16() % 1025;
    } else {
        c.block_size = 1 + u16::from(input.u8() % 64);
        c.max_slice_size = 1 + u16::from(input.u8() % 64);
    }
    c.min_slice_size = u16::from(input.u8() % 65);
    c.slice_size = Some(input.u8())
        .filter(|&v| v != 0)
        .map(|v| u16::from(v % 65));
    let (stripes, redundancy, stripe_size) = (input.u8(), input.u8(), input.u8());
    if flags & 4 != 0 {
        c.fec = Some(FecParams {
            stripes: u16::from(stripes % 10),
            redundancy: u16::from(redundancy % 10),
            stripe_size: u16::from(stripe_size % 130),
        });
    }
    let rate = input.u16();
    if flags & 8 != 0 {
        c.max_bitrate = Some((u64::from(rate) + 1) * 10_000);
    }
    let ms = |v: u8, unit: u64| Duration::from_millis(u64::from(v) * unit);
    let hello = input.u8();
    if flags2 & 4 != 0 {
        c.hello_interval = Some(ms(hello, 10));
    }
    let autostart = input.u8();
    if flags2 & 8 != 0 {
        c.autostart = u32::from(autostart % 4);
    }
    c.min_receivers = u32::from(input.u8() % 4);
    let (start, min_wait, max_wait) = (input.u8(), input.u8(), input.u8());
    if flags2 & 16 != 0 {
        c.start_timeout = Some(ms(start, 100));
    }
    if flags2 & 32 != 0 {
        c.min_wait = Some(ms(min_wait, 100));
    }
    if flags2 & 64 != 0 {
        c.max_wait = Some(ms(max_wait, 100));
    }
    c.retries_until_drop = u32::from(input.u8());
    c.drop_timeout = ms(input.u8(), 100);
    c.rehello_offset = u16::from(input.u8());
    let identity = (flags & 32 != 0).then(|| Identity {
        session: 0x5eed_0000_0000_0002,
        name: StreamName::new("disk.img").expect("valid"),
        total_size: None,
    });
    (c, identity)
}

impl Harness<'_> {
    fn step(&mut self, input: &mut Input<'_>) {
        let op = input.u8() % 16;
        crate::trace!("-- {:?} action {op}", self.now);
        match op {
            op::CONNECT => {
                let (from, datagram) = self.connect_req(input);
                self.deliver(from, &datagram);
            }
            op::OK => {
                let from = self.pick_client(input);
                let datagram = self.ok(input);
                self.deliver(from, &datagram);
            }
            op::RETRANSMIT => {
                let from = self.pick_client(input);
                let datagram = self.retransmit(input);
                self.deliver(from, &datagram);
            }
            op::DISCONNECT => {
                let from = self.pick_client(input);
                self.deliver(from, &signal(Message::Disconnect));
            }
            op::GO => {
                let from = self.pick_client(input);
                self.deliver(from, &signal(Message::Go));
            }
            op::RAW => {
                let from = self.pick_client(input);
                let datagram = input.long_bytes().to_vec();
                self.deliver(from, &datagram);
            }
            op::INPUT => {
                let n = u64::from(input.u16());
                self.feed(n);
            }
            op::INPUT_END => {
                self.tx.input_end();
                self.input_ended = true;
                self.drain();
            }
            op::TIME_SMALL => {
                let ms = u64::from(input.u8());
                self.advance(Duration::from_millis(ms));
            }
            op::KEY => {
                self.tx.handle_key(self.now);
                self.drain();
            }
            op::MUTATED => {
                let from = self.pick_client(input);
                let mut datagram = match input.u8() % 5 {
                    0 => self.connect_req(input).1,
                    1 => self.ok(input),
                    2 => self.retransmit(input),
                    3 => signal(Message::Go),
                    _ => signal(Message::Disconnect),
                };
                mutate(input, &mut datagram);
                self.deliver(from, &datagram);
            }
            op::ANSWER_ALL => {
                let retransmitters = input.u8();
                let missing = input.u8();
                self.answer_all(retransmitters, missing);
            }
            op::TIME_BIG => {
                let ms = u64::from(input.u16()) * 10;
                self.advance(Duration::from_millis(ms));
            }
            op::INPUT_UNTIL => {
                let total = u64::from(input.u32());
                let end = input.bool();
                self.feed(total.saturating_sub(self.fed));
                if end && self.fed >= total {
                    self.tx.input_end();
                    self.input_ended = true;
                    self.drain();
                }
            }
            _ => {
                let to = self
                    .tx
                    .poll_timeout(self.now)
                    .unwrap_or(self.now)
                    .max(self.now);
                self.advance(to - self.now);
            }
        }
    }

    // ---- the clients' messages ----

    fn pick_client(&mut self, input: &mut Input<'_>) -> SocketAddrV4 {
        let i = input.below(CLIENTS + 1);
        if i < CLIENTS {
            client_address(i)
        } else {
            SocketAddrV4::new(Ipv4Addr::from(input.u32()), input.u16())
        }
    }

    fn connect_req(&mut self, input: &mut Input<'_>) -> (SocketAddrV4, Vec<u8>) {
        let from = self.pick_client(input);
        let capabilities = match input.u8() % 4 {
            0 => Capabilities::RECEIVER,
            1 | 2 => Capabilities::RECEIVER | VERIFIED,
            _ => Capabilities::from_bits_retain(input.u32()),
        };
        let mut buf = vec![0u8; ConnectReq::LEN];
        let req = ConnectReq {
            capabilities,
            receive_buffer: 212_992,
        };
        req.encode(&mut buf).expect("fits");
        (from, buf)
    }

    /// A slice near the one being acknowledged (or any, rarely).
    fn pick_slice(&mut self, input: &mut Input<'_>) -> u32 {
        let last = self
            .last_reqack
            .map(|(s, _)| s)
            .unwrap_or(self.slices.len().saturating_sub(1) as u32);
        match input.u8() % 8 {
            0..=3 => last,
            4 => last.wrapping_sub(1),
            5 => last.wrapping_add(1),
            6 => self.slices.len().saturating_sub(1) as u32,
            _ => input.u32(),
        }
    }

    fn ok(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        let slice = self.pick_slice(input);
        let mut buf = vec![0u8; SliceOk::LEN];
        SliceOk { slice }.encode(&mut buf).expect("fits");
        buf
    }

    /// A bitmap of every block of `slice` but those in `mask` (over 64 blocks, repeated).
    fn received_but(&self, slice: u32, mask: u64) -> Bitmap1024 {
        let bs = usize::from(self.config.block_size).max(1);
        let blocks = self
            .slices
            .get(slice as usize)
            .map_or(0, |s| (s.bytes as usize).div_ceil(bs));
        let mut received = Bitmap1024::new();
        for b in (0..blocks).filter(|b| mask & (1 << (b % 64)) == 0) {
            received.insert(b);
        }
        received
    }

    fn retransmit(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        let slice = self.pick_slice(input);
        let rxmit = match input.u8() % 4 {
            0..=2 => self.last_reqack.map_or(0, |(_, r)| r),
            _ => u32::from(input.u8()),
        };
        let received = match input.u8() % 4 {
            0 | 1 => self.received_but(slice, input.u64()),
            2 => Bitmap1024::new(),
            _ => {
                let mut bytes = [0u8; Bitmap1024::BYTES];
                let given = input.bytes(Bitmap1024::BYTES);
                bytes[..given.len()].copy_from_slice(given);
                Bitmap1024::from_bytes(bytes)
            }
        };
        let mut buf = vec![0u8; Retransmit::LEN];
        Retransmit {
            slice,
            rxmit,
            received: &received,
        }
        .encode(&mut buf)
        .expect("fits");
        buf
    }

    /// Every connected client answers the last REQACK: OK, or RETRANSMIT for those in
    /// `retransmitters` (bit per client), lacking block `missing` and every 8th after it.
    fn answer_all(&mut self, retransmitters: u8, missing: u8) {
        let Some((slice, rxmit)) = self.last_reqack else {
            return;
        };
        for i in 0..CLIENTS {
            if self.numbers[i].is_none_or(|n| !self.connected.contains(&n)) {
                continue;
            }
            let datagram = if retransmitters & (1 << i) != 0 {
                let mask = 0x0101_0101_0101_0101u64 << (missing % 8);
                let received = self.received_but(slice, mask);
                let mut buf = vec![0u8; Retransmit::LEN];
                Retransmit {
                    slice,
                    rxmit,
                    received: &received,
                }
                .encode(&mut buf)
                .expect("fits");
                buf
            } else {
                let mut buf = vec![0u8; SliceOk::LEN];
                SliceOk { slice }.encode(&mut buf).expect("fits");
                buf
            };
            self.deliver(client_address(i), &datagram);
        }
    }

    // ---- driving ----

    /// A datagram from `from`; an OK is remembered for the Finished check.
    fn deliver(&mut self, from: SocketAddrV4, datagram: &[u8]) {
        crate::trace!(
            "  <- {from} {:?}",
            Message::parse(datagram).map(|m| brief(&m))
        );
        if let Ok(Message::Ok(ok)) = Message::parse(datagram) {
            if let Some(&client) = self.by_ip.get(from.ip()) {
                // Counted even for a slice not sent yet: the sender takes an OK for a
                // slice it has formed but not yet sent (harmless with real receivers).
                self.oks.insert((client, ok.slice));
            }
        }
        self.tx.handle_datagram(self.now, from, datagram);
        self.drain();
    }

    fn feed(&mut self, n: u64) {
        let cap = MAX_INPUT.min(MAX_INPUT_BLOCKS * u64::from(self.config.block_size));
        let mut n = n.min(cap.saturating_sub(self.fed));
        while n > 0 {
            let room = self.tx.input_buffer();
            if room.is_empty() {
                break;
            }
            let k = room.len().min(n as usize);
            for (i, b) in room[..k].iter_mut().enumerate() {
                *b = content(self.fed + i as u64);
            }
            self.tx.input_written(k);
            self.fed += k as u64;
            n -= k as u64;
            self.drain();
        }
        self.drain();
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        self.tx.handle_timeout(self.now);
        self.drain();
        if let Some(deadline) = self.tx.poll_timeout(self.now) {
            assert!(
                deadline > self.now,
                "handle_timeout({:?}) and polling left the deadline at {deadline:?}: a caller would spin",
                self.now
            );
        }
    }

    /// Polls everything, events before each datagram, so that every datagram is checked
    /// against the state the events so far describe (`Started` before the first slice).
    fn drain(&mut self) {
        let mut buf = vec![0u8; 16 + usize::from(self.config.block_size) + 1024];
        let mut sent = 0;
        loop {
            while let Some(event) = self.tx.poll_event() {
                assert!(!self.closed_event, "{event:?} after the sender closed");
                self.event(event);
            }
            let Some(t) = self.tx.poll_transmit(self.now, &mut buf) else {
                break;
            };
            sent += 1;
            assert!(
                sent <= MAX_BURST,
                "the sender sends without end at {:?}",
                self.now
            );
            let datagram = buf[..t.len].to_vec();
            self.inspect(t.destination, &datagram);
        }
        while let Some(event) = self.tx.poll_event() {
            assert!(!self.closed_event, "{event:?} after the sender closed");
            self.event(event);
        }
        assert_eq!(self.tx.is_finished(), self.finished_event);
    }

    fn event(&mut self, event: Event) {
        crate::trace!("  event {event:?}");
        match event {
            Event::Connected {
                client, address, ..
            } => {
                assert!(!self.transferring, "a connection during the transfer");
                assert!(
                    self.connected.insert(client),
                    "client {client} connected twice"
                );
                self.by_ip.insert(*address.ip(), client);
                if let Some(i) = (0..CLIENTS).find(|&i| client_address(i) == address) {
                    self.numbers[i] = Some(client);
                }
            }
            Event::Left {
                client, address, ..
            } => {
                self.by_ip.remove(&address);
                assert!(
                    self.connected.remove(&client),
                    "client {client} left without being in"
                );
            }
            Event::Started {
                destination,
                receivers,
                ..
            } => {
                assert!(!self.transferring, "started twice");
                assert_eq!(usize::from(receivers), self.connected.len());
                self.transferring = true;
                self.destination = Some(destination);
            }
            Event::Finished => {
                self.finished_checks();
                self.closed_event = true;
                self.finished_event = true;
            }
            Event::Failed(_) => {
                assert!(self.tx.is_closed() && !self.tx.is_finished());
                self.closed_event = true;
            }
            Event::SliceSize(size) => {
                assert!(size >= 1 && usize::from(size) <= 1024, "slice size {size}");
            }
            // This harness's sender has no key: nothing can be refused as unauthentic.
            Event::AuthRejected { from, reason } => {
                panic!("{from} refused ({reason:?}) by a sender without a key")
            }
        }
    }

    fn finished_checks(&self) {
        assert!(self.input_ended, "finished before the input ended");
        let end = self.slices.last().expect("finished without a slice");
        assert_eq!(end.bytes, 0, "finished without the end slice");
        assert_eq!(end.offset, self.fed, "finished with input left unsent");
        let bs = usize::from(self.config.block_size);
        for (n, s) in self.slices.iter().enumerate() {
            let blocks = (s.bytes as usize).div_ceil(bs);
            let unsent = (0..blocks).find(|&b| !s.sent.contains(b));
            assert!(
                unsent.is_none(),
                "finished, but block {unsent:?} of slice {n} never went out"
            );
        }
        if !self.config.asynchronous {
            for &client in &self.connected {
                for n in 0..self.slices.len() as u32 {
                    assert!(
                        self.oks.contains(&(client, n)),
                        "finished, but client {client} never acknowledged slice {n}"
                    );
                }
            }
        }
    }

    /// A slice's byte count, as a DATA, FEC or REQACK of it tells it.
    fn slice_seen(&mut self, slice: u32, bytes: u32) -> &mut SliceSeen {
        let n = slice as usize;
        if n < self.slices.len() {
            assert_eq!(
                self.slices[n].bytes, bytes,
                "slice {slice} sent with two byte counts"
            );
            return &mut self.slices[n];
        }
        assert_eq!(
            n,
            self.slices.len(),
            "slice {slice} before slice {}",
            self.slices.len()
        );
        let bs = u32::from(self.config.block_size);
        let offset = self
            .slices
            .last()
            .map_or(0, |s| s.offset + u64::from(s.bytes));
        if let Some(last) = self.slices.last() {
            assert_ne!(last.bytes, 0, "a slice after the end");
            assert!(
                last.bytes % bs == 0 || bytes == 0,
                "slice {slice} after a partial-block slice"
            );
        }
        assert!(
            offset + u64::from(bytes) <= self.fed,
            "slice {slice} reaches byte {} but only {} were fed",
            offset + u64::from(bytes),
            self.fed
        );
        if bytes == 0 {
            assert!(self.input_ended, "the end slice before the input ended");
            assert_eq!(offset, self.fed, "the end slice with input not yet cut");
        }
        assert!(bytes <= 1024 * bs, "slice {slice} of {bytes} bytes");
        self.slices.push(SliceSeen {
            offset,
            bytes,
            sent: Bitmap1024::new(),
            fec: None,
        });
        &mut self.slices[n]
    }

    fn inspect(&mut self, destination: SocketAddrV4, datagram: &[u8]) {
        let message = Message::parse(datagram).expect("the sender sends udpcast messages");
        crate::trace!("  -> {destination} {}", brief(&message));
        let bs = usize::from(self.config.block_size);
        let rendezvous = SocketAddrV4::new(BCAST, self.config.portbase);
        match message {
            Message::Hello(hello) => {
                assert_eq!(destination, rendezvous);
                assert_eq!(hello.block_size, self.config.block_size);
                if self.transferring {
                    assert!(self.config.streaming && hello.kind == HelloKind::Streaming);
                }
                let trailer =
                    Trailer::parse(trailing_bytes(datagram, 28)).expect("our trailer parses");
                if let (Some(t), Some(id)) = (trailer, self.identity) {
                    assert_eq!(Identity::from_trailer(&t), Some(id));
                }
            }
            Message::ConnectReply(reply) => {
                assert!(!self.transferring, "CONNECT_REPLY during the transfer");
                let i = (0..CLIENTS).find(|&i| client_address(i) == destination);
                if let (Some(i), Some(client)) = (i, reply.client_number) {
                    assert_eq!(
                        self.numbers[i].unwrap_or(client),
                        client,
                        "CONNECT_REPLY to {destination} with another number than it holds"
                    );
                    self.numbers[i] = Some(client);
                }
                assert_eq!(reply.block_size, u32::from(self.config.block_size));
                let trailer =
                    Trailer::parse(trailing_bytes(datagram, 32)).expect("our trailer parses");
                if reply.capabilities.contains(VERIFIED) {
                    let id = trailer.as_ref().and_then(Identity::from_trailer);
                    assert_eq!(id, self.identity, "VERIFIED without our identity");
                }
            }
            Message::Data(data) => {
                self.assert_slice_destination(destination);
                let (slice, block) = (data.slice, usize::from(data.block));
                let s = self.slice_seen(slice, data.bytes);
                let start = block * bs;
                assert!(
                    start < s.bytes as usize,
                    "block {block} beyond slice {slice}"
                );
                let len = (s.bytes as usize - start).min(bs);
                assert_eq!(
                    data.payload.len(),
                    len,
                    "block {block} of slice {slice}: wrong length"
                );
                let offset = s.offset + start as u64;
                s.sent.insert(block);
                for (i, &b) in data.payload.iter().enumerate() {
                    assert_eq!(
                        b,
                        content(offset + i as u64),
                        "byte {i} of block {block} of slice {slice}"
                    );
                }
            }
            Message::Fec(fec) => {
                self.assert_slice_destination(destination);
                let params = self.config.fec.expect("FEC without --fec");
                assert_eq!(fec.stripes, params.stripes);
                let (stripes, redundancy) =
                    (usize::from(params.stripes), usize::from(params.redundancy));
                assert!(
                    usize::from(fec.block) < stripes * redundancy,
                    "FEC block {}",
                    fec.block
                );
                let s = self.slice_seen(fec.slice, fec.bytes);
                if s.fec.is_none() {
                    let config = FecConfig::new(stripes, redundancy, bs).expect("valid");
                    let data = content_range(s.offset, s.bytes as usize);
                    let mut out = vec![0u8; config.fec_len()];
                    Encoder::new(config, Kernel::scalar())
                        .encode_slice(&data, &mut out)
                        .expect("the sender's slices fit its FEC");
                    s.fec = Some(out);
                }
                let expected =
                    &s.fec.as_ref().expect("just made")[usize::from(fec.block) * bs..][..bs];
                assert!(
                    fec.payload == expected,
                    "FEC block {} of slice {} is wrong",
                    fec.block,
                    fec.slice
                );
            }
            Message::Reqack(reqack) => {
                self.assert_slice_destination(destination);
                self.reqack_seen(&reqack, datagram);
            }
            other => panic!("the sender sent {other:?}"),
        }
    }

    fn reqack_seen(&mut self, reqack: &Reqack<'_>, datagram: &[u8]) {
        let (slice, bytes) = (reqack.slice, reqack.bytes);
        let s = self.slice_seen(slice, bytes).clone();
        self.last_reqack = Some((slice, reqack.rxmit));
        let trailer =
            Trailer::parse(trailing_bytes(datagram, Reqack::LEN)).expect("our trailer parses");
        let Some(trailer) = trailer else {
            return;
        };
        let identity = self.identity.expect("a trailer without an identity");
        assert_eq!(trailer.session(), Some(identity.session));
        let data = content_range(s.offset, s.bytes as usize);
        match (trailer.slice_check(), trailer.stream_check()) {
            (Some(check), None) => {
                assert_eq!(
                    Some(check),
                    SliceCheck::of(slice, &data),
                    "wrong check for slice {slice}"
                );
            }
            (None, Some(end)) => {
                assert_eq!(bytes, 0, "a stream digest before the end");
                let mut crc = Crc32c::default();
                crc.update(&content_range(0, self.fed as usize));
                assert_eq!(end, crc.check(), "wrong stream digest");
            }
            other => panic!("REQACK trailer with {other:?}"),
        }
    }

    fn assert_slice_destination(&self, destination: SocketAddrV4) {
        let expected = self.destination.expect("slice data before the start");
        assert_eq!(
            destination, expected,
            "slice data to another destination than announced"
        );
    }
}

/// A message in a line, for traces.
pub(crate) fn brief(message: &Message<'_>) -> String {
    match message {
        Message::Data(d) => format!("DATA slice {} block {} bytes {}", d.slice, d.block, d.bytes),
        Message::Fec(f) => format!(
            "FEC slice {} block {} bytes {} stripes {}",
            f.slice, f.block, f.bytes, f.stripes
        ),
        Message::Reqack(r) => format!(
            "REQACK slice {} bytes {} rxmit {} ready {:?}",
            r.slice,
            r.bytes,
            r.rxmit,
            r.ready.iter().collect::<Vec<_>>()
        ),
        Message::Retransmit(r) => format!(
            "RETRANSMIT slice {} rxmit {} received {} blocks",
            r.slice,
            r.rxmit,
            r.received.len()
        ),
        other => format!("{other:?}"),
    }
}

fn signal(message: Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; SIGNAL_LEN];
    message.encode(&mut buf).expect("fits");
    buf
}

/// Flips, overwrites, cuts or extends a datagram as the input says.
fn mutate(input: &mut Input<'_>, datagram: &mut Vec<u8>) {
    for _ in 0..1 + input.below(4) {
        let at = input.below16(datagram.len().max(1));
        match input.u8() % 4 {
            0 => {
                if let Some(b) = datagram.get_mut(at) {
                    *b ^= 1 << input.below(8);
                }
            }
            1 => {
                let v = input.u8();
                if let Some(b) = datagram.get_mut(at) {
                    *b = v;
                }
            }
            2 => datagram.truncate(at),
            _ => datagram.extend_from_slice(input.short_bytes()),
        }
    }
}

/// Builds sender scripts for the seed corpus.
pub mod script {
    use super::op;
    use crate::input::Script;

    /// The options of a run's header that seeds vary.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Options {
        /// `--async`.
        pub asynchronous: bool,
        /// `--half-duplex`.
        pub half_duplex: bool,
        /// `--fec SxR/C`.
        pub fec: Option<(u8, u8, u8)>,
        /// `--max-bitrate` in units of 10 kb/s, less one.
        pub rate: Option<u16>,
        /// `--streaming`.
        pub streaming: bool,
        /// An identity: verified transfers.
        pub identity: bool,
        /// Block size (1–64) and the largest slice (1–64 blocks).
        pub block_size: u8,
        /// The largest slice in blocks.
        pub max_slice: u8,
        /// `--min-receivers`.
        pub min_receivers: u8,
        /// `--autostart` with a 100 ms hello interval.
        pub autostart: Option<u8>,
        /// Block size and largest slice beyond 64 (udpcast's 1456 and 1024).
        pub big: Option<(u16, u16)>,
    }

    /// The header for `o`.
    pub fn header(o: &Options) -> Script {
        let mut s = Script::new();
        let flags = u8::from(o.asynchronous)
            | u8::from(o.half_duplex) << 1
            | u8::from(o.fec.is_some()) << 2
            | u8::from(o.rate.is_some()) << 3
            | u8::from(o.streaming) << 4
            | u8::from(o.identity) << 5;
        let autostart = if o.autostart.is_some() { 4 | 8 } else { 0 };
        let flags2 = autostart | if o.big.is_some() { 128 } else { 0 };
        let (stripes, redundancy, stripe_size) = o.fec.unwrap_or((0, 0, 0));
        s.u8(flags).u8(flags2);
        match o.big {
            Some((block_size, max_slice)) => s.u16(block_size).u16(max_slice),
            None => s
                .u8(o.block_size.saturating_sub(1))
                .u8(o.max_slice.saturating_sub(1)),
        };
        s.u8(1)
            .u8(0)
            .u8(stripes)
            .u8(redundancy)
            .u8(stripe_size)
            .u16(o.rate.unwrap_or(0))
            .u8(10)
            .u8(o.autostart.unwrap_or(0))
            .u8(o.min_receivers)
            .u8(0)
            .u8(0)
            .u8(0)
            .u8(200)
            .u8(100)
            .u8(8);
        s
    }

    /// Client `i` (0–7) asks to connect, announcing verified transfers or not.
    pub fn connect(s: &mut Script, i: u8, verified: bool) {
        s.u8(op::CONNECT).u8(i).u8(if verified { 1 } else { 0 });
    }

    /// A key press starts the transfer.
    pub fn key(s: &mut Script) {
        s.u8(op::KEY);
    }

    /// `n` bytes of input.
    pub fn input(s: &mut Script, n: u16) {
        s.u8(op::INPUT).u16(n);
    }

    /// The input ends.
    pub fn input_end(s: &mut Script) {
        s.u8(op::INPUT_END);
    }

    /// Input until `total` bytes were fed, then the end.
    pub fn input_until(s: &mut Script, total: u32) {
        s.u8(op::INPUT_UNTIL).u32(total).u8(1);
    }

    /// Every client answers the last REQACK; those in `retransmitters` ask for blocks.
    pub fn answer_all(s: &mut Script, retransmitters: u8, missing: u8) {
        s.u8(op::ANSWER_ALL).u8(retransmitters).u8(missing);
    }

    /// The clock jumps to the next deadline.
    pub fn jump(s: &mut Script) {
        s.u8(op::TIME_JUMP);
    }

    /// Client `i` leaves.
    pub fn disconnect(s: &mut Script, i: u8) {
        s.u8(op::DISCONNECT).u8(i);
    }

    /// A raw datagram from client `i`.
    pub fn raw(s: &mut Script, i: u8, datagram: &[u8]) {
        s.u8(op::RAW).u8(i).long_bytes(datagram);
    }

    /// `ms` milliseconds pass (at most 255).
    pub fn wait(s: &mut Script, ms: u8) {
        s.u8(op::TIME_SMALL).u8(ms);
    }
}

/// A script for a whole transfer of `bytes` bytes to `clients` clients with `o`.
pub fn seed_transfer(o: &script::Options, clients: u8, bytes: u32, lossy: bool) -> Vec<u8> {
    let mut s = script::header(o);
    for i in 0..clients {
        script::connect(&mut s, i, o.identity);
    }
    if o.autostart.is_some() {
        for _ in 0..8 {
            script::jump(&mut s);
        }
    } else {
        script::key(&mut s);
    }
    for round in 0..40u8 {
        script::input_until(&mut s, bytes);
        if lossy && round % 3 == 0 {
            script::answer_all(&mut s, 0b10, round);
        } else {
            script::answer_all(&mut s, 0, 0);
        }
        script::wait(&mut s, 20);
        script::jump(&mut s);
    }
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use script::Options;

    fn small() -> Options {
        Options {
            block_size: 64,
            max_slice: 16,
            ..Options::default()
        }
    }

    #[test]
    fn seed_transfers_finish() {
        let cases = [
            (small(), 1, false),
            (
                Options {
                    half_duplex: true,
                    max_slice: 64,
                    ..small()
                },
                2,
                true,
            ),
            (
                Options {
                    fec: Some((2, 2, 8)),
                    ..small()
                },
                1,
                false,
            ),
            (
                Options {
                    identity: true,
                    ..small()
                },
                2,
                true,
            ),
            (
                Options {
                    rate: Some(1000),
                    ..small()
                },
                1,
                false,
            ),
            (
                Options {
                    asynchronous: true,
                    fec: Some((4, 2, 4)),
                    autostart: Some(1),
                    ..small()
                },
                0,
                false,
            ),
            (
                Options {
                    asynchronous: true,
                    identity: true,
                    autostart: Some(1),
                    ..small()
                },
                0,
                false,
            ),
        ];
        for (o, clients, lossy) in cases {
            let outcome = run(&seed_transfer(&o, clients, 3000, lossy));
            assert!(outcome.finished, "{o:?}: {outcome:?}");
            assert_eq!(outcome.fed, 3000, "{o:?}");
        }
    }
}
