//! The receivers `sender`'s script speaks for: the datagrams they send, built from the
//! input and from what the sender has sent so far.

use super::{client_address, Harness, CLIENTS};
use crate::input::Input;
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::extension::VERIFIED;
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReq, Message, Retransmit, SliceOk, SIGNAL_LEN,
};

impl Harness<'_> {
    pub(super) fn pick_client(&mut self, input: &mut Input<'_>) -> SocketAddrV4 {
        let i = input.below(CLIENTS + 1);
        if i < CLIENTS {
            client_address(i)
        } else {
            SocketAddrV4::new(Ipv4Addr::from(input.u32()), input.u16())
        }
    }

    pub(super) fn connect_req(&mut self, input: &mut Input<'_>) -> (SocketAddrV4, Vec<u8>) {
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

    pub(super) fn ok(&mut self, input: &mut Input<'_>) -> Vec<u8> {
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

    pub(super) fn retransmit(&mut self, input: &mut Input<'_>) -> Vec<u8> {
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
    pub(super) fn answer_all(&mut self, retransmitters: u8, missing: u8) {
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
}

pub(super) fn signal(message: Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; SIGNAL_LEN];
    message.encode(&mut buf).expect("fits");
    buf
}
