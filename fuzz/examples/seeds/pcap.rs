//! The captures' datagrams, read from classic pcap files.

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

/// One UDP datagram of a capture: time (µs), source, destination, payload.
pub(crate) struct Datagram {
    pub(crate) time_us: u64,
    pub(crate) src: SocketAddrV4,
    pub(crate) dst: SocketAddrV4,
    pub(crate) payload: Vec<u8>,
}

/// The IPv4/UDP datagrams of a classic little-endian pcap file of Ethernet frames.
pub(crate) fn read_pcap(path: &Path) -> Vec<Datagram> {
    let file = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        file[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "{}: not a little-endian pcap",
        path.display()
    );
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let (secs, usecs, caplen) = (
            le32(&file[at..]),
            le32(&file[at + 4..]),
            le32(&file[at + 8..]) as usize,
        );
        let frame = &file[at + 16..(at + 16 + caplen).min(file.len())];
        at += 16 + caplen;
        // Ethernet, IPv4, UDP, unfragmented.
        if frame.len() < 14 + 20 + 8 || be16(&frame[12..]) != 0x0800 || frame[14 + 9] != 17 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if be16(&ip[6..]) & 0x3fff != 0 || ip.len() < ihl + 8 {
            continue;
        }
        let udp = &ip[ihl..];
        let len = usize::from(be16(&udp[4..])).min(udp.len());
        let addr = |ip: &[u8], port: u16| {
            SocketAddrV4::new(Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]), port)
        };
        out.push(Datagram {
            time_us: u64::from(secs) * 1_000_000 + u64::from(usecs),
            src: addr(&ip[12..16], be16(udp)),
            dst: addr(&ip[16..20], be16(&udp[2..])),
            payload: udp[8..len].to_vec(),
        });
    }
    out
}
