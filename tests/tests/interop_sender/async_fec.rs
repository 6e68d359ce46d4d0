//! Async transfers with FEC: no retransmissions, only the redundancy Debian's receiver decodes.

use udpcast_tests::lab::Loss;

use crate::capture_checks::{capture_stop, check_fec_payloads, check_sender_traffic};
use crate::{heavy, setup, BLOCK, DATA_GROUP};

#[test]
fn async_fec_survives_2_percent_loss_toward_a_debian_receiver() {
    let Some(mut s) = setup(2, &["nft"]) else {
        return;
    };
    let _turn = heavy();
    // Without GSO: the lab's loss rule would otherwise drop whole runs of datagrams sent
    // as one unsegmented frame through the veth/bridge, a burst loss that no real
    // network adds and that 8x8 FEC is not meant to cover.
    s.no_gso = true;
    let input = s.input(4_000_000, 31);
    let loss = s
        .lab
        .add_loss(&Loss::toward(1, 20).destination(DATA_GROUP))
        .unwrap();
    s.transfer(
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
        &[1],
        &[],
        &input,
    );
    let counters = loss.remove().unwrap();
    assert!(counters.dropped > 0, "nothing dropped: {counters:?}");
}

#[test]
fn async_fec_payloads_match_the_encoder() {
    let Some(mut s) = setup(2, &["tcpdump"]) else {
        return;
    };
    let _turn = heavy();
    // A tail shorter than a block travels alone: a slice with 7 empty stripes.
    let input = s.input((BLOCK * 1500 + 700) as u64, 32);
    s.no_gso = true;
    let cap = s.lab.host(0).capture("udp").unwrap();
    s.transfer(
        &[
            "--nokbd",
            "--async",
            "--fec",
            "8x8/128",
            "--autostart",
            "1",
            "--max-bitrate",
            "50m",
        ],
        &[1],
        &[],
        &input,
    );
    let datagrams = capture_stop(cap);
    let ours = check_sender_traffic(&datagrams, s.lab.host(0).addr(), false);
    let checked = check_fec_payloads(&ours, 8, 8);
    eprintln!("{checked} FEC payloads checked");
}
