//! GO and DISCONNECT: the two four-byte signals a receiver sends (PROTOCOL.md §2.5).

use super::{codec, EncodeError, Opcode, ParseError};
use zerocopy::byteorder::big_endian::U16;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct SignalLayout {
    opcode: U16,
    reserved: U16,
}

/// Size of GO and DISCONNECT on the wire.
pub const SIGNAL_LEN: usize = 4;

const _: () = assert!(core::mem::size_of::<SignalLayout>() == SIGNAL_LEN);

pub(super) fn parse(opcode: Opcode, bytes: &[u8]) -> Result<(), ParseError> {
    codec::view::<SignalLayout>(opcode, bytes).map(|_| ())
}

pub(super) fn encode(opcode: Opcode, buf: &mut [u8]) -> Result<usize, EncodeError> {
    codec::write(
        &SignalLayout {
            opcode: U16::new(opcode.to_u16()),
            reserved: U16::ZERO,
        },
        buf,
    )
}
