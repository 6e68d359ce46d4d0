//! The fault matrix of issue #12 in the network lab, each fault with the outcome a user
//! must be able to rely on: a sender killed mid-slice, receivers killed or frozen, a full
//! disk, a slow disk, a `--pipe` command that dies, an input that fails to read, two
//! senders on one LAN, a receiver restarted while the sender waits. The rule throughout:
//! a receiver either has the whole image and says so with status 0, or says it does not
//! and exits non-zero — never a short image reported as complete, never a hang.
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`) and Debian's udpcast. Every process is bounded by a time limit.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use udpcast_tests::lab::{self, Proc};
use udpcast_tests::room::{Impl, Room};

const LIMIT: Duration = Duration::from_secs(60);

/// Transfers take turns: the machine's two cores are shared by every lab.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn room(hosts: usize) -> Option<Room> {
    Room::new(hosts, &[], LIMIT)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Waits until `path` holds at least `bytes` bytes (the transfer is under way).
#[track_caller]
fn wait_for_bytes(path: &Path, bytes: u64) {
    assert!(
        lab::wait_until(Duration::from_secs(20), || file_len(path) >= bytes),
        "{} never reached {bytes} bytes",
        path.display()
    );
}

/// Waits for `p` to exit within `within` and returns its exit code (panics on a hang).
#[track_caller]
fn exit_code(p: &mut Proc<'_>, within: Duration) -> Option<i32> {
    let status = p.wait_timeout(within).unwrap();
    let status = status.unwrap_or_else(|| panic!("[{}] hung:\n{}", p.label(), p.stderr()));
    status.code().or(status.signal().map(|s| 128 + s))
}

/// Waits for our receiver to be given number #0, and shows its stderr if it is not.
#[track_caller]
fn expect_connected(p: &mut Proc<'_>) {
    let connected = p
        .wait_for_stderr("Connected as #0", Duration::from_secs(10))
        .unwrap();
    assert!(connected, "[{}] not connected:\n{}", p.label(), p.stderr());
}

/// Our receiver failed as it must: non-zero, `INCOMPLETE` (or no output), never
/// `Transfer complete` or `verified`.
#[track_caller]
fn assert_failed_loudly(p: &mut Proc<'_>, within: Duration) {
    let code = exit_code(p, within);
    let said = p.stderr();
    assert!(
        code.is_some_and(|c| c != 0),
        "[{}] exit {code:?}:\n{said}",
        p.label()
    );
    assert!(
        !said.contains("Transfer complete"),
        "[{}]:\n{said}",
        p.label()
    );
    assert!(!said.lines().any(|l| l.starts_with("verified: ")), "{said}");
}

// ---------------------------------------------------------------------------------------
// The sender fails.

/// SIGKILL of the sender in the middle of a slice: receivers with `--receive-timeout`
/// give up within it, saying the output is incomplete.
#[test]
fn a_sender_killed_mid_slice_leaves_receivers_failing_in_time() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 30_000_000, 1);
    let rx_args = ["--nokbd", "--receive-timeout", "4"];
    let mut rx: Vec<Proc> = [1, 2]
        .iter()
        .map(|&h| r.receiver(h, Impl::Ours, &rx_args))
        .collect();
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--min-receivers", "2", "--max-bitrate", "40m"],
        &input,
    );
    wait_for_bytes(&r.output(1), 2_000_000);
    tx.kill().unwrap();
    let killed = Instant::now();
    for p in &mut rx {
        assert_failed_loudly(p, Duration::from_secs(15));
        assert!(p.stderr().contains("INCOMPLETE"), "{}", p.stderr());
    }
    // 4 s of silence, plus the time to notice it.
    assert!(
        killed.elapsed() < Duration::from_secs(12),
        "{:?}",
        killed.elapsed()
    );
    assert!(file_len(&r.output(1)) < 30_000_000);
}

/// A shim for `LD_PRELOAD` that makes reads of regular files fail with EIO once
/// `UDPCAST_EIO_AFTER` bytes were read: a disk going bad under the sender.
fn eio_shim(dir: &Path) -> PathBuf {
    let src = dir.join("eio.c");
    let lib = dir.join("eio.so");
    std::fs::write(
        &src,
        r#"#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
static long long done;
ssize_t read(int fd, void *buf, size_t n) {
    static ssize_t (*real)(int, void *, size_t);
    if (!real) real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    struct stat st;
    const char *after = getenv("UDPCAST_EIO_AFTER");
    if (after && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (done >= atoll(after)) { errno = EIO; return -1; }
        ssize_t got = real(fd, buf, n);
        if (got > 0) done += got;
        return got;
    }
    return real(fd, buf, n);
}
"#,
    )
    .unwrap();
    let ok = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .status()
        .unwrap()
        .success();
    assert!(ok, "cannot build the EIO shim");
    lib
}

/// The input fails to read (EIO) mid-transfer: the sender stops with the error, and its
/// receivers fail; none reports success.
#[test]
fn an_input_read_error_aborts_the_sender_and_no_receiver_succeeds() {
    let Some(mut r) = room(3) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 20_000_000, 2);
    let shim = eio_shim(r.lab.dir());
    r.sender_env = vec![
        ("LD_PRELOAD".into(), shim.to_str().unwrap().into()),
        ("UDPCAST_EIO_AFTER".into(), "3000000".into()),
    ];
    let rx_args = ["--nokbd", "--receive-timeout", "4"];
    let mut ours = r.receiver(1, Impl::Ours, &rx_args);
    let mut debian = r.receiver(2, Impl::Debian, &["--nokbd"]);
    let mut tx = r.sender(Impl::Ours, &["--nokbd", "--min-receivers", "2"], &input);
    let code = exit_code(&mut tx, Duration::from_secs(30));
    let said = tx.stderr();
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("Input/output error"), "{said}");
    assert!(!said.contains("Transfer complete"), "{said}");
    assert_failed_loudly(&mut ours, Duration::from_secs(15));
    // udpcast's receiver has no receive timeout by default: it waits for the sender, but
    // its output is short of the input and it never said it was complete.
    assert!(!debian.stderr().contains("Transfer complete"));
    let _ = debian.kill();
    assert!(file_len(&r.output(1)) <= 3_000_000);
}

// ---------------------------------------------------------------------------------------
// A receiver fails; the others must finish.

fn receiver_fault(signal: libc::c_int) {
    let Some(r) = room(4) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 20_000_000, 3);
    let stats = r.lab.path("tx.json");
    let mut ours = r.receiver(1, Impl::Ours, &["--nokbd"]);
    let mut debian = r.receiver(2, Impl::Debian, &["--nokbd"]);
    let mut victim = r.receiver(3, Impl::Ours, &["--nokbd", "--receive-timeout", "3"]);
    let mut tx = r.sender(
        Impl::Ours,
        &[
            "--nokbd",
            "--min-receivers",
            "3",
            "--drop-timeout",
            "3",
            "--max-bitrate",
            "80m",
            "--stats-json",
            stats.to_str().unwrap(),
        ],
        &input,
    );
    wait_for_bytes(&r.output(3), 2_000_000);
    victim.signal(signal).unwrap();
    {
        let mut all = [&mut tx, &mut ours, &mut debian];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1, 2]);
    let said = tx.stderr();
    assert!(
        said.contains("Dropping client #") && said.contains("because of timeout"),
        "{said}"
    );
    let report = std::fs::read_to_string(&stats).unwrap();
    assert!(
        report.contains(r#""status":"dropped","drop_reason":"drop_timeout""#),
        "{report}"
    );
    if signal == libc::SIGSTOP {
        // Woken after the others finished, it finds the sender gone and says so.
        victim.signal(libc::SIGCONT).unwrap();
        assert_failed_loudly(&mut victim, Duration::from_secs(15));
    } else {
        let _ = victim.wait_timeout(Duration::from_secs(5));
    }
    assert!(!r.intact(&input, 3));
}

#[test]
fn a_receiver_killed_mid_transfer_is_dropped_and_the_others_finish() {
    receiver_fault(libc::SIGKILL);
}

#[test]
fn a_receiver_frozen_past_the_drop_timeout_is_dropped_and_the_others_finish() {
    receiver_fault(libc::SIGSTOP);
}

/// A tmpfs mounted on `dir` with room for `bytes`; unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn new(dir: PathBuf, bytes: u64) -> SmallDisk {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "small"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "cannot mount a tmpfs on {}", dir.display());
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The receiver's disk fills up: a clear error, a non-zero exit; the others finish.
#[test]
fn a_full_disk_fails_its_receiver_clearly_and_the_others_finish() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 6_000_000, 4);
    let disk = SmallDisk::new(r.lab.path("small"), 1 << 20);
    let out = disk.0.join("out.img");
    let mut full = r.receiver_with(1, Impl::Ours, &["--nokbd", "--file", out.to_str().unwrap()]);
    let mut fine = r.receiver(2, Impl::Ours, &["--nokbd"]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--min-receivers", "2", "--drop-timeout", "3"],
        &input,
    );
    assert_failed_loudly(&mut full, LIMIT);
    assert!(
        full.stderr().contains("No space left on device"),
        "{}",
        full.stderr()
    );
    {
        let mut all = [&mut tx, &mut fine];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[2]);
}

/// A disk slower than the network (a writer throttled to 4 MB/s): the transfer slows to
/// its pace and nothing is lost.
#[test]
fn a_slow_disk_slows_the_transfer_and_loses_nothing() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 6_000_000, 5);
    let out = r.output(1);
    let throttle = format!(
        "python3 -c 'import sys,time\nw=open(\"{}\",\"wb\")\nwhile True:\n d=sys.stdin.buffer.read(65536)\n if not d: break\n w.write(d); time.sleep(len(d)/4e6)'",
        out.display()
    );
    let mut slow = r.receiver_with(1, Impl::Ours, &["--nokbd", "--pipe", &throttle]);
    let mut fast = r.receiver(2, Impl::Debian, &["--nokbd"]);
    let started = Instant::now();
    let mut tx = r.sender(Impl::Ours, &["--nokbd", "--min-receivers", "2"], &input);
    {
        let mut all = [&mut tx, &mut slow, &mut fast];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1, 2]);
    eprintln!(
        "6 MB through a 4 MB/s writer: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The receiver's `--pipe` command dies early: the receiver says so and fails; the
/// sender serves the others to the end.
#[test]
fn a_dying_pipe_command_fails_its_receiver_and_the_others_finish() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 6_000_000, 6);
    let out = r.output(1);
    let pipe = format!("head -c 100000 > {}", out.display());
    let mut dying = r.receiver_with(1, Impl::Ours, &["--nokbd", "--pipe", &pipe]);
    let mut fine = r.receiver(2, Impl::Ours, &["--nokbd"]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--min-receivers", "2", "--drop-timeout", "3"],
        &input,
    );
    assert_failed_loudly(&mut dying, LIMIT);
    assert!(dying.stderr().contains("pipe"), "{}", dying.stderr());
    {
        let mut all = [&mut tx, &mut fine];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[2]);
}

// ---------------------------------------------------------------------------------------
// Two senders on one LAN.

/// Two transfers on different port bases at once: each receiver gets its own stream.
#[test]
fn two_senders_on_different_ports_never_mix() {
    let Some(r) = room(4) else { return };
    let _turn = heavy();
    let a = r.input("a.img", 5_000_000, 7);
    let b = r.input("b.img", 5_000_000, 8);
    let mut rx_a = r.receiver(2, Impl::Ours, &["--nokbd", "--portbase", "9000"]);
    let mut rx_b = r.receiver(3, Impl::Debian, &["--nokbd", "--portbase", "9010"]);
    let mut tx_a = r.sender_on(
        0,
        Impl::Ours,
        &["--nokbd", "--min-receivers", "1", "--portbase", "9000"],
        &a,
    );
    let mut tx_b = r.sender_on(
        1,
        Impl::Ours,
        &["--nokbd", "--min-receivers", "1", "--portbase", "9010"],
        &b,
    );
    {
        let mut all = [&mut tx_a, &mut tx_b, &mut rx_a, &mut rx_b];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&a, &[2]);
    r.assert_intact(&b, &[3]);
}

/// Two senders on the same port base: a receiver joins one of them and gets that stream
/// whole, never a mix. The sender left without its receiver fails when it drops it.
#[test]
fn two_senders_on_the_same_port_never_mix_streams() {
    let Some(r) = room(4) else { return };
    let _turn = heavy();
    let a = r.input("a.img", 4_000_000, 9);
    let b = r.input("b.img", 4_000_000, 10);
    let tx_args = ["--nokbd", "--min-receivers", "2", "--drop-timeout", "3"];
    let mut tx_a = r.sender_on(0, Impl::Ours, &tx_args, &a);
    let mut tx_b = r.sender_on(1, Impl::Ours, &tx_args, &b);
    let rx_args = ["--nokbd", "--receive-timeout", "8", "--start-timeout", "20"];
    let mut ours = r.receiver(2, Impl::Ours, &rx_args);
    let mut debian = r.receiver(3, Impl::Debian, &["--nokbd", "--start-timeout", "20"]);
    for p in [&mut ours, &mut debian] {
        let _ = exit_code(p, LIMIT);
    }
    for p in [&mut tx_a, &mut tx_b] {
        let _ = exit_code(p, LIMIT);
    }
    let (ia, ib) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    for (h, p) in [(2, &ours), (3, &debian)] {
        // Whatever it holds is one stream's prefix, never bytes of both.
        let got = std::fs::read(r.output(h)).unwrap_or_default();
        assert!(
            ia.starts_with(&got) || ib.starts_with(&got),
            "host {h}: its {} bytes mix the two streams",
            got.len()
        );
        // A receiver that says it has the whole stream has it.
        if p.status().is_some_and(|s| s.success()) {
            assert!(
                got == ia || got == ib,
                "[{}] exit 0 with {} bytes",
                p.label(),
                got.len()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Negotiation.

/// A receiver killed while the sender waits for more, and started again: the sender gives
/// it its number back, and both receivers get the image.
#[test]
fn a_receiver_restarted_during_negotiation_gets_the_image() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 3_000_000, 11);
    let mut tx = r.sender(Impl::Ours, &["--nokbd", "--min-receivers", "2"], &input);
    let mut first = r.receiver(1, Impl::Ours, &["--nokbd"]);
    expect_connected(&mut first);
    first.kill().unwrap();
    let mut again = r.receiver(1, Impl::Ours, &["--nokbd"]);
    expect_connected(&mut again);
    let mut other = r.receiver(2, Impl::Debian, &["--nokbd"]);
    {
        let mut all = [&mut tx, &mut again, &mut other];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1, 2]);
}
