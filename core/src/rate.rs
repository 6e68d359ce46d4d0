//! The sender's rate limit (`--max-bitrate`): a token bucket in exact integer arithmetic.
//!
//! udpcast keeps the rate in a 32-bit `int`, so anything above 2.1 Gb/s overflows
//! (PROTOCOL.md §3.11). Here tokens are counted in bit·microseconds in a `u128`, which is
//! exact for every rate a `u64` can express: 1 kb/s and 40 Gb/s alike. Every datagram is
//! charged its UDP payload plus 28 bytes of IP and UDP headers, as udpcast charges it.

use crate::time::{Duration, Instant};

/// Bytes of IPv4 + UDP header charged per datagram on top of its payload.
pub const PER_DATAGRAM_OVERHEAD: u64 = 28;

/// How much sending may run ahead of the average rate: the time it takes to send this
/// many microseconds' worth of bits, and never less than two datagrams.
const BURST_MICROS: u128 = 2_000;

/// Datagrams sent together once pacing made the sender wait (at most 2 ms' worth).
const BATCH: u128 = 8;

/// A token bucket limiting bits per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RateLimiter {
    bits_per_second: u64,
    /// Bit·microseconds available; a datagram of b bits costs b·10⁶.
    tokens: u128,
    last: Instant,
}

impl RateLimiter {
    /// A limiter for `bits_per_second` (at least 1), starting empty at `now`.
    pub fn new(bits_per_second: u64, now: Instant) -> Self {
        RateLimiter {
            bits_per_second: bits_per_second.max(1),
            tokens: 0,
            last: now,
        }
    }

    /// The configured rate.
    pub fn bits_per_second(&self) -> u64 {
        self.bits_per_second
    }

    /// Changes the rate from now on (`--autorate`); what was saved up stays.
    pub fn set_bits_per_second(&mut self, bits_per_second: u64) {
        self.bits_per_second = bits_per_second.max(1);
    }

    /// When a datagram with `payload` bytes may be sent: `now` if it may go at once.
    pub fn ready_at(&mut self, now: Instant, payload: usize) -> Instant {
        self.refill(now, payload);
        let cost = cost(payload);
        if self.tokens >= cost {
            return now;
        }
        // Once the bucket ran dry, wait for a small batch rather than one datagram: they
        // leave together (one GSO send) and arrive together, so a receiver wakes once per
        // batch instead of once per datagram. The average rate is the same.
        let batch = (BATCH * cost).min(BURST_MICROS * u128::from(self.bits_per_second));
        let missing = batch.max(cost) - self.tokens;
        let wait = missing.div_ceil(u128::from(self.bits_per_second));
        now + Duration::from_micros(wait.min(u128::from(u64::MAX)) as u64)
    }

    /// Charges a datagram with `payload` bytes sent at `now`. Call after
    /// [`ready_at`](Self::ready_at) said it may go (charging earlier runs a debt that
    /// delays the following datagrams).
    pub fn consume(&mut self, now: Instant, payload: usize) {
        self.refill(now, payload);
        self.tokens = self.tokens.saturating_sub(cost(payload));
    }

    fn refill(&mut self, now: Instant, payload: usize) {
        let elapsed = u128::from(now.saturating_since(self.last).as_micros());
        self.last = self.last.max(now);
        let added = elapsed * u128::from(self.bits_per_second);
        self.tokens = self
            .tokens
            .saturating_add(added)
            .min(self.capacity(payload));
    }

    /// The bucket's size: `BURST_MICROS` at the rate, but room for two datagrams of the
    /// size being sent at least.
    fn capacity(&self, payload: usize) -> u128 {
        let burst = BURST_MICROS * u128::from(self.bits_per_second);
        burst.max(2 * cost(payload))
    }
}

fn cost(payload: usize) -> u128 {
    (payload as u128 + u128::from(PER_DATAGRAM_OVERHEAD)) * 8 * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends as fast as the limiter allows for `seconds` of simulated time and returns the
    /// achieved rate in bits per second (charged bits).
    fn achieved(rate: u64, payload: usize, seconds: u64) -> u64 {
        let mut now = Instant(1_000_000);
        let start = now;
        let mut limiter = RateLimiter::new(rate, now);
        let mut bits: u64 = 0;
        let end = start + Duration::from_secs(seconds);
        loop {
            now = limiter.ready_at(now, payload);
            if now >= end {
                break;
            }
            limiter.consume(now, payload);
            bits += (payload as u64 + PER_DATAGRAM_OVERHEAD) * 8;
        }
        bits / seconds
    }

    fn assert_close(rate: u64, got: u64) {
        let error = (got as f64 - rate as f64).abs() / rate as f64;
        assert!(
            error < 0.01,
            "rate {rate}: achieved {got} ({:.3}%)",
            error * 100.0
        );
    }

    #[test]
    fn one_kilobit_per_second_is_held() {
        assert_close(1_000, achieved(1_000, 4, 600));
    }

    #[test]
    fn a_hundred_megabits_is_held() {
        assert_close(100_000_000, achieved(100_000_000, 1456, 2));
    }

    #[test]
    fn forty_gigabits_does_not_overflow_as_udpcast_did_above_2_1_gigabits() {
        assert_close(2_500_000_000, achieved(2_500_000_000, 1456, 1));
        assert_close(40_000_000_000, achieved(40_000_000_000, 1456, 1));
    }

    #[test]
    fn a_datagram_is_charged_its_payload_plus_28_bytes() {
        let now = Instant(0);
        let mut limiter = RateLimiter::new(8_000, now); // 1000 bytes/s
        limiter.tokens = 0;
        // 72 + 28 = 100 bytes = 800 bits at 8000 bit/s: 100 ms.
        assert_eq!(limiter.ready_at(now, 72), Instant(100_000));
    }

    #[test]
    fn a_dry_bucket_lets_a_batch_go_together() {
        let mut limiter = RateLimiter::new(100_000_000, Instant(0));
        let mut now = Instant(0);
        for _ in 0..100 {
            now = limiter.ready_at(now, 1456);
            limiter.consume(now, 1456);
        }
        while limiter.ready_at(now, 1456) == now {
            limiter.consume(now, 1456);
        }
        // Once dry, datagrams leave 8 at a time.
        let at = limiter.ready_at(now, 1456);
        assert!(at > now);
        let mut together = 0;
        while limiter.ready_at(at, 1456) == at {
            limiter.consume(at, 1456);
            together += 1;
        }
        assert_eq!(together, 8);
    }

    #[test]
    fn idle_time_does_not_buy_an_unbounded_burst() {
        let mut limiter = RateLimiter::new(10_000_000, Instant(0));
        let now = Instant(60_000_000);
        let mut sent = 0;
        while limiter.ready_at(now, 1456) == now {
            limiter.consume(now, 1456);
            sent += 1;
        }
        assert!(sent <= 2, "{sent} datagrams in one burst");
    }
}
