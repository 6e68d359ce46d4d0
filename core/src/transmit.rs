//! A datagram the state machines want sent.

use core::net::SocketAddrV4;

/// Where to send the datagram that a `poll_transmit`
/// ([`Receiver`](crate::receiver::Receiver::poll_transmit),
/// [`Sender`](crate::sender::Sender::poll_transmit)) wrote into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transmit {
    /// Destination address and port.
    pub destination: SocketAddrV4,
    /// Bytes of the datagram at the start of the caller's buffer.
    pub len: usize,
}

/// The largest datagram a receiver ever sends (an authenticated RETRANSMIT), so a buffer of
/// this size is always enough for
/// [`Receiver::poll_transmit`](crate::receiver::Receiver::poll_transmit).
pub const MAX_RECEIVER_DATAGRAM: usize =
    crate::wire::Retransmit::LEN + crate::auth::RECEIVER_TRAILER_LEN;
