#!/bin/sh
# Builds the C API tests (ffi/tests/*_test.c) against the glibc libudpcast.a and runs each
# under valgrind (memcheck, leaks fatal). Exits non-zero on any failed check or memory
# error.
#
# Usage: ffi/tests/run-c-tests.sh [--release]     (debug library by default)
# Without valgrind on PATH the tests are built with AddressSanitizer instead.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
profile=debug
cargo_flags=
if [ "${1:-}" = "--release" ]; then
    profile=release
    cargo_flags=--release
fi

cargo build -q -p udpcast-ffi $cargo_flags
lib="target/$profile/libudpcast.a"
cflags="-std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind not found: using AddressSanitizer" >&2
fi
for test in c_api_test verification_test authentication_test auth_settings_test; do
    out="target/$profile/$test"
    if command -v valgrind >/dev/null 2>&1; then
        cc $cflags "ffi/tests/$test.c" "$lib" -lpthread -ldl -lm -o "$out"
        valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect "$out"
    else
        cc $cflags -fsanitize=address,undefined -fno-omit-frame-pointer \
            "ffi/tests/$test.c" "$lib" -lpthread -ldl -lm -o "$out"
        "$out"
    fi
done
echo "run-c-tests: OK"
