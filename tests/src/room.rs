//! A room of the lab: one sender on host 0 and receivers on the other hosts, each of them
//! ours or Debian's udpcast 20120424, started in the order a test needs and waited for
//! until they listen. Tests that mix the two implementations share it instead of each
//! spelling out program paths, readiness and output files.

use crate::lab::{self, Input, Lab, Proc};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a program may take to open its sockets and say so.
const READY: Duration = Duration::from_secs(10);

/// Which udpcast a program is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// udpcast-rs, built by this workspace.
    Ours,
    /// Debian's `/usr/bin` programs.
    Debian,
}

impl Impl {
    fn program(self, name: &str) -> PathBuf {
        match self {
            Impl::Ours => lab::our_program(name),
            Impl::Debian => Path::new("/usr/bin").join(name),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Debian => "debian",
        }
    }
}

/// A lab with the programs of both implementations at hand.
pub struct Room {
    pub lab: Lab,
    /// Per-process time limit.
    pub limit: Duration,
    /// Sets `UDPCAST_NO_GSO` for our sender, so a capture sees every datagram on its own.
    pub no_gso: bool,
    /// More environment for the senders started from now on (e.g. `LD_PRELOAD`).
    pub sender_env: Vec<(String, String)>,
}

impl Room {
    /// A lab of `hosts` hosts able to run `programs` (e.g. `tcpdump`); `None` after a loud
    /// skip (no root, no namespaces, or Debian's udpcast missing).
    pub fn new(hosts: usize, programs: &[&str], limit: Duration) -> Option<Room> {
        for bin in ["udp-sender", "udp-receiver"] {
            let path = Impl::Debian.program(bin);
            if !path.is_file() {
                lab::skip_or_fail(
                    &format!("Debian's {bin}"),
                    &format!("{} is missing (apt-get install udpcast)", path.display()),
                );
                return None;
            }
        }
        let mut builder = Lab::builder(hosts);
        for p in programs {
            builder = builder.require_program(p);
        }
        Some(Room {
            lab: builder.build_or_skip()?,
            limit,
            no_gso: false,
            sender_env: Vec::new(),
        })
    }

    /// `--file` of the receiver on `host`.
    pub fn output(&self, host: usize) -> PathBuf {
        self.lab.path(format!("out-h{host}.bin"))
    }

    /// A fresh pseudo-random input file.
    pub fn input(&self, name: &str, len: u64, seed: u64) -> PathBuf {
        let path = self.lab.path(name);
        lab::write_random_file(&path, len, seed).unwrap();
        path
    }

    /// A receiver on `host` with `args` and `--file out-h<host>.bin`, once it listens.
    pub fn receiver(&self, host: usize, imp: Impl, args: &[&str]) -> Proc<'_> {
        let out = self.output(host);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--file", out.to_str().unwrap()]);
        self.receiver_with(host, imp, &all)
    }

    /// A receiver on `host` with exactly `args` (say, a `--pipe`), once it listens.
    pub fn receiver_with(&self, host: usize, imp: Impl, args: &[&str]) -> Proc<'_> {
        let mut p = self
            .lab
            .host(host)
            .command(imp.program("udp-receiver"))
            .args(args)
            .timeout(self.limit)
            .label(&format!("h{host}-rx-{}", imp.word()))
            .spawn()
            .unwrap();
        let ok = p.wait_for_stderr("UDP receiver for", READY).unwrap();
        assert!(ok, "[{}] did not start:\n{}", p.label(), p.stderr());
        p
    }

    /// A sender on host 0 reading `input` with `args`, once its control socket is open.
    pub fn sender(&self, imp: Impl, args: &[&str], input: &Path) -> Proc<'_> {
        self.sender_on(0, imp, args, input)
    }

    /// A sender on `host` reading `input` with `args`, once its control socket is open.
    pub fn sender_on(&self, host: usize, imp: Impl, args: &[&str], input: &Path) -> Proc<'_> {
        let mut cmd = self.lab.host(host).command(imp.program("udp-sender"));
        if self.no_gso && imp == Impl::Ours {
            cmd = cmd.env("UDPCAST_NO_GSO", "1");
        }
        for (key, value) in &self.sender_env {
            cmd = cmd.env(key, value);
        }
        let mut p = cmd
            .args(args)
            .arg("--file")
            .arg(input)
            .stdin(Input::Null)
            .timeout(self.limit)
            .label(&format!("h{host}-tx-{}", imp.word()))
            .spawn()
            .unwrap();
        let ok = p.wait_for_stderr("Broadcasting control to", READY).unwrap();
        assert!(ok, "[{}] did not start:\n{}", p.label(), p.stderr());
        p
    }

    /// Whether the receiver on `host` wrote exactly `input`.
    pub fn intact(&self, input: &Path, host: usize) -> bool {
        let want = lab::sha256_file(input).unwrap();
        lab::sha256_file(&self.output(host)).is_ok_and(|got| got == want)
    }

    /// Asserts that the receivers on `hosts` wrote exactly `input`.
    #[track_caller]
    pub fn assert_intact(&self, input: &Path, hosts: &[usize]) {
        for &h in hosts {
            assert!(
                self.intact(input, h),
                "output of host {h} differs from the input"
            );
        }
    }
}
