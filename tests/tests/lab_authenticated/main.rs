//! Authenticated transfers (`--key-file`, issue #14) in the network lab: a third host
//! without the key floods forgeries with the sender's and a receiver's addresses and ports
//! (raw socket: `udpcast-spoof`), replays and tampers with what it sniffs, and every one is
//! dropped and counted while the copies stay byte-identical; Debian's udpcast cannot join
//! either way, a wrong key is refused on both sides with the reason, and a key file too
//! short is a usage error. The tiny receiver takes part with the same file. With
//! `--encrypt`, a capture on the wire finds no block in the clear.
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`) and Debian's udpcast. Every process is bounded by a time limit.

mod encrypt;
mod forgeries;
mod refusals;
mod tiny_receiver;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_tests::lab::{self, Lab, Proc};
use udpcast_tests::room::Room;

const LIMIT: Duration = Duration::from_secs(60);
const DATA_GROUP: &str = "239.66.0.9";

/// Transfers take turns: the machine's two cores are shared by every lab.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn room(hosts: usize) -> Option<Room> {
    Room::new(hosts, &[], LIMIT)
}

/// A key file of `len` bytes made from `seed`.
fn key_file(lab: &Lab, name: &str, len: u64, seed: u64) -> String {
    let path = lab.path(name);
    lab::write_random_file(&path, len, seed).unwrap();
    path.to_str().unwrap().to_string()
}

fn spoofer() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_udpcast-spoof"))
}

/// The tiny receiver, if built (`ffi/build-tiny-receiver.sh`, which scripts/test.sh runs
/// first); `None` after a loud skip.
fn tiny_receiver() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tiny/tiny-receiver");
    if path.is_file() {
        Some(path)
    } else {
        lab::skip_or_fail(
            "lab_authenticated",
            &format!(
                "{} is missing: run ffi/build-tiny-receiver.sh first",
                path.display()
            ),
        );
        None
    }
}

/// `"field":N` of a `--stats-json` report.
fn stat(report: &str, field: &str) -> u64 {
    let key = format!("\"{field}\":");
    let at = report
        .find(&key)
        .unwrap_or_else(|| panic!("no {field} in {report}"));
    report[at + key.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The `sent N ADDR:PORT` line of the spoofer for `to`.
fn sent_to(spoof_out: &str, to: &str) -> u64 {
    spoof_out
        .lines()
        .find_map(|l| l.strip_prefix("sent ")?.strip_suffix(&format!(" {to}")))
        .unwrap_or_else(|| panic!("the spoofer says nothing about {to}:\n{spoof_out}"))
        .parse()
        .unwrap()
}

/// `name N` of the spoofer's summary.
fn spoof_count(spoof_out: &str, name: &str) -> u64 {
    spoof_out
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in:\n{spoof_out}"))
        .parse()
        .unwrap()
}

/// UDP datagrams the kernel of `host` dropped for a full receive buffer so far: those
/// never reach the program, so they cannot be counted by it.
fn receive_buffer_drops(lab: &Lab, host: usize) -> u64 {
    let mut cat = lab
        .host(host)
        .command("cat")
        .arg("/proc/net/snmp")
        .timeout(Duration::from_secs(10))
        .spawn()
        .unwrap();
    cat.expect_success(Duration::from_secs(10));
    let text = String::from_utf8(cat.stdout()).unwrap();
    // Two `Udp:` lines: the column names, then the values.
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next().unwrap(), udp.next().unwrap());
    let column = names
        .split_whitespace()
        .position(|n| n == "RcvbufErrors")
        .unwrap();
    values
        .split_whitespace()
        .nth(column)
        .unwrap()
        .parse()
        .unwrap()
}

fn spawn_spoofer<'a>(lab: &'a Lab, host: usize, label: &str, args: &[&str]) -> Proc<'a> {
    lab.host(host)
        .command(spoofer())
        .args(args)
        .timeout(Duration::from_secs(30))
        .label(label)
        .spawn()
        .unwrap()
}

/// What a receiver that must give up shows: its exit code and what it said, once the
/// sender that could not feed it is stopped.
fn refused_receiver(rx: &mut Proc<'_>, tx: &mut Proc<'_>) -> (Option<i32>, String) {
    let status = rx.wait_timeout(LIMIT).unwrap();
    let _ = tx.kill();
    (status.and_then(|s| s.code()), rx.stderr())
}
