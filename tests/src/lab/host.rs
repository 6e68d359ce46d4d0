//! One host of a lab: its namespace, interface and addresses, and the commands run in it.

use std::ffi::OsStr;
use std::fmt;
use std::net::Ipv4Addr;

use super::{HostInfo, Input, Lab, LabCommand, DEFAULT_TIMEOUT};

/// One host of a lab: its namespace, interface and addresses, and the way to run programs
/// and captures in it.
#[derive(Clone, Copy)]
pub struct Host<'lab> {
    pub(super) lab: &'lab Lab,
    pub(super) index: usize,
}

impl fmt::Debug for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Host({} {} {} in {})",
            self.index,
            self.iface(),
            self.addr(),
            self.netns()
        )
    }
}

impl<'lab> Host<'lab> {
    fn info(&self) -> &'lab HostInfo {
        &self.lab.hosts[self.index]
    }

    /// Index in the lab.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Name of the host's network namespace (for `ip netns exec` / `ip -n`).
    pub fn netns(&self) -> &'lab str {
        &self.info().netns
    }

    /// The host's interface (`h<i>e`), its only one besides `lo`.
    pub fn iface(&self) -> &'lab str {
        &self.info().iface
    }

    /// The bridge port toward this host, in the switch namespace (`h<i>p`).
    pub fn switch_port(&self) -> &'lab str {
        &self.info().port
    }

    /// IPv4 address (prefix length 24).
    pub fn addr(&self) -> Ipv4Addr {
        self.info().addr
    }

    /// Broadcast address of the host's subnet.
    pub fn broadcast(&self) -> Ipv4Addr {
        self.info().broadcast
    }

    /// A command to run `program` in this host (found via `PATH` inside the namespace, so
    /// pass an absolute path for anything not installed system-wide).
    pub fn command(&self, program: impl AsRef<OsStr>) -> LabCommand<'lab> {
        LabCommand {
            lab: self.lab,
            host: self.index,
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
            timeout: DEFAULT_TIMEOUT,
            stdin: Input::Null,
            stdout: None,
            label: None,
            label_is_unique: false,
        }
    }
}
