//! Whatever arrives, in whatever order, the receiver never panics, and whatever it writes
//! out is never more than the slices it was sent.

use proptest::prelude::*;
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::receiver::{Receiver, ReceiverConfig, SLOTS};
use udpcast_core::time::Instant;
use udpcast_core::wire::{
    Bitmap1024, Capabilities, ConnectReply, Data, Fec, Hello, HelloKind, Message, Reqack,
};

const SENDER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 9001);
const BS: usize = 16;

#[derive(Clone, Debug)]
enum Step {
    Data {
        slice: u32,
        block: u16,
        bytes: u32,
        len: usize,
    },
    Fec {
        stripes: u16,
        slice: u32,
        block: u16,
        bytes: u32,
        len: usize,
    },
    Reqack {
        slice: u32,
        bytes: u32,
        ready: bool,
    },
    Hello {
        streaming: bool,
        asynchronous: bool,
    },
    Raw(Vec<u8>),
    Timeout(u64),
    Consume(usize),
    Key,
}

fn step() -> impl Strategy<Value = Step> {
    let slice = 0u32..6;
    let bytes = prop_oneof![Just(0u32), 1u32..(40 * BS as u32), Just(u32::MAX)];
    prop_oneof![
        4 => (slice.clone(), 0u16..48, bytes.clone(), 0usize..=BS + 2)
            .prop_map(|(slice, block, bytes, len)| Step::Data { slice, block, bytes, len }),
        3 => (0u16..6, slice.clone(), 0u16..300, bytes.clone(), prop_oneof![Just(BS), 0usize..BS + 2])
            .prop_map(|(stripes, slice, block, bytes, len)| Step::Fec { stripes, slice, block, bytes, len }),
        2 => (slice, bytes, any::<bool>()).prop_map(|(slice, bytes, ready)| Step::Reqack { slice, bytes, ready }),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(streaming, asynchronous)| Step::Hello { streaming, asynchronous }),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Step::Raw),
        1 => (0u64..3_000_000).prop_map(Step::Timeout),
        1 => (0usize..200).prop_map(Step::Consume),
        1 => Just(Step::Key),
    ]
}

fn run(steps: &[Step], passive_first: bool, ignore_lost_data: bool) {
    let mut config = ReceiverConfig::new(Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 255));
    config.ignore_lost_data = ignore_lost_data;
    config.keyboard = true;
    let mut storage = vec![0u8; SLOTS * 32 * BS];
    let mut rx = Receiver::new(config, &mut storage, Instant(0));
    let mut now = 0u64;
    let mut buf = [0u8; 2048];
    let payload = [0x5au8; BS + 2];
    let ready = {
        let mut r = Bitmap1024::new();
        r.insert(0);
        r
    };
    let empty = Bitmap1024::new();
    let first = if passive_first {
        Message::Hello(Hello {
            kind: HelloKind::Hello,
            capabilities: Capabilities::SENDER_ASYNC,
            data_address: Ipv4Addr::new(234, 0, 0, 1),
            block_size: BS as u16,
        })
    } else {
        Message::ConnectReply(ConnectReply {
            client_number: Some(0),
            block_size: BS as u32,
            capabilities: Capabilities::SENDER,
            data_address: Ipv4Addr::new(234, 0, 0, 1),
        })
    };
    let len = first.encode(&mut buf).unwrap();
    rx.handle_datagram(Instant(now), SENDER, &buf[..len]);
    for step in steps {
        now += 1000;
        let message = match step {
            Step::Data {
                slice,
                block,
                bytes,
                len,
            } => Some(Message::Data(Data {
                slice: *slice,
                block: *block,
                bytes: *bytes,
                payload: &payload[..*len],
            })),
            Step::Fec {
                stripes,
                slice,
                block,
                bytes,
                len,
            } if *stripes != 0 => Some(Message::Fec(Fec {
                stripes: *stripes,
                slice: *slice,
                block: *block,
                bytes: *bytes,
                payload: &payload[..*len],
            })),
            Step::Fec { .. } => None,
            Step::Reqack {
                slice,
                bytes,
                ready: r,
            } => Some(Message::Reqack(Reqack {
                slice: *slice,
                bytes: *bytes,
                rxmit: 0,
                ready: if *r { &ready } else { &empty },
            })),
            Step::Hello {
                streaming,
                asynchronous,
            } => Some(Message::Hello(Hello {
                kind: if *streaming {
                    HelloKind::Streaming
                } else {
                    HelloKind::Hello
                },
                capabilities: if *asynchronous {
                    Capabilities::SENDER_ASYNC
                } else {
                    Capabilities::SENDER
                },
                data_address: Ipv4Addr::new(234, 0, 0, 1),
                block_size: BS as u16,
            })),
            Step::Raw(bytes) => {
                rx.handle_datagram(Instant(now), SENDER, bytes);
                None
            }
            Step::Timeout(us) => {
                now += us;
                rx.handle_timeout(Instant(now));
                None
            }
            Step::Consume(n) => {
                let available = rx.output().len();
                rx.consume_output((*n).min(available + 3));
                None
            }
            Step::Key => {
                rx.handle_key(Instant(now));
                None
            }
        };
        if let Some(message) = message {
            let len = message.encode(&mut buf).unwrap();
            rx.handle_datagram(Instant(now), SENDER, &buf[..len]);
        }
        while rx.poll_transmit(&mut buf).is_some() {}
        while rx.poll_event().is_some() {}
        let _ = rx.poll_timeout();
        assert!(rx.output().len() <= 32 * BS);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn the_receiver_never_panics_on_any_sequence_of_datagrams(
        steps in prop::collection::vec(step(), 0..120),
        passive_first in any::<bool>(),
        ignore_lost_data in any::<bool>(),
    ) {
        run(&steps, passive_first, ignore_lost_data);
    }
}
