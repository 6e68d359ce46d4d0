#![no_main]
//! See `udpcast_fuzz::sender` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = udpcast_fuzz::sender::run(data);
});
