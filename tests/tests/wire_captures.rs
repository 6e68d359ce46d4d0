//! Every udpcast datagram of every reference capture of the real programs parses, the
//! message counts per capture are those of the recordings, and re-encoding each parsed
//! message gives the captured bytes back (with the uninitialised areas zeroed).

use std::collections::BTreeMap;
use udpcast_core::wire::{Message, Opcode};
use udpcast_tests::{fixtures, garbage, pcap};

const RECEIVER_PORT: u16 = 9000;
const SENDER_PORT: u16 = 9001;

/// Counts per message in a capture, in the order of `Opcode` names below, as counted
/// independently of this codec (a few lines of Python over the raw pcap bytes).
fn expected_counts(capture: &str) -> Vec<(&'static str, usize)> {
    match capture {
        "01_default_1rx_autoptp.pcap" | "04_broadcast.pcap" | "05_pointopoint.pcap" => vec![
            ("CONNECT_REPLY", 1),
            ("CONNECT_REQ", 1),
            ("DATA", 69),
            ("DISCONNECT", 1),
            ("HELLO", 1),
            ("OK", 3),
            ("REQACK", 3),
        ],
        "02_multicast_2rx.pcap" | "11_ttl2_mcast_data_addr.pcap" => vec![
            ("CONNECT_REPLY", 2),
            ("CONNECT_REQ", 2),
            ("DATA", 69),
            ("DISCONNECT", 2),
            ("HELLO", 1),
            ("OK", 6),
            ("REQACK", 3),
        ],
        "03_async_fec_8x8.pcap" => vec![
            ("CONNECT_REQ", 1),
            ("DATA", 69),
            ("DISCONNECT", 1),
            ("FEC", 256),
            ("HELLO", 4),
        ],
        "06_streaming_async_join.pcap" => vec![
            ("CONNECT_REQ", 2),
            ("DATA", 344),
            ("DISCONNECT", 2),
            ("FEC", 192),
            ("HELLO", 3),
            ("HELLO_STREAMING", 3),
        ],
        "07_go_signal.pcap" => vec![
            ("CONNECT_REPLY", 1),
            ("CONNECT_REQ", 1),
            ("DATA", 69),
            ("DISCONNECT", 1),
            ("GO", 1),
            ("HELLO", 1),
            ("OK", 3),
            ("REQACK", 3),
        ],
        "08_halfduplex_2rx_loss5.pcap" => vec![
            ("CONNECT_REPLY", 2),
            ("CONNECT_REQ", 2),
            ("DATA", 353),
            ("DISCONNECT", 2),
            ("HELLO", 1),
            ("OK", 10),
            ("REQACK", 8),
            ("RETRANSMIT", 3),
        ],
        "09_fullduplex_2rx_loss5.pcap" => vec![
            ("CONNECT_REPLY", 2),
            ("CONNECT_REQ", 2),
            ("DATA", 362),
            ("DISCONNECT", 2),
            ("HELLO", 1),
            ("OK", 12),
            ("REQACK", 10),
            ("RETRANSMIT", 4),
        ],
        "10_async_fec_loss2.pcap" => vec![
            ("CONNECT_REQ", 1),
            ("DATA", 344),
            ("DISCONNECT", 1),
            ("FEC", 192),
            ("HELLO", 3),
        ],
        "10_async_fec_loss2_rxside.pcap" => vec![
            ("CONNECT_REQ", 1),
            ("DATA", 332),
            ("DISCONNECT", 1),
            ("FEC", 184),
            ("HELLO", 3),
        ],
        "12_sync_fec_4x2_loss5.pcap" => vec![
            ("CONNECT_REPLY", 2),
            ("CONNECT_REQ", 2),
            ("DATA", 379),
            ("DISCONNECT", 2),
            ("FEC", 32),
            ("HELLO", 1),
            ("OK", 10),
            ("REQACK", 8),
            ("RETRANSMIT", 4),
        ],
        other => panic!("no expected counts for {other}"),
    }
}

fn sent_by_sender(opcode: Opcode) -> bool {
    matches!(
        opcode,
        Opcode::Hello
            | Opcode::HelloNew
            | Opcode::HelloStreaming
            | Opcode::ConnectReply
            | Opcode::Data
            | Opcode::Fec
            | Opcode::Reqack
    )
}

#[test]
fn every_datagram_of_every_capture_parses_counts_and_reencodes_byte_identically() {
    let mut total = 0;
    for name in fixtures::CAPTURES {
        let datagrams = pcap::read_udp(&fixtures::capture(name)).unwrap();
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for d in &datagrams {
            let at = format!("{name} #{}", d.number);
            assert!(
                [d.src.port(), d.dst.port()]
                    .iter()
                    .all(|p| [RECEIVER_PORT, SENDER_PORT].contains(p)),
                "{at}: not udpcast traffic"
            );
            let message = Message::parse(&d.payload).unwrap_or_else(|e| panic!("{at}: {e}"));
            let opcode = message.opcode();
            *counts.entry(opcode.name()).or_default() += 1;

            // §1.1: the sender speaks from P+1 to P; receivers from P to P+1.
            let (from, to) = if sent_by_sender(opcode) {
                (SENDER_PORT, RECEIVER_PORT)
            } else {
                (RECEIVER_PORT, SENDER_PORT)
            };
            assert_eq!(
                (d.src.port(), d.dst.port()),
                (from, to),
                "{at}: {opcode} ports"
            );

            // §1.6: exact sizes; nothing trails a fixed-size message.
            assert_eq!(
                message.encoded_len(),
                d.payload.len(),
                "{at}: {opcode} size"
            );

            let mut rebuilt = vec![0xAA; d.payload.len() + 8];
            let len = message.encode(&mut rebuilt).unwrap();
            rebuilt.truncate(len);
            assert_eq!(
                rebuilt,
                garbage::zeroed(opcode, &d.payload),
                "{at}: {opcode} re-encodes differently"
            );
            assert_eq!(Message::parse(&rebuilt), Ok(message), "{at}: reparse");
        }
        let expected: BTreeMap<&str, usize> = expected_counts(name).into_iter().collect();
        assert_eq!(counts, expected, "{name}: message counts");
        total += datagrams.len();
    }
    // PROTOCOL.md §7: the independent checker saw 3 642 messages.
    assert_eq!(total, 3642);
}

#[test]
fn data_and_fec_blocks_follow_the_size_rules_of_protocol_1_6() {
    const BLOCK_SIZE: usize = 1456;
    for name in fixtures::CAPTURES {
        for d in pcap::read_udp(&fixtures::capture(name)).unwrap() {
            match Message::parse(&d.payload).unwrap() {
                Message::Data(data) => {
                    let offset = usize::from(data.block) * BLOCK_SIZE;
                    let expected = (data.bytes as usize - offset).min(BLOCK_SIZE);
                    assert_eq!(data.payload.len(), expected, "{name} #{}", d.number);
                }
                Message::Fec(fec) => {
                    assert_eq!(fec.payload.len(), BLOCK_SIZE, "{name} #{}", d.number);
                }
                _ => {}
            }
        }
    }
}
