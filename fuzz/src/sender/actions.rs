//! The script of `sender`: the header that configures the sender, and the actions that
//! follow it, decoded from the fuzz input.

use super::peer::signal;
use super::{Harness, BCAST, GROUP, ME};
use crate::input::Input;
use udpcast_core::extension::{Identity, StreamName};
use udpcast_core::sender::{Duplex, FecParams, PointToPoint, SenderConfig};
use udpcast_core::time::Duration;
use udpcast_core::wire::Message;

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

pub(super) fn setup(input: &mut Input<'_>) -> (SenderConfig, Option<Identity>) {
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
    pub(super) fn step(&mut self, input: &mut Input<'_>) {
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
                input.mutate(&mut datagram);
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
}
