//! The receiver's side of verified transfers (doc/verified-transfers.md §5) rule by rule,
//! driven with scripted datagrams and a fake clock. Blocks are 8 bytes; the stream is one
//! data slice of three blocks and the empty slice that ends it.

use super::*;
use crate::extension::integrity::stream_checksum;
use crate::extension::{Record, SliceCheck, StreamCheck, TrailerWriter, VERIFIED};
use crate::wire::{ConnectReply, Data, Fec, Hello, HelloKind};
use core::net::Ipv4Addr;

const ME: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 11);
const BCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);
const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 66, 0, 1), 9001);
const GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);
const BS: usize = 8;
const STORAGE: usize = SLOTS * 64 * BS;
const SESSION: u64 = 0x0123_4567_89ab_cdef;
const NAME: &str = "disk.img";
/// One data slice of three blocks.
const STREAM: &[u8; 24] = b"the stream, 24 bytes ok!";

type Datagram = heapless::Vec<u8, 512>;
type Sent = heapless::Vec<Datagram, 32>;

fn t(ms: u64) -> Instant {
    Instant(ms * 1000)
}

fn config() -> ReceiverConfig {
    let mut config = ReceiverConfig::new(ME, BCAST);
    config.receive_buffer = 212_992;
    config
}

/// `message` followed by a trailer of `records` (none: no trailer at all).
fn datagram(message: Message, records: &[Record]) -> Datagram {
    let mut buf = [0u8; 512];
    let len = message.encode(&mut buf).unwrap();
    let extra = if records.is_empty() {
        0
    } else {
        let mut writer = TrailerWriter::new(&mut buf[len..]).unwrap();
        for record in records {
            writer.push(record).unwrap();
        }
        writer.finish()
    };
    Datagram::from_slice(&buf[..len + extra]).unwrap()
}

fn identity_records() -> [Record<'static>; 3] {
    [
        Record::Session(SESSION),
        Record::StreamName(NAME),
        Record::TotalSize(STREAM.len() as u64),
    ]
}

fn reply(capabilities: Capabilities, records: &[Record]) -> Datagram {
    datagram(
        Message::ConnectReply(ConnectReply {
            client_number: Some(3),
            block_size: BS as u32,
            capabilities,
            data_address: GROUP,
        }),
        records,
    )
}

fn verified_reply() -> Datagram {
    reply(Capabilities::SENDER | VERIFIED, &identity_records())
}

fn async_hello(records: &[Record]) -> Datagram {
    datagram(
        Message::Hello(Hello {
            kind: HelloKind::Hello,
            capabilities: Capabilities::SENDER_ASYNC,
            data_address: GROUP,
            block_size: BS as u16,
        }),
        records,
    )
}

fn data(slice: u32, block: u16, stream: &[u8]) -> Datagram {
    let start = usize::from(block) * BS;
    datagram(
        Message::Data(Data {
            slice,
            block,
            bytes: stream.len() as u32,
            payload: &stream[start..(start + BS).min(stream.len())],
        }),
        &[],
    )
}

/// The FEC block that ends an async FEC stream (zero bytes, §3.8).
fn end_fec(slice: u32) -> Datagram {
    datagram(
        Message::Fec(Fec {
            stripes: 1,
            slice,
            block: 0,
            bytes: 0,
            payload: &[0; BS],
        }),
        &[],
    )
}

fn reqack(slice: u32, bytes: u32, rxmit: u32, records: &[Record]) -> Datagram {
    let ready = Bitmap1024::new();
    datagram(
        Message::Reqack(Reqack {
            slice,
            bytes,
            rxmit,
            ready: &ready,
        }),
        records,
    )
}

/// The REQACK of slice 0 carrying the check of `STREAM`.
fn check_reqack(rxmit: u32) -> Datagram {
    let check = SliceCheck::of(0, STREAM).unwrap();
    reqack(
        0,
        STREAM.len() as u32,
        rxmit,
        &[Record::Session(SESSION), Record::SliceCheck(check)],
    )
}

/// The end REQACK (slice 1, zero bytes) carrying `digest`.
fn end_reqack(digest: StreamCheck) -> Datagram {
    reqack(
        1,
        0,
        0,
        &[Record::Session(SESSION), Record::StreamDigest(digest)],
    )
}

fn feed(rx: &mut Receiver, now: Instant, d: &[u8]) {
    rx.handle_datagram(now, SENDER, d);
}

fn feed_slice(rx: &mut Receiver, now: Instant, stream: &[u8], blocks: core::ops::Range<u16>) {
    for block in blocks {
        feed(rx, now, &data(0, block, stream));
    }
}

fn sent(rx: &mut Receiver) -> Sent {
    let mut out = Sent::new();
    let mut buf = [0u8; 256];
    while let Some(tx) = rx.poll_transmit(&mut buf) {
        out.push(Datagram::from_slice(&buf[..tx.len]).unwrap())
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

fn drain_output(rx: &mut Receiver) -> heapless::Vec<u8, 256> {
    let mut out = heapless::Vec::new();
    loop {
        let bytes = rx.output();
        if bytes.is_empty() {
            return out;
        }
        out.extend_from_slice(bytes).unwrap();
        let n = bytes.len();
        rx.consume_output(n);
    }
}

/// A receiver of ours connected to a sender of ours, everything so far drained.
fn connected(storage: &mut [u8], config: ReceiverConfig) -> Receiver<'_> {
    let mut rx = Receiver::new(config, storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(1), &verified_reply());
    events(&mut rx);
    rx
}

/// A passive receiver that learnt the identity from an async HELLO.
fn passive(storage: &mut [u8]) -> Receiver<'_> {
    let mut rx = Receiver::new(config(), storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(1), &async_hello(&identity_records()));
    events(&mut rx);
    rx
}

fn corrupted() -> [u8; 24] {
    let mut bad = *STREAM;
    bad[9] ^= 0x20;
    bad
}

fn is_all_zero_retransmit(d: &[u8], slice: u32, rxmit: u32) -> bool {
    match Message::parse(d) {
        Ok(Message::Retransmit(r)) => {
            r.slice == slice && r.rxmit == rxmit && r.received.as_bytes().iter().all(|&b| b == 0)
        }
        _ => false,
    }
}

fn is_ok(d: &[u8], slice: u32) -> bool {
    matches!(Message::parse(d), Ok(Message::Ok(ok)) if ok.slice == slice)
}

fn is_disconnect(d: &[u8]) -> bool {
    matches!(Message::parse(d), Ok(Message::Disconnect))
}

// ---- identity (§5 step 1) ----

#[test]
fn a_verified_connect_reply_identifies_the_stream() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(1), &verified_reply());
    let ev = events(&mut rx);
    assert!(matches!(ev[0], Event::Connected(_)));
    assert_eq!(
        ev[1],
        Event::Identified {
            session: SESSION,
            total_size: Some(24)
        }
    );
    assert!(rx.verifies());
    let identity = rx.identity().unwrap();
    assert_eq!(identity.name.as_str(), NAME);
    assert_eq!(identity.session, SESSION);
}

#[test]
fn a_reply_without_the_bit_is_plain_udpcast_even_with_a_trailer() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    feed(
        &mut rx,
        t(1),
        &reply(Capabilities::SENDER, &identity_records()),
    );
    let ev = events(&mut rx);
    assert_eq!(ev[1], Event::NotVerified(NotVerifiedReason::PlainSender));
    assert!(!rx.verifies());
    assert!(rx.identity().is_none());
}

#[test]
fn the_bit_without_an_identity_is_refused() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(1), &reply(Capabilities::SENDER | VERIFIED, &[]));
    assert!(events(&mut rx).contains(&Event::Failed(ReceiverError::MissingIdentity)));
    assert!(rx.is_closed());
}

#[test]
fn another_stream_name_is_refused_before_anything_is_written_and_we_leave() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    rx.expect_name("other").unwrap();
    sent(&mut rx);
    feed(&mut rx, t(1), &verified_reply());
    assert!(events(&mut rx).contains(&Event::Failed(ReceiverError::WrongStream)));
    let out = sent(&mut rx);
    assert_eq!(out.len(), 1);
    assert!(is_disconnect(&out[0]));
    // Data that still comes is not taken.
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    feed(&mut rx, t(2), &check_reqack(0));
    assert!(rx.output().is_empty());
    assert!(sent(&mut rx).is_empty());
    assert!(rx.is_closed() && !rx.is_finished());
}

#[test]
fn the_expected_name_is_accepted() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    rx.expect_name(NAME).unwrap();
    assert_eq!(rx.expected_name().map(|n| n.as_str()), Some(NAME));
    sent(&mut rx);
    feed(&mut rx, t(1), &verified_reply());
    assert!(!events(&mut rx)
        .iter()
        .any(|e| matches!(e, Event::Failed(_))));
    assert!(!rx.is_closed());
}

// ---- slice checks (§5 step 3) ----

#[test]
fn a_complete_slice_is_held_until_its_check_then_acknowledged_and_written() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    assert!(rx.output().is_empty(), "not written before its check");
    feed(&mut rx, t(3), &check_reqack(0));
    let out = sent(&mut rx);
    assert_eq!(out.len(), 1);
    assert!(is_ok(&out[0], 0));
    assert_eq!(drain_output(&mut rx)[..], STREAM[..]);
    assert_eq!(rx.stats().slices_verified, 1);
    feed(&mut rx, t(4), &end_reqack(stream_checksum(STREAM)));
    assert!(is_ok(&sent(&mut rx)[0], 1));
    rx.handle_timeout(t(4) + rx.config.exit_wait);
    let ev = events(&mut rx);
    assert_eq!(
        ev[ev.len() - 2..],
        [Event::Verified(stream_checksum(STREAM)), Event::Finished]
    );
    assert!(is_disconnect(&sent(&mut rx)[0]));
    assert!(rx.is_finished());
}

#[test]
fn a_slice_that_fails_its_check_is_discarded_and_asked_for_again_in_full() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let bad = corrupted();
    feed_slice(&mut rx, t(2), &bad, 0..3);
    assert_eq!(events(&mut rx)[..], [Event::Started]);
    feed(&mut rx, t(3), &check_reqack(0));
    let out = sent(&mut rx);
    assert_eq!(out.len(), 1);
    assert!(is_all_zero_retransmit(&out[0], 0, 0), "{:?}", &out[0][..16]);
    assert_eq!(events(&mut rx)[..], [Event::SliceFailedCheck { slice: 0 }]);
    assert!(rx.output().is_empty(), "a failing slice is never written");
    assert_eq!(rx.stats().slices_failed, 1);
    assert_eq!(rx.stats().bytes_received, 0);
    // The sender resends every block; now it passes, is acknowledged and written.
    feed_slice(&mut rx, t(4), STREAM, 0..3);
    feed(&mut rx, t(5), &check_reqack(1));
    assert!(is_ok(&sent(&mut rx)[0], 0));
    assert_eq!(drain_output(&mut rx)[..], STREAM[..]);
    assert_eq!(rx.stats().slices_verified, 1);
    feed(&mut rx, t(6), &end_reqack(stream_checksum(STREAM)));
    rx.handle_timeout(t(6) + rx.config.exit_wait);
    assert!(events(&mut rx).contains(&Event::Verified(stream_checksum(STREAM))));
}

#[test]
fn a_slice_completed_after_its_check_came_is_checked_at_once() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let bad = corrupted();
    feed_slice(&mut rx, t(2), &bad, 0..1);
    assert_eq!(events(&mut rx)[..], [Event::Started]);
    // Blocks 1 and 2 lost: the usual RETRANSMIT, with block 0 received.
    feed(&mut rx, t(3), &check_reqack(0));
    let out = sent(&mut rx);
    let Ok(Message::Retransmit(r)) = Message::parse(&out[0]) else {
        panic!()
    };
    assert!(r.received.contains(0) && !r.received.contains(1));
    // The resent blocks complete it; it fails at once and is emptied.
    feed_slice(&mut rx, t(4), &bad, 1..3);
    assert_eq!(events(&mut rx)[..], [Event::SliceFailedCheck { slice: 0 }]);
    assert!(rx.output().is_empty());
    // So the next round asks for all of it.
    feed(&mut rx, t(5), &check_reqack(1));
    assert!(is_all_zero_retransmit(&sent(&mut rx)[0], 0, 1));
}

#[test]
fn a_passive_receiver_fails_on_a_slice_that_does_not_match_its_check() {
    let mut storage = [0u8; STORAGE];
    let mut rx = passive(&mut storage);
    feed_slice(&mut rx, t(2), &corrupted(), 0..3);
    assert!(rx.output().is_empty());
    feed(&mut rx, t(3), &check_reqack(0));
    let ev = events(&mut rx);
    assert!(ev.contains(&Event::SliceFailedCheck { slice: 0 }));
    assert!(ev.contains(&Event::Failed(ReceiverError::CorruptSlice { slice: 0 })));
    assert!(rx.output().is_empty());
    assert!(rx.is_closed());
}

#[test]
fn a_passive_receiver_verifies_after_the_check_and_the_digest() {
    let mut storage = [0u8; STORAGE];
    let mut rx = passive(&mut storage);
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    feed(&mut rx, t(3), &check_reqack(0));
    assert_eq!(drain_output(&mut rx)[..], STREAM[..]);
    feed(&mut rx, t(4), &end_reqack(stream_checksum(STREAM)));
    rx.handle_timeout(t(4) + rx.config.exit_wait);
    let ev = events(&mut rx);
    assert!(
        ev.contains(&Event::Verified(stream_checksum(STREAM))),
        "{ev:?}"
    );
    assert!(rx.is_finished());
}

// ---- other sessions (§5 step 2) ----

#[test]
fn a_reqack_of_another_session_is_neither_answered_nor_recorded() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let other = SESSION ^ 1;
    let check = SliceCheck::of(0, STREAM).unwrap();
    // Its slice 0 and its end: were they taken, the stream would end empty.
    feed(
        &mut rx,
        t(2),
        &reqack(
            0,
            24,
            0,
            &[Record::Session(other), Record::SliceCheck(check)],
        ),
    );
    feed(
        &mut rx,
        t(2),
        &reqack(
            0,
            0,
            0,
            &[
                Record::Session(other),
                Record::StreamDigest(stream_checksum(&[])),
            ],
        ),
    );
    assert!(sent(&mut rx).is_empty());
    assert_eq!(rx.stats().other_session_messages, 2);
    rx.handle_timeout(t(60_000));
    assert!(!rx.is_closed());
    // Ours goes on as if nothing happened.
    feed_slice(&mut rx, t(3), STREAM, 0..3);
    feed(&mut rx, t(3), &check_reqack(0));
    assert!(is_ok(&sent(&mut rx)[0], 0));
    assert_eq!(drain_output(&mut rx)[..], STREAM[..]);
}

// ---- the whole stream (§5 step 4) ----

#[test]
fn a_digest_that_does_not_match_fails_the_receiver_after_the_exit_wait() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    feed(&mut rx, t(3), &check_reqack(0));
    drain_output(&mut rx);
    let wrong = StreamCheck {
        bytes: 25,
        ..stream_checksum(STREAM)
    };
    feed(&mut rx, t(4), &end_reqack(wrong));
    sent(&mut rx);
    rx.handle_timeout(t(4) + rx.config.exit_wait);
    let ev = events(&mut rx);
    assert!(ev.contains(&Event::Failed(ReceiverError::StreamMismatch {
        expected: wrong,
        actual: stream_checksum(STREAM),
    })));
    assert!(!ev.iter().any(|e| matches!(e, Event::Verified(_))));
    assert!(is_disconnect(&sent(&mut rx)[0]));
    assert!(rx.is_closed() && !rx.is_finished());
}

#[test]
fn an_end_without_the_digest_fails_with_missing_stream_digest() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    feed(&mut rx, t(3), &check_reqack(0));
    drain_output(&mut rx);
    feed(&mut rx, t(4), &reqack(1, 0, 0, &[]));
    rx.handle_timeout(t(4) + rx.config.exit_wait);
    assert!(events(&mut rx).contains(&Event::Failed(ReceiverError::MissingStreamDigest)));
}

#[test]
fn an_empty_stream_verifies() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    feed(
        &mut rx,
        t(2),
        &reqack(
            0,
            0,
            0,
            &[
                Record::Session(SESSION),
                Record::StreamDigest(stream_checksum(&[])),
            ],
        ),
    );
    assert!(is_ok(&sent(&mut rx)[0], 0));
    rx.handle_timeout(t(2) + rx.config.exit_wait);
    let ev = events(&mut rx);
    assert!(
        ev.contains(&Event::Verified(stream_checksum(&[]))),
        "{ev:?}"
    );
    assert!(rx.is_finished());
}

// ---- what the wiring gets wrong (see the report on #11) ----

/// An async FEC receiver that missed the REQACK carrying a slice's check, and the one
/// carrying the digest: nothing more will ever come from an async sender, so it must end
/// (not verified) instead of holding the slice and waiting forever.
#[test]
fn a_passive_receiver_that_missed_the_last_checks_ends_instead_of_hanging() {
    let mut storage = [0u8; STORAGE];
    let mut rx = passive(&mut storage);
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    // Slice 0's REQACK lost; the end's FEC block arrives, its REQACK is lost too.
    feed(&mut rx, t(3), &end_fec(1));
    let mut now = t(3);
    for _ in 0..10 {
        match rx.poll_timeout() {
            Some(at) => {
                now = at.max(now);
                rx.handle_timeout(now);
            }
            None => break,
        }
        drain_output(&mut rx);
    }
    let ev = events(&mut rx);
    assert!(
        rx.is_closed(),
        "still waiting, no deadline ({:?}), nothing written ({} bytes out): {ev:?}",
        rx.poll_timeout(),
        rx.stats().bytes_output
    );
    assert!(!ev.iter().any(|e| matches!(e, Event::Verified(_))));
}

/// With verification off the receiver is udpcast, which ignores every byte after a
/// message's fixed part (PROTOCOL.md §2.11), even ones that look like a broken trailer.
#[test]
fn with_verification_off_trailing_bytes_of_a_reqack_are_ignored() {
    let mut storage = [0u8; STORAGE];
    let mut plain = config();
    plain.verify = false;
    let mut rx = Receiver::new(plain, &mut storage, t(0));
    sent(&mut rx);
    feed(&mut rx, t(1), &reply(Capabilities::SENDER, &[]));
    feed_slice(&mut rx, t(2), STREAM, 0..3);
    let mut d = check_reqack(0);
    d[Reqack::LEN + 4] = 2; // a version this receiver does not speak
    feed(&mut rx, t(3), &d);
    let out = sent(&mut rx);
    assert_eq!(
        out.len(),
        1,
        "malformed: {}",
        rx.stats().malformed_datagrams
    );
    assert!(is_ok(&out[0], 0));
}

/// The same for the HELLO of an async sender.
#[test]
fn with_verification_off_trailing_bytes_of_an_async_hello_are_ignored() {
    let mut storage = [0u8; STORAGE];
    let mut plain = config();
    plain.verify = false;
    let mut rx = Receiver::new(plain, &mut storage, t(0));
    sent(&mut rx);
    let mut d = async_hello(&identity_records());
    d[Hello::LEN + 4] = 2;
    feed(&mut rx, t(1), &d);
    let ev = events(&mut rx);
    assert!(matches!(ev[0], Event::Connected(_)));
    assert!(!rx.is_closed(), "{ev:?}");
}

/// doc/verified-transfers.md §3: "a receiver that meets a version it does not speak treats
/// the sender as plain udpcast and says so".
#[test]
fn a_trailer_of_another_version_means_plain_udpcast() {
    let mut storage = [0u8; STORAGE];
    let mut rx = Receiver::new(config(), &mut storage, t(0));
    sent(&mut rx);
    let mut d = verified_reply();
    d[ConnectReply::LEN + 4] = 2;
    feed(&mut rx, t(1), &d);
    let ev = events(&mut rx);
    assert_eq!(
        ev[1..],
        [Event::NotVerified(NotVerifiedReason::PlainSender)],
        "{ev:?}"
    );
    assert!(!rx.is_closed());
}

/// A slice that can never pass (its check is wrong, or a link mangles it the same way
/// every time) must not be asked for again forever: the transfer would never end.
#[test]
fn a_slice_that_keeps_failing_its_check_ends_the_transfer() {
    let mut storage = [0u8; STORAGE];
    let mut rx = connected(&mut storage, config());
    let bad = corrupted();
    for round in 0..1000 {
        if rx.is_closed() {
            break;
        }
        feed_slice(&mut rx, t(2 + u64::from(round)), &bad, 0..3);
        feed(&mut rx, t(2 + u64::from(round)), &check_reqack(round));
        sent(&mut rx);
        events(&mut rx);
    }
    assert!(
        rx.is_closed(),
        "{} failures, still asking",
        rx.stats().slices_failed
    );
}
