//! What the tests of verified transfers over [`memnet`](crate::memnet) share (issue #11,
//! doc/verified-transfers.md §4–§5): senders that offer verification or not, receivers
//! with or without it and with hooks on their link, and what a run shows — above all the
//! rule each test checks, that no receiver reports `Verified` for an output that differs
//! from the input ([`assert_never_verified_wrongly`]).

use crate::memnet::{identity, peer, sender_config, Hook, Options, Peer, Rng, Run};
use std::cell::Cell;
use std::rc::Rc;
use udpcast_core::extension::integrity::stream_checksum;
use udpcast_core::extension::{trailing_bytes, Record, StreamCheck, Trailer, TrailerWriter};
use udpcast_core::receiver::{Event as RxEvent, NotVerifiedReason, ReceiverError};
use udpcast_core::sender::{FecParams, SenderConfig};
use udpcast_core::wire::{Bitmap1024, Message, Opcode, Reqack};

/// One second of the fake clock, which counts µs.
pub const SECOND: u64 = 1_000_000;
/// The session every verified sender here announces, so a test can tell it from a forged one.
pub const SESSION: u64 = 0x5eed_cafe_0000_0011;
/// The stream name every verified sender here announces, for `--expect-name` to match or not.
pub const NAME: &str = "disk.img";
/// Enough turns of the loop for the biggest transfer here; more means a livelock.
pub const MAX_STEPS: u64 = 3_000_000;

/// Enough redundancy (8 FEC blocks per stripe of 128) for async receivers, who cannot ask
/// again, to repair the losses the tests here put on their link.
pub const FEC_8X8: FecParams = FecParams {
    stripes: 8,
    redundancy: 8,
    stripe_size: 128,
};

// ---- set-up ----

/// `n` bytes to send, a different stream for every `seed` and the same one run after run.
pub fn input(n: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

/// A run of `seed` with a sender that offers verification for a stream of `size` bytes.
pub fn verified_options(seed: u64, limit_s: u64, size: usize) -> Options {
    Options {
        max_steps: MAX_STEPS,
        ..Options::new(seed, limit_s * SECOND).with_identity(identity(
            SESSION,
            NAME,
            Some(size as u64),
        ))
    }
}

/// The same run with a sender that has no identity (plain udpcast toward everyone).
pub fn plain_options(seed: u64, limit_s: u64) -> Options {
    Options {
        max_steps: MAX_STEPS,
        ..Options::new(seed, limit_s * SECOND)
    }
}

/// A synchronous sender that starts once `receivers` have connected, so no receiver misses
/// the beginning.
pub fn sync_config(receivers: u32) -> SenderConfig {
    let mut config = sender_config();
    config.min_receivers = receivers;
    config
}

/// An asynchronous sender (passive receivers, no answers) that starts at once, with `fec`.
pub fn async_config(fec: Option<FecParams>) -> SenderConfig {
    let mut config = sender_config();
    config.asynchronous = true;
    config.autostart = 1;
    config.fec = fec;
    config
}

/// Receiver `i` with verification off: plain udpcast toward our sender.
pub fn plain_peer(i: u8, loss_permille: u32) -> Peer {
    let mut p = peer(i, loss_permille);
    p.config.verify = false;
    p
}

/// `p` with `hook` on the datagrams toward it.
pub fn with_hook(mut p: Peer, hook: Hook) -> Peer {
    p.hook = Some(hook);
    p
}

/// A count a hook keeps while the run owns the hook, read by the test afterwards.
pub fn counter() -> Rc<Cell<u64>> {
    Rc::new(Cell::new(0))
}

// ---- what a run shows ----

/// Receiver `i`'s events.
pub fn events(run: &Run, i: usize) -> &[RxEvent] {
    &run.receivers[i].1
}

/// What receiver `i` wrote.
pub fn output(run: &Run, i: usize) -> &[u8] {
    &run.receivers[i].0
}

/// The digest receiver `i` verified its output with, if it did.
pub fn verified_with(run: &Run, i: usize) -> Option<StreamCheck> {
    events(run, i).iter().find_map(|e| match e {
        RxEvent::Verified(check) => Some(*check),
        _ => None,
    })
}

/// Why receiver `i` failed, if it did.
pub fn failure(run: &Run, i: usize) -> Option<ReceiverError> {
    events(run, i).iter().find_map(|e| match e {
        RxEvent::Failed(error) => Some(*error),
        _ => None,
    })
}

/// Why receiver `i` finished without verifying, if it said so.
pub fn not_verified(run: &Run, i: usize) -> Option<NotVerifiedReason> {
    events(run, i).iter().find_map(|e| match e {
        RxEvent::NotVerified(reason) => Some(*reason),
        _ => None,
    })
}

/// The rule every test checks, whatever else happens: `Verified` only with the input's
/// own digest and an output identical to the input.
pub fn assert_never_verified_wrongly(data: &[u8], run: &Run, what: &str) {
    for i in 0..run.receivers.len() {
        if let Some(check) = verified_with(run, i) {
            assert_eq!(check, stream_checksum(data), "{what}: receiver {i}");
            assert!(
                output(run, i) == data,
                "{what}: receiver {i} verified {} bytes that differ from the input",
                output(run, i).len()
            );
        }
    }
}

/// Receiver `i` wrote exactly `data`, finished, and verified it with the sender's digest.
pub fn assert_verified(data: &[u8], run: &Run, i: usize, what: &str) {
    assert!(!run.step_limit_hit, "{what}: livelock");
    let (out, events, finished) = &run.receivers[i];
    assert!(*finished, "{what}: receiver {i} did not finish: {events:?}");
    assert!(
        out == data,
        "{what}: receiver {i} wrote {} of {} bytes, differing",
        out.len(),
        data.len()
    );
    let expected = stream_checksum(data);
    assert_eq!(run.sender_stream_check, Some(expected), "{what}: sender");
    assert_eq!(
        verified_with(run, i),
        Some(expected),
        "{what}: receiver {i} {events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, RxEvent::NotVerified(_))),
        "{what}: receiver {i} {events:?}"
    );
    assert_eq!(failure(run, i), None, "{what}: receiver {i}");
}

/// The sender finished and sent checks, and every receiver verified `data` (see
/// [`assert_verified`]).
pub fn assert_all_verified(data: &[u8], run: &Run, what: &str) {
    assert!(
        run.sender_finished,
        "{what}: sender {:?}",
        run.sender_events
    );
    assert!(run.sender_verifies, "{what}: the sender sent no checks");
    for i in 0..run.receivers.len() {
        assert_verified(data, run, i, what);
    }
}

/// The opcode a datagram starts with, if it is one.
pub fn opcode(datagram: &[u8]) -> Option<Opcode> {
    Opcode::from_u16(u16::from_be_bytes([*datagram.first()?, *datagram.get(1)?]))
}

/// The datagrams the sender sent with opcode `op`, to anyone.
pub fn sent_with(run: &Run, op: Opcode) -> impl Iterator<Item = &Vec<u8>> {
    run.sent
        .iter()
        .filter(move |(_, d)| opcode(d) == Some(op))
        .map(|(_, d)| d)
}

/// How many data slices the sender cut (as its DATA datagrams number them).
pub fn data_slices(run: &Run) -> usize {
    let mut slices: Vec<u32> = sent_with(run, Opcode::Data)
        .map(|d| u32::from_be_bytes(d[4..8].try_into().unwrap()))
        .collect();
    slices.dedup();
    slices.len()
}

/// The length of every REQACK the sender sent: longer than udpcast's when it carries a
/// trailer.
pub fn reqack_sizes(run: &Run) -> Vec<usize> {
    sent_with(run, Opcode::Reqack).map(Vec::len).collect()
}

/// The CONNECT_REPLYs the sender sent to receiver `i`.
pub fn replies_to<'r>(run: &'r Run, peers: &[Peer], i: usize) -> Vec<&'r Vec<u8>> {
    run.sent
        .iter()
        .filter(|(to, d)| *to.ip() == peers[i].ip && opcode(d) == Some(Opcode::ConnectReply))
        .map(|(_, d)| d)
        .collect()
}

/// The trailer after a REQACK's fixed part, if it has a valid one.
pub fn trailer_of_reqack(datagram: &[u8]) -> Option<Trailer<'_>> {
    Trailer::parse(trailing_bytes(datagram, Reqack::LEN))
        .ok()
        .flatten()
}

/// A REQACK as the sender would build it, with `records` as its trailer.
pub fn reqack_with(slice: u32, bytes: u32, rxmit: u32, records: &[Record<'_>]) -> Vec<u8> {
    let ready = Bitmap1024::new();
    let mut buf = vec![0u8; 512];
    let len = Reqack {
        slice,
        bytes,
        rxmit,
        ready: &ready,
    }
    .encode(&mut buf)
    .unwrap();
    let mut writer = TrailerWriter::new(&mut buf[len..]).unwrap();
    for record in records {
        writer.push(record).unwrap();
    }
    let n = writer.finish();
    buf.truncate(len + n);
    buf
}

/// A hook that rewrites the REQACKs `f` returns a replacement for.
pub fn rewrite_reqacks(mut f: impl FnMut(&Reqack<'_>, &[u8]) -> Option<Vec<u8>> + 'static) -> Hook {
    Box::new(move |d: &[u8]| {
        if let Ok(Message::Reqack(reqack)) = Message::parse(d) {
            if let Some(replacement) = f(&reqack, d) {
                return vec![replacement];
            }
        }
        vec![d.to_vec()]
    })
}
