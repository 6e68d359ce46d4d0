//! Whole transfers to the tiny receiver: Debian's and our sender, synchronous under random
//! loss and async with FEC under a steady 2 % loss, and a Debian sender started by its GO.

use std::path::PathBuf;

use udpcast_tests::lab::{self, Lab, Loss};

use crate::{
    assert_not_verified, assert_same, assert_verified, heavy, our_sender, program, run_sender,
    start_tiny, start_tiny_with, tiny_receiver, DEBIAN_SENDER, INPUT_SIZE,
};

/// Synchronous transfer from `sender` to the tiny receiver with `permille` loss toward it;
/// the tiny receiver's stderr, or `None` after a skip.
fn sync_transfer(sender_path: Option<PathBuf>, permille: u32, seed: u64) -> Option<String> {
    let tiny = tiny_receiver()?;
    let sender = sender_path?;
    let _turn = heavy();
    let lab = Lab::new_or_skip(2)?;
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, INPUT_SIZE, seed).unwrap();
    let loss = (permille > 0).then(|| lab.add_loss(&Loss::toward(1, permille)).unwrap());

    let mut rx = start_tiny(&lab, &tiny, &out);
    run_sender(
        &lab,
        &sender,
        &["--nokbd", "--min-receivers", "1"],
        &input,
        &mut rx,
    );
    if let Some(rule) = loss {
        let dropped = rule.dropped().unwrap();
        eprintln!("{permille}‰ loss toward the tiny receiver: {dropped} frames dropped");
        assert!(dropped > 0, "the loss rule dropped nothing");
    }
    assert_same(&input, &out);
    let stderr = rx.stderr();
    if sender.starts_with("/usr/bin") {
        assert_not_verified(&stderr);
    } else {
        assert_verified(&stderr, &input);
    }
    Some(stderr)
}

#[test]
fn debian_sender_to_tiny_receiver_with_5pct_loss() {
    sync_transfer(
        program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast"),
        50,
        101,
    );
}

#[test]
fn our_sender_to_tiny_receiver_is_verified() {
    sync_transfer(our_sender(), 0, 102);
}

#[test]
fn our_sender_to_tiny_receiver_with_5pct_loss_is_verified() {
    sync_transfer(our_sender(), 50, 103);
}

#[test]
fn debian_async_fec_sender_to_tiny_receiver_with_2pct_loss() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, INPUT_SIZE, 104).unwrap();
    let loss = lab.add_loss(&Loss::every_nth_toward(1, 50)).unwrap();

    let mut rx = start_tiny(&lab, &tiny, &out);
    run_sender(
        &lab,
        &sender,
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
        &mut rx,
    );
    assert!(
        loss.dropped().unwrap() > 0,
        "the every-50th loss rule dropped nothing"
    );
    assert_same(&input, &out);
    assert_not_verified(&rx.stderr());
}

/// Our async sender with FEC announces the stream in its HELLOs (no receiver talks back):
/// the tiny receiver, passive, checks each slice after FEC repair and the whole stream.
#[test]
fn our_async_fec_sender_to_passive_tiny_receiver_with_2pct_loss_is_verified() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = our_sender() else { return };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, INPUT_SIZE, 108).unwrap();
    let loss = lab.add_loss(&Loss::every_nth_toward(1, 50)).unwrap();

    let mut rx = start_tiny_with(&lab, &tiny, &["--nokbd", "--passive"], &out);
    run_sender(
        &lab,
        &sender,
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
        &mut rx,
    );
    assert!(
        loss.dropped().unwrap() > 0,
        "the every-50th loss rule dropped nothing"
    );
    assert_same(&input, &out);
    assert_verified(&rx.stderr(), &input);
}

/// The keyboard path: without `--nokbd` the tiny receiver takes the end of its stdin
/// (`/dev/null`) for a key press once connected and sends GO, which is the only thing that
/// starts a Debian sender run with `--nokbd` and no `--min-receivers`.
#[test]
fn debian_sender_started_by_tiny_receiver_go() {
    let Some(tiny) = tiny_receiver() else { return };
    let Some(sender) = program(PathBuf::from(DEBIAN_SENDER), "apt-get install udpcast") else {
        return;
    };
    let _turn = heavy();
    let Some(lab) = Lab::new_or_skip(2) else {
        return;
    };
    let input = lab.path("in.bin");
    let out = lab.path("out.bin");
    lab::write_random_file(&input, 1 << 20, 105).unwrap();
    let mut rx = start_tiny_with(&lab, &tiny, &[], &out);
    run_sender(&lab, &sender, &["--nokbd"], &input, &mut rx);
    assert!(
        rx.stderr().contains("Press any key"),
        "no key prompt:\n{}",
        rx.stderr()
    );
    assert_same(&input, &out);
}
