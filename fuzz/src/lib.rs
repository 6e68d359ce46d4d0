//! The harnesses behind the cargo-fuzz targets in `fuzz_targets/`, one module per target,
//! and the script format their inputs share. Each target is a one-line call into this
//! library, so the same code replays the corpus under `cargo test` and builds the seeds
//! (`cargo run --example seeds`).

pub mod authenticated;
pub mod fec;
pub mod input;
pub mod known;
pub mod receiver;
pub mod sender;
pub mod session;
pub mod stream;
pub mod trace;
pub mod trailer;
pub mod wire;

#[cfg(test)]
mod replay;
