//! A late joiner of a streaming sender, and the GO our receiver sends at end of stdin.

use std::fs;
use std::time::Duration;

use udpcast_tests::lab;

use crate::{assert_same, ready, setup, Impl, LIMIT, MB};

#[test]
fn streaming_late_join_writes_the_same_tail_as_debian() {
    let Some(s) = setup(3) else { return };
    let len = 2_000_000;
    let input = s.input("in-stream.bin", len, 11);
    // 1024-block slices: slice 0 (1 490 944 bytes) takes ≈ 6 s at 2 Mb/s; the receivers
    // join about 3 s after the sender, in the middle of it, so both start at slice 1.
    let mut tx = s.sender(
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--max-bitrate",
            "2m",
            "--autostart",
            "1",
            "--streaming",
        ],
        &input,
    );
    std::thread::sleep(Duration::from_secs(3));
    let ours_out = s.lab.path("out-stream-ours.bin");
    let debian_out = s.lab.path("out-stream-debian.bin");
    let mut ours = s.spawn_receiver(
        1,
        Impl::Ours,
        &["--nokbd", "--file", ours_out.to_str().unwrap()],
    );
    let mut debian = s.spawn_receiver(
        2,
        Impl::Debian,
        &["--nokbd", "--file", debian_out.to_str().unwrap()],
    );
    lab::expect_all_success(&mut [&mut tx, &mut ours, &mut debian], LIMIT);

    let all = fs::read(&input).unwrap();
    let got_ours = fs::read(&ours_out).unwrap();
    let got_debian = fs::read(&debian_out).unwrap();
    assert!(
        !got_debian.is_empty() && (got_debian.len() as u64) < len,
        "the Debian receiver did not join late: {} bytes",
        got_debian.len()
    );
    assert!(all.ends_with(&got_debian), "Debian's output is no suffix");
    assert_eq!(
        got_ours.len(),
        got_debian.len(),
        "our late joiner wrote a different length than Debian's"
    );
    assert!(got_ours == got_debian, "our late joiner wrote other bytes");
}

#[test]
fn end_of_file_stdin_sends_go_to_a_waiting_debian_sender() {
    let Some(s) = setup(2) else { return };
    let input = s.input("in-go.bin", 2 * MB, 12);
    let out = s.lab.path("out-go.bin");
    let mut rx = s.spawn_receiver(1, Impl::Ours, &["--file", out.to_str().unwrap()]);
    // The sender has no start rule: only a GO (our receiver's EOF "key press") starts it.
    // The hello interval lets our receiver, started first, find it.
    let mut tx = s.sender(&["--nokbd", "--rexmit-hello-interval", "500"], &input);
    ready(&mut rx);
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert_same(&input, &out);
}
