//! Sizes from empty to 200 MB, a gzip pipe, and our receiver writing to stdout.

use std::time::Instant;

use udpcast_tests::lab;

use crate::{assert_same, heavy, ready, setup, start_rule, strs, transfer, Impl, BLOCK, LIMIT, MB};

#[test]
fn sizes_empty_one_byte_whole_blocks_and_tail() {
    let Some(s) = setup(2) else { return };
    for (seed, len) in [
        (20, 0),
        (21, 1),
        (22, BLOCK * 1000),
        (23, BLOCK * 777 + 123),
    ] {
        transfer(&s, &[(1, Impl::Ours)], &[], &[], len, seed);
    }
}

#[test]
fn large_file_of_200_mb() {
    let _heavy = heavy();
    let Some(s) = setup(2) else { return };
    let started = Instant::now();
    transfer(&s, &[(1, Impl::Ours)], &[], &[], 200 * MB, 24);
    eprintln!("200 MB with set-up: {:?}", started.elapsed());
}

#[test]
fn gzip_pipe_on_debian_sender_and_our_receiver() {
    let Some(s) = setup(2) else { return };
    let input = s.input("in-gz.bin", 4 * MB, 25);
    let out = s.lab.path("out-gz.bin");
    let mut rx = s.receiver(1, Impl::Ours, &["--nokbd", "--pipe", "gzip -dc"], &out);
    let rule = start_rule(1);
    let mut args = strs(&rule);
    // Debian's --pipe splits on single spaces: "gzip -c" runs gzip with one argument.
    args.extend(["--pipe", "gzip -c"]);
    let mut tx = s.sender(&args, &input);
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert_same(&input, &out);
}

#[test]
fn our_receiver_writes_to_stdout() {
    let Some(s) = setup(2) else { return };
    let input = s.input("in-stdout.bin", 4 * MB, 26);
    let out = s.lab.path("out-stdout.bin");
    let mut rx = s
        .lab
        .host(1)
        .command(&s.our_receiver)
        .arg("--nokbd")
        .stdout_file(&out)
        .timeout(LIMIT)
        .label("h1-rx-ours-stdout")
        .spawn()
        .unwrap();
    ready(&mut rx);
    let rule = start_rule(1);
    let mut tx = s.sender(&strs(&rule), &input);
    lab::expect_all_success(&mut [&mut tx, &mut rx], LIMIT);
    assert_same(&input, &out);
}
