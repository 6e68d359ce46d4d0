//! Choosing the network interface as udpcast does (PROTOCOL.md §1.2): every IPv4 address
//! of every interface is a candidate, scored; the best wins, ties to the first.

use std::ffi::CStr;
use std::fmt;
use std::net::Ipv4Addr;

/// One IPv4 address of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Interface name (an alias such as `eth0:1` is its own candidate).
    pub name: String,
    /// Its IPv4 address.
    pub address: Ipv4Addr,
    /// Its broadcast address, if it has one.
    pub broadcast: Option<Ipv4Addr>,
    /// Kernel interface index.
    pub index: u32,
    /// Whether the link is known to be down (no carrier).
    pub link_down: bool,
}

/// The interface the programs will use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// Interface name.
    pub name: String,
    /// Unicast address.
    pub address: Ipv4Addr,
    /// Broadcast address: on loopback, which has none, the interface's own address (§1.3).
    pub broadcast: Ipv4Addr,
    /// Kernel interface index (for multicast membership and `IP_MULTICAST_IF`).
    pub index: u32,
}

/// No interface fits.
#[derive(Debug)]
pub struct NoInterface {
    /// What was asked for.
    pub requested: Option<String>,
    /// Every candidate seen.
    pub candidates: Vec<Candidate>,
}

impl fmt::Display for NoInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.requested {
            Some(r) => write!(
                f,
                "No suitable network interface found for '{r}'; interfaces:"
            )?,
            None => write!(f, "No suitable network interface found; interfaces:")?,
        }
        for c in &self.candidates {
            write!(f, "\n  {} {}", c.name, c.address)?;
        }
        Ok(())
    }
}

impl std::error::Error for NoInterface {}

/// udpcast's score of a candidate; `None` when a requested interface rules it out.
pub fn score(candidate: &Candidate, requested: Option<&str>) -> Option<u32> {
    let name = candidate.name.as_str();
    let base = match requested {
        Some(r) if r.parse::<Ipv4Addr>().ok() == Some(candidate.address) => 8,
        Some(r) if name == r => 12,
        Some(r) if name.starts_with(r) => 7,
        Some(_) => return None,
        None if candidate.address.is_unspecified() => 1,
        None if candidate.address == Ipv4Addr::LOCALHOST => 2,
        None if name == "eth0" || name == "en0" => 6,
        None if name.starts_with("eth0:") => 5,
        None if name.starts_with("eth") || name.starts_with("en") => 4,
        None => 3,
    };
    let link = if candidate.link_down { 0 } else { 3 };
    let broadcast = u32::from(candidate.broadcast.is_some_and(|b| !b.is_unspecified()));
    Some((base + link) * 2 + broadcast)
}

/// The best of `candidates` for `requested` (a name, name prefix or address).
pub fn choose(candidates: Vec<Candidate>, requested: Option<&str>) -> Result<Chosen, NoInterface> {
    let mut best: Option<(u32, &Candidate)> = None;
    for c in &candidates {
        if let Some(s) = score(c, requested) {
            if best.map_or(true, |(b, _)| s > b) {
                best = Some((s, c));
            }
        }
    }
    match best {
        Some((_, c)) => Ok(Chosen {
            name: c.name.clone(),
            address: c.address,
            broadcast: match c.broadcast {
                Some(b) if !b.is_unspecified() => b,
                _ if c.address.is_loopback() => c.address,
                _ => Ipv4Addr::UNSPECIFIED,
            },
            index: c.index,
        }),
        None => Err(NoInterface {
            requested: requested.map(str::to_string),
            candidates,
        }),
    }
}

/// Every IPv4 address of every interface of this host (network namespace).
pub fn candidates() -> std::io::Result<Vec<Candidate>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut entry = head;
    while !entry.is_null() {
        // SAFETY: entry is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*entry };
        entry = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points to a sockaddr of its family.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if family != libc::AF_INET {
            continue;
        }
        let v4 = |sa: *const libc::sockaddr| -> Option<Ipv4Addr> {
            if sa.is_null() {
                return None;
            }
            // SAFETY: an AF_INET entry's addresses are sockaddr_in.
            let sin = unsafe { &*(sa as *const libc::sockaddr_in) };
            Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
        };
        let flags = ifa.ifa_flags;
        let broadcast = if flags & libc::IFF_BROADCAST as u32 != 0 {
            v4(ifa.ifa_ifu)
        } else {
            None
        };
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) };
        // SAFETY: if_nametoindex reads the NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(ifa.ifa_name) };
        let up = flags & libc::IFF_UP as u32 != 0;
        let running = flags & libc::IFF_RUNNING as u32 != 0;
        if let Some(address) = v4(ifa.ifa_addr) {
            out.push(Candidate {
                name: name.to_string_lossy().into_owned(),
                address,
                broadcast,
                index,
                link_down: !(up && running),
            });
        }
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, a: [u8; 4], bcast: bool) -> Candidate {
        Candidate {
            name: name.into(),
            address: Ipv4Addr::from(a),
            broadcast: bcast.then(|| Ipv4Addr::new(a[0], a[1], a[2], 255)),
            index: 1,
            link_down: false,
        }
    }

    #[test]
    fn without_a_request_eth0_beats_other_names_and_loopback() {
        let list = vec![
            c("lo", [127, 0, 0, 1], false),
            c("wlan0", [10, 0, 1, 2], true),
            c("eth0", [10, 0, 0, 2], true),
        ];
        assert_eq!(choose(list, None).unwrap().name, "eth0");
    }

    #[test]
    fn namespace_interfaces_win_over_loopback_automatically() {
        let list = vec![
            c("lo", [127, 0, 0, 1], false),
            c("sp0e", [10, 66, 0, 1], true),
        ];
        let chosen = choose(list, None).unwrap();
        assert_eq!(
            (chosen.name.as_str(), chosen.broadcast),
            ("sp0e", Ipv4Addr::new(10, 66, 0, 255))
        );
    }

    #[test]
    fn a_request_matches_exact_name_then_address_then_prefix() {
        let list = vec![
            c("eth1", [10, 0, 1, 2], true),
            c("eth10", [10, 0, 2, 2], true),
        ];
        assert_eq!(choose(list.clone(), Some("eth1")).unwrap().name, "eth1");
        assert_eq!(
            choose(list.clone(), Some("10.0.2.2")).unwrap().name,
            "eth10"
        );
        assert_eq!(choose(list.clone(), Some("eth")).unwrap().name, "eth1");
        assert!(choose(list, Some("wlan")).is_err());
    }

    #[test]
    fn loopback_without_broadcast_uses_its_own_address() {
        let chosen = choose(vec![c("lo", [127, 0, 0, 1], false)], Some("lo")).unwrap();
        assert_eq!(chosen.broadcast, Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn a_link_that_is_down_loses_to_one_that_is_up() {
        let mut down = c("eth0", [10, 0, 0, 2], true);
        down.link_down = true;
        let list = vec![down, c("eth1", [10, 0, 1, 2], true)];
        assert_eq!(choose(list, None).unwrap().name, "eth1");
    }
}
