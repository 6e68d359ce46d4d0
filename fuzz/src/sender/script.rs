//! Builders of `sender` scripts, for the seed corpus and the tests.

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

/// A script for a whole transfer of `bytes` bytes to `clients` clients with `o`.
pub fn seed_transfer(o: &Options, clients: u8, bytes: u32, lossy: bool) -> Vec<u8> {
    let mut s = header(o);
    for i in 0..clients {
        connect(&mut s, i, o.identity);
    }
    if o.autostart.is_some() {
        for _ in 0..8 {
            jump(&mut s);
        }
    } else {
        key(&mut s);
    }
    for round in 0..40u8 {
        input_until(&mut s, bytes);
        if lossy && round % 3 == 0 {
            answer_all(&mut s, 0b10, round);
        } else {
            answer_all(&mut s, 0, 0);
        }
        wait(&mut s, 20);
        jump(&mut s);
    }
    s.into_bytes()
}
