//! Many seeds in a row, on a few threads: what `scripts/soak.sh` and the CI test print.

use super::{run_seed, Outcome};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a seed's run came to, kept after the run itself is dropped.
#[derive(Clone, Debug)]
pub struct Record {
    /// The seed.
    pub seed: u64,
    /// Every rule held.
    pub passed: bool,
    /// Known bugs of core explain every rule broken: their ids.
    pub known: Vec<&'static str>,
    /// It hung: stuck, livelocked, or over its time bound without progress.
    pub hung: bool,
    /// It went over its time bound while still making progress.
    pub slow: bool,
    /// The scenario and the rules broken, with the replay command.
    pub report: String,
    /// Simulated time, µs.
    pub simulated_us: u64,
    /// Its share of the time bound.
    pub bound_share: f64,
    /// Receivers, and of them: finished, failed, dead.
    pub receivers: usize,
    pub finished: usize,
    pub failed: usize,
    pub dead: usize,
    /// Healthy receivers the sender dropped after a silence (loss explains it).
    pub healthy_dropped: usize,
    /// Datagrams handed to receivers.
    pub deliveries: u64,
    /// Timers due again right after being handled.
    pub spinning_timers: u64,
}

impl Record {
    fn of(outcome: &Outcome) -> Self {
        let (finished, failed) = outcome.counts();
        let run = &outcome.run;
        Record {
            seed: outcome.scenario.seed,
            passed: outcome.passed(),
            known: outcome
                .known_bugs()
                .map_or_else(Vec::new, |b| b.iter().map(|b| b.id).collect()),
            hung: outcome.hung() && !super::verdict::is_slow(&outcome.run),
            slow: super::verdict::is_slow(&outcome.run),
            report: outcome.report(),
            simulated_us: run.elapsed_us,
            bound_share: run.elapsed_us as f64 / outcome.scenario.time_bound_us() as f64,
            receivers: run.receivers.len(),
            finished,
            failed,
            dead: run.receivers.iter().filter(|r| r.dead).count(),
            healthy_dropped: run
                .receivers
                .iter()
                .zip(&outcome.scenario.receivers)
                .filter(|(r, s)| r.dropped && s.faults.healthy())
                .count(),
            deliveries: run.deliveries,
            spinning_timers: run.spinning_timers + run.spinning_receiver_timers,
        }
    }
}

/// The totals of a soak.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// First seed and number of seeds.
    pub first: u64,
    pub runs: u64,
    pub passes: u64,
    /// Runs that broke a rule no known bug explains (hangs included), by seed.
    pub failures: Vec<Record>,
    /// Runs whose every broken rule a known bug of core explains: per bug, the number of
    /// runs and the first seeds.
    pub known: Vec<(&'static str, u64, Vec<u64>)>,
    /// Seeds that hung, and seeds that went over their bound while progressing.
    pub hangs: Vec<u64>,
    pub slow: Vec<u64>,
    pub simulated_us: u128,
    pub wall: Duration,
    pub receivers: u64,
    pub finished: u64,
    pub failed: u64,
    pub dead: u64,
    pub healthy_dropped: u64,
    pub deliveries: u64,
    pub spinning_timers: u64,
    /// The run closest to its time bound: its share and seed.
    pub closest_to_bound: (f64, u64),
    /// The longest run in simulated time: µs and seed.
    pub longest: (u64, u64),
}

impl Summary {
    fn add(&mut self, r: Record) {
        self.runs += 1;
        self.simulated_us += u128::from(r.simulated_us);
        self.receivers += r.receivers as u64;
        self.finished += r.finished as u64;
        self.failed += r.failed as u64;
        self.dead += r.dead as u64;
        self.healthy_dropped += r.healthy_dropped as u64;
        self.deliveries += r.deliveries;
        self.spinning_timers += r.spinning_timers;
        if r.bound_share > self.closest_to_bound.0 {
            self.closest_to_bound = (r.bound_share, r.seed);
        }
        if r.simulated_us > self.longest.0 {
            self.longest = (r.simulated_us, r.seed);
        }
        if r.hung {
            self.hangs.push(r.seed);
        }
        if r.slow {
            self.slow.push(r.seed);
        }
        if r.passed {
            self.passes += 1;
        } else if r.known.is_empty() {
            self.failures.push(r);
        } else {
            for id in &r.known {
                match self.known.iter_mut().find(|k| k.0 == *id) {
                    Some(k) => {
                        k.1 += 1;
                        k.2.push(r.seed);
                    }
                    None => self.known.push((id, 1, vec![r.seed])),
                }
            }
        }
    }

    /// Whether no run broke a rule that no known bug explains.
    pub fn no_failures(&self) -> bool {
        self.failures.is_empty()
    }

    /// Runs explained by known bugs.
    pub fn known_bug_runs(&self) -> u64 {
        self.runs - self.passes - self.failures.len() as u64
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut failed: Vec<u64> = self.failures.iter().map(|r| r.seed).collect();
        failed.sort_unstable();
        let mut hangs = self.hangs.clone();
        hangs.sort_unstable();
        let mut slow = self.slow.clone();
        slow.sort_unstable();
        writeln!(
            f,
            "seeds {}..{}: {} runs, {} passed, {} failed {:?}, {} explained by known bugs of \
             core",
            self.first,
            self.first + self.runs,
            self.runs,
            self.passes,
            failed.len(),
            failed,
            self.known_bug_runs()
        )?;
        writeln!(
            f,
            "hangs (stuck, livelocked, or over the time bound without progress): {} {:?}; \
             over the time bound while progressing: {} {:?}",
            hangs.len(),
            hangs,
            slow.len(),
            slow
        )?;
        let mut known = self.known.clone();
        known.sort_by_key(|k| k.0);
        for (id, runs, mut seeds) in known {
            seeds.sort_unstable();
            seeds.truncate(10);
            writeln!(f, "  known bug {id}: {runs} runs, e.g. seeds {seeds:?}")?;
        }
        writeln!(
            f,
            "simulated {:.1} s in all (longest {:.1} s, seed {}; closest to its bound {:.0} %, \
             seed {}), wall {:.1} s",
            self.simulated_us as f64 / 1e6,
            self.longest.0 as f64 / 1e6,
            self.longest.1,
            100.0 * self.closest_to_bound.0,
            self.closest_to_bound.1,
            self.wall.as_secs_f64()
        )?;
        write!(
            f,
            "receivers: {} simulated, {} finished, {} reported failure, {} died; \
             {} healthy dropped after a silence; {} datagrams delivered; {} spinning timers",
            self.receivers,
            self.finished,
            self.failed,
            self.dead,
            self.healthy_dropped,
            self.deliveries,
            self.spinning_timers
        )
    }
}

/// Runs seeds `first..first + count` on `threads` threads; `each` sees every record as
/// it comes (in completion order).
pub fn soak(first: u64, count: u64, threads: usize, mut each: impl FnMut(&Record)) -> Summary {
    let started = Instant::now();
    let next = AtomicU64::new(first);
    let end = first + count;
    let (send, receive) = mpsc::channel();
    let mut summary = Summary {
        first,
        ..Summary::default()
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let send = send.clone();
            let next = &next;
            // A big room's sender keeps 1024 client records on the stack.
            std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn_scoped(scope, move || loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= end {
                        break;
                    }
                    if send.send(Record::of(&run_seed(seed))).is_err() {
                        break;
                    }
                })
                .expect("a soak thread");
        }
        drop(send);
        for record in receive {
            each(&record);
            summary.add(record);
        }
    });
    summary.failures.sort_by_key(|r| r.seed);
    summary.wall = started.elapsed();
    summary
}
