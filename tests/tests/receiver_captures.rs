//! Our receiver, fed exactly what Debian's udp-sender sent in the reference captures,
//! writes the input file byte for byte, and answers where udpcast's receiver answered.

use sha2::{Digest, Sha256};
use std::net::{Ipv4Addr, SocketAddrV4};
use udpcast_core::receiver::{Event, Receiver, ReceiverConfig, ReceiverStats, FULL_STORAGE};
use udpcast_core::time::Instant;
use udpcast_core::wire::{Message, Opcode};
use udpcast_tests::{fixtures, pcap};

const SENDER_PORT: u16 = 9001;
const BROADCAST: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 255);

struct Replay {
    output: Vec<u8>,
    events: Vec<Event>,
    sent: Vec<(SocketAddrV4, Opcode)>,
    finished: bool,
    stats: ReceiverStats,
}

/// Feeds `receiver_ip` every datagram the sender addressed to it (unicast, broadcast or a
/// group), from the first one at or after `join_at_us` on, with the capture's timing.
fn replay(
    capture: &str,
    receiver_ip: Ipv4Addr,
    ttl: u8,
    join_at_us: u64,
    keyboard: bool,
) -> Replay {
    let datagrams = pcap::read_udp(&fixtures::capture(capture)).unwrap();
    let rendezvous = udpcast_core::addressing::rendezvous(ttl, None, BROADCAST);
    let mut config = ReceiverConfig::new(receiver_ip, rendezvous);
    config.keyboard = keyboard;
    let mut storage = vec![0u8; FULL_STORAGE];
    let t0 = datagrams[0].time_us.max(join_at_us);
    let mut receiver = Receiver::new(config, &mut storage, Instant(t0));
    let mut out = Replay {
        output: Vec::new(),
        events: Vec::new(),
        sent: Vec::new(),
        finished: false,
        stats: ReceiverStats::default(),
    };
    let mut buf = [0u8; 256];
    let mut drain = |receiver: &mut Receiver, out: &mut Replay| {
        while let Some(t) = receiver.poll_transmit(&mut buf) {
            let opcode = Message::parse(&buf[..t.len]).unwrap().opcode();
            out.sent.push((t.destination, opcode));
        }
        while let Some(event) = receiver.poll_event() {
            out.events.push(event);
        }
        loop {
            let bytes = receiver.output();
            if bytes.is_empty() {
                break;
            }
            out.output.extend_from_slice(bytes);
            let n = bytes.len();
            receiver.consume_output(n);
        }
    };
    for d in datagrams.iter().filter(|d| d.time_us >= join_at_us) {
        let to_us =
            d.dst.ip() == &receiver_ip || d.dst.ip().is_multicast() || d.dst.ip() == &BROADCAST;
        if d.src.port() != SENDER_PORT || !to_us {
            continue;
        }
        let now = Instant(d.time_us);
        while receiver.poll_timeout().is_some_and(|t| t <= now) {
            receiver.handle_timeout(receiver.poll_timeout().unwrap());
            drain(&mut receiver, &mut out);
        }
        receiver.handle_datagram(now, d.src, &d.payload);
        if keyboard {
            receiver.handle_key(now);
        }
        drain(&mut receiver, &mut out);
    }
    // The sender is done; let the exit-wait run out.
    let end = datagrams.last().unwrap().time_us + 2_000_000;
    while let Some(t) = receiver.poll_timeout().filter(|&t| t.0 <= end) {
        receiver.handle_timeout(t);
        drain(&mut receiver, &mut out);
    }
    out.finished = receiver.is_finished();
    out.stats = receiver.stats();
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn assert_received_whole(capture: &str, input: &str, r: &Replay) {
    let expected = fixtures::input(input);
    assert!(r.finished, "{capture}: not finished; events {:?}", r.events);
    assert_eq!(r.output.len(), expected.len(), "{capture}: length");
    assert_eq!(
        sha256_hex(&r.output),
        sha256_hex(&expected),
        "{capture}: content"
    );
    assert!(
        !r.events.iter().any(|e| matches!(e, Event::Failed(_))),
        "{capture}: {:?}",
        r.events
    );
    assert!(r.events.contains(&Event::Finished));
    // A receiver that leaves says so (§4.8).
    assert_eq!(
        r.sent.last().map(|s| s.1),
        Some(Opcode::Disconnect),
        "{capture}"
    );
}

#[test]
fn synchronous_captures_rebuild_the_input_for_a_receiver_without_loss() {
    for (capture, input, ttl) in [
        ("01_default_1rx_autoptp.pcap", "in100k.bin", 1),
        ("02_multicast_2rx.pcap", "in100k.bin", 1),
        ("04_broadcast.pcap", "in100k.bin", 1),
        ("05_pointopoint.pcap", "in100k.bin", 1),
        ("08_halfduplex_2rx_loss5.pcap", "in500k.bin", 1),
        ("09_fullduplex_2rx_loss5.pcap", "in500k.bin", 1),
        ("11_ttl2_mcast_data_addr.pcap", "in100k.bin", 2),
        ("12_sync_fec_4x2_loss5.pcap", "in500k.bin", 1),
    ] {
        let r = replay(capture, Ipv4Addr::new(10, 66, 0, 11), ttl, 0, false);
        assert_received_whole(capture, input, &r);
        // Every REQACK of a slice we hold is answered with OK, never RETRANSMIT.
        assert!(
            r.sent.iter().all(|s| s.1 != Opcode::Retransmit),
            "{capture}"
        );
        assert!(r.sent.iter().any(|s| s.1 == Opcode::Ok), "{capture}");
    }
}

#[test]
fn go_signal_capture_sends_go_after_connecting_when_a_key_is_pressed() {
    let r = replay(
        "07_go_signal.pcap",
        Ipv4Addr::new(10, 66, 0, 11),
        1,
        0,
        true,
    );
    assert_received_whole("07", "in100k.bin", &r);
    assert_eq!(r.sent.iter().filter(|s| s.1 == Opcode::Go).count(), 1);
    assert!(r.events.contains(&Event::GoSent));
}

#[test]
fn async_fec_captures_rebuild_the_input_passively() {
    for (capture, input) in [
        ("03_async_fec_8x8.pcap", "in100k.bin"),
        ("10_async_fec_loss2.pcap", "in500k.bin"),
        ("06_streaming_async_join.pcap", "in500k.bin"),
    ] {
        let r = replay(capture, Ipv4Addr::new(10, 66, 0, 11), 1, 0, false);
        assert_received_whole(capture, input, &r);
        assert_eq!(r.stats.fec_blocks_used, 0, "{capture}: nothing was lost");
        let Some(Event::Connected(c)) = r.events.first() else {
            panic!("{:?}", r.events)
        };
        assert!(c.passive, "{capture}");
        // A passive receiver only ever says goodbye.
        assert!(r
            .sent
            .iter()
            .all(|s| matches!(s.1, Opcode::Disconnect | Opcode::ConnectReq)));
    }
}

#[test]
fn receiver_side_capture_with_2_percent_loss_is_repaired_by_fec() {
    let r = replay(
        "10_async_fec_loss2_rxside.pcap",
        Ipv4Addr::new(10, 66, 0, 11),
        1,
        0,
        false,
    );
    assert_received_whole("10_rxside", "in500k.bin", &r);
    // PROTOCOL.md §7: the 20 lost frames held 12 data blocks (and 8 FEC blocks).
    assert_eq!(r.stats.fec_blocks_used, 12);
    assert_eq!(r.stats.lost_blocks, 0);
}

#[test]
fn late_streaming_joiner_writes_the_tail_from_a_slice_boundary_like_udpcast() {
    // R2 of capture 06 started 3 s after the sender and wrote the last 592 bytes.
    let datagrams = pcap::read_udp(&fixtures::capture("06_streaming_async_join.pcap")).unwrap();
    let join = datagrams[0].time_us + 3_000_000;
    let r = replay(
        "06_streaming_async_join.pcap",
        Ipv4Addr::new(10, 66, 0, 12),
        1,
        join,
        false,
    );
    let input = fixtures::input("in500k.bin");
    assert!(r.finished, "{:?}", r.events);
    assert_eq!(r.output, input[input.len() - 592..]);
}
