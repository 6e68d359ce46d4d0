//! Builders of `authenticated` inputs, for the seed corpus and the tests.

use crate::input::Script;
use std::net::Ipv4Addr;
use udpcast_core::wire::{Capabilities, Hello, HelloKind};

/// A decoder input: `raw` as the arbitrary datagram, then `message` sealed (`flags` bit 0:
/// by a receiver, bit 1: with a reply nonce) into a buffer with `room` bytes after it,
/// `edits` of the sealed datagram (their count, then each as `mutations` reads it), and
/// counters for the replay window around its edges.
pub fn decoders(raw: &[u8], flags: u8, message: &[u8], room: u8, edits: &[u8]) -> Vec<u8> {
    let mut s = Script::new();
    s.u8(0).u64(0x5e55_1011).short_bytes(b"sixteen byte key");
    s.long_bytes(raw).u64(0x0a0b_0c0d).u64(0x5e55_1011);
    s.u8(flags)
        .u64(7)
        .long_bytes(message)
        .u8(room)
        .u8(3)
        .bytes(edits);
    for counter in [1, 3, 2, 2, 200, 72, 73, 201] {
        s.u8(2).u64(counter);
    }
    s.u8(0).u8(128).u8(0).u8(127);
    s.into_bytes()
}

/// The session id and receiver nonce every session seed uses.
pub const SESSION: u64 = 0x5e55_1011_2233_4455;
pub const NONCE: u64 = 0x0a0b_0c0d;

/// A session input: `mode` (0 full duplex, 1 half duplex, 2 FEC, 3 async FEC, 4 async),
/// block size (4–64), largest slice (1–64), stream length, then the forger's actions.
pub fn session(mode: u8, block_size: u8, max_slice: u8, len: u16, actions: &[Action]) -> Vec<u8> {
    let mut s = Script::new();
    s.u8(mode + 1)
        .u8(block_size / 4 - 1)
        .u8(max_slice - 1)
        .u16(len)
        .u16(7);
    s.u64(SESSION).u64(NONCE);
    for a in actions {
        s.u16(a.after).u8(a.kind).bytes(&a.fields);
    }
    s.into_bytes()
}

/// One action of the forger, taken after the genuine datagram `after` (both directions
/// counted from 0).
#[derive(Clone, Debug)]
pub struct Action {
    after: u16,
    kind: u8,
    fields: Vec<u8>,
}

/// Whom an injection goes to: `kind` offsets of `read_actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    Receiver = 1,
    Sender = 7,
}

impl Action {
    fn new(after: u16, to: To, offset: u8, fields: Script) -> Self {
        let kind = to as u8 + offset;
        let fields = fields.into_bytes();
        Action {
            after,
            kind,
            fields,
        }
    }

    /// The genuine datagram `after` is lost.
    pub fn drop(after: u16) -> Self {
        let fields = Vec::new();
        Action {
            after,
            kind: 0,
            fields,
        }
    }

    /// `bytes`, with a trailer of our session and a made-up tag if `tag` is given.
    pub fn raw(after: u16, to: To, bytes: &[u8], tag: Option<(u64, [u8; 16])>) -> Self {
        let mut s = Script::new();
        s.short_bytes(bytes).u8(u8::from(tag.is_some()));
        if let Some((counter, tag)) = tag {
            s.u64(counter).bytes(&tag);
        }
        Action::new(after, to, 0, s)
    }

    /// The genuine datagram `back` before the latest of the kind, XORed with `xor` at
    /// `at`, then cut by `resize` bytes (1–127) or extended by `resize - 127` (128–255).
    pub fn mutated(after: u16, to: To, back: u8, at: u16, xor: &[u8], resize: u8) -> Self {
        let mut s = Script::new();
        s.u8(back)
            .u16(at)
            .u8(xor.len() as u8 - 1)
            .bytes(xor)
            .u8(resize);
        Action::new(after, to, 1, s)
    }

    /// The genuine datagram `back` before the latest of the kind, again.
    pub fn replayed(after: u16, to: To, back: u8) -> Self {
        let mut s = Script::new();
        s.u8(back);
        Action::new(after, to, 2, s)
    }

    /// The genuine datagram `back` before the latest the peer itself sent, sent back.
    pub fn reflected(after: u16, to: To, back: u8) -> Self {
        let mut s = Script::new();
        s.u8(back);
        Action::new(after, to, 3, s)
    }

    /// A message (the genuine one `Ok(back)` before the latest, or these bytes) sealed under
    /// `session` with another key (`other_key`) or with ours.
    pub fn sealed(
        after: u16,
        to: To,
        other_key: bool,
        message: Result<u8, &[u8]>,
        session: u64,
        counter: u64,
    ) -> Self {
        let mut s = Script::new();
        match message {
            Ok(back) => s.u8(back << 1 | 1),
            Err(bytes) => s.u8(0).short_bytes(bytes),
        };
        s.u64(session).u64(counter);
        Action::new(after, to, if other_key { 4 } else { 5 }, s)
    }
}

/// A HELLO of 64-byte blocks with these capabilities.
pub fn hello(capabilities: Capabilities) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let hello = Hello {
        kind: HelloKind::Hello,
        capabilities,
        data_address: Ipv4Addr::new(234, 66, 0, 1),
        block_size: 64,
    };
    let len = hello.encode(&mut buf).expect("fits");
    buf[..len].to_vec()
}

/// Forgeries that every peer must refuse, whatever state it is in, a few of each kind.
pub fn refused_forgeries() -> Vec<Action> {
    let plain = hello(Capabilities::SENDER);
    let mut out = Vec::new();
    for (i, to) in [(0u16, To::Receiver), (1, To::Sender)] {
        for after in [i, 3 + i, 12 + i, 30 + i] {
            out.extend([
                Action::raw(after, to, &plain, None),
                Action::raw(after, to, &plain, Some((99, [7; 16]))),
                Action::mutated(after, to, 0, 1, &[0x04], 0),
                Action::mutated(after, to, 1, 500, &[0xff, 1], 0),
                Action::mutated(after, to, 0, 0, &[0], 1),
                Action::mutated(after, to, 0, 0, &[0], 200),
                Action::reflected(after, to, 0),
                Action::sealed(after, to, true, Ok(0), SESSION, 1 << 40),
                Action::sealed(after, to, true, Err(&plain), 0, 5),
            ]);
        }
    }
    // Another session under our key, in messages no receiver takes from it.
    out.push(Action::sealed(5, To::Receiver, false, Ok(0), 77, 1 << 40));
    out.push(Action::sealed(6, To::Sender, false, Ok(0), 77, 1 << 40));
    out
}
