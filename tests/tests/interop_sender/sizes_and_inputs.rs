//! Inputs of every awkward size, stdin, a compressing pipe on both sides, and pacing.

use std::time::{Duration, Instant};

use udpcast_tests::lab::{self, Input};

use crate::{heavy, setup, BLOCK, LIMIT};

fn sized_transfer(len: u64, seed: u64) {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let input = s.input(len, seed);
    s.transfer(&["--nokbd", "--min-receivers", "1"], &[1], &[], &input);
    assert_eq!(std::fs::metadata(s.output(1)).unwrap().len(), len);
}

#[test]
fn empty_file() {
    sized_transfer(0, 61);
}

#[test]
fn one_byte_file() {
    sized_transfer(1, 62);
}

#[test]
fn file_of_exactly_1000_blocks() {
    sized_transfer((BLOCK * 1000) as u64, 63);
}

#[test]
fn file_with_a_short_tail() {
    sized_transfer((BLOCK * 777 + 333) as u64, 64);
}

#[test]
fn file_of_200_mb() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let _turn = heavy();
    let input = s.input(200 << 20, 65);
    let t0 = Instant::now();
    let mut rx = s.receiver(1, &["--nokbd"]);
    let mut tx = s.sender_with(
        &[
            "--nokbd",
            "--min-receivers",
            "1",
            "--file",
            input.to_str().unwrap(),
        ],
        Input::Null,
        Duration::from_secs(150),
    );
    lab::expect_all_success(&mut [&mut tx, &mut rx], Duration::from_secs(150));
    eprintln!("200 MB in {:?}", t0.elapsed());
    s.assert_intact(&input, &[1]);
}

#[test]
fn stdin_input() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let input = s.input(3_000_000, 66);
    let mut rx = s.receiver(1, &["--nokbd"]);
    let mut tx = s.sender_with(
        &["--nokbd", "--min-receivers", "1"],
        Input::File(input.clone()),
        LIMIT,
    );
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert!(tx.stderr().contains("(stdin)"), "{}", tx.stderr());
    s.assert_intact(&input, &[1]);
}

#[test]
fn gzip_pipe_on_both_sides() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    // Half compressible: a random file with long runs of zeros.
    let mut data = lab::random_bytes(1_500_000, 67);
    for chunk in data.chunks_mut(10_000).step_by(2) {
        chunk.fill(0);
    }
    let input = s.lab.path("input-gz.bin");
    std::fs::write(&input, &data).unwrap();
    let tx = s.transfer(
        &["--nokbd", "--min-receivers", "1", "--pipe", "gzip -c"],
        &[1],
        &["--pipe", "gzip -dc"],
        &input,
    );
    assert!(
        tx.stderr().contains("Compressed UDP sender"),
        "{}",
        tx.stderr()
    );
}

/// Regression: a pacing refusal once left no deadline, and the send loop slept its
/// default period between groups of slices (10 MB at 200m took 21.8 s).
#[test]
fn synchronous_max_bitrate_200m_runs_near_its_rate() {
    let Some(s) = setup(2, &[]) else {
        return;
    };
    let _turn = heavy();
    let input = s.input(10 << 20, 52);
    let t0 = Instant::now();
    s.transfer(
        &["--nokbd", "--min-receivers", "1", "--max-bitrate", "200m"],
        &[1],
        &[],
        &input,
    );
    // 84 Mbit at 200 Mbit/s is 0.4 s, plus ≈ 2 s for the start rule.
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
