//! Authenticated transfers (issue #14) between our sender and our receivers, in memory:
//! forged, replayed and unkeyed datagrams on their way to a receiver are all dropped, and
//! the output stays the input; peers without the key, or with another, are refused with
//! a reason on both sides.

use std::cell::RefCell;
use std::rc::Rc;
use udpcast_core::auth::{AuthError, Authentication, PreSharedKey, SENDER_TRAILER_LEN};
use udpcast_core::receiver::{Event as RxEvent, ReceiverError};
use udpcast_core::sender::{Event, SenderConfig, AUTH_MAX_BLOCK_SIZE};
use udpcast_core::time::Duration;
use udpcast_core::wire::{Bitmap1024, ConnectReply, Data, Message, Reqack};
use udpcast_tests::memnet::{
    identity, peer, run_with, sender_config, Hook, Options, Peer, Rng, Run,
};

const SECOND: u64 = 1_000_000;

fn key(byte: u8) -> PreSharedKey {
    PreSharedKey::from_key_material(&[byte; 32]).unwrap()
}

fn keyed_sender(session: u64, receivers: u32) -> SenderConfig {
    let mut config = sender_config();
    config.min_receivers = receivers;
    config.auth = Some(Authentication {
        key: key(7),
        nonce: session,
    });
    config
}

fn keyed_peer(i: u8, loss_permille: u32, key_byte: u8) -> Peer {
    let mut p = peer(i, loss_permille);
    p.config.auth = Some(Authentication {
        key: key(key_byte),
        nonce: 0x1000 + u64::from(i),
    });
    p.config.start_timeout = Some(Duration::from_secs(20));
    p
}

fn options(seed: u64, session: u64, size: usize) -> Options {
    Options {
        max_steps: 3_000_000,
        ..Options::new(seed, 120 * SECOND).with_identity(identity(
            session,
            "disk.img",
            Some(size as u64),
        ))
    }
}

fn assert_intact(run: &Run, input: &[u8]) {
    assert!(
        run.sender_finished,
        "sender events: {:?}",
        run.sender_events
    );
    for (i, (output, events, finished)) in run.receivers.iter().enumerate() {
        assert!(finished, "receiver {i}: {events:?}");
        assert!(
            output == input,
            "receiver {i}: output differs from the input"
        );
    }
}

/// Forgeries of every kind a spoofer on the LAN can make without the key, sent with the
/// sender's address after each of its datagrams: plain udpcast messages, the real one with
/// a byte changed, and the real one re-sealed with a made-up tag.
fn forger(count: Rc<RefCell<u64>>) -> Hook {
    let mut rng = Rng::new(99);
    Box::new(move |datagram: &[u8]| {
        let mut out = vec![datagram.to_vec()];
        let mut buf = vec![0u8; 2048];
        let block = rng.bytes(AUTH_MAX_BLOCK_SIZE as usize);
        let slice = (rng.next_u64() % 4) as u32;
        let plain: Vec<usize> = vec![
            Data {
                slice,
                bytes: 0,
                block: 0,
                payload: &block,
            }
            .encode(&mut buf)
            .unwrap(),
            Reqack {
                slice,
                bytes: 0,
                rxmit: 0,
                ready: &Bitmap1024::new(),
            }
            .encode(&mut buf[..])
            .unwrap(),
        ];
        for len in plain {
            out.push(buf[..len].to_vec());
        }
        out.push(
            Message::Disconnect
                .encode(&mut buf)
                .map(|l| buf[..l].to_vec())
                .unwrap(),
        );
        let reply = ConnectReply {
            client_number: Some(1),
            block_size: 64,
            capabilities: udpcast_core::wire::Capabilities::SENDER,
            data_address: std::net::Ipv4Addr::new(10, 9, 0, 1),
        };
        let len = reply.encode(&mut buf).unwrap();
        out.push(buf[..len].to_vec());
        // The real datagram with one byte flipped (header, payload or trailer).
        let mut flipped = datagram.to_vec();
        let at = (rng.next_u64() as usize) % flipped.len();
        flipped[at] ^= 0x20;
        out.push(flipped);
        // The real datagram with a forged tag.
        let mut retagged = datagram.to_vec();
        let n = retagged.len();
        retagged[n - 16..].copy_from_slice(&rng.bytes(16));
        out.push(retagged);
        *count.borrow_mut() += out.len() as u64 - 1;
        out
    })
}

#[test]
fn a_keyed_transfer_arrives_intact_with_blocks_shrunk_by_the_trailer() {
    let input = Rng::new(1).bytes(600_000);
    let mut peers = vec![keyed_peer(1, 20, 7), keyed_peer(2, 0, 7)];
    let run = run_with(
        keyed_sender(0xabc, 2),
        &input,
        &mut peers,
        &options(1, 0xabc, input.len()),
    );
    assert_intact(&run, &input);
    let longest = run.sent.iter().map(|(_, d)| d.len()).max().unwrap();
    assert_eq!(
        longest,
        16 + AUTH_MAX_BLOCK_SIZE as usize + SENDER_TRAILER_LEN
    );
    assert!(longest <= 1472, "a datagram no longer fits a 1500-byte MTU");
    for stats in &run.receiver_stats {
        assert_eq!(stats.auth_rejected, 0);
    }
}

#[test]
fn every_forged_datagram_is_dropped_and_the_output_stays_intact() {
    let input = Rng::new(2).bytes(400_000);
    let forged = Rc::new(RefCell::new(0));
    let mut target = keyed_peer(1, 0, 7);
    target.hook = Some(forger(forged.clone()));
    let mut peers = vec![target, keyed_peer(2, 0, 7)];
    let run = run_with(
        keyed_sender(0xdef, 2),
        &input,
        &mut peers,
        &options(2, 0xdef, input.len()),
    );
    assert_intact(&run, &input);
    let forged = *forged.borrow();
    assert!(forged > 1000, "only {forged} forgeries");
    assert_eq!(
        run.receiver_stats[0].auth_rejected, forged,
        "every forgery, and only them"
    );
    assert_eq!(run.receiver_stats[1].auth_rejected, 0);
}

#[test]
fn datagrams_of_an_earlier_session_are_rejected() {
    let first_input = Rng::new(3).bytes(300_000);
    let mut peers = vec![keyed_peer(1, 0, 7)];
    let first = run_with(
        keyed_sender(0x111, 1),
        &first_input,
        &mut peers,
        &options(3, 0x111, first_input.len()),
    );
    assert_intact(&first, &first_input);
    let recorded: Vec<Vec<u8>> = first.sent.iter().map(|(_, d)| d.clone()).collect();
    // Authentic announcements of the old session are taken as one to answer while the
    // receiver looks for a sender (it asks that session, which no longer answers); only a
    // reply covering its own nonce can connect it.
    let announcements = recorded
        .iter()
        .filter(|d| matches!(d[..2], [5, 0] | [0, 7] | [0, 0x0a] | [0, 0x0b]))
        .count() as u64;

    // The next run: every datagram of the first is replayed to the receiver, interleaved.
    let input = Rng::new(4).bytes(300_000);
    let replayed = Rc::new(RefCell::new(0u64));
    let counter = replayed.clone();
    let mut cursor = 0;
    let mut target = keyed_peer(1, 0, 7);
    target.config.auth.as_mut().unwrap().nonce = 0x2001;
    target.hook = Some(Box::new(move |datagram: &[u8]| {
        let mut out = vec![datagram.to_vec()];
        for _ in 0..2 {
            if let Some(old) = recorded.get(cursor) {
                out.push(old.clone());
                cursor += 1;
                *counter.borrow_mut() += 1;
            }
        }
        out
    }));
    let mut peers = vec![target];
    let run = run_with(
        keyed_sender(0x222, 1),
        &input,
        &mut peers,
        &options(4, 0x222, input.len()),
    );
    assert_intact(&run, &input);
    let replayed = *replayed.borrow();
    assert!(replayed > 100);
    let rejected = run.receiver_stats[0].auth_rejected;
    assert!(
        rejected + announcements >= replayed && rejected <= replayed,
        "{rejected} rejected of {replayed} replayed ({announcements} announcements)"
    );
}

#[test]
fn a_receiver_with_another_key_is_refused_on_both_sides() {
    let input = Rng::new(5).bytes(10_000);
    let mut peers = vec![keyed_peer(1, 0, 8)];
    let run = run_with(
        keyed_sender(0x333, 1),
        &input,
        &mut peers,
        &options(5, 0x333, input.len()),
    );
    assert!(!run.sender_finished);
    assert!(run.sender_events.iter().any(|e| matches!(
        e,
        Event::AuthRejected {
            reason: AuthError::BadTag,
            ..
        }
    )));
    let (output, events, finished) = &run.receivers[0];
    assert!(!finished && output.is_empty());
    assert!(
        events.contains(&RxEvent::Failed(ReceiverError::NotAuthenticated(
            AuthError::BadTag
        ))),
        "{events:?}"
    );
}

#[test]
fn unkeyed_peers_are_refused_both_ways() {
    let input = Rng::new(6).bytes(10_000);
    // A receiver without the key (as udpcast's is) and a keyed sender.
    let mut plain = peer(1, 0);
    plain.config.start_timeout = Some(Duration::from_secs(20));
    let mut peers = vec![plain];
    let run = run_with(
        keyed_sender(0x444, 1),
        &input,
        &mut peers,
        &options(6, 0x444, input.len()),
    );
    assert!(!run.sender_finished);
    assert!(run.sender_events.iter().any(|e| matches!(
        e,
        Event::AuthRejected {
            reason: AuthError::Unauthenticated,
            ..
        }
    )));
    // The receiver sees the sender's announcements sealed and says it needs the key,
    // rather than asking for ever.
    let (output, events, finished) = &run.receivers[0];
    assert!(!finished && output.is_empty());
    assert_eq!(
        events.last(),
        Some(&RxEvent::Failed(ReceiverError::KeyRequired)),
        "{events:?}"
    );
    // A keyed receiver and a sender without the key.
    let mut config = sender_config();
    config.min_receivers = 1;
    let mut peers = vec![keyed_peer(1, 0, 7)];
    let run = run_with(config, &input, &mut peers, &options(6, 0x444, input.len()));
    let (output, events, finished) = &run.receivers[0];
    assert!(!finished && output.is_empty());
    assert!(
        events.contains(&RxEvent::Failed(ReceiverError::NotAuthenticated(
            AuthError::Unauthenticated
        ))),
        "{events:?}"
    );
}

/// Every datagram of a receiver reaches the sender three times, and with each of its OKs
/// its very first CONNECT_REQ again (what would bring a receiver that left back in): the
/// copies are refused as replays (the window is per receiver), the transfer is unaffected,
/// and the receiver is admitted once.
#[test]
fn receiver_datagrams_replayed_to_the_sender_are_refused() {
    let input = Rng::new(7).bytes(1_500_000);
    let copies = Rc::new(RefCell::new(0u64));
    let counter = copies.clone();
    let mut target = keyed_peer(1, 10, 7);
    let mut first_request: Option<Vec<u8>> = None;
    target.reply_hook = Some(Box::new(move |datagram: &[u8]| {
        let mut out = vec![datagram.to_vec(); 3];
        *counter.borrow_mut() += 2;
        match datagram[..2] {
            [0, 3] => {
                first_request.get_or_insert_with(|| datagram.to_vec());
            }
            [0, 0] => {
                if let Some(request) = &first_request {
                    out.push(request.clone());
                    *counter.borrow_mut() += 1;
                }
            }
            _ => {}
        }
        out
    }));
    let mut peers = vec![target, keyed_peer(2, 0, 7)];
    let run = run_with(
        keyed_sender(0x555, 2),
        &input,
        &mut peers,
        &options(7, 0x555, input.len()),
    );
    assert_intact(&run, &input);
    let copies = *copies.borrow();
    assert!(copies > 10, "only {copies} copies");
    let rejected = run
        .sender_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::AuthRejected {
                    reason: AuthError::Replayed,
                    ..
                }
            )
        })
        .count();
    assert!(rejected >= 1, "{:?}", run.sender_events);
    let joined = run
        .sender_events
        .iter()
        .filter(|e| matches!(e, Event::Connected { address, .. } if *address.ip() == peers[0].ip))
        .count();
    assert_eq!(joined, 1, "{:?}", run.sender_events);
    // Copies of datagrams sent after the sender closed are never seen: at most `copies`.
    let sender_rejected = run.sender_stats.auth_rejected;
    eprintln!("{sender_rejected} rejected of {copies} copies");
    assert!(
        sender_rejected <= copies && sender_rejected + 6 >= copies,
        "{sender_rejected} rejected of {copies} copies"
    );
}

/// An asynchronous keyed session answers nobody, so nothing binds it to this run: a keyed
/// receiver joins one only when told to be passive, and otherwise says why at once.
#[test]
fn a_keyed_async_session_is_joined_only_by_passive_receivers() {
    let input = Rng::new(8).bytes(100_000);
    let mut config = keyed_sender(0x666, 0);
    config.asynchronous = true;
    config.autostart = 1;
    config.hello_interval = Some(Duration::from_millis(100));
    let mut passive = keyed_peer(1, 0, 7);
    passive.config.passive = true;
    let mut peers = vec![passive, keyed_peer(2, 0, 7)];
    let run = run_with(config, &input, &mut peers, &options(8, 0x666, input.len()));
    let (output, _, finished) = &run.receivers[0];
    assert!(*finished && output == &input, "{:?}", run.receivers[0].1);
    let (output, events, finished) = &run.receivers[1];
    assert!(!finished && output.is_empty());
    assert_eq!(
        events.last(),
        Some(&RxEvent::Failed(ReceiverError::PassiveRequired)),
        "{events:?}"
    );
}

/// `--encrypt`: the copies are intact, while no DATA or FEC datagram on the wire carries a
/// block of the input as it is; the headers, which the protocol needs, stay readable.
#[test]
fn enciphered_blocks_arrive_intact_and_never_travel_in_the_clear() {
    let input = Rng::new(9).bytes(300_000);
    let mut config = keyed_sender(0x777, 2);
    config.encrypt = true;
    config.fec = Some(udpcast_core::sender::FecParams {
        stripes: 4,
        redundancy: 2,
        stripe_size: 16,
    });
    let mut peers = vec![keyed_peer(1, 30, 7), keyed_peer(2, 0, 7)];
    let run = run_with(config, &input, &mut peers, &options(9, 0x777, input.len()));
    assert_intact(&run, &input);
    let blocks: Vec<&[u8]> = run
        .sent
        .iter()
        .map(|(_, d)| &d[..])
        .filter(|d| matches!(d[..2], [0, 8] | [0, 9]))
        .collect();
    assert!(blocks.len() > 200);
    // Any 32 bytes of the input, at a block's start, would show a block in the clear.
    let block = AUTH_MAX_BLOCK_SIZE as usize;
    for d in &blocks {
        let payload = &d[16..d.len() - SENDER_TRAILER_LEN];
        assert_eq!(&d[d.len() - SENDER_TRAILER_LEN..][..4], b"UCE1");
        for start in (0..input.len()).step_by(block) {
            let end = (start + 32).min(input.len());
            assert!(
                !payload
                    .windows(end - start)
                    .any(|w| w == &input[start..end]),
                "a block travelled in the clear"
            );
        }
    }
    for stats in &run.receiver_stats {
        assert_eq!(stats.auth_rejected, 0);
    }
    // The lossy receiver rebuilt blocks from deciphered FEC blocks.
    assert!(run.receiver_stats[0].fec_blocks_used > 0);
}
