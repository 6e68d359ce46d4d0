//! When our sender starts: streaming to late receivers, and the start rules
//! (--min-receivers, --max-wait, --autostart, --start-timeout, a receiver's go).

use std::time::{Duration, Instant};

use udpcast_tests::lab;

use crate::capture_checks::{capture_stop, check_sender_traffic};
use crate::{heavy, setup, BLOCK, LIMIT};

#[test]
fn async_streaming_late_debian_receiver_gets_a_suffix() {
    let Some(mut s) = setup(3, &["tcpdump"]) else {
        return;
    };
    let _turn = heavy();
    let len = 2_000_000usize;
    let input = s.input(len as u64, 41);
    s.no_gso = true;
    let mut early = s.receiver(1, &["--nokbd"]);
    let cap = s.lab.host(0).capture("udp").unwrap();
    let mut tx = s.sender(
        &[
            "--nokbd",
            "--async",
            "--streaming",
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
    let mut late = s.receiver(2, &["--nokbd"]);
    lab::expect_all_success(&mut [&mut tx, &mut early, &mut late], LIMIT);
    s.assert_intact(&input, &[1]);
    let datagrams = capture_stop(cap);
    check_sender_traffic(&datagrams, s.lab.host(0).addr(), true);

    let want = std::fs::read(&input).unwrap();
    let got = std::fs::read(s.output(2)).unwrap();
    eprintln!("late receiver wrote the last {} of {len} bytes", got.len());
    assert!(!got.is_empty(), "the late receiver wrote nothing");
    assert!(got.len() < len, "the late receiver got everything");
    let start = len - got.len();
    assert_eq!(
        start % BLOCK,
        0,
        "suffix does not start at a block boundary"
    );
    assert!(
        got == want[start..],
        "late output is not a suffix of the input"
    );
}

#[test]
fn min_receivers_2_starts_only_after_the_second_debian_receiver() {
    let Some(s) = setup(3, &[]) else {
        return;
    };
    let input = s.input(1_000_000, 42);
    let mut tx = s.sender(&["--nokbd", "--min-receivers", "2"], &input);
    let mut r1 = s.receiver(1, &["--nokbd"]);
    assert!(tx
        .wait_for_stderr("New connection from", Duration::from_secs(10))
        .unwrap());
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !tx.stderr().contains("Starting transfer"),
        "started with one receiver:\n{}",
        tx.stderr()
    );
    let t0 = Instant::now();
    let mut r2 = s.receiver(2, &["--nokbd"]);
    assert!(tx
        .wait_for_stderr("Starting transfer", Duration::from_secs(15))
        .unwrap());
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(1000) && waited <= Duration::from_secs(6),
        "started {waited:?} after the second receiver (expected ≈ 2 s)"
    );
    lab::expect_all_success(&mut [&mut tx, &mut r1, &mut r2], LIMIT);
    s.assert_intact(&input, &[1, 2]);
}

#[test]
fn max_wait_3_starts_with_one_of_two_debian_receivers() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let input = s.input(1_000_000, 43);
    let mut tx = s.sender(
        &["--nokbd", "--min-receivers", "2", "--max-wait", "3"],
        &input,
    );
    let mut r1 = s.receiver(1, &["--nokbd"]);
    let t0 = Instant::now();
    assert!(tx
        .wait_for_stderr("New connection from", Duration::from_secs(10))
        .unwrap());
    assert!(tx
        .wait_for_stderr("Starting transfer", Duration::from_secs(15))
        .unwrap());
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(2000) && waited <= Duration::from_secs(8),
        "started {waited:?} after the receiver connected (expected ≈ 3-5 s)"
    );
    lab::expect_all_success(&mut [&mut tx, &mut r1], LIMIT);
    s.assert_intact(&input, &[1]);
}

#[test]
fn async_autostart_delivers_to_a_passive_debian_receiver() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let _turn = heavy();
    let input = s.input(1_000_000, 44);
    let tx = s.transfer(
        &[
            "--nokbd",
            "--async",
            "--autostart",
            "1",
            "--max-bitrate",
            "50m",
        ],
        &[1],
        &[],
        &input,
    );
    assert!(tx.stderr().contains("Starting transfer"));
}

#[test]
fn start_timeout_without_receivers_fails_with_a_message() {
    let Some(s) = setup(1, &[]) else {
        return;
    };
    let input = s.input(1000, 45);
    let t0 = Instant::now();
    let mut tx = s.sender(&["--nokbd", "--start-timeout", "3"], &input);
    let status = tx.wait_timeout(Duration::from_secs(20)).unwrap();
    let took = t0.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running:\n{}", tx.stderr()));
    assert!(!status.success(), "exit 0 (we deliberately fail)");
    assert!(
        took >= Duration::from_millis(2500),
        "gave up after {took:?}"
    );
    assert!(
        tx.stderr().to_lowercase().contains("timeout"),
        "no message:\n{}",
        tx.stderr()
    );
}

#[test]
fn go_from_a_debian_receiver_starts_our_sender() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let input = s.input(1_000_000, 46);
    let mut tx = s.sender(&["--nokbd"], &input);
    // Without --nokbd and with stdin at end of file, the receiver sends GO at once.
    let mut r1 = s.receiver(1, &[]);
    lab::expect_all_success(&mut [&mut tx, &mut r1], LIMIT);
    assert!(r1.stderr().contains("Sending go signal"), "{}", r1.stderr());
    s.assert_intact(&input, &[1]);
}
