//! Raw IPv4 sockets that send UDP datagrams whose checksum is computed here, in full, as
//! frames from a real network carry it (a normal socket's datagrams on a veth keep a
//! partial checksum that nobody completes and the receiver trusts). With
//! [`RawUdp::spoofing`] the IPv4 header is written here too, so the source can be any
//! address: the forger of the authenticated-transfer lab. Opening one needs root in the
//! namespace it is opened in.

use std::io;
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A raw UDP sender.
pub struct RawUdp {
    fd: OwnedFd,
    /// The IPv4 header is ours (IP_HDRINCL), so is the source address.
    spoofing: bool,
}

impl RawUdp {
    /// A socket whose datagrams leave with the host's own address as their source.
    pub fn open() -> io::Result<Self> {
        Self::with_protocol(libc::IPPROTO_UDP, false)
    }

    /// A socket that sends with any source address (and may send to broadcast addresses).
    pub fn spoofing() -> io::Result<Self> {
        let raw = Self::with_protocol(libc::IPPROTO_RAW, true)?;
        let one: libc::c_int = 1;
        // SAFETY: the descriptor is live and `one` outlives the call.
        let set = unsafe {
            libc::setsockopt(
                raw.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BROADCAST,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(raw)
    }

    fn with_protocol(protocol: libc::c_int, spoofing: bool) -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked before it is owned.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, protocol) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(RawUdp { fd, spoofing })
    }

    /// Sends `payload` from `from` to `to`. A socket from [`open`](Self::open) uses the
    /// host's own address whatever `from` says (only its port and the checksum use it).
    pub fn send(&self, from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> io::Result<()> {
        let udp_len = u16::try_from(8 + payload.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "datagram too long"))?;
        let mut packet = Vec::with_capacity(20 + usize::from(udp_len));
        if self.spoofing {
            packet.extend_from_slice(&[0x45, 0]);
            packet.extend_from_slice(&(20 + udp_len).to_be_bytes());
            // Identification and header checksum 0: the kernel fills both (IP_HDRINCL).
            packet.extend_from_slice(&[0, 0, 0x40, 0, 64, libc::IPPROTO_UDP as u8, 0, 0]);
            packet.extend_from_slice(&from.ip().octets());
            packet.extend_from_slice(&to.ip().octets());
        }
        packet.extend_from_slice(&from.port().to_be_bytes());
        packet.extend_from_slice(&to.port().to_be_bytes());
        packet.extend_from_slice(&udp_len.to_be_bytes());
        packet.extend_from_slice(&udp_checksum(from, to, payload).to_be_bytes());
        packet.extend_from_slice(payload);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(*to.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: the descriptor is live; packet and addr are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n == packet.len() as isize {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// RFC 768: the one's complement sum over the pseudo-header and the datagram, with a UDP
/// header whose checksum field is 0; 0 itself is sent as 0xffff.
pub fn udp_checksum(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> u16 {
    let len = (8 + payload.len()) as u16;
    let mut words: Vec<u8> = Vec::with_capacity(20 + payload.len());
    words.extend_from_slice(&from.ip().octets());
    words.extend_from_slice(&to.ip().octets());
    words.extend_from_slice(&[0, libc::IPPROTO_UDP as u8]);
    words.extend_from_slice(&len.to_be_bytes());
    words.extend_from_slice(&from.port().to_be_bytes());
    words.extend_from_slice(&to.port().to_be_bytes());
    words.extend_from_slice(&len.to_be_bytes());
    words.extend_from_slice(&[0, 0]);
    words.extend_from_slice(payload);
    let mut sum: u32 = words
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    match !(sum as u16) {
        0 => 0xffff,
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram whose checksum field holds its checksum sums to 0xffff.
    #[test]
    fn the_checksum_completes_the_sum() {
        let from: SocketAddrV4 = "10.66.0.1:9001".parse().unwrap();
        let to: SocketAddrV4 = "10.66.0.11:9000".parse().unwrap();
        let payload = b"udpcast, odd length";
        let check = udp_checksum(from, to, payload);
        let mut words = Vec::new();
        words.extend_from_slice(&from.ip().octets());
        words.extend_from_slice(&to.ip().octets());
        words.extend_from_slice(&[0, 17, 0, 27, 0x23, 0x29, 0x23, 0x28, 0, 27]);
        words.extend_from_slice(&check.to_be_bytes());
        words.extend_from_slice(payload);
        words.push(0);
        let mut sum: u32 = words
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
    }
}
