//! HELLO, HELLO_NEW and HELLO_STREAMING: the sender's announcement (PROTOCOL.md §2.2).

use super::{codec, Capabilities, EncodeError, Opcode, ParseError};
use core::net::Ipv4Addr;
use zerocopy::byteorder::big_endian::{U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct HelloLayout {
    opcode: U16,
    reserved: U16,
    capabilities: U32,
    data_address: [u8; 4],
    // The C sender leaves this part of its address union uninitialised (§2.2).
    garbage: [u8; 12],
    // Only 16 bits here, 32 in CONNECT_REPLY.
    block_size: U16,
    // Structure padding, uninitialised in the C sender.
    padding: [u8; 2],
}

const _: () = assert!(core::mem::size_of::<HelloLayout>() == Hello::LEN);

/// Which of the three hello opcodes a hello carries; receivers treat them alike except
/// that a streaming hello switches them into streaming mode (PROTOCOL.md §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HelloKind {
    /// `05 00`: the announcement before a transfer.
    Hello,
    /// `00 0a`: accepted, never sent by udpcast 20120424.
    New,
    /// `00 0b`: repeated during a `--streaming` transfer for late joiners.
    Streaming,
}

impl HelloKind {
    /// The opcode this kind is sent with.
    pub const fn opcode(self) -> Opcode {
        match self {
            HelloKind::Hello => Opcode::Hello,
            HelloKind::New => Opcode::HelloNew,
            HelloKind::Streaming => Opcode::HelloStreaming,
        }
    }
}

/// A sender's announcement to the rendezvous address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hello {
    /// Which hello opcode it carries.
    pub kind: HelloKind,
    /// The sender's capabilities; [`Capabilities::ASYNC`] makes receivers passive.
    pub capabilities: Capabilities,
    /// Where data will be sent (0.0.0.0 under `--pointopoint`).
    pub data_address: Ipv4Addr,
    /// Bytes per block.
    pub block_size: u16,
}

impl Hello {
    /// Size on the wire.
    pub const LEN: usize = 28;

    pub(super) fn parse(kind: HelloKind, bytes: &[u8]) -> Result<Self, ParseError> {
        let layout: &HelloLayout = codec::view(kind.opcode(), bytes)?;
        Ok(Hello {
            kind,
            capabilities: Capabilities::from_bits_retain(layout.capabilities.get()),
            data_address: Ipv4Addr::from(layout.data_address),
            block_size: layout.block_size.get(),
        })
    }

    /// Writes the message at the start of `buf`, zeros in every reserved and garbage
    /// byte; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        codec::write(
            &HelloLayout {
                opcode: U16::new(self.kind.opcode().to_u16()),
                reserved: U16::ZERO,
                capabilities: U32::new(self.capabilities.bits()),
                data_address: self.data_address.octets(),
                garbage: [0; 12],
                block_size: U16::new(self.block_size),
                padding: [0; 2],
            },
            buf,
        )
    }
}
