//! Mode 0 of `authenticated`: the trailer parsers, sealing and verification, and the
//! replay window, on bytes of the input.

use super::{harness_key, opcode, other_key};
use crate::input::Input;
use std::collections::BTreeSet;
use udpcast_core::auth::{
    AuthError, KeyError, PreSharedKey, ReceiverTrailer, ReplayWindow, SenderTrailer, SessionKeys,
    ENCIPHERED_MAGIC, MAGIC, MIN_KEY_MATERIAL, RECEIVER_TRAILER_LEN, SENDER_TRAILER_LEN, TAG_LEN,
};
use udpcast_core::wire::Opcode;

fn open_from_sender(keys: &SessionKeys, d: &[u8], nonce: u64) -> Result<(), AuthError> {
    SenderTrailer::parse(d).and_then(|t| keys.verify_from_sender(d, &t, nonce))
}

fn open_from_receiver(keys: &SessionKeys, d: &[u8]) -> Result<(), AuthError> {
    ReceiverTrailer::parse(d).and_then(|t| keys.verify_from_receiver(d, &t))
}

fn be_u64(d: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(d[at..at + 8].try_into().expect("8 bytes"))
}

/// The parsers read the fields at the offsets of the format, and refuse exactly what is too
/// short or lacks the magic (a sender's trailer may also start with the enciphered one).
fn check_parsers(d: &[u8]) {
    let magic_at = |len: usize, magics: &[[u8; 4]]| {
        d.len()
            .checked_sub(len)
            .filter(|&at| magics.iter().any(|m| d[at..at + 4] == *m))
    };
    let sender_magics = [MAGIC, ENCIPHERED_MAGIC];
    match (
        SenderTrailer::parse(d),
        magic_at(SENDER_TRAILER_LEN, &sender_magics),
    ) {
        (Ok(t), Some(at)) => {
            assert_eq!(t.message_len, at);
            assert_eq!(
                (t.session, t.counter, t.enciphered),
                (
                    be_u64(d, at + 4),
                    be_u64(d, at + 12),
                    d[at..at + 4] == ENCIPHERED_MAGIC
                )
            );
        }
        (Err(AuthError::Unauthenticated), None) => {}
        (result, at) => panic!("SenderTrailer::parse gave {result:?}, magic at {at:?}"),
    }
    match (
        ReceiverTrailer::parse(d),
        magic_at(RECEIVER_TRAILER_LEN, &[MAGIC]),
    ) {
        (Ok(t), Some(at)) => {
            assert_eq!(t.message_len, at);
            let fields = (be_u64(d, at + 4), be_u64(d, at + 12), be_u64(d, at + 20));
            assert_eq!((t.session, t.nonce, t.counter), fields);
        }
        (Err(AuthError::Unauthenticated), None) => {}
        (result, at) => panic!("ReceiverTrailer::parse gave {result:?}, magic at {at:?}"),
    }
}

/// `d` was not sealed by the harness: refused under every key a peer could try.
fn assert_forgery(d: &[u8], session: u64, nonce: u64, claimed: u64) {
    let key = harness_key();
    for s in [session, 0, claimed] {
        let keys = SessionKeys::derive(&key, s);
        let fake = SenderTrailer {
            enciphered: false,
            message_len: d.len(),
            session: s,
            counter: claimed,
        };
        let expected = Err(if d.len() < TAG_LEN {
            AuthError::Unauthenticated
        } else {
            AuthError::BadTag
        });
        assert_eq!(keys.verify_from_sender(d, &fake, nonce), expected);
        let sender_side = SenderTrailer::parse(d).map(|t| keys.verify_from_sender(d, &t, nonce));
        assert!(matches!(sender_side, Err(_) | Ok(Err(AuthError::BadTag))));
        let receiver_side = ReceiverTrailer::parse(d).map(|t| keys.verify_from_receiver(d, &t));
        assert!(matches!(receiver_side, Err(_) | Ok(Err(AuthError::BadTag))));
    }
}

pub(super) fn run(input: &mut Input) {
    let session = input.u64();
    let material = input.short_bytes();
    let short = (material.len() < MIN_KEY_MATERIAL).then_some(KeyError::TooShort(material.len()));
    assert_eq!(PreSharedKey::from_key_material(material).err(), short);
    let raw = input.long_bytes();
    let nonce = input.u64();
    check_parsers(raw);
    assert_forgery(raw, session, nonce, input.u64());

    let keys = SessionKeys::derive(&harness_key(), session);
    let flags = input.u8();
    let from_sender = flags & 1 == 0;
    let reply_to = (flags & 2 != 0).then_some(nonce);
    let counter = input.u64();
    let message = input.long_bytes();
    let room = input.below(64);
    const FILL: u8 = 0xa5;
    let mut buf = vec![FILL; message.len() + room];
    buf[..message.len()].copy_from_slice(message);
    let (sealed, need) = if from_sender {
        let sealed = keys.seal_from_sender(counter, reply_to, &mut buf, message.len());
        (sealed, message.len() + SENDER_TRAILER_LEN)
    } else {
        let sealed = keys.seal_from_receiver(nonce, counter, &mut buf, message.len());
        (sealed, message.len() + RECEIVER_TRAILER_LEN)
    };
    assert_eq!(sealed, (buf.len() >= need).then_some(need), "room {room}");
    // A length near the end of the address space must not wrap around to fit.
    let huge = usize::MAX - input.below(64);
    assert_eq!(
        keys.seal_from_sender(counter, reply_to, &mut buf, huge),
        None
    );
    assert_eq!(
        keys.seal_from_receiver(nonce, counter, &mut buf, huge),
        None
    );
    let end = sealed.unwrap_or(message.len());
    assert!(
        buf[..message.len()] == *message,
        "sealing changed the message"
    );
    assert!(
        buf[end..].iter().all(|&b| b == FILL),
        "written past the trailer"
    );
    if sealed.is_some() {
        let sealed = &buf[..need];
        check_parsers(sealed);
        let opened = check_sealed(&keys, sealed, from_sender, reply_to, (counter, nonce));
        mutations(input, &keys, sealed, from_sender, opened);
    }
    replay_window(input);
}

/// A datagram the harness sealed: its trailer says what was sealed, it verifies under
/// these keys exactly as its opcode and nonce say, and under no others. Returns how it
/// opens with the nonce a receiver would check, for comparison with its mutations.
fn check_sealed(
    keys: &SessionKeys,
    sealed: &[u8],
    from_sender: bool,
    reply_to: Option<u64>,
    (counter, nonce): (u64, u64),
) -> (Result<(), AuthError>, u64) {
    let m = sealed.len()
        - if from_sender {
            SENDER_TRAILER_LEN
        } else {
            RECEIVER_TRAILER_LEN
        };
    let others = [
        SessionKeys::derive(&other_key(), keys.session()),
        SessionKeys::derive(&harness_key(), keys.session() ^ 1),
    ];
    if !from_sender {
        let t = ReceiverTrailer::parse(sealed).expect("sealed");
        assert_eq!((t.message_len, t.session), (m, keys.session()));
        assert_eq!((t.nonce, t.counter), (nonce, counter));
        assert_eq!(keys.verify_from_receiver(sealed, &t), Ok(()));
        for other in others {
            assert_eq!(
                other.verify_from_receiver(sealed, &t),
                Err(AuthError::BadTag)
            );
        }
        // Reflected at the receivers, it must not pass for the sender's.
        assert!(open_from_sender(keys, sealed, nonce).is_err());
        return (Ok(()), nonce);
    }
    let t = SenderTrailer::parse(sealed).expect("sealed");
    assert_eq!(
        (t.message_len, t.session, t.counter),
        (m, keys.session(), counter)
    );
    let is_reply = opcode(sealed) == Some(Opcode::ConnectReply);
    let checked = reply_to.unwrap_or(nonce);
    for n in [checked, checked ^ 1] {
        let good = if is_reply {
            reply_to == Some(n)
        } else {
            reply_to.is_none()
        };
        let expected = if good { Ok(()) } else { Err(AuthError::BadTag) };
        assert_eq!(
            keys.verify_from_sender(sealed, &t, n),
            expected,
            "reply {is_reply}"
        );
    }
    for other in others {
        assert_eq!(
            other.verify_from_sender(sealed, &t, checked),
            Err(AuthError::BadTag)
        );
    }
    assert!(open_from_receiver(keys, sealed).is_err());
    (keys.verify_from_sender(sealed, &t, checked), checked)
}

/// Edits of a sealed datagram: whatever they make is refused unless it is the original.
fn mutations(
    input: &mut Input,
    keys: &SessionKeys,
    sealed: &[u8],
    from_sender: bool,
    (original, nonce): (Result<(), AuthError>, u64),
) {
    let mut d = sealed.to_vec();
    for _ in 0..input.below(17) {
        match input.u8() % 4 {
            0 => {
                let at = input.below16(d.len() + 1);
                let n = 1 + input.below(4);
                for (b, x) in d[at..].iter_mut().zip(input.bytes(n)) {
                    *b ^= x;
                }
            }
            1 => d.truncate(input.below16(d.len() + 1)),
            2 => d.extend_from_slice(input.short_bytes()),
            _ => {
                let at = input.below16(d.len() + 1);
                let n = input.below(8).min(d.len() - at);
                d.drain(at..at + n);
            }
        }
    }
    check_parsers(&d);
    let result = if from_sender {
        open_from_sender(keys, &d, nonce)
    } else {
        open_from_receiver(keys, &d)
    };
    if d == sealed {
        assert_eq!(result, original);
    } else {
        let parsed = if from_sender {
            SenderTrailer::parse(&d).is_ok()
        } else {
            ReceiverTrailer::parse(&d).is_ok()
        };
        let expected = if parsed {
            AuthError::BadTag
        } else {
            AuthError::Unauthenticated
        };
        assert_eq!(result, Err(expected), "an edited datagram opened");
    }
}

/// The window takes a counter exactly when it is neither taken before nor 128 or more
/// below the highest taken (0 counts as taken: counters start at 1).
fn replay_window(input: &mut Input) {
    let mut window = ReplayWindow::new();
    let mut taken = BTreeSet::from([0u64]);
    let mut highest = 0u64;
    for _ in 0..256 {
        if input.is_empty() {
            break;
        }
        let counter = match input.u8() % 3 {
            0 => highest.wrapping_sub(u64::from(input.u8())),
            1 => highest.wrapping_add(u64::from(input.u16())),
            _ => input.u64(),
        };
        let new = !taken.contains(&counter)
            && (counter > highest || highest - counter < ReplayWindow::SPAN);
        assert_eq!(
            window.accept(counter),
            new,
            "counter {counter}, highest {highest}"
        );
        if new {
            taken.insert(counter);
            highest = highest.max(counter);
        }
    }
}
