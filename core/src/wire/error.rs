//! Why a datagram is not a udpcast message, or a message cannot be written.

use super::Opcode;
use core::fmt;

/// A datagram that is not a well-formed udpcast message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseError {
    /// Fewer than the two bytes of an opcode.
    Empty {
        /// The datagram's length (0 or 1).
        len: usize,
    },
    /// An opcode udpcast never sends (5 included: it only ever existed as `05 00`).
    UnknownOpcode(u16),
    /// Shorter than the fixed part of its message.
    Truncated {
        /// The message the opcode announced.
        opcode: Opcode,
        /// The datagram's length.
        len: usize,
        /// The length of the message's fixed part.
        needed: usize,
    },
    /// A CONNECT_REPLY whose client number is neither −1 (refused) nor in `0..1024`.
    ClientNumberOutOfRange(i32),
    /// A DATA block number of 1024 or more: a slice never holds more than 1024 blocks.
    BlockNumberOutOfRange(u16),
    /// A FEC message claiming zero stripes, which would make every block number meaningless.
    ZeroStripes,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::Empty { len } => write!(f, "datagram of {len} bytes has no opcode"),
            ParseError::UnknownOpcode(op) => write!(f, "unknown opcode {op:#06x}"),
            ParseError::Truncated {
                opcode,
                len,
                needed,
            } => write!(f, "{opcode} of {len} bytes is truncated (needs {needed})"),
            ParseError::ClientNumberOutOfRange(n) => {
                write!(f, "CONNECT_REPLY with client number {n} out of range")
            }
            ParseError::BlockNumberOutOfRange(n) => {
                write!(
                    f,
                    "DATA with block number {n}, beyond a slice's 1024 blocks"
                )
            }
            ParseError::ZeroStripes => f.write_str("FEC with zero stripes"),
        }
    }
}

impl core::error::Error for ParseError {}

/// A message that cannot be written as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The caller's buffer is too small for the message.
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// A client number of 1024 or more: it cannot be represented in a ready set.
    ClientNumberOutOfRange(u16),
    /// A DATA block number of 1024 or more.
    BlockNumberOutOfRange(u16),
    /// A FEC message with zero stripes.
    ZeroStripes,
    /// A payload longer than a UDP datagram can carry.
    PayloadTooLong(usize),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, message needs {needed}")
            }
            EncodeError::ClientNumberOutOfRange(n) => write!(f, "client number {n} out of range"),
            EncodeError::BlockNumberOutOfRange(n) => write!(f, "block number {n} out of range"),
            EncodeError::ZeroStripes => f.write_str("FEC with zero stripes"),
            EncodeError::PayloadTooLong(n) => write!(f, "payload of {n} bytes is too long"),
        }
    }
}

impl core::error::Error for EncodeError {}
