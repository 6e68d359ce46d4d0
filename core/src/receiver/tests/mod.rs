//! The receiver's rules one by one (PROTOCOL.md §4), driven with scripted datagrams and a
//! fake clock. Blocks are 8 bytes so that whole slices fit in a few kilobytes. This module
//! holds what every group of rules shares.

mod discovery;
mod fec;
mod limits;
mod transfer;

use super::*;
use crate::fec::{Encoder, FecConfig, Kernel};
use crate::time::Duration;
use crate::wire::{ConnectReply, Data, Fec, Hello, HelloKind};
use core::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 11);
const BCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);
const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 1), 9001);
const GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);
const BS: usize = 8;
const STORAGE: usize = SLOTS * 64 * BS;

fn t(ms: u64) -> Instant {
    Instant(ms * 1000)
}

fn config() -> ReceiverConfig {
    let mut config = ReceiverConfig::new(ME, BCAST);
    config.receive_buffer = 212_992;
    config
}

type Sent = heapless::Vec<(SocketAddrV4, heapless::Vec<u8, 144>), 32>;

fn sent(rx: &mut Receiver) -> Sent {
    let mut out = Sent::new();
    let mut buf = [0u8; 144];
    while let Some(tx) = rx.poll_transmit(&mut buf) {
        out.push((
            tx.destination,
            heapless::Vec::from_slice(&buf[..tx.len]).unwrap(),
        ))
        .unwrap();
    }
    out
}

fn events(rx: &mut Receiver) -> heapless::Vec<Event, 16> {
    let mut out = heapless::Vec::new();
    while let Some(e) = rx.poll_event() {
        out.push(e).unwrap();
    }
    out
}

fn feed(rx: &mut Receiver, now: Instant, message: Message) {
    let mut buf = [0u8; 256];
    let len = message.encode(&mut buf).unwrap();
    rx.handle_datagram(now, SENDER, &buf[..len]);
}

fn reply(client: Option<u16>) -> Message<'static> {
    Message::ConnectReply(ConnectReply {
        client_number: client,
        block_size: BS as u32,
        capabilities: Capabilities::SENDER,
        data_address: GROUP,
    })
}

fn hello(capabilities: Capabilities, kind: HelloKind) -> Message<'static> {
    Message::Hello(Hello {
        kind,
        capabilities,
        data_address: GROUP,
        block_size: BS as u16,
    })
}

fn data(slice: u32, block: u16, stream: &[u8]) -> Message<'_> {
    let start = usize::from(block) * BS;
    Message::Data(Data {
        slice,
        block,
        bytes: stream.len() as u32,
        payload: &stream[start..(start + BS).min(stream.len())],
    })
}

fn reqack(slice: u32, bytes: u32, rxmit: u32, ready: &Bitmap1024) -> Message<'_> {
    Message::Reqack(Reqack {
        slice,
        bytes,
        rxmit,
        ready,
    })
}

fn opcode_of(datagram: &[u8]) -> crate::wire::Opcode {
    Message::parse(datagram).unwrap().opcode()
}

/// A connected receiver (client #3), its initial CONNECT_REQ and events drained.
fn connected(storage: &mut [u8], config: ReceiverConfig) -> Receiver<'_> {
    let mut rx = Receiver::new(config, storage, t(0));
    feed(&mut rx, t(1), reply(Some(3)));
    sent(&mut rx);
    events(&mut rx);
    rx
}

fn drain_output(rx: &mut Receiver, out: &mut heapless::Vec<u8, 4096>) {
    loop {
        let bytes = rx.output();
        if bytes.is_empty() {
            return;
        }
        out.extend_from_slice(bytes).unwrap();
        let n = bytes.len();
        rx.consume_output(n);
    }
}

fn pattern(len: usize, seed: u8) -> heapless::Vec<u8, 4096> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}
