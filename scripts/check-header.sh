#!/usr/bin/env bash
# Regenerates include/udpcast.h with the pinned cbindgen and fails if it differs from the
# committed one (CI). With --write, updates the committed header instead.
set -euo pipefail
cd "$(dirname "$0")/.."
want=0.29.0
have=$(cbindgen --version 2>/dev/null | awk '{print $2}')
if [ "$have" != "$want" ]; then
  echo "cbindgen $want needed (found: ${have:-none}); scripts/setup.sh installs it" >&2
  exit 1
fi
out=include/udpcast.h
[ "${1:-}" = --write ] || out=$(mktemp)
cbindgen --quiet --config ffi/cbindgen.toml --crate udpcast-ffi --output "$out" ffi
if [ "${1:-}" != --write ]; then
  if ! diff -u include/udpcast.h "$out"; then
    echo "include/udpcast.h is stale: run scripts/check-header.sh --write and commit it" >&2
    rm -f "$out"
    exit 1
  fi
  rm -f "$out"
fi
