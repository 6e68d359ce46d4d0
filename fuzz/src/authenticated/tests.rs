use super::seed::{self, hello, refused_forgeries, Action, To};
use super::*;
use udpcast_core::wire::Capabilities;

#[test]
fn clean_sessions_finish_intact() {
    for mode in 0..5 {
        let outcome = run(&seed::session(mode, 64, 16, 3000, &[]));
        let expected = Outcome {
            verified: true,
            finished: true,
            ..Outcome::default()
        };
        assert_eq!(outcome, expected, "mode {mode}");
    }
}

#[test]
fn refused_forgeries_are_counted_exactly_and_change_nothing() {
    let actions = refused_forgeries();
    for mode in 0..5 {
        let outcome = run(&seed::session(mode, 64, 16, 3000, &actions));
        assert!(
            outcome.finished && outcome.verified,
            "mode {mode}: {outcome:?}"
        );
        // The passive receiver of the async modes sends nothing to forge from.
        assert!(outcome.receiver_forgeries >= 20, "mode {mode}: {outcome:?}");
        assert!(
            mode >= 3 || outcome.sender_forgeries >= 20,
            "mode {mode}: {outcome:?}"
        );
        assert_eq!(outcome.receiver_rejected, outcome.receiver_forgeries);
        assert_eq!(outcome.sender_rejected, outcome.sender_forgeries);
    }
}

#[test]
fn replays_are_refused_and_losses_recovered() {
    let mut actions = vec![Action::drop(9), Action::drop(10), Action::drop(20)];
    for after in [4, 8, 15, 25, 40] {
        actions.push(Action::replayed(after, To::Receiver, 1));
        actions.push(Action::replayed(after, To::Receiver, 3));
    }
    // The lost ones, late: taken if the window still has room, and never twice.
    actions.push(Action::replayed(45, To::Receiver, 40));
    actions.push(Action::replayed(46, To::Receiver, 41));
    for mode in [0, 1, 2] {
        let outcome = run(&seed::session(mode, 64, 16, 3000, &actions));
        assert!(outcome.finished, "mode {mode}: {outcome:?}");
        assert!(outcome.receiver_rejected >= 10, "mode {mode}: {outcome:?}");
    }
}

#[test]
fn an_earlier_runs_hello_is_answered_but_joins_nothing() {
    let plain = hello(Capabilities::SENDER);
    let actions = [
        Action::sealed(0, To::Receiver, false, Err(&plain), 77, 1),
        // More of that run, under the keys the receiver switched to: taken, and ignored.
        Action::sealed(
            0,
            To::Receiver,
            false,
            Err(&[0, 8, 0, 0, 0, 0, 0, 9]),
            77,
            2,
        ),
        Action::sealed(1, To::Receiver, false, Err(&plain), 78, 1),
        Action::sealed(1, To::Sender, false, Ok(0), 0, 9),
    ];
    for mode in 0..3 {
        let outcome = run(&seed::session(mode, 64, 16, 3000, &actions));
        assert!(
            outcome.finished && outcome.verified,
            "mode {mode}: {outcome:?}"
        );
    }
}

#[test]
fn decoder_seeds_run() {
    let reply = [0u8, 7, 0, 0, 0, 0, 0, 1];
    // Edits: count, then xor (at, n, bytes), truncate (to), extend (bytes), remove (at, n).
    let edits = [4, 0, 0, 5, 1, 0x80, 0, 1, 0, 30, 2, 1, 0xaa, 3, 0, 2, 3];
    for flags in 0..4 {
        for room in [0, 35, 36, 44, 60] {
            run(&seed::decoders(b"UCA1", flags, &reply, room, &edits));
            run(&seed::decoders(&[0; 80], flags, b"", room, &[1, 1, 0, 0]));
        }
    }
}
