//! The udpcast wire format (PROTOCOL.md §1.6, §2): every message as a big-endian
//! `zerocopy` layout, parsed from a datagram without copying and written into a caller's
//! buffer.
//!
//! Parsing never panics and returns a [`ParseError`] for anything malformed. It tolerates
//! what udpcast itself leaves undefined — uninitialised "garbage" bytes in HELLO and
//! CONNECT_REPLY, reserved fields, trailing bytes — and encoding writes zeros there, so a
//! parsed message re-encodes to the captured bytes with those areas zeroed.

mod ack;
mod bitmap;
mod block;
mod capabilities;
mod codec;
mod connect;
mod error;
mod hello;
mod opcode;
mod signal;

pub use ack::{Reqack, Retransmit, SliceOk};
pub use bitmap::{Bitmap1024, Iter as Bitmap1024Iter};
pub use block::{Data, Fec, BLOCK_HEADER_LEN};
pub use capabilities::Capabilities;
pub use connect::{ConnectReply, ConnectReq};
pub use error::{EncodeError, ParseError};
pub use hello::{Hello, HelloKind};
pub use opcode::Opcode;
pub use signal::SIGNAL_LEN;

/// The most blocks one slice can hold: the size of a block bitmap.
pub const MAX_BLOCKS_PER_SLICE: usize = Bitmap1024::BITS;
/// The most receivers one sender admits: the size of a ready set.
pub const MAX_CLIENTS: usize = Bitmap1024::BITS;
/// The default block size: a full DATA datagram is then exactly one Ethernet MTU.
pub const DEFAULT_BLOCK_SIZE: u16 = 1456;
/// The default port base P: receivers listen on P, senders on P + 1.
pub const DEFAULT_PORTBASE: u16 = 9000;

/// Any udpcast message, borrowing from the datagram it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// HELLO, HELLO_NEW or HELLO_STREAMING (sender → rendezvous).
    Hello(Hello),
    /// CONNECT_REQ (receiver → sender).
    ConnectReq(ConnectReq),
    /// CONNECT_REPLY (sender → receiver).
    ConnectReply(ConnectReply),
    /// GO (receiver → sender).
    Go,
    /// DISCONNECT (receiver → sender).
    Disconnect,
    /// OK (receiver → sender).
    Ok(SliceOk),
    /// RETRANSMIT (receiver → sender).
    Retransmit(Retransmit<'a>),
    /// REQACK (sender → receivers).
    Reqack(Reqack<'a>),
    /// DATA (sender → receivers).
    Data(Data<'a>),
    /// FEC (sender → receivers).
    Fec(Fec<'a>),
}

impl<'a> Message<'a> {
    /// The message in `datagram` (a UDP payload).
    pub fn parse(datagram: &'a [u8]) -> Result<Self, ParseError> {
        let opcode = match datagram {
            [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => {
                return Err(ParseError::Empty {
                    len: datagram.len(),
                })
            }
        };
        let opcode = Opcode::from_u16(opcode).ok_or(ParseError::UnknownOpcode(opcode))?;
        Ok(match opcode {
            Opcode::Hello => Message::Hello(Hello::parse(HelloKind::Hello, datagram)?),
            Opcode::HelloNew => Message::Hello(Hello::parse(HelloKind::New, datagram)?),
            Opcode::HelloStreaming => Message::Hello(Hello::parse(HelloKind::Streaming, datagram)?),
            Opcode::ConnectReq => Message::ConnectReq(ConnectReq::parse(datagram)?),
            Opcode::ConnectReply => Message::ConnectReply(ConnectReply::parse(datagram)?),
            Opcode::Go => signal::parse(opcode, datagram).map(|()| Message::Go)?,
            Opcode::Disconnect => signal::parse(opcode, datagram).map(|()| Message::Disconnect)?,
            Opcode::Ok => Message::Ok(SliceOk::parse(datagram)?),
            Opcode::Retransmit => Message::Retransmit(Retransmit::parse(datagram)?),
            Opcode::Reqack => Message::Reqack(Reqack::parse(datagram)?),
            Opcode::Data => Message::Data(Data::parse(datagram)?),
            Opcode::Fec => Message::Fec(Fec::parse(datagram)?),
        })
    }

    /// The opcode the message is sent with.
    pub fn opcode(&self) -> Opcode {
        match self {
            Message::Hello(hello) => hello.kind.opcode(),
            Message::ConnectReq(_) => Opcode::ConnectReq,
            Message::ConnectReply(_) => Opcode::ConnectReply,
            Message::Go => Opcode::Go,
            Message::Disconnect => Opcode::Disconnect,
            Message::Ok(_) => Opcode::Ok,
            Message::Retransmit(_) => Opcode::Retransmit,
            Message::Reqack(_) => Opcode::Reqack,
            Message::Data(_) => Opcode::Data,
            Message::Fec(_) => Opcode::Fec,
        }
    }

    /// The message's size on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Hello(_) => Hello::LEN,
            Message::ConnectReq(_) => ConnectReq::LEN,
            Message::ConnectReply(_) => ConnectReply::LEN,
            Message::Go | Message::Disconnect => SIGNAL_LEN,
            Message::Ok(_) => SliceOk::LEN,
            Message::Retransmit(_) => Retransmit::LEN,
            Message::Reqack(_) => Reqack::LEN,
            Message::Data(data) => data.len(),
            Message::Fec(fec) => fec.len(),
        }
    }

    /// Writes the message at the start of `buf`, zeros in every reserved and garbage
    /// byte; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            Message::Hello(hello) => hello.encode(buf),
            Message::ConnectReq(req) => req.encode(buf),
            Message::ConnectReply(reply) => reply.encode(buf),
            Message::Go => signal::encode(Opcode::Go, buf),
            Message::Disconnect => signal::encode(Opcode::Disconnect, buf),
            Message::Ok(ok) => ok.encode(buf),
            Message::Retransmit(rexmit) => rexmit.encode(buf),
            Message::Reqack(reqack) => reqack.encode(buf),
            Message::Data(data) => data.encode(buf),
            Message::Fec(fec) => fec.encode(buf),
        }
    }
}

#[cfg(test)]
mod tests;
