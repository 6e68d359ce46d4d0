//! Plain transfers from Debian's sender, the duplex modes under loss, and the addressing
//! modes (broadcast, point-to-point, TTL and explicit addresses).

use udpcast_tests::lab::Loss;

use crate::{setup, transfer, transfer_with_loss, Impl, MB};

#[test]
fn debian_sender_to_one_of_ours_point_to_point() {
    let Some(s) = setup(2) else { return };
    transfer(&s, &[(1, Impl::Ours)], &[], &[], 4 * MB, 1);
}

#[test]
fn debian_sender_to_two_of_ours_and_one_debian_on_multicast() {
    let Some(s) = setup(4) else { return };
    transfer(
        &s,
        &[(1, Impl::Ours), (2, Impl::Debian), (3, Impl::Ours)],
        &[],
        &[],
        4 * MB,
        2,
    );
}

fn duplex_with_loss(mode: &str, seed: u64) {
    let Some(s) = setup(2) else { return };
    let dropped = transfer_with_loss(
        &s,
        &[(1, Impl::Ours)],
        &[],
        &[mode],
        4 * MB,
        seed,
        Some(Loss::toward(1, 50)),
    );
    assert!(dropped > 0, "the 5% loss rule dropped nothing");
}

#[test]
fn half_duplex_survives_5pct_loss_toward_our_receiver() {
    duplex_with_loss("--half-duplex", 3);
}

#[test]
fn full_duplex_survives_5pct_loss_toward_our_receiver() {
    duplex_with_loss("--full-duplex", 4);
}

#[test]
fn broadcast_data_reaches_ours_and_debian() {
    let Some(s) = setup(3) else { return };
    transfer(
        &s,
        &[(1, Impl::Ours), (2, Impl::Debian)],
        &[],
        &["--broadcast"],
        4 * MB,
        5,
    );
}

#[test]
fn explicit_pointopoint_to_our_receiver() {
    let Some(s) = setup(2) else { return };
    transfer(&s, &[(1, Impl::Ours)], &[], &["--pointopoint"], 4 * MB, 6);
}

#[test]
fn ttl2_multicast_rendezvous_and_data_address() {
    let Some(s) = setup(3) else { return };
    transfer(
        &s,
        &[(1, Impl::Ours), (2, Impl::Ours)],
        &["--ttl", "2"],
        &["--ttl", "2", "--mcast-data-address", "239.66.7.9"],
        4 * MB,
        7,
    );
}
