//! `FUZZ_TRACE=1` makes the harnesses print what they do, to read a crashing input:
//! `FUZZ_TRACE=1 fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>`.

use std::sync::OnceLock;

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
