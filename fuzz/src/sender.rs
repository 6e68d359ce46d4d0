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
use actions::setup;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::extension::Identity;
use udpcast_core::sender::{Duplex, Sender, SenderConfig};
use udpcast_core::time::Instant;
use udpcast_core::wire::Bitmap1024;

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
