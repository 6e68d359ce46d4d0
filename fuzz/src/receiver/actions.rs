//! The script of `receiver`: the actions that follow the header, decoded from the fuzz
//! input, and the addresses datagrams come from.

use super::{Harness, OTHER_RECEIVER, ROGUE, SENDER, WRONG_PORT};
use crate::input::Input;
use std::net::SocketAddrV4;
use udpcast_core::time::Duration;

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

impl Harness<'_> {
    pub(super) fn step(&mut self, input: &mut Input<'_>) {
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
                input.mutate(&mut datagram);
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
}

fn from_address(sel: u8) -> SocketAddrV4 {
    match sel {
        0..=223 => SENDER,
        224..=235 => ROGUE,
        236..=247 => OTHER_RECEIVER,
        _ => WRONG_PORT,
    }
}
