//! udp-receiver's options as a boot image passes them, checked in captures of host 1: the
//! multicast rendezvous (also passive), exit-wait, receive buffer and sync.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

use udpcast_core::wire::Message;
use udpcast_tests::lab::{self, Lab};
use udpcast_tests::pcap::UdpDatagram;

use crate::result_line::result_line_bytes;
use crate::{
    assert_same, heavy, program, run_sender, start_tiny_with, tiny_receiver, DEBIAN_SENDER,
};

/// A source-specific multicast group (232/8) as the rendezvous, as sites configure it.
const RDV_GROUP: Ipv4Addr = Ipv4Addr::new(232, 43, 211, 234);
const RDV: &str = "232.43.211.234";
const PORTBASE: u16 = lab::DEFAULT_PORTBASE;

/// A two-host lab that can capture, or `None` after a loud skip.
fn capture_lab() -> Option<Lab> {
    Lab::builder(2).require_program("tcpdump").build_or_skip()
}

fn capture_stop(cap: lab::Capture<'_>) -> Vec<UdpDatagram> {
    let file = cap.stop().unwrap();
    assert_eq!(file.dropped_by_kernel, Some(0), "tcpdump lost packets");
    file.read_udp().unwrap()
}

/// What host 1 (the tiny receiver) sent from its port P, in capture order.
fn sent_by_tiny<'d>(lab: &Lab, datagrams: &'d [UdpDatagram]) -> Vec<&'d UdpDatagram> {
    let me = SocketAddrV4::new(lab.host(1).addr(), PORTBASE);
    datagrams.iter().filter(|d| d.src == me).collect()
}

/// Debian's synchronous sender on host 0 with `sender_args`, the tiny receiver on host 1
/// with `tiny_args`, `size` random bytes; both must succeed and the output must equal the
/// input. Returns the tiny receiver's stderr and what host 1 sent and received.
fn debian_to_tiny_captured(
    lab: &Lab,
    tiny: &Path,
    sender_args: &[&str],
    tiny_args: &[&str],
    size: u64,
    seed: u64,
) -> (String, Vec<UdpDatagram>) {
    let sender = PathBuf::from(DEBIAN_SENDER);
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, size, seed).unwrap();
    let cap = lab.host(1).capture("udp").unwrap();
    let mut rx = start_tiny_with(lab, tiny, tiny_args, &out);
    run_sender(lab, &sender, sender_args, &input, &mut rx);
    let datagrams = capture_stop(cap);
    assert_same(&input, &out);
    (rx.stderr(), datagrams)
}

/// Debian's sender told `--mcast-rdv-address G` announces itself on G and listens for
/// CONNECT_REQ there; the tiny receiver given the same address sends its CONNECT_REQ to
/// G:P+1, with the `--ttl` it was given, and never to the broadcast address.
#[test]
fn tiny_receiver_meets_debian_sender_at_multicast_rendezvous() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(_) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = capture_lab() else { return };
    let (_, datagrams) = debian_to_tiny_captured(
        &lab,
        &tiny,
        &[
            "--nokbd",
            "--min-receivers",
            "1",
            "--mcast-rdv-address",
            RDV,
        ],
        &["--nokbd", "--mcast-rdv-address", RDV, "--ttl=2"],
        1 << 20,
        201,
    );
    let sender = lab.host(0).addr();
    let requests: Vec<_> = sent_by_tiny(&lab, &datagrams)
        .into_iter()
        .filter(|d| matches!(Message::parse(&d.payload), Ok(Message::ConnectReq(_))))
        .collect();
    let first = requests
        .first()
        .expect("the tiny receiver sent no CONNECT_REQ");
    assert_eq!(
        first.dst,
        SocketAddrV4::new(RDV_GROUP, PORTBASE + 1),
        "first CONNECT_REQ not to the rendezvous group"
    );
    for d in &requests {
        assert!(
            *d.dst.ip() == RDV_GROUP || *d.dst.ip() == sender,
            "#{}: CONNECT_REQ to {} (neither the group nor the sender)",
            d.number,
            d.dst
        );
        assert_eq!(d.ttl, 2, "#{}: CONNECT_REQ with IP TTL {}", d.number, d.ttl);
    }
}

/// Only a member of the rendezvous group hears an async sender's HELLOs there: a passive
/// tiny receiver (which never asks to connect) gets the whole image only if it joined G,
/// and it must not send a CONNECT_REQ.
#[test]
fn passive_tiny_receiver_joins_the_rendezvous_group_of_an_async_debian_sender() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(_) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = capture_lab() else { return };
    let (stderr, datagrams) = debian_to_tiny_captured(
        &lab,
        &tiny,
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--max-bitrate",
            "100m",
            "--autostart",
            "2",
            "--mcast-rdv-address",
            RDV,
        ],
        // Short letters and a bundle, as getopt takes them: -k -d, then -M G.
        &["-kd", "-M", RDV],
        2_000_000,
        202,
    );
    assert_eq!(result_line_bytes(&stderr), 2_000_000);
    let hellos_to_group = datagrams
        .iter()
        .filter(|d| matches!(Message::parse(&d.payload), Ok(Message::Hello(_))))
        .filter(|d| d.dst == SocketAddrV4::new(RDV_GROUP, PORTBASE))
        .count();
    assert!(hellos_to_group > 0, "the sender sent no HELLO to {RDV}");
    let requests = sent_by_tiny(&lab, &datagrams)
        .into_iter()
        .filter(|d| matches!(Message::parse(&d.payload), Ok(Message::ConnectReq(_))))
        .count();
    assert_eq!(requests, 0, "a passive receiver sent CONNECT_REQ");
}

/// `--rcvbuf 64k` sets SO_RCVBUF (CONNECT_REQ reports what the kernel granted: Linux
/// doubles a request up to net.core.rmem_max, and the default is 212 992, not 131 072);
/// `--exit-wait 2000` keeps the receiver 2 s after its final OK before it says
/// DISCONNECT (the default is 500 ms); `--sync` writes the same bytes, with O_SYNC.
#[test]
fn tiny_receiver_takes_exit_wait_rcvbuf_and_sync() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(_) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = capture_lab() else { return };
    let (stderr, datagrams) = debian_to_tiny_captured(
        &lab,
        &tiny,
        &["--nokbd", "--min-receivers", "1"],
        &["--nokbd", "--exit-wait=2000", "-b", "64k", "--sync"],
        1_500_000,
        203,
    );
    assert_eq!(result_line_bytes(&stderr), 1_500_000);
    let rmem_max: u32 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let granted = 2 * rmem_max.min(64 * 1024);
    let ours = sent_by_tiny(&lab, &datagrams);
    let mut requests = 0;
    for d in &ours {
        if let Ok(Message::ConnectReq(req)) = Message::parse(&d.payload) {
            requests += 1;
            assert_eq!(
                req.receive_buffer, granted,
                "#{}: CONNECT_REQ buffer",
                d.number
            );
        }
    }
    assert!(requests > 0, "the tiny receiver sent no CONNECT_REQ");

    // The final OK (highest slice, first time) starts the exit-wait; DISCONNECT ends it.
    let last_slice = ours
        .iter()
        .filter_map(|d| match Message::parse(&d.payload) {
            Ok(Message::Ok(ok)) => Some(ok.slice),
            _ => None,
        })
        .max()
        .expect("no OK sent");
    let final_ok = ours
        .iter()
        .find(
            |d| matches!(Message::parse(&d.payload), Ok(Message::Ok(ok)) if ok.slice == last_slice),
        )
        .unwrap();
    let disconnect = ours
        .iter()
        .find(|d| matches!(Message::parse(&d.payload), Ok(Message::Disconnect)))
        .expect("no DISCONNECT sent");
    let waited_ms = disconnect.time_us.saturating_sub(final_ok.time_us) / 1000;
    assert!(
        waited_ms >= 1900,
        "DISCONNECT only {waited_ms} ms after the final OK (exit-wait 2000 ms)"
    );
}
