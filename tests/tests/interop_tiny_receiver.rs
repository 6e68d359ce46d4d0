//! The tiny receiver (`ffi/examples/tiny-receiver.c`: C sockets and files, libudpcast for
//! the protocol) against real senders in the network lab: Debian's udp-sender in
//! synchronous mode under loss, Debian's async FEC sender under loss, and our own
//! udp-sender. Every output must equal the input (SHA-256).
//!
//! Nothing is built here: the binary must exist at `target/tiny/tiny-receiver`
//! (`ffi/build-tiny-receiver.sh` puts it there). Without it, like without a lab, the tests
//! skip loudly; with `UDPCAST_REQUIRE_LAB=1` they fail instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_tests::lab::{self, Lab, Loss, Proc};

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

/// Runs `sender` on host 0 with `args` + `--file input` and expects both to succeed.
fn run_sender<'a>(lab: &'a Lab, sender: &Path, args: &[&str], input: &Path, rx: &mut Proc<'a>) {
    let mut tx = lab
        .host(0)
        .command(sender)
        .args(args)
        .arg("--file")
        .arg(input)
        .timeout(LIMIT)
        .label("sender")
        .spawn()
        .unwrap();
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

/// Synchronous transfer from `sender` to the tiny receiver with `permille` loss toward it.
fn sync_transfer(sender_path: Option<PathBuf>, permille: u32, seed: u64) {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = sender_path else { return };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
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
fn our_sender_to_tiny_receiver() {
    sync_transfer(our_sender(), 0, 102);
}

#[test]
fn our_sender_to_tiny_receiver_with_5pct_loss() {
    sync_transfer(our_sender(), 50, 103);
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
