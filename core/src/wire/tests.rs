//! Malformed and unusual datagrams: each gets its typed error, or is accepted as udpcast
//! accepts it.

use super::*;

#[test]
fn a_datagram_without_an_opcode_is_empty() {
    assert_eq!(Message::parse(&[]), Err(ParseError::Empty { len: 0 }));
    assert_eq!(Message::parse(&[5]), Err(ParseError::Empty { len: 1 }));
}

#[test]
fn opcode_5_and_values_udpcast_never_sends_are_unknown() {
    for op in [0x0005u16, 0x000c, 0x0400, 0x0501, 0xffff] {
        let mut datagram = [0u8; 200];
        datagram[..2].copy_from_slice(&op.to_be_bytes());
        assert_eq!(
            Message::parse(&datagram),
            Err(ParseError::UnknownOpcode(op))
        );
    }
}

#[test]
fn every_message_shorter_than_its_fixed_part_is_truncated() {
    let fixed = [
        (Opcode::Hello, Hello::LEN),
        (Opcode::HelloNew, Hello::LEN),
        (Opcode::HelloStreaming, Hello::LEN),
        (Opcode::ConnectReq, ConnectReq::LEN),
        (Opcode::ConnectReply, ConnectReply::LEN),
        (Opcode::Go, SIGNAL_LEN),
        (Opcode::Disconnect, SIGNAL_LEN),
        (Opcode::Ok, SliceOk::LEN),
        (Opcode::Retransmit, Retransmit::LEN),
        (Opcode::Reqack, Reqack::LEN),
        (Opcode::Data, BLOCK_HEADER_LEN),
        (Opcode::Fec, BLOCK_HEADER_LEN),
    ];
    for (opcode, needed) in fixed {
        let mut datagram = [0u8; 256];
        datagram[..2].copy_from_slice(&opcode.to_u16().to_be_bytes());
        datagram[3] = 1; // a valid stripe count for FEC
        for len in 2..needed {
            assert_eq!(
                Message::parse(&datagram[..len]),
                Err(ParseError::Truncated {
                    opcode,
                    len,
                    needed
                }),
                "{opcode} of {len} bytes"
            );
        }
        assert!(Message::parse(&datagram[..needed]).is_ok(), "{opcode}");
    }
}

#[test]
fn trailing_bytes_after_a_fixed_size_message_are_ignored() {
    let mut datagram = [0u8; 20];
    datagram[..8].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
    datagram[8..].fill(0x5a);
    assert_eq!(
        Message::parse(&datagram),
        Ok(Message::Ok(SliceOk { slice: 7 }))
    );
}

#[test]
fn reserved_fields_and_garbage_are_ignored_on_input() {
    let mut clean = [0u8; Hello::LEN];
    let hello = Hello {
        kind: HelloKind::Hello,
        capabilities: Capabilities::SENDER,
        data_address: core::net::Ipv4Addr::new(234, 66, 0, 1),
        block_size: 1456,
    };
    hello.encode(&mut clean).unwrap();
    let mut dirty = clean;
    dirty[2..4].fill(0xff); // reserved
    dirty[12..24].fill(0xa5); // garbage
    dirty[26..28].fill(0x3c); // padding
    assert_eq!(Message::parse(&dirty), Ok(Message::Hello(hello)));
}

#[test]
fn connect_reply_client_numbers_outside_minus_1_to_1023_are_refused() {
    for n in [-2i32, 1024, i32::MAX, i32::MIN] {
        let mut datagram = [0u8; ConnectReply::LEN];
        datagram[1] = 7;
        datagram[4..8].copy_from_slice(&n.to_be_bytes());
        assert_eq!(
            Message::parse(&datagram),
            Err(ParseError::ClientNumberOutOfRange(n))
        );
    }
    let reply = ConnectReply {
        client_number: Some(1024),
        block_size: 1456,
        capabilities: Capabilities::SENDER,
        data_address: core::net::Ipv4Addr::UNSPECIFIED,
    };
    assert_eq!(
        reply.encode(&mut [0; 64]),
        Err(EncodeError::ClientNumberOutOfRange(1024))
    );
}

#[test]
fn data_block_numbers_beyond_a_slice_are_refused() {
    let mut datagram = [0u8; 20];
    datagram[1] = 8;
    datagram[8..10].copy_from_slice(&1024u16.to_be_bytes());
    assert_eq!(
        Message::parse(&datagram),
        Err(ParseError::BlockNumberOutOfRange(1024))
    );
    datagram[8..10].copy_from_slice(&1023u16.to_be_bytes());
    assert!(Message::parse(&datagram).is_ok());
}

#[test]
fn fec_with_zero_stripes_is_refused() {
    let mut datagram = [0u8; 32];
    datagram[1] = 9;
    assert_eq!(Message::parse(&datagram), Err(ParseError::ZeroStripes));
}

#[test]
fn encoding_into_a_short_buffer_is_an_error_not_a_panic() {
    let data = Data {
        slice: 1,
        block: 2,
        bytes: 3000,
        payload: &[7; 100],
    };
    assert_eq!(
        data.encode(&mut [0; 115]),
        Err(EncodeError::BufferTooSmall {
            needed: 116,
            available: 115
        })
    );
    assert_eq!(
        Message::Go.encode(&mut [0; 3]),
        Err(EncodeError::BufferTooSmall {
            needed: 4,
            available: 3
        })
    );
    let mut buf = [0; 116];
    assert_eq!(data.encode(&mut buf), Ok(116));
    assert_eq!(Message::parse(&buf), Ok(Message::Data(data)));
}

#[test]
fn data_header_alone_matches_the_encoded_message() {
    let fec = Fec {
        stripes: 8,
        slice: 3,
        block: 63,
        bytes: 0,
        payload: &[1, 2, 3],
    };
    let mut buf = [0; 19];
    fec.encode(&mut buf).unwrap();
    assert_eq!(fec.header().unwrap(), buf[..16]);
    assert_eq!((fec.stripe(), fec.row()), (7, 7));
}
