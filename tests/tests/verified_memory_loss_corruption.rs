//! Verified transfers (issue #11, doc/verified-transfers.md §4–§5) between our sender and
//! our receivers, in memory, through loss and corruption: a lossy fake network with a fake
//! clock, and hooks that corrupt DATA and FEC payloads on their way to one receiver, in
//! full duplex, half duplex, sync FEC and async (passive receivers, who cannot ask again).
//! Whatever happens on the wire, no receiver ever reports `Verified` for an output that
//! differs from the input.

use udpcast_core::receiver::{Event as RxEvent, NotVerifiedReason, ReceiverError};
use udpcast_core::sender::{Duplex, Event, FecParams, LeaveReason};
use udpcast_core::time::Duration;
use udpcast_core::wire::{Hello, Opcode, Reqack};
use udpcast_tests::memnet::{
    corrupt_block_payloads, corrupt_data_payloads, identity, peer, run_with, Hook, Options,
};
use udpcast_tests::verified_run::{
    assert_all_verified, assert_never_verified_wrongly, assert_verified, async_config, counter,
    data_slices, events, failure, input, not_verified, opcode, output, reqack_sizes, sent_with,
    sync_config, verified_options, verified_with, with_hook, FEC_8X8, NAME, SECOND, SESSION,
};

// ---- (a) the plain case: loss, several receivers ----

#[test]
fn sync_full_duplex_three_receivers_with_5_percent_loss_toward_one_all_verify() {
    let data = input(1_000_000, 1);
    let mut peers = vec![peer(1, 0), peer(2, 50), peer(3, 0)];
    let r = run_with(
        sync_config(3),
        &data,
        &mut peers,
        &verified_options(7, 120, data.len()),
    );
    assert_all_verified(&data, &r, "full duplex 5%");
    for i in 0..3 {
        let stats = r.receiver_stats[i];
        assert_eq!(stats.slices_failed, 0, "receiver {i}");
        assert_eq!(stats.slices_unchecked, 0, "receiver {i}");
        assert!(stats.slices_verified >= data.len() as u64 / (112 * 1456));
        let id = r.receiver_identities[i].expect("identified");
        assert_eq!(id, identity(SESSION, NAME, Some(data.len() as u64)));
        // Identified once, right after the connection, before any data.
        let identified = events(&r, i)
            .iter()
            .filter(|e| matches!(e, RxEvent::Identified { .. }))
            .count();
        assert_eq!(identified, 1);
        assert!(matches!(
            events(&r, i)[..2],
            [
                RxEvent::Connected(_),
                RxEvent::Identified {
                    session: SESSION,
                    total_size: Some(1_000_000)
                }
            ]
        ));
        assert!(matches!(
            events(&r, i)[events(&r, i).len() - 2..],
            [RxEvent::Verified(_), RxEvent::Finished]
        ));
    }
    assert!(
        r.receiver_stats[1].retransmit_requests > 0,
        "loss was repaired"
    );
}

// ---- (b) corruption of DATA payloads toward one receiver ----

#[test]
fn corrupted_data_toward_one_receiver_is_asked_again_in_full_and_still_verifies() {
    let data = input(1_000_000, 2);
    let flipped = counter();
    let mut peers = vec![
        peer(1, 0),
        with_hook(peer(2, 0), corrupt_data_payloads(99, 5, flipped.clone())),
        peer(3, 0),
    ];
    let r = run_with(
        sync_config(3),
        &data,
        &mut peers,
        &verified_options(8, 120, data.len()),
    );
    assert!(flipped.get() > 0, "nothing was corrupted");
    assert_all_verified(&data, &r, "0.5% corrupted");
    let hit = r.receiver_stats[1];
    assert!(hit.slices_failed > 0);
    let failed_events = events(&r, 1)
        .iter()
        .filter(|e| matches!(e, RxEvent::SliceFailedCheck { .. }))
        .count() as u64;
    assert_eq!(failed_events, hit.slices_failed);
    for i in [0, 2] {
        assert_eq!(r.receiver_stats[i].slices_failed, 0, "receiver {i}");
        assert_eq!(r.receiver_stats[i].retransmit_requests, 0, "receiver {i}");
    }
    // A failing slice is asked for again in full: a RETRANSMIT with an all-zero bitmap.
    let all_zero = peers[1]
        .sent
        .iter()
        .filter(|(_, d)| opcode(d) == Some(Opcode::Retransmit) && d[12..].iter().all(|&b| b == 0))
        .count() as u64;
    assert!(
        all_zero >= hit.slices_failed,
        "{all_zero} all-zero RETRANSMITs for {} failed slices",
        hit.slices_failed
    );
}

#[test]
fn no_corrupted_output_is_ever_accepted_as_verified_over_50_seeds() {
    let mut flips = 0;
    let mut failed = 0;
    for seed in 1..=50u64 {
        let data = input(400_000, seed);
        let flipped = counter();
        let mut peers = vec![
            with_hook(peer(1, 0), corrupt_data_payloads(seed, 5, flipped.clone())),
            with_hook(
                peer(2, 20),
                corrupt_data_payloads(seed + 1000, 5, flipped.clone()),
            ),
            peer(3, 0),
        ];
        let r = run_with(
            sync_config(3),
            &data,
            &mut peers,
            &verified_options(seed, 120, data.len()),
        );
        let what = format!("seed {seed}");
        assert_never_verified_wrongly(&data, &r, &what);
        assert_all_verified(&data, &r, &what);
        flips += flipped.get();
        failed += r.receiver_stats[0].slices_failed + r.receiver_stats[1].slices_failed;
    }
    assert!(flips >= 50, "only {flips} datagrams corrupted");
    assert!(failed > 0);
}

// ---- (c) half duplex, sync FEC ----

#[test]
fn half_duplex_with_loss_and_corruption_verifies() {
    let data = input(700_000, 3);
    let mut config = sync_config(2);
    config.duplex = Duplex::Half;
    let flipped = counter();
    let mut peers = vec![
        peer(1, 100),
        with_hook(peer(2, 0), corrupt_data_payloads(3, 5, flipped.clone())),
    ];
    let r = run_with(
        config,
        &data,
        &mut peers,
        &verified_options(9, 300, data.len()),
    );
    assert!(flipped.get() > 0);
    assert_all_verified(&data, &r, "half duplex");
    assert!(r.receiver_stats[1].slices_failed > 0);
    assert_eq!(r.receiver_stats[0].slices_failed, 0);
}

#[test]
fn sync_fec_with_loss_and_corrupted_data_and_fec_blocks_verifies() {
    let data = input(600_000, 4);
    let mut config = sync_config(2);
    config.fec = Some(FecParams {
        stripes: 4,
        redundancy: 2,
        stripe_size: 32,
    });
    let flipped = counter();
    let hook = corrupt_block_payloads(4, 10, &[Opcode::Data, Opcode::Fec], flipped.clone());
    let mut peers = vec![peer(1, 50), with_hook(peer(2, 30), hook)];
    let r = run_with(
        config,
        &data,
        &mut peers,
        &verified_options(10, 120, data.len()),
    );
    assert!(flipped.get() > 0);
    assert_all_verified(&data, &r, "sync fec");
    assert!(r.receiver_stats[1].slices_failed > 0);
    assert!(r.receiver_stats[0].fec_blocks_used > 0);
}

// ---- (d) async: passive receivers cannot ask again ----

#[test]
fn async_fec_without_corruption_verifies_every_slice_after_repair() {
    let data = input(3_000_000, 5);
    // 1 % loss: 8 FEC blocks per stripe of 128 repair it (more than 8 lost in one
    // stripe loses the slice for good, verified or not).
    let mut peers = vec![peer(1, 10), peer(2, 0)];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(9, 120, data.len()),
    );
    assert_all_verified(&data, &r, "async fec");
    assert!(r.receiver_stats[0].fec_blocks_used > 0);
    for i in 0..2 {
        assert!(matches!(events(&r, i).first(), Some(RxEvent::Connected(c)) if c.passive));
        assert_eq!(r.receiver_stats[i].slices_failed, 0);
        assert_eq!(r.receiver_stats[i].slices_unchecked, 0);
    }
    // The identity travels in every HELLO, after udpcast's 28 bytes.
    assert!(sent_with(&r, Opcode::Hello).all(|d| d.len() > Hello::LEN));
    // One REQACK per data slice, plus one for the end after its FEC blocks.
    assert_eq!(reqack_sizes(&r).len(), data_slices(&r) + 1);
}

#[test]
fn async_fec_with_corruption_fails_with_corrupt_slice_and_never_writes_it() {
    for seed in 1..=20u64 {
        let data = input(1_500_000, seed);
        let flipped = counter();
        let mut peers = vec![
            with_hook(peer(1, 0), corrupt_data_payloads(seed, 5, flipped.clone())),
            peer(2, 10),
        ];
        let r = run_with(
            async_config(Some(FEC_8X8)),
            &data,
            &mut peers,
            &verified_options(seed, 120, data.len()),
        );
        let what = format!("seed {seed}");
        assert_never_verified_wrongly(&data, &r, &what);
        assert_verified(&data, &r, 1, &what);
        if flipped.get() == 0 {
            assert_verified(&data, &r, 0, &what);
            continue;
        }
        assert!(
            matches!(failure(&r, 0), Some(ReceiverError::CorruptSlice { .. })),
            "{what}: {:?}",
            events(&r, 0)
        );
        assert_eq!(verified_with(&r, 0), None, "{what}");
        // What was written before the failure is the input's beginning, nothing corrupt.
        let out = output(&r, 0);
        assert!(
            out.len() < data.len() && data[..out.len()] == *out,
            "{what}"
        );
        assert!(r.receiver_stats[0].slices_failed == 1, "{what}");
    }
}

#[test]
fn async_with_ignore_lost_data_writes_a_corrupt_slice_but_never_verifies() {
    let data = input(1_500_000, 6);
    let flipped = counter();
    let mut p = with_hook(peer(1, 0), corrupt_data_payloads(6, 5, flipped.clone()));
    p.config.ignore_lost_data = true;
    let mut peers = vec![p];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(12, 120, data.len()),
    );
    assert!(flipped.get() > 0);
    assert_never_verified_wrongly(&data, &r, "ignore-lost-data");
    assert_eq!(verified_with(&r, 0), None);
    assert!(
        matches!(failure(&r, 0), Some(ReceiverError::StreamMismatch { .. })),
        "{:?}",
        events(&r, 0)
    );
    assert!(r.receiver_stats[0].slices_failed > 0);
}

#[test]
fn async_without_fec_verifies_and_fails_a_corrupted_slice() {
    let data = input(1_000_000, 7);
    let mut peers = vec![peer(1, 0)];
    let r = run_with(
        async_config(None),
        &data,
        &mut peers,
        &verified_options(13, 60, data.len()),
    );
    assert_all_verified(&data, &r, "async");
    // Per data slice one REQACK with its check; the end REQACK twice (§3.8), with the digest.
    let sizes = reqack_sizes(&r);
    assert_eq!(sizes.len(), data_slices(&r) + 2);
    assert!(sizes.iter().all(|&n| n > Reqack::LEN));

    let flipped = counter();
    let mut peers = vec![with_hook(
        peer(1, 0),
        corrupt_data_payloads(7, 5, flipped.clone()),
    )];
    let r = run_with(
        async_config(None),
        &data,
        &mut peers,
        &verified_options(14, 60, data.len()),
    );
    assert!(flipped.get() > 0);
    assert_never_verified_wrongly(&data, &r, "async corrupted");
    assert!(matches!(
        failure(&r, 0),
        Some(ReceiverError::CorruptSlice { .. })
    ));
}

/// Drops every DATA, FEC and HELLO until the sender is at slice `from`: a receiver that
/// joins a streaming transfer late.
fn join_at_slice(from: u32) -> Hook {
    let mut joined = false;
    Box::new(move |d: &[u8]| {
        let slice = match opcode(d) {
            Some(Opcode::Data | Opcode::Fec) => {
                Some(u32::from_be_bytes(d[4..8].try_into().unwrap()))
            }
            _ => None,
        };
        joined |= slice.is_some_and(|s| s >= from);
        if joined {
            vec![d.to_vec()]
        } else {
            Vec::new()
        }
    })
}

#[test]
fn a_streaming_receiver_that_joins_late_checks_its_slices_but_is_not_verified() {
    let data = input(1456 * 600, 36);
    let mut config = async_config(Some(FecParams {
        stripes: 8,
        redundancy: 4,
        stripe_size: 16,
    }));
    config.streaming = true;
    let mut peers = vec![peer(1, 0), with_hook(peer(2, 0), join_at_slice(2))];
    let r = run_with(
        config,
        &data,
        &mut peers,
        &verified_options(36, 60, data.len()),
    );
    assert_verified(&data, &r, 0, "from the start");
    let (out, ev, finished) = &r.receivers[1];
    assert!(*finished, "{ev:?}");
    assert!(!out.is_empty() && out.len() < data.len());
    assert!(data.ends_with(out), "the tail of the stream");
    assert_eq!(not_verified(&r, 1), Some(NotVerifiedReason::JoinedLate));
    assert_eq!(verified_with(&r, 1), None);
    assert!(r.receiver_stats[1].slices_verified > 0);
    assert_eq!(r.receiver_identities[1], r.receiver_identities[0]);
}

#[test]
fn a_dead_receiver_is_dropped_and_the_others_still_verify() {
    let data = input(1_500_000, 37);
    let mut config = sync_config(3);
    config.drop_timeout = Duration::from_secs(3);
    let mut peers = vec![peer(1, 0), peer(2, 0), peer(3, 10)];
    let options = Options {
        kill: Some((1, 300_000)),
        ..verified_options(37, 120, data.len())
    };
    let r = run_with(config, &data, &mut peers, &options);
    assert!(r.sender_finished, "{:?}", r.sender_events);
    assert!(r.sender_events.iter().any(|e| matches!(
        e,
        Event::Left {
            reason: LeaveReason::Dropped,
            ..
        }
    )));
    assert_verified(&data, &r, 0, "survivor");
    assert_verified(&data, &r, 2, "survivor");
    assert_eq!(verified_with(&r, 1), None);
}

/// An async FEC receiver that hears no REQACK at all (a filter drops them, or a burst
/// takes the last ones): it has every block, but no check and no digest will ever come.
/// It must end, not verified, instead of waiting forever.
#[test]
fn an_async_receiver_that_hears_no_reqack_ends_not_verified_instead_of_hanging() {
    let data = input(1_000_000, 38);
    let no_reqacks: Hook = Box::new(|d: &[u8]| match opcode(d) {
        Some(Opcode::Reqack) => Vec::new(),
        _ => vec![d.to_vec()],
    });
    let mut peers = vec![with_hook(peer(1, 0), no_reqacks)];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(38, 600, data.len()),
    );
    assert!(r.sender_finished);
    assert_never_verified_wrongly(&data, &r, "no reqacks");
    assert!(
        failure(&r, 0).is_some() || r.receivers[0].2,
        "after {} s: wrote {} of {} bytes and waits forever: {:?} {:?}",
        r.elapsed_us / SECOND,
        output(&r, 0).len(),
        data.len(),
        events(&r, 0),
        r.receiver_stats[0]
    );
    assert_eq!(verified_with(&r, 0), None);
}
