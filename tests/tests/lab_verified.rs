//! Verified transfers (issue #11, doc/verified-transfers.md) in the network lab: ours to
//! ours says `verified` with the sender's digest; a wrong `--expect-name` is refused before
//! the output is touched; rooms that mix ours and Debian's udpcast 20120424 in both
//! directions stay byte-identical, and captures show the Debian peers never get (or never
//! act on) anything of the extension.
//!
//! These tests need root (they skip loudly otherwise, and fail under
//! `UDPCAST_REQUIRE_LAB=1`) and Debian's udpcast. Every process is bounded by a time limit.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use udpcast_core::extension::{Trailer, VERIFIED};
use udpcast_core::wire::{ConnectReply, Message, Reqack};
use udpcast_tests::corrupt;
use udpcast_tests::lab::{self, Loss, Proc};
use udpcast_tests::pcap::UdpDatagram;
use udpcast_tests::room::{Impl, Room};

const LIMIT: Duration = Duration::from_secs(60);

/// Transfers take turns: the machine's two cores are shared by every lab.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn room(hosts: usize, programs: &[&str]) -> Option<Room> {
    Room::new(hosts, programs, LIMIT)
}

/// The `verified: N bytes, crc64 X` line of a receiver, and the sender's
/// `stream digest: N bytes, crc64 X`: both must name the same digest.
fn digest_after(stderr: &str, prefix: &str) -> Option<String> {
    stderr
        .split(['\n', '\r'])
        .find_map(|l| l.strip_prefix(prefix))
        .map(|rest| rest.trim().to_string())
}

#[track_caller]
fn assert_verified_as_sent(tx: &Proc<'_>, rx: &Proc<'_>) {
    let sent = digest_after(&tx.stderr(), "stream digest: ")
        .unwrap_or_else(|| panic!("sender printed no digest:\n{}", tx.stderr()));
    let got = digest_after(&rx.stderr(), "verified: ")
        .unwrap_or_else(|| panic!("[{}] did not verify:\n{}", rx.label(), rx.stderr()));
    assert_eq!(got, sent, "[{}] verified another digest", rx.label());
}

fn capture_stop(cap: lab::Capture<'_>) -> Vec<UdpDatagram> {
    let file = cap.stop().unwrap();
    assert_eq!(file.dropped_by_kernel, Some(0), "tcpdump lost packets");
    file.read_udp().unwrap()
}

fn trailer_of(payload: &[u8], fixed: usize) -> Option<Trailer<'_>> {
    Trailer::parse(payload.get(fixed..).unwrap_or(&[])).unwrap()
}

// ---------------------------------------------------------------------------------------
// Ours to ours.

#[test]
fn ours_to_ours_verifies_in_every_mode_under_loss() {
    let Some(r) = room(3, &[]) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 6_000_000, 1);
    for mode in [
        &["--full-duplex"][..],
        &["--half-duplex"],
        &["--fec", "8x4/64"],
        &["--async", "--fec", "8x8/128", "--max-bitrate", "100m"],
    ] {
        let asynchronous = mode.contains(&"--async");
        // Nothing is resent in async mode: 1 % stays well within what 8 FEC blocks per
        // stripe of 128 repair.
        let permille = if asynchronous { 10 } else { 30 };
        let _loss = r.lab.add_loss(&Loss::toward(1, permille)).unwrap();
        let rx_args: &[&str] = if asynchronous {
            &[
                "--nokbd",
                "--start-timeout",
                "20",
                "--receive-timeout",
                "10",
            ]
        } else {
            &["--nokbd"]
        };
        let mut rx: Vec<Proc> = [1, 2]
            .iter()
            .map(|&h| r.receiver(h, Impl::Ours, rx_args))
            .collect();
        let mut tx_args = vec!["--nokbd"];
        tx_args.extend_from_slice(mode);
        if asynchronous {
            tx_args.extend(["--autostart", "2"]);
        } else {
            tx_args.extend(["--min-receivers", "2"]);
        }
        let mut tx = r.sender(Impl::Ours, &tx_args, &input);
        {
            let mut all: Vec<&mut Proc> = std::iter::once(&mut tx).chain(rx.iter_mut()).collect();
            lab::expect_all_success(&mut all, LIMIT);
        }
        r.assert_intact(&input, &[1, 2]);
        for p in &rx {
            assert_verified_as_sent(&tx, p);
            assert!(p
                .stderr()
                .contains("Stream \"in.img\", 6 000 000 bytes, session "));
        }
    }
}

/// Payload bytes flipped on the wire toward host 1 (UDP checksum kept valid): its receiver
/// finds the bad slices, asks for them again and still writes the image; host 2 sees no
/// damage. Whatever happens, no receiver says `verified` over a copy that differs.
#[test]
fn corrupted_blocks_are_caught_asked_for_again_and_the_copy_verifies() {
    let Some(r) = room(3, &[]) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 8_000_000, 8);
    // 2 ‰ of DATA datagrams, each on its own (no GSO runs): about one slice in four is
    // damaged at the default 112 blocks per slice.
    let mut r = r;
    r.no_gso = true;
    let rule = corrupt::corrupt_data_payloads(&r.lab, 1, 2).unwrap();
    let stats = r.lab.path("rx1.json");
    let stats_arg = stats.to_str().unwrap().to_string();
    let mut damaged = r.receiver(1, Impl::Ours, &["--nokbd", "--stats-json", &stats_arg]);
    let mut clean = r.receiver(2, Impl::Ours, &["--nokbd"]);
    let mut tx = r.sender(Impl::Ours, &["--nokbd", "--min-receivers", "2"], &input);
    {
        let mut all = [&mut tx, &mut damaged, &mut clean];
        lab::expect_all_success(&mut all, LIMIT);
    }
    let counters = rule.remove().unwrap();
    assert!(counters.corrupted > 0, "nothing was damaged: {counters:?}");
    r.assert_intact(&input, &[1, 2]);
    assert_verified_as_sent(&tx, &damaged);
    assert_verified_as_sent(&tx, &clean);
    let said = damaged.stderr();
    let caught = said
        .matches("failed its checksum: discarded and asked for again")
        .count();
    assert!(caught > 0, "no bad slice was noticed:\n{said}");
    let report = std::fs::read_to_string(&stats).unwrap();
    assert!(
        report.contains(&format!("\"slices_failed_check\":{caught}")),
        "{report}"
    );
    assert!(!clean.stderr().contains("failed its checksum"));
    eprintln!(
        "{} DATA datagrams damaged toward host 1, {caught} slices failed their check",
        counters.corrupted
    );
}

/// Async (no return channel): a damaged slice cannot be asked for again, so our receiver
/// fails, says the output does not match, and never claims `verified`.
#[test]
fn async_corruption_fails_the_receiver_loudly() {
    let Some(mut r) = room(2, &[]) else { return };
    let _turn = heavy();
    r.no_gso = true;
    let input = r.input("in.img", 4_000_000, 9);
    let rule = corrupt::corrupt_data_payloads(&r.lab, 1, 20).unwrap();
    let mut rx = r.receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--start-timeout", "20", "--receive-timeout", "5"],
    );
    let mut tx = r.sender(
        Impl::Ours,
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
    );
    let status = rx.wait_timeout(LIMIT).unwrap();
    let _ = tx.wait_timeout(LIMIT);
    assert!(rule.remove().unwrap().corrupted > 0);
    let said = rx.stderr();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{said}");
    assert!(said.contains("fails its checksum"), "{said}");
    assert_eq!(digest_after(&said, "verified: "), None, "{said}");
    assert!(!r.intact(&input, 1));
}

#[test]
fn a_wrong_expected_name_is_refused_before_the_output_is_touched() {
    let Some(r) = room(3, &[]) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 2_000_000, 2);
    std::fs::write(r.output(1), b"previous contents").unwrap();
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--min-receivers", "1", "--name", "disk-a"],
        &input,
    );
    let mut wrong = r.receiver(1, Impl::Ours, &["--nokbd", "--expect-name", "disk-b"]);
    let status = wrong.wait_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", wrong.stderr());
    let said = wrong.stderr();
    assert!(
        said.contains("the sender sends \"disk-a\"")
            && said.contains(
                "not the stream expected (--expect-name \"disk-b\"): refused, nothing written"
            ),
        "{said}"
    );
    assert!(!said.contains("INCOMPLETE"), "{said}");
    assert_eq!(std::fs::read(r.output(1)).unwrap(), b"previous contents");

    // The sender forgot it (DISCONNECT) and serves the right receiver alone.
    let mut right = r.receiver(2, Impl::Ours, &["--nokbd", "--expect-name", "disk-a"]);
    {
        let mut all = [&mut tx, &mut right];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[2]);
    assert_verified_as_sent(&tx, &right);
}

#[test]
fn expect_name_refuses_a_debian_sender_that_announces_no_name() {
    let Some(r) = room(2, &[]) else { return };
    let input = r.input("in.img", 500_000, 3);
    let mut tx = r.sender(Impl::Debian, &["--nokbd", "--min-receivers", "1"], &input);
    let mut rx = r.receiver(1, Impl::Ours, &["--nokbd", "--expect-name", "in.img"]);
    let status = rx.wait_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", rx.stderr());
    assert!(
        rx.stderr().contains("announces no stream name"),
        "{}",
        rx.stderr()
    );
    assert!(!r.output(1).exists(), "the output was created");
    let _ = tx.kill();
}

// ---------------------------------------------------------------------------------------
// Mixed rooms: Debian peers see plain udpcast.

/// Our sender, one Debian and one of our receivers, 3 % loss toward each: both copies
/// intact, ours verified, and the capture shows what each was sent and answered.
#[test]
fn our_sender_with_a_debian_and_our_receiver_in_one_room() {
    let Some(mut r) = room(3, &["tcpdump"]) else {
        return;
    };
    let _turn = heavy();
    r.no_gso = true;
    let input = r.input("in.img", 4_000_000, 4);
    let _loss = r.lab.add_loss(&Loss::toward_hosts(&[1, 2], 30)).unwrap();
    let cap = r.lab.host(0).capture("udp").unwrap();
    let mut debian = r.receiver(1, Impl::Debian, &["--nokbd"]);
    let mut ours = r.receiver(2, Impl::Ours, &["--nokbd"]);
    let mut tx = r.sender(Impl::Ours, &["--nokbd", "--min-receivers", "2"], &input);
    {
        let mut all = [&mut tx, &mut debian, &mut ours];
        lab::expect_all_success(&mut all, LIMIT);
    }
    let datagrams = capture_stop(cap);
    r.assert_intact(&input, &[1, 2]);
    assert_verified_as_sent(&tx, &ours);
    let debian_says = debian.stderr();
    for never in ["Unexpected", "Bad server", "mismatch", "Dropped"] {
        assert!(
            !debian_says.contains(never),
            "Debian said {never:?}:\n{debian_says}"
        );
    }

    let (deb, our) = (r.lab.host(1).addr(), r.lab.host(2).addr());
    let sender = r.lab.host(0).addr();
    let mut replies = [0, 0];
    let mut reqacks_with_checks = 0;
    let mut debian_oks = 0;
    for d in &datagrams {
        let Ok(msg) = Message::parse(&d.payload) else {
            panic!("#{}: unparsable", d.number)
        };
        match msg {
            Message::ConnectReply(reply) if *d.dst.ip() == deb => {
                replies[0] += 1;
                assert_eq!(
                    d.payload.len(),
                    ConnectReply::LEN,
                    "#{}: reply to Debian",
                    d.number
                );
                assert!(!reply.capabilities.contains(VERIFIED));
            }
            Message::ConnectReply(reply) if *d.dst.ip() == our => {
                replies[1] += 1;
                assert!(reply.capabilities.contains(VERIFIED), "#{}", d.number);
                let t = trailer_of(&d.payload, ConnectReply::LEN).expect("identity trailer");
                assert_eq!(t.name(), Some("in.img"));
                assert_eq!(t.total_size(), Some(4_000_000));
            }
            Message::Reqack(_)
                if *d.src.ip() == sender && trailer_of(&d.payload, Reqack::LEN).is_some() =>
            {
                reqacks_with_checks += 1;
            }
            // Debian's own datagrams keep udpcast's sizes: nothing of ours comes back.
            Message::ConnectReq(req) if *d.src.ip() == deb => {
                assert_eq!(d.payload.len(), 12);
                assert!(!req.capabilities.contains(VERIFIED));
            }
            Message::Ok(_) if *d.src.ip() == deb => {
                assert_eq!(d.payload.len(), 8);
                debian_oks += 1;
            }
            Message::Retransmit(_) if *d.src.ip() == deb => {
                assert_eq!(d.payload.len(), 140);
            }
            Message::ConnectReq(req) if *d.src.ip() == our => {
                assert!(req.capabilities.contains(VERIFIED));
            }
            _ => {}
        }
    }
    assert!(replies[0] >= 1 && replies[1] >= 1, "replies {replies:?}");
    // Debian acknowledged slices whose REQACKs all carried a trailer: it read them as
    // udpcast's 144-byte REQACKs.
    let slices = 4_000_000usize.div_ceil(1456 * 112);
    assert!(
        reqacks_with_checks >= slices,
        "{reqacks_with_checks} REQACKs with checks"
    );
    assert!(
        debian_oks >= slices,
        "Debian answered only {debian_oks} OKs"
    );
}

/// Debian's sender to one of ours and one Debian receiver: plain udpcast for both, and
/// ours says it is not verified.
#[test]
fn a_debian_sender_serves_our_receiver_plain_udpcast() {
    let Some(mut r) = room(3, &["tcpdump"]) else {
        return;
    };
    let _turn = heavy();
    r.no_gso = true;
    let input = r.input("in.img", 3_000_000, 5);
    let _loss = r.lab.add_loss(&Loss::toward(2, 30)).unwrap();
    let cap = r.lab.host(0).capture("udp").unwrap();
    let mut debian = r.receiver(1, Impl::Debian, &["--nokbd"]);
    let mut ours = r.receiver(2, Impl::Ours, &["--nokbd"]);
    let mut tx = r.sender(Impl::Debian, &["--nokbd", "--min-receivers", "2"], &input);
    {
        let mut all = [&mut tx, &mut debian, &mut ours];
        lab::expect_all_success(&mut all, LIMIT);
    }
    let datagrams = capture_stop(cap);
    r.assert_intact(&input, &[1, 2]);
    let said = ours.stderr();
    assert!(
        said.contains("not verified: the sender does not support verification"),
        "{said}"
    );
    assert_eq!(digest_after(&said, "verified: "), None, "{said}");
    // Debian's sender ANDs our bit away and runs as with its own receivers.
    assert!(
        tx.stderr().contains("Starting transfer: 00000009"),
        "{}",
        tx.stderr()
    );
    let our = r.lab.host(2).addr();
    for d in &datagrams {
        match Message::parse(&d.payload) {
            Ok(Message::Ok(_)) if *d.src.ip() == our => assert_eq!(d.payload.len(), 8),
            Ok(Message::Retransmit(_)) if *d.src.ip() == our => assert_eq!(d.payload.len(), 140),
            Ok(Message::ConnectReq(_)) if *d.src.ip() == our => assert_eq!(d.payload.len(), 12),
            _ => {}
        }
    }
}

/// Async with FEC: the HELLOs carry the identity and every slice gets one REQACK with its
/// check; a passive Debian receiver reads the same HELLOs and writes the same bytes.
#[test]
fn async_room_with_a_passive_debian_receiver_and_ours() {
    let Some(r) = room(3, &[]) else { return };
    let _turn = heavy();
    let input = r.input("in.img", 4_000_000, 6);
    let rx_args = [
        "--nokbd",
        "--start-timeout",
        "20",
        "--receive-timeout",
        "10",
    ];
    let mut debian = r.receiver(1, Impl::Debian, &rx_args);
    let mut ours = r.receiver(2, Impl::Ours, &rx_args);
    let mut tx = r.sender(
        Impl::Ours,
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
    );
    {
        let mut all = [&mut tx, &mut debian, &mut ours];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1, 2]);
    assert_verified_as_sent(&tx, &ours);
}

/// Streaming with `--broadcast`, where receivers still looking for the sender hear the
/// data address too: the slice checks ride on the streaming hellos, so late joiners (a
/// Debian receiver and ours) see no REQACK udpcast would not send, join at a slice
/// boundary and write a tail of the stream; the receiver there from the start verifies.
#[test]
fn verified_streaming_late_joiners_over_broadcast_write_a_tail() {
    let Some(r) = room(4, &["tcpdump"]) else {
        return;
    };
    let _turn = heavy();
    let len = 2_000_000usize;
    let input = r.input("in.img", len as u64, 8);
    let rx_args = ["--nokbd", "--receive-timeout", "10"];
    let mut early = r.receiver(1, Impl::Ours, &rx_args);
    let cap = r.lab.host(0).capture("udp").unwrap();
    let mut tx = r.sender(
        Impl::Ours,
        &[
            "--nokbd",
            "--async",
            "--streaming",
            "--broadcast",
            "--max-bitrate",
            "2m",
            "--slice-size",
            "128",
            "--autostart",
            "1",
        ],
        &input,
    );
    assert!(tx
        .wait_for_stderr("Starting transfer", Duration::from_secs(15))
        .unwrap());
    std::thread::sleep(Duration::from_secs(3));
    let mut late_debian = r.receiver(2, Impl::Debian, &rx_args);
    let mut late_ours = r.receiver(3, Impl::Ours, &rx_args);
    {
        let mut all = [&mut tx, &mut early, &mut late_debian, &mut late_ours];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1]);
    assert_verified_as_sent(&tx, &early);
    let want = std::fs::read(&input).unwrap();
    for host in [2, 3] {
        let got = std::fs::read(r.output(host)).unwrap();
        assert!(
            !got.is_empty() && got.len() < len,
            "h{host} wrote {} bytes",
            got.len()
        );
        assert!(
            got == want[len - got.len()..],
            "h{host}: not a tail of the input"
        );
    }
    assert!(
        late_ours.stderr().contains("not verified"),
        "{}",
        late_ours.stderr()
    );

    let datagrams = capture_stop(cap);
    let sender = r.lab.host(0).addr();
    let (mut hellos, mut hellos_with_checks) = (0, 0);
    for d in datagrams.iter().filter(|d| *d.src.ip() == sender) {
        match Message::parse(&d.payload) {
            // udpcast's own: the end of an async stream without FEC (§3.8).
            Ok(Message::Reqack(q)) if q.bytes == 0 => {}
            Ok(Message::Reqack(q)) => panic!("a streaming sender sent a slice's REQACK: {q:?}"),
            Ok(Message::Hello(h)) if h.kind == udpcast_core::wire::HelloKind::Streaming => {
                hellos += 1;
                let t = trailer_of(&d.payload, udpcast_core::wire::Hello::LEN);
                if t.is_some_and(|t| t.slice_check().is_some() || t.stream_check().is_some()) {
                    hellos_with_checks += 1;
                }
            }
            _ => {}
        }
    }
    // 2 MB in slices of 128 blocks: 11 data slices and the end, one hello each.
    assert!(hellos >= 12, "{hellos} streaming hellos");
    assert_eq!(
        hellos_with_checks, hellos,
        "streaming hellos without a check"
    );
}

/// `--no-verify` on our sender: our receiver gets plain udpcast and says so.
#[test]
fn no_verify_on_the_sender_gives_plain_udpcast() {
    let Some(r) = room(2, &[]) else { return };
    let input = r.input("in.img", 1_000_000, 7);
    let mut ours = r.receiver(1, Impl::Ours, &["--nokbd", "--sha256"]);
    let mut tx = r.sender(
        Impl::Ours,
        &["--nokbd", "--min-receivers", "1", "--no-verify", "--sha256"],
        &input,
    );
    {
        let mut all = [&mut tx, &mut ours];
        lab::expect_all_success(&mut all, LIMIT);
    }
    r.assert_intact(&input, &[1]);
    assert!(ours
        .stderr()
        .contains("not verified: the sender does not support"));
    assert!(digest_after(&tx.stderr(), "stream digest: ").is_none());
    // --sha256 still prints the same SHA-256 on both sides, that of the file.
    let want = format!("sha256 {}", lab::sha256_file(&input).unwrap());
    assert!(tx.stderr().contains(&want), "{}", tx.stderr());
    assert!(ours.stderr().contains(&want), "{}", ours.stderr());
}
