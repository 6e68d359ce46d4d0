//! Discovery and connection: CONNECT_REQs, HELLOs, replies, refusals, passive joins, go.

use super::*;

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
