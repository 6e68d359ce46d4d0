//! The tiny receiver with the room's key file, under a flood, and with a wrong key.

use std::time::Duration;

use udpcast_tests::lab;
use udpcast_tests::room::Impl;

use crate::{heavy, key_file, refused_receiver, room, spawn_spoofer, tiny_receiver, LIMIT};

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
