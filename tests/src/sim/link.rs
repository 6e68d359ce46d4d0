//! One direction of one receiver's link in the simulated room: a fixed latency, losses
//! either independent or in outages (the link alternates between up and down periods of
//! random length, a Gilbert channel in time), reordering (a datagram held back behind
//! later ones) and duplication. Every decision is drawn from the link's own generator,
//! so a link behaves the same whatever the traffic on the others.

use crate::memnet::Rng;
use std::fmt;

/// How a link treats datagrams. Rates are per mille of the datagrams offered to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSpec {
    /// Long-run share of datagrams lost, 0–200 (0–20 %).
    pub loss_permille: u32,
    /// Mean length of an outage, µs: 0 is independent losses; otherwise every loss is
    /// an outage of the link, lasting this long on average (at most five times as long),
    /// spaced so that the link is down `loss_permille` of the time.
    pub burst_us: u64,
    /// Datagrams held back by up to [`reorder_us`](Self::reorder_us), so that later ones
    /// overtake them.
    pub reorder_permille: u32,
    /// The longest extra delay of a reordered or duplicated datagram, µs.
    pub reorder_us: u64,
    /// Datagrams delivered twice (the copy up to `reorder_us` later).
    pub dup_permille: u32,
    /// One-way delay of every datagram, µs (at least 1: nothing arrives the instant it
    /// is sent).
    pub latency_us: u64,
}

impl LinkSpec {
    /// A perfect link with `latency_us` of delay.
    pub const fn clean(latency_us: u64) -> Self {
        LinkSpec {
            loss_permille: 0,
            burst_us: 0,
            reorder_permille: 0,
            reorder_us: 0,
            dup_permille: 0,
            latency_us,
        }
    }

    /// A link losing `loss_permille` of the datagrams independently, nothing else.
    pub const fn lossy(loss_permille: u32, latency_us: u64) -> Self {
        LinkSpec {
            loss_permille,
            ..LinkSpec::clean(latency_us)
        }
    }

    /// A link drawn from `rng`, losing at most `max_loss_permille`.
    pub fn draw(rng: &mut Rng, max_loss_permille: u32) -> Self {
        let loss_permille = below(rng, u64::from(max_loss_permille) + 1) as u32;
        let burst_us = if rng.chance(300) {
            200 + below(rng, 20_000)
        } else {
            0
        };
        let reorder_permille = if rng.chance(400) {
            below(rng, 51) as u32
        } else {
            0
        };
        let dup_permille = if rng.chance(300) {
            below(rng, 31) as u32
        } else {
            0
        };
        LinkSpec {
            loss_permille,
            burst_us,
            reorder_permille,
            reorder_us: 100 + below(rng, 5_000),
            dup_permille,
            latency_us: 20 + below(rng, 2_000),
        }
    }
}

impl fmt::Display for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "loss {}‰", self.loss_permille)?;
        if self.burst_us > 0 {
            write!(f, " (outages of {} µs)", self.burst_us)?;
        }
        write!(
            f,
            ", reorder {}‰ (≤ {} µs), dup {}‰, latency {} µs",
            self.reorder_permille, self.reorder_us, self.dup_permille, self.latency_us
        )
    }
}

/// A link in use: its spec, its generator and, with outages, the channel's state.
#[derive(Clone, Debug)]
pub struct Link {
    spec: LinkSpec,
    rng: Rng,
    /// The link is down (an outage): everything is lost.
    down: bool,
    /// When the current up or down period ends, µs.
    switch_at: u64,
    /// Mean length of an up period, µs.
    up_us: u64,
}

/// When the copies of one datagram arrive, as delays after it was sent (none: lost).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arrivals {
    delays: [u64; 2],
    count: usize,
}

impl Arrivals {
    /// The delays, µs.
    pub fn delays(&self) -> &[u64] {
        &self.delays[..self.count]
    }
}

impl Link {
    /// A link behaving as `spec` says, its decisions drawn from `seed`.
    pub fn new(spec: LinkSpec, seed: u64) -> Self {
        let loss = u64::from(spec.loss_permille.clamp(1, 900));
        // Down a share L of the time: up periods average B·(1 − L)/L.
        let up_us = spec.burst_us * (1000 - loss) / loss;
        let mut link = Link {
            spec,
            rng: Rng::new(seed),
            down: false,
            switch_at: 0,
            up_us,
        };
        link.switch_at = link.period(up_us);
        link
    }

    /// What happens to the next datagram offered to the link, at `now` µs.
    pub fn transit(&mut self, now: u64) -> Arrivals {
        let mut arrivals = Arrivals::default();
        if self.spec.loss_permille > 0 {
            let lost = if self.spec.burst_us == 0 {
                self.rng.chance(self.spec.loss_permille)
            } else {
                while now >= self.switch_at {
                    self.down = !self.down;
                    let mean = if self.down {
                        self.spec.burst_us
                    } else {
                        self.up_us
                    };
                    let length = self.period(mean);
                    let length = if self.down {
                        length.min(5 * mean)
                    } else {
                        length
                    };
                    self.switch_at += length.max(1);
                }
                self.down
            };
            if lost {
                return arrivals;
            }
        }
        let latency = self.spec.latency_us.max(1);
        let mut first = latency;
        if self.spec.reorder_permille > 0 && self.rng.chance(self.spec.reorder_permille) {
            first += 1 + below(&mut self.rng, self.spec.reorder_us);
        }
        arrivals.delays[0] = first;
        arrivals.count = 1;
        if self.spec.dup_permille > 0 && self.rng.chance(self.spec.dup_permille) {
            arrivals.delays[1] = latency + below(&mut self.rng, self.spec.reorder_us + 1);
            arrivals.count = 2;
        }
        arrivals
    }

    /// An exponentially distributed length of mean `mean` µs: `mean · −ln u` for u
    /// uniform in (0, 1], in integers only (no libm: the same on every host), with log₂
    /// taken as its integer part plus the mantissa's fraction (within 0.09).
    fn period(&mut self, mean: u64) -> u64 {
        let x = (self.rng.next_u64() >> 11) + 1; // u = x / 2^53
        let e = 63 - u64::from(x.leading_zeros()); // floor(log2 x)
        let fraction = ((x << x.leading_zeros()) & !(1 << 63)) >> 31; // Q32
        let minus_log2_u = ((53 - e) << 32).saturating_sub(fraction); // Q32
                                                                      // ln 2 in Q32.
        let minus_ln_u = (u128::from(minus_log2_u) * 2_977_044_472) >> 32;
        ((u128::from(mean) * minus_ln_u) >> 32) as u64
    }
}

/// A number in `0..n` (0 when `n` is 0).
pub(crate) fn below(rng: &mut Rng, n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        rng.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Share lost and mean length of a run of losses, sending every `gap_us`.
    fn lost_share(spec: LinkSpec, gap_us: u64) -> (f64, f64) {
        let mut link = Link::new(spec, 42);
        let n = 400_000u64;
        let (mut lost, mut runs, mut previous_lost) = (0u32, 0u32, false);
        for k in 0..n {
            let l = link.transit(k * gap_us).delays().is_empty();
            lost += u32::from(l);
            runs += u32::from(l && !previous_lost);
            previous_lost = l;
        }
        (
            f64::from(lost) / n as f64,
            f64::from(lost) / f64::from(runs),
        )
    }

    #[test]
    fn independent_losses_come_out_at_the_asked_rate() {
        let (share, run) = lost_share(LinkSpec::lossy(100, 10), 10);
        assert!((share - 0.1).abs() < 0.01, "{share}");
        assert!(run < 1.3, "{run}");
    }

    #[test]
    fn outages_keep_the_rate_and_lose_datagrams_in_runs() {
        let spec = LinkSpec {
            burst_us: 1_000,
            ..LinkSpec::lossy(200, 10)
        };
        let (share, run) = lost_share(spec, 100);
        // Outages are cut at five times their mean, which shortens them a little.
        assert!((share - 0.2).abs() < 0.03, "{share}");
        assert!((7.0..11.0).contains(&run), "{run}");
    }

    #[test]
    fn a_clean_link_delivers_everything_once_in_order() {
        let mut link = Link::new(LinkSpec::clean(300), 1);
        for k in 0..1000 {
            assert_eq!(link.transit(k).delays(), &[300]);
        }
    }
}
