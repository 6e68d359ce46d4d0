//! Parsing option values the way udpcast reads them.

use super::getopt::UsageError;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};

/// A decimal number of type `T`.
pub fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, UsageError> {
    value
        .trim()
        .parse()
        .map_err(|_| UsageError::BadValue(option.to_string(), value.to_string()))
}

/// A byte size with an optional `k`/`K` (×1024) or `m`/`M` (×1024²) suffix, as udpcast
/// reads `--rcvbuf` and `--sendbuf`.
pub fn size(option: &str, value: &str) -> Result<usize, UsageError> {
    let bad = || UsageError::BadValue(option.to_string(), value.to_string());
    let (digits, factor) = match value.trim().char_indices().last() {
        Some((i, 'k' | 'K')) => (&value.trim()[..i], 1024),
        Some((i, 'm' | 'M')) => (&value.trim()[..i], 1024 * 1024),
        _ => (value.trim(), 1),
    };
    let n: usize = digits.parse().map_err(|_| bad())?;
    n.checked_mul(factor).ok_or_else(bad)
}

/// An IPv4 address, or a host name resolving to one (udpcast resolves names too).
pub fn ipv4(option: &str, value: &str) -> Result<Ipv4Addr, UsageError> {
    if let Ok(address) = value.parse() {
        return Ok(address);
    }
    (value, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| {
            addrs.find_map(|a| match a {
                SocketAddr::V4(v4) => Some(*v4.ip()),
                SocketAddr::V6(_) => None,
            })
        })
        .ok_or_else(|| UsageError::BadValue(option.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_k_and_m_suffixes_in_binary_units() {
        assert_eq!(size("--rcvbuf", "1m"), Ok(1_048_576));
        assert_eq!(size("--rcvbuf", "64K"), Ok(65_536));
        assert_eq!(size("--rcvbuf", "1000"), Ok(1000));
        assert!(size("--rcvbuf", "1g").is_err());
        assert!(size("--rcvbuf", "").is_err());
    }

    #[test]
    fn addresses_parse_as_dotted_quads() {
        assert_eq!(ipv4("-M", "239.1.2.3"), Ok(Ipv4Addr::new(239, 1, 2, 3)));
        assert!(ipv4("-M", "300.1.2.3").is_err());
    }
}
