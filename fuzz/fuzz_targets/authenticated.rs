#![no_main]
//! See `udpcast_fuzz::authenticated` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = udpcast_fuzz::authenticated::run(data);
});
