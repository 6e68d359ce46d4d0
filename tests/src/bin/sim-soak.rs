//! Runs seeds of the room simulation (`udpcast_tests::sim`) and prints a summary.
//!
//! `SIM_SEEDS` seeds (default 100) from `SIM_FIRST` (default 0) on `SIM_THREADS` threads
//! (default: the cores there are). A single seed prints every receiver's details.
//! Exits 1 if any run broke a rule that no known bug of core explains.

use std::process::ExitCode;
use udpcast_tests::sim;

fn var(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: not a number")),
        Err(_) => default,
    }
}

fn main() -> ExitCode {
    let first = var("SIM_FIRST", 0);
    let seeds = var("SIM_SEEDS", 100);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = var("SIM_THREADS", cores as u64) as usize;
    if seeds == 1 {
        let outcome = sim::run_seed(first);
        print!("{}", outcome.report());
        print!("{}", outcome.details());
        println!("wall {:.2} s", outcome.wall.as_secs_f64());
        return if !outcome.failed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let mut done = 0u64;
    let summary = sim::soak::soak(first, seeds, threads, |record| {
        done += 1;
        if !record.passed && record.known.is_empty() {
            eprint!("FAIL {}", record.report);
        }
        if done % 500 == 0 {
            eprintln!("… {done} of {seeds} runs");
        }
    });
    println!("{summary}");
    for r in &summary.failures {
        print!("{}", r.report);
    }
    if summary.no_failures() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
