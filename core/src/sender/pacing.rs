//! How fast the sender sends: `--max-bitrate` alone, or `--autorate` under it
//! ([`crate::autorate`]), which learns the rate from each slice's first REQACK round.

use super::flight::Flight;
use super::Sender;
use crate::autorate::{AutoRate, SliceReport};
use crate::rate::{RateLimiter, PER_DATAGRAM_OVERHEAD};
use crate::time::Instant;

/// What a slice's first transmission and first round showed, gathered as they happen.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FirstPass {
    pub(crate) first_sent_at: Option<Instant>,
    pub(crate) last_sent_at: Option<Instant>,
    pub(crate) sent_bits: u64,
    /// The most data blocks one receiver lacked when it answered the first REQACK.
    pub(crate) worst_missing: u16,
    /// The latest answer to the first REQACK.
    pub(crate) answered_at: Option<Instant>,
}

/// The fastest `--autorate` goes without `--max-bitrate`: 40 Gb/s, beyond any room.
const AUTORATE_CEILING: u64 = 40_000_000_000;

/// The sender's pacing state.
#[derive(Default)]
pub(crate) struct Pacing {
    pub(crate) limiter: Option<RateLimiter>,
    autorate: Option<AutoRate>,
    /// The previous slice's latest first-round answer.
    previous_answer: Option<Instant>,
}

impl Pacing {
    /// Pacing for a transfer starting at `now`. Async transfers hear nothing back, so
    /// `--autorate` has nothing to learn from there and `--max-bitrate` alone applies.
    pub(crate) fn new(
        max_bitrate: Option<u64>,
        autorate: bool,
        asynchronous: bool,
        now: Instant,
    ) -> Self {
        let autorate = (autorate && !asynchronous)
            .then(|| AutoRate::new(max_bitrate.unwrap_or(AUTORATE_CEILING)));
        let rate = autorate.as_ref().map(AutoRate::rate).or(max_bitrate);
        Pacing {
            limiter: rate.map(|r| RateLimiter::new(r, now)),
            autorate,
            previous_answer: None,
        }
    }

    /// The rate paced at now, if any.
    pub(crate) fn rate(&self) -> Option<u64> {
        self.limiter.as_ref().map(RateLimiter::bits_per_second)
    }

    /// A slice every receiver holds: its first pass teaches the controller.
    pub(crate) fn slice_done(&mut self, flight: &Flight) {
        let Some(autorate) = self.autorate.as_mut() else {
            return;
        };
        let pass = &flight.first_pass;
        let answer_interval = match (self.previous_answer, pass.answered_at) {
            (Some(before), Some(now)) => Some(now.saturating_since(before)),
            _ => None,
        };
        self.previous_answer = pass.answered_at.or(self.previous_answer);
        let (Some(first), Some(last)) = (pass.first_sent_at, pass.last_sent_at) else {
            return;
        };
        autorate.on_slice(&SliceReport {
            sent_bits: pass.sent_bits,
            send_time: last.saturating_since(first),
            answer_interval,
            blocks: flight.blocks,
            worst_missing: pass.worst_missing,
        });
        let rate = autorate.rate();
        if let Some(limiter) = self.limiter.as_mut() {
            limiter.set_bits_per_second(rate);
        }
    }
}

impl Sender<'_> {
    /// The rate the sender paces at now (`--max-bitrate`, or what `--autorate` chose), in
    /// bit/s; `None` when unpaced.
    pub fn pacing_rate(&self) -> Option<u64> {
        self.pacing.rate()
    }

    /// The `--autorate` controller, once the transfer started with it.
    pub fn autorate(&self) -> Option<&AutoRate> {
        self.pacing.autorate.as_ref()
    }
}

impl FirstPass {
    /// A datagram of the first transmission, `len` bytes of UDP payload, went at `now`.
    pub(crate) fn sent(&mut self, now: Instant, len: usize) {
        self.first_sent_at.get_or_insert(now);
        self.last_sent_at = Some(now);
        self.sent_bits = self
            .sent_bits
            .saturating_add((len as u64 + PER_DATAGRAM_OVERHEAD) * 8);
    }

    /// An answer to the first REQACK, lacking `missing` data blocks.
    pub(crate) fn answered(&mut self, now: Instant, missing: u16) {
        self.worst_missing = self.worst_missing.max(missing);
        self.answered_at = Some(now);
    }
}
