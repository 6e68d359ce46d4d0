//! What is scheduled in a simulated run, earliest first: datagrams in flight, timers and
//! faults. Ties go in the order things were scheduled, so a run never depends on anything
//! but its scenario.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;

/// Something due at a time.
pub(super) enum What {
    /// A datagram of the sender reaches receiver `i`.
    ToReceiver(u32, Rc<[u8]>),
    /// A datagram of receiver `i` reaches the sender.
    ToSender(u32, Box<[u8]>),
    /// Receiver `i`'s timer, set for this deadline.
    Timer(u32, u64),
    /// A slow writer's next millisecond.
    Wake(u32, u64),
    /// Receiver `i`'s time-triggered faults, and the end of its freeze.
    Die(u32),
    Freeze(u32),
    Thaw(u32),
    Join(u32),
}

struct Entry {
    at: u64,
    seq: u64,
    what: What,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Things scheduled, earliest first, ties in the order they were scheduled.
#[derive(Default)]
pub(super) struct Agenda {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Agenda {
    pub(super) fn push(&mut self, at: u64, what: What) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            what,
        }));
    }

    pub(super) fn pop_due(&mut self, now: u64) -> Option<What> {
        if self.heap.peek()?.0.at > now {
            return None;
        }
        self.heap.pop().map(|e| e.0.what)
    }

    pub(super) fn next_at(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.0.at)
    }
}
