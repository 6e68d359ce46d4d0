//! CONNECT_REQ and CONNECT_REPLY: a receiver joins a sender (PROTOCOL.md §2.3, §2.4).

use super::{codec, Capabilities, EncodeError, Opcode, ParseError};
use core::net::Ipv4Addr;
use zerocopy::byteorder::big_endian::{I32, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct ConnectReqLayout {
    opcode: U16,
    reserved: U16,
    capabilities: U32,
    receive_buffer: U32,
}

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct ConnectReplyLayout {
    opcode: U16,
    reserved: U16,
    client_number: I32,
    block_size: U32,
    capabilities: U32,
    data_address: [u8; 4],
    // The C sender leaves this part of its address union uninitialised (§2.4).
    garbage: [u8; 12],
}

const _: () = assert!(core::mem::size_of::<ConnectReqLayout>() == ConnectReq::LEN);
const _: () = assert!(core::mem::size_of::<ConnectReplyLayout>() == ConnectReply::LEN);

/// A receiver's request to take part in a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectReq {
    /// The receiver's capabilities, [`Capabilities::RECEIVER`] in practice.
    pub capabilities: Capabilities,
    /// The receiver's socket receive buffer in bytes; senders store it and otherwise
    /// ignore it (PROTOCOL.md §2.3).
    pub receive_buffer: u32,
}

impl ConnectReq {
    /// Size on the wire.
    pub const LEN: usize = 12;

    pub(super) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let layout: &ConnectReqLayout = codec::view(Opcode::ConnectReq, bytes)?;
        Ok(ConnectReq {
            capabilities: Capabilities::from_bits_retain(layout.capabilities.get()),
            receive_buffer: layout.receive_buffer.get(),
        })
    }

    /// Writes the message at the start of `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        codec::write(
            &ConnectReqLayout {
                opcode: U16::new(Opcode::ConnectReq.to_u16()),
                reserved: U16::ZERO,
                capabilities: U32::new(self.capabilities.bits()),
                receive_buffer: U32::new(self.receive_buffer),
            },
            buf,
        )
    }
}

/// The sender's answer to one receiver's CONNECT_REQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectReply {
    /// The receiver's client number (`0..1024`), or `None` if the sender refused it
    /// (−1 on the wire: table full, or a second receiver under `--pointopoint`).
    pub client_number: Option<u16>,
    /// Bytes per block.
    pub block_size: u32,
    /// The sender's capabilities.
    pub capabilities: Capabilities,
    /// Where data will be sent; under `--pointopoint`, the receiver's own address.
    pub data_address: Ipv4Addr,
}

impl ConnectReply {
    /// Size on the wire.
    pub const LEN: usize = 32;
    const REFUSED: i32 = -1;

    pub(super) fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let layout: &ConnectReplyLayout = codec::view(Opcode::ConnectReply, bytes)?;
        let client_number = match layout.client_number.get() {
            Self::REFUSED => None,
            n @ 0..=1023 => Some(n as u16),
            n => return Err(ParseError::ClientNumberOutOfRange(n)),
        };
        Ok(ConnectReply {
            client_number,
            block_size: layout.block_size.get(),
            capabilities: Capabilities::from_bits_retain(layout.capabilities.get()),
            data_address: Ipv4Addr::from(layout.data_address),
        })
    }

    /// Writes the message at the start of `buf`, zeros in every reserved and garbage
    /// byte; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let client_number = match self.client_number {
            None => Self::REFUSED,
            Some(n) if usize::from(n) < super::MAX_CLIENTS => i32::from(n),
            Some(n) => return Err(EncodeError::ClientNumberOutOfRange(n)),
        };
        codec::write(
            &ConnectReplyLayout {
                opcode: U16::new(Opcode::ConnectReply.to_u16()),
                reserved: U16::ZERO,
                client_number: I32::new(client_number),
                block_size: U32::new(self.block_size),
                capabilities: U32::new(self.capabilities.bits()),
                data_address: self.data_address.octets(),
                garbage: [0; 12],
            },
            buf,
        )
    }
}
