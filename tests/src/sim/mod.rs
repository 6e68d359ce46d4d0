//! A deterministic simulation of a whole room (issue #12): one of our senders and up to a
//! thousand of our receivers, wired in memory with a fake clock, each receiver on its own
//! lossy, bursty, reordering, duplicating link in both directions, some of them dying,
//! freezing past the sender's drop timeout, joining a stream late or writing slowly.
//!
//! A run is wholly determined by its seed: [`Scenario::from_seed`] draws the mode, the
//! room, the links and the faults, [`world::simulate`] plays it, [`verdict::check`]
//! holds it to the rules. [`soak`] runs many seeds; a failing seed is replayed with the
//! command [`replay_command`] gives.
//!
//! It builds on [`memnet`](crate::memnet) (its generator and identities) but schedules
//! every datagram on its own link instead of handing it over at once, since latency,
//! reordering, freezes and slow writers all need time to pass between send and arrival.

mod agenda;
pub mod link;
pub mod run;
pub mod scenario;
pub mod soak;
pub mod verdict;
pub mod world;

pub use link::LinkSpec;
pub use scenario::{Faults, Mode, ReceiverSpec, Scenario, Trigger};
pub use verdict::Violation;
pub use world::Run;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A run and what the rules say about it.
pub struct Outcome {
    /// What was run.
    pub scenario: Scenario,
    /// How it went.
    pub run: Run,
    /// The rules it broke.
    pub violations: Vec<Violation>,
    /// Wall-clock time it took.
    pub wall: Duration,
}

impl Outcome {
    /// Whether every rule held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The known bugs of core that explain every rule broken, if they do.
    pub fn known_bugs(&self) -> Option<Vec<&'static verdict::KnownBug>> {
        verdict::explained_by(&self.violations)
    }

    /// Whether the run broke a rule no known bug explains.
    pub fn failed(&self) -> bool {
        !self.passed() && self.known_bugs().is_none()
    }

    /// Whether the run hung or ran out of time (see [`verdict::is_slow`] for which).
    pub fn hung(&self) -> bool {
        verdict::is_hang(&self.run)
    }

    /// Receivers that reported success, and failure.
    pub fn counts(&self) -> (usize, usize) {
        let r = &self.run.receivers;
        let finished = r.iter().filter(|r| verdict::finished(r)).count();
        let failed = r.iter().filter(|r| verdict::failure(r).is_some()).count();
        (finished, failed)
    }

    /// The scenario, the rules broken, and the command that replays it.
    pub fn report(&self) -> String {
        let mut s = format!("{}\n", self.scenario);
        let (finished, failed) = self.counts();
        let _ = writeln!(
            s,
            "  {} ms simulated (bound {} ms), {} datagrams sent, {} delivered; sender {}; \
             receivers: {finished} finished, {failed} failed, {} dead; spinning timers: \
             sender {}, receivers {}; REQACKs {}, of them {} after round 10 (one-second rounds)",
            self.run.elapsed_us / 1000,
            self.scenario.time_bound_us() / 1000,
            self.run.sender_datagrams,
            self.run.deliveries,
            if self.run.sender_finished {
                "finished"
            } else if self.run.sender_closed {
                "failed"
            } else {
                "running"
            },
            self.run.receivers.iter().filter(|r| r.dead).count(),
            self.run.spinning_timers,
            self.run.spinning_receiver_timers,
            self.run.reqacks.len(),
            self.run.reqacks.iter().filter(|r| r.2 > 10).count()
        );
        for v in self.violations.iter().take(20) {
            let _ = writeln!(s, "  VIOLATION {v}");
        }
        if self.violations.len() > 20 {
            let _ = writeln!(s, "  … and {} more", self.violations.len() - 20);
        }
        if let Some(bugs) = self.known_bugs() {
            for b in bugs {
                let _ = writeln!(s, "  known bug {}: reproduced by {}", b.id, b.reproducer);
            }
        }
        if !self.passed() {
            let _ = writeln!(s, "  replay: {}", replay_command(self.scenario.seed));
        }
        s
    }

    /// Every receiver's faults, links and outcome, one line each.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for (i, (spec, end)) in self
            .scenario
            .receivers
            .iter()
            .zip(&self.run.receivers)
            .enumerate()
        {
            let _ = writeln!(
                s,
                "  rx {i}: faults {:?}, verify {}; down {}; up {}\n    wrote {} from {:?}, \
                 mismatch {:?}, admitted {}, dropped {} ({:?} µs silent), dead {}, closed {}; \
                 events {:?}",
                spec.faults,
                spec.verify,
                spec.down,
                spec.up,
                end.written,
                end.base,
                end.mismatch,
                end.admitted,
                end.dropped,
                end.dropped_after_silence_us,
                end.dead,
                end.closed,
                end.events
            );
        }
        let _ = writeln!(s, "  sender events: {:?}", self.run.sender_events);
        s
    }
}

/// Runs the scenario of `seed`.
pub fn run_seed(seed: u64) -> Outcome {
    run_scenario(Scenario::from_seed(seed))
}

/// Runs `scenario` and checks it.
pub fn run_scenario(scenario: Scenario) -> Outcome {
    let started = Instant::now();
    let input = world::input(&scenario);
    let run = world::simulate(&scenario, &input);
    let violations = verdict::check(&scenario, &input, &run);
    Outcome {
        scenario,
        run,
        violations,
        wall: started.elapsed(),
    }
}

/// The command that replays the run of `seed`, with every receiver's details.
pub fn replay_command(seed: u64) -> String {
    format!("scripts/soak.sh 1 {seed}")
}
