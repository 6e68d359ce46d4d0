//! A program to run in a lab host: its arguments, environment and stdin, and how it is
//! spawned under timeout(1) in a process group of its own.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{lock, Lab, Proc, KILL_AFTER_SECS};

/// udpcast honours `IFNAME` when `--interface` is absent: a value inherited from the
/// developer's shell would silently change which interface the programs pick.
const SCRUBBED_ENV: [&str; 1] = ["IFNAME"];

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

/// A program to run in a lab host, built by [`Host::command`](super::Host::command). It
/// runs as `ip netns exec <ns> timeout -k 2 <limit> <program> <args>` in a process group
/// of its own, with stdout and stderr in files of the lab directory.
#[must_use]
pub struct LabCommand<'lab> {
    pub(super) lab: &'lab Lab,
    pub(super) host: usize,
    pub(super) program: OsString,
    pub(super) args: Vec<OsString>,
    pub(super) envs: Vec<(OsString, Option<OsString>)>,
    pub(super) cwd: Option<PathBuf>,
    pub(super) timeout: Duration,
    pub(super) stdin: Input,
    pub(super) stdout: Option<PathBuf>,
    pub(super) label: Option<String>,
    pub(super) label_is_unique: bool,
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

    /// Time limit (default [`DEFAULT_TIMEOUT`](super::DEFAULT_TIMEOUT)): then `timeout(1)`
    /// sends TERM, and KILL two seconds later. The exit status is 124 after a TERM, 137
    /// after a KILL.
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
    pub(super) fn unique_label(mut self, label: String) -> Self {
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
