//! `--encrypt`: blocks reach both receivers intact and never travel in the clear.

use std::time::Duration;

use udpcast_tests::lab;
use udpcast_tests::room::{Impl, Room};

use crate::{heavy, key_file, tiny_receiver, LIMIT};

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
