//! `FUZZ_TRACE=1` makes the harnesses print what they do, to read a crashing input:
//! `FUZZ_TRACE=1 fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>`.

use std::sync::OnceLock;
use udpcast_core::wire::Message;

/// Whether tracing is on.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

/// Prints to stderr when `FUZZ_TRACE` is set.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::trace::enabled() {
            eprintln!($($arg)*);
        }
    };
}

/// A message in a line, for traces.
pub fn brief(message: &Message<'_>) -> String {
    match message {
        Message::Data(d) => format!("DATA slice {} block {} bytes {}", d.slice, d.block, d.bytes),
        Message::Fec(f) => format!(
            "FEC slice {} block {} bytes {} stripes {}",
            f.slice, f.block, f.bytes, f.stripes
        ),
        Message::Reqack(r) => format!(
            "REQACK slice {} bytes {} rxmit {} ready {:?}",
            r.slice,
            r.bytes,
            r.rxmit,
            r.ready.iter().collect::<Vec<_>>()
        ),
        Message::Retransmit(r) => format!(
            "RETRANSMIT slice {} rxmit {} received {} blocks",
            r.slice,
            r.rxmit,
            r.received.len()
        ),
        other => format!("{other:?}"),
    }
}
