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

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_tests::lab::{self, Lab, Proc};
use udpcast_tests::room::{Impl, Room};

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

// ---------------------------------------------------------------------------------------

/// The flood: host 3 forges the sender toward both receivers (forgeries of every message,
/// and the sender's own datagrams sniffed off the data group, replayed and tampered with)
/// and forges receiver 1 toward the sender, while a rate-limited transfer runs. Every
/// forged datagram that reached a program is counted as rejected by it, none is acted on,
/// and both copies are byte-identical.
#[test]
fn forgeries_replays_and_tampering_from_a_third_host_are_all_rejected() {
    let Some(r) = room(4) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 64, 41);
    let input = r.input("in.img", 24_000_000, 42);
    let reports: Vec<String> = (0..3)
        .map(|h| {
            r.lab
                .path(format!("stats-{h}.json"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut rx: Vec<Proc> = [1, 2]
        .iter()
        .map(|&h| {
            r.receiver(
                h,
                Impl::Ours,
                &["--nokbd", "--key-file", &key, "--stats-json", &reports[h]],
            )
        })
        .collect();
    // 24 MB at 40 Mbit/s: about five seconds, of which the flood takes the first two.
    let mut tx = r.sender(
        Impl::Ours,
        &[
            "--nokbd",
            "--key-file",
            &key,
            "--min-receivers",
            "2",
            "--max-bitrate",
            "40m",
            "--mcast-data-address",
            DATA_GROUP,
            "--stats-json",
            &reports[0],
        ],
        &input,
    );
    for p in rx.iter_mut() {
        let joined = p.wait_for_stderr("Connected as #", LIMIT).unwrap();
        assert!(joined, "[{}] did not connect:\n{}", p.label(), p.stderr());
    }
    let drops_before: Vec<u64> = (0..3).map(|h| receive_buffer_drops(&r.lab, h)).collect();
    let (h0, h1, h2) = (
        r.lab.host(0).addr(),
        r.lab.host(1).addr(),
        r.lab.host(2).addr(),
    );
    let as_sender = format!("{h0}:9001");
    let to_receivers = format!("{h1}:9000,{h2}:9000");
    let mut toward_receivers = spawn_spoofer(
        &r.lab,
        3,
        "spoof-as-sender",
        &[
            "--from",
            &as_sender,
            "--to",
            &to_receivers,
            "--seconds",
            "2",
            "--pps",
            "1500",
            "--sniff",
            "9000",
            "--group",
            DATA_GROUP,
        ],
    );
    let as_receiver = format!("{h1}:9000");
    let mut toward_sender = spawn_spoofer(
        &r.lab,
        3,
        "spoof-as-receiver",
        &[
            "--from",
            &as_receiver,
            "--to",
            &as_sender,
            "--seconds",
            "2",
            "--pps",
            "1000",
        ],
    );
    toward_receivers.expect_success(Duration::from_secs(30));
    toward_sender.expect_success(Duration::from_secs(30));
    {
        let mut all: Vec<&mut Proc> = std::iter::once(&mut tx).chain(rx.iter_mut()).collect();
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1, 2]);

    let spoofed = String::from_utf8(toward_receivers.stdout()).unwrap();
    let spoofed_tx = String::from_utf8(toward_sender.stdout()).unwrap();
    // The sniffer saw the session: replays and tampered copies of genuine datagrams were
    // part of the flood, not only made-up ones.
    assert!(spoof_count(&spoofed, "sniffed") > 100, "{spoofed}");
    assert!(spoof_count(&spoofed, "replays") > 100, "{spoofed}");
    assert!(spoof_count(&spoofed, "tampered") > 100, "{spoofed}");
    let expected = [
        (0, sent_to(&spoofed_tx, &as_sender)),
        (1, sent_to(&spoofed, &format!("{h1}:9000"))),
        (2, sent_to(&spoofed, &format!("{h2}:9000"))),
    ];
    for (host, sent) in expected {
        let report = std::fs::read_to_string(&reports[host]).unwrap();
        let rejected = stat(&report, "auth_rejected");
        let lost = receive_buffer_drops(&r.lab, host) - drops_before[host];
        assert!(sent > 1000, "host {host}: only {sent} forgeries sent");
        // Every forgery that reached the program was rejected; the kernel's own drops of a
        // full buffer are the only ones it cannot count.
        assert!(
            rejected <= sent && rejected + lost >= sent,
            "host {host}: {sent} forged, {rejected} rejected, {lost} dropped by the kernel"
        );
        eprintln!("host {host}: {sent} forged, {rejected} rejected, {lost} lost in the kernel");
    }
    for p in &rx {
        let said = p.stderr();
        for why in [
            "forged, or sealed with another key",
            "unauthenticated",
            "of another session",
            "replays of this session",
        ] {
            assert!(
                said.contains(why),
                "[{}] never said {why:?}:\n{said}",
                p.label()
            );
        }
    }
    let said = tx.stderr();
    assert!(
        said.contains(&format!("refused datagrams from {as_receiver}")),
        "{said}"
    );
}

// ---------------------------------------------------------------------------------------
// Peers that cannot join.

/// What a receiver that must give up shows: its exit code and what it said, once the
/// sender that could not feed it is stopped.
fn refused_receiver(rx: &mut Proc<'_>, tx: &mut Proc<'_>) -> (Option<i32>, String) {
    let status = rx.wait_timeout(LIMIT).unwrap();
    let _ = tx.kill();
    (status.and_then(|s| s.code()), rx.stderr())
}

/// Debian's receiver next to one of ours, both toward a keyed sender: ours gets the image,
/// Debian's is refused (the sender says so, with the reason) and writes nothing.
#[test]
fn a_debian_receiver_cannot_join_a_keyed_sender() {
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 32, 51);
    let input = r.input("in.img", 3_000_000, 52);
    let mut debian = r.receiver(1, Impl::Debian, &["--nokbd", "--start-timeout", "6"]);
    let mut ours = r.receiver(2, Impl::Ours, &["--nokbd", "--key-file", &key]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--min-receivers", "1"],
        &input,
    );
    ours.expect_success(LIMIT);
    tx.expect_success(LIMIT);
    r.assert_intact(&input, &[2]);
    let status = debian.wait_timeout(LIMIT).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "Debian's receiver did not fail: {status:?}\n{}",
        debian.stderr()
    );
    let written = std::fs::metadata(r.output(1)).map_or(0, |m| m.len());
    assert_eq!(written, 0, "Debian's receiver wrote {written} bytes");
    let h1 = r.lab.host(1).addr();
    let said = tx.stderr();
    assert!(
        said.contains(&format!(
            "refused datagrams from {h1}:9000: unauthenticated (udpcast, or udpcast-rs without --key-file)"
        )),
        "{said}"
    );
}

/// A keyed receiver toward Debian's sender: it never connects and ends at its start
/// timeout, saying that no sender was authentic and why.
#[test]
fn a_keyed_receiver_refuses_a_debian_sender() {
    let Some(r) = room(2) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 32, 61);
    let input = r.input("in.img", 1_000_000, 62);
    let mut rx = r.receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--start-timeout", "3"],
    );
    let mut tx = r.sender(Impl::Debian, &["--nokbd", "--min-receivers", "1"], &input);
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "no authenticated sender before the start timeout: the sender's datagrams were \
             unauthenticated"
        ),
        "{said}"
    );
    assert!(!said.contains("Connected"), "{said}");
    let written = std::fs::metadata(r.output(1)).map_or(0, |m| m.len());
    assert_eq!(written, 0);
}

/// Our receiver without a key toward a keyed sender: the first sealed HELLO tells it that
/// it would never be admitted, and it says so at once (not at a start timeout).
#[test]
fn an_unkeyed_receiver_of_ours_says_it_needs_the_key() {
    let Some(r) = room(2) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 32, 91);
    let input = r.input("in.img", 1_000_000, 92);
    let report = r.lab.path("rx.json");
    let report_arg = report.to_str().unwrap().to_string();
    let mut rx = r.receiver(1, Impl::Ours, &["--nokbd", "--stats-json", &report_arg]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--min-receivers", "1"],
        &input,
    );
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "the sender authenticates its datagrams (--key-file): this receiver needs the key"
        ),
        "{said}"
    );
    let report = std::fs::read_to_string(&report).unwrap();
    assert!(
        report.contains("\"exit_reason\":\"key_required\""),
        "{report}"
    );
}

/// Two keys: each side refuses the other, and says it was another key (or a forgery).
#[test]
fn a_wrong_key_is_refused_on_both_sides_with_the_reason() {
    let Some(r) = room(2) else { return };
    let _turn = heavy();
    let ours = key_file(&r.lab, "a.key", 32, 71);
    let theirs = key_file(&r.lab, "b.key", 32, 72);
    let input = r.input("in.img", 1_000_000, 73);
    let mut rx = r.receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--key-file", &theirs, "--start-timeout", "3"],
    );
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &ours, "--min-receivers", "1"],
        &input,
    );
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("the sender's datagrams were forged, or sealed with another key"),
        "{said}"
    );
    let h1 = r.lab.host(1).addr();
    let told = tx.stderr();
    assert!(
        told.contains(&format!(
            "refused datagrams from {h1}:9000: forged, or sealed with another key"
        )),
        "{told}"
    );
}

// ---------------------------------------------------------------------------------------
// The tiny receiver.

/// The tiny receiver with the room's key file takes the keyed stream intact while host 2
/// floods it in the sender's name (made-up datagrams, and the sender's own replayed and
/// tampered with); with a wrong key it refuses the sender.
#[test]
fn the_tiny_receiver_takes_a_keyed_stream_and_drops_forgeries() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(r) = room(3) else { return };
    let _turn = heavy();
    let key = key_file(&r.lab, "room.key", 40, 81);
    let other = key_file(&r.lab, "other.key", 40, 82);
    let input = r.input("in.img", 12_000_000, 83);
    let out = r.output(1);
    let start_tiny = |key: &str| {
        let mut p = r
            .lab
            .host(1)
            .command(&tiny)
            .args([
                "--nokbd",
                "--start-timeout",
                "4",
                "--key-file",
                key,
                "--file",
            ])
            .arg(&out)
            .timeout(LIMIT)
            .label("tiny-receiver")
            .spawn()
            .unwrap();
        let ready = p
            .wait_for_stderr("tiny-receiver (libudpcast", Duration::from_secs(10))
            .unwrap();
        assert!(ready, "the tiny receiver did not start:\n{}", p.stderr());
        p
    };
    let mut rx = start_tiny(&key);
    let mut tx = r.sender(
        Impl::Ours,
        &[
            "--nokbd",
            "--key-file",
            &key,
            "--min-receivers",
            "1",
            "--max-bitrate",
            "40m",
        ],
        &input,
    );
    assert!(rx.wait_for_stderr("Connected as #", LIMIT).unwrap());
    let (h0, h1) = (r.lab.host(0).addr(), r.lab.host(1).addr());
    let mut spoof = spawn_spoofer(
        &r.lab,
        2,
        "spoof-as-sender",
        &[
            "--from",
            &format!("{h0}:9001"),
            "--to",
            &format!("{h1}:9000"),
            "--seconds",
            "1",
            "--pps",
            "1000",
            "--sniff",
            "9000",
        ],
    );
    spoof.expect_success(Duration::from_secs(30));
    {
        let mut all = [&mut tx, &mut rx];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1]);
    let said = rx.stderr();
    for why in [
        "forged, or sealed with another key",
        "unauthenticated",
        "of another session",
        "replays of this session",
    ] {
        assert!(
            said.contains(&format!(
                "tiny-receiver: dropped datagrams from {h0}:9001: {why}"
            )),
            "{said}"
        );
    }
    assert!(said.contains("verified: 12000000 bytes"), "{said}");

    std::fs::remove_file(&out).unwrap();
    let mut rx = start_tiny(&other);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--key-file", &key, "--min-receivers", "1"],
        &input,
    );
    let (code, said) = refused_receiver(&mut rx, &mut tx);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains(
            "tiny-receiver: no authenticated sender before the start timeout: the sender's \
             datagrams were forged, or sealed with another key"
        ),
        "{said}"
    );
}

// ---------------------------------------------------------------------------------------
// Key files that cannot be used: no network needed.

#[test]
fn key_files_too_short_or_missing_are_usage_errors() {
    let dir = std::env::temp_dir().join(format!("udpcast-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let short = dir.join("short.key");
    std::fs::write(&short, b"fifteen bytes!!").unwrap();
    let missing = dir.join("missing.key");
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let mut programs = vec![bin.join("udp-sender"), bin.join("udp-receiver")];
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tiny/tiny-receiver");
    if tiny.is_file() {
        programs.push(tiny);
    }
    for program in &programs {
        for (key, message) in [
            (&short, "15 bytes, at least 16"),
            (&missing, "cannot read key file"),
        ] {
            let out = std::process::Command::new(program)
                .args(["--key-file", key.to_str().unwrap(), "--nokbd"])
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{}: {said}", program.display());
            let tiny_short = program.ends_with("tiny-receiver") && key == &short;
            let expected = if tiny_short {
                "key material shorter than 16 bytes"
            } else {
                message
            };
            assert!(said.contains(expected), "{}: {said}", program.display());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// --encrypt.

/// `--encrypt`: our receiver and the tiny receiver, both with the key and no option, write
/// the image intact and verified, while a capture on the wire finds no block in the clear.
#[test]
fn enciphered_blocks_reach_both_receivers_and_never_travel_in_the_clear() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(mut r) = Room::new(3, &["tcpdump"], LIMIT) else {
        return;
    };
    let _turn = heavy();
    r.no_gso = true;
    let key = key_file(&r.lab, "room.key", 32, 101);
    let input = r.input("in.img", 3_000_000, 102);
    let cap = r.lab.host(1).capture("udp").unwrap();
    let mut ours = r.receiver(1, Impl::Ours, &["--nokbd", "--key-file", &key]);
    let out = r.output(2);
    let mut tiny = r
        .lab
        .host(2)
        .command(&tiny)
        .args(["--nokbd", "--key-file", &key, "--file"])
        .arg(&out)
        .timeout(LIMIT)
        .label("tiny-receiver")
        .spawn()
        .unwrap();
    assert!(tiny
        .wait_for_stderr("tiny-receiver (libudpcast", Duration::from_secs(10))
        .unwrap());
    let mut tx = r.sender(
        Impl::Ours,
        &[
            "--nokbd",
            "--key-file",
            &key,
            "--encrypt",
            "--min-receivers",
            "2",
        ],
        &input,
    );
    {
        let mut all = [&mut tx, &mut ours, &mut tiny];
        lab::expect_all_success(&mut all, LIMIT);
    }
    let file = cap.stop().unwrap();
    assert_eq!(file.dropped_by_kernel, Some(0), "tcpdump lost packets");
    let datagrams = file.read_udp().unwrap();
    r.assert_intact(&input, &[1, 2]);
    assert!(
        ours.stderr().contains("verified: 3 000 000 bytes"),
        "{}",
        ours.stderr()
    );
    assert!(
        tiny.stderr().contains("verified: 3000000 bytes"),
        "{}",
        tiny.stderr()
    );

    // The first 32 bytes of every block of the input, as a block in the clear would start.
    let input_bytes = std::fs::read(&input).unwrap();
    let starts: std::collections::HashSet<&[u8]> = input_bytes
        .chunks(1420)
        .map(|b| &b[..b.len().min(32)])
        .collect();
    let data: Vec<_> = datagrams
        .iter()
        .filter(|d| d.payload.get(..2) == Some(&[0, 8][..]))
        .collect();
    assert!(
        data.len() > 2000,
        "only {} DATA datagrams captured",
        data.len()
    );
    for d in data {
        assert_eq!(
            &d.payload[d.payload.len() - 36..][..4],
            b"UCE1",
            "#{}",
            d.number
        );
        let block = &d.payload[16..d.payload.len() - 36];
        assert!(
            !starts.contains(&block[..block.len().min(32)]),
            "#{}: a block in the clear",
            d.number
        );
    }
}
