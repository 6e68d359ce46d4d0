//! A running transfer: data written in order, REQACK answers, rogue and malformed data,
//! dropped receivers, lost data and slice-size rules.

use super::*;

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
