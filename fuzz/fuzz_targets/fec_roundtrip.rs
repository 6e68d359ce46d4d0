#![no_main]
//! See `udpcast_fuzz::fec` for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    udpcast_fuzz::fec::run(data);
});
