//! How a receiver is set up: the options of `udp-receiver` that shape the protocol.

use crate::auth::Authentication;
use crate::time::Duration;
use core::net::Ipv4Addr;

/// A receiver's settings. Addresses come from the caller's interface choice; everything
/// else mirrors `udp-receiver`'s options (PROTOCOL.md §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverConfig {
    /// The receiver's own unicast address (its replies go out from `own_address:portbase`).
    pub own_address: Ipv4Addr,
    /// Where the first CONNECT_REQ goes: see [`crate::addressing::rendezvous`].
    pub rendezvous: Ipv4Addr,
    /// Port base P: the receiver listens on P, the sender on P + 1.
    pub portbase: u16,
    /// `--passive`: never ask to connect; take whatever a HELLO announces.
    pub passive: bool,
    /// A key press (or end of input on the keyboard) may start the transfer with GO; the
    /// caller shows the prompt when [`Connection::waits_for_key`](super::Connection) says so.
    pub keyboard: bool,
    /// `--ignore-lost-data`: when a slice cannot be completed, write it with zeros where
    /// blocks are missing and go on, instead of failing.
    pub ignore_lost_data: bool,
    /// The socket receive buffer reported in CONNECT_REQ (informative for the sender).
    pub receive_buffer: u32,
    /// `--start-timeout`: give up when this long passes without a datagram before the
    /// transfer starts.
    pub start_timeout: Option<Duration>,
    /// `--receive-timeout`: give up when the sender is silent this long during the transfer.
    pub receive_timeout: Option<Duration>,
    /// `--exit-wait`: how long to keep answering after the end of the stream before leaving.
    pub exit_wait: Duration,
    /// How often to repeat an unanswered CONNECT_REQ. udpcast never repeats it, so one lost
    /// datagram leaves it waiting forever; senders answer duplicates with the same client
    /// number (PROTOCOL.md §6.4), so repeating is safe.
    pub connect_retry: Duration,
    /// Announce the verified-transfers extension (doc/verified-transfers.md) and, with a
    /// sender of ours, check every slice and the whole stream. A udpcast sender ignores the
    /// announcement.
    pub verify: bool,
    /// `--key-file`: authenticated transfers (`crate::auth`). Only a sender holding the
    /// same key is heard; a udpcast sender is not.
    pub auth: Option<Authentication>,
}

impl ReceiverConfig {
    /// udpcast's defaults for a receiver at `own_address` meeting the sender at `rendezvous`.
    pub const fn new(own_address: Ipv4Addr, rendezvous: Ipv4Addr) -> Self {
        ReceiverConfig {
            own_address,
            rendezvous,
            portbase: crate::wire::DEFAULT_PORTBASE,
            passive: false,
            keyboard: false,
            ignore_lost_data: false,
            receive_buffer: 0,
            start_timeout: None,
            receive_timeout: None,
            exit_wait: Duration::from_millis(500),
            connect_retry: Duration::from_secs(1),
            verify: true,
            auth: None,
        }
    }
}
