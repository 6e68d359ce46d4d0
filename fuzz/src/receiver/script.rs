//! Builders of `receiver` scripts, for the seed corpus and the tests.

use super::op;
use crate::input::Script;

/// The header of a run: flags (1 passive, 2 keyboard, 4 ignore lost data, 8 verify,
/// 16 scalar FEC), block size, storage (0–3), blocks per slice, FEC stripes.
pub fn header(flags: u8, block_size: u16, storage: u8, slice_blocks: u16, stripes: u8) -> Script {
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

/// A script that transfers `slices` full slices plus the end, with every check right.
pub fn seed_transfer(flags: u8, slices: u8, mask: u64, fec_rows: u8) -> Vec<u8> {
    let mut s = header(flags, 8, 0, 16, 2);
    if flags & 1 != 0 {
        async_hello(&mut s, false);
    } else {
        connect_reply(&mut s, flags & 8 != 0);
    }
    for _ in 0..slices {
        whole_slice(&mut s, 0, mask, fec_rows, true);
        whole_slice(&mut s, 0, 0, 0, true);
        consume_all(&mut s);
    }
    end(&mut s, 0);
    consume_all(&mut s);
    jump(&mut s);
    consume_all(&mut s);
    s.into_bytes()
}
