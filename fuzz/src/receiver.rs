//! `receiver`: a [`Receiver`] driven by a script of datagrams, key presses, timeouts,
//! output consumption and aborts read from the fuzz input (PROTOCOL.md §4).
//!
//! Most datagrams are built with the wire encoders from a model of one sender's stream, so
//! the state machine gets past discovery into slices, FEC and verification: the slices
//! of a run are `slice_blocks` blocks of the stream of [`content`], each slice's size
//! chosen once (full, short, or the zero-byte end); DATA carries the right bytes, FEC the
//! right payloads for the stripe count it claims, REQACK the right (or a wrong) check.
//! Raw and mutated datagrams reach everything else.
//!
//! After every call the harness polls everything and checks:
//! * nothing panics; every datagram the receiver sends parses;
//! * `handle_timeout(now)` leaves no deadline at or before `now` (else a caller that
//!   sleeps until `poll_timeout` spins);
//! * `stats().bytes_output` is what was consumed; consuming part of `output()` leaves the
//!   rest in place; `output()` does not change between two calls;
//! * while no raw DATA, FEC or REQACK and nothing else that breaks the model reached the
//!   receiver, the output is exactly the model's slices in order from slice 0;
//! * `Event::Verified` carries the digest of what was output (computed independently);
//!   `Finished` comes once, with everything output; no event follows `Finished`/`Failed`.

use crate::input::Input;
use crate::stream::{content, content_range, Crc32c};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::extension::integrity::StreamDigest;
use udpcast_core::extension::{Identity, Record, SliceCheck, StreamName, TrailerWriter, MAGIC};
use udpcast_core::fec::{Encoder, FecConfig, Kernel};
use udpcast_core::receiver::{self, Event, Receiver, ReceiverConfig};
use udpcast_core::time::{Duration, Instant};
use udpcast_core::transmit::MAX_RECEIVER_DATAGRAM;
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, Data, Fec, Hello, HelloKind, Message, Reqack,
};

/// Our receiver.
pub const ME: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 11);
/// The LAN's broadcast address: the rendezvous at TTL 1.
pub const BCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);
/// The sender the model speaks for.
pub const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 1), 9001);
const ROGUE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 2), 9001);
const OTHER_RECEIVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000);
const WRONG_PORT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 1), 9002);
const GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);
/// The session id of the model's sender; another one stands for another session.
pub const SESSION: u64 = 0x5eed_cafe_0000_0001;
/// The stream's name.
pub const NAME: &str = "disk.img";
const START: Instant = Instant(1_000_000);

/// Storage sizes a run may lend (chosen by the header).
const STORAGES: [usize; 4] = [16 * 1024, 64 * 1024, 1024 * 1024, receiver::FULL_STORAGE];

/// The action numbers of the script (the byte that starts each action, modulo 16).
pub mod op {
    /// A datagram of raw bytes.
    pub const RAW: u8 = 0;
    /// HELLO from the model.
    pub const HELLO: u8 = 1;
    /// CONNECT_REPLY from the model.
    pub const CONNECT_REPLY: u8 = 2;
    /// One DATA block.
    pub const DATA: u8 = 3;
    /// One FEC block.
    pub const FEC: u8 = 4;
    /// A REQACK.
    pub const REQACK: u8 = 5;
    /// A key press.
    pub const KEY: u8 = 6;
    /// Up to 255 ms pass.
    pub const TIME_SMALL: u8 = 7;
    /// Up to 655 s pass.
    pub const TIME_BIG: u8 = 8;
    /// The clock jumps to the receiver's deadline.
    pub const TIME_JUMP: u8 = 9;
    /// Part of the output is consumed.
    pub const CONSUME: u8 = 10;
    /// The operator aborts (or, for an even argument, all output is consumed).
    pub const ABORT: u8 = 11;
    /// A model message, mutated.
    pub const MUTATED: u8 = 12;
    /// A whole slice: its DATA but for an erasure mask, FEC rows, and a REQACK.
    pub const WHOLE_SLICE: u8 = 13;
    /// All the output is consumed.
    pub const CONSUME_ALL: u8 = 14;
}

/// What the model says about one slice.
#[derive(Clone, Copy, Debug)]
struct Planned {
    bytes: u32,
}

struct Harness<'s> {
    rx: Receiver<'s>,
    now: Instant,
    block_size: usize,
    /// Bytes of a full slice of the model.
    full: u32,
    fec_stripes: usize,
    verify: bool,
    plan: BTreeMap<u32, Planned>,
    /// The output oracle holds: nothing reached the receiver that the model does not
    /// account for.
    clean: bool,
    /// The model's position of the next output byte: slice and offset in it.
    cursor: (u32, u32),
    consumed: u64,
    crc: Crc32c,
    client: Option<u16>,
    closed_event: bool,
    finished_event: bool,
    verified: bool,
}

/// How a run ended, for tests of the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The receiver finished.
    pub finished: bool,
    /// It verified the stream.
    pub verified: bool,
    /// The output oracle held to the end.
    pub clean: bool,
    /// Bytes output.
    pub bytes: u64,
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) -> Outcome {
    let mut input = Input::new(data);
    let flags = input.u8();
    let bs_field = input.u16();
    let block_size = if bs_field < 0x8000 {
        1 + usize::from(bs_field % 64)
    } else {
        usize::from(bs_field - 0x8000).max(1)
    };
    let storage_len = STORAGES[input.below(STORAGES.len())];
    let slot = storage_len / receiver::SLOTS;
    let slot_blocks = (slot / block_size).clamp(1, 1024);
    // The model's slices stay within 16 KiB (1024 blocks of 16 bytes, 256 of 64), so that
    // a run takes milliseconds (raw datagrams still reach the largest slices).
    let slice_blocks = 1 + input.below16(slot_blocks.min((16_384 / block_size).max(1)));
    let fec_stripes = 1 + input.below(8);
    let millis = |v: u8, unit: u64| Duration::from_millis(u64::from(v) * unit);
    let mut config = ReceiverConfig::new(ME, BCAST);
    config.passive = flags & 1 != 0;
    config.keyboard = flags & 2 != 0;
    config.ignore_lost_data = flags & 4 != 0;
    config.verify = flags & 8 != 0;
    config.receive_buffer = 212_992;
    config.start_timeout = Some(input.u8()).filter(|&v| v != 0).map(|v| millis(v, 100));
    config.receive_timeout = Some(input.u8()).filter(|&v| v != 0).map(|v| millis(v, 100));
    config.exit_wait = millis(input.u8(), 10);
    // A retry of 0 would ask to be woken at once forever; udp-receiver never sets it.
    config.connect_retry = millis(input.u8().saturating_add(1), 10);
    let expect = match input.u8() {
        0..=199 => None,
        200..=227 => Some(NAME),
        _ => Some("other.img"),
    };

    let mut storage = vec![0u8; storage_len];
    let mut rx = Receiver::new(config, &mut storage, START);
    if flags & 16 != 0 {
        rx.set_fec_kernel(Kernel::scalar());
    }
    if let Some(name) = expect {
        rx.expect_name(name).expect("a valid name");
    }
    let mut h = Harness {
        rx,
        now: START,
        block_size,
        full: (slice_blocks * block_size) as u32,
        fec_stripes,
        verify: config.verify,
        plan: BTreeMap::new(),
        clean: true,
        cursor: (0, 0),
        consumed: 0,
        crc: Crc32c::default(),
        client: None,
        closed_event: false,
        finished_event: false,
        verified: false,
    };
    h.drain();
    while !input.is_empty() {
        h.step(&mut input);
    }
    Outcome {
        finished: h.finished_event,
        verified: h.verified,
        clean: h.clean,
        bytes: h.consumed,
    }
}

impl Harness<'_> {
    fn step(&mut self, input: &mut Input<'_>) {
        let op = input.u8() % 16;
        crate::trace!("-- {:?} action {op}", self.now);
        match op {
            op::RAW => {
                let from = from_address(input.u8());
                let datagram = input.long_bytes().to_vec();
                self.deliver_foreign(from, &datagram);
            }
            op::HELLO => {
                let from = from_address(input.u8());
                let datagram = self.hello(input);
                self.deliver(from, &datagram);
            }
            op::CONNECT_REPLY => {
                let from = from_address(input.u8());
                let datagram = self.connect_reply(input);
                self.deliver(from, &datagram);
            }
            op::DATA => {
                let from = from_address(input.u8());
                let datagram = self.data(input, None, None);
                self.deliver(from, &datagram);
            }
            op::FEC => {
                let from = from_address(input.u8());
                let datagram = self.fec(input, None, None);
                self.deliver(from, &datagram);
            }
            op::REQACK => {
                let from = from_address(input.u8());
                let datagram = self.reqack(input, None);
                self.deliver(from, &datagram);
            }
            op::KEY => {
                self.rx.handle_key(self.now);
                self.drain();
            }
            op::TIME_SMALL => {
                let ms = u64::from(input.u8());
                self.advance(Duration::from_millis(ms));
            }
            op::TIME_BIG => {
                let ms = u64::from(input.u16()) * 10;
                self.advance(Duration::from_millis(ms));
            }
            op::TIME_JUMP => {
                let to = self.rx.poll_timeout().unwrap_or(self.now).max(self.now);
                self.advance(to - self.now);
            }
            op::CONSUME => {
                let n = usize::from(input.u16());
                self.consume(n);
            }
            op::ABORT => {
                if input.bool() {
                    self.rx.abort();
                    self.drain();
                } else {
                    self.consume(usize::MAX);
                }
            }
            op::MUTATED => {
                let from = from_address(input.u8());
                let mut datagram = match input.u8() % 5 {
                    0 => self.hello(input),
                    1 => self.connect_reply(input),
                    2 => self.data(input, None, None),
                    3 => self.fec(input, None, None),
                    _ => self.reqack(input, None),
                };
                mutate(input, &mut datagram);
                self.deliver_foreign(from, &datagram);
            }
            op::WHOLE_SLICE => self.whole_slice(input),
            op::CONSUME_ALL => self.consume(usize::MAX),
            _ => {
                let to = self.rx.poll_timeout().unwrap_or(self.now).max(self.now);
                self.advance(to - self.now);
            }
        }
    }

    // ---- the model's messages ----

    /// A slice number near the receiver's progress (or any, rarely).
    fn pick_slice(&mut self, input: &mut Input<'_>) -> u32 {
        let v = input.u8();
        if v >= 248 {
            return input.u32();
        }
        let base = (self.rx.stats().bytes_output / u64::from(self.full.max(1))) as u32;
        (base + u32::from(v % 8)).saturating_sub(2)
    }

    /// The slice's byte count: planned at its first message, kept after (or, rarely,
    /// contradicted, which the model cannot account for).
    fn planned_bytes(&mut self, input: &mut Input<'_>, slice: u32) -> u32 {
        let sel = input.u8();
        if let Some(p) = self.plan.get(&slice) {
            if sel < 244 {
                return p.bytes;
            }
            self.clean = false;
            return input.u32() % (2 * self.full + 2);
        }
        let bytes = match sel {
            0..=175 => self.full,
            176..=215 => 1 + input.below16(self.full as usize) as u32,
            216..=243 => 0,
            _ => {
                self.clean = false;
                return input.u32() % (2 * self.full + 2);
            }
        };
        self.plan.insert(slice, Planned { bytes });
        bytes
    }

    fn slice_data(&self, slice: u32, bytes: u32) -> Vec<u8> {
        content_range(u64::from(slice) * u64::from(self.full), bytes as usize)
    }

    fn identity(&self, total_size: Option<u64>, name: &str) -> Identity {
        Identity {
            session: SESSION,
            name: StreamName::new(name).expect("a valid name"),
            total_size,
        }
    }

    /// Appends the trailer the input chooses after the `len` bytes of a HELLO or
    /// CONNECT_REPLY in `buf`.
    fn identity_trailer(&self, input: &mut Input<'_>, buf: &mut Vec<u8>, len: usize) {
        buf.truncate(len);
        let sel = input.u8() % 6;
        if sel == 3 {
            // Magic, then anything.
            buf.extend_from_slice(&MAGIC);
            buf.extend_from_slice(input.short_bytes());
            return;
        }
        let total_size = (sel == 1).then(|| u64::from(input.u32()));
        buf.resize(len + 512, 0);
        let mut writer = TrailerWriter::new(&mut buf[len..]).expect("room");
        let written = match sel {
            0 | 1 => self.identity(total_size, NAME).write(&mut writer).is_ok(),
            2 => false,
            4 => self.identity(None, "other.img").write(&mut writer).is_ok(),
            _ => writer.push(&Record::Session(SESSION)).is_ok(),
        };
        let total = if written { len + writer.finish() } else { len };
        buf.truncate(total);
    }

    fn capabilities(&self, input: &mut Input<'_>) -> Capabilities {
        match input.u8() % 6 {
            0 | 1 => Capabilities::SENDER,
            2 => Capabilities::SENDER | udpcast_core::extension::VERIFIED,
            3 => Capabilities::SENDER_ASYNC,
            4 => Capabilities::SENDER_ASYNC | udpcast_core::extension::VERIFIED,
            _ => Capabilities::from_bits_retain(input.u32()),
        }
    }

    fn address(input: &mut Input<'_>) -> Ipv4Addr {
        match input.u8() % 4 {
            0 | 1 => GROUP,
            2 => Ipv4Addr::UNSPECIFIED,
            _ => Ipv4Addr::from(input.u32()),
        }
    }

    fn hello(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        let kind = match input.u8() % 4 {
            0 | 1 => HelloKind::Hello,
            2 => HelloKind::New,
            _ => HelloKind::Streaming,
        };
        let capabilities = self.capabilities(input);
        let data_address = Self::address(input);
        let block_size = match input.u8() {
            0..=239 => self.block_size as u16,
            _ => input.u16(),
        };
        let mut buf = vec![0u8; Hello::LEN];
        let hello = Hello {
            kind,
            capabilities,
            data_address,
            block_size,
        };
        let len = hello.encode(&mut buf).expect("fits");
        self.identity_trailer(input, &mut buf, len);
        buf
    }

    fn connect_reply(&mut self, input: &mut Input<'_>) -> Vec<u8> {
        let client_number = match input.u8() {
            0..=199 => Some(3),
            200..=229 => Some(input.below16(1024) as u16),
            _ => None,
        };
        let block_size = match input.u8() {
            0..=239 => self.block_size as u32,
            _ => input.u32(),
        };
        let capabilities = self.capabilities(input);
        let data_address = Self::address(input);
        let reply = ConnectReply {
            client_number,
            block_size,
            capabilities,
            data_address,
        };
        let mut buf = vec![0u8; ConnectReply::LEN];
        let len = reply.encode(&mut buf).expect("fits");
        self.identity_trailer(input, &mut buf, len);
        buf
    }

    /// The length of a block's payload, changed as the input says.
    fn payload_len(input: &mut Input<'_>, len: usize) -> usize {
        match input.u8() {
            0..=229 => len,
            230..=242 => len.saturating_sub(1 + input.below(8)),
            _ => len + 1 + input.below(8),
        }
    }

    /// Offset of slice `slice` in the model's stream.
    fn offset(&self, slice: u32) -> u64 {
        u64::from(slice) * u64::from(self.full)
    }

    fn data(&mut self, input: &mut Input<'_>, slice: Option<u32>, block: Option<usize>) -> Vec<u8> {
        let slice = slice.unwrap_or_else(|| self.pick_slice(input));
        let bytes = self.planned_bytes(input, slice);
        let bs = self.block_size;
        let blocks = (bytes as usize).div_ceil(bs);
        let block = block.unwrap_or_else(|| match input.u8() {
            0..=239 if blocks > 0 => input.below16(blocks.min(1024)),
            _ => input.below16(1024),
        });
        let start = block * bs;
        let len = Self::payload_len(input, (bytes as usize).saturating_sub(start).min(bs));
        let offset = self.offset(slice) + start as u64;
        let payload: Vec<u8> = (0..len)
            .map(|i| {
                if start + i < bytes as usize {
                    content(offset + i as u64)
                } else {
                    0xa5
                }
            })
            .collect();
        let message = Data {
            slice,
            block: block as u16,
            bytes,
            payload: &payload,
        };
        let mut buf = vec![0u8; message.len()];
        message.encode(&mut buf).expect("block below 1024");
        buf
    }

    /// FEC row `row` of stripe `stripe` of a slice, encoded for `stripes` stripes (zeros
    /// where the code cannot serve the slice).
    fn fec_payload(&self, data: &[u8], stripes: usize, stripe: usize, row: usize) -> Vec<u8> {
        let bs = self.block_size;
        let columns: Vec<&[u8]> = data.chunks(bs).skip(stripe).step_by(stripes).collect();
        let Ok(config) = FecConfig::new(1, row + 1, bs) else {
            return vec![0; bs];
        };
        let mut rows = vec![vec![0u8; bs]; row + 1];
        let mut views: Vec<&mut [u8]> = rows.iter_mut().map(Vec::as_mut_slice).collect();
        match Encoder::new(config, Kernel::detect()).encode_stripe(&columns, &mut views) {
            Ok(()) => rows.pop().unwrap_or_default(),
            Err(_) => vec![0; bs],
        }
    }

    fn fec(
        &mut self,
        input: &mut Input<'_>,
        slice: Option<u32>,
        number: Option<(usize, usize)>,
    ) -> Vec<u8> {
        let slice = slice.unwrap_or_else(|| self.pick_slice(input));
        let bytes = self.planned_bytes(input, slice);
        let stripes = match input.u8() {
            0..=223 => self.fec_stripes,
            _ => 1 + usize::from(input.u8()),
        };
        let (stripe, row) = number.unwrap_or_else(|| (input.below(stripes), input.below(16)));
        let data = self.slice_data(slice, bytes);
        let mut payload = self.fec_payload(&data, stripes, stripe, row);
        payload.resize(Self::payload_len(input, self.block_size), 0xa5);
        let message = Fec {
            stripes: stripes as u16,
            slice,
            block: (row * stripes + stripe) as u16,
            bytes,
            payload: &payload,
        };
        let mut buf = vec![0u8; message.len()];
        message.encode(&mut buf).expect("stripes above 0");
        buf
    }

    /// The stream's digest up to slice `end`, as the model's sender would announce it.
    fn stream_digest(&self, end: u32) -> udpcast_core::extension::StreamCheck {
        let mut digest = StreamDigest::new();
        // Beyond a few MB the model does not bother: a wrong digest is as good a test.
        if self.offset(end) > 4 << 20 {
            return digest.finalize();
        }
        for slice in 0..end {
            let bytes = self.plan.get(&slice).map_or(self.full, |p| p.bytes);
            digest.update(&self.slice_data(slice, bytes));
        }
        digest.finalize()
    }

    fn reqack(&mut self, input: &mut Input<'_>, slice: Option<u32>) -> Vec<u8> {
        let slice = slice.unwrap_or_else(|| self.pick_slice(input));
        let bytes = self.planned_bytes(input, slice);
        let rxmit = u32::from(input.u8());
        let client = usize::from(self.client.unwrap_or(3));
        let ready = match input.u8() % 6 {
            0..=2 => Bitmap1024::new(),
            3 => {
                let mut r = Bitmap1024::new();
                r.insert(client);
                r
            }
            4 => {
                let mut r = Bitmap1024::new();
                r.insert((client + 1) % 1024);
                r
            }
            _ => Bitmap1024::first_n(input.below16(1025)),
        };
        let message = Reqack {
            slice,
            bytes,
            rxmit,
            ready: &ready,
        };
        let mut buf = vec![0u8; Reqack::LEN + 64];
        let len = message.encode(&mut buf).expect("fits");
        let data = self.slice_data(slice, bytes);
        let check = SliceCheck::of(slice, &data).expect("small");
        let session = Record::Session(SESSION);
        let sel = input.u8() % 8;
        let end = Record::StreamDigest(if matches!(sel, 0..=2 | 7) && bytes == 0 || sel == 7 {
            self.stream_digest(slice)
        } else {
            udpcast_core::extension::StreamCheck {
                bytes: 0,
                crc32c: 0,
            }
        });
        let mut writer = TrailerWriter::new(&mut buf[len..]).expect("room");
        let ok = match sel {
            0..=2 if bytes != 0 => writer
                .push(&session)
                .and_then(|w| w.push(&Record::SliceCheck(check)))
                .is_ok(),
            0..=2 => writer.push(&session).and_then(|w| w.push(&end)).is_ok(),
            3 => false,
            4 => {
                let wrong = SliceCheck {
                    crc32c: check.crc32c ^ 1,
                    ..check
                };
                writer
                    .push(&session)
                    .and_then(|w| w.push(&Record::SliceCheck(wrong)))
                    .is_ok()
            }
            5 => writer
                .push(&Record::Session(SESSION ^ 1))
                .and_then(|w| w.push(&Record::SliceCheck(check)))
                .is_ok(),
            6 => writer.push(&Record::SliceCheck(check)).is_ok(),
            _ => writer.push(&session).and_then(|w| w.push(&end)).is_ok(),
        };
        let total = if ok { len + writer.finish() } else { len };
        buf.truncate(total);
        buf
    }

    /// Every DATA block of a slice but those the mask erases, then FEC rows for each
    /// stripe, then a REQACK: the way a slice arrives over a lossy link.
    fn whole_slice(&mut self, input: &mut Input<'_>) {
        let slice = self.pick_slice(input);
        let mask = input.u64();
        let fec_rows = input.below(4);
        let with_reqack = input.bool();
        let from = SENDER;
        let bytes = match self.plan.get(&slice) {
            Some(p) => p.bytes,
            None => {
                let mut script = Input::new(&[0]);
                self.planned_bytes(&mut script, slice)
            }
        };
        let blocks = (bytes as usize).div_ceil(self.block_size);
        let exact = &mut Input::new(&[]);
        for block in 0..blocks {
            if mask & (1 << (block % 64)) != 0 {
                continue;
            }
            let datagram = self.data(exact, Some(slice), Some(block));
            self.deliver(from, &datagram);
        }
        for row in 0..fec_rows {
            for stripe in 0..self.fec_stripes {
                let datagram = self.fec(exact, Some(slice), Some((stripe, row)));
                self.deliver(from, &datagram);
            }
        }
        if with_reqack {
            let datagram = self.reqack(exact, Some(slice));
            self.deliver(from, &datagram);
        }
    }

    // ---- driving ----

    /// A datagram the model accounts for.
    fn deliver(&mut self, from: SocketAddrV4, datagram: &[u8]) {
        crate::trace!(
            "  <- {from} {:?}",
            Message::parse(datagram).map(|m| crate::sender::brief(&m))
        );
        self.rx.handle_datagram(self.now, from, datagram);
        self.drain();
    }

    /// A datagram the model does not account for: if it is slice data from a sender's
    /// port, the output oracle is off from now on.
    fn deliver_foreign(&mut self, from: SocketAddrV4, datagram: &[u8]) {
        let slice_message = matches!(
            Message::parse(datagram),
            Ok(Message::Data(_) | Message::Fec(_) | Message::Reqack(_))
        );
        if slice_message && from.port() == SENDER.port() {
            self.clean = false;
        }
        self.deliver(from, datagram);
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
        self.rx.handle_timeout(self.now);
        self.drain();
        if let Some(deadline) = self.rx.poll_timeout() {
            assert!(
                deadline > self.now,
                "handle_timeout({:?}) left the deadline at {deadline:?}: a caller would spin",
                self.now
            );
        }
    }

    fn consume(&mut self, n: usize) {
        let available = self.rx.output().to_vec();
        self.rx.consume_output(n);
        let written = n.min(available.len());
        self.output(&available[..written]);
        if written < available.len() {
            assert_eq!(
                self.rx.output(),
                &available[written..],
                "consuming {written} of {} bytes did not leave the rest",
                available.len()
            );
        }
        self.drain();
    }

    /// `bytes` were handed out: they extend the digest, and must be the model's next ones.
    fn output(&mut self, bytes: &[u8]) {
        self.consumed += bytes.len() as u64;
        self.crc.update(bytes);
        let mut rest = bytes;
        while self.clean && !rest.is_empty() {
            let (slice, pos) = self.cursor;
            let planned = self.plan.get(&slice).map(|p| p.bytes);
            let Some(planned) = planned.filter(|&b| b > pos) else {
                panic!(
                    "output {} bytes past the model's stream at slice {slice} offset {pos} ({planned:?} planned)",
                    rest.len()
                );
            };
            let n = rest.len().min((planned - pos) as usize);
            let base = u64::from(slice) * u64::from(self.full) + u64::from(pos);
            for (i, &b) in rest[..n].iter().enumerate() {
                assert_eq!(
                    b,
                    content(base + i as u64),
                    "output byte {} of slice {slice} is wrong",
                    pos as usize + i
                );
            }
            rest = &rest[n..];
            self.cursor = if pos + n as u32 == planned {
                (slice + 1, 0)
            } else {
                (slice, pos + n as u32)
            };
        }
    }

    /// Polls everything the receiver has, checking each item.
    fn drain(&mut self) {
        let mut buf = [0u8; MAX_RECEIVER_DATAGRAM];
        let mut sent = 0;
        while let Some(t) = self.rx.poll_transmit(&mut buf) {
            sent += 1;
            assert!(sent <= 64, "the receiver keeps sending");
            let message =
                Message::parse(&buf[..t.len]).expect("the receiver sends udpcast messages");
            crate::trace!("  -> {} {}", t.destination, crate::sender::brief(&message));
            assert_eq!(
                t.destination.port(),
                9001,
                "{message:?} not to a sender's port"
            );
        }
        while let Some(event) = self.rx.poll_event() {
            crate::trace!("  event {event:?}");
            assert!(!self.closed_event, "{event:?} after the receiver closed");
            match event {
                Event::Connected(c) => {
                    self.client = Some(c.client_number);
                    if c.block_size as usize != self.block_size || c.streaming {
                        self.clean = false;
                    }
                }
                Event::LostData { .. } => self.clean = false,
                Event::Verified(check) => {
                    assert!(self.verify, "verified without --verify");
                    assert!(!self.verified, "verified twice");
                    assert_eq!(
                        check,
                        self.crc.check(),
                        "Verified with a digest of other bytes than were output"
                    );
                    self.verified = true;
                }
                Event::Finished => {
                    assert!(self.rx.is_finished());
                    assert!(self.rx.output().is_empty(), "finished with output left");
                    if self.clean {
                        let (slice, pos) = self.cursor;
                        assert_eq!(
                            (self.plan.get(&slice).map(|p| p.bytes), pos),
                            (Some(0), 0),
                            "finished before the model's end (slice {slice})"
                        );
                    }
                    self.closed_event = true;
                    self.finished_event = true;
                }
                Event::Failed(_) => {
                    assert!(self.rx.is_closed() && !self.rx.is_finished());
                    self.closed_event = true;
                }
                _ => {}
            }
        }
        assert_eq!(
            self.rx.stats().bytes_output,
            self.consumed,
            "bytes_output is not what was consumed"
        );
        assert_eq!(
            self.rx.is_finished(),
            self.finished_event,
            "finished without the event, or the other way"
        );
        let (a, b) = (self.rx.output(), self.rx.output());
        assert!(
            a.as_ptr() == b.as_ptr() && a.len() == b.len(),
            "output() changed between two calls"
        );
    }
}

fn from_address(sel: u8) -> SocketAddrV4 {
    match sel {
        0..=223 => SENDER,
        224..=235 => ROGUE,
        236..=247 => OTHER_RECEIVER,
        _ => WRONG_PORT,
    }
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

/// Builds receiver scripts for the seed corpus.
pub mod script {
    use super::op;
    use crate::input::Script;

    /// The header of a run: flags (1 passive, 2 keyboard, 4 ignore lost data, 8 verify,
    /// 16 scalar FEC), block size, storage (0–3), blocks per slice, FEC stripes.
    pub fn header(
        flags: u8,
        block_size: u16,
        storage: u8,
        slice_blocks: u16,
        stripes: u8,
    ) -> Script {
        let mut s = Script::new();
        let bs = if (1..=64).contains(&block_size) {
            block_size - 1
        } else {
            0x8000 + block_size
        };
        s.u8(flags)
            .u16(bs)
            .u8(storage)
            .u16(slice_blocks.saturating_sub(1))
            .u8(stripes.saturating_sub(1))
            // No start or receive timeout, 100 ms exit-wait, 1 s connect retry, no name.
            .u8(0)
            .u8(0)
            .u8(10)
            .u8(99)
            .u8(0);
        s
    }

    /// A raw datagram from the sender.
    pub fn raw(s: &mut Script, datagram: &[u8]) {
        s.u8(op::RAW).u8(0).long_bytes(datagram);
    }

    /// CONNECT_REPLY admitting client 3, verified or not, with the identity if verified.
    pub fn connect_reply(s: &mut Script, verified: bool) {
        s.u8(op::CONNECT_REPLY)
            .u8(0)
            .u8(0)
            .u8(0)
            .u8(if verified { 2 } else { 0 })
            .u8(0);
        s.u8(if verified { 0 } else { 2 });
    }

    /// An async HELLO with the identity trailer (a passive receiver connects on it).
    pub fn async_hello(s: &mut Script, streaming: bool) {
        s.u8(op::HELLO)
            .u8(0)
            .u8(if streaming { 3 } else { 0 })
            .u8(4)
            .u8(0)
            .u8(0)
            .u8(0);
    }

    /// The slice `ahead` (0–5) of the one being output, whole but for the blocks in
    /// `mask`, with `fec_rows` FEC rows per stripe and, if asked, a REQACK.
    pub fn whole_slice(s: &mut Script, ahead: u8, mask: u64, fec_rows: u8, reqack: bool) {
        s.u8(op::WHOLE_SLICE)
            .u8(ahead + 2)
            .u64(mask)
            .u8(fec_rows)
            .u8(u8::from(reqack));
    }

    /// A REQACK of the slice `ahead` of the one being output, with the right check.
    pub fn reqack(s: &mut Script, ahead: u8) {
        s.u8(op::REQACK).u8(0).u8(ahead + 2).u8(0).u8(0).u8(0).u8(0);
    }

    /// The end of the stream: the slice `ahead` planned empty, announced by a REQACK
    /// with the stream's digest.
    pub fn end(s: &mut Script, ahead: u8) {
        s.u8(op::REQACK)
            .u8(0)
            .u8(ahead + 2)
            .u8(230)
            .u8(0)
            .u8(0)
            .u8(0);
    }

    /// Everything output is consumed.
    pub fn consume_all(s: &mut Script) {
        s.u8(op::CONSUME_ALL);
    }

    /// `ms` milliseconds pass (at most 255).
    pub fn wait(s: &mut Script, ms: u8) {
        s.u8(op::TIME_SMALL).u8(ms);
    }

    /// The clock jumps to the next deadline.
    pub fn jump(s: &mut Script) {
        s.u8(op::TIME_JUMP);
    }

    /// A key press.
    pub fn key(s: &mut Script) {
        s.u8(op::KEY);
    }
}

/// A script that transfers `slices` full slices plus the end, with every check right.
pub fn seed_transfer(flags: u8, slices: u8, mask: u64, fec_rows: u8) -> Vec<u8> {
    let mut s = script::header(flags, 8, 0, 16, 2);
    if flags & 1 != 0 {
        script::async_hello(&mut s, false);
    } else {
        script::connect_reply(&mut s, flags & 8 != 0);
    }
    for _ in 0..slices {
        script::whole_slice(&mut s, 0, mask, fec_rows, true);
        script::whole_slice(&mut s, 0, 0, 0, true);
        script::consume_all(&mut s);
    }
    script::end(&mut s, 0);
    script::consume_all(&mut s);
    script::jump(&mut s);
    script::consume_all(&mut s);
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_transfers_finish_with_the_model_output() {
        for flags in [0, 8, 1, 9, 4, 16] {
            for (mask, rows) in [(0, 0), (0b101, 1), (u64::MAX, 0)] {
                let outcome = run(&seed_transfer(flags, 3, mask, rows));
                let verified = flags & 8 != 0;
                assert_eq!(
                    outcome,
                    Outcome {
                        finished: true,
                        verified,
                        clean: true,
                        bytes: 3 * 16 * 8
                    },
                    "flags {flags} mask {mask:#x}"
                );
            }
        }
    }
}
