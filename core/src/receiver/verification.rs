//! The receiver's side of verified transfers (doc/verified-transfers.md §5): it learns the
//! stream's identity, checks every slice before answering OK or writing it, asks again for a
//! slice that fails, and compares the whole stream's digest at the end.

use super::event::{NotVerifiedReason, ReceiverError};
use super::slot::SlotState;
use super::{slot_index, slot_region, Event, Receiver, SLOTS};
use crate::extension::integrity::slice_checksum;
use crate::extension::{Identity, SliceCheck, StreamCheck, StreamName, Trailer, VERIFIED};
use crate::wire::{Capabilities, Reqack};

/// What a receiver of ours knows and has checked of a verified stream.
pub(crate) struct Verification {
    pub(crate) identity: Identity,
    /// Per storage slot: the check announced for the slice it holds, by slice number.
    checks: [Option<SliceCheck>; SLOTS],
    /// Per storage slot: the slice it holds may be written (verified, or let through
    /// unchecked because no check came), and the CRC-32C of what it holds, for the
    /// whole-stream digest; by slice number.
    passed: [Option<(u32, u32)>; SLOTS],
    /// The whole stream's digest the sender announced with the end of the stream.
    end: Option<StreamCheck>,
    /// The slice that failed its check last, and how many times in a row.
    failing: Option<(u32, u32)>,
}

/// A slice that fails its check this many times is given up on: a sender that keeps
/// sending it the same wrong way would otherwise be asked forever.
const MAX_SLICE_FAILURES: u32 = 16;

impl Verification {
    fn new(identity: Identity) -> Self {
        Verification {
            identity,
            checks: [None; SLOTS],
            passed: [None; SLOTS],
            end: None,
            failing: None,
        }
    }

    fn check_for(&self, index: usize, slice: u32) -> Option<SliceCheck> {
        self.checks[index].filter(|c| c.slice == slice)
    }

    pub(crate) fn is_passed(&self, index: usize, slice: u32) -> bool {
        self.passed[index].is_some_and(|(s, _)| s == slice)
    }

    /// The CRC-32C of the passed slice in slot `index`.
    pub(crate) fn crc_of(&self, index: usize, slice: u32) -> Option<u32> {
        self.passed[index]
            .filter(|&(s, _)| s == slice)
            .map(|(_, crc)| crc)
    }
}

/// What a REQACK's trailer means for the receiver.
pub(crate) enum ReqackVerdict {
    /// Answer it as udpcast would (after the checks below).
    Answer,
    /// Another session's: not ours to answer or record.
    Ignore,
}

impl Receiver<'_> {
    /// The stream's identity, once a sender of ours announced it.
    pub fn identity(&self) -> Option<&Identity> {
        self.verification.as_ref().map(|v| &v.identity)
    }

    /// Whether the transfer is verified: the sender announced the extension.
    pub fn verifies(&self) -> bool {
        self.verification.is_some()
    }

    /// Refuse any stream not called `name` (`--expect-name`), before writing anything.
    pub fn expect_name(&mut self, name: &str) -> Result<(), crate::extension::TrailerError> {
        self.expected_name = Some(StreamName::new(name)?);
        Ok(())
    }

    /// The name [`expect_name`](Self::expect_name) was given.
    pub fn expected_name(&self) -> Option<&StreamName> {
        self.expected_name.as_ref()
    }

    /// The sender connected us (CONNECT_REPLY, or an async HELLO): does it speak the
    /// extension, and is this the stream we want?
    pub(super) fn identify(
        &mut self,
        capabilities: Capabilities,
        trailer: Option<Trailer<'_>>,
        async_hello: bool,
    ) -> Result<(), ReceiverError> {
        let announced = if async_hello {
            trailer.is_some()
        } else {
            capabilities.contains(VERIFIED)
        };
        if !self.config.verify || !announced {
            if self.expected_name.is_some() {
                return Err(ReceiverError::WrongStream);
            }
            self.event(Event::NotVerified(NotVerifiedReason::PlainSender));
            return Ok(());
        }
        let identity = trailer
            .as_ref()
            .and_then(Identity::from_trailer)
            .ok_or(ReceiverError::MissingIdentity)?;
        self.verification = Some(Verification::new(identity));
        self.event(Event::Identified {
            session: identity.session,
            total_size: identity.total_size,
        });
        match self.expected_name {
            Some(expected) if expected != identity.name => Err(ReceiverError::WrongStream),
            _ => Ok(()),
        }
    }

    /// Takes what a REQACK's trailer carries: the slice's check, or the stream's digest.
    pub(super) fn take_reqack_trailer(
        &mut self,
        reqack: &Reqack,
        trailer: Option<Trailer<'_>>,
    ) -> ReqackVerdict {
        let passive = self.passive();
        let Some(v) = self.verification.as_mut() else {
            return ReqackVerdict::Answer;
        };
        let Some(trailer) = trailer else {
            // A sender of ours that sends a slice without its check: the slice is written
            // unchecked, and the whole-stream digest decides at the end.
            return ReqackVerdict::Answer;
        };
        if trailer.session() != Some(v.identity.session) {
            self.stats.other_session_messages += 1;
            return ReqackVerdict::Ignore;
        }
        let index = slot_index(reqack.slice);
        match (trailer.slice_check(), trailer.stream_check()) {
            (Some(check), _) if check.slice == reqack.slice && check.bytes == reqack.bytes => {
                v.checks[index] = Some(check);
            }
            (None, Some(end)) if reqack.bytes == 0 => v.end = Some(end),
            _ => self.stats.malformed_datagrams += 1,
        }
        if passive {
            self.release_unchecked(|slice| slice < reqack.slice);
        }
        ReqackVerdict::Answer
    }

    /// Takes what a streaming hello's trailer carries (a streaming sender's checks travel
    /// there, not on REQACKs): the check of the slice it announces, or the stream's digest.
    pub(super) fn take_hello_trailer(
        &mut self,
        trailer: Option<Trailer<'_>>,
    ) -> Result<(), ReceiverError> {
        let (Some(v), Some(trailer)) = (self.verification.as_mut(), trailer) else {
            return Ok(());
        };
        if trailer.session() != Some(v.identity.session) {
            self.stats.other_session_messages += 1;
            return Ok(());
        }
        if let Some(end) = trailer.stream_check() {
            v.end = Some(end);
        }
        let Some(check) = trailer.slice_check() else {
            return Ok(());
        };
        // Slices behind this one whose hello was lost will get no check now.
        self.release_unchecked(|slice| slice < check.slice);
        let index = slot_index(check.slice);
        if let Some(v) = self.verification.as_mut() {
            v.checks[index] = Some(check);
        }
        // Reordered after the slice's last block: the slice waits for this check.
        let slot = &self.slots[index];
        if slot.state == SlotState::Complete && slot.slice == check.slice {
            self.slice_passes(index)?;
        }
        Ok(())
    }

    /// A passive receiver cannot ask for a check it missed (the async sender sends it once):
    /// complete slices that `older` says are behind are written unchecked rather than held
    /// forever; the whole-stream digest still decides.
    pub(super) fn release_unchecked(&mut self, older: impl Fn(u32) -> bool) {
        for index in 0..SLOTS {
            let slot = &self.slots[index];
            let (slice, complete) = (slot.slice, slot.state == SlotState::Complete);
            let unchecked = self
                .verification
                .as_ref()
                .is_some_and(|v| !v.is_passed(index, slice) && v.check_for(index, slice).is_none());
            if complete && older(slice) && unchecked {
                self.pass_unchecked(index);
            }
        }
    }

    /// The slice in slot `index` is written without a check (none came, or its blocks were
    /// given up on): counted, and the whole-stream digest decides.
    pub(super) fn pass_unchecked(&mut self, index: usize) {
        let (slice, bytes) = (self.slots[index].slice, self.slots[index].bytes);
        let Some(session) = self.session else { return };
        let Some(v) = self.verification.as_mut() else {
            return;
        };
        if !v.is_passed(index, slice) {
            let region = slot_region(self.storage, &session, index);
            let data = region.get(..bytes.unwrap_or(0) as usize).unwrap_or(&[]);
            v.passed[index] = Some((slice, slice_checksum(data)));
            self.stats.slices_unchecked += 1;
        }
    }

    /// Whether the check of the slice in slot `index` is known.
    pub(super) fn has_check(&self, index: usize) -> bool {
        let slice = self.slots[index].slice;
        self.verification
            .as_ref()
            .is_some_and(|v| v.check_for(index, slice).is_some())
    }

    /// Whether the complete slice in slot `index` may be acknowledged and written. A slice
    /// that fails its check is emptied (its blocks are asked for again) and `false` returned.
    pub(super) fn slice_passes(&mut self, index: usize) -> Result<bool, ReceiverError> {
        let Some(session) = self.session else {
            return Ok(true);
        };
        let slot = &self.slots[index];
        let (slice, bytes) = (slot.slice, slot.bytes.unwrap_or(0));
        let Some(v) = self.verification.as_mut() else {
            return Ok(true);
        };
        if v.is_passed(index, slice) || bytes == 0 {
            return Ok(true);
        }
        let Some(check) = v.check_for(index, slice) else {
            if self.config.passive {
                // Its check may still come: hold it (see `release_unchecked`).
                return Ok(false);
            }
            // Only a REQACK without a trailer leads here: write it unchecked.
            self.pass_unchecked(index);
            return Ok(true);
        };
        let region = slot_region(self.storage, &session, index);
        let data = region.get(..bytes as usize).unwrap_or(&[]);
        if check.verify(data).is_ok() {
            v.passed[index] = Some((slice, check.crc32c));
            self.stats.slices_verified += 1;
            return Ok(true);
        }
        self.stats.slices_failed += 1;
        self.event(Event::SliceFailedCheck { slice });
        let failures = match self.verification.as_ref().and_then(|v| v.failing) {
            Some((s, n)) if s == slice => n + 1,
            _ => 1,
        };
        if let Some(v) = self.verification.as_mut() {
            v.failing = Some((slice, failures));
        }
        if failures >= MAX_SLICE_FAILURES {
            return Err(ReceiverError::CorruptSlice { slice });
        }
        if self.config.passive {
            if !self.config.ignore_lost_data {
                return Err(ReceiverError::CorruptSlice { slice });
            }
            // Written as it is; the whole-stream digest will fail.
            self.pass_unchecked(index);
            return Ok(true);
        }
        let slot = &mut self.slots[index];
        slot.open(slice);
        slot.bytes = Some(bytes);
        self.stats.bytes_received -= u64::from(bytes);
        Ok(false)
    }

    /// The end of the stream was written: does the whole of it match the digest?
    pub(super) fn stream_verdict(&mut self) -> Result<(), ReceiverError> {
        let Some(v) = self.verification.as_ref() else {
            return Ok(());
        };
        if self.first_output.unwrap_or(self.next_output) != 0 {
            self.event(Event::NotVerified(NotVerifiedReason::JoinedLate));
            return Ok(());
        }
        let expected = v.end.ok_or(ReceiverError::MissingStreamDigest)?;
        let actual = self.digest.clone().finalize();
        if expected != actual {
            return Err(ReceiverError::StreamMismatch { expected, actual });
        }
        self.event(Event::Verified(actual));
        Ok(())
    }

    /// Whether the slice in slot `index` must wait for its check before being written.
    pub(super) fn holds_output(&self, index: usize, slice: u32) -> bool {
        self.verification
            .as_ref()
            .is_some_and(|v| !v.is_passed(index, slice))
    }
}
