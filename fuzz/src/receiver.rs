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

mod actions;
mod drive;
mod oracle;
mod peer;
pub mod script;
#[cfg(test)]
mod tests;

pub use actions::op;
pub use script::seed_transfer;

use crate::input::Input;
use crate::stream::Crc32c;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::fec::Kernel;
use udpcast_core::receiver::{self, Receiver, ReceiverConfig};
use udpcast_core::time::{Duration, Instant};

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
