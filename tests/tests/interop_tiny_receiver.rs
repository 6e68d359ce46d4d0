//! The tiny receiver (`ffi/examples/tiny-receiver.c`: C sockets and files, libudpcast for
//! the protocol) against real senders in the network lab: Debian's udp-sender in
//! synchronous mode under loss, Debian's async FEC sender under loss, and our own
//! udp-sender. Every output must equal the input (SHA-256). Verified transfers
//! (doc/verified-transfers.md): from our sender the stream is identified and verified
//! (the printed digest is the input's), from Debian's it is received as before and said to
//! be not verified, and `--expect-name` refuses another stream without touching the output.
//! Then udp-receiver's options as a boot image passes them: a multicast rendezvous,
//! exit-wait, receive buffer, sync, passive reception; the result line; and the refusal of
//! bad command lines.
//!
//! Nothing is built here: the binary must exist at `target/tiny/tiny-receiver`
//! (`ffi/build-tiny-receiver.sh` puts it there). Without it, like without a lab, the tests
//! skip loudly; with `UDPCAST_REQUIRE_LAB=1` they fail instead.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use udpcast_core::extension::integrity::StreamDigest;
use udpcast_core::wire::Message;
use udpcast_tests::lab::{self, Lab, Loss, Proc};
use udpcast_tests::pcap::UdpDatagram;

/// Per-process limit: far above the few seconds a transfer takes, far below "hung".
const LIMIT: Duration = Duration::from_secs(60);
const INPUT_SIZE: u64 = 4 << 20;
const DEBIAN_SENDER: &str = "/usr/bin/udp-sender";

/// Transfers share the machine's two cores with every other lab: one at a time here.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The tiny receiver, or `None` after a loud skip (a failure under `UDPCAST_REQUIRE_LAB`).
fn tiny_receiver() -> Option<PathBuf> {
    let path = workspace().join("target/tiny/tiny-receiver");
    if path.is_file() {
        Some(path)
    } else {
        lab::skip_or_fail(
            "interop_tiny_receiver",
            &format!(
                "{} is missing: run ffi/build-tiny-receiver.sh first",
                path.display()
            ),
        );
        None
    }
}

/// A program that must exist, or `None` after a loud skip.
fn program(path: PathBuf, hint: &str) -> Option<PathBuf> {
    if path.is_file() {
        Some(path)
    } else {
        lab::skip_or_fail(
            "interop_tiny_receiver",
            &format!("{} is missing ({hint})", path.display()),
        );
        None
    }
}

/// Our udp-sender, next to the test executable's directory (`target/<profile>/deps/..`).
fn our_sender() -> Option<PathBuf> {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    program(dir.join("udp-sender"), "run `cargo build -p udpcast-cli`")
}

/// Starts the tiny receiver on host 1 writing to `out`, and waits until it listens.
fn start_tiny<'a>(lab: &'a Lab, tiny: &Path, out: &Path) -> Proc<'a> {
    start_tiny_with(lab, tiny, &["--nokbd"], out)
}

/// [`start_tiny`] with the options `opts` instead of `--nokbd`.
fn start_tiny_with<'a>(lab: &'a Lab, tiny: &Path, opts: &[&str], out: &Path) -> Proc<'a> {
    let mut rx = lab
        .host(1)
        .command(tiny)
        .args(opts)
        .arg("--file")
        .arg(out)
        .timeout(LIMIT)
        .label("tiny-receiver")
        .spawn()
        .unwrap();
    let ready = rx
        .wait_for_stderr("tiny-receiver (libudpcast", Duration::from_secs(10))
        .unwrap();
    assert!(ready, "the tiny receiver did not start:\n{}", rx.stderr());
    rx
}

/// Starts `sender` on host 0 with `args` + `--file input`.
fn spawn_sender<'a>(lab: &'a Lab, sender: &Path, args: &[&str], input: &Path) -> Proc<'a> {
    lab.host(0)
        .command(sender)
        .args(args)
        .arg("--file")
        .arg(input)
        .timeout(LIMIT)
        .label("sender")
        .spawn()
        .unwrap()
}

/// Runs `sender` on host 0 with `args` + `--file input` and expects both to succeed.
fn run_sender<'a>(lab: &'a Lab, sender: &Path, args: &[&str], input: &Path, rx: &mut Proc<'a>) {
    let mut tx = spawn_sender(lab, sender, args, input);
    lab::expect_all_success(&mut [&mut tx, rx], LIMIT + Duration::from_secs(5));
}

fn assert_same(input: &Path, out: &Path) {
    let want = lab::sha256_file(input).unwrap();
    let got = lab::sha256_file(out).unwrap();
    assert_eq!(
        got,
        want,
        "output {} differs from input {}",
        out.display(),
        input.display()
    );
}

/// Synchronous transfer from `sender` to the tiny receiver with `permille` loss toward it;
/// the tiny receiver's stderr, or `None` after a skip.
fn sync_transfer(sender_path: Option<PathBuf>, permille: u32, seed: u64) -> Option<String> {
    let tiny = tiny_receiver()?;
    let sender = sender_path?;
    let _turn = heavy();
    let lab = Lab::new_or_skip(2)?;
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, INPUT_SIZE, seed).unwrap();
    let loss = (permille > 0).then(|| lab.add_loss(&Loss::toward(1, permille)).unwrap());

    let mut rx = start_tiny(&lab, &tiny, &out);
    run_sender(
        &lab,
        &sender,
        &["--nokbd", "--min-receivers", "1"],
        &input,
        &mut rx,
    );
    if let Some(rule) = loss {
        let dropped = rule.dropped().unwrap();
        eprintln!("{permille}‰ loss toward the tiny receiver: {dropped} frames dropped");
        assert!(dropped > 0, "the loss rule dropped nothing");
    }
    assert_same(&input, &out);
    let stderr = rx.stderr();
    if sender.starts_with("/usr/bin") {
        assert_not_verified(&stderr);
    } else {
        assert_verified(&stderr, &input);
    }
    Some(stderr)
}

/// The lines of `stderr` that start with `prefix`.
fn lines_starting<'s>(stderr: &'s str, prefix: &str) -> Vec<&'s str> {
    stderr.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// 16 lowercase hexadecimal digits, as the tiny receiver prints session ids.
fn is_hex16(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The tiny receiver named the stream our sender announced (the input's base name, its
/// size, a session id) and verified it: one `verified:` line with the input's length and
/// CRC-32C, computed here from the input file.
fn assert_verified(stderr: &str, input: &Path) {
    let data = std::fs::read(input).unwrap();
    let mut digest = StreamDigest::new();
    digest.update(&data);
    let check = digest.finalize();
    let name = input.file_name().unwrap().to_str().unwrap();
    let stream = lines_starting(stderr, "Stream \"");
    assert_eq!(stream.len(), 1, "not one identity line:\n{stderr}");
    let session = stream[0]
        .strip_prefix(&format!(
            "Stream \"{name}\", {} bytes, session ",
            data.len()
        ))
        .unwrap_or_else(|| panic!("identity line {:?}", stream[0]));
    assert!(is_hex16(session), "session {session:?}");
    assert_eq!(
        lines_starting(stderr, "verified: "),
        [format!(
            "verified: {} bytes, crc32c {:08x}",
            check.bytes, check.crc32c
        )],
        "{stderr}"
    );
    assert!(!stderr.contains("not verified"), "{stderr}");
    assert!(!stderr.contains("failed its checksum"), "{stderr}");
}

/// A udpcast sender: said once, and nothing else about verification.
fn assert_not_verified(stderr: &str) {
    assert_eq!(
        lines_starting(stderr, "not verified: "),
        ["not verified: the sender does not support verification"],
        "{stderr}"
    );
    assert!(lines_starting(stderr, "verified: ").is_empty(), "{stderr}");
    assert!(lines_starting(stderr, "Stream \"").is_empty(), "{stderr}");
}

#[test]
fn debian_sender_to_tiny_receiver_with_5pct_loss() {
    sync_transfer(
        program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast"),
        50,
        101,
    );
}

#[test]
fn our_sender_to_tiny_receiver_is_verified() {
    sync_transfer(our_sender(), 0, 102);
}

#[test]
fn our_sender_to_tiny_receiver_with_5pct_loss_is_verified() {
    sync_transfer(our_sender(), 50, 103);
}

/// `--expect-name` with the name our sender announces by default (the input file's base
/// name): received and verified.
#[test]
fn tiny_receiver_takes_the_stream_it_expects() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = our_sender() else { return };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, 1 << 20, 106).unwrap();
    let mut rx = start_tiny_with(&lab, &tiny, &["--nokbd", "--expect-name", "in.bin"], &out);
    run_sender(
        &lab,
        &sender,
        &["--nokbd", "--min-receivers", "1"],
        &input,
        &mut rx,
    );
    assert_same(&input, &out);
    assert_verified(&rx.stderr(), &input);
}

/// The tiny receiver with `tiny_args` meets `sender` (run with `--nokbd --min-receivers 1`)
/// and must refuse the stream: exit 1 with `message`, the warning a boot image looks for,
/// and the output file, which exists beforehand, left as it was.
fn refuses(sender: &Path, tiny_args: &[&str], message: &str) {
    let Some(tiny) = tiny_receiver() else { return };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, 1 << 20, 107).unwrap();
    let before = b"bytes that must survive a refused stream\n";
    std::fs::write(&out, before).unwrap();
    let mut rx = start_tiny_with(&lab, &tiny, tiny_args, &out);
    let mut tx = spawn_sender(&lab, sender, &["--nokbd", "--min-receivers", "1"], &input);
    let status = rx.wait_timeout(LIMIT).unwrap();
    let stderr = rx.stderr();
    let _ = tx.terminate(Duration::from_secs(3));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "{}\n{stderr}",
        rx.describe_status().unwrap_or_default()
    );
    assert!(
        stderr.contains(&format!("tiny-receiver: {message}\n")),
        "no {message:?}:\n{stderr}"
    );
    assert!(
        stderr.contains("tiny-receiver: 0 bytes written; the output is INCOMPLETE\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("Transfer complete"), "{stderr}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the output of a refused stream was touched"
    );
}

#[test]
fn tiny_receiver_refuses_a_stream_with_another_name() {
    let Some(sender) = our_sender() else { return };
    refuses(
        &sender,
        &["--nokbd", "--expect-name=wrong"],
        "stream \"in.bin\" is not the stream expected (--expect-name wrong)",
    );
}

/// Debian's sender announces no name, so it cannot be the stream expected.
#[test]
fn tiny_receiver_refuses_a_udpcast_sender_when_a_name_is_expected() {
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    refuses(
        &sender,
        &["--nokbd", "--expect-name", "in.bin"],
        "a stream without a name (udpcast sender) is not the stream expected \
         (--expect-name in.bin)",
    );
}

/// Exactly every `n`-th frame toward one host dropped (ports 9000-9001), by an nftables
/// table of our own in the lab's switch namespace (gone with the lab). Unlike random loss
/// it never bunches up, so FEC 8x8/128 can always repair a 2% loss (a random 2% loses more
/// than a stripe can repair in a few percent of 4 MB transfers).
fn drop_every_nth(lab: &Lab, host: usize, n: u64) {
    let port = lab.host(host).switch_port();
    let script = format!(
        "add table bridge tiny_rx\n\
         add chain bridge tiny_rx every {{ type filter hook forward priority -10; policy accept; }}\n\
         add rule bridge tiny_rx every oifname \"{port}\" udp dport 9000-9001 numgen inc mod {n} == 0 counter drop\n"
    );
    let ip = lab::find_program("ip").expect("ip");
    let nft = lab::find_program("nft").expect("nft");
    let mut child = Command::new(ip)
        .args(["netns", "exec", lab.switch_netns()])
        .arg(nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "nft failed: {}",
        String::from_utf8_lossy(&done.stderr)
    );
}

#[test]
fn debian_async_fec_sender_to_tiny_receiver_with_2pct_loss() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, INPUT_SIZE, 104).unwrap();
    drop_every_nth(&lab, 1, 50);

    let mut rx = start_tiny(&lab, &tiny, &out);
    run_sender(
        &lab,
        &sender,
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--max-bitrate",
            "100m",
            "--autostart",
            "2",
        ],
        &input,
        &mut rx,
    );
    assert_same(&input, &out);
    assert_not_verified(&rx.stderr());
}

/// Our async sender with FEC announces the stream in its HELLOs (no receiver talks back):
/// the tiny receiver, passive, checks each slice after FEC repair and the whole stream.
#[test]
fn our_async_fec_sender_to_passive_tiny_receiver_with_2pct_loss_is_verified() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = our_sender() else { return };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, INPUT_SIZE, 108).unwrap();
    drop_every_nth(&lab, 1, 50);

    let mut rx = start_tiny_with(&lab, &tiny, &["--nokbd", "--passive"], &out);
    run_sender(
        &lab,
        &sender,
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--max-bitrate",
            "100m",
            "--autostart",
            "2",
        ],
        &input,
        &mut rx,
    );
    assert_same(&input, &out);
    assert_verified(&rx.stderr(), &input);
}

/// The keyboard path: without `--nokbd` the tiny receiver takes the end of its stdin
/// (`/dev/null`) for a key press once connected and sends GO, which is the only thing that
/// starts a Debian sender run with `--nokbd` and no `--min-receivers`.
#[test]
fn debian_sender_started_by_tiny_receiver_go() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, 1 << 20, 105).unwrap();
    let mut rx = start_tiny_with(&lab, &tiny, &[], &out);
    run_sender(&lab, &sender, &["--nokbd"], &input, &mut rx);
    assert!(
        rx.stderr().contains("Press any key"),
        "no key prompt:\n{}",
        rx.stderr()
    );
    assert_same(&input, &out);
}

// ---------------------------------------------------------------------------------------
// udp-receiver's options, as a boot image passes them.

/// A source-specific multicast group (232/8) as the rendezvous, as sites configure it.
const RDV_GROUP: Ipv4Addr = Ipv4Addr::new(232, 43, 211, 234);
const RDV: &str = "232.43.211.234";
const PORTBASE: u16 = lab::DEFAULT_PORTBASE;

/// A two-host lab that can capture, or `None` after a loud skip.
fn capture_lab() -> Option<Lab> {
    Lab::builder(2).require_program("tcpdump").build_or_skip()
}

fn capture_stop(cap: lab::Capture<'_>) -> Vec<UdpDatagram> {
    let file = cap.stop().unwrap();
    assert_eq!(file.dropped_by_kernel, Some(0), "tcpdump lost packets");
    file.read_udp().unwrap()
}

/// What host 1 (the tiny receiver) sent from its port P, in capture order.
fn sent_by_tiny<'d>(lab: &Lab, datagrams: &'d [UdpDatagram]) -> Vec<&'d UdpDatagram> {
    let me = SocketAddrV4::new(lab.host(1).addr(), PORTBASE);
    datagrams.iter().filter(|d| d.src == me).collect()
}

/// The byte count of the tiny receiver's result line, which must be its only
/// `Transfer complete` line and have the form
/// `Transfer complete: <bytes> bytes in <s.d> s (<r.d> MB/s)`.
fn result_line_bytes(stderr: &str) -> u64 {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Transfer complete"))
        .collect();
    assert_eq!(lines.len(), 1, "not exactly one result line:\n{stderr}");
    assert!(
        !stderr.contains("INCOMPLETE"),
        "success that says INCOMPLETE:\n{stderr}"
    );
    parse_result_line(lines[0]).unwrap_or_else(|| panic!("malformed result line {:?}", lines[0]))
}

fn parse_result_line(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("Transfer complete: ")?;
    let (bytes, rest) = rest.split_once(" bytes in ")?;
    let (seconds, rest) = rest.split_once(" s (")?;
    let rate = rest.strip_suffix(" MB/s)")?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    for decimal in [seconds, rate] {
        let (whole, tenths) = decimal.split_once('.')?;
        if !(digits(whole) && tenths.len() == 1 && digits(tenths)) {
            return None;
        }
    }
    if !digits(bytes) {
        return None;
    }
    bytes.parse().ok()
}

#[test]
fn result_line_parser_takes_only_the_documented_form() {
    assert_eq!(
        parse_result_line("Transfer complete: 1000 bytes in 0.1 s (0.0 MB/s)"),
        Some(1000)
    );
    for bad in [
        "Transfer complete.",
        "Transfer complete: 1000 bytes in 0.12 s (0.0 MB/s)",
        "Transfer complete: 1000 bytes in 1 s (1.0 MB/s)",
        "Transfer complete: +1000 bytes in 0.1 s (1.0 MB/s)",
        "Transfer complete: 1000 bytes in 0.1 s (1.0 MB/s) ",
    ] {
        assert_eq!(parse_result_line(bad), None, "{bad:?}");
    }
}

/// Debian's synchronous sender on host 0 with `sender_args`, the tiny receiver on host 1
/// with `tiny_args`, `size` random bytes; both must succeed and the output must equal the
/// input. Returns the tiny receiver's stderr and what host 1 sent and received.
fn debian_to_tiny_captured(
    lab: &Lab,
    tiny: &Path,
    sender_args: &[&str],
    tiny_args: &[&str],
    size: u64,
    seed: u64,
) -> (String, Vec<UdpDatagram>) {
    let sender = PathBuf::from(DEBIAN_SENDER);
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, size, seed).unwrap();
    let cap = lab.host(1).capture("udp").unwrap();
    let mut rx = start_tiny_with(lab, tiny, tiny_args, &out);
    run_sender(lab, &sender, sender_args, &input, &mut rx);
    let datagrams = capture_stop(cap);
    assert_same(&input, &out);
    (rx.stderr(), datagrams)
}

/// Debian's sender told `--mcast-rdv-address G` announces itself on G and listens for
/// CONNECT_REQ there; the tiny receiver given the same address sends its CONNECT_REQ to
/// G:P+1, with the `--ttl` it was given, and never to the broadcast address.
#[test]
fn tiny_receiver_meets_debian_sender_at_multicast_rendezvous() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(_) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = capture_lab() else { return };
    let (_, datagrams) = debian_to_tiny_captured(
        &lab,
        &tiny,
        &[
            "--nokbd",
            "--min-receivers",
            "1",
            "--mcast-rdv-address",
            RDV,
        ],
        &["--nokbd", "--mcast-rdv-address", RDV, "--ttl=2"],
        1 << 20,
        201,
    );
    let sender = lab.host(0).addr();
    let requests: Vec<_> = sent_by_tiny(&lab, &datagrams)
        .into_iter()
        .filter(|d| matches!(Message::parse(&d.payload), Ok(Message::ConnectReq(_))))
        .collect();
    let first = requests
        .first()
        .expect("the tiny receiver sent no CONNECT_REQ");
    assert_eq!(
        first.dst,
        SocketAddrV4::new(RDV_GROUP, PORTBASE + 1),
        "first CONNECT_REQ not to the rendezvous group"
    );
    for d in &requests {
        assert!(
            *d.dst.ip() == RDV_GROUP || *d.dst.ip() == sender,
            "#{}: CONNECT_REQ to {} (neither the group nor the sender)",
            d.number,
            d.dst
        );
        assert_eq!(d.ttl, 2, "#{}: CONNECT_REQ with IP TTL {}", d.number, d.ttl);
    }
}

/// Only a member of the rendezvous group hears an async sender's HELLOs there: a passive
/// tiny receiver (which never asks to connect) gets the whole image only if it joined G,
/// and it must not send a CONNECT_REQ.
#[test]
fn passive_tiny_receiver_joins_the_rendezvous_group_of_an_async_debian_sender() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(_) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = capture_lab() else { return };
    let (stderr, datagrams) = debian_to_tiny_captured(
        &lab,
        &tiny,
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--max-bitrate",
            "100m",
            "--autostart",
            "2",
            "--mcast-rdv-address",
            RDV,
        ],
        // Short letters and a bundle, as getopt takes them: -k -d, then -M G.
        &["-kd", "-M", RDV],
        2_000_000,
        202,
    );
    assert_eq!(result_line_bytes(&stderr), 2_000_000);
    let hellos_to_group = datagrams
        .iter()
        .filter(|d| matches!(Message::parse(&d.payload), Ok(Message::Hello(_))))
        .filter(|d| d.dst == SocketAddrV4::new(RDV_GROUP, PORTBASE))
        .count();
    assert!(hellos_to_group > 0, "the sender sent no HELLO to {RDV}");
    let requests = sent_by_tiny(&lab, &datagrams)
        .into_iter()
        .filter(|d| matches!(Message::parse(&d.payload), Ok(Message::ConnectReq(_))))
        .count();
    assert_eq!(requests, 0, "a passive receiver sent CONNECT_REQ");
}

/// `--rcvbuf 64k` sets SO_RCVBUF (CONNECT_REQ reports what the kernel granted: Linux
/// doubles a request up to net.core.rmem_max, and the default is 212 992, not 131 072);
/// `--exit-wait 2000` keeps the receiver 2 s after its final OK before it says
/// DISCONNECT (the default is 500 ms); `--sync` writes the same bytes, with O_SYNC.
#[test]
fn tiny_receiver_takes_exit_wait_rcvbuf_and_sync() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(_) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = capture_lab() else { return };
    let (stderr, datagrams) = debian_to_tiny_captured(
        &lab,
        &tiny,
        &["--nokbd", "--min-receivers", "1"],
        &["--nokbd", "--exit-wait=2000", "-b", "64k", "--sync"],
        1_500_000,
        203,
    );
    assert_eq!(result_line_bytes(&stderr), 1_500_000);
    let rmem_max: u32 = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let granted = 2 * rmem_max.min(64 * 1024);
    let ours = sent_by_tiny(&lab, &datagrams);
    let mut requests = 0;
    for d in &ours {
        if let Ok(Message::ConnectReq(req)) = Message::parse(&d.payload) {
            requests += 1;
            assert_eq!(
                req.receive_buffer, granted,
                "#{}: CONNECT_REQ buffer",
                d.number
            );
        }
    }
    assert!(requests > 0, "the tiny receiver sent no CONNECT_REQ");

    // The final OK (highest slice, first time) starts the exit-wait; DISCONNECT ends it.
    let last_slice = ours
        .iter()
        .filter_map(|d| match Message::parse(&d.payload) {
            Ok(Message::Ok(ok)) => Some(ok.slice),
            _ => None,
        })
        .max()
        .expect("no OK sent");
    let final_ok = ours
        .iter()
        .find(
            |d| matches!(Message::parse(&d.payload), Ok(Message::Ok(ok)) if ok.slice == last_slice),
        )
        .unwrap();
    let disconnect = ours
        .iter()
        .find(|d| matches!(Message::parse(&d.payload), Ok(Message::Disconnect)))
        .expect("no DISCONNECT sent");
    let waited_ms = disconnect.time_us.saturating_sub(final_ok.time_us) / 1000;
    assert!(
        waited_ms >= 1900,
        "DISCONNECT only {waited_ms} ms after the final OK (exit-wait 2000 ms)"
    );
}

/// The result line counts every byte written: a size that is no multiple of the block
/// size, so that a dropped or doubled short last block shows.
#[test]
fn result_line_counts_the_bytes_written() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let size = 3_000_017;
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, size, 204).unwrap();
    let mut rx = start_tiny(&lab, &tiny, &out);
    run_sender(
        &lab,
        &sender,
        &["--nokbd", "--min-receivers", "1"],
        &input,
        &mut rx,
    );
    assert_same(&input, &out);
    assert_eq!(std::fs::metadata(&out).unwrap().len(), size);
    assert_eq!(result_line_bytes(&rx.stderr()), size);
}

/// No sender: exit 255 after the start timeout, the reason, and the warning a boot image
/// looks for instead of the result line.
#[test]
fn no_sender_exits_255_and_says_the_output_is_incomplete() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let out = lab.path("out.bin");
    let done = lab
        .host(1)
        .command(&tiny)
        .args(["--nokbd", "-s", "1", "--file"])
        .arg(&out)
        .timeout(LIMIT)
        .label("tiny-receiver")
        .run()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("tiny-receiver: 0 bytes written; the output is INCOMPLETE\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("Transfer complete"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// Command lines refused (no lab needed).

/// Runs the tiny receiver outside any lab, bounded by timeout(1). `args` must make it exit
/// before it opens a socket; should the parser wrongly accept them, the leading options
/// keep it on the loopback interface and end it after one second (exit 255).
fn run_outside_lab(tiny: &Path, args: &[&str]) -> Output {
    let timeout = lab::find_program("timeout").expect("timeout(1)");
    let started = Instant::now();
    let done = Command::new(timeout)
        .arg("10")
        .arg(tiny)
        .args(["--interface", "lo", "--portbase", "19000", "-s", "1", "-k"])
        .args(args)
        .env_remove("IFNAME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!("{args:?}: {:?} after {:?}", done.status, started.elapsed());
    done
}

/// Exit 1, nothing on stdout, a first stderr line naming `option`, then the usage.
fn assert_usage_error(tiny: &Path, args: &[&str], option: &str) {
    let done = run_outside_lab(tiny, args);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(done.stdout.is_empty(), "{args:?}: stdout not empty");
    let mut lines = stderr.lines();
    let first = lines.next().unwrap_or("");
    assert!(
        first.starts_with("tiny-receiver: ") && first.contains(option),
        "{args:?}: first line {first:?} does not name {option}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("usage: tiny-receiver")),
        "{args:?}: no usage after the message:\n{stderr}"
    );
}

#[test]
fn unknown_options_exit_1_naming_the_option() {
    let Some(tiny) = tiny_receiver() else { return };
    // A trailing --help (exit 0) shows an unknown option that was silently accepted.
    assert_usage_error(&tiny, &["--bogus", "--help"], "unknown option --bogus");
    assert_usage_error(&tiny, &["--bogus=3", "--help"], "unknown option --bogus");
    assert_usage_error(&tiny, &["-kq", "--help"], "unknown option -q");
    assert_usage_error(&tiny, &["--nokbd=yes", "--help"], "--nokbd");
    assert_usage_error(
        &tiny,
        &["disk.img", "--help"],
        "unexpected argument disk.img",
    );
    assert_usage_error(&tiny, &["--file"], "missing value for --file");
}

#[test]
fn bad_numbers_exit_1_naming_the_option() {
    let Some(tiny) = tiny_receiver() else { return };
    assert_usage_error(&tiny, &["--portbase", "90x0", "--help"], "--portbase: 90x0");
    assert_usage_error(&tiny, &["--port=65535", "--help"], "--port: 65535");
    assert_usage_error(&tiny, &["-P", "", "--help"], "-P");
    assert_usage_error(&tiny, &["--rcvbuf=12q", "--help"], "--rcvbuf: 12q");
    assert_usage_error(&tiny, &["-b1g", "--help"], "-b: 1g");
    assert_usage_error(&tiny, &["-w", "-5", "--help"], "-w: -5");
    assert_usage_error(&tiny, &["--ttl", "0", "--help"], "--ttl: 0");
    assert_usage_error(
        &tiny,
        &["--start-timeout", "99999999999999999999", "--help"],
        "--start-timeout",
    );
    assert_usage_error(&tiny, &["-M", "232.1.2.300", "--help"], "-M: 232.1.2.300");
}

/// A name no sender can announce: empty (refused by the parser), or one the library
/// refuses (control characters, over 255 bytes), which it judges once it runs.
#[test]
fn bad_expected_names_exit_1_naming_the_option() {
    let Some(tiny) = tiny_receiver() else { return };
    assert_usage_error(&tiny, &["--expect-name=", "--help"], "--expect-name");
    assert_usage_error(&tiny, &["--expect-name"], "missing value for --expect-name");
    assert_usage_error(&tiny, &["--expect-name", "a\tb"], "--expect-name: a\tb");
    let long = "x".repeat(256);
    assert_usage_error(&tiny, &["--expect-name", &long], "--expect-name");
}

#[test]
fn help_and_version_print_to_stdout_and_exit_0() {
    let Some(tiny) = tiny_receiver() else { return };
    let help = run_outside_lab(&tiny, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.starts_with("usage: tiny-receiver"), "{text}");
    for option in [
        "--mcast-rdv-address",
        "--exit-wait",
        "--rcvbuf",
        "--ttl",
        "--sync",
        "--expect-name",
    ] {
        assert!(text.contains(option), "usage lacks {option}: {text}");
    }
    assert!(help.stderr.is_empty());
    let version = run_outside_lab(&tiny, &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("tiny-receiver (libudpcast {})\n", env!("CARGO_PKG_VERSION"))
    );
}
