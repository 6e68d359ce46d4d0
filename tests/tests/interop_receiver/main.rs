//! Interoperability of OUR `udp-receiver` with Debian's `udp-sender` (udpcast 20120424),
//! in the network lab, sometimes mixed with Debian's own `udp-receiver`: every output is
//! compared by SHA-256 with the input.
//!
//! Our binaries are found next to the test executable (`target/<profile>/udp-receiver`);
//! `cargo test --workspace` builds them, `cargo test -p udpcast-tests` alone does not, so
//! run `cargo build -p udpcast-cli` first in that case (the tests say so when they are
//! missing). Debian's programs must be installed in `/usr/bin` (`apt-get install udpcast`).
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`). Every process is bounded by a time limit.

mod async_mode;
mod faults;
mod modes;
mod sizes_and_inputs;
mod streaming_and_go;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_tests::lab::{self, Lab, Loss, Proc};

/// Per-process limit: far above the few seconds a transfer takes, far below "hung".
const LIMIT: Duration = Duration::from_secs(60);
const READY: Duration = Duration::from_secs(10);
const MB: u64 = 1 << 20;
/// Payload bytes of one DATA block (udpcast's default block size).
const BLOCK: u64 = 1456;

/// Serialises the transfers that keep both cores busy (large files), so that they do not
/// starve the timing-sensitive tests running in parallel threads.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Our binary `bin` of this build.
fn our(bin: &str) -> PathBuf {
    lab::our_program(bin)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    Ours,
    Debian,
}

/// A lab plus the programs the tests run.
struct Setup {
    lab: Lab,
    debian_sender: PathBuf,
    debian_receiver: PathBuf,
    our_receiver: PathBuf,
}

fn setup(hosts: usize) -> Option<Setup> {
    let our_receiver = our("udp-receiver");
    let mut debian = Vec::new();
    for bin in ["udp-sender", "udp-receiver"] {
        let path = Path::new("/usr/bin").join(bin);
        if !path.is_file() {
            lab::skip_or_fail(
                &format!("Debian's {bin}"),
                &format!("{} is missing (apt-get install udpcast)", path.display()),
            );
            return None;
        }
        debian.push(path);
    }
    let lab = Lab::new_or_skip(hosts)?;
    Some(Setup {
        lab,
        debian_receiver: debian.pop().unwrap(),
        debian_sender: debian.pop().unwrap(),
        our_receiver,
    })
}

impl Setup {
    /// Starts a receiver on `host` without waiting for it.
    fn spawn_receiver(&self, host: usize, imp: Impl, args: &[&str]) -> Proc<'_> {
        let (program, name) = match imp {
            Impl::Ours => (&self.our_receiver, "ours"),
            Impl::Debian => (&self.debian_receiver, "debian"),
        };
        self.lab
            .host(host)
            .command(program)
            .args(args)
            .timeout(LIMIT)
            .label(&format!("h{host}-rx-{name}"))
            .spawn()
            .unwrap()
    }

    /// A receiver on `host` writing `--file out`, started and listening.
    fn receiver(&self, host: usize, imp: Impl, args: &[&str], out: &Path) -> Proc<'_> {
        let mut all: Vec<&str> = args.to_vec();
        let out = out.to_str().unwrap();
        all.extend(["--file", out]);
        let mut p = self.spawn_receiver(host, imp, &all);
        ready(&mut p);
        p
    }

    /// Debian's udp-sender on host 0 reading `input`.
    fn sender(&self, args: &[&str], input: &Path) -> Proc<'_> {
        self.lab
            .host(0)
            .command(&self.debian_sender)
            .args(args)
            .arg("--file")
            .arg(input)
            .timeout(LIMIT)
            .label("h0-tx-debian")
            .spawn()
            .unwrap()
    }

    /// A fresh pseudo-random input file of `len` bytes.
    fn input(&self, name: &str, len: u64, seed: u64) -> PathBuf {
        let path = self.lab.path(name);
        lab::write_random_file(&path, len, seed).unwrap();
        path
    }
}

/// Waits until a receiver announces itself (it then listens for the sender's HELLO).
fn ready(p: &mut Proc<'_>) {
    let ok = p.wait_for_stderr("UDP receiver for", READY).unwrap();
    assert!(ok, "[{}] did not start:\n{}", p.label(), p.stderr());
}

fn assert_same(input: &Path, output: &Path) {
    let want = lab::sha256_file(input).unwrap();
    let got = lab::sha256_file(output)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", output.display()));
    assert_eq!(
        got,
        want,
        "{} differs from {} ({} vs {} bytes)",
        output.display(),
        input.display(),
        file_len(output),
        file_len(input)
    );
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The usual synchronous start rule: all `n` receivers connected (the hello interval lets
/// a receiver that missed the first HELLO connect anyway).
fn start_rule(n: usize) -> Vec<String> {
    vec![
        "--nokbd".into(),
        "--rexmit-hello-interval".into(),
        "1000".into(),
        "--min-receivers".into(),
        n.to_string(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Debian sender → the given receivers (each `--nokbd` plus `rx_args`), synchronous, with
/// `sender_args` after the start rule; every output must equal the input.
fn transfer(
    s: &Setup,
    receivers: &[(usize, Impl)],
    rx_args: &[&str],
    sender_args: &[&str],
    len: u64,
    seed: u64,
) {
    transfer_with_loss(s, receivers, rx_args, sender_args, len, seed, None);
}

/// [`transfer`], with `loss` installed once every receiver is connected (and before the
/// start rule's ≈ 2 s of quiet end): a lost CONNECT_REPLY would otherwise leave a receiver
/// unconnected while the sender, which counted it, starts the transfer; its first REQACK
/// then ends the receiver ("Bad server reply ... Other transfer in progress?", exit 1, as
/// PROTOCOL.md §4.2 says udpcast's receiver does). Returns the frames the loss dropped.
fn transfer_with_loss(
    s: &Setup,
    receivers: &[(usize, Impl)],
    rx_args: &[&str],
    sender_args: &[&str],
    len: u64,
    seed: u64,
    loss: Option<Loss>,
) -> u64 {
    let input = s.input(&format!("in-{seed}.bin"), len, seed);
    let outs: Vec<PathBuf> = receivers
        .iter()
        .map(|&(h, _)| s.lab.path(format!("out-{seed}-h{h}.bin")))
        .collect();
    let mut rx_all = vec!["--nokbd"];
    rx_all.extend_from_slice(rx_args);
    let mut rx: Vec<Proc> = receivers
        .iter()
        .zip(&outs)
        .map(|(&(h, imp), out)| s.receiver(h, imp, &rx_all, out))
        .collect();
    let rule = start_rule(receivers.len());
    let mut tx_args = strs(&rule);
    tx_args.extend_from_slice(sender_args);
    let mut tx = s.sender(&tx_args, &input);
    let loss = loss.map(|loss| {
        for r in &mut rx {
            let connected = r
                .wait_for_stderr("Connected as", Duration::from_secs(15))
                .unwrap();
            assert!(
                connected,
                "[{}] did not connect:\n{}\n{}",
                r.label(),
                r.stderr(),
                tx.stderr()
            );
        }
        s.lab.add_loss(&loss).unwrap()
    });
    let mut all: Vec<&mut Proc> = std::iter::once(&mut tx).chain(rx.iter_mut()).collect();
    lab::expect_all_success(&mut all, LIMIT);
    for out in &outs {
        assert_same(&input, out);
    }
    loss.map_or(0, |l| l.dropped().unwrap())
}
