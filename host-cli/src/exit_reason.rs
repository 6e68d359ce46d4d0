//! Why a run ended, as a short stable word for machines (`--stats-json`'s `exit_reason`),
//! next to the human message. The words are an interface: never rename one, only add.

use crate::sink::SinkError;
use crate::source::SourceError;
use udpcast_core::receiver::ReceiverError;
use udpcast_core::sender::SenderError;

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// Everything was sent or received.
    Complete,
    /// A termination signal (Ctrl-C, SIGTERM, SIGHUP) ended it.
    Interrupted,
    /// The operator pressed `q` (or the like) at the key prompt.
    Cancelled,
    /// Options that cannot work together or values out of range.
    BadOption,
    /// `--log` could not be opened.
    LogError,
    /// No usable network interface (or not the one asked for).
    InterfaceError,
    /// A socket could not be opened, set up or read.
    SocketError,
    /// A datagram could not be sent (the sender stops: data would be missing).
    SendError,
    /// `--daemon-mode` could not detach or write its pid file.
    DaemonError,
    /// The input or output file, or the `--pipe` command, could not be opened.
    OpenError,
    /// Reading the input failed.
    ReadError,
    /// Writing the output failed.
    WriteError,
    /// The `--pipe` command exited with a failure status.
    PipeFailed,
    /// The loop stopped before the end without a more precise reason.
    Incomplete,
    /// Receiver: no sender answered before `--start-timeout`.
    NoSender,
    /// Receiver: senders spoke before `--start-timeout`, but none authentically
    /// (`--key-file`).
    NotAuthenticated,
    /// Receiver: the sender authenticates its datagrams and we were given no `--key-file`.
    KeyRequired,
    /// Receiver: with `--key-file`, an asynchronous sender is joined only with `--passive`.
    PassiveRequired,
    /// Receiver: connected, but no data came before `--start-timeout`.
    NotStarted,
    /// Receiver: the sender refused it (too many receivers).
    Refused,
    /// Receiver: another transfer was already under way.
    OtherTransfer,
    /// Receiver: the sender went on without it (it was dropped, or data FEC could not
    /// rebuild was lost in async mode).
    Dropped,
    /// Receiver: two packets disagree about a slice's size.
    ByteCountMismatch,
    /// Receiver: a slice other than the last is not a whole number of blocks.
    BadBase,
    /// Receiver: data was lost in a slice whose size never became known.
    SliceSizeUnknown,
    /// Receiver: the sender went silent for `--receive-timeout` during the transfer.
    ReceiveTimeout,
    /// Receiver: the sender's block size does not fit the receiver's storage.
    UnsupportedBlockSize,
    /// Receiver: a slice has more blocks than a storage slot holds.
    SliceTooLarge,
    /// Sender: the transfer was to start with no receiver.
    NoReceivers,
    /// Sender: nothing started the transfer before `--start-timeout`.
    StartTimeout,
    /// Sender: a receiver of the other byte order.
    IncompatiblePeer,
    /// Sender: every receiver left or was dropped before the end.
    ReceiversGone,
    /// Sender: its slice storage is too small (a bug: the host sizes it).
    StorageTooSmall,
    /// `--expect-name`: the sender announced another stream (or none).
    WrongStream,
    /// Verified transfer: the sender's extension data was missing or malformed.
    BadExtension,
    /// Verified transfer: what was received does not match the sender's checksums.
    VerificationFailed,
}

impl ExitReason {
    /// The word reports carry.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Complete => "complete",
            ExitReason::Interrupted => "interrupted",
            ExitReason::Cancelled => "cancelled",
            ExitReason::BadOption => "bad_option",
            ExitReason::LogError => "log_error",
            ExitReason::InterfaceError => "interface_error",
            ExitReason::SocketError => "socket_error",
            ExitReason::SendError => "send_error",
            ExitReason::DaemonError => "daemon_error",
            ExitReason::OpenError => "open_error",
            ExitReason::ReadError => "read_error",
            ExitReason::WriteError => "write_error",
            ExitReason::PipeFailed => "pipe_failed",
            ExitReason::Incomplete => "incomplete",
            ExitReason::NoSender => "no_sender",
            ExitReason::NotAuthenticated => "not_authenticated",
            ExitReason::KeyRequired => "key_required",
            ExitReason::PassiveRequired => "passive_required",
            ExitReason::NotStarted => "not_started",
            ExitReason::Refused => "refused",
            ExitReason::OtherTransfer => "other_transfer",
            ExitReason::Dropped => "dropped",
            ExitReason::ByteCountMismatch => "byte_count_mismatch",
            ExitReason::BadBase => "bad_base",
            ExitReason::SliceSizeUnknown => "slice_size_unknown",
            ExitReason::ReceiveTimeout => "receive_timeout",
            ExitReason::UnsupportedBlockSize => "unsupported_block_size",
            ExitReason::SliceTooLarge => "slice_too_large",
            ExitReason::NoReceivers => "no_receivers",
            ExitReason::StartTimeout => "start_timeout",
            ExitReason::IncompatiblePeer => "incompatible_peer",
            ExitReason::ReceiversGone => "receivers_gone",
            ExitReason::StorageTooSmall => "storage_too_small",
            ExitReason::WrongStream => "wrong_stream",
            ExitReason::BadExtension => "bad_extension",
            ExitReason::VerificationFailed => "verification_failed",
        }
    }
}

impl From<&ReceiverError> for ExitReason {
    fn from(error: &ReceiverError) -> Self {
        match error {
            ReceiverError::NoSender => ExitReason::NoSender,
            ReceiverError::NotAuthenticated(_) => ExitReason::NotAuthenticated,
            ReceiverError::KeyRequired => ExitReason::KeyRequired,
            ReceiverError::PassiveRequired => ExitReason::PassiveRequired,
            ReceiverError::NotStarted | ReceiverError::JoinedAtEnd => ExitReason::NotStarted,
            ReceiverError::Refused => ExitReason::Refused,
            ReceiverError::OtherTransferInProgress(_) => ExitReason::OtherTransfer,
            ReceiverError::DroppedBySender { .. } => ExitReason::Dropped,
            ReceiverError::ByteCountMismatch { .. } => ExitReason::ByteCountMismatch,
            ReceiverError::BadBase { .. } => ExitReason::BadBase,
            ReceiverError::SliceSizeUnknown { .. } => ExitReason::SliceSizeUnknown,
            ReceiverError::ReceiveTimeout => ExitReason::ReceiveTimeout,
            ReceiverError::UnsupportedBlockSize(_) => ExitReason::UnsupportedBlockSize,
            ReceiverError::SliceTooLarge { .. } => ExitReason::SliceTooLarge,
            ReceiverError::WrongStream => ExitReason::WrongStream,
            ReceiverError::MissingIdentity | ReceiverError::BadTrailer(_) => {
                ExitReason::BadExtension
            }
            ReceiverError::CorruptSlice { .. }
            | ReceiverError::MissingStreamDigest
            | ReceiverError::StreamMismatch { .. } => ExitReason::VerificationFailed,
        }
    }
}

impl From<&SenderError> for ExitReason {
    fn from(error: &SenderError) -> Self {
        match error {
            SenderError::InvalidConfig(_) => ExitReason::BadOption,
            SenderError::StorageTooSmall { .. } => ExitReason::StorageTooSmall,
            SenderError::NoParticipants => ExitReason::NoReceivers,
            SenderError::StartTimeout => ExitReason::StartTimeout,
            SenderError::IncompatiblePeer => ExitReason::IncompatiblePeer,
            SenderError::AllReceiversGone => ExitReason::ReceiversGone,
        }
    }
}

impl From<&SinkError> for ExitReason {
    fn from(error: &SinkError) -> Self {
        match error {
            SinkError::Open(..) => ExitReason::OpenError,
            SinkError::Write(_) => ExitReason::WriteError,
            SinkError::PipeFailed(_) => ExitReason::PipeFailed,
        }
    }
}

impl From<&SourceError> for ExitReason {
    fn from(error: &SourceError) -> Self {
        match error {
            SourceError::Open(..) => ExitReason::OpenError,
            SourceError::Read(_) => ExitReason::ReadError,
            SourceError::PipeFailed(_) => ExitReason::PipeFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitReason;

    #[test]
    fn words_are_lowercase_snake_case_and_distinct() {
        let all = [
            ExitReason::Complete,
            ExitReason::Interrupted,
            ExitReason::Cancelled,
            ExitReason::BadOption,
            ExitReason::LogError,
            ExitReason::InterfaceError,
            ExitReason::SocketError,
            ExitReason::SendError,
            ExitReason::DaemonError,
            ExitReason::OpenError,
            ExitReason::ReadError,
            ExitReason::WriteError,
            ExitReason::PipeFailed,
            ExitReason::Incomplete,
            ExitReason::NoSender,
            ExitReason::NotAuthenticated,
            ExitReason::KeyRequired,
            ExitReason::PassiveRequired,
            ExitReason::NotStarted,
            ExitReason::Refused,
            ExitReason::OtherTransfer,
            ExitReason::Dropped,
            ExitReason::ByteCountMismatch,
            ExitReason::BadBase,
            ExitReason::SliceSizeUnknown,
            ExitReason::ReceiveTimeout,
            ExitReason::UnsupportedBlockSize,
            ExitReason::SliceTooLarge,
            ExitReason::NoReceivers,
            ExitReason::StartTimeout,
            ExitReason::IncompatiblePeer,
            ExitReason::ReceiversGone,
            ExitReason::StorageTooSmall,
            ExitReason::WrongStream,
            ExitReason::BadExtension,
            ExitReason::VerificationFailed,
        ];
        let mut words: Vec<&str> = all.iter().map(|r| r.as_str()).collect();
        assert!(words
            .iter()
            .all(|w| w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), all.len());
    }
}
