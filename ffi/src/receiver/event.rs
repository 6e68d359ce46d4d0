//! What a receiver tells its C caller: `udpc_receiver_event` and the error codes, with
//! their static descriptions.

use crate::authentication::{convert_auth_failure, udpc_auth_failure};
use crate::boundary::to_net;
use udpcast_core::receiver::{Event, NotVerifiedReason, ReceiverError};

/// What happened (the `kind` of a [`udpc_receiver_event`]). Fixed numbers, never reused.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_receiver_event_kind {
    /// Connected: see the connection fields; join `join_group` if non-zero.
    UDPC_RX_CONNECTED = 1,
    /// GO was queued after a key press.
    UDPC_RX_GO_SENT = 2,
    /// Data started to flow.
    UDPC_RX_STARTED = 3,
    /// `lost_blocks` blocks of `lost_slice` were written as zeros.
    UDPC_RX_LOST_DATA = 4,
    /// The whole stream arrived: drain output and transmits, then stop.
    UDPC_RX_FINISHED = 5,
    /// The receiver gave up: see `error`.
    UDPC_RX_FAILED = 6,
    /// A sender of ours announced the stream: `session`, `total_size` (when
    /// `has_total_size`); its name comes from `udpc_receiver_identity`.
    UDPC_RX_IDENTIFIED = 7,
    /// The transfer runs, or ended, without end-to-end verification: see `not_verified`.
    UDPC_RX_NOT_VERIFIED = 8,
    /// Slice `failed_slice` did not match its checksum: it was discarded and asked for
    /// again in full.
    UDPC_RX_SLICE_FAILED_CHECK = 9,
    /// Every byte written matches the sender's digest of the whole stream (`stream_bytes`,
    /// `stream_crc32c`); `UDPC_RX_FINISHED` follows.
    UDPC_RX_VERIFIED = 10,
    /// Authenticated transfers: datagrams from `sender_address`:`sender_port` were dropped
    /// for `auth_failure` (once per kind of failure; `auth_rejected` counts them all).
    UDPC_RX_AUTH_REJECTED = 11,
}

/// Why a transfer is not verified end to end (`not_verified` of a `UDPC_RX_NOT_VERIFIED`
/// event). Fixed numbers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_not_verified_reason {
    /// Not a `UDPC_RX_NOT_VERIFIED` event.
    UDPC_NOTVERIFIED_NONE = 0,
    /// The sender is udpcast (or ours with verification off): it announced no extension.
    UDPC_NOTVERIFIED_PLAIN_SENDER = 1,
    /// The receiver joined a stream under way: each slice it saw was checked, but the
    /// whole-stream digest covers bytes it never saw.
    UDPC_NOTVERIFIED_JOINED_LATE = 2,
}

/// Why a receiver gave up (`error` of a `UDPC_RX_FAILED` event). Fixed numbers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum udpc_receiver_error {
    /// No error.
    UDPC_RXERR_NONE = 0,
    /// No sender answered before the start timeout.
    UDPC_RXERR_NO_SENDER = 1,
    /// Connected, but no data before the start timeout.
    UDPC_RXERR_NOT_STARTED = 2,
    /// The sender refused us (too many clients).
    UDPC_RXERR_REFUSED = 3,
    /// Another transfer is already running.
    UDPC_RXERR_OTHER_TRANSFER = 4,
    /// Dropped by the sender, or data lost for good.
    UDPC_RXERR_DROPPED = 5,
    /// Two byte counts for one slice.
    UDPC_RXERR_BYTE_COUNT_MISMATCH = 6,
    /// A slice that is not the last is not a whole number of blocks.
    UDPC_RXERR_BAD_BASE = 7,
    /// Data lost in a slice whose size never became known.
    UDPC_RXERR_SLICE_SIZE_UNKNOWN = 8,
    /// The sender went silent longer than the receive timeout.
    UDPC_RXERR_RECEIVE_TIMEOUT = 9,
    /// The block size does not fit the slice storage.
    UDPC_RXERR_UNSUPPORTED_BLOCK_SIZE = 10,
    /// A slice does not fit a storage slot.
    UDPC_RXERR_SLICE_TOO_LARGE = 11,
    /// Not the stream `udpc_receiver_expect_name` asked for (another name, or a sender that
    /// announces none); nothing was handed out.
    UDPC_RXERR_WRONG_STREAM = 12,
    /// The sender announced verification but not the stream's identity.
    UDPC_RXERR_MISSING_IDENTITY = 13,
    /// The sender's extension data is malformed.
    UDPC_RXERR_BAD_TRAILER = 14,
    /// A passive receiver got slice `failed_slice` failing its checksum, and cannot ask
    /// for it again.
    UDPC_RXERR_CORRUPT_SLICE = 15,
    /// The stream ended without the sender's whole-stream digest.
    UDPC_RXERR_MISSING_STREAM_DIGEST = 16,
    /// What was written (`stream_bytes`, `stream_crc32c`) differs from what the sender sent
    /// (`sender_stream_bytes`, `sender_stream_crc32c`).
    UDPC_RXERR_STREAM_MISMATCH = 17,
    /// Authenticated transfers: datagrams came before the start timeout, but none
    /// authentic (see `auth_failure`: a udpcast sender, another key, a replay).
    UDPC_RXERR_NOT_AUTHENTICATED = 18,
    /// Authenticated transfers: the sender seals its datagrams and this receiver has no key
    /// (`key_material`), so it would never be admitted.
    UDPC_RXERR_KEY_REQUIRED = 19,
    /// Authenticated transfers: the sender is asynchronous and this receiver is not
    /// `passive`: with no answer covering its nonce, a live session cannot be told from a
    /// recorded one, so joining one must be asked for.
    UDPC_RXERR_PASSIVE_REQUIRED = 20,
}

/// An event polled with `udpc_receiver_poll_event`. Fields not concerned are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct udpc_receiver_event {
    /// What happened.
    pub kind: udpc_receiver_event_kind,
    /// Our client number (connected).
    pub client_number: u16,
    /// The sender's address, network byte order (connected).
    pub sender_address: u32,
    /// The sender's port (connected).
    pub sender_port: u16,
    /// The data address announced (connected).
    pub data_address: u32,
    /// The multicast group to join, or 0 (connected).
    pub join_group: u32,
    /// Bytes per block (connected).
    pub block_size: u32,
    /// Passive reception (connected).
    pub passive: bool,
    /// The sender streams (connected).
    pub streaming: bool,
    /// A key press starts the transfer: prompt for one (connected).
    pub waits_for_key: bool,
    /// Why it failed (failed).
    pub error: udpc_receiver_error,
    /// The slice concerned (lost data).
    pub lost_slice: u32,
    /// Blocks written as zeros (lost data).
    pub lost_blocks: u16,
    /// The sender's random session id (identified).
    pub session: u64,
    /// The stream's length in bytes, when `has_total_size` (identified).
    pub total_size: u64,
    /// The sender knows the stream's length (identified).
    pub has_total_size: bool,
    /// Why the transfer is not verified (not verified).
    pub not_verified: udpc_not_verified_reason,
    /// The slice that failed its checksum (slice failed check; failed with
    /// `UDPC_RXERR_CORRUPT_SLICE`).
    pub failed_slice: u32,
    /// Bytes written (verified; failed with `UDPC_RXERR_STREAM_MISMATCH`).
    pub stream_bytes: u64,
    /// CRC-32C of the bytes written (verified; failed with `UDPC_RXERR_STREAM_MISMATCH`).
    pub stream_crc32c: u32,
    /// The sender's byte count (verified: the same as `stream_bytes`; failed with
    /// `UDPC_RXERR_STREAM_MISMATCH`).
    pub sender_stream_bytes: u64,
    /// The sender's CRC-32C of the stream (verified: the same as `stream_crc32c`; failed
    /// with `UDPC_RXERR_STREAM_MISMATCH`).
    pub sender_stream_crc32c: u32,
    /// Why datagrams were refused (auth rejected; failed with
    /// `UDPC_RXERR_NOT_AUTHENTICATED`).
    pub auth_failure: udpc_auth_failure,
}

pub(super) fn convert_event(e: Event) -> udpc_receiver_event {
    use udpc_receiver_event_kind::*;
    let mut out = udpc_receiver_event {
        kind: UDPC_RX_STARTED,
        client_number: 0,
        sender_address: 0,
        sender_port: 0,
        data_address: 0,
        join_group: 0,
        block_size: 0,
        passive: false,
        streaming: false,
        waits_for_key: false,
        error: udpc_receiver_error::UDPC_RXERR_NONE,
        lost_slice: 0,
        lost_blocks: 0,
        session: 0,
        total_size: 0,
        has_total_size: false,
        not_verified: udpc_not_verified_reason::UDPC_NOTVERIFIED_NONE,
        failed_slice: 0,
        stream_bytes: 0,
        stream_crc32c: 0,
        sender_stream_bytes: 0,
        sender_stream_crc32c: 0,
        auth_failure: udpc_auth_failure::UDPC_AUTH_NONE,
    };
    match e {
        Event::AuthRejected { from, reason } => {
            out.kind = UDPC_RX_AUTH_REJECTED;
            out.sender_address = to_net(*from.ip());
            out.sender_port = from.port();
            out.auth_failure = convert_auth_failure(reason);
        }
        Event::Connected(c) => {
            out.kind = UDPC_RX_CONNECTED;
            out.client_number = c.client_number;
            out.sender_address = to_net(*c.sender.ip());
            out.sender_port = c.sender.port();
            out.data_address = to_net(c.data_address);
            out.join_group = c.join_group.map_or(0, to_net);
            out.block_size = c.block_size;
            out.passive = c.passive;
            out.streaming = c.streaming;
            out.waits_for_key = c.waits_for_key;
        }
        Event::GoSent => out.kind = UDPC_RX_GO_SENT,
        Event::Started => out.kind = UDPC_RX_STARTED,
        Event::LostData { slice, blocks } => {
            out.kind = UDPC_RX_LOST_DATA;
            out.lost_slice = slice;
            out.lost_blocks = blocks;
        }
        Event::Identified {
            session,
            total_size,
        } => {
            out.kind = UDPC_RX_IDENTIFIED;
            out.session = session;
            out.total_size = total_size.unwrap_or(0);
            out.has_total_size = total_size.is_some();
        }
        Event::NotVerified(reason) => {
            out.kind = UDPC_RX_NOT_VERIFIED;
            out.not_verified = match reason {
                NotVerifiedReason::PlainSender => {
                    udpc_not_verified_reason::UDPC_NOTVERIFIED_PLAIN_SENDER
                }
                NotVerifiedReason::JoinedLate => {
                    udpc_not_verified_reason::UDPC_NOTVERIFIED_JOINED_LATE
                }
            };
        }
        Event::SliceFailedCheck { slice } => {
            out.kind = UDPC_RX_SLICE_FAILED_CHECK;
            out.failed_slice = slice;
        }
        Event::Verified(check) => {
            out.kind = UDPC_RX_VERIFIED;
            out.stream_bytes = check.bytes;
            out.stream_crc32c = check.crc32c;
            out.sender_stream_bytes = check.bytes;
            out.sender_stream_crc32c = check.crc32c;
        }
        Event::Finished => out.kind = UDPC_RX_FINISHED,
        Event::Failed(error) => {
            out.kind = UDPC_RX_FAILED;
            out.error = convert_error(error);
            match error {
                ReceiverError::CorruptSlice { slice } => out.failed_slice = slice,
                ReceiverError::NotAuthenticated(reason) => {
                    out.auth_failure = convert_auth_failure(reason)
                }
                ReceiverError::StreamMismatch { expected, actual } => {
                    out.stream_bytes = actual.bytes;
                    out.stream_crc32c = actual.crc32c;
                    out.sender_stream_bytes = expected.bytes;
                    out.sender_stream_crc32c = expected.crc32c;
                }
                _ => {}
            }
        }
    }
    out
}

fn convert_error(error: ReceiverError) -> udpc_receiver_error {
    use udpc_receiver_error::*;
    match error {
        ReceiverError::NoSender => UDPC_RXERR_NO_SENDER,
        ReceiverError::NotAuthenticated(_) => UDPC_RXERR_NOT_AUTHENTICATED,
        ReceiverError::KeyRequired => UDPC_RXERR_KEY_REQUIRED,
        ReceiverError::PassiveRequired => UDPC_RXERR_PASSIVE_REQUIRED,
        ReceiverError::NotStarted | ReceiverError::JoinedAtEnd => UDPC_RXERR_NOT_STARTED,
        ReceiverError::Refused => UDPC_RXERR_REFUSED,
        ReceiverError::OtherTransferInProgress(_) => UDPC_RXERR_OTHER_TRANSFER,
        ReceiverError::DroppedBySender { .. } => UDPC_RXERR_DROPPED,
        ReceiverError::ByteCountMismatch { .. } => UDPC_RXERR_BYTE_COUNT_MISMATCH,
        ReceiverError::BadBase { .. } => UDPC_RXERR_BAD_BASE,
        ReceiverError::SliceSizeUnknown { .. } => UDPC_RXERR_SLICE_SIZE_UNKNOWN,
        ReceiverError::ReceiveTimeout => UDPC_RXERR_RECEIVE_TIMEOUT,
        ReceiverError::UnsupportedBlockSize(_) => UDPC_RXERR_UNSUPPORTED_BLOCK_SIZE,
        ReceiverError::SliceTooLarge { .. } => UDPC_RXERR_SLICE_TOO_LARGE,
        ReceiverError::WrongStream => UDPC_RXERR_WRONG_STREAM,
        ReceiverError::MissingIdentity => UDPC_RXERR_MISSING_IDENTITY,
        ReceiverError::BadTrailer(_) => UDPC_RXERR_BAD_TRAILER,
        ReceiverError::CorruptSlice { .. } => UDPC_RXERR_CORRUPT_SLICE,
        ReceiverError::MissingStreamDigest => UDPC_RXERR_MISSING_STREAM_DIGEST,
        ReceiverError::StreamMismatch { .. } => UDPC_RXERR_STREAM_MISMATCH,
    }
}

/// A static NUL-terminated description of a receiver error code (any number is accepted).
#[no_mangle]
pub extern "C" fn udpc_receiver_error_str(error: u32) -> *const core::ffi::c_char {
    use udpc_receiver_error::*;
    let known = [
        UDPC_RXERR_NONE,
        UDPC_RXERR_NO_SENDER,
        UDPC_RXERR_NOT_STARTED,
        UDPC_RXERR_REFUSED,
        UDPC_RXERR_OTHER_TRANSFER,
        UDPC_RXERR_DROPPED,
        UDPC_RXERR_BYTE_COUNT_MISMATCH,
        UDPC_RXERR_BAD_BASE,
        UDPC_RXERR_SLICE_SIZE_UNKNOWN,
        UDPC_RXERR_RECEIVE_TIMEOUT,
        UDPC_RXERR_UNSUPPORTED_BLOCK_SIZE,
        UDPC_RXERR_SLICE_TOO_LARGE,
        UDPC_RXERR_WRONG_STREAM,
        UDPC_RXERR_MISSING_IDENTITY,
        UDPC_RXERR_BAD_TRAILER,
        UDPC_RXERR_CORRUPT_SLICE,
        UDPC_RXERR_MISSING_STREAM_DIGEST,
        UDPC_RXERR_STREAM_MISMATCH,
        UDPC_RXERR_NOT_AUTHENTICATED,
        UDPC_RXERR_KEY_REQUIRED,
        UDPC_RXERR_PASSIVE_REQUIRED,
    ];
    let Some(&error) = known.iter().find(|&&e| e as u32 == error) else {
        return c"unknown receiver error".as_ptr();
    };
    // The texts of core's `ReceiverError` Display, without the values that only an event
    // carries (those are in its fields).
    let text: &'static core::ffi::CStr = match error {
        UDPC_RXERR_NONE => c"no error",
        UDPC_RXERR_NO_SENDER => c"no sender answered before the start timeout",
        UDPC_RXERR_NOT_STARTED => {
            c"connected, but the transfer did not start before the start timeout"
        }
        UDPC_RXERR_REFUSED => c"the sender refused us: too many clients already connected",
        UDPC_RXERR_OTHER_TRANSFER => c"bad server reply: other transfer in progress?",
        UDPC_RXERR_DROPPED => c"dropped by sender, or data lost for good",
        UDPC_RXERR_BYTE_COUNT_MISMATCH => c"byte count mismatch",
        UDPC_RXERR_BAD_BASE => c"slice not a multiple of the block size",
        UDPC_RXERR_SLICE_SIZE_UNKNOWN => c"data lost before the slice size was known",
        UDPC_RXERR_RECEIVE_TIMEOUT => c"receive timeout: the sender went silent",
        UDPC_RXERR_UNSUPPORTED_BLOCK_SIZE => c"block size does not fit the slice storage",
        UDPC_RXERR_SLICE_TOO_LARGE => c"slice larger than a storage slot",
        UDPC_RXERR_WRONG_STREAM => c"not the stream expected (--expect-name)",
        UDPC_RXERR_MISSING_IDENTITY => c"the sender announced verification but no stream identity",
        UDPC_RXERR_BAD_TRAILER => c"malformed extension data",
        UDPC_RXERR_CORRUPT_SLICE => {
            c"a slice fails its checksum and cannot be had intact (passive, or failed too often)"
        }
        UDPC_RXERR_MISSING_STREAM_DIGEST => {
            c"the stream ended without the sender's digest: not verified"
        }
        UDPC_RXERR_STREAM_MISMATCH => {
            c"verification FAILED: what was written differs from what the sender sent"
        }
        UDPC_RXERR_NOT_AUTHENTICATED => c"no authenticated sender before the start timeout",
        UDPC_RXERR_KEY_REQUIRED => {
            c"the sender authenticates its datagrams (--key-file): this receiver needs the key"
        }
        UDPC_RXERR_PASSIVE_REQUIRED => {
            c"the sender is asynchronous: with --key-file a receiver joins it only with --passive (without an answer to this receiver, a live session cannot be told from a recorded one)"
        }
    };
    text.as_ptr()
}

/// A static NUL-terminated description of a not-verified reason (any number is accepted).
#[no_mangle]
pub extern "C" fn udpc_not_verified_reason_str(reason: u32) -> *const core::ffi::c_char {
    use udpc_not_verified_reason::*;
    // The texts of core's `NotVerifiedReason` Display.
    let text: &'static core::ffi::CStr = match reason {
        r if r == UDPC_NOTVERIFIED_NONE as u32 => c"no reason",
        r if r == UDPC_NOTVERIFIED_PLAIN_SENDER as u32 => {
            c"the sender does not support verification"
        }
        r if r == UDPC_NOTVERIFIED_JOINED_LATE as u32 => {
            c"joined the stream late, so the whole-stream digest cannot be compared"
        }
        _ => c"unknown reason",
    };
    text.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;
    use udpcast_core::extension::StreamCheck;

    fn error_text(error: udpc_receiver_error) -> String {
        // SAFETY: udpc_receiver_error_str returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(udpc_receiver_error_str(error as u32)) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn every_receiver_error_code_has_its_own_description() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..=udpc_receiver_error::UDPC_RXERR_PASSIVE_REQUIRED as u32 {
            // SAFETY: as above.
            let text = unsafe { CStr::from_ptr(udpc_receiver_error_str(n)) };
            let text = text.to_str().unwrap();
            assert_ne!(text, "unknown receiver error", "code {n}");
            assert!(seen.insert(text.to_owned()), "code {n}: {text:?} twice");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(udpc_receiver_error_str(21)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown receiver error");
    }

    /// The C texts are core's, for the errors whose text has no values in it.
    #[test]
    fn verification_error_texts_are_cores() {
        use udpc_receiver_error::*;
        for (core_error, code) in [
            (ReceiverError::WrongStream, UDPC_RXERR_WRONG_STREAM),
            (ReceiverError::KeyRequired, UDPC_RXERR_KEY_REQUIRED),
            (ReceiverError::PassiveRequired, UDPC_RXERR_PASSIVE_REQUIRED),
            (ReceiverError::MissingIdentity, UDPC_RXERR_MISSING_IDENTITY),
            (
                ReceiverError::MissingStreamDigest,
                UDPC_RXERR_MISSING_STREAM_DIGEST,
            ),
        ] {
            assert_eq!(convert_error(core_error), code);
            assert_eq!(error_text(code), core_error.to_string());
        }
        assert!(error_text(UDPC_RXERR_STREAM_MISMATCH).starts_with("verification FAILED"));
    }

    #[test]
    fn not_verified_reason_texts_are_cores() {
        for (reason, code) in [
            (
                NotVerifiedReason::PlainSender,
                udpc_not_verified_reason::UDPC_NOTVERIFIED_PLAIN_SENDER,
            ),
            (
                NotVerifiedReason::JoinedLate,
                udpc_not_verified_reason::UDPC_NOTVERIFIED_JOINED_LATE,
            ),
        ] {
            let event = convert_event(Event::NotVerified(reason));
            assert_eq!(event.kind, udpc_receiver_event_kind::UDPC_RX_NOT_VERIFIED);
            assert_eq!(event.not_verified, code);
            // SAFETY: a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(udpc_not_verified_reason_str(code as u32)) };
            assert_eq!(text.to_str().unwrap(), reason.to_string());
        }
    }

    #[test]
    fn verification_events_carry_their_values() {
        let e = convert_event(Event::Identified {
            session: 0x0123_4567_89ab_cdef,
            total_size: Some(4 << 20),
        });
        assert_eq!(e.kind, udpc_receiver_event_kind::UDPC_RX_IDENTIFIED);
        assert_eq!(
            (e.session, e.total_size, e.has_total_size),
            (0x0123_4567_89ab_cdef, 4 << 20, true)
        );
        let e = convert_event(Event::Identified {
            session: 7,
            total_size: None,
        });
        assert_eq!((e.session, e.total_size, e.has_total_size), (7, 0, false));

        let e = convert_event(Event::SliceFailedCheck { slice: 41 });
        assert_eq!(e.kind, udpc_receiver_event_kind::UDPC_RX_SLICE_FAILED_CHECK);
        assert_eq!(e.failed_slice, 41);

        let check = StreamCheck {
            bytes: 9,
            crc32c: 0xe306_9283,
        };
        let e = convert_event(Event::Verified(check));
        assert_eq!(e.kind, udpc_receiver_event_kind::UDPC_RX_VERIFIED);
        assert_eq!((e.stream_bytes, e.stream_crc32c), (9, check.crc32c));
        assert_eq!(
            (e.sender_stream_bytes, e.sender_stream_crc32c),
            (9, check.crc32c)
        );

        let actual = StreamCheck {
            bytes: 9,
            crc32c: 1,
        };
        let e = convert_event(Event::Failed(ReceiverError::StreamMismatch {
            expected: check,
            actual,
        }));
        assert_eq!(e.kind, udpc_receiver_event_kind::UDPC_RX_FAILED);
        assert_eq!(e.error, udpc_receiver_error::UDPC_RXERR_STREAM_MISMATCH);
        assert_eq!((e.stream_bytes, e.stream_crc32c), (9, 1));
        assert_eq!(
            (e.sender_stream_bytes, e.sender_stream_crc32c),
            (9, check.crc32c)
        );

        let e = convert_event(Event::Failed(ReceiverError::CorruptSlice { slice: 3 }));
        assert_eq!(e.error, udpc_receiver_error::UDPC_RXERR_CORRUPT_SLICE);
        assert_eq!(e.failed_slice, 3);
    }
}
