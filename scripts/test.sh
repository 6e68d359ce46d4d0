#!/usr/bin/env bash
# Runs every check and test of the workspace. Interop tests build network namespaces and
# need root; as a normal user they skip loudly, unless UDPCAST_REQUIRE_LAB=1 makes a
# missing lab a failure (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check
step "clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "core builds for a bare-metal target (no_std, no alloc), with and without defmt"
cargo build -p udpcast-core --target thumbv7em-none-eabihf
cargo build -p udpcast-core --target thumbv7em-none-eabihf --features defmt
step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
step "tests"
cargo test --workspace
