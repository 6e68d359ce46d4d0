//! The monotonic clock host programs pass to core, which has none of its own.

use std::time::Instant as StdInstant;
use udpcast_core::time::Instant;

/// Microseconds since the clock was made.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: StdInstant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Self {
        Clock {
            origin: StdInstant::now(),
        }
    }

    /// Now, as core counts time.
    pub fn now(&self) -> Instant {
        Instant(self.origin.elapsed().as_micros() as u64)
    }

    /// How long until `deadline`, in whole milliseconds rounded up (for `poll`), or `None`
    /// without a deadline.
    pub fn millis_until(&self, deadline: Option<Instant>) -> Option<i32> {
        deadline.map(|d| {
            let us = d.0.saturating_sub(self.now().0);
            us.div_ceil(1000).min(i32::MAX as u64) as i32
        })
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
