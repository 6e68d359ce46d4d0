//! Packet capture: tcpdump on a lab host's interface, stopped cleanly for a complete file.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{find_program, Host, Proc};

/// tcpdump only lives as long as its `Capture`; this bound matters only if the test process
/// itself dies without unwinding.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(600);

impl<'lab> Host<'lab> {
    /// Starts tcpdump on this host's interface with `filter` (e.g. `"udp"`, `"udp or
    /// igmp"`), and returns once it is capturing. Needs `tcpdump`.
    pub fn capture(&self, filter: &str) -> io::Result<Capture<'lab>> {
        let tcpdump = find_program("tcpdump")
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "`tcpdump` is not installed"))?;
        let label = self.lab.unique_label(&format!("h{}-capture", self.index));
        let path = self.lab.path(format!("{label}.pcap"));
        // Immediate mode, a 16 MiB buffer, a small snap length and per-packet flushing:
        // without them tcpdump silently loses packets of udpcast's bursts.
        let mut proc = self
            .command(&tcpdump)
            // As root throughout (-Z root): dropping to the tcpdump user would make the
            // file's writability depend on the lab directory's permissions.
            .args([
                "--immediate-mode",
                "-B",
                "16384",
                "-s",
                "1600",
                "-U",
                "-n",
                "-Z",
                "root",
            ])
            .arg("-w")
            .arg(&path)
            .args(["-i", self.iface()])
            .arg(filter)
            .timeout(CAPTURE_TIMEOUT)
            .unique_label(label)
            .spawn()?;
        if !proc.wait_for_stderr("listening on", Duration::from_secs(10))? {
            let _ = proc.kill();
            return Err(io::Error::other(format!(
                "tcpdump on {} did not start: {}",
                self.iface(),
                proc.stderr().trim()
            )));
        }
        Ok(Capture { proc, path })
    }
}

/// A running tcpdump, from [`Host::capture`]. Call [`stop`](Self::stop) for a complete
/// file; dropping it just kills tcpdump.
#[derive(Debug)]
pub struct Capture<'lab> {
    proc: Proc<'lab>,
    path: PathBuf,
}

/// A finished capture.
#[derive(Clone, Debug)]
pub struct CaptureFile {
    /// The pcap file.
    pub path: PathBuf,
    /// Packets written, as tcpdump reported on exit.
    pub captured: Option<u64>,
    /// Packets the kernel dropped before tcpdump saw them (should be 0, or the capture has
    /// holes that are not the network's fault).
    pub dropped_by_kernel: Option<u64>,
}

impl CaptureFile {
    /// The IPv4/UDP datagrams in the capture.
    pub fn read_udp(&self) -> Result<Vec<crate::pcap::UdpDatagram>, crate::pcap::PcapError> {
        crate::pcap::read_udp(&self.path)
    }
}

impl Capture<'_> {
    /// Where the pcap is being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops tcpdump cleanly so that the file is complete, and reports its statistics.
    pub fn stop(mut self) -> io::Result<CaptureFile> {
        // Frames of the last burst may still sit in the capture buffer.
        std::thread::sleep(Duration::from_millis(100));
        let status = self.proc.terminate(Duration::from_secs(5))?;
        let stderr = self.proc.stderr();
        if !status.success() {
            return Err(io::Error::other(format!(
                "tcpdump ended with {}: {}",
                self.proc
                    .describe_status()
                    .unwrap_or_else(|| status.to_string()),
                stderr.trim()
            )));
        }
        Ok(CaptureFile {
            path: self.path.clone(),
            captured: tcpdump_stat(&stderr, "packets captured"),
            dropped_by_kernel: tcpdump_stat(&stderr, "packets dropped by kernel"),
        })
    }
}

/// The number in tcpdump's closing line `<n> <what>`.
fn tcpdump_stat(stderr: &str, what: &str) -> Option<u64> {
    stderr
        .lines()
        .find_map(|line| line.trim().strip_suffix(what)?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcpdump_statistics() {
        let stderr = "tcpdump: listening on h0e, link-type EN10MB (Ethernet), snapshot length 1600 bytes\n\
                      3121 packets captured\n3121 packets received by filter\n0 packets dropped by kernel\n";
        assert_eq!(tcpdump_stat(stderr, "packets captured"), Some(3121));
        assert_eq!(tcpdump_stat(stderr, "packets dropped by kernel"), Some(0));
    }
}
