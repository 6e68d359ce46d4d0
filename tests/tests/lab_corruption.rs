//! The lab's corruption rule (`udpcast_tests::corrupt`) at the socket level, without any
//! udpcast program: plain sockets in the lab hosts exchange datagrams shaped like DATA, and
//! the receivers compare every byte with what was sent. A share of the DATA toward the one
//! damaged host arrives with exactly the documented bytes flipped; its other copies, FEC,
//! and blocks too short to damage arrive intact; and datagrams with a full UDP checksum
//! (no offload) still reach the socket once damaged.
//!
//! These tests need root and nft (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`). No process runs in the lab but nft itself, under a time limit;
//! every socket read has a timeout and every receiver a deadline.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use udpcast_core::addressing;
use udpcast_tests::corrupt::{self, CORRUPT_LEN, CORRUPT_OFFSET, CORRUPT_XOR};
use udpcast_tests::lab::{self, Host, Lab, DEFAULT_PORTBASE};
use udpcast_tests::raw_udp::RawUdp;

const BLOCK: usize = 1456;
const DATA_BLOCKS: u32 = 1000;
/// A receiver stops after this much silence once traffic has begun…
const QUIET: Duration = Duration::from_millis(1000);
/// …and in any case after this long.
const RECEIVE_LIMIT: Duration = Duration::from_secs(30);

#[track_caller]
fn lab(hosts: usize) -> Option<Lab> {
    Lab::builder(hosts).require_program("nft").build_or_skip()
}

/// Runs `f` on a thread that has joined `host`'s network namespace. A socket belongs to the
/// namespace it was created in, so sockets made here live in the host for good, while the
/// test's own threads never change namespace and no helper process is needed.
fn in_host<T: Send>(host: Host<'_>, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let path = ["/run/netns", "/var/run/netns"]
        .iter()
        .map(|d| Path::new(d).join(host.netns()))
        .find(|p| p.exists())
        .ok_or_else(|| io::Error::other(format!("no namespace file of {}", host.netns())))?;
    let ns = File::open(path)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: a valid namespace fd; only this short-lived thread changes namespace.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A full DATA block: what the rule damages.
    Data,
    /// FEC (opcode 9): same shape, never damaged.
    Fec,
    /// A DATA block shorter than the damage: never damaged.
    ShortData,
}

/// 1000 full DATA blocks with 50 FEC and 50 short blocks among them.
fn kind_of(seq: u32) -> Kind {
    match seq % 22 {
        7 => Kind::Fec,
        18 => Kind::ShortData,
        _ => Kind::Data,
    }
}

const SENT: u32 = DATA_BLOCKS * 22 / 20;

/// Datagram `seq`: a DATA (or FEC) header (PROTOCOL.md §2.6) with `seq` as the slice
/// number, and a payload no other datagram has.
fn datagram(seq: u32) -> Vec<u8> {
    let (opcode, len) = match kind_of(seq) {
        Kind::Data => (8u16, BLOCK),
        Kind::Fec => (9, BLOCK),
        Kind::ShortData => (8, CORRUPT_LEN - 1),
    };
    let mut d = Vec::with_capacity(16 + len);
    d.extend_from_slice(&opcode.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 0]);
    d.extend_from_slice(&(len as u32).to_be_bytes());
    d.extend_from_slice(&lab::random_bytes(len, u64::from(seq) + 1));
    d
}

/// `original` as the rule damages it.
fn damaged(original: &[u8]) -> Vec<u8> {
    let mut d = original.to_vec();
    let span = &mut d[CORRUPT_OFFSET..CORRUPT_OFFSET + CORRUPT_LEN];
    for (b, x) in span.iter_mut().zip(CORRUPT_XOR.to_be_bytes()) {
        *b ^= x;
    }
    d
}

/// What one receiver got: arrivals of each kind, and the damaged full DATA blocks.
#[derive(Debug, Default)]
struct Tally {
    data: u32,
    data_damaged: u32,
    others: u32,
}

/// Receives until silence, checking each datagram against what was sent: intact, or
/// damaged exactly as documented (and only if it is a full DATA block).
fn spawn_receiver(socket: UdpSocket) -> JoinHandle<Tally> {
    socket.set_read_timeout(Some(QUIET)).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + RECEIVE_LIMIT;
        let mut tally = Tally::default();
        let mut buf = vec![0u8; 2048];
        let mut started = false;
        while Instant::now() < deadline {
            let n = match socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if started {
                        break;
                    }
                    continue;
                }
                Err(e) => panic!("recv: {e}"),
            };
            started = true;
            let got = &buf[..n];
            let seq = u32::from_be_bytes(got[4..8].try_into().unwrap());
            assert!(seq < SENT, "datagram with a damaged header: {got:02x?}");
            let sent = datagram(seq);
            let kind = kind_of(seq);
            if got == sent.as_slice() {
                if kind == Kind::Data {
                    tally.data += 1;
                } else {
                    tally.others += 1;
                }
            } else if kind == Kind::Data && got == damaged(&sent).as_slice() {
                tally.data += 1;
                tally.data_damaged += 1;
            } else {
                panic!("datagram {seq} ({kind:?}) changed otherwise than documented");
            }
        }
        tally
    })
}

/// Sends every datagram from `socket`, a little at a time: the receivers' default socket
/// buffers hold about a hundred, and a loss there would blur the share being measured.
fn send_all(socket: &UdpSocket, to: SocketAddrV4) {
    for seq in 0..SENT {
        socket.send_to(&datagram(seq), to).unwrap();
        if seq % 16 == 15 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[track_caller]
fn assert_share(tally: &Tally, low: f64, high: f64, who: &str) {
    let arrived = f64::from(tally.data) / f64::from(DATA_BLOCKS);
    assert!(
        arrived >= 0.95,
        "{who}: only {tally:?} of {DATA_BLOCKS} DATA arrived"
    );
    let share = f64::from(tally.data_damaged) / f64::from(tally.data);
    assert!(
        (low..=high).contains(&share),
        "{who}: {:.1} % damaged, expected {:.0}–{:.0} % ({tally:?})",
        share * 100.0,
        low * 100.0,
        high * 100.0
    );
    assert!(
        tally.others >= 95,
        "{who}: FEC and short blocks lost: {tally:?}"
    );
}

#[test]
fn a_share_of_data_toward_one_host_arrives_damaged_and_its_other_copies_intact() {
    let Some(lab) = lab(3) else { return };
    let group = addressing::default_data_group(lab.host(0).addr());
    let receivers: Vec<JoinHandle<Tally>> = [1, 2]
        .map(|i| {
            let host = lab.host(i);
            let socket = in_host(host, || {
                let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, DEFAULT_PORTBASE))?;
                s.join_multicast_v4(&group, &host.addr())?;
                Ok(s)
            })
            .unwrap();
            spawn_receiver(socket)
        })
        .into_iter()
        .collect();
    let sender = in_host(lab.host(0), || {
        UdpSocket::bind((lab.host(0).addr(), DEFAULT_PORTBASE + 1))
    })
    .unwrap();

    let rule = corrupt::corrupt_data_payloads(&lab, 1, 100).unwrap();
    send_all(&sender, SocketAddrV4::new(group, DEFAULT_PORTBASE));
    let tallies: Vec<Tally> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
    let counters = rule.remove().unwrap();
    eprintln!(
        "rule counters {counters:?}; host 1 {:?}; host 2 {:?}",
        tallies[0], tallies[1]
    );

    assert_eq!(
        counters.matched,
        u64::from(DATA_BLOCKS),
        "full DATA toward host 1"
    );
    assert_share(&tallies[0], 0.03, 0.25, "host 1 (damaged)");
    // Each damaged frame the switch sent arrived damaged, unless a socket buffer lost it.
    let lost = u64::from(DATA_BLOCKS - tallies[0].data);
    let seen = u64::from(tallies[0].data_damaged);
    assert!(
        seen <= counters.corrupted && counters.corrupted <= seen + lost,
        "the rule damaged {} frames, host 1 saw {seen} damaged and lost {lost}",
        counters.corrupted
    );
    // The flooded copy toward host 2 shares nothing with host 1's once written to.
    assert_share(&tallies[1], 0.0, 0.0, "host 2 (not damaged)");
}

#[test]
fn damaged_datagrams_with_a_full_checksum_still_reach_the_socket() {
    let Some(lab) = lab(2) else { return };
    let (tx, rx) = (lab.host(0), lab.host(1));
    let socket = in_host(rx, || UdpSocket::bind((rx.addr(), DEFAULT_PORTBASE))).unwrap();
    let receiver = spawn_receiver(socket);
    // Raw, so the datagrams carry the full checksum the receiving kernel verifies.
    let raw = in_host(tx, RawUdp::open).unwrap();

    let rule = corrupt::corrupt_data_payloads(&lab, 1, 1000).unwrap();
    let from = SocketAddrV4::new(tx.addr(), DEFAULT_PORTBASE + 1);
    let to = SocketAddrV4::new(rx.addr(), DEFAULT_PORTBASE);
    for seq in 0..SENT {
        raw.send(from, to, &datagram(seq)).expect("raw sendto");
        if seq % 16 == 15 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let tally = receiver.join().unwrap();
    let counters = rule.remove().unwrap();
    eprintln!("rule counters {counters:?}; host 1 {tally:?}");

    assert_eq!(counters.corrupted, u64::from(DATA_BLOCKS));
    // Without the rule's checksum 0 the kernel would drop every one of them.
    assert_share(&tally, 1.0, 1.0, "host 1 (all damaged)");
}
