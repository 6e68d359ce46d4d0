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

use std::collections::{BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

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

const NS_PREFIX: &str = "udpcl-";
const DIR_PREFIX: &str = "udpcast-lab-";
const KEEP_MARKER: &str = ".keep";
const NETNS_DIRS: [&str; 2] = ["/run/netns", "/var/run/netns"];
const BRIDGE: &str = "br0";
const NFT_TABLE: &str = "lab";
const NFT_CHAIN: &str = "impair";
/// Seconds `timeout(1)` waits after its TERM before it sends KILL.
const KILL_AFTER_SECS: u64 = 2;
const POLL: Duration = Duration::from_millis(10);
/// How long a killed group may take to die (a process in uninterruptible sleep dies only
/// when its I/O ends).
const GROUP_EXIT_LIMIT: Duration = Duration::from_secs(5);
/// tcpdump only lives as long as its `Capture`; this bound matters only if the test process
/// itself dies without unwinding.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(600);
/// udpcast honours `IFNAME` when `--interface` is absent: a value inherited from the
/// developer's shell would silently change which interface the programs pick.
const SCRUBBED_ENV: [&str; 1] = ["IFNAME"];

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

// ---------------------------------------------------------------------------------------
// Errors, skipping, programs

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

/// Whether [`REQUIRE_ENV`] asks for skips to be failures.
pub fn lab_required() -> bool {
    std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Reports that the calling test cannot run: a loud message on stderr, or a panic when
/// [`REQUIRE_ENV`] is set.
#[track_caller]
pub fn skip_or_fail(what: &str, reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed thread>")
        .to_owned();
    if lab_required() {
        panic!("{what}: {reason} (in {test}; {REQUIRE_ENV} is set, so this cannot be skipped)");
    }
    let bar = "!".repeat(78);
    let msg = format!(
        "\n{bar}\nSKIPPED: {what}: {reason}\n  test: {test}\n  \
         (set {REQUIRE_ENV}=1 to make this a failure)\n{bar}\n"
    );
    // Straight to file descriptor 2: libtest captures `eprintln!` of passing tests, and a
    // skipped test passes, so the macro would hide exactly the message that must be seen.
    let _ = io::stderr().lock().write_all(msg.as_bytes());
}

/// Our binary `name` (`udp-sender`, `udp-receiver`) of the build the running test belongs
/// to: next to the test executable's directory (`target/debug/deps/..`).
pub fn our_program(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable has no grandparent directory");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p udpcast-cli` first",
        path.display()
    );
    path
}

/// Where `name` would be executed from: `name` itself if it contains a `/`, otherwise the
/// first match in `PATH` or the usual system directories (`ip` and `nft` live in sbin,
/// which an unprivileged `PATH` often lacks).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = Path::new(name);
        return is_executable(path).then(|| path.to_path_buf());
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let system = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    std::env::split_paths(&path_var)
        .chain(system.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// [`find_program`], or skip the calling test loudly (fail under [`REQUIRE_ENV`]) when the
/// program is missing. Use it like `let Some(sender) = require_program("udp-sender") else { return };`.
#[track_caller]
pub fn require_program(name: &str) -> Option<PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        skip_or_fail(
            "required program unavailable",
            &format!("`{name}` is not installed (not found in PATH or the system directories)"),
        );
    }
    found
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

// ---------------------------------------------------------------------------------------
// Building

/// Options of a lab; obtained from [`Lab::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct LabBuilder {
    hosts: usize,
    snooping: bool,
    subnet: [u8; 3],
    programs: Vec<String>,
}

impl LabBuilder {
    /// Keep IGMP snooping on the bridge, with the bridge as IGMP querier and every host
    /// forced to IGMPv3 (under IGMPv2 report suppression, snooping loses members). Off by
    /// default: flooding is what a dumb switch does and cannot lose group members.
    pub fn igmp_snooping(mut self, on: bool) -> Self {
        self.snooping = on;
        self
    }

    /// The /24 the hosts live in (default `10.66.0`, as in the reference captures).
    pub fn subnet(mut self, a: u8, b: u8, c: u8) -> Self {
        self.subnet = [a, b, c];
        self
    }

    /// Treat a missing `program` as "lab unavailable" (e.g. `nft` for loss, `tcpdump` for
    /// captures), so the test skips or fails up front instead of half-way.
    pub fn require_program(mut self, program: &str) -> Self {
        self.programs.push(program.to_owned());
        self
    }

    /// Builds the lab.
    pub fn build(self) -> Result<Lab, LabError> {
        let tools = probe(&self.programs)?;
        remove_stale_labs(&tools.ip);

        let pid = std::process::id();
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let id = format!("{NS_PREFIX}{pid}-{n}");
        let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{pid}-{n}"));
        // A directory of a previous process with our pid would only confuse the logs.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .map_err(|e| LabError::new(format!("cannot create {}: {e}", dir.display())))?;
        let keep = std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        if keep {
            // Tells a later run's stale-lab sweep that this directory is wanted.
            let _ = File::create(dir.join(KEEP_MARKER));
        }

        let hosts = (0..self.hosts)
            .map(|i| {
                let addr = host_addr(self.subnet, i);
                HostInfo {
                    netns: format!("{id}-h{i}"),
                    iface: format!("h{i}e"),
                    port: format!("h{i}p"),
                    addr,
                    broadcast: Ipv4Addr::from(u32::from(addr) | 0xff),
                }
            })
            .collect();
        let mut lab = Lab {
            switch_ns: format!("{id}-sw"),
            id,
            dir,
            keep,
            ip: tools.ip,
            timeout: tools.timeout,
            snooping: self.snooping,
            hosts,
            namespaces: Vec::new(),
            procs: Mutex::new(BTreeSet::new()),
            labels: Mutex::new(HashMap::new()),
            next_rule: AtomicU32::new(1),
        };
        // On error `lab` is dropped here, which removes whatever was created so far.
        lab.create()?;
        Ok(lab)
    }

    /// [`build`](Self::build), or skip the calling test loudly when the lab is unavailable
    /// (a failure under `UDPCAST_REQUIRE_LAB`).
    #[track_caller]
    pub fn build_or_skip(self) -> Option<Lab> {
        match self.build() {
            Ok(lab) => Some(lab),
            Err(e) => {
                skip_or_fail("network lab unavailable", e.reason());
                None
            }
        }
    }
}

fn host_addr(subnet: [u8; 3], index: usize) -> Ipv4Addr {
    // .1 for the sender and .11, .12, … for receivers, as in the reference captures.
    let last = if index == 0 { 1 } else { 10 + index };
    Ipv4Addr::new(subnet[0], subnet[1], subnet[2], last as u8)
}

struct Tools {
    ip: PathBuf,
    timeout: PathBuf,
}

/// The cheap checks; the expensive one (can we really create namespaces, veths and a
/// bridge?) is building the lab itself.
fn probe(programs: &[String]) -> Result<Tools, LabError> {
    if let Some(reason) = std::env::var_os(UNAVAILABLE_ENV).filter(|v| !v.is_empty()) {
        return Err(LabError::new(format!(
            "{UNAVAILABLE_ENV} is set ({})",
            reason.to_string_lossy()
        )));
    }
    if !cfg!(target_os = "linux") {
        return Err(LabError::new("network namespaces exist only on Linux"));
    }
    // SAFETY: geteuid cannot fail and touches no memory.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(LabError::new(format!(
            "not running as root (euid {euid}); namespaces, bridges and veth pairs need \
             CAP_SYS_ADMIN and CAP_NET_ADMIN"
        )));
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return Err(LabError::new("the kernel has no network namespaces"));
    }
    let need = |name: &str, what: &str| {
        find_program(name)
            .ok_or_else(|| LabError::new(format!("`{name}` ({what}) is not installed")))
    };
    let tools = Tools {
        ip: need("ip", "iproute2")?,
        timeout: need("timeout", "coreutils")?,
    };
    for program in programs {
        need(program, "required by this test")?;
    }
    Ok(tools)
}

/// Removes namespaces and directories of labs whose process is gone (killed before its
/// `Drop` could run). Labs of live processes, whichever they are, are never touched.
fn remove_stale_labs(ip: &Path) {
    let me = std::process::id();
    let dead = |name: &str, prefix: &str| {
        owner_pid(name, prefix).is_some_and(|pid| pid != me && !process_exists(pid))
    };
    let mut stale = Vec::new();
    for dir in NETNS_DIRS {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if dead(&name, NS_PREFIX) {
                stale.push(name);
            }
        }
        break;
    }
    purge_namespaces(ip, &stale);
    if let Ok(entries) = fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if dead(&name, DIR_PREFIX) && !entry.path().join(KEEP_MARKER).exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Deletes the namespaces `names` of dead labs, after killing what still runs in them:
/// orphans nobody will wait for, which would otherwise live until their time limit
/// (minutes, for a capture).
fn purge_namespaces(ip: &Path, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let query: String = names
        .iter()
        .map(|ns| format!("netns pids {ns}\n"))
        .collect();
    if let Ok(pids) = run_with_input(ip, ["-force", "-batch", "-"], &query) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<libc::pid_t>().ok())
        {
            // SAFETY: plain syscall; these processes live in a dead lab's namespace.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    // Another process may be sweeping the same namespaces right now: errors are fine.
    let script: String = names.iter().map(|ns| format!("netns del {ns}\n")).collect();
    let _ = run_with_input(ip, ["-force", "-batch", "-"], &script);
}

/// The pid in a lab name `<prefix><pid>-<n>[-…]`.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether `pid` is a live process. A zombie counts as dead: a test process killed with
/// SIGKILL stays a zombie for as long as nobody reaps it, and in containers whose init
/// does not reap orphans that is for ever.
fn process_exists(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the command name, which is in parentheses and may itself
        // contain ") ".
        Ok(stat) => !matches!(
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next()),
            Some('Z' | 'X')
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(_) => {
            let Ok(pid) = libc::pid_t::try_from(pid) else {
                return false;
            };
            // SAFETY: signal 0 only checks for existence and permission.
            let r = unsafe { libc::kill(pid, 0) };
            r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        }
    }
}

/// Runs a short administrative command to completion, feeding it `input`; its stdout on
/// success, an error naming the command and quoting its stderr otherwise.
fn run_with_input<I, S>(program: &Path, args: I, input: &str) -> Result<String, LabError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .map_err(|e| LabError::new(format!("cannot run {shown}: {e}")))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // The whole input fits in the pipe buffer for everything the lab sends, but write from
    // a thread anyway so that a chatty child can never deadlock us.
    let owned = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(owned.as_bytes());
    });
    let out = child
        .wait_with_output()
        .map_err(|e| LabError::new(format!("waiting for {shown}: {e}")))?;
    let _ = writer.join();
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut msg = format!(
        "{shown} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    if !input.is_empty() {
        msg.push_str(&format!("\n  its input was:\n{input}"));
    }
    Err(LabError::new(msg))
}

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

    /// Starts dropping a share of the UDP frames the switch forwards toward some hosts (see
    /// [`Loss`]). The rule is removed when the returned handle is dropped. Needs `nft`.
    pub fn add_loss(&self, loss: &Loss) -> io::Result<LossRule<'_>> {
        let nft = find_program("nft").ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "`nft` (nftables) is not installed")
        })?;
        if loss.permille > 1000 {
            return Err(invalid(format!(
                "loss of {}‰ is more than everything",
                loss.permille
            )));
        }
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
             numgen random mod 1000 < {pm} counter drop comment \"{tag}\"\n",
            lo = loss.ports.0,
            hi = loss.ports.1,
            pm = loss.permille,
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

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
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

// ---------------------------------------------------------------------------------------
// Hosts and commands

/// One host of a lab: its namespace, interface and addresses, and the way to run programs
/// and captures in it.
#[derive(Clone, Copy)]
pub struct Host<'lab> {
    lab: &'lab Lab,
    index: usize,
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

/// What a lab process reads on stdin.
#[derive(Clone, Debug)]
pub enum Input {
    /// `/dev/null`, the default. Note that udpcast takes its end-of-file for a key press
    /// unless run with `--nokbd`.
    Null,
    /// The contents of a file.
    File(PathBuf),
    /// A pipe, written through [`Proc::stdin`] and closed by [`Proc::close_stdin`].
    Piped,
}

/// A program to run in a lab host, built by [`Host::command`]. It runs as
/// `ip netns exec <ns> timeout -k 2 <limit> <program> <args>` in a process group of its
/// own, with stdout and stderr in files of the lab directory.
#[must_use]
pub struct LabCommand<'lab> {
    lab: &'lab Lab,
    host: usize,
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    timeout: Duration,
    stdin: Input,
    stdout: Option<PathBuf>,
    label: Option<String>,
    label_is_unique: bool,
}

impl<'lab> LabCommand<'lab> {
    /// Adds an argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable (the test's environment is inherited, minus `IFNAME`).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_owned(), None));
        self
    }

    /// Working directory (default: the lab directory, so relative file names land there).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Time limit (default [`DEFAULT_TIMEOUT`]): then `timeout(1)` sends TERM, and KILL
    /// two seconds later. The exit status is 124 after a TERM, 137 after a KILL.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// What the program reads on stdin (default [`Input::Null`]).
    pub fn stdin(mut self, input: Input) -> Self {
        self.stdin = input;
        self
    }

    /// Sends stdout to `path` instead of the lab's `<label>.stdout` (for programs that
    /// write their payload to stdout).
    pub fn stdout_file(mut self, path: impl AsRef<Path>) -> Self {
        self.stdout = Some(path.as_ref().to_owned());
        self
    }

    /// Base name of the log files (default `h<i>-<program>`); made unique within the lab.
    pub fn label(mut self, label: &str) -> Self {
        self.label = Some(label.to_owned());
        self
    }

    /// A label already made unique by [`Lab::unique_label`], taken as is.
    fn unique_label(mut self, label: String) -> Self {
        self.label = Some(label);
        self.label_is_unique = true;
        self
    }

    /// Starts the program.
    pub fn spawn(self) -> io::Result<Proc<'lab>> {
        let lab = self.lab;
        let host = &lab.hosts[self.host];
        let base = self.label.clone().unwrap_or_else(|| {
            let name = Path::new(&self.program)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "cmd".to_owned());
            format!("h{}-{name}", self.host)
        });
        let label = if self.label_is_unique {
            base
        } else {
            lab.unique_label(&base)
        };
        let stdout_path = self
            .stdout
            .unwrap_or_else(|| lab.path(format!("{label}.stdout")));
        let stderr_path = lab.path(format!("{label}.stderr"));

        // `timeout 0` would mean "no limit".
        let limit = self.timeout.max(Duration::from_millis(1));
        let mut cmd = Command::new(&lab.ip);
        cmd.args(["netns", "exec", &host.netns])
            .arg(&lab.timeout)
            .args([
                "-k",
                &KILL_AFTER_SECS.to_string(),
                &limit.as_secs_f64().to_string(),
            ])
            .arg(&self.program)
            .args(&self.args)
            .current_dir(self.cwd.as_deref().unwrap_or(&lab.dir))
            // `ip netns exec` execs timeout, which keeps this group: so the group id is the
            // pid we get, and one kill(-pid) reaches the program and anything it forks.
            .process_group(0)
            .stdout(File::create(&stdout_path)?)
            .stderr(File::create(&stderr_path)?);
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        for (key, value) in &self.envs {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        match &self.stdin {
            Input::Null => cmd.stdin(Stdio::null()),
            Input::File(path) => cmd.stdin(File::open(path)?),
            Input::Piped => cmd.stdin(Stdio::piped()),
        };
        let command_line = format!(
            "{} {}",
            self.program.to_string_lossy(),
            self.args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );

        let mut child = cmd.spawn()?;
        let pid = child.id() as libc::pid_t;
        lock(&lab.procs).insert(pid);

        lab.log_command(&format!(
            "[{label}] pid {pid} in {} (limit {limit:?}): {command_line}",
            host.netns
        ));
        let stdin = child.stdin.take();
        Ok(Proc {
            lab,
            label,
            host: self.host,
            command_line,
            child,
            pid,
            stdin,
            status: None,
            started: Instant::now(),
            limit,
            ran_for: None,
            killed_by_harness: false,
            stdout_path,
            stderr_path,
        })
    }

    /// Runs the program to completion (bounded by its time limit) and collects its exit
    /// status, stdout and stderr.
    pub fn run(self) -> io::Result<Output> {
        let mut proc = self.spawn()?;
        let status = proc.wait()?;
        Ok(Output {
            status,
            stdout: proc.stdout(),
            stderr: proc.stderr().into_bytes(),
        })
    }
}

/// A program running in a lab host. Dropping it kills its process group (if still running)
/// and reaps it.
pub struct Proc<'lab> {
    lab: &'lab Lab,
    label: String,
    host: usize,
    command_line: String,
    child: Child,
    pid: libc::pid_t,
    stdin: Option<ChildStdin>,
    status: Option<ExitStatus>,
    started: Instant,
    limit: Duration,
    /// Run time, once reaped: tells a SIGKILL of timeout(1) from other deaths.
    ran_for: Option<Duration>,
    /// Whether the SIGKILL came from this harness (kill, a missed deadline, Drop).
    killed_by_harness: bool,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl fmt::Debug for Proc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proc")
            .field("label", &self.label)
            .field("pid", &self.pid)
            .field("status", &self.status)
            .finish()
    }
}

impl<'lab> Proc<'lab> {
    /// Process id (also the process group id) of the process.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Base name of the log files.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Index of the host it runs in.
    pub fn host(&self) -> usize {
        self.host
    }

    /// The program and its arguments, for messages.
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// File receiving its stdout.
    pub fn stdout_path(&self) -> &Path {
        &self.stdout_path
    }

    /// File receiving its stderr.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// Its stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        fs::read(&self.stdout_path).unwrap_or_default()
    }

    /// Its stderr so far (lossy UTF-8).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.stderr_path).unwrap_or_default()).into_owned()
    }

    /// The pipe to its stdin, with [`Input::Piped`] and until [`close_stdin`](Self::close_stdin).
    pub fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.stdin.as_mut()
    }

    /// Closes its stdin pipe (end of file).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Its exit status, once it has been collected by a wait.
    pub fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Its exit status if it has exited, without blocking.
    pub fn try_status(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        if !leader_exited(self.pid)? {
            return Ok(None);
        }
        // The leader is a zombie until reaped, which keeps its group id from being reused:
        // the last safe moment to sweep up whatever it left behind in the group.
        self.kill_group();
        self.reap()
    }

    /// SIGKILLs its whole group and waits (bounded) until none of it is alive. Only the
    /// leader, timeout(1), is our child: reaping it says nothing about the program under
    /// it, which may still hold its sockets for a moment, so that the same program
    /// started again at once would find its port in use.
    fn kill_group(&self) {
        // SAFETY: plain syscall; the leader is not reaped yet, so the group is still ours.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        let _ = wait_until(GROUP_EXIT_LIMIT, || !group_alive(self.pid));
    }

    fn reap(&mut self) -> io::Result<Option<ExitStatus>> {
        let status = self.child.wait()?;
        self.status = Some(status);
        self.ran_for = Some(self.started.elapsed());
        lock(&self.lab.procs).remove(&self.pid);
        Ok(Some(status))
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_status(), Ok(None))
    }

    /// Waits up to `within` for it to exit; `None` if it is still running.
    pub fn wait_timeout(&mut self, within: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.try_status()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for it to exit. Never longer than its time limit plus a few seconds: a process
    /// that outlives that (e.g. stopped by SIGSTOP, which also stops timeout(1)) is killed.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        let end = self.started + self.limit + Duration::from_secs(KILL_AFTER_SECS + 3);
        match self.wait_timeout(end.saturating_duration_since(Instant::now()))? {
            Some(status) => Ok(status),
            None => self.kill(),
        }
    }

    /// Sends `signal` (e.g. `libc::SIGSTOP`, `libc::SIGCONT`) to its whole process group.
    pub fn signal(&mut self, signal: libc::c_int) -> io::Result<()> {
        self.signal_target(-self.pid, signal)
    }

    fn signal_target(&mut self, target: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
        if self.try_status()?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} has already exited", self.label),
            ));
        }
        // SAFETY: plain syscall; the group cannot have been reused (see try_status).
        if unsafe { libc::kill(target, signal) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Ends it gracefully: TERM (forwarded by timeout(1) to the program), CONT in case it
    /// was stopped, and KILL to the group if it has not exited within `grace`. Note that
    /// timeout(1) itself follows a forwarded TERM with KILL after 2 s, so a program that
    /// ignores TERM (Debian's udp-sender in mid-transfer does) ends by then at the latest.
    pub fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_status()? {
            return Ok(status);
        }
        // SAFETY: plain syscalls on a process and group we own and have not reaped.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
            libc::kill(-self.pid, libc::SIGCONT);
        }
        match self.wait_timeout(grace)? {
            Some(status) => Ok(status),
            None => self.kill(),
        }
    }

    /// Kills its whole process group with SIGKILL and reaps it.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        self.killed_by_harness = true;
        self.kill_group();
        Ok(self.reap()?.expect("reap returns a status"))
    }

    /// Waits up to `within` until its stderr contains `needle`; false if it does not by
    /// then, or if the process exits without printing it. Replaces guessed sleeps before
    /// starting the next program.
    pub fn wait_for_stderr(&mut self, needle: &str, within: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + within;
        loop {
            if self.stderr().contains(needle) {
                return Ok(true);
            }
            if self.try_status()?.is_some() {
                return Ok(self.stderr().contains(needle));
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits up to `within` for it to exit with status 0, and panics with its command
    /// line, exit reason and stderr otherwise (killing it if it is still running).
    #[track_caller]
    pub fn expect_success(&mut self, within: Duration) -> ExitStatus {
        let problem = match self.wait_timeout(within) {
            Ok(Some(status)) if status.success() => return status,
            Ok(Some(_)) => None,
            Ok(None) => {
                let _ = self.kill();
                Some(format!("still running after {within:?}, killed"))
            }
            Err(e) => Some(format!("cannot wait for it: {e}")),
        };
        panic!("{}", self.report(problem.as_deref(), 3000));
    }

    /// Its exit status in words (e.g. "exit code 1", "timed out after 30s (status 124)"),
    /// once it has been collected.
    pub fn describe_status(&self) -> Option<String> {
        let status = self.status?;
        Some(describe_exit(
            status,
            self.limit,
            self.ran_for,
            self.killed_by_harness,
        ))
    }

    /// Label, state (`problem` or the exit status), command line and stderr tail: what a
    /// failure message needs.
    fn report(&self, problem: Option<&str>, max_stderr: usize) -> String {
        let state = problem
            .map(str::to_owned)
            .or_else(|| self.describe_status())
            .unwrap_or_else(|| "running".to_owned());
        format!(
            "[{}] {state}\n  command: {}\n  host: {} ({})\n--- stderr (tail) ---\n{}\n",
            self.label,
            self.command_line,
            self.host,
            self.lab.hosts[self.host].netns,
            tail(&self.stderr(), max_stderr).trim_end()
        )
    }
}

impl Drop for Proc<'_> {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.kill();
        }
    }
}

/// Whether any process of group `pgid` is alive (zombies count as dead: they hold no
/// sockets or files any more).
fn group_alive(pgid: libc::pid_t) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // After the parenthesised command name: state, ppid, pgrp.
        let mut fields = stat
            .rsplit_once(") ")
            .map_or("", |(_, rest)| rest)
            .split(' ');
        let state = fields.next().and_then(|f| f.chars().next());
        let pgrp = fields.nth(1).and_then(|f| f.parse::<libc::pid_t>().ok());
        pgrp == Some(pgid) && !matches!(state, Some('Z' | 'X'))
    })
}

#[cfg(target_os = "linux")]
fn leader_exited(pid: libc::pid_t) -> io::Result<bool> {
    loop {
        // SAFETY: siginfo_t is plain data; all-zero is a valid value for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // WNOWAIT: look without reaping, so the group id stays ours for a final sweep.
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        // SAFETY: `info` is a valid, writable siginfo_t.
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if r == 0 {
            // SAFETY: waitid filled `info` (si_pid stays 0 when nothing has exited).
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn leader_exited(_pid: libc::pid_t) -> io::Result<bool> {
    Err(io::Error::other("the lab runs only on Linux"))
}

fn describe_exit(
    status: ExitStatus,
    limit: Duration,
    ran_for: Option<Duration>,
    killed_by_harness: bool,
) -> String {
    match (status.code(), status.signal()) {
        (Some(0), _) => "success".to_owned(),
        (Some(124), _) => format!("timed out after {limit:?} (timeout(1) status 124)"),
        (Some(137), _) => {
            format!("timed out after {limit:?}, ignored TERM (timeout(1) status 137)")
        }
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(libc::SIGKILL)) if killed_by_harness => "killed by the test harness".to_owned(),
        // timeout(1)'s KILL goes to its whole group, timeout(1) itself included.
        (None, Some(libc::SIGKILL)) if ran_for.is_some_and(|t| t >= limit) => format!(
            "timed out after {limit:?}, did not exit on TERM, killed by timeout(1) \
             {KILL_AFTER_SECS} s later"
        ),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => format!("{status}"),
    }
}

/// Waits up to `within` for all of `procs` to exit with status 0. As soon as one fails (or
/// time runs out) the others are killed, since they usually cannot finish without it, and
/// the panic message reports every process with its stderr: which one failed first is
/// rarely the whole story.
#[track_caller]
pub fn expect_all_success(procs: &mut [&mut Proc<'_>], within: Duration) {
    let deadline = Instant::now() + within;
    let mut first_failure = None;
    loop {
        let mut running = false;
        for p in procs.iter_mut() {
            match p.try_status() {
                Ok(Some(status)) if !status.success() => {
                    first_failure.get_or_insert_with(|| p.label().to_owned());
                }
                Ok(Some(_)) => {}
                Ok(None) => running = true,
                Err(e) => {
                    first_failure.get_or_insert_with(|| format!("{} ({e})", p.label()));
                }
            }
        }
        if !running && first_failure.is_none() {
            return;
        }
        if !running || first_failure.is_some() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(POLL);
    }
    let cause = match &first_failure {
        Some(label) => format!("{label} failed"),
        None => format!("not all finished within {within:?}"),
    };
    let mut report = format!("{cause}; all processes:\n");
    for p in procs.iter_mut() {
        let problem = match p.status() {
            Some(_) => None,
            None => {
                let _ = p.kill();
                Some(format!("still running, killed ({cause})"))
            }
        };
        report.push_str(&p.report(problem.as_deref(), 1500));
    }
    panic!("{report}");
}

/// The end of `text`, at most `max` bytes, with udpcast's carriage-return progress lines
/// turned into separate lines.
fn tail(text: &str, max: usize) -> String {
    let text = text.replace('\r', "\n");
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

// ---------------------------------------------------------------------------------------
// Captures

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

// ---------------------------------------------------------------------------------------
// Loss

/// A share of UDP frames to drop in the switch, for [`Lab::add_loss`]. Each forwarded copy
/// is dropped independently with probability `permille`/1000, so a multicast frame flooded
/// to several hosts may reach some and not others, like on a real lossy network.
#[derive(Clone, Debug)]
#[must_use]
pub struct Loss {
    toward: Option<Vec<usize>>,
    destination: Option<Ipv4Addr>,
    permille: u32,
    ports: (u16, u16),
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
            permille,
            ports: default_ports(),
        }
    }

    /// Drop `permille`/1000 of the frames toward every host, the sender included (so
    /// receivers' answers are lost too).
    pub fn toward_all(permille: u32) -> Self {
        Loss {
            toward: None,
            destination: None,
            permille,
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

// ---------------------------------------------------------------------------------------
// Files and waiting

/// A small deterministic generator (SplitMix64): test inputs must be the same on every run
/// and machine, and need no statistical quality.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// `len` pseudo-random bytes determined by `seed` (the same as [`write_random_file`] writes).
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut buf = vec![0; len];
    SplitMix64(seed).fill(&mut buf);
    buf
}

/// Writes `len` pseudo-random bytes determined by `seed` to `path`.
pub fn write_random_file(path: &Path, len: u64, seed: u64) -> io::Result<()> {
    let mut rng = SplitMix64(seed);
    let mut out = io::BufWriter::new(File::create(path)?);
    // A multiple of 8, so that chunking does not change the byte stream.
    let mut buf = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

/// SHA-256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SHA-256 of the file at `path`, lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Polls `condition` every 10 ms until it holds (true) or `within` has passed (false).
pub fn wait_until(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_stream_is_deterministic_and_chunking_independent() {
        let a = random_bytes(1000, 5);
        assert_eq!(a, random_bytes(1000, 5));
        assert_ne!(a, random_bytes(1000, 6));
        assert_eq!(&random_bytes(13, 5)[..], &a[..13]);
        let dir = std::env::temp_dir().join(format!("udpcast-lab-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.bin");
        let len = (1 << 16) + 1003;
        write_random_file(&path, len as u64, 5).unwrap();
        let written = fs::read(&path).unwrap();
        assert_eq!(written, random_bytes(len, 5));
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&written));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_known_value() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn lab_names_carry_the_owner_pid() {
        assert_eq!(owner_pid("udpcl-1234-0-h3", NS_PREFIX), Some(1234));
        assert_eq!(owner_pid("udpcl-1234-17-sw", NS_PREFIX), Some(1234));
        assert_eq!(owner_pid("udpcast-lab-99-2", DIR_PREFIX), Some(99));
        assert_eq!(owner_pid("sp0", NS_PREFIX), None);
        assert_eq!(owner_pid("udpcl-x-1", NS_PREFIX), None);
        assert_eq!(owner_pid("udpcast-lab-unit-5", DIR_PREFIX), None);
    }

    #[test]
    fn host_addresses_follow_the_capture_convention() {
        let addr = |i| host_addr([10, 66, 0], i);
        assert_eq!(addr(0), Ipv4Addr::new(10, 66, 0, 1));
        assert_eq!(addr(1), Ipv4Addr::new(10, 66, 0, 11));
        assert_eq!(addr(MAX_HOSTS - 1), Ipv4Addr::new(10, 66, 0, 254));
    }

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

    #[test]
    fn parses_tcpdump_statistics() {
        let stderr = "tcpdump: listening on h0e, link-type EN10MB (Ethernet), snapshot length 1600 bytes\n\
                      3121 packets captured\n3121 packets received by filter\n0 packets dropped by kernel\n";
        assert_eq!(tcpdump_stat(stderr, "packets captured"), Some(3121));
        assert_eq!(tcpdump_stat(stderr, "packets dropped by kernel"), Some(0));
    }

    #[test]
    fn describes_exit_statuses() {
        let limit = Duration::from_secs(3);
        let describe = |raw, ran: u64, ours| {
            describe_exit(
                ExitStatus::from_raw(raw),
                limit,
                Some(Duration::from_secs(ran)),
                ours,
            )
        };
        assert!(describe(124 << 8, 3, false).starts_with("timed out after 3s"));
        assert_eq!(describe(1 << 8, 1, false), "exit code 1");
        assert_eq!(describe(9, 1, false), "killed by signal 9");
        assert_eq!(describe(9, 1, true), "killed by the test harness");
        assert!(describe(9, 5, false).contains("did not exit on TERM"));
        assert_eq!(describe(15, 1, false), "killed by signal 15");
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("a\rbé", 2), "é");
        assert_eq!(tail("a\rb", 10), "a\nb");
    }
}
