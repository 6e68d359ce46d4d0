//! `--expect-name`: the stream expected is received and verified; another name, or a udpcast
//! sender's stream without one, is refused without touching the output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use udpcast_tests::lab::{self, Lab};

use crate::{
    assert_same, assert_verified, heavy, our_sender, program, run_sender, spawn_sender,
    start_tiny_with, tiny_receiver, DEBIAN_SENDER, LIMIT,
};

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
