//! The receivers taking part: 1024 numbered slots (PROTOCOL.md §3.2). A receiver is known
//! by its IP address alone; a known address gets its old number back. Each number also
//! keeps the record of the receiver that last held it, which outlives its departure.

use super::record::ReceiverRecord;
use crate::time::Instant;
use crate::wire::{Capabilities, MAX_CLIENTS};
use core::net::{Ipv4Addr, SocketAddrV4};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Participant {
    pub(crate) address: SocketAddrV4,
    pub(crate) capabilities: Capabilities,
    pub(crate) last_heard: Instant,
}

pub(crate) struct Participants {
    slots: [Option<Participant>; MAX_CLIENTS],
    /// Figures for the final report, by client number; not cleared when a receiver leaves.
    records: [Option<ReceiverRecord>; MAX_CLIENTS],
    count: u16,
}

/// The outcome of a CONNECT_REQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Newly admitted under this number.
    New(u16),
    /// Already known under this number.
    Known(u16),
    /// No room (or point-to-point already taken).
    Refused,
}

impl Participants {
    pub(crate) const fn new() -> Self {
        Participants {
            slots: [None; MAX_CLIENTS],
            records: [None; MAX_CLIENTS],
            count: 0,
        }
    }

    pub(crate) fn count(&self) -> u16 {
        self.count
    }

    pub(crate) fn find(&self, ip: Ipv4Addr) -> Option<u16> {
        self.slots
            .iter()
            .position(|s| s.is_some_and(|p| *p.address.ip() == ip))
            .map(|i| i as u16)
    }

    /// Admits `address` into the first free slot below `limit` (1 under `--pointopoint`).
    pub(crate) fn admit(
        &mut self,
        address: SocketAddrV4,
        capabilities: Capabilities,
        now: Instant,
        limit: usize,
    ) -> Admission {
        if let Some(client) = self.find(*address.ip()) {
            if let Some(p) = self.slots[usize::from(client)].as_mut() {
                p.last_heard = now;
            }
            return Admission::Known(client);
        }
        let Some(free) = self.slots[..limit.min(MAX_CLIENTS)]
            .iter()
            .position(Option::is_none)
        else {
            return Admission::Refused;
        };
        // The sender stores the receiver's capabilities with BIG_ENDIAN added (§2.12).
        self.slots[free] = Some(Participant {
            address,
            capabilities: capabilities | Capabilities::BIG_ENDIAN,
            last_heard: now,
        });
        self.records[free] = Some(ReceiverRecord::new(address));
        self.count += 1;
        Admission::New(free as u16)
    }

    pub(crate) fn remove(&mut self, client: u16) -> Option<Participant> {
        let removed = self
            .slots
            .get_mut(usize::from(client))
            .and_then(Option::take);
        if removed.is_some() {
            self.count -= 1;
        }
        removed
    }

    pub(crate) fn heard(&mut self, client: u16, now: Instant) {
        if let Some(Some(p)) = self.slots.get_mut(usize::from(client)) {
            p.last_heard = now;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, &Participant)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|p| (i as u16, p)))
    }

    /// The record of whoever holds or last held `client`.
    pub(crate) fn record_mut(&mut self, client: u16) -> Option<&mut ReceiverRecord> {
        self.records.get_mut(usize::from(client))?.as_mut()
    }

    /// Every record, by client number.
    pub(crate) fn records(&self) -> impl Iterator<Item = (u16, &ReceiverRecord)> {
        self.records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (i as u16, r)))
    }
}
