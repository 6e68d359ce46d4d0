//! DATA and FEC: the blocks of a slice (PROTOCOL.md §2.6, §2.7).

use super::{codec, EncodeError, Opcode, ParseError, MAX_BLOCKS_PER_SLICE};
use zerocopy::byteorder::big_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The 16-byte header DATA and FEC share.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct BlockHeaderLayout {
    opcode: U16,
    // Reserved in DATA; the slice's stripe count in FEC.
    stripes: U16,
    slice: U32,
    block: U16,
    reserved: U16,
    // Bytes of the whole slice, not of this block.
    bytes: U32,
}

/// Size of the DATA and FEC header; the payload follows it.
pub const BLOCK_HEADER_LEN: usize = 16;

const _: () = assert!(core::mem::size_of::<BlockHeaderLayout>() == BLOCK_HEADER_LEN);

/// The largest payload a UDP/IPv4 datagram can carry after the header.
const MAX_PAYLOAD: usize = 65_507 - BLOCK_HEADER_LEN;

/// One data block of a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Data<'a> {
    /// The slice it belongs to.
    pub slice: u32,
    /// Its index within the slice, below 1024.
    pub block: u16,
    /// Bytes of the whole slice; identical in every DATA, FEC and REQACK of the slice.
    pub bytes: u32,
    /// The block's bytes: a full block, or fewer for a slice's last block (never padded).
    pub payload: &'a [u8],
}

impl<'a> Data<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let (header, payload) = codec::view_prefix::<BlockHeaderLayout>(Opcode::Data, bytes)?;
        let block = header.block.get();
        if usize::from(block) >= MAX_BLOCKS_PER_SLICE {
            return Err(ParseError::BlockNumberOutOfRange(block));
        }
        Ok(Data {
            slice: header.slice.get(),
            block,
            bytes: header.bytes.get(),
            payload,
        })
    }

    /// Size on the wire.
    pub fn len(&self) -> usize {
        BLOCK_HEADER_LEN + self.payload.len()
    }

    /// Whether the payload is empty (a datagram is never empty: it has a header).
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// The header alone, for senders that gather header and payload from two buffers.
    pub fn header(&self) -> Result<[u8; BLOCK_HEADER_LEN], EncodeError> {
        if usize::from(self.block) >= MAX_BLOCKS_PER_SLICE {
            return Err(EncodeError::BlockNumberOutOfRange(self.block));
        }
        Ok(header_bytes(
            Opcode::Data,
            0,
            self.slice,
            self.block,
            self.bytes,
        ))
    }

    /// Writes header and payload at the start of `buf`; returns their length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_block(self.header()?, self.payload, buf)
    }
}

/// One forward-error-correction block of a slice (PROTOCOL.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fec<'a> {
    /// The slice's interleave factor S; never 0.
    pub stripes: u16,
    /// The slice it belongs to.
    pub slice: u32,
    /// FEC block number `r·S + s` for row r of stripe s (PROTOCOL.md §5.2).
    pub block: u16,
    /// Bytes of the whole slice, as in its DATA packets; 0 ends an async FEC transfer.
    pub bytes: u32,
    /// The FEC payload, a full block.
    pub payload: &'a [u8],
}

impl<'a> Fec<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let (header, payload) = codec::view_prefix::<BlockHeaderLayout>(Opcode::Fec, bytes)?;
        let stripes = header.stripes.get();
        if stripes == 0 {
            return Err(ParseError::ZeroStripes);
        }
        Ok(Fec {
            stripes,
            slice: header.slice.get(),
            block: header.block.get(),
            bytes: header.bytes.get(),
            payload,
        })
    }

    /// Size on the wire.
    pub fn len(&self) -> usize {
        BLOCK_HEADER_LEN + self.payload.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// The stripe this block repairs, `block mod stripes`.
    pub fn stripe(&self) -> u16 {
        self.block % self.stripes.max(1)
    }

    /// The FEC row within its stripe, `block div stripes`.
    pub fn row(&self) -> u16 {
        self.block / self.stripes.max(1)
    }

    /// The header alone, for senders that gather header and payload from two buffers.
    pub fn header(&self) -> Result<[u8; BLOCK_HEADER_LEN], EncodeError> {
        if self.stripes == 0 {
            return Err(EncodeError::ZeroStripes);
        }
        Ok(header_bytes(
            Opcode::Fec,
            self.stripes,
            self.slice,
            self.block,
            self.bytes,
        ))
    }

    /// Writes header and payload at the start of `buf`; returns their length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_block(self.header()?, self.payload, buf)
    }
}

fn header_bytes(opcode: Opcode, stripes: u16, slice: u32, block: u16, bytes: u32) -> [u8; 16] {
    let layout = BlockHeaderLayout {
        opcode: U16::new(opcode.to_u16()),
        stripes: U16::new(stripes),
        slice: U32::new(slice),
        block: U16::new(block),
        reserved: U16::ZERO,
        bytes: U32::new(bytes),
    };
    // The sizes agree at compile time, so this cannot fail at run time.
    zerocopy::transmute!(layout)
}

fn encode_block(header: [u8; 16], payload: &[u8], buf: &mut [u8]) -> Result<usize, EncodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(EncodeError::PayloadTooLong(payload.len()));
    }
    let needed = BLOCK_HEADER_LEN + payload.len();
    let available = buf.len();
    let out = buf
        .get_mut(..needed)
        .ok_or(EncodeError::BufferTooSmall { needed, available })?;
    out[..BLOCK_HEADER_LEN].copy_from_slice(&header);
    out[BLOCK_HEADER_LEN..].copy_from_slice(payload);
    Ok(needed)
}
