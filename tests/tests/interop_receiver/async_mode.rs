//! Async Debian senders to our passive receiver: FEC repairing loss, and loss without FEC
//! failing clearly or, with --ignore-lost-data, keeping the full length.

use std::path::PathBuf;
use std::time::Duration;

use udpcast_tests::lab::{Loss, Proc};

use crate::{assert_same, file_len, setup, Impl, Setup, BLOCK, LIMIT, MB};

/// Async Debian sender → our passive receiver on host 1, losing frames toward it by
/// `loss`, with an input of `len` bytes. Returns the receiver (exited), its output path,
/// the input path and the frames dropped.
fn async_transfer<'a>(
    s: &'a Setup,
    sender_args: &[&str],
    rx_args: &[&str],
    loss: Loss,
    len: u64,
    seed: u64,
) -> (Proc<'a>, PathBuf, PathBuf, u64) {
    let input = s.input(&format!("in-{seed}.bin"), len, seed);
    let out = s.lab.path(format!("out-{seed}.bin"));
    let rule = s.lab.add_loss(&loss).unwrap();
    let mut args = vec!["--nokbd"];
    args.extend_from_slice(rx_args);
    let mut rx = s.receiver(1, Impl::Ours, &args, &out);
    let mut tx_args = vec![
        "--nokbd",
        "--async",
        "--max-bitrate",
        "100m",
        "--autostart",
        "2",
    ];
    tx_args.extend_from_slice(sender_args);
    let mut tx = s.sender(&tx_args, &input);
    tx.expect_success(LIMIT);
    rx.wait_timeout(Duration::from_secs(20))
        .unwrap()
        .unwrap_or_else(|| panic!("our receiver did not end:\n{}", rx.stderr()));
    (rx, out, input, rule.dropped().unwrap())
}

#[test]
fn async_fec_repairs_2pct_loss_toward_our_receiver() {
    let Some(s) = setup(2) else { return };
    let (rx, out, input, dropped) = async_transfer(
        &s,
        &["--fec", "8x8/128"],
        &[],
        Loss::every_nth_toward(1, 50),
        4 * MB,
        8,
    );
    assert!(
        rx.status().unwrap().success(),
        "our receiver failed: {}\n{}",
        rx.describe_status().unwrap_or_default(),
        rx.stderr()
    );
    assert!(dropped > 0, "the 2% loss rule dropped nothing");
    eprintln!("every 50th frame toward our receiver dropped: {dropped} frames");
    assert_same(&input, &out);
}

/// Input of the async tests without FEC: whole blocks (2880), so that no slice is a lone
/// short block. A slice whose every frame is lost leaves its size unknown, and then even
/// `--ignore-lost-data` cannot write the full length (ours then exits 1 with "slice N was
/// lost before its size became known"): with 4 MiB, a 1024-byte last slice of one block
/// vanished at 3% loss in about 3% of the runs.
const ASYNC_LEN: u64 = BLOCK * 2880;

#[test]
fn async_without_fec_under_loss_fails_clearly() {
    let Some(s) = setup(2) else { return };
    let (rx, _out, _input, dropped) =
        async_transfer(&s, &[], &[], Loss::toward(1, 30), ASYNC_LEN, 9);
    assert!(dropped > 0, "the 3% loss rule dropped nothing");
    let status = rx.status().unwrap();
    let stderr = rx.stderr();
    assert!(
        !status.success(),
        "our receiver claimed success despite lost data:\n{stderr}"
    );
    assert!(
        stderr.contains("INCOMPLETE"),
        "our receiver's stderr does not say the output is incomplete:\n{stderr}"
    );
}

#[test]
fn async_without_fec_under_loss_ignore_lost_data_keeps_full_length() {
    let Some(s) = setup(2) else { return };
    let (rx, out, input, dropped) = async_transfer(
        &s,
        &[],
        &["--ignore-lost-data"],
        Loss::toward(1, 30),
        ASYNC_LEN,
        10,
    );
    assert!(dropped > 0, "the 3% loss rule dropped nothing");
    assert!(
        rx.status().unwrap().success(),
        "our receiver failed with --ignore-lost-data: {}\n{}",
        rx.describe_status().unwrap_or_default(),
        rx.stderr()
    );
    assert_eq!(file_len(&out), file_len(&input), "output length");
}
