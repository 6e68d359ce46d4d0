#!/usr/bin/env bash
# Runs every check and test of the workspace. Interop tests build network namespaces and
# need root: a normal user's run goes through sudo; without root they skip loudly, unless
# UDPCAST_REQUIRE_LAB=1 makes a missing lab a failure (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

# The lab tests need root: a normal user runs the whole suite through sudo (keeping PATH,
# so that rustup's cargo is found), or without it, with the lab tests skipped loudly.
if [ "$(id -u)" -ne 0 ] && [ -z "${UDPCAST_NO_SUDO:-}" ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -E env "PATH=$PATH" UDPCAST_NO_SUDO=1 "$0" "$@"
  fi
  echo "scripts/test.sh: not root and no sudo: the network-lab tests will be skipped" >&2
fi

step() { printf '\n=== %s\n' "$*"; }

step "format"
cargo fmt --all -- --check
step "clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "core builds for a bare-metal target (no_std, no alloc), with and without defmt"
cargo build -p udpcast-core --target thumbv7em-none-eabihf
cargo build -p udpcast-core --target thumbv7em-none-eabihf --features defmt
step "C header is current and compiles as C99 and C++11"
scripts/check-header.sh
printf '#include "udpcast.h"\nint main(void) { return (int)udpc_version()[0] == 0; }\n' > target/header-check.c
cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c target/header-check.c -o target/header-check.o
cp target/header-check.c target/header-check.cpp
c++ -std=c++11 -Wall -Werror -pedantic -Iinclude -c target/header-check.cpp -o target/header-check-cpp.o
step "tiny C receiver: static musl build and its size"
ffi/build-tiny-receiver.sh
step "C API tests under valgrind"
ffi/tests/run-c-tests.sh
step "install step and pkg-config"
rm -rf target/install-check
ffi/install.sh "$PWD/target/install-check" >/dev/null
PKG_CONFIG_PATH="$PWD/target/install-check/lib/pkgconfig" sh -c \
  'cc -std=c99 -Wall -Werror $(pkg-config --cflags udpcast) ffi/examples/tiny-receiver.c \
   $(pkg-config --libs --static udpcast) -static -o target/install-check/tiny-receiver'
step "Debian package: build, install over udpcast in a throwaway overlay, smoke test"
if [ "$(id -u)" -eq 0 ]; then
  scripts/test-deb.sh
elif [ -n "${UDPCAST_REQUIRE_LAB:-}" ]; then
  echo "the package test needs root (UDPCAST_REQUIRE_LAB is set)" >&2
  exit 1
else
  echo "!!! SKIPPED: the package test needs root" >&2
fi
step "the README's first command: the demo (64 MiB, 5 % loss toward one of three receivers)"
if [ "$(id -u)" -eq 0 ]; then
  scripts/demo.sh --size 64
elif [ -n "${UDPCAST_REQUIRE_LAB:-}" ]; then
  echo "the demo needs root (UDPCAST_REQUIRE_LAB is set)" >&2
  exit 1
else
  echo "!!! SKIPPED: the demo needs root" >&2
fi
step "loss matrix, the CI slice (scripts/soak-lab.sh --quick: ours, 0 and 5 % on every link)"
if [ "$(id -u)" -eq 0 ]; then
  scripts/soak-lab.sh --quick
elif [ -n "${UDPCAST_REQUIRE_LAB:-}" ]; then
  echo "the loss matrix needs root (UDPCAST_REQUIRE_LAB is set)" >&2
  exit 1
else
  echo "!!! SKIPPED: the loss matrix needs root" >&2
fi
step "fuzzing, the CI slice: the harness formatted and lint-clean, seeds and regressions replayed, then every target for 20 s"
# fuzz/ is a workspace of its own: the format and clippy steps above do not reach it.
(cd fuzz && cargo fmt --all -- --check && cargo clippy --all-targets -- -D warnings && cargo test --quiet)
scripts/fuzz.sh 20
step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
step "tests"
# The interop tests run target/debug/udp-sender and udp-receiver: build them first.
cargo build --workspace
cargo test --workspace
