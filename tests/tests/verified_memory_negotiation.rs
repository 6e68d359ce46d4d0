//! Verified transfers (issue #11, doc/verified-transfers.md §4–§5) between our sender and
//! our receivers, in memory, where the two sides do not agree: a receiver that expects
//! another stream name (`--expect-name`), plain udpcast on either side, and trailers of a
//! version nobody speaks. Whatever happens on the wire, no receiver ever reports
//! `Verified` for an output that differs from the input.

use udpcast_core::extension::integrity::stream_checksum;
use udpcast_core::extension::VERIFIED;
use udpcast_core::receiver::{Event as RxEvent, NotVerifiedReason, ReceiverError};
use udpcast_core::sender::{Event, LeaveReason, SenderError};
use udpcast_core::time::Duration;
use udpcast_core::wire::{ConnectReply, Hello, Message, Opcode, Reqack};
use udpcast_tests::memnet::{peer, run_with, Hook};
use udpcast_tests::verified_run::{
    assert_all_verified, assert_verified, async_config, events, failure, input, not_verified,
    opcode, output, plain_options, plain_peer, replies_to, reqack_sizes, sent_with, sync_config,
    trailer_of_reqack, verified_options, verified_with, with_hook, FEC_8X8, NAME, SECOND, SESSION,
};

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

// ---- what the design asks and the wiring gets wrong (see the report on #11) ----

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
