//! The flood: a third host forges the sender and a receiver, replays and tampers, during a
//! keyed transfer; every forgery is counted as rejected and the copies stay intact.

use std::time::Duration;

use udpcast_tests::lab::{self, Proc};
use udpcast_tests::room::Impl;

use crate::{
    heavy, key_file, receive_buffer_drops, room, sent_to, spawn_spoofer, spoof_count, stat,
    DATA_GROUP, LIMIT,
};

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
