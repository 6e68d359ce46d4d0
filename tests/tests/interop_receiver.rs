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

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

// ---------------------------------------------------------------------------------------
// 1. Plain transfers.

#[test]
fn debian_sender_to_one_of_ours_point_to_point() {
    let Some(s) = setup(2) else { return };
    transfer(&s, &[(1, Impl::Ours)], &[], &[], 4 * MB, 1);
}

#[test]
fn debian_sender_to_two_of_ours_and_one_debian_on_multicast() {
    let Some(s) = setup(4) else { return };
    transfer(
        &s,
        &[(1, Impl::Ours), (2, Impl::Debian), (3, Impl::Ours)],
        &[],
        &[],
        4 * MB,
        2,
    );
}

// ---------------------------------------------------------------------------------------
// 2. Duplex modes under loss.

fn duplex_with_loss(mode: &str, seed: u64) {
    let Some(s) = setup(2) else { return };
    let dropped = transfer_with_loss(
        &s,
        &[(1, Impl::Ours)],
        &[],
        &[mode],
        4 * MB,
        seed,
        Some(Loss::toward(1, 50)),
    );
    assert!(dropped > 0, "the 5% loss rule dropped nothing");
}

#[test]
fn half_duplex_survives_5pct_loss_toward_our_receiver() {
    duplex_with_loss("--half-duplex", 3);
}

#[test]
fn full_duplex_survives_5pct_loss_toward_our_receiver() {
    duplex_with_loss("--full-duplex", 4);
}

// ---------------------------------------------------------------------------------------
// 3. Addressing modes.

#[test]
fn broadcast_data_reaches_ours_and_debian() {
    let Some(s) = setup(3) else { return };
    transfer(
        &s,
        &[(1, Impl::Ours), (2, Impl::Debian)],
        &[],
        &["--broadcast"],
        4 * MB,
        5,
    );
}

#[test]
fn explicit_pointopoint_to_our_receiver() {
    let Some(s) = setup(2) else { return };
    transfer(&s, &[(1, Impl::Ours)], &[], &["--pointopoint"], 4 * MB, 6);
}

#[test]
fn ttl2_multicast_rendezvous_and_data_address() {
    let Some(s) = setup(3) else { return };
    transfer(
        &s,
        &[(1, Impl::Ours), (2, Impl::Ours)],
        &["--ttl", "2"],
        &["--ttl", "2", "--mcast-data-address", "239.66.7.9"],
        4 * MB,
        7,
    );
}

// ---------------------------------------------------------------------------------------
// 4. Async mode.

/// How frames toward host 1 are lost in an async test.
#[derive(Clone, Copy, Debug)]
enum AsyncLoss {
    /// The lab's random loss: `permille`/1000 of the frames.
    Random(u32),
    /// Exactly every `n`-th frame (see [`PeriodicLoss`]).
    Every(u64),
}

/// Async Debian sender → our passive receiver on host 1, losing frames toward it, with an
/// input of `len` bytes. Returns the receiver (exited), its output path, the input path
/// and the frames dropped.
fn async_transfer<'a>(
    s: &'a Setup,
    sender_args: &[&str],
    rx_args: &[&str],
    loss: AsyncLoss,
    len: u64,
    seed: u64,
) -> (Proc<'a>, PathBuf, PathBuf, u64) {
    let input = s.input(&format!("in-{seed}.bin"), len, seed);
    let out = s.lab.path(format!("out-{seed}.bin"));
    let (random, periodic) = match loss {
        AsyncLoss::Random(permille) => (
            Some(s.lab.add_loss(&Loss::toward(1, permille)).unwrap()),
            None,
        ),
        AsyncLoss::Every(n) => (None, Some(PeriodicLoss::toward(&s.lab, 1, n))),
    };
    let mut args = vec!["--nokbd"];
    args.extend_from_slice(rx_args);
    let mut rx = s.receiver(1, Impl::Ours, &args, &out);
    let mut tx_args = vec![
        "--nokbd",
        "--async",
        "--max-bitrate",
        "100m",
        "--autostart",
        "2",
    ];
    tx_args.extend_from_slice(sender_args);
    let mut tx = s.sender(&tx_args, &input);
    tx.expect_success(LIMIT);
    rx.wait_timeout(Duration::from_secs(20))
        .unwrap()
        .unwrap_or_else(|| panic!("our receiver did not end:\n{}", rx.stderr()));
    let dropped = match (random, periodic) {
        (Some(rule), _) => rule.dropped().unwrap(),
        (_, Some(rule)) => rule.dropped(),
        _ => unreachable!(),
    };
    (rx, out, input, dropped)
}

/// A loss of exactly every `n`-th UDP frame the switch forwards toward one host (ports
/// 9000-9001), through our own nftables table in the lab's switch namespace (which goes
/// away with the lab). Unlike the lab's random loss, it can never bunch up: with `n` = 50
/// a stripe of 8x8/128 FEC (136 frames) loses at most 3 frames, which FEC always repairs,
/// whereas a random 2% loses more than 8 of them in about 4% of 4 MB transfers.
struct PeriodicLoss {
    switch_ns: String,
}

const PERIODIC_TABLE: &str = "interop_rx";

impl PeriodicLoss {
    fn toward(lab: &Lab, host: usize, n: u64) -> PeriodicLoss {
        let port = lab.host(host).switch_port();
        let script = format!(
            "add table bridge {PERIODIC_TABLE}\n\
             add chain bridge {PERIODIC_TABLE} periodic {{ type filter hook forward priority -10; policy accept; }}\n\
             add rule bridge {PERIODIC_TABLE} periodic oifname \"{port}\" udp dport 9000-9001 \
             numgen inc mod {n} == 0 counter drop\n"
        );
        let switch_ns = lab.switch_netns().to_owned();
        nft(&switch_ns, &["-f", "-"], &script);
        PeriodicLoss { switch_ns }
    }

    /// Frames dropped so far (the rule's counter).
    fn dropped(&self) -> u64 {
        let listing = nft(
            &self.switch_ns,
            &["list", "chain", "bridge", PERIODIC_TABLE, "periodic"],
            "",
        );
        let after = listing
            .split("counter packets ")
            .nth(1)
            .unwrap_or_else(|| panic!("no counter in:\n{listing}"));
        after
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad counter in:\n{listing}"))
    }
}

/// Runs `nft args` in namespace `netns` with `input` on stdin; its stdout.
fn nft(netns: &str, args: &[&str], input: &str) -> String {
    let ip = lab::find_program("ip").expect("ip");
    let nft = lab::find_program("nft").expect("nft (nftables)");
    let mut child = std::process::Command::new(ip)
        .args(["netns", "exec", netns])
        .arg(nft)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft {args:?} failed: {}\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn async_fec_repairs_2pct_loss_toward_our_receiver() {
    let Some(s) = setup(2) else { return };
    let (rx, out, input, dropped) = async_transfer(
        &s,
        &["--fec", "8x8/128"],
        &[],
        AsyncLoss::Every(50),
        4 * MB,
        8,
    );
    assert!(
        rx.status().unwrap().success(),
        "our receiver failed: {}\n{}",
        rx.describe_status().unwrap_or_default(),
        rx.stderr()
    );
    assert!(dropped > 0, "the 2% loss rule dropped nothing");
    eprintln!("every 50th frame toward our receiver dropped: {dropped} frames");
    assert_same(&input, &out);
}

/// Input of the async tests without FEC: whole blocks (2880), so that no slice is a lone
/// short block. A slice whose every frame is lost leaves its size unknown, and then even
/// `--ignore-lost-data` cannot write the full length (ours then exits 1 with "slice N was
/// lost before its size became known"): with 4 MiB, a 1024-byte last slice of one block
/// vanished at 3% loss in about 3% of the runs.
const ASYNC_LEN: u64 = BLOCK * 2880;

#[test]
fn async_without_fec_under_loss_fails_clearly() {
    let Some(s) = setup(2) else { return };
    let (rx, _out, _input, dropped) =
        async_transfer(&s, &[], &[], AsyncLoss::Random(30), ASYNC_LEN, 9);
    assert!(dropped > 0, "the 3% loss rule dropped nothing");
    let status = rx.status().unwrap();
    let stderr = rx.stderr();
    assert!(
        !status.success(),
        "our receiver claimed success despite lost data:\n{stderr}"
    );
    assert!(
        stderr.contains("INCOMPLETE"),
        "our receiver's stderr does not say the output is incomplete:\n{stderr}"
    );
}

#[test]
fn async_without_fec_under_loss_ignore_lost_data_keeps_full_length() {
    let Some(s) = setup(2) else { return };
    let (rx, out, input, dropped) = async_transfer(
        &s,
        &[],
        &["--ignore-lost-data"],
        AsyncLoss::Random(30),
        ASYNC_LEN,
        10,
    );
    assert!(dropped > 0, "the 3% loss rule dropped nothing");
    assert!(
        rx.status().unwrap().success(),
        "our receiver failed with --ignore-lost-data: {}\n{}",
        rx.describe_status().unwrap_or_default(),
        rx.stderr()
    );
    assert_eq!(file_len(&out), file_len(&input), "output length");
}

// ---------------------------------------------------------------------------------------
// 5. Streaming: late joiners.

#[test]
fn streaming_late_join_writes_the_same_tail_as_debian() {
    let Some(s) = setup(3) else { return };
    let len = 2_000_000;
    let input = s.input("in-stream.bin", len, 11);
    // 1024-block slices: slice 0 (1 490 944 bytes) takes ≈ 6 s at 2 Mb/s; the receivers
    // join about 3 s after the sender, in the middle of it, so both start at slice 1.
    let mut tx = s.sender(
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--max-bitrate",
            "2m",
            "--autostart",
            "1",
            "--streaming",
        ],
        &input,
    );
    std::thread::sleep(Duration::from_secs(3));
    let ours_out = s.lab.path("out-stream-ours.bin");
    let debian_out = s.lab.path("out-stream-debian.bin");
    let mut ours = s.spawn_receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--file", ours_out.to_str().unwrap()],
    );
    let mut debian = s.spawn_receiver(
        2,
        Impl::Debian,
        &["--nokbd", "--file", debian_out.to_str().unwrap()],
    );
    lab::expect_all_success(&mut [&mut tx, &mut ours, &mut debian], LIMIT);

    let all = fs::read(&input).unwrap();
    let got_ours = fs::read(&ours_out).unwrap();
    let got_debian = fs::read(&debian_out).unwrap();
    assert!(
        !got_debian.is_empty() && (got_debian.len() as u64) < len,
        "the Debian receiver did not join late: {} bytes",
        got_debian.len()
    );
    assert!(all.ends_with(&got_debian), "Debian's output is no suffix");
    assert_eq!(
        got_ours.len(),
        got_debian.len(),
        "our late joiner wrote a different length than Debian's"
    );
    assert!(got_ours == got_debian, "our late joiner wrote other bytes");
}

// ---------------------------------------------------------------------------------------
// 6. The GO path.

#[test]
fn end_of_file_stdin_sends_go_to_a_waiting_debian_sender() {
    let Some(s) = setup(2) else { return };
    let input = s.input("in-go.bin", 2 * MB, 12);
    let out = s.lab.path("out-go.bin");
    let mut rx = s.spawn_receiver(1, Impl::Ours, &["--file", out.to_str().unwrap()]);
    // The sender has no start rule: only a GO (our receiver's EOF "key press") starts it.
    // The hello interval lets our receiver, started first, find it.
    let mut tx = s.sender(&["--nokbd", "--rexmit-hello-interval", "500"], &input);
    ready(&mut rx);
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert_same(&input, &out);
}

// ---------------------------------------------------------------------------------------
// 7. Sizes, pipes, stdout.

#[test]
fn sizes_empty_one_byte_whole_blocks_and_tail() {
    let Some(s) = setup(2) else { return };
    for (seed, len) in [
        (20, 0),
        (21, 1),
        (22, BLOCK * 1000),
        (23, BLOCK * 777 + 123),
    ] {
        transfer(&s, &[(1, Impl::Ours)], &[], &[], len, seed);
    }
}

#[test]
fn large_file_of_200_mb() {
    let _heavy = heavy();
    let Some(s) = setup(2) else { return };
    let started = Instant::now();
    transfer(&s, &[(1, Impl::Ours)], &[], &[], 200 * MB, 24);
    eprintln!("200 MB with set-up: {:?}", started.elapsed());
}

#[test]
fn gzip_pipe_on_debian_sender_and_our_receiver() {
    let Some(s) = setup(2) else { return };
    let input = s.input("in-gz.bin", 4 * MB, 25);
    let out = s.lab.path("out-gz.bin");
    let mut rx = s.receiver(1, Impl::Ours, &["--nokbd", "--pipe", "gzip -dc"], &out);
    let rule = start_rule(1);
    let mut args = strs(&rule);
    // Debian's --pipe splits on single spaces: "gzip -c" runs gzip with one argument.
    args.extend(["--pipe", "gzip -c"]);
    let mut tx = s.sender(&args, &input);
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert_same(&input, &out);
}

#[test]
fn our_receiver_writes_to_stdout() {
    let Some(s) = setup(2) else { return };
    let input = s.input("in-stdout.bin", 4 * MB, 26);
    let out = s.lab.path("out-stdout.bin");
    let mut rx = s
        .lab
        .host(1)
        .command(&s.our_receiver)
        .arg("--nokbd")
        .stdout_file(&out)
        .timeout(LIMIT)
        .label("h1-rx-ours-stdout")
        .spawn()
        .unwrap();
    ready(&mut rx);
    let rule = start_rule(1);
    let mut tx = s.sender(&strs(&rule), &input);
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert_same(&input, &out);
}

// ---------------------------------------------------------------------------------------
// 8. A frozen sender.

#[test]
fn frozen_sender_trips_our_receive_timeout() {
    let Some(s) = setup(2) else { return };
    // 32 MB at 8 Mb/s would take half a minute: the freeze comes long before the end.
    let input = s.input("in-freeze.bin", 32 * MB, 27);
    let out = s.lab.path("out-freeze.bin");
    let mut rx = s.receiver(1, Impl::Ours, &["--nokbd", "--receive-timeout", "2"], &out);
    let rule = start_rule(1);
    let mut args = strs(&rule);
    args.extend(["--max-bitrate", "8m"]);
    let mut tx = s.sender(&args, &input);
    let flowing = lab::wait_until(Duration::from_secs(20), || file_len(&out) >= MB);
    assert!(
        flowing,
        "no data arrived:\n{}\n{}",
        tx.stderr(),
        rx.stderr()
    );
    tx.signal(libc::SIGSTOP).unwrap();
    let frozen = Instant::now();
    let status = rx.wait_timeout(Duration::from_secs(10)).unwrap();
    let took = frozen.elapsed();
    tx.signal(libc::SIGCONT).unwrap();
    tx.kill().unwrap();
    eprintln!("our receiver ended {took:?} after the sender froze");
    let status = status.unwrap_or_else(|| {
        panic!(
            "our receiver still runs 10 s after the freeze:\n{}",
            rx.stderr()
        )
    });
    assert!(
        !status.success(),
        "our receiver claimed success:\n{}",
        rx.stderr()
    );
    assert!(
        took < Duration::from_secs(5),
        "our receiver took {took:?} to notice a sender silent for 2 s"
    );
    assert!(file_len(&out) < 32 * MB, "the whole file arrived?");
}

// ---------------------------------------------------------------------------------------
// 9. Garbage on the wire.

/// Sends random datagrams and truncated or corrupted udpcast-looking messages, from an
/// ephemeral port and from port 9001, to each `host:port` argument, until killed.
const SPRAYER: &str = r#"
import os, random, socket, sys, time
random.seed(int(sys.argv[1]))
targets = [(t.split(':')[0], int(t.split(':')[1])) for t in sys.argv[2:]]
socks = []
for port in (0, 9001):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.bind(('', port))
    socks.append(s)
OPS = [b'\x00\x00', b'\x00\x01', b'\x00\x02', b'\x00\x03', b'\x00\x04', b'\x00\x06',
       b'\x00\x07', b'\x00\x08', b'\x00\x09', b'\x00\x0a', b'\x00\x0b', b'\x05\x00',
       b'\xff\xff']
def datagram():
    kind = random.randrange(4)
    if kind == 0:
        return os.urandom(random.randrange(0, 1500))
    op = random.choice(OPS)
    if kind == 1:
        return op[:random.randrange(0, 3)]
    if kind == 2:
        return op + os.urandom(random.randrange(0, 30))
    # a DATA or FEC header claiming plausible slices and lengths, with garbage payload
    return (random.choice([b'\x00\x08', b'\x00\x09']) + b'\x00\x00'
            + random.randrange(0, 4).to_bytes(4, 'big')
            + random.randrange(0, 1100).to_bytes(2, 'big') + b'\x00\x00'
            + random.randrange(0, 1 << 21).to_bytes(4, 'big')
            + os.urandom(random.randrange(0, 1457)))
sent = 0
while True:
    for t in targets:
        try:
            random.choice(socks).sendto(datagram(), t)
            sent += 1
        except OSError as e:
            print('send to', t, e, file=sys.stderr)
    if sent % 200 == 0:
        print('sent', sent, file=sys.stderr, flush=True)
        time.sleep(0.02)
"#;

#[test]
fn garbage_sprayed_during_a_transfer_is_ignored() {
    let Some(s) = setup(3) else { return };
    let sprayer = s.lab.path("sprayer.py");
    fs::File::create(&sprayer)
        .and_then(|mut f| f.write_all(SPRAYER.as_bytes()))
        .unwrap();
    let input = s.input("in-spray.bin", 16 * MB, 28);
    let out = s.lab.path("out-spray.bin");
    let mut rx = s.receiver(1, Impl::Ours, &["--nokbd"], &out);
    let rule = start_rule(1);
    let mut args = strs(&rule);
    // Multicast data (no automatic point-to-point), slow enough to be sprayed for seconds.
    args.extend(["--nopointopoint", "--max-bitrate", "40m"]);
    let mut tx = s.sender(&args, &input);
    // Spray once data flows: a well-formed HELLO from another host before that would be a
    // second sender, not garbage.
    let flowing = lab::wait_until(Duration::from_secs(20), || file_len(&out) > 0);
    assert!(
        flowing,
        "no data arrived:\n{}\n{}",
        tx.stderr(),
        rx.stderr()
    );
    let target = s.lab.host(1);
    let mut spray = s
        .lab
        .host(2)
        .command("python3")
        .arg(&sprayer)
        .arg("28")
        .arg(format!("{}:9000", target.addr()))
        .arg(format!("{}:9001", target.addr()))
        .arg(format!("{}:9000", target.broadcast()))
        .arg("234.66.0.1:9000")
        .timeout(LIMIT)
        .label("h2-sprayer")
        .spawn()
        .unwrap();
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    let sprayed = spray.stderr();
    spray.kill().unwrap();
    assert!(
        sprayed.contains("sent 200"),
        "the sprayer did not spray:\n{sprayed}"
    );
    assert_same(&input, &out);
}
