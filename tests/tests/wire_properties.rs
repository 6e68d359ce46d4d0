//! Property tests of the wire codec: no input makes the parser panic, and every message
//! we can build parses back to itself.

use proptest::prelude::*;
use std::net::Ipv4Addr;
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, ConnectReq, Data, Fec, Hello, HelloKind, Message,
    Opcode, Reqack, Retransmit, SliceOk,
};

/// Datagrams that start with a real opcode most of the time, so that the parser's
/// per-message paths are exercised and not just the unknown-opcode exit.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    let opcodes = prop::sample::select(vec![0u16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x500, 12]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1600),
        (opcodes, prop::collection::vec(any::<u8>(), 0..1600)).prop_map(|(op, mut rest)| {
            let mut d = op.to_be_bytes().to_vec();
            d.append(&mut rest);
            d
        }),
    ]
}

fn bitmap() -> impl Strategy<Value = Bitmap1024> {
    prop::array::uniform32(any::<[u8; 4]>()).prop_map(|words| {
        let mut bytes = [0u8; 128];
        for (chunk, word) in bytes.chunks_mut(4).zip(words) {
            chunk.copy_from_slice(&word);
        }
        Bitmap1024::from_bytes(bytes)
    })
}

/// An owned description of a message, since `Message` borrows its payload and bitmaps.
#[derive(Clone, Debug)]
enum Spec {
    Hello(Hello),
    ConnectReq(ConnectReq),
    ConnectReply(ConnectReply),
    Go,
    Disconnect,
    Ok(u32),
    Retransmit(u32, u32, Bitmap1024),
    Reqack(u32, u32, u32, Bitmap1024),
    Data(u32, u16, u32, Vec<u8>),
    Fec(u16, u32, u16, u32, Vec<u8>),
}

impl Spec {
    fn message(&self) -> Message<'_> {
        match self {
            Spec::Hello(h) => Message::Hello(*h),
            Spec::ConnectReq(r) => Message::ConnectReq(*r),
            Spec::ConnectReply(r) => Message::ConnectReply(*r),
            Spec::Go => Message::Go,
            Spec::Disconnect => Message::Disconnect,
            Spec::Ok(slice) => Message::Ok(SliceOk { slice: *slice }),
            Spec::Retransmit(slice, rxmit, received) => Message::Retransmit(Retransmit {
                slice: *slice,
                rxmit: *rxmit,
                received,
            }),
            Spec::Reqack(slice, bytes, rxmit, ready) => Message::Reqack(Reqack {
                slice: *slice,
                bytes: *bytes,
                rxmit: *rxmit,
                ready,
            }),
            Spec::Data(slice, block, bytes, payload) => Message::Data(Data {
                slice: *slice,
                block: *block,
                bytes: *bytes,
                payload,
            }),
            Spec::Fec(stripes, slice, block, bytes, payload) => Message::Fec(Fec {
                stripes: *stripes,
                slice: *slice,
                block: *block,
                bytes: *bytes,
                payload,
            }),
        }
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    let caps = any::<u32>().prop_map(Capabilities::from_bits_retain);
    let addr = any::<[u8; 4]>().prop_map(Ipv4Addr::from);
    let kind = prop::sample::select(vec![HelloKind::Hello, HelloKind::New, HelloKind::Streaming]);
    let payload = prop::collection::vec(any::<u8>(), 0..1500);
    prop_oneof![
        (kind, caps.clone(), addr.clone(), any::<u16>()).prop_map(|(kind, c, a, b)| {
            Spec::Hello(Hello {
                kind,
                capabilities: c,
                data_address: a,
                block_size: b,
            })
        }),
        (caps.clone(), any::<u32>()).prop_map(|(c, r)| Spec::ConnectReq(ConnectReq {
            capabilities: c,
            receive_buffer: r
        })),
        (prop::option::of(0u16..1024), any::<u32>(), caps, addr).prop_map(|(n, b, c, a)| {
            Spec::ConnectReply(ConnectReply {
                client_number: n,
                block_size: b,
                capabilities: c,
                data_address: a,
            })
        }),
        Just(Spec::Go),
        Just(Spec::Disconnect),
        any::<u32>().prop_map(Spec::Ok),
        (any::<u32>(), any::<u32>(), bitmap()).prop_map(|(s, r, m)| Spec::Retransmit(s, r, m)),
        (any::<u32>(), any::<u32>(), any::<u32>(), bitmap())
            .prop_map(|(s, b, r, m)| Spec::Reqack(s, b, r, m)),
        (any::<u32>(), 0u16..1024, any::<u32>(), payload.clone())
            .prop_map(|(s, k, b, p)| Spec::Data(s, k, b, p)),
        (1u16.., any::<u32>(), any::<u16>(), any::<u32>(), payload)
            .prop_map(|(n, s, k, b, p)| Spec::Fec(n, s, k, b, p)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn parsing_any_bytes_never_panics(bytes in datagram()) {
        if let Ok(message) = Message::parse(&bytes) {
            // Whatever parsed re-encodes without error into a buffer of its own size.
            let mut buf = vec![0; message.encoded_len()];
            prop_assert_eq!(message.encode(&mut buf), Ok(buf.len()));
            prop_assert!(bytes.len() >= buf.len());
        }
    }

    #[test]
    fn every_buildable_message_parses_back_to_itself(spec in spec()) {
        let message = spec.message();
        let mut buf = vec![0; message.encoded_len()];
        prop_assert_eq!(message.encode(&mut buf), Ok(buf.len()));
        prop_assert_eq!(Message::parse(&buf), Ok(message));
        if let Message::Hello(hello) = message {
            prop_assert_eq!(&buf[..2], &hello.kind.opcode().to_u16().to_be_bytes());
            prop_assert!(buf[12..24].iter().chain(&buf[26..28]).all(|&b| b == 0));
        }
    }
}

#[test]
fn hello_is_sent_as_bytes_05_00() {
    assert_eq!(Opcode::Hello.to_u16().to_be_bytes(), [0x05, 0x00]);
}
