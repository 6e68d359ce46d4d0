//! Interoperability of OUR udp-sender with Debian's real udp-receiver (udpcast 20120424)
//! in the network lab: every transfer's outputs are compared by SHA-256 with its input,
//! and captures of our sender's traffic are checked against PROTOCOL.md.
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`) and Debian's `/usr/bin/udp-receiver`. Every process is bounded
//! by a time limit.

mod addressing;
mod async_fec;
mod capture_checks;
mod dying_receiver;
mod loss;
mod sizes_and_inputs;
mod start_rules;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_tests::lab::{self, Input, Lab, Proc};

/// Per-process limit: far above the seconds a transfer takes, far below "hung".
const LIMIT: Duration = Duration::from_secs(60);
/// Debian's receiver, the reference implementation.
const DEBIAN_RECEIVER: &str = "/usr/bin/udp-receiver";
const BLOCK: usize = 1456;
const PORTBASE: u16 = lab::DEFAULT_PORTBASE;
/// The data group our sender derives for 10.66.0.1 (as udpcast does).
const DATA_GROUP: Ipv4Addr = Ipv4Addr::new(234, 66, 0, 1);

/// Tests that move a lot of data or depend on timing (async: nothing is retransmitted)
/// take turns: the machine has two cores shared by every lab.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Our binary `bin` of this build.
fn our(bin: &str) -> PathBuf {
    lab::our_program(bin)
}

struct Setup {
    /// Sets `UDPCAST_NO_GSO` for our sender: with UDP GSO a capture on the sender's own
    /// interface sees each run of datagrams as one unsegmented super-packet.
    no_gso: bool,
    lab: Lab,
    sender: PathBuf,
    receiver: PathBuf,
}

/// A lab of `hosts` hosts needing `programs`, our sender and Debian's receiver; `None`
/// after a loud skip.
fn setup(hosts: usize, programs: &[&str]) -> Option<Setup> {
    let sender = our("udp-sender");
    if !Path::new(DEBIAN_RECEIVER).is_file() {
        lab::skip_or_fail(
            "interop_sender",
            &format!("{DEBIAN_RECEIVER} missing (apt-get install udpcast)"),
        );
        return None;
    }
    let mut builder = Lab::builder(hosts);
    for p in programs {
        builder = builder.require_program(p);
    }
    let lab = builder.build_or_skip()?;
    Some(Setup {
        no_gso: false,
        lab,
        sender,
        receiver: PathBuf::from(DEBIAN_RECEIVER),
    })
}

impl Setup {
    fn input(&self, len: u64, seed: u64) -> PathBuf {
        let path = self.lab.path(format!("input-{seed}.bin"));
        lab::write_random_file(&path, len, seed).unwrap();
        path
    }

    fn output(&self, host: usize) -> PathBuf {
        self.lab.path(format!("out-h{host}.bin"))
    }

    /// Debian's receiver on `host` with `args` then `--file out-h<host>.bin`, once it is
    /// listening.
    fn receiver(&self, host: usize, args: &[&str]) -> Proc<'_> {
        let mut p = self
            .lab
            .host(host)
            .command(&self.receiver)
            .args(args)
            .arg("--file")
            .arg(self.output(host))
            .timeout(LIMIT)
            .label(&format!("h{host}-debian-rx"))
            .spawn()
            .unwrap();
        let ready = p
            .wait_for_stderr("UDP receiver for", Duration::from_secs(10))
            .unwrap();
        assert!(ready, "[{}] did not start:\n{}", p.label(), p.stderr());
        p
    }

    /// Our sender on host 0 with `args`, once its control socket is open.
    fn sender_with(&self, args: &[&str], stdin: Input, limit: Duration) -> Proc<'_> {
        let mut cmd = self.lab.host(0).command(&self.sender);
        if self.no_gso {
            cmd = cmd.env("UDPCAST_NO_GSO", "1");
        }
        let mut p = cmd
            .args(args)
            .stdin(stdin)
            .timeout(limit)
            .label("h0-our-sender")
            .spawn()
            .unwrap();
        let ready = p
            .wait_for_stderr("Broadcasting control to", Duration::from_secs(10))
            .unwrap();
        assert!(ready, "our sender did not start:\n{}", p.stderr());
        p
    }

    fn sender(&self, args: &[&str], input: &Path) -> Proc<'_> {
        let mut all: Vec<&str> = args.to_vec();
        let file = input.to_str().unwrap();
        all.extend(["--file", file]);
        self.sender_with(&all, Input::Null, LIMIT)
    }

    fn assert_intact(&self, input: &Path, hosts: &[usize]) {
        let want = lab::sha256_file(input).unwrap();
        for &h in hosts {
            let got = lab::sha256_file(&self.output(h)).unwrap();
            assert_eq!(got, want, "output of host {h} differs from the input");
        }
    }

    /// Receivers on `hosts` (Debian, `--nokbd` plus `rx_args`) first, then our sender
    /// with `tx_args`; all must succeed and every output equal the input.
    fn transfer(
        &self,
        tx_args: &[&str],
        hosts: &[usize],
        rx_args: &[&str],
        input: &Path,
    ) -> Proc<'_> {
        let mut rx_all = vec!["--nokbd"];
        rx_all.extend_from_slice(rx_args);
        let mut rx: Vec<Proc> = hosts.iter().map(|&h| self.receiver(h, &rx_all)).collect();
        let mut tx = self.sender(tx_args, input);
        {
            let mut all: Vec<&mut Proc> = std::iter::once(&mut tx).chain(rx.iter_mut()).collect();
            lab::expect_all_success(&mut all, LIMIT + Duration::from_secs(5));
        }
        self.assert_intact(input, hosts);
        tx
    }
}
