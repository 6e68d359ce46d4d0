//! The sender's rules one by one (PROTOCOL.md §3), driven with scripted datagrams and a
//! fake clock.

use super::*;
use crate::wire::{Bitmap1024, ConnectReq, SliceOk};
use core::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
const BCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);
const GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);
const RX: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 11), 9000);

fn config() -> SenderConfig {
    SenderConfig::new(ME, BCAST, GROUP)
}

fn t(ms: u64) -> Instant {
    Instant(ms * 1000)
}

fn connect(tx: &mut Sender, now: Instant, from: SocketAddrV4) {
    let mut buf = [0u8; 16];
    let len = ConnectReq {
        capabilities: Capabilities::RECEIVER,
        receive_buffer: 0,
    }
    .encode(&mut buf)
    .unwrap();
    tx.handle_datagram(now, from, &buf[..len]);
}

/// Every datagram the sender sends from `now` on, answering each REQACK with OK from `RX`
/// and feeding `input`; stops when nothing more comes out at `now`.
fn drain(
    tx: &mut Sender,
    now: Instant,
    input: &mut &[u8],
    out: &mut heapless::Vec<(u16, u32, u32), 64>,
) {
    let mut buf = [0u8; 1600];
    for _ in 0..10_000 {
        let room = tx.input_buffer();
        let n = room.len().min(input.len());
        room[..n].copy_from_slice(&input[..n]);
        tx.input_written(n);
        *input = &input[n..];
        if input.is_empty() {
            tx.input_end();
        }
        let Some(tr) = tx.poll_transmit(now, &mut buf) else {
            return;
        };
        match Message::parse(&buf[..tr.len]).unwrap() {
            Message::Reqack(r) => {
                let _ = out.push((6, r.slice, r.bytes));
                let mut ok = [0u8; 8];
                SliceOk { slice: r.slice }.encode(&mut ok).unwrap();
                tx.handle_datagram(now, RX, &ok);
            }
            Message::Data(d) if d.block == 0 => {
                let _ = out.push((8, d.slice, d.bytes));
            }
            _ => {}
        }
    }
}

/// Small blocks and slices, so that the storage fits on a test's stack.
fn small() -> SenderConfig {
    let mut c = config();
    c.block_size = 64;
    c.max_slice_size = 64;
    c.min_receivers = 1;
    c
}

const STORAGE: usize = 3 * 64 * 64;

#[test]
fn the_first_hello_is_05_00_and_announces_the_data_group_with_zeros_elsewhere() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    let mut buf = [0xAAu8; 1600];
    let tr = tx.poll_transmit(t(0), &mut buf).unwrap();
    assert_eq!(tr.destination, SocketAddrV4::new(BCAST, 9000));
    assert_eq!(
        &buf[..tr.len],
        &[5, 0, 0, 0, 0, 0, 0, 9, 234, 66, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0][..]
    );
}

#[test]
fn a_refusal_for_pacing_always_leaves_a_deadline() {
    let mut c = small();
    c.max_bitrate = Some(1_000_000);
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    let mut buf = [0u8; 1600];
    // The bucket starts empty: the HELLO must wait, and the wait must be reported even
    // when asked after it is over (a caller would otherwise sleep without a deadline).
    assert!(tx.poll_transmit(t(0), &mut buf).is_none());
    let deadline = tx
        .poll_timeout(t(5))
        .expect("a deadline after a pacing refusal");
    assert!(deadline > t(0));
    assert!(
        tx.poll_transmit(deadline, &mut buf).is_some(),
        "deadline {deadline:?}"
    );
}

#[test]
fn a_slice_is_block_aligned_the_short_tail_travels_alone_and_a_zero_byte_slice_ends() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    connect(&mut tx, t(1), RX);
    tx.handle_key(t(2));
    let data = [7u8; 64 * 64 + 64 * 3 + 5];
    let mut input = &data[..];
    let mut out = heapless::Vec::new();
    drain(&mut tx, t(3), &mut input, &mut out);
    // Full duplex starts with 112-block slices, capped here at 64 blocks of 64 bytes.
    let slices: heapless::Vec<(u16, u32, u32), 64> =
        out.iter().copied().filter(|e| e.0 == 6).collect();
    assert_eq!(
        &slices[..],
        &[(6, 0, 4096), (6, 1, 192), (6, 2, 5), (6, 3, 0)][..]
    );
    assert!(tx.is_finished());
}

#[test]
fn a_connect_req_gets_a_reply_with_its_client_number_and_a_repeat_the_same_number() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    let mut buf = [0u8; 1600];
    tx.poll_transmit(t(0), &mut buf).unwrap(); // the HELLO
    let other = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000);
    for from in [RX, other, RX] {
        connect(&mut tx, t(1), from);
    }
    let mut numbers = heapless::Vec::<Option<u16>, 4>::new();
    while let Some(tr) = tx.poll_transmit(t(1), &mut buf) {
        let Ok(Message::ConnectReply(r)) = Message::parse(&buf[..tr.len]) else {
            panic!()
        };
        numbers.push(r.client_number).unwrap();
    }
    assert_eq!(&numbers[..], &[Some(0), Some(1), Some(0)][..]);
    assert_eq!(tx.receivers(), 2);
}

#[test]
fn pointopoint_refuses_a_second_receiver_with_minus_1() {
    let mut c = small();
    c.pointopoint = PointToPoint::Always;
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    let mut buf = [0u8; 1600];
    tx.poll_transmit(t(0), &mut buf).unwrap();
    connect(&mut tx, t(1), RX);
    connect(
        &mut tx,
        t(1),
        SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000),
    );
    tx.poll_transmit(t(1), &mut buf).unwrap();
    let tr = tx.poll_transmit(t(1), &mut buf).unwrap();
    assert_eq!(&buf[4..8], &[0xff; 4], "{:?}", &buf[..tr.len]);
}

#[test]
fn min_receivers_starts_after_two_quiet_seconds() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    connect(&mut tx, t(1000), RX);
    // Wake-ups come every second for the repeated HELLO; the start waits for 2 s of quiet.
    let mut now = t(1000);
    let mut buf = [0u8; 1600];
    while !tx.is_transferring() {
        let at = tx.poll_timeout(now).unwrap();
        assert!(at <= t(3000), "no start by {at:?}");
        now = at;
        tx.handle_timeout(now);
        while tx.poll_transmit(now, &mut buf).is_some() {}
    }
    assert_eq!(now, t(3000));
}

#[test]
fn the_hello_is_repeated_every_second_while_negotiating() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    let mut buf = [0u8; 1600];
    let mut hellos = heapless::Vec::<Instant, 8>::new();
    let mut now = t(0);
    while now < t(3500) {
        while let Some(tr) = tx.poll_transmit(now, &mut buf) {
            if matches!(Message::parse(&buf[..tr.len]), Ok(Message::Hello(_))) {
                hellos.push(now).unwrap();
            }
        }
        now = tx.poll_timeout(now).unwrap_or(t(3500)).min(t(3500));
        tx.handle_timeout(now);
    }
    assert_eq!(hellos[..], [t(0), t(1000), t(2000), t(3000)]);
}

#[test]
fn starting_without_receivers_fails_in_synchronous_mode() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    tx.handle_key(t(1));
    assert_eq!(
        tx.poll_event(),
        Some(Event::Failed(SenderError::NoParticipants))
    );
}

/// What the sender emits at `now` (opcode, slice), without answering anything.
fn emitted(tx: &mut Sender, now: Instant, input: &mut &[u8]) -> heapless::Vec<(u16, u32), 256> {
    let mut out = heapless::Vec::new();
    let mut buf = [0u8; 1600];
    for _ in 0..1000 {
        let room = tx.input_buffer();
        let n = room.len().min(input.len());
        room[..n].copy_from_slice(&input[..n]);
        tx.input_written(n);
        *input = &input[n..];
        let Some(tr) = tx.poll_transmit(now, &mut buf) else {
            break;
        };
        let m = Message::parse(&buf[..tr.len]).unwrap();
        let slice = match m {
            Message::Data(d) => d.slice,
            Message::Reqack(r) => r.slice,
            _ => u32::MAX,
        };
        let _ = out.push((m.opcode().to_u16(), slice));
    }
    out
}

#[test]
fn the_next_slice_starts_only_once_every_receiver_has_answered_the_previous_one() {
    let mut storage = [0u8; STORAGE];
    let mut c = small();
    c.min_receivers = 2;
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    let other = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000);
    connect(&mut tx, t(1), RX);
    connect(&mut tx, t(1), other);
    tx.handle_key(t(2));
    let data = [1u8; 64 * 64 * 3];
    let mut input = &data[..];
    let first = emitted(&mut tx, t(3), &mut input);
    // Slice 0 goes out, then its REQACK; slice 1 waits for the answers.
    assert_eq!(first.last(), Some(&(6, 0)));
    assert!(first.iter().all(|&(_, s)| s == 0 || s == u32::MAX));
    let mut ok = [0u8; 8];
    SliceOk { slice: 0 }.encode(&mut ok).unwrap();
    tx.handle_datagram(t(4), RX, &ok);
    assert!(
        emitted(&mut tx, t(4), &mut input).is_empty(),
        "one receiver is not enough"
    );
    tx.handle_datagram(t(4), other, &ok);
    let next = emitted(&mut tx, t(4), &mut input);
    assert_eq!(next.first(), Some(&(8, 1)), "{next:?}");
}

#[test]
fn the_next_slice_overlaps_the_retransmissions_of_a_slice_everyone_has_seen() {
    let mut storage = [0u8; STORAGE];
    let mut c = small();
    c.min_receivers = 2;
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    let other = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000);
    connect(&mut tx, t(1), RX);
    connect(&mut tx, t(1), other);
    tx.handle_key(t(2));
    let data = [1u8; 64 * 64 * 3];
    let mut input = &data[..];
    emitted(&mut tx, t(3), &mut input);
    let mut ok = [0u8; 8];
    SliceOk { slice: 0 }.encode(&mut ok).unwrap();
    tx.handle_datagram(t(4), RX, &ok);
    let mut received = Bitmap1024::first_n(64);
    received.remove(5);
    let mut rexmit = [0u8; 140];
    crate::wire::Retransmit {
        slice: 0,
        rxmit: 0,
        received: &received,
    }
    .encode(&mut rexmit)
    .unwrap();
    tx.handle_datagram(t(4), other, &rexmit);
    let next = emitted(&mut tx, t(4), &mut input);
    // Block 5 again, the next round's REQACK, and slice 1 while slice 0 is still open.
    assert_eq!(&next[..2], &[(8, 0), (6, 0)], "{next:?}");
    assert!(
        next[2..].iter().all(|&e| e == (8, 1)) && next.len() > 2,
        "{next:?}"
    );
}

/// Polls everything the sender sends at `now`, feeding `input` (and its end); returns the
/// slices of the REQACKs among it.
fn reqacks(tx: &mut Sender, now: Instant, input: &mut &[u8]) -> heapless::Vec<u32, 64> {
    let mut out = heapless::Vec::new();
    let mut buf = [0u8; 1600];
    for _ in 0..1000 {
        let room = tx.input_buffer();
        let n = room.len().min(input.len());
        room[..n].copy_from_slice(&input[..n]);
        tx.input_written(n);
        *input = &input[n..];
        if input.is_empty() {
            tx.input_end();
        }
        let Some(tr) = tx.poll_transmit(now, &mut buf) else {
            break;
        };
        if let Ok(Message::Reqack(r)) = Message::parse(&buf[..tr.len]) {
            let _ = out.push(r.slice);
        }
    }
    out
}

fn send(tx: &mut Sender, now: Instant, from: SocketAddrV4, message: Message) {
    let mut buf = [0u8; 1600];
    let len = message.encode(&mut buf).unwrap();
    tx.handle_datagram(now, from, &buf[..len]);
}

fn record(tx: &Sender, client: u16) -> ReceiverRecord {
    tx.receiver_records()
        .find(|&(c, _)| c == client)
        .map(|(_, r)| r)
        .unwrap()
}

#[test]
fn a_receiver_that_acknowledges_the_end_is_complete_with_every_byte_acknowledged() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    connect(&mut tx, t(1), RX);
    assert_eq!(record(&tx, 0), ReceiverRecord::new(RX));
    tx.handle_key(t(2));
    let data = [7u8; 64 * 64 + 5];
    let mut input = &data[..];
    let mut out = heapless::Vec::new();
    drain(&mut tx, t(3), &mut input, &mut out);
    assert!(tx.is_finished());
    let r = record(&tx, 0);
    assert_eq!(r.status, ReceiverStatus::Complete);
    assert_eq!(
        (r.bytes_acknowledged, r.blocks_requested),
        (data.len() as u64, 0)
    );
}

#[test]
fn a_retransmit_request_counts_the_data_blocks_it_lacks_for_that_receiver_only() {
    let mut storage = [0u8; STORAGE];
    let mut c = small();
    c.min_receivers = 2;
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    let other = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000);
    connect(&mut tx, t(1), RX);
    connect(&mut tx, t(1), other);
    tx.handle_key(t(2));
    let data = [1u8; 64 * 10];
    let mut input = &data[..];
    assert_eq!(&reqacks(&mut tx, t(3), &mut input)[..], &[0][..]);
    let mut received = Bitmap1024::first_n(10);
    received.remove(2);
    received.remove(7);
    let rexmit = crate::wire::Retransmit {
        slice: 0,
        rxmit: 0,
        received: &received,
    };
    send(&mut tx, t(4), other, Message::Retransmit(rexmit));
    send(&mut tx, t(4), RX, Message::Ok(SliceOk { slice: 0 }));
    assert_eq!(record(&tx, 1).blocks_requested, 2);
    assert_eq!(record(&tx, 1).bytes_acknowledged, 0);
    assert_eq!(record(&tx, 0).blocks_requested, 0);
    assert_eq!(record(&tx, 0).bytes_acknowledged, 640);
}

#[test]
fn leaving_after_acknowledging_the_end_stays_complete_and_before_it_is_disconnected() {
    let mut storage = [0u8; STORAGE];
    let mut c = small();
    c.min_receivers = 2;
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    let other = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 12), 9000);
    connect(&mut tx, t(1), RX);
    connect(&mut tx, t(1), other);
    tx.handle_key(t(2));
    let data = [1u8; 64];
    let mut input = &data[..];
    assert_eq!(&reqacks(&mut tx, t(3), &mut input)[..], &[0][..]);
    for from in [RX, other] {
        send(&mut tx, t(4), from, Message::Ok(SliceOk { slice: 0 }));
    }
    // Slice 1 is the empty end slice.
    assert_eq!(&reqacks(&mut tx, t(4), &mut input)[..], &[1][..]);
    send(&mut tx, t(5), RX, Message::Ok(SliceOk { slice: 1 }));
    send(&mut tx, t(5), RX, Message::Disconnect);
    send(&mut tx, t(5), other, Message::Disconnect);
    assert_eq!(record(&tx, 0).status, ReceiverStatus::Complete);
    assert_eq!(record(&tx, 1).status, ReceiverStatus::Disconnected);
    assert_eq!(record(&tx, 1).bytes_acknowledged, 64);
}

/// Runs the sender's timers from `now` with no answer until `client` is dropped; returns
/// its record.
fn dropped_record(mut c: SenderConfig) -> ReceiverRecord {
    c.min_receivers = 1;
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(c, &mut storage, t(0)).unwrap();
    connect(&mut tx, t(1), RX);
    tx.handle_key(t(2));
    let data = [1u8; 64];
    let mut input = &data[..];
    let mut now = t(3);
    for _ in 0..1000 {
        reqacks(&mut tx, now, &mut input);
        if tx.receivers() == 0 {
            return record(&tx, 0);
        }
        now = tx.poll_timeout(now).unwrap();
        tx.handle_timeout(now);
    }
    panic!("never dropped")
}

#[test]
fn a_silent_receiver_is_dropped_for_silence_or_for_retries_whichever_comes_first() {
    let mut c = small();
    c.drop_timeout = Duration::from_secs(1);
    assert_eq!(
        dropped_record(c).status,
        ReceiverStatus::Dropped(DropReason::Silent)
    );
    let mut c = small();
    c.drop_timeout = Duration::from_secs(1000);
    c.retries_until_drop = 3;
    assert_eq!(
        dropped_record(c).status,
        ReceiverStatus::Dropped(DropReason::RetriesExhausted)
    );
}

#[test]
fn a_buffer_too_short_for_the_largest_datagram_gets_nothing_and_loses_nothing() {
    let mut storage = [0u8; STORAGE];
    let mut tx = Sender::new(small(), &mut storage, t(0)).unwrap();
    let room = tx.max_datagram_len();
    let mut buf = [0u8; 1600];
    assert!(tx.poll_transmit(t(0), &mut buf[..room - 1]).is_none());
    let hello = tx
        .poll_transmit(t(0), &mut buf[..room])
        .expect("the HELLO, still due");
    assert_eq!(&buf[..2], &[5, 0]);
    assert_eq!(hello.destination, SocketAddrV4::new(BCAST, 9000));
}
