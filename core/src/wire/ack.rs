//! REQACK, OK and RETRANSMIT: the acknowledgement of a slice (PROTOCOL.md §2.8–§2.10).

use super::{codec, Bitmap1024, EncodeError, Opcode, ParseError};
use zerocopy::byteorder::big_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct ReqackLayout {
    opcode: U16,
    reserved: U16,
    slice: U32,
    bytes: U32,
    rxmit: U32,
    ready: Bitmap1024,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct OkLayout {
    opcode: U16,
    reserved: U16,
    slice: U32,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RetransmitLayout {
    opcode: U16,
    reserved: U16,
    slice: U32,
    rxmit: U32,
    received: Bitmap1024,
}

const _: () = assert!(core::mem::size_of::<ReqackLayout>() == Reqack::LEN);
const _: () = assert!(core::mem::size_of::<OkLayout>() == SliceOk::LEN);
const _: () = assert!(core::mem::size_of::<RetransmitLayout>() == Retransmit::LEN);

/// The sender asks every receiver that is not yet ready whether it holds a slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reqack<'a> {
    /// The slice asked about.
    pub slice: u32,
    /// The slice's byte count; 0 for the end-of-transfer slice.
    pub bytes: u32,
    /// The round of this slice: 0 for the first REQACK, one more per new round.
    pub rxmit: u32,
    /// Clients that have already answered OK; they ignore this REQACK.
    pub ready: &'a Bitmap1024,
}

impl<'a> Reqack<'a> {
    /// Size on the wire.
    pub const LEN: usize = 144;

    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let layout: &'a ReqackLayout = codec::view(Opcode::Reqack, bytes)?;
        Ok(Reqack {
            slice: layout.slice.get(),
            bytes: layout.bytes.get(),
            rxmit: layout.rxmit.get(),
            ready: &layout.ready,
        })
    }

    /// Writes the message at the start of `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        codec::write(
            &ReqackLayout {
                opcode: U16::new(Opcode::Reqack.to_u16()),
                reserved: U16::ZERO,
                slice: U32::new(self.slice),
                bytes: U32::new(self.bytes),
                rxmit: U32::new(self.rxmit),
                ready: self.ready.clone(),
            },
            buf,
        )
    }
}

/// OK: a receiver holds the whole slice. (Named so as not to shadow `Result::Ok`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SliceOk {
    /// The slice acknowledged.
    pub slice: u32,
}

impl SliceOk {
    /// Size on the wire.
    pub const LEN: usize = 8;

    pub(super) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let layout: &OkLayout = codec::view(Opcode::Ok, bytes)?;
        Ok(SliceOk {
            slice: layout.slice.get(),
        })
    }

    /// Writes the message at the start of `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        codec::write(
            &OkLayout {
                opcode: U16::new(Opcode::Ok.to_u16()),
                reserved: U16::ZERO,
                slice: U32::new(self.slice),
            },
            buf,
        )
    }
}

/// A receiver that lacks data blocks of a slice says which ones it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Retransmit<'a> {
    /// The slice concerned.
    pub slice: u32,
    /// The round, copied from the REQACK being answered.
    pub rxmit: u32,
    /// Data blocks **received** (a clear bit asks for the block again); bits beyond the
    /// slice's block count are clear, and the sender resends the complement of this set.
    pub received: &'a Bitmap1024,
}

impl<'a> Retransmit<'a> {
    /// Size on the wire.
    pub const LEN: usize = 140;

    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let layout: &'a RetransmitLayout = codec::view(Opcode::Retransmit, bytes)?;
        Ok(Retransmit {
            slice: layout.slice.get(),
            rxmit: layout.rxmit.get(),
            received: &layout.received,
        })
    }

    /// Writes the message at the start of `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        codec::write(
            &RetransmitLayout {
                opcode: U16::new(Opcode::Retransmit.to_u16()),
                reserved: U16::ZERO,
                slice: U32::new(self.slice),
                rxmit: U32::new(self.rxmit),
                received: self.received.clone(),
            },
            buf,
        )
    }
}
