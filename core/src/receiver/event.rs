//! What a receiver tells its caller: progress events and the reasons it can fail.

use crate::auth::AuthError;
use crate::extension::{StreamCheck, TrailerError};
use crate::wire::Opcode;
use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};

/// The receiver joined a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Connection {
    /// The client number the sender gave us (0 for a passive receiver).
    pub client_number: u16,
    /// The sender's address and port; only its datagrams are accepted from now on.
    pub sender: SocketAddrV4,
    /// The data address the sender announced.
    pub data_address: Ipv4Addr,
    /// The multicast group the caller must join to hear the data, if any.
    pub join_group: Option<Ipv4Addr>,
    /// Bytes per block.
    pub block_size: u32,
    /// Whether we receive passively (async sender or `--passive`): no answers are sent.
    pub passive: bool,
    /// Whether the sender streams (we may have joined in the middle).
    pub streaming: bool,
    /// Whether a key press starts the transfer: the caller should prompt for one.
    pub waits_for_key: bool,
}

/// Something the caller should know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event {
    /// Connected to a sender.
    Connected(Connection),
    /// GO was queued because of a key press.
    GoSent,
    /// The first data arrived: the transfer is under way.
    Started,
    /// `--ignore-lost-data` wrote zeros for blocks that never arrived.
    LostData {
        /// The slice concerned.
        slice: u32,
        /// Data blocks replaced by zeros.
        blocks: u16,
    },
    /// A sender of ours announced the stream; [`Receiver::identity`](super::Receiver::identity)
    /// has its name.
    Identified {
        /// The sender's session id.
        session: u64,
        /// The stream's length, when the sender knows it.
        total_size: Option<u64>,
    },
    /// The transfer runs, or ended, without end-to-end verification.
    NotVerified(NotVerifiedReason),
    /// A complete slice did not match its checksum: it was discarded and asked for again.
    SliceFailedCheck {
        /// The slice.
        slice: u32,
    },
    /// Every byte written matches the sender's digest of the whole stream; `Finished`
    /// follows.
    Verified(StreamCheck),
    /// The whole stream arrived and DISCONNECT was queued. Drain `output()` and the
    /// transmits, then stop.
    Finished,
    /// The receiver gave up; DISCONNECT was queued if it had connected.
    Failed(ReceiverError),
    /// Authenticated transfers: a datagram from the sender's port was dropped. Reported
    /// for the first of each reason only; `ReceiverStats::auth_rejected` counts them all.
    AuthRejected {
        /// Where it came from (what it claims: it may be forged).
        from: SocketAddrV4,
        /// Why it was dropped.
        reason: AuthError,
    },
}

/// Why a transfer is not verified end to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NotVerifiedReason {
    /// The sender is udpcast (or ours with verification off): it announced no extension.
    PlainSender,
    /// We joined a stream already under way: the whole-stream digest covers bytes we never
    /// saw (each slice we did see was still checked).
    JoinedLate,
}

impl fmt::Display for NotVerifiedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotVerifiedReason::PlainSender => "the sender does not support verification",
            NotVerifiedReason::JoinedLate => {
                "joined the stream late, so the whole-stream digest cannot be compared"
            }
        })
    }
}

/// Why a receiver gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReceiverError {
    /// No sender answered within `--start-timeout` (udpcast: `Receiver error`, exit 255).
    NoSender,
    /// Authenticated transfers: datagrams came from a sender's port before the start
    /// timeout, but not one was authentic (why the last one was refused).
    NotAuthenticated(AuthError),
    /// The sender seals its datagrams for authenticated transfers and this receiver has no
    /// key: it would never be admitted.
    KeyRequired,
    /// Authenticated transfers: the sender is asynchronous and this receiver is not
    /// `--passive`. With no answer to cover its nonce, nothing tells a live asynchronous
    /// session from a recorded one, so joining one must be asked for.
    PassiveRequired,
    /// Connected, but the transfer did not start within `--start-timeout`. udpcast exits 0
    /// with an empty output here; an empty image is not a success, so we fail.
    NotStarted,
    /// A streaming receiver joined as the stream ended: it has nothing to write, and an
    /// empty image is not a success.
    JoinedAtEnd,
    /// The sender refused us (`Too many clients already connected`).
    Refused,
    /// A sender answered with a message of a transfer already running
    /// (`Bad server reply … Other transfer in progress?`).
    OtherTransferInProgress(Opcode),
    /// The sender went on to `slice` while slice `incomplete` still lacked blocks: we were
    /// dropped, or (async) lost data FEC could not repair (`Dropped by server`).
    DroppedBySender {
        /// The slice that showed up.
        slice: u32,
        /// The oldest slice we could not complete.
        incomplete: u32,
    },
    /// Two packets of one slice disagree about its byte count (`Byte number mismatch`).
    ByteCountMismatch {
        /// The slice concerned.
        slice: u32,
        /// The count first learnt.
        first: u32,
        /// The contradicting count.
        second: u32,
    },
    /// A slice other than the last is not a whole number of blocks (`Bad base`).
    BadBase {
        /// The slice that is not a whole number of blocks.
        slice: u32,
    },
    /// Data was lost in a slice whose size never became known, so it cannot be written
    /// even as zeros (`Previous slice size not known`).
    SliceSizeUnknown {
        /// The slice concerned.
        slice: u32,
    },
    /// The sender was silent longer than `--receive-timeout` during the transfer.
    ReceiveTimeout,
    /// The announced block size is 0 or does not fit the receiver's storage.
    UnsupportedBlockSize(u32),
    /// A slice has more blocks than a slot of the receiver's storage holds.
    SliceTooLarge {
        /// The slice concerned.
        slice: u32,
        /// Its blocks.
        blocks: u32,
        /// The most blocks a slot holds.
        capacity: u32,
    },
    /// The stream is not the one asked for (`--expect-name`): another name, or a sender
    /// that announces none. Nothing was written.
    WrongStream,
    /// The sender announced the extension but not the stream's identity.
    MissingIdentity,
    /// The sender's extension data is malformed.
    BadTrailer(TrailerError),
    /// A slice fails its checksum and cannot be had intact: a passive receiver cannot ask
    /// for it again, and any receiver gives up after 16 failures of one slice in a row.
    CorruptSlice {
        /// The slice.
        slice: u32,
    },
    /// The stream ended without the sender's whole-stream digest.
    MissingStreamDigest,
    /// What was written differs from what the sender sent.
    StreamMismatch {
        /// The sender's digest.
        expected: StreamCheck,
        /// The digest of what this receiver wrote.
        actual: StreamCheck,
    },
}

impl fmt::Display for ReceiverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReceiverError::NoSender => f.write_str("no sender answered before the start timeout"),
            ReceiverError::NotAuthenticated(reason) => write!(
                f,
                "no authenticated sender before the start timeout: the sender's datagrams were {reason}"
            ),
            ReceiverError::KeyRequired => f.write_str(
                "the sender authenticates its datagrams (--key-file): this receiver needs the key",
            ),
            ReceiverError::PassiveRequired => f.write_str(
                "the sender is asynchronous: with --key-file a receiver joins it only with \
                 --passive (without an answer to this receiver, a live session cannot be told \
                 from a recorded one)",
            ),
            ReceiverError::NotStarted => f.write_str(
                "connected, but the transfer did not start before the start timeout; nothing was received",
            ),
            ReceiverError::JoinedAtEnd => {
                f.write_str("joined the stream as it ended; nothing was received")
            }
            ReceiverError::Refused => {
                f.write_str("the sender refused us: too many clients already connected")
            }
            ReceiverError::OtherTransferInProgress(op) => {
                write!(f, "bad server reply {op:?}: other transfer in progress?")
            }
            ReceiverError::DroppedBySender { slice, incomplete } => write!(
                f,
                "dropped by sender: slice {slice} arrived while slice {incomplete} is incomplete"
            ),
            ReceiverError::ByteCountMismatch {
                slice,
                first,
                second,
            } => write!(f, "byte count mismatch in slice {slice}: {first} then {second}"),
            ReceiverError::BadBase { slice } => {
                write!(f, "slice {slice} is not the last but not a multiple of the block size")
            }
            ReceiverError::SliceSizeUnknown { slice } => {
                write!(f, "slice {slice} was lost before its size became known")
            }
            ReceiverError::ReceiveTimeout => f.write_str("receive timeout: the sender went silent"),
            ReceiverError::UnsupportedBlockSize(size) => {
                write!(f, "block size {size} is not supported by this receiver's storage")
            }
            ReceiverError::SliceTooLarge {
                slice,
                blocks,
                capacity,
            } => write!(
                f,
                "slice {slice} has {blocks} blocks, more than the {capacity} a storage slot holds"
            ),
            ReceiverError::WrongStream => f.write_str("not the stream expected (--expect-name)"),
            ReceiverError::MissingIdentity => {
                f.write_str("the sender announced verification but no stream identity")
            }
            ReceiverError::BadTrailer(e) => write!(f, "malformed extension data: {e}"),
            ReceiverError::CorruptSlice { slice } => write!(
                f,
                "slice {slice} fails its checksum and cannot be had intact (passive, or failed too often)"
            ),
            ReceiverError::MissingStreamDigest => {
                f.write_str("the stream ended without the sender's digest: not verified")
            }
            ReceiverError::StreamMismatch { expected, actual } => write!(
                f,
                "verification FAILED: wrote {} bytes with crc32c {:08x}, the sender sent {} bytes with crc32c {:08x}",
                actual.bytes, actual.crc32c, expected.bytes, expected.crc32c
            ),
        }
    }
}

impl core::error::Error for ReceiverError {}
