//! Every hex dump of PROTOCOL.md §2, decoded field by field, re-encoded, and found at the
//! start of the capture packet it cites.

use std::net::Ipv4Addr;
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, ConnectReq, Data, Fec, Hello, HelloKind, Message,
    Reqack, Retransmit, SliceOk,
};
use udpcast_tests::{fixtures, garbage, pcap};

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// The payload of packet `#number` of `capture` starts with `prefix`.
fn assert_capture_starts_with(capture: &str, number: usize, prefix: &[u8]) {
    let datagrams = pcap::read_udp(&fixtures::capture(capture)).unwrap();
    let d = datagrams.iter().find(|d| d.number == number).unwrap();
    assert_eq!(&d.payload[..prefix.len()], prefix, "{capture} #{number}");
}

/// Re-encodes `message` and compares with `dump`, whose uninitialised areas we write as
/// zeros.
fn assert_reencodes(message: &Message, dump: &[u8]) {
    let expected = garbage::zeroed(message.opcode(), dump);
    let mut buf = vec![0xEE; 2048];
    let len = message.encode(&mut buf).unwrap();
    assert_eq!(&buf[..len], &expected[..]);
}

#[test]
fn hello_of_02_multicast_announces_234_66_0_1_and_block_size_1456() {
    let dump = hex("05 00 00 00 00 00 00 09 ea 42 00 01 0d 00 00 00
                    e8 c2 c7 f6 b4 55 00 00 05 b0 c7 f6");
    let message = Message::parse(&dump).unwrap();
    let expected = Hello {
        kind: HelloKind::Hello,
        capabilities: Capabilities::SENDER,
        data_address: Ipv4Addr::new(234, 66, 0, 1),
        block_size: 1456,
    };
    assert_eq!(message, Message::Hello(expected));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 1, &dump);
}

#[test]
fn hello_of_async_sender_carries_capabilities_0x29() {
    let dump = hex("05 00 00 00 00 00 00 29 ea 42 00 01 0d 00 00 00
                    08 b3 0e 55 b3 55 00 00 05 b0 0e 55");
    let message = Message::parse(&dump).unwrap();
    let Message::Hello(hello) = message else {
        panic!("{message:?}")
    };
    assert_eq!(hello.capabilities, Capabilities::SENDER_ASYNC);
    assert!(hello.capabilities.contains(Capabilities::ASYNC));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("03_async_fec_8x8.pcap", 2, &dump);
}

#[test]
fn hello_under_pointopoint_announces_0_0_0_0() {
    let dump = hex("05 00 00 00 00 00 00 09 00 00 00 00 0d 00 00 00
                    e8 d2 00 91 64 55 00 00 05 b0 00 91");
    let message = Message::parse(&dump).unwrap();
    let Message::Hello(hello) = message else {
        panic!("{message:?}")
    };
    assert_eq!(hello.data_address, Ipv4Addr::UNSPECIFIED);
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("05_pointopoint.pcap", 1, &dump);
}

#[test]
fn hello_streaming_is_recognised_by_opcode_00_0b() {
    let dump = hex("00 0b 00 00 00 00 00 29 ea 42 00 01 00 00 00 00
                    60 c3 24 88 ae 7f 00 00 05 b0 bd 86");
    let message = Message::parse(&dump).unwrap();
    let Message::Hello(hello) = message else {
        panic!("{message:?}")
    };
    assert_eq!(hello.kind, HelloKind::Streaming);
    assert_eq!(hello.block_size, 1456);
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("06_streaming_async_join.pcap", 301, &dump);
}

#[test]
fn hello_new_opcode_00_0a_is_accepted_as_hello() {
    let mut dump = hex("05 00 00 00 00 00 00 09 ea 42 00 01 0d 00 00 00
                        e8 c2 c7 f6 b4 55 00 00 05 b0 c7 f6");
    dump[..2].copy_from_slice(&[0x00, 0x0a]);
    let Message::Hello(hello) = Message::parse(&dump).unwrap() else {
        panic!()
    };
    assert_eq!(hello.kind, HelloKind::New);
}

#[test]
fn connect_req_carries_receiver_capabilities_and_rcvbuf_212992() {
    let dump = hex("00 03 00 00 00 00 00 09 00 03 40 00");
    let message = Message::parse(&dump).unwrap();
    let expected = ConnectReq {
        capabilities: Capabilities::RECEIVER,
        receive_buffer: 212_992,
    };
    assert_eq!(message, Message::ConnectReq(expected));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 2, &dump);
}

#[test]
fn connect_reply_gives_the_second_receiver_client_number_1() {
    let dump = hex("00 07 00 00 00 00 00 01 00 00 05 b0 00 00 00 09
                    ea 42 00 01 00 00 00 00 60 fc ae ca 73 7f 00 00");
    let message = Message::parse(&dump).unwrap();
    let expected = ConnectReply {
        client_number: Some(1),
        block_size: 1456,
        capabilities: Capabilities::SENDER,
        data_address: Ipv4Addr::new(234, 66, 0, 1),
    };
    assert_eq!(message, Message::ConnectReply(expected));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 7, &dump);
}

#[test]
fn connect_reply_under_pointopoint_carries_the_receivers_own_address() {
    let dump = hex("00 07 00 00 00 00 00 00 00 00 05 b0 00 00 00 09
                    0a 42 00 0b 00 00 00 00 60 6c 91 49 fc 7e 00 00");
    let message = Message::parse(&dump).unwrap();
    let Message::ConnectReply(reply) = message else {
        panic!("{message:?}")
    };
    assert_eq!(reply.client_number, Some(0));
    assert_eq!(reply.data_address, Ipv4Addr::new(10, 66, 0, 11));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("05_pointopoint.pcap", 3, &dump);
}

#[test]
fn connect_reply_with_client_number_minus_1_is_a_refusal() {
    // The dump in PROTOCOL.md stops after the address; the rest is garbage.
    let mut dump = hex("00 07 00 00 ff ff ff ff 00 00 05 b0 00 00 00 09 0a 42 00 0c");
    dump.resize(ConnectReply::LEN, 0);
    let message = Message::parse(&dump).unwrap();
    let Message::ConnectReply(reply) = message else {
        panic!("{message:?}")
    };
    assert_eq!(reply.client_number, None);
    assert_reencodes(&message, &dump);
}

#[test]
fn go_and_disconnect_are_four_bytes() {
    let go = hex("00 02 00 00");
    assert_eq!(Message::parse(&go), Ok(Message::Go));
    assert_reencodes(&Message::Go, &go);
    assert_capture_starts_with("07_go_signal.pcap", 4, &go);

    let disconnect = hex("00 04 00 00");
    assert_eq!(Message::parse(&disconnect), Ok(Message::Disconnect));
    assert_reencodes(&Message::Disconnect, &disconnect);
    assert_capture_starts_with("02_multicast_2rx.pcap", 88, &disconnect);
}

#[test]
fn data_header_carries_the_byte_count_of_the_whole_slice() {
    let dump = hex("00 08 00 00 00 00 00 00 00 00 00 00 00 01 82 c0
                    3f f9 b2 79 1b 88 58 c2 31 60 86 3c 39 4b f9 34");
    let message = Message::parse(&dump).unwrap();
    let expected = Data {
        slice: 0,
        block: 0,
        bytes: 99_008,
        payload: &dump[16..],
    };
    assert_eq!(message, Message::Data(expected));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 10, &dump);
}

#[test]
fn data_of_the_992_byte_tail_travels_alone_in_slice_1() {
    let dump = hex("00 08 00 00 00 00 00 01 00 00 00 00 00 00 03 e0
                    56 a1 0b 8a 61 06 6e 12 3d 3b 70 0c ca 15 10 f5");
    let Message::Data(data) = Message::parse(&dump).unwrap() else {
        panic!()
    };
    assert_eq!((data.slice, data.block, data.bytes), (1, 0, 992));
    assert_reencodes(&Message::Data(data), &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 79, &dump);
}

#[test]
fn fec_header_carries_stripes_and_block_number_r_times_s_plus_s() {
    let dump = hex("00 09 00 08 00 00 00 00 00 00 00 00 00 00 5b 00
                    1d f8 9f 51 f2 2f 95 19 a2 85 de 06 8f 62 f2 6b");
    let message = Message::parse(&dump).unwrap();
    let expected = Fec {
        stripes: 8,
        slice: 0,
        block: 0,
        bytes: 23_296,
        payload: &dump[16..],
    };
    assert_eq!(message, Message::Fec(expected));
    assert_eq!((expected.stripe(), expected.row()), (0, 0));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("03_async_fec_8x8.pcap", 24, &dump);
}

#[test]
fn fec_with_zero_bytes_ends_an_async_fec_transfer() {
    let dump = hex("00 09 00 08 00 00 00 03 00 00 00 00 00 00 00 00
                    78 f9 2d ac 7c 08 4d be a6 f2 1a 3c 51 71 93 ef");
    let Message::Fec(fec) = Message::parse(&dump).unwrap() else {
        panic!()
    };
    assert_eq!((fec.stripes, fec.slice, fec.bytes), (8, 3, 0));
    assert_reencodes(&Message::Fec(fec), &dump);
    assert_capture_starts_with("03_async_fec_8x8.pcap", 269, &dump);
}

#[test]
fn first_reqack_of_a_slice_has_rxmit_0_and_an_empty_ready_set() {
    let mut dump = hex("00 06 00 00 00 00 00 00 00 01 82 c0 00 00 00 00");
    dump.resize(Reqack::LEN, 0);
    let message = Message::parse(&dump).unwrap();
    let empty = Bitmap1024::new();
    let expected = Reqack {
        slice: 0,
        bytes: 99_008,
        rxmit: 0,
        ready: &empty,
    };
    assert_eq!(message, Message::Reqack(expected));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 78, &dump);
}

#[test]
fn reqack_with_zero_bytes_ends_the_transfer() {
    let mut dump = hex("00 06 00 00 00 00 00 02 00 00 00 00 00 00 00 00");
    dump.resize(Reqack::LEN, 0);
    let Message::Reqack(reqack) = Message::parse(&dump).unwrap() else {
        panic!()
    };
    assert_eq!((reqack.slice, reqack.bytes), (2, 0));
    assert_reencodes(&Message::Reqack(reqack), &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 85, &dump);
}

#[test]
fn reqack_of_round_1_lists_client_0_as_ready() {
    let mut dump = hex("00 06 00 00 00 00 00 00 00 02 7d 00 00 00 00 01 01");
    dump.resize(Reqack::LEN, 0);
    let Message::Reqack(reqack) = Message::parse(&dump).unwrap() else {
        panic!()
    };
    assert_eq!((reqack.slice, reqack.bytes, reqack.rxmit), (0, 163_072, 1));
    assert_eq!(reqack.ready.iter().collect::<Vec<_>>(), [0]);
    assert_reencodes(&Message::Reqack(reqack), &dump);
    assert_capture_starts_with("09_fullduplex_2rx_loss5.pcap", 138, &dump);
}

#[test]
fn ok_for_slice_0_is_eight_zero_bytes() {
    let dump = hex("00 00 00 00 00 00 00 00");
    let message = Message::parse(&dump).unwrap();
    assert_eq!(message, Message::Ok(SliceOk { slice: 0 }));
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("02_multicast_2rx.pcap", 80, &dump);
}

#[test]
fn retransmit_map_marks_received_blocks_and_leaves_missing_ones_clear() {
    let mut dump = hex("00 01 00 00 00 00 00 00 00 00 00 00 fb ff ff ff
                        ff ff df ff 7b bf ff ff ff ff");
    dump.resize(Retransmit::LEN, 0);
    let message = Message::parse(&dump).unwrap();
    let Message::Retransmit(rexmit) = message else {
        panic!("{message:?}")
    };
    assert_eq!((rexmit.slice, rexmit.rxmit), (0, 0));
    let missing: Vec<usize> = (0..112).filter(|&b| !rexmit.received.contains(b)).collect();
    assert_eq!(missing, [2, 53, 66, 71, 78]);
    assert_eq!(rexmit.received.len(), 112 - 5);
    assert_reencodes(&message, &dump);
    assert_capture_starts_with("09_fullduplex_2rx_loss5.pcap", 131, &dump);
}
