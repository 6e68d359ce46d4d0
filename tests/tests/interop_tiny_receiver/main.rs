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

mod boot_options;
mod command_line;
mod result_line;
mod stream_identity;
mod transfers;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_core::extension::integrity::StreamDigest;
use udpcast_tests::lab::{self, Lab, Proc};

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
