//! udpcast-cli: the host programs `udp-sender` and `udp-receiver` around `udpcast-core`:
//! command lines, sockets, files, pipes, keyboard, progress. Protocol decisions are core's.

pub mod cli;
pub mod clock;
pub mod daemon;
pub mod exit_reason;
pub mod json;
pub mod key_file;
pub mod keyboard;
pub mod log;
pub mod net;
pub mod outcome;
pub mod progress;
pub mod receiver_app;
pub mod sender_app;
pub mod sender_config;
pub mod signals;
pub mod sink;
pub mod source;
pub mod stats_json;
pub mod verification;

/// The licence text `--license` prints.
pub const LICENSE: &str =
    "udpcast-rs is free software; you can redistribute it and/or modify it under the \
terms of the GNU General Public License as published by the Free Software Foundation; either \
version 2 of the License, or (at your option) any later version. It comes WITHOUT ANY WARRANTY.";

/// `udp-receiver (udpcast-rs 0.1.0; speaks udpcast 20120424)`.
pub fn version_line(program: &str) -> String {
    format!(
        "{program} (udpcast-rs {}; wire-compatible with udpcast 20120424)",
        env!("CARGO_PKG_VERSION")
    )
}
