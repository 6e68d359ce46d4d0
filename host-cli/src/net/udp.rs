//! UDP sockets with what udpcast needs and `std` lacks: buffer sizes, multicast by
//! interface index, and batched receive (`recvmmsg`).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

/// A bound IPv4 UDP socket.
#[derive(Debug)]
pub struct Udp {
    socket: UdpSocket,
}

impl Udp {
    /// A non-blocking socket bound to `address` (no `SO_REUSEADDR`, as udpcast: a port in
    /// use is an error).
    pub fn bind(address: SocketAddrV4) -> io::Result<Udp> {
        let socket = UdpSocket::bind(address)?;
        socket.set_nonblocking(true)?;
        Ok(Udp { socket })
    }

    /// The raw descriptor, for `poll`.
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Allows sending to broadcast addresses.
    pub fn set_broadcast(&self) -> io::Result<()> {
        self.socket.set_broadcast(true)
    }

    /// Asks the kernel to coalesce runs of equal datagrams (UDP GRO); [`RecvBatch`] splits
    /// them again. Returns whether the kernel accepted.
    pub fn enable_gro(&self) -> bool {
        self.set_int(libc::SOL_UDP, libc::UDP_GRO, 1).is_ok()
    }

    /// Sets `SO_RCVBUF`.
    pub fn set_receive_buffer(&self, bytes: usize) -> io::Result<()> {
        self.set_int(
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            bytes.min(i32::MAX as usize) as i32,
        )
    }

    /// Reads `SO_RCVBUF` back (what CONNECT_REQ reports).
    pub fn receive_buffer(&self) -> io::Result<usize> {
        self.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)
            .map(|n| n.max(0) as usize)
    }

    /// Sets `SO_SNDBUF`.
    pub fn set_send_buffer(&self, bytes: usize) -> io::Result<()> {
        self.set_int(
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            bytes.min(i32::MAX as usize) as i32,
        )
    }

    /// Joins `group` on the interface with index `ifindex`.
    pub fn join_multicast(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        let mreq = mreqn(group, ifindex);
        self.set_raw(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)
    }

    /// Sends multicast out of the interface with index `ifindex`.
    pub fn set_multicast_interface(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        let mreq = mreqn(group, ifindex);
        self.set_raw(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq)
    }

    /// Sets the TTL of outgoing multicast.
    pub fn set_multicast_ttl(&self, ttl: u8) -> io::Result<()> {
        self.socket.set_multicast_ttl_v4(u32::from(ttl))
    }

    /// Sends one datagram.
    pub fn send_to(&self, datagram: &[u8], to: SocketAddrV4) -> io::Result<usize> {
        loop {
            match self.socket.send_to(datagram, to) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A full socket buffer on a non-blocking socket: wait for room.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_writable(self.fd())?,
                other => return other,
            }
        }
    }

    /// Sends a batch of datagrams with one `sendmmsg`; returns how many went out (at least
    /// one unless an error is returned). Waits for room in the socket buffer if needed.
    pub fn send_batch(&self, datagrams: &[(&[u8], SocketAddrV4)]) -> io::Result<usize> {
        if datagrams.is_empty() {
            return Ok(0);
        }
        let mut addresses: Vec<libc::sockaddr_in> =
            datagrams.iter().map(|(_, to)| sockaddr(*to)).collect();
        let mut iovecs: Vec<libc::iovec> = datagrams
            .iter()
            .map(|(bytes, _)| libc::iovec {
                iov_base: bytes.as_ptr() as *mut libc::c_void,
                iov_len: bytes.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(datagrams.len());
        for (address, iovec) in addresses.iter_mut().zip(iovecs.iter_mut()) {
            // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
            let mut header: libc::mmsghdr = unsafe { zeroed() };
            header.msg_hdr.msg_name = (address as *mut libc::sockaddr_in).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            header.msg_hdr.msg_iov = iovec;
            header.msg_hdr.msg_iovlen = 1;
            headers.push(header);
        }
        loop {
            // SAFETY: every header points at a live address and iovec of the vectors above,
            // whose buffers are the caller's datagrams, all outliving the call.
            let n = unsafe {
                libc::sendmmsg(
                    self.fd(),
                    headers.as_mut_ptr(),
                    headers.len() as libc::c_uint,
                    0,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => wait_writable(self.fd())?,
                // Transient shortage of kernel buffers: back off briefly.
                _ if e.raw_os_error() == Some(libc::ENOBUFS) => wait_writable(self.fd())?,
                _ => return Err(e),
            }
        }
    }

    /// Sends `data` as datagrams of `segment` bytes each (the last may be shorter) to `to`
    /// with one `sendmsg`, letting the kernel cut them (UDP GSO, `UDP_SEGMENT`). Fails with
    /// the kernel's error where GSO is not available (`EIO`, `EINVAL`, `ENOPROTOOPT`), in
    /// which case the caller sends the datagrams one by one.
    pub fn send_segments(&self, data: &[u8], segment: u16, to: SocketAddrV4) -> io::Result<()> {
        let mut address = sockaddr(to);
        let mut iovec = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as usize;
        let mut control = [0u64; 4];
        debug_assert!(space <= size_of::<[u64; 4]>());
        // SAFETY: msghdr is plain data; zero is a valid empty header.
        let mut header: libc::msghdr = unsafe { zeroed() };
        header.msg_name = (&mut address as *mut libc::sockaddr_in).cast();
        header.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        header.msg_iov = &mut iovec;
        header.msg_iovlen = 1;
        header.msg_control = control.as_mut_ptr().cast();
        header.msg_controllen = space as _;
        // SAFETY: the control buffer is large enough for one u16 control message (space),
        // and CMSG_FIRSTHDR/CMSG_DATA point inside it.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&header);
            (*cmsg).cmsg_level = libc::SOL_UDP;
            (*cmsg).cmsg_type = libc::UDP_SEGMENT;
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
            libc::CMSG_DATA(cmsg).cast::<u16>().write_unaligned(segment);
        }
        loop {
            // SAFETY: header points at live address, iovec and control buffers above.
            let n = unsafe { libc::sendmsg(self.fd(), &header, 0) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => wait_writable(self.fd())?,
                _ if e.raw_os_error() == Some(libc::ENOBUFS) => wait_writable(self.fd())?,
                _ => return Err(e),
            }
        }
    }

    /// Receives as many datagrams as are waiting, up to the batch's capacity, without
    /// blocking; returns how many (0 when none is waiting).
    pub fn receive_batch(&self, batch: &mut RecvBatch) -> io::Result<usize> {
        batch.received = 0;
        let slots = batch.buffers.len();
        let mut iovecs: Vec<libc::iovec> = Vec::with_capacity(slots);
        let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(slots);
        for ((buffer, address), control) in batch
            .buffers
            .iter_mut()
            .zip(batch.sources.iter_mut())
            .zip(batch.controls.iter_mut())
        {
            iovecs.push(libc::iovec {
                iov_base: buffer.as_mut_ptr().cast(),
                iov_len: buffer.len(),
            });
            // SAFETY: mmsghdr is plain data; all-zero is a valid empty header.
            let mut header: libc::mmsghdr = unsafe { zeroed() };
            header.msg_hdr.msg_name = (address as *mut libc::sockaddr_in).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            header.msg_hdr.msg_control = control.as_mut_ptr().cast();
            header.msg_hdr.msg_controllen = size_of::<[u64; 8]>() as _;
            headers.push(header);
        }
        for (header, iovec) in headers.iter_mut().zip(iovecs.iter_mut()) {
            header.msg_hdr.msg_iov = iovec;
            header.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live iovec, buffer and sockaddr_in of `batch`
        // or of the vectors above, all outliving the call.
        let n = unsafe {
            libc::recvmmsg(
                self.fd(),
                headers.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_DONTWAIT as _,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        for (i, header) in headers.iter().take(n as usize).enumerate() {
            batch.lengths[i] = header.msg_len as usize;
            batch.truncated[i] = header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            batch.segments[i] = gro_segment(&header.msg_hdr);
        }
        batch.received = n as usize;
        Ok(batch.received)
    }

    fn set_int(&self, level: i32, name: i32, value: i32) -> io::Result<()> {
        self.set_raw(level, name, &value)
    }

    fn get_int(&self, level: i32, name: i32) -> io::Result<i32> {
        let mut value: i32 = 0;
        let mut len = size_of::<i32>() as libc::socklen_t;
        // SAFETY: value and len are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                self.fd(),
                level,
                name,
                (&mut value as *mut i32).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(value)
    }

    fn set_raw<T>(&self, level: i32, name: i32, value: &T) -> io::Result<()> {
        // SAFETY: value points to a live T of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                self.fd(),
                level,
                name,
                (value as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn sockaddr(to: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn mreqn(group: Ipv4Addr, ifindex: u32) -> libc::ip_mreqn {
    libc::ip_mreqn {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from(group).to_be(),
        },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: ifindex as i32,
    }
}

fn wait_writable(fd: RawFd) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, 100) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// The segment size of a message the kernel coalesced (UDP GRO), if it did.
fn gro_segment(header: &libc::msghdr) -> Option<usize> {
    // SAFETY: the header's control buffer was filled by recvmmsg; the CMSG macros walk it
    // within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == libc::UDP_GRO {
                let size = libc::CMSG_DATA(cmsg).cast::<i32>().read_unaligned();
                return (size > 0).then_some(size as usize);
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    None
}

/// Buffers for [`Udp::receive_batch`], reused from call to call.
pub struct RecvBatch {
    buffers: Vec<Box<[u8]>>,
    controls: Vec<[u64; 8]>,
    segments: Vec<Option<usize>>,
    sources: Vec<libc::sockaddr_in>,
    lengths: Vec<usize>,
    truncated: Vec<bool>,
    received: usize,
}

impl RecvBatch {
    /// Room for `count` datagrams of up to `size` bytes each.
    pub fn new(count: usize, size: usize) -> Self {
        RecvBatch {
            buffers: (0..count)
                .map(|_| vec![0u8; size].into_boxed_slice())
                .collect(),
            // SAFETY: sockaddr_in is plain data; zero is a valid value.
            sources: vec![unsafe { zeroed() }; count],
            lengths: vec![0; count],
            truncated: vec![false; count],
            controls: vec![[0; 8]; count],
            segments: vec![None; count],
            received: 0,
        }
    }

    /// The datagrams of the last receive: source and bytes, coalesced runs split again.
    /// Truncated ones (larger than a buffer) are left out: a cut datagram must not pass for
    /// a whole one.
    pub fn datagrams(&self) -> impl Iterator<Item = (SocketAddrV4, &[u8])> {
        (0..self.received)
            .filter(|&i| !self.truncated[i])
            .flat_map(move |i| {
                let sa = &self.sources[i];
                let source = SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                    u16::from_be(sa.sin_port),
                );
                let bytes = &self.buffers[i][..self.lengths[i]];
                let segment = self.segments[i].unwrap_or(bytes.len()).max(1);
                bytes.chunks(segment).map(move |d| (source, d))
            })
    }
}
