//! The network lab: a handful of hosts in Linux network namespaces, joined by one virtual
//! switch, in which the interoperability tests and benchmarks run the real programs.
//!
//! # Topology
//!
//! ```text
//!   namespace <id>-sw:  bridge br0 ── h0p ── h1p ── … ── h<N-1>p      (the "switch")
//!                                      │      │             │
//!   namespace <id>-h0:                h0e     │             │     10.66.0.1   (the sender)
//!   namespace <id>-h1:                       h1e            │     10.66.0.11
//!   namespace <id>-h<i>:                                   h<i>e  10.66.0.(10+i)
//! ```
//!
//! `<id>` is `udpcl-<pid>-<n>`: unique per lab, so labs of several test threads and test
//! processes coexist. Interface names are local to their namespace and therefore the same
//! in every lab, and so are the addresses (they match the reference captures). Nothing is
//! created in, or routed to, the root namespace: lab traffic cannot leave the lab.
//!
//! Every host interface has a broadcast address and a route for 224.0.0.0/4, IPv6 is
//! disabled in all lab namespaces, and the bridge floods multicast like a dumb switch
//! (IGMP snooping off; see [`LabBuilder::igmp_snooping`]). The code says at each setting
//! why it matters.
//!
//! # Use in a test
//!
//! ```no_run
//! use std::time::Duration;
//! use udpcast_tests::lab::{self, Lab, Loss};
//!
//! let Some(lab) = Lab::new_or_skip(3) else { return };
//! let input = lab.path("in.bin");
//! lab::write_random_file(&input, 1 << 20, 7).unwrap();
//! let _loss = lab.add_loss(&Loss::toward(2, 50)).unwrap();
//! let mut rx = lab
//!     .host(1)
//!     .command("udp-receiver")
//!     .args(["--nokbd", "--file", "out.bin"])
//!     .spawn()
//!     .unwrap();
//! rx.expect_success(Duration::from_secs(30));
//! ```
//!
//! Tests that cannot get a lab (not root, no namespaces, a missing tool) skip loudly; with
//! `UDPCAST_REQUIRE_LAB=1` they fail instead. `UDPCAST_KEEP_LAB=1` keeps each lab's
//! directory (logs, captures, files) for inspection.

mod builder;
mod capture;
mod command;
mod data;
mod host;
mod loss;
mod process;
mod programs;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use builder::LabBuilder;
pub use capture::{Capture, CaptureFile};
pub use command::{Input, LabCommand};
pub use data::{random_bytes, sha256_file, sha256_hex, wait_until, write_random_file, SplitMix64};
pub use host::Host;
pub use loss::{Loss, LossCounters, LossRule};
pub use process::{expect_all_success, Proc};
pub use programs::{find_program, lab_required, our_program, require_program, skip_or_fail};

use builder::{purge_namespaces, run_with_input};

/// Environment variable: when set (to anything but `0` or nothing), a test that cannot get
/// a lab or a required program fails instead of skipping. CI sets it.
pub const REQUIRE_ENV: &str = "UDPCAST_REQUIRE_LAB";
/// Environment variable: when set, every lab keeps its directory and prints its path.
pub const KEEP_ENV: &str = "UDPCAST_KEEP_LAB";
/// Environment variable: when set, the lab pretends to be unavailable, with its value as the
/// reason. Exists to exercise the skip and require paths on a machine that has a lab.
pub const UNAVAILABLE_ENV: &str = "UDPCAST_LAB_UNAVAILABLE";
/// Time limit of a command unless [`LabCommand::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// udpcast's default port base: receivers listen on it, the sender on the next port.
pub const DEFAULT_PORTBASE: u16 = 9000;
/// The most hosts a lab can have (host addresses run up to .254).
pub const MAX_HOSTS: usize = 245;

const NETNS_DIRS: [&str; 2] = ["/run/netns", "/var/run/netns"];
const BRIDGE: &str = "br0";
/// Seconds `timeout(1)` waits after its TERM before it sends KILL.
const KILL_AFTER_SECS: u64 = 2;
const POLL: Duration = Duration::from_millis(10);

// ---------------------------------------------------------------------------------------
// Errors

/// Why a lab could not be built.
#[derive(Clone, Debug)]
pub struct LabError(String);

impl LabError {
    fn new(reason: impl Into<String>) -> Self {
        LabError(reason.into())
    }

    /// The human-readable reason.
    pub fn reason(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabError {}

// ---------------------------------------------------------------------------------------
// The lab

struct HostInfo {
    netns: String,
    iface: String,
    port: String,
    addr: Ipv4Addr,
    broadcast: Ipv4Addr,
}

/// A running lab. Dropping it kills every process still running in it, deletes its
/// namespaces and (unless `UDPCAST_KEEP_LAB` is set) its directory.
pub struct Lab {
    id: String,
    dir: PathBuf,
    keep: bool,
    ip: PathBuf,
    timeout: PathBuf,
    snooping: bool,
    switch_ns: String,
    hosts: Vec<HostInfo>,
    /// Namespaces created so far, in creation order.
    namespaces: Vec<String>,
    /// Process groups spawned and not yet reaped.
    procs: Mutex<BTreeSet<libc::pid_t>>,
    /// How often each log-file label was handed out.
    labels: Mutex<HashMap<String, u32>>,
    next_rule: AtomicU32,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|h| format!("{} {} {}", h.netns, h.iface, h.addr))
            .collect();
        f.debug_struct("Lab")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .field("switch", &self.switch_ns)
            .field("hosts", &hosts)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not make cleanup in another thread panic too.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Lab {
    /// Options for a lab of `hosts` hosts (host 0 is by convention the sender). Panics
    /// unless `1 <= hosts <= MAX_HOSTS`: that is a bug in the test, not a reason to skip.
    pub fn builder(hosts: usize) -> LabBuilder {
        assert!(
            (1..=MAX_HOSTS).contains(&hosts),
            "a lab has 1..={MAX_HOSTS} hosts, not {hosts}"
        );
        LabBuilder {
            hosts,
            snooping: false,
            subnet: [10, 66, 0],
            programs: Vec::new(),
        }
    }

    /// A lab of `hosts` hosts with default options.
    pub fn new(hosts: usize) -> Result<Lab, LabError> {
        Lab::builder(hosts).build()
    }

    /// A lab of `hosts` hosts, or `None` after a loud skip message (a panic under
    /// `UDPCAST_REQUIRE_LAB`): `let Some(lab) = Lab::new_or_skip(3) else { return };`
    #[track_caller]
    pub fn new_or_skip(hosts: usize) -> Option<Lab> {
        Lab::builder(hosts).build_or_skip()
    }

    fn create(&mut self) -> Result<(), LabError> {
        let all: Vec<String> = std::iter::once(self.switch_ns.clone())
            .chain(self.hosts.iter().map(|h| h.netns.clone()))
            .collect();
        // Pid and lab number are unique among live processes, so a namespace that already
        // has one of our names was left by a dead process that had the same pid.
        let leftovers: Vec<String> = all.iter().filter(|ns| netns_exists(ns)).cloned().collect();
        purge_namespaces(&self.ip, &leftovers);
        for ns in all {
            run_with_input(&self.ip, ["netns", "add", ns.as_str()], "")?;
            self.namespaces.push(ns);
        }

        // Before any interface exists: new interfaces copy the "default" settings.
        let mut common = vec![
            ("net/ipv6/conf/all/disable_ipv6", "1"),
            ("net/ipv6/conf/default/disable_ipv6", "1"),
        ];
        set_sysctls(&self.switch_ns, &common)?;
        if self.snooping {
            common.push(("net/ipv4/conf/all/force_igmp_version", "3"));
            common.push(("net/ipv4/conf/default/force_igmp_version", "3"));
        }
        for h in &self.hosts {
            set_sysctls(&h.netns, &common)?;
        }

        let bridge_opts = if self.snooping {
            "mcast_snooping 1 mcast_querier 1 mcast_igmp_version 3"
        } else {
            "mcast_snooping 0"
        };
        let mut switch = format!(
            "link set lo up\nlink add {BRIDGE} type bridge {bridge_opts}\nlink set {BRIDGE} up\n"
        );
        for h in &self.hosts {
            // Created here and moved straight into the host: the pair never exists in the
            // root namespace, so it can never clash with or disturb the machine's own links.
            switch.push_str(&format!(
                "link add {p} type veth peer name {e} netns {ns}\n\
                 link set {p} master {BRIDGE}\nlink set {p} up\n",
                p = h.port,
                e = h.iface,
                ns = h.netns
            ));
        }
        self.ip_batch(&self.switch_ns, &switch)?;

        for h in &self.hosts {
            // `brd +`: without a broadcast address Debian's udp-receiver sends its
            // CONNECT_REQ to 0.0.0.0 and never finds the sender.
            let script = format!(
                "link set lo up\naddr add {addr}/24 brd + dev {e}\nlink set {e} up\n\
                 route add 224.0.0.0/4 dev {e}\n",
                addr = h.addr,
                e = h.iface
            );
            self.ip_batch(&h.netns, &script)?;
        }
        self.wait_ports_forwarding()
    }

    fn ip_batch(&self, netns: &str, script: &str) -> Result<String, LabError> {
        run_with_input(&self.ip, ["-n", netns, "-batch", "-"], script)
    }

    /// The first frames of a test must not be lost to a port that is still coming up.
    fn wait_ports_forwarding(&self) -> Result<(), LabError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let listing = run_with_input(
                &self.ip,
                [
                    "-n",
                    &self.switch_ns,
                    "-d",
                    "-o",
                    "link",
                    "show",
                    "master",
                    BRIDGE,
                ],
                "",
            )?;
            let forwarding = listing.matches("bridge_slave state forwarding").count();
            if forwarding == self.hosts.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LabError::new(format!(
                    "only {forwarding} of {} bridge ports are forwarding after 5 s:\n{listing}",
                    self.hosts.len()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Unique name of this lab (`udpcl-<pid>-<n>`), the prefix of its namespaces.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Always false: a lab has at least one host (here for the `len` convention).
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Host `index` (0 is by convention the sender). Panics if there is no such host.
    pub fn host(&self, index: usize) -> Host<'_> {
        assert!(
            index < self.hosts.len(),
            "lab {} has no host {index}",
            self.id
        );
        Host { lab: self, index }
    }

    /// All hosts, in index order.
    pub fn hosts(&self) -> impl Iterator<Item = Host<'_>> + '_ {
        (0..self.hosts.len()).map(move |index| Host { lab: self, index })
    }

    /// Namespace of the switch (bridge and loss rules live there).
    pub fn switch_netns(&self) -> &str {
        &self.switch_ns
    }

    /// Name of the bridge inside the switch namespace.
    pub fn bridge(&self) -> &str {
        BRIDGE
    }

    /// Whether the bridge does IGMP snooping (see [`LabBuilder::igmp_snooping`]).
    pub fn igmp_snooping(&self) -> bool {
        self.snooping
    }

    /// The lab's private directory: process logs, captures, and files for the test.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `name` inside [`dir`](Self::dir).
    pub fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.join(name)
    }

    /// A file name in the lab directory nobody else in this lab got: `base.ext`, then
    /// `base.2.ext`, …
    fn unique_label(&self, base: &str) -> String {
        let clean: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut labels = lock(&self.labels);
        let count = labels.entry(clean.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            clean
        } else {
            format!("{clean}.{count}")
        }
    }

    fn log_command(&self, line: &str) {
        if let Ok(mut f) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("commands.log"))
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Only processes whose `Proc` was leaked remain here: every `Proc` kills and reaps
        // its own group when dropped, and it cannot outlive the lab.
        for &pgid in lock(&self.procs).iter() {
            // SAFETY: plain syscall; the group's leader was never reaped, so its id is ours.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        if !self.namespaces.is_empty() {
            let script: String = self
                .namespaces
                .iter()
                .rev()
                .map(|ns| format!("netns del {ns}\n"))
                .collect();
            if let Err(e) = run_with_input(&self.ip, ["-force", "-batch", "-"], &script) {
                eprintln!("lab {}: removing namespaces: {e}", self.id);
            }
        }
        if self.keep {
            let msg = format!("lab {}: kept directory {}\n", self.id, self.dir.display());
            let _ = io::stderr().lock().write_all(msg.as_bytes());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn netns_file(name: &str) -> Option<PathBuf> {
    NETNS_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn netns_exists(name: &str) -> bool {
    netns_file(name).is_some()
}

/// Writes sysctls of namespace `netns` from a short-lived thread that joins it: cheaper and
/// simpler than a process per setting, and the test's own threads never change namespace.
#[cfg(target_os = "linux")]
fn set_sysctls(netns: &str, settings: &[(&str, &str)]) -> Result<(), LabError> {
    use std::os::fd::AsRawFd;
    let fail = |e: io::Error| LabError::new(format!("setting sysctls in {netns}: {e}"));
    let path = netns_file(netns).ok_or_else(|| {
        fail(io::Error::new(
            io::ErrorKind::NotFound,
            "namespace file missing",
        ))
    })?;
    let ns_file = File::open(path).map_err(fail)?;
    std::thread::scope(|s| {
        s.spawn(|| -> io::Result<()> {
            // SAFETY: a valid namespace fd; only this thread's network namespace changes.
            if unsafe { libc::setns(ns_file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // /proc/sys/net shows the network namespace of the thread that opens it.
            for (key, value) in settings {
                match fs::write(Path::new("/proc/sys").join(key), value) {
                    // A kernel without IPv6 has no IPv6 chatter to silence either.
                    Err(e)
                        if e.kind() == io::ErrorKind::NotFound && key.starts_with("net/ipv6") => {}
                    r => r?,
                }
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("sysctl thread panicked")))
    })
    .map_err(fail)
}

#[cfg(not(target_os = "linux"))]
fn set_sysctls(_netns: &str, _settings: &[(&str, &str)]) -> Result<(), LabError> {
    Err(LabError::new("network namespaces exist only on Linux"))
}
