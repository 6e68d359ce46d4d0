//! Packet loss: nftables rules in the switch that drop a share of the UDP frames it
//! forwards, and their counters.

use std::ffi::OsStr;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::{find_program, run_with_input, Lab, DEFAULT_PORTBASE};

const NFT_TABLE: &str = "lab";
const NFT_CHAIN: &str = "impair";

/// A share of UDP frames to drop in the switch, for [`Lab::add_loss`]. Each forwarded copy
/// is dropped on its own, so a multicast frame flooded to several hosts may reach some and
/// not others, like on a real lossy network.
#[derive(Clone, Debug)]
#[must_use]
pub struct Loss {
    toward: Option<Vec<usize>>,
    destination: Option<Ipv4Addr>,
    share: Share,
    ports: (u16, u16),
}

/// Which of the matching frames a [`Loss`] drops.
#[derive(Clone, Copy, Debug)]
enum Share {
    /// Each with probability `permille`/1000.
    Permille(u32),
    /// Exactly every `n`-th: a loss that never bunches up, for tests whose FEC must repair
    /// every stripe (a random 2 % sometimes takes more than a stripe's redundancy).
    EveryNth(u64),
}

impl Loss {
    /// Drop `permille`/1000 of the frames the switch sends toward host `host`.
    pub fn toward(host: usize, permille: u32) -> Self {
        Loss::toward_hosts(&[host], permille)
    }

    /// Drop `permille`/1000 of the frames the switch sends toward each of `hosts`.
    pub fn toward_hosts(hosts: &[usize], permille: u32) -> Self {
        Loss {
            toward: Some(hosts.to_vec()),
            destination: None,
            share: Share::Permille(permille),
            ports: default_ports(),
        }
    }

    /// Drop exactly every `n`-th of the frames the switch sends toward host `host`: with
    /// `n` = 50, a stripe of 8x8/128 FEC (136 frames) loses at most 3 frames.
    pub fn every_nth_toward(host: usize, n: u64) -> Self {
        Loss {
            share: Share::EveryNth(n),
            ..Loss::toward(host, 0)
        }
    }

    /// Drop `permille`/1000 of the frames toward every host, the sender included (so
    /// receivers' answers are lost too).
    pub fn toward_all(permille: u32) -> Self {
        Loss {
            toward: None,
            destination: None,
            share: Share::Permille(permille),
            ports: default_ports(),
        }
    }

    /// Only UDP frames to destination ports `first..=last` (default 9000..=9001, udpcast's
    /// default port base and the next port).
    pub fn ports(mut self, first: u16, last: u16) -> Self {
        self.ports = (first, last);
        self
    }

    /// Only the two ports udpcast uses with `--portbase portbase`.
    pub fn portbase(self, portbase: u16) -> Self {
        self.ports(portbase, portbase.saturating_add(1))
    }

    /// Only frames whose IP destination is `addr`, e.g. udpcast's multicast data group
    /// (234.66.0.1 in the default lab subnet): DATA, FEC and REQACK suffer, while the
    /// unicast and broadcast negotiation (HELLO, CONNECT_REQ, CONNECT_REPLY) gets through.
    /// Debian's receiver never repeats a lost connection handshake, so tests of it that
    /// must not stall need this.
    pub fn destination(mut self, addr: Ipv4Addr) -> Self {
        self.destination = Some(addr);
        self
    }
}

fn default_ports() -> (u16, u16) {
    (DEFAULT_PORTBASE, DEFAULT_PORTBASE + 1)
}

/// Packet counts of a loss rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossCounters {
    /// Frames the rule looked at (toward its hosts, to its ports).
    pub matched: u64,
    /// Frames it dropped.
    pub dropped: u64,
}

impl Lab {
    /// Starts dropping a share of the UDP frames the switch forwards toward some hosts (see
    /// [`Loss`]). The rule is removed when the returned handle is dropped. Needs `nft`.
    pub fn add_loss(&self, loss: &Loss) -> io::Result<LossRule<'_>> {
        let nft = find_program("nft").ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "`nft` (nftables) is not installed")
        })?;
        let share = match loss.share {
            Share::Permille(permille) if permille > 1000 => {
                return Err(invalid(format!(
                    "loss of {permille}‰ is more than everything"
                )));
            }
            Share::Permille(permille) => format!("numgen random mod 1000 < {permille}"),
            Share::EveryNth(0) => return Err(invalid("a loss of every 0th frame".to_owned())),
            Share::EveryNth(n) => format!("numgen inc mod {n} == 0"),
        };
        if loss.ports.0 > loss.ports.1 {
            return Err(invalid(format!(
                "empty port range {}-{}",
                loss.ports.0, loss.ports.1
            )));
        }
        let toward = if let Some(hosts) = &loss.toward {
            if hosts.is_empty() {
                return Err(invalid("a loss toward no host".to_owned()));
            }
            if let Some(bad) = hosts.iter().find(|&&h| h >= self.hosts.len()) {
                return Err(invalid(format!("lab {} has no host {bad}", self.id)));
            }
            let names: Vec<String> = hosts
                .iter()
                .map(|&h| format!("\"{}\"", self.hosts[h].port))
                .collect();
            format!("oifname {{ {} }} ", names.join(", "))
        } else {
            String::new()
        };
        let destination = match loss.destination {
            Some(addr) => format!("ip daddr {addr} "),
            None => String::new(),
        };
        let tag = format!("loss-{}", self.next_rule.fetch_add(1, Ordering::Relaxed));
        // Two counters: everything the rule looked at, then what it dropped. Placed on the
        // switch's forward path, the frames vanish between sender and receiver: a capture on
        // the sender still shows them, and the sender's own sends never fail (a drop in its
        // output hook would make sendmsg fail with EPERM and udp-sender abort).
        let script = format!(
            "add table bridge {NFT_TABLE}\n\
             add chain bridge {NFT_TABLE} {NFT_CHAIN} {{ type filter hook forward priority 0; policy accept; }}\n\
             add rule bridge {NFT_TABLE} {NFT_CHAIN} {toward}{destination}udp dport {lo}-{hi} counter \
             {share} counter drop comment \"{tag}\"\n",
            lo = loss.ports.0,
            hi = loss.ports.1,
        );
        self.nft(&nft, &["-f", "-"], &script)?;
        self.log_command(&format!(
            "nft (in {}): {}",
            self.switch_ns,
            script.trim_end()
        ));
        Ok(LossRule {
            lab: self,
            nft,
            tag,
            removed: false,
        })
    }

    fn nft(&self, nft: &Path, args: &[&str], script: &str) -> io::Result<String> {
        let mut full: Vec<&OsStr> =
            vec!["netns".as_ref(), "exec".as_ref(), self.switch_ns.as_ref()];
        full.push(nft.as_os_str());
        full.extend(args.iter().map(OsStr::new));
        run_with_input(&self.ip, full, script).map_err(|e| io::Error::other(e.0))
    }
}

/// An installed loss rule; removed when dropped.
#[derive(Debug)]
pub struct LossRule<'lab> {
    lab: &'lab Lab,
    nft: PathBuf,
    tag: String,
    removed: bool,
}

impl LossRule<'_> {
    fn find(&self) -> io::Result<(u64, LossCounters)> {
        let listing = self.lab.nft(
            &self.nft,
            &["-a", "list", "chain", "bridge", NFT_TABLE, NFT_CHAIN],
            "",
        )?;
        parse_rule(&listing, &self.tag).ok_or_else(|| {
            io::Error::other(format!("loss rule {} not found in:\n{listing}", self.tag))
        })
    }

    /// Current counts.
    pub fn counters(&self) -> io::Result<LossCounters> {
        Ok(self.find()?.1)
    }

    /// Frames dropped so far.
    pub fn dropped(&self) -> io::Result<u64> {
        Ok(self.counters()?.dropped)
    }

    /// Removes the rule, returning its final counts.
    pub fn remove(mut self) -> io::Result<LossCounters> {
        self.delete()
    }

    fn delete(&mut self) -> io::Result<LossCounters> {
        let (handle, counters) = self.find()?;
        let script = format!("delete rule bridge {NFT_TABLE} {NFT_CHAIN} handle {handle}\n");
        self.lab.nft(&self.nft, &["-f", "-"], &script)?;
        self.removed = true;
        Ok(counters)
    }
}

impl Drop for LossRule<'_> {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.delete();
        }
    }
}

/// Handle and counters of the rule commented `tag` in an `nft -a list` output.
fn parse_rule(listing: &str, tag: &str) -> Option<(u64, LossCounters)> {
    let comment = format!("comment \"{tag}\"");
    let line = listing.lines().find(|l| l.contains(&comment))?;
    let handle = line.split("# handle ").nth(1)?.trim().parse().ok()?;
    let mut counts = line
        .split("counter packets ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok());
    let matched = counts.next()?;
    let dropped = counts.next()?;
    Some((handle, LossCounters { matched, dropped }))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nft_rule_listing() {
        let listing = "table bridge lab {\n\tchain impair { # handle 1\n\
            \t\ttype filter hook forward priority 0; policy accept;\n\
            \t\toifname \"h2p\" udp dport 9000-9001 counter packets 812 bytes 1200000 numgen \
            random mod 1000 < 50 counter packets 41 bytes 60000 drop comment \"loss-12\" # handle 7\n\
            \t\toifname \"h1p\" udp dport 9000-9001 counter packets 1 bytes 2 numgen random mod \
            1000 < 50 counter packets 0 bytes 0 drop comment \"loss-1\" # handle 3\n\t}\n}\n";
        assert_eq!(
            parse_rule(listing, "loss-12"),
            Some((
                7,
                LossCounters {
                    matched: 812,
                    dropped: 41
                }
            ))
        );
        assert_eq!(
            parse_rule(listing, "loss-1"),
            Some((
                3,
                LossCounters {
                    matched: 1,
                    dropped: 0
                }
            ))
        );
        assert_eq!(parse_rule(listing, "loss-2"), None);
    }
}
