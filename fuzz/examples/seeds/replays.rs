//! Captures replayed to our receiver and to our sender, and scripts of our own for both.

use std::net::Ipv4Addr;
use udpcast_fuzz::{receiver, sender};

use crate::pcap::Datagram;
use crate::Corpus;

/// A capture replayed to our receiver: the sender's datagrams to it as raw datagrams,
/// with the capture's timing, output consumed as it comes.
fn replay_for_receiver(datagrams: &[Datagram], flags: u8, me: Ipv4Addr, limit: usize) -> Vec<u8> {
    // 1 MiB of storage: slots of 256 KiB hold udpcast's slices of up to 180 blocks.
    let mut s = receiver::script::header(flags, 1456, 2, 1024, 8);
    let mut last = None;
    let mut n = 0;
    for d in datagrams {
        let to_me = *d.dst.ip() == me || d.dst.ip().is_multicast() || d.dst.ip().octets()[3] == 255;
        if d.src.port() != 9001 || !to_me {
            continue;
        }
        if let Some(t) = last {
            let ms = (d.time_us.saturating_sub(t) / 1000).min(255) as u8;
            if ms > 0 {
                receiver::script::wait(&mut s, ms);
            }
        }
        last = Some(d.time_us);
        receiver::script::raw(&mut s, &d.payload);
        if d.payload[..2] == [0, 7] && flags & 2 != 0 {
            receiver::script::key(&mut s);
        }
        receiver::script::consume_all(&mut s);
        n += 1;
        if n == limit {
            break;
        }
    }
    for _ in 0..4 {
        receiver::script::jump(&mut s);
        receiver::script::consume_all(&mut s);
    }
    s.into_bytes()
}

pub(crate) fn receiver_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
    let me = Ipv4Addr::new(10, 66, 0, 11);
    for (name, flags, limit) in [
        ("01_default_1rx_autoptp", 8, usize::MAX),
        ("03_async_fec_8x8", 9, usize::MAX),
        ("07_go_signal", 10, usize::MAX),
        ("11_ttl2_mcast_data_addr", 8, usize::MAX),
        ("10_async_fec_loss2_rxside", 9, 120),
    ] {
        let (_, datagrams) = captures.iter().find(|(n, _)| n == name).expect("capture");
        let script = replay_for_receiver(datagrams, flags, me, limit);
        let outcome = receiver::run(&script);
        println!("receiver replay of {name}: {outcome:?}");
        corpus.put("receiver", &format!("replay-{name}"), &script);
    }
    for flags in [0u8, 8, 1, 9, 4, 12, 16, 24] {
        for (m, (mask, rows)) in [(0u64, 0u8), (0b1001_0110, 1), (u64::MAX, 0), (0x0f0f, 3)]
            .into_iter()
            .enumerate()
        {
            let script = receiver::seed_transfer(flags, 3, mask, rows);
            corpus.put(
                "receiver",
                &format!("model-flags{flags:02}-loss{m}"),
                &script,
            );
        }
    }
}

/// The receivers' answers of a capture replayed to our sender, clients by address, with
/// the input fed as the sender asks for it.
fn replay_for_sender(datagrams: &[Datagram], o: &sender::script::Options, total: u32) -> Vec<u8> {
    let mut s = sender::script::header(o);
    let clients = [Ipv4Addr::new(10, 66, 0, 11), Ipv4Addr::new(10, 66, 0, 12)];
    let mut last = None;
    for d in datagrams {
        let Some(i) = clients.iter().position(|c| c == d.src.ip()) else {
            continue;
        };
        if d.src.port() != 9000 || d.dst.port() != 9001 {
            continue;
        }
        if let Some(t) = last {
            let ms = (d.time_us.saturating_sub(t) / 1000).min(255) as u8;
            if ms > 0 {
                sender::script::wait(&mut s, ms);
            }
        }
        last = Some(d.time_us);
        sender::script::raw(&mut s, i as u8, &d.payload);
        sender::script::input_until(&mut s, total);
        sender::script::jump(&mut s);
    }
    for _ in 0..8 {
        sender::script::input_until(&mut s, total);
        sender::script::answer_all(&mut s, 0, 0);
        sender::script::jump(&mut s);
    }
    s.into_bytes()
}

pub(crate) fn sender_seeds(corpus: &mut Corpus, captures: &[(String, Vec<Datagram>)]) {
    use sender::script::Options;
    let udpcast = Options {
        big: Some((1456, 1024)),
        min_receivers: 1,
        ..Options::default()
    };
    for (name, o, total) in [
        ("01_default_1rx_autoptp", udpcast, 100_000),
        (
            "07_go_signal",
            Options {
                min_receivers: 0,
                ..udpcast
            },
            100_000,
        ),
        (
            "08_halfduplex_2rx_loss5",
            Options {
                half_duplex: true,
                min_receivers: 2,
                ..udpcast
            },
            100_000,
        ),
        (
            "09_fullduplex_2rx_loss5",
            Options {
                min_receivers: 2,
                ..udpcast
            },
            100_000,
        ),
        (
            "12_sync_fec_4x2_loss5",
            Options {
                fec: Some((4, 2, 32)),
                min_receivers: 2,
                ..udpcast
            },
            100_000,
        ),
    ] {
        let (_, datagrams) = captures.iter().find(|(n, _)| n == name).expect("capture");
        let script = replay_for_sender(datagrams, &o, total);
        println!("sender replay of {name}: {:?}", sender::run(&script));
        corpus.put("sender", &format!("replay-{name}"), &script);
    }
    let small = Options {
        block_size: 64,
        max_slice: 16,
        ..Options::default()
    };
    let cases = [
        ("full-duplex-1rx", small, 1, false),
        ("full-duplex-3rx-lossy", small, 3, true),
        (
            "half-duplex-2rx-lossy",
            Options {
                half_duplex: true,
                max_slice: 64,
                ..small
            },
            2,
            true,
        ),
        (
            "fec-2x2",
            Options {
                fec: Some((2, 2, 8)),
                ..small
            },
            1,
            true,
        ),
        (
            "verified-2rx",
            Options {
                identity: true,
                ..small
            },
            2,
            true,
        ),
        (
            "paced",
            Options {
                rate: Some(1000),
                ..small
            },
            1,
            false,
        ),
        (
            "async-fec",
            Options {
                asynchronous: true,
                fec: Some((4, 2, 4)),
                autostart: Some(1),
                ..small
            },
            0,
            false,
        ),
        (
            "async-verified",
            Options {
                asynchronous: true,
                identity: true,
                autostart: Some(1),
                ..small
            },
            0,
            false,
        ),
        (
            "streaming-async",
            Options {
                asynchronous: true,
                streaming: true,
                autostart: Some(1),
                ..small
            },
            0,
            false,
        ),
        (
            "tiny-blocks",
            Options {
                block_size: 4,
                max_slice: 3,
                ..small
            },
            2,
            true,
        ),
    ];
    for (name, o, clients, lossy) in cases {
        let script = sender::seed_transfer(&o, clients, 3000, lossy);
        println!("sender {name}: {:?}", sender::run(&script));
        corpus.put("sender", &format!("model-{name}"), &script);
    }
}
