//! What a sender tells its caller.

use crate::wire::Capabilities;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

/// Why a receiver left the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LeaveReason {
    /// It sent DISCONNECT.
    Disconnected,
    /// It stopped answering and was dropped.
    Dropped,
}

/// Something the caller should know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// A receiver connected (`New connection from … (#n)`).
    Connected {
        /// Its client number.
        client: u16,
        /// Its address.
        address: SocketAddrV4,
        /// Its capabilities.
        capabilities: Capabilities,
    },
    /// A receiver left.
    Left {
        /// Its client number.
        client: u16,
        /// Its address.
        address: Ipv4Addr,
        /// Why.
        reason: LeaveReason,
    },
    /// The transfer started: the caller opens the input now and feeds it.
    Started {
        /// The capabilities common to sender and receivers.
        capabilities: Capabilities,
        /// Where data goes.
        destination: SocketAddrV4,
        /// Receivers taking part.
        receivers: u16,
    },
    /// Half-duplex adaptation changed the slice size (blocks).
    SliceSize(u16),
    /// Everything was sent and acknowledged by every remaining receiver.
    Finished,
    /// The sender gave up.
    Failed(SenderError),
    /// Authenticated transfers: a datagram was dropped (a udpcast receiver, another key, a
    /// forgery or a replay). Reported at most once every 10 s per address;
    /// `SenderStats::auth_rejected` counts them all.
    AuthRejected {
        /// Where it claims to come from.
        from: SocketAddrV4,
        /// Why it was dropped.
        reason: crate::auth::AuthError,
    },
}

/// Why a sender gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SenderError {
    /// The configuration cannot work (the field named).
    InvalidConfig(&'static str),
    /// The storage lent to the sender is too small for its slices.
    StorageTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The transfer was to start with no receiver (udpcast: `No participants... exiting`,
    /// status 0; nothing was sent, so we fail).
    NoParticipants,
    /// Nothing happened for `--start-timeout` before the start (udpcast exits 0 silently).
    StartTimeout,
    /// A receiver does not speak big-endian (`Peer with incompatible endianness`).
    IncompatiblePeer,
    /// Every receiver left or was dropped before the end: the image was not delivered.
    AllReceiversGone,
}

impl fmt::Display for SenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SenderError::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            SenderError::StorageTooSmall { needed } => {
                write!(f, "slice storage too small: {needed} bytes needed")
            }
            SenderError::NoParticipants => f.write_str("No participants... exiting"),
            SenderError::StartTimeout => {
                f.write_str("start timeout: no receiver started the transfer")
            }
            SenderError::IncompatiblePeer => f.write_str("Peer with incompatible endianness"),
            SenderError::AllReceiversGone => {
                f.write_str("every receiver left before the end: the transfer is incomplete")
            }
        }
    }
}

impl core::error::Error for SenderError {}
