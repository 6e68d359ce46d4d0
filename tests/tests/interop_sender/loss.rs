//! Our sender repairs loss toward a Debian receiver, in half and full duplex.

use udpcast_tests::lab::Loss;

use crate::{setup, DATA_GROUP};

fn lossy_transfer(duplex: &str, permille: u32, seed: u64) {
    let Some(mut s) = setup(3, &["nft"]) else {
        return;
    };
    // At 20 % loss, without GSO: through the lab's veth and bridge a GSO run travels as one
    // frame of up to ~44 datagrams, so the loss rule drops whole runs. A full-duplex slice
    // of 112 blocks is then ~3 frames, and losing all of them plus its REQACK makes
    // Debian's receiver see slice n+2 before anything of n+1 ("Dropped by server now=6
    // last=4", seen once in 6 runs): a lab artefact, not wire behaviour.
    s.no_gso = permille >= 200;
    let input = s.input(4_000_000, seed);
    // Only the data group: Debian's receiver never repeats a lost handshake.
    let loss = s
        .lab
        .add_loss(&Loss::toward(2, permille).destination(DATA_GROUP))
        .unwrap();
    s.transfer(
        &["--nokbd", duplex, "--min-receivers", "2"],
        &[1, 2],
        &[],
        &input,
    );
    let counters = loss.remove().unwrap();
    eprintln!("{duplex} {permille}‰: {counters:?}");
    assert!(counters.dropped > 0, "nothing dropped: {counters:?}");
}

#[test]
fn half_duplex_with_5_percent_loss_toward_one_debian_receiver() {
    lossy_transfer("--half-duplex", 50, 21);
}

#[test]
fn full_duplex_with_5_percent_loss_toward_one_debian_receiver() {
    lossy_transfer("--full-duplex", 50, 22);
}

#[test]
fn full_duplex_with_20_percent_loss_toward_one_debian_receiver() {
    lossy_transfer("--full-duplex", 200, 23);
}

#[test]
fn half_duplex_with_20_percent_loss_toward_one_debian_receiver() {
    lossy_transfer("--half-duplex", 200, 24);
}
