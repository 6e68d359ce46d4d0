//! Replays every committed seed (`fuzz/corpus/<target>/`) and every reproducer of a bug
//! found (`fuzz/regressions/<target>/`) through its harness: `cargo test` in `fuzz/` on
//! the stable toolchain, no cargo-fuzz needed.

use std::path::{Path, PathBuf};

type Harness = fn(&[u8]);

const TARGETS: [(&str, Harness); 7] = [
    ("wire_parse", |d| crate::wire::run(d)),
    ("trailer_parse", |d| crate::trailer::run(d)),
    ("fec_roundtrip", |d| crate::fec::run(d)),
    ("receiver", |d| {
        crate::receiver::run(d);
    }),
    ("sender", |d| {
        crate::sender::run(d);
    }),
    ("verified_session", |d| {
        crate::session::run(d);
    }),
    ("authenticated", |d| {
        crate::authenticated::run(d);
    }),
];

/// Every file under `dir/<target>/` through its harness; the ones that panic, with why.
fn replay(dir: &str) -> (usize, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut count = 0;
    let mut failures = Vec::new();
    for (target, harness) in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            let data = std::fs::read(file).expect("readable");
            count += 1;
            if let Err(panic) = std::panic::catch_unwind(|| harness(&data)) {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("?");
                failures.push(format!(
                    "{target}/{}: {why}",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    (count, failures)
}

#[test]
fn every_seed_runs_clean() {
    let (count, failures) = replay("corpus");
    assert!(count > 0, "no seeds found");
    assert!(
        failures.is_empty(),
        "{} of {count} seeds fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_regression_runs_clean() {
    crate::known::set_strict();
    let (count, failures) = replay("regressions");
    assert!(
        failures.is_empty(),
        "{} of {count} regressions fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
