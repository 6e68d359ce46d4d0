use super::*;

fn key(byte: u8) -> PreSharedKey {
    PreSharedKey::from_key_material(&[byte; 32]).unwrap()
}

fn sealed_from_sender(keys: &SessionKeys, counter: u64, message: &[u8]) -> ([u8; 128], usize) {
    let mut buf = [0u8; 128];
    buf[..message.len()].copy_from_slice(message);
    let len = keys
        .seal_from_sender(counter, None, &mut buf, message.len())
        .unwrap();
    (buf, len)
}

#[test]
fn short_key_files_are_refused() {
    assert_eq!(
        PreSharedKey::from_key_material(b"short"),
        Err(KeyError::TooShort(5))
    );
    assert!(PreSharedKey::from_key_material(&[0; MIN_KEY_MATERIAL]).is_ok());
}

#[test]
fn a_sealed_datagram_verifies_and_any_flipped_bit_fails() {
    let keys = SessionKeys::derive(&key(1), 42);
    let message = [0, 8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    let (mut buf, len) = sealed_from_sender(&keys, 7, &message);
    assert_eq!(len, message.len() + SENDER_TRAILER_LEN);
    let trailer = SenderTrailer::parse(&buf[..len]).unwrap();
    assert_eq!(trailer.message_len, message.len());
    assert_eq!((trailer.session, trailer.counter), (42, 7));
    assert_eq!(keys.verify_from_sender(&buf[..len], &trailer, 0), Ok(()));
    for byte in 0..len {
        for bit in 0..8 {
            buf[byte] ^= 1 << bit;
            let result = SenderTrailer::parse(&buf[..len])
                .and_then(|t| keys.verify_from_sender(&buf[..len], &t, 0));
            assert!(result.is_err(), "byte {byte} bit {bit}");
            buf[byte] ^= 1 << bit;
        }
    }
}

#[test]
fn another_key_or_session_or_direction_fails() {
    let keys = SessionKeys::derive(&key(1), 42);
    let (buf, len) = sealed_from_sender(&keys, 1, &[0, 6, 0, 0]);
    let trailer = SenderTrailer::parse(&buf[..len]).unwrap();
    let other_key = SessionKeys::derive(&key(2), 42);
    assert_eq!(
        other_key.verify_from_sender(&buf[..len], &trailer, 0),
        Err(AuthError::BadTag)
    );
    let other_session = SessionKeys::derive(&key(1), 43);
    assert_eq!(
        other_session.verify_from_sender(&buf[..len], &trailer, 0),
        Err(AuthError::BadTag)
    );
    // The same bytes reflected as if a receiver had sent them.
    let mut reflected = [0u8; 128];
    reflected[..4].copy_from_slice(&[0, 0, 0, 0]);
    let rlen = keys.seal_from_receiver(9, 1, &mut reflected, 4).unwrap();
    let rt = ReceiverTrailer::parse(&reflected[..rlen]).unwrap();
    assert_eq!(keys.verify_from_receiver(&reflected[..rlen], &rt), Ok(()));
    assert!(SenderTrailer::parse(&reflected[..rlen])
        .and_then(|t| keys.verify_from_sender(&reflected[..rlen], &t, 0))
        .is_err());
}

#[test]
fn a_connect_reply_is_bound_to_the_nonce_of_the_receiver_it_answers() {
    let keys = SessionKeys::derive(&key(1), 42);
    let mut buf = [0u8; 128];
    buf[..2].copy_from_slice(&[0, 7]);
    let len = keys.seal_from_sender(3, Some(1111), &mut buf, 16).unwrap();
    let trailer = SenderTrailer::parse(&buf[..len]).unwrap();
    assert_eq!(keys.verify_from_sender(&buf[..len], &trailer, 1111), Ok(()));
    assert_eq!(
        keys.verify_from_sender(&buf[..len], &trailer, 2222),
        Err(AuthError::BadTag)
    );
}

#[test]
fn missing_or_truncated_trailers_are_unauthenticated() {
    for len in 0..SENDER_TRAILER_LEN {
        assert_eq!(
            SenderTrailer::parse(&[0u8; 64][..len]),
            Err(AuthError::Unauthenticated)
        );
    }
    assert_eq!(
        ReceiverTrailer::parse(&[0u8; 64]),
        Err(AuthError::Unauthenticated)
    );
    assert!(SessionKeys::derive(&key(1), 1)
        .seal_from_sender(1, None, &mut [0u8; 40], 8)
        .is_none());
}

#[test]
fn the_replay_window_takes_each_counter_once() {
    let mut window = ReplayWindow::new();
    assert!(!window.accept(0));
    assert!(window.accept(1));
    assert!(!window.accept(1));
    assert!(window.accept(5));
    assert!(window.accept(3));
    assert!(!window.accept(3));
    assert!(window.accept(2));
    assert!(window.accept(200));
    assert!(!window.accept(200 - ReplayWindow::SPAN));
    assert!(window.accept(200 - ReplayWindow::SPAN + 1));
    assert!(window.accept(u64::MAX));
    assert!(!window.accept(u64::MAX));
}

#[test]
fn an_enciphered_block_verifies_deciphers_and_any_flipped_bit_fails() {
    let keys = SessionKeys::derive(&key(3), 99);
    let mut message = [0u8; 16 + 100];
    message[..2].copy_from_slice(&[0, 8]);
    for (i, b) in message[16..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let mut buf = [0u8; 256];
    buf[..message.len()].copy_from_slice(&message);
    let len = keys
        .seal_enciphered_from_sender(5, None, &mut buf, message.len())
        .unwrap();
    assert_eq!(len, message.len() + SENDER_TRAILER_LEN);
    // The header stays readable, the block does not.
    assert_eq!(buf[..16], message[..16]);
    assert_ne!(buf[16..message.len()], message[16..]);
    let trailer = SenderTrailer::parse(&buf[..len]).unwrap();
    assert!(trailer.enciphered);
    assert_eq!(keys.verify_from_sender(&buf[..len], &trailer, 0), Ok(()));
    let mut plain = [0u8; MAX_ENCIPHERED_MESSAGE];
    assert_eq!(
        keys.decipher(&buf[..len], &trailer, &mut plain),
        Some(&message[..])
    );
    // Another counter gives another ciphertext for the same block.
    let mut again = [0u8; 256];
    again[..message.len()].copy_from_slice(&message);
    keys.seal_enciphered_from_sender(6, None, &mut again, message.len())
        .unwrap();
    assert_ne!(again[16..message.len()], buf[16..message.len()]);
    for byte in 0..len {
        buf[byte] ^= 0x10;
        let result = SenderTrailer::parse(&buf[..len])
            .and_then(|t| keys.verify_from_sender(&buf[..len], &t, 0));
        assert!(result.is_err(), "byte {byte}");
        buf[byte] ^= 0x10;
    }
}

#[test]
fn control_messages_are_not_enciphered() {
    let keys = SessionKeys::derive(&key(3), 99);
    let hello = [5u8, 0, 1, 2, 3, 4, 5, 6];
    let mut buf = [0u8; 128];
    buf[..hello.len()].copy_from_slice(&hello);
    let len = keys
        .seal_enciphered_from_sender(1, None, &mut buf, hello.len())
        .unwrap();
    assert_eq!(buf[..hello.len()], hello);
    let trailer = SenderTrailer::parse(&buf[..len]).unwrap();
    assert!(!trailer.enciphered);
    let mut plain = [0u8; MAX_ENCIPHERED_MESSAGE];
    assert_eq!(keys.decipher(&buf[..len], &trailer, &mut plain), None);
}

/// RFC 4231, test case 2: the MAC is standard HMAC-SHA-256 (a short key, zero-padded).
#[test]
fn the_mac_is_hmac_sha256() {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(b"Jefe");
    let tag = mac::TagKey::new(&key).tag(b"what do ya want for nothing?", None);
    assert_eq!(
        tag,
        [
            0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
            0x75, 0xc7
        ]
    );
}
