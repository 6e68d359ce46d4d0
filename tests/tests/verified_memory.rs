//! Verified transfers (issue #11, doc/verified-transfers.md §4–§5) between our sender and
//! our receivers, in memory: a lossy fake network with a fake clock, and hooks that
//! corrupt, strip, tamper with or inject datagrams on their way to one receiver. Whatever
//! happens on the wire, no receiver ever reports `Verified` for an output that differs
//! from the input.

use std::cell::Cell;
use std::rc::Rc;
use udpcast_core::extension::integrity::stream_checksum;
use udpcast_core::extension::{
    trailing_bytes, Record, SliceCheck, StreamCheck, Trailer, TrailerWriter, VERIFIED,
};
use udpcast_core::receiver::{Event as RxEvent, NotVerifiedReason, ReceiverError};
use udpcast_core::sender::{Duplex, Event, FecParams, LeaveReason, SenderConfig, SenderError};
use udpcast_core::time::Duration;
use udpcast_core::wire::{Bitmap1024, ConnectReply, Hello, Message, Opcode, Reqack};
use udpcast_tests::memnet::{
    corrupt_block_payloads, corrupt_data_payloads, identity, peer, run_with, sender_config, Hook,
    Options, Peer, Rng, Run,
};

const SECOND: u64 = 1_000_000;
const SESSION: u64 = 0x5eed_cafe_0000_0011;
const NAME: &str = "disk.img";
/// Enough turns of the loop for the biggest transfer here; more means a livelock.
const MAX_STEPS: u64 = 3_000_000;

// ---- set-up ----

fn input(n: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

/// A run of `seed` with a sender that offers verification for a stream of `size` bytes.
fn verified_options(seed: u64, limit_s: u64, size: usize) -> Options {
    Options {
        max_steps: MAX_STEPS,
        ..Options::new(seed, limit_s * SECOND).with_identity(identity(
            SESSION,
            NAME,
            Some(size as u64),
        ))
    }
}

/// The same run with a sender that has no identity (plain udpcast toward everyone).
fn plain_options(seed: u64, limit_s: u64) -> Options {
    Options {
        max_steps: MAX_STEPS,
        ..Options::new(seed, limit_s * SECOND)
    }
}

fn sync_config(receivers: u32) -> SenderConfig {
    let mut config = sender_config();
    config.min_receivers = receivers;
    config
}

fn async_config(fec: Option<FecParams>) -> SenderConfig {
    let mut config = sender_config();
    config.asynchronous = true;
    config.autostart = 1;
    config.fec = fec;
    config
}

fn plain_peer(i: u8, loss_permille: u32) -> Peer {
    let mut p = peer(i, loss_permille);
    p.config.verify = false;
    p
}

fn with_hook(mut p: Peer, hook: Hook) -> Peer {
    p.hook = Some(hook);
    p
}

fn counter() -> Rc<Cell<u64>> {
    Rc::new(Cell::new(0))
}

// ---- what a run shows ----

fn events(run: &Run, i: usize) -> &[RxEvent] {
    &run.receivers[i].1
}

fn output(run: &Run, i: usize) -> &[u8] {
    &run.receivers[i].0
}

fn verified_with(run: &Run, i: usize) -> Option<StreamCheck> {
    events(run, i).iter().find_map(|e| match e {
        RxEvent::Verified(check) => Some(*check),
        _ => None,
    })
}

fn failure(run: &Run, i: usize) -> Option<ReceiverError> {
    events(run, i).iter().find_map(|e| match e {
        RxEvent::Failed(error) => Some(*error),
        _ => None,
    })
}

fn not_verified(run: &Run, i: usize) -> Option<NotVerifiedReason> {
    events(run, i).iter().find_map(|e| match e {
        RxEvent::NotVerified(reason) => Some(*reason),
        _ => None,
    })
}

/// The rule every test checks, whatever else happens: `Verified` only with the input's
/// own digest and an output identical to the input.
fn assert_never_verified_wrongly(data: &[u8], run: &Run, what: &str) {
    for i in 0..run.receivers.len() {
        if let Some(check) = verified_with(run, i) {
            assert_eq!(check, stream_checksum(data), "{what}: receiver {i}");
            assert!(
                output(run, i) == data,
                "{what}: receiver {i} verified {} bytes that differ from the input",
                output(run, i).len()
            );
        }
    }
}

/// Receiver `i` wrote exactly `data`, finished, and verified it with the sender's digest.
fn assert_verified(data: &[u8], run: &Run, i: usize, what: &str) {
    assert!(!run.step_limit_hit, "{what}: livelock");
    let (out, events, finished) = &run.receivers[i];
    assert!(*finished, "{what}: receiver {i} did not finish: {events:?}");
    assert!(
        out == data,
        "{what}: receiver {i} wrote {} of {} bytes, differing",
        out.len(),
        data.len()
    );
    let expected = stream_checksum(data);
    assert_eq!(run.sender_stream_check, Some(expected), "{what}: sender");
    assert_eq!(
        verified_with(run, i),
        Some(expected),
        "{what}: receiver {i} {events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, RxEvent::NotVerified(_))),
        "{what}: receiver {i} {events:?}"
    );
    assert_eq!(failure(run, i), None, "{what}: receiver {i}");
}

fn assert_all_verified(data: &[u8], run: &Run, what: &str) {
    assert!(
        run.sender_finished,
        "{what}: sender {:?}",
        run.sender_events
    );
    assert!(run.sender_verifies, "{what}: the sender sent no checks");
    for i in 0..run.receivers.len() {
        assert_verified(data, run, i, what);
    }
}

fn opcode(datagram: &[u8]) -> Option<Opcode> {
    Opcode::from_u16(u16::from_be_bytes([*datagram.first()?, *datagram.get(1)?]))
}

fn sent_with(run: &Run, op: Opcode) -> impl Iterator<Item = &Vec<u8>> {
    run.sent
        .iter()
        .filter(move |(_, d)| opcode(d) == Some(op))
        .map(|(_, d)| d)
}

/// How many data slices the sender cut (as its DATA datagrams number them).
fn data_slices(run: &Run) -> usize {
    let mut slices: Vec<u32> = sent_with(run, Opcode::Data)
        .map(|d| u32::from_be_bytes(d[4..8].try_into().unwrap()))
        .collect();
    slices.dedup();
    slices.len()
}

fn reqack_sizes(run: &Run) -> Vec<usize> {
    sent_with(run, Opcode::Reqack).map(Vec::len).collect()
}

/// The CONNECT_REPLYs the sender sent to receiver `i`.
fn replies_to<'r>(run: &'r Run, peers: &[Peer], i: usize) -> Vec<&'r Vec<u8>> {
    run.sent
        .iter()
        .filter(|(to, d)| *to.ip() == peers[i].ip && opcode(d) == Some(Opcode::ConnectReply))
        .map(|(_, d)| d)
        .collect()
}

fn trailer_of_reqack(datagram: &[u8]) -> Option<Trailer<'_>> {
    Trailer::parse(trailing_bytes(datagram, Reqack::LEN))
        .ok()
        .flatten()
}

/// A REQACK as the sender would build it, with `records` as its trailer.
fn reqack_with(slice: u32, bytes: u32, rxmit: u32, records: &[Record<'_>]) -> Vec<u8> {
    let ready = Bitmap1024::new();
    let mut buf = vec![0u8; 512];
    let len = Reqack {
        slice,
        bytes,
        rxmit,
        ready: &ready,
    }
    .encode(&mut buf)
    .unwrap();
    let mut writer = TrailerWriter::new(&mut buf[len..]).unwrap();
    for record in records {
        writer.push(record).unwrap();
    }
    let n = writer.finish();
    buf.truncate(len + n);
    buf
}

/// A hook that rewrites the REQACKs `f` returns a replacement for.
fn rewrite_reqacks(mut f: impl FnMut(&Reqack<'_>, &[u8]) -> Option<Vec<u8>> + 'static) -> Hook {
    Box::new(move |d: &[u8]| {
        if let Ok(Message::Reqack(reqack)) = Message::parse(d) {
            if let Some(replacement) = f(&reqack, d) {
                return vec![replacement];
            }
        }
        vec![d.to_vec()]
    })
}

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

const FEC_8X8: FecParams = FecParams {
    stripes: 8,
    redundancy: 8,
    stripe_size: 128,
};

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

// ---- (e) --expect-name ----

#[test]
fn expect_name_of_another_stream_refuses_before_any_output_and_disconnects() {
    let data = input(200_000, 8);
    let mut config = sync_config(1);
    config.start_timeout = Some(Duration::from_secs(10));
    let mut p = peer(1, 0);
    p.expect_name = Some("other".into());
    let mut peers = vec![p];
    let r = run_with(
        config,
        &data,
        &mut peers,
        &verified_options(15, 60, data.len()),
    );
    assert!(!r.step_limit_hit);
    assert_eq!(failure(&r, 0), Some(ReceiverError::WrongStream));
    assert!(output(&r, 0).is_empty());
    assert!(!events(&r, 0).iter().any(|e| matches!(e, RxEvent::Started)));
    // It said goodbye, and the sender saw it leave and never started.
    assert!(peers[0]
        .sent
        .iter()
        .any(|(_, d)| opcode(d) == Some(Opcode::Disconnect)));
    assert!(r.sender_events.iter().any(|e| matches!(
        e,
        Event::Left {
            reason: LeaveReason::Disconnected,
            ..
        }
    )));
    assert_eq!(sent_with(&r, Opcode::Data).count(), 0);
    assert!(!r
        .sender_events
        .iter()
        .any(|e| matches!(e, Event::Started { .. })));
    // Left alone, the sender gives up at its start timeout (it does not hang).
    assert!(r
        .sender_events
        .iter()
        .any(|e| matches!(e, Event::Failed(SenderError::StartTimeout))));
    assert!(
        r.elapsed_us < 20 * SECOND,
        "took {} s",
        r.elapsed_us / SECOND
    );
}

#[test]
fn expect_name_refused_by_one_of_two_the_other_still_verifies() {
    let data = input(300_000, 9);
    let mut wrong = peer(1, 0);
    wrong.expect_name = Some("other".into());
    let mut right = peer(2, 0);
    right.expect_name = Some(NAME.into());
    let mut peers = vec![wrong, right];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(16, 60, data.len()),
    );
    assert!(r.sender_finished, "{:?}", r.sender_events);
    assert_eq!(failure(&r, 0), Some(ReceiverError::WrongStream));
    assert!(output(&r, 0).is_empty());
    assert_verified(&data, &r, 1, "expected name");
}

#[test]
fn expect_name_matching_verifies() {
    let data = input(300_000, 10);
    let mut p = peer(1, 10);
    p.expect_name = Some(NAME.into());
    let mut peers = vec![p];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(17, 60, data.len()),
    );
    assert_all_verified(&data, &r, "expect-name");
}

#[test]
fn expect_name_against_a_sender_without_identity_is_refused() {
    let data = input(100_000, 11);
    let mut config = sync_config(1);
    config.start_timeout = Some(Duration::from_secs(10));
    let mut p = peer(1, 0);
    p.expect_name = Some(NAME.into());
    let mut peers = vec![p];
    let r = run_with(config, &data, &mut peers, &plain_options(18, 60));
    assert_eq!(failure(&r, 0), Some(ReceiverError::WrongStream));
    assert!(output(&r, 0).is_empty());
}

#[test]
fn async_expect_name_of_another_stream_refuses_at_the_hello() {
    let data = input(300_000, 12);
    let mut p = peer(1, 0);
    p.expect_name = Some("other".into());
    let mut peers = vec![p, peer(2, 0)];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(19, 60, data.len()),
    );
    assert_eq!(failure(&r, 0), Some(ReceiverError::WrongStream));
    assert!(output(&r, 0).is_empty());
    assert_verified(&data, &r, 1, "async other receiver");
}

// ---- (f) plain udpcast on either side ----

#[test]
fn a_receiver_with_verification_off_gets_plain_udpcast_from_our_sender() {
    let data = input(500_000, 13);
    let mut peers = vec![plain_peer(1, 20)];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(20, 60, data.len()),
    );
    assert!(r.sender_finished);
    assert!(r.receivers[0].2);
    assert!(output(&r, 0) == data);
    assert_eq!(not_verified(&r, 0), Some(NotVerifiedReason::PlainSender));
    assert_eq!(verified_with(&r, 0), None);
    assert_eq!(r.receiver_identities[0], None);
    // Its CONNECT_REQ lacks the bit; its CONNECT_REPLY is udpcast's 32 bytes, no bit.
    assert!(peers[0]
        .sent
        .iter()
        .filter(|(_, d)| opcode(d) == Some(Opcode::ConnectReq))
        .all(|(_, d)| d.len() == 12 && d[4] & 0x40 == 0));
    let replies = replies_to(&r, &peers, 0);
    assert!(!replies.is_empty());
    for reply in replies {
        assert_eq!(reply.len(), ConnectReply::LEN);
        let Ok(Message::ConnectReply(reply)) = Message::parse(reply) else {
            panic!()
        };
        assert!(!reply.capabilities.contains(VERIFIED));
    }
    // Nobody announced the bit: REQACKs are udpcast's 144 bytes.
    assert!(!r.sender_verifies);
    let sizes = reqack_sizes(&r);
    assert!(!sizes.is_empty() && sizes.iter().all(|&n| n == Reqack::LEN));
    // The sync HELLO keeps udpcast's 28 bytes too.
    assert!(sent_with(&r, Opcode::Hello).all(|d| d.len() == Hello::LEN));
}

#[test]
fn a_mixed_room_gets_trailers_only_in_reqacks_and_ours_only_in_connect_replies() {
    let data = input(500_000, 14);
    let mut peers = vec![plain_peer(1, 20), peer(2, 20)];
    let r = run_with(
        sync_config(2),
        &data,
        &mut peers,
        &verified_options(21, 60, data.len()),
    );
    assert!(r.sender_finished);
    assert!(r.sender_verifies);
    assert!(output(&r, 0) == data && r.receivers[0].2);
    assert_eq!(not_verified(&r, 0), Some(NotVerifiedReason::PlainSender));
    assert_verified(&data, &r, 1, "ours in a mixed room");
    for reply in replies_to(&r, &peers, 0) {
        assert_eq!(reply.len(), ConnectReply::LEN);
        assert_eq!(reply[24] & 0x40, 0, "capability word, high byte");
    }
    for reply in replies_to(&r, &peers, 1) {
        assert!(reply.len() > ConnectReply::LEN);
        let Ok(Message::ConnectReply(parsed)) = Message::parse(reply) else {
            panic!()
        };
        assert!(parsed.capabilities.contains(VERIFIED));
    }
    let sizes = reqack_sizes(&r);
    assert!(sizes.iter().all(|&n| n > Reqack::LEN), "{sizes:?}");
    // Each carries the session and the slice's check, or at the end the stream's digest.
    for d in sent_with(&r, Opcode::Reqack) {
        let t = trailer_of_reqack(d).expect("a trailer");
        assert_eq!(t.session(), Some(SESSION));
        let bytes = u32::from_be_bytes(d[8..12].try_into().unwrap());
        match bytes {
            0 => assert_eq!(t.stream_check(), Some(stream_checksum(&data))),
            _ => assert_eq!(t.slice_check().map(|c| c.bytes), Some(bytes)),
        }
    }
}

#[test]
fn a_sender_without_identity_sends_no_trailers_and_our_receivers_say_not_verified() {
    let data = input(500_000, 15);
    let mut peers = vec![peer(1, 20), peer(2, 0)];
    let r = run_with(sync_config(2), &data, &mut peers, &plain_options(22, 60));
    assert!(r.sender_finished);
    assert!(!r.sender_verifies);
    assert_eq!(r.sender_stream_check, None);
    for i in 0..2 {
        assert!(output(&r, i) == data && r.receivers[i].2);
        assert_eq!(not_verified(&r, i), Some(NotVerifiedReason::PlainSender));
        assert_eq!(verified_with(&r, i), None);
        for reply in replies_to(&r, &peers, i) {
            assert_eq!(reply.len(), ConnectReply::LEN);
            assert_eq!(reply[24] & 0x40, 0);
        }
        // They did announce the bit.
        assert!(peers[i]
            .sent
            .iter()
            .any(|(_, d)| opcode(d) == Some(Opcode::ConnectReq) && d[4] & 0x40 != 0));
    }
    assert!(reqack_sizes(&r).iter().all(|&n| n == Reqack::LEN));
}

#[test]
fn an_async_sender_without_identity_sends_udpcast_hellos_and_no_trailers() {
    let data = input(500_000, 16);
    let mut peers = vec![peer(1, 0)];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &plain_options(23, 60),
    );
    assert!(output(&r, 0) == data && r.receivers[0].2);
    assert_eq!(not_verified(&r, 0), Some(NotVerifiedReason::PlainSender));
    assert!(sent_with(&r, Opcode::Hello).all(|d| d.len() == Hello::LEN));
    // udpcast's async FEC sender sends no REQACK at all.
    assert!(reqack_sizes(&r).is_empty());
}

// ---- (g) other sessions ----

/// Before every REQACK with a trailer, a forged pair claiming another session: a data
/// slice far ahead and an end of stream, either of which would end the transfer if heard.
fn forge_other_sessions(count: Rc<Cell<u64>>) -> Hook {
    Box::new(move |d: &[u8]| {
        let mut out = Vec::new();
        if let (Ok(Message::Reqack(r)), Some(t)) = (Message::parse(d), trailer_of_reqack(d)) {
            let other = t.session().expect("a session") ^ 0xdead;
            let far = r.slice + 1_000_000;
            out.push(reqack_with(
                far,
                1456,
                777,
                &[
                    Record::Session(other),
                    Record::SliceCheck(SliceCheck {
                        slice: far,
                        bytes: 1456,
                        crc32c: 0,
                    }),
                ],
            ));
            out.push(reqack_with(
                far + 1,
                0,
                777,
                &[
                    Record::Session(other),
                    Record::StreamDigest(StreamCheck {
                        bytes: 1,
                        ..stream_checksum(b"x")
                    }),
                ],
            ));
            count.set(count.get() + 2);
        }
        out.push(d.to_vec());
        out
    })
}

#[test]
fn reqacks_of_another_session_are_ignored_counted_and_not_answered() {
    let data = input(500_000, 17);
    let forged = counter();
    let mut peers = vec![with_hook(peer(1, 20), forge_other_sessions(forged.clone()))];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(24, 60, data.len()),
    );
    assert!(forged.get() > 0);
    assert_all_verified(&data, &r, "forged sessions");
    assert_eq!(r.receiver_stats[0].other_session_messages, forged.get());
    // Nothing answered them: no OK or RETRANSMIT for the forged slices or round 777.
    for (_, d) in &peers[0].sent {
        let slice = |d: &[u8]| u32::from_be_bytes(d[4..8].try_into().unwrap());
        match opcode(d) {
            Some(Opcode::Ok) => assert!(slice(d) < 1_000_000),
            Some(Opcode::Retransmit) => {
                assert!(slice(d) < 1_000_000);
                assert_ne!(u32::from_be_bytes(d[8..12].try_into().unwrap()), 777);
            }
            _ => {}
        }
    }
}

#[test]
fn async_reqacks_of_another_session_are_ignored() {
    let data = input(1_000_000, 18);
    let forged = counter();
    let mut peers = vec![with_hook(peer(1, 0), forge_other_sessions(forged.clone()))];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(25, 60, data.len()),
    );
    assert!(forged.get() > 0);
    assert_all_verified(&data, &r, "async forged sessions");
    assert_eq!(r.receiver_stats[0].other_session_messages, forged.get());
}

// ---- (h), (i) sizes ----

#[test]
fn sizes_0_1_one_block_and_block_multiples_with_a_tail_all_verify() {
    for (n, seed) in [
        (0usize, 1u64),
        (1, 2),
        (1455, 3),
        (1456, 4),
        (1457, 5),
        (1456 * 112, 6),
        (1456 * 112 + 1, 7),
        (1456 * 1000, 8),
        (1456 * 77 + 5, 9),
    ] {
        let data = input(n, seed);
        let mut peers = vec![peer(1, 10), peer(2, 0)];
        let r = run_with(
            sync_config(2),
            &data,
            &mut peers,
            &verified_options(seed, 120, n),
        );
        assert_all_verified(&data, &r, &format!("{n} bytes"));
        for (fec, seed) in [(None, seed), (Some(FEC_8X8), seed + 100)] {
            let mut peers = vec![peer(1, 0)];
            let r = run_with(
                async_config(fec),
                &data,
                &mut peers,
                &verified_options(seed, 60, n),
            );
            assert_all_verified(&data, &r, &format!("async {n} bytes fec {}", fec.is_some()));
        }
    }
}

#[test]
fn an_empty_stream_verifies_with_the_digest_of_nothing() {
    let mut peers = vec![peer(1, 0)];
    let r = run_with(
        sync_config(1),
        &[],
        &mut peers,
        &verified_options(26, 60, 0),
    );
    assert_all_verified(&[], &r, "empty");
    assert_eq!(verified_with(&r, 0), Some(stream_checksum(&[])));
    assert_eq!(stream_checksum(&[]).bytes, 0);
    // The only REQACK is the end's, with the digest.
    let reqacks: Vec<_> = sent_with(&r, Opcode::Reqack).collect();
    assert!(!reqacks.is_empty());
    for d in reqacks {
        let t = trailer_of_reqack(d).expect("a trailer");
        assert_eq!(t.session(), Some(SESSION));
        assert_eq!(t.stream_check(), Some(stream_checksum(&[])));
        assert_eq!(t.slice_check(), None);
    }
}

// ---- (j) the whole-stream digest ----

/// Rewrites the trailer of the end-of-stream REQACKs with `f`'s records.
fn rewrite_end_reqacks(f: impl Fn(u64, StreamCheck) -> Option<StreamCheck> + 'static) -> Hook {
    rewrite_reqacks(move |r, d| {
        let t = trailer_of_reqack(d)?;
        let end = t.stream_check()?;
        let session = t.session()?;
        Some(match f(session, end) {
            Some(end) => reqack_with(
                r.slice,
                r.bytes,
                r.rxmit,
                &[Record::Session(session), Record::StreamDigest(end)],
            ),
            None => d[..Reqack::LEN].to_vec(),
        })
    })
}

/// Flips a bit of the checksum in the end's stream-digest record (the trailer's last
/// bytes); `seen` keeps the digest as tampered.
fn tamper_end_checksum(seen: Rc<Cell<Option<StreamCheck>>>) -> Hook {
    rewrite_reqacks(move |_, d| {
        trailer_of_reqack(d)?.stream_check()?;
        let mut d = d.to_vec();
        *d.last_mut()? ^= 1;
        seen.set(trailer_of_reqack(&d)?.stream_check());
        Some(d)
    })
}

#[test]
fn a_tampered_stream_digest_fails_the_receiver_with_stream_mismatch() {
    let data = input(500_000, 19);
    let tampered = Rc::new(Cell::new(None));
    let tamper = tamper_end_checksum(tampered.clone());
    let mut peers = vec![with_hook(peer(1, 0), tamper), peer(2, 0)];
    let r = run_with(
        sync_config(2),
        &data,
        &mut peers,
        &verified_options(27, 60, data.len()),
    );
    assert!(!r.step_limit_hit);
    assert_never_verified_wrongly(&data, &r, "tampered digest");
    let tampered = tampered.get().expect("the end was tampered with");
    assert_ne!(tampered, stream_checksum(&data));
    assert_eq!(tampered.bytes, data.len() as u64);
    assert_eq!(
        failure(&r, 0),
        Some(ReceiverError::StreamMismatch {
            expected: tampered,
            actual: stream_checksum(&data),
        })
    );
    assert_eq!(verified_with(&r, 0), None);
    assert!(!r.receivers[0].2, "failed, not finished");
    // Every slice passed its own check: the data itself is intact.
    assert!(output(&r, 0) == data);
    assert_eq!(r.receiver_stats[0].slices_failed, 0);
    // It says goodbye after the failure.
    assert_eq!(
        peers[0].sent.last().and_then(|(_, d)| opcode(d)),
        Some(Opcode::Disconnect)
    );
    assert_verified(&data, &r, 1, "the other receiver");
}

#[test]
fn a_stream_digest_stripped_from_the_end_fails_with_missing_stream_digest() {
    let data = input(300_000, 20);
    let mut peers = vec![with_hook(peer(1, 0), rewrite_end_reqacks(|_, _| None))];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(28, 60, data.len()),
    );
    assert_eq!(failure(&r, 0), Some(ReceiverError::MissingStreamDigest));
    assert_eq!(verified_with(&r, 0), None);
    assert!(output(&r, 0) == data);
}

/// The end's digest claims one byte more than the stream has.
fn one_byte_more_in_the_digest() -> Hook {
    rewrite_end_reqacks(|_, end| {
        Some(StreamCheck {
            bytes: end.bytes + 1,
            ..end
        })
    })
}

#[test]
fn async_tampered_stream_digest_fails_with_stream_mismatch() {
    let data = input(1_000_000, 21);
    for fec in [None, Some(FEC_8X8)] {
        let mut peers = vec![with_hook(peer(1, 0), one_byte_more_in_the_digest())];
        let r = run_with(
            async_config(fec),
            &data,
            &mut peers,
            &verified_options(29, 60, data.len()),
        );
        assert!(
            matches!(failure(&r, 0), Some(ReceiverError::StreamMismatch { .. })),
            "fec {}: {:?}",
            fec.is_some(),
            events(&r, 0)
        );
        assert_eq!(verified_with(&r, 0), None);
        assert!(output(&r, 0) == data);
    }
}

// ---- what the design asks and the wiring gets wrong (see the report on #11) ----

/// Strips the trailers of every data REQACK (the end keeps its digest).
fn strip_slice_checks() -> Hook {
    rewrite_reqacks(|_, d| {
        let t = trailer_of_reqack(d)?;
        t.slice_check()?;
        Some(d[..Reqack::LEN].to_vec())
    })
}

/// doc/verified-transfers.md §5 step 2: "a REQACK from the sender without a trailer after
/// the extension was negotiated is answered as udpcast would but counts as 'unverified
/// slice', which fails the run at the end".
#[test]
fn slices_without_their_check_are_counted_and_the_digest_decides() {
    let data = input(500_000, 22);
    let mut peers = vec![with_hook(peer(1, 0), strip_slice_checks())];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(30, 60, data.len()),
    );
    assert!(output(&r, 0) == data);
    assert!(r.receiver_stats[0].slices_unchecked > 0);
    // Unchecked slices enter the whole-stream digest from their own bytes: right bytes
    // still verify (README, "What our receiver does", step 3).
    assert!(verified_with(&r, 0).is_some(), "{:?}", events(&r, 0));
}

/// A slice whose check can never match (a link that always mangles the same bytes, a bad
/// check from the sender): the receiver must give up at some point rather than ask for the
/// slice again forever while the clock stands still.
#[test]
fn a_slice_that_never_passes_its_check_ends_the_transfer_instead_of_looping() {
    let data = input(500_000, 23);
    let tamper = rewrite_reqacks(|r, d| {
        let t = trailer_of_reqack(d)?;
        let check = t.slice_check().filter(|c| c.slice == 1)?;
        Some(reqack_with(
            r.slice,
            r.bytes,
            r.rxmit,
            &[
                Record::Session(t.session()?),
                Record::SliceCheck(SliceCheck {
                    crc32c: check.crc32c ^ 1,
                    ..check
                }),
            ],
        ))
    });
    let mut peers = vec![with_hook(peer(1, 0), tamper), peer(2, 0)];
    let mut options = verified_options(31, 60, data.len());
    options.max_steps = 20_000;
    let r = run_with(sync_config(2), &data, &mut peers, &options);
    assert!(!r.step_limit_hit, "livelock: {:?}", r.receiver_stats[0]);
    assert_never_verified_wrongly(&data, &r, "never passes");
    assert!(failure(&r, 0).is_some(), "{:?}", events(&r, 0));
    assert_verified(&data, &r, 1, "the other receiver");
}

/// Sets the version byte of every trailer (HELLO, CONNECT_REPLY, REQACK) to 2.
fn future_version() -> Hook {
    Box::new(|d: &[u8]| {
        let mut d = d.to_vec();
        let fixed = match opcode(&d) {
            Some(Opcode::Hello | Opcode::HelloStreaming) => Hello::LEN,
            Some(Opcode::ConnectReply) => ConnectReply::LEN,
            Some(Opcode::Reqack) => Reqack::LEN,
            _ => return vec![d],
        };
        if d.len() > fixed + 4 && d[fixed..fixed + 4] == *b"UCXT" {
            d[fixed + 4] = 2;
        }
        vec![d]
    })
}

/// §3: "a receiver that meets a version it does not speak treats the sender as plain
/// udpcast and says so".
#[test]
fn a_trailer_of_a_future_version_means_plain_udpcast() {
    let data = input(300_000, 24);
    let mut peers = vec![with_hook(peer(1, 0), future_version())];
    let r = run_with(
        sync_config(1),
        &data,
        &mut peers,
        &verified_options(32, 60, data.len()),
    );
    assert!(output(&r, 0) == data, "{:?}", events(&r, 0));
    assert_eq!(not_verified(&r, 0), Some(NotVerifiedReason::PlainSender));

    let mut peers = vec![with_hook(peer(1, 0), future_version())];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(33, 60, data.len()),
    );
    assert!(output(&r, 0) == data, "{:?}", events(&r, 0));
    assert_eq!(not_verified(&r, 0), Some(NotVerifiedReason::PlainSender));
}

/// A receiver with verification off is plain udpcast, and udpcast ignores whatever
/// follows a message's fixed part (PROTOCOL.md §2.11) — even bytes that look like a
/// broken trailer.
#[test]
fn a_receiver_with_verification_off_ignores_any_trailing_bytes() {
    let data = input(300_000, 25);
    // Sync: an ours receiver makes the sender add trailers; the plain one sees them broken.
    let mut peers = vec![with_hook(plain_peer(1, 0), future_version()), peer(2, 0)];
    let r = run_with(
        sync_config(2),
        &data,
        &mut peers,
        &verified_options(34, 60, data.len()),
    );
    assert!(
        output(&r, 0) == data && r.receivers[0].2,
        "{:?} {:?}",
        events(&r, 0),
        r.receiver_stats[0]
    );
    assert_verified(&data, &r, 1, "ours");

    // Async: the HELLO's trailer.
    let mut peers = vec![with_hook(plain_peer(1, 0), future_version())];
    let r = run_with(
        async_config(Some(FEC_8X8)),
        &data,
        &mut peers,
        &verified_options(35, 60, data.len()),
    );
    assert!(
        output(&r, 0) == data && r.receivers[0].2,
        "{:?}",
        events(&r, 0)
    );
}
