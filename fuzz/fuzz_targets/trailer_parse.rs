#![no_main]
//! See `udpcast_fuzz::trailer` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    udpcast_fuzz::trailer::run(data);
});
