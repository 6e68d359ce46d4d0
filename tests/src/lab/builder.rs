//! Building a lab: its options, the cheap checks of whether one can exist here, and the
//! removal of labs left behind by dead processes.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::{
    find_program, skip_or_fail, HostInfo, Lab, LabError, KEEP_ENV, NETNS_DIRS, UNAVAILABLE_ENV,
};

const NS_PREFIX: &str = "udpcl-";
const DIR_PREFIX: &str = "udpcast-lab-";
const KEEP_MARKER: &str = ".keep";

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Options of a lab; obtained from [`Lab::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct LabBuilder {
    pub(super) hosts: usize,
    pub(super) snooping: bool,
    pub(super) subnet: [u8; 3],
    pub(super) programs: Vec<String>,
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
pub(super) fn purge_namespaces(ip: &Path, names: &[String]) {
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
pub(super) fn run_with_input<I, S>(program: &Path, args: I, input: &str) -> Result<String, LabError>
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::MAX_HOSTS;

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
}
