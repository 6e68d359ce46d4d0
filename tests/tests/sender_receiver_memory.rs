//! Our sender and several of our receivers, wired together in memory through a lossy
//! fake network with a fake clock: every mode delivers the input byte for byte.

use udpcast_core::receiver::Event as RxEvent;
use udpcast_core::sender::{Duplex, Event, FecParams, LeaveReason, PointToPoint, SenderConfig};
use udpcast_core::time::Duration;
use udpcast_tests::memnet::{peer, run, sender_config, Peer, Rng};

const SECOND: u64 = 1_000_000;

fn input(n: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

fn started(config: &mut SenderConfig, receivers: u32) {
    config.min_receivers = receivers;
}

fn assert_all_received(input: &[u8], run: &udpcast_tests::memnet::Run, what: &str) {
    assert!(
        run.sender_finished,
        "{what}: sender {:?}",
        run.sender_events
    );
    for (i, (out, events, finished)) in run.receivers.iter().enumerate() {
        assert!(*finished, "{what}: receiver {i} {events:?}");
        assert!(
            out == input,
            "{what}: receiver {i} wrote {} of {} bytes, differing",
            out.len(),
            input.len()
        );
    }
}

#[test]
fn synchronous_full_duplex_to_three_receivers_with_5_percent_loss_toward_one() {
    let data = input(1_000_000, 1);
    let mut config = sender_config();
    started(&mut config, 3);
    let mut peers = vec![peer(1, 0), peer(2, 50), peer(3, 0)];
    let r = run(config, &data, &mut peers, 7, 120 * SECOND, None);
    assert_all_received(&data, &r, "full duplex 5%");
    assert!(
        data_packets(&r) > data.len().div_ceil(1456) + 10,
        "the lost blocks were resent"
    );
}

fn data_packets(r: &udpcast_tests::memnet::Run) -> usize {
    r.sent.iter().filter(|(_, d)| d[..2] == [0, 8]).count()
}

#[test]
fn half_duplex_with_20_percent_loss_toward_one_receiver() {
    let data = input(700_000, 2);
    let mut config = sender_config();
    config.duplex = Duplex::Half;
    started(&mut config, 2);
    let mut peers = vec![peer(1, 200), peer(2, 0)];
    let r = run(config, &data, &mut peers, 8, 300 * SECOND, None);
    assert_all_received(&data, &r, "half duplex 20%");
    let resent = data_packets(&r) - data.len().div_ceil(1456);
    assert!(
        resent > data.len() / 1456 / 10,
        "only {resent} blocks resent at 20% loss"
    );
    assert!(r
        .sender_events
        .iter()
        .any(|e| matches!(e, Event::SliceSize(_))));
}

#[test]
fn async_with_fec_8x8_repairs_2_percent_loss_without_any_answer() {
    let data = input(3_000_000, 3);
    let mut config = sender_config();
    config.asynchronous = true;
    config.autostart = 2;
    config.fec = Some(FecParams {
        stripes: 8,
        redundancy: 8,
        stripe_size: 128,
    });
    let mut peers = vec![peer(1, 20), peer(2, 20)];
    let r = run(config, &data, &mut peers, 9, 120 * SECOND, None);
    assert_all_received(&data, &r, "async fec");
    assert!(r
        .receivers
        .iter()
        .all(|(_, e, _)| matches!(e.first(), Some(RxEvent::Connected(c)) if c.passive)));
}

#[test]
fn async_without_fec_and_without_loss_completes() {
    let data = input(500_000, 4);
    let mut config = sender_config();
    config.asynchronous = true;
    config.autostart = 1;
    let mut peers = vec![peer(1, 0)];
    let r = run(config, &data, &mut peers, 10, 60 * SECOND, None);
    assert_all_received(&data, &r, "async");
}

#[test]
fn synchronous_fec_4x2_with_loss_uses_fec_and_retransmissions() {
    let data = input(600_000, 5);
    let mut config = sender_config();
    config.fec = Some(FecParams {
        stripes: 4,
        redundancy: 2,
        stripe_size: 32,
    });
    started(&mut config, 2);
    let mut peers = vec![peer(1, 0), peer(2, 50)];
    let r = run(config, &data, &mut peers, 11, 120 * SECOND, None);
    assert_all_received(&data, &r, "sync fec");
}

#[test]
fn sizes_0_1_one_block_and_block_multiples_with_a_tail() {
    for (n, seed) in [
        (0usize, 1u64),
        (1, 2),
        (1456, 3),
        (1456 * 1000, 4),
        (1456 * 77 + 5, 5),
    ] {
        let data = input(n, seed);
        let mut config = sender_config();
        started(&mut config, 1);
        let mut peers = vec![peer(1, 10)];
        let r = run(config, &data, &mut peers, seed, 120 * SECOND, None);
        assert_all_received(&data, &r, &format!("{n} bytes"));
    }
}

#[test]
fn a_dead_receiver_is_dropped_and_the_others_complete() {
    let data = input(2_000_000, 6);
    let mut config = sender_config();
    started(&mut config, 3);
    config.drop_timeout = Duration::from_secs(3);
    let mut peers: Vec<Peer> = vec![peer(1, 0), peer(2, 0), peer(3, 0)];
    let r = run(
        config,
        &data,
        &mut peers,
        12,
        120 * SECOND,
        Some((1, 300_000)),
    );
    assert!(r.sender_finished, "{:?}", r.sender_events);
    assert!(r.sender_events.iter().any(|e| matches!(
        e,
        Event::Left {
            client: 1,
            reason: LeaveReason::Dropped,
            ..
        }
    )));
    for i in [0, 2] {
        assert_eq!(r.receivers[i].0, data, "receiver {i}");
    }
    // Dropped within seconds, not udpcast's minutes.
    assert!(
        r.elapsed_us < 30 * SECOND,
        "took {} s",
        r.elapsed_us / SECOND
    );
}

#[test]
fn one_receiver_gets_the_data_point_to_point_and_pointopoint_refuses_a_second() {
    let data = input(100_000, 7);
    let mut config = sender_config();
    started(&mut config, 1);
    let mut peers = vec![peer(1, 0)];
    let r = run(config, &data, &mut peers, 13, 60 * SECOND, None);
    assert_all_received(&data, &r, "auto point-to-point");
    let Some(Event::Started { destination, .. }) = r
        .sender_events
        .iter()
        .find(|e| matches!(e, Event::Started { .. }))
    else {
        panic!()
    };
    assert_eq!(*destination.ip(), peers[0].ip);

    let mut config = sender_config();
    config.pointopoint = PointToPoint::Always;
    config.max_wait = Some(Duration::from_secs(3));
    let mut peers = vec![peer(1, 0), peer(2, 0)];
    let r = run(config, &data, &mut peers, 14, 60 * SECOND, None);
    assert_eq!(r.receivers[0].0, data);
    assert!(r.receivers[1].1.iter().any(|e| matches!(
        e,
        RxEvent::Failed(udpcast_core::receiver::ReceiverError::Refused)
    )));
}

#[test]
fn streaming_async_sends_a_streaming_hello_in_every_slice() {
    let data = input(1456 * 300, 8);
    let mut config = sender_config();
    config.asynchronous = true;
    config.autostart = 1;
    config.streaming = true;
    config.fec = Some(FecParams {
        stripes: 8,
        redundancy: 4,
        stripe_size: 16,
    });
    let mut peers = vec![peer(1, 0)];
    let r = run(config, &data, &mut peers, 15, 60 * SECOND, None);
    assert_all_received(&data, &r, "streaming");
    let streaming_hellos = r.sent.iter().filter(|(_, d)| d[..2] == [0, 0x0b]).count();
    // 300 blocks in slices of 128: 3 data slices + the end slice.
    assert_eq!(streaming_hellos, 4);
}

#[test]
fn a_synchronous_transfer_runs_at_its_max_bitrate_not_slower() {
    // 10 MB at 200 Mb/s is 0.41 s on the wire (28 bytes of headers per datagram counted).
    let data = input(10_000_000, 9);
    let mut config = sender_config();
    started(&mut config, 1);
    config.max_bitrate = Some(200_000_000);
    let mut peers = vec![peer(1, 0)];
    let r = run(config, &data, &mut peers, 16, 60 * SECOND, None);
    assert_all_received(&data, &r, "paced");
    let first_data = r.sent.iter().position(|(_, d)| d[..2] == [0, 8]).unwrap();
    let last = *r.sent_at_us.last().unwrap();
    let on_the_wire = last - r.sent_at_us[first_data];
    assert!(
        on_the_wire >= 390_000,
        "faster than the limit: {on_the_wire} us"
    );
    assert!(
        on_the_wire <= 500_000,
        "slower than the limit allows: {on_the_wire} us"
    );
}
