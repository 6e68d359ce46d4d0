//! Acknowledgement (§3.5–§3.9): REQACK rounds and the answers to them, which decide what
//! is resent, how long slices are, and which receivers are dropped or gone.

use super::flight::Flight;
use super::{
    Control, DropReason, Duplex, Event, LeaveReason, Phase, ReceiverStatus, Sender, SenderError,
};
use crate::time::{Duration, Instant};
use crate::wire::Message;
use core::net::SocketAddrV4;

/// Half-duplex slices never shrink below this (§3.5: hard-wired, `--min-slice-size` aside).
const MIN_SHRUNK_SLICE: u16 = 32;

impl Sender<'_> {
    /// Whether every receiver has answered a REQACK of the slice being acknowledged (so
    /// each has opened it), or there is none to wait for.
    pub(super) fn previous_slice_seen(&self) -> bool {
        match self.r.as_ref() {
            None => true,
            Some(_) if self.config.asynchronous => true,
            Some(r) => {
                r.seen_by_all
                    || (r.reqack_at.is_some() && r.nr_answered >= self.participants.count())
            }
        }
    }

    pub(super) fn acknowledged(&self, r: &Flight) -> bool {
        if self.config.asynchronous {
            return self.end_reqacks_left == 0 && r.reqack_at.is_some();
        }
        r.reqack_at.is_some() && r.nr_ready >= self.participants.count()
    }

    pub(super) fn full_duplex(&self) -> bool {
        self.config.asynchronous || self.config.duplex == Duplex::Full
    }

    /// Releases R; in half duplex a clean slice grows the next ones (§3.5).
    pub(super) fn release_r(&mut self) {
        let Some(r) = self.r.take() else { return };
        self.free[r.slot] = true;
        self.pacing.slice_done(&r);
        if !self.full_duplex() && self.doubling {
            let grown = self.slice_size.saturating_add(self.slice_size / 4);
            if grown >= self.max_slice_size {
                self.slice_size = self.max_slice_size;
                self.doubling = false;
            } else {
                self.slice_size = grown;
            }
            self.event(Event::SliceSize(self.slice_size));
        }
    }

    /// The first REQACK of R: in async mode only the end of a FEC-less stream gets one
    /// (twice), everything else counts as acknowledged once sent (§3.8, §3.9).
    pub(super) fn first_reqack(&mut self, now: Instant) -> bool {
        let Some(r) = self.r.as_mut() else {
            return false;
        };
        if self.config.asynchronous {
            if r.bytes != 0 || self.fec.is_some() {
                // Verified async transfers send one REQACK per slice, for its check: a
                // receiver of ours verifies the slice then, and asks for nothing. Streaming
                // ones carry it on the slice's hello instead, where late joiners still
                // looking for the sender do not mistake it for another transfer's.
                if self.reqack_trailers && !self.config.streaming {
                    return true;
                }
                r.reqack_at = Some(now);
                return false;
            }
            self.end_reqacks_left = 1;
        }
        true
    }

    pub(super) fn next_round(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<(usize, SocketAddrV4)> {
        let half_duplex = !self.full_duplex();
        let r = self.r.as_mut()?;
        if self.config.asynchronous {
            // The end REQACK of an async transfer without FEC goes out twice (rxmit 0, 1).
            r.rxmit += 1;
            self.end_reqacks_left = self.end_reqacks_left.saturating_sub(1);
            return self.encode_control(now, Control::Reqack, buf);
        }
        // Only reached once everyone answered this round (§3.6 step 5).
        r.seen_by_all = true;
        r.rxmit += 1;
        if half_duplex {
            let (last, blocks) = (r.last_skipped, r.blocks);
            r.last_skipped = 0;
            self.shrink(last, blocks);
        }
        self.encode_control(now, Control::Reqack, buf)
    }

    /// Half duplex: losses near the end of a slice mean it was too long (§3.5).
    fn shrink(&mut self, last_skipped: u16, blocks: u16) {
        if last_skipped == 0 || last_skipped >= blocks {
            return;
        }
        self.doubling = false;
        let size = if last_skipped < self.slice_size / 2 {
            self.slice_size / 2
        } else {
            last_skipped
        };
        // Never past the largest slice: a slot holds no more, and input beyond it is lost.
        let size = size.max(MIN_SHRUNK_SLICE).min(self.max_slice_size);
        if size != self.slice_size {
            self.slice_size = size;
            self.event(Event::SliceSize(size));
        }
    }

    pub(super) fn reqack_wait(&self, r: Option<&Flight>) -> Duration {
        let base = self.answer_time_us + self.answer_time_us / 10;
        let extra = if r.is_some_and(|r| r.rxmit > 10) {
            1_000_000
        } else {
            0
        };
        Duration::from_micros(base + extra)
    }

    pub(super) fn reqack_queued(&self) -> bool {
        self.controls.iter().any(|c| matches!(c, Control::Reqack))
    }

    pub(super) fn reqack_timeout(&mut self, now: Instant) {
        if self.reqack_queued() || self.config.asynchronous {
            return;
        }
        let wait = self.reqack_wait(self.r.as_ref());
        let Some(r) = self.r.as_ref() else { return };
        let Some(at) = r.reqack_at else { return };
        if now < at + wait {
            return;
        }
        let give_up_rounds = r.rxmit > self.config.retries_until_drop;
        let drop_timeout = self.config.drop_timeout;
        let mut silent = heapless::Vec::<(u16, DropReason), 1024>::new();
        for (client, p) in self.participants.iter() {
            if r.ready.contains(usize::from(client)) {
                continue;
            }
            let quiet_too_long = r.first_reqack_at.is_some_and(|f| now >= f + drop_timeout)
                && now >= p.last_heard + drop_timeout;
            let why = match (give_up_rounds, quiet_too_long) {
                (true, _) => DropReason::RetriesExhausted,
                (false, true) => DropReason::Silent,
                (false, false) => continue,
            };
            let _ = silent.push((client, why));
        }
        for (client, why) in silent {
            self.remove(client, ReceiverStatus::Dropped(why));
        }
        if self.is_closed() {
            return;
        }
        if let Some(r) = self.r.as_mut() {
            if r.nr_ready < self.participants.count() {
                r.rxmit += 1;
                self.control(Control::Reqack);
            }
        }
    }

    /// An answer during the transfer (§3.7): only from participants, only for X or R.
    pub(super) fn answer(&mut self, now: Instant, from: SocketAddrV4, message: Message) {
        let Some(client) = self.participants.find(*from.ip()) else {
            return;
        };
        self.participants.heard(client, now);
        let (slice, ok, received) = match message {
            Message::Ok(ok) => (ok.slice, true, None),
            Message::Retransmit(r) => (r.slice, false, Some(r.received)),
            Message::Disconnect => {
                self.remove(client, ReceiverStatus::Disconnected);
                return;
            }
            _ => return,
        };
        self.stats.last_answer_from = Some(client);
        // Answer time: only answers to R's latest round count (a RETRANSMIT names its
        // round; an OK may answer an earlier one, which only makes it look quicker). The
        // wait rises to the slowest answer at once, and when the next round starts moves
        // a tenth of the way toward that round's slowest (§3.6 step 10 averages every
        // answer, avg = 0.9·(avg + 9) + 0.1·t, so the quick receivers of a mixed room
        // pull it below the slow ones' and those fall into one-second rounds).
        let this_round = self.r.as_ref().is_some_and(|r| match message {
            Message::Retransmit(ref m) => (m.slice, m.rxmit) == (r.number, r.rxmit),
            _ => slice == r.number,
        });
        if let Some(at) = self
            .r
            .as_ref()
            .and_then(|r| r.reqack_at)
            .filter(|_| this_round)
        {
            let t = now.saturating_since(at).as_micros();
            self.answer_time_us = self.answer_time_us.max(t);
            self.round_slowest_us = Some(self.round_slowest_us.unwrap_or(0).max(t));
        }
        for flight in [self.x.as_mut(), self.r.as_mut()].into_iter().flatten() {
            if flight.number != slice {
                continue;
            }
            let Some(record) = self.participants.record_mut(client) else {
                continue;
            };
            let first_round = match message {
                Message::Retransmit(ref m) => m.rxmit == 0,
                _ => flight.rxmit == 0,
            };
            match received {
                None if ok => {
                    if first_round {
                        flight.first_pass.answered(now, 0);
                    }
                    if flight.ok(client) {
                        record.bytes_acknowledged += u64::from(flight.bytes);
                    }
                    // Only an answer to the end slice's REQACK says the receiver holds
                    // everything: an OK for an end slice not yet asked about (still
                    // waiting behind R) proves nothing.
                    if flight.is_end() && flight.reqack_at.is_some() {
                        record.status = ReceiverStatus::Complete;
                    }
                }
                Some(map) => {
                    let missing = flight.retransmit(client, map);
                    record.blocks_requested += missing;
                    if first_round {
                        flight.first_pass.answered(now, missing.min(1024) as u16);
                    }
                }
                None => {}
            }
        }
    }

    /// `client` leaves: disconnected or dropped, as `status` says.
    pub(super) fn remove(&mut self, client: u16, status: ReceiverStatus) {
        let Some(p) = self.participants.remove(client) else {
            return;
        };
        if let Some(record) = self.participants.record_mut(client) {
            record.leave(status);
        }
        let reason = match status {
            ReceiverStatus::Dropped(_) => LeaveReason::Dropped,
            _ => LeaveReason::Disconnected,
        };
        for flight in [self.x.as_mut(), self.r.as_mut()].into_iter().flatten() {
            flight.forget(client);
        }
        self.event(Event::Left {
            client,
            address: *p.address.ip(),
            reason,
        });
        if self.phase == Phase::Transferring
            && self.participants.count() == 0
            && !self.config.asynchronous
        {
            // A receiver that acknowledged the end slice holds everything: the last one to
            // go (dropped before its own final OK, say) does not undo that delivery.
            let delivered = self
                .participants
                .records()
                .any(|(_, r)| r.status == ReceiverStatus::Complete);
            if delivered {
                self.phase = Phase::Finished;
                self.event(Event::Finished);
            } else {
                self.fail(SenderError::AllReceiversGone);
            }
        }
    }
}
