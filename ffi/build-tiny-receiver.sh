#!/bin/sh
# Builds the tiny receiver (ffi/examples/tiny-receiver.c) as a static, stripped musl binary
# on a size-optimised libudpcast, and prints its size.
#
# Usage (from anywhere):   ffi/build-tiny-receiver.sh
# Output:                  target/tiny/tiny-receiver
#
# Needs: the rustup target x86_64-unknown-linux-musl and musl-gcc (musl-tools).
# Size levers, all from the command line (the workspace Cargo.toml is shared):
# - profile via environment: opt-level z, fat LTO, one codegen unit, panic=abort;
# - the ffi crate's `no-std` feature: no std, so none of its panic, backtrace and unwinding
#   machinery (a bug inside the library aborts the program: acceptable for a boot image);
# - its `small-tables` feature: one 256-entry CRC table for CPUs without SSE4.2, instead of
#   16 KiB of slice-by-16 tables;
# - `cargo rustc --crate-type staticlib`: ffi/Cargo.toml also lists rlib and cdylib, and
#   cargo silently drops LTO for a crate that is also an rlib; building the staticlib alone
#   makes LTO (and dead-code removal across std) happen;
# - -Os, --gc-sections, strip.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=x86_64-unknown-linux-musl
out=target/tiny

CARGO_PROFILE_RELEASE_PANIC=abort \
CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_DEBUG=false \
CARGO_PROFILE_RELEASE_STRIP=false \
    cargo rustc -q -p udpcast-ffi --lib --crate-type staticlib --release --features no-std,small-tables \
    --target "$target" --target-dir "$out"

musl-gcc -std=c99 -Wall -Wextra -Werror -pedantic -Os \
    -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
    -Iinclude ffi/examples/tiny-receiver.c \
    "$out/$target/release/libudpcast.a" \
    -static -Wl,--gc-sections -Wl,--build-id=none \
    -o "$out/tiny-receiver"
strip --strip-all -R .comment "$out/tiny-receiver"

size=$(wc -c < "$out/tiny-receiver")
echo "$out/tiny-receiver: $size bytes (stripped, static musl)"
