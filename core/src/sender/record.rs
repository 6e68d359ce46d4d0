//! What the sender remembers of every receiver that connected, kept after it left: the
//! figures of a final report (`udp-sender --stats-json`). Nothing here decides anything
//! about the protocol; the state machine only keeps these records up to date.

use core::net::SocketAddrV4;

/// Why the sender dropped a receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DropReason {
    /// It answered nothing for `drop_timeout` while a REQACK waited for it (ours).
    Silent,
    /// It left `retries_until_drop` REQACK rounds unanswered (udpcast's rule, §3.6).
    RetriesExhausted,
}

/// Where a receiver stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceiverStatus {
    /// Still taking part, and not (yet) holding the whole stream.
    Connected,
    /// It acknowledged the end of the stream: it holds everything. A DISCONNECT after
    /// that (a receiver says goodbye as soon as it is done) does not change this.
    Complete,
    /// It sent DISCONNECT before acknowledging the end.
    Disconnected,
    /// The sender dropped it.
    Dropped(DropReason),
}

/// One receiver's figures, under the client number it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverRecord {
    /// The address its CONNECT_REQ came from.
    pub address: SocketAddrV4,
    /// Input bytes of the slices it acknowledged with OK.
    pub bytes_acknowledged: u64,
    /// Data blocks its RETRANSMIT requests asked for: the blocks each lists as missing, so
    /// a block asked for in two rounds counts twice (the receiver's `blocks_requested`).
    pub blocks_requested: u64,
    /// Where it stands.
    pub status: ReceiverStatus,
}

impl ReceiverRecord {
    pub(crate) const fn new(address: SocketAddrV4) -> Self {
        ReceiverRecord {
            address,
            bytes_acknowledged: 0,
            blocks_requested: 0,
            status: ReceiverStatus::Connected,
        }
    }

    /// It left (or was dropped) with `status`; having everything outranks how it left.
    pub(crate) fn leave(&mut self, status: ReceiverStatus) {
        if self.status != ReceiverStatus::Complete {
            self.status = status;
        }
    }
}
