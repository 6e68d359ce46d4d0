//! The receiver's rules one by one (PROTOCOL.md §4), driven with scripted datagrams and a
//! fake clock. Blocks are 8 bytes so that whole slices fit in a few kilobytes.

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

#[test]
fn first_connect_req_goes_to_the_rendezvous_at_p_plus_1_with_capabilities_and_rcvbuf() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    let out = sent(&mut rx);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, SocketAddrV4::new(BCAST, 9001));
    // Capabilities 0x40000009: udpcast's 0x09 plus the verified-transfers bit, which a
    // udpcast sender ANDs away (doc/verified-transfers.md §2).
    assert_eq!(
        &out[0].1[..],
        &[0, 3, 0, 0, 0x40, 0, 0, 9, 0, 3, 0x40, 0][..]
    );
    let mut plain = config();
    plain.verify = false;
    let mut rx = Receiver::new(plain, &mut storage, t(0));
    assert_eq!(
        &sent(&mut rx)[0].1[..],
        &[0, 3, 0, 0, 0, 0, 0, 9, 0, 3, 0x40, 0][..]
    );
}

#[test]
fn a_buffer_too_short_for_the_largest_datagram_gets_nothing_and_loses_nothing() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    let mut buf = [0u8; 256];
    let room = rx.max_datagram_len();
    assert!(rx.poll_transmit(&mut buf[..room - 1]).is_none());
    let transmit = rx
        .poll_transmit(&mut buf[..room])
        .expect("the CONNECT_REQ, still due");
    assert_eq!(transmit.destination, SocketAddrV4::new(BCAST, 9001));
    assert_eq!(&buf[..2], &[0, 3]);
}

#[test]
fn an_unanswered_connect_req_is_repeated_every_second() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    assert_eq!(rx.poll_timeout(), Some(t(1000)));
    rx.handle_timeout(t(1000));
    assert_eq!(sent(&mut rx).len(), 1);
    assert_eq!(rx.poll_timeout(), Some(t(2000)));
}

#[test]
fn a_hello_is_answered_with_a_connect_req_sent_to_the_sender_itself() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(5), hello(Capabilities::SENDER, HelloKind::Hello));
    let out = sent(&mut rx);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, SENDER);
    assert_eq!(opcode_of(&out[0].1), crate::wire::Opcode::ConnectReq);
    rx.handle_timeout(t(1005));
    assert_eq!(sent(&mut rx)[0].0, SENDER, "retries follow the sender");
}

#[test]
fn connect_reply_connects_and_names_the_data_group_to_join() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(&mut rx, t(1), reply(Some(3)));
    let ev = events(&mut rx);
    let Event::Connected(c) = ev[0] else { panic!() };
    assert_eq!(c.client_number, 3);
    assert_eq!(c.sender, SENDER);
    assert_eq!(c.join_group, Some(GROUP));
    assert_eq!(c.block_size, BS as u32);
    assert!(!c.passive && !c.waits_for_key);
    assert_eq!(
        rx.poll_timeout(),
        None,
        "no more CONNECT_REQ once connected"
    );
}

#[test]
fn a_refusal_fails_with_refused() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(1), reply(None));
    assert_eq!(events(&mut rx)[..], [Event::Failed(ReceiverError::Refused)]);
    assert!(sent(&mut rx).is_empty(), "never connected: no DISCONNECT");
    assert!(rx.is_closed());
}

#[test]
fn an_async_hello_makes_the_receiver_passive_and_connected_as_client_0() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    feed(
        &mut rx,
        t(1),
        hello(Capabilities::SENDER_ASYNC, HelloKind::Hello),
    );
    let Event::Connected(c) = events(&mut rx)[0] else {
        panic!()
    };
    assert!(c.passive);
    assert_eq!(c.client_number, 0);
    assert!(sent(&mut rx).is_empty(), "a passive receiver does not ask");
}

#[test]
fn a_reqack_for_a_running_transfer_during_discovery_is_another_transfer() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    let ready = Bitmap1024::new();
    feed(&mut rx, t(1), reqack(7, 800, 0, &ready));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::OtherTransferInProgress(
            crate::wire::Opcode::Reqack
        ))]
    );
}

#[test]
fn a_key_press_sends_go_once_when_connected_and_waiting() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.keyboard = true;
    let mut rx = Receiver::new(cfg, &mut storage, t(0));
    rx.handle_key(t(0));
    sent(&mut rx);
    assert!(events(&mut rx).is_empty(), "not connected yet: no GO");
    feed(&mut rx, t(1), reply(Some(0)));
    let Event::Connected(c) = events(&mut rx)[0] else {
        panic!()
    };
    assert!(c.waits_for_key);
    rx.handle_key(t(2));
    rx.handle_key(t(3));
    let out = sent(&mut rx);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, &out[0].1[..]), (SENDER, &[0, 2, 0, 0][..]));
}

#[test]
fn a_whole_transfer_is_written_in_order_and_ends_with_disconnect_after_exit_wait() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(5 * BS, 1);
    let b = pattern(3, 2); // the short tail travels alone
    let empty = Bitmap1024::new();
    let mut out = heapless::Vec::new();
    for block in (0..5).rev() {
        feed(&mut rx, t(10), data(0, block, &a));
    }
    assert_eq!(events(&mut rx)[..], [Event::Started]);
    feed(&mut rx, t(11), data(1, 0, &b));
    feed(&mut rx, t(12), reqack(0, a.len() as u32, 0, &empty));
    feed(&mut rx, t(13), reqack(1, b.len() as u32, 0, &empty));
    let out_msgs = sent(&mut rx);
    assert_eq!(&out_msgs[0].1[..], &[0, 0, 0, 0, 0, 0, 0, 0][..]);
    assert_eq!(&out_msgs[1].1[..], &[0, 0, 0, 0, 0, 0, 0, 1][..]);
    drain_output(&mut rx, &mut out);
    feed(&mut rx, t(14), reqack(2, 0, 0, &empty));
    assert_eq!(opcode_of(&sent(&mut rx)[0].1), crate::wire::Opcode::Ok);
    assert_eq!(rx.poll_timeout(), Some(t(514)));
    rx.handle_timeout(t(514));
    assert_eq!(events(&mut rx)[..], [Event::Finished]);
    assert_eq!(&sent(&mut rx)[0].1[..], &[0, 4, 0, 0][..]);
    assert_eq!(&out[..5 * BS], &a[..]);
    assert_eq!(&out[5 * BS..], &b[..]);
    assert!(rx.is_finished());
}

#[test]
fn finishing_waits_until_every_byte_was_handed_out() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(2 * BS, 1);
    let empty = Bitmap1024::new();
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(0, 1, &a));
    feed(&mut rx, t(11), reqack(1, 0, 0, &empty));
    rx.handle_timeout(t(600));
    assert!(!rx.is_finished());
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    assert!(rx.is_finished());
    assert_eq!(out, a);
}

#[test]
fn a_reqack_for_an_incomplete_slice_gets_the_received_bitmap() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(12 * BS, 1);
    for block in [0, 1, 3, 4, 5, 6, 7, 8, 9, 11] {
        feed(&mut rx, t(10), data(0, block, &a));
    }
    feed(
        &mut rx,
        t(11),
        reqack(0, a.len() as u32, 4, &Bitmap1024::new()),
    );
    let out = sent(&mut rx);
    let Ok(Message::Retransmit(r)) = Message::parse(&out[0].1) else {
        panic!()
    };
    assert_eq!((r.slice, r.rxmit), (0, 4));
    assert_eq!(r.received.as_bytes()[..2], [0b1111_1011, 0b0000_1011]);
    assert!(r.received.as_bytes()[2..].iter().all(|&b| b == 0));
    // The missing blocks arrive: the next REQACK round gets OK.
    feed(&mut rx, t(12), data(0, 2, &a));
    feed(&mut rx, t(12), data(0, 10, &a));
    feed(
        &mut rx,
        t(13),
        reqack(0, a.len() as u32, 5, &Bitmap1024::new()),
    );
    assert_eq!(opcode_of(&sent(&mut rx)[0].1), crate::wire::Opcode::Ok);
}

#[test]
fn each_retransmit_request_counts_the_blocks_it_asks_for() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(12 * BS, 1);
    for block in [0, 1, 3, 4, 5, 6, 7, 8, 9, 11] {
        feed(&mut rx, t(10), data(0, block, &a));
    }
    let none = Bitmap1024::new();
    feed(&mut rx, t(11), reqack(0, a.len() as u32, 0, &none));
    // Block 2 arrives; block 10 is asked for again in the next round.
    feed(&mut rx, t(12), data(0, 2, &a));
    feed(&mut rx, t(13), reqack(0, a.len() as u32, 1, &none));
    let stats = rx.stats();
    assert_eq!((stats.retransmit_requests, stats.blocks_requested), (2, 3));
}

#[test]
fn a_reqack_listing_us_as_ready_is_ignored() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let mut ready = Bitmap1024::new();
    ready.insert(3);
    feed(&mut rx, t(10), reqack(0, 80, 1, &ready));
    assert!(sent(&mut rx).is_empty());
}

#[test]
fn a_reqack_for_a_slice_already_written_is_answered_ok() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    feed(&mut rx, t(11), reqack(0, BS as u32, 3, &Bitmap1024::new()));
    assert_eq!(&sent(&mut rx)[0].1[..], &[0, 0, 0, 0, 0, 0, 0, 0][..]);
}

#[test]
fn datagrams_from_anyone_but_the_sender_are_rogue_during_the_transfer() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(BS, 1);
    let mut buf = [0u8; 64];
    let len = data(0, 0, &a).encode(&mut buf).unwrap();
    let impostor = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 99), 9001);
    rx.handle_datagram(t(10), impostor, &buf[..len]);
    rx.handle_datagram(t(10), SocketAddrV4::new(*SENDER.ip(), 9002), &buf[..len]);
    rx.handle_datagram(t(10), SENDER, &[0xde, 0xad]);
    assert!(rx.output().is_empty());
    assert_eq!(rx.stats().rogue_datagrams, 1);
    assert_eq!(rx.stats().malformed_datagrams, 1);
}

#[test]
fn data_with_the_wrong_length_for_its_block_is_dropped() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(2 * BS, 1);
    let bad = Message::Data(Data {
        slice: 0,
        block: 0,
        bytes: a.len() as u32,
        payload: &a[..BS - 1],
    });
    feed(&mut rx, t(10), bad);
    let beyond = Message::Data(Data {
        slice: 0,
        block: 2,
        bytes: a.len() as u32,
        payload: &a[..BS],
    });
    feed(&mut rx, t(10), beyond);
    assert_eq!(rx.stats().malformed_datagrams, 2);
    assert_eq!(rx.stats().data_blocks, 0);
}

#[test]
fn a_slice_two_ahead_of_an_incomplete_one_means_we_were_dropped() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(2 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(1, 0, &a));
    feed(&mut rx, t(10), data(2, 0, &a));
    let ev = events(&mut rx);
    assert_eq!(
        ev.last(),
        Some(&Event::Failed(ReceiverError::DroppedBySender {
            slice: 2,
            incomplete: 0
        }))
    );
    assert_eq!(
        &sent(&mut rx)[0].1[..],
        &[0, 4, 0, 0][..],
        "DISCONNECT on the way out"
    );
}

#[test]
fn ignore_lost_data_writes_zeros_for_lost_blocks_and_goes_on() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.ignore_lost_data = true;
    let mut rx = connected(&mut storage, cfg);
    let a = pattern(2 * BS, 1);
    let b = pattern(2 * BS, 2);
    let c = pattern(2 * BS, 3);
    feed(&mut rx, t(10), data(0, 1, &a));
    feed(&mut rx, t(10), data(1, 0, &b));
    feed(&mut rx, t(10), data(1, 1, &b));
    feed(&mut rx, t(10), data(2, 0, &c));
    feed(&mut rx, t(10), data(2, 1, &c));
    let ev = events(&mut rx);
    assert!(ev.contains(&Event::LostData {
        slice: 0,
        blocks: 1
    }));
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    assert_eq!(&out[..BS], &[0; BS]);
    assert_eq!(&out[BS..2 * BS], &a[BS..]);
    assert_eq!(&out[2 * BS..4 * BS], &b[..]);
    assert_eq!(&out[4 * BS..], &c[..]);
    assert_eq!(rx.stats().lost_blocks, 1);
}

#[test]
fn two_byte_counts_for_one_slice_are_fatal() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(2 * BS, 1);
    let b = pattern(3 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(0, 1, &b));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::ByteCountMismatch {
            slice: 0,
            first: 16,
            second: 24
        }))
    );
}

#[test]
fn only_the_last_data_slice_may_end_in_a_partial_block() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let short = pattern(BS + 3, 1);
    let a = pattern(BS, 2);
    feed(&mut rx, t(10), data(0, 0, &short));
    feed(&mut rx, t(10), data(1, 0, &a));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::BadBase { slice: 0 }))
    );
}

#[test]
fn without_a_sender_the_start_timeout_fails_with_no_sender() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.start_timeout = Some(Duration::from_millis(2500));
    let mut rx = Receiver::new(cfg, &mut storage, t(0));
    for ms in [1000, 2000] {
        rx.handle_timeout(t(ms));
    }
    assert!(events(&mut rx).is_empty());
    assert_eq!(rx.poll_timeout(), Some(t(2500)));
    rx.handle_timeout(t(2500));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::NoSender)]
    );
}

#[test]
fn a_start_timeout_after_connecting_fails_and_says_goodbye() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.start_timeout = Some(Duration::from_secs(3));
    let mut rx = connected(&mut storage, cfg);
    assert_eq!(rx.poll_timeout(), Some(t(3001)));
    rx.handle_timeout(t(3001));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::NotStarted)]
    );
    assert_eq!(&sent(&mut rx)[0].1[..], &[0, 4, 0, 0][..]);
}

#[test]
fn a_silent_sender_trips_the_receive_timeout_once_data_flows() {
    let mut storage = [0u8; STORAGE];
    let mut cfg = config();
    cfg.receive_timeout = Some(Duration::from_secs(2));
    let mut rx = connected(&mut storage, cfg);
    assert_eq!(rx.poll_timeout(), None, "only once data flows");
    let a = pattern(3 * BS, 1);
    feed(&mut rx, t(100), data(0, 0, &a));
    feed(&mut rx, t(900), data(0, 1, &a));
    assert_eq!(rx.poll_timeout(), Some(t(2900)));
    rx.handle_timeout(t(2900));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::ReceiveTimeout))
    );
}

#[test]
fn a_slice_larger_than_a_storage_slot_is_refused_with_a_typed_error() {
    let mut storage = [0u8; SLOTS * 4 * BS];
    let mut rx = connected(&mut storage, config());
    let a = pattern(5 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::SliceTooLarge {
            slice: 0,
            blocks: 5,
            capacity: 4
        }))
    );
}

#[test]
fn a_block_size_the_storage_cannot_hold_fails_at_connect() {
    let mut storage = [0u8; SLOTS * BS - 1];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(&mut rx, t(1), reply(Some(0)));
    assert_eq!(
        events(&mut rx)[..],
        [Event::Failed(ReceiverError::UnsupportedBlockSize(
            BS as u32
        ))]
    );
}

/// Sends a slice of `n` blocks with FEC `stripes × redundancy`, losing the data blocks in
/// `lost`, in the given order (FEC first or data first), and returns what was written.
fn fec_transfer(
    n: usize,
    stripes: usize,
    redundancy: usize,
    lost: &[usize],
    fec_first: bool,
) -> bool {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let stream = pattern(n * BS - 3, 7);
    let config = FecConfig::new(stripes, redundancy, BS).unwrap();
    let encoder = Encoder::new(config, Kernel::scalar());
    let mut fec = [0u8; 64 * BS];
    let fec = &mut fec[..stripes * redundancy * BS];
    encoder.encode_slice(&stream, fec).unwrap();
    let send_fec = |rx: &mut Receiver| {
        for b in 0..stripes * redundancy {
            let m = Message::Fec(Fec {
                stripes: stripes as u16,
                slice: 0,
                block: b as u16,
                bytes: stream.len() as u32,
                payload: &fec[b * BS..(b + 1) * BS],
            });
            feed(rx, t(20), m);
        }
    };
    if fec_first {
        send_fec(&mut rx);
    }
    for block in (0..n).filter(|b| !lost.contains(b)) {
        feed(&mut rx, t(10), data(0, block as u16, &stream));
    }
    if !fec_first {
        send_fec(&mut rx);
    }
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    out == stream
}

#[test]
fn fec_rebuilds_up_to_redundancy_lost_blocks_per_stripe_in_any_arrival_order() {
    let mut seed = 0x9e37_79b9u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize
    };
    for round in 0..300 {
        let stripes = 1 + next() % 4;
        let redundancy = 1 + next() % 3;
        let n = 1 + next() % 24;
        let mut lost = heapless::Vec::<usize, 64>::new();
        for s in 0..stripes {
            let cells: heapless::Vec<usize, 64> = (s..n).step_by(stripes).collect();
            let k = next() % (redundancy.min(cells.len()) + 1);
            for i in 0..k {
                let cell = cells[(i + next()) % cells.len()];
                if !lost.contains(&cell) {
                    lost.push(cell).unwrap();
                }
            }
        }
        for fec_first in [false, true] {
            assert!(
                fec_transfer(n, stripes, redundancy, &lost, fec_first),
                "round {round}: n={n} {stripes}x{redundancy} lost={lost:?} fec_first={fec_first}"
            );
        }
    }
}

#[test]
fn a_stripe_missing_more_blocks_than_its_redundancy_stays_incomplete() {
    assert!(!fec_transfer(8, 2, 1, &[0, 2], false));
}

#[test]
fn a_streaming_joiner_drops_an_incomplete_slice_when_a_newer_one_starts() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(
        &mut rx,
        t(1),
        hello(Capabilities::SENDER_ASYNC, HelloKind::Streaming),
    );
    let Event::Connected(c) = events(&mut rx)[0] else {
        panic!()
    };
    assert!(c.streaming && c.passive);
    let a = pattern(3 * BS, 1);
    let b = pattern(2 * BS, 2);
    feed(&mut rx, t(10), data(5, 2, &a)); // joined in the middle of slice 5
    feed(&mut rx, t(11), data(6, 0, &b));
    feed(&mut rx, t(11), data(6, 1, &b));
    feed(&mut rx, t(12), reqack(7, 0, 0, &Bitmap1024::new()));
    let mut out = heapless::Vec::new();
    drain_output(&mut rx, &mut out);
    assert_eq!(out, b);
    rx.handle_timeout(t(600));
    assert!(rx.is_finished());
}

#[test]
fn a_passive_receiver_fails_at_the_end_marker_if_a_slice_is_still_incomplete() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    feed(
        &mut rx,
        t(1),
        hello(Capabilities::SENDER_ASYNC, HelloKind::Hello),
    );
    let a = pattern(2 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(11), reqack(1, 0, 0, &Bitmap1024::new()));
    assert_eq!(
        events(&mut rx).last(),
        Some(&Event::Failed(ReceiverError::DroppedBySender {
            slice: 1,
            incomplete: 0
        }))
    );
}

#[test]
fn stored_data_blocks_are_counted_once() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let a = pattern(3 * BS, 1);
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(0, 0, &a));
    feed(&mut rx, t(10), data(0, 2, &a));
    assert_eq!(rx.stats().data_blocks, 2);
}
