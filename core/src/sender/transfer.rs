//! The transfer engine (§3.4, §3.6, §3.10): which step comes next, and the slices it cuts
//! from the input and sends a first time.

use super::flight::Flight;
use super::{slot_size, Control, Event, Filling, Phase, Sender};
use crate::time::Instant;
use crate::wire::{Data, Fec, HelloKind};
use core::net::SocketAddrV4;

impl Sender<'_> {
    /// Runs the engine until it produces a datagram or has nothing to send now.
    pub(super) fn engine(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        for _ in 0..8 {
            // 1. A slice every receiver holds is done.
            if self.r.as_ref().is_some_and(|r| self.acknowledged(r)) {
                self.release_r();
                continue;
            }
            // 2. A fully sent slice waits for acknowledgement.
            if self.r.is_none() && self.x.as_ref().is_some_and(Flight::fully_sent) {
                self.r = self.x.take();
                if self.first_reqack(now) {
                    return self.encode_control(now, Control::Reqack, buf);
                }
                continue;
            }
            // 4. Resend what was asked for.
            if let Some(r) = self.r.as_mut() {
                if r.need_rxmit {
                    if let Some(block) = r.next_resend() {
                        let (slot, number, bytes) = (r.slot, r.number, r.bytes);
                        self.stats.blocks_resent += 1;
                        return self.encode_data(slot, number, bytes, block, buf);
                    }
                }
            }
            // 5. Everyone answered: next round.
            if self.r.as_ref().is_some_and(|r| {
                r.nr_answered >= self.participants.count() && r.reqack_at.is_some()
            }) {
                return self.next_round(now, buf);
            }
            // 6. Form the next slice.
            if self.x.is_none() && !self.end_formed && (self.full_duplex() || self.r.is_none()) {
                if self.form_slice() {
                    continue;
                }
                return None; // waiting for input
            }
            // 7. Go on with the first transmission, but start a slice only once every
            //    receiver answered the previous slice's REQACK: a udpcast receiver that
            //    sees slice n+1 before anything of slice n (data and REQACK lost, or
            //    dropped by its socket buffer in a burst) gives up ("Dropped by server").
            //    X still overlaps R's retransmissions; the price is one round trip.
            if self.x.as_ref().is_some_and(|x| !x.fully_sent()) {
                if self.x.as_ref().is_some_and(|x| x.next == 0) && !self.previous_slice_seen() {
                    return None;
                }
                let sent = self.first_transmission(buf);
                if let (Some((len, _)), Some(x)) = (sent, self.x.as_mut()) {
                    x.first_pass.sent(now, len);
                }
                return sent;
            }
            // 8. The end.
            if self.end_formed && self.r.is_none() && self.x.is_none() {
                self.phase = Phase::Finished;
                self.event(Event::Finished);
            }
            return None;
        }
        None
    }

    /// Cuts the next slice from the input (§3.4). Returns false if it must wait for input.
    fn form_slice(&mut self) -> bool {
        let bs = usize::from(self.config.block_size);
        let target = usize::from(self.slice_size) * bs;
        if self.filling.is_none() {
            self.filling = self.take_slot().map(|slot| Filling { slot, len: 0 });
        }
        let Some(filling) = self.filling else {
            return false;
        };
        if filling.len < target && !self.input_ended {
            return false;
        }
        // Whole blocks only, except a tail shorter than one block, which travels alone.
        let mut bytes = filling.len.min(target);
        if bytes > bs {
            bytes -= bytes % bs;
        }
        let leftover = filling.len - bytes;
        self.filling = None;
        if leftover > 0 {
            let Some(next) = self.take_slot() else {
                return false;
            };
            let size = slot_size(&self.config);
            let from = filling.slot * size + bytes;
            self.storage.copy_within(from..from + leftover, next * size);
            self.filling = Some(Filling {
                slot: next,
                len: leftover,
            });
        }
        let blocks = bytes.div_ceil(bs) as u16;
        let end = bytes == 0;
        let fec_blocks = match (self.config.fec, end) {
            // The synchronous end slice carries no FEC (§3.8); the async one does.
            (Some(_), true) if !self.config.asynchronous => 0,
            (Some(f), _) => f.stripes * f.redundancy,
            (None, _) => 0,
        };
        if let (Some(encoder), true) = (self.fec.as_ref(), fec_blocks != 0) {
            let size = slot_size(&self.config);
            let base = filling.slot * size;
            let (data, fec) = self.storage[base..base + size].split_at_mut(self.slot_data);
            let fec_len = encoder.config().fec_len();
            if encoder
                .encode_slice(&data[..bytes], &mut fec[..fec_len])
                .is_err()
            {
                fec[..fec_len].fill(0);
            }
        }
        self.end_formed = end;
        self.stats.bytes_sent += bytes as u64;
        let mut flight = Flight::new(
            filling.slot,
            self.next_slice,
            bytes as u32,
            blocks,
            fec_blocks,
        );
        if let Some(v) = self.verification.as_mut() {
            let base = filling.slot * slot_size(&self.config);
            flight.check = v.cut(self.next_slice, &self.storage[base..base + bytes]);
        }
        self.x = Some(flight);
        self.next_slice = self.next_slice.wrapping_add(1);
        true
    }

    pub(super) fn take_slot(&mut self) -> Option<usize> {
        let slot = self.free.iter().position(|&f| f)?;
        self.free[slot] = false;
        Some(slot)
    }

    fn first_transmission(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddrV4)> {
        let streaming = self.config.streaming;
        let offset = u32::from(self.config.rehello_offset);
        let x = self.x.as_mut()?;
        // §3.10: the streaming hello precedes block max(0, blocks − offset) (for the empty
        // async end slice, FEC block 0).
        let hello_at = u32::from(x.blocks).saturating_sub(offset);
        if streaming && !x.streaming_hello_sent && x.next == hello_at {
            x.streaming_hello_sent = true;
            let check = x.check;
            let rendezvous = SocketAddrV4::new(self.config.rendezvous, self.config.portbase);
            return Some((
                self.encode_hello(HelloKind::Streaming, check, buf)?,
                rendezvous,
            ));
        }
        let packet = x.next;
        x.next += 1;
        let (slot, number, bytes, blocks) = (x.slot, x.number, x.bytes, x.blocks);
        if packet < u32::from(blocks) {
            self.encode_data(slot, number, bytes, packet as u16, buf)
        } else {
            self.encode_fec(
                slot,
                number,
                bytes,
                (packet - u32::from(blocks)) as u16,
                buf,
            )
        }
    }

    fn encode_data(
        &mut self,
        slot: usize,
        number: u32,
        bytes: u32,
        block: u16,
        buf: &mut [u8],
    ) -> Option<(usize, SocketAddrV4)> {
        let bs = usize::from(self.config.block_size);
        let base = slot * slot_size(&self.config);
        let start = usize::from(block) * bs;
        let end = (start + bs).min(bytes as usize);
        let data = Data {
            slice: number,
            block,
            bytes,
            payload: self.storage.get(base + start..base + end)?,
        };
        self.stats.blocks_sent += 1;
        Some((data.encode(buf).ok()?, self.destination))
    }

    fn encode_fec(
        &mut self,
        slot: usize,
        number: u32,
        bytes: u32,
        block: u16,
        buf: &mut [u8],
    ) -> Option<(usize, SocketAddrV4)> {
        let params = self.config.fec?;
        let bs = usize::from(self.config.block_size);
        let base = slot * slot_size(&self.config) + self.slot_data + usize::from(block) * bs;
        let fec = Fec {
            stripes: params.stripes,
            slice: number,
            block,
            bytes,
            payload: self.storage.get(base..base + bs)?,
        };
        self.stats.blocks_sent += 1;
        Some((fec.encode(buf).ok()?, self.destination))
    }
}
