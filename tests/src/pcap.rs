//! A reader for classic pcap files (Ethernet link type) that yields the IPv4/UDP datagrams
//! inside: just enough to replay the reference captures through our codec.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

/// One UDP datagram found in a capture.
#[derive(Clone, Debug)]
pub struct UdpDatagram {
    /// 1-based packet number in the capture, as Wireshark and PROTOCOL.md count (`#n`).
    pub number: usize,
    /// Capture time in microseconds since the epoch.
    pub time_us: u64,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// IP time-to-live.
    pub ttl: u8,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// Why a capture could not be read.
#[derive(Debug)]
pub enum PcapError {
    /// The file could not be read.
    Io(std::io::Error),
    /// Not a microsecond pcap file in either byte order.
    BadMagic(u32),
    /// A link type other than Ethernet (1).
    LinkType(u32),
    /// A record runs past the end of the file.
    Truncated { offset: usize },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapError::Io(e) => write!(f, "cannot read capture: {e}"),
            PcapError::BadMagic(m) => write!(f, "not a pcap file (magic {m:#010x})"),
            PcapError::LinkType(t) => write!(f, "unsupported link type {t}"),
            PcapError::Truncated { offset } => write!(f, "record truncated at byte {offset}"),
        }
    }
}

impl std::error::Error for PcapError {}

const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_UDP: u8 = 17;

/// Every unfragmented IPv4/UDP datagram of the capture at `path`, in capture order.
/// Frames that are not IPv4/UDP (IGMP, ARP, IPv6) are skipped but still counted in `number`.
pub fn read_udp(path: &Path) -> Result<Vec<UdpDatagram>, PcapError> {
    let file = std::fs::read(path).map_err(PcapError::Io)?;
    parse_udp(&file)
}

/// Like [`read_udp`], from the bytes of a pcap file.
pub fn parse_udp(file: &[u8]) -> Result<Vec<UdpDatagram>, PcapError> {
    let header = file.get(..24).ok_or(PcapError::Truncated { offset: 0 })?;
    let magic_le = u32::from_le_bytes(header[0..4].try_into().unwrap());
    let little_endian = match magic_le {
        0xa1b2_c3d4 => true,
        0xd4c3_b2a1 => false,
        other => return Err(PcapError::BadMagic(other)),
    };
    let word = |b: &[u8]| {
        let b: [u8; 4] = b.try_into().unwrap();
        if little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link_type = word(&header[20..24]);
    if link_type != 1 {
        return Err(PcapError::LinkType(link_type));
    }

    let mut datagrams = Vec::new();
    let mut offset = 24;
    let mut number = 0;
    while offset < file.len() {
        let record = file
            .get(offset..offset + 16)
            .ok_or(PcapError::Truncated { offset })?;
        let (secs, usecs, caplen) = (
            word(&record[0..4]),
            word(&record[4..8]),
            word(&record[8..12]),
        );
        let frame = file
            .get(offset + 16..offset + 16 + caplen as usize)
            .ok_or(PcapError::Truncated { offset })?;
        offset += 16 + caplen as usize;
        number += 1;
        if let Some((src, dst, ttl, payload)) = udp_in_ethernet(frame) {
            datagrams.push(UdpDatagram {
                number,
                time_us: u64::from(secs) * 1_000_000 + u64::from(usecs),
                src,
                dst,
                ttl,
                payload: payload.to_vec(),
            });
        }
    }
    Ok(datagrams)
}

fn udp_in_ethernet(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, u8, &[u8])> {
    let ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    if ethertype != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(14..)?;
    let header_len = usize::from(ip.first()? & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes(ip.get(2..4)?.try_into().ok()?));
    let fragment = u16::from_be_bytes(ip.get(6..8)?.try_into().ok()?);
    let more_fragments_or_offset = fragment & 0x3fff != 0;
    if ip[9] != IPPROTO_UDP || more_fragments_or_offset || header_len < 20 {
        return None;
    }
    let ttl = ip[8];
    let src_ip = Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(12..16)?).ok()?);
    let dst_ip = Ipv4Addr::from(<[u8; 4]>::try_from(ip.get(16..20)?).ok()?);
    let udp = ip.get(header_len..total_len)?;
    let src_port = u16::from_be_bytes(udp.get(0..2)?.try_into().ok()?);
    let dst_port = u16::from_be_bytes(udp.get(2..4)?.try_into().ok()?);
    let udp_len = usize::from(u16::from_be_bytes(udp.get(4..6)?.try_into().ok()?));
    let payload = udp.get(8..udp_len)?;
    Some((
        SocketAddrV4::new(src_ip, src_port),
        SocketAddrV4::new(dst_ip, dst_port),
        ttl,
        payload,
    ))
}
