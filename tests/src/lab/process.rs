//! A program running in a lab host: waiting for it, signalling and killing its process
//! group, and saying in words how it ended.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ExitStatus};
use std::time::{Duration, Instant};

use super::{lock, wait_until, Lab, KILL_AFTER_SECS, POLL};

/// How long a killed group may take to die (a process in uninterruptible sleep dies only
/// when its I/O ends).
const GROUP_EXIT_LIMIT: Duration = Duration::from_secs(5);

/// A program running in a lab host. Dropping it kills its process group (if still running)
/// and reaps it.
pub struct Proc<'lab> {
    pub(super) lab: &'lab Lab,
    pub(super) label: String,
    pub(super) host: usize,
    pub(super) command_line: String,
    pub(super) child: Child,
    pub(super) pid: libc::pid_t,
    pub(super) stdin: Option<ChildStdin>,
    pub(super) status: Option<ExitStatus>,
    pub(super) started: Instant,
    pub(super) limit: Duration,
    /// Run time, once reaped: tells a SIGKILL of timeout(1) from other deaths.
    pub(super) ran_for: Option<Duration>,
    /// Whether the SIGKILL came from this harness (kill, a missed deadline, Drop).
    pub(super) killed_by_harness: bool,
    pub(super) stdout_path: PathBuf,
    pub(super) stderr_path: PathBuf,
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

    /// The pipe to its stdin, with [`Input::Piped`](super::Input::Piped) and until
    /// [`close_stdin`](Self::close_stdin).
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

#[cfg(test)]
mod tests {
    use super::*;

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
