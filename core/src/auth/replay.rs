//! Counters seen from one peer: a datagram whose counter came before is a replay.

/// The highest counter accepted and which of the 128 before it were: a sliding window,
/// because datagrams may arrive a little out of order but never twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReplayWindow {
    highest: u64,
    /// Bit `i` set: counter `highest - i` was accepted.
    seen: u128,
}

impl ReplayWindow {
    /// Counters older than the highest by this much or more are refused.
    pub const SPAN: u64 = 128;

    /// A window that has accepted nothing (counters start at 1).
    pub const fn new() -> Self {
        ReplayWindow {
            highest: 0,
            seen: 1,
        }
    }

    /// Whether `counter` is new; if it is, it is remembered. Call only for datagrams
    /// whose tag verified, or a forger could move the window.
    pub fn accept(&mut self, counter: u64) -> bool {
        if counter > self.highest {
            let shift = counter - self.highest;
            self.seen = if shift >= Self::SPAN {
                0
            } else {
                self.seen << shift
            } | 1;
            self.highest = counter;
            return true;
        }
        let age = self.highest - counter;
        if age >= Self::SPAN {
            return false;
        }
        let bit = 1u128 << age;
        if self.seen & bit != 0 {
            return false;
        }
        self.seen |= bit;
        true
    }
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}
