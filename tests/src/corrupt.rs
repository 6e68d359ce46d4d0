//! Corruption on the wire: damaged DATA blocks that the receiving kernel still delivers, for
//! tests of verified transfers (issue #11), whose receivers must notice a bad slice.
//!
//! The rule lives where the lab's loss does ([`Lab::add_loss`]): the switch's bridge
//! forward path, matched on the port toward one host. So the sender's capture stays clean,
//! and a multicast frame flooded to several hosts is damaged in one copy only (nftables
//! unshares a cloned frame before writing to it).
//!
//! Two facts of Linux 6.18 and nftables 1.0.6, found in the lab:
//! - nft does not fix the UDP checksum after a raw `@th` write (`nft --debug=netlink` shows
//!   the write with `csum_type 0`). Datagrams from a socket through veth still arrive, since
//!   they carry a partial checksum the receiver trusts, but a datagram with a full checksum
//!   (raw socket, a NIC without offload) is dropped as a checksum error. The rule therefore
//!   also writes checksum 0, which IPv4 UDP reads as "none" (RFC 768), so the damage always
//!   arrives; `tests/lab_corruption.rs` holds it to that. (For a partial checksum the zero
//!   would spoil a later completion, but on the lab's veth path nobody completes it.)
//! - A UDP GSO run (our sender's default, see `UDPCAST_NO_GSO`) crosses veth and bridge as
//!   one super-packet: the rule then sees a run, not a datagram, and damages only the run's
//!   first datagram. Run our sender with `UDPCAST_NO_GSO=1` when the share must be per
//!   datagram.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::lab::{find_program, Lab, DEFAULT_PORTBASE};

/// Where in the UDP payload the damage starts: the first bytes of the block after DATA's
/// 16-byte header (PROTOCOL.md §2.6), so the header still parses and the slice is wrong.
pub const CORRUPT_OFFSET: usize = 16;
/// How many bytes are damaged. A block shorter than this (the tail of a slice may be
/// 1 byte) is never damaged: nft cannot write past the end of a datagram.
pub const CORRUPT_LEN: usize = 4;
/// The damage: these bits (of the [`CORRUPT_LEN`] bytes, big-endian) are flipped. An XOR
/// rather than a constant, so that a damaged block always differs from the original,
/// whatever the file holds (zeros, say).
pub const CORRUPT_XOR: u32 = 0xffff_ffff;
const _: () = assert!(CORRUPT_LEN == std::mem::size_of::<u32>());

const OPCODE_DATA: u16 = 8;
const TABLE: &str = "corrupt";
/// After the lab's loss chain (priority 0): a frame it drops is never counted as damaged.
const PRIORITY: i32 = 10;
const NFT_TIMEOUT_SECS: &str = "10";

static NEXT_CHAIN: AtomicU32 = AtomicU32::new(1);

/// Packet counts of a corruption rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorruptionCounters {
    /// DATA frames toward the host that were long enough to damage.
    pub matched: u64,
    /// Those damaged.
    pub corrupted: u64,
}

/// An installed corruption rule; removed when dropped.
#[derive(Debug)]
pub struct Corruption<'lab> {
    lab: &'lab Lab,
    chain: String,
    removed: bool,
}

/// Damages `permille` ‰ of the DATA datagrams (udpcast's default port base) that the switch
/// forwards toward host `host`, each chosen independently at random.
pub fn corrupt_data_payloads(lab: &Lab, host: usize, permille: u32) -> io::Result<Corruption<'_>> {
    corrupt_data_payloads_at(lab, host, permille, DEFAULT_PORTBASE)
}

/// [`corrupt_data_payloads`] for transfers run with `--portbase portbase`.
pub fn corrupt_data_payloads_at(
    lab: &Lab,
    host: usize,
    permille: u32,
    portbase: u16,
) -> io::Result<Corruption<'_>> {
    if permille > 1000 {
        return Err(invalid(format!("{permille} ‰ is more than everything")));
    }
    if host >= lab.len() {
        return Err(invalid(format!("lab {} has no host {host}", lab.id())));
    }
    let port = lab.host(host).switch_port();
    let chain = format!("data_{}", NEXT_CHAIN.fetch_add(1, Ordering::Relaxed));
    // nft's `@th` counts bits from the UDP header: the UDP payload starts at bit 64.
    let opcode_bit = 64;
    let damage_bit = 64 + 8 * CORRUPT_OFFSET;
    let damage_bits = 8 * CORRUPT_LEN;
    let min_udp_len = 8 + CORRUPT_OFFSET + CORRUPT_LEN;
    // nft refuses `mod 1000 < 1000` (the value is out of the generator's range).
    let selector = match permille {
        1000 => String::new(),
        p => format!("numgen random mod 1000 < {p} "),
    };
    // The first counter sees every candidate, the second the damaged ones. A chain per
    // rule: removal is one `delete chain`, with no rule handles to look up.
    let script = format!(
        "add table bridge {TABLE}\n\
         add chain bridge {TABLE} {chain} {{ type filter hook forward priority {PRIORITY}; policy accept; }}\n\
         add rule bridge {TABLE} {chain} oifname \"{port}\" udp dport {portbase} \
         @th,{opcode_bit},16 {OPCODE_DATA} udp length >= {min_udp_len} counter {selector}counter \
         @th,{damage_bit},{damage_bits} set @th,{damage_bit},{damage_bits} ^ {CORRUPT_XOR:#x} udp checksum set 0\n"
    );
    nft(lab, &[&script])?;
    log(lab, &script);
    Ok(Corruption {
        lab,
        chain,
        removed: false,
    })
}

impl Corruption<'_> {
    /// Current counts.
    pub fn counters(&self) -> io::Result<CorruptionCounters> {
        let listing = nft(self.lab, &["list", "chain", "bridge", TABLE, &self.chain])?;
        parse_counters(&listing).ok_or_else(|| {
            io::Error::other(format!("no counters in chain {}:\n{listing}", self.chain))
        })
    }

    /// Removes the rule, returning its final counts.
    pub fn remove(mut self) -> io::Result<CorruptionCounters> {
        let counters = self.counters()?;
        self.delete()?;
        Ok(counters)
    }

    fn delete(&mut self) -> io::Result<()> {
        let script = format!("delete chain bridge {TABLE} {}\n", self.chain);
        nft(self.lab, &[&script])?;
        self.removed = true;
        Ok(())
    }
}

impl Drop for Corruption<'_> {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.delete();
        }
    }
}

/// The two `counter packets N` of the rule in an `nft list chain` output.
fn parse_counters(listing: &str) -> Option<CorruptionCounters> {
    let mut counts = listing
        .split("counter packets ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok());
    Some(CorruptionCounters {
        matched: counts.next()?,
        corrupted: counts.next()?,
    })
}

/// Runs nft with `args` (commands, or a listing request) in the switch namespace, bounded
/// in time: a wedged nft must not hang a test.
fn nft(lab: &Lab, args: &[&str]) -> io::Result<String> {
    let tool = |name: &str| {
        find_program(name)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("`{name}` is missing")))
    };
    let out = Command::new(tool("timeout")?)
        .args(["-k", "2", NFT_TIMEOUT_SECS])
        .arg(tool("ip")?)
        .args(["netns", "exec", lab.switch_netns()])
        .arg(tool("nft")?)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "nft in {} failed ({}): {}\n  its arguments were: {args:?}",
            lab.switch_netns(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Into the lab's command log, next to the loss rules, for whoever reads a failed run.
fn log(lab: &Lab, script: &str) {
    if let Ok(mut f) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab.path("commands.log"))
    {
        let _ = writeln!(f, "nft (in {}): {}", lab.switch_netns(), script.trim_end());
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_counters() {
        let listing = "table bridge corrupt {\n\tchain data_3 {\n\t\ttype filter hook forward \
            priority 10; policy accept;\n\t\toifname \"h1p\" udp dport 9000 @th,64,16 0x8 udp \
            length >= 28 counter packets 1000 bytes 1500000 numgen random mod 1000 < 100 counter \
            packets 97 bytes 145500 @th,192,32 set @th,192,32 ^ 0xffffffff udp checksum set 0\n\
            \t}\n}\n";
        assert_eq!(
            parse_counters(listing),
            Some(CorruptionCounters {
                matched: 1000,
                corrupted: 97
            })
        );
        assert_eq!(parse_counters("table bridge corrupt {\n}\n"), None);
    }
}
