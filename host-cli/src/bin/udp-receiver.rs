//! `udp-receiver`: drop-in replacement for udpcast's program of the same name.
//!
//! Not implemented yet: the binary only says so and fails, so nobody mistakes it for a
//! working one.

fn main() -> std::process::ExitCode {
    eprintln!("udp-receiver: not implemented yet in udpcast-rs");
    std::process::ExitCode::from(2)
}
