//! Receiving the stream once joined (PROTOCOL.md §4.4–§4.8): DATA and FEC blocks stored
//! into slots, REQACKs answered with OK or RETRANSMIT, slices completed and decoded, and
//! the end of the stream.

use super::slot::{SlotState, Stored};
use super::verification::ReqackVerdict;
use super::{
    slot_index, slot_region_mut, trailer_of, Admission, Event, Pending, Phase, Receiver,
    ReceiverError, Session, SLOTS,
};
use crate::fec;
use crate::time::Instant;
use crate::wire::{Message, Reqack};

impl Receiver<'_> {
    pub(super) fn transfer(
        &mut self,
        now: Instant,
        session: Session,
        message: Message,
        datagram: &[u8],
    ) -> Result<(), ReceiverError> {
        let is_data = matches!(
            message,
            Message::Data(_) | Message::Fec(_) | Message::Reqack(_)
        );
        if is_data && self.phase == Phase::Connected {
            self.phase = Phase::Receiving;
            self.event(Event::Started);
        }
        match message {
            Message::Data(data) => {
                // DATA never carries a zero byte count; one that does is not ours to trust.
                if data.bytes == 0 {
                    self.stats.malformed_datagrams += 1;
                    return Ok(());
                }
                let Admission::Slot(index) = self.admit(data.slice)? else {
                    return Ok(());
                };
                self.learn_bytes(now, index, data.bytes)?;
                let region = slot_region_mut(self.storage, &session, index);
                let stored = self.slots[index].add_data(
                    region,
                    session.block_size,
                    usize::from(data.block),
                    data.payload,
                );
                if stored == Stored::Kept {
                    self.stats.data_blocks += 1;
                }
                self.after_store(now, index, stored)
            }
            Message::Fec(fec) => {
                let Admission::Slot(index) = self.admit(fec.slice)? else {
                    return Ok(());
                };
                self.learn_bytes(now, index, fec.bytes)?;
                if self.slots[index].state == SlotState::Complete {
                    return Ok(());
                }
                let region = slot_region_mut(self.storage, &session, index);
                let stored = self.slots[index].add_fec(
                    region,
                    session.block_size,
                    fec.stripes,
                    fec.block,
                    fec.payload,
                );
                self.after_store(now, index, stored)
            }
            Message::Reqack(reqack) => {
                let trailer = match trailer_of(&message, datagram) {
                    _ if self.verification.is_none() => None,
                    Ok(trailer) => trailer,
                    Err(_) => {
                        self.stats.malformed_datagrams += 1;
                        return Ok(());
                    }
                };
                match self.take_reqack_trailer(&reqack, trailer) {
                    ReqackVerdict::Answer => self.answer(now, session, &reqack),
                    ReqackVerdict::Ignore => Ok(()),
                }
            }
            Message::Hello(hello) if hello.kind == crate::wire::HelloKind::Streaming => {
                match trailer_of(&message, datagram) {
                    _ if self.verification.is_none() => Ok(()),
                    Ok(trailer) => self.take_hello_trailer(trailer),
                    Err(_) => {
                        self.stats.malformed_datagrams += 1;
                        Ok(())
                    }
                }
            }
            // Repeated hellos and replies to our repeated requests.
            _ => Ok(()),
        }
    }

    fn after_store(
        &mut self,
        now: Instant,
        index: usize,
        stored: Stored,
    ) -> Result<(), ReceiverError> {
        match stored {
            Stored::Kept => {}
            Stored::Redundant => return Ok(()),
            Stored::Invalid => {
                self.stats.malformed_datagrams += 1;
                return Ok(());
            }
        }
        let block_size = self.block_size();
        if self.slots[index].state == SlotState::Open && self.slots[index].is_whole(block_size) {
            self.complete(now, index)?;
        }
        Ok(())
    }

    /// REQACK: the only message a receiver answers (§4.7).
    fn answer(
        &mut self,
        now: Instant,
        session: Session,
        reqack: &Reqack,
    ) -> Result<(), ReceiverError> {
        if reqack.ready.contains(usize::from(session.client_number)) {
            return Ok(());
        }
        let index = match self.admit(reqack.slice)? {
            Admission::Done => {
                let index = slot_index(reqack.slice);
                let slot = &self.slots[index];
                let held = slot.state == SlotState::Complete && slot.slice == reqack.slice;
                if held && !self.slice_passes(index)? {
                    self.ask_again(session, reqack, index);
                    return Ok(());
                }
                self.queue(Pending::Ok(reqack.slice));
                return Ok(());
            }
            // No room to even track the slice: stay silent, the sender asks again.
            Admission::NoRoom => return Ok(()),
            Admission::Slot(index) => index,
        };
        self.learn_bytes(now, index, reqack.bytes)?;
        if self.slots[index].state == SlotState::Complete && self.slice_passes(index)? {
            self.queue(Pending::Ok(reqack.slice));
        } else {
            self.ask_again(session, reqack, index);
        }
        Ok(())
    }

    /// RETRANSMIT for what slot `index` lacks: a passive receiver keeps quiet. A slice
    /// that failed its check lacks everything, so the sender resends all of it.
    fn ask_again(&mut self, session: Session, reqack: &Reqack, index: usize) {
        let slot = &self.slots[index];
        if slot.state == SlotState::Complete {
            // Held for its check (passive): nothing to ask.
            return;
        }
        // Cells holding FEC blocks will be rebuilt: report them as received, so the
        // sender resends only what FEC cannot make up for (udpcast asks for all).
        let mut received = slot.received.clone();
        let blocks = slot.blocks(session.block_size);
        for cell in 0..blocks {
            if slot.fec_row_at(cell).is_some() {
                received.insert(cell);
            }
        }
        self.stats.retransmit_requests += 1;
        let missing = (0..blocks).filter(|&cell| !received.contains(cell)).count();
        self.stats.blocks_requested += missing as u64;
        self.queue(Pending::Retransmit {
            slice: reqack.slice,
            rxmit: reqack.rxmit,
            received,
        });
    }

    /// Decides where a packet of `slice` goes, opening its slot if the slice is new
    /// (§4.4 slice arrival rules, §4.10 streaming join).
    fn admit(&mut self, slice: u32) -> Result<Admission, ReceiverError> {
        if self.joining {
            return Ok(self.admit_while_joining(slice));
        }
        if slice < self.next_output {
            return Ok(Admission::Done);
        }
        let index = slot_index(slice);
        let slot = &self.slots[index];
        if slot.state != SlotState::Free && slot.slice == slice {
            return Ok(match slot.state {
                SlotState::Complete => Admission::Done,
                _ => Admission::Slot(index),
            });
        }
        // A new slice. The sender never runs more than one slice ahead of the oldest one a
        // receiver lacks (§3.6): anything further means we fell behind for good.
        loop {
            let incomplete = self.first_incomplete();
            if slice <= incomplete.saturating_add(1) {
                break;
            }
            if !self.config.ignore_lost_data {
                return Err(ReceiverError::DroppedBySender { slice, incomplete });
            }
            self.give_up(incomplete)?;
        }
        if self.passive() {
            self.release_unchecked(|held| held.saturating_add(1) < slice);
        }
        if slice >= self.next_output.saturating_add(SLOTS as u32) {
            return Ok(Admission::NoRoom);
        }
        self.slots[index].open(slice);
        Ok(Admission::Slot(index))
    }

    /// Streaming join: follow the newest slice until one is complete; an incomplete one
    /// is abandoned as soon as a newer one starts, since nothing will complete it.
    fn admit_while_joining(&mut self, slice: u32) -> Admission {
        let current = self.next_output;
        let index = slot_index(current);
        let open = self.slots[index].state == SlotState::Open && self.slots[index].slice == current;
        if open && slice < current {
            return Admission::Done;
        }
        if !open || slice > current {
            self.slots[index].free();
            self.next_output = slice;
            self.slots[slot_index(slice)].open(slice);
        }
        Admission::Slot(slot_index(slice))
    }

    /// The oldest slice not yet complete.
    fn first_incomplete(&self) -> u32 {
        let mut slice = self.next_output;
        for _ in 0..SLOTS {
            let slot = &self.slots[slot_index(slice)];
            if slot.state != SlotState::Complete || slot.slice != slice {
                break;
            }
            slice = slice.wrapping_add(1);
        }
        slice
    }

    /// `--ignore-lost-data`: write `slice` with zeros where blocks are missing.
    fn give_up(&mut self, slice: u32) -> Result<(), ReceiverError> {
        let session = self
            .session
            .ok_or(ReceiverError::SliceSizeUnknown { slice })?;
        let index = slot_index(slice);
        let slot = &mut self.slots[index];
        if slot.state != SlotState::Open || slot.slice != slice || slot.bytes.is_none() {
            return Err(ReceiverError::SliceSizeUnknown { slice });
        }
        let region = slot_region_mut(self.storage, &session, index);
        let lost = slot.give_up_missing(region, session.block_size);
        self.stats.lost_blocks += lost as u64;
        self.event(Event::LostData {
            slice,
            blocks: lost as u16,
        });
        self.complete_slot(index);
        self.pass_unchecked(index);
        Ok(())
    }

    /// Records a slice's byte count, checking it against what we know (§4.4).
    fn learn_bytes(&mut self, now: Instant, index: usize, bytes: u32) -> Result<(), ReceiverError> {
        let block_size = self.block_size();
        let slot_blocks = self.session.map_or(0, |s| s.slot_blocks);
        let slice = self.slots[index].slice;
        match self.slots[index].bytes {
            Some(first) if first != bytes => {
                return Err(ReceiverError::ByteCountMismatch {
                    slice,
                    first,
                    second: bytes,
                })
            }
            Some(_) => return Ok(()),
            None => {}
        }
        let blocks = (bytes as usize).div_ceil(block_size);
        if blocks > slot_blocks {
            return Err(ReceiverError::SliceTooLarge {
                slice,
                blocks: blocks as u32,
                capacity: slot_blocks as u32,
            });
        }
        // Only the last data slice may end in a partial block; only the end follows it.
        if bytes as usize % block_size != 0 {
            let later_data = self.slots.iter().any(|s| {
                s.state != SlotState::Free && s.slice > slice && s.bytes.is_some_and(|b| b != 0)
            });
            if later_data {
                return Err(ReceiverError::BadBase { slice });
            }
            self.short_slice = Some(self.short_slice.map_or(slice, |s| s.min(slice)));
        }
        if let Some(short) = self.short_slice.filter(|&s| bytes != 0 && s < slice) {
            return Err(ReceiverError::BadBase { slice: short });
        }
        self.slots[index].bytes = Some(bytes);
        if bytes == 0 {
            self.end_slice = Some(slice);
            self.complete(now, index)?;
        }
        Ok(())
    }

    /// A slot holds every block (as data or FEC): decode, mark complete, maybe finish.
    fn complete(&mut self, now: Instant, index: usize) -> Result<(), ReceiverError> {
        if self.slots[index].needs_decoding() {
            self.decode(index);
        }
        self.complete_slot(index);
        // Checked now if its check came first; a failure empties the slot again.
        if self.has_check(index) {
            self.slice_passes(index)?;
        }
        self.check_end(now)
    }

    fn complete_slot(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        slot.state = SlotState::Complete;
        self.stats.bytes_received += u64::from(slot.bytes.unwrap_or(0));
        self.joining = false;
    }

    /// Rebuilds the data blocks a slot holds FEC blocks for (PROTOCOL.md §5.6).
    fn decode(&mut self, index: usize) {
        let Some(session) = self.session else { return };
        let slot = &mut self.slots[index];
        let region = slot_region_mut(self.storage, &session, index);
        let used = slot.fec_blocks();
        let block_size = session.block_size;
        if self.fec_decoder.as_ref().map(fec::Decoder::block_size) != Some(block_size) {
            self.fec_decoder = fec::Decoder::new(block_size, self.fec_kernel).ok();
        }
        let bytes = slot.bytes.map_or(0, |b| b as usize);
        let geometry = fec::SliceGeometry::new(bytes, block_size, usize::from(slot.stripes()));
        if let (Some(decoder), Ok(geometry)) = (self.fec_decoder.as_mut(), geometry) {
            // Cannot fail: the slot keeps whole cells, at most 128 blocks per stripe, and per
            // stripe only distinct rows below 128, one per missing block (slot.rs). Were it to
            // fail, nothing would change and the slice would be written as it stands.
            let _ = decoder.decode_slice_in_place(&geometry, region, |cell| slot.fec_row_at(cell));
        }
        slot.mark_decoded(block_size);
        self.stats.fec_blocks_used += u64::from(used);
    }

    fn check_end(&mut self, now: Instant) -> Result<(), ReceiverError> {
        let Some(end) = self.end_slice else {
            return Ok(());
        };
        // An async sender never sends anything again: once its end marker is here, a slice
        // still incomplete is lost for good, and waiting for it would hang.
        while self.passive() && self.first_incomplete() < end {
            let incomplete = self.first_incomplete();
            if !self.config.ignore_lost_data {
                return Err(ReceiverError::DroppedBySender {
                    slice: end,
                    incomplete,
                });
            }
            self.give_up(incomplete)?;
        }
        if self.passive() {
            // Every check an async sender sends for the slices before its end came before
            // the end: one still missing never will.
            self.release_unchecked(|slice| slice < end);
        }
        if self.first_incomplete() > end && self.phase == Phase::Receiving {
            self.phase = Phase::Draining;
            self.exit_at = Some(now + self.config.exit_wait);
        }
        Ok(())
    }

    /// Leaves once the exit-wait is over and everything was written out (§4.8).
    pub(super) fn try_finish(&mut self) {
        self.exit_at = None;
        if let Some(end) = self.end_slice {
            self.release_unchecked(|slice| slice < end);
        }
        if Some(self.next_output) == self.end_slice {
            if self.first_output.is_none() && self.next_output != 0 {
                self.fail(ReceiverError::JoinedAtEnd);
                return;
            }
            if let Err(error) = self.stream_verdict() {
                self.fail(error);
                return;
            }
            self.leave();
            self.phase = Phase::Finished;
            self.event(Event::Finished);
        }
    }
}
