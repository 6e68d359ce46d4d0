//! Async Debian senders to our passive receiver: FEC repairing loss, and loss without FEC
//! failing clearly or, with --ignore-lost-data, keeping the full length.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use udpcast_tests::lab::{self, Lab, Loss, Proc};

use crate::{assert_same, file_len, setup, Impl, Setup, BLOCK, LIMIT, MB};

/// How frames toward host 1 are lost in an async test.
#[derive(Clone, Copy, Debug)]
enum AsyncLoss {
    /// The lab's random loss: `permille`/1000 of the frames.
    Random(u32),
    /// Exactly every `n`-th frame (see [`PeriodicLoss`]).
    Every(u64),
}

/// Async Debian sender → our passive receiver on host 1, losing frames toward it, with an
/// input of `len` bytes. Returns the receiver (exited), its output path, the input path
/// and the frames dropped.
fn async_transfer<'a>(
    s: &'a Setup,
    sender_args: &[&str],
    rx_args: &[&str],
    loss: AsyncLoss,
    len: u64,
    seed: u64,
) -> (Proc<'a>, PathBuf, PathBuf, u64) {
    let input = s.input(&format!("in-{seed}.bin"), len, seed);
    let out = s.lab.path(format!("out-{seed}.bin"));
    let (random, periodic) = match loss {
        AsyncLoss::Random(permille) => (
            Some(s.lab.add_loss(&Loss::toward(1, permille)).unwrap()),
            None,
        ),
        AsyncLoss::Every(n) => (None, Some(PeriodicLoss::toward(&s.lab, 1, n))),
    };
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
    let dropped = match (random, periodic) {
        (Some(rule), _) => rule.dropped().unwrap(),
        (_, Some(rule)) => rule.dropped(),
        _ => unreachable!(),
    };
    (rx, out, input, dropped)
}

/// A loss of exactly every `n`-th UDP frame the switch forwards toward one host (ports
/// 9000-9001), through our own nftables table in the lab's switch namespace (which goes
/// away with the lab). Unlike the lab's random loss, it can never bunch up: with `n` = 50
/// a stripe of 8x8/128 FEC (136 frames) loses at most 3 frames, which FEC always repairs,
/// whereas a random 2% loses more than 8 of them in about 4% of 4 MB transfers.
struct PeriodicLoss {
    switch_ns: String,
}

const PERIODIC_TABLE: &str = "interop_rx";

impl PeriodicLoss {
    fn toward(lab: &Lab, host: usize, n: u64) -> PeriodicLoss {
        let port = lab.host(host).switch_port();
        let script = format!(
            "add table bridge {PERIODIC_TABLE}\n\
             add chain bridge {PERIODIC_TABLE} periodic {{ type filter hook forward priority -10; policy accept; }}\n\
             add rule bridge {PERIODIC_TABLE} periodic oifname \"{port}\" udp dport 9000-9001 \
             numgen inc mod {n} == 0 counter drop\n"
        );
        let switch_ns = lab.switch_netns().to_owned();
        nft(&switch_ns, &["-f", "-"], &script);
        PeriodicLoss { switch_ns }
    }

    /// Frames dropped so far (the rule's counter).
    fn dropped(&self) -> u64 {
        let listing = nft(
            &self.switch_ns,
            &["list", "chain", "bridge", PERIODIC_TABLE, "periodic"],
            "",
        );
        let after = listing
            .split("counter packets ")
            .nth(1)
            .unwrap_or_else(|| panic!("no counter in:\n{listing}"));
        after
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad counter in:\n{listing}"))
    }
}

/// Runs `nft args` in namespace `netns` with `input` on stdin; its stdout.
fn nft(netns: &str, args: &[&str], input: &str) -> String {
    let ip = lab::find_program("ip").expect("ip");
    let nft = lab::find_program("nft").expect("nft (nftables)");
    let mut child = std::process::Command::new(ip)
        .args(["netns", "exec", netns])
        .arg(nft)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft {args:?} failed: {}\n{input}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn async_fec_repairs_2pct_loss_toward_our_receiver() {
    let Some(s) = setup(2) else { return };
    let (rx, out, input, dropped) = async_transfer(
        &s,
        &["--fec", "8x8/128"],
        &[],
        AsyncLoss::Every(50),
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
        async_transfer(&s, &[], &[], AsyncLoss::Random(30), ASYNC_LEN, 9);
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
        AsyncLoss::Random(30),
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
