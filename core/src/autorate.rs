//! `--autorate`: the sender's pacing rate, learned from what the receivers report.
//!
//! udpcast's `--autorate` watches its own socket queue, which says nothing about a slow
//! receiver three switches away. Here every slice is a measurement: the receivers' first
//! answers say how many of its blocks the worst of them lacked, and when those answers
//! come says how fast the slice got through. The slowest receiver's delivery rate is the
//! room's bottleneck (multicast goes at the pace of the slowest); the rate follows the
//! best recent estimate of it, probing a little above it once every few slices and
//! draining a little below it right after, as BBR does for TCP.
//!
//! Loss that happens whatever the rate (a bad cable, a busy switch) must not drive the
//! rate down: the least loss seen over recent slices counts as such a baseline, and only
//! loss above it counts as the receivers not keeping up.
//!
//! Integer arithmetic only (no_std, no floats): rates in bit/s, loss in permille.

use crate::time::Duration;

/// What the first transmission of one slice and its first REQACK round showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SliceReport {
    /// Bits charged for the slice's first transmission (payload + 28 bytes per datagram,
    /// as the rate limit charges them).
    pub sent_bits: u64,
    /// From its first datagram to its last.
    pub send_time: Duration,
    /// From the previous slice's last first-round answer to this one's, when both came:
    /// how fast slices get through to the slowest receiver, queues included.
    pub answer_interval: Option<Duration>,
    /// Data blocks in the slice.
    pub blocks: u16,
    /// The most blocks any receiver lacked in its answer to the first REQACK.
    pub worst_missing: u16,
}

/// The pacing-rate controller of `--autorate`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AutoRate {
    rate: u64,
    max: u64,
    starting: bool,
    /// Startup windows in a row that did not raise the estimate by a quarter.
    startup_stalls: u8,
    /// Recent delivery-rate estimates (bit/s), one per window, corrected for the
    /// baseline loss.
    deliveries: [u64; WINDOWS],
    /// Recent losses (permille) of windows not sent above the estimate.
    losses: [u16; WINDOWS],
    next: usize,
    filled: usize,
    cycle: usize,
    window: Window,
}

/// The slices reported since the last decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Window {
    sent_bits: u64,
    received_bits: u64,
    send_us: u64,
    answer_us: u64,
    blocks: u64,
    missing: u64,
}

/// Windows the estimates are kept for.
const WINDOWS: usize = 10;
/// A decision spans at least this much time: answers come back in clumps (a receiver
/// scheduled late answers two slices at once, a switch releases a burst), and over one
/// small slice a clump looks like twice the link.
const WINDOW_MICROS: u64 = 10_000;
/// Where the rate starts: fast enough that startup takes a few windows on a 1 Gb/s
/// room, slow enough that a 100 Mb/s receiver loses little to it.
pub const INITIAL_RATE: u64 = 100_000_000;
/// The rate never goes below this, whatever the reports say.
pub const MIN_RATE: u64 = 1_000_000;
/// Gain per window in percent: probe, drain, then cruise at the estimate.
const GAINS_PERCENT: [u64; 6] = [115, 90, 100, 100, 100, 100];
/// Loss above the baseline by more than this (and half the baseline) is congestion.
const CONGESTION_PERMILLE: u64 = 10;
/// Startup doubles the rate until the estimate stops growing for this many windows.
const STARTUP_STALLS: u8 = 2;

impl AutoRate {
    /// A controller whose rate never exceeds `max` bit/s (`--max-bitrate`, or the link).
    pub fn new(max: u64) -> Self {
        let max = max.max(MIN_RATE);
        AutoRate {
            rate: INITIAL_RATE.min(max),
            max,
            starting: true,
            startup_stalls: 0,
            deliveries: [0; WINDOWS],
            losses: [0; WINDOWS],
            next: 0,
            filled: 0,
            cycle: 0,
            window: Window::default(),
        }
    }

    /// The rate to pace at now, in bit/s.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Whether it is still doubling its way up.
    pub fn is_starting(&self) -> bool {
        self.starting
    }

    /// The best recent estimate of the slowest receiver's delivery rate, in bit/s.
    pub fn bottleneck(&self) -> u64 {
        self.deliveries[..self.filled]
            .iter()
            .copied()
            .max()
            .unwrap_or(0)
    }

    /// Takes one slice's report; once a window's worth came, sets the next rate.
    pub fn on_slice(&mut self, report: &SliceReport) {
        if report.blocks == 0 || report.sent_bits == 0 {
            return;
        }
        let missing = u64::from(report.worst_missing.min(report.blocks));
        let blocks = u64::from(report.blocks);
        let received =
            u128::from(report.sent_bits) * u128::from(blocks - missing) / u128::from(blocks);
        let w = &mut self.window;
        w.sent_bits = w.sent_bits.saturating_add(report.sent_bits);
        w.received_bits = w.received_bits.saturating_add(clamp_u64(received));
        w.send_us = w.send_us.saturating_add(report.send_time.as_micros());
        // Without an answer time (the first slice), sending time stands in for it.
        let answer = report.answer_interval.unwrap_or(report.send_time);
        w.answer_us = w.answer_us.saturating_add(answer.as_micros());
        w.blocks += blocks;
        w.missing += missing;
        if w.answer_us.max(w.send_us) >= WINDOW_MICROS {
            let window = core::mem::take(&mut self.window);
            self.decide(&window);
        }
    }

    fn decide(&mut self, w: &Window) {
        let loss = (w.missing * 1000 / w.blocks.max(1)).min(1000);
        let micros = u128::from(w.answer_us.max(w.send_us).max(1));
        let delivery = clamp_u64(u128::from(w.received_bits) * 1_000_000 / micros);
        // Sent slower than the rate allowed (input or socket-bound): the sample only says
        // the path is at least that fast.
        let sent_rate =
            clamp_u64(u128::from(w.sent_bits) * 1_000_000 / u128::from(w.send_us.max(1)));
        let app_limited = sent_rate < self.rate / 10 * 9;

        if self.starting {
            let before = self.bottleneck();
            self.record(delivery, None);
            // Still finding room while the estimate grows by a quarter per window; loss
            // alone says nothing here (it may be the baseline). Sending slower than the
            // rate says nothing either way: a full socket buffer looks the same as a slow
            // input from here.
            if self.bottleneck() >= before.saturating_add(before / 4) {
                self.startup_stalls = 0;
            } else {
                self.startup_stalls += 1;
            }
            if self.startup_stalls < STARTUP_STALLS {
                self.rate = self.rate.saturating_mul(2).min(self.max);
                return;
            }
            self.starting = false;
            self.cycle = 0;
            // Leaving startup: back to what got through, so the queues built drain.
            self.rate = clamp(self.bottleneck(), self.max);
            return;
        }
        let probing = GAINS_PERCENT[self.cycle] > 100;
        let baseline = self.baseline_loss(if probing { None } else { Some(loss) });
        let corrected = clamp_u64(
            u128::from(delivery) * 1000 / u128::from(1000u64.saturating_sub(baseline).max(1)),
        );
        // A corrected delivery above what was sent would be the baseline overstated.
        let corrected = corrected.min(sent_rate.max(delivery));
        // Only loss above the baseline shows receivers not keeping up. A slower window
        // without it is the sender's own doing (input, socket, REQACK rounds after a
        // loss): it may raise the estimate but never lower it, else the rate spirals
        // down, each slow window making the next one slower.
        let congested = loss > baseline + baseline / 2 + CONGESTION_PERMILLE;
        if !((app_limited || !congested) && corrected < self.bottleneck()) {
            self.record(corrected, (!probing).then_some(loss as u16));
        }
        self.cycle = (self.cycle + 1) % GAINS_PERCENT.len();
        let target = u128::from(self.bottleneck()) * u128::from(GAINS_PERCENT[self.cycle]) / 100;
        self.rate = clamp(clamp_u64(target), self.max);
    }

    /// The least loss among recent slices not sent above the estimate (and `current`).
    fn baseline_loss(&self, current: Option<u64>) -> u64 {
        let recent = self.losses[..self.filled].iter().map(|&l| u64::from(l));
        recent.chain(current).min().unwrap_or(0).min(500)
    }

    fn record(&mut self, delivery: u64, loss: Option<u16>) {
        self.deliveries[self.next] = delivery;
        // A probing slice's loss is not a baseline: keep the previous one in its place.
        let previous = self.losses[(self.next + WINDOWS - 1) % WINDOWS];
        self.losses[self.next] = loss.unwrap_or(if self.filled == 0 { 0 } else { previous });
        self.next = (self.next + 1) % WINDOWS;
        self.filled = (self.filled + 1).min(WINDOWS);
    }
}

fn clamp(rate: u64, max: u64) -> u64 {
    rate.clamp(MIN_RATE, max)
}

fn clamp_u64(v: u128) -> u64 {
    v.min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLICE_BLOCKS: u16 = 1024;
    const DATAGRAM_BITS: u64 = (1456 + 12 + 28) * 8;

    /// A room whose slowest receiver gets `capacity` bit/s, of which a fraction `random`
    /// (permille) is lost whatever the rate; what is sent above the capacity is lost.
    /// Returns the rates the controller chose, slice after slice.
    type Rates = heapless::Vec<u64, 200>;

    fn drive(capacity: u64, random_permille: u64, max: u64, slices: usize) -> Rates {
        let mut c = AutoRate::new(max);
        let mut rates = Rates::new();
        for i in 0..slices {
            let rate = c.rate();
            rates.push(rate).unwrap();
            let sent_bits = u64::from(SLICE_BLOCKS) * DATAGRAM_BITS;
            let send_us = sent_bits * 1_000_000 / rate;
            let through = rate.min(capacity);
            let congestion = 1000 - through * 1000 / rate;
            // Deterministic "random" loss that varies slice to slice around its mean.
            let jitter = (i as u64 * 7919 % 5) * random_permille / 4;
            let random = (random_permille / 2 + jitter / 2).min(1000);
            let kept = (1000 - congestion) * (1000 - random) / 1000;
            let missing = (u64::from(SLICE_BLOCKS) * (1000 - kept) / 1000) as u16;
            // What exceeds the capacity is dropped (a full queue), not delayed.
            let answer_us = send_us;
            c.on_slice(&report(
                sent_bits,
                send_us,
                answer_us.max(send_us),
                SLICE_BLOCKS,
                missing,
            ));
        }
        rates
    }

    /// A slice of `blocks` sent in `send_us`, answered `answer_us` after the previous one.
    fn report(
        sent_bits: u64,
        send_us: u64,
        answer_us: u64,
        blocks: u16,
        missing: u16,
    ) -> SliceReport {
        SliceReport {
            sent_bits,
            send_time: Duration::from_micros(send_us),
            answer_interval: Some(Duration::from_micros(answer_us)),
            blocks,
            worst_missing: missing,
        }
    }

    fn median(v: &[u64]) -> u64 {
        let mut v = Rates::from_slice(v).unwrap();
        v.sort_unstable();
        v[v.len() / 2]
    }

    #[test]
    fn it_climbs_to_a_1_gigabit_link_and_stays_near_it() {
        let rates = drive(1_000_000_000, 0, 10_000_000_000, 120);
        let steady = median(&rates[40..]);
        assert!(
            (950_000_000..=1_100_000_000).contains(&steady),
            "steady rate {steady}: {rates:?}"
        );
        // Startup: a handful of slices to get there from 100 Mb/s.
        let reached = rates.iter().position(|&r| r >= 800_000_000).unwrap();
        assert!(reached <= 6, "took {reached} slices: {rates:?}");
    }

    #[test]
    fn a_100_megabit_receiver_sets_the_pace() {
        let rates = drive(100_000_000, 0, 10_000_000_000, 120);
        let steady = median(&rates[30..]);
        assert!(
            (92_000_000..=116_000_000).contains(&steady),
            "steady rate {steady}: {rates:?}"
        );
    }

    #[test]
    fn random_loss_does_not_drive_the_rate_down() {
        for permille in [10, 50] {
            let rates = drive(1_000_000_000, permille, 10_000_000_000, 150);
            let steady = median(&rates[50..]);
            assert!(
                steady >= 850_000_000,
                "{permille}‰ random loss: steady rate {steady}: {rates:?}"
            );
        }
    }

    #[test]
    fn answers_in_clumps_do_not_make_a_fast_link_of_a_1_gigabit_one() {
        // Slices of 112 blocks through 1 Gb/s: 1.3 ms each, but every other answer comes
        // late, right before the next one (a receiver scheduled late: seen in the lab).
        let mut c = AutoRate::new(40_000_000_000);
        let sent_bits = 112 * DATAGRAM_BITS;
        let link_us = sent_bits * 1_000_000 / 1_000_000_000;
        let mut rates = Rates::new();
        let (mut sent_at, mut arrived_at, mut answered_before) = (0u64, 0u64, 0u64);
        for i in 0..190u64 {
            let send_us = (sent_bits * 1_000_000 / c.rate()).max(1);
            sent_at += send_us;
            arrived_at = sent_at.max(arrived_at + link_us);
            let answered_at = if i % 2 == 0 {
                arrived_at + link_us * 8 / 10
            } else {
                arrived_at
            }
            .max(answered_before);
            c.on_slice(&report(
                sent_bits,
                send_us,
                answered_at - answered_before,
                112,
                0,
            ));
            answered_before = answered_at;
            rates.push(c.rate()).unwrap();
        }
        let steady = median(&rates[100..]);
        assert!(
            (900_000_000..=1_300_000_000).contains(&steady),
            "steady rate {steady}: {rates:?}"
        );
    }

    #[test]
    fn slow_windows_without_more_loss_do_not_spiral_the_rate_down() {
        // 5 % loss toward every receiver of a 1 Gb/s room: slices wait for REQACK rounds,
        // so answers often come late although nothing is congested (seen in the lab: the
        // rate fell to 1.8 Mb/s and the run to its time limit).
        let mut c = AutoRate::new(40_000_000_000);
        let sent_bits = 112 * DATAGRAM_BITS;
        let mut rates = Rates::new();
        for i in 0..190u64 {
            let rate = c.rate();
            let send_us = (sent_bits * 1_000_000 / rate).max(1);
            let link_us = sent_bits * 1_000_000 / 1_000_000_000;
            let rounds_us = if i % 3 == 0 { 4_000 } else { 0 };
            let answer_us = send_us.max(link_us) + rounds_us;
            c.on_slice(&report(
                sent_bits,
                send_us,
                answer_us,
                112,
                4 + (i % 5) as u16,
            ));
            rates.push(c.rate()).unwrap();
        }
        let steady = median(&rates[100..]);
        assert!(steady >= 300_000_000, "steady rate {steady}: {rates:?}");
    }

    #[test]
    fn max_bitrate_stays_an_upper_bound() {
        let rates = drive(1_000_000_000, 0, 300_000_000, 60);
        assert!(rates.iter().all(|&r| r <= 300_000_000), "{rates:?}");
        assert!(median(&rates[20..]) >= 270_000_000, "{rates:?}");
    }

    #[test]
    fn nonsense_reports_neither_panic_nor_leave_the_bounds() {
        let mut c = AutoRate::new(1_000_000_000);
        for (bits, send, answer, blocks, missing) in [
            (0, 0, None, 0, 0),
            (u64::MAX, 0, Some(0), 1, 5),
            (1, u64::MAX, Some(u64::MAX), 1024, 1024),
            (u64::MAX, 1, None, 1024, 0),
            (12_000, 1, Some(1), 7, 9),
        ] {
            c.on_slice(&SliceReport {
                sent_bits: bits,
                send_time: Duration::from_micros(send),
                answer_interval: answer.map(Duration::from_micros),
                blocks,
                worst_missing: missing,
            });
            assert!((MIN_RATE..=1_000_000_000).contains(&c.rate()), "{c:?}");
        }
    }
}
