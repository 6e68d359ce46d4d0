//! The two moves every message makes: view a prefix of a datagram as its layout, and write
//! a layout into a caller's buffer.

use super::{EncodeError, Opcode, ParseError};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The message layout at the start of `bytes`; trailing bytes are ignored, as udpcast's
/// fixed-size reads ignore them (PROTOCOL.md §2.11).
pub(super) fn view<L>(opcode: Opcode, bytes: &[u8]) -> Result<&L, ParseError>
where
    L: FromBytes + KnownLayout + Immutable,
{
    view_prefix(opcode, bytes).map(|(layout, _)| layout)
}

/// The layout at the start of `bytes`, and the bytes after it.
pub(super) fn view_prefix<L>(opcode: Opcode, bytes: &[u8]) -> Result<(&L, &[u8]), ParseError>
where
    L: FromBytes + KnownLayout + Immutable,
{
    L::ref_from_prefix(bytes).map_err(|_| ParseError::Truncated {
        opcode,
        len: bytes.len(),
        needed: core::mem::size_of::<L>(),
    })
}

/// Writes `layout` at the start of `buf`; returns its size.
pub(super) fn write<L>(layout: &L, buf: &mut [u8]) -> Result<usize, EncodeError>
where
    L: IntoBytes + Immutable,
{
    let needed = core::mem::size_of::<L>();
    layout
        .write_to_prefix(buf)
        .map(|()| needed)
        .map_err(|_| EncodeError::BufferTooSmall {
            needed,
            available: buf.len(),
        })
}
