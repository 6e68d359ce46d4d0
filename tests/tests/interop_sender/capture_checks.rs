//! What a capture of our sender's traffic must show, checked against PROTOCOL.md.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use udpcast_core::fec::{Encoder, FecConfig, Kernel};
use udpcast_core::wire::{HelloKind, Message};
use udpcast_tests::lab;
use udpcast_tests::pcap::UdpDatagram;

use crate::{BLOCK, PORTBASE};

/// Checks every datagram our sender (host 0) sent: ports, parsing, zeros in reserved and
/// garbage bytes (re-encoding gives the same bytes), HELLO opcodes, DATA payload sizes,
/// one byte count per slice, aligned non-final slices, an end slice. Returns the sender's
/// datagrams.
pub(crate) fn check_sender_traffic(
    datagrams: &[UdpDatagram],
    sender: Ipv4Addr,
    streaming: bool,
) -> Vec<&UdpDatagram> {
    let ours: Vec<&UdpDatagram> = datagrams.iter().filter(|d| *d.src.ip() == sender).collect();
    assert!(!ours.is_empty(), "no datagram from our sender");
    let mut slice_bytes: BTreeMap<u32, u32> = BTreeMap::new();
    let mut hellos = 0;
    let mut data = 0;
    for d in &ours {
        let n = d.number;
        assert_eq!(d.src.port(), PORTBASE + 1, "#{n}: source port");
        assert_eq!(d.dst.port(), PORTBASE, "#{n}: destination port");
        let msg = Message::parse(&d.payload)
            .unwrap_or_else(|e| panic!("#{n}: unparsable {:02x?}: {e:?}", d.payload));
        let mut buf = vec![0u8; msg.encoded_len()];
        let len = msg.encode(&mut buf).unwrap();
        assert_eq!(
            &buf[..len],
            &d.payload[..len.min(d.payload.len())],
            "#{n}: re-encoding differs (non-zero reserved/garbage bytes?)"
        );
        // Beyond the message: nothing, or exactly one well-formed extension trailer
        // (verified transfers), and only after messages udpcast reads as fixed-size.
        let extra = &d.payload[len.min(d.payload.len())..];
        if !extra.is_empty() {
            assert!(
                matches!(
                    msg,
                    Message::Hello(_) | Message::Reqack(_) | Message::ConnectReply(_)
                ),
                "#{n}: trailing bytes after {:?}",
                msg.opcode()
            );
            let trailer = udpcast_core::extension::Trailer::parse(extra)
                .unwrap_or_else(|e| panic!("#{n}: malformed trailer: {e}"))
                .unwrap_or_else(|| {
                    panic!("#{n}: trailing bytes that are no trailer: {extra:02x?}")
                });
            assert!(trailer.session().is_some(), "#{n}: trailer without session");
        }
        let mut record = |slice: u32, bytes: u32| {
            let known = *slice_bytes.entry(slice).or_insert(bytes);
            assert_eq!(known, bytes, "#{n}: slice {slice} byte count changes");
        };
        match msg {
            Message::Hello(h) => {
                hellos += 1;
                match h.kind {
                    HelloKind::Hello => assert_eq!(&d.payload[..2], &[5, 0], "#{n}"),
                    HelloKind::Streaming => {
                        assert!(streaming, "#{n}: streaming hello outside --streaming");
                        assert_eq!(&d.payload[..2], &[0, 0x0b], "#{n}");
                    }
                    HelloKind::New => panic!("#{n}: we must not send HELLO_NEW"),
                }
                assert_eq!(usize::from(h.block_size), BLOCK, "#{n}: hello block size");
            }
            Message::Data(x) => {
                data += 1;
                let want = (x.bytes as usize - usize::from(x.block) * BLOCK).min(BLOCK);
                assert!(
                    usize::from(x.block) * BLOCK < x.bytes as usize,
                    "#{n}: block {} beyond slice of {} bytes",
                    x.block,
                    x.bytes
                );
                assert_eq!(x.payload.len(), want, "#{n}: DATA payload size");
                record(x.slice, x.bytes);
            }
            Message::Fec(x) => {
                assert_eq!(x.payload.len(), BLOCK, "#{n}: FEC payload size");
                record(x.slice, x.bytes);
            }
            Message::Reqack(x) => record(x.slice, x.bytes),
            Message::ConnectReply(_) => {}
            other => panic!("#{n}: a sender does not send {other:?}"),
        }
    }
    assert!(hellos > 0, "no HELLO from our sender");
    if data > 0 {
        let (&last, &end) = slice_bytes.iter().next_back().unwrap();
        assert_eq!(end, 0, "last slice {last} is not the zero-byte end slice");
        let numbers: Vec<u32> = slice_bytes.keys().copied().collect();
        let first = numbers[0];
        assert_eq!(
            numbers,
            (first..=last).collect::<Vec<_>>(),
            "slice numbers have gaps"
        );
        // All data slices but the last one are whole blocks.
        let sizes: Vec<u32> = slice_bytes.values().copied().filter(|&b| b > 0).collect();
        for &b in sizes.iter().rev().skip(1) {
            assert_eq!(b as usize % BLOCK, 0, "non-final slice of {b} bytes");
        }
    }
    ours
}

/// Recomputes every FEC payload from the DATA of its slice.
pub(crate) fn check_fec_payloads(
    ours: &[&UdpDatagram],
    stripes: usize,
    redundancy: usize,
) -> usize {
    let mut blocks: HashMap<u32, (u32, BTreeMap<u16, Vec<u8>>)> = HashMap::new();
    let mut fecs: Vec<(usize, u32, u32, u16, u16, Vec<u8>)> = Vec::new();
    for d in ours {
        match Message::parse(&d.payload).unwrap() {
            Message::Data(x) => {
                blocks
                    .entry(x.slice)
                    .or_insert((x.bytes, BTreeMap::new()))
                    .1
                    .insert(x.block, x.payload.to_vec());
            }
            Message::Fec(x) => fecs.push((
                d.number,
                x.slice,
                x.bytes,
                x.block,
                x.stripes,
                x.payload.to_vec(),
            )),
            _ => {}
        }
    }
    assert!(!fecs.is_empty(), "no FEC packet captured");
    let config = FecConfig::new(stripes, redundancy, BLOCK).unwrap();
    let encoder = Encoder::new(config, Kernel::scalar());
    let mut encoded: HashMap<u32, Vec<u8>> = HashMap::new();
    let mut end_slices = 0;
    for (n, slice, bytes, block, s, payload) in &fecs {
        assert_eq!(usize::from(*s), stripes, "#{n}: stripes field");
        assert!(
            usize::from(*block) < stripes * redundancy,
            "#{n}: FEC block {block}"
        );
        if *bytes == 0 {
            end_slices += 1;
            assert!(
                payload.iter().all(|&b| b == 0),
                "#{n}: end-slice FEC payload not zero"
            );
            continue;
        }
        let fec = encoded.entry(*slice).or_insert_with(|| {
            let (b, data) = blocks
                .get(slice)
                .unwrap_or_else(|| panic!("#{n}: FEC for slice {slice} without DATA"));
            assert_eq!(*b, *bytes);
            let count = (*b as usize).div_ceil(BLOCK);
            assert_eq!(data.len(), count, "slice {slice}: DATA blocks missing");
            let bytes: Vec<u8> = data.values().flatten().copied().collect();
            assert_eq!(bytes.len(), *b as usize);
            let mut fec = vec![0u8; config.fec_len()];
            encoder.encode_slice(&bytes, &mut fec).unwrap();
            fec
        });
        let at = usize::from(*block) * BLOCK;
        assert!(
            &fec[at..at + BLOCK] == payload.as_slice(),
            "#{n}: FEC block {block} of slice {slice} differs from the encoder's"
        );
    }
    assert_eq!(end_slices, stripes * redundancy, "end-slice FEC packets");
    fecs.len()
}

pub(crate) fn capture_stop(cap: lab::Capture<'_>) -> Vec<UdpDatagram> {
    let file = cap.stop().unwrap();
    assert_eq!(file.dropped_by_kernel, Some(0), "tcpdump lost packets");
    file.read_udp().unwrap()
}
