//! Seeds of whole sessions (verified, authenticated) and the reproducers kept as regressions.

use std::fs;
use std::path::Path;
use udpcast_fuzz::authenticated::seed::{self as auth_seed, Action, To};
use udpcast_fuzz::{sender, session};

use crate::Corpus;

pub(crate) fn session_seeds(corpus: &mut Corpus) {
    let faults: [(&str, &[session::FaultSpec<'_>]); 3] = [
        ("clean", &[]),
        (
            "flip-drop-repeat",
            &[(3, 0, 40, &[0x10]), (5, 2, 0, &[]), (9, 3, 0, &[])],
        ),
        (
            "burst-in-header",
            &[(0, 0, 6, &[1, 2, 3, 4]), (7, 0, 2, &[0x80])],
        ),
    ];
    for mode in 0..5u8 {
        for (name, f) in faults {
            let script = session::seed(mode, 64, 16, 3000, f);
            corpus.put("verified_session", &format!("mode{mode}-{name}"), &script);
        }
    }
    corpus.put(
        "verified_session",
        "mode0-tiny-blocks",
        &session::seed(0, 4, 1, 100, &[(2, 0, 17, &[0x41])]),
    );
}

/// Decoder inputs around the trailers' edges, and keyed sessions with every kind of
/// forgery, replay and loss.
pub(crate) fn authenticated_seeds(corpus: &mut Corpus) {
    let reply = [0u8, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 64];
    let mut forged = b"\x00\x08junk".to_vec();
    forged.extend_from_slice(b"UCA1");
    forged.extend_from_slice(&[0; 8 + 8 + 16]);
    // Edits: count, then xor (at, n, bytes), truncate (length), extend (bytes), remove.
    let flip = [1, 0, 0, 3, 0, 0x01];
    let all = [
        4, 0, 0, 40, 1, 0x80, 0x01, 1, 0, 30, 2, 2, 0xaa, 0xbb, 3, 0, 1, 2,
    ];
    let none = [2, 2, 1, 0x5a, 1, 0, 48];
    for (name, raw, flags, message, room, edits) in [
        ("empty", &b""[..], 0, &b""[..], 36, &flip[..]),
        ("sender-trailer", &forged[..], 0, &reply[..], 40, &all[..]),
        ("reply-bound", &forged[..], 2, &reply[..], 36, &flip[..]),
        (
            "reply-bound-identity",
            &forged[..],
            2,
            &reply[..],
            36,
            &none[..],
        ),
        (
            "receiver-trailer",
            &forged[..],
            1,
            &b"\x00\x03\x00\x00"[..],
            44,
            &all[..],
        ),
        ("no-room", &b"UCA1"[..], 1, &b"\x00\x04"[..], 43, &flip[..]),
    ] {
        let input = auth_seed::decoders(raw, flags, message, room, edits);
        corpus.put("authenticated", &format!("decoders-{name}"), &input);
    }
    let lossy = [
        Action::drop(9),
        Action::drop(20),
        Action::replayed(12, To::Receiver, 3),
        Action::replayed(13, To::Sender, 0),
        Action::replayed(30, To::Receiver, 20),
        Action::replayed(31, To::Receiver, 10),
    ];
    let caps = udpcast_core::wire::Capabilities::SENDER;
    let hello = auth_seed::hello(caps);
    let earlier_run = [
        Action::sealed(0, To::Receiver, false, Err(&hello), 77, 1),
        Action::sealed(
            1,
            To::Receiver,
            false,
            Err(&[0, 8, 0, 0, 0, 0, 0, 9]),
            77,
            2,
        ),
        Action::sealed(1, To::Sender, false, Ok(0), 0, 9),
        Action::sealed(2, To::Sender, false, Ok(0), 77, 3),
    ];
    let forgeries = auth_seed::refused_forgeries();
    for mode in 0..5u8 {
        for (name, actions) in [
            ("clean", &[][..]),
            ("forgeries", &forgeries[..]),
            ("lossy-replays", &lossy[..]),
            ("earlier-run", &earlier_run[..]),
        ] {
            let input = auth_seed::session(mode, 64, 16, 3000, actions);
            corpus.put("authenticated", &format!("mode{mode}-{name}"), &input);
        }
    }
    let tiny = auth_seed::session(0, 4, 2, 200, &forgeries[..12]);
    corpus.put("authenticated", "mode0-tiny-blocks", &tiny);
}

/// Reproducers of core bugs that are scripts of our own (the others are minimised fuzzer
/// finds, kept as found).
pub(crate) fn regressions(dir: &Path) {
    use sender::script::Options;
    // Half duplex, 64-byte blocks, at most 16 blocks per slice, two receivers of which one
    // loses blocks near the end of a slice: the sender shrinks the slice size to 32 > 16.
    let o = Options {
        half_duplex: true,
        block_size: 64,
        max_slice: 16,
        ..Options::default()
    };
    let script = sender::seed_transfer(&o, 2, 3000, true);
    fs::create_dir_all(dir.join("sender")).expect("regressions directory");
    fs::write(dir.join("sender/shrink-above-max-slice-size"), script).expect("written");
    // A sync sender and a receiver that is not --passive: a HELLO with the async
    // capability from an earlier run under the same key (session 77, as recorded) arrives
    // first, and the receiver joins that run, though no reply covered its nonce.
    let caps = udpcast_core::wire::Capabilities::SENDER | udpcast_core::wire::Capabilities::ASYNC;
    let hello = auth_seed::hello(caps);
    let replay = [Action::sealed(0, To::Receiver, false, Err(&hello), 77, 1)];
    let script = auth_seed::session(0, 64, 16, 3000, &replay);
    fs::create_dir_all(dir.join("authenticated")).expect("regressions directory");
    fs::write(
        dir.join("authenticated/earlier-async-hello-joins-active-receiver"),
        script,
    )
    .expect("written");
    // The same with a plain HELLO sealed with counter 0, which the receiver's fresh window
    // for that session refuses, after it already took the session's keys: its next
    // CONNECT_REQ is sealed under session 77 and the sender refuses it.
    let hello = auth_seed::hello(udpcast_core::wire::Capabilities::SENDER);
    let replay = [Action::sealed(0, To::Receiver, false, Err(&hello), 77, 0)];
    let script = auth_seed::session(0, 64, 16, 3000, &replay);
    fs::write(
        dir.join("authenticated/refused-hello-switches-session"),
        script,
    )
    .expect("written");
}
