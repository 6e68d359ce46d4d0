//! A Debian receiver killed mid-transfer is dropped, and the others complete.

use std::time::{Duration, Instant};

use udpcast_tests::lab::{self, Proc};

use crate::{heavy, setup, LIMIT};

#[test]
fn killed_debian_receiver_is_dropped_and_the_others_complete() {
    let Some(s) = setup(4, &[]) else {
        return;
    };
    let _turn = heavy();
    // Without --max-bitrate: synchronous transfers with it crawl (see
    // `synchronous_max_bitrate_200m_runs_near_its_rate`).
    let input = s.input(100 << 20, 51);
    let mut rx: Vec<Proc> = [1, 2, 3]
        .iter()
        .map(|&h| s.receiver(h, &["--nokbd"]))
        .collect();
    let mut tx = s.sender(&["--nokbd", "--min-receivers", "3"], &input);
    assert!(tx
        .wait_for_stderr("Starting transfer", Duration::from_secs(15))
        .unwrap());
    // Kill as soon as data reaches the victim's file: the transfer is then under way and,
    // at our unthrottled rate, far from over.
    let mut victim = rx.pop().unwrap();
    let victim_out = s.output(3);
    let flowing = lab::wait_until(Duration::from_secs(20), || {
        std::fs::metadata(&victim_out).is_ok_and(|m| m.len() > 0)
    });
    assert!(flowing, "no data reached receiver 3:\n{}", victim.stderr());
    assert!(victim.is_running(), "receiver 3 ended early");
    victim.kill().unwrap();
    let killed = Instant::now();
    let dropped = tx
        .wait_for_stderr("Dropping client", Duration::from_secs(30))
        .unwrap();
    let dropped_after = killed.elapsed();
    {
        let mut all: Vec<&mut Proc> = std::iter::once(&mut tx).chain(rx.iter_mut()).collect();
        lab::expect_all_success(&mut all, LIMIT);
    }
    let total = killed.elapsed();
    eprintln!("dropped {dropped_after:?} after the kill, done after {total:?}");
    assert!(
        dropped,
        "no drop reported; sender:\n{}\nreceiver 1:\n{}",
        tx.stderr(),
        rx[0].stderr()
    );
    assert!(
        total < Duration::from_secs(40),
        "took {total:?} after the kill"
    );
    s.assert_intact(&input, &[1, 2]);
}
