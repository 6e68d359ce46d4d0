//! `wire_parse`: any datagram either fails to parse with a typed error or parses to a
//! message that encodes back to itself (PROTOCOL.md §2; core/src/wire/mod.rs).

use udpcast_core::extension::{trailing_bytes, Trailer};
use udpcast_core::wire::{
    ConnectReply, EncodeError, Hello, Message, Opcode, Reqack, BLOCK_HEADER_LEN,
};

/// The longest DATA or FEC payload an encoder accepts: a UDP/IPv4 datagram's.
const MAX_BLOCK_PAYLOAD: usize = 65_507 - BLOCK_HEADER_LEN;

/// Parses `datagram`; whatever parses must round-trip, and a trailer after a fixed-size
/// message must parse or fail without panicking.
pub fn run(datagram: &[u8]) {
    let Ok(message) = Message::parse(datagram) else {
        return;
    };
    let opcode = u16::from_be_bytes([datagram[0], datagram[1]]);
    assert_eq!(Some(message.opcode()), Opcode::from_u16(opcode));
    round_trip(&message, datagram);
    let fixed = match message {
        Message::Hello(_) => Some(Hello::LEN),
        Message::ConnectReply(_) => Some(ConnectReply::LEN),
        Message::Reqack(_) => Some(Reqack::LEN),
        _ => None,
    };
    if let Some(fixed) = fixed {
        if let Ok(Some(trailer)) = Trailer::parse(trailing_bytes(datagram, fixed)) {
            crate::trailer::check(&trailer);
        }
    }
}

fn round_trip(message: &Message<'_>, datagram: &[u8]) {
    let len = message.encoded_len();
    assert!(
        len <= datagram.len(),
        "{message:?} longer than its datagram"
    );
    let payload_len = match message {
        Message::Data(d) => Some(d.payload.len()),
        Message::Fec(f) => Some(f.payload.len()),
        _ => None,
    };
    let mut buf = vec![0u8; len];
    if payload_len.is_some_and(|p| p > MAX_BLOCK_PAYLOAD) {
        assert_eq!(
            message.encode(&mut buf),
            Err(EncodeError::PayloadTooLong(payload_len.unwrap_or(0)))
        );
        return;
    }
    assert_eq!(message.encode(&mut buf), Ok(len), "{message:?}");
    // Encoding writes zeros into reserved and garbage bytes and the parsed value elsewhere.
    for (i, (&encoded, &original)) in buf.iter().zip(datagram).enumerate() {
        assert!(
            encoded == original || encoded == 0,
            "byte {i} of {message:?}: encoded {encoded:#04x}, datagram {original:#04x}"
        );
    }
    let again = Message::parse(&buf).expect("an encoded message parses");
    assert_eq!(&again, message);
    let mut twice = vec![0u8; len];
    assert_eq!(again.encode(&mut twice), Ok(len));
    assert_eq!(twice, buf, "encoding is not idempotent for {message:?}");
    // The split-header form senders use agrees with the whole encoding.
    if let Message::Data(_) | Message::Fec(_) = message {
        let header: [u8; BLOCK_HEADER_LEN] = buf[..BLOCK_HEADER_LEN].try_into().unwrap();
        match message {
            Message::Data(d) => assert_eq!(d.header(), Ok(header)),
            Message::Fec(f) => assert_eq!(f.header(), Ok(header)),
            _ => {}
        }
    }
    // A buffer one byte short is refused, not overrun.
    if len > 0 {
        let mut short = vec![0u8; len - 1];
        assert!(
            matches!(
                message.encode(&mut short),
                Err(EncodeError::BufferTooSmall { needed, available }) if needed == len && available == len - 1
            ),
            "{message:?} into {} bytes",
            len - 1
        );
    }
}
